"""Exact cosine searches at the float32 rate: screen every pair in float32, decide the close
calls in float64.

A neighbour search or a retrieval rank only compares similarities: to one row's matched
similarity (:func:`count_at_least`), or to its k-th largest (:func:`top_k_lists`). The float32
product of two unit rows of width ``d`` is within :func:`dot_error` of their exact cosine, so
a similarity farther than twice that from the value it is compared with is decided by its
float32 value alone; the few closer ones are computed again in float64, and a row with many
of them (a zero row, duplicates) is searched again whole in float64. The results are those of
a float64 search, ties included, for half the time of its matrix product.

A space is held as :class:`UnitRows`: its float32 unit rows, the float64 ones computed again
from the space's own rows where a decision needs them (half the memory of keeping them).
Every float64 similarity a decision reads is computed by :func:`exact_dots` (rows that hold
the same values get the same similarity, so exact ties stay ties), or, for a row searched
again whole, by one float64 matrix product of the row against all.
"""

import numpy as np

from .._parallel import row_blocks
from ._base import exact_unit_rows

__all__ = [
    "UnitRows",
    "count_at_least",
    "dot_error",
    "exact_dots",
    "largest_k_mask",
    "top_k_lists",
]

_U32 = 2.0**-24  # float32 unit roundoff
#: A row with more close calls than this share of its candidates (plus a few) is searched
#: again whole in float64: a matrix product beats gathering that many pairs.
_CROWDED_SHARE = 1 / 32
#: Bytes of the two gathered float64 blocks :func:`exact_dots` multiplies at a time.
_PAIR_BYTES = 2**23


class UnitRows:
    """What the searches read of a space ``Z`` (validated, finite): its unit rows rounded to
    float32 (``rows32``, computed a block at a time), and its exact float64 unit rows
    (:func:`exact_unit_rows`) of any rows on demand (:meth:`exact`), from ``Z`` itself.

    :func:`exact_unit_rows` works row by row, so a row's float64 unit row is the same
    whichever rows are computed with it.
    """

    def __init__(self, Z):
        self.Z = Z
        self.rows32 = np.empty(Z.shape, dtype=np.float32)
        for rows in row_blocks(Z.shape[0], 8 * Z.shape[1]):
            self.rows32[rows] = exact_unit_rows(Z[rows])

    @property
    def shape(self):
        return self.Z.shape

    def exact(self, index=slice(None)):
        """The float64 unit rows of ``Z[index]``."""
        return exact_unit_rows(self.Z[index])


def dot_error(width):
    """An upper bound of ``|fl32(x . y) - x . y|`` for float64 unit rows ``x, y`` of
    ``width`` entries rounded to float32 and multiplied in float32.

    Rounding each entry costs ``u |x_k|`` (``u = 2**-24``), at most ``2**-125`` more where
    it falls below float32's normal range, and any float32 summation of ``width`` products
    ``gamma_width = width u / (1 - width u)`` times ``sum |x_k y_k| <= 1`` (Cauchy-Schwarz):
    together at most ``gamma_(width + 3) + width 2**-120``. Infinite when that bound says
    nothing (``width`` near ``2**24``).
    """
    terms = (width + 3) * _U32
    if terms >= 0.5:
        return np.inf
    return terms / (1.0 - terms) + width * 2.0**-120


def _margin(width):
    """How far from its comparison value a float32 similarity (minus that value, in float32)
    must fall to be decided without float64: both sides' error and the subtraction's."""
    return 2.0 * dot_error(width) + 8.0 * _U32


