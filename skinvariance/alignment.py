"""Anchor-fitted maps from one latent space to another.

An alignment is estimated from *parallel anchors*: row ``i`` of the source anchors and row ``i``
of the target anchors embed the same input in two spaces. Once fitted, ``transform`` carries any
source vector into the target space's coordinates, where it can be compared with (or decoded
like) the target's own vectors. This is the "affine invariance" of the product-of-invariances
workshop paper (METHOD.md §7).

Both estimators take ``fit(X_source_anchors, Y_target_anchors)``: the target is required. A 1-D
``Y`` is read as a single target column, so ``transform`` then returns one column.

Both are scale-safe: each side is divided by a power of two (exact) before any mean, product or
decomposition is formed, and the map is applied in the same way, so finite anchors and samples
of any magnitude the dtype holds give a finite map and finite results. Only results that do not
fit in the dtype (a scale between the spaces beyond float64, mapped values beyond the dtype's
largest number) raise an error saying so.
"""

from numbers import Real

import numpy as np
from scipy.linalg import orthogonal_procrustes, pinv
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.linear_model import LinearRegression, Ridge
from sklearn.utils import check_array

from ._compat import NumberInterval, _fit_context, check_is_fitted, validate_data

__all__ = ["AffineAlignment", "OrthogonalAlignment"]


def _validate_pair(estimator, X, Y):
    """Validate source and target anchors; return float arrays with a 2-D target."""
    X, Y = validate_data(
        estimator,
        X,
        Y,
        multi_output=True,
        y_numeric=True,
        dtype=[np.float64, np.float32],
        ensure_min_samples=2,
    )
    Y = np.asarray(Y, dtype=X.dtype)
    if Y.ndim == 1:
        Y = Y.reshape(-1, 1)
    return X, Y


def _check_target(estimator, Y):
    """Validate target-space input of ``inverse_transform``."""
    check_is_fitted(estimator)
    Y = check_array(Y, dtype=[np.float64, np.float32], ensure_2d=False, input_name="Y")
    if Y.ndim == 1 and estimator.n_targets_ == 1:
        Y = Y.reshape(-1, 1)
    if Y.ndim != 2:
        raise ValueError(
            f"Expected a 2D array for Y, got an array of shape {Y.shape} instead. Reshape your "
            "data with Y.reshape(-1, 1) if it has a single feature."
        )
    if Y.shape[1] != estimator.n_targets_:
        raise ValueError(
            f"Y has {Y.shape[1]} features, but {type(estimator).__name__} is expecting "
            f"{estimator.n_targets_} target features as input."
        )
    return Y


def _exponent(Z):
    """The binary exponent ``e`` of ``max|Z| = f 2**e`` (``0.5 <= f < 1``); 0 for zeros."""
    top = float(np.max(np.abs(Z), initial=0.0))
    return int(np.frexp(top)[1]) if top > 0 else 0


def _centred_scaled(Z, center):
    """``(C, mean, e)`` with ``C = (Z - mean) / 2**e`` and ``max|C|`` in ``[0.5, 1)``.

    The mean is formed on ``Z`` divided by a power of two, and the centred rows are divided by
    a second one, so that neither the sum of the rows nor their products overflow or underflow
    whatever the magnitude of ``Z``; the divisions by powers of two are exact.
    """
    first = _exponent(Z)
    scaled = np.ldexp(Z, -first)
    mean = scaled.mean(axis=0) if center else np.zeros(Z.shape[1], dtype=Z.dtype)
    centred = scaled - mean
    second = _exponent(centred)
    return np.ldexp(centred, -second), np.ldexp(mean, first), first + second


def _affine_map(estimator, X, shift, matrix, exponent, offset):
    """``(X - shift) @ matrix * 2**exponent + offset`` in the dtype of ``X``, scale-safe.

    ``X - shift`` is formed after dividing both by a power of two, the matrix product on
    numbers below 2, and the power of two applied last (exactly), so that only a result
    beyond the dtype's largest number overflows; that raises a ``ValueError``.
    """
    dt = X.dtype
    shift = np.asarray(shift, dtype=dt)
    e = max(_exponent(X), _exponent(shift))
    out = (np.ldexp(X, -e) - np.ldexp(shift, -e)) @ np.asarray(matrix, dtype=dt)
    with np.errstate(over="ignore"):
        np.ldexp(out, e + exponent, out=out)
        out += np.asarray(offset, dtype=dt)
    if not np.isfinite(out).all():
        raise ValueError(
            f"The values mapped by {type(estimator).__name__} overflow {dt} (some exceed "
            f"{np.finfo(dt).max:.3g}); rescale the input or use float64."
        )
    return out


