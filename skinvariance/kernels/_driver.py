"""The blocked, threaded driver that evaluates kernels on row blocks."""

from concurrent.futures import ThreadPoolExecutor
from numbers import Integral, Real

import numpy as np
from joblib import cpu_count
from sklearn.utils import check_array

from .._compat import Interval, StrOptions, get_chunk_n_rows, validate_params
from . import _numba
from ._registry import available_kernels, get_kernel

# The smallest share of a block handed to one thread: below this, thread overhead dominates.
_MIN_ROWS_PER_THREAD = 64


def _n_threads(n_threads):
    return cpu_count() if n_threads is None else max(1, min(int(n_threads), cpu_count()))


def kernel_blocks(X, A, kernels, *, p=2.0, out=None, n_threads=None, preprocess=None,
                  extra_row_bytes=0, working_memory=None):
    """Evaluate several kernels on row blocks of ``X``, one block at a time.

    The rows are cut into blocks sized so that the temporary arrays of one block fit in
    scikit-learn's ``working_memory`` (see :func:`sklearn.set_config`). A block of a
    ``numpy.memmap`` is read only when its turn comes, so memory stays bounded whatever the
    size of ``X``.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Validated samples (any array that supports row slicing, e.g. a memmap).
    A : ndarray of shape (n_anchors, n_features)
        Validated anchors, of the dtype the blocks are computed in.
    kernels : list of str
        Kernel names (or aliases).
    p : float, default=2.0
        The order of the ``"minkowski"`` kernel.
    out : list of ndarray or None
        If given, one ``(n_samples, n_anchors)`` array per kernel; blocks are views into it.
        Otherwise each block is a fresh buffer of its own (reused between blocks).
    n_threads : int or None
        Threads for the compiled kernels (BLAS kernels use BLAS's own threads).
    preprocess : callable or None
        Applied to each block of ``X`` before the kernels (e.g. centring on the anchors).
    extra_row_bytes : int
        Bytes per row the caller needs besides the kernel buffers (for block sizing).
    working_memory : int or None
        Overrides scikit-learn's working memory (MiB) for this call.

    Yields
    ------
    rows : slice
        The rows of ``X`` this block covers.
    blocks : list of ndarray
        One ``(rows, n_anchors)`` array per kernel, in the order of ``kernels``.
    """
    resolved = [get_kernel(name) for name in kernels]
    dtype = A.dtype
    n_samples, n_features = X.shape
    n_anchors = A.shape[0]
    states = [kernel.prepare(A, p=p) for kernel in resolved]
    # L1 and L-infinity side by side share one pass over the coordinate differences.
    fused = None
    names = [kernel.name for kernel in resolved]
    if "l1" in names and "linf" in names:
        fused = (names.index("l1"), names.index("linf"))

    itemsize = np.dtype(dtype).itemsize
    row_bytes = itemsize * (2 * n_features + len(resolved) * n_anchors) + extra_row_bytes
    if out is not None:
        row_bytes -= itemsize * len(resolved) * n_anchors
    block_rows = get_chunk_n_rows(
        row_bytes=max(row_bytes, 1), max_n_rows=n_samples, working_memory=working_memory
    )
    threads = _n_threads(n_threads)
    buffers = None
    if out is None:
        buffers = [np.empty((block_rows, n_anchors), dtype=dtype) for _ in resolved]

    with ThreadPoolExecutor(max_workers=threads) as pool:
        for start in range(0, n_samples, block_rows):
            rows = slice(start, min(start + block_rows, n_samples))
            block = np.ascontiguousarray(X[rows], dtype=dtype)
            if preprocess is not None:
                block = np.ascontiguousarray(preprocess(block), dtype=dtype)
            size = block.shape[0]
            if out is None:
                blocks = [buffer[:size] for buffer in buffers]
            else:
                blocks = [array[rows] for array in out]
            parts = _split_rows(size, threads)
            for position, (kernel, state, target) in enumerate(zip(resolved, states, blocks)):
                if fused is not None and position in fused:
                    continue
                if kernel.uses_matmul or len(parts) == 1:
                    kernel.compute(block, state, target)
                else:
                    _run_parts(pool, kernel.compute, block, state, target, parts)
            if fused is not None:
                i_l1, i_linf = fused
                _run_parts(
                    pool,
                    lambda xb, anchors, targets: _numba.l1_linf_block(xb, anchors, *targets),
                    block,
                    states[i_l1],
                    (blocks[i_l1], blocks[i_linf]),
                    parts,
                )
            yield rows, blocks


