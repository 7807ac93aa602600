"""pairing="match": the evaluator and the comparison with few or no known pairs. Oracles: the
true pairing of row-aligned spaces (known to the test, hidden from the library by shuffled
pools), and the given-anchor evaluator fitted on the same rows."""

import numpy as np
import pandas as pd
import pytest
from scipy.stats import ortho_group
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression

from skinvariance import (
    AffineAlignment,
    RelativeProjection,
    StitchingEvaluator,
    compare_invariances,
    matching,
)
from skinvariance.stitching import _anchor_rows


@pytest.fixture(scope="module")
def problem():
    X, y = make_classification(n_samples=400, n_features=10, n_informative=8, n_classes=4,
                               n_clusters_per_class=1, class_sep=2.0, random_state=0)
    spaces = {"a": X, "b": 2.0 * X @ ortho_group.rvs(10, random_state=1),
              "c": X @ ortho_group.rvs(10, random_state=2)}
    return spaces, y


def test_matched_anchors_are_mostly_the_true_pairs(problem):
    spaces, y = problem
    ev = StitchingEvaluator(AffineAlignment(), LogisticRegression(max_iter=1000), anchors=10,
                            pairing="match", matched_anchors=100, random_state=0)
    ev.fit(spaces, y)
    rows = ev.anchor_rows_
    assert {name: r.size for name, r in rows.items()} == dict.fromkeys(spaces, 100)
    # the known pairs first, the same rows in every space
    np.testing.assert_array_equal(rows["b"][:10], rows["a"][:10])
    np.testing.assert_array_equal(ev.anchor_indices_, rows["a"])
    for name in ("b", "c"):
        assert np.mean(rows[name] == rows["a"]) >= 0.9  # true pairs (rotated copies)
    # fitted on those rows as a given-anchor evaluator would be
    given = StitchingEvaluator(AffineAlignment(), LogisticRegression(max_iter=1000), anchors=rows,
                               random_state=0).fit(spaces, y)
    pd.testing.assert_frame_equal(ev.stitching_matrix(spaces, y),
                                  given.stitching_matrix(spaces, y), check_exact=True)


def test_the_row_order_of_the_pools_is_never_read(problem, monkeypatch):
    """Every space but the first reaches the matching in an order of its own: only the known
    rows are given as a link."""
    spaces, y = problem
    seen = []
    original = matching.match_spaces

    def recording(X, Y, pairs=None, **kwargs):
        seen.append((X, Y, pairs))
        return original(X, Y, pairs, **kwargs)

    monkeypatch.setattr(matching, "match_spaces", recording)
    known = np.arange(0, 50, 5)
    _anchor_rows.matched_anchor_rows(spaces, known, 40, 0)
    assert len(seen) == 2
    for (X, Y, pairs), name in zip(seen, ("b", "c"), strict=True):
        np.testing.assert_array_equal(X, spaces["a"])
        assert sorted(map(tuple, Y.round(12))) == sorted(map(tuple, spaces[name].round(12)))
        aligned = np.all(np.isclose(Y, spaces[name]), axis=1)
        assert aligned.mean() < 0.05  # shuffled: almost no row where it was
        np.testing.assert_array_equal(pairs[:, 0], known)
        np.testing.assert_allclose(Y[pairs[:, 1]], spaces[name][known])


def test_no_known_pair(problem):
    spaces, y = problem
    ev = StitchingEvaluator(RelativeProjection("cosine"), LogisticRegression(max_iter=1000),
                            anchors=0, pairing="match", matched_anchors=50, random_state=0)
    ev.fit(spaces, y)
    assert all(r.size == ev.anchor_indices_.size for r in ev.anchor_rows_.values())
    assert 2 <= ev.anchor_indices_.size <= 50
    assert np.isfinite(ev.score(spaces, y))


def test_the_comparison_matches_once_per_split_and_draws_the_curve(problem, monkeypatch):
    spaces, y = problem
    calls = []
    original = _anchor_rows.matched_anchor_rows

    def counting(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(_anchor_rows, "matched_anchor_rows", counting)
    from skinvariance.stitching import _compare

    monkeypatch.setattr(_compare, "matched_anchor_rows", counting)
    table = compare_invariances(
        spaces, y, {"cosine": RelativeProjection("cosine"), "affine": AffineAlignment()},
        metrics=["cka"], anchors=[5, 20], pairing="match", matched_anchors=60, random_state=0)
    assert len(calls) == 2  # one matching per anchor count and split, for every row
    assert table["anchors"].tolist() == [5, 5, 20, 20]
    assert table.attrs["pairing"] == "match"
    assert table["stitching_mean"].between(0, 1).all()


@pytest.mark.parametrize("params, error, match", [
    ({"pairing": "matched"}, ValueError, "The 'pairing' parameter of StitchingEvaluator"),
    ({"pairing": "match", "matched_anchors": 1}, ValueError,
     "The 'matched_anchors' parameter"),
    ({"pairing": "match", "anchors": -1}, ValueError, "The 'anchors' parameter"),
    ({"pairing": "match", "anchors": 1000}, ValueError, "asks for 1000 anchors"),
])
def test_bad_pairing_parameters(problem, params, error, match):
    spaces, y = problem
    with pytest.raises(error, match=match):
        StitchingEvaluator(AffineAlignment(), LogisticRegression(max_iter=1000),
                           **params).fit(spaces, y)
