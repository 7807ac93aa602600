"""permutation_test and similarity_matrix(calibrate=...): statistic, null, p-value, z-score."""

import importlib

import numpy as np
import pytest
from joblib import parallel_config
from scipy.stats import kstest
from sklearn import config_context

from skinvariance.metrics import (
    available_measures,
    get_measure,
    permutation_test,
    similarity_matrix,
)

PARAMS = {"knn_jaccard": {"k": 4}, "mutual_knn": {"k": 4}, "cknna": {"k": 4}}
cka_null = importlib.import_module("skinvariance.metrics._cka_null")


def pair(seed, n=30, d=4, noise=1.0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    return X, X @ rng.normal(size=(d, d)) + noise * rng.normal(size=(n, d))


def rerun(name, params):
    """The measure as a plain callable: permutation_test re-runs it on every permutation."""
    function = get_measure(name).function

    def measure(X, Y):
        return function(X, Y, **params)

    return measure


@pytest.mark.parametrize("name", available_measures())
def test_statistic_is_the_measure_and_the_null_is_the_measure_of_each_shuffle(name):
    X, Y = pair(0)
    params = PARAMS.get(name, {})
    result = permutation_test(X, Y, name, n_permutations=40, random_state=3,
                              metric_params=params)
    assert result.statistic == get_measure(name).function(X, Y, **params)
    # The same seed draws the same shuffles: the registry's null (which reuses what a shuffle
    # leaves unchanged) must give what re-running the measure gives.
    plain = permutation_test(X, Y, rerun(name, params), n_permutations=40, random_state=3)
    np.testing.assert_allclose(result.null_distribution, plain.null_distribution,
                               rtol=0, atol=1e-6)
    assert result.pvalue == plain.pvalue
    assert result.null_distribution.shape == (40,)


@pytest.mark.parametrize("form", ["gram", "feature"])
@pytest.mark.parametrize("debiased", [False, True])
def test_both_forms_of_the_cka_null(form, debiased, monkeypatch):
    X, Y = pair(1, n=40, d=12)
    monkeypatch.setattr(cka_null, "GATHER_COST", 0 if form == "gram" else 10**9)
    params = {"debiased": debiased}
    fast = permutation_test(X, Y, "linear_cka", n_permutations=30, random_state=0,
                            metric_params=params)
    plain = permutation_test(X, Y, rerun("linear_cka", params), n_permutations=30,
                             random_state=0)
    np.testing.assert_allclose(fast.null_distribution, plain.null_distribution, atol=1e-7)


def test_nulls_beyond_the_working_memory(rng):
    X, Y = pair(2, n=120, d=30)
    with config_context(working_memory=0.1):  # 8 n^2 bytes = 0.11 MiB: no Gram form
        assert cka_null.cka_null(X, Y, "rbf") is None  # re-runs the measure instead
        for name in ("linear_cka", "rbf_cka"):
            fast = permutation_test(X, Y, name, n_permutations=10, random_state=0)
            plain = permutation_test(X, Y, rerun(name, {}), n_permutations=10, random_state=0)
            np.testing.assert_allclose(fast.null_distribution, plain.null_distribution,
                                       atol=1e-7)
        with pytest.raises(ValueError, match=r"null of rsa .* n_samples=120 it needs about 0.1"):
            permutation_test(X, Y, "rsa", n_permutations=10, metric_params={"method": "pearson"})


def test_null_is_deterministic_for_a_seed():
    X, Y = pair(3)
    first = permutation_test(X, Y, "rsa", n_permutations=50, random_state=7)
    again = permutation_test(X, Y, "rsa", n_permutations=50, random_state=7)
    other = permutation_test(X, Y, "rsa", n_permutations=50, random_state=8)
    np.testing.assert_array_equal(first.null_distribution, again.null_distribution)
    assert not np.array_equal(first.null_distribution, other.null_distribution)
    for make in (np.random.RandomState, np.random.default_rng):
        a = permutation_test(X, Y, n_permutations=20, random_state=make(7))
        b = permutation_test(X, Y, n_permutations=20, random_state=make(7))
        np.testing.assert_array_equal(a.null_distribution, b.null_distribution)


def test_zscore_and_pvalue_are_read_from_the_null():
    X, Y = pair(4, noise=3.0)
    result = permutation_test(X, Y, "cka", n_permutations=200, random_state=0)
    null = result.null_distribution
    assert result.zscore == pytest.approx((result.statistic - null.mean()) / null.std(ddof=1))
    assert result.pvalue == pytest.approx((1 + np.sum(null >= result.statistic)) / 201)


@pytest.mark.parametrize("name", ["linear_cka", "rsa", "cknna", "svcca", "r2"])
def test_a_rotated_copy_is_nothing_like_chance(name):
    X, _ = pair(5, n=50, d=6)
    Q = np.linalg.qr(np.random.default_rng(0).normal(size=(6, 6)))[0]
    result = permutation_test(X, 2.0 * X @ Q, name, n_permutations=99, random_state=0,
                              metric_params=PARAMS.get(name))
    assert result.pvalue == pytest.approx(1 / 100)
    assert result.zscore > 5


@pytest.mark.parametrize("name, params", [("linear_cka", {}),
                                          ("rsa", {"distance": "euclidean"})])
def test_p_values_of_independent_spaces_are_roughly_uniform(name, params):
    rng = np.random.default_rng(0)
    pvalues = [
        permutation_test(rng.normal(size=(15, 3)), rng.normal(size=(15, 2)), name,
                         n_permutations=99, random_state=rng, metric_params=params).pvalue
        for _ in range(40)
    ]
    assert kstest(pvalues, "uniform").pvalue > 0.01
    assert 0.3 < np.mean(pvalues) < 0.7


def test_tiny_samples_are_tested_exactly():
    X, Y = pair(6, n=5, d=2)
    result = permutation_test(X, Y, n_permutations=999, random_state=0)
    assert result.null_distribution.shape == (120,)  # every permutation of 5 rows, once
    # The identity is among them: the exact p-value counts the statistic itself.
    assert result.pvalue == pytest.approx(np.mean(result.null_distribution
                                                  >= result.statistic - 1e-12))


def test_a_null_without_spread_gives_an_infinite_or_zero_zscore():
    X, Y = pair(9, n=8, d=2)

    def constant(A, B):
        return 0.5

    result = permutation_test(X, Y, constant, n_permutations=5, random_state=0)
    assert result.zscore == 0.0 and result.pvalue == 1.0

    def is_the_given_pairing(A, B):
        return float(np.array_equal(B, Y))

    result = permutation_test(X, Y, is_the_given_pairing, n_permutations=30, random_state=0)
    assert not result.null_distribution.any()  # 30 shuffles of 8 rows: none is the identity
    assert result.zscore == np.inf and result.pvalue == pytest.approx(1 / 31)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"n_permutations": 0}, r"'n_permutations' parameter of permutation_test must be an int"),
        ({"metric": "cca"}, r"'metric' parameter of permutation_test must be a str among"),
        ({"random_state": "seed"}, r"'random_state' parameter of permutation_test"),
        ({"metric_params": [("k", 3)]}, r"'metric_params' parameter of permutation_test"),
        ({"metric": "knn_jaccard", "metric_params": {"k": 30}}, r"'k' parameter of knn_jacc"),
    ],
)
def test_bad_parameters(kwargs, match):
    X, Y = pair(7)
    with pytest.raises(ValueError, match=match):
        permutation_test(X, Y, **kwargs)


