"""Tests of skinvariance.metrics against plain reference formulas, scipy and invariances."""

import importlib

import numpy as np
import pandas as pd
import pytest
from joblib import parallel_config
from scipy.spatial import procrustes
from scipy.spatial.distance import cdist, pdist
from scipy.stats import ortho_group, pearsonr
from sklearn import config_context

from skinvariance import metrics, stack_spaces
from skinvariance.kernels import row_blocks
from skinvariance.metrics import (
    cka,
    knn_jaccard,
    linear_cka,
    mean_cosine_similarity,
    mean_reciprocal_rank,
    pearson_similarity,
    procrustes_similarity,
    rbf_cka,
    similarity_matrix,
)

# A working memory of a few KiB makes the blocked loops run over several blocks (checked by
# the ``blocks`` fixture), yet holds the 300 pairwise distances of 25 rows (exact median).
SMALL_MEMORY = 0.003


@pytest.fixture
def blocks(monkeypatch):
    """Record ``(rows per block, rows)`` of every blocked loop of the measures' modules."""
    seen = []

    def recording(n_rows, row_bytes, **kwargs):
        slices = list(row_blocks(n_rows, row_bytes, **kwargs))
        seen.append((slices[0].stop - slices[0].start, n_rows))
        return iter(slices)

    for module in ("_cka", "_matched", "_procrustes", "_neighbours"):
        monkeypatch.setattr(importlib.import_module(f"skinvariance.metrics.{module}"),
                            "row_blocks", recording)
    return seen


def _several_blocks(seen):
    return bool(seen) and all(chunk < n_rows for chunk, n_rows in seen)


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


def cosine_matrix(X, Y):
    def unit(Z):
        norms = np.linalg.norm(Z, axis=1, keepdims=True)
        return Z / np.where(norms == 0, 1.0, norms)

    return unit(X) @ unit(Y).T


def knn_jaccard_ref(X, Y, k):
    def neighbours(Z):
        S = cosine_matrix(Z, Z)
        np.fill_diagonal(S, -np.inf)
        order = np.argsort(-S, axis=1, kind="stable")  # ties: lower index first
        return [set(row[:k]) for row in order]

    nx, ny = neighbours(X), neighbours(Y)
    return np.mean([len(a & b) / len(a | b) for a, b in zip(nx, ny, strict=True)])


def mrr_ref(X, Y):
    S = cosine_matrix(X, Y)
    n = S.shape[0]
    ranks = [1 + sum(S[i, j] >= S[i, i] for j in range(n) if j != i) for i in range(n)]
    return np.mean(1.0 / np.array(ranks))


def _pair(seed, n=30, d_x=5, d_y=7, mix=0.5):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d_x))
    Y = mix * X @ rng.normal(size=(d_x, d_y)) + rng.normal(size=(n, d_y))
    return X, Y


# --------------------------------------------------------------------------------------------
# CKA
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("debiased", [False, True])
@pytest.mark.parametrize(
    ("n", "d_x", "d_y"),
    [(40, 5, 7), (6, 9, 12), (10, 3, 20)],  # feature-space form; n x n form; mixed
)
@pytest.mark.parametrize("memory", [None, SMALL_MEMORY])
def test_linear_cka_matches_gram_formula(n, d_x, d_y, debiased, memory, blocks):
    X, Y = _pair(0, n, d_x, d_y)
    expected = cka_ref(X @ X.T, Y @ Y.T, debiased)
    with config_context(working_memory=memory or 1024):
        got = linear_cka(X, Y, debiased=debiased)
    if memory and n >= min(d_x, d_y):
        assert _several_blocks(blocks)
    assert got == pytest.approx(expected, rel=1e-10, abs=1e-12)
    assert cka(X, Y, debiased=debiased) == pytest.approx(expected, rel=1e-10, abs=1e-12)


@pytest.mark.parametrize("debiased", [False, True])
@pytest.mark.parametrize("sigma", [None, 1.5])
@pytest.mark.parametrize("memory", [None, SMALL_MEMORY])
def test_rbf_cka_matches_gram_formula(debiased, sigma, memory, blocks):
    X, Y = _pair(1, n=25, d_x=3, d_y=4)
    sx = median_sigma(X) if sigma is None else sigma
    sy = median_sigma(Y) if sigma is None else sigma
    expected = cka_ref(rbf_gram(X, sx), rbf_gram(Y, sy), debiased)
    with config_context(working_memory=memory or 1024):
        got = rbf_cka(X, Y, debiased=debiased, sigma=sigma)
    assert _several_blocks(blocks) == bool(memory)
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
    X, Y = _pair(2, n=300, d_x=3, d_y=3)
    exact = rbf_cka(X, Y)
    # 0.1 MiB holds ~13,000 distances, fewer than 300 * 299 / 2: sigma is then estimated.
    with config_context(working_memory=0.1):
        estimated = rbf_cka(X, Y)
    assert estimated != exact
    assert estimated == pytest.approx(exact, abs=0.02)


