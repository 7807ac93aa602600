"""Tests of skinvariance.alignment: known maps recovered, scipy/scikit-learn as oracles."""

import numpy as np
import pandas as pd
import pytest
from scipy.linalg import orthogonal_procrustes
from scipy.stats import ortho_group
from sklearn.base import clone
from sklearn.linear_model import LinearRegression, Ridge, RidgeCV
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from skinvariance import AffineAlignment, OrthogonalAlignment

ESTIMATORS = [
    OrthogonalAlignment(),
    OrthogonalAlignment(center=False, scale=True),
    OrthogonalAlignment(standardize=True),
    OrthogonalAlignment(center=False, scale=True, standardize=True),
    AffineAlignment(),
    AffineAlignment(fit_intercept=False, alpha=1.0),
    AffineAlignment(alpha="auto"),
    AffineAlignment(alpha="auto", alphas=[0.1, 1.0, 10.0], fit_intercept=False),
    AffineAlignment(alpha=2.0, standardize=True),
    AffineAlignment(alpha="auto", standardize=True, fit_intercept=False),
]


# Every scikit-learn check, with non-default parameters too (the defaults are checked in
# tests/test_common.py): no expected failure.
@parametrize_with_checks(ESTIMATORS)
def test_sklearn_compatible(estimator, check):
    check(estimator)


def closest_to_identity(A, B):
    """The oracle of the documented convention, from a dense full SVD: of the orthogonal
    ``R`` minimising ``||A R - B||_F`` (square, equal widths), the one of largest trace,
    ``U_r V_r^T`` on the fitted directions plus the polar factor of the identity between the
    complements ``U_perp`` and ``V_perp``."""
    U, s, Vt = np.linalg.svd(A.T @ B)
    r = int(np.sum(s > s[0] * 1e-10))
    U_perp, V_perp = U[:, r:], Vt[r:].T
    a, _, bt = np.linalg.svd(U_perp.T @ V_perp)
    return U[:, :r] @ Vt[:r] + U_perp @ a @ bt @ V_perp.T


def _rotated(rng, n=60, d=5, *, scale=1.0, shift=0.0, noise=0.0):
    X = rng.normal(size=(n, d))
    Q = ortho_group.rvs(d, random_state=rng.integers(2**31))
    Y = scale * X @ Q + shift + noise * rng.normal(size=(n, d))
    return X, Y, Q


@pytest.mark.parametrize("scale", [1.0, 2.5])
@pytest.mark.parametrize("shift", [0.0, 3.0])
def test_orthogonal_recovers_known_map(scale, shift):
    rng = np.random.default_rng(0)
    X, Y, Q = _rotated(rng, scale=scale, shift=shift * rng.normal(size=5))
    al = OrthogonalAlignment(scale=scale != 1.0).fit(X, Y)
    np.testing.assert_allclose(al.rotation_, Q, atol=1e-10)
    assert al.scale_ == pytest.approx(scale, rel=1e-10)
    np.testing.assert_allclose(al.transform(X), Y, atol=1e-10)
    np.testing.assert_allclose(al.inverse_transform(Y), X, atol=1e-10)
    # New points follow the same map.
    Z = rng.normal(size=(7, 5))
    np.testing.assert_allclose(al.transform(Z), scale * Z @ Q + (Y - scale * X @ Q)[0], atol=1e-9)


@pytest.mark.parametrize("scale", [False, True])
def test_orthogonal_matches_scipy_with_noise(scale):
    rng = np.random.default_rng(1)
    X, Y, Q = _rotated(rng, scale=1.7, shift=1.0, noise=0.3)
    al = OrthogonalAlignment(scale=scale).fit(X, Y)
    Xc, Yc = X - X.mean(0), Y - Y.mean(0)
    R, _ = orthogonal_procrustes(Xc, Yc)
    np.testing.assert_allclose(al.rotation_, R, atol=1e-10)
    # Noisy anchors still give a map close to the true rotation.
    assert np.linalg.norm(al.rotation_ - Q) < 0.3
    if scale:
        # The optimal scale minimises the residual: compare with a scalar least-squares fit.
        P = Xc @ R
        assert al.scale_ == pytest.approx(np.vdot(P, Yc) / np.vdot(P, P), rel=1e-10)
        assert al.scale_ == pytest.approx(1.7, rel=0.1)
    else:
        assert al.scale_ == 1.0


def test_orthogonal_without_centering_is_linear():
    rng = np.random.default_rng(2)
    X, Y, Q = _rotated(rng, noise=0.1)
    al = OrthogonalAlignment(center=False).fit(X + 5.0, Y)
    R, _ = orthogonal_procrustes(X + 5.0, Y)
    np.testing.assert_allclose(al.rotation_, R, atol=1e-10)
    np.testing.assert_array_equal(al.source_mean_, 0.0)
    np.testing.assert_allclose(al.transform(X + 5.0), (X + 5.0) @ R, atol=1e-10)


