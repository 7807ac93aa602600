"""Mutual nearest neighbours: mutual k-NN alignment and CKNNA (Huh et al., 2024).

Also the permutation nulls of the neighbour measures (these two and
:func:`~skinvariance.metrics.knn_jaccard`): a permutation of Y's rows renames Y's neighbour
lists without changing them, so the lists of both spaces are searched once and every
permutation costs O(n k).
"""

from dataclasses import dataclass

import numpy as np

from .._compat import validate_params
from .._constraints import COUNT
from .._parallel import row_blocks
from .._validation import DataError, check_paired_arrays
from ._base import centred
from ._loops import permuted_neighbour_overlap
from ._neighbours import check_k, neighbour_lists, overlap_counts, shared_counts

__all__ = ["cknna", "mutual_knn"]


@validate_params(
    {"X": ["array-like"], "Y": ["array-like"], "k": [COUNT]},
    prefer_skip_nested_validation=True,
)
def mutual_knn(X, Y, *, k=10):
    """Mutual k-nearest-neighbour alignment: the mean share of neighbours both spaces agree on.

    ``mean_i |N_k^X(i) & N_k^Y(i)| / k``, where ``N_k^X(i)`` are the ``k`` samples whose rows
    of X are most cosine-similar to ``x_i``, searched within X, and likewise in Y (the
    "mutual k-NN" of the platonic-representation paper, Huh et al., 2024). A sample is **not
    its own neighbour**, so ``k`` may be at most ``n_samples - 1``; among equally similar
    candidates for the last place the lower row index wins, as in :func:`knn_jaccard` (which
    divides by the union instead: ``jaccard = c / (2k - c)`` for ``c`` shared neighbours,
    ``mutual = c / k``).

    Cost: neighbours found one block of rows at a time (``working_memory``), never a full
    sort; similarities screened in float32 and the close calls decided in float64, so the sets
    are a float64 search's (see :func:`knn_jaccard`): O(n^2 (d_x + d_y)) time, O(block * n)
    memory.

    Range: [0, 1]; higher = more similar; symmetric; ``mutual_knn(X, X) = 1``; about
    ``k / (n - 1)`` for unrelated spaces.
    Invariances: anything that keeps the cosine-neighbour order within X or within Y,
    independently: orthogonal maps, isotropic scaling, positive per-sample scaling of either
    space. Not invariant to translation. X and Y may have different widths.

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
        The mean fraction of shared neighbours.

    See Also
    --------
    knn_jaccard : The same neighbour sets compared by their Jaccard index.
    cknna : CKA restricted to the mutual neighbour pairs.

    References
    ----------
    Huh, Cheung, Wang, Isola. The Platonic Representation Hypothesis. ICML 2024.

    Examples
    --------
    >>> import numpy as np
    >>> from skinvariance.metrics import mutual_knn
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(60, 8))
    >>> mutual_knn(X, 2.0 * X @ np.linalg.qr(rng.normal(size=(8, 8)))[0], k=5)
    1.0
    >>> mutual_knn(X, rng.normal(size=(60, 8)), k=5) < 0.3
    True
    """
    X, Y = check_paired_arrays(X, Y, "mutual_knn")
    check_k(k, X.shape[0], "mutual_knn")
    return float(overlap_counts(X, Y, k).mean() / k)


