"""Compiled loops for the kernels that have no matrix-product form.

Every function here works on one block of rows, serially, and releases the GIL
(``nogil=True``) so that the driver can run blocks on several threads. They are compiled
lazily on first call (no signatures at import) and cached on disk: ``cache=True`` is safe
because none of them uses ``parallel=True`` (a cached parallel function has crashed when the
thread count changed between processes).

The inputs are validated as finite before they reach these loops, which is what makes the
fast-math flags below safe. The flag set leaves out ``nnan`` and ``ninf`` on purpose, so a
non-finite value that slipped through would still propagate rather than be folded away.
The L-infinity reductions use ``llvm.maxnum`` (see :func:`_maxnum`), which LLVM can
vectorise; Python's ``max`` compiles to a compare-and-select that it does not vectorise.
"""

import numba
import numpy as np
from llvmlite import ir
from numba.core import types
from numba.extending import intrinsic

_FASTMATH = {"nsz", "arcp", "contract", "afn", "reassoc"}
_JIT = dict(nogil=True, cache=True, fastmath=_FASTMATH)

#: Rows processed together by the L1 / L-infinity loops: each anchor value loaded from
#: memory is reused for this many samples.
ROW_TILE = 4


@intrinsic
def _maxnum(typingctx, a, b):
    """``llvm.maxnum(a, b)`` with fast-math flags: a maximum LLVM can vectorise."""
    if not (isinstance(a, types.Float) and a == b):
        return None

    def codegen(context, builder, signature, args):
        llvm_type = context.get_value_type(signature.return_type)
        name = "llvm.maxnum.f32" if llvm_type == ir.FloatType() else "llvm.maxnum.f64"
        function = builder.module.globals.get(name)
        if function is None:
            signature_type = ir.FunctionType(llvm_type, [llvm_type, llvm_type])
            function = ir.Function(builder.module, signature_type, name)
        return builder.call(function, args, fastmath=("fast",))

    return a(a, b), codegen


@numba.njit(**_JIT)
def l1_block(X, A, out):
    """Fill ``out[i, j] = sum_f |X[i, f] - A[j, f]|``.

    Tiles of 4 samples x 2 anchors keep 8 vector accumulators in registers, so each value
    loaded from memory serves 2 to 4 differences.
    """
    n, d = X.shape
    k = A.shape[0]
    zero = X.dtype.type(0)  # accumulate in the input dtype, so float32 vectorises
    n_tiled = n - n % ROW_TILE
    k_paired = k - k % 2
    for i in range(0, n_tiled, ROW_TILE):
        for j in range(0, k_paired, 2):
            s00 = zero
            s01 = zero
            s10 = zero
            s11 = zero
            s20 = zero
            s21 = zero
            s30 = zero
            s31 = zero
            for f in range(d):
                a0 = A[j, f]
                a1 = A[j + 1, f]
                x0 = X[i, f]
                x1 = X[i + 1, f]
                x2 = X[i + 2, f]
                x3 = X[i + 3, f]
                s00 += abs(x0 - a0)
                s01 += abs(x0 - a1)
                s10 += abs(x1 - a0)
                s11 += abs(x1 - a1)
                s20 += abs(x2 - a0)
                s21 += abs(x2 - a1)
                s30 += abs(x3 - a0)
                s31 += abs(x3 - a1)
            out[i, j] = s00
            out[i, j + 1] = s01
            out[i + 1, j] = s10
            out[i + 1, j + 1] = s11
            out[i + 2, j] = s20
            out[i + 2, j + 1] = s21
            out[i + 3, j] = s30
            out[i + 3, j + 1] = s31
    # The last anchor of an odd count, and the rows after the last full tile.
    for i in range(n):
        first_anchor = k_paired if i < n_tiled else 0
        for j in range(first_anchor, k):
            s = zero
            for f in range(d):
                s += abs(X[i, f] - A[j, f])
            out[i, j] = s


@numba.njit(**_JIT)
def linf_block(X, A, out):
    """Fill ``out[i, j] = max_f |X[i, f] - A[j, f]|`` (tiled as :func:`l1_block`)."""
    n, d = X.shape
    k = A.shape[0]
    zero = X.dtype.type(0)
    n_tiled = n - n % ROW_TILE
    k_paired = k - k % 2
    for i in range(0, n_tiled, ROW_TILE):
        for j in range(0, k_paired, 2):
            s00 = zero
            s01 = zero
            s10 = zero
            s11 = zero
            s20 = zero
            s21 = zero
            s30 = zero
            s31 = zero
            for f in range(d):
                a0 = A[j, f]
                a1 = A[j + 1, f]
                x0 = X[i, f]
                x1 = X[i + 1, f]
                x2 = X[i + 2, f]
                x3 = X[i + 3, f]
                s00 = _maxnum(s00, abs(x0 - a0))
                s01 = _maxnum(s01, abs(x0 - a1))
                s10 = _maxnum(s10, abs(x1 - a0))
                s11 = _maxnum(s11, abs(x1 - a1))
                s20 = _maxnum(s20, abs(x2 - a0))
                s21 = _maxnum(s21, abs(x2 - a1))
                s30 = _maxnum(s30, abs(x3 - a0))
                s31 = _maxnum(s31, abs(x3 - a1))
            out[i, j] = s00
            out[i, j + 1] = s01
            out[i + 1, j] = s10
            out[i + 1, j + 1] = s11
            out[i + 2, j] = s20
            out[i + 2, j + 1] = s21
            out[i + 3, j] = s30
            out[i + 3, j + 1] = s31
    for i in range(n):
        first_anchor = k_paired if i < n_tiled else 0
        for j in range(first_anchor, k):
            s = zero
            for f in range(d):
                s = _maxnum(s, abs(X[i, f] - A[j, f]))
            out[i, j] = s