def test_orthogonal_widening_map_is_exact_and_invertible():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(40, 3))
    Q = ortho_group.rvs(5, random_state=4)[:3]  # (3, 5), orthonormal rows
    Y = X @ Q + 1.0
    al = OrthogonalAlignment().fit(X, Y)
    assert al.rotation_.shape == (3, 5)
    np.testing.assert_allclose(al.rotation_ @ al.rotation_.T, np.eye(3), atol=1e-10)
    np.testing.assert_allclose(al.transform(X), Y, atol=1e-10)
    np.testing.assert_allclose(al.inverse_transform(al.transform(X)), X, atol=1e-10)
    # Zero padding: the same as scipy's square problem on the padded source.
    Xc = np.hstack([X - X.mean(0), np.zeros((40, 2))])
    R, _ = orthogonal_procrustes(Xc, Y - Y.mean(0))
    np.testing.assert_allclose(al.rotation_, R[:3], atol=1e-10)


def test_orthogonal_narrowing_map_and_projection_inverse():
    rng = np.random.default_rng(5)
    Z = rng.normal(size=(40, 3))
    Q = ortho_group.rvs(5, random_state=6)[:3]
    X = Z @ Q  # 5-D source lying in a 3-D subspace
    al = OrthogonalAlignment(center=False).fit(X, Z)
    assert al.rotation_.shape == (5, 3)
    np.testing.assert_allclose(al.rotation_.T @ al.rotation_, np.eye(3), atol=1e-10)
    np.testing.assert_allclose(al.transform(X), Z, atol=1e-10)
    np.testing.assert_allclose(al.inverse_transform(Z), X, atol=1e-10)
    # For any source point, transform then inverse is the orthogonal projection onto the image.
    V = rng.normal(size=(4, 5))
    back = al.inverse_transform(al.transform(V))
    projector = Q.T @ Q
    np.testing.assert_allclose(back, V @ projector, atol=1e-10)


def test_scaled_map_is_optimal_among_orthogonal_maps():
    rng = np.random.default_rng(7)
    X, Y, _ = _rotated(rng, scale=0.4, noise=0.5)
    al = OrthogonalAlignment(scale=True).fit(X, Y)
    best = np.linalg.norm(al.transform(X) - Y)
    Xc, Yc = X - X.mean(0), Y - Y.mean(0)
    for seed in range(5):
        R = ortho_group.rvs(5, random_state=seed)
        s = np.vdot(Xc @ R, Yc) / np.vdot(Xc, Xc)
        assert best <= np.linalg.norm(s * Xc @ R - Yc) + 1e-12


@pytest.mark.parametrize(
    ("Estimator", "params"),
    [
        (OrthogonalAlignment, {}),
        (OrthogonalAlignment, {"standardize": True}),
        (AffineAlignment, {}),
        (AffineAlignment, {"alpha": "auto", "standardize": True}),
    ],
)
def test_float32_preserved_and_one_dimensional_target(Estimator, params):
    rng = np.random.default_rng(8)
    X = rng.normal(size=(30, 4))
    Y = rng.normal(size=(30, 2))
    al = Estimator(**params).fit(X.astype(np.float32), Y.astype(np.float32))
    assert al.transform(X.astype(np.float32)).dtype == np.float32
    assert al.inverse_transform(Y.astype(np.float32)).dtype == np.float32
    ref = Estimator(**params).fit(X, Y).transform(X)
    np.testing.assert_allclose(al.transform(X.astype(np.float32)), ref, rtol=1e-4, atol=1e-4)
    # A 1-D target is one target column.
    y = Y[:, 0]
    one = Estimator(**params).fit(X, y)
    assert one.n_targets_ == 1
    np.testing.assert_allclose(
        one.transform(X), Estimator(**params).fit(X, y[:, None]).transform(X)
    )
    assert one.inverse_transform(y).shape == (30, 4)


def test_affine_recovers_known_map_exactly():
    rng = np.random.default_rng(9)
    X = rng.normal(size=(50, 4))
    W = rng.normal(size=(4, 6))
    b = rng.normal(size=6)
    al = AffineAlignment().fit(X, X @ W + b)
    np.testing.assert_allclose(al.coef_, W.T, atol=1e-10)
    np.testing.assert_allclose(al.intercept_, b, atol=1e-10)
    Z = rng.normal(size=(5, 4))
    np.testing.assert_allclose(al.transform(Z), Z @ W + b, atol=1e-10)


