"""Measures comparing neighbourhoods: k nearest neighbours and cross-space retrieval."""

import numpy as np

from .._compat import validate_params
from .._constraints import COUNT
from .._parallel import row_blocks
from .._validation import DataError, check_paired_arrays, check_paired_shapes
from ._base import exact_unit_rows

__all__ = [
    "SharedRanks",
    "check_k",
    "knn_jaccard",
    "mean_reciprocal_rank",
    "neighbour_lists",
    "overlap_counts",
    "shared_counts",
]


def _top_k_mask(S, k):
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


def check_k(k, n, measure):
    """Raise if ``k`` neighbours cannot be found among ``n - 1`` other samples."""
    if k >= n:
        # A DataError, not an InvalidParameterError: scikit-learn renames the function in
        # the latter's message when a validated function (permutation_test) calls this one.
        raise DataError(
            f"The 'k' parameter of {measure} must be smaller than n_samples={n} (a sample is "
            f"not its own neighbour); got k={k}."
        )


def _similarity_rows(Zn, start, stop, queries=None):
    """Cosine similarities of rows ``start:stop`` of unit rows ``Zn`` to all, self at -inf;
    with ``queries``, of the rows ``queries[start:stop]``."""
    chosen = np.arange(start, stop) if queries is None else queries[start:stop]
    S = (Zn[start:stop] if queries is None else Zn[chosen]) @ Zn.T  # a view when it can be
    S[np.arange(stop - start), chosen] = -np.inf
    return S


def overlap_counts(X, Y, k):
    """``|N_k^X(i) & N_k^Y(i)|`` for every sample, one block of rows at a time.

    Cosine neighbours, self excluded, ties for the last place to the lower row index (see
    :func:`_top_k_mask`). O(n^2 (d_x + d_y)) time, O(block * n) memory.
    """
    n = X.shape[0]
    Xn, Yn = exact_unit_rows(X), exact_unit_rows(Y)
    shared = np.empty(n)
    # Per row: two similarity rows, the partition copy, cumsum (int64) and a few masks.
    for rows in row_blocks(n, 8 * 5 * n, max_rows=n):
        mask = _top_k_mask(_similarity_rows(Xn, rows.start, rows.stop), k)
        mask &= _top_k_mask(_similarity_rows(Yn, rows.start, rows.stop), k)
        shared[rows] = mask.sum(axis=1)
    return shared


def neighbour_lists(Z, k, queries=None):
    """The ``k`` cosine neighbours of every row of ``Z`` (self excluded), as row indices.

    Returns an int array of shape (n, k), each row in increasing index order (a set, not a
    ranking), found one block of rows at a time like :func:`overlap_counts`, with the same
    tie rule. With ``queries`` (row indices), the neighbours of those rows only, searched
    among all the rows: shape (len(queries), k).
    """
    n = Z.shape[0]
    Zn = exact_unit_rows(Z)
    m = n if queries is None else len(queries)
    indices = np.empty((m, k), dtype=np.intp)
    for rows in row_blocks(m, 8 * 4 * n, max_rows=m):
        mask = _top_k_mask(_similarity_rows(Zn, rows.start, rows.stop, queries), k)
        indices[rows] = np.nonzero(mask)[1].reshape(-1, k)  # exactly k per row
    return indices


def shared_counts(NX, NY):
    """``|NX[i] & NY[i]|`` for every row of two (m, k) neighbour lists (each row a set)."""
    both = np.sort(np.concatenate([NX, NY], axis=1), axis=1)
    return np.count_nonzero(both[:, 1:] == both[:, :-1], axis=1)


@validate_params(
    {"X": ["array-like"], "Y": ["array-like"], "k": [COUNT]},
    prefer_skip_nested_validation=True,
)
def knn_jaccard(X, Y, k=10):
    """Mean Jaccard index of each sample's k nearest neighbours in X and in Y.

    For each sample ``i``, ``N_k^X(i)`` is the set of the ``k`` samples whose rows of X are
    most cosine-similar to ``x_i``, searched within X; likewise ``N_k^Y(i)`` within Y. The
    score is ``mean_i |N_k^X(i) & N_k^Y(i)| / |N_k^X(i) | N_k^Y(i)|``. A sample is **not its
    own neighbour**: it is left out of its own search, so ``k`` may be at most
    ``n_samples - 1``. Among equally similar candidates for the last place, the lower row index
    wins (a zero row has cosine similarity 0 with every row).

    Neighbours are found one block of rows at a time (``working_memory``) with a partial
    selection, never a full n x n similarity matrix or sort: O(n^2 (d_x + d_y)) time,
    O(block * n) memory.

    Range: [0, 1]; higher = more similar; symmetric; ``knn_jaccard(X, X) = 1``.
    Invariances: anything that keeps the cosine-neighbour order within X or within Y,
    independently: orthogonal maps and positive per-sample scaling of either space. Not
    invariant to translation. X and Y may have different widths.

    Finite input of any magnitude gives the value at scale 1 (:term:`at any magnitude`).

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features_x)
        First space.
    Y : array-like of shape (n_samples, n_features_y)
        Second space, row-aligned with X.
    k : int, default=10
        Neighbourhood size, ``1 <= k < n_samples``.

    Returns
    -------
    similarity : float
        The mean Jaccard index.

    Examples
    --------
    >>> import numpy as np
    >>> from skinvariance.metrics import knn_jaccard
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(50, 6))
    >>> knn_jaccard(X, -3.0 * X, k=5)
    1.0
    >>> knn_jaccard(X, rng.normal(size=(50, 6)), k=5) < 0.3
    True
    """
    X, Y = check_paired_arrays(X, Y, "knn_jaccard")
    check_k(k, X.shape[0], "knn_jaccard")
    shared = overlap_counts(X, Y, k)
    return float(np.mean(shared / (2 * k - shared)))


