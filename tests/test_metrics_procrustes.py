"""Procrustes similarity against scipy.spatial.procrustes, and its invariances."""

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
from scipy.spatial import procrustes
from scipy.stats import ortho_group
from sklearn import config_context

from skinvariance.metrics import procrustes_similarity


def test_procrustes_similarity_matches_scipy_and_is_invariant():
    X, _ = paired_spaces(10, d_x=4)
    Y = X @ ortho_group.rvs(4, random_state=3) + np.random.default_rng(110).normal(size=X.shape)
    sim = procrustes_similarity(X, Y)
    _, _, disparity = procrustes(X, Y)
    assert 1.0 - disparity == pytest.approx(sim**2, rel=1e-10)
    assert procrustes_similarity(Y, X) == pytest.approx(sim, rel=1e-12)
    Q = ortho_group.rvs(4, random_state=4)
    assert procrustes_similarity(3.0 * X @ Q + 1.0, Y) == pytest.approx(sim, rel=1e-10)
    assert procrustes_similarity(X, 2.0 * X @ Q - 5.0) == pytest.approx(1.0, abs=1e-12)


def test_procrustes_similarity_different_widths_is_zero_padding(blocks):
    X, Y = paired_spaces(11, d_x=3, d_y=5)
    padded = np.hstack([X, np.zeros((X.shape[0], 2))])
    _, _, disparity = procrustes(padded, Y)
    with config_context(working_memory=SMALL_MEMORY):
        sim = procrustes_similarity(X, Y)
    assert several_blocks(blocks)
    assert 1.0 - disparity == pytest.approx(sim**2, rel=1e-10)
    semi = ortho_group.rvs(5, random_state=5)[:3]
    assert procrustes_similarity(X, X @ semi) == pytest.approx(1.0, abs=1e-12)


def test_procrustes_similarity_of_a_constant_space():
    with pytest.raises(ValueError, match="every row of Y is the same vector"):
        procrustes_similarity(np.eye(3), np.ones((3, 3)))


# -- properties --------------------------------------------------------------------------------


def _padded(Z, width):
    return np.hstack([Z, np.zeros((Z.shape[0], width - Z.shape[1]))])


@PROPERTY
@given(related_spaces(min_rows=3), SIMILARITIES, SIMILARITIES)
def test_procrustes_similarity_properties(spaces, move_x, move_y):
    X, Y = spaces
    value = procrustes_similarity(X, Y)
    # scipy's disparity of the zero-padded spaces is 1 - similarity ** 2.
    width = max(X.shape[1], Y.shape[1])
    _, _, disparity = procrustes(_padded(X, width), _padded(Y, width))
    assert value**2 == pytest.approx(1.0 - disparity, rel=1e-9, abs=1e-12)
    assert procrustes_similarity(Y, X) == pytest.approx(value, rel=1e-12, abs=1e-15)
    assert procrustes_similarity(X, X) == pytest.approx(1.0, rel=1e-12)
    assert procrustes_similarity(X, move_x(X)) == pytest.approx(1.0, rel=1e-10)
    # Orthogonal maps, isotropic scaling and translation of either space, independently.
    moved = procrustes_similarity(move_x(X), move_y(Y))
    assert moved == pytest.approx(value, rel=1e-9, abs=1e-12)
