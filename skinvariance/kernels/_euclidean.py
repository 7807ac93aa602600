"""The Euclidean kernel's anchors and blocks, scaled row by row: one row never spoils another.

Distances come from the Gram form ``|x|^2 + |a|^2 - 2 <x, a>`` (one matrix product) on
samples and anchors centred on the anchors' mean. So that no square overflows or underflows,
each sample and each anchor is put in a *magnitude group* by the binary exponent ``e`` of its
largest magnitude: group 0 for ``|e| <= 32`` (zero rows too), else ``e`` rounded to a multiple
of 32. A pair of groups ``(r, c)`` is computed with both sides multiplied by ``2**-max(r, c)``
(exact), which brings the larger side within ``2**+-32`` and the smaller below it; ordinary
data is one group on each side, one matrix product. A row's group, hence its result, depends
on that row and the anchors alone, never on the other rows of its block.

Entries the Gram form cannot give to the kernel's accuracy (cancellation: ``d^2`` small next
to ``|x|^2 + |a|^2``; or squared norms near the dtype's underflow, where a side was scaled far
down) are recomputed from the original coordinates in float64, with the difference vector
brought to ``[-1, 1]`` first when its largest entry lies outside ``2**+-480`` (float64 only).
"""

import numba
import numpy as np

from ._numba import (
    _JIT_SCALED,
    _JIT_SUMS,
    _PLAIN_HIGH,
    _PLAIN_LOW,
    _maxnum,
    _row_scale,
    _scaled,
)

#: Rows whose largest magnitude lies within ``2**+-WINDOW`` are used as they are; the others
#: are grouped by their exponent rounded to a multiple of ``WINDOW``.
WINDOW = 32

#: Scaled squared norms ``|x|^2 + |a|^2`` below this are recomputed: there the squares and
#: products of the Gram form may be subnormal and lose their relative precision.
_FLOOR = {np.dtype(np.float32): 2.0**-100, np.dtype(np.float64): 2.0**-1000}


@numba.njit(**_JIT_SUMS)
def row_max_abs(X, out):
    """``out[i] = max_f |X[i, f]|``, in float64."""
    n, d = X.shape
    zero = X.dtype.type(0)
    for i in range(n):
        m = zero
        for f in range(d):
            m = _maxnum(m, abs(X[i, f]))
        out[i] = m


def magnitude_groups(rows):
    """The magnitude group of every row (see the module docstring), as int64."""
    maxima = np.empty(rows.shape[0])
    row_max_abs(rows, maxima)
    exponents = np.frexp(maxima)[1]  # 0 for a zero row
    rounded = WINDOW * np.round(exponents / WINDOW).astype(np.int64)
    return np.where(np.abs(exponents) <= WINDOW, 0, rounded)


@numba.njit(**_JIT_SCALED)
def _distance_scaled(X, A, i, j, m):
    """``|X[i] - A[j]|`` from the difference brought to ``[-1, 1]`` by its largest entry ``m``."""
    factor, divide = _row_scale(m)
    squares = 0.0
    for f in range(X.shape[1]):
        y = _scaled(np.float64(X[i, f]) - np.float64(A[j, f]), factor, m, divide)
        squares += y * y
    return np.sqrt(squares) * (m if divide else 1.0 / factor)


@numba.njit(**_JIT_SUMS)
def _distance(X, A, i, j):
    """``|X[i] - A[j]|`` in float64 from the coordinates, at any magnitude (inf if it
    overflows float64)."""
    m = 0.0
    squares = 0.0
    for f in range(X.shape[1]):
        diff = np.float64(X[i, f]) - np.float64(A[j, f])
        m = _maxnum(m, abs(diff))
        squares += diff * diff
    if m == 0.0 or _PLAIN_LOW <= m <= _PLAIN_HIGH:
        return np.sqrt(squares)
    if m == np.inf:
        return m
    return _distance_scaled(X, A, i, j, m)


@numba.njit(**_JIT_SUMS)
def subtract_and_square(X, mean, out, squares):
    """``out = X - mean`` and ``squares[i] = |out[i]|^2``, in one pass (in the dtype of X)."""
    n, d = X.shape
    for i in range(n):
        acc = X.dtype.type(0)
        for f in range(d):
            c = X[i, f] - mean[f]
            out[i, f] = c
            acc += c * c
        squares[i] = acc


@numba.njit(**_JIT_SUMS)
def _finish_row(X, A, i, shift, x_sq, a_sq, gram, rtol, floor):
    """Row ``i`` of :func:`finish_block` when it has entries to recompute, or a ``shift``."""
    half = shift // 2
    # Two factors: 2**shift itself may not be a float64 (shift up to +-1088).
    first, second = 2.0**half, 2.0 ** (shift - half)
    finite = True
    for j in range(gram.shape[1]):
        total = x_sq[i] + a_sq[j]
        d2 = total - 2 * gram[i, j]
        if d2 <= rtol * total or total < floor:
            gram[i, j] = _distance(X, A, i, j)
        else:
            gram[i, j] = np.sqrt(np.float64(d2)) * first * second
        finite &= np.isfinite(gram[i, j])
    return finite


