"""The one thread policy of the package, and how work is cut into row blocks.

Three kinds of parallelism meet in this package, and they must not multiply:

- **BLAS threads** (NumPy's and SciPy's OpenBLAS or MKL) inside every matrix product;
- **the compiled kernels' threads**: the L1 / L-infinity / Minkowski loops and the row
  normalisations are numba functions that release the GIL, run on one pool of Python threads
  created once per process (:func:`thread_pool`);
- **joblib workers** (``n_jobs``) across spaces, pairs of spaces, folds and invariances.

The policy:

1. A large single operation (a projection of many rows, a big matrix product) uses every
   core: BLAS's own threads for matrix products, the pool for the compiled loops.
2. Many small fits (the decoders and alignments of a stitching evaluation or an invariance
   comparison) run with **one** BLAS thread each. Threads spin-waiting over hundreds of tiny
   products cost far more than they bring: on a 2-core machine, a comparison ran ten times
   slower with two BLAS threads than with one, and one logistic fit of 9,000 x 384 rows
   took 4.0 s with two against 1.4 s with one. Their parallelism comes from running several
   at once (:func:`run_small_tasks`): by default on as many threads as BLAS may use, each
   fit on one BLAS thread (two such fits at once took 1.6 s: the products release the GIL),
   and fits that hold the GIL (SciPy's L-BFGS-B step) on as many of joblib's worker
   processes, one BLAS thread each; with an explicit ``n_jobs`` (or an outer
   :func:`joblib.parallel_config` asking for more than one job, a Dask backend included) on
   joblib's workers. Wherever they run, the tasks see the caller's scikit-learn
   configuration and warning filters (scikit-learn's :class:`~sklearn.utils.parallel.Parallel`
   passes them on). A projection inside such a
   task, run alone, is judged by its own size: a large one still gets every core. The limit
   is :func:`one_blas_thread`, scoped to the ``with`` block of one unit of work and entered
   at one layer only, the stitching tasks (``stitching/_work.py``), or around the threads of
   :func:`run_small_tasks`: it is threadpoolctl's own, restored on the way out, so nothing
   outlives the call. (One estimator also enters it around its own solver:
   :class:`~skinvariance.LogisticClassifier`, whose BLAS work is the solver's vector
   operations while its compiled loops take the cores.)
   The threads of such a batch are shared out as its tasks finish: a task's compiled loops
   may borrow, for one short step, the batch's threads that no task holds at that moment
   (:func:`spare_threads`), so that the last fit of a batch, alone, does not leave the other
   cores idle. :class:`~skinvariance.LogisticClassifier` borrows at each loss evaluation
   (its result does not depend on the number of threads).
3. Nested parallelism never multiplies threads: the compiled loops use no more threads than
   the BLAS limit in force (:func:`compiled_threads`), which joblib lowers inside its workers and
   :func:`threadpoolctl.threadpool_limits` lowers for a user, so one setting governs both.

Rows are cut at multiples of the compiled loops' row tile (blocks of a projection, parts handed
to threads: ``align``), so that a loop which tiles rows treats every row the same way whatever
the number of threads or the block height: its results do not depend on either.
"""

import functools
import os
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, nullcontext

import numpy as np
from joblib import cpu_count, effective_n_jobs, parallel_config
from sklearn.utils.parallel import Parallel, delayed
from threadpoolctl import ThreadpoolController

from ._compat import get_chunk_n_rows

__all__ = [
    "MAX_BLOCK_ROWS",
    "compiled_threads",
    "one_blas_thread",
    "one_blas_thread_to_project",
    "one_thread_of_every_pool",
    "row_blocks",
    "run_parts",
    "run_small_tasks",
    "spare_threads",
    "split_rows",
    "thread_pool",
]

#: The tallest row block: taller ones make no kernel faster, only the temporaries larger.
MAX_BLOCK_ROWS = 4096
#: The smallest share of a block handed to one thread: below this, thread overhead dominates.
MIN_ROWS_PER_THREAD = 64
#: Work on fewer elements than this (rows x features of a fit's input) counts as small: it
#: runs with one BLAS thread (2**24 float64 values are 128 MiB, a fit of seconds).
SMALL_WORK_ELEMENTS = 2**24
#: A projection of fewer multiply-adds than this (rows x anchors x features) counts as small
#: (about 0.3 s on one core): below it, a second thread saved little on an idle 2-core machine
#: and cost up to twice the time on a loaded one (benchmarks/results/search.md).
SMALL_TRANSFORM_OPERATIONS = 2**30

_lock = threading.Lock()
_pool = None
_pool_pid = None
_controller = None
#: The batch of :func:`run_small_tasks` whose task the current thread runs, if any: set around
#: each task by the thread that runs it, for :func:`spare_threads`.
_running = threading.local()


