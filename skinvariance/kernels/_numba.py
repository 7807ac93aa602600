"""Compiled loops of the kernels, the per-sample normalisation, and their scale-safe helpers.

Unit rows and the angular recomputation, built on the same helpers, are in :mod:`._unit`.

Every function here works on one block of rows, serially, and releases the GIL
(``nogil=True``) so that the driver can run blocks on several threads. They are compiled
lazily on first call (no signatures at import) and cached on disk: ``cache=True`` is safe
because none of them uses ``parallel=True`` (a cached parallel function has crashed when the
thread count changed between processes).

**Scale.** Nothing here squares a coordinate in float32, or a float64 coordinate beyond
``2**+-480``: norms and variances are accumulated in float64, of the row itself when its
largest magnitude lies within ``2**+-480`` (every float32 row), else of the row brought to
``[-1, 1]`` by that magnitude first (as LAPACK's ``nrm2`` scales); Euclidean distances
(:mod:`._euclidean`) are recomputed in float64 the same way. So finite input of any
magnitude the dtype holds neither overflows nor underflows on the way; only a result that
itself exceeds the dtype becomes infinite, and :func:`check_overflow` turns that into an error.

**Flags.** The inputs are validated finite before they reach these loops. Three subsets of
LLVM's fast-math flags are used, never ``"fast"`` itself:

- ``_FAST_FLAGS`` (the L1 and L-infinity loops) lets LLVM vectorise their reductions. It
  leaves out ``nnan`` and ``ninf`` on purpose: a coordinate difference that overflowed stays
  ``inf``, so an overflowing distance reaches :func:`check_overflow` instead of being folded
  away.
- ``_SUM_FLAGS`` (the reductions over values within the safe range above) keeps ``reassoc``,
  which vectorising a sum needs, and leaves out ``arcp`` and ``afn``: divisions stay
  divisions and square roots are correctly rounded.
- ``_SCALED_FLAGS`` (the rare rows that are brought to ``[-1, 1]`` first, the Minkowski loop
  and the angular recomputation) leaves out ``reassoc`` too: re-associating
  ``(x / m) * (x / m)`` into ``(x * x) / (m * m)`` would bring back exactly the underflow and
  overflow the scaling avoids.

The maxima call ``llvm.maxnum`` through :func:`_maxnum`, with the flags ``nnan`` and ``nsz``
that LLVM needs to vectorise it. Under ``nnan`` a NaN operand would give an unspecified result;
none can occur, because the inputs are finite and the difference of two finite numbers is never
NaN (an overflow gives ``inf``, which ``maxnum`` keeps). Note that even without the flag
``maxnum`` returns the other operand of a NaN: it never propagates one. Python's ``max``
compiles to a compare-and-select that LLVM does not vectorise.
"""

import math

import numba
import numpy as np
from llvmlite import ir
from numba.core import types
from numba.extending import intrinsic

from .._validation import DataError

_FAST_FLAGS = {"nsz", "arcp", "contract", "afn", "reassoc"}
_SUM_FLAGS = {"nsz", "contract", "reassoc"}
_SCALED_FLAGS = {"nsz", "contract"}
_JIT = dict(nogil=True, cache=True, fastmath=_FAST_FLAGS)
_JIT_SUMS = dict(nogil=True, cache=True, fastmath=_SUM_FLAGS)
_JIT_SCALED = dict(nogil=True, cache=True, fastmath=_SCALED_FLAGS)

#: Rows processed together by the L1 / L-infinity loops: each anchor value loaded from
#: memory is reused for this many samples.
ROW_TILE = 4

#: Rows whose largest magnitude lies within ``[_PLAIN_LOW, _PLAIN_HIGH]`` are used as they are:
#: in float64, their squares and sums can neither overflow nor underflow. Every float32 row is.
_PLAIN_LOW = 2.0**-480
_PLAIN_HIGH = 2.0**480

