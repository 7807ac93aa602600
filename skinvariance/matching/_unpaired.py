"""Unpaired alignment: first pairs with no known pair at all (METHOD.md §9, after mini-vec2vec).

Both spaces are clustered with k-means, and the two sets of centroids are matched by the
*structure* of their Gram matrices alone — a quadratic assignment problem, max over
permutations ``P`` of ``tr(K_U P K_V P^T)``, solved by scipy's 2-opt from several random starts.
Repeated over several clusterings, the matched centroids become parallel anchors: every row is
described by its cosines to its own space's centroids, and those descriptors are comparable
across the spaces. The caller grows first pairs from them by seeded refinement.
"""

import numpy as np
from scipy.optimize import quadratic_assignment
from sklearn.cluster import KMeans
from sklearn.utils import check_random_state
from threadpoolctl import threadpool_limits

from ..kernels._unit import unit_rows

__all__ = ["matched_centroids"]


def _structure(C, labels):
    """The matrix whose structure is matched: the centroids' double-centred Gram, of unit
    Frobenius norm, with the clusters' standardised sizes added to its diagonal (so that
    clusters of like population are matched: a linear term of the assignment problem)."""
    K = C @ C.T
    K = K - K.mean(axis=0) - K.mean(axis=1)[:, None] + K.mean()
    K /= max(np.linalg.norm(K), np.finfo(K.dtype).tiny)
    sizes = np.bincount(labels, minlength=len(C)).astype(float)
    spread = sizes.std()
    K[np.diag_indices_from(K)] += (sizes - sizes.mean()) / (spread if spread > 0 else 1) / len(C)
    return K


def _match_structures(K_u, K_v, n_restarts, rng):
    """The permutation of ``K_v``'s rows best matching ``K_u``, and its objective."""
    best, best_score = None, -np.inf
    for _ in range(n_restarts):
        seed = np.random.default_rng(rng.randint(2**31 - 1))
        result = quadratic_assignment(K_u, K_v, method="2opt",
                                      options={"maximize": True, "rng": seed})
        if result.fun > best_score:
            best, best_score = result.col_ind, result.fun
    return best, best_score


def matched_centroids(U, V, *, n_clusters=10, n_runs=30, n_best=1, n_restarts=10,
                      max_rows=3000, random_state=None):
    """Centroids of ``U`` and of ``V`` matched by the structure of their Gram matrices.

    Parameters
    ----------
    U, V : ndarray of shape (n_U, d_U), (n_V, d_V)
        Centred unit rows of the two spaces.
    n_clusters : int
        Centroids per clustering.
    n_runs : int
        Clusterings (each with its own seed).
    n_best : int
        The runs whose structures agree best; their matched centroids are stacked.
    n_restarts : int
        Random starts of the assignment solver per clustering; the best is kept.
    max_rows : int
        Each clustering sees at most this many rows of each space (a random sample).
    random_state : int, RandomState instance or None

    Returns
    -------
    anchors_u, anchors_v : ndarray of shape (n_best * n_clusters, d_U), (..., d_V)
        Row ``i`` of each is one matched pair of unit centroids.
    agreement : float
        The assignment objective of the best run (the matched structures' inner product; near
        1 when they agree exactly): a label-free signal of how trustworthy the match is.
    """
    rng = check_random_state(random_state)
    runs = []
    for _ in range(n_runs):
        centroids, structures = [], []
        for Z in (U, V):
            rows = Z if len(Z) <= max_rows else Z[rng.choice(len(Z), max_rows, replace=False)]
            # a small clustering: one BLAS thread (many threads spin-wait over tiny products)
            with threadpool_limits(1):
                km = KMeans(n_clusters, n_init=1, random_state=rng.randint(2**31 - 1)).fit(rows)
            centroids.append(unit_rows(km.cluster_centers_))
            structures.append(_structure(centroids[-1], km.labels_))
        perm, score = _match_structures(*structures, n_restarts, rng)
        runs.append((score, centroids[0], centroids[1][perm]))
    runs.sort(key=lambda run: -run[0])
    best = runs[:n_best]
    return (np.vstack([run[1] for run in best]).astype(U.dtype),
            np.vstack([run[2] for run in best]).astype(V.dtype), float(best[0][0]))