@pytest.mark.parametrize("func", [linear_cka, rbf_cka])
@pytest.mark.parametrize("debiased", [False, True])
def test_cka_identity_symmetry_and_invariances(func, debiased):
    X, Y = _pair(3)
    assert func(X, X, debiased=debiased) == pytest.approx(1.0, abs=1e-12)
    value = func(X, Y, debiased=debiased)
    assert func(Y, X, debiased=debiased) == pytest.approx(value, rel=1e-12)
    Qx = ortho_group.rvs(X.shape[1], random_state=0)
    Qy = ortho_group.rvs(Y.shape[1], random_state=1)
    moved = func(4.0 * X @ Qx + 2.0, 0.3 * Y @ Qy - 1.0, debiased=debiased)
    assert moved == pytest.approx(value, rel=1e-9)


def test_cka_not_invariant_to_anisotropic_scaling():
    X, Y = _pair(4)
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
    X, Y = _pair(6)
    with_constant = np.hstack([X, np.full((X.shape[0], 2), 7.0)])
    assert linear_cka(with_constant, Y) == pytest.approx(linear_cka(X, Y), rel=1e-12)
    got = linear_cka(X.astype(np.float32), Y.astype(np.float32))
    assert got == pytest.approx(linear_cka(X, Y), rel=1e-5)


# --------------------------------------------------------------------------------------------
# Matched-row measures
# --------------------------------------------------------------------------------------------


def test_mean_cosine_similarity_matches_scipy():
    X, _ = _pair(7, d_x=4)
    Y = X + np.random.default_rng(107).normal(size=X.shape)
    X[3] = 0.0  # zero row: similarity 0 by convention
    expected = np.mean(
        [
            0.0 if i == 3 else 1 - cdist(X[i : i + 1], Y[i : i + 1], "cosine")[0, 0]
            for i in range(len(X))
        ]
    )
    assert mean_cosine_similarity(X, Y) == pytest.approx(expected, rel=1e-12)
    # Invariances: per-row positive scaling of one space, one rotation applied to both.
    Q = ortho_group.rvs(4, random_state=2)
    scales = np.random.default_rng(8).uniform(0.1, 10.0, size=(len(X), 1))
    assert mean_cosine_similarity(X @ Q, scales * Y @ Q) == pytest.approx(expected, rel=1e-10)
    assert mean_cosine_similarity(X, X) == pytest.approx((len(X) - 1) / len(X))


@pytest.mark.parametrize("memory", [None, SMALL_MEMORY / 4])
def test_pearson_similarity_matches_scipy(memory, blocks):
    rng = np.random.default_rng(9)
    X = rng.normal(size=(30, 6))
    Y = X + rng.normal(size=X.shape)
    Y[4] = 0.1  # constant row: correlation 0 by convention
    expected = np.mean([0.0 if i == 4 else pearsonr(X[i], Y[i]).statistic for i in range(len(X))])
    with config_context(working_memory=memory or 1024):
        assert pearson_similarity(X, Y) == pytest.approx(expected, rel=1e-12)
    assert _several_blocks(blocks) == bool(memory)
    a = rng.uniform(0.5, 3.0, size=(30, 1))
    b = rng.normal(size=(30, 1))
    perm = rng.permutation(6)
    assert pearson_similarity(a * X + b, Y) == pytest.approx(expected, rel=1e-10)
    assert pearson_similarity(X[:, perm], Y[:, perm]) == pytest.approx(expected, rel=1e-10)


def test_procrustes_similarity_matches_scipy_and_is_invariant():
    X, _ = _pair(10, d_x=4)
    Y = X @ ortho_group.rvs(4, random_state=3) + np.random.default_rng(110).normal(size=X.shape)
    sim = procrustes_similarity(X, Y)
    _, _, disparity = procrustes(X, Y)
    assert 1.0 - disparity == pytest.approx(sim**2, rel=1e-10)
    assert procrustes_similarity(Y, X) == pytest.approx(sim, rel=1e-12)
    Q = ortho_group.rvs(4, random_state=4)
    assert procrustes_similarity(3.0 * X @ Q + 1.0, Y) == pytest.approx(sim, rel=1e-10)
    assert procrustes_similarity(X, 2.0 * X @ Q - 5.0) == pytest.approx(1.0, abs=1e-12)


