"""Canonical correlation analysis between spaces: SVCCA and PWCCA.

Both reduce each centred space to an orthonormal basis of its kept principal directions
(thin SVD), after which the canonical correlations are the singular values of ``Ux^T Uy``,
the cosines of the principal angles between the two column spaces. Nothing is inverted, so
rank deficiency is handled by keeping only the directions of non-zero variance.

**Too few samples.** After centring, ``n`` samples span at most ``n - 1`` dimensions, so two
subspaces of dimensions ``r_x`` and ``r_y`` with ``r_x + r_y > n - 1`` must share at least
``r_x + r_y - n + 1`` directions: that many canonical correlations equal 1 whatever the
data. Both measures refuse that case with an error (reduce the spaces, with ``svcca``'s
``n_components``, or use more samples) rather than report a similarity the data do not carry.
"""

from numbers import Integral

import numpy as np
from scipy.linalg import LinAlgError, svd, svdvals

from .._compat import RealNotInt, validate_params
from .._constraints import NumberInterval
from .._validation import DataError, check_paired_arrays
from ._base import centred, check_not_constant

__all__ = ["pwcca", "svcca"]

#: Share of the variance SVCCA keeps by default (Raghu et al., 2017).
DEFAULT_VARIANCE = 0.99


def _thin_svd(Z):
    """Thin SVD of the column-centred float64 copy of ``Z`` divided by ``2**exponent``.

    Returns ``(U, s, Vt, exponent)``. The centred copy is brought into ``[-1, 1]`` by the
    power of two ``2**exponent`` (:func:`centred`), so that the squared singular values
    neither overflow nor vanish; the measures depend on ``s`` only through ratios, and a
    ridge penalty is rescaled by ``4**-exponent`` alike.
    """
    Zc, exponent = centred(Z)
    try:
        return (*svd(Zc, full_matrices=False, check_finite=False), exponent)
    except LinAlgError:  # the divide-and-conquer driver occasionally fails to converge
        return (*svd(Zc, full_matrices=False, lapack_driver="gesvd", check_finite=False),
                exponent)


def principal_basis(Z, name, measure, n_components=1.0):
    """Orthonormal basis ``U`` (n, r) of the kept principal directions of centred ``Z``.

    Returns ``(U, SVt)`` with ``SVt = S Vt`` (r, d): ``Zc`` restricted to the kept directions
    is ``U @ SVt``. Directions with a singular value at or below
    ``s_max * max(n, d) * eps`` (the numerical rank, as :func:`numpy.linalg.matrix_rank`)
    are never kept. ``n_components``: an int keeps that many directions (an error if the
    rank is lower); a float keeps the fewest leading directions whose share of the variance
    reaches it (1.0: every direction of non-zero variance).
    """
    check_not_constant(Z, name, measure)
    U, s, Vt, _ = _thin_svd(Z)
    rank = int(np.count_nonzero(s > s[0] * max(Z.shape) * np.finfo(np.float64).eps))
    if isinstance(n_components, Integral):
        if n_components > rank:
            raise DataError(
                f"{measure} cannot keep n_components={n_components} directions of {name}: "
                f"its centred rows span only {rank} dimension(s) (numerical rank)."
            )
        r = int(n_components)
    elif n_components >= 1.0:
        r = rank
    else:
        variance = np.cumsum(s[:rank] ** 2)
        r = int(np.searchsorted(variance, n_components * variance[-1])) + 1
        r = min(r, rank)
    return U[:, :r], s[:r, None] * Vt[:r]


def check_cca_dimensions(r_x, r_y, n, measure, hint):
    """Refuse a CCA whose subspaces must share directions whatever the data."""
    if r_x + r_y > n - 1:
        raise DataError(
            f"{measure} compares a {r_x}-dimensional subspace of X with a {r_y}-dimensional "
            f"subspace of Y, but {n} centred samples span at most {n - 1} dimensions: at "
            f"least {r_x + r_y - n + 1} canonical correlation(s) would equal 1 whatever the "
            f"data. {hint}"
        )


def _check_n_components(n_components, X, Y):
    if isinstance(n_components, Integral):
        limit = min(X.shape[0] - 1, X.shape[1], Y.shape[1])
        if n_components > limit:
            raise DataError(  # not InvalidParameterError: see check_k
                f"The 'n_components' parameter of svcca must be at most min(n_samples - 1, "
                f"n_features_x, n_features_y) = {limit} for X with shape {X.shape} and Y with "
                f"shape {Y.shape}. Got {n_components!r} instead."
            )
    return DEFAULT_VARIANCE if n_components is None else n_components


