"""Evaluation loops do each piece of work once, and get the same results as when they did it
again and again: with and without the projection cache, for any n_jobs, on Dask."""

import joblib
import numpy as np
import pandas as pd
import pytest
from distributed import Client
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skinvariance import (
    AffineAlignment,
    OrthogonalAlignment,
    ProductProjection,
    RelativeProjection,
    StitchingEvaluator,
    compare_invariances,
    metrics,
    stack_spaces,
)
from skinvariance.projection import (
    clear_projection_cache,
    projection_cache_info,
    set_projection_cache,
)
from skinvariance.stitching import default_invariances
from skinvariance.stitching._compare import _sharing_groups

FOUR = ["cosine", "euclidean", "l1", "linf"]


pytestmark = pytest.mark.usefixtures("fresh_cache")


@pytest.fixture
def zoo(rng):
    """Four row-aligned spaces: noisy linear images of one labelled latent space."""
    latent = rng.normal(size=(160, 6))
    y = (latent[:, 0] + 0.5 * latent[:, 1] > 0).astype(int) + (latent[:, 2] > 0.8)
    spaces = {f"model_{i}": latent @ rng.normal(size=(6, 10 + 2 * i))
              + 0.3 * rng.normal(size=(160, 10 + 2 * i)) for i in range(4)}
    return spaces, y


def _without_cache(function):
    previous = set_projection_cache(0)
    try:
        return function()
    finally:
        set_projection_cache(previous)


def _decoder():
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=300))


# --------------------------------------------------------------------------------------------
# GridSearchCV over how a product is aggregated, normalised and decoded
# --------------------------------------------------------------------------------------------


FULL_GRID = {"projection__aggregate": ["concat", "sum"],
             "projection__normalize": ["layer", "l2"],
             "decoder__logisticregression__C": [0.1, 1.0]}
SMALL_GRID = {"projection__aggregate": ["concat", "sum"]}


def _grid(spaces, y, n_jobs=None, grid=SMALL_GRID, folds=2):
    evaluator = StitchingEvaluator(ProductProjection(FOUR), _decoder(), anchors=30,
                                   random_state=0)
    search = GridSearchCV(evaluator, grid, refit=False, n_jobs=n_jobs,
                          cv=StratifiedKFold(folds, shuffle=True, random_state=0))
    return search.fit(stack_spaces(spaces), y)


def test_a_grid_search_computes_each_fold_s_kernels_once(zoo, kernel_rows):
    spaces, y = zoo
    cached = _grid(spaces, y, grid=FULL_GRID, folds=3)
    with_cache = dict(kernel_rows)
    kernel_rows.clear()
    plain = _without_cache(lambda: _grid(spaces, y, grid=FULL_GRID, folds=3))
    # 8 candidates share every kernel of a fold: without the cache, each computes them again.
    assert {name: 8 * rows for name, rows in with_cache.items()} == kernel_rows
    assert with_cache["cosine"] == with_cache["l1+linf"]
    for key in ("split0_test_score", "split1_test_score", "split2_test_score"):
        np.testing.assert_array_equal(cached.cv_results_[key], plain.cv_results_[key])


def test_a_grid_search_in_parallel_gives_the_serial_scores(zoo):
    spaces, y = zoo
    serial = _without_cache(lambda: _grid(spaces, y))
    for backend in ("threading", "loky"):
        with joblib.parallel_config(backend=backend):
            parallel = _grid(spaces, y, n_jobs=2)
        np.testing.assert_array_equal(parallel.cv_results_["split0_test_score"],
                                      serial.cv_results_["split0_test_score"])
        np.testing.assert_array_equal(parallel.cv_results_["split1_test_score"],
                                      serial.cv_results_["split1_test_score"])


@pytest.mark.filterwarnings("ignore:.*cannot be stitched because their widths differ")
@pytest.mark.parametrize("projection", [ProductProjection(FOUR), RelativeProjection("l1"),
                                        OrthogonalAlignment(), None])
@pytest.mark.parametrize("n_jobs", [None, 2])
def test_the_evaluator_gives_the_same_bits_with_and_without_the_cache(zoo, projection,
                                                                      n_jobs):
    spaces, y = zoo
    train, test = slice(0, 120), slice(120, None)

    def evaluate():
        evaluator = StitchingEvaluator(projection, _decoder(), anchors=40, random_state=0,
                                       n_jobs=n_jobs)
        evaluator.fit({k: v[train] for k, v in spaces.items()}, y[train])
        first = evaluator.stitching_matrix({k: v[test] for k, v in spaces.items()}, y[test])
        second = evaluator.stitching_matrix({k: v[test] for k, v in spaces.items()}, y[test])
        return first, second

    plain, _ = _without_cache(evaluate)
    first, second = evaluate()
    pd.testing.assert_frame_equal(first, plain, check_exact=True)
    pd.testing.assert_frame_equal(second, plain, check_exact=True)


# --------------------------------------------------------------------------------------------
# compare_invariances: shared subspaces, test rows encoded once
# --------------------------------------------------------------------------------------------


def test_the_product_is_grouped_with_the_single_kernels_it_shares():
    groups = [[name for name, _ in group] for group in _sharing_groups(default_invariances())]
    assert ["relative_cosine", "relative_euclidean", "product"] in groups
    # L1 and L-infinity of the product come from their fused pass, not the single loops
    assert ["relative_l1"] in groups and ["relative_linf"] in groups
    assert sum(len(group) for group in groups) == len(default_invariances())
    custom = {"a": RelativeProjection("cosine", center=True), "b": RelativeProjection("l1"),
              "c": ProductProjection([RelativeProjection("cosine", center=True), "l1"])}
    assert [[name for name, _ in g] for g in _sharing_groups(custom)] == [["a", "b", "c"]]


