"""Evaluation loops do each piece of work once, and get the same results as when they did it
again and again: with and without a product's ``memory``, with and without the subspaces a
comparison shares between its rows, for any n_jobs, on Dask."""

import gc
import itertools
import pickle
import tracemalloc
from concurrent.futures import ThreadPoolExecutor

import joblib
import numpy as np
import pandas as pd
import pytest
from distributed import Client
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from skinvariance import (
    AffineAlignment,
    OrthogonalAlignment,
    ProductClassifier,
    ProductProjection,
    ProductRegressor,
    RelativeProjection,
    StitchingEvaluator,
    compare_invariances,
    metrics,
    stack_spaces,
)
from skinvariance._parallel import run_small_tasks
from skinvariance._validation import final_step
from skinvariance.projection._shared import SHARED_FLOOR_BYTES, SharedSubspaces, shared_budget
from skinvariance.stitching import _measures_only, _split, _work, default_invariances
from skinvariance.stitching._compare import _row_tasks
from skinvariance.stitching._work import DecoderFits, fits_in_processes

FOUR = ["cosine", "euclidean", "l1", "linf"]


@pytest.fixture
def zoo(rng):
    """Four row-aligned spaces: noisy linear images of one labelled latent space."""
    latent = rng.normal(size=(160, 6))
    y = (latent[:, 0] + 0.5 * latent[:, 1] > 0).astype(int) + (latent[:, 2] > 0.8)
    spaces = {f"model_{i}": latent @ rng.normal(size=(6, 10 + 2 * i))
              + 0.3 * rng.normal(size=(160, 10 + 2 * i)) for i in range(4)}
    return spaces, y


def _decoder():
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=300))


# --------------------------------------------------------------------------------------------
# GridSearchCV over how a product is aggregated, normalised and decoded
# --------------------------------------------------------------------------------------------


FULL_GRID = {"projection__aggregate": ["concat", "sum"],
             "projection__normalize": ["layer", "l2"],
             "decoder__logisticregression__C": [0.1, 1.0]}
SMALL_GRID = {"projection__aggregate": ["concat", "sum"]}


def _grid(spaces, y, n_jobs=None, grid=SMALL_GRID, folds=2, memory=None):
    evaluator = StitchingEvaluator(ProductProjection(FOUR, memory=memory), _decoder(),
                                   anchors=30, random_state=0)
    search = GridSearchCV(evaluator, grid, refit=False, n_jobs=n_jobs,
                          cv=StratifiedKFold(folds, shuffle=True, random_state=0))
    return search.fit(stack_spaces(spaces), y)


def test_a_grid_search_with_memory_computes_each_fold_s_kernels_once(zoo, kernel_rows,
                                                                     tmp_path):
    spaces, y = zoo
    cached = _grid(spaces, y, grid=FULL_GRID, folds=3, memory=joblib.Memory(tmp_path,
                                                                             verbose=0))
    with_cache = dict(kernel_rows)
    kernel_rows.clear()
    plain = _grid(spaces, y, grid=FULL_GRID, folds=3)
    # 8 candidates share every kernel of a fold: without memory, each computes them again.
    assert {name: 8 * rows for name, rows in with_cache.items()} == kernel_rows
    assert with_cache["cosine"] == with_cache["l1+linf"]
    for key in ("split0_test_score", "split1_test_score", "split2_test_score"):
        np.testing.assert_array_equal(cached.cv_results_[key], plain.cv_results_[key])


def test_a_grid_search_in_parallel_gives_the_serial_scores(zoo):
    spaces, y = zoo
    serial = _grid(spaces, y)
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
def test_the_evaluator_gives_the_same_bits_with_and_without_memory(zoo, projection, n_jobs,
                                                                   tmp_path):
    spaces, y = zoo
    train, test = slice(0, 120), slice(120, None)

    def evaluate(memory=None):
        with_memory = projection
        if isinstance(projection, ProductProjection):
            with_memory = projection.set_params(memory=memory)
        evaluator = StitchingEvaluator(with_memory, _decoder(), anchors=40, random_state=0,
                                       n_jobs=n_jobs)
        evaluator.fit({k: v[train] for k, v in spaces.items()}, y[train])
        first = evaluator.stitching_matrix({k: v[test] for k, v in spaces.items()}, y[test])
        second = evaluator.stitching_matrix({k: v[test] for k, v in spaces.items()}, y[test])
        return first, second

    plain, _ = evaluate()
    first, second = evaluate(str(tmp_path))
    pd.testing.assert_frame_equal(first, plain, check_exact=True)
    pd.testing.assert_frame_equal(second, plain, check_exact=True)


