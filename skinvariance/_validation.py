"""Checks that every layer of the package shares.

This module is the bottom of the package: it imports nothing of skinvariance but the
scikit-learn compatibility shim (``_compat``) and the exceptions (``exceptions``). Every check
raises an error that names the argument at fault and the value received, in scikit-learn's
wording. Errors about the *data* a user passed (not about a parameter, not a bug) are
:class:`~skinvariance.exceptions.DataError`, a :class:`ValueError`, so that the command line
can report them in one line while genuine bugs keep their traceback.
"""

import errno
import os
from numbers import Integral, Real
from pathlib import Path

import numpy as np
from sklearn.utils import check_array
from sklearn.utils.multiclass import type_of_target

from ._compat import InvalidParameterError
from .exceptions import DataError

__all__ = [
    "DataError",
    "check_count",
    "check_finite_rows",
    "check_output_path",
    "check_paired_arrays",
    "check_paired_shapes",
    "check_target",
    "error_class",
    "final_step",
    "is_classification_target",
]

FLOAT_DTYPES = (np.float64, np.float32)


def error_class(exc):
    """The class to raise ``exc`` again as, with more context added to its message.

    A :class:`DataError` or an ``InvalidParameterError`` stays what it is (a user mistake);
    anything else becomes a plain :class:`ValueError`.
    """
    return type(exc) if isinstance(exc, DataError | InvalidParameterError) else ValueError


# -- arrays ------------------------------------------------------------------------------------


def check_finite_rows(block, start, name="X"):
    """Raise a :class:`DataError` naming the rows if ``block`` (rows ``start:``) holds NaN or inf.

    Used where data are read one block of rows at a time (memory maps, on-disk files, Dask
    chunks), so that the message can say where the bad values are. Non-float blocks (integers)
    are always finite and pass unchecked.
    """
    block = np.asarray(block)
    if block.dtype.kind not in "fc":
        return
    finite = np.isfinite(block)
    if finite.all():
        return
    bad_rows = np.flatnonzero(~finite.reshape(len(block), -1).all(axis=1))
    what = "NaN" if np.isnan(block[bad_rows[0]]).any() else "infinity"
    stop = start + len(block)
    raise DataError(
        f"Input {name} contains {what} in the block of rows {start} to {stop - 1} (first at "
        f"row {start + int(bad_rows[0])}; {len(bad_rows)} row(s) of this block affected). "
        "Blocks are checked as they are read: replace or drop these rows first."
    )


def check_paired_shapes(x_shape, y_shape, measure, *, same_width=False, min_samples=2):
    """Shape checks of two row-aligned spaces ``X`` and ``Y`` compared by ``measure``.

    Shared by in-memory and Dask inputs (only the shapes are needed).
    """
    if x_shape[0] != y_shape[0]:
        raise DataError(
            f"X and Y must have the same number of rows (samples, paired by row); got X with "
            f"shape {x_shape} and Y with shape {y_shape}."
        )
    if x_shape[0] < min_samples:
        raise DataError(
            f"{measure} needs at least {min_samples} samples; got X and Y with "
            f"n_samples={x_shape[0]}."
        )
    if same_width and x_shape[1] != y_shape[1]:
        raise DataError(
            f"{measure} compares X and Y feature by feature, so they must have the same number "
            f"of features; got X with shape {x_shape} and Y with shape {y_shape}. Project both "
            "spaces onto parallel anchors (RelativeProjection) or align one onto the other "
            "(OrthogonalAlignment, AffineAlignment) first."
        )


def _checked_space(Z, name):
    """``check_array`` of one space, its errors naming it (scikit-learn's "Expected 2D array"
    does not say which)."""
    # scikit-learn's finiteness check sums the array first: large finite values of both signs
    # overflow that sum (a RuntimeWarning about nothing the user did) before it looks closer.
    try:
        with np.errstate(over="ignore", invalid="ignore"):
            return check_array(Z, dtype=FLOAT_DTYPES, input_name=name)
    except ValueError as exc:
        message = str(exc)
        if f"Input {name} " not in message:
            message = f"{name} is invalid: {message}"
        raise DataError(message) from exc


def check_paired_arrays(X, Y, measure, *, same_width=False, min_samples=2):
    """Validate two row-aligned spaces: finite 2-D arrays, float32 kept, anything else float64."""
    X = _checked_space(X, "X")
    Y = _checked_space(Y, "Y")
    check_paired_shapes(X.shape, Y.shape, measure, same_width=same_width,
                        min_samples=min_samples)
    return X, Y


# -- targets -----------------------------------------------------------------------------------


def is_classification_target(y):
    """Whether ``y`` holds class labels (binary or multiclass), as scikit-learn decides it."""
    return type_of_target(y) in ("binary", "multiclass")


