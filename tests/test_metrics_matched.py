"""Matched-row measures (mean cosine similarity, Pearson similarity) against scipy."""

import numpy as np
import pytest
from _helpers import (
    PROPERTY,
    ROW_SCALINGS,
    SEEDS,
    SMALL_MEMORY,
    RowAffine,
    paired_spaces,
    related_spaces,
    several_blocks,
)
from hypothesis import given
from scipy.spatial.distance import cdist
from scipy.stats import ortho_group, pearsonr
from sklearn import config_context

from skinvariance.metrics import mean_cosine_similarity, pearson_similarity


def test_mean_cosine_similarity_matches_scipy():
    X, _ = paired_spaces(7, d_x=4)
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
    assert several_blocks(blocks) == bool(memory)
    a = rng.uniform(0.5, 3.0, size=(30, 1))
    b = rng.normal(size=(30, 1))
    perm = rng.permutation(6)
    assert pearson_similarity(a * X + b, Y) == pytest.approx(expected, rel=1e-10)
    assert pearson_similarity(X[:, perm], Y[:, perm]) == pytest.approx(expected, rel=1e-10)


@pytest.mark.parametrize("func", [mean_cosine_similarity, pearson_similarity])
def test_matched_row_measures_need_equal_widths(func):
    with pytest.raises(ValueError, match=r"same number of features; got X with shape \(4, 3\)"):
        func(np.ones((4, 3)), np.ones((4, 2)))


def test_pearson_similarity_needs_two_features():
    with pytest.raises(ValueError, match="needs at least 2 features"):
        pearson_similarity(np.ones((3, 1)), np.ones((3, 1)))


# -- properties --------------------------------------------------------------------------------


def _cosine_oracle(X, Y):
    return np.mean(1.0 - np.diag(cdist(X, Y, "cosine")))


@PROPERTY
@given(related_spaces(min_width=2, same_width=True), SEEDS, ROW_SCALINGS, ROW_SCALINGS)
def test_mean_cosine_similarity_properties(spaces, seed, scale_x, scale_y):
    X, Y = spaces
    value = mean_cosine_similarity(X, Y)
    assert value == pytest.approx(_cosine_oracle(X, Y), rel=1e-10, abs=1e-12)
    assert mean_cosine_similarity(Y, X) == pytest.approx(value, rel=1e-12, abs=1e-15)
    assert mean_cosine_similarity(X, X) == pytest.approx(1.0, rel=1e-12)
    # One orthogonal map applied to both; positive per-row scaling of either.
    Q = ortho_group.rvs(X.shape[1], random_state=seed)
    moved = mean_cosine_similarity(scale_x(X) @ Q, scale_y(Y) @ Q)
    assert moved == pytest.approx(value, rel=1e-10, abs=1e-12)


@PROPERTY
@given(related_spaces(min_width=2, same_width=True), SEEDS, SEEDS, SEEDS)
def test_pearson_similarity_properties(spaces, seed_x, seed_y, seed_perm):
    X, Y = spaces
    value = pearson_similarity(X, Y)
    expected = np.mean([pearsonr(x, y).statistic for x, y in zip(X, Y, strict=True)])
    assert value == pytest.approx(expected, rel=1e-10, abs=1e-12)
    assert pearson_similarity(Y, X) == pytest.approx(value, rel=1e-12, abs=1e-15)
    assert pearson_similarity(X, X) == pytest.approx(1.0, rel=1e-12)
    # Per-row positive affine maps of either space; one permutation of features for both.
    moved = pearson_similarity(RowAffine(seed_x, shift=10.0)(X), RowAffine(seed_y, 10.0)(Y))
    assert moved == pytest.approx(value, rel=1e-9, abs=1e-12)
    perm = np.random.default_rng(seed_perm).permutation(X.shape[1])
    assert pearson_similarity(X[:, perm], Y[:, perm]) == pytest.approx(value, rel=1e-12,
                                                                       abs=1e-15)
