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
        "mrr, jaccard, mknn: the mean over 20 random test rows of 60 (each searching all of "
        "them; max_samples=20)")
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
    assert ("Measures sampled: mrr: the mean over 20 random test rows of 60 (each searching "
            "all of them; max_samples=20).") in out.splitlines()
    for exact in ("all", "60"):
        status, out, err = run_cli([*argv, "--max-samples", exact], capsys)
        assert status == 0 and "Measures sampled" not in out
    with pytest.raises(SystemExit) as exit_:
        run_cli([*argv, "--max-samples", "0"], capsys)
    assert exit_.value.code == 2
    assert "--max-samples: expected a positive integer, auto or all, got '0'" in \
        capsys.readouterr().err
