"""SVCCA and PWCCA against the textbook CCA (whitened cross-covariance) and their invariances."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.linalg import eigh
from scipy.stats import ortho_group
from sklearn.cross_decomposition import CCA
from sklearn.decomposition import PCA

from skinvariance.metrics import pwcca, svcca

PROPERTY = settings(derandomize=True, max_examples=25, deadline=None)


def inverse_sqrt(C):
    values, vectors = eigh(C)
    return vectors @ np.diag(values**-0.5) @ vectors.T


def textbook_cca(A, B):
    """Canonical correlations and X-side canonical variates from whitened covariances."""
    A = A - A.mean(axis=0)
    B = B - B.mean(axis=0)
    Wa, Wb = inverse_sqrt(A.T @ A), inverse_sqrt(B.T @ B)
    U, rho, _ = np.linalg.svd(Wa @ (A.T @ B) @ Wb)
    m = rho.size
    return rho, A @ Wa @ U[:, :m]


def svcca_ref(X, Y, keep):
    """PCA-reduce each space (scikit-learn), then the mean textbook canonical correlation."""
    reduced = [PCA(n_components=keep, svd_solver="full").fit_transform(Z) for Z in (X, Y)]
    return textbook_cca(*reduced)[0].mean()


def pwcca_ref(X, Y):
    """Morcos et al.: weights from the side with fewer features (X on a tie)."""
    A, B = (X, Y) if X.shape[1] <= Y.shape[1] else (Y, X)
    rho, variates = textbook_cca(A, B)
    Q, _ = np.linalg.qr(variates)
    weights = np.abs(Q.T @ (A - A.mean(axis=0))).sum(axis=1)
    return weights @ rho / weights.sum()


def related(seed, n=300, d_x=6, d_y=9, noise=1.0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d_x)) @ rng.normal(size=(d_x, d_x))
    Y = X[:, :4] @ rng.normal(size=(4, d_y)) + noise * rng.normal(size=(n, d_y))
    return X, Y


# -- against the textbook formula ----------------------------------------------------------


@pytest.mark.parametrize("keep", [0.99, 0.9, 1, 3])
@pytest.mark.parametrize("widths", [(6, 9), (9, 6), (5, 5)])
def test_svcca_matches_pca_then_textbook_cca(keep, widths):
    X, Y = related(1, d_x=widths[0], d_y=widths[1])
    assert svcca(X, Y, n_components=keep) == pytest.approx(svcca_ref(X, Y, keep), abs=1e-10)


def test_svcca_without_reduction_is_the_mean_canonical_correlation():
    X, Y = related(2)
    rho = textbook_cca(X, Y)[0]
    assert svcca(X, Y, n_components=1.0) == pytest.approx(rho.mean(), abs=1e-10)


def test_first_canonical_correlation_agrees_with_scikit_learn_cca():
    X, Y = related(3, d_x=4, d_y=5)
    cca = CCA(n_components=1, scale=False, max_iter=5000, tol=1e-12).fit(X, Y)
    x_scores, y_scores = cca.transform(X, Y)
    first = np.corrcoef(x_scores[:, 0], y_scores[:, 0])[0, 1]  # scikit-learn's iterative CCA
    rho = textbook_cca(X, Y)[0]
    assert rho[0] == pytest.approx(first, abs=1e-6)
    assert svcca(X, Y, n_components=1.0) == pytest.approx(rho.mean(), abs=1e-10)


@pytest.mark.parametrize("widths", [(6, 9), (9, 6), (5, 5)])
def test_pwcca_matches_the_papers_weighting(widths):
    X, Y = related(4, d_x=widths[0], d_y=widths[1])
    assert pwcca(X, Y) == pytest.approx(pwcca_ref(X, Y), abs=1e-10)


def test_pwcca_weights_by_the_narrower_space_whatever_the_order():
    X, Y = related(5, d_x=4, d_y=7)
    assert pwcca(X, Y) == pytest.approx(pwcca(Y, X), abs=1e-12)
    X, Y = related(5, d_x=6, d_y=6)
    assert pwcca(X, Y) == pytest.approx(pwcca_ref(X, Y), abs=1e-10)
    assert pwcca(X, Y) != pytest.approx(pwcca(Y, X), abs=1e-4)  # equal widths: X weighs


def test_float32_and_magnitudes():
    X, Y = related(6)
    for scale in (1e-6, 1e6):
        assert svcca(scale * X, Y) == pytest.approx(svcca(X, Y), abs=1e-9)
        assert pwcca(X, scale * Y) == pytest.approx(pwcca(X, Y), abs=1e-9)
    assert svcca(X.astype(np.float32), Y) == pytest.approx(svcca(X, Y), abs=1e-5)


# -- rank deficiency and too few samples ---------------------------------------------------


def test_rank_deficient_spaces_keep_their_non_zero_directions(rng):
    base = rng.normal(size=(100, 3))
    X = base @ rng.normal(size=(3, 8))  # rank 3 in 8 columns
    Y = np.hstack([base[:, :2], rng.normal(size=(100, 1))]) @ rng.normal(size=(3, 5))
    rho = textbook_cca(PCA(3).fit_transform(X), PCA(3).fit_transform(Y))[0]
    assert svcca(X, Y, n_components=1.0) == pytest.approx(rho.mean(), abs=1e-8)
    assert svcca(X, Y, n_components=1.0) == pytest.approx((1 + 1 + rho[2]) / 3, abs=1e-8)
    assert np.isfinite(pwcca(X, Y))


@pytest.mark.parametrize("measure", [svcca, pwcca])
def test_subspaces_too_large_for_the_samples_are_refused(measure, rng):
    X, Y = rng.normal(size=(10, 8)), rng.normal(size=(10, 8))
    kwargs = {"n_components": 1.0} if measure is svcca else {}
    with pytest.raises(ValueError, match=r"at most 9 dimensions: at least 7 canonical"):
        measure(X, Y, **kwargs)


def test_svcca_with_few_enough_components_works_where_samples_are_few(rng):
    X, Y = rng.normal(size=(10, 8)), rng.normal(size=(10, 8))
    assert 0.0 <= svcca(X, Y, n_components=4) <= 1.0


def test_n_components_above_a_rank_is_refused(rng):
    X = rng.normal(size=(50, 2)) @ rng.normal(size=(2, 6))
    with pytest.raises(ValueError, match=r"n_components=4 directions of X: .* only 2 dim"):
        svcca(X, rng.normal(size=(50, 6)), n_components=4)


@pytest.mark.parametrize(
    "n_components, match",
    [
        (0, r"'n_components' parameter of svcca must be"),
        (1.5, r"'n_components' parameter of svcca must be"),
        (0.0, r"'n_components' parameter of svcca must be"),
        ("all", r"'n_components' parameter of svcca must be"),
        (7, r"'n_components' parameter of svcca must be at most .* = 5 .* Got 7"),
    ],
)
def test_bad_n_components(n_components, match, rng):
    with pytest.raises(ValueError, match=match):
        svcca(rng.normal(size=(40, 5)), rng.normal(size=(40, 6)), n_components=n_components)


@pytest.mark.parametrize("measure", [svcca, pwcca])
def test_bad_inputs(measure, rng):
    X = rng.normal(size=(30, 3))
    with pytest.raises(ValueError, match="needs at least 3 samples"):
        measure(X[:2], X[:2])
    with pytest.raises(ValueError, match="same number of rows"):
        measure(X, X[:20])
    with pytest.raises(ValueError, match="every row of Y is the same vector"):
        measure(X, np.ones((30, 2)))
    with pytest.raises(ValueError, match="NaN"):
        measure(np.where(X > 2, np.nan, X), X)


# -- invariances ---------------------------------------------------------------------------

seeds = st.integers(0, 2**16)
scales = st.floats(1e-3, 1e3)


@PROPERTY
@given(seeds, scales, st.sampled_from([None, 0.9, 2]))
def test_svcca_ignores_orthogonal_maps_scaling_and_translation(seed, scale, keep):
    X, Y = related(seed, n=120)
    rng = np.random.default_rng(seed)
    moved = scale * X @ ortho_group.rvs(X.shape[1], random_state=seed) + rng.normal(size=6)
    assert svcca(moved, Y, n_components=keep) == pytest.approx(
        svcca(X, Y, n_components=keep), abs=1e-9
    )
    assert svcca(X, X, n_components=keep) == pytest.approx(1.0, abs=1e-12)


@PROPERTY
@given(seeds)
def test_svcca_without_reduction_ignores_any_invertible_linear_map(seed):
    X, Y = related(seed, n=120)
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(6, 6)) + 3 * np.eye(6)  # invertible, far from orthogonal
    moved = X @ A + 5.0
    assert svcca(moved, Y, n_components=1.0) == pytest.approx(
        svcca(X, Y, n_components=1.0), abs=1e-8
    )
    assert svcca(X, X @ A, n_components=1.0) == pytest.approx(1.0, abs=1e-10)


def test_svcca_with_reduction_is_not_invariant_to_a_general_linear_map(rng):
    X, Y = related(7, n=200)
    stretch = np.diag([30.0, 1, 1, 1, 1, 1])  # one direction now holds most of the variance
    assert svcca(X @ stretch, Y, n_components=2) != pytest.approx(
        svcca(X, Y, n_components=2), abs=1e-3
    )


@PROPERTY
@given(seeds, scales)
def test_pwcca_invariances_of_the_weighting_and_the_other_space(seed, scale):
    X, Y = related(seed, n=150, d_x=5, d_y=8)  # X is narrower: X weighs
    rng = np.random.default_rng(seed)
    signed = np.eye(5)[rng.permutation(5)] * rng.choice([-1.0, 1.0], size=5)
    base = pwcca(X, Y)
    assert pwcca(scale * X @ signed - 2.0, Y) == pytest.approx(base, abs=1e-9)
    A = rng.normal(size=(8, 8)) + 3 * np.eye(8)
    assert pwcca(X, Y @ A + 1.0) == pytest.approx(base, abs=1e-8)
    assert pwcca(X, X @ rng.normal(size=(5, 8))) == pytest.approx(1.0, abs=1e-10)


def test_pwcca_is_not_invariant_to_a_rotation_of_the_weighting_space():
    X, Y = related(8, n=300, d_x=5, d_y=8)
    Q = ortho_group.rvs(5, random_state=3)
    rotated = pwcca(X @ Q, Y)
    assert rotated != pytest.approx(pwcca(X, Y), abs=1e-3)
    assert rotated == pytest.approx(pwcca_ref(X @ Q, Y), abs=1e-10)  # the rotation is real
    # ... while the canonical correlations themselves did not change
    assert svcca(X @ Q, Y, n_components=1.0) == pytest.approx(
        svcca(X, Y, n_components=1.0), abs=1e-10
    )
