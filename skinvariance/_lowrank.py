"""Thin linear algebra for wide spaces: fewer rows than features.

Hidden states of language models have thousands of features, and a comparison or an
alignment is often fitted on a few hundred rows. Then ``Xc^T Yc`` (features x features) has
rank at most ``n``: everything the measures and the maps need lives in the span of the rows,
and is computed from ``n x n`` factors in O(n^2 d) time and O(n d) memory, never a ``d x d``
matrix. This module holds those factors (:func:`r_factor`, :class:`LowRankMap`), the
orthogonal Procrustes solution in that form (:func:`procrustes_map`), and the guard that
refuses a dense matrix beyond scikit-learn's ``working_memory`` with the memory it would need
(:func:`check_dense_fits`).
"""

from dataclasses import dataclass

import numpy as np
from scipy.linalg import get_lapack_funcs, qr, svd
from sklearn import get_config

from ._validation import DataError

__all__ = ["LowRankMap", "check_dense_fits", "procrustes_map", "r_factor"]


def check_dense_fits(n_bytes, what, hint=""):
    """Refuse ``n_bytes`` of dense matrices beyond scikit-learn's ``working_memory``."""
    budget = int(get_config()["working_memory"] * 2**20)
    if n_bytes > budget:
        raise DataError(
            f"{what} needs about {n_bytes / 2**20:,.1f} MiB, more than the working_memory "
            f"budget of {budget / 2**20:,.1f} MiB. Raise the budget "
            f"(sklearn.set_config(working_memory=...) or sklearn.config_context, in MiB){hint}."
        )


def r_factor(Zt):
    """The ``k x n`` triangular factor ``R`` of the thin QR of ``Zt`` (``d x n``), so that
    ``Zt^T Zt = R^T R``; ``k = min(d, n)``. ``Zt`` (float64) is overwritten when it is
    Fortran-ordered (the transpose of a C-ordered array): no copy of it is made."""
    geqrf, = get_lapack_funcs(("geqrf",), (Zt,))
    packed, _, _, info = geqrf(Zt, overwrite_a=True)
    if info != 0:  # pragma: no cover - only on an invalid argument
        raise np.linalg.LinAlgError(f"QR factorisation failed (geqrf info={info}).")
    k = min(Zt.shape)
    return np.triu(packed[:k])


@dataclass(frozen=True)
class LowRankMap:
    """The linear map ``D -> c D[:, :m] (zero-padded) + D @ left @ core @ right``.

    A ``d_in x d_out`` matrix ``c I[:d_in, :d_out] + left core right`` kept as its factors
    (``left``: ``d_in x k``, ``core``: ``k x k'`` or None for the identity, ``right``:
    ``k' x d_out``), so that applying it costs ``O(rows (d_in + d_out) k)`` and it never
    occupies ``d_in x d_out`` memory.
    """

    identity: float
    left: np.ndarray
    core: np.ndarray
    right: np.ndarray

    @property
    def shape(self):
        return self.left.shape[0], self.right.shape[1]

    @property
    def T(self):  # noqa: N802 - as ndarray.T
        core = None if self.core is None else self.core.T
        return LowRankMap(self.identity, self.right.T, core, self.left.T)

    def __mul__(self, factor):
        if self.core is None:
            return LowRankMap(self.identity * factor, self.left, None, self.right * factor)
        return LowRankMap(self.identity * factor, self.left, self.core * factor, self.right)

    __rmul__ = __mul__

    def __truediv__(self, factor):
        return self * (1.0 / factor)

    def apply(self, D, dtype=None):
        """``D @ matrix`` in ``dtype`` (D's by default)."""
        dtype = D.dtype if dtype is None else dtype
        d_in, d_out = self.shape
        inner = D @ self.left.astype(dtype, copy=False)
        if self.core is not None:
            inner = inner @ self.core.astype(dtype, copy=False)
        out = inner @ self.right.astype(dtype, copy=False)
        if self.identity != 0:
            m = min(d_in, d_out)
            out[:, :m] += dtype.type(self.identity) * D[:, :m]
        return out

    def dense_bytes(self, itemsize=8):
        return itemsize * self.shape[0] * self.shape[1]

    def factor_bytes(self):
        core = 0 if self.core is None else self.core.nbytes
        # A square map may keep one basis as both factors (``right`` a view of ``left.T``).
        right = 0 if np.may_share_memory(self.left, self.right) else self.right.nbytes
        return self.left.nbytes + core + right

    def _product(self, dtype):
        left = self.left if self.core is None else self.left @ self.core
        out = (left @ self.right).astype(dtype, copy=False)
        m = min(self.shape)
        if self.identity != 0:
            out[np.arange(m), np.arange(m)] += self.identity
        return out

    def dense(self, dtype=np.float64, what="The dense matrix"):
        """The ``d_in x d_out`` matrix, refused beyond ``working_memory``."""
        dtype = np.dtype(dtype)
        check_dense_fits(self.dense_bytes(dtype.itemsize),
                         f"{what} of shape {self.shape}",
                         "; the transforms do not need it")
        return self._product(dtype)

    def compact(self):
        """Itself, or its dense matrix when that takes no more memory than the factors."""
        if self.dense_bytes() <= self.factor_bytes():
            return self._product(np.float64)
        return self