#: Beyond ``2**+-_SAFE_EXPONENT`` (float64 only) a row is divided by its largest magnitude
#: rather than multiplied by a power of two, whose value would not be a normal number.
_SAFE_EXPONENT = 1000


@intrinsic
def _maxnum(typingctx, a, b):
    """``llvm.maxnum(a, b)`` with the ``nnan`` and ``nsz`` flags: a maximum LLVM vectorises.

    For finite or infinite operands it is the larger one. The flags tell LLVM no operand is
    NaN, which holds for the loops here (see the module docstring).
    """
    if not (isinstance(a, types.Float) and a == b):
        return None

    def codegen(context, builder, signature, args):
        llvm_type = context.get_value_type(signature.return_type)
        name = "llvm.maxnum.f32" if llvm_type == ir.FloatType() else "llvm.maxnum.f64"
        function = builder.module.globals.get(name)
        if function is None:
            signature_type = ir.FunctionType(llvm_type, [llvm_type, llvm_type])
            function = ir.Function(builder.module, signature_type, name)
        return builder.call(function, args, fastmath=("nnan", "nsz"))

    return a(a, b), codegen


@numba.njit(nogil=True, cache=True)
def all_finite(values):
    """Whether every entry of a 2-D array is finite (no temporary the size of the array)."""
    n, k = values.shape
    for i in range(n):
        for j in range(k):
            if not np.isfinite(values[i, j]):
                return False
    return True


def check_overflow(out, kernel_name):
    """Raise if a block of distances holds a non-finite value (its true value overflowed).

    Finite input only gives ``inf`` (or, in the Minkowski loop, ``inf / inf``) when a
    coordinate difference or the distance itself exceeds the largest number of the dtype, so
    the true distance does not fit in it either.

    Parameters
    ----------
    out : ndarray
        A block of distances, as written by a kernel.
    kernel_name : str
        The kernel's name, for the message.

    Raises
    ------
    ValueError
        Naming the samples ``X``, the dtype and the remedy.
    """
    if not all_finite(out):
        raise overflow_error(out.dtype, kernel_name)


def overflow_error(dtype, kernel_name):
    """The error :func:`check_overflow` raises, for kernels that detect overflow themselves."""
    dtype = np.dtype(dtype)
    remedy = "rescale X and the anchors, or use float64" if dtype == np.float32 else (
        "rescale X and the anchors"
    )
    return DataError(
        f"The {kernel_name} distances between X and the anchors overflow {dtype} (some "
        f"exceed {np.finfo(dtype).max:.3g}); {remedy}."
    )


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
def _l1_linf_loop(X, A, out_l1, out_linf):
    """Both L1 and L-infinity distances in one pass over the coordinate differences.

    Tiles of 2 samples x 2 anchors: their four rows (24 KiB of float64 at 768 features) stay
    in a core's L1 cache while the tile's eight accumulators run over the features.
    """
    n, d = X.shape
    k = A.shape[0]
    zero = X.dtype.type(0)
    n_paired = n - n % 2
    k_paired = k - k % 2
    for i in range(0, n_paired, 2):
        for j in range(0, k_paired, 2):
            s00 = zero
            s01 = zero
            s10 = zero
            s11 = zero
            m00 = zero
            m01 = zero
            m10 = zero
            m11 = zero
            for f in range(d):
                a0 = A[j, f]
                a1 = A[j + 1, f]
                x0 = X[i, f]
                x1 = X[i + 1, f]
                v00 = abs(x0 - a0)
                v01 = abs(x0 - a1)
                v10 = abs(x1 - a0)
                v11 = abs(x1 - a1)
                s00 += v00
                s01 += v01
                s10 += v10
                s11 += v11
                m00 = _maxnum(m00, v00)
                m01 = _maxnum(m01, v01)
                m10 = _maxnum(m10, v10)
                m11 = _maxnum(m11, v11)
            out_l1[i, j] = s00
            out_l1[i, j + 1] = s01
            out_l1[i + 1, j] = s10
            out_l1[i + 1, j + 1] = s11
            out_linf[i, j] = m00
            out_linf[i, j + 1] = m01
            out_linf[i + 1, j] = m10
            out_linf[i + 1, j + 1] = m11
    # The last anchor of an odd count, and the last row of an odd count.
    for r in range(n):
        first_anchor = k_paired if r < n_paired else 0
        for j in range(first_anchor, k):
            s = zero
            m = zero
            for f in range(d):
                v = abs(X[r, f] - A[j, f])
                s += v
                m = _maxnum(m, v)
            out_l1[r, j] = s
            out_linf[r, j] = m


