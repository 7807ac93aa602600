"""Generic Dask support, imported only when a Dask array (or a Dask feature) is used.

Dask is optional (the ``dask`` extra): :func:`is_dask_array` never imports it, and every
feature that needs it calls :func:`import_dask`, whose ImportError says how to install it.
This module knows nothing of any particular measure or estimator: the measures' blockwise
reductions live with the measures (``skinvariance.metrics._dask``), the on-disk readers and
writers with the I/O (``skinvariance.io``).
"""

import copy
import math
import sys
import warnings

import numpy as np

from ._compat import plain_output
from ._validation import DataError, check_finite_rows

__all__ = [
    "INSTALL_HINT",
    "any_dask",
    "blockwise_sum",
    "check_known_chunks",
    "compute_if_dask",
    "import_dask",
    "is_dask_array",
    "transform",
]

INSTALL_HINT = 'pip install "skinvariance[dask]"'


def import_dask(feature):
    """``(dask, dask.array)``, or an ImportError naming ``feature`` and the ``dask`` extra."""
    try:
        import dask
        import dask.array as da
    except ImportError as exc:
        raise ImportError(
            f"{feature} needs Dask (dask.array), which is not installed. Install the 'dask' "
            f"extra: {INSTALL_HINT}."
        ) from exc
    return dask, da


def is_dask_array(X):
    """Whether ``X`` is a Dask array, without importing Dask."""
    module = sys.modules.get("dask.array")
    return module is not None and isinstance(X, module.Array)


def any_dask(*arrays):
    """Whether any of ``arrays`` is a Dask array (without importing Dask)."""
    return any(is_dask_array(a) for a in arrays)


def compute_if_dask(X):
    """``X.compute()`` for a Dask array (e.g. anchors: small, computed once), else ``X``."""
    return X.compute() if is_dask_array(X) else X


def check_known_chunks(X, name="X"):
    """Raise a ValueError if a Dask array's shape or chunk sizes are unknown (NaN)."""
    unknown = any(math.isnan(size) for size in X.shape) or any(
        math.isnan(size) for sizes in X.chunks for size in sizes
    )
    if unknown:
        raise DataError(
            f"{name} is a Dask array with unknown chunk sizes (shape {X.shape}), e.g. after "
            f"boolean indexing or from a Dask DataFrame; call {name}.compute_chunk_sizes() "
            "(or DataFrame.to_dask_array(lengths=True)) first."
        )


def _transform_chunk(block, estimator, block_info=None):
    start = block_info[0]["array-location"][0][0] if block_info else 0
    check_finite_rows(block, start)
    with warnings.catch_warnings():
        # Already said once, when the lazy array was built.
        warnings.filterwarnings("ignore", message="X does not have valid feature names")
        return np.asarray(estimator.transform(block))


def transform(estimator, X):
    """Lazy ``estimator.transform`` of a 2-D Dask array: one task per row chunk.

    The columns are merged into one chunk; a frozen copy of the fitted estimator enters the
    graph once (one key every task depends on), so it is sent once to each worker. Width
    and dtype errors are raised here, from a one-row probe; NaN/inf are reported by the task
    of the chunk holding them, naming its rows.
    """
    dask, da = import_dask(f"{type(estimator).__name__}.transform of a Dask array")
    if X.ndim != 2:
        raise DataError(
            f"Expected a 2-D Dask array of shape (n_samples, n_features); got X with shape "
            f"{X.shape} instead."
        )
    check_known_chunks(X)
    if X.shape[0] == 0:
        raise DataError(
            f"Found array with 0 sample(s) (shape={X.shape}) while a minimum of 1 is required "
            f"by {type(estimator).__name__}."
        )
    frozen = plain_output(copy.deepcopy(estimator))
    probe = np.asarray(frozen.transform(np.zeros((1, X.shape[1]), dtype=X.dtype)))
    if X.numblocks[1] > 1:
        X = X.rechunk({1: -1})
    fitted = dask.delayed(frozen, pure=True)
    return da.map_blocks(
        _transform_chunk,
        X,
        fitted,
        chunks=(X.chunks[0], (probe.shape[1],)),
        dtype=probe.dtype,
        meta=np.empty((0, 0), dtype=probe.dtype),
        token=f"{type(estimator).__name__.lower()}-transform",
    )


def blockwise_sum(func, X, Y, *extra):
    """``sum_b func(X_b, Y_b, start_b, *extra)`` over aligned row blocks, summed as a tree.

    ``func`` returns a tuple of terms; the result is the tuple of their sums.
    """
    dask, _ = import_dask("a blockwise reduction")
    starts = np.concatenate([[0], np.cumsum(X.chunks[0])[:-1]]).astype(int)
    parts = [
        dask.delayed(func)(xb, yb, int(start), *extra)
        for xb, yb, start in zip(X.to_delayed().ravel(), Y.to_delayed().ravel(), starts)
    ]
    while len(parts) > 1:
        parts = [dask.delayed(_add)(*parts[i : i + 8]) for i in range(0, len(parts), 8)]
    (total,) = dask.compute(parts[0])
    return total


def _add(*terms):
    return tuple(sum(values) for values in zip(*terms))
