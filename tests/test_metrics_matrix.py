"""similarity_matrix over every pair of spaces, the registry of measures, and the conventions
every measure shares."""

import numpy as np
import pandas as pd
import pytest
from joblib import parallel_config
from scipy.stats import ortho_group

from skinvariance import metrics, stack_spaces
from skinvariance.metrics import (
    mean_cosine_similarity,
    mean_reciprocal_rank,
    pearson_similarity,
    procrustes_similarity,
    similarity_matrix,
)


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