# -- similarity_matrix(calibrate=...) --------------------------------------------------------


def spaces(seed=8):
    X, Y = pair(seed, n=40, d=5)
    noise = np.random.default_rng(seed).normal(size=(40, 3))
    return {"x": X, "y": Y, "noise": noise}


@pytest.mark.parametrize("metric", ["linear_cka", "r2"])
def test_calibrated_matrix_entries_are_permutation_tests(metric):
    data = spaces()
    z = similarity_matrix(data, metric, calibrate=True, n_permutations=49, random_state=0)
    with parallel_config(backend="threading"):  # each pair draws its own stream
        parallel = similarity_matrix(data, metric, calibrate="zscore", n_permutations=49,
                                     random_state=0, n_jobs=2)
    assert z.equals(parallel)
    assert z.loc["x", "y"] > 3 and z.loc["x", "x"] > 3
    assert abs(z.loc["x", "noise"]) < 3
    p = similarity_matrix(data, metric, calibrate="pvalue", n_permutations=49, random_state=0)
    assert p.loc["x", "y"] == pytest.approx(1 / 50) and p.loc["x", "noise"] > 0.05
    if metric == "linear_cka":  # symmetric: one test per unordered pair
        assert z.equals(z.T)


def test_calibrated_matrix_with_a_callable_and_bad_parameters():
    data = spaces()

    def cosine_of_means(A, B):
        a, b = A.mean(axis=0)[:2], B.mean(axis=0)[:2]
        return float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))

    p = similarity_matrix(data, cosine_of_means, calibrate="pvalue", n_permutations=9,
                          random_state=0)
    assert ((p >= 0.1) & (p <= 1.0)).all().all()  # row shuffles leave the means alone
    with pytest.raises(ValueError, match=r"'calibrate' parameter of similarity_matrix"):
        similarity_matrix(data, calibrate="p")
    with pytest.raises(ValueError, match=r"'n_permutations' parameter of similarity_matrix"):
        similarity_matrix(data, calibrate=True, n_permutations=-1)
