"""The measures' blockwise reductions of Dask arrays (the ``dask`` extra).

Linear CKA, mean cosine similarity and Pearson similarity reduce two row-aligned Dask
arrays block by block (a tree of partial sums), without gathering them in memory. Generic
Dask support (import, chunk checks, the tree reduction) is in :mod:`skinvariance._dask`.
"""

import numpy as np

from .._dask import blockwise_sum, check_known_chunks, import_dask
from .._validation import DataError, check_finite_rows, check_paired_shapes
from ._base import Centring, row_centred, rowwise_cosine

__all__ = [
    "check_dask_pair",
    "dask_hsic_terms_linear",
    "dask_mean_rowwise_cosine",
    "dask_terms_inputs",
]


def check_dask_pair(X, Y, measure, *, same_width=False, min_samples=2):
    """Shape checks of a measure for Dask inputs, without computing them.

    Returns ``X`` and ``Y`` as Dask arrays with the same row chunks and one column chunk.
    Values (finite, numeric) are checked block by block when the measure is computed.
    """
    _, da = import_dask(measure)
    X, Y = da.asarray(X), da.asarray(Y)
    for name, Z in (("X", X), ("Y", Y)):
        if Z.ndim != 2:
            raise DataError(f"Expected a 2-D {name}; got {name} with shape {Z.shape}.")
        check_known_chunks(Z, name)
    check_paired_shapes(X.shape, Y.shape, measure, same_width=same_width,
                        min_samples=min_samples)
    X = X.rechunk({1: -1})
    Y = Y.rechunk({0: X.chunks[0], 1: -1})
    return X, Y


def _float_block(block, start, name):
    block = np.asarray(block)
    check_finite_rows(block, start, name)
    return block.astype(np.float64, copy=False)


def dask_terms_inputs(X, Y):
    """The inputs of the linear HSIC terms: computed NumPy arrays when ``n`` is below both
    widths (the ``n x n`` form is then smaller than the feature-space one), else as given."""
    dask, _ = import_dask("linear CKA of Dask arrays")
    if X.shape[0] < min(X.shape[1], Y.shape[1]):
        return dask.compute(X, Y)
    return X, Y


def _hsic_block(xb, yb, start, cx, cy):
    xb = cx.block(_float_block(xb, start, "X"))
    yb = cy.block(_float_block(yb, start, "Y"))
    rk = np.einsum("ij,ij->i", xb, xb)
    rl = np.einsum("ij,ij->i", yb, yb)
    return xb.T @ xb, yb.T @ yb, yb.T @ xb, rk @ rl, rk @ rk, rl @ rl


def dask_hsic_terms_linear(X, Y):
    """The sufficient statistics of linear HSIC of two Dask arrays, in the feature-space form.

    Three passes over the blocks: the columns' bounds, their means (scale-safe, see
    :class:`~._base.Centring`), then the centred feature-space Gram matrices and diagonal
    products, summed over blocks. Same terms as the NumPy path of
    :func:`skinvariance.metrics.linear_cka`.
    """
    dask, _ = import_dask("linear CKA of Dask arrays")
    cx, cy = (Centring(*bounds) for bounds in dask.compute(
        (X.min(axis=0), X.max(axis=0)), (Y.min(axis=0), Y.max(axis=0))))
    sums = dask.compute(*(Z.map_blocks(c.scaled, dtype=np.float64).sum(axis=0)
                          for Z, c in ((X, cx), (Y, cy))))
    cx.with_sums(sums[0], X.shape[0])
    cy.with_sums(sums[1], Y.shape[0])
    Gxx, Gyy, Gyx, rk_rl, rk_rk, rl_rl = blockwise_sum(_hsic_block, X, Y, cx, cy)
    kl, kk, ll = np.vdot(Gyx, Gyx), np.vdot(Gxx, Gxx), np.vdot(Gyy, Gyy)
    return kl, kk, ll, rk_rl, rk_rk, rl_rl, np.trace(Gxx), np.trace(Gyy)


def _cosine_block(xb, yb, start, centre):
    xb = _float_block(xb, start, "X")
    yb = _float_block(yb, start, "Y")
    if centre:
        return (float(np.sum(rowwise_cosine(*row_centred(xb, yb), prepared=True))),)
    return (float(np.sum(rowwise_cosine(xb, yb))),)


def dask_mean_rowwise_cosine(X, Y, *, centre=False):
    """Mean over rows of the cosine of matched rows (of the row-centred rows if ``centre``)."""
    (total,) = blockwise_sum(_cosine_block, X, Y, centre)
    return total / X.shape[0]
