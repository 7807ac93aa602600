"""Transforms of inputs that are not in memory: memory-mapped arrays and Dask arrays.

A fitted projection's ``transform`` hands such inputs here. A :class:`numpy.memmap` is read,
checked and transformed one block of rows at a time (the input is never read whole nor
converted whole); a Dask array gives a lazy Dask array (:func:`skinvariance._dask.transform`).
"""

import numpy as np

from . import _dask
from ._compat import get_chunk_n_rows, plain_output
from ._validation import check_finite_rows

__all__ = ["is_memmap", "row_bytes", "transform_not_in_memory", "transform_memmap"]


def is_memmap(X):
    """Whether ``X`` is a non-empty 2-D :class:`numpy.memmap`."""
    return isinstance(X, np.memmap) and X.ndim == 2 and X.shape[0] > 0


def row_bytes(n_features, n_out, itemsize):
    """Bytes one row needs while a block is read, checked and projected (conservative).

    The read buffer and a converted copy of it, the kernel's normalised copy, the output
    block and its normalisation temporaries, and the boolean finite mask.
    """
    return int(itemsize * (3 * n_features + 3 * n_out) + n_features)


def transform_memmap(estimator, X):
    """``estimator.transform`` of a 2-D memmap, one validated block of rows at a time.

    The first row is validated (width, dtype) before anything else is read; then each block
    is read, checked for NaN/inf (the error names its rows), projected and copied into the
    output.
    """
    plain = plain_output(estimator)
    first = np.asarray(X[:1])
    check_finite_rows(first, 0)
    probe = plain.transform(first)  # width / dtype errors, in the estimator's own words
    n_rows, n_features = X.shape
    out = np.empty((n_rows, probe.shape[1]), dtype=probe.dtype)
    height = get_chunk_n_rows(
        row_bytes=row_bytes(n_features, probe.shape[1], out.dtype.itemsize), max_n_rows=n_rows
    )
    for start in range(0, n_rows, height):
        block = np.asarray(X[start : start + height])
        check_finite_rows(block, start)
        out[start : start + len(block)] = plain.transform(block)
    return out


def transform_not_in_memory(estimator, X):
    """The transform of a Dask array (lazy) or of a memmap (streamed); None for other input."""
    if _dask.is_dask_array(X):
        return _dask.transform(estimator, X)
    if is_memmap(X):
        return transform_memmap(estimator, X)
    return None
