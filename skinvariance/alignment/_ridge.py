"""Ridge regression with its strength chosen by exact leave-one-out, from one SVD.

The computation of :class:`sklearn.linear_model.RidgeCV` (``gcv_mode="svd"``, no scorer, one
alpha for every target): with ``X = U diag(s) V^T`` (``X`` and ``Y`` centred when there is an
intercept), the ridge fit of strength ``alpha`` has hat matrix ``H = U diag(s² / (s² + alpha))
U^T`` (plus ``1 1^T / n`` for the intercept), and the residual of row ``i`` when it is left out
of the fit is ``(Y - H Y)_i / (1 - H_ii)`` exactly. So the error of every alpha of a grid costs
a matrix product, not ``n`` fits.
"""

import numpy as np
from scipy.linalg import svd

__all__ = ["DEFAULT_ALPHAS", "data_scale", "ridge_factors", "ridge_leave_one_out"]

#: The default grid, relative to :func:`data_scale`: four values per decade from 1e-3
#: (nearly least squares) to 1e4 (nearly the mean of the target anchors).
DEFAULT_ALPHAS = np.logspace(-3, 4, 29)


def data_scale(X):
    """The mean squared singular value of ``X``, ``||X||_F² / min(n, d)`` (1 for ``X = 0``).

    The ridge penalty is measured against the squared singular values: ``alpha`` well below
    them leaves the least-squares fit, well above shrinks it to zero.
    """
    total = float(np.sum(np.square(X, dtype=np.float64)))
    return total / min(X.shape) if total > 0 else 1.0


def ridge_leave_one_out(X, Y, alphas, *, intercept):
    """The leave-one-out error of ridge over a grid of strengths, and the best fit.

    Parameters
    ----------
    X : ndarray of shape (n, d)
        Source rows, centred when ``intercept``.
    Y : ndarray of shape (n, t)
        Target rows, centred when ``intercept``.
    alphas : ndarray of shape (n_alphas,)
        Positive strengths, in the units of ``X``.
    intercept : bool
        Whether the fit has an (unpenalised) intercept, which a left-out row also moves.

    Returns
    -------
    errors : ndarray of shape (n_alphas,)
        Sum over rows and target columns of the squared leave-one-out residuals.
    best : int
        The index of the smallest error (the first on a tie, as ``RidgeCV``).
    left, right : ndarray of shape (d, k) and (k, t)
        The ridge coefficients of the best strength as two factors, ``coef = left @ right``
        with ``Y ≈ X @ coef`` and ``k = min(n, d)``; ``left`` has orthonormal columns.
    """
    X = np.asarray(X, dtype=np.float64)
    Y = np.asarray(Y, dtype=np.float64)
    U, s, Vt = svd(X, full_matrices=False, check_finite=False)
    squares = s**2
    projected = U.T @ Y
    outside = Y - U @ projected  # the part of Y no ridge fit on X reaches
    common = 1.0 / len(X) if intercept else 0.0
    row_squares = _residual_squares(U, projected, outside)
    errors = np.empty(len(alphas))
    for i, alpha in enumerate(alphas):
        leverage = (U**2) @ (squares / (squares + alpha)) + common
        with np.errstate(divide="ignore", invalid="ignore"):
            errors[i] = np.sum(row_squares(alpha / (squares + alpha)) / (1.0 - leverage) ** 2)
    best = int(np.argmin(np.where(np.isnan(errors), np.inf, errors)))
    alpha = alphas[best]
    return errors, best, Vt.T, (s / (squares + alpha))[:, None] * projected


def _residual_squares(U, projected, outside):
    """``shrink -> ||residual_i||^2`` per row, ``residual = outside + U diag(shrink) projected``.

    With more target columns than singular values (a wide target), from ``k x k`` and
    ``n x k`` products computed once (``||o_i||^2 + 2 (u_i * shrink) . (o P^T)_i + (u_i *
    shrink) P P^T (u_i * shrink)``): O(n k^2) per strength instead of O(n k t).
    """
    k, t = projected.shape
    if t <= k:
        return lambda shrink: np.sum(
            (outside + U @ (shrink[:, None] * projected)) ** 2, axis=1)
    gram = projected @ projected.T
    cross = outside @ projected.T
    base = np.einsum("ij,ij->i", outside, outside)

    def squares(shrink):
        weighted = U * shrink
        quadratic = np.einsum("ij,ij->i", weighted @ gram, weighted)
        return np.maximum(base + 2.0 * np.einsum("ij,ij->i", weighted, cross) + quadratic, 0.0)

    return squares


def ridge_factors(X, Y, alpha, *, rcond):
    """Ridge of strength ``alpha`` (minimum-norm least squares for 0) as two factors.

    From the thin SVD ``X = U diag(s) V^T``: ``coef = V diag(s / (s² + alpha)) U^T Y``, returned
    as ``(V, diag(...) U^T Y)`` of rank at most ``min(n, d)``, the dual form of ridge for a
    wide ``X``. Least squares keeps the singular values above ``rcond * s_max`` (the numerical
    rank), as the pseudo-inverse does.
    """
    X = np.asarray(X, dtype=np.float64)
    Y = np.asarray(Y, dtype=np.float64)
    U, s, Vt = svd(X, full_matrices=False, check_finite=False)
    if alpha == 0:
        keep = s > s[0] * rcond
        gain = 1.0 / s[keep]
    else:
        keep = s > 0
        gain = s[keep] / (s[keep] ** 2 + alpha)
    return Vt[keep].T, gain[:, None] * (U[:, keep].T @ Y)