def test_affine_inverse_of_square_invertible_map():
    rng = np.random.default_rng(10)
    X = rng.normal(size=(50, 4))
    W = rng.normal(size=(4, 4)) + 3 * np.eye(4)
    al = AffineAlignment().fit(X, X @ W - 2.0)
    np.testing.assert_allclose(al.inverse_transform(X @ W - 2.0), X, atol=1e-9)


@pytest.mark.parametrize(
    ("params", "oracle"),
    [
        ({"alpha": 0.0}, LinearRegression()),
        ({"alpha": 0.0, "fit_intercept": False}, LinearRegression(fit_intercept=False)),
        ({"alpha": 2.0}, Ridge(alpha=2.0)),
        ({"alpha": 2.0, "fit_intercept": False}, Ridge(alpha=2.0, fit_intercept=False)),
    ],
)
def test_affine_matches_scikit_learn_regressors(params, oracle):
    rng = np.random.default_rng(11)
    X = rng.normal(size=(20, 6))
    Y = rng.normal(size=(20, 3)) + 1.0
    al = AffineAlignment(**params).fit(X, Y)
    np.testing.assert_allclose(al.transform(X), oracle.fit(X, Y).predict(X), atol=1e-10)
    if not params.get("fit_intercept", True):
        np.testing.assert_array_equal(al.intercept_, 0.0)


@pytest.mark.parametrize("Estimator", [OrthogonalAlignment, AffineAlignment])
def test_pandas_output_and_feature_names(Estimator):
    rng = np.random.default_rng(12)
    X = pd.DataFrame(rng.normal(size=(10, 3)), columns=["a", "b", "c"])
    Y = rng.normal(size=(10, 2))
    al = Estimator().set_output(transform="pandas").fit(X, Y)
    out = al.transform(X)
    prefix = Estimator.__name__.lower()
    assert list(out.columns) == [f"{prefix}0", f"{prefix}1"]
    np.testing.assert_array_equal(al.feature_names_in_, ["a", "b", "c"])


@pytest.mark.parametrize("Estimator", [OrthogonalAlignment, AffineAlignment])
@pytest.mark.parametrize(
    ("X", "Y", "error", "match"),
    [
        (np.ones((5, 2)), np.ones((4, 2)), ValueError, "inconsistent numbers of samples"),
        (np.ones((1, 2)), np.ones((1, 2)), ValueError, r"1 sample\(s\)"),
        (np.full((3, 2), np.nan), np.ones((3, 2)), ValueError, "Input X contains NaN"),
        (np.ones((3, 2)), [[1.0, np.inf]] * 3, ValueError, "Input y contains infinity"),
        (np.ones((3, 2)), None, ValueError, "requires y to be passed"),
    ],
)
def test_fit_rejects_bad_input(Estimator, X, Y, error, match):
    with pytest.raises(error, match=match):
        Estimator().fit(X, Y)


@pytest.mark.parametrize("Estimator", [OrthogonalAlignment, AffineAlignment])
def test_widths_checked_in_both_directions(Estimator):
    rng = np.random.default_rng(13)
    al = Estimator().fit(rng.normal(size=(10, 3)), rng.normal(size=(10, 4)))
    with pytest.raises(ValueError, match="X has 4 features, but .* is expecting 3 features"):
        al.transform(rng.normal(size=(2, 4)))
    with pytest.raises(ValueError, match="Y has 3 features, but .* expecting 4 target features"):
        al.inverse_transform(rng.normal(size=(2, 3)))


_ALPHA_RANGE = (r"The 'alpha' parameter of AffineAlignment must be a float in the range "
                r"\[0.0, inf\) or a str among \{'auto'\}\. Got ")
_ALPHAS = (r"The 'alphas' parameter of AffineAlignment must be None or a non-empty 1-D "
           r"array-like of positive finite floats\. Got ")