def _u_centred_at(Z, neighbours, queries=None):
    """The U-centred linear kernel of ``Z`` at the pairs ``(i, neighbours[i, a])``, for every
    row ``i`` (or, with ``queries``, at ``(queries[q], neighbours[q, a])``).

    U-centring (Szekely and Rizzo, 2014) of ``K = Zc Zc^T`` with a zero diagonal:
    ``K_ij - (r_i + r_j) / (n - 2) + s / ((n - 1) (n - 2))`` for ``i != j``, where ``r`` are
    its row sums and ``s`` their total. For column-centred ``Zc`` the rows of ``Zc Zc^T`` sum
    to zero, so ``r_i = -|zc_i|^2``. The U-centred kernel does not change when the columns
    are translated, so centring first only spares the rounding. O(n k d) time.
    """
    n, d = Z.shape
    k = neighbours.shape[1]
    # Centred and brought to [-1, 1] by a power of two, which CKNNA does not see: no product
    # of large or small numbers overflows or vanishes.
    Zc, _ = centred(Z)
    sq = np.einsum("ij,ij->i", Zc, Zc)
    rows_of, sq_of = (Zc, sq) if queries is None else (Zc[queries], sq[queries])
    m = rows_of.shape[0]
    values = np.empty((m, k))
    for rows in row_blocks(m, 8 * (k + 1) * d):
        near = Zc[neighbours[rows]]  # (block, k, d)
        values[rows] = np.einsum("id,ikd->ik", rows_of[rows], near)
    values += (sq_of[:, None] + sq[neighbours]) / (n - 2)
    values -= sq.sum() / ((n - 1) * (n - 2))
    return values


def _kernel_norm(V, k, name):
    """The squared norm of a space's centred kernel values at its neighbour pairs; an error
    naming the space ``name`` when they are all zero."""
    norm = float(np.vdot(V, V))
    if not norm > 0:
        raise DataError(
            f"cknna is undefined: the centred kernel of {name} is zero on every pair of "
            f"neighbours (k={k}); {name} has too little variance to compare."
        )
    return norm


def _cknna_parts(X, Y, k):
    """Neighbour lists, U-centred kernel values at them, and the two squared norms."""
    NX, NY = neighbour_lists(X, k), neighbour_lists(Y, k)
    VX, VY = _u_centred_at(X, NX), _u_centred_at(Y, NY)
    norms = [_kernel_norm(V, k, name) for V, name in ((VX, "X"), (VY, "Y"))]
    return NX, NY, VX, VY, np.sqrt(norms[0] * norms[1])


@validate_params(
    {"X": ["array-like"], "Y": ["array-like"], "k": [COUNT]},
    prefer_skip_nested_validation=True,
)
def cknna(X, Y, *, k=10):
    """Centred Kernel Nearest-Neighbour Alignment: CKA restricted to mutual neighbour pairs.

    With the linear kernels of X and Y U-centred as by the unbiased HSIC estimator of debiased
    CKA (``Kt``, ``Lt``; Song et al., 2012),

    ``CKNNA = sum_ij a_ij Kt_ij Lt_ij / sqrt(sum_ij aX_ij Kt_ij^2 * sum_ij aY_ij Lt_ij^2)``

    where the pairs that count are the **ordered** pairs ``(i, j)``, ``i != j``, with ``j``
    among the ``k`` cosine nearest neighbours of ``i`` in X **and** in Y (``a_ij = 1``; Huh et
    al.'s ``alpha(i, j)``); the normalisers count the pairs with ``j`` among ``i``'s neighbours
    in X alone (``aX``) and in Y alone (``aY``). A pair counts once for each direction in
    which it is a mutual neighbour pair. Neighbours are those of :func:`mutual_knn` (self
    excluded, ties for the last place to the lower row index). With ``k = n_samples - 1``
    every pair counts and CKNNA is debiased linear CKA (``cka(X, Y, debiased=True)``).

    The authors' code masks the Gram matrices first and then applies the unbiased estimator
    to the masked, no longer symmetric, matrices (so its trace term keeps only pairs that are
    neighbours in both directions); here the kernels are centred first and the sum is then
    restricted, as in the paper's formula, which keeps CKNNA in [-1, 1] (Cauchy-Schwarz) and
    exact at ``k = n - 1``. To follow the authors' pipeline, L2-normalise the rows of X and Y
    first (their kernels are inner products of normalised features).

    Cost: the neighbour search of :func:`mutual_knn` (O(n^2 (d_x + d_y)) time, blocks of
    rows) plus O(n k (d_x + d_y)) for the kernel values; O(n k + block * n) memory.

    Range: [-1, 1]; higher = more similar; symmetric; ``cknna(X, X) = 1``.
    Invariances: orthogonal maps and isotropic scaling of either space, independently. Not
    invariant to translation or per-sample scaling (they change the cosine neighbours or the
    kernel).

    Finite input of any magnitude gives the value at scale 1 (:term:`at any magnitude`).

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features_x)
        First space; at least 4 samples.
    Y : array-like of shape (n_samples, n_features_y)
        Second space, row-aligned with X.
    k : int, default=10
        Neighbourhood size, ``1 <= k < n_samples``.

    Returns
    -------
    similarity : float
        The CKNNA value.

    Raises
    ------
    ValueError
        On fewer than 4 samples, ``k >= n_samples``, or a space whose centred kernel is zero
        on all its neighbour pairs (e.g. every row the same vector).

    See Also
    --------
    mutual_knn : The share of mutual neighbours alone.
    cka : CKA over all pairs; ``debiased=True`` is CKNNA with ``k = n_samples - 1``.

    References
    ----------
    Huh, Cheung, Wang, Isola. The Platonic Representation Hypothesis. ICML 2024.

    Examples
    --------
    >>> import numpy as np
    >>> from skinvariance.metrics import cka, cknna
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(50, 6))
    >>> Y = X @ rng.normal(size=(6, 4)) + 0.5 * rng.normal(size=(50, 4))
    >>> round(cknna(X, 3.0 * X, k=5), 6)
    1.0
    >>> bool(np.isclose(cknna(X, Y, k=49), cka(X, Y, debiased=True)))
    True
    """
    X, Y = check_paired_arrays(X, Y, "cknna", min_samples=4)
    n = X.shape[0]
    check_k(k, n, "cknna")
    NX, NY, VX, VY, norm = _cknna_parts(X, Y, k)
    identity = np.arange(n)[None, :]
    shared = permuted_neighbour_overlap(NX, NY, identity, VX, VY)[0, 2]
    return float(np.clip(shared / norm, -1.0, 1.0))