def _power_of_two(value, what, estimator):
    """``(f, e)`` with ``value = f 2**e``; refuse a value beyond float64 (0 or infinite)."""
    if not np.isfinite(value) or value == 0:
        raise ValueError(
            f"{type(estimator).__name__} cannot be fitted: {what} does not fit in float64 (the "
            "source and target anchors differ in magnitude by more than float64 can express)."
        )
    fraction, exponent = np.frexp(value)
    return float(fraction), int(exponent)


class _BaseAlignment(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Common tags and output width of the alignments."""

    @property
    def _n_features_out(self):
        return self.n_targets_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        tags.target_tags.multi_output = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags


class OrthogonalAlignment(_BaseAlignment):
    """Orthogonal Procrustes map from a source space to a target space.

    Finds the orthogonal matrix ``R`` (and, with ``scale=True``, the isotropic factor ``s``)
    minimising ``||s (X - mu_X) R - (Y - mu_Y)||_F`` over paired anchor rows, with
    :func:`scipy.linalg.orthogonal_procrustes`. It removes exactly the transformations that
    Euclidean relative projections are invariant to (rotations, reflections, translations and,
    with ``scale=True``, isotropic scaling), so two spaces related by such a map are aligned
    perfectly from enough anchors.

    **Different widths.** When the source has ``d_x`` features and the target ``d_y != d_x``,
    the narrower side is zero-padded to ``d = max(d_x, d_y)`` columns and the square Procrustes
    problem is solved there. The part of ``R`` that acts on real coordinates is kept as
    ``rotation_``, a ``(d_x, d_y)`` matrix with orthonormal rows (``d_x <= d_y``) or orthonormal
    columns (``d_x >= d_y``), so ``transform(X) = s (X - mu_X) rotation_ + mu_Y``. The inverse
    uses the transpose, ``inverse_transform(Y) = (Y - mu_Y) rotation_.T / s + mu_X``, which is
    the exact inverse when ``d_x <= d_y`` (a widening map loses nothing) and the least-squares
    inverse (an orthogonal projection onto the image) when ``d_x > d_y``.

    Parameters
    ----------
    center : bool, default=True
        Subtract each side's anchor mean before solving, and add the target mean back in
        ``transform``; this makes the map affine (rotation plus translation). With
        ``center=False`` the map is linear and both means are zero.
    scale : bool, default=False
        Also fit the optimal isotropic scale ``s``; otherwise ``s = 1``.

    Attributes
    ----------
    rotation_ : ndarray of shape (n_features_in_, n_targets_)
        Orthogonal (square) or semi-orthogonal (rectangular) matrix, applied as ``X @ rotation_``.
    scale_ : float
        Isotropic factor ``s`` (1.0 when ``scale=False``).
    source_mean_ : ndarray of shape (n_features_in_,)
        Mean of the source anchors (zeros when ``center=False``).
    target_mean_ : ndarray of shape (n_targets_,)
        Mean of the target anchors (zeros when ``center=False``).
    n_targets_ : int
        Number of target features, the width of ``transform``'s output.
    n_features_in_ : int
        Number of source features seen during :term:`fit`.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of source features seen during :term:`fit`, when ``X`` has string column names.

    See Also
    --------
    AffineAlignment : General least-squares affine map.
    scipy.linalg.orthogonal_procrustes : The solver used here.

    Notes
    -----
    With fewer anchors than features the problem is under-determined and ``R`` is one of many
    minimisers. Fitting needs at least two anchors, and source and target anchors that are not
    all the same vector (all zero, with ``center=False``): no rotation is defined otherwise,
    and the error says so.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy.stats import ortho_group
    >>> from skinvariance import OrthogonalAlignment
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(50, 4))
    >>> Q = ortho_group.rvs(4, random_state=0)
    >>> Y = 3.0 * X @ Q + 1.0
    >>> al = OrthogonalAlignment(scale=True).fit(X, Y)
    >>> round(al.scale_, 6)
    3.0
    >>> bool(np.allclose(al.transform(X), Y))
    True
    >>> bool(np.allclose(al.inverse_transform(Y), X))
    True
    """

    _parameter_constraints: dict = {
        "center": ["boolean"],
        "scale": ["boolean"],
    }

    def __init__(self, *, center=True, scale=False):
        self.center = center
        self.scale = scale

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
        self : OrthogonalAlignment
            Fitted estimator.
        """
        X, Y = _validate_pair(self, X, y)
        d_x, d_y = X.shape[1], Y.shape[1]
        for name, Z in (("source anchors X", X), ("target anchors y", Y)):
            # Exact tests: rounding of the mean must not pass identical rows for variance.
            if not (np.ptp(Z, axis=0).any() if self.center else Z.any()):
                what = "have zero variance (every row is the same vector)"
                raise ValueError(
                    f"OrthogonalAlignment cannot be fitted: the {name} "
                    f"{what if self.center else 'are all zero'}, so no rotation is defined "
                    f"(shape={Z.shape})."
                )
        # Both sides centred and divided by powers of two: the rotation does not change, and
        # no product below overflows or underflows.
        Xc, mu_x, e_x = _centred_scaled(X, self.center)
        Yc, mu_y, e_y = _centred_scaled(Y, self.center)
        d = max(d_x, d_y)
        # Zero-pad the narrower side so that the square Procrustes problem applies.
        Xp = np.zeros((X.shape[0], d), dtype=X.dtype)
        Yp = np.zeros((X.shape[0], d), dtype=X.dtype)
        Xp[:, :d_x], Yp[:, :d_y] = Xc, Yc
        R, singular_sum = orthogonal_procrustes(Xp, Yp)
        if self.scale:
            ratio = float(singular_sum) / float(np.sum(Xc.astype(np.float64) ** 2))
            with np.errstate(over="ignore", under="ignore"):
                scale = float(np.ldexp(ratio, e_y - e_x))
            _power_of_two(scale, "the scale between the spaces", self)
            self.scale_ = scale
        else:
            self.scale_ = 1.0
        self.rotation_ = np.ascontiguousarray(R[:d_x, :d_y])
        self.source_mean_ = mu_x.astype(X.dtype)
        self.target_mean_ = mu_y.astype(X.dtype)
        self.n_targets_ = d_y
        return self

    def transform(self, X):
        """Map source vectors into the target space.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Source-space vectors.

        Returns
        -------
        Y_hat : ndarray of shape (n_samples, n_targets_)
            ``scale_ * (X - source_mean_) @ rotation_ + target_mean_``, same float dtype as X.
        """
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=[np.float64, np.float32])
        fraction, exponent = np.frexp(self.scale_)
        return _affine_map(self, X, self.source_mean_, self.rotation_ * fraction,
                           int(exponent), self.target_mean_)

    def inverse_transform(self, X):
        """Map target vectors back into the source space.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_targets_)
            Target-space vectors.

        Returns
        -------
        X_hat : ndarray of shape (n_samples, n_features_in_)
            ``(X - target_mean_) @ rotation_.T / scale_ + source_mean_``; exact inverse of
            ``transform`` when the source is not wider than the target.
        """
        Y = _check_target(self, X)
        fraction, exponent = np.frexp(self.scale_)
        return _affine_map(self, Y, self.target_mean_, self.rotation_.T / fraction,
                           -int(exponent), self.source_mean_)