def test_procrustes_similarity_different_widths_is_zero_padding(blocks):
    X, Y = _pair(11, d_x=3, d_y=5)
    padded = np.hstack([X, np.zeros((X.shape[0], 2))])
    _, _, disparity = procrustes(padded, Y)
    with config_context(working_memory=SMALL_MEMORY):
        sim = procrustes_similarity(X, Y)
    assert _several_blocks(blocks)
    assert 1.0 - disparity == pytest.approx(sim**2, rel=1e-10)
    semi = ortho_group.rvs(5, random_state=5)[:3]
    assert procrustes_similarity(X, X @ semi) == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize("func", [mean_cosine_similarity, pearson_similarity])
def test_matched_row_measures_need_equal_widths(func):
    with pytest.raises(ValueError, match=r"same number of features; got X with shape \(4, 3\)"):
        func(np.ones((4, 3)), np.ones((4, 2)))


@pytest.mark.parametrize(
    "func",
    [mean_cosine_similarity, pearson_similarity, procrustes_similarity, mean_reciprocal_rank],
)
@pytest.mark.parametrize(
    ("X", "Y", "match"),
    [
        (np.ones((3, 2)), np.ones((2, 2)), "same number of rows"),
        (np.ones((1, 2)), np.ones((1, 2)), "needs at least 2 samples"),
        ([[1.0, np.nan], [1.0, 2.0]], np.eye(2), "Input X contains NaN"),
    ],
)
def test_measures_reject_bad_rows(func, X, Y, match):
    with pytest.raises(ValueError, match=match):
        func(X, Y)


def test_pearson_and_procrustes_degenerate_inputs():
    with pytest.raises(ValueError, match="needs at least 2 features"):
        pearson_similarity(np.ones((3, 1)), np.ones((3, 1)))
    with pytest.raises(ValueError, match="every row of Y is the same vector"):
        procrustes_similarity(np.eye(3), np.ones((3, 3)))


# --------------------------------------------------------------------------------------------
# Neighbourhood measures
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("k", [1, 4, 29])
@pytest.mark.parametrize("memory", [None, SMALL_MEMORY])
def test_knn_jaccard_matches_brute_force(k, memory, blocks):
    X, Y = _pair(12, n=30, d_x=4, d_y=6, mix=1.0)
    with config_context(working_memory=memory or 1024):
        got = knn_jaccard(X, Y, k=k)
    assert _several_blocks(blocks) == bool(memory)
    assert got == pytest.approx(knn_jaccard_ref(X, Y, k), rel=1e-12)
    if k == 29:  # every other sample is a neighbour
        assert got == 1.0


def test_knn_jaccard_ties_broken_by_lower_index(blocks):
    rng = np.random.default_rng(13)
    # Signed one-hot rows: cosine similarities are exactly -1, 0 or 1, with many ties.
    X = np.eye(3)[rng.integers(0, 3, size=20)] * rng.choice([-1.0, 1.0], size=(20, 1))
    Y = np.eye(4)[rng.integers(0, 4, size=20)]
    with config_context(working_memory=SMALL_MEMORY):
        got = knn_jaccard(X, Y, k=5)
    assert _several_blocks(blocks)
    assert got == pytest.approx(knn_jaccard_ref(X, Y, 5), rel=1e-12)


def test_knn_jaccard_identity_and_invariances():
    X, Y = _pair(14, n=40)
    assert knn_jaccard(X, X, k=5) == 1.0
    base = knn_jaccard(X, Y, k=5)
    assert knn_jaccard(Y, X, k=5) == pytest.approx(base, rel=1e-12)
    Qx = ortho_group.rvs(X.shape[1], random_state=6)
    scales = np.random.default_rng(14).uniform(0.5, 2.0, size=(40, 1))
    assert knn_jaccard(scales * X @ Qx, Y, k=5) == pytest.approx(base, rel=1e-12)
    assert knn_jaccard(X, 7.0 * Y, k=5) == pytest.approx(base, rel=1e-12)


@pytest.mark.parametrize(("k", "match"), [(10, "smaller than n_samples=10"), (12, "got k=12")])
def test_knn_jaccard_k_too_large(k, match):
    X, Y = _pair(15, n=10)
    with pytest.raises(ValueError, match=match):
        knn_jaccard(X, Y, k=k)


def test_knn_jaccard_bad_k_type_and_rows():
    X, Y = _pair(16, n=10)
    with pytest.raises(ValueError, match="'k' parameter of knn_jaccard must be an int in the"):
        knn_jaccard(X, Y, k=0)
    with pytest.raises(ValueError, match="same number of rows"):
        knn_jaccard(X, Y[:9], k=2)