@pytest.mark.parametrize(
    "estimator, match",
    [
        (AffineAlignment(alpha=-1.0), _ALPHA_RANGE + "-1.0 instead"),
        (AffineAlignment(alpha=True), _ALPHA_RANGE + "True instead"),
        (AffineAlignment(alpha=np.inf), _ALPHA_RANGE + "inf instead"),
        (AffineAlignment(alpha=np.nan), _ALPHA_RANGE + "nan instead"),
        (AffineAlignment(alpha="automatic"), _ALPHA_RANGE + "'automatic' instead"),
        (AffineAlignment(alpha=None), _ALPHA_RANGE + "None instead"),
        (AffineAlignment(alpha="auto", alphas=[1.0, -1.0]), _ALPHAS + r"\[1.0, -1.0\]"),
        (AffineAlignment(alpha="auto", alphas=[0.0, 1.0]), _ALPHAS + r"\[0.0, 1.0\]"),
        (AffineAlignment(alpha="auto", alphas=[]), _ALPHAS + r"\[\]"),
        (AffineAlignment(alpha="auto", alphas=[1.0, np.inf]), _ALPHAS + r"\[1.0, inf\]"),
        (AffineAlignment(alpha="auto", alphas=[[1.0, 2.0]]), _ALPHAS + r"\[\[1.0, 2.0\]\]"),
        (AffineAlignment(alpha="auto", alphas=[True, False]), _ALPHAS + r"\[True, False\]"),
        (AffineAlignment(alpha="auto", alphas=["1"]), _ALPHAS + r"\['1'\]"),
        # Checked whatever alpha is, as any parameter.
        (AffineAlignment(alpha=1.0, alphas=[-1.0]), _ALPHAS + r"\[-1.0\]"),
        (AffineAlignment(alphas=1.0), "The 'alphas' parameter of AffineAlignment must be an "
                                      "array-like or None. Got 1.0 instead"),
        (AffineAlignment(standardize="yes"), "The 'standardize' parameter of AffineAlignment"),
        (AffineAlignment(fit_intercept=1), "The 'fit_intercept' parameter of AffineAlignment"),
        (OrthogonalAlignment(scale="yes"), "The 'scale' parameter of OrthogonalAlignment"),
        (OrthogonalAlignment(center=None), "The 'center' parameter of OrthogonalAlignment"),
        (OrthogonalAlignment(standardize=1), "The 'standardize' parameter of OrthogonalAlign"),
    ],
)
def test_bad_parameters(estimator, match):
    with pytest.raises(ValueError, match=match):
        estimator.fit(np.eye(3), np.eye(3))


@pytest.mark.parametrize("magnitude", [1e-300, 1e-170, 1e160, 1e300])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_orthogonal_scale_at_extreme_magnitudes(magnitude, dtype):
    """scale=True returned inf or raised ZeroDivisionError; scipy refused 1e300 (its products
    overflowed). Both sides at the magnitude (float32: its own extremes), the target 2.5 times
    larger."""
    if dtype == np.float32:
        magnitude = {1e-300: 1e-37, 1e-170: 1e-20, 1e160: 1e19, 1e300: 1e37}[magnitude]
    rng = np.random.default_rng(14)
    X = rng.normal(size=(30, 4))
    Q = ortho_group.rvs(4, random_state=15)
    Y = ((2.5 * X @ Q + 1.0) * magnitude).astype(dtype)
    X = (X * magnitude).astype(dtype)
    al = OrthogonalAlignment(scale=True).fit(X, Y)
    tol = 1e-4 if dtype == np.float32 else 1e-10
    assert al.scale_ == pytest.approx(2.5, rel=tol)
    np.testing.assert_allclose(al.rotation_, Q, atol=tol)
    np.testing.assert_allclose(al.transform(X) / magnitude, Y / magnitude, atol=tol)
    np.testing.assert_allclose(al.inverse_transform(Y) / magnitude, X / magnitude, atol=tol)


