"""Unpaired alignment: first pairs with no known pair at all (METHOD.md §9, after mini-vec2vec).

Both spaces are clustered with k-means, and the two sets of centroids are matched by the
*structure* of their Gram matrices alone — a quadratic assignment problem, max over
permutations ``P`` of ``tr(K_U P K_V P^T)``, solved by scipy's 2-opt from several random starts.
Repeated over many clusterings and stacked, the matched centroids become parallel anchors:
every row is described by its cosines to its own space's centroids, comparable across the
spaces. Pseudo-pairs in that description fit a rotation (orthogonal Procrustes), refined by
nearest-neighbour means with smoothed updates and one clustering pass. The caller grows pairs
from the rotated rows by seeded refinement. Two rotations, each from clusterings of its own,
say whether the coarse match is stable: the label-free quality signal.
"""

import numpy as np
from scipy.linalg import orthogonal_procrustes
from scipy.optimize import quadratic_assignment
from sklearn.cluster import KMeans
from sklearn.utils import check_random_state

from .._parallel import one_thread_of_every_pool
from ..kernels._unit import unit_rows
from ._neighbours import neighbour_means
from ._seeded import mapped_descriptors, seeded_pairs

__all__ = ["matched_runs", "unpaired_rotation"]


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


def matched_runs(U, V, *, n_clusters=10, n_runs=30, n_restarts=10, max_rows=3000,
                 random_state=None):
    """Centroids of ``U`` and of ``V`` matched by the structure of their Gram matrices, once
    per clustering.

    Parameters
    ----------
    U, V : ndarray of shape (n_U, d_U), (n_V, d_V)
        Centred unit rows of the two spaces.
    n_clusters : int
        Centroids per clustering.
    n_runs : int
        Clusterings (each with its own seed).
    n_restarts : int
        Random starts of the assignment solver per clustering; the best is kept.
    max_rows : int
        Each clustering sees at most this many rows of each space (a random sample).
    random_state : int, RandomState instance or None

    Returns
    -------
    runs : list of (float, ndarray, ndarray)
        Per clustering, best first: the assignment objective (the matched structures' inner
        product, near 1 when they agree exactly), the unit centroids of ``U`` and those of
        ``V`` matched to them (row ``i`` of each is one pair).
    """
    rng = check_random_state(random_state)
    runs = []
    for _ in range(n_runs):
        centroids, structures = [], []
        for Z in (U, V):
            rows = _sample(Z, max_rows, rng)
            # a no-op when unpaired_rotation has limited already
            with one_thread_of_every_pool():
                km = KMeans(n_clusters, n_init=1, random_state=rng.randint(2**31 - 1)).fit(rows)
            centroids.append(unit_rows(km.cluster_centers_))
            structures.append(_structure(centroids[-1], km.labels_))
        perm, score = _match_structures(*structures, n_restarts, rng)
        runs.append((score, centroids[0], centroids[1][perm]))
    runs.sort(key=lambda run: -run[0])
    return runs


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


