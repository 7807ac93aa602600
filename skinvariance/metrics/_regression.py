"""Linear predictivity: how much of one space a linear map of the other explains."""

from numbers import Real

import numpy as np

from .._compat import validate_params
from .._constraints import NumberInterval
from .._validation import DataError, check_paired_arrays
from ._base import centred
from ._cca import _thin_svd

__all__ = ["linear_regression_r2"]


def _regression_parts(X, Y, alpha):
    """The SVD of centred X, centred Y and its total variance, the per-direction shrinkage."""
    X, Y = check_paired_arrays(X, Y, "linear_regression_r2")
    # Y centred and brought to [-1, 1] by a power of two, which R^2 does not see.
    Yc, _ = centred(Y)
    total = float(np.vdot(Yc, Yc))
    if not total > 0:
        raise DataError(
            "linear_regression_r2 is undefined when Y has zero variance: every row of Y is "
            f"the same vector (shape={Y.shape}), so there is nothing to explain."
        )
    if np.array_equal(X.max(axis=0), X.min(axis=0)):  # a constant X explains nothing
        return np.zeros((X.shape[0], 0)), Yc, total, np.zeros(0)
    U, s, _, exponent = _thin_svd(X)
    if alpha == 0:
        keep = s > s[0] * max(X.shape) * np.finfo(np.float64).eps  # numerical rank
        shrink = np.ones(int(keep.sum()))
    else:
        keep = s > 0
        # The penalty in the units of the rescaled X: s^2 / (s^2 + alpha) is unchanged. It
        # may overflow (no direction explained) or vanish (least squares), as it should.
        with np.errstate(over="ignore", under="ignore"):
            alpha = np.ldexp(np.float64(alpha), -2 * exponent)
        shrink = s[keep] ** 2 / (s[keep] ** 2 + alpha)
    # Explained variance of the fitted values Yh = U diag(d) U^T Yc:
    # ||Yc||^2 - ||Yc - Yh||^2 = sum_a (2 d_a - d_a^2) ||(U^T Yc)_a||^2.
    return U[:, keep], Yc, total, 2 * shrink - shrink**2


def _explained_share(U, Yc, total, gain):
    Z = U.T @ Yc
    return float(np.clip(gain @ np.einsum("ij,ij->i", Z, Z) / total, 0.0, 1.0))


@validate_params(
    {
        "X": ["array-like"],
        "Y": ["array-like"],
        "alpha": [NumberInterval(Real, 0, None, closed="left")],
    },
    prefer_skip_nested_validation=True,
)
def linear_regression_r2(X, Y, *, alpha=0.0):
    """Share of Y's variance explained by a linear map from X (linear predictivity).

    ``R^2 = 1 - ||Yc - Xc W||_F^2 / ||Yc||_F^2`` on column-centred X and Y, where ``W``
    minimises ``||Yc - Xc W||_F^2 + alpha ||W||_F^2`` (least squares for ``alpha=0``, ridge
    otherwise; the intercept is not penalised). It is the share of Y's **total** centred
    variance explained, in sample (no held-out rows): scikit-learn's
    ``r2_score(Y, Ridge(alpha).fit(X, Y).predict(X), multioutput="variance_weighted")``, and
    with ``alpha=0`` the same with ``LinearRegression``. Computed from one thin SVD of
    ``Xc``: the fitted values are ``U diag(s^2 / (s^2 + alpha)) U^T Yc``.

    With ``alpha=0`` the least-squares fit is the minimum-norm one (directions of X with
    zero variance are ignored, as by the pseudo-inverse). When X's centred rows span all of
    the centred samples (``rank Xc = n_samples - 1``, e.g. X at least as wide as the number
    of samples), any Y is fitted exactly and the score is 1: use ``alpha > 0`` there. A
    constant X explains nothing (0.0); a constant Y has no variance to explain (an error).

    Cost: one thin SVD of X, O(n d_x min(n, d_x)) time, O(n (d_x + d_y)) memory, then
    O(n d_x d_y).

    Range: [0, 1]; higher = more similar; **not symmetric**: how well X predicts Y.
    Invariances: any invertible linear map and translation of X (``alpha=0``; with ridge,
    orthogonal maps and translation); orthogonal maps, isotropic scaling and translation of
    Y.

    Finite input of any magnitude gives the value at scale 1, a ridge ``alpha`` scaled with
    the square of X's power of two (:term:`at any magnitude`).

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features_x)
        The predicting space.
    Y : array-like of shape (n_samples, n_features_y)
        The predicted space, row-aligned with X.
    alpha : float, default=0.0
        Ridge penalty on the map's weights; 0 for ordinary least squares.

    Returns
    -------
    similarity : float
        The share of Y's variance explained.

    Raises
    ------
    ValueError
        On mismatched rows, fewer than 2 samples, non-finite values, a negative ``alpha``,
        or a constant Y.

    Examples
    --------
    >>> import numpy as np
    >>> from skinvariance.metrics import linear_regression_r2
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(100, 5))
    >>> round(linear_regression_r2(X, X @ rng.normal(size=(5, 3)) + 2.0), 6)
    1.0
    >>> Y = np.hstack([X[:, :2], rng.normal(size=(100, 2))])  # half of Y is unrelated
    >>> round(linear_regression_r2(X, Y), 1), round(linear_regression_r2(Y, X), 1)
    (0.5, 0.4)
    """
    return _explained_share(*_regression_parts(X, Y, alpha))


def linear_regression_r2_null(X, Y, *, alpha=0.0):
    """Null: ``perms -> linear_regression_r2(X, Y[p])`` from one SVD of X."""
    U, Yc, total, gain = _regression_parts(X, Y, alpha)
    return lambda perms: np.array([_explained_share(U, Yc[p], total, gain) for p in perms])