# --------------------------------------------------------------------------------------------
# compare_invariances: shared subspaces, test rows encoded once
# --------------------------------------------------------------------------------------------


def test_the_projection_rows_of_a_split_share_one_task_the_raw_rows_another():
    tasks = [[name for name, _ in task] for task in _row_tasks(
        {name: (value, None) for name, value in default_invariances().items()})]
    assert tasks == [["scale", "relative_cosine", "relative_euclidean", "relative_l1",
                      "relative_linf", "relative_cosine_centered", "product"],
                     ["absolute", "orthogonal_standardized", "affine_ridge"]]
    only_raw = _row_tasks({"absolute": (None, None), "affine": (AffineAlignment(), None)})
    assert [[name for name, _ in task] for task in only_raw] == [["absolute", "affine"]]


# --------------------------------------------------------------------------------------------
# Decoders: one fit per decoder, space and split
# --------------------------------------------------------------------------------------------


def test_decoder_fits_fit_each_decoder_once_per_input(rng):
    X, other = rng.normal(size=(80, 5)), rng.normal(size=(80, 5))
    y = (X[:, 0] > 0).astype(int)
    fits = DecoderFits()
    first = fits.fit(_decoder(), X, y)
    assert fits.fit(_decoder(), X, y.copy()) is first  # another decoder of the same parameters
    assert (fits.n_fitted, fits.n_served) == (1, 1)
    # any difference is another fit: the input array, the target, a parameter
    assert fits.fit(_decoder(), X.copy(), y) is not first
    assert fits.fit(_decoder(), X, 1 - y) is not first
    assert fits.fit(_decoder().set_params(logisticregression__C=0.5), X, y) is not first
    assert fits.fit(_decoder(), other, y) is not first
    assert (fits.n_fitted, fits.n_served) == (5, 1)
    # the fit served is a clone fitted as scikit-learn fits it, standardisation included
    fresh = _decoder().fit(X, y)
    np.testing.assert_array_equal(first[0].mean_, StandardScaler().fit(X).mean_)
    np.testing.assert_array_equal(first[0].scale_, StandardScaler().fit(X).scale_)
    np.testing.assert_array_equal(first.predict_proba(other), fresh.predict_proba(other))


def test_the_raw_rows_of_a_comparison_fit_each_decoder_once(zoo, monkeypatch):
    spaces, y = zoo
    invariances = {"absolute": None, "orthogonal": OrthogonalAlignment(),
                   "affine": AffineAlignment()}
    fitted = []
    original = _work._fit_clone

    def counting(decoder, X, y):
        fitted.append(X.shape)
        return original(decoder, X, y)

    monkeypatch.setattr(_work, "_fit_clone", counting)
    table = compare_invariances(spaces, y, invariances, metrics=["cka"], anchors=30,
                                random_state=0, cv=2)
    assert len(fitted) == len(spaces) * 2  # one per space and split, not one per row
    # the oracle: each row compared alone, fitting its own decoders
    alone = pd.concat([compare_invariances(spaces, y, {name: value}, metrics=["cka"],
                                           anchors=30, random_state=0, cv=2)
                       for name, value in invariances.items()], ignore_index=True)
    assert len(fitted) == len(spaces) * 2 * (1 + len(invariances))
    pd.testing.assert_frame_equal(table.drop(columns="best"), alone.drop(columns="best"),
                                  check_exact=True)


