"""Measures comparing neighbourhoods: k nearest neighbours and cross-space retrieval."""

import numpy as np

from .._compat import validate_params
from .._constraints import COUNT
from .._parallel import row_blocks
from .._validation import DataError, check_paired_arrays, check_paired_shapes
from ._screened import UnitRows, count_at_least, top_k_lists

__all__ = [
    "SharedRanks",
    "check_k",
    "knn_jaccard",
    "mean_reciprocal_rank",
    "neighbour_lists",
    "overlap_counts",
    "shared_counts",
]


def check_k(k, n, measure):
    """Raise if ``k`` neighbours cannot be found among ``n - 1`` other samples."""
    if k >= n:
        # A DataError, not an InvalidParameterError: scikit-learn renames the function in
        # the latter's message when a validated function (permutation_test) calls this one.
        raise DataError(
            f"The 'k' parameter of {measure} must be smaller than n_samples={n} (a sample is "
            f"not its own neighbour); got k={k}."
        )


def _block(rows, queries=None):
    """A block of query rows (``rows``, a slice of the queries) as what selects them in the
    space (a slice where it can: a view) and as their row indices."""
    if queries is None:
        return rows, np.arange(rows.start, rows.stop)
    return queries[rows], queries[rows]


def overlap_counts(X, Y, k):
    """``|N_k^X(i) & N_k^Y(i)|`` for every sample (:func:`neighbour_lists` of each space).

    Cosine neighbours, self excluded, ties for the last place to the lower row index.
    O(n^2 (d_x + d_y)) time, O(block * n) memory.
    """
    return shared_counts(neighbour_lists(X, k), neighbour_lists(Y, k))


def neighbour_lists(Z, k, queries=None):
    """The ``k`` cosine neighbours of every row of ``Z`` (self excluded), as row indices.

    Returns an int array of shape (n, k), each row in increasing index order (a set, not a
    ranking), found one block of rows at a time: screened in float32 and decided as a float64
    search decides (:func:`~skinvariance.metrics._screened.top_k_lists`), among equally
    similar candidates for the last place the lower row index. With ``queries`` (row
    indices), the neighbours of those rows only, searched among all the rows: shape
    (len(queries), k).
    """
    n = Z.shape[0]
    Z = UnitRows(Z)
    m = n if queries is None else len(queries)
    indices = np.empty((m, k), dtype=np.intp)
    # Per row: a float32 similarity row and two masks over it.
    for rows in row_blocks(m, 4 * 3 * n, max_rows=m):
        pick, own = _block(rows, queries)
        indices[rows] = top_k_lists(Z, pick, own, k)
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

    Neighbours are found one block of rows at a time (``working_memory``), never a full n x n
    similarity matrix or sort: O(n^2 (d_x + d_y)) time, O(block * n) memory. The
    similarities are computed in float32 (twice the float64 rate) and every one close enough
    to the k-th largest that float32 could misplace it is computed again in float64: the sets
    are those of a float64 search, at any width (:ref:`screened_searches`).

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
    sorting, from float32 similarities, each one close enough to the matched similarity that
    float32 could misjudge it computed again in float64: the ranks of a float64 search
    (:ref:`screened_searches`).

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
    return float(np.mean(1.0 / _ranks(UnitRows(X), UnitRows(Y))))


def _ranks(X, Y, queries=None):
    """The rank of ``y_i`` when ``x_i`` searches the rows of Y, ties counting against it, for
    every row ``i`` (or those of ``queries``), one block of rows at a time; ``X`` and ``Y``
    are the spaces' :class:`UnitRows` (screened in float32, counted as in float64:
    :func:`count_at_least`)."""
    n = X.shape[0]
    m = n if queries is None else len(queries)
    ranks = np.empty(m)
    # Per row: a float32 similarity row and two masks over it.
    for rows in row_blocks(m, 4 * 3 * n, max_rows=m):
        pick, own = _block(rows, queries)
        ranks[rows] = count_at_least(X, pick, Y, own)
    return ranks


class SharedRanks:
    """:func:`mean_reciprocal_rank` from each space's unit rows, normalised once.

    Retrieval across two spaces is the pair's own work (``Xn Yn^T`` in float32, the close
    calls in float64: :func:`~skinvariance.metrics._screened.count_at_least`), but the rows of
    each space are brought to unit length once (:meth:`prepare`, a
    :class:`~skinvariance.metrics._screened.UnitRows`: float32, the float64 ones of the close
    calls computed from the space's rows) for every pair it is in, and the ranks may be
    counted for a sample of query rows only (``queries``), each searching all the rows: an
    unbiased estimate of the mean over all rows, at a cost linear in the rows.
    """

    key = ("unit rows",)
    samples_queries = True

    def prepare(self, Z, queries=None):
        """The unit rows of ``Z``, validated as the measure validates its input, and the
        query rows (None: all)."""
        Z, _ = check_paired_arrays(Z, Z, "mean_reciprocal_rank")
        return UnitRows(Z), queries

    def compare(self, PX, PY):
        """The mean reciprocal rank of X's rows searching Y (rows aligned, same width)."""
        (X, queries), (Y, _) = PX, PY
        check_paired_shapes(X.shape, Y.shape, "mean_reciprocal_rank", same_width=True)
        return float(np.mean(1.0 / _ranks(X, Y, queries)))