def apply_matrix(D, matrix, dtype):
    """``D @ matrix`` for a dense matrix or a :class:`LowRankMap`, in ``dtype``."""
    if isinstance(matrix, LowRankMap):
        return matrix.apply(D, dtype)
    return D @ np.asarray(matrix, dtype=dtype)


def _singular_factors(Xc, Yc):
    """``(U, s, V)`` of the thin SVD of ``Xc^T Yc``, from n x n factors when that is cheaper.

    With ``n`` rows below both widths, ``Xc^T = Qx Rx`` and ``Yc^T = Qy Ry`` (thin QR) give
    ``Xc^T Yc = Qx (Rx Ry^T) Qy^T``: the SVD of the small middle matrix is the one wanted.
    """
    n, d_x = Xc.shape
    d_y = Yc.shape[1]
    if d_x * d_y <= n * (d_x + d_y):
        check_dense_fits(16 * d_x * d_y, f"The {d_x} x {d_y} cross-covariance of the anchors")
        U, s, Vt = svd(Xc.T @ Yc, full_matrices=False, check_finite=False)
        return U, s, Vt.T
    Qx, Rx = qr(Xc.T, mode="economic", check_finite=False)
    Qy, Ry = qr(Yc.T, mode="economic", check_finite=False)
    a, s, bt = svd(Rx @ Ry.T, full_matrices=False, check_finite=False)
    U = Qx @ a
    del Qx  # one d x n basis less at the peak
    return U, s, Qy @ bt.T


def procrustes_map(Xc, Yc):
    """The orthogonal Procrustes map between centred sides, and ``||Xc^T Yc||_*``.

    The map is the ``d_x x d_y`` block of the orthogonal ``R`` minimising ``||Xp R - Yp||_F``
    for both sides zero-padded to ``d = max(d_x, d_y)`` columns. With ``Xc^T Yc = U S V^T``
    (``r`` non-zero singular values), every minimiser is ``U V^T`` on the span of ``U`` and
    any isometry from the rest onto the complement of ``V``; of them, the one **closest to
    the identity** (largest trace, smallest ``||R - I||_F``) is returned: the polar factor of
    the identity restricted to the two complements. It is the identity on every direction
    orthogonal to both ``U`` and ``V``, so ``R = I + Z (T - I) Z^T`` with ``Z`` an orthonormal
    basis of ``span(U, V)`` (at most ``2 r`` columns) and ``T`` orthogonal. When ``R`` is
    unique (``r = d_x = d_y``) it is returned dense, as scipy's
    :func:`~scipy.linalg.orthogonal_procrustes` gives it; otherwise as a :class:`LowRankMap`
    (or dense when that is smaller).

    Returns ``(rotation, nuclear_norm)``.
    """
    n, d_x = Xc.shape
    d_y = Yc.shape[1]
    U, s, V = _singular_factors(np.asarray(Xc, np.float64), np.asarray(Yc, np.float64))
    nuclear = float(s.sum())
    d = max(d_x, d_y)
    tol = s[0] * max(n, d) * np.finfo(np.float64).eps if s.size else 0.0
    r = int(np.count_nonzero(s > tol))
    if r == d_x == d_y:
        return U @ V.T, nuclear
    if r == 0:  # no direction fitted: the identity (zero-padded or truncated)
        return LowRankMap(1.0, np.zeros((d_x, 0)), np.zeros((0, 0)), np.zeros((0, d_y))), nuclear
    both = np.zeros((d, 2 * r))
    both[:d_x, :r], both[:d_y, r:] = U[:, :r], V[:, :r]
    del U, V
    # An orthonormal basis Z of a space holding both spans (Householder QR: orthonormal even
    # when the spans overlap), and both bases in its coordinates: Z^T [Up Vp] is the
    # triangular factor.
    Z, coordinates = qr(both, mode="economic", overwrite_a=True, check_finite=False)
    del both
    u, v = coordinates[:, :r], coordinates[:, r:]
    k = Z.shape[1]
    u_perp = qr(u, check_finite=False)[0][:, r:]
    v_perp = qr(v, check_finite=False)[0][:, r:]
    T = u @ v.T
    if k > r:
        a, _, bt = svd(u_perp.T @ v_perp, check_finite=False)
        T += u_perp @ (a @ bt) @ v_perp.T
    core = T - np.eye(k)
    # Views of the one basis: a square map keeps it once (``right`` is ``left.T``).
    rotation = LowRankMap(1.0, Z[:d_x], core, Z[:d_y].T)
    return rotation.compact(), nuclear
