"""Procrustes similarity: what is left after the best orthogonal alignment."""

import numpy as np
from scipy.linalg import svdvals

from .._compat import validate_params
from .._parallel import MAX_BLOCK_ROWS, row_blocks
from .._validation import check_paired_arrays
from ._base import Centring, check_not_constant

__all__ = ["procrustes_similarity"]


@validate_params({"X": ["array-like"], "Y": ["array-like"]}, prefer_skip_nested_validation=True)
def procrustes_similarity(X, Y):
    """One minus half the squared Procrustes residual of the normalised spaces.

    Both spaces are centred and scaled to unit Frobenius norm (``Xh``, ``Yh``); then
    ``1 - min_R ||Xh R - Yh||_F^2 / 2`` over orthogonal ``R``, which equals the nuclear norm
    ``||Xh^T Yh||_*`` (the sum of its singular values). Different widths are compared by
    zero-padding the narrower space, which the nuclear norm does implicitly. For equal shapes,
    :func:`scipy.spatial.procrustes` (which also fits a scale) reports the disparity
    ``1 - procrustes_similarity(X, Y) ** 2``.

    Range: [0, 1]; higher = more similar; symmetric; 1 iff Y is a rotated, scaled, translated
    copy of X (or X of Y, for different widths). Invariances: orthogonal maps, isotropic
    scaling and translation of either space, independently.

    Finite input of any magnitude gives the value at scale 1 (:term:`at any magnitude`).

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features_x)
        First space.
    Y : array-like of shape (n_samples, n_features_y)
        Second space, row-aligned with X.

    Returns
    -------
    similarity : float
        The Procrustes similarity.

    Raises
    ------
    ValueError
        If either space has zero variance (every row the same vector).

    Examples
    --------
    >>> import numpy as np
    >>> from scipy.stats import ortho_group
    >>> from skinvariance.metrics import procrustes_similarity
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(30, 3))
    >>> Y = 0.5 * X @ ortho_group.rvs(3, random_state=0) + 4.0
    >>> round(procrustes_similarity(X, Y), 6)
    1.0
    """
    X, Y = check_paired_arrays(X, Y, "procrustes_similarity")
    check_not_constant(X, "X", "procrustes_similarity")
    check_not_constant(Y, "Y", "procrustes_similarity")
    n, d_x = X.shape
    d_y = Y.shape[1]
    # Each space centred and brought to [-1, 1] by a power of two, which the measure does
    # not see: no square overflows or vanishes.
    cx, cy = Centring.of(X), Centring.of(Y)
    cross = np.zeros((d_x, d_y))
    sx = sy = 0.0
    for rows in row_blocks(n, 8 * 2 * (d_x + d_y), max_rows=MAX_BLOCK_ROWS):
        xb = cx.block(X[rows])
        yb = cy.block(Y[rows])
        cross += xb.T @ yb
        sx += np.vdot(xb, xb)
        sy += np.vdot(yb, yb)
    value = svdvals(cross, check_finite=False).sum() / np.sqrt(sx * sy)
    return float(np.clip(value, 0.0, 1.0))