def row_blocks(n_rows, row_bytes, *, working_memory=None, max_rows=MAX_BLOCK_ROWS, align=1):
    """Slices cutting ``n_rows`` rows into blocks whose temporaries fit in memory.

    Block height follows scikit-learn's ``working_memory`` (see :func:`sklearn.set_config`)
    given the bytes one row needs, at least one row and at most ``max_rows`` rows per block
    (4,096 by default: taller blocks make no kernel faster, only the temporaries larger).

    Parameters
    ----------
    n_rows : int
        Rows to cover.
    row_bytes : int
        Bytes of temporary memory one row of a block needs.
    working_memory : float, default=None
        MiB per block; ``None`` uses scikit-learn's configuration (1024 by default).
    max_rows : int, default=4096
        The tallest block.
    align : int, default=1
        Unless one block holds every row, the height is rounded down to a multiple of this
        (never below it), so that blocks start at multiples of it (the projections pass the
        row tile of the compiled loops, as ``split_rows`` does).

    Yields
    ------
    rows : slice
        The rows of the next block.

    Examples
    --------
    >>> from skinvariance.kernels import row_blocks
    >>> [(rows.start, rows.stop) for rows in row_blocks(10, 2**19, working_memory=2)]
    [(0, 4), (4, 8), (8, 10)]
    """
    height = get_chunk_n_rows(
        row_bytes=max(int(row_bytes), 1),
        max_n_rows=max(min(n_rows, max_rows), 1),
        working_memory=working_memory,
    )
    if align > 1 and height < n_rows:
        height = max(align, height - height % align)
    for start in range(0, n_rows, height):
        yield slice(start, min(start + height, n_rows))


def _threadpool_controller():
    """threadpoolctl's view of the loaded thread pools, inspected once per process."""
    global _controller
    if _controller is None:
        _controller = ThreadpoolController()
    return _controller


def blas_threads():
    """The number of threads BLAS may use now (the limit in force), or the CPU count."""
    libraries = _threadpool_controller().select(user_api="blas").lib_controllers
    if not libraries:
        return cpu_count()
    return max(1, min(library.num_threads for library in libraries))


def compiled_threads(n_threads=None):
    """Threads for the compiled loops.

    ``n_threads=None`` follows the BLAS limit in force (lowered by joblib inside its workers
    and by :func:`threadpoolctl.threadpool_limits`), so that nested parallelism does not
    multiply threads; an int is capped at the CPU count.
    """
    if n_threads is None:
        return max(1, min(cpu_count(), blas_threads()))
    return max(1, min(int(n_threads), cpu_count()))


def thread_pool():
    """The process's pool of threads for the compiled loops, created once (again after fork)."""
    global _pool, _pool_pid
    with _lock:
        if _pool is None or _pool_pid != os.getpid():
            _pool = ThreadPoolExecutor(max_workers=cpu_count(),
                                       thread_name_prefix="skinvariance")
            _pool_pid = os.getpid()
        return _pool