def check_target(y, n_samples, *, name="y", classification=None, min_classes=2,
                 rows_of="the spaces have"):
    """The one check of a target: its values, its shape, and its rows against the samples'.

    Every public entry point that takes a target (the stitching evaluator, the comparison,
    the default decoders, the learned-aggregation decoders, stratified anchors, the labels
    files) checks it here, so that the same mistakes get the same messages, naming ``y``.

    Parameters
    ----------
    y : array-like of shape (n_samples,) or (n_samples, n_targets)
        Class labels or values to regress. A column, of shape ``(n_samples, 1)``, is one
        target: it is returned 1-D.
    n_samples : int or None
        The number of rows ``y`` must have (None: any).
    name : str, default="y"
        The argument's name in error messages.
    classification : bool or None, default=None
        True: ``y`` holds class labels, at least ``min_classes`` of them. False: ``y`` holds
        values to regress, which must be numbers. None: decided from ``y``.
    min_classes : int, default=2
        The fewest classes class labels may have.
    rows_of : str, default="the spaces have"
        What holds the ``n_samples`` rows, for the message (e.g. ``"X has"``).

    Returns
    -------
    y : ndarray of shape (n_samples,) or (n_samples, n_targets)
        The validated target, 1-D for a single column.

    Raises
    ------
    DataError
        If ``y`` is None, holds NaN or infinity, mixes strings and numbers, is not 1-D or
        2-D, has a row count other than ``n_samples``, has fewer than ``min_classes`` classes
        when class labels are expected, or holds strings where numbers are. The message
        names ``name``.
    """
    if y is None:
        raise DataError(f"{name} is required: one value per sample; got {name}=None.")
    try:
        y = check_array(y, ensure_2d=False, dtype=None, ensure_all_finite=True,
                        ensure_min_samples=0, input_name=name)
    except ValueError as exc:
        raise DataError(f"{name} is invalid: {exc}") from exc
    if y.ndim not in (1, 2):
        raise DataError(f"{name} must be 1-D or 2-D; got an array of shape {y.shape}.")
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]  # one column is one target: decoded, split and scored as 1-D
    if y.shape[0] == 0:
        raise DataError(f"{name} is empty (shape {y.shape}); one value per sample is needed.")
    if n_samples is not None and y.shape[0] != n_samples:
        raise DataError(
            f"{name} has {y.shape[0]} rows but {rows_of} {n_samples} rows (samples)."
        )
    if y.dtype == object:
        _check_object_target(y, name)
    if classification is False and y.dtype == object and not isinstance(y.flat[0], str):
        y = y.astype(np.float64)  # numbers only (checked above)
    if classification is False and y.dtype.kind not in "biuf":
        raise DataError(
            f"{name} must hold numbers to regress; got values of dtype {y.dtype} "
            f"(e.g. {y.ravel()[0]!r})."
        )
    if classification is None:
        classification = y.ndim == 1 and is_classification_target(y)
    if classification and np.unique(y).size < min_classes:
        raise DataError(
            f"{name} holds only one class ({np.unique(y)[0].item()!r}); at least two classes "
            "are needed to train and score a classifier."
        )
    return y


def _check_object_target(y, name):
    values = y.ravel()
    kinds = {"str" if isinstance(v, str) else "number" if isinstance(v, Real) else "other"
             for v in values}
    if "other" in kinds or len(kinds) > 1:
        raise DataError(
            f"{name} mixes value types ({', '.join(sorted(kinds))}); labels must be all "
            "strings or all numbers."
        )
    if kinds == {"number"} and not np.all(np.isfinite(values.astype(np.float64))):
        raise DataError(f"{name} contains NaN or infinity.")


# -- estimators --------------------------------------------------------------------------------


def final_step(estimator):
    """The last step of a Pipeline that does something (a final ``"passthrough"`` or None is
    skipped), else the estimator itself."""
    steps = getattr(estimator, "steps", None)
    if isinstance(steps, list):
        for _, step in reversed(steps):
            if step is not None and not (isinstance(step, str) and step == "passthrough"):
                return step
    return estimator


def check_count(value, name, owner, *, low=1):
    """An int parameter (never a bool) of at least ``low``, checked where constraints can't be.

    Raises scikit-learn's ``InvalidParameterError`` (a ValueError and a TypeError), as the
    parameter constraints do.
    """
    if isinstance(value, bool) or not isinstance(value, Integral) or value < low:
        raise InvalidParameterError(
            f"The '{name}' parameter of {owner} must be an int in the range [{low}, inf). "
            f"Got {value!r} instead."
        )
    return int(value)


# -- files -------------------------------------------------------------------------------------


def check_output_path(path, *, overwrite, input_path=None, name="output"):
    """The path of an output file that may be written: its directory exists, it is not a
    directory, not the input file, and it exists only if ``overwrite``.

    Raises
    ------
    FileExistsError, IsADirectoryError, FileNotFoundError
        The message names the file and what to do.
    DataError
        If ``path`` is the input file itself.
    """
    path = Path(path)
    if path.exists():
        if path.is_dir():
            raise IsADirectoryError(errno.EISDIR, f"The {name} {str(path)!r} is a directory",
                                    str(path))
        if input_path is not None and os.path.samefile(path, input_path):
            raise DataError(f"The {name} {str(path)!r} is the input file; choose another one.")
        if not overwrite:
            raise FileExistsError(
                errno.EEXIST,
                f"The {name} {str(path)!r} exists; pass overwrite=True to replace it",
                str(path),
            )
    if not path.parent.is_dir():
        raise FileNotFoundError(
            errno.ENOENT,
            f"The directory of the {name} {str(path)!r} does not exist",
            str(path.parent),
        )
    return path