def l1_linf_block(X, A, out_l1, out_linf):
    """Both L1 and L-infinity distances in one pass; raise if either overflows the dtype."""
    _l1_linf_loop(X, A, out_l1, out_linf)
    check_overflow(out_l1, "l1")
    check_overflow(out_linf, "linf")


@numba.njit(**_JIT_SCALED)
def minkowski_block(X, A, p, out):
    """Fill ``out[i, j] = (sum_f |X[i, f] - A[j, f]|**p) ** (1 / p)``.

    Each difference vector is divided by its largest absolute entry first, so that ``|.|**p``
    neither overflows nor underflows, for large ``p`` or extreme magnitudes alike. The
    division stays a division (a subnormal maximum has no finite reciprocal): its cost is
    small next to the power.
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
            top = np.float64(m)
            s = 0.0
            for f in range(d):
                s += (np.float64(abs(X[r, f] - A[j, f])) / top) ** p
            out[r, j] = top * s**inv_p


@numba.njit(inline="always")
def _row_scale(m):
    """``(factor, divide)``: multiply by ``factor``, or divide by ``m`` when ``divide``.

    Either way a row whose largest magnitude is ``m > 0`` is brought to ``[-1, 1]``. The
    factor is the power of two ``2**-e`` with ``m = f * 2**e``, ``0.5 <= f < 1``: the
    multiplication is exact. Beyond ``2**+-_SAFE_EXPONENT`` that power may not be a normal
    number, and the row is divided by ``m`` instead.
    """
    exponent = math.frexp(m)[1]
    if -_SAFE_EXPONENT <= exponent <= _SAFE_EXPONENT:
        return math.ldexp(1.0, -exponent), False
    return 1.0, True


@numba.njit(inline="always")
def _scaled(value, factor, m, divide):
    """``value`` in float64 brought to the row's ``[-1, 1]`` scale (see :func:`_row_scale`)."""
    return np.float64(value) / m if divide else np.float64(value) * factor


#: Codes of the per-sample normalisations understood by :func:`normalize_rows_into`.
NORM_NONE, NORM_LAYER, NORM_L2 = 0, 1, 2

#: ``"layer"``: a row whose standard deviation is at most this many ``eps`` (of its dtype)
#: times the absolute value of its mean is constant up to rounding, and becomes zeros.
CONSTANT_ROW_EPS = 16


@numba.njit(inline="always")
def _layer_scale(spread, shift, coefficient, eps):
    """``coefficient / spread``, or 0 when the spread is rounding noise next to the mean."""
    return coefficient / spread if spread > CONSTANT_ROW_EPS * eps * abs(shift) else 0.0


@numba.njit(**_JIT_SCALED)
def _normalize_row_scaled(source, target, m, norm, coefficient, accumulate, eps):
    """One row of :func:`normalize_columns_into`, brought to ``[-1, 1]`` first (float64 rows
    beyond ``2**+-480``)."""
    k = source.shape[0]
    factor, divide = _row_scale(m)
    shift = 0.0
    if norm == NORM_L2:
        squares = 0.0
        for j in range(k):
            y = _scaled(source[j], factor, m, divide)
            squares += y * y
        scale = coefficient / np.sqrt(squares)
    else:
        total = 0.0
        for j in range(k):
            total += _scaled(source[j], factor, m, divide)
        shift = total / k
        residuals = 0.0
        squares = 0.0
        for j in range(k):
            r = _scaled(source[j], factor, m, divide) - shift
            residuals += r
            squares += r * r
        shift += residuals / k
        spread = np.sqrt(max((squares - residuals * residuals / k) / k, 0.0))
        scale = _layer_scale(spread, shift, coefficient, eps)
    for j in range(k):
        value = (_scaled(source[j], factor, m, divide) - shift) * scale
        target[j] = target[j] + value if accumulate else value