def split_rows(n_rows, n_threads, *, min_rows=MIN_ROWS_PER_THREAD, align=1):
    """Up to ``n_threads`` contiguous slices of ``n_rows`` rows, none below ``min_rows``.

    Inner boundaries fall on multiples of ``align``: a compiled loop that treats rows in tiles
    of ``align`` then sees the same tiles whatever the number of threads, so its results do
    not depend on it (a row summed in a tile and one summed alone may round differently).
    """
    n_parts = max(1, min(n_threads, n_rows // min_rows))
    bounds = np.linspace(0, n_rows, n_parts + 1).astype(int)
    bounds[1:-1] -= bounds[1:-1] % align
    return [slice(lo, hi) for lo, hi in zip(bounds[:-1], bounds[1:]) if hi > lo]


def run_parts(function, parts):
    """``function(part)`` for every part: the first in the calling thread, the others on the
    shared pool.

    ``function`` must release the GIL for the parts to run at once (the compiled loops do),
    and must not itself wait on the pool.
    """
    futures = [thread_pool().submit(function, part) for part in parts[1:]]
    function(parts[0])  # in this thread, which would otherwise only wait
    for future in futures:
        future.result()


def one_blas_thread(n_elements, *, small_below=None):
    """One BLAS thread for the duration of a small fit; no limit for a large one.

    A context manager: threadpoolctl's limit (as :func:`threadpoolctl.threadpool_limits`)
    restricted to BLAS, scoped to the ``with`` block that enters it (as scikit-learn's
    k-means does around its loops), so that the previous limits are restored on the way out.
    Only the stitching tasks enter it (``skinvariance.stitching._work``): one layer, around
    each small unit of work; and :class:`~skinvariance.LogisticClassifier` around its
    solver, after it has decided its compiled loops' threads. Only the main thread limits:
    in any other thread (joblib's threading backend, a user's thread) nothing is changed.

    Parameters
    ----------
    n_elements : int
        Size of the work: a fit's input (rows x features), or the multiply-adds of a
        projection (rows x anchors x features).
    small_below : int, default=None
        Below this size the work counts as small; None means ``SMALL_WORK_ELEMENTS`` (see
        :func:`one_blas_thread_to_project` for a projection).

    Returns
    -------
    context : context manager
    """
    if n_elements >= (SMALL_WORK_ELEMENTS if small_below is None else small_below):
        return nullcontext()
    if threading.current_thread() is not threading.main_thread():
        # A shared BLAS pool has one limit for the whole process: limits entered and left by
        # several threads at once (joblib's threading backend) restore each other's values,
        # and the last one out could leave one thread for good. Other threads go unlimited.
        return nullcontext()
    # threadpoolctl's own scoped limit, from the controller inspected once per process (a new
    # one reads the process's loaded libraries anew: 25 ms, more than many small fits take).
    return _threadpool_controller().limit(limits=1, user_api="blas")


def one_blas_thread_to_project(n_samples, n_anchors, n_features):
    """:func:`one_blas_thread` for a projection of that shape: small below
    ``SMALL_TRANSFORM_OPERATIONS`` multiply-adds, every core above."""
    return one_blas_thread(n_samples * n_anchors * n_features,
                           small_below=SMALL_TRANSFORM_OPERATIONS)


def one_thread_of_every_pool():
    """One thread of every pool, BLAS *and* OpenMP, for the duration of a small clustering.

    A context manager, as :func:`one_blas_thread` (scoped, entered only from the main thread:
    in any other thread nothing is changed), for work whose own loops run on OpenMP: a small
    k-means's threads spin-wait between its many short iterations (on a loaded 2-core machine
    30 clusterings of 1,750 x 32 rows took 40 s with BLAS alone limited, 0.7 s with both).
    Entered by the matching without known pairs (``skinvariance.matching._unpaired``).

    Returns
    -------
    context : context manager
    """
    if threading.current_thread() is not threading.main_thread():
        return nullcontext()  # the reason is :func:`one_blas_thread`'s
    return _threadpool_controller().limit(limits=1)


class _SharedThreads:
    """The threads of one batch of :func:`run_small_tasks`, shared out as its tasks run: each
    running task holds one, and a task's compiled loops may borrow the ones no task holds.

    ``idle`` counts the threads neither held nor lent; it may fall below zero for one short
    step, when a task starts while a borrower still has the thread it will give back.
    """

    def __init__(self, n_threads):
        self._lock = threading.Lock()
        self.idle = n_threads

    def release(self, n=1):
        """Threads a task held, or lent ones, back with the idle."""
        with self._lock:
            self.idle += n

    def lend(self, n_wanted):
        """Up to ``n_wanted`` idle threads, now counted as lent (:meth:`release` them)."""
        with self._lock:
            n = max(0, min(n_wanted, self.idle))
            self.idle -= n
            return n

    def holding_a_thread(self, function):
        """``function`` as a task of this batch: it holds one thread while it runs, and its
        compiled loops see the batch (:func:`spare_threads`)."""
        @functools.wraps(function)
        def task(*args, **kwargs):
            with self._lock:
                self.idle -= 1
            outer, _running.batch = getattr(_running, "batch", None), self
            try:
                return function(*args, **kwargs)
            finally:
                _running.batch = outer
                self.release()
        return task


@contextmanager
def spare_threads(n_wanted):
    """Up to ``n_wanted`` more threads for the compiled loops of one short step: the threads
    of the :func:`run_small_tasks` batch running the current task that no task holds now.

    A context manager: the number lent, for the ``with`` block, given back on the way out; 0
    outside such a batch (in the calling thread of the package's functions, in joblib's
    workers, with an int ``n_jobs``), where the caller's own threads are all it may use. Only
    loops whose result does not depend on their threads may borrow (as
    :class:`~skinvariance.LogisticClassifier`'s loss does), and only for steps short enough
    that a task starting meanwhile waits little for its thread (a loss evaluation: a few
    milliseconds).

    Parameters
    ----------
    n_wanted : int
        The most threads to borrow.

    Yields
    ------
    n_lent : int
    """
    batch = getattr(_running, "batch", None)
    n_lent = batch.lend(n_wanted) if batch is not None and n_wanted > 0 else 0
    try:
        yield n_lent
    finally:
        if n_lent:
            batch.release(n_lent)


def run_small_tasks(tasks, n_jobs=None, *, shared_memory=False, holds_the_gil=False):
    """The results of small units of work (:func:`joblib.delayed` calls), in order.

    The fits of one stitching evaluation (a decoder per space, an alignment per pair), the
    scores of its encoders, the similarity measures of its pairs: units of work that each
    run best on one BLAS thread.

    Parameters
    ----------
    tasks : iterable of (function, args, kwargs)
        The units of work, as :func:`joblib.delayed` makes them. Wherever they run, they
        see the caller's scikit-learn configuration and warning filters (as scikit-learn's
        own :class:`~sklearn.utils.parallel.Parallel` passes them on).
    n_jobs : int, default=None
        None runs the tasks on as many threads as BLAS may use now (every core, unless
        :func:`threadpoolctl.threadpool_limits` or a joblib worker lowered the limit), one
        BLAS thread each, the limit entered around them all and restored on the way out
        (a task's compiled loops may borrow the threads no task holds, :func:`spare_threads`);
        one after the other outside the main thread (a limit cannot be scoped there, see
        :func:`one_blas_thread`) and when one thread is all BLAS may use. Inside a
        :func:`joblib.parallel_config` asking for more than one job, None follows it, as
        joblib does. An int runs them on joblib's workers, as scikit-learn's ``n_jobs`` (1:
        one after the other; -1: every processor).
    shared_memory : bool, default=False
        Whether the tasks read (and may fill) objects they share, which must not be copied
        to other processes: joblib's workers are then threads (``require="sharedmem"``),
        under one BLAS thread each as well.
    holds_the_gil : bool, default=False
        Whether the tasks spend much of their time in code that holds the GIL (SciPy's
        L-BFGS-B step, see :func:`~skinvariance.stitching._work.fits_in_processes`): two
        threads would then take turns rather than run at once, so the default
        (``n_jobs=None``) runs them on as many of joblib's worker processes as it would have
        run threads, each on one BLAS thread (``inner_max_num_threads=1``). Their input is
        pickled (large arrays memory-mapped), their results sent back, and the warnings they
        raise raised again in the calling process. Ignored with an int ``n_jobs`` (joblib's
        workers already) and with ``shared_memory``.

    Returns
    -------
    results : list
        Each task's result, in the order of ``tasks``.
    """
    tasks = list(tasks)
    if n_jobs is None and effective_n_jobs(None) <= 1:
        n_threads = min(len(tasks), compiled_threads())
        if n_threads < 2 or threading.current_thread() is not threading.main_thread():
            return [function(*args, **kwargs) for function, args, kwargs in tasks]
        if holds_the_gil and not shared_memory:
            return _in_processes(tasks, n_threads)
        shared = _SharedThreads(n_threads)
        tasks = [(shared.holding_a_thread(function), args, kwargs)
                 for function, args, kwargs in tasks]
        parallel = Parallel(n_jobs=n_threads, backend="threading")
    elif not shared_memory:
        return Parallel(n_jobs=n_jobs)(_carrying_config(tasks))
    else:
        parallel = Parallel(n_jobs=n_jobs, require="sharedmem")
        if effective_n_jobs(n_jobs) < 2:
            return parallel(_carrying_config(tasks))
    # the threads of this process, one BLAS thread each (set from the main thread only)
    with one_blas_thread(0):
        return parallel(_carrying_config(tasks))


def _carrying_config(tasks):
    """The tasks as scikit-learn's delayed calls: run by its :class:`Parallel`, they see the
    caller's scikit-learn configuration (``working_memory``, ``assume_finite``, ...) and
    warning filters in joblib's threads and workers, where a new thread or process would
    see the defaults (scikit-learn's configuration is per thread)."""
    return [delayed(function)(*args, **kwargs) for function, args, kwargs in tasks]


def _in_processes(tasks, n_workers):
    """:func:`run_small_tasks`' results of ``tasks`` run on ``n_workers`` of joblib's worker
    processes, one BLAS thread each; the warnings they raise are raised again here, where
    the caller can see (or catch) them."""
    with parallel_config(backend="loky", inner_max_num_threads=1):
        found = Parallel(n_jobs=n_workers)(
            delayed(_recording_warnings)(function, args, kwargs)
            for function, args, kwargs in tasks
        )
    for _, caught in found:
        for message, category, filename, lineno in caught:
            warnings.warn_explicit(message, category, filename, lineno)
    return [result for result, _ in found]


def _recording_warnings(function, args, kwargs):
    """``function(*args, **kwargs)`` and the warnings it raised that the filters let through,
    as ``(message, category, filename, lineno)``."""
    with warnings.catch_warnings(record=True) as caught:
        result = function(*args, **kwargs)
    return result, [(w.message, w.category, w.filename, w.lineno) for w in caught]
