"""Choosing anchors among the rows of a latent space."""

from numbers import Integral

import numpy as np
from sklearn.cluster import KMeans
from sklearn.metrics import pairwise_distances_argmin
from sklearn.utils import check_array, check_random_state, column_or_1d

from ._compat import StrOptions, validate_params
from ._constraints import RANDOM_STATE, NumberInterval
from ._validation import DataError, check_target

ANCHOR_STRATEGIES = ("fps", "kmeans", "random", "stratified")


@validate_params(
    {
        "X": ["array-like"],
        "n_anchors": [NumberInterval(Integral, 1, None, closed="left")],
        "strategy": [StrOptions(set(ANCHOR_STRATEGIES))],
        "y": ["array-like", None],
        "random_state": RANDOM_STATE,
    },
    prefer_skip_nested_validation=True,
)
def select_anchors(X, n_anchors, *, strategy="random", y=None, random_state=None):
    """Choose ``n_anchors`` distinct rows of ``X`` to serve as anchors.

    Selection is by row index, so row-aligned spaces (the same samples embedded by several
    models) get *parallel anchors* by indexing each space with the returned indices.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        The rows to choose from. Only ``"kmeans"`` and ``"fps"`` look at the values; they
        need finite values, of any magnitude (the rows are divided by a power of two first,
        so the selection is the same at every scale).
    n_anchors : int
        How many anchors, ``1 <= n_anchors <= n_samples`` (a bool is refused).
    strategy : {"random", "stratified", "kmeans", "fps"}, default="random"
        - ``"random"``: uniformly without replacement (the papers' choice).
        - ``"stratified"``: round robin over the classes of ``y`` after a seeded shuffle, so
          every class is represented as evenly as possible; classes are visited in sorted
          order.
        - ``"kmeans"``: the sample nearest (euclidean) to each centroid of a k-means with
          ``n_anchors`` clusters; when two centroids share a nearest sample, the later one
          takes the nearest sample not yet taken.
        - ``"fps"``: farthest-point sampling: a random first row, then repeatedly the row
          farthest (euclidean) from all rows chosen so far; ties go to the lowest index.

        When ``X`` has at least ``n_anchors`` distinct rows, ``"kmeans"`` and ``"fps"``
        choose among the first occurrences of its distinct rows (k-means weighting each by
        its number of copies), so the anchors are distinct vectors, not only distinct
        indices.
    y : array-like of shape (n_samples,), default=None
        Class labels, required by ``"stratified"`` and ignored otherwise.
    random_state : int, RandomState instance or None, default=None
        Seed of every strategy's randomness; an int makes the selection deterministic.

    Returns
    -------
    indices : ndarray of shape (n_anchors,), dtype=int64
        Distinct row indices, in the order of selection.

    Examples
    --------
    >>> import numpy as np
    >>> from skinvariance import select_anchors
    >>> X = np.arange(20.0).reshape(10, 2)
    >>> idx = select_anchors(X, 3, random_state=0)
    >>> len(set(idx.tolist()))
    3
    >>> y = np.array([0, 0, 0, 0, 0, 1, 1, 1, 1, 1])
    >>> sorted(y[select_anchors(X, 4, strategy="stratified", y=y, random_state=0)].tolist())
    [0, 0, 1, 1]
    """
    X = check_array(X, dtype=None if strategy in ("random", "stratified") else "numeric",
                    ensure_all_finite=strategy in ("kmeans", "fps"), input_name="X")
    n_samples = X.shape[0]
    if n_anchors > n_samples:
        raise DataError(
            f"n_anchors={n_anchors} is larger than the number of rows available "
            f"({n_samples})."
        )
    rng = check_random_state(random_state)
    if strategy == "random":
        return np.asarray(rng.choice(n_samples, size=n_anchors, replace=False), dtype=np.int64)
    if strategy == "stratified":
        return np.asarray(_stratified(y, n_samples, n_anchors, rng), dtype=np.int64)
    X = _power_of_two_scaled(X)
    candidates, copies = _distinct_rows(X)
    if len(candidates) < n_anchors:  # fewer distinct vectors than anchors: any rows will do
        candidates, copies = np.arange(n_samples), np.ones(n_samples)
    select = _kmeans if strategy == "kmeans" else _farthest_points
    return np.asarray(candidates[select(X[candidates], n_anchors, rng, copies)], dtype=np.int64)


