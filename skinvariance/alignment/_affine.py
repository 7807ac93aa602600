"""Least-squares (ridge) affine map between two spaces, its strength chosen on the anchors."""

from numbers import Real

import numpy as np
from scipy.linalg import pinv
from sklearn.linear_model import LinearRegression, Ridge
from sklearn.utils.validation import check_is_fitted, validate_data

from .._compat import InvalidParameterError, StrOptions, _fit_context
from .._constraints import NumberInterval
from .._validation import DataError
from ._base import BaseAlignment, check_target_space, validate_pair
from ._ridge import DEFAULT_ALPHAS, data_scale, ridge_leave_one_out
from ._scaling import exponent_of

__all__ = ["AffineAlignment"]


class AffineAlignment(BaseAlignment):
    """Least-squares affine map ``x -> W x + b`` from a source space to a target space.

    Fitted on paired anchors with :class:`sklearn.linear_model.LinearRegression` (``alpha=0``)
    or :class:`sklearn.linear_model.Ridge` (``alpha > 0``), or as ridge with the strength
    chosen by exact leave-one-out over the anchors (``alpha="auto"``, the computation of
    :class:`sklearn.linear_model.RidgeCV`). Any source and target widths are allowed. It
    removes any invertible affine relation between the spaces, the widest class of
    transformations in METHOD.md §2, at the cost of ``d_source * d_target`` parameters to
    estimate from the anchors.

    **Why regularise.** With ``k`` anchors in ``d >= k`` source dimensions, least squares
    interpolates the anchors: it maps each one exactly onto its target, noise included, and the
    map transfers badly to the other samples. ``alpha="auto"`` tries every strength of a grid
    and keeps the one whose leave-one-out error on the anchors is smallest; the whole grid
    costs one SVD of the anchors.

    Parameters
    ----------
    fit_intercept : bool, default=True
        Fit the translation ``b``: both sides' anchors are centred on their means before ``W``
        is fitted (as scikit-learn's linear models do), and ``b = mu_Y - W mu_X``. With
        ``False`` the map is linear (``b = 0``) and nothing is centred.
    alpha : float or "auto", default=0.0
        Ridge penalty on ``W``: ``0`` is ordinary least squares; ``"auto"`` chooses it among
        ``alphas`` by leave-one-out over the anchors (one strength for all target features,
        the one with the smallest squared error summed over anchors and target features).
        With ``standardize=True`` it is a penalty on the map between the standardised sides.
    alphas : array-like of shape (n_alphas,), default=None
        The positive strengths ``alpha="auto"`` chooses among, in the units of the (centred;
        with ``standardize=True`` standardised) source anchors, as ``RidgeCV``'s. None:
        29 values log-spaced from ``1e-3`` to ``1e4`` times the mean squared singular value of
        those anchors (``||X_c||_F² / min(n_anchors, n_features)``), from nearly least
        squares to nearly the constant map onto the target anchors' mean. Used only with
        ``alpha="auto"`` (checked whatever ``alpha`` is).
    standardize : bool, default=False
        Divide each feature of either side by its anchors' standard deviation before fitting,
        and multiply the target's back on output: with ``fit_intercept=True`` (centring) this
        is the standard scaling of the latent space translation of Maiorca et al. (NeurIPS
        2023); with ``fit_intercept=False`` the sides are scaled, not centred. As in
        :class:`~sklearn.preprocessing.StandardScaler`, the deviations are about the mean and a
        feature whose variance is within rounding of zero gets the scale 1. Least squares
        (``alpha=0``) gives the same map either way; a ridge penalty does not, and then the
        map no longer depends on the units of each feature.

    Attributes
    ----------
    coef_ : ndarray of shape (n_targets_, n_features_in_)
        ``W``, in the raw coordinates of both spaces and laid out as in scikit-learn's linear
        models: ``transform(X) = X @ coef_.T + intercept_``. An entry beyond the dtype's range
        (features of the two spaces differing in magnitude by more than it spans) is ``±inf``
        or 0 here; ``transform`` does not use this array.
    intercept_ : ndarray of shape (n_targets_,)
        ``b`` (zeros when ``fit_intercept=False``).
    alpha_ : float
        The ridge strength used: ``alpha``, or the one chosen with ``alpha="auto"``.
    alphas_ : ndarray of shape (n_alphas,)
        The strengths ``alpha="auto"`` chose among (only then).
    source_mean_ : ndarray of shape (n_features_in_,)
        Mean of the source anchors, subtracted before fitting (zeros when
        ``fit_intercept=False``).
    target_mean_ : ndarray of shape (n_targets_,)
        Mean of the target anchors (zeros when ``fit_intercept=False``).
    source_scale_ : ndarray of shape (n_features_in_,)
        Standard deviation of each feature of the source anchors (ones when
        ``standardize=False``).
    target_scale_ : ndarray of shape (n_targets_,)
        Standard deviation of each feature of the target anchors (ones when
        ``standardize=False``).
    n_targets_ : int
        Number of target features, the width of ``transform``'s output.
    n_features_in_ : int
        Number of source features seen during :term:`fit`.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of source features seen during :term:`fit`, when ``X`` has string column names.

    See Also
    --------
    OrthogonalAlignment : Rotation (plus translation and scale) only.
    sklearn.linear_model.RidgeCV : The same leave-one-out choice of the strength.

    Notes
    -----
    The leave-one-out error is exact for the ridge fit on the centred (and standardised)
    anchors, whose means and deviations are computed once on all of them, as ``RidgeCV``'s
    (after a ``StandardScaler`` in a pipeline) are.

    ``inverse_transform`` applies the Moore-Penrose pseudo-inverse of the fitted map to
    ``Y - mu_Y`` (in standardised coordinates with ``standardize=True``) and adds ``mu_X``
    back: the exact inverse when ``W`` is square and invertible, otherwise the least-squares
    solution nearest the source anchors' mean.

    Examples
    --------
    >>> import numpy as np
    >>> from skinvariance import AffineAlignment
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(40, 3))
    >>> W = rng.normal(size=(3, 5))
    >>> Y = X @ W + 2.0
    >>> al = AffineAlignment().fit(X, Y)
    >>> al.coef_.shape
    (5, 3)
    >>> bool(np.allclose(al.transform(X), Y))
    True

    Fewer anchors (20) than features (50), with noise: least squares interpolates the anchors,
    the ridge strength chosen on them transfers better to new samples.

    >>> X = rng.normal(size=(220, 50))
    >>> Y = X @ rng.normal(size=(50, 10)) + 5.0 * rng.normal(size=(220, 10))
    >>> ridge = AffineAlignment(alpha="auto").fit(X[:20], Y[:20])
    >>> plain = AffineAlignment().fit(X[:20], Y[:20])
    >>> def error(al):
    ...     return float(np.mean((al.transform(X[20:]) - Y[20:]) ** 2))
    >>> bool(error(ridge) < error(plain)), bool(ridge.alpha_ > 0)
    (True, True)
    """

    _parameter_constraints: dict = {
        "fit_intercept": ["boolean"],
        "alpha": [NumberInterval(Real, 0, None, closed="left"), StrOptions({"auto"})],
        "alphas": ["array-like", None],
        "standardize": ["boolean"],
    }

    def __init__(self, *, fit_intercept=True, alpha=0.0, alphas=None, standardize=False):
        self.fit_intercept = fit_intercept
        self.alpha = alpha
        self.alphas = alphas
        self.standardize = standardize

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Fit the map from paired source and target anchors.

        Parameters
        ----------
        X : array-like of shape (n_anchors, n_features)
            Source-space anchors.
        y : array-like of shape (n_anchors, n_targets) or (n_anchors,)
            Target-space anchors, paired with ``X`` by row. A 1-D array is one target column.

        Returns
        -------
        self : AffineAlignment
            Fitted estimator.
        """
        alphas = self._checked_alphas()
        X, Y = validate_pair(self, X, y)
        # Both sides centred (with the intercept), standardised (if asked) and divided by
        # powers of two (exact), so that no mean or product overflows; the penalty follows:
        # alpha |W|^2 = alpha 4**-e_x |W_scaled|^2 4**e_y.
        source, target = self._scale_sides(X, Y, center=self.fit_intercept)
        Xs, e_x, Ys, e_y = source.values, source.exponent, target.values, target.exponent
        if self.alpha == "auto":
            coef = self._fit_leave_one_out(Xs, Ys, e_x, alphas)
        else:
            self.alpha_ = float(self.alpha)
            coef = self._fit_fixed(Xs, Ys, e_x)
        # The map keeps its coefficients as a fraction and a power of two, so that a ratio of
        # magnitudes between the spaces beyond the dtype does not reach the transforms.
        e_coef = exponent_of(coef)
        self._coef_scaled = np.ldexp(coef.T, -e_coef)
        self._coef_exponent = e_coef + e_y - e_x
        self.n_targets_ = Y.shape[1]
        with np.errstate(over="ignore", under="ignore"):
            self.coef_ = self._raw_coef().astype(X.dtype)
        try:  # b is the image of the origin
            origin = np.zeros((1, X.shape[1]), dtype=X.dtype)
            self.intercept_ = self._forward(origin, self._coef_scaled.T, self._coef_exponent)[0]
        except DataError:
            raise DataError(
                "AffineAlignment cannot be fitted: the translation of the map overflows "
                f"{X.dtype}; rescale the anchors or use float64."
            ) from None
        return self

    def _checked_alphas(self):
        """``alphas`` as a float64 array (None stays None); refuses non-positive values."""
        if self.alphas is None:
            return None
        values = np.asarray(self.alphas)
        if not (values.dtype.kind in "iuf" and values.ndim == 1 and values.size
                and np.all(np.isfinite(values)) and np.all(values > 0)):
            raise InvalidParameterError(
                "The 'alphas' parameter of AffineAlignment must be None or a non-empty 1-D "
                f"array-like of positive finite floats. Got {self.alphas!r} instead."
            )
        return values.astype(np.float64)

    def _fit_fixed(self, Xs, Ys, e_x):
        """Least squares or ridge of the given strength on the prepared sides."""
        if self.alpha == 0:
            reg = LinearRegression(fit_intercept=False)
        else:
            alpha = float(np.ldexp(float(self.alpha), -2 * e_x))
            reg = Ridge(alpha=min(alpha, np.finfo(np.float64).max), fit_intercept=False)
        reg.fit(Xs, Ys)
        return np.asarray(reg.coef_, dtype=np.float64).reshape(Ys.shape[1], Xs.shape[1]).T

    def _fit_leave_one_out(self, Xs, Ys, e_x, alphas):
        """Ridge with the strength of the grid whose leave-one-out error is smallest."""
        with np.errstate(over="ignore", under="ignore"):
            if alphas is None:
                grid = DEFAULT_ALPHAS * data_scale(Xs)
                self.alphas_ = np.ldexp(grid, 2 * e_x)
            else:
                self.alphas_ = alphas
                tiny, huge = np.finfo(np.float64).tiny, np.finfo(np.float64).max
                grid = np.clip(np.ldexp(alphas, -2 * e_x), tiny, huge)
        _, best, coef = ridge_leave_one_out(Xs, Ys, grid, intercept=self.fit_intercept)
        self.alpha_ = float(self.alphas_[best])
        return coef

    def _raw_coef(self):
        """``W`` in the raw coordinates: the standard deviations folded into the matrix."""
        coef, exponent = self._coef_scaled, self._coef_exponent
        with np.errstate(over="ignore", under="ignore"):
            if self._source_scale is None:
                return np.ldexp(coef, exponent)
            (f_x, p_x), (f_y, p_y) = self._source_scale, self._target_scale
            powers = exponent + p_y[:, None] - p_x[None, :]
            return np.ldexp(coef * (f_y[:, None] / f_x[None, :]), powers)

    def transform(self, X):
        """Map source vectors into the target space.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Source-space vectors.

        Returns
        -------
        Y_hat : ndarray of shape (n_samples, n_targets_)
            ``X @ coef_.T + intercept_``, same float dtype as X (computed as
            ``((X - source_mean_) / source_scale_) @ W_std * target_scale_ + target_mean_``).
        """
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=[np.float64, np.float32])
        return self._forward(X, self._coef_scaled.T, self._coef_exponent)

    def inverse_transform(self, X):
        """Map target vectors back into the source space (least squares).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_targets_)
            Target-space vectors.

        Returns
        -------
        X_hat : ndarray of shape (n_samples, n_features_in_)
            ``((X - target_mean_) / target_scale_) @ pinv(W_std) * source_scale_ +
            source_mean_``, with ``W_std`` the map between the prepared sides.
        """
        Y = check_target_space(self, X)
        return self._backward(Y, pinv(self._coef_scaled.T), -self._coef_exponent)
