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


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"n_anchors": 500}, ValueError, "n_anchors=500 is larger than the number of rows"),
        ({"n_anchors": 0}, ValueError, "The 'n_anchors' parameter of select_anchors"),
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
