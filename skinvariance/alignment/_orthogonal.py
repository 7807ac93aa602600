"""Orthogonal Procrustes between two spaces, optionally after standard scaling of both."""

import numpy as np
from scipy.linalg import orthogonal_procrustes
from sklearn.utils.validation import check_is_fitted, validate_data

from .._compat import _fit_context
from .._validation import DataError
from ._base import BaseAlignment, check_target_space, validate_pair
from ._scaling import power_of_two

__all__ = ["OrthogonalAlignment"]


class OrthogonalAlignment(BaseAlignment):
    """Orthogonal Procrustes map from a source space to a target space.

    Finds the orthogonal matrix ``R`` (and, with ``scale=True``, the isotropic factor ``s``)
    minimising ``||s (X - mu_X) R - (Y - mu_Y)||_F`` over paired anchor rows, with
    :func:`scipy.linalg.orthogonal_procrustes`. It removes exactly the transformations that
    Euclidean relative projections are invariant to (rotations, reflections, translations and,
    with ``scale=True``, isotropic scaling), so two spaces related by such a map are aligned
    perfectly from enough anchors.

    With ``standardize=True`` both sides are first divided, feature by feature, by their
    anchors' standard deviation ``sigma``, and the target's is multiplied back on output: the
    *latent space translation* of Maiorca et al. (NeurIPS 2023). The map is then
    ``transform(X) = s ((X - mu_X) / sigma_X) R sigma_Y + mu_Y``, which also absorbs a rescaling
    of each feature of either space.

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
        Also fit the optimal isotropic scale ``s`` (between the standardised sides with
        ``standardize=True``); otherwise ``s = 1``.
    standardize : bool, default=False
        Divide each feature of either side by its anchors' standard deviation before solving,
        and multiply the target's back on output. It combines with ``center``, which still
        decides whether the means are subtracted: ``center=True`` (the default) gives standard
        scaling, the recipe of the latent space translation; ``center=False`` scales without
        centring (``StandardScaler(with_mean=False)``). As in
        :class:`~sklearn.preprocessing.StandardScaler`, the deviations are about the mean and a
        feature whose variance is within rounding of zero gets the scale 1.

    Attributes
    ----------
    rotation_ : ndarray of shape (n_features_in_, n_targets_)
        Orthogonal (square) or semi-orthogonal (rectangular) matrix, applied as ``X @ rotation_``
        (to the standardised source with ``standardize=True``).
    scale_ : float
        Isotropic factor ``s`` (1.0 when ``scale=False``).
    source_mean_ : ndarray of shape (n_features_in_,)
        Mean of the source anchors (zeros when ``center=False``).
    target_mean_ : ndarray of shape (n_targets_,)
        Mean of the target anchors (zeros when ``center=False``).
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
    AffineAlignment : General least-squares affine map.
    scipy.linalg.orthogonal_procrustes : The solver used here.

    Notes
    -----
    With fewer anchors than features the problem is under-determined and ``R`` is one of many
    minimisers. Fitting needs at least two anchors, and source and target anchors that are not
    all the same vector (all zero, with ``center=False``): no rotation is defined otherwise,
    and the error says so.

    References
    ----------
    L. Maiorca, L. Moschella, A. Norelli, M. Fumero, F. Locatello, E. Rodolà, "Latent Space
    Translation via Semantic Alignment", NeurIPS 2023.

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

    Features of the source rescaled one by one (no rotation maps them back), then standardised:

    >>> X_stretched = X * [1.0, 10.0, 0.1, 5.0]
    >>> al = OrthogonalAlignment(standardize=True).fit(X_stretched, X)
    >>> bool(np.allclose(al.transform(X_stretched), X))
    True
    """

    _parameter_constraints: dict = {
        "center": ["boolean"],
        "scale": ["boolean"],
        "standardize": ["boolean"],
    }

    def __init__(self, *, center=True, scale=False, standardize=False):
        self.center = center
        self.scale = scale
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
        self : OrthogonalAlignment
            Fitted estimator.
        """
        X, Y = validate_pair(self, X, y)
        d_x, d_y = X.shape[1], Y.shape[1]
        # Exact tests first: rounding of the mean must not pass identical rows for variance.
        for name, Z in (("source anchors X", X), ("target anchors y", Y)):
            if not (np.ptp(Z, axis=0).any() if self.center else Z.any()):
                self._refuse(name, Z)
        # Both sides centred (standardised) and divided by powers of two: the rotation does
        # not change, and no product below overflows or underflows.
        source, target = self._scale_sides(X, Y, center=self.center)
        for name, Z, side in (("source anchors X", X, source), ("target anchors y", Y, target)):
            if not side.values.any():  # every feature constant to rounding, once standardised
                self._refuse(name, Z)
        Xc, e_x, Yc, e_y = source.values, source.exponent, target.values, target.exponent
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
            power_of_two(scale, "the scale between the spaces", self)
            self.scale_ = scale
        else:
            self.scale_ = 1.0
        self.rotation_ = np.ascontiguousarray(R[:d_x, :d_y])
        self.n_targets_ = d_y
        return self

    def _refuse(self, name, Z):
        what = "have zero variance (every row is the same vector)"
        raise DataError(
            f"OrthogonalAlignment cannot be fitted: the {name} "
            f"{what if self.center else 'are all zero'}, so no rotation is defined "
            f"(shape={Z.shape})."
        )

    def transform(self, X):
        """Map source vectors into the target space.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Source-space vectors.

        Returns
        -------
        Y_hat : ndarray of shape (n_samples, n_targets_)
            ``scale_ * ((X - source_mean_) / source_scale_) @ rotation_ * target_scale_ +
            target_mean_``, same float dtype as X.
        """
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=[np.float64, np.float32])
        fraction, exponent = np.frexp(self.scale_)
        return self._forward(X, self.rotation_ * fraction, int(exponent))

    def inverse_transform(self, X):
        """Map target vectors back into the source space.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_targets_)
            Target-space vectors.

        Returns
        -------
        X_hat : ndarray of shape (n_samples, n_features_in_)
            ``((X - target_mean_) / target_scale_) @ rotation_.T / scale_ * source_scale_ +
            source_mean_``; exact inverse of ``transform`` when the source is not wider than the
            target.
        """
        Y = check_target_space(self, X)
        fraction, exponent = np.frexp(self.scale_)
        return self._backward(Y, self.rotation_.T / fraction, -int(exponent))