def _svcca_bases(X, Y, n_components):
    X, Y = check_paired_arrays(X, Y, "svcca", min_samples=3)
    n_components = _check_n_components(n_components, X, Y)
    Ux, _ = principal_basis(X, "X", "svcca", n_components)
    Uy, _ = principal_basis(Y, "Y", "svcca", n_components)
    check_cca_dimensions(
        Ux.shape[1], Uy.shape[1], X.shape[0], "svcca",
        "Pass a smaller n_components, or compare more samples.",
    )
    return Ux, Uy


@validate_params(
    {
        "X": ["array-like"],
        "Y": ["array-like"],
        "n_components": [
            NumberInterval(Integral, 1, None, closed="left"),
            NumberInterval(RealNotInt, 0, 1, closed="right"),
            None,
        ],
    },
    prefer_skip_nested_validation=True,
)
def svcca(X, Y, *, n_components=None):
    """Singular Vector CCA: the mean canonical correlation between the principal subspaces.

    Each space is centred and reduced by SVD to its leading principal directions (Raghu et
    al., 2017): by default the fewest that explain 99% of its variance. The canonical
    correlations ``rho_1 >= ... >= rho_m``, ``m = min(r_x, r_y)``, between the two reduced
    spaces are the singular values of ``Ux^T Uy`` (``Ux``, ``Uy``: orthonormal bases of the
    kept directions); the score is their mean, ``(1/m) sum_j rho_j``.

    Directions of zero variance (numerical rank) are never kept, so rank-deficient spaces
    are fine. When ``r_x + r_y > n_samples - 1`` some correlations would equal 1 whatever the
    data, and an error is raised (see the module notes): reduce further or use more samples.

    Cost: one thin SVD per space, O(n d min(n, d)) time and O(n (d_x + d_y)) memory, then
    O(n r_x r_y).

    Range: [0, 1]; higher = more similar; symmetric; ``svcca(X, X) = 1``.
    Invariances: orthogonal maps, isotropic scaling and translation of either space,
    independently. With ``n_components=1.0`` (no reduction) any invertible linear map of
    either space (and translation); with a reduction, a map that changes which directions
    carry the variance changes the kept subspace, so only the former hold.

    Finite input of any magnitude gives the value at scale 1 (:term:`at any magnitude`).

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features_x)
        First space; at least 3 samples.
    Y : array-like of shape (n_samples, n_features_y)
        Second space, row-aligned with X.
    n_components : int or float, default=None
        Directions kept per space: an int keeps that many (at most ``min(n_samples - 1,
        n_features_x, n_features_y)``, and at most each space's rank); a float in (0, 1]
        keeps the fewest leading directions explaining that share of each space's variance
        (1.0 keeps every direction of non-zero variance); None means 0.99.

    Returns
    -------
    similarity : float
        The mean canonical correlation.

    Raises
    ------
    ValueError
        On fewer than 3 samples, ``n_components`` out of range, a space with zero variance,
        or kept subspaces too large for the number of samples.

    See Also
    --------
    pwcca : Canonical correlations weighted by how much of a space each accounts for.

    References
    ----------
    Raghu, Gilmer, Yosinski, Sohl-Dickstein. SVCCA: Singular Vector Canonical Correlation
    Analysis for Deep Learning Dynamics and Interpretability. NeurIPS 2017.

    Examples
    --------
    >>> import numpy as np
    >>> from skinvariance.metrics import svcca
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 6))
    >>> A = rng.normal(size=(6, 6))  # an invertible linear map
    >>> round(svcca(X, X @ A + 1.0, n_components=1.0), 6)
    1.0
    >>> svcca(X, rng.normal(size=(200, 5))) < 0.3
    True
    """
    Ux, Uy = _svcca_bases(X, Y, n_components)
    return float(np.clip(svdvals(Ux.T @ Uy).mean(), 0.0, 1.0))


def _pwcca_parts(X, Y):
    X, Y = check_paired_arrays(X, Y, "pwcca", min_samples=3)
    Ux, SVtx = principal_basis(X, "X", "pwcca")
    Uy, SVty = principal_basis(Y, "Y", "pwcca")
    check_cca_dimensions(
        Ux.shape[1], Uy.shape[1], X.shape[0], "pwcca",
        "Reduce the spaces first (svcca with n_components, or PCA), or compare more samples.",
    )
    return Ux, SVtx, Uy, SVty, X.shape[1] <= Y.shape[1]


def _weighted_correlations(M, SVtx, SVty, weigh_x):
    """PWCCA from ``M = Ux^T Uy`` and the loadings ``S Vt`` of the weighting side."""
    A, rho, Bt = svd(M, full_matrices=False, check_finite=False)
    # The canonical variates of X are Ux A (orthonormal); their inner products with X's
    # centred features are A^T S Vt. For Y, likewise with B.
    loadings = A.T @ SVtx if weigh_x else Bt @ SVty
    weights = np.abs(loadings).sum(axis=1)
    return float(np.clip(weights @ rho / weights.sum(), 0.0, 1.0))


