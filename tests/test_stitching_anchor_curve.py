"""The anchor curve (compare_invariances with a list of anchor counts), anchors given per
space, and the checks of both; each against the comparison or the evaluator run on its own."""

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
)
from skinvariance._compat import InvalidParameterError


@pytest.fixture(scope="module")
def problem():
    X, y = make_classification(n_samples=200, n_features=8, n_informative=6, n_classes=3,
                               n_clusters_per_class=1, random_state=0)
    spaces = {"a": X, "b": 2.0 * X @ ortho_group.rvs(8, random_state=1),
              "c": X @ ortho_group.rvs(8, random_state=2) + 1.0}
    return spaces, y


INVARIANCES = {"cosine": RelativeProjection("cosine"), "affine": AffineAlignment()}


def test_the_curve_is_the_comparison_at_each_count(problem):
    spaces, y = problem
    curve = compare_invariances(spaces, y, INVARIANCES, metrics=["cka"], anchors=[10, 40],
                                random_state=0)
    assert list(curve.columns[:2]) == ["anchors", "invariance"]
    assert curve["anchors"].tolist() == [10, 10, 40, 40]
    for count in (10, 40):
        alone = compare_invariances(spaces, y, INVARIANCES, metrics=["cka"], anchors=count,
                                    random_state=0)
        at = curve[curve["anchors"] == count].drop(columns="anchors").reset_index(drop=True)
        pd.testing.assert_frame_equal(at, alone, check_exact=True)
    assert curve.groupby("anchors")["best"].sum().tolist() == [1, 1]
    assert curve.attrs["best"] == alone.attrs["best"]  # the last count's best
    assert curve.attrs["pairing"] == "given"


@pytest.mark.parametrize("anchors", [0, [], [10, 0], [10, True], "10", [10.5], -3])
def test_bad_anchor_counts(problem, anchors):
    spaces, y = problem
    with pytest.raises(InvalidParameterError,
                       match=r"The 'anchors' parameter of compare_invariances must be an int "
                             r"in the range \[1, inf\) or a non-empty list"):
        compare_invariances(spaces, y, INVARIANCES, anchors=anchors, random_state=0)


def test_anchors_given_per_space_are_the_rows_each_space_uses(problem):
    spaces, y = problem
    rows = np.arange(0, 60, 3)
    by_index = StitchingEvaluator(AffineAlignment(), LogisticRegression(), anchors=rows,
                                  random_state=0).fit(spaces, y)
    by_space = StitchingEvaluator(AffineAlignment(), LogisticRegression(),
                                  anchors=dict.fromkeys(spaces, rows),
                                  random_state=0).fit(spaces, y)
    pd.testing.assert_frame_equal(by_space.stitching_matrix(spaces, y),
                                  by_index.stitching_matrix(spaces, y), check_exact=True)
    # each space's own rows: a space whose rows come in another order, with its anchors
    order = np.random.default_rng(0).permutation(len(y))
    where = np.argsort(order)  # row r of the original is row where[r] of the shuffled copy
    shuffled = {**spaces, "c": spaces["c"][order]}
    own = StitchingEvaluator(AffineAlignment(), LogisticRegression(),
                             anchors={"a": rows, "b": rows, "c": where[rows]},
                             random_state=0)
    own.fit(shuffled, y)
    np.testing.assert_array_equal(own.anchors_["c"], spaces["c"][rows])
    np.testing.assert_array_equal(own.anchor_rows_["c"], where[rows])
    np.testing.assert_array_equal(own.alignments_["a", "c"].transform(spaces["a"]),
                                  by_index.alignments_["a", "c"].transform(spaces["a"]))


@pytest.mark.parametrize("anchors, match", [
    ({"a": [0, 1], "b": [0, 1]}, "must have one entry per space"),
    ({"a": [0, 1], "b": [0, 1], "c": [0, 1, 2]}, "the same number of anchor rows"),
    ({"a": [0, 1], "b": [0, 1], "c": [0, 999]}, "out of range"),
])
def test_bad_anchor_mappings(problem, anchors, match):
    spaces, y = problem
    with pytest.raises(ValueError, match=match):
        StitchingEvaluator(AffineAlignment(), LogisticRegression(),
                           anchors=anchors).fit(spaces, y)


def test_no_known_pair_needs_matching(problem):
    spaces, y = problem
    with pytest.raises(ValueError, match="must be at least 1 with pairing='given'"):
        StitchingEvaluator(AffineAlignment(), LogisticRegression(), anchors=0).fit(spaces, y)