def test_compare_computes_the_product_s_shared_subspaces_once(zoo, kernel_rows):
    spaces, y = zoo
    invariances = {"cosine": RelativeProjection("cosine"),
                   "euclidean": RelativeProjection("euclidean"),
                   "product": ProductProjection(FOUR)}
    table = compare_invariances(spaces, y, invariances, metrics=["cka"], anchors=30,
                                random_state=0)
    shared = dict(kernel_rows)
    # the oracle: each row compared alone computes every kernel it needs
    alone = []
    for name, projection in invariances.items():
        kernel_rows.clear()
        alone.append(compare_invariances(spaces, y, {name: projection}, metrics=["cka"],
                                         anchors=30, random_state=0))
        alone.append(dict(kernel_rows))
    pd.testing.assert_frame_equal(
        table.drop(columns="best"),
        pd.concat(alone[::2], ignore_index=True).drop(columns="best"), check_exact=True)
    counts = alone[1::2]
    every_row = len(spaces) * len(y)  # each space's training and test rows, projected once
    assert counts[0]["cosine"] + counts[2]["cosine"] - shared["cosine"] == every_row
    assert counts[1]["euclidean"] + counts[2]["euclidean"] - shared["euclidean"] == every_row
    assert shared["l1+linf"] == counts[2]["l1+linf"]


def test_shared_subspaces_are_the_projections_own(rng):
    X = rng.normal(size=(300, 12))
    product = ProductProjection(FOUR).fit(X[:25])
    single = RelativeProjection("euclidean").fit(X[:25])
    shared = SharedSubspaces(X)
    np.testing.assert_array_equal(shared.transform(product), product.transform(X))
    np.testing.assert_array_equal(shared.transform(single), single.transform(X))
    assert (shared.n_computed, shared.n_served) == (4, 1)  # euclidean served the second time
    # other rows, or a transformer that is no relative projection: simply transformed
    np.testing.assert_array_equal(SharedSubspaces(X[:50]).transform(single),
                                  single.transform(X[:50]))
    scaler = StandardScaler().fit(X)
    np.testing.assert_array_equal(shared.transform(scaler), scaler.transform(X))


def test_shared_subspaces_read_from_threads_at_once_compute_each_subspace_once(rng):
    X = rng.normal(size=(3000, 12))
    anchors = X[:40]
    projections = [ProductProjection(FOUR).fit(anchors)]
    projections += [RelativeProjection(kernel).fit(anchors) for kernel in FOUR] * 2
    shared = SharedSubspaces(X)
    with ThreadPoolExecutor(4) as executor:
        found = list(executor.map(shared.transform, projections))
    for projection, values in zip(projections, found, strict=True):
        np.testing.assert_array_equal(values, projection.transform(X))
    # cosine and euclidean shared by all; L1 and L-infinity alone and in the fused pass
    assert (shared.n_computed, shared.n_served) == (6, 6)


def test_shared_subspaces_copied_to_another_process_keep_what_they_hold(rng):
    X = rng.normal(size=(100, 6))
    single = RelativeProjection("cosine").fit(X[:10])
    shared = SharedSubspaces(X)
    shared.transform(single)
    copy = pickle.loads(pickle.dumps(shared))
    np.testing.assert_array_equal(copy.transform(single), single.transform(X))
    assert (copy.n_computed, copy.n_served) == (1, 1)


def test_shared_subspaces_keep_no_more_than_their_bound(rng):
    X = rng.normal(size=(100, 6))
    product = ProductProjection(FOUR).fit(X[:10])
    one_subspace = 100 * 10 * 8
    shared = SharedSubspaces(X, max_bytes=2 * one_subspace)
    first = shared.transform(product)
    assert shared.n_computed == 4
    np.testing.assert_array_equal(shared.transform(product), first)
    assert (shared.n_computed, shared.n_served) == (6, 2)  # two kept, the others again


def test_released_shared_subspaces_compute_the_same_values_again(rng):
    X = rng.normal(size=(100, 6))
    product = ProductProjection(FOUR).fit(X[:10])
    shared = SharedSubspaces(X)
    first = shared.transform(product)
    shared.release()
    assert shared._bytes == 0
    np.testing.assert_array_equal(shared.transform(product), first)
    assert (shared.n_computed, shared.n_served) == (8, 0)  # computed again, none served
    np.testing.assert_array_equal(shared.transform(product), first)
    assert (shared.n_computed, shared.n_served) == (8, 4)  # and kept again