class AffineAlignment(_BaseAlignment):
    """Least-squares affine map ``x -> W x + b`` from a source space to a target space.

    Fitted on paired anchors with :class:`sklearn.linear_model.LinearRegression` (``alpha=0``)
    or :class:`sklearn.linear_model.Ridge` (``alpha > 0``, which also regularises the
    under-determined case of fewer anchors than source features). Any source and target widths
    are allowed. It removes any invertible affine relation between the spaces, the widest class
    of transformations in METHOD.md §2, at the cost of more parameters to estimate from the
    anchors.

    Parameters
    ----------
    fit_intercept : bool, default=True
        Fit the translation ``b``; with ``False`` the map is linear (``b = 0``).
    alpha : float, default=0.0
        Ridge penalty on ``W``; ``0`` is ordinary least squares.

    Attributes
    ----------
    coef_ : ndarray of shape (n_targets_, n_features_in_)
        ``W``, laid out as in scikit-learn's linear models: ``transform(X) = X @ coef_.T +
        intercept_``.
    intercept_ : ndarray of shape (n_targets_,)
        ``b`` (zeros when ``fit_intercept=False``).
    n_targets_ : int
        Number of target features, the width of ``transform``'s output.
    n_features_in_ : int
        Number of source features seen during :term:`fit`.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of source features seen during :term:`fit`, when ``X`` has string column names.

    See Also
    --------
    OrthogonalAlignment : Rotation (plus translation and scale) only.

    Notes
    -----
    ``inverse_transform`` applies the Moore-Penrose pseudo-inverse of ``W`` to ``Y - b``:
    the exact inverse when ``W`` is square and invertible, otherwise the minimum-norm
    least-squares solution.

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
    """

    _parameter_constraints: dict = {
        "fit_intercept": ["boolean"],
        "alpha": [NumberInterval(Real, 0, None, closed="left")],
    }

    def __init__(self, *, fit_intercept=True, alpha=0.0):
        self.fit_intercept = fit_intercept
        self.alpha = alpha

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
        X, Y = _validate_pair(self, X, y)
        # Fitted on both sides divided by powers of two (exact), so that no mean or product
        # overflows; the penalty follows: alpha |W|^2 = alpha 4**-e_x |W_scaled|^2 4**e_y.
        e_x, e_y = _exponent(X), _exponent(Y)
        alpha = float(np.ldexp(float(self.alpha), -2 * e_x)) if self.alpha else 0.0
        if alpha == 0:
            reg = LinearRegression(fit_intercept=self.fit_intercept)
        else:
            reg = Ridge(alpha=min(alpha, np.finfo(np.float64).max),
                        fit_intercept=self.fit_intercept)
        reg.fit(np.ldexp(X, -e_x), np.ldexp(Y, -e_y))
        coef = np.asarray(reg.coef_, dtype=np.float64).reshape(Y.shape[1], X.shape[1])
        # The map keeps its coefficients as a fraction and a power of two, so that a ratio of
        # magnitudes between the spaces beyond the dtype does not reach the transforms.
        e_coef = _exponent(coef)
        self._coef_scaled = np.ldexp(coef, -e_coef)
        self._coef_exponent = e_coef + e_y - e_x
        with np.errstate(over="ignore", under="ignore"):
            self.coef_ = np.ldexp(self._coef_scaled, self._coef_exponent).astype(X.dtype)
            # LinearRegression/Ridge store a scalar 0.0 when fit_intercept=False.
            intercept = np.ldexp(np.asarray(reg.intercept_, dtype=np.float64), e_y)
        self.intercept_ = np.broadcast_to(intercept.astype(X.dtype), (Y.shape[1],)).copy()
        if not np.isfinite(self.intercept_).all():
            raise ValueError(
                "AffineAlignment cannot be fitted: the translation of the map overflows "
                f"{X.dtype}; rescale the anchors or use float64."
            )
        self.n_targets_ = Y.shape[1]
        return self

    def transform(self, X):
        """Map source vectors into the target space.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Source-space vectors.

        Returns
        -------
        Y_hat : ndarray of shape (n_samples, n_targets_)
            ``X @ coef_.T + intercept_``, same float dtype as X.
        """
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=[np.float64, np.float32])
        return _affine_map(self, X, np.zeros(X.shape[1]), self._coef_scaled.T,
                           self._coef_exponent, self.intercept_)

    def inverse_transform(self, X):
        """Map target vectors back into the source space (least squares).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_targets_)
            Target-space vectors.

        Returns
        -------
        X_hat : ndarray of shape (n_samples, n_features_in_)
            ``(X - intercept_) @ pinv(coef_.T)``.
        """
        Y = _check_target(self, X)
        return _affine_map(self, Y, self.intercept_, pinv(self._coef_scaled.T),
                           -self._coef_exponent, np.zeros(self.n_features_in_))
