"""select_anchors: determinism, distinctness and each strategy against its definition."""

import numpy as np
import pytest
from sklearn.datasets import make_blobs

from skinvariance import select_anchors

STRATEGIES = ["random", "stratified", "kmeans", "fps"]


@pytest.fixture
def blobs():
    X, y = make_blobs(n_samples=120, centers=4, n_features=5, random_state=0)
    return X, y


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_distinct_indices_deterministic_for_a_seed(strategy, blobs):
    X, y = blobs
    first = select_anchors(X, 17, strategy=strategy, y=y, random_state=3)
    again = select_anchors(X, 17, strategy=strategy, y=y, random_state=3)
    assert first.dtype == np.int64 and first.shape == (17,)
    assert len(np.unique(first)) == 17
    assert np.all((first >= 0) & (first < len(X)))
    np.testing.assert_array_equal(first, again)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_every_row_can_be_an_anchor(strategy, blobs):
    X, y = blobs
    assert sorted(select_anchors(X, len(X), strategy=strategy, y=y, random_state=0)) == list(
        range(len(X))
    )


def test_random_depends_on_the_seed(blobs):
    X, _ = blobs
    assert not np.array_equal(select_anchors(X, 10, random_state=0),
                              select_anchors(X, 10, random_state=1))


def test_stratified_is_round_robin_over_classes(rng):
    y = np.repeat([2, 0, 1], [50, 7, 30])
    X = np.zeros((len(y), 1))
    idx = select_anchors(X, 20, strategy="stratified", y=y, random_state=0)
    # Round robin in sorted class order: 0, 1, 2, 0, 1, 2, ... while every class has rows.
    np.testing.assert_array_equal(y[idx[:6]], [0, 1, 2, 0, 1, 2])
    counts = np.bincount(y[idx], minlength=3)
    assert counts[0] == 7  # the small class is exhausted...
    assert abs(counts[1] - counts[2]) <= 1  # ...and the others share the rest evenly


def test_kmeans_picks_one_sample_per_well_separated_cluster():
    X, y = make_blobs(n_samples=200, centers=5, cluster_std=0.1, center_box=(-50, 50),
                      random_state=1)
    idx = select_anchors(X, 5, strategy="kmeans", random_state=0)
    assert sorted(y[idx]) == [0, 1, 2, 3, 4]
    # Each anchor is the sample nearest to its cluster's mean (k-means' centroid here).
    for i in idx:
        members = X[y == y[i]]
        center = members.mean(axis=0)
        nearest = np.argmin(((X - center) ** 2).sum(axis=1))
        assert nearest == i


def _brute_force_fps(X, first, n):
    chosen = [first]
    while len(chosen) < n:
        d = np.min(((X[:, None, :] - X[chosen][None, :, :]) ** 2).sum(-1), axis=1)
        d[chosen] = -1
        chosen.append(int(np.argmax(d)))
    return chosen


def test_fps_matches_brute_force(blobs):
    X, _ = blobs
    idx = select_anchors(X, 12, strategy="fps", random_state=5)
    np.testing.assert_array_equal(idx, _brute_force_fps(X, idx[0], 12))


@pytest.mark.parametrize("strategy", ["kmeans", "fps"])
@pytest.mark.parametrize("scale", [1e-300, 1e300, 2.0**-1070])
def test_value_strategies_at_extreme_magnitudes(strategy, scale, blobs):
    """At 1e300 the squared norms overflowed and fps/kmeans returned repeated rows; the
    selection is now that of scale 1 (the power-of-two scale, 2**-1070, is exactly so)."""
    X, _ = blobs
    X = X / np.abs(X).max()
    idx = select_anchors(X * scale, 17, strategy=strategy, random_state=3)
    assert len(np.unique(idx)) == 17 and len(np.unique((X * scale)[idx], axis=0)) == 17
    if scale == 2.0**-1070:  # subnormal: only the largest values keep every bit
        return
    np.testing.assert_array_equal(idx, select_anchors(X, 17, strategy=strategy, random_state=3))


# With more anchors than distinct vectors, k-means warns that it found fewer clusters: true.
@pytest.mark.filterwarnings("ignore:Number of distinct clusters")
@pytest.mark.parametrize("strategy", ["kmeans", "fps"])
def test_value_strategies_choose_distinct_rows_among_duplicates(strategy, rng):
    rows = rng.normal(size=(8, 3))
    X = rows[rng.integers(8, size=200)]  # 200 rows, 8 distinct vectors
    idx = select_anchors(X, 8, strategy=strategy, random_state=0)
    assert len(np.unique(X[idx], axis=0)) == 8
    # Each is the first copy of its vector.
    assert all(np.flatnonzero((X == X[i]).all(axis=1))[0] == i for i in idx)
    # More anchors than distinct vectors: still distinct indices.
    assert len(np.unique(select_anchors(X, 12, strategy=strategy, random_state=0))) == 12


def test_fps_separates_rows_differing_far_below_the_largest_coordinate():
    """One huge column: rows that differ only in the small ones are still distinct."""
    X = np.array([[1e300, 0.0], [1e300, 1.0], [1e300, 2.0], [1e300, 3.0]])
    idx = select_anchors(X, 4, strategy="fps", random_state=0)
    assert sorted(idx.tolist()) == [0, 1, 2, 3]
    # Farthest first: from row 1 (seeded), row 3 is the farthest, then row 0 (ties: lowest).
    np.testing.assert_array_equal(idx, _brute_force_fps(X / 1e300 * [1, 1e300], idx[0], 4))


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"n_anchors": 500}, ValueError, "n_anchors=500 is larger than the number of rows"),
        ({"n_anchors": 0}, ValueError, "The 'n_anchors' parameter of select_anchors"),
        ({"n_anchors": True}, ValueError,
         r"The 'n_anchors' parameter of select_anchors must be an int in the range \[1, inf\)\. "
         "Got True instead"),
        ({"n_anchors": np.True_}, ValueError, "The 'n_anchors' parameter of select_anchors"),
        ({"n_anchors": 2.0}, ValueError, "The 'n_anchors' parameter of select_anchors"),
        ({"n_anchors": "3"}, ValueError, "The 'n_anchors' parameter of select_anchors"),
        ({"n_anchors": None}, ValueError, "The 'n_anchors' parameter of select_anchors"),
        ({"n_anchors": 5, "random_state": "seed"}, ValueError, "The 'random_state' parameter"),
        ({"n_anchors": 5, "y": 3}, ValueError, "The 'y' parameter of select_anchors"),
        ({"n_anchors": 5, "strategy": None}, ValueError, "The 'strategy' parameter"),
        ({"n_anchors": 5, "strategy": "best"}, ValueError, "The 'strategy' parameter"),
        ({"n_anchors": 5, "strategy": "stratified"}, ValueError, "needs the class labels y"),
        ({"n_anchors": 5, "strategy": "stratified", "y": [0, 1]}, ValueError,
         "y has 2 labels, but X has 120 rows"),
    ],
)
def test_bad_input(kwargs, error, match, blobs):
    X, _ = blobs
    with pytest.raises(error, match=match):
        select_anchors(X, **kwargs)


def test_fps_rejects_non_finite_rows(blobs):
    X, _ = blobs
    X = X.copy()
    X[3, 0] = np.nan
    with pytest.raises(ValueError, match="Input X contains NaN"):
        select_anchors(X, 5, strategy="fps")
