"""The thread policy where it meets the projections and the evaluator: row cuts that make
compiled sums independent of the thread count, ``n_threads``, and how many threads a small or a
large piece of work gets inside an evaluation."""

import threading

import numpy as np
import pytest
from joblib import cpu_count
from sklearn import config_context
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin
from sklearn.linear_model import LogisticRegression
from threadpoolctl import threadpool_info, threadpool_limits

from skinvariance import ProductProjection, RelativeProjection, StitchingEvaluator, _parallel
from skinvariance._parallel import one_blas_thread_to_project, row_blocks, split_rows
from skinvariance.kernels import KernelEvaluator, pairwise_kernel
from skinvariance.kernels._numba import ROW_TILE
from skinvariance.projection import _assemble

needs_two_cpus = pytest.mark.skipif(cpu_count() < 2, reason="needs two CPUs")


def _blas_threads():
    return min(info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas")


@pytest.mark.parametrize("n_rows", [0, 1, 63, 64, 129, 1000, 1003, 4099])
@pytest.mark.parametrize("n_threads", [1, 2, 3, 8])
def test_thread_parts_start_at_multiples_of_the_row_tile(n_rows, n_threads):
    parts = split_rows(n_rows, n_threads, align=ROW_TILE)
    covered = np.concatenate([np.arange(n_rows)[part] for part in parts]) if parts else []
    np.testing.assert_array_equal(covered, np.arange(n_rows))
    assert all(part.start % ROW_TILE == 0 for part in parts)
    assert len(parts) <= max(1, n_threads)


@pytest.mark.parametrize("working_memory", [0.001, 0.005, 0.03])
def test_row_blocks_start_at_multiples_of_the_alignment(working_memory):
    blocks = list(row_blocks(1001, 8 * 9, working_memory=working_memory, align=4))
    assert len(blocks) > 1
    assert all(block.start % 4 == 0 for block in blocks)
    assert blocks[-1].stop == 1001
    # one block holding every row is not cut short
    assert [(b.start, b.stop) for b in row_blocks(1001, 8, align=4)] == [(0, 1001)]


@needs_two_cpus
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_compiled_sums_do_not_depend_on_threads_or_blocks(dtype, rng):
    """L1 sums are vectorised with re-association: a row's sum depends on whether it goes
    through the tiled loop or the remainder loop. Rows cut at multiples of the tile keep every
    row in the same loop, so the bits do not depend on the thread count or the block height
    (what lets the projection cache serve a value computed under another thread count)."""
    X, A = rng.normal(size=(1003, 61)).astype(dtype), rng.normal(size=(37, 61)).astype(dtype)
    results = []
    for n_threads in (1, 2, 3):
        for working_memory in (0.01, 0.05, 1024):
            with config_context(working_memory=working_memory):
                results.append(RelativeProjection("l1", n_threads=n_threads).fit(A).transform(X))
                results.append(ProductProjection(["l1", "linf"], n_threads=n_threads)
                               .fit(A).transform(X))
    for got in results[2::2]:
        np.testing.assert_array_equal(got, results[0])
    for got in results[3::2]:
        np.testing.assert_array_equal(got, results[1])


@needs_two_cpus
def test_n_threads_sets_the_threads_of_the_compiled_loops(monkeypatch, rng):
    kernels, normalisations = [], []
    original = _parallel.split_rows

    def recording(asked):
        def split_rows(n_rows, n_threads, **kwargs):
            asked.append(n_threads)
            return original(n_rows, n_threads, **kwargs)
        return split_rows

    monkeypatch.setattr("skinvariance.kernels._driver.split_rows", recording(kernels))
    monkeypatch.setattr(_assemble, "split_rows", recording(normalisations))
    X = rng.normal(size=(600, 8))
    # None: the BLAS limit in force (every core unless lowered), capped at the CPU count
    default = min(cpu_count(), _blas_threads())
    for n_threads, expected in ((1, {1}), (2, {2}), (None, {default})):
        for estimator in (ProductProjection(["l1", "linf"], n_threads=n_threads),
                          ProductProjection(["l1", "linf"], aggregate="sum",
                                            n_threads=n_threads),
                          RelativeProjection("l1", n_threads=n_threads)):
            kernels.clear()
            normalisations.clear()
            estimator.fit(X[:20]).transform(X)
            assert set(kernels) == expected
            if getattr(estimator, "aggregate", "concat") == "concat":
                # normalised by the kernels' own threads, each its rows: no round of its own
                assert set(normalisations) <= {1}
            else:
                assert set(normalisations) == expected
    kernels.clear()
    with threadpool_limits(1):  # None follows the limit in force
        RelativeProjection("linf").fit(X[:20]).transform(X)
    assert set(kernels) == {1}


@pytest.mark.parametrize("kernels", [["cosine", "l1", "linf", "minkowski"], ["cosine"]])
@pytest.mark.parametrize("n_threads", [1, 2])
def test_finish_sees_every_row_once_after_every_kernel(kernels, n_threads, rng):
    X, A = rng.normal(size=(600, 8)), rng.normal(size=(30, 8))
    expected = [pairwise_kernel(X, A, kernel) for kernel in kernels]
    outs = [np.full((600, 30), np.nan) for _ in kernels]
    seen, lock = [], threading.Lock()

    def finish(rows):
        for out, oracle in zip(outs, expected):  # every kernel has filled these rows
            np.testing.assert_allclose(out[rows], oracle[rows], rtol=1e-12, atol=1e-12)
        with lock:
            seen.append((rows.start, rows.stop, threading.get_ident()))

    evaluator = KernelEvaluator(A, kernels, n_threads=n_threads)
    evaluator.compute(X, outs, finish=finish)
    seen.sort()
    assert seen[0][0] == 0 and seen[-1][1] == 600
    assert all(stop == start for (_, stop, _), (start, _, _) in zip(seen, seen[1:]))
    parts = split_rows(600, evaluator.n_threads, align=ROW_TILE)  # n_threads <= the CPUs
    compiled_in_parts = len(parts) > 1 and kernels != ["cosine"]
    # one call per thread's part, on that thread (the first part's on the caller, the others'
    # on the pool); else one call for the block, on the caller
    assert len(seen) == (len(parts) if compiled_in_parts else 1)
    on_caller = [ident == threading.get_ident() for _, _, ident in seen]
    assert on_caller == [True] + [False] * (len(seen) - 1)


@pytest.mark.parametrize("estimator", [RelativeProjection(n_threads=0),
                                       ProductProjection(["l1"], n_threads=1.5)])
def test_a_bad_thread_count_is_refused(estimator, rng):
    name = type(estimator).__name__
    with pytest.raises(ValueError, match=f"The 'n_threads' parameter of {name} must be an int "
                                         r"in the range \[1, inf\) or None"):
        estimator.fit(rng.normal(size=(5, 3)))


@needs_two_cpus
def test_a_small_transform_gets_one_thread_a_large_one_every_core(monkeypatch):
    with threadpool_limits(2, user_api="blas"):
        with one_blas_thread_to_project(1000, 300, 384):
            assert _blas_threads() == 1
        assert _blas_threads() == 2
        monkeypatch.setattr(_parallel, "SMALL_TRANSFORM_OPERATIONS", 1000 * 300 * 384)
        with one_blas_thread_to_project(1000, 300, 384):
            assert _blas_threads() == 2


class _ThreadSpy(TransformerMixin, BaseEstimator):
    """A projection recording the BLAS threads it was fitted and applied with."""

    def fit(self, X, y=None):
        self.fit_threads_ = _blas_threads()
        return self

    def transform(self, X):
        _ThreadSpy.transform_threads.append((X.shape[0], _blas_threads()))
        return np.asarray(X)

    transform_threads = []


class _DecoderSpy(ClassifierMixin, BaseEstimator):
    def fit(self, X, y):
        _DecoderSpy.fit_threads.append(_blas_threads())
        self.model_ = LogisticRegression().fit(X, y)
        self.classes_ = self.model_.classes_
        return self

    def predict(self, X):
        return self.model_.predict(X)

    fit_threads = []


@needs_two_cpus
@pytest.mark.parametrize("n_jobs", [None, 1])
@pytest.mark.parametrize("large", [False, True])
def test_inside_the_evaluator_fits_get_one_thread_and_large_projections_every_core(
        large, n_jobs, monkeypatch, rng):
    """One after the other (n_jobs=1), a large projection gets every core; on the default
    threads, every unit runs on one BLAS thread (the threads are the cores)."""
    if large:
        monkeypatch.setattr(_parallel, "SMALL_TRANSFORM_OPERATIONS", 1)
    _ThreadSpy.transform_threads.clear()
    _DecoderSpy.fit_threads.clear()
    spaces = {name: rng.normal(size=(120, 5)) for name in "abc"}
    y = rng.integers(2, size=120)
    with threadpool_limits(2, user_api="blas"):
        evaluator = StitchingEvaluator(_ThreadSpy(), _DecoderSpy(), anchors=20,
                                       random_state=0, n_jobs=n_jobs).fit(spaces, y)
        evaluator.score(spaces, y)
        assert _blas_threads() == 2  # the limits are back
    assert all(p.fit_threads_ == 1 for p in evaluator.projections_.values())
    assert set(_DecoderSpy.fit_threads) == {1}
    full = {threads for rows, threads in _ThreadSpy.transform_threads if rows == 120}
    assert full == ({2} if large and n_jobs == 1 else {1})


class _MeetingDecoder(ClassifierMixin, BaseEstimator):
    """A decoder whose first fit waits (up to a minute, when ``wait``) for a second fit to
    start: the threads it saw, and whether the first fit met another."""

    def fit(self, X, y):
        cls = _MeetingDecoder
        with cls.lock:
            cls.threads.append(threading.get_ident())
            first = len(cls.threads) == 1
            if len(cls.threads) == 2:
                cls.second_started.set()
        if first and cls.wait:
            cls.met.append(cls.second_started.wait(timeout=60))
        self.model_ = LogisticRegression().fit(X, y)
        self.classes_ = self.model_.classes_
        return self

    def predict(self, X):
        return self.model_.predict(X)

    lock = threading.Lock()
    wait = True
    threads = []
    met = []
    second_started = threading.Event()


@pytest.mark.parametrize("blas_limit", [2, 1])
def test_by_default_the_fits_of_the_spaces_run_at_once_on_as_many_threads_as_blas_may_use(
        blas_limit, rng):
    """n_jobs=None: the decoders of the spaces are fitted on the threads BLAS may use (two
    fits at once under a limit of two), one after the other in the calling thread under a
    user's limit of one."""
    if blas_limit > cpu_count():
        pytest.skip("needs two CPUs")
    _MeetingDecoder.threads.clear()
    _MeetingDecoder.met.clear()
    _MeetingDecoder.second_started.clear()
    _MeetingDecoder.wait = blas_limit > 1
    spaces = {name: rng.normal(size=(60, 4)) for name in "abc"}
    y = rng.integers(2, size=60)
    with threadpool_limits(blas_limit, user_api="blas"):
        StitchingEvaluator(None, _MeetingDecoder(), anchors=10, random_state=0).fit(spaces, y)
    if blas_limit == 1:
        assert set(_MeetingDecoder.threads) == {threading.get_ident()}
        return
    assert _MeetingDecoder.met == [True]
    assert len(_MeetingDecoder.threads) == 3
    assert threading.get_ident() not in _MeetingDecoder.threads