# -- permutation nulls ------------------------------------------------------------------------


def _overlap_null(X, Y, k, measure, column, scale):
    X, Y = check_paired_arrays(X, Y, measure)
    check_k(k, X.shape[0], measure)
    NX, NY = neighbour_lists(X, k), neighbour_lists(Y, k)
    n = X.shape[0]
    return lambda perms: permuted_neighbour_overlap(NX, NY, perms)[:, column] / (n * scale)


def knn_jaccard_null(X, Y, k=10):
    """Null of :func:`knn_jaccard`: ``perms -> knn_jaccard(X, Y[p])`` from one search."""
    return _overlap_null(X, Y, k, "knn_jaccard", 1, 1.0)


def mutual_knn_null(X, Y, *, k=10):
    """Null of :func:`mutual_knn`: ``perms -> mutual_knn(X, Y[p])`` from one search."""
    return _overlap_null(X, Y, k, "mutual_knn", 0, float(k))


def cknna_null(X, Y, *, k=10):
    """Null of :func:`cknna`: the neighbour lists and kernel values are computed once."""
    X, Y = check_paired_arrays(X, Y, "cknna", min_samples=4)
    check_k(k, X.shape[0], "cknna")
    NX, NY, VX, VY, norm = _cknna_parts(X, Y, k)

    def null(perms):
        shared = permuted_neighbour_overlap(NX, NY, perms, VX, VY)[:, 2]
        return np.clip(shared / norm, -1.0, 1.0)

    return null


