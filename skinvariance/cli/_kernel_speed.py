"""Kernel speed benchmark: the projections against scipy, scikit-learn and the matrix product.

The engine of ``skinvariance bench`` (and of ``benchmarks/bench_kernels.py``), kept with the
command line, out of the library. Every reference is timed in the same run, on the same
arrays, and the table reports ratios, so that the figures mean something on a shared, noisy
machine.
"""

import platform
import tracemalloc
from functools import partial
from time import perf_counter

import numpy as np
import pandas as pd
from joblib import cpu_count
from scipy.spatial.distance import cdist
from sklearn.metrics.pairwise import cosine_similarity, pairwise_distances

from ..projection import ProductProjection, RelativeProjection

#: The kernels of the paper's product, with their scipy / scikit-learn metric names.
BENCHMARKED_KERNELS = {
    "cosine": "cosine",
    "euclidean": "euclidean",
    "l1": "cityblock",
    "linf": "chebyshev",
}


def _matrix_product(X, A):
    """``X @ A.T``: the floor a projection onto anchors is compared with."""
    return X @ A.T


def _best_time(function, repeat):
    best = np.inf
    for _ in range(repeat):
        start = perf_counter()
        function()
        best = min(best, perf_counter() - start)
    return best


def _scipy_reference(X, A, metric):
    if metric == "cosine":
        return lambda: 1 - cdist(X, A, "cosine")
    return lambda: cdist(X, A, metric)


def _sklearn_reference(X, A, metric):
    if metric == "cosine":
        return lambda: cosine_similarity(X, A)
    return lambda: pairwise_distances(X, A, metric=metric)


def _peak_extra_bytes(function, output_bytes):
    """Peak traced memory of ``function`` beyond its output (NumPy reports to tracemalloc)."""
    tracemalloc.start()
    try:
        function()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return max(peak - output_bytes, 0)


def run_kernel_benchmark(
    n_samples=20_000,
    n_anchors=1_280,
    n_features=768,
    *,
    dtypes=("float32", "float64"),
    kernels=tuple(BENCHMARKED_KERNELS),
    repeat=3,
    reference_repeat=1,
    random_state=0,
    progress=None,
):
    """Time each kernel's projection against scipy, scikit-learn and ``X @ A.T``.

    Parameters
    ----------
    n_samples, n_anchors, n_features : int
        Shape of the problem (the paper's 1,280 anchors, 768-wide embeddings by default).
    dtypes : tuple of str, default=("float32", "float64")
    kernels : tuple of str, default=("cosine", "euclidean", "l1", "linf")
    repeat : int, default=3
        Best of ``repeat`` timings for the projections and the matrix product (after one
        untimed call that includes compilation, reported separately).
    reference_repeat : int, default=1
        Best of this many timings for scipy and scikit-learn (they are slow).
    random_state : int, default=0
    progress : callable or None
        Called with a short message before each measurement.

    Returns
    -------
    table : pandas.DataFrame
        One row per (dtype, kernel) plus a ``product (concat)`` row per dtype. Times in
        seconds; ``vs matmul`` is projection time / matrix-product time; ``scipy x`` and
        ``sklearn x`` are how many times faster the projection is than each reference;
        ``extra MiB`` is the peak memory of one projection beyond its output.
    """
    say = progress or (lambda message: None)
    rng = np.random.default_rng(random_state)
    rows = []
    for dtype in dtypes:
        X = rng.standard_normal((n_samples, n_features)).astype(dtype)
        A = rng.standard_normal((n_anchors, n_features)).astype(dtype)
        say(f"{dtype}: matrix product")
        matmul = _best_time(partial(_matrix_product, X, A), repeat)
        singles = {}
        for kernel in kernels:
            metric = BENCHMARKED_KERNELS[kernel]
            projection = RelativeProjection(kernel).fit(A)
            say(f"{dtype} {kernel}: projection")
            start = perf_counter()
            projection.transform(X[:64])
            first_call = perf_counter() - start
            ours = _best_time(partial(projection.transform, X), repeat)
            singles[kernel] = ours
            extra = _peak_extra_bytes(partial(projection.transform, X),
                                      n_samples * n_anchors * np.dtype(dtype).itemsize)
            say(f"{dtype} {kernel}: scipy cdist")
            scipy_time = _best_time(_scipy_reference(X, A, metric), reference_repeat)
            say(f"{dtype} {kernel}: scikit-learn")
            sklearn_time = _best_time(_sklearn_reference(X, A, metric), reference_repeat)
            rows.append({
                "dtype": dtype, "kernel": kernel, "skinvariance s": ours,
                "first call s": first_call, "matmul s": matmul, "scipy s": scipy_time,
                "sklearn s": sklearn_time, "vs matmul": ours / matmul,
                "scipy x": scipy_time / ours, "sklearn x": sklearn_time / ours,
                "extra MiB": extra / 2**20,
            })
        if set(kernels) == set(BENCHMARKED_KERNELS):
            product = ProductProjection(list(kernels)).fit(A)
            product.transform(X[:64])
            say(f"{dtype}: product of the four kernels")
            ours = _best_time(partial(product.transform, X), repeat)
            extra = _peak_extra_bytes(
                partial(product.transform, X),
                n_samples * n_anchors * len(kernels) * np.dtype(dtype).itemsize,
            )
            rows.append({
                "dtype": dtype, "kernel": "product (concat)", "skinvariance s": ours,
                "matmul s": matmul, "vs matmul": ours / matmul,
                "sum of singles s": sum(singles.values()),
                "vs sum of singles": ours / sum(singles.values()), "extra MiB": extra / 2**20,
            })
    return pd.DataFrame(rows)


def machine_description():
    """One line naming the machine a benchmark ran on."""
    return (
        f"{_cpu_model()} ({platform.machine()}), {cpu_count()} CPUs, "
        f"Python {platform.python_version()}, NumPy {np.__version__}"
    )


def _cpu_model():
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"
