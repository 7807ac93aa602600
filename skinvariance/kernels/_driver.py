"""The blocked driver that evaluates kernels on row blocks, on the package's thread pool."""

import functools
from numbers import Integral, Real

import numpy as np
from sklearn.utils import check_array

from .._compat import StrOptions, validate_parameter_constraints, validate_params
from .._constraints import COUNT, NumberInterval
from .._parallel import MAX_BLOCK_ROWS, compiled_threads, run_parts, split_rows
from .._parallel import row_blocks as _row_blocks
from .._validation import DataError
from . import _numba
from ._registry import available_kernels, get_kernel


class KernelEvaluator:
    """Several kernels against one set of anchors, evaluated block by block.

    Anchors are prepared once (norms, means, contiguous copies); :meth:`compute` then fills
    one output block per kernel. Compiled kernels are spread over the package's thread pool
    (they release the GIL; the thread policy: :ref:`stitching_speed`);
    matrix-product kernels rely on BLAS's own threads. L1 and L-infinity requested together
    share one pass over the coordinate differences. It may be used as a context manager
    (kept for compatibility: the shared pool needs no shutting down).

    Parameters
    ----------
    A : ndarray of shape (n_anchors, n_features)
        Validated anchors, in the dtype blocks will have.
    kernels : list of str
        Kernel names or aliases.
    p : float, default=2.0
        Order of the ``"minkowski"`` kernel.
    n_threads : int, default=None
        Threads for the compiled kernels; ``None`` uses every CPU unless a lower thread limit
        is in force (joblib's inner limit in a worker, :func:`threadpoolctl.threadpool_limits`).

    Examples
    --------
    >>> import numpy as np
    >>> from skinvariance.kernels import KernelEvaluator, row_blocks
    >>> rng = np.random.default_rng(0)
    >>> X, A = rng.normal(size=(1000, 8)), rng.normal(size=(5, 8))
    >>> l1, linf = np.empty((1000, 5)), np.empty((1000, 5))
    >>> with KernelEvaluator(A, ["l1", "linf"]) as evaluator:
    ...     for rows in row_blocks(len(X), 8 * 16, working_memory=0.05):
    ...         evaluator.compute(np.ascontiguousarray(X[rows]), [l1[rows], linf[rows]])
    >>> bool(np.allclose(l1[0], np.abs(X[0] - A).sum(axis=1)))
    True
    """

    _parameter_constraints = {
        "kernels": [list, tuple],
        "p": [NumberInterval(Real, 1, None, closed="both")],
        "n_threads": [COUNT, None],
    }

    def __init__(self, A, kernels, *, p=2.0, n_threads=None):
        validate_parameter_constraints(
            self._parameter_constraints, {"kernels": kernels, "p": p, "n_threads": n_threads},
            caller_name=type(self).__name__,
        )
        self.kernels = [get_kernel(name) for name in kernels]
        self.dtype = A.dtype
        self.n_anchors = A.shape[0]
        self.states = [kernel.prepare(A, p=p) for kernel in self.kernels]
        names = [kernel.name for kernel in self.kernels]
        self.fused = None
        if "l1" in names and "linf" in names:
            self.fused = (names.index("l1"), names.index("linf"))
        self.n_threads = compiled_threads(n_threads)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        return None

    def temporary_row_bytes(self, n_features):
        """Bytes per row of the temporaries :meth:`compute` allocates.

        Parameters
        ----------
        n_features : int
            Width of the samples.

        Returns
        -------
        row_bytes : int
            Two copies of a row (normalised or centred samples), for block sizing with
            :func:`row_blocks`.
        """
        return 2 * n_features * np.dtype(self.dtype).itemsize

    def compute(self, block, outs, *, finish=None):
        """Fill one output block per kernel.

        Parameters
        ----------
        block : ndarray of shape (n_rows, n_features)
            C-contiguous samples in the anchors' dtype, finite.
        outs : list of ndarray of shape (n_rows, n_anchors)
            One per kernel, in the order given to the constructor; written in place (views
            into a larger output are fine).
        finish : callable, default=None
            Row-wise work on the filled outputs (a normalisation), called as
            ``finish(rows)`` with a slice of the block's rows once every kernel has filled
            them: on each thread of the compiled kernels, right after its part of the rows,
            so that the work needs no round of threads of its own (a round waits for its
            slowest thread); on the calling thread, for all rows, when no compiled kernel
            runs in parts.
        """
        parts = split_rows(block.shape[0], self.n_threads, align=_numba.ROW_TILE)
        in_parts = []
        # Matrix-product kernels (BLAS's own threads) first, so that the parts' round ends
        # with every kernel filled.
        for position, (kernel, state, out) in enumerate(zip(self.kernels, self.states, outs)):
            if self.fused is not None and position in self.fused:
                continue
            if kernel.uses_matmul:
                kernel.compute(block, state, out)
            else:
                in_parts.append((kernel.compute, state, out))
        if self.fused is not None:
            i_l1, i_linf = self.fused
            in_parts.append((_fused_l1_linf, self.states[i_l1], (outs[i_l1], outs[i_linf])))
        if not in_parts or len(parts) == 1:
            for compute, state, out in in_parts:
                compute(block, state, out)
            if finish is not None:
                finish(slice(0, block.shape[0]))
            return

        def run(part):
            for compute, state, out in in_parts:
                if isinstance(out, tuple):
                    compute(block[part], state, tuple(o[part] for o in out))
                else:
                    compute(block[part], state, out[part])
            if finish is not None:
                finish(part)

        run_parts(run, parts)