class SharedNeighbours:
    """:func:`knn_jaccard` / :func:`mutual_knn` from neighbour lists searched once per space.

    A comparison of many spaces measures every space against every other: searching a
    space's neighbours once (:meth:`prepare`) and comparing the lists of two spaces
    (:meth:`compare`, O(n k)) gives the measure of every pair for one search per space
    instead of two per pair: the same sets (the same search, the same tie rule), so the same
    values.

    Parameters
    ----------
    measure : {"knn_jaccard", "mutual_knn"}
    k : int, default=10
        Neighbourhood size.
    """

    samples_queries = True

    def __init__(self, measure, k=10):
        self.measure = measure
        self.k = k

    @property
    def key(self):
        """What two splits with equal keys prepare alike (both measures search the same
        lists): one search serves both."""
        return ("cosine neighbours", self.k)

    def prepare(self, Z, queries=None):
        """The neighbour lists of ``Z``, validated as the measure validates its input; with
        ``queries`` (row indices), those of these rows only, searched among all the rows.
        Returns ``(lists, queries)``."""
        Z, _ = check_paired_arrays(Z, Z, self.measure)
        check_k(self.k, Z.shape[0], self.measure)
        return neighbour_lists(Z, self.k, queries), queries

    def compare(self, PX, PY):
        """The measure of two spaces from their lists (rows aligned, the same query rows)."""
        (NX, queries), (NY, _) = PX, PY
        if NX.shape != NY.shape:
            raise DataError(
                f"{self.measure}: the spaces have {NX.shape[0]} and {NY.shape[0]} rows; they "
                "must be row-aligned."
            )
        if queries is not None:  # sampled query rows: counted row by row
            shared = shared_counts(NX, NY)
            per_row = shared / (2 * self.k - shared) if self.measure == "knn_jaccard" \
                else shared / self.k
            return float(np.mean(per_row))
        n = NX.shape[0]
        counts = permuted_neighbour_overlap(NX, NY, np.arange(n)[None, :])[0]
        if self.measure == "knn_jaccard":
            return float(counts[1] / n)
        return float(counts[0] / (n * self.k))


@dataclass(frozen=True)
class CknnaTerms:
    """What :func:`cknna` needs of one space: its neighbour lists, the U-centred kernel values
    at them, their squared norm, the space's row count, and the query rows (None: all)."""

    neighbours: np.ndarray
    values: np.ndarray
    norm: float
    n_samples: int
    queries: np.ndarray | None


class SharedCKNNA:
    """:func:`cknna` from terms computed once per space.

    :meth:`prepare` searches a space's neighbour lists and computes the U-centred kernel
    values at them (the O(n^2 d) and O(n k d) parts); :meth:`compare` of two prepared spaces
    is O(n k): the same code as :func:`cknna`, so the same value, for one search per space
    instead of two per pair.

    With ``queries`` (row indices), only those rows' lists and values are kept, each searched
    among all the rows and centred with the whole space: :meth:`compare` is then the ratio of
    the sums over the query rows (numerator and normalisers summed over the same rows), a
    consistent estimate of the value over every row at a cost linear in the rows.

    Parameters
    ----------
    k : int, default=10
        Neighbourhood size.
    """

    samples_queries = True

    def __init__(self, k=10):
        self.k = k

    @property
    def key(self):
        """Two splits with equal keys prepare alike."""
        return ("cknna terms", self.k)

    def prepare(self, Z, queries=None):
        """The terms of ``Z`` alone, validated as :func:`cknna` validates its input."""
        Z, _ = check_paired_arrays(Z, Z, "cknna", min_samples=4)
        check_k(self.k, Z.shape[0], "cknna")
        N = neighbour_lists(Z, self.k, queries)
        V = _u_centred_at(Z, N, queries)
        return CknnaTerms(N, V, _kernel_norm(V, self.k, "a space"), Z.shape[0], queries)

    def compare(self, PX, PY):
        """CKNNA of two prepared spaces (rows aligned, the same query rows)."""
        if PX.n_samples != PY.n_samples or PX.neighbours.shape != PY.neighbours.shape:
            raise DataError(
                f"cknna: the spaces have {PX.n_samples} and {PY.n_samples} rows; they must be "
                "row-aligned."
            )
        if PX.queries is None:
            identity = np.arange(PX.n_samples)[None, :]
            shared = permuted_neighbour_overlap(PX.neighbours, PY.neighbours, identity,
                                                PX.values, PY.values)[0, 2]
        else:  # each query row's pairs (i, j) with j among its neighbours in X and in Y
            match = PX.neighbours[:, :, None] == PY.neighbours[:, None, :]
            shared = float(np.einsum("ia,ib,iab->", PX.values, PY.values, match))
        return float(np.clip(shared / np.sqrt(PX.norm * PY.norm), -1.0, 1.0))