@numba.njit(**_JIT_SUMS)
def normalize_rows_into(values, out, norm, coefficient, accumulate):
    """Normalise each row of ``values`` and write (or add) ``coefficient *`` it into ``out``.

    ``norm``: ``NORM_LAYER`` subtracts the row mean and divides by the row standard deviation
    (population), ``NORM_L2`` divides by the row's L2 norm, ``NORM_NONE`` copies. ``out`` may
    be ``values`` itself (in place) or a strided view (a slice of a wider output); the loops
    vectorise only on C-contiguous arrays, which :func:`normalize_columns_into` keeps for
    column ranges of wider arrays.
    """
    normalize_columns_into(values, 0, out, 0, values.shape[1], 0, values.shape[0], norm,
                           coefficient, accumulate)


@numba.njit(**_JIT_SUMS)
def normalize_columns_into(values, vc, out, oc, k, start, stop, norm, coefficient, accumulate):
    """:func:`normalize_rows_into` of the columns ``vc:vc + k`` of ``values`` into the columns
    ``oc:oc + k`` of ``out``, for the rows ``start:stop`` (the same columns of one array: in
    place).

    Scale-safe: statistics are accumulated in float64, on the row itself when its largest
    magnitude lies within ``2**+-480`` (every float32 row), else on the row brought to
    ``[-1, 1]`` first. The variance is the corrected two-pass one (``sum r^2 - (sum r)^2 / k``
    over the residuals ``r``), which also removes the rounding of the mean. A row with nothing
    to divide becomes zeros: a zero row, and for ``NORM_LAYER`` a row whose standard deviation
    is at most ``CONSTANT_ROW_EPS * eps * |mean|`` (``eps`` of the row's dtype), a spread that
    rounding alone leaves on equal values (as on a projection onto duplicate anchors).
    """
    eps = 1.1920928955078125e-07 if values.itemsize == 4 else 2.220446049250313e-16
    for i in range(start, stop):
        # Row views (contiguous when the arrays are): indexing with an offset of unknown
        # sign would keep the loops from vectorising.
        source = values[i, vc:vc + k]
        target = out[i, oc:oc + k]
        shift = 0.0
        scale = coefficient
        if norm != NORM_NONE:
            # One pass: the largest magnitude, and the sum ("layer") or the sum of squares.
            m = 0.0
            total = 0.0
            if norm == NORM_L2:
                for j in range(k):
                    v = np.float64(source[j])
                    m = _maxnum(m, abs(v))
                    total += v * v
            else:
                for j in range(k):
                    v = np.float64(source[j])
                    m = _maxnum(m, abs(v))
                    total += v
            if m == 0.0:
                scale = 0.0
            elif not _PLAIN_LOW <= m <= _PLAIN_HIGH:
                _normalize_row_scaled(source, target, m, norm, coefficient, accumulate, eps)
                continue
            elif norm == NORM_L2:
                scale = coefficient / np.sqrt(total)
            else:
                shift = total / k
                residuals = 0.0
                squares = 0.0
                for j in range(k):
                    r = np.float64(source[j]) - shift
                    residuals += r
                    squares += r * r
                shift += residuals / k
                spread = np.sqrt(max((squares - residuals * residuals / k) / k, 0.0))
                scale = _layer_scale(spread, shift, coefficient, eps)
        if accumulate:
            for j in range(k):
                target[j] += (np.float64(source[j]) - shift) * scale
        else:
            for j in range(k):
                target[j] = (np.float64(source[j]) - shift) * scale
