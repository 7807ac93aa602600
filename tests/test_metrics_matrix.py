"""similarity_matrix over every pair of spaces, the registry of measures, and the conventions
every measure shares."""

import numpy as np
import pandas as pd
import pytest
from joblib import parallel_config
from scipy.stats import ortho_group

from skinvariance import metrics, stack_spaces
from skinvariance.metrics import (
    available_measures,
    get_measure,
    mean_cosine_similarity,
    mean_reciprocal_rank,
    measure_table,
    pearson_similarity,
    procrustes_similarity,
    similarity_matrix,
)

# -- conventions every measure shares ----------------------------------------------------------


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


# -- the registry ------------------------------------------------------------------------------


def test_every_name_and_short_name_finds_its_measure():
    names = available_measures()
    assert sorted(measure_table().index) == names
    aliases = set()
    for name in names:
        measure = get_measure(name)
        assert measure.name == name
        assert measure.function is getattr(metrics, name)  # the public function of that name
        for alias in measure.aliases:
            assert get_measure(alias) is measure
        aliases.update(measure.aliases)
    assert available_measures(aliases=True) == sorted(set(names) | aliases)


def test_the_registry_is_true_to_the_measures(rng):
    """``symmetric`` and ``same_width`` say what the functions do."""
    X = rng.normal(size=(30, 4))
    Y = X @ rng.normal(size=(4, 4)) + rng.normal(size=(30, 4))
    wide = rng.normal(size=(30, 6))
    for name in available_measures():
        measure = get_measure(name)
        swapped = measure.function(Y, X) == pytest.approx(measure.function(X, Y), rel=1e-9)
        assert swapped == measure.symmetric, name
        if measure.same_width:
            with pytest.raises(ValueError, match="same number of features"):
                measure.function(X, wide)
        else:
            assert np.isfinite(measure.function(X, wide)), name
        row = measure_table().loc[name]
        assert (row["symmetric"], row["same width"]) == (measure.symmetric, measure.same_width)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({}, r"^The 'metric' parameter must be a str among \[.*'mrr'.*\]. Got 'spearman'"),
        ({"parameter": "metrics", "owner": "compare_invariances"},
         r"^The 'metrics' parameter of compare_invariances must be a str among"),
    ],
)
def test_an_unknown_name_lists_the_known_ones(kwargs, match):
    with pytest.raises(ValueError, match=match):
        get_measure("spearman", **kwargs)


# -- similarity_matrix -------------------------------------------------------------------------


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


@pytest.mark.parametrize(
    "metric", ["cka", "linear_cka", "knn_jaccard", "mutual_knn", "cknna", "mean_reciprocal_rank"])
def test_similarity_matrix_searches_each_space_once_for_a_measure_split_per_space(
        metric, monkeypatch, rng):
    latent = rng.normal(size=(40, 3))
    spaces = {name: latent @ rng.normal(size=(3, 5)) + 0.3 * rng.normal(size=(40, 5))
              for name in "abcd"}
    per_space = get_measure(metric).per_space
    prepared = []
    original = type(per_space).prepare

    def counting(self, Z, queries=None):
        prepared.append(Z.shape)
        return original(self, Z) if queries is None else original(self, Z, queries)

    monkeypatch.setattr(type(per_space), "prepare", counting)
    out = similarity_matrix(spaces, metric)
    assert len(prepared) == 4  # one search per space, not two per pair
    func = getattr(metrics, metric)
    for a in spaces:
        for b in spaces:
            assert out.loc[a, b] == pytest.approx(func(spaces[a], spaces[b]), rel=1e-12,
                                                  abs=1e-15)
    prepared.clear()
    if metric in ("knn_jaccard", "mutual_knn", "cknna"):  # another neighbour count: searched
        with_k = similarity_matrix(spaces, metric, metric_params={"k": 5})
        assert len(prepared) == 4
        assert with_k.loc["a", "b"] == pytest.approx(func(spaces["a"], spaces["b"], k=5),
                                                     rel=1e-12, abs=1e-15)
    elif metric == "cka":  # other parameters than the split's: pair by pair
        debiased = similarity_matrix(spaces, metric, metric_params={"debiased": True})
        assert prepared == []
        assert debiased.loc["a", "b"] == pytest.approx(
            func(spaces["a"], spaces["b"], debiased=True), rel=1e-12)


def test_similarity_matrix_names_the_space_a_search_failed_on():
    spaces = _spaces()
    spaces["flat"] = np.ones_like(spaces["a"])
    with pytest.raises(ValueError, match=r"'cknna' failed on the space 'flat': .*zero on every"):
        similarity_matrix(spaces, "cknna")
    wide = {"a": spaces["a"], "wide": np.ones((len(spaces["a"]), 6))}
    # the pairs run at once: either ordered pair may be the one reported
    with pytest.raises(ValueError, match=r"'mrr' failed on the spaces '(a|wide)' \(X\) and "
                       r"'(wide|a)' \(Y\): .*same number of features"):
        similarity_matrix(wide, "mrr")


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
