"""Checks of ``match_spaces``' data arguments: the two spaces and the known pairs."""

import numpy as np

from .._validation import DataError, _checked_space

__all__ = ["check_known_pairs", "check_unpaired_spaces"]


def check_unpaired_spaces(X, Y):
    """Both spaces as finite 2-D float arrays (float32 kept); their row counts may differ."""
    return _checked_space(X, "X"), _checked_space(Y, "Y")


def check_known_pairs(pairs, n_x, n_y):
    """``pairs`` as an ``(k, 2)`` int array of distinct rows of X and of Y, or ``(0, 2)``."""
    if pairs is None:
        return np.empty((0, 2), dtype=np.intp)
    array = np.asarray(pairs)
    if array.size == 0:
        return np.empty((0, 2), dtype=np.intp)
    if array.ndim != 2 or array.shape[1] != 2:
        raise DataError(
            "The 'pairs' parameter of match_spaces must be an array of shape (n_pairs, 2) "
            f"(a row of X, a row of Y); got shape {array.shape} instead."
        )
    if array.dtype.kind not in "iu":
        if array.dtype.kind != "f" or not np.all(np.isfinite(array)) \
                or not np.all(array == np.round(array)):
            raise DataError(
                "The 'pairs' parameter of match_spaces must hold row indices (integers); got "
                f"dtype {array.dtype} with non-integer values instead."
            )
    array = array.astype(np.intp)
    for column, name, n_rows in ((0, "X", n_x), (1, "Y", n_y)):
        rows = array[:, column]
        bad = np.flatnonzero((rows < 0) | (rows >= n_rows))
        if len(bad):
            raise DataError(
                f"The 'pairs' parameter of match_spaces must hold rows of {name} in "
                f"[0, {n_rows - 1}] in column {column}; got {int(rows[bad[0]])} (pair "
                f"{int(bad[0])}) instead."
            )
        values, counts = np.unique(rows, return_counts=True)
        if (counts > 1).any():
            raise DataError(
                f"The 'pairs' parameter of match_spaces must pair each row of {name} at most "
                f"once; row {int(values[counts > 1][0])} of {name} appears "
                f"{int(counts[counts > 1][0])} times in column {column}."
            )
    return array
