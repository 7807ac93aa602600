"""Wide spaces (fewer rows than features): the thin forms of the alignments and the measures
against the dense formulas (scipy, scikit-learn, numpy SVDs), their invariances, and memory
bounded by the rows times the features."""

import tracemalloc

import numpy as np
import pytest
from scipy.linalg import orthogonal_procrustes, pinv
from scipy.stats import ortho_group
from sklearn import config_context
from sklearn.linear_model import LinearRegression, Ridge, RidgeCV
from sklearn.preprocessing import StandardScaler
from test_alignment import closest_to_identity

from skinvariance import AffineAlignment, OrthogonalAlignment
from skinvariance.metrics import linear_cka, procrustes_similarity

# (rows, source features, target features): wide both sides, one side, and tall.
SHAPES = [(12, 40, 40), (12, 40, 25), (12, 25, 40), (12, 3, 40), (60, 8, 9)]


def _spaces(seed, n, d_x, d_y, dtype=np.float64):
    """A target related to the source (a shared part) plus noise; offsets on both sides."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d_x)) * rng.uniform(0.5, 2.0, size=d_x) + 1.0
    Y = X @ rng.normal(size=(d_x, d_y)) / np.sqrt(d_x) + 0.3 * rng.normal(size=(n, d_y)) - 2.0
    return X.astype(dtype), Y.astype(dtype)


def _padded(A, d):
    return np.hstack([A, np.zeros((A.shape[0], d - A.shape[1]))])


# -- procrustes_similarity -------------------------------------------------------------------


@pytest.mark.parametrize("shape", SHAPES + [(30, 200, 300)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_procrustes_similarity_is_the_nuclear_norm_formula(shape, dtype):
    """Thin (n below both widths) or feature form: the nuclear norm of the centred cross
    product over the Frobenius norms, from numpy's SVD of the d_x x d_y matrix."""
    X, Y = _spaces(0, *shape, dtype=dtype)
    Xc = X.astype(np.float64) - X.astype(np.float64).mean(0)
    Yc = Y.astype(np.float64) - Y.astype(np.float64).mean(0)
    expected = np.linalg.svd(Xc.T @ Yc, compute_uv=False).sum() / (
        np.linalg.norm(Xc) * np.linalg.norm(Yc))
    assert procrustes_similarity(X, Y) == pytest.approx(expected, rel=1e-10)


def test_procrustes_similarity_thin_form_is_invariant_to_rotations_of_both_spaces():
    X, Y = _spaces(1, 10, 50, 60)
    value = procrustes_similarity(X, Y)
    Qx, Qy = ortho_group.rvs(50, random_state=2), ortho_group.rvs(60, random_state=3)
    assert procrustes_similarity(3.0 * X @ Qx + 1.0, Y @ Qy - 4.0) == pytest.approx(
        value, rel=1e-10)
    assert procrustes_similarity(X, X @ Qx) == pytest.approx(1.0, abs=1e-12)


def test_dense_forms_refused_beyond_working_memory():
    """The feature form of procrustes_similarity needs a d_x x d_y matrix: beyond the budget,
    an error with the memory it would need (here 16 * 40 * 50 bytes, 0.03 MiB)."""
    X, Y = _spaces(4, 60, 40, 50)
    with config_context(working_memory=0.01):
        with pytest.raises(ValueError, match=r"needs about 0\.0 MiB, more than the "
                                             r"working_memory budget of 0\.0 MiB"):
            procrustes_similarity(X, Y)
    assert 0.0 < procrustes_similarity(X, Y) <= 1.0


# -- OrthogonalAlignment ---------------------------------------------------------------------


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("scale", [False, True])
def test_orthogonal_is_the_procrustes_minimiser_closest_to_the_identity(shape, scale):
    """With fewer anchors than features: a minimiser of the padded Procrustes problem (the
    residual of scipy's), orthogonal, equal to the dense closest-to-identity oracle, and the
    same map as scipy's on the anchors, where the minimiser is unique."""
    X, Y = _spaces(5, *shape)
    n, d_x = X.shape
    d_y = Y.shape[1]
    d = max(d_x, d_y)
    Xp, Yp = _padded(X - X.mean(0), d), _padded(Y - Y.mean(0), d)
    R_scipy, nuclear = orthogonal_procrustes(Xp, Yp)
    al = OrthogonalAlignment(scale=scale).fit(X, Y)
    np.testing.assert_allclose(al.rotation_, closest_to_identity(Xp, Yp)[:d_x, :d_y],
                               atol=1e-10)
    s = nuclear / np.vdot(Xp, Xp) if scale else 1.0
    assert al.scale_ == pytest.approx(s, rel=1e-10)
    np.testing.assert_allclose(al.transform(X), s * (Xp @ R_scipy)[:, :d_y] + Y.mean(0),
                               atol=1e-10)
    gram = al.rotation_ @ al.rotation_.T if d_x <= d_y else al.rotation_.T @ al.rotation_
    np.testing.assert_allclose(gram, np.eye(min(d_x, d_y)), atol=1e-10)