def _fused_l1_linf(block, anchors, outs):
    _numba.l1_linf_block(block, anchors, *outs)


def check_samples_and_anchors(X, A, *, x_name="X", a_name="A"):
    """Validate samples and anchors for a kernel; return them in a common float dtype.

    The output dtype is the samples' dtype when it is float32 or float64 (float64
    otherwise); anchors are cast to it.

    Parameters
    ----------
    X, A : array-like of shape (n_samples, n_features), (n_anchors, n_features)
        Samples and anchors: finite, 2-D, non-empty, of equal widths.
    x_name, a_name : str
        Their names in error messages.

    Returns
    -------
    X, A : ndarray
        Validated arrays of one float dtype.
    """
    X = check_array(X, dtype=[np.float64, np.float32], input_name=x_name)
    A = check_array(A, dtype=[np.float64, np.float32], input_name=a_name)
    if X.shape[1] != A.shape[1]:
        raise DataError(
            f"{x_name} has {X.shape[1]} features, but {a_name} has {A.shape[1]} features; "
            "samples and anchors must have the same number of features."
        )
    return X, A.astype(X.dtype, copy=False)


@validate_params(
    {
        "X": ["array-like"],
        "A": ["array-like"],
        "kernel": [StrOptions(set(available_kernels(aliases=True)))],
        "p": [NumberInterval(Real, 1, None, closed="both")],
        "n_threads": [NumberInterval(Integral, 1, None, closed="left"), None],
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
        Threads for the compiled kernels. ``None`` uses every CPU, as BLAS does, unless a
        lower thread limit is in force (joblib's inner limit in a worker,
        :func:`threadpoolctl.threadpool_limits`): one limit governs both.

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
    with KernelEvaluator(A, [kernel], p=p, n_threads=n_threads) as evaluator:
        for rows in _row_blocks(X.shape[0], evaluator.temporary_row_bytes(X.shape[1])):
            evaluator.compute(np.ascontiguousarray(X[rows]), [out[rows]])
    return out


@validate_params(
    {
        "n_rows": [NumberInterval(Integral, 0, None, closed="left")],
        "row_bytes": [NumberInterval(Real, 0, None, closed="neither")],
        "working_memory": [NumberInterval(Real, 0, None, closed="neither"), None],
        "max_rows": [COUNT],
        "align": [COUNT],
    },
    prefer_skip_nested_validation=True,
)
@functools.wraps(_row_blocks)
def row_blocks(n_rows, row_bytes, *, working_memory=None, max_rows=MAX_BLOCK_ROWS, align=1):
    # The public form, with its parameters checked; the package's loops call the unchecked
    # one of _parallel.
    return _row_blocks(
        n_rows, row_bytes, working_memory=working_memory, max_rows=max_rows, align=align
    )