def unpaired_rotation(U, V, *, n_clusters=10, n_runs=30, n_neighbors=50, n_refine=15,
                      sample=1000, max_rows=3000, n_neighbors_csls=10, working_memory=None,
                      random_state=None):
    """A rotation carrying ``U``'s rows onto ``V``'s, found without any pair (mini-vec2vec),
    and how stable it is.

    The matched centroids of every clustering (:func:`matched_runs`), stacked, are parallel
    anchors: each row of ``U`` is paired with the mean of its ``n_neighbors`` most similar rows
    of ``V`` in the relative space of those anchors, and orthogonal Procrustes fits a first
    rotation. It is refined ``n_refine`` times (a sample of ``U`` mapped, each row paired with
    the mean of its nearest rows of ``V``, half a step towards the new rotation) and once by
    clustering (k-means of ``U``, k-means of ``V`` started from the mapped centres, half a step
    towards Procrustes between the paired centres). A second match, from clusterings of its
    own, gives a second rotation: if the match holds, the two agree once grown into pairs.

    Parameters
    ----------
    U, V : ndarray of shape (n_U, d_U), (n_V, d_V)
        Centred unit rows of the two spaces.
    n_clusters, n_runs : int
        Centroids per clustering, clusterings (:func:`matched_runs`).
    n_neighbors : int
        Rows of ``V`` averaged into each pseudo-pair.
    n_refine : int
        Rounds of refinement.
    sample : int
        Rows of ``U`` per round of refinement.
    max_rows : int
        Every step sees at most this many rows of each space (a random sample), the small
        clusterings two thirds of them.
    working_memory : float or None
        MiB for one block of similarities.
    random_state : int, RandomState instance or None

    Returns
    -------
    rotation : ndarray of shape (d, d)
        ``d`` the larger width, both spaces zero-padded (:func:`padded`).
    stability : float
        The mean cosine, over the rows of ``U``, between their images under the maps grown
        from the two rotations (:func:`_stability`): near 1 when they agree, near 0 when they
        are unrelated.
    """
    rng = check_random_state(random_state)
    # small products, SVDs and k-means only (at most max_rows rows)
    with one_thread_of_every_pool():
        settings = dict(n_neighbors=n_neighbors, n_refine=n_refine, sample=sample,
                        working_memory=working_memory, rng=rng)
        U_fit, V_fit = (_sample(Z, max_rows, rng) for Z in padded(U, V))
        rotations = []
        for _ in range(2):  # a second, independent match: they agree if the match holds
            runs = matched_runs(U, V, n_clusters=n_clusters, n_runs=n_runs,
                                max_rows=2 * max_rows // 3, random_state=rng)
            rotations.append(_refined(U_fit, V_fit, runs, **settings))
        return rotations[0], _stability(U_fit, V_fit, rotations, n_neighbors=n_neighbors_csls,
                                        working_memory=working_memory)


def _stability(U, V, rotations, *, n_neighbors, working_memory):
    """How well two rotations agree once each has been grown into pairs by seeded refinement:
    the mean cosine, over the rows of ``U``, between their images under the two maps fitted
    on the pairs (near 1 when both find the same correspondence, near 0 when unrelated)."""
    images = []
    for W in rotations:
        start = (unit_rows((U @ W)[:, :V.shape[1]]), V)
        pairs, _ = seeded_pairs(U, V, np.empty((0, 2), dtype=np.intp), start=start,
                                n_iter=3, n_neighbors=n_neighbors, map_after=0,
                                working_memory=working_memory)
        images.append(mapped_descriptors(U, V, pairs, None)[0])
    return float(np.mean(np.sum(images[0] * images[1], axis=1)))


def _refined(U, V, runs, *, n_neighbors, n_refine, sample, working_memory, rng):
    """The rotation from the stacked matched centroids of ``runs``, refined."""
    anchors_u, anchors_v = padded(np.vstack([run[1] for run in runs]).astype(U.dtype),
                                  np.vstack([run[2] for run in runs]).astype(V.dtype))
    targets = neighbour_means(_relative(U, anchors_u), _relative(V, anchors_v), V,
                              n_neighbors=n_neighbors, working_memory=working_memory)
    W = _rotation(U, targets)
    for _ in range(n_refine):
        rows = _sample(U, sample, rng)
        targets = neighbour_means((rows @ W).astype(U.dtype), V, V,
                                  n_neighbors=n_neighbors, working_memory=working_memory)
        W = _smoothed(W, _rotation(rows, targets))
    return _clustering_pass(U, V, W, rng)


def _clustering_pass(U, V, W, rng):
    """Half a step towards the rotation between k-means centres of ``U`` and those of ``V``
    found from them (mapped), many centres (a tenth of the rows, at most 500)."""
    n_centres = max(2, min(500, min(len(U), len(V)) // 10))
    km_u = KMeans(n_centres, n_init=1, random_state=rng.randint(2**31 - 1)).fit(U)
    start = (km_u.cluster_centers_ @ W).astype(V.dtype)
    km_v = KMeans(n_centres, init=start, n_init=1).fit(V)
    centres_u, centres_v = km_u.cluster_centers_, km_v.cluster_centers_
    return _smoothed(W, _rotation(centres_u, centres_v))
