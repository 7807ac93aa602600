"""Permutation nulls of CKA: what a permutation of Y's rows leaves unchanged is computed once.

Permuting Y's rows by ``p`` turns its Gram matrix ``L`` into ``P L P^T``: the self-terms
``HSIC(K, K)``, ``HSIC(L, L)``, the traces and the sums do not change, only the cross term
``<K, P L P^T>`` (and, for the debiased estimator, a product of row sums). Two forms compute
that cross term:

- **Gram form**: ``sum_ij K_ij L_{p_i p_j}`` from the two centred n x n Gram matrices, held
  once as float32 (8 n^2 bytes, within ``working_memory``): O(n^2 / 2) gathered products per
  permutation, whatever the widths. The only form for RBF CKA.
- **Feature form** (linear CKA): ``||Xc^T Yc[p]||_F^2``, a float32 matrix product of
  O(n d_x d_y) per permutation with O(d_x d_y) memory.

The Gram form is chosen when it fits and is cheaper: a gathered product costs about
:data:`GATHER_COST` multiply-adds of a matrix product (measured on the 2-core development
machine). When no form applies (RBF CKA whose Gram matrices do not fit), the measure itself
is re-run on every permutation.
"""

import numpy as np
from sklearn import get_config

from .._lowrank import check_dense_fits
from .._parallel import row_blocks
from .._validation import check_paired_arrays
from ._base import centred, check_not_constant
from ._cka import _cka_from_terms, _rbf_inputs, _rbf_rows, _unbiased
from ._loops import permuted_pair_sums

__all__ = ["cka_null", "linear_cka_null", "rbf_cka_null"]

#: A gathered product of the Gram form costs about this many multiply-adds of a float32
#: matrix product: ~4.4 ns against ~0.09 ns, measured with both cores busy.
GATHER_COST = 48
#: Bytes per entry of the Gram form: two float32 n x n matrices.
GRAM_BYTES_PER_ENTRY = 8


def _gram_fits(n):
    return GRAM_BYTES_PER_ENTRY * n * n <= get_config()["working_memory"] * 2**20


def _centre_gram(G, sums, debiased):
    """Centre a float32 Gram matrix in place, in float64 one block of rows at a time.

    Biased: ``H G H``. Debiased: the U-centring of the unbiased estimator (Song et al.,
    2012), ``G_ij - (r_i + r_j) / (n - 2) + s / ((n - 1) (n - 2))`` off the diagonal, zero
    on it, from the row sums ``r`` of ``G`` without its diagonal. Then
    ``<A, P B P^T> / sqrt(<A, A> <B, B>)`` is CKA (debiased CKA) with no correction term,
    so the float32 sums carry no cancellation. Permuting rows and columns commutes with
    either centring.
    """
    n = G.shape[0]
    total = sums.sum()
    if debiased:
        np.fill_diagonal(G, 0.0)
        scale, offset = 1.0 / (n - 2), total / ((n - 1) * (n - 2))
    else:
        scale, offset = 1.0 / n, total / n**2
    for rows in row_blocks(n, 16 * n):
        block = G[rows].astype(np.float64)
        block -= scale * (sums[rows, None] + sums[None, :])
        block += offset
        G[rows] = block
    if debiased:
        np.fill_diagonal(G, 0.0)
    return G


def _linear_gram(Zc, debiased):
    """The centred linear Gram matrix ``Zc Zc^T`` as float32 (see :func:`_centre_gram`)."""
    n = Zc.shape[0]
    G = np.empty((n, n), dtype=np.float32)
    for rows in row_blocks(n, 8 * n):
        G[rows] = Zc[rows] @ Zc.T
    if not debiased:
        return G  # the rows of centred data give an already double-centred Gram
    # The rows of Zc Zc^T sum to zero; without the diagonal, to -|zc_i|^2.
    return _centre_gram(G, -np.einsum("ij,ij->i", Zc, Zc), debiased)