@pytest.mark.parametrize(
    "magnitude, alpha", [(1e-300, 0.0), (1e300, 0.0), (1e-150, 2.0), (1e150, 2.0)]
)
def test_affine_at_extreme_magnitudes_matches_scale_one(magnitude, alpha):
    rng = np.random.default_rng(16)
    X = rng.normal(size=(30, 3))
    Y = X @ rng.normal(size=(3, 2)) + 4.0 + 0.1 * rng.normal(size=(30, 2))
    ref = AffineAlignment(alpha=alpha).fit(X, Y)
    # Scaling both sides by s keeps W, maps b to s b, and the ridge penalty to s**2 alpha.
    penalty = alpha * magnitude**2 if alpha else 0.0
    al = AffineAlignment(alpha=penalty).fit(X * magnitude, Y * magnitude)
    np.testing.assert_allclose(al.coef_, ref.coef_, rtol=1e-10)
    np.testing.assert_allclose(al.intercept_ / magnitude, ref.intercept_, rtol=1e-10)
    np.testing.assert_allclose(al.transform(X * magnitude) / magnitude, ref.transform(X),
                               rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("scale", [False, True])
@pytest.mark.parametrize(
    ("center", "X", "Y", "match"),
    [
        (True, np.full((7, 2), 0.1), np.eye(7)[:, :2], "source anchors X have zero variance"),
        (True, np.eye(4)[:, :2], np.full((4, 3), 2.0), "target anchors y have zero variance"),
        (False, np.zeros((4, 2)), np.eye(4)[:, :2], "source anchors X are all zero"),
    ],
)
def test_orthogonal_refuses_degenerate_anchors(scale, center, X, Y, match):
    with pytest.raises(ValueError, match=f"OrthogonalAlignment cannot be fitted: the {match}"):
        OrthogonalAlignment(center=center, scale=scale).fit(X, Y)


# -- AffineAlignment(alpha="auto"): ridge strength by leave-one-out over the anchors -----------


def _noisy_linear(rng, n, d, t, *, noise):
    """A seeded linear map with noise: ``Y = X W + b + noise``, features of unequal scales."""
    X = rng.normal(size=(n, d)) * rng.uniform(0.5, 2.0, size=d) + 1.0
    W = rng.normal(size=(d, t)) / np.sqrt(d)
    return X, X @ W - 2.0 + noise * rng.normal(size=(n, t))


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("standardize", [False, True])
def test_auto_beats_least_squares_with_fewer_anchors_than_dimensions(seed, standardize):
    """60 anchors in 80 dimensions: least squares interpolates the anchors (noise included),
    the strength chosen on them transfers better to held-out rows (here by half)."""
    rng = np.random.default_rng(seed)
    X, Y = _noisy_linear(rng, 560, 80, 8, noise=1.0)
    anchors, held_out = slice(0, 60), slice(60, None)
    errors = {}
    for alpha in (0.0, "auto"):
        al = AffineAlignment(alpha=alpha, standardize=standardize).fit(X[anchors], Y[anchors])
        errors[alpha] = np.mean((al.transform(X[held_out]) - Y[held_out]) ** 2)
        if alpha == 0.0:  # the anchors are interpolated
            np.testing.assert_allclose(al.transform(X[anchors]), Y[anchors], atol=1e-8)
    assert errors["auto"] < 0.7 * errors[0.0]


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("n_targets", [1, 4])
@pytest.mark.parametrize("shape", [(25, 60), (80, 12)])
@pytest.mark.parametrize("grid", ["default", "given"])
def test_auto_matches_ridgecv(fit_intercept, n_targets, shape, grid):
    """The same strength and coefficients as RidgeCV on the same grid (one alpha shared by all
    target columns), fewer and more anchors than features."""
    rng = np.random.default_rng(20)
    X, Y = _noisy_linear(rng, *shape, n_targets, noise=1.0)
    y = Y[:, 0] if n_targets == 1 else Y
    alphas = None if grid == "default" else np.logspace(-2, 3, 11)
    al = AffineAlignment(alpha="auto", alphas=alphas, fit_intercept=fit_intercept).fit(X, y)
    ref = RidgeCV(alphas=al.alphas_, fit_intercept=fit_intercept).fit(X, y)
    assert al.alpha_ == ref.alpha_
    # Not at the ends of the grid: the choice is a real one.
    assert al.alphas_[0] < al.alpha_ < al.alphas_[-1]
    np.testing.assert_allclose(al.coef_, np.atleast_2d(ref.coef_), rtol=1e-9, atol=1e-12)
    # (RidgeCV keeps a scalar 0.0 without intercept.)
    np.testing.assert_allclose(al.intercept_, np.broadcast_to(ref.intercept_, n_targets),
                               atol=1e-10)
    if alphas is not None:
        np.testing.assert_array_equal(al.alphas_, alphas)


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_auto_chooses_the_smallest_brute_force_leave_one_out_error(fit_intercept):
    """The choice against n refits of scikit-learn's Ridge per strength, each without one
    anchor, scored on that anchor (summed over target columns)."""
    rng = np.random.default_rng(21)
    X, Y = _noisy_linear(rng, 15, 30, 3, noise=0.8)
    alphas = np.logspace(-2, 3, 16)
    al = AffineAlignment(alpha="auto", alphas=alphas, fit_intercept=fit_intercept).fit(X, Y)
    errors = []
    for alpha in alphas:
        squared = 0.0
        for i in range(len(X)):
            keep = np.arange(len(X)) != i
            fit = Ridge(alpha=alpha, fit_intercept=fit_intercept).fit(X[keep], Y[keep])
            squared += np.sum((fit.predict(X[i : i + 1]) - Y[i]) ** 2)
        errors.append(squared)
    assert al.alpha_ == alphas[int(np.argmin(errors))]
    # The map is the ridge fit of the chosen strength on every anchor.
    ref = Ridge(alpha=al.alpha_, fit_intercept=fit_intercept).fit(X, Y)
    np.testing.assert_allclose(al.transform(X), ref.predict(X), atol=1e-10)
    np.testing.assert_allclose(
        al.transform(X), AffineAlignment(alpha=al.alpha_, fit_intercept=fit_intercept)
        .fit(X, Y).transform(X), atol=1e-10,
    )


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_default_grid_is_relative_to_the_mean_squared_singular_value(fit_intercept):
    rng = np.random.default_rng(22)
    X, Y = _noisy_linear(rng, 20, 50, 2, noise=1.0)
    al = AffineAlignment(alpha="auto", fit_intercept=fit_intercept).fit(X, Y)
    Xc = X - X.mean(0) if fit_intercept else X
    singular = np.linalg.svd(Xc, compute_uv=False)
    scale = np.sum(singular**2) / min(X.shape)
    np.testing.assert_allclose(al.alphas_, np.logspace(-3, 4, 29) * scale, rtol=1e-12)
    # The grid follows the data: rescaling the source rescales it (by the square).
    again = AffineAlignment(alpha="auto", fit_intercept=fit_intercept).fit(8.0 * X, Y)
    np.testing.assert_allclose(again.alphas_, 64.0 * al.alphas_, rtol=1e-12)
    assert again.alpha_ == pytest.approx(64.0 * al.alpha_, rel=1e-12)
    np.testing.assert_allclose(again.transform(8.0 * X), al.transform(X), atol=1e-10)


def test_fixed_alpha_is_reported_and_auto_on_constant_anchors_maps_to_the_mean():
    rng = np.random.default_rng(23)
    X, Y = _noisy_linear(rng, 20, 5, 2, noise=0.1)
    assert AffineAlignment(alpha=2.5).fit(X, Y).alpha_ == 2.5
    assert not hasattr(AffineAlignment(alpha=2.5).fit(X, Y), "alphas_")
    # Source anchors all the same vector: no direction to fit, every strength is as good
    # (the first is kept), and every sample maps onto the target anchors' mean.
    al = AffineAlignment(alpha="auto").fit(np.ones((20, 5)), Y)
    assert al.alpha_ == al.alphas_[0]
    np.testing.assert_allclose(al.transform(X), np.tile(Y.mean(0), (20, 1)), atol=1e-12)


# -- standardize=True: the latent space translation ----------------------------------------------


def _whitened(rng, n, d):
    """Centred anchors with identity covariance: every orthogonal image of them is standard."""
    Z = rng.normal(size=(n, d))
    return np.linalg.qr(Z - Z.mean(0))[0] * np.sqrt(n)


@pytest.mark.parametrize("scale", [False, True])
def test_standardize_recovers_per_feature_scaling_and_rotation(scale):
    """``X = Z D_x + s_x`` and ``Y = (Z Q) D_y + s_y`` for a common latent ``Z`` whose anchors
    are white (the condition for both standardisations to be ``Z`` and ``Z Q``): the
    standardised map is exactly ``Q`` between them, on anchors and on new samples. Without
    standardising, no rotation (with a scale and shift) maps an anisotropic rescaling."""
    rng = np.random.default_rng(30)
    n, d = 60, 5
    Z = _whitened(rng, n, d)
    Q = ortho_group.rvs(d, random_state=31)
    D_x, D_y = rng.uniform(0.1, 10.0, size=d), rng.uniform(0.1, 10.0, size=d)
    s_x, s_y = rng.normal(size=d), 5.0 * rng.normal(size=d)
    X, Y = Z * D_x + s_x, (Z @ Q) * D_y + s_y
    al = OrthogonalAlignment(standardize=True, scale=scale).fit(X, Y)
    np.testing.assert_allclose(al.rotation_, Q, atol=1e-12)
    assert al.scale_ == pytest.approx(1.0, rel=1e-12)
    np.testing.assert_allclose(al.source_scale_, D_x, rtol=1e-12)
    np.testing.assert_allclose(al.target_scale_, D_y, rtol=1e-12)
    np.testing.assert_allclose(al.source_mean_, s_x, atol=1e-12)
    np.testing.assert_allclose(al.target_mean_, s_y, atol=1e-12)
    np.testing.assert_allclose(al.transform(X), Y, atol=1e-12 * np.abs(Y).max())
    np.testing.assert_allclose(al.inverse_transform(Y), X, atol=1e-12 * np.abs(X).max())
    Z_new = rng.normal(size=(9, d))
    np.testing.assert_allclose(al.transform(Z_new * D_x + s_x), (Z_new @ Q) * D_y + s_y,
                               atol=1e-11)
    plain = OrthogonalAlignment(scale=scale).fit(X, Y)
    assert np.linalg.norm(plain.transform(X) - Y) > 0.1 * np.linalg.norm(Y - Y.mean(0))


def test_standardize_equals_procrustes_and_ridge_between_standard_scaled_anchors():
    """The oracle: StandardScaler on each side (a constant feature included, which gets the
    scale 1), scipy's Procrustes or scikit-learn's Ridge / RidgeCV between the scaled anchors,
    the target's scaling undone."""
    rng = np.random.default_rng(32)
    X = rng.normal(size=(30, 6)) * rng.uniform(0.1, 10.0, size=6) + 2.0
    Y = rng.normal(size=(30, 4)) * rng.uniform(0.1, 10.0, size=4) - 1.0
    X[:, 1] = 3.0  # the same index on both sides: the closest to the identity is unique
    Y[:, 1] = -7.0
    V = rng.normal(size=(8, 6)) * 3.0
    for center in (True, False):
        sx, sy = StandardScaler(with_mean=center).fit(X), StandardScaler(with_mean=center).fit(Y)
        Xs, Ys = sx.transform(X), sy.transform(Y)
        Xp = np.hstack([Xs, np.zeros((30, 2))])  # zero padding to the wider side
        Yp = np.hstack([Ys, np.zeros((30, 4))])
        # A constant feature on each side: R is not unique, the one closest to the identity.
        R = closest_to_identity(Xp, Yp)
        assert np.linalg.norm(Xp @ R - Yp) == pytest.approx(  # a minimiser
            np.linalg.norm(Xp @ orthogonal_procrustes(Xp, Yp)[0] - Yp), rel=1e-12)
        R = R[:6, :4]
        al = OrthogonalAlignment(standardize=True, center=center).fit(X, Y)
        np.testing.assert_allclose(al.source_scale_, sx.scale_, rtol=1e-12)
        np.testing.assert_allclose(al.target_scale_, sy.scale_, rtol=1e-12)
        assert al.source_scale_[1] == al.target_scale_[1] == 1.0
        np.testing.assert_allclose(al.rotation_, R, atol=1e-10)
        np.testing.assert_allclose(al.transform(V), sy.inverse_transform(sx.transform(V) @ R),
                                   atol=1e-10)
        for alpha, regressor in ((3.0, Ridge(alpha=3.0, fit_intercept=center)),
                                 ("auto", RidgeCV(alphas=np.logspace(-2, 3, 11),
                                                  fit_intercept=center))):
            al = AffineAlignment(alpha=alpha, alphas=np.logspace(-2, 3, 11),
                                 standardize=True, fit_intercept=center).fit(X, Y)
            regressor.fit(Xs, Ys)
            expected = sy.inverse_transform(regressor.predict(sx.transform(V)))
            np.testing.assert_allclose(al.transform(V), expected, atol=1e-10)
            np.testing.assert_allclose(V @ al.coef_.T + al.intercept_, expected, atol=1e-10)
            if alpha == "auto":
                assert al.alpha_ == regressor.alpha_


def test_standardize_leaves_least_squares_unchanged():
    """Least squares is equivariant to a rescaling of the features: standardising changes
    nothing (the oracle is LinearRegression); ridge does change."""
    rng = np.random.default_rng(33)
    X, Y = _noisy_linear(rng, 40, 6, 3, noise=0.3)
    X *= [1.0, 100.0, 0.01, 5.0, 1.0, 0.2]
    V = rng.normal(size=(5, 6))
    ref = LinearRegression().fit(X, Y).predict(V)
    np.testing.assert_allclose(AffineAlignment(standardize=True).fit(X, Y).transform(V), ref,
                               atol=1e-9)
    ridge = [AffineAlignment(alpha=10.0, standardize=s).fit(X, Y).transform(V)
             for s in (False, True)]
    assert np.abs(ridge[0] - ridge[1]).max() > 0.01


STANDARDISED = [
    OrthogonalAlignment(standardize=True),
    OrthogonalAlignment(standardize=True, scale=True),
    OrthogonalAlignment(standardize=True, center=False),
    AffineAlignment(standardize=True, alpha=5.0),
    AffineAlignment(standardize=True, alpha="auto"),
    AffineAlignment(standardize=True, alpha=3.0, fit_intercept=False),
]


@pytest.mark.parametrize("estimator", STANDARDISED, ids=repr)
def test_standardized_maps_are_invariant_to_rescaling_features_of_either_side(estimator):
    """Fitted on ``(X S_x, Y S_y)`` (any non-zero factors, signs included), the map carries
    ``V S_x`` to what the map fitted on ``(X, Y)`` gives for ``V``, times ``S_y``."""
    rng = np.random.default_rng(34)
    X, Y = rng.normal(size=(40, 5)) + 1.0, rng.normal(size=(40, 4)) - 2.0
    Y[:, :3] += X[:, :3] @ rng.normal(size=(3, 3))
    V = rng.normal(size=(6, 5))
    S_x = rng.uniform(0.01, 100.0, size=5) * [1, -1, 1, 1, -1]
    S_y = rng.uniform(0.01, 100.0, size=4) * [-1, 1, 1, 1]
    reference = estimator.fit(X, Y)
    expected, back = reference.transform(V), reference.inverse_transform(Y[:6])
    rescaled = estimator.fit(X * S_x, Y * S_y)
    np.testing.assert_allclose(rescaled.transform(V * S_x) / S_y, expected, atol=1e-10)
    np.testing.assert_allclose(rescaled.inverse_transform(Y[:6] * S_y) / S_x, back,
                               atol=1e-10)
    if estimator.get_params().get("center", estimator.get_params().get("fit_intercept")):
        # Centred: invariant to translations as well.
        moved = estimator.fit(X + 3.0, Y - 7.0)
        np.testing.assert_allclose(moved.transform(V + 3.0) + 7.0, expected, atol=1e-10)


def test_unstandardized_ridge_is_not_invariant_to_rescaling_features():
    """The contrast that makes the test above meaningful."""
    rng = np.random.default_rng(34)
    X, Y = rng.normal(size=(40, 5)), rng.normal(size=(40, 4))
    S_x = np.array([0.01, 1.0, 100.0, 1.0, 1.0])
    al = AffineAlignment(alpha=5.0)
    assert np.abs(al.fit(X * S_x, Y).transform(X * S_x) - al.fit(X, Y).transform(X)).max() > 0.01


@pytest.mark.parametrize("estimator", STANDARDISED, ids=repr)
def test_standardized_inverse_is_consistent(estimator):
    """A widening map is inverted exactly; a narrowing one is a projection (idempotent)."""
    rng = np.random.default_rng(35)
    X = rng.normal(size=(40, 3)) * [1.0, 10.0, 0.1] + 4.0
    Y = np.hstack([X @ rng.normal(size=(3, 3)), rng.normal(size=(40, 2))]) * 3.0 + 1.0
    wide = estimator.fit(X, Y)
    np.testing.assert_allclose(wide.inverse_transform(wide.transform(X)), X, atol=1e-10)
    narrow = estimator.fit(Y, X)
    once = narrow.inverse_transform(narrow.transform(Y))
    np.testing.assert_allclose(narrow.inverse_transform(narrow.transform(once)), once,
                               atol=1e-10)


@pytest.mark.parametrize(
    ("dtype", "magnitudes"),
    [(np.float64, [1e-300, 1e-150, 1.0, 1e150, 1e300]), (np.float32, [1e-35, 1e-15, 1.0, 1e15,
                                                                       1e35])],
)
@pytest.mark.parametrize("estimator", STANDARDISED, ids=repr)
def test_standardized_maps_at_extreme_per_feature_magnitudes(dtype, magnitudes, estimator):
    """Each feature at its own magnitude, from near the smallest to near the largest normal
    number: the same map as at magnitude 1, feature by feature, in the input's dtype."""
    rng = np.random.default_rng(36)
    X, Y = rng.normal(size=(30, 5)) + 1.0, rng.normal(size=(30, 5))
    Y += X @ rng.normal(size=(5, 5))
    S_x, S_y = np.array(magnitudes), np.array(magnitudes[::-1])
    reference = clone(estimator).fit(X, Y)
    expected = reference.transform(X)
    al = clone(estimator).fit((X * S_x).astype(dtype), (Y * S_y).astype(dtype))
    out = al.transform((X * S_x).astype(dtype))
    assert out.dtype == dtype and np.all(np.isfinite(out))
    tol = 1e-4 if dtype == np.float32 else 1e-10
    np.testing.assert_allclose(out.astype(np.float64) / S_y, expected, atol=tol * 10)
    back = al.inverse_transform((Y * S_y).astype(dtype)).astype(np.float64) / S_x
    np.testing.assert_allclose(back, reference.inverse_transform(Y), atol=tol * 10)


def test_standardize_refuses_anchors_constant_to_rounding():
    """Rows that differ only by rounding: not identical (the exact test passes them), but
    every feature is constant once standardised (StandardScaler's rule)."""
    X = np.full((6, 2), 1.0)
    X[0] += np.finfo(float).eps
    Y = np.random.default_rng(37).normal(size=(6, 2))
    OrthogonalAlignment().fit(X, Y)  # a rotation exists without standardising
    with pytest.raises(ValueError, match="OrthogonalAlignment cannot be fitted: the source "
                                         "anchors X have zero variance"):
        OrthogonalAlignment(standardize=True).fit(X, Y)
