"""Dask support, imported only when a Dask array (or a Dask feature) is used.

Dask is optional (the ``dask`` extra): :func:`is_dask_array` never imports it, and every
feature that needs it calls :func:`import_dask`, whose ImportError says how to install it.
"""

import copy
import math
import sys
import warnings

import numpy as np

from .outofcore import _check_finite_rows, _plain_output

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


def compute_if_dask(X):
    """``X.compute()`` for a Dask array (e.g. anchors: small, computed once), else ``X``."""
    return X.compute() if is_dask_array(X) else X


def check_known_chunks(X, name="X"):
    """Raise a ValueError if a Dask array's shape or chunk sizes are unknown (NaN)."""
    unknown = any(math.isnan(size) for size in X.shape) or any(
        math.isnan(size) for sizes in X.chunks for size in sizes
    )
    if unknown:
        raise ValueError(
            f"{name} is a Dask array with unknown chunk sizes (shape {X.shape}), e.g. after "
            f"boolean indexing or from a Dask DataFrame; call {name}.compute_chunk_sizes() "
            "(or DataFrame.to_dask_array(lengths=True)) first."
        )


def _transform_chunk(block, estimator, block_info=None):
    start = block_info[0]["array-location"][0][0] if block_info else 0
    _check_finite_rows(block, start)
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
        raise ValueError(
            f"Expected a 2-D Dask array of shape (n_samples, n_features); got X with shape "
            f"{X.shape} instead."
        )
    check_known_chunks(X)
    if X.shape[0] == 0:
        raise ValueError(
            f"Found array with 0 sample(s) (shape={X.shape}) while a minimum of 1 is required "
            f"by {type(estimator).__name__}."
        )
    frozen = _plain_output(copy.deepcopy(estimator))
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


# ---------------------------------------------------------------------------------------------
# Similarity measures reduced blockwise (skinvariance.metrics dispatches here)
# ---------------------------------------------------------------------------------------------


def any_dask(*arrays):
    """Whether any of ``arrays`` is a Dask array (without importing Dask)."""
    return any(is_dask_array(a) for a in arrays)


def check_xy(X, Y, measure, *, same_width=False, min_samples=2):
    """Shape checks of :func:`skinvariance.metrics` for Dask inputs, without computing them.

    Returns ``X`` and ``Y`` as Dask arrays with the same row chunks and one column chunk.
    Values (finite, numeric) are checked block by block when the measure is computed.
    """
    _, da = import_dask(measure)
    X, Y = da.asarray(X), da.asarray(Y)
    for name, Z in (("X", X), ("Y", Y)):
        if Z.ndim != 2:
            raise ValueError(f"Expected a 2-D {name}; got {name} with shape {Z.shape}.")
        check_known_chunks(Z, name)
    from .metrics import _check_paired_shapes  # metrics imports this module

    _check_paired_shapes(X.shape, Y.shape, measure, same_width=same_width,
                        min_samples=min_samples)
    X = X.rechunk({1: -1})
    Y = Y.rechunk({0: X.chunks[0], 1: -1})
    return X, Y


def _float_block(block, start, name):
    block = np.asarray(block)
    _check_finite_rows(block, start, name)
    return block.astype(np.float64, copy=False)


def _blockwise_sum(func, X, Y, *extra):
    """``sum_b func(X_b, Y_b, start_b, *extra)`` over aligned row blocks, as a tree."""
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


def _hsic_block(xb, yb, start, mx, my):
    xb = _float_block(xb, start, "X") - mx
    yb = _float_block(yb, start, "Y") - my
    rk = np.einsum("ij,ij->i", xb, xb)
    rl = np.einsum("ij,ij->i", yb, yb)
    return xb.T @ xb, yb.T @ yb, yb.T @ xb, rk @ rl, rk @ rk, rl @ rl


def hsic_terms_linear(X, Y, numpy_terms):
    """The sufficient statistics of linear HSIC (see ``metrics._hsic_terms_linear``).

    Two passes over the blocks: the column means, then the centred feature-space Gram
    matrices and diagonal products, summed over blocks. When ``n`` is below both widths
    (the ``n x n`` form is smaller), the arrays are computed and ``numpy_terms`` is used.
    """
    dask, _ = import_dask("linear CKA of Dask arrays")
    n = X.shape[0]
    if n < min(X.shape[1], Y.shape[1]):
        return numpy_terms(*dask.compute(X, Y))
    mx, my = dask.compute(X.mean(axis=0, dtype=np.float64), Y.mean(axis=0, dtype=np.float64))
    Gxx, Gyy, Gyx, rk_rl, rk_rk, rl_rl = _blockwise_sum(_hsic_block, X, Y, mx, my)
    kl, kk, ll = np.vdot(Gyx, Gyx), np.vdot(Gxx, Gxx), np.vdot(Gyy, Gyy)
    return kl, kk, ll, rk_rl, rk_rk, rl_rl, np.trace(Gxx), np.trace(Gyy)


def _cosine_block(xb, yb, start, rowwise_cosine, centre):
    xb = _float_block(xb, start, "X")
    yb = _float_block(yb, start, "Y")
    if centre:
        const = (np.ptp(xb, axis=1) == 0) | (np.ptp(yb, axis=1) == 0)
        xb = xb - xb.mean(axis=1, keepdims=True)
        yb = yb - yb.mean(axis=1, keepdims=True)
        xb[const] = 0.0  # a constant row has correlation 0, whatever the rounding of its mean
    return (float(np.sum(rowwise_cosine(xb, yb))),)


def mean_rowwise_cosine(X, Y, rowwise_cosine, *, centre=False):
    """Mean over rows of ``rowwise_cosine`` (of the row-centred rows if ``centre``)."""
    (total,) = _blockwise_sum(_cosine_block, X, Y, rowwise_cosine, centre)
    return total / X.shape[0]
