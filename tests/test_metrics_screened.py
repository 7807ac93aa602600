"""Cosine searches screened in float32 and decided in float64 against float64 brute force,
where float32 alone cannot tell the candidates apart."""

import numpy as np
import pytest
from _helpers import PROPERTY
from hypothesis import given
from hypothesis import strategies as st

from skinvariance.metrics import _screened, knn_jaccard, mean_reciprocal_rank
from skinvariance.metrics._mutual import SharedNeighbours
from skinvariance.metrics._neighbours import neighbour_lists
from skinvariance.metrics._screened import dot_error


def unit(Z):
    norms = np.linalg.norm(Z, axis=1, keepdims=True)
    return Z / np.where(norms == 0, 1.0, norms)


def lists_ref(Z, k, queries=None):
    """The k neighbours by float64 brute force, ties to the lower index, sorted."""
    S = unit(Z) @ unit(Z).T
    np.fill_diagonal(S, -np.inf)
    if queries is not None:
        S = S[queries]
    return np.sort(np.argsort(-S, axis=1, kind="stable")[:, :k], axis=1)


def ranks_ref(X, Y):
    S = unit(X) @ unit(Y).T
    return np.count_nonzero(S >= np.diag(S)[:, None], axis=1)


def clustered(seed, n_clusters, size, d=24, spread=1e-5):
    """Rows in clusters of near-duplicates: within a cluster, cosines differ by about
    ``spread**2`` (1e-10), far below float32's resolution near 1 (6e-8)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n_clusters, d))
    Z = np.repeat(centres, size, axis=0)
    return Z + spread * rng.normal(size=Z.shape), rng.permutation(len(Z))


def float32_lists(Z, k):
    """What a float32 search alone finds (to show the data defeats it)."""
    U = unit(Z).astype(np.float32)
    S = U @ U.T
    np.fill_diagonal(S, -np.inf)
    return np.sort(np.argsort(-S, axis=1, kind="stable")[:, :k], axis=1)


def spy(monkeypatch, name):
    """Record the rows each call of the float64 fallback ``name`` searches again."""
    calls = []
    original = getattr(_screened, name)

    def recorded(space, rows, *args):
        calls.append(len(rows))
        return original(space, rows, *args)

    monkeypatch.setattr(_screened, name, recorded)
    return calls


# Clusters of 8 are decided pair by pair; clusters of 60 have too many close calls, and are
# searched again whole in float64 (the neighbour lists: the whole block).
@pytest.mark.parametrize("size", [8, 60])
def test_neighbour_lists_decide_below_float32_resolution(size, monkeypatch):
    calls = spy(monkeypatch, "_float64_top_k")
    Z, order = clustered(0, 240 // size, size)
    Z = Z[order]
    expected = lists_ref(Z, 5)
    assert not np.array_equal(float32_lists(Z, 5), expected)  # float32 alone gets it wrong
    assert np.array_equal(neighbour_lists(Z, 5), expected)
    queries = np.arange(0, len(Z), 7)
    assert np.array_equal(neighbour_lists(Z, 5, queries), expected[queries])
    assert calls == ([240, len(queries)] if size == 60 else [])


def test_neighbour_lists_search_crowded_rows_again(monkeypatch):
    """A zero row is as similar to every row (cosine 0): those rows alone are searched again
    in float64, the others decided pair by pair."""
    calls = spy(monkeypatch, "_float64_top_k")
    Z, order = clustered(6, 30, 8)
    Z = Z[order]
    Z[[3, 50, 101]] = 0.0
    assert np.array_equal(neighbour_lists(Z, 5), lists_ref(Z, 5))
    assert calls == [3]


@pytest.mark.parametrize("size", [8, 60])
def test_mean_reciprocal_rank_decides_below_float32_resolution(size, monkeypatch):
    calls = spy(monkeypatch, "_float64_counts")
    X, order = clustered(1, 240 // size, size)
    Y = X + 1e-5 * np.random.default_rng(2).normal(size=X.shape)
    X, Y = X[order], Y[order]
    ranks = ranks_ref(X, Y)
    U, V = unit(X).astype(np.float32), unit(Y).astype(np.float32)
    S32 = U @ V.T
    assert not np.array_equal(np.count_nonzero(S32 >= np.diag(S32)[:, None], axis=1), ranks)
    assert mean_reciprocal_rank(X, Y) == pytest.approx(np.mean(1.0 / ranks), rel=1e-12)
    assert (sum(calls) > 0) == (size == 60)


def test_searches_with_ties_everywhere_and_zero_rows(monkeypatch):
    rng = np.random.default_rng(3)
    Z = np.repeat(rng.integers(-2, 3, size=(6, 3)).astype(float), 20, axis=0)[
        rng.permutation(120)]
    Z[::9] = 0.0  # cosine 0 with every row
    for k in (1, 7, 30):
        assert np.array_equal(neighbour_lists(Z, k), lists_ref(Z, k))
    same = np.ones((50, 4))  # every candidate tied: the block is searched in float64
    calls = spy(monkeypatch, "_float64_top_k")
    assert np.array_equal(neighbour_lists(same, 3), lists_ref(same, 3))
    assert calls == [50]
    assert mean_reciprocal_rank(same, same) == pytest.approx(1 / 50)


def test_shared_lists_measure_as_the_function():
    Z, order = clustered(4, 30, 8)
    X, Y = Z[order], Z[order] + 1e-5 * np.random.default_rng(5).normal(size=Z.shape)
    per_space = SharedNeighbours("knn_jaccard", k=6)
    assert per_space.compare(per_space.prepare(X), per_space.prepare(Y)) == pytest.approx(
        knn_jaccard(X, Y, k=6), abs=1e-15)
    NX, NY = lists_ref(X, 6), lists_ref(Y, 6)
    shared = np.array([np.intersect1d(a, b).size for a, b in zip(NX, NY, strict=True)])
    assert knn_jaccard(X, Y, k=6) == pytest.approx(np.mean(shared / (12 - shared)))


@PROPERTY
@given(st.integers(1, 400), st.integers(0, 2**32 - 1), st.sampled_from([0, -60, -140]))
def test_dot_error_bounds_float32_products(width, seed, exponent):
    """Unit rows rounded to float32 and multiplied in float32 stay within the bound, tiny
    entries (below float32's normal range after scaling) included."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(6, width)) * np.ldexp(1.0, rng.integers(exponent, 1, size=width))
    U = unit(X)
    exact = U @ U.T
    rounded = U.astype(np.float32) @ U.astype(np.float32).T
    assert np.all(np.abs(rounded - exact) <= dot_error(width))
    assert dot_error(2**24) == np.inf


@PROPERTY
@given(st.integers(1, 300), st.integers(0, 2**32 - 1), st.sampled_from([0, -600, 600]))
def test_unit_rows_exact_row_by_row(width, seed, exponent):
    """A row's float64 unit row is the same bits whichever rows are computed with it (the
    searches compute the close calls' rows alone), at every magnitude."""
    rng = np.random.default_rng(seed)
    Z = np.ldexp(rng.normal(size=(40, width)), rng.integers(exponent - 50, exponent + 50,
                                                          size=(40, 1)))
    Z[5] = 0.0
    rows = _screened.UnitRows(Z)
    whole = rows.exact()
    index = rng.integers(0, 40, size=25)
    assert np.array_equal(rows.exact(index), whole[index])
    assert np.array_equal(rows.exact(slice(7, 31)), whole[7:31])
    assert np.array_equal(rows.rows32, whole.astype(np.float32))
    assert np.allclose(np.linalg.norm(np.delete(whole, 5, axis=0), axis=1), 1.0, rtol=1e-15)