@pytest.mark.parametrize("memory", [None, SMALL_MEMORY])
def test_mean_reciprocal_rank_matches_brute_force(memory, blocks):
    X, _ = _pair(17, n=30, d_x=5)
    Y = X + 2.0 * np.random.default_rng(117).normal(size=X.shape)
    with config_context(working_memory=memory or 1024):
        got = mean_reciprocal_rank(X, Y)
    assert _several_blocks(blocks) == bool(memory)
    expected = mrr_ref(X, Y)
    assert got == pytest.approx(expected, rel=1e-12)
    assert 1 / 30 <= got < 1.0


def test_mean_reciprocal_rank_identity_rotation_and_ties():
    X, _ = _pair(18, n=30, d_x=5)
    assert mean_reciprocal_rank(X, X) == 1.0
    Y = X + 2.0 * np.random.default_rng(118).normal(size=X.shape)
    base = mean_reciprocal_rank(X, Y)
    Q = ortho_group.rvs(5, random_state=7)
    assert mean_reciprocal_rank(X @ Q, 3.0 * Y @ Q) == pytest.approx(base, rel=1e-12)
    # Rotating one space alone changes the retrieval.
    assert mean_reciprocal_rank(X @ Q, Y) != pytest.approx(base, rel=1e-3)
    # Ties count against the match: two identical rows in Y both rank 2.
    Yt = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    assert mean_reciprocal_rank(Yt, Yt) == pytest.approx((0.5 + 0.5 + 1.0) / 3)
    assert mean_reciprocal_rank(Yt, Yt) == pytest.approx(mrr_ref(Yt, Yt))


def test_mean_reciprocal_rank_needs_equal_widths():
    with pytest.raises(ValueError, match="mean_reciprocal_rank compares X and Y feature by"):
        mean_reciprocal_rank(np.eye(4), np.eye(4)[:, :3])


# --------------------------------------------------------------------------------------------
# similarity_matrix
# --------------------------------------------------------------------------------------------


def _spaces(seed=19):
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(25, 4))
    return {
        "a": A,
        "b": A @ ortho_group.rvs(4, random_state=8) + 0.5 * rng.normal(size=(25, 4)),
        "c": rng.normal(size=(25, 4)),
    }


@pytest.mark.parametrize(
    ("metric", "params"),
    [
        ("linear_cka", {}),
        ("cka", {"kernel": "rbf", "debiased": True}),
        ("knn_jaccard", {"k": 3}),
        ("mean_reciprocal_rank", {}),
        ("procrustes_similarity", {}),
    ],
)
def test_similarity_matrix_matches_pairwise_calls(metric, params):
    spaces = _spaces()
    out = similarity_matrix(spaces, metric, metric_params=params)
    func = getattr(metrics, metric)
    assert list(out.index) == list(out.columns) == ["a", "b", "c"]
    for a in spaces:
        for b in spaces:
            assert out.loc[a, b] == pytest.approx(func(spaces[a], spaces[b], **params), rel=1e-12)


def test_similarity_matrix_dataframe_input_callable_and_parallel():
    spaces = _spaces()
    frame = stack_spaces(spaces)
    direct = similarity_matrix(spaces, "rbf_cka")
    with parallel_config(backend="threading"):  # threads: no process start-up in the test
        pd.testing.assert_frame_equal(similarity_matrix(frame, "rbf_cka", n_jobs=2), direct)
    calls = []

    def first_column_corr(X, Y):
        calls.append(1)
        return float(np.corrcoef(X[:, 0], Y[:, 0])[0, 1])

    out = similarity_matrix(frame, first_column_corr)
    assert len(calls) == 9  # every ordered pair, diagonal included
    assert out.loc["a", "c"] == pytest.approx(first_column_corr(spaces["a"], spaces["c"]))


def test_similarity_matrix_errors():
    spaces = _spaces()
    spaces["wide"] = np.ones((25, 6))
    with pytest.raises(
        ValueError, match=r"mean_cosine_similarity' failed on the spaces 'a' \(X\) and 'wide'"
    ):
        similarity_matrix(spaces, "mean_cosine_similarity")
    with pytest.raises(ValueError, match="'metric' parameter of similarity_matrix must be"):
        similarity_matrix(spaces, "cosinus")
    with pytest.raises(ValueError, match="must return a finite real number; got nan"):
        similarity_matrix(_spaces(), lambda X, Y: float("nan"))
    with pytest.raises(ValueError, match="same number of rows"):
        similarity_matrix({"a": np.eye(3), "b": np.eye(4)})
    with pytest.raises(TypeError, match="must be a mapping"):
        similarity_matrix([np.eye(3), np.eye(3)])
