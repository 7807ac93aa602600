"""The one thread policy (skinvariance._parallel), as behaviour: how many threads the compiled
loops use, the one pool, one BLAS thread for small work, row blocks, and results that do not
depend on the number of threads."""

import os
import subprocess
import sys
import textwrap
import threading
import time
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import sklearn
import threadpoolctl
from _helpers import PROPERTY
from hypothesis import given
from hypothesis import strategies as st
from joblib import Parallel, cpu_count, delayed, parallel_config
from threadpoolctl import threadpool_info, threadpool_limits

from skinvariance import ProductProjection, RelativeProjection, _parallel
from skinvariance._parallel import (
    SMALL_WORK_ELEMENTS,
    compiled_threads,
    one_blas_thread,
    one_thread_of_every_pool,
    row_blocks,
    run_parts,
    run_small_tasks,
    spare_threads,
    split_rows,
    thread_pool,
)
from skinvariance.kernels import pairwise_kernel

# -- compiled_threads --------------------------------------------------------------------------


def test_compiled_threads_follow_the_blas_limit_in_force():
    with threadpool_limits(1):
        assert compiled_threads() == 1
    with threadpool_limits(2):
        assert compiled_threads() == min(2, cpu_count())
    # One setting governs both: no limit leaves every CPU to BLAS and to the compiled loops.
    blas = [info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas"]
    assert compiled_threads() == min([cpu_count(), *blas])


def test_an_explicit_thread_count_is_capped_at_the_cpu_count():
    assert compiled_threads(10**6) == cpu_count()
    assert compiled_threads(1) == 1
    assert compiled_threads(0) == 1
    with threadpool_limits(1):  # an explicit count is the caller's decision
        assert compiled_threads(cpu_count()) == cpu_count()


def test_compiled_threads_in_a_joblib_worker_follow_its_inner_limit():
    with parallel_config(backend="loky", inner_max_num_threads=1):
        counts = Parallel(n_jobs=2)(delayed(compiled_threads)() for _ in range(2))
    assert counts == [1, 1]


# -- thread_pool -------------------------------------------------------------------------------


def test_thread_pool_is_one_pool_created_once(monkeypatch):
    created = []

    class CountingPool(ThreadPoolExecutor):
        def __init__(self, *args, **kwargs):
            created.append(kwargs)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(_parallel, "ThreadPoolExecutor", CountingPool)
    monkeypatch.setattr(_parallel, "_pool", None)
    start = threading.Barrier(8, timeout=30)

    def first_call(_):
        start.wait()  # eight threads ask for the pool at once
        return thread_pool()

    with ThreadPoolExecutor(8) as callers:
        pools = list(callers.map(first_call, range(8)))
    try:
        assert len(created) == 1 and created[0]["max_workers"] == cpu_count()
        assert all(pool is pools[0] for pool in pools)
        assert thread_pool() is pools[0] and thread_pool() is thread_pool()
    finally:
        pools[0].shutdown()


def test_a_forked_child_gets_its_own_pool():
    """After fork the parent's pool has no threads in the child: the child makes a new one,
    once; the parent keeps its own. Run in a fresh interpreter, where forking is safe."""
    script = textwrap.dedent(
        """
        import os, warnings
        warnings.simplefilter("ignore", DeprecationWarning)  # fork of a threaded process
        from skinvariance import _parallel

        parent = _parallel.thread_pool()
        assert parent.submit(os.getpid).result(timeout=30) == os.getpid()  # threads running
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:
            try:
                child = _parallel.thread_pool()
                works = child.submit(os.getpid).result(timeout=30) == os.getpid()
                once = _parallel.thread_pool() is child
                os.write(write, f"{child is not parent} {works} {once}".encode())
            finally:
                os._exit(0)
        os.close(write)
        print(os.read(read, 100).decode())
        os.waitpid(pid, 0)
        print(_parallel.thread_pool() is parent)
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120, check=True)
    assert done.stdout.split() == ["True", "True", "True", "True"], done.stderr


# -- one_blas_thread ---------------------------------------------------------------------------


def _thread_counts(user_api=None):
    """{library: threads} of the thread pools threadpoolctl sees (BLAS, OpenMP)."""
    return {info["filepath"]: info["num_threads"] for info in threadpool_info()
            if user_api in (None, info["user_api"])}


def _release_openblas(force=False):
    """threadpoolctl >= 3.8 lets one thread at a time change a pthreads OpenBLAS; let go."""
    clear = getattr(threadpoolctl.OpenBLASController, "clear_controlling_thread", None)
    if clear is not None:
        clear(force=force)


@pytest.fixture
def two_threads():
    """Every pool at two threads (whatever the machine), as a process-wide setting that no
    thread holds; the limits as they were afterwards."""
    controller = threadpoolctl.ThreadpoolController()
    original = [lib.num_threads for lib in controller.lib_controllers]
    controller.limit(limits=2)  # not a context: nothing to undo when this thread is done
    _release_openblas()
    counts = _thread_counts()
    assert set(counts.values()) == {2}
    yield counts
    _release_openblas(force=True)
    for lib, num_threads in zip(controller.lib_controllers, original, strict=True):
        lib.set_num_threads(num_threads)
    _release_openblas()


def test_small_work_runs_with_one_blas_thread_and_restores_the_limits(two_threads):
    blas = {path: n for path, n in two_threads.items() if path in _thread_counts("blas")}
    with one_blas_thread(1_000):
        assert set(_thread_counts("blas").values()) == {1}
        with one_blas_thread(10):  # nested
            assert set(_thread_counts("blas").values()) == {1}
        assert set(_thread_counts("blas").values()) == {1}  # the outer one is still inside
    assert _thread_counts("blas") == blas
    with pytest.raises(RuntimeError, match="in the middle"):
        with one_blas_thread(10):
            raise RuntimeError("in the middle")
    assert _thread_counts() == two_threads


def test_large_work_keeps_every_thread(two_threads):
    with one_blas_thread(SMALL_WORK_ELEMENTS):
        assert _thread_counts() == two_threads
    with one_blas_thread(SMALL_WORK_ELEMENTS - 1):
        assert set(_thread_counts("blas").values()) == {1}


def test_outside_the_main_thread_nothing_is_limited(two_threads):
    """joblib's threading backend: limits entered and left by several threads at once would
    restore each other's values (the last one out could leave one thread for good)."""
    seen = []

    def work():
        with one_blas_thread(10):
            seen.append(_thread_counts("blas"))

    with parallel_config(backend="threading"):
        Parallel(n_jobs=3)(delayed(work)() for _ in range(6))
    blas = {path: n for path, n in two_threads.items() if path in _thread_counts("blas")}
    assert seen == [blas] * 6
    assert _thread_counts() == two_threads


def test_one_thread_of_every_pool_in_the_main_thread_only(two_threads):
    """The small clusterings of the matching: every pool (BLAS and OpenMP) at one thread
    inside, the limits as they were after; in another thread nothing changes."""
    with one_thread_of_every_pool():
        assert set(_thread_counts().values()) == {1}
    assert _thread_counts() == two_threads
    seen = []

    def work():
        # OpenMP's thread count is per thread: a new thread starts from the machine's
        # default (its cores, or OMP_NUM_THREADS), not from the main thread's setting
        before = _thread_counts()
        with one_thread_of_every_pool():
            seen.append((before, _thread_counts()))

    worker = threading.Thread(target=work)
    worker.start()
    worker.join()
    [(before, inside)] = seen
    assert inside == before
    blas = _thread_counts("blas")  # process-wide: the fixture's two threads
    assert {path: inside[path] for path in blas} == blas == {path: 2 for path in blas}
    assert _thread_counts() == two_threads


def test_a_comparison_in_one_thread_leaves_the_other_thread_s_blas_threads(two_threads):
    """Two user threads: one runs a comparison (many small fits, each under a scoped limit),
    the other reads its BLAS threads before and after; afterwards it sees what it saw before,
    and the process's limits are the ones the user set."""
    from skinvariance import compare_invariances

    rng = np.random.default_rng(0)
    latent = rng.normal(size=(120, 4))
    spaces = {name: latent @ rng.normal(size=(4, 6)) for name in "abc"}
    y = (latent[:, 0] > 0).astype(int)
    compared = threading.Event()
    seen = {}

    def compare():
        compare_invariances(spaces, y, metrics=["cka"], anchors=20, random_state=0)
        compared.set()

    def other():
        seen["before"] = _thread_counts("blas")
        assert compared.wait(timeout=300)
        seen["after"] = _thread_counts("blas")

    threads = [threading.Thread(target=other), threading.Thread(target=compare)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert compared.is_set()
    assert seen["after"] == seen["before"]
    assert set(seen["after"].values()) == {2}
    assert _thread_counts() == two_threads


# -- run_small_tasks ---------------------------------------------------------------------------


def _where(i, wait=None):
    """Where task ``i`` ran: its index, process, thread and BLAS threads; with ``wait`` (an
    Event), the first task waits (up to a minute) for the second to start."""
    if wait is not None:
        if i == 1:
            wait.set()
        elif i == 0:
            assert wait.wait(timeout=60), "the second task never started beside the first"
    return i, os.getpid(), threading.get_ident(), set(_thread_counts("blas").values())


@pytest.mark.skipif(cpu_count() < 2, reason="needs two CPUs")
def test_small_tasks_run_at_once_on_one_blas_thread_each_by_default(two_threads):
    second_started = threading.Event()
    found = run_small_tasks(delayed(_where)(i, second_started) for i in range(5))
    assert [i for i, *_ in found] == list(range(5))  # the order of the tasks
    assert {pid for _, pid, _, _ in found} == {os.getpid()}
    threads = {thread for _, _, thread, _ in found}
    assert threading.get_ident() not in threads and len(threads) == 2
    assert all(blas == {1} for *_, blas in found)
    assert _thread_counts() == two_threads  # restored


@pytest.mark.skipif(cpu_count() < 2, reason="needs two CPUs")
def test_small_tasks_holding_the_gil_run_in_worker_processes_by_default(two_threads):
    found = run_small_tasks((delayed(_where)(i) for i in range(5)), holds_the_gil=True)
    assert [i for i, *_ in found] == list(range(5))  # the order of the tasks
    workers = {pid for _, pid, _, _ in found}
    assert os.getpid() not in workers and len(workers) <= 2
    assert all(blas == {1} for *_, blas in found)
    assert _thread_counts() == two_threads  # nothing changed here


@pytest.mark.parametrize("holds_the_gil", [False, True])
@pytest.mark.parametrize("how", ["n_jobs=1", "user limit of one", "another thread"])
def test_small_tasks_run_one_after_the_other_in_the_calling_thread(how, holds_the_gil,
                                                                   two_threads):
    blas = {n for path, n in two_threads.items() if path in _thread_counts("blas")}
    tasks = [delayed(_where)(i) for i in range(3)]
    if how == "n_jobs=1":
        found = run_small_tasks(tasks, n_jobs=1, holds_the_gil=holds_the_gil)
    elif how == "user limit of one":
        with threadpool_limits(1, user_api="blas"):
            found = run_small_tasks(tasks, holds_the_gil=holds_the_gil)
        blas = {1}
    else:
        with ThreadPoolExecutor(1) as executor:
            found = executor.submit(run_small_tasks, tasks,
                                    holds_the_gil=holds_the_gil).result()
    caller = {thread for _, _, thread, _ in found}
    assert len(caller) == 1 and [i for i, *_ in found] == [0, 1, 2]
    assert (threading.get_ident() in caller) == (how != "another thread")
    assert all(seen == blas for *_, seen in found)  # nothing limited, nothing changed


def _borrowing(i, started, recorded):
    """Task 0 of two: the threads it may borrow while task 1 runs, once task 1 has finished
    (waiting up to a minute for its thread to come back), and again asking for five."""
    if i == 1:
        started.set()
        assert recorded.wait(timeout=60), "the first task never recorded"
        return None
    assert started.wait(timeout=60), "the second task never started beside the first"
    with spare_threads(1) as while_running:
        pass
    recorded.set()
    deadline = time.monotonic() + 60
    while True:
        with spare_threads(1) as after:
            if after or time.monotonic() > deadline:
                break
        time.sleep(0.001)
    with spare_threads(5) as asking_five, spare_threads(1) as then_one_more:
        pass
    return while_running, after, asking_five, then_one_more


@pytest.mark.skipif(cpu_count() < 2, reason="needs two CPUs")
def test_a_task_borrows_the_threads_of_its_batch_that_no_task_holds(two_threads):
    started, recorded = threading.Event(), threading.Event()
    found = run_small_tasks(delayed(_borrowing)(i, started, recorded) for i in range(2))
    # two threads: none spare while the other task runs, its one once it has finished, and
    # no more than that (this task holds the other), lent until given back
    assert found == [(0, 1, 1, 0), None]
    # outside a batch (here, in joblib's worker processes, one after the other): none
    with spare_threads(1) as here:
        assert here == 0
    elsewhere = [run_small_tasks([delayed(_spare)()], n_jobs=n_jobs) for n_jobs in (1, 2)]
    assert elsewhere == [[0], [0]]


def _spare():
    with spare_threads(1) as n_lent:
        return n_lent


def test_small_tasks_follow_a_joblib_config_asking_for_several_jobs():
    with parallel_config(backend="loky", n_jobs=2):
        found = run_small_tasks(delayed(_where)(i) for i in range(4))
    assert [i for i, *_ in found] == list(range(4))
    assert os.getpid() not in {pid for _, pid, _, _ in found}  # joblib's worker processes


def _working_memory(i):
    return i, sklearn.get_config()["working_memory"]


@pytest.mark.parametrize("options", [{}, {"holds_the_gil": True}, {"n_jobs": 1},
                                     {"n_jobs": 2}, {"n_jobs": 2, "shared_memory": True}])
def test_small_tasks_see_the_caller_s_scikit_learn_configuration(options):
    """scikit-learn's configuration is per thread: a new thread or process sees its
    defaults unless the configuration is passed on."""
    assert sklearn.get_config()["working_memory"] != 7
    with sklearn.config_context(working_memory=7):
        found = run_small_tasks((delayed(_working_memory)(i) for i in range(4)), **options)
    assert found == [(i, 7) for i in range(4)]


def _warns(i):
    warnings.warn(f"task {i}", RuntimeWarning, stacklevel=1)
    return i


def test_warnings_raised_in_worker_processes_are_raised_again_in_the_caller():
    with pytest.warns(RuntimeWarning) as record:
        found = run_small_tasks((delayed(_warns)(i) for i in range(3)), holds_the_gil=True)
    assert found == [0, 1, 2]
    assert sorted(str(w.message) for w in record) == ["task 0", "task 1", "task 2"]
    assert {w.filename for w in record} == {__file__}  # where the task raised it
    # and the caller's filters hold in the workers
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.filterwarnings("ignore", "task", RuntimeWarning)
        assert run_small_tasks((delayed(_warns)(i) for i in range(3)),
                               holds_the_gil=True) == [0, 1, 2]


def _record(i, seen):
    seen.append(_where(i))


def test_small_tasks_sharing_memory_stay_in_the_process_on_one_blas_thread(two_threads):
    """An int n_jobs with shared_memory: joblib's threads, which fill what they share."""
    seen = []
    found = run_small_tasks((delayed(_record)(i, seen) for i in range(4)), n_jobs=2,
                            shared_memory=True)
    assert found == [None] * 4 and sorted(i for i, *_ in seen) == [0, 1, 2, 3]
    assert {pid for _, pid, _, _ in seen} == {os.getpid()}
    assert threading.get_ident() not in {thread for _, _, thread, _ in seen}
    assert all(blas == {1} for *_, blas in seen)
    assert _thread_counts() == two_threads


# -- row_blocks, split_rows, run_parts ---------------------------------------------------------


def _assert_contiguous_cover(slices, n_rows):
    """The slices cover rows 0 to n_rows - 1 once each, in order."""
    stops = [part.stop for part in slices]
    starts = [0, *stops[:-1]][: len(slices)]
    assert [(part.start, part.stop) for part in slices] == list(zip(starts, stops, strict=True))
    assert (slices[-1].stop if slices else 0) == n_rows
    assert all(part.step is None and part.stop > part.start for part in slices)


@PROPERTY
@given(st.integers(0, 5_000), st.integers(1, 10**6), st.floats(0.001, 16.0),
       st.integers(1, 5_000))
def test_row_blocks_cover_every_row_once_within_max_rows(n_rows, row_bytes, memory, max_rows):
    with warnings.catch_warnings():
        # scikit-learn says so when one row needs more than the budget (then blocks of 1 row)
        warnings.filterwarnings("ignore", message="Could not adhere to working_memory")
        blocks = list(row_blocks(n_rows, row_bytes, working_memory=memory, max_rows=max_rows))
    _assert_contiguous_cover(blocks, n_rows)
    heights = [rows.stop - rows.start for rows in blocks]
    assert all(1 <= height <= max_rows for height in heights)
    # Every block but the last has the height that fits the memory budget (at least one row).
    expected = max(1, min(int(memory * 2**20 // row_bytes), max_rows, n_rows))
    assert all(height == expected for height in heights[:-1])


@PROPERTY
@given(st.integers(0, 10_000), st.integers(1, 64), st.integers(1, 500))
def test_split_rows_cover_every_row_once(n_rows, n_threads, min_rows):
    parts = split_rows(n_rows, n_threads, min_rows=min_rows)
    _assert_contiguous_cover(parts, n_rows)
    assert len(parts) <= n_threads
    assert len(parts) == 1 or all(part.stop - part.start >= min_rows for part in parts)


@PROPERTY
@given(st.integers(0, 10_000), st.integers(1, 64), st.integers(1, 500), st.integers(1, 8))
def test_split_rows_inner_bounds_fall_on_whole_tiles(n_rows, n_threads, min_rows, align):
    parts = split_rows(n_rows, n_threads, min_rows=min_rows, align=align)
    _assert_contiguous_cover(parts, n_rows)
    assert len(parts) <= n_threads
    assert all(part.start % align == 0 for part in parts)


def test_run_parts_runs_the_first_part_here_and_the_others_on_the_pool():
    ran = []

    def record(part):
        ran.append((part, threading.current_thread().name))

    parts = split_rows(1_000, 4, min_rows=10)
    run_parts(record, parts)
    assert sorted((part.start, part.stop) for part, _ in ran) == [(p.start, p.stop) for p in parts]
    where = {part.start: name for part, name in ran}
    assert where.pop(0) == threading.current_thread().name
    assert all(name.startswith("skinvariance") for name in where.values())
    ran.clear()
    run_parts(record, [slice(0, 5)])  # a single part runs in the caller's thread
    assert ran == [(slice(0, 5), threading.current_thread().name)]

    def failing(part):
        if part.start > 0:
            raise ValueError(f"part {part.start}")

    with pytest.raises(ValueError, match="part 250"):
        run_parts(failing, parts)


# -- results do not depend on the number of threads --------------------------------------------


def _on_every_policy(compute, monkeypatch):
    """``compute()`` with the machine's defaults, on four threads whatever the machine (four
    CPUs and a BLAS limit of four, which threadpoolctl sets even on fewer cores), and under a
    limit of one thread."""
    thread_pool()  # created before, with the real CPU count
    default = compute()
    with monkeypatch.context() as patch, threadpool_limits(4):
        patch.setattr(_parallel, "cpu_count", lambda: 4)
        assert compiled_threads() == 4
        assert len(split_rows(4_096, compiled_threads())) == 4
        four = compute()
    with threadpool_limits(1):
        assert compiled_threads() == 1
        one = compute()
    return default, four, one


# 5,003 rows: a block of 4,096 rows (the tallest) and one of 907, each split over four threads;
# the 907 rows into parts of 226 and 227 rows, not multiples of the compiled loops' 4-row tiles.
N_ROWS = 5_003


@pytest.fixture
def many_rows(rng):
    blocks = [(rows.start, rows.stop) for rows in row_blocks(N_ROWS, 2 * 16 * 8)]
    assert blocks == [(0, 4_096), (4_096, N_ROWS)]
    assert [part.stop - part.start for part in split_rows(907, 4)] == [226, 227, 227, 227]
    X = rng.normal(size=(N_ROWS, 16))
    return X, X[rng.choice(N_ROWS, size=9, replace=False)] + 0.1


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kernel", ["linf", "minkowski", "l1", "cosine", "euclidean", "angular"])
def test_pairwise_kernel_is_the_same_on_one_thread_and_on_four(kernel, dtype, many_rows,
                                                                monkeypatch):
    X, A = (Z.astype(dtype) for Z in many_rows)
    default, four, one = _on_every_policy(lambda: pairwise_kernel(X, A, kernel, p=3.0),
                                          monkeypatch)
    _assert_same(one, default, kernel, dtype)
    _assert_same(one, four, kernel, dtype)


def _assert_same(one, many, kernel, dtype):
    if kernel in ("linf", "minkowski", "l1"):
        # Each row is computed alone, in order; threads split blocks on whole row tiles, so a
        # row is summed the same way (in a tile or in the tail) whatever the thread count.
        np.testing.assert_array_equal(one, many)
    else:
        # Matrix products: BLAS's threads may change the order of a sum.
        tolerance = 1e-5 if dtype == np.float32 else 1e-12
        np.testing.assert_allclose(one, many, rtol=tolerance, atol=tolerance)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    ("estimator", "kernel"),
    [
        (RelativeProjection("linf", center=True, normalize="layer"), "linf"),
        (RelativeProjection("minkowski", p=3.0, normalize="l2"), "minkowski"),
        (RelativeProjection("cosine", scale=True), "cosine"),
        (ProductProjection(["linf", ("m", RelativeProjection("minkowski", p=3.0))],
                           aggregate="sum"), "linf"),
        (ProductProjection(["cosine", "euclidean", "l1", "linf"]), "cosine"),
    ],
    ids=["relative-linf", "relative-minkowski", "relative-cosine", "product-compiled",
         "product-four"],
)
def test_projections_are_the_same_on_one_thread_and_on_four(estimator, kernel, dtype,
                                                            many_rows, monkeypatch):
    X, A = (Z.astype(dtype) for Z in many_rows)
    estimator.fit(A)
    default, four, one = _on_every_policy(lambda: estimator.transform(X), monkeypatch)
    _assert_same(one, default, kernel, dtype)
    _assert_same(one, four, kernel, dtype)