@pytest.mark.parametrize("standardize", [False, True])
def test_orthogonal_wide_map_is_exactly_invertible_and_identity_off_the_anchors(standardize):
    """Equal widths: R is orthogonal, so inverse_transform undoes transform for any vector;
    a direction orthogonal to both anchor spans is left unchanged (the convention)."""
    X, Y = _spaces(6, 10, 80, 80)
    al = OrthogonalAlignment(standardize=standardize).fit(X, Y)
    V = np.random.default_rng(7).normal(size=(5, 80))
    np.testing.assert_allclose(al.inverse_transform(al.transform(V)), V, atol=1e-10)
    if not standardize:
        basis = np.linalg.qr(np.vstack([X - X.mean(0), Y - Y.mean(0)]).T)[0]
        w = V[0] - basis @ (basis.T @ V[0])  # orthogonal to both anchor spans
        np.testing.assert_allclose(al.transform(X.mean(0) + w[None]), Y.mean(0) + w[None],
                                   atol=1e-10)


def test_orthogonal_wide_map_follows_rotations_of_both_spaces_on_the_anchor_span():
    """Rotating the source by Qx and the target by Qy rotates the mapped anchors (and any
    combination of them) by Qy."""
    X, Y = _spaces(8, 10, 60, 50)
    Qx, Qy = ortho_group.rvs(60, random_state=9), ortho_group.rvs(50, random_state=10)
    al = OrthogonalAlignment(scale=True).fit(X, Y)
    rotated = OrthogonalAlignment(scale=True).fit(X @ Qx, Y @ Qy)
    V = X.mean(0) + np.random.default_rng(11).normal(size=(4, 10)) @ (X - X.mean(0))
    np.testing.assert_allclose(rotated.transform(V @ Qx), al.transform(V) @ Qy, atol=1e-10)


def test_orthogonal_standardized_wide_matches_scipy_on_standard_scaled_anchors():
    X, Y = _spaces(12, 15, 70, 45)
    sx, sy = StandardScaler().fit(X), StandardScaler().fit(Y)
    Xp, Yp = _padded(sx.transform(X), 70), _padded(sy.transform(Y), 70)
    R = closest_to_identity(Xp, Yp)[:, :45]
    al = OrthogonalAlignment(standardize=True).fit(X, Y)
    V = np.random.default_rng(13).normal(size=(6, 70))
    np.testing.assert_allclose(al.transform(V), sy.inverse_transform(sx.transform(V) @ R),
                               atol=1e-10)
    R_scipy = orthogonal_procrustes(Xp, Yp)[0][:, :45]
    np.testing.assert_allclose(al.transform(X), sy.inverse_transform(Xp @ R_scipy),
                               atol=1e-10)


# -- AffineAlignment -------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(12, 40, 30), (12, 40, 1), (12, 40, 60)])
@pytest.mark.parametrize(
    ("params", "oracle"),
    [
        ({"alpha": 0.0}, LinearRegression()),
        ({"alpha": 0.0, "fit_intercept": False}, LinearRegression(fit_intercept=False)),
        ({"alpha": 3.0}, Ridge(alpha=3.0)),
        ({"alpha": "auto", "alphas": np.logspace(-2, 3, 11)},
         RidgeCV(alphas=np.logspace(-2, 3, 11))),
    ],
)
def test_affine_wide_matches_scikit_learn(shape, params, oracle):
    """Fewer anchors than source features (the dual form): scikit-learn's predictions,
    coefficients and pseudo-inverse."""
    X, Y = _spaces(14, *shape)
    al = AffineAlignment(**params).fit(X, Y)
    oracle.fit(X, Y)
    V = np.random.default_rng(15).normal(size=(5, shape[1]))
    np.testing.assert_allclose(al.transform(V), oracle.predict(V).reshape(5, -1), atol=1e-9)
    np.testing.assert_allclose(al.coef_, np.atleast_2d(oracle.coef_), atol=1e-10)
    W = np.random.default_rng(16).normal(size=(4, shape[2]))
    mu_x = X.mean(0) if params.get("fit_intercept", True) else 0.0
    mu_y = Y.mean(0) if params.get("fit_intercept", True) else 0.0
    expected = (W - mu_y) @ pinv(np.atleast_2d(oracle.coef_).T) + mu_x
    np.testing.assert_allclose(al.inverse_transform(W), expected, atol=1e-8)


@pytest.mark.parametrize("alpha", [3.0, "auto"])
def test_affine_wide_standardized_is_ridge_between_standard_scaled_anchors(alpha):
    X, Y = _spaces(19, 15, 60, 35)
    sx, sy = StandardScaler().fit(X), StandardScaler().fit(Y)
    grid = np.logspace(-2, 3, 11)
    oracle = Ridge(alpha=alpha) if alpha != "auto" else RidgeCV(alphas=grid)
    oracle.fit(sx.transform(X), sy.transform(Y))
    al = AffineAlignment(alpha=alpha, alphas=grid, standardize=True).fit(X, Y)
    V = np.random.default_rng(20).normal(size=(4, 60))
    expected = sy.inverse_transform(oracle.predict(sx.transform(V)))
    np.testing.assert_allclose(al.transform(V), expected, atol=1e-10)
    np.testing.assert_allclose(V @ al.coef_.T + al.intercept_, expected, atol=1e-10)


