"""compare_invariances' ``max_samples``: the neighbour and retrieval measures averaged over a
seeded sample of query rows, each searching all the test rows."""

import numpy as np
import pytest
from _helpers import run_cli
from scipy.stats import rankdata
from sklearn.metrics.pairwise import cosine_similarity

from skinvariance import RelativeProjection, compare_invariances
from skinvariance.stitching._measures_only import (
    resolve_metrics,
    sample_queries,
    similarity_matrices,
)

METRICS = ["cka", "cosine", "mrr", "jaccard", "mknn"]
ROWS = {"absolute": None, "cosine": RelativeProjection("cosine")}


@pytest.fixture(scope="module")
def spaces():
    rng = np.random.default_rng(0)
    latent = rng.normal(size=(240, 5))
    return {name: latent @ rng.normal(size=(5, 6)) + 0.5 * rng.normal(size=(240, 6))
            for name in "abc"}


def _compare(spaces, **options):
    return compare_invariances(spaces, None, ROWS, metrics=METRICS, anchors=30,
                               random_state=0, **options)


def test_as_many_samples_as_test_rows_is_exact(spaces):
    exact = _compare(spaces, max_samples=None)
    assert exact.attrs["sampled"] is None
    for max_samples in (60, 1000, "auto"):  # 60 test rows (a quarter of 240)
        table = _compare(spaces, max_samples=max_samples)
        assert table.equals(exact)
        assert table.attrs["sampled"] is None


def test_sampled_is_reproducible_and_says_so(spaces):
    exact = _compare(spaces, max_samples=None)
    sampled = _compare(spaces, max_samples=20)
    assert sampled.equals(_compare(spaces, max_samples=20))
    assert sampled.attrs["sampled"] == (
        "mrr, jaccard, mknn: over 20 random test rows of 60 (each searching all of them; "
        "max_samples=20)")
    # the measures linear in the rows stay exact
    for column in ("cka_mean", "cka_std", "cosine_mean", "cosine_std"):
        np.testing.assert_array_equal(sampled[column], exact[column])
    other = compare_invariances(spaces, None, ROWS, metrics=METRICS, anchors=30,
                                random_state=1, max_samples=20)
    assert other.attrs["sampled"] == sampled.attrs["sampled"]
    # calibrated values are computed on every row
    calibrated = _compare(spaces, max_samples=20, calibrate="zscore", n_permutations=9)
    assert calibrated.attrs["sampled"] is None


def test_sampled_measures_are_the_mean_over_the_query_rows(spaces):
    queries = sample_queries(60, 25, 0)
    assert queries.size == 25 and np.all(np.diff(queries) > 0)
    np.testing.assert_array_equal(queries, sample_queries(60, 25, 0))
    assert sample_queries(60, 60, 0) is None and sample_queries(60, None, 0) is None
    test = {name: X[:60] for name, X in spaces.items()}
    encodings = {name: dict.fromkeys(test, X) for name, X in test.items()}
    found = similarity_matrices("absolute", encodings, test, resolve_metrics(["mrr"]),
                                "absolute", queries=queries)["mrr"]
    for a, i in enumerate(test):
        for b, j in enumerate(test):
            if a != b:
                S = cosine_similarity(test[i], test[j])
                ranks = [rankdata(-S[q], method="max")[q] for q in queries]
                assert found[a, b] == pytest.approx(np.mean(1.0 / np.array(ranks)),
                                                    abs=1e-14)


def test_measures_of_every_pair_of_rows_are_computed_on_the_sampled_rows(spaces):
    """rsa and rbf_cka (no per-space split): the measure of the sampled test rows alone."""
    from skinvariance.metrics import rbf_cka, rsa
    from skinvariance.stitching._rows import draw_seed

    train, test = np.arange(180), np.arange(180, 240)
    options = dict(metrics=["rsa", "rbf_cka", "cka"], cv=[(train, test)], random_state=0)
    sampled = compare_invariances(spaces, None, {"absolute": None}, max_samples=20, **options)
    exact = compare_invariances(spaces, None, {"absolute": None}, max_samples=None, **options)
    queries = sample_queries(60, 20, draw_seed(0))
    for name, function in (("rsa", rsa), ("rbf_cka", rbf_cka)):
        pairs = [function(spaces[a][test][queries], spaces[b][test][queries])
                 for a in spaces for b in spaces if a < b]
        assert sampled.loc[0, f"{name}_mean"] == pytest.approx(np.mean(pairs), rel=1e-12)
        every = [function(spaces[a][test], spaces[b][test])
                 for a in spaces for b in spaces if a < b]
        assert exact.loc[0, f"{name}_mean"] == pytest.approx(np.mean(every), rel=1e-12)
    assert sampled.loc[0, "cka_mean"] == exact.loc[0, "cka_mean"]
    assert sampled.attrs["sampled"] == (
        "rsa, rbf_cka: on 20 random test rows of 60 (the pairs among them; max_samples=20)")