def _rbf_gram(Z, sq_sigma, debiased):
    """The centred RBF Gram matrix as float32 (see :func:`_centre_gram`), from a prepared
    input of :func:`~._cka._rbf_inputs` and its squared bandwidth."""
    n = Z.shape[0]
    norms = np.einsum("ij,ij->i", Z, Z)
    G = np.empty((n, n), dtype=np.float32)
    sums = np.empty(n)
    for rows in row_blocks(n, 16 * n, max_rows=n):
        block = _rbf_rows(Z, norms, rows.start, rows.stop, sq_sigma)
        sums[rows] = block.sum(axis=1)
        G[rows] = block
    return _centre_gram(G, sums - 1.0 if debiased else sums, debiased)  # unit diagonal


def _gram_null(A, B, debiased):
    """``perms -> CKA`` from two centred Gram matrices."""
    n = A.shape[0]
    identity = np.arange(n)[None, :]
    kk = permuted_pair_sums(A, A, identity)[0]
    ll = permuted_pair_sums(B, B, identity)[0]
    return lambda perms: np.array(
        [_cka_from_terms(kl, kk, ll, n, debiased) for kl in permuted_pair_sums(A, B, perms)]
    )


def _squared_gram_norm(Zc):
    """``||Zc^T Zc||_F^2 = ||Zc Zc^T||_F^2``, from the smaller of the two."""
    G = Zc @ Zc.T if Zc.shape[0] < Zc.shape[1] else Zc.T @ Zc
    return np.vdot(G, G)


def _feature_null(Xc, Yc, debiased):
    """``perms -> linear CKA`` from ``||Xc^T Yc[p]||^2`` (float32 products)."""
    n = Xc.shape[0]
    rk, rl = np.einsum("ij,ij->i", Xc, Xc), np.einsum("ij,ij->i", Yc, Yc)
    kk, ll = _squared_gram_norm(Xc), _squared_gram_norm(Yc)
    check_dense_fits(12 * Xc.shape[1] * Yc.shape[1],
                     f"The permutation null of linear CKA over {n} samples (a "
                     f"{Xc.shape[1]} x {Yc.shape[1]} product per permutation)")
    tk, tl = rk.sum(), rl.sum()
    if debiased:
        kk, ll = _unbiased(kk, rk @ rk, tk, tk, n), _unbiased(ll, rl @ rl, tl, tl, n)
    XcT = np.ascontiguousarray(Xc.T, dtype=np.float32)
    Yc = Yc.astype(np.float32)

    def cka_of(p):
        G = (XcT @ Yc[p]).astype(np.float64)
        kl = np.vdot(G, G)
        if debiased:
            kl = _unbiased(kl, rk @ rl[p], tk, tl, n)
        return _cka_from_terms(kl, kk, ll, n, debiased)

    return lambda perms: np.array([cka_of(p) for p in perms])


def cka_null(X, Y, kernel="linear", *, debiased=False, sigma=None):
    """Null of :func:`cka`: ``perms -> cka(X, Y[p])``, or None to re-run the measure."""
    X, Y = check_paired_arrays(X, Y, "CKA", min_samples=4 if debiased else 2)
    check_not_constant(X, "X", "CKA")
    check_not_constant(Y, "Y", "CKA")
    n = X.shape[0]
    if kernel == "rbf":
        if not _gram_fits(n):
            return None
        Xc, Yc, sx2, sy2 = _rbf_inputs(X, Y, sigma)
        return _gram_null(_rbf_gram(Xc, sx2, debiased), _rbf_gram(Yc, sy2, debiased),
                          debiased)
    # Brought to [-1, 1] by powers of two (CKA does not see it): the float32 Gram matrices
    # and their squares can neither overflow nor vanish.
    (Xc, _), (Yc, _) = centred(X), centred(Y)
    if _gram_fits(n) and n * GATHER_COST < 2 * X.shape[1] * Y.shape[1]:
        return _gram_null(_linear_gram(Xc, debiased), _linear_gram(Yc, debiased), debiased)
    return _feature_null(Xc, Yc, debiased)


def linear_cka_null(X, Y, *, debiased=False):
    """Null of :func:`linear_cka`."""
    return cka_null(X, Y, "linear", debiased=debiased)


def rbf_cka_null(X, Y, *, debiased=False, sigma=None):
    """Null of :func:`rbf_cka`."""
    return cka_null(X, Y, "rbf", debiased=debiased, sigma=sigma)
