"""Neighbourhood measures (kNN Jaccard, mean reciprocal rank) against brute force."""

import numpy as np
import pytest
from _helpers import (
    PROPERTY,
    ROW_SCALINGS,
    SIMILARITIES,
    SMALL_MEMORY,
    paired_spaces,
    related_spaces,
    several_blocks,
)
from hypothesis import given
from hypothesis import strategies as st
from scipy.stats import ortho_group
from sklearn import config_context

from skinvariance.metrics import knn_jaccard, mean_reciprocal_rank


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


@pytest.mark.parametrize("k", [1, 4, 29])
@pytest.mark.parametrize("memory", [None, SMALL_MEMORY])
def test_knn_jaccard_matches_brute_force(k, memory, blocks):
    X, Y = paired_spaces(12, n=30, d_x=4, d_y=6, mix=1.0)
    with config_context(working_memory=memory or 1024):
        got = knn_jaccard(X, Y, k=k)
    assert several_blocks(blocks) == bool(memory)
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
    assert several_blocks(blocks)
    assert got == pytest.approx(knn_jaccard_ref(X, Y, 5), rel=1e-12)


def test_knn_jaccard_identity_and_invariances():
    X, Y = paired_spaces(14, n=40)
    assert knn_jaccard(X, X, k=5) == 1.0
    base = knn_jaccard(X, Y, k=5)
    assert knn_jaccard(Y, X, k=5) == pytest.approx(base, rel=1e-12)
    Qx = ortho_group.rvs(X.shape[1], random_state=6)
    scales = np.random.default_rng(14).uniform(0.5, 2.0, size=(40, 1))
    assert knn_jaccard(scales * X @ Qx, Y, k=5) == pytest.approx(base, rel=1e-12)
    assert knn_jaccard(X, 7.0 * Y, k=5) == pytest.approx(base, rel=1e-12)


@pytest.mark.parametrize(("k", "match"), [(10, "smaller than n_samples=10"), (12, "got k=12")])
def test_knn_jaccard_k_too_large(k, match):
    X, Y = paired_spaces(15, n=10)
    with pytest.raises(ValueError, match=match):
        knn_jaccard(X, Y, k=k)


def test_knn_jaccard_bad_k_type_and_rows():
    X, Y = paired_spaces(16, n=10)
    with pytest.raises(ValueError, match="'k' parameter of knn_jaccard must be an int in the"):
        knn_jaccard(X, Y, k=0)
    with pytest.raises(ValueError, match="same number of rows"):
        knn_jaccard(X, Y[:9], k=2)


@pytest.mark.parametrize("memory", [None, SMALL_MEMORY])
def test_mean_reciprocal_rank_matches_brute_force(memory, blocks):
    X, _ = paired_spaces(17, n=30, d_x=5)
    Y = X + 2.0 * np.random.default_rng(117).normal(size=X.shape)
    with config_context(working_memory=memory or 1024):
        got = mean_reciprocal_rank(X, Y)
    assert several_blocks(blocks) == bool(memory)
    expected = mrr_ref(X, Y)
    assert got == pytest.approx(expected, rel=1e-12)
    assert 1 / 30 <= got < 1.0


def test_mean_reciprocal_rank_identity_rotation_and_ties():
    X, _ = paired_spaces(18, n=30, d_x=5)
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


# -- properties --------------------------------------------------------------------------------


@PROPERTY
@given(related_spaces(min_rows=3, min_width=2), st.floats(0.0, 1.0), SIMILARITIES,
       SIMILARITIES, ROW_SCALINGS, ROW_SCALINGS)
def test_knn_jaccard_properties(spaces, k_fraction, move_x, move_y, scale_x, scale_y):
    X, Y = spaces
    k = 1 + int(k_fraction * (len(X) - 2))
    value = knn_jaccard(X, Y, k=k)
    assert value == pytest.approx(knn_jaccard_ref(X, Y, k), rel=1e-12)
    assert knn_jaccard(Y, X, k=k) == value
    assert knn_jaccard(X, X, k=k) == 1.0
    # Orthogonal maps and positive per-row scaling of either space, independently.
    rotate_x, rotate_y = move_x.orthogonal_only(), move_y.orthogonal_only()
    assert knn_jaccard(scale_x(rotate_x(X)), scale_y(rotate_y(Y)), k=k) == value


@PROPERTY
@given(related_spaces(min_width=2, same_width=True), SIMILARITIES, ROW_SCALINGS, ROW_SCALINGS)
def test_mean_reciprocal_rank_properties(spaces, move, scale_x, scale_y):
    X, Y = spaces
    value = mean_reciprocal_rank(X, Y)
    assert value == pytest.approx(mrr_ref(X, Y), rel=1e-12)
    assert mean_reciprocal_rank(X, X) == 1.0
    # One orthogonal map applied to both; positive per-row scaling of either.
    rotate = move.orthogonal_only()
    assert mean_reciprocal_rank(scale_x(rotate(X)), scale_y(rotate(Y))) == value
