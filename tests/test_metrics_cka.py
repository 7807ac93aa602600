"""Centered Kernel Alignment against the n x n Gram formulas, and its invariances."""

import numpy as np
import pytest
from _helpers import (
    PROPERTY,
    SIMILARITIES,
    SMALL_MEMORY,
    paired_spaces,
    related_spaces,
    several_blocks,
)
from hypothesis import given
from hypothesis import strategies as st
from scipy.spatial.distance import cdist, pdist
from scipy.stats import ortho_group
from sklearn import config_context

from skinvariance.metrics import cka, linear_cka, rbf_cka

# --------------------------------------------------------------------------------------------
# Reference formulas, written plainly with n x n matrices.
# --------------------------------------------------------------------------------------------


def hsic_ref(K, L):
    n = K.shape[0]
    H = np.eye(n) - np.ones((n, n)) / n
    return np.trace(K @ H @ L @ H) / (n - 1) ** 2


def hsic_unbiased_ref(K, L):
    """Song et al. (2012), eq. (5)."""
    n = K.shape[0]
    Kt = K - np.diag(np.diag(K))
    Lt = L - np.diag(np.diag(L))
    one = np.ones(n)
    return (
        np.trace(Kt @ Lt)
        + (one @ Kt @ one) * (one @ Lt @ one) / ((n - 1) * (n - 2))
        - 2.0 / (n - 2) * (one @ Kt @ Lt @ one)
    ) / (n * (n - 3))


def cka_ref(K, L, debiased=False):
    h = hsic_unbiased_ref if debiased else hsic_ref
    return h(K, L) / np.sqrt(h(K, K) * h(L, L))


def rbf_gram(X, sigma):
    return np.exp(-cdist(X, X, "sqeuclidean") / (2 * sigma**2))


def median_sigma(X):
    d = pdist(X, "sqeuclidean")
    return np.sqrt(np.median(d[d > 0]))


@pytest.mark.parametrize("debiased", [False, True])
@pytest.mark.parametrize(
    ("n", "d_x", "d_y"),
    # feature-space form; n x n form; mixed widths, each way: the cheaper form is used.
    [(40, 5, 7), (6, 9, 12), (10, 3, 20), (30, 3, 20)],
)
# each space's own terms are blocked alone, over rows of one width: less memory splits them
@pytest.mark.parametrize("memory", [None, SMALL_MEMORY / 8])
def test_linear_cka_matches_gram_formula(n, d_x, d_y, debiased, memory, blocks):
    X, Y = paired_spaces(0, n, d_x, d_y)
    expected = cka_ref(X @ X.T, Y @ Y.T, debiased)
    with config_context(working_memory=memory or 1024):
        got = linear_cka(X, Y, debiased=debiased)
    if memory and n * (d_x + d_y) >= d_x**2 + d_y**2 + d_x * d_y:  # the feature form
        assert several_blocks(blocks)
    assert got == pytest.approx(expected, rel=1e-10, abs=1e-12)
    assert cka(X, Y, debiased=debiased) == pytest.approx(expected, rel=1e-10, abs=1e-12)


@pytest.mark.parametrize("debiased", [False, True])
@pytest.mark.parametrize("sigma", [None, 1.5])
@pytest.mark.parametrize("memory", [None, SMALL_MEMORY])
def test_rbf_cka_matches_gram_formula(debiased, sigma, memory, blocks):
    X, Y = paired_spaces(1, n=25, d_x=3, d_y=4)
    sx = median_sigma(X) if sigma is None else sigma
    sy = median_sigma(Y) if sigma is None else sigma
    expected = cka_ref(rbf_gram(X, sx), rbf_gram(Y, sy), debiased)
    with config_context(working_memory=memory or 1024):
        got = rbf_cka(X, Y, debiased=debiased, sigma=sigma)
    assert several_blocks(blocks) == bool(memory)
    assert got == pytest.approx(expected, rel=1e-9, abs=1e-12)
    assert cka(X, Y, "rbf", debiased=debiased, sigma=sigma) == pytest.approx(got, rel=1e-12)


def test_rbf_median_heuristic_ignores_duplicate_rows():
    rng = np.random.default_rng(20)
    X = rng.normal(size=(12, 3)) * 10.0 + 50.0
    X = np.vstack([X, X[:6], X[:3]])  # duplicated rows: zero distances, left out of the median
    Y = rng.normal(size=(21, 2))
    expected = cka_ref(rbf_gram(X, median_sigma(X)), rbf_gram(Y, median_sigma(Y)))
    assert rbf_cka(X, Y) == pytest.approx(expected, rel=1e-9)


def test_rbf_median_on_a_row_subset_when_pairs_exceed_memory():
    X, Y = paired_spaces(2, n=300, d_x=3, d_y=3)
    exact = rbf_cka(X, Y)
    # 0.1 MiB holds ~13,000 distances, fewer than 300 * 299 / 2: sigma is then estimated.
    with config_context(working_memory=0.1):
        estimated = rbf_cka(X, Y)
    assert estimated != exact
    assert estimated == pytest.approx(exact, abs=0.02)


@pytest.mark.parametrize("func", [linear_cka, rbf_cka])
@pytest.mark.parametrize("debiased", [False, True])
def test_cka_identity_symmetry_and_invariances(func, debiased):
    X, Y = paired_spaces(3)
    assert func(X, X, debiased=debiased) == pytest.approx(1.0, abs=1e-12)
    value = func(X, Y, debiased=debiased)
    assert func(Y, X, debiased=debiased) == pytest.approx(value, rel=1e-12)
    Qx = ortho_group.rvs(X.shape[1], random_state=0)
    Qy = ortho_group.rvs(Y.shape[1], random_state=1)
    moved = func(4.0 * X @ Qx + 2.0, 0.3 * Y @ Qy - 1.0, debiased=debiased)
    assert moved == pytest.approx(value, rel=1e-9)