@numba.njit(**_JIT)
def l1_linf_block(X, A, out_l1, out_linf):
    """Both L1 and L-infinity distances in one pass over the coordinate differences."""
    n, d = X.shape
    k = A.shape[0]
    zero = X.dtype.type(0)
    i = 0
    while i + ROW_TILE <= n:
        for j in range(k):
            s0 = zero
            s1 = zero
            s2 = zero
            s3 = zero
            m0 = zero
            m1 = zero
            m2 = zero
            m3 = zero
            for f in range(d):
                a = A[j, f]
                v0 = abs(X[i, f] - a)
                v1 = abs(X[i + 1, f] - a)
                v2 = abs(X[i + 2, f] - a)
                v3 = abs(X[i + 3, f] - a)
                s0 += v0
                s1 += v1
                s2 += v2
                s3 += v3
                m0 = _maxnum(m0, v0)
                m1 = _maxnum(m1, v1)
                m2 = _maxnum(m2, v2)
                m3 = _maxnum(m3, v3)
            out_l1[i, j] = s0
            out_l1[i + 1, j] = s1
            out_l1[i + 2, j] = s2
            out_l1[i + 3, j] = s3
            out_linf[i, j] = m0
            out_linf[i + 1, j] = m1
            out_linf[i + 2, j] = m2
            out_linf[i + 3, j] = m3
        i += ROW_TILE
    for r in range(i, n):
        for j in range(k):
            s = zero
            m = zero
            for f in range(d):
                v = abs(X[r, f] - A[j, f])
                s += v
                m = _maxnum(m, v)
            out_l1[r, j] = s
            out_linf[r, j] = m


@numba.njit(**_JIT)
def minkowski_block(X, A, p, out):
    """Fill ``out[i, j] = (sum_f |X[i, f] - A[j, f]|**p) ** (1 / p)``.

    Each row is first divided by its largest absolute difference, so that ``|.|**p``
    neither overflows nor underflows for large ``p``.
    """
    n, d = X.shape
    k = A.shape[0]
    zero = X.dtype.type(0)
    inv_p = 1.0 / p
    for r in range(n):
        for j in range(k):
            m = zero
            for f in range(d):
                m = _maxnum(m, abs(X[r, f] - A[j, f]))
            if m == 0:
                out[r, j] = zero
                continue
            s = 0.0
            inv_m = 1.0 / m
            for f in range(d):
                s += (abs(X[r, f] - A[j, f]) * inv_m) ** p
            out[r, j] = m * s**inv_p


@numba.njit(**_JIT)
def finish_euclidean_block(X, A, x_sq, a_sq, gram, rtol):
    """Turn the Gram block ``gram = X @ A.T`` into Euclidean distances, in place.

    ``d2 = |x|^2 + |a|^2 - 2 <x, a>`` loses its relative precision when ``d2`` is small
    compared with ``|x|^2 + |a|^2`` (cancellation): such entries, and only those, are
    recomputed directly from the coordinates with a float64 accumulator. Negative values left
    by rounding are clipped to zero.
    """
    n = X.shape[0]
    k = A.shape[0]
    d = X.shape[1]
    for i in range(n):
        for j in range(k):
            scale = x_sq[i] + a_sq[j]
            d2 = scale - 2 * gram[i, j]
            if d2 <= rtol * scale:
                acc = 0.0
                for f in range(d):
                    diff = np.float64(X[i, f]) - np.float64(A[j, f])
                    acc += diff * diff
                d2 = acc
            gram[i, j] = np.sqrt(max(d2, 0.0))


#: Codes of the per-sample normalisations understood by :func:`normalize_rows_into`.
NORM_NONE, NORM_LAYER, NORM_L2 = 0, 1, 2


@numba.njit(**_JIT)
def normalize_rows_into(values, out, norm, coefficient, accumulate):
    """Normalise each row of ``values`` and write (or add) ``coefficient *`` it into ``out``.

    ``norm``: ``NORM_LAYER`` subtracts the row mean and divides by the row standard deviation
    (population), ``NORM_L2`` divides by the row's L2 norm, ``NORM_NONE`` copies. A row with
    nothing to divide (zero standard deviation or zero norm) becomes zeros. ``out`` may be
    ``values`` itself (in place) or a strided view (a slice of a wider output). Each row is
    read twice while it sits in cache, so the whole operation costs one pass over memory.
    """
    n, k = values.shape
    for i in range(n):
        shift = 0.0
        scale = 1.0
        if norm == NORM_LAYER:
            total = 0.0
            for j in range(k):
                total += values[i, j]
            shift = total / k
            squares = 0.0
            for j in range(k):
                centred = values[i, j] - shift
                squares += centred * centred
            spread = np.sqrt(squares / k)
            scale = coefficient / spread if spread > 0 else 0.0
        elif norm == NORM_L2:
            squares = 0.0
            for j in range(k):
                squares += values[i, j] * values[i, j]
            length = np.sqrt(squares)
            scale = coefficient / length if length > 0 else 0.0
        else:
            scale = coefficient
        if accumulate:
            for j in range(k):
                out[i, j] += (values[i, j] - shift) * scale
        else:
            for j in range(k):
                out[i, j] = (values[i, j] - shift) * scale