def exact_dots(X, x_rows, Y, y_rows):
    """``x . y`` for every pair of rows ``x_rows[t]`` of ``X`` and ``y_rows[t]`` of ``Y``
    (:class:`UnitRows`), from their float64 unit rows, a bounded block at a time.

    Each is the pairwise sum of one row of elementwise products, so it depends on the two rows'
    values only (not on where they sit in memory): equal rows give equal values.
    """
    out = np.empty(len(x_rows))
    step = max(1, _PAIR_BYTES // (16 * max(X.shape[1], 1)))
    for start in range(0, len(x_rows), step):
        part = slice(start, start + step)
        out[part] = np.multiply(X.exact(x_rows[part]), Y.exact(y_rows[part])).sum(axis=1)
    return out


def _most_close_calls(n_candidates):
    """Above this many close calls, a row is searched again whole in float64."""
    return 16 + int(_CROWDED_SHARE * n_candidates)


def _float64_counts(X, queries, Y, matched):
    """The float64 search of :func:`count_at_least` for the rows ``queries`` of ``X``."""
    S = X.exact(queries) @ Y.exact().T
    return np.count_nonzero(S >= S[np.arange(S.shape[0]), matched][:, None], axis=1)


def count_at_least(X, queries, Y, matched):
    """``#{j : x_i . y_j >= x_i . y_matched[i]}`` for the unit rows ``x_i`` of ``X`` picked
    by ``queries``, as a float64 search counts it.

    Parameters
    ----------
    X, Y : UnitRows, of n_x and n rows of width d
        The queries' space and the searched space.
    queries : slice or ndarray of int
        The query rows of ``X`` (m of them).
    matched : ndarray of int, shape (m,)
        Each query's matched row of ``Y``.

    Returns
    -------
    counts : ndarray of int, shape (m,)
        The matched row itself included (so at least 1 for a nonzero query).
    """
    m = matched.size
    S = X.rows32[queries] @ Y.rows32.T
    own_value = S[np.arange(m), matched]
    margin = _margin(X.shape[1])
    above = S > (own_value + margin)[:, None]
    counts = np.count_nonzero(above, axis=1)
    # Close calls: within the margin of the matched similarity, the matched row included.
    close = S >= (own_value - margin)[:, None]
    del S
    n_close = np.count_nonzero(close, axis=1) - counts
    close ^= above  # above is within close: what is left is the close calls
    crowded = n_close > _most_close_calls(Y.shape[0])
    # A row whose only close call is its matched row: at least its own similarity, counted.
    alone = n_close == 1
    counts[alone] += 1
    if alone.all():
        return counts
    x_rows = np.arange(X.shape[0])[queries]
    if crowded.any():
        rows = np.flatnonzero(crowded)
        counts[rows] = _float64_counts(X, x_rows[rows], Y, matched[rows])
    close[alone | crowded] = False
    rows, cols = np.nonzero(close)
    decided = np.flatnonzero(~alone & ~crowded)
    own_exact = exact_dots(X, x_rows[decided], Y, matched[decided])
    at_least = (exact_dots(X, x_rows[rows], Y, cols)
                >= own_exact[np.searchsorted(decided, rows)])
    counts += np.bincount(rows[at_least], minlength=m)
    return counts


def _chunk_floor(S, k):
    """Per row of ``S``, a value at most its ``k``-th largest entry: the ``k``-th largest of
    the maxima of at least ``k`` chunks of the row (one pass, no selection over the row)."""
    n = S.shape[1]
    n_chunks = min(n, max(k, 64))
    peaks = np.maximum.reduceat(S, (np.arange(n_chunks) * n) // n_chunks, axis=1)
    return np.partition(peaks, n_chunks - k, axis=1)[:, n_chunks - k]


def _place_in_row(rows):
    """Each entry's place among the entries of its row, for ``rows`` sorted."""
    return np.arange(rows.size) - np.searchsorted(rows, rows)


def largest_k_mask(S, k):
    """Boolean mask of the ``k`` largest entries of each row of ``S``.

    Ties at the k-th value are broken in favour of the lower column index, so the result is
    deterministic; found with a partial selection (``np.partition``), not a full sort.
    """
    n = S.shape[1]
    kth = np.partition(S, n - k, axis=1)[:, n - k, None]
    mask = S > kth
    ties = S == kth
    need = k - np.count_nonzero(mask, axis=1)
    n_ties = np.count_nonzero(ties, axis=1)
    # Usually the k-th value occurs just as often as places remain: take every tie. Rows with
    # more ties than places keep the lowest column indices.
    crowded = np.flatnonzero(n_ties > need)
    if crowded.size:
        ties[crowded] &= np.cumsum(ties[crowded], axis=1) <= need[crowded, None]
    mask |= ties
    return mask


def _float64_top_k(Z, own, k):
    """The float64 search of :func:`top_k_lists` for the rows ``own`` of ``Z``."""
    S = Z.exact(own) @ Z.exact().T
    S[np.arange(own.size), own] = -np.inf
    return np.nonzero(largest_k_mask(S, k))[1].reshape(-1, k)


def top_k_lists(Z, queries, own, k):
    """The ``k`` most cosine-similar rows of ``Z`` to each of its rows ``queries`` (its own
    row ``own[i]`` left out), as row indices in increasing order, shape (m, k): the sets a
    float64 search finds, ties for the last place going to the lower row index.

    Parameters
    ----------
    Z : UnitRows, of n rows
        The space searched, the queries among its rows.
    queries : slice or ndarray of int
        The query rows (m of them).
    own : ndarray of int, shape (m,)
        The same as row indices: each query's own row, never its neighbour.
    k : int
        ``1 <= k < n``.
    """
    m, n = own.size, Z.shape[0]
    S = Z.rows32[queries] @ Z.rows32.T
    S[np.arange(m), own] = -np.inf
    margin = _margin(Z.shape[1])
    # Every similarity that can be in a row's k is at or above this floor: one pass, then
    # the work is on the few candidates, usually a few times k a row. A row with many
    # (ties, or k near n) is searched again whole in float64, as a row with many close calls.
    candidates = S >= (_chunk_floor(S, k) - 2 * margin)[:, None]
    crowded = np.count_nonzero(candidates, axis=1) > min(max(8 * k, 64), n // 4)
    candidates[crowded] = False
    rows, cols = np.nonzero(candidates)
    values = S[rows, cols]
    order = np.lexsort((-values, rows))
    rows, cols, values = rows[order], cols[order], values[order]
    kth = np.empty(m, dtype=S.dtype)
    searched = np.flatnonzero(~crowded)
    kth[searched] = values[np.searchsorted(rows, searched) + k - 1]
    gap = values - kth[rows]
    certain = gap > margin
    close = (gap >= -margin) & ~certain
    crowded |= np.bincount(rows[close], minlength=m) > _most_close_calls(n)
    close &= ~crowded[rows]
    certain &= ~crowded[rows]
    # The k-th largest exact similarity is among the close calls, and every similarity above
    # them is in: each row takes its missing places from its close calls, by decreasing
    # float64 similarity, then increasing row index.
    missing = k - np.bincount(rows[certain], minlength=m)
    near_rows, near_cols = rows[close], cols[close]
    order = np.lexsort((near_cols, -exact_dots(Z, own[near_rows], Z, near_cols), near_rows))
    near_rows, near_cols = near_rows[order], near_cols[order]
    taken = _place_in_row(near_rows) < missing[near_rows]
    rows = np.concatenate([rows[certain], near_rows[taken]])
    cols = np.concatenate([cols[certain], near_cols[taken]])
    lists = np.empty((m, k), dtype=np.intp)
    lists[~crowded] = cols[np.lexsort((cols, rows))].reshape(-1, k)
    if crowded.any():
        crowded = np.flatnonzero(crowded)
        lists[crowded] = _float64_top_k(Z, own[crowded], k)
    return lists
