"""Compiled loops of the measures and of their permutation nulls.

Each loop works serially on the part of the work it is given and releases the GIL
(``nogil=True``), so that :func:`run_over_permutations` can hand slices of permutations to the
package's thread pool. They are compiled lazily on first call and cached on disk (none uses
``parallel=True``, which is unsafe with ``cache=True``). Their inputs are finite (validated
before), which is what makes the fast-math subset safe; ``nnan`` and ``ninf`` are left out.
"""

import numba
import numpy as np

from .._parallel import compiled_threads, run_parts, split_rows

__all__ = [
    "average_ranks",
    "permuted_neighbour_overlap",
    "permuted_pair_sums",
    "run_over_permutations",
]

_FASTMATH = {"nsz", "arcp", "contract", "afn", "reassoc"}
_JIT = dict(nogil=True, cache=True, fastmath=_FASTMATH)


@numba.njit(**_JIT)
def _pair_sum(A, B, p):  # pragma: no cover - compiled
    zero = A.dtype.type(0)
    total = 0.0
    for i in range(A.shape[0]):
        row_a = A[i]
        row_b = B[p[i]]
        acc = zero  # one row in the storage dtype (vectorised gathers), rows summed in float64
        for j in range(i):
            acc += row_a[j] * row_b[p[j]]
        total += 2.0 * acc + row_a[i] * row_b[p[i]]
    return total


@numba.njit(**_JIT)
def _pair_sums(A, B, perms, out):  # pragma: no cover - compiled
    # Four permutations share each pass over a row of A: four independent streams of
    # gathers keep more cache misses in flight (about 20% faster than one at a time).
    n = A.shape[0]
    zero = A.dtype.type(0)
    n_four = perms.shape[0] - perms.shape[0] % 4
    for b in range(0, n_four, 4):
        p0, p1, p2, p3 = perms[b], perms[b + 1], perms[b + 2], perms[b + 3]
        t0 = t1 = t2 = t3 = 0.0
        for i in range(n):
            row_a = A[i]
            r0, r1, r2, r3 = B[p0[i]], B[p1[i]], B[p2[i]], B[p3[i]]
            a0 = a1 = a2 = a3 = zero
            for j in range(i):
                v = row_a[j]
                a0 += v * r0[p0[j]]
                a1 += v * r1[p1[j]]
                a2 += v * r2[p2[j]]
                a3 += v * r3[p3[j]]
            diagonal = row_a[i]
            t0 += 2.0 * a0 + diagonal * r0[p0[i]]
            t1 += 2.0 * a1 + diagonal * r1[p1[i]]
            t2 += 2.0 * a2 + diagonal * r2[p2[i]]
            t3 += 2.0 * a3 + diagonal * r3[p3[i]]
        out[b], out[b + 1], out[b + 2], out[b + 3] = t0, t1, t2, t3
    for b in range(n_four, perms.shape[0]):
        out[b] = _pair_sum(A, B, perms[b])


@numba.njit(**_JIT)
def _neighbour_overlap(NX, NY, VX, VY, perms, out):  # pragma: no cover - compiled
    n, k = NX.shape
    stamp = np.full(n, -1, dtype=np.int64)
    slot = np.zeros(n, dtype=np.int64)
    inverse = np.empty(n, dtype=np.int64)
    for b in range(perms.shape[0]):
        p = perms[b]
        for i in range(n):
            inverse[p[i]] = i
        shared = 0.0
        jaccard = 0.0
        products = 0.0
        for i in range(n):
            tag = b * n + i
            for a in range(k):
                stamp[NX[i, a]] = tag
                slot[NX[i, a]] = a
            pi = p[i]
            count = 0
            for t in range(k):
                j = inverse[NY[pi, t]]  # the t-th neighbour of y_{p_i}, as a row of Y[p]
                if stamp[j] == tag:
                    count += 1
                    products += VX[i, slot[j]] * VY[pi, t]
            shared += count
            jaccard += count / (2.0 * k - count)
        out[b, 0] = shared
        out[b, 1] = jaccard
        out[b, 2] = products


@numba.njit(nogil=True, cache=True)
def _fill_average_ranks(sorted_values, order, out):  # pragma: no cover - compiled
    size = sorted_values.size
    start = 0
    while start < size:
        stop = start + 1
        while stop < size and sorted_values[stop] == sorted_values[start]:
            stop += 1
        rank = 0.5 * (start + stop - 1) + 1.0
        for t in range(start, stop):
            out[order[t]] = rank
        start = stop


def run_over_permutations(loop, perms, out, *args):
    """``loop(*args, perms[part], out[part])`` over slices of permutations, on the thread pool."""
    parts = split_rows(len(perms), compiled_threads(), min_rows=1)
    run_parts(lambda part: loop(*args, perms[part], out[part]), parts)


def permuted_pair_sums(A, B, perms):
    """``sum_ij A[i, j] B[p_i, p_j]`` for every row ``p`` of ``perms``; A and B symmetric.

    ``A`` and ``B`` are square matrices of one float dtype (float32 halves the memory traffic
    that bounds this loop); each row's partial sum is taken in that dtype, the total in float64.
    The loop visits the lower triangle of ``A`` once and gathers row ``p_i`` of ``B``, which
    stays in cache while it is read: O(n^2 / 2) work per permutation and no temporary.
    """
    perms = np.ascontiguousarray(perms, dtype=np.intp)
    out = np.empty(len(perms))
    run_over_permutations(_pair_sums, perms, out, A, B)
    return out


def permuted_neighbour_overlap(NX, NY, perms, VX=None, VY=None):
    """Overlap of neighbour lists of X and of ``Y[p]`` for every row ``p`` of ``perms``.

    ``NX[i]`` and ``NY[i]`` are the ``k`` neighbours of sample ``i`` in X and in Y. Under a
    permutation ``p`` of Y's rows, the neighbours of row ``i`` of ``Y[p]`` are those of
    ``y_{p_i}`` renamed by ``p^-1``, so nothing is searched again. Returns an array of shape
    ``(n_permutations, 3)``: the sum over samples of the shared count ``c_i``, the sum of
    ``c_i / (2k - c_i)`` (Jaccard), and the sum of ``VX[i, a] * VY[p_i, t]`` over the shared
    pairs (values attached to each neighbour pair, e.g. centred kernel values). O(n k) per
    permutation.
    """
    perms = np.ascontiguousarray(perms, dtype=np.intp)
    if VX is None:
        VX = VY = np.zeros(NX.shape)
    out = np.empty((len(perms), 3))
    run_over_permutations(_neighbour_overlap, perms, out, NX, NY, VX, VY)
    return out


def average_ranks(values):
    """Ranks 1..N of ``values`` (1-D), ties given their average rank; consumes ``values``.

    ``values`` is sorted in place, so the peak memory is the values, the sort order (int64)
    and the ranks: 24 bytes per value.
    """
    order = np.argsort(values)
    values.sort()
    ranks = np.empty(values.size)
    _fill_average_ranks(values, order, ranks)
    return ranks
