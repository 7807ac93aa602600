"""Unpaired alignment: first pairs with no known pair at all (METHOD.md §9, after mini-vec2vec).

Both spaces are clustered with k-means, and the two sets of centroids are matched by the
*structure* of their Gram matrices alone — a quadratic assignment problem, max over
permutations ``P`` of ``tr(K_U P K_V P^T)``, solved by scipy's 2-opt from several random starts.
Repeated over several clusterings, the matched centroids become parallel anchors: every row is
described by its cosines to its own space's centroids, and those descriptors are comparable
across the spaces. The caller grows first pairs from them by seeded refinement.
"""

import numpy as np
from scipy.linalg import orthogonal_procrustes
from scipy.optimize import quadratic_assignment
from sklearn.cluster import KMeans
from sklearn.utils import check_random_state
from threadpoolctl import threadpool_limits

from ..kernels._unit import unit_rows
from ._neighbours import neighbour_means

__all__ = ["matched_centroids", "unpaired_rotation"]


def _one_thread():
    """One thread of every pool, BLAS *and* OpenMP, for a small k-means (scoped to the block).

    Not ``_parallel.one_blas_thread``: k-means's own loops run on OpenMP, whose threads
    spin-wait between the many short iterations; on a loaded 2-core machine 30 clusterings of
    1,750 x 32 rows took 40 s with BLAS alone limited and 0.7 s with both.
    """
    return threadpool_limits(limits=1)


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
            with _one_thread():
                km = KMeans(n_clusters, n_init=1, random_state=rng.randint(2**31 - 1)).fit(rows)
            centroids.append(unit_rows(km.cluster_centers_))
            structures.append(_structure(centroids[-1], km.labels_))
        perm, score = _match_structures(*structures, n_restarts, rng)
        runs.append((score, centroids[0], centroids[1][perm]))
    runs.sort(key=lambda run: -run[0])
    best = runs[:n_best]
    return (np.vstack([run[1] for run in best]).astype(U.dtype),
            np.vstack([run[2] for run in best]).astype(V.dtype), float(best[0][0]))


def padded(U, V):
    """``U`` and ``V`` zero-padded to the same width (an isometry of each: cosines kept)."""
    width = max(U.shape[1], V.shape[1])
    return tuple(Z if Z.shape[1] == width else
                 np.hstack([Z, np.zeros((len(Z), width - Z.shape[1]), dtype=Z.dtype)])
                 for Z in (U, V))


def _rotation(A, B):
    """The rotation ``W`` minimising ``||A W - B||`` (orthogonal Procrustes, in float64)."""
    return orthogonal_procrustes(A.astype(np.float64), B.astype(np.float64))[0]


def _smoothed(W, W_new):
    """The rotation nearest ``(W + W_new) / 2`` (its polar factor): half a step."""
    left, _, right = np.linalg.svd(W + W_new)
    return left @ right


def _sample(Z, n, rng):
    return Z if len(Z) <= n else Z[np.sort(rng.choice(len(Z), n, replace=False))]


def _relative(U, anchors):
    D = U @ anchors.T
    return unit_rows(D - D.mean(axis=0))


def unpaired_rotation(U, V, *, n_clusters=10, n_runs=30, n_best=30, n_neighbors=50,
                      n_refine=30, n_centres=None, sample=1000, max_rows=3000,
                      working_memory=None, random_state=None):
    """A rotation carrying ``U``'s rows onto ``V``'s, found without any pair (mini-vec2vec).

    Matched centroids (:func:`matched_centroids`) describe every row; each row of ``U`` is
    paired with the mean of its ``n_neighbors`` most similar rows of ``V`` in that description,
    and orthogonal Procrustes fits a first rotation. It is refined ``n_refine`` times (a
    sample of ``U`` mapped, each paired with the mean of its nearest rows of ``V``, half a
    step towards the new rotation) and once by clustering (k-means of ``U``, k-means of ``V``
    started from the mapped centres, Procrustes between the paired centres).

    Returns
    -------
    rotation : ndarray of shape (d, d)
        ``d`` the larger width; both spaces zero-padded (:func:`padded`).
    quality : float
        The mean cosine of the paired centres of the clustering pass, after the rotation.
    agreement : float
        The assignment objective of the best clustering (:func:`matched_centroids`).
    """
    rng = check_random_state(random_state)
    anchors_u, anchors_v, agreement = matched_centroids(
        U, V, n_clusters=n_clusters, n_runs=n_runs, n_best=min(n_best, n_runs),
        random_state=rng)
    U, V = padded(U, V)
    anchors_u, anchors_v = padded(anchors_u, anchors_v)
    U_fit, V_fit = _sample(U, max_rows, rng), _sample(V, max_rows, rng)
    targets = neighbour_means(_relative(U_fit, anchors_u), _relative(V_fit, anchors_v), V_fit,
                              n_neighbors=n_neighbors, working_memory=working_memory)
    W = _rotation(U_fit, targets)
    for _ in range(n_refine):
        rows = _sample(U_fit, sample, rng)
        targets = neighbour_means((rows @ W).astype(U.dtype), V_fit, V_fit,
                                  n_neighbors=n_neighbors, working_memory=working_memory)
        W = _smoothed(W, _rotation(rows, targets))
    return _clustering_pass(U_fit, V_fit, W, n_centres, rng, agreement)


def _clustering_pass(U, V, W, n_centres, rng, agreement):
    n_centres = n_centres or max(2, min(500, min(len(U), len(V)) // 10))
    with _one_thread():
        km_u = KMeans(n_centres, n_init=1, random_state=rng.randint(2**31 - 1)).fit(U)
    start = (km_u.cluster_centers_ @ W).astype(V.dtype)
    with _one_thread():
        km_v = KMeans(n_centres, init=start, n_init=1).fit(V)
    centres_u, centres_v = km_u.cluster_centers_, km_v.cluster_centers_
    W = _smoothed(W, _rotation(centres_u, centres_v))
    quality = float(np.mean(np.sum(unit_rows(centres_u @ W) * unit_rows(centres_v), axis=1)))
    return W, quality, agreement