@numba.njit(**_JIT_SUMS)
def finish_block(X, A, shift, x_sq, a_sq, gram, rtol, floor):
    """Turn the Gram block ``gram = Xc @ Ac.T`` (at ``2**-shift``) into distances, in place.

    ``x_sq``, ``a_sq``: squared norms of the centred, scaled rows. Entries with
    ``d^2 <= rtol (|x|^2 + |a|^2)`` or ``|x|^2 + |a|^2 < floor`` are recomputed from the
    original rows ``X`` and ``A`` (:func:`_distance`); the others are ``sqrt(d^2)`` multiplied
    back by ``2**shift``. Returns whether every distance is finite (it is not only where the
    true distance overflows the dtype).
    """
    n, k = gram.shape
    zero = gram.dtype.type(0)
    two = gram.dtype.type(2)
    tol = gram.dtype.type(rtol)
    small = gram.dtype.type(floor)
    finite = True
    for i in range(n):
        if shift != 0:
            finite &= _finish_row(X, A, i, shift, x_sq, a_sq, gram, rtol, floor)
            continue
        # One vectorised pass writes sqrt(d^2) and counts the entries to recompute.
        xi = x_sq[i]
        flagged = 0
        for j in range(k):
            total = xi + a_sq[j]
            d2 = total - two * gram[i, j]
            flagged += (d2 <= tol * total) | (total < small)
            gram[i, j] = np.sqrt(max(d2, zero))
        if flagged == 0:
            continue
        # d^2 is gone; v = sqrt(max(d^2, 0)) has v^2 within a few ulps of it, so a slightly
        # looser test finds every flagged entry (and perhaps a few more: recomputing is exact).
        for j in range(k):
            total = xi + a_sq[j]
            v = gram[i, j]
            if v * v <= 1.0001 * tol * total or total < small:
                gram[i, j] = _distance(X, A, i, j)
                finite &= np.isfinite(gram[i, j])
    return finite


class EuclideanAnchors:
    """The anchors of the Euclidean kernel, by magnitude group, centred and scaled on demand.

    Parameters
    ----------
    anchors : ndarray of shape (n_anchors, n_features)
        Finite float32 or float64 anchors.
    """

    def __init__(self, anchors):
        self.anchors = np.ascontiguousarray(anchors)
        dtype = self.anchors.dtype
        self.rtol = float(np.sqrt(self.anchors.shape[1] * np.finfo(dtype).eps))
        self.floor = _FLOOR[dtype]
        groups = magnitude_groups(self.anchors)
        if np.all(groups == groups[0]):
            self.groups = [(int(groups[0]), None, self.anchors)]
        else:
            self.groups = [
                (int(c), cols, np.ascontiguousarray(self.anchors[cols]))
                for c in np.unique(groups) for cols in [np.flatnonzero(groups == c)]
            ]
        self._states = {}

    def _state(self, position, shift):
        """``(mean, centred anchors, their squared norms)`` of a group at ``2**-shift``."""
        key = (position, shift)
        if key not in self._states:
            if len(self._states) >= 4 * len(self.groups):  # keep a few scales, not all seen
                self._states.clear()
            originals = self.groups[position][2]
            with np.errstate(under="ignore"):
                scaled = originals if shift == 0 else np.ldexp(originals, -shift)
            mean = scaled.mean(axis=0)
            centred = np.ascontiguousarray(scaled - mean)
            self._states[key] = mean, centred, np.einsum("ij,ij->i", centred, centred)
        return self._states[key]

    def _pair(self, X, position, shift, out):
        """Distances of the rows ``X`` to anchor group ``position``, at ``2**-shift``."""
        mean, centred, a_sq = self._state(position, shift)
        Xc = np.empty_like(X)
        x_sq = np.empty(len(X), dtype=X.dtype)
        if shift == 0:
            subtract_and_square(X, mean, Xc, x_sq)
        else:
            with np.errstate(under="ignore"):
                subtract_and_square(np.ldexp(X, -shift), mean, Xc, x_sq)
        np.dot(Xc, centred.T, out=out)
        return finish_block(X, self.groups[position][2], shift, x_sq, a_sq, out, self.rtol,
                            self.floor)

    def compute(self, X, out):
        """Fill ``out`` with the distances of the C-contiguous rows ``X`` to the anchors;
        return whether they are all finite."""
        if X.shape[0] == 0:
            return True
        groups = magnitude_groups(X)
        if len(self.groups) == 1 and np.all(groups == groups[0]):
            return self._pair(X, 0, max(int(groups[0]), self.groups[0][0]), out)
        finite = True
        for r in np.unique(groups):
            rows = np.flatnonzero(groups == r)
            block = X[rows]
            for position, (c, cols, _) in enumerate(self.groups):
                part = np.empty((len(rows), out.shape[1] if cols is None else len(cols)),
                                dtype=out.dtype)
                finite &= self._pair(block, position, max(int(r), c), part)
                if cols is None:
                    out[rows] = part
                else:
                    out[np.ix_(rows, cols)] = part
        return finite