@validate_params({"X": ["array-like"], "Y": ["array-like"]}, prefer_skip_nested_validation=True)
def mean_reciprocal_rank(X, Y):
    """Mean reciprocal rank of ``y_i`` when ``x_i`` searches the rows of Y by cosine.

    For each sample ``i``, all rows ``y_j`` of Y are ranked by cosine similarity to ``x_i``;
    ``rank_i`` is the position of ``y_i``, its matched row; the score is
    ``mean_i 1 / rank_i``. This is cross-space retrieval, so X and Y must have the same width
    with corresponding coordinates (e.g. relative representations on parallel anchors).

    **Ties count against the match**: ``rank_i = 1 + #{j != i : cos(x_i, y_j) >= cos(x_i,
    y_i)}``, the pessimistic convention, so a retrieval that cannot tell ``y_i`` from another
    row is never scored as perfect. A zero row has cosine similarity 0 with every row, so a
    zero ``x_i`` gets rank n. Ranks are counted one block of rows at a time, without
    sorting.

    Range: [1/n, 1]; higher = more similar; not symmetric in general;
    ``mean_reciprocal_rank(X, X) = 1`` when the rows of X are pairwise non-parallel.
    Invariances: positive rescaling of any row of either space; one orthogonal map applied to
    both. Not invariant to a map of one space alone (align or project first).

    Finite input of any magnitude gives the value at scale 1 (:term:`at any magnitude`).

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Query space.
    Y : array-like of shape (n_samples, n_features)
        Searched space, row-aligned with X, same width.

    Returns
    -------
    similarity : float
        The mean reciprocal rank.

    Examples
    --------
    >>> import numpy as np
    >>> from skinvariance.metrics import mean_reciprocal_rank
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(40, 5))
    >>> mean_reciprocal_rank(X, 2.0 * X)
    1.0
    >>> X = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    >>> Y = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])  # first two rows swapped
    >>> round(mean_reciprocal_rank(X, Y), 4)  # ranks 3, 3, 1
    0.5556
    """
    X, Y = check_paired_arrays(X, Y, "mean_reciprocal_rank", same_width=True)
    return float(np.mean(1.0 / _ranks(exact_unit_rows(X), exact_unit_rows(Y))))


def _ranks(Xn, Yn, queries=None):
    """The rank of ``y_i`` when ``x_i`` searches the unit rows ``Yn``, ties counting against
    it, for every row ``i`` (or those of ``queries``), one block of rows at a time."""
    n = Xn.shape[0]
    m = n if queries is None else len(queries)
    ranks = np.empty(m)
    for rows in row_blocks(m, 8 * 2 * n, max_rows=m):
        start, stop = rows.start, rows.stop
        chosen = np.arange(start, stop) if queries is None else queries[start:stop]
        S = (Xn[start:stop] if queries is None else Xn[chosen]) @ Yn.T
        matched = S[np.arange(stop - start), chosen]
        ranks[start:stop] = np.count_nonzero(S >= matched[:, None], axis=1)
    return ranks


class SharedRanks:
    """:func:`mean_reciprocal_rank` from each space's unit rows, normalised once.

    Retrieval across two spaces is the pair's own work (``Xn Yn^T``), but the rows of each
    space are brought to unit length once (:meth:`prepare`) for every pair it is in, and the
    ranks may be counted for a sample of query rows only (``queries``), each searching all the
    rows: an unbiased estimate of the mean over all rows, at a cost linear in the rows.
    """

    key = ("unit rows",)
    samples_queries = True

    def prepare(self, Z, queries=None):
        """The unit rows of ``Z``, validated as the measure validates its input, and the
        query rows (None: all)."""
        Z, _ = check_paired_arrays(Z, Z, "mean_reciprocal_rank")
        return exact_unit_rows(Z), queries

    def compare(self, PX, PY):
        """The mean reciprocal rank of X's rows searching Y (rows aligned, same width)."""
        (Xn, queries), (Yn, _) = PX, PY
        check_paired_shapes(Xn.shape, Yn.shape, "mean_reciprocal_rank", same_width=True)
        return float(np.mean(1.0 / _ranks(Xn, Yn, queries)))