def _split_rows(n_rows, threads):
    n_parts = max(1, min(threads, n_rows // _MIN_ROWS_PER_THREAD))
    bounds = np.linspace(0, n_rows, n_parts + 1).astype(int)
    return [slice(lo, hi) for lo, hi in zip(bounds[:-1], bounds[1:]) if hi > lo]


def _run_parts(pool, compute, block, state, target, parts):
    def run(part):
        if isinstance(target, tuple):
            compute(block[part], state, tuple(t[part] for t in target))
        else:
            compute(block[part], state, target[part])

    if len(parts) == 1:
        run(parts[0])
        return
    for future in [pool.submit(run, part) for part in parts]:
        future.result()


def check_samples_and_anchors(X, A, *, x_name="X", a_name="A"):
    """Validate samples and anchors for a kernel; return them in a common float dtype.

    The output dtype is the samples' dtype when it is float32 or float64 (float64
    otherwise); anchors are cast to it.
    """
    X = check_array(X, dtype=[np.float64, np.float32], input_name=x_name)
    A = check_array(A, dtype=[np.float64, np.float32], input_name=a_name)
    if X.shape[1] != A.shape[1]:
        raise ValueError(
            f"{x_name} has {X.shape[1]} features, but {a_name} has {A.shape[1]} features; "
            "samples and anchors must have the same number of features."
        )
    return X, A.astype(X.dtype, copy=False)


@validate_params(
    {
        "X": ["array-like"],
        "A": ["array-like"],
        "kernel": [StrOptions(set(available_kernels(aliases=True)))],
        "p": [Interval(Real, 1, None, closed="left")],
        "n_threads": [Interval(Integral, 1, None, closed="left"), None],
    },
    prefer_skip_nested_validation=True,
)
def pairwise_kernel(X, A, kernel="cosine", *, p=2.0, n_threads=None):
    """Kernel values between every sample and every anchor.

    The public driver behind every projection: ``out[i, j] = kernel(X[i], A[j])``, computed
    in row blocks so that the memory beyond the output stays within scikit-learn's
    ``working_memory`` (:func:`sklearn.set_config`, :func:`sklearn.config_context`).
    Matrix-product kernels (cosine, angular, euclidean) use BLAS and its threads; the others
    are compiled loops spread over ``n_threads`` threads.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Samples. Must be finite.
    A : array-like of shape (n_anchors, n_features)
        Anchors. Must be finite.
    kernel : str, default="cosine"
        One of :func:`available_kernels` (aliases accepted): ``"cosine"`` (similarity),
        ``"euclidean"``, ``"l1"`` (``"manhattan"``, ``"cityblock"``), ``"linf"``
        (``"chebyshev"``), ``"angular"``, ``"minkowski"`` (distances). See
        :func:`kernel_table` for formulas and invariances.
    p : float, default=2.0
        Order of the ``"minkowski"`` kernel, ``p >= 1`` (``np.inf`` allowed). Ignored by the
        other kernels.
    n_threads : int, default=None
        Threads for the compiled kernels. ``None`` uses every CPU of the machine, as BLAS
        does.

    Returns
    -------
    K : ndarray of shape (n_samples, n_anchors)
        float32 when ``X`` is float32, float64 otherwise (anchors are cast to it).

    See Also
    --------
    scipy.spatial.distance.cdist : The reference the kernels are tested against.
    skinvariance.RelativeProjection : The estimator built on this function.

    Examples
    --------
    >>> import numpy as np
    >>> from skinvariance.kernels import pairwise_kernel
    >>> X = np.array([[1.0, 0.0], [0.0, 2.0], [0.0, 0.0]])
    >>> A = np.array([[1.0, 1.0], [3.0, 0.0]])
    >>> pairwise_kernel(X, A, "cosine").round(3)
    array([[0.707, 1.   ],
           [0.707, 0.   ],
           [0.   , 0.   ]])
    >>> pairwise_kernel(X, A, "l1")
    array([[1., 2.],
           [2., 5.],
           [2., 3.]])
    """
    X, A = check_samples_and_anchors(X, A)
    out = np.empty((X.shape[0], A.shape[0]), dtype=X.dtype)
    for _ in kernel_blocks(X, A, [kernel], p=p, out=[out], n_threads=n_threads):
        pass
    return out