def test_shared_subspaces_hold_their_subspaces_and_little_else(rng):
    """What a store keeps is its subspaces: its keys name the anchors by a digest, not a copy
    of them (wide anchors and few rows made every key outweigh its subspace)."""
    X = rng.normal(size=(40, 2000))
    anchors = X[:5] + rng.normal(size=(5, 2000))
    wide = np.concatenate([anchors] * 40)  # 200 anchors x 2,000 features: 3.2 MB
    singles = [RelativeProjection(kernel).fit(wide) for kernel in FOUR]
    shared = SharedSubspaces(X)
    gc.collect()
    tracing = tracemalloc.is_tracing()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for single in singles:  # one call, hence one key, per kernel
            shared.transform(single)
        gc.collect()
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        if not tracing:
            tracemalloc.stop()
    kept = 4 * X.shape[0] * wide.shape[0] * 8  # four subspaces of 40 x 200 float64
    assert shared._bytes == kept
    assert kept <= held <= kept + wide.nbytes // 4  # not a 3.2 MB anchors copy per key
    for single in singles:  # still served, the same values
        np.testing.assert_array_equal(shared.transform(single), single.transform(X))
    assert shared.n_served == 4


def test_a_store_keeps_at_most_its_rows_bytes_beyond_the_floor(rng):
    small = rng.normal(size=(10, 3))
    assert shared_budget(small) == SHARED_FLOOR_BYTES
    large = np.empty((SHARED_FLOOR_BYTES // 8 + 1000, 1))
    assert shared_budget(large) == large.nbytes
    assert shared_budget(large.astype(np.float32)) == SHARED_FLOOR_BYTES


def test_the_comparison_does_not_depend_on_what_it_keeps(zoo, kernel_rows, monkeypatch):
    """Kept or recomputed, a shared subspace has the same values: the table is the same to
    the bit when the comparison keeps nothing (and then it computes every subspace again)."""
    spaces, y = zoo
    invariances = {"cosine": RelativeProjection("cosine"), "product": ProductProjection(FOUR),
                   "product_sum": ProductProjection(FOUR, aggregate="sum")}

    def compare():
        kernel_rows.clear()
        table = compare_invariances(spaces, y, invariances, metrics=["cka"], anchors=30,
                                    random_state=0, cv=2)
        return table, dict(kernel_rows)

    kept, computed_kept = compare()
    monkeypatch.setattr(_split, "SHARED_BYTES_PER_SPACE", 0)
    recomputed, computed_again = compare()
    pd.testing.assert_frame_equal(recomputed, kept, check_exact=True)
    # kept, the second product read every kernel; kept nothing, it computed them anew
    assert computed_again["cosine"] > computed_kept["cosine"]
    assert computed_again["l1+linf"] > computed_kept["l1+linf"]


def test_compare_encodes_the_test_rows_once(zoo, monkeypatch):
    """The stitching scores and the measures read one projection (one alignment map per
    ordered pair) of the test rows."""
    spaces, y = zoo
    n_test = 40  # a quarter of 160 rows
    calls = []
    # a relative projection handed shared subspaces transforms through _transform_sharing
    for estimator_class, method in ((RelativeProjection, "transform"),
                                    (RelativeProjection, "_transform_sharing"),
                                    (OrthogonalAlignment, "transform")):
        original = getattr(estimator_class, method)

        def recording(self, X, *args, original=original, name=estimator_class.__name__):
            calls.append((name, X.shape[0]))
            return original(self, X, *args)

        monkeypatch.setattr(estimator_class, method, recording)
    compare_invariances(
        spaces, y, {"cosine": RelativeProjection("cosine"), "orthogonal": OrthogonalAlignment()},
        metrics=["cka", "mrr"], anchors=30, random_state=0)
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


def _recording_measured_rows(monkeypatch):
    """The rows a comparison measures, in order, as it measures them."""
    measured = []
    original = _split.similarity_matrices

    def recording(kind, encodings, test_spaces, metrics_, invariance, *args):
        measured.append(invariance)
        return original(kind, encodings, test_spaces, metrics_, invariance, *args)

    monkeypatch.setattr(_split, "similarity_matrices", recording)
    return measured


def test_a_projection_read_by_two_decoders_is_measured_once(zoo, monkeypatch):
    """The product row and the same product under another decoder have the same
    representations: the second takes the first's measures, which are the ones it gets
    measured alone."""
    spaces, y = zoo
    measured = _recording_measured_rows(monkeypatch)
    rows = {"product": ProductProjection(FOUR),
            "product_scaled": (ProductProjection(FOUR), _decoder())}
    kwargs = dict(metrics=["cka", "jaccard", "mrr"], anchors=30, random_state=0)
    table = compare_invariances(spaces, y, rows, **kwargs).set_index("invariance")
    assert measured == ["product"]
    measures = [c for c in table.columns if c.split("_")[0] in ("cka", "jaccard", "mrr")]
    alone = compare_invariances(spaces, y, {"product_scaled": rows["product_scaled"]},
                                **kwargs).set_index("invariance")
    assert measured == ["product", "product_scaled"]
    assert table.loc["product_scaled", measures].equals(alone.loc["product_scaled", measures])
    assert table.loc["product", measures].tolist() == table.loc["product_scaled",
                                                                 measures].tolist()
    # the decoders differ, and so does the stitching
    assert table.loc["product", "decoder"] != table.loc["product_scaled", "decoder"]


def test_representations_share_a_digest_only_when_shape_dtype_and_values_match(rng):
    Z = rng.normal(size=(6, 4))

    def digest(A):
        return _split._digests({"a": {"b": A}})["a", "b"]

    assert digest(Z) == digest(Z.copy()) == digest(pd.DataFrame(Z))
    assert digest(np.asfortranarray(Z)) == digest(Z)  # the values, not the layout
    changed = Z.copy()
    changed[5, 3] = np.nextafter(changed[5, 3], np.inf)
    others = [changed, Z.reshape(4, 6), Z.astype(np.float32), Z.view(np.int64)]
    assert len({digest(A) for A in [Z, *others]}) == 5


_shifts = itertools.count(1)


def _shifted(X):
    """Each call a different translation: one text, different representations."""
    return X + next(_shifts)


def test_two_projections_of_one_text_with_different_representations_are_both_measured(
        zoo, monkeypatch):
    spaces, y = zoo
    measured = _recording_measured_rows(monkeypatch)
    rows = {"first": FunctionTransformer(_shifted), "second": FunctionTransformer(_shifted)}
    table = compare_invariances(spaces, y, rows, metrics=["cosine"], anchors=30,
                                random_state=0).set_index("invariance")
    assert measured == ["first", "second"]
    assert table.loc["first", "cosine_mean"] != table.loc["second", "cosine_mean"]


def _decoder_default(y):
    from skinvariance.stitching import make_decoder

    return make_decoder("auto", y)


def _seed(random_state):
    return np.random.RandomState(random_state).randint(np.iinfo(np.int32).max)


def _unit(task):
    """The unit a batch task runs (a task may be wrapped to release a store after it)."""
    function, args, kwargs = task
    return args[1:] if function is _split._run_then else (function, args, kwargs)


def test_compare_fits_the_projection_rows_spaces_in_one_batch(zoo, monkeypatch):
    """A split's rows that fit a projection and a decoder per space on threads run their
    units together, space by space, the longest fits (the product's) first: a row no longer
    waits for the last fit of the one before it. The table is the one of each row alone."""
    spaces, y = zoo
    batches = []

    def spy(tasks, n_jobs=None, **options):
        tasks = list(tasks)
        batches.append([(type(args[0]).__name__, args[2].shape)
                        for _, args, _ in map(_unit, tasks)])
        return run_small_tasks(tasks, n_jobs, **options)

    invariances = {"absolute": None, "relative_cosine": RelativeProjection("cosine"),
                   "product": ProductProjection(FOUR), "relative_l1": RelativeProjection("l1"),
                   "orthogonal": OrthogonalAlignment()}
    monkeypatch.setattr(_split, "run_small_tasks", spy)
    table = compare_invariances(spaces, y, invariances, metrics=["cka"], anchors=30,
                                random_state=0, cv=2)
    shapes = [(len(y) // 2, X.shape[1]) for X in spaces.values()]  # each space's training rows
    # space by space, each space's product before the single kernels of the space before
    expected = [("ProductProjection", shapes[0])]
    for i, shape in enumerate(shapes):
        expected += [("ProductProjection", shapes[i + 1])] if i + 1 < len(shapes) else []
        expected += [("RelativeProjection", shape)] * 2
    assert batches == [expected, expected]  # one batch per split
    alone = pd.concat([compare_invariances(spaces, y, {name: projection}, metrics=["cka"],
                                           anchors=30, random_state=0, cv=2)
                       for name, projection in invariances.items()], ignore_index=True)
    pd.testing.assert_frame_equal(table.drop(columns="best"), alone.drop(columns="best"),
                                  check_exact=True)


class _Recorded(SharedSubspaces):
    """A SharedSubspaces that the test can find again."""

    made = []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.made.append(self)


def _kept_after_each_unit(monkeypatch, n_spaces):
    """Run the batch's units one after the other, noting after each how many of the split's
    training stores keep subspaces."""
    _Recorded.made = []
    kept = []
    monkeypatch.setattr(_split, "SharedSubspaces", _Recorded)

    def one_by_one(tasks, n_jobs=None, **options):
        # a split makes its training stores, then its test stores, then runs the batch
        training = _Recorded.made[-2 * n_spaces: -n_spaces]
        results = []
        for function, args, kwargs in tasks:
            results.append(function(*args, **kwargs))
            kept.append(sum(store._bytes > 0 for store in training))
        return results

    monkeypatch.setattr(_split, "run_small_tasks", one_by_one)
    monkeypatch.setattr(_work, "run_small_tasks", one_by_one)  # rows projected, then decoded
    return kept


def test_the_batch_releases_each_space_s_subspaces_after_its_last_unit(zoo, monkeypatch):
    """Space by space, a space's kept subspaces go once its rows are fitted: the batch holds
    two spaces' at most (the product of the next space runs before the single kernels of
    this one), and the table is the one that keeps them all."""
    spaces, y = zoo
    invariances = {"relative_cosine": RelativeProjection("cosine"),
                   "product": ProductProjection(FOUR), "relative_l1": RelativeProjection("l1")}
    keeping = compare_invariances(spaces, y, invariances, metrics=["cka"], anchors=30,
                                  random_state=0, cv=2, n_jobs=1)
    kept = _kept_after_each_unit(monkeypatch, len(spaces))
    table = compare_invariances(spaces, y, invariances, metrics=["cka"], anchors=30,
                                random_state=0, cv=2, n_jobs=1)
    # four spaces: products of spaces 0 and 1, then the single kernels of space 0, ...
    assert kept == [1, 2, 2, 1, 2, 2, 1, 2, 2, 1, 1, 0] * 2  # two splits
    pd.testing.assert_frame_equal(table, keeping, check_exact=True)


def test_a_space_s_units_release_its_store_after_the_last_wherever_they_run(rng):
    """In this process the last unit releases the store; sent to worker processes, the
    units count (and release) their own copies, and this one keeps its subspaces."""
    X = rng.normal(size=(50, 4))
    store = SharedSubspaces(X)
    store.transform(ProductProjection(FOUR).fit(X[:8]))
    units = [joblib.delayed(np.add)(i, 1) for i in range(3)]
    assert run_small_tasks(_split._releasing(units, store), n_jobs=2) == [1, 2, 3]
    assert store._bytes > 0
    assert run_small_tasks(_split._releasing(units, store), n_jobs=1) == [1, 2, 3]
    assert store._bytes == 0


def test_learned_rows_are_fitted_in_the_batch_their_decoders_first(zoo, monkeypatch):
    """A row whose learned decoders fit in processes is fitted in the batch with the others:
    every space projected for every row, the learned row's first (filling the stores, which
    the other rows read again instead of computing), then every decoder in one batch, the
    learned ones first and in processes, so that the short fits fill the last round. The
    table is the one whose learned row is fitted by its own evaluator after the batch (as
    when the representations would not fit the budget)."""
    spaces, y = zoo
    monkeypatch.setattr(_work, "MIN_ELEMENTS_IN_PROCESSES", 0)  # however small
    invariances = {name: est for name, est in default_invariances(y=y).items()
                   if name in ("relative_cosine", "product", "product_mlp_sum")}
    options = dict(metrics=["cka"], anchors=30, random_state=0, cv=2, n_jobs=1)
    with monkeypatch.context() as over_budget:
        over_budget.setattr(_split, "_fit_fewer_than_budget", lambda *args: False)
        fitted_after = compare_invariances(spaces, y, invariances, **options)
    kept = _kept_after_each_unit(monkeypatch, len(spaces))
    batches = []
    one_by_one = _work.run_small_tasks

    def recording(tasks, n_jobs=None, **options):
        tasks = list(tasks)
        batches.append(([function.__name__ for function, _, _ in tasks],
                        [type(final_step(args[0])).__name__ for _, args, _ in tasks],
                        options.get("holds_the_gil", False)))
        return one_by_one(tasks, n_jobs, **options)

    monkeypatch.setattr(_work, "run_small_tasks", recording)
    table = compare_invariances(spaces, y, invariances, **options)
    pd.testing.assert_frame_equal(table, fitted_after, check_exact=True)
    n = len(spaces)
    projections, decoders = batches[:2]  # the first split's
    assert projections[0] == ["project_space"] * 3 * n and not projections[2]
    assert decoders[0] == ["fit_decoder"] * 3 * n and decoders[2]
    # the learned row's decoders first, then the product's and the cosine row's
    assert decoders[1] == ["ProductClassifier"] * n + ["LogisticClassifier"] * 2 * n
    # the learned row's units fill the stores, space after space; none released
    assert kept == ([1, 2, 3, 4] + [4] * (5 * n)) * 2
    train_stores = _Recorded.made[:n]  # the first split's, made first
    # each kernel computed once; the product row and the cosine row read it again
    assert [(store.n_computed, store.n_served) for store in train_stores] == (
        [(len(FOUR), len(FOUR) + 1)] * n)


def _every_search(metrics, pairs, measured, names, calibration):
    """Every representation searched before the pairs are measured (as before)."""
    wanted = {}
    for metric, column in metrics.items():
        if column.per_space is not None:
            for (a, b), (Zi, Zj) in pairs.items():
                for Z, space in ((Zi, names[a]), (Zj, names[b])):
                    wanted.setdefault(_measures_only._state_key(column.per_space, Z),
                                      (column.per_space, Z, metric, space))
    return wanted


def test_an_alignment_s_mapped_spaces_are_searched_by_their_pair(zoo, monkeypatch):
    """A space mapped into another by an alignment is read by that pair alone: its pair
    searches it (its state goes with the pair), and only the targets, which three pairs
    read, are searched beforehand and kept. The table is the one that searches them all
    first."""
    spaces, y = zoo
    options = dict(metrics=["jaccard", "mrr", "cka"], anchors=30, random_state=0, cv=2)
    invariances = {"cosine": RelativeProjection("cosine"), "orthogonal": OrthogonalAlignment()}
    before = []
    search = _measures_only._search

    def recording(per_space, Z, *args):
        before.append(Z.shape)
        return search(per_space, Z, *args)

    monkeypatch.setattr(_measures_only, "_search", recording)
    table = compare_invariances(spaces, y, invariances, **options)
    # per split: the projection's four representations, then the alignment's four targets,
    # each for the three measures' searches (neighbours, unit rows, CKA terms)
    assert len(before) == 2 * (4 + 4) * 3
    monkeypatch.setattr(_measures_only, "_searches", _every_search)
    pd.testing.assert_frame_equal(table, compare_invariances(spaces, y, invariances, **options),
                                  check_exact=True)


def test_the_learned_decoders_fits_by_lbfgs_are_the_ones_sent_to_processes():
    """scipy's L-BFGS-B step holds the GIL; Adam's and logistic regression's products do not."""
    assert fits_in_processes(ProductClassifier(4), 1_000)  # "auto": L-BFGS up to 1,000 rows
    assert not fits_in_processes(ProductClassifier(4), 1_001)
    assert fits_in_processes(ProductRegressor(solver="lbfgs"), 10**6)
    assert not fits_in_processes(ProductClassifier(solver="adam"), 100)
    assert fits_in_processes(make_pipeline(StandardScaler(), ProductClassifier()), 100)
    assert not fits_in_processes(_decoder(), 100)


def test_an_evaluator_fits_learned_decoders_in_processes_after_projecting(zoo, monkeypatch):
    """The projections run on threads, then the L-BFGS fits go to processes
    (holds_the_gil); the decoders are those of n_jobs=1, bit for bit, and their warnings
    reach the caller."""
    spaces, y = zoo
    calls = []

    def spy(tasks, n_jobs=None, **options):
        calls.append(options.get("holds_the_gil", False))
        return run_small_tasks(tasks, n_jobs, **options)

    decoder = ProductClassifier(4, max_iter=5, random_state=0)
    serial = StitchingEvaluator(ProductProjection(FOUR), decoder, anchors=30, random_state=0,
                                n_jobs=1)
    with pytest.warns(ConvergenceWarning, match="max_iter=5") as serial_warnings:
        serial.fit(spaces, y)
    monkeypatch.setattr(_work, "run_small_tasks", spy)
    with pytest.warns(ConvergenceWarning, match="max_iter=5"):
        clone(serial).set_params(n_jobs=None).fit(spaces, y)
    assert calls == [False, False]  # too little work to start processes for
    monkeypatch.setattr(_work, "MIN_ELEMENTS_IN_PROCESSES", 0)
    calls.clear()
    with pytest.warns(ConvergenceWarning, match="max_iter=5") as default_warnings:
        default = clone(serial).set_params(n_jobs=None).fit(spaces, y)
    assert calls == [False, True]
    assert len(default_warnings) == len(serial_warnings) == len(spaces)
    for name in spaces:
        np.testing.assert_array_equal(default.decoders_[name].coefs_[0],
                                      serial.decoders_[name].coefs_[0])
        assert default.decoders_[name].loss_curve_ == serial.decoders_[name].loss_curve_
        assert default.decoders_[name].solver_ == "lbfgs"


def test_a_learned_decoder_s_error_in_a_worker_process_reaches_the_caller(zoo, monkeypatch):
    spaces, y = zoo
    monkeypatch.setattr(_work, "MIN_ELEMENTS_IN_PROCESSES", 0)
    evaluator = StitchingEvaluator(ProductProjection(FOUR), ProductClassifier(4, alpha=-1),
                                   anchors=30, random_state=0)
    with pytest.raises(ValueError, match="'alpha' parameter of ProductClassifier.*Got -1"):
        evaluator.fit(spaces, y)


@pytest.mark.parametrize("n_jobs", [None, 2])
def test_compare_in_parallel_gives_the_serial_table(zoo, n_jobs, monkeypatch):
    """The default (each row's fits on threads, the learned decoders' L-BFGS fits in worker
    processes) and joblib's workers give the table of n_jobs=1 (everything one after the
    other), bit for bit."""
    spaces, y = zoo
    monkeypatch.setattr(_work, "MIN_ELEMENTS_IN_PROCESSES", 0)  # however small
    invariances = {name: est for name, est in default_invariances(y=y).items()
                   if name in ("absolute", "relative_cosine", "relative_l1", "product",
                               "product_mlp_sum", "orthogonal_standardized", "affine_ridge")}
    serial = compare_invariances(spaces, y, invariances, anchors=30, random_state=0, cv=2,
                                 n_jobs=1)
    parallel = compare_invariances(spaces, y, invariances, anchors=30, random_state=0, cv=2,
                                   n_jobs=n_jobs)
    pd.testing.assert_frame_equal(parallel, serial, check_exact=True)
    assert list(parallel["invariance"]) == list(invariances)


def test_compare_s_evaluators_fit_the_spaces_in_parallel_with_n_jobs(zoo, monkeypatch):
    """Each row's evaluator gets the comparison's n_jobs (its spaces fitted and scored in
    parallel), and the table is the serial one, bit for bit."""
    spaces, y = zoo
    invariances = {"absolute": None, "cosine": RelativeProjection("cosine"),
                   "affine": AffineAlignment()}
    serial = compare_invariances(spaces, y, invariances, metrics=["cka"], anchors=30,
                                 random_state=0)
    seen = []
    original = StitchingEvaluator._fit

    def recording(self, *args, **kwargs):
        seen.append(self.n_jobs)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(StitchingEvaluator, "_fit", recording)
    with joblib.parallel_config(backend="threading"):  # the evaluators run in this process
        parallel = compare_invariances(spaces, y, invariances, metrics=["cka"], anchors=30,
                                       random_state=0, n_jobs=2)
    assert seen == [2, 2, 2]
    pd.testing.assert_frame_equal(parallel, serial, check_exact=True)


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
    serial = compare_invariances(spaces, y, invariances, anchors=30, metrics=["cka"],
                                 random_state=0)
    serial_grid = _grid(spaces, y)
    with joblib.parallel_config(backend="dask"):
        distributed = compare_invariances(spaces, y, invariances, anchors=30, metrics=["cka"],
                                          random_state=0, n_jobs=-1)
        grid = _grid(spaces, y, n_jobs=-1)
    pd.testing.assert_frame_equal(distributed, serial, check_exact=True)
    np.testing.assert_array_equal(grid.cv_results_["mean_test_score"],
                                  serial_grid.cv_results_["mean_test_score"])