@validate_params({"X": ["array-like"], "Y": ["array-like"]}, prefer_skip_nested_validation=True)
def pwcca(X, Y):
    """Projection-Weighted CCA: canonical correlations weighted by what they account for.

    CCA between the centred spaces (every direction of non-zero variance kept) gives
    canonical correlations ``rho_j`` and, on each side, canonical variates ``h_j`` (the
    projections of the samples on the j-th canonical direction), ``j = 1..m``,
    ``m = min(rank X, rank Y)``. Following Morcos et al. (2018), the weights come from **the
    side with fewer features** (X when the widths are equal): its variates are
    orthonormalised, ``w_j = sum_f |<h_j, z_f>|`` over that side's centred features ``z_f``
    (columns), normalised to sum to 1, and the score is ``sum_j w_j rho_j``. A direction
    that accounts for much of the weighting space counts more than one it barely uses.

    The authors' reference code differs from the paper in places (it adds the feature means
    back to the variates before orthonormalising them, weighs by uncentred features, and
    reads the other space's activations when Y is the weighting side); this follows the
    paper's definition.

    Rank deficiency is handled by keeping only the directions of non-zero variance. When
    ``rank X + rank Y > n_samples - 1`` (in particular whenever a space is at least as wide
    as the number of samples) some correlations would equal 1 whatever the data, and an
    error is raised: reduce the spaces first, e.g. with :func:`svcca`'s ``n_components`` or
    a PCA.

    Cost: one thin SVD per space, O(n d min(n, d)) time and O(n (d_x + d_y)) memory.

    Range: [0, 1]; higher = more similar; ``pwcca(X, X) = 1``. Symmetric when the widths
    differ (the narrower space weighs either way), not when they are equal (X weighs).
    Invariances: any invertible linear map (and translation) of the other space; signed
    permutations of the features, isotropic scaling and translation of the weighting space.
    **Not** invariant to a rotation of the weighting space: the L1 sum over its features
    changes (the canonical correlations do not).

    Finite input of any magnitude gives the value at scale 1 (:term:`at any magnitude`).

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features_x)
        First space; at least 3 samples.
    Y : array-like of shape (n_samples, n_features_y)
        Second space, row-aligned with X.

    Returns
    -------
    similarity : float
        The projection-weighted mean canonical correlation.

    Raises
    ------
    ValueError
        On fewer than 3 samples, a space with zero variance, or spaces whose ranks add up to
        more than ``n_samples - 1``.

    See Also
    --------
    svcca : The unweighted mean over the principal subspaces.

    References
    ----------
    Morcos, Raghu, Bengio. Insights on representational similarity in neural networks with
    canonical correlation. NeurIPS 2018.

    Examples
    --------
    >>> import numpy as np
    >>> from skinvariance.metrics import pwcca
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(300, 4))
    >>> round(pwcca(X, X @ rng.normal(size=(4, 6))), 6)  # X weighs; Y any linear map of X
    1.0
    >>> pwcca(X, rng.normal(size=(300, 6))) < 0.3
    True
    """
    Ux, SVtx, Uy, SVty, weigh_x = _pwcca_parts(X, Y)
    return _weighted_correlations(Ux.T @ Uy, SVtx, SVty, weigh_x)


# -- permutation nulls ------------------------------------------------------------------------
# Permuting Y's rows permutes the rows of its basis Uy and leaves S Vt alone, so the SVDs are
# computed once; a permutation costs the product Ux^T Uy[p] and a small SVD.


def svcca_null(X, Y, *, n_components=None):
    """Null of :func:`svcca`: ``perms -> svcca(X, Y[p])`` from one SVD per space."""
    Ux, Uy = _svcca_bases(X, Y, n_components)
    UxT = np.ascontiguousarray(Ux.T)
    return lambda perms: np.array(
        [np.clip(svdvals(UxT @ Uy[p]).mean(), 0.0, 1.0) for p in perms]
    )


def pwcca_null(X, Y):
    """Null of :func:`pwcca`: ``perms -> pwcca(X, Y[p])`` from one SVD per space."""
    Ux, SVtx, Uy, SVty, weigh_x = _pwcca_parts(X, Y)
    UxT = np.ascontiguousarray(Ux.T)
    return lambda perms: np.array(
        [_weighted_correlations(UxT @ Uy[p], SVtx, SVty, weigh_x) for p in perms]
    )