def test_affine_auto_wide_target_same_choice_as_ridgecv():
    """More target columns than anchors: the leave-one-out errors from k x k products."""
    X, Y = _spaces(17, 20, 90, 150)
    al = AffineAlignment(alpha="auto").fit(X, Y)
    ref = RidgeCV(alphas=al.alphas_).fit(X, Y)
    assert al.alpha_ == ref.alpha_
    assert al.alphas_[0] < al.alpha_ < al.alphas_[-1]
    np.testing.assert_allclose(al.transform(X), ref.predict(X), atol=1e-10)


# -- memory: n x d, never d x d ---------------------------------------------------------------

N_WIDE, D_WIDE = 50, 20_000


def _peak_bytes(function):
    tracemalloc.start()
    try:
        function()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.fixture(scope="module")
def wide_pair():
    rng = np.random.default_rng(18)
    X = rng.normal(size=(N_WIDE, D_WIDE)).astype(np.float32)
    Y = (X[:, ::-1] + 0.5 * rng.normal(size=X.shape)).astype(np.float32)
    return X, Y


@pytest.mark.parametrize(
    "estimator",
    [OrthogonalAlignment(standardize=True, scale=True), AffineAlignment(alpha="auto"),
     AffineAlignment(alpha=1.0)],
)
def test_wide_fit_and_transform_stay_within_rows_times_features(wide_pair, estimator):
    """50 x 20,000 float32: a d x d float32 matrix alone is 1.6 GB; fitting and mapping stay
    within 40 float64 copies of the anchors (320 MB for d x d would be 200 of them)."""
    X, Y = wide_pair
    bound = 40 * 8 * N_WIDE * D_WIDE
    assert _peak_bytes(lambda: estimator.fit(X, Y)) < bound
    out = []
    assert _peak_bytes(lambda: out.append(estimator.transform(X))) < bound
    assert out[0].shape == Y.shape and out[0].dtype == np.float32
    attribute = "rotation_" if isinstance(estimator, OrthogonalAlignment) else "coef_"
    with pytest.raises(ValueError, match=rf"\.{attribute} of shape \(20000, 20000\) needs "
                                         r"about [\d,.]+ MiB, more than the working_memory"):
        getattr(estimator, attribute)


def test_orthogonal_wide_map_keeps_one_basis_of_the_anchor_spans(wide_pair):
    """A square wide map is ``I + Z core Z^T``: the fitted estimator holds ``Z`` (d x 2n)
    once, about two float64 copies of the anchors, not ``Z`` and ``Z^T`` apart (four)."""
    X, Y = wide_pair
    fitted = []
    tracemalloc.start()
    try:
        fitted.append(OrthogonalAlignment(standardize=True).fit(X, Y))
        kept = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert kept < 3 * 8 * N_WIDE * D_WIDE
    # and the map is still orthogonal: it keeps the norms of the standardised rows.
    al = fitted[0]
    Z = (X - al.source_mean_) / al.source_scale_
    mapped = (al.transform(X) - al.target_mean_) / al.target_scale_
    np.testing.assert_allclose(np.linalg.norm(mapped, axis=1), np.linalg.norm(Z, axis=1),
                               rtol=1e-4)


def test_wide_measures_stay_within_rows_times_features(wide_pair):
    X, Y = wide_pair
    bound = 40 * 8 * N_WIDE * D_WIDE
    assert _peak_bytes(lambda: procrustes_similarity(X, Y)) < bound
    assert _peak_bytes(lambda: linear_cka(X, Y)) < bound
    # The mapped anchors are what the measures see: the orthogonal map keeps the anchors'
    # geometry, so the Procrustes similarity of the map's output to the target stays.
    mapped = OrthogonalAlignment().fit(X, Y).transform(X)
    assert procrustes_similarity(mapped, Y) == pytest.approx(procrustes_similarity(X, Y),
                                                             rel=1e-4)


def test_orthogonal_with_uncorrelated_anchors_is_the_identity():
    """``Xc^T Yc = 0`` (both sides centred): every orthogonal map is a minimiser, and the
    closest to the identity is the identity itself (zero-padded to the wider target)."""
    a, b = np.array([1.0, -1.0, 0.0, 0.0]), np.array([0.0, 0.0, 1.0, -1.0])
    X, Y = np.zeros((4, 6)), np.zeros((4, 7))
    X[:, 0], Y[:, 1] = a, b
    al = OrthogonalAlignment().fit(X, Y)
    np.testing.assert_array_equal(al.rotation_, np.eye(6, 7))
    assert orthogonal_procrustes(_padded(X, 7), Y)[1] == 0.0
    V = np.random.default_rng(21).normal(size=(3, 6))
    np.testing.assert_allclose(al.transform(V), _padded(V, 7), atol=1e-15)
