"""Tests of skinvariance.alignment: known maps recovered, scipy/scikit-learn as oracles."""

import numpy as np
import pandas as pd
import pytest
from scipy.linalg import orthogonal_procrustes
from scipy.stats import ortho_group
from sklearn.linear_model import LinearRegression, Ridge
from sklearn.utils.estimator_checks import parametrize_with_checks

from skinvariance import AffineAlignment, OrthogonalAlignment

ESTIMATORS = [
    OrthogonalAlignment(),
    OrthogonalAlignment(center=False, scale=True),
    AffineAlignment(),
    AffineAlignment(fit_intercept=False, alpha=1.0),
]


# Every scikit-learn check, with non-default parameters too (the defaults are checked in
# tests/test_common.py): no expected failure.
@parametrize_with_checks(ESTIMATORS)
def test_sklearn_compatible(estimator, check):
    check(estimator)


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


@pytest.mark.parametrize("Estimator", [OrthogonalAlignment, AffineAlignment])
def test_float32_preserved_and_one_dimensional_target(Estimator):
    rng = np.random.default_rng(8)
    X = rng.normal(size=(30, 4))
    Y = rng.normal(size=(30, 2))
    al = Estimator().fit(X.astype(np.float32), Y.astype(np.float32))
    assert al.transform(X.astype(np.float32)).dtype == np.float32
    assert al.inverse_transform(Y.astype(np.float32)).dtype == np.float32
    ref = Estimator().fit(X, Y).transform(X)
    np.testing.assert_allclose(al.transform(X.astype(np.float32)), ref, rtol=1e-4, atol=1e-4)
    # A 1-D target is one target column.
    y = Y[:, 0]
    one = Estimator().fit(X, y)
    assert one.n_targets_ == 1
    np.testing.assert_allclose(one.transform(X), Estimator().fit(X, y[:, None]).transform(X))
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


@pytest.mark.parametrize(
    "estimator, match",
    [
        (AffineAlignment(alpha=-1.0), "The 'alpha' parameter of AffineAlignment must be a float"),
        (AffineAlignment(alpha=True),
         r"The 'alpha' parameter of AffineAlignment must be a float in the range \[0.0, inf\)\. "
         "Got True instead"),
        (AffineAlignment(alpha=np.inf), "The 'alpha' parameter of AffineAlignment"),
        (AffineAlignment(alpha=np.nan), "The 'alpha' parameter of AffineAlignment"),
        (AffineAlignment(alpha="auto"), "The 'alpha' parameter of AffineAlignment"),
        (AffineAlignment(fit_intercept=1), "The 'fit_intercept' parameter of AffineAlignment"),
        (OrthogonalAlignment(scale="yes"), "The 'scale' parameter of OrthogonalAlignment"),
        (OrthogonalAlignment(center=None), "The 'center' parameter of OrthogonalAlignment"),
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
