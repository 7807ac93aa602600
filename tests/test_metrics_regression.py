"""linear_regression_r2 against scikit-learn's LinearRegression and Ridge, and its invariances."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import ortho_group
from sklearn.linear_model import LinearRegression, Ridge
from sklearn.metrics import r2_score

from skinvariance.metrics import linear_regression_r2

PROPERTY = settings(derandomize=True, max_examples=25, deadline=None)


def r2_ref(X, Y, alpha=0.0):
    model = Ridge(alpha=alpha) if alpha else LinearRegression()
    fitted = model.fit(X, Y).predict(X)
    return r2_score(Y, fitted, multioutput="variance_weighted")


def related(seed, n=80, d_x=5, d_y=7, noise=2.0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d_x)) * rng.uniform(0.5, 3.0, size=d_x) + 4.0
    return X, X @ rng.normal(size=(d_x, d_y)) + noise * rng.normal(size=(n, d_y)) - 1.0


@pytest.mark.parametrize("alpha", [0.0, 0.1, 10.0, 1e4])
@pytest.mark.parametrize("widths", [(5, 7), (7, 2), (3, 1)])
def test_matches_scikit_learn(alpha, widths):
    X, Y = related(0, d_x=widths[0], d_y=widths[1])
    assert linear_regression_r2(X, Y, alpha=alpha) == pytest.approx(r2_ref(X, Y, alpha),
                                                                      abs=1e-10)


def test_rank_deficient_x_matches_the_minimum_norm_least_squares(rng):
    X = rng.normal(size=(60, 3)) @ rng.normal(size=(3, 8))  # rank 3 in 8 columns
    Y = X[:, :2] + rng.normal(size=(60, 2))
    assert linear_regression_r2(X, Y) == pytest.approx(r2_ref(X, Y), abs=1e-10)
    assert linear_regression_r2(X, Y, alpha=1.0) == pytest.approx(r2_ref(X, Y, 1.0), abs=1e-10)


def test_conventions_at_the_edges(rng):
    X, Y = related(1, n=6, d_x=8)
    assert linear_regression_r2(X, Y) == pytest.approx(1.0, abs=1e-10)  # rank Xc = n - 1
    assert linear_regression_r2(X, Y, alpha=1.0) < 1.0
    assert linear_regression_r2(X, Y, alpha=1.0) == pytest.approx(r2_ref(X, Y, 1.0), abs=1e-10)
    assert linear_regression_r2(np.full((6, 3), 2.0), Y) == 0.0  # a constant X explains nothing
    with pytest.raises(ValueError, match="Y has zero variance"):
        linear_regression_r2(X, np.ones((6, 2)))


def test_magnitudes_and_float32():
    X, Y = related(2)
    expected = r2_ref(X, Y)
    for scale in (1e-8, 1e8):
        assert linear_regression_r2(scale * X, scale * Y) == pytest.approx(expected, abs=1e-9)
    assert linear_regression_r2(X.astype(np.float32), Y) == pytest.approx(expected, abs=1e-5)


def test_not_symmetric():
    X, Y = related(3, d_x=5, d_y=2, noise=0.5)
    assert linear_regression_r2(X, Y) == pytest.approx(r2_ref(X, Y), abs=1e-10)
    assert linear_regression_r2(Y, X) == pytest.approx(r2_ref(Y, X), abs=1e-10)
    assert linear_regression_r2(X, Y) > linear_regression_r2(Y, X) + 0.1


@pytest.mark.parametrize(
    "alpha, match",
    [(-1.0, r"'alpha' parameter of linear_regression_r2 must be a float in the range \[0"),
     ("1", r"'alpha' parameter of linear_regression_r2 must be")],
)
def test_bad_alpha(alpha, match):
    X, Y = related(4)
    with pytest.raises(ValueError, match=match):
        linear_regression_r2(X, Y, alpha=alpha)


def test_bad_inputs():
    X, Y = related(5)
    with pytest.raises(ValueError, match="at least 2 samples"):
        linear_regression_r2(X[:1], Y[:1])
    with pytest.raises(ValueError, match="same number of rows"):
        linear_regression_r2(X, Y[:4])
    with pytest.raises(ValueError, match="infinity"):
        linear_regression_r2(X, np.where(Y > 3, np.inf, Y))


# -- invariances ---------------------------------------------------------------------------

seeds = st.integers(0, 2**16)


@PROPERTY
@given(seeds)
def test_least_squares_ignores_invertible_linear_maps_of_x(seed):
    X, Y = related(seed)
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(5, 5)) + 3 * np.eye(5)
    assert linear_regression_r2(X @ A - 7.0, Y) == pytest.approx(linear_regression_r2(X, Y),
                                                                   abs=1e-9)
    assert linear_regression_r2(X, X @ A) == pytest.approx(1.0, abs=1e-10)
    assert linear_regression_r2(X, X) == pytest.approx(1.0, abs=1e-12)


@PROPERTY
@given(seeds, st.floats(1e-3, 1e3), st.sampled_from([0.0, 5.0]))
def test_orthogonal_maps_scaling_and_translation_of_y_change_nothing(seed, scale, alpha):
    X, Y = related(seed)
    moved = scale * Y @ ortho_group.rvs(7, random_state=seed) + 2.0
    assert linear_regression_r2(X, moved, alpha=alpha) == pytest.approx(
        linear_regression_r2(X, Y, alpha=alpha), abs=1e-9
    )
    Q = ortho_group.rvs(5, random_state=seed)  # ridge: orthogonal maps of X too
    assert linear_regression_r2(X @ Q + 1.0, Y, alpha=alpha) == pytest.approx(
        linear_regression_r2(X, Y, alpha=alpha), abs=1e-9
    )


def test_ridge_sees_the_scale_of_x():
    X, Y = related(6)
    assert linear_regression_r2(10.0 * X, Y, alpha=50.0) != pytest.approx(
        linear_regression_r2(X, Y, alpha=50.0), abs=1e-3
    )