def test_compare_computes_the_product_s_shared_subspaces_once(zoo, kernel_rows):
    spaces, y = zoo
    invariances = {"cosine": RelativeProjection("cosine"),
                   "euclidean": RelativeProjection("euclidean"),
                   "product": ProductProjection(FOUR)}
    table = compare_invariances(spaces, y, invariances, metrics=["cka"], anchors=30,
                                random_state=0)
    with_cache = dict(kernel_rows)
    kernel_rows.clear()
    plain = _without_cache(lambda: compare_invariances(spaces, y, invariances, metrics=["cka"],
                                                       anchors=30, random_state=0))
    pd.testing.assert_frame_equal(table, plain, check_exact=True)
    assert kernel_rows["cosine"] == 2 * with_cache["cosine"]
    assert kernel_rows["euclidean"] == 2 * with_cache["euclidean"]
    assert kernel_rows["l1+linf"] == with_cache["l1+linf"]


def test_compare_encodes_the_test_rows_once(zoo, monkeypatch):
    """The stitching scores and the measures read one projection (one alignment map per
    ordered pair) of the test rows."""
    spaces, y = zoo
    n_test = 40  # a quarter of 160 rows
    calls = []
    for estimator_class in (RelativeProjection, OrthogonalAlignment):
        original = estimator_class.transform

        def recording(self, X, original=original, name=estimator_class.__name__):
            calls.append((name, X.shape[0]))
            return original(self, X)

        monkeypatch.setattr(estimator_class, "transform", recording)
    _without_cache(lambda: compare_invariances(
        spaces, y, {"cosine": RelativeProjection("cosine"), "orthogonal": OrthogonalAlignment()},
        metrics=["cka", "mrr"], anchors=30, random_state=0))
    assert calls.count(("RelativeProjection", n_test)) == 4
    assert calls.count(("OrthogonalAlignment", n_test)) == 4 * 3


def test_the_measures_are_those_of_the_encoded_test_rows(zoo):
    """An oracle: the alignment's measures recomputed from the fitted maps."""
    spaces, y = zoo
    table = compare_invariances(spaces, y, {"affine": AffineAlignment()},
                                metrics=["cka"], anchors=30, random_state=0,
                                cv=[(np.arange(120), np.arange(120, 160))])
    evaluator = StitchingEvaluator(AffineAlignment(), _decoder_default(y), anchors=30,
                                   random_state=_seed(0)).fit(
        {k: v[:120] for k, v in spaces.items()}, y[:120])
    values = [metrics.linear_cka(evaluator.alignments_[i, j].transform(spaces[i][120:]),
                                 spaces[j][120:])
              for i in spaces for j in spaces if i != j]
    assert table.loc[0, "cka_mean"] == pytest.approx(np.mean(values), rel=1e-12)
    assert table.loc[0, "cka_std"] == pytest.approx(np.std(values), rel=1e-9, abs=1e-12)


def _decoder_default(y):
    from skinvariance.stitching import make_decoder

    return make_decoder("auto", y)


def _seed(random_state):
    return np.random.RandomState(random_state).randint(np.iinfo(np.int32).max)


@pytest.mark.parametrize("n_jobs", [2])
def test_compare_in_parallel_gives_the_serial_table(zoo, n_jobs):
    spaces, y = zoo
    invariances = {name: est for name, est in default_invariances().items()
                   if name in ("absolute", "relative_cosine", "relative_l1", "product",
                               "orthogonal")}
    serial = _without_cache(lambda: compare_invariances(spaces, y, invariances, anchors=30,
                                                        random_state=0, cv=2))
    parallel = compare_invariances(spaces, y, invariances, anchors=30, random_state=0, cv=2,
                                   n_jobs=n_jobs)
    pd.testing.assert_frame_equal(parallel, serial, check_exact=True)
    assert list(parallel["invariance"]) == list(invariances)


# --------------------------------------------------------------------------------------------
# On Dask: joblib's dask backend, a client in this process (threads)
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dask_client():
    with Client(processes=False, n_workers=1, threads_per_worker=2,
                dashboard_address=None) as client:
        yield client


def test_on_dask_the_results_are_the_serial_ones(dask_client, zoo):
    spaces, y = zoo
    invariances = {"cosine": RelativeProjection("cosine"), "product": ProductProjection(FOUR),
                   "orthogonal": OrthogonalAlignment()}
    serial = _without_cache(lambda: compare_invariances(spaces, y, invariances, anchors=30,
                                                        metrics=["cka"], random_state=0))
    serial_grid = _without_cache(lambda: _grid(spaces, y))
    clear_projection_cache()
    with joblib.parallel_config(backend="dask"):
        distributed = compare_invariances(spaces, y, invariances, anchors=30, metrics=["cka"],
                                          random_state=0, n_jobs=-1)
        grid = _grid(spaces, y, n_jobs=-1)
    pd.testing.assert_frame_equal(distributed, serial, check_exact=True)
    np.testing.assert_array_equal(grid.cv_results_["mean_test_score"],
                                  serial_grid.cv_results_["mean_test_score"])
    # the workers are threads of this process: they shared this process's cache
    assert projection_cache_info().hits > 0