def test_a_failed_search_of_one_space_names_the_measure_the_invariance_and_the_space(spaces):
    flat = {**spaces, "flat": np.ones_like(spaces["a"])}
    with pytest.raises(ValueError, match=r"The measure 'cknna' failed under the invariance "
                                         r"'absolute' on the space 'flat': .*zero on every"):
        compare_invariances(flat, None, {"absolute": None}, metrics=["cknna"], random_state=0)


def test_metric_params_reach_the_measures_their_searches_and_their_nulls(spaces):
    from skinvariance.metrics import cknna, knn_jaccard, permutation_test
    from skinvariance.stitching._rows import draw_seed

    train, test = np.arange(180), np.arange(180, 240)
    params = {"jaccard": {"k": 5}, "cknna": {"k": 4}}
    options = dict(metrics=["jaccard", "cknna"], metric_params=params, cv=[(train, test)],
                   random_state=0)
    table = compare_invariances(spaces, None, {"absolute": None}, max_samples=None, **options)
    pairs = [(a, b) for a in spaces for b in spaces if a < b]
    for name, function in (("jaccard", knn_jaccard), ("cknna", cknna)):
        values = [function(spaces[a][test], spaces[b][test], **params[name]) for a, b in pairs]
        assert table.loc[0, f"{name}_mean"] == pytest.approx(np.mean(values), rel=1e-12)
    # a neighbour count keeps the per-space search, so the measures still sample
    sampled = compare_invariances(spaces, None, {"absolute": None}, max_samples=20, **options)
    assert sampled.attrs["sampled"].startswith("jaccard, cknna: over 20 random test rows")
    # and the permutation tests use the same parameters
    calibrated = compare_invariances(spaces, None, {"absolute": None}, calibrate="zscore",
                                     n_permutations=9, **options)
    zscores = [permutation_test(spaces[a][test], spaces[b][test], "knn_jaccard",
                                n_permutations=9, random_state=draw_seed(0),
                                metric_params={"k": 5}).zscore for a, b in pairs]
    assert calibrated.loc[0, "jaccard_mean"] == pytest.approx(np.mean(zscores), rel=1e-12)


@pytest.mark.parametrize("bad", [0, -3, 2.5, True, "all", "1000"])
def test_bad_max_samples_is_named(spaces, bad):
    with pytest.raises(ValueError, match=r"The 'max_samples' parameter of "
                                         r"compare_invariances must be an int .* Got "):
        _compare(spaces, max_samples=bad)


def test_cli_max_samples(spaces, tmp_path, capsys):
    paths = []
    for name, X in spaces.items():
        np.save(tmp_path / f"{name}.npy", X)
        paths.append(str(tmp_path / f"{name}.npy"))
    argv = ["compare", *paths, "--invariances", "absolute,relative_cosine", "--metrics",
            "cka,mrr", "--anchors", "30"]
    status, out, err = run_cli([*argv, "--max-samples", "20"], capsys)
    assert status == 0
    assert ("Measures sampled: mrr: over 20 random test rows of 60 (each searching all of "
            "them; max_samples=20).") in out.splitlines()
    for exact in ("all", "60"):
        status, out, err = run_cli([*argv, "--max-samples", exact], capsys)
        assert status == 0 and "Measures sampled" not in out
    # --neighbors keeps the neighbour measures searched once per space, hence sampled
    status, out, err = run_cli([*argv[:-4], "--metrics", "jaccard,mrr", "--anchors", "30",
                                "--neighbors", "5", "--max-samples", "20"], capsys)
    assert status == 0
    assert ("Measures sampled: jaccard, mrr: over 20 random test rows of 60 (each searching "
            "all of them; max_samples=20).") in out.splitlines()
    with pytest.raises(SystemExit) as exit_:
        run_cli([*argv, "--max-samples", "0"], capsys)
    assert exit_.value.code == 2
    assert "--max-samples: expected a positive integer, auto or all, got '0'" in \
        capsys.readouterr().err