def test_cka_not_invariant_to_anisotropic_scaling():
    X, Y = paired_spaces(4)
    stretched = X * np.array([10.0, 1.0, 1.0, 1.0, 0.1])
    assert abs(linear_cka(stretched, Y) - linear_cka(X, Y)) > 0.05


def test_debiased_cka_can_be_negative_and_is_returned_as_is():
    rng = np.random.default_rng(5)
    values = []
    for _ in range(10):
        X, Y = rng.normal(size=(8, 3)), rng.normal(size=(8, 3))
        got = linear_cka(X, Y, debiased=True)
        assert got == pytest.approx(cka_ref(X @ X.T, Y @ Y.T, True), rel=1e-9, abs=1e-12)
        assert -1.0 <= got <= 1.0
        values.append(got)
    assert min(values) < 0.0
    # Biased CKA of the same unrelated pairs is positive (the bias debiasing removes).
    assert linear_cka(X, Y) > 0.0


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"X": np.ones((5, 2)), "Y": np.ones((4, 2))}, r"same number of rows.*\(5, 2\).*\(4, 2\)"),
        ({"X": np.ones((1, 2)), "Y": np.ones((1, 2))}, "needs at least 2 samples"),
        (
            {"X": np.eye(3), "Y": np.eye(3), "debiased": True},
            "needs at least 4 samples; got X and Y with n_samples=3",
        ),
        ({"X": [[0.0, np.nan], [1.0, 1.0]], "Y": np.eye(2)}, "Input X contains NaN"),
        ({"X": np.eye(2), "Y": [[0.0, np.inf], [1.0, 1.0]]}, "Input Y contains infinity"),
        (
            {"X": np.ones((5, 3)), "Y": np.eye(5)},
            "zero variance: every row of X is the same vector",
        ),
        (
            {"X": np.eye(5), "Y": np.full((5, 2), 3.0), "kernel": "rbf"},
            "every row of Y is the same vector",
        ),
        (
            {"X": np.eye(5), "Y": np.eye(5), "sigma": 1.0},
            "'sigma' parameter of cka is only used with kernel='rbf'; got sigma=1.0",
        ),
        (
            {"X": np.eye(5), "Y": np.eye(5), "kernel": "poly"},
            r"'kernel' parameter of cka must be a str among \{.*\}. Got 'poly' instead",
        ),
        (
            {"X": np.eye(5), "Y": np.eye(5), "kernel": "rbf", "sigma": 0.0},
            "'sigma' parameter of cka must be a float in the range",
        ),
    ],
)
def test_cka_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        cka(**kwargs)


def test_cka_constant_columns_are_fine_and_float32_accepted():
    X, Y = paired_spaces(6)
    with_constant = np.hstack([X, np.full((X.shape[0], 2), 7.0)])
    assert linear_cka(with_constant, Y) == pytest.approx(linear_cka(X, Y), rel=1e-12)
    got = linear_cka(X.astype(np.float32), Y.astype(np.float32))
    assert got == pytest.approx(linear_cka(X, Y), rel=1e-5)


# -- properties --------------------------------------------------------------------------------


@PROPERTY
@given(related_spaces(), SIMILARITIES, SIMILARITIES, st.booleans())
def test_linear_cka_properties(spaces, move_x, move_y, debiased):
    X, Y = spaces
    value = linear_cka(X, Y, debiased=debiased)
    assert value == pytest.approx(cka_ref(X @ X.T, Y @ Y.T, debiased), rel=1e-9, abs=1e-12)
    assert linear_cka(Y, X, debiased=debiased) == pytest.approx(value, rel=1e-12, abs=1e-15)
    assert linear_cka(X, X, debiased=debiased) == pytest.approx(1.0, rel=1e-12)
    assert linear_cka(X, move_x(X), debiased=debiased) == pytest.approx(1.0, rel=1e-10)
    # Orthogonal maps, isotropic scaling and translation of either space, independently.
    moved = linear_cka(move_x(X), move_y(Y), debiased=debiased)
    assert moved == pytest.approx(value, rel=1e-9, abs=1e-12)


@PROPERTY
@given(related_spaces(), SIMILARITIES, SIMILARITIES, st.booleans())
def test_rbf_cka_median_heuristic_properties(spaces, move_x, move_y, debiased):
    X, Y = spaces
    value = rbf_cka(X, Y, debiased=debiased)
    expected = cka_ref(rbf_gram(X, median_sigma(X)), rbf_gram(Y, median_sigma(Y)), debiased)
    assert value == pytest.approx(expected, rel=1e-9, abs=1e-12)
    assert rbf_cka(Y, X, debiased=debiased) == pytest.approx(value, rel=1e-12, abs=1e-15)
    assert rbf_cka(X, X, debiased=debiased) == pytest.approx(1.0, rel=1e-12)
    assert rbf_cka(X, move_x(X), debiased=debiased) == pytest.approx(1.0, rel=1e-10)
    # sigma follows the scale of each space: the same invariances as linear CKA.
    moved = rbf_cka(move_x(X), move_y(Y), debiased=debiased)
    assert moved == pytest.approx(value, rel=1e-9, abs=1e-12)