def _power_of_two_scaled(X):
    """``X`` divided by the power of two just above its largest magnitude (exact).

    Distances, centroids and their comparisons are then formed on numbers below 1, where no
    square overflows, whatever the scale of ``X``; and since the division is exact, the
    selection does not depend on that scale.
    """
    X = np.asarray(X, dtype=np.float64 if X.dtype.kind != "f" else X.dtype)
    top = np.max(np.abs(X), initial=0.0)
    return np.ldexp(X, -int(np.frexp(top)[1])) if top > 0 else X


def _distinct_rows(X):
    """Indices of the first copy of each distinct row, in order, and the number of copies."""
    _, first, copies = np.unique(X, axis=0, return_index=True, return_counts=True)
    order = np.argsort(first)
    return first[order], copies[order]


def _row_distances(differences):
    """Euclidean lengths of rows, each divided by its largest entry first.

    Unlike the sum of squares, this keeps the length of a difference far smaller than the
    coordinates (``1e-300`` next to ``1``) instead of underflowing it to 0.
    """
    top = np.max(np.abs(differences), axis=1)
    safe = np.where(top > 0, top, 1.0)
    return top * np.sqrt(np.einsum("ij,ij->i", differences / safe[:, None],
                                   differences / safe[:, None]))


def _stratified(y, n_samples, n_anchors, rng):
    if y is None:
        raise DataError("strategy='stratified' needs the class labels y; got y=None.")
    # One class is allowed: the round robin is then a random choice.
    y = column_or_1d(check_target(y, n_samples, classification=True, min_classes=1,
                                  rows_of="X has"), warn=True)
    order = rng.permutation(n_samples)
    # Per class, its rows in shuffled order; then take one row per class in turn.
    queues = [order[y[order] == label] for label in np.unique(y)]
    longest = max(len(queue) for queue in queues)
    round_robin = [queue[r] for r in range(longest) for queue in queues if r < len(queue)]
    return np.asarray(round_robin[:n_anchors])


def _kmeans(X, n_anchors, rng, copies):
    X = np.asarray(X, dtype=np.float64)  # resolves rows that float32 squares would merge
    seed = rng.randint(np.iinfo(np.int32).max)
    kmeans = KMeans(n_clusters=n_anchors, n_init=1, random_state=seed)
    centers = kmeans.fit(X, sample_weight=copies).cluster_centers_
    nearest = pairwise_distances_argmin(centers, X)
    chosen, taken = [], set()
    for center, first_choice in zip(centers, nearest):
        if first_choice in taken:
            distances = _row_distances(X - center)
            distances[list(taken)] = np.inf
            first_choice = int(np.argmin(distances))
        taken.add(int(first_choice))
        chosen.append(int(first_choice))
    return chosen


def _farthest_points(X, n_anchors, rng, copies):
    X = np.asarray(X, dtype=np.float64)
    sq_norms = np.einsum("ij,ij->i", X, X)
    # The Gram form loses the relative precision of a squared distance small next to the
    # squared norms (near duplicates): those rows are recomputed from their differences.
    rtol = np.sqrt(X.shape[1] * np.finfo(np.float64).eps)
    chosen = [int(rng.randint(X.shape[0]))]
    # Distance of every row to its nearest chosen row, updated one anchor at a time.
    nearest = np.full(X.shape[0], np.inf)
    for _ in range(n_anchors - 1):
        last = chosen[-1]
        d2 = sq_norms - 2 * (X @ X[last]) + sq_norms[last]
        close = np.flatnonzero(d2 <= rtol * (sq_norms + sq_norms[last]))
        distances = np.sqrt(np.maximum(d2, 0))
        distances[close] = _row_distances(X[close] - X[last])
        np.minimum(nearest, distances, out=nearest)
        nearest[last] = -1.0  # never choose a row twice, even among duplicates
        chosen.append(int(np.argmax(nearest)))
    return chosen
