"""Mutual nearest neighbours under CSLS between two sets of unit rows, block by block.

CSLS (cross-domain similarity local scaling; Conneau et al., 2018) scores a pair ``(a, b)`` by
``2 cos(a, b) - r_A(a) - r_B(b)``, where ``r_A(a)`` is the mean cosine of ``a`` to its ``r``
nearest rows of ``B`` (and ``r_B(b)`` likewise): a *hub*, close to everything, is marked down.
The similarities are formed one block of rows of ``A`` at a time (:func:`row_blocks` under
scikit-learn's ``working_memory``), so no ``n_A x n_B`` matrix is ever held at once.
"""

import numpy as np
from scipy import sparse

from .._parallel import row_blocks

__all__ = ["csls_mutual_neighbours", "neighbour_means"]


def _similarity_blocks(A, B, working_memory):
    # One block holds its similarities (float of B's rows) and a few temporaries of that size.
    return row_blocks(len(A), 4 * len(B) * A.itemsize, working_memory=working_memory)


def _top_mean(S, r):
    """Mean of the ``r`` largest values of each row of ``S`` (partitioned in place), summed in
    sorted order so that the value does not depend on how the rows were blocked."""
    if S.shape[1] > r:
        S.partition(S.shape[1] - r, axis=1)  # along rows (contiguous): fast
    return np.sort(S[:, S.shape[1] - r:], axis=1).mean(axis=1)


def _hubness(A, B, r, working_memory):
    """Mean cosine of each row of ``A`` to its ``r`` nearest rows of ``B``, and of each row of
    ``B`` to its ``r`` nearest rows of ``A``: both from one product per block."""
    r_a, r_b = np.empty(len(A), dtype=A.dtype), None
    top_b = np.empty((len(B), 0), dtype=A.dtype)  # the r largest cosines of B's rows so far
    r_of_a, r_of_b = min(r, len(B)), min(r, len(A))
    for rows in _similarity_blocks(A, B, working_memory):
        S_t = B @ A[rows].T
        r_a[rows] = _top_mean(S_t.T.copy(), r_of_a)  # a copy: partitioned in place
        if S_t.shape[1] > r_of_b:
            S_t.partition(S_t.shape[1] - r_of_b, axis=1)
        top_b = np.hstack([top_b, S_t[:, max(S_t.shape[1] - r_of_b, 0):]])
        if top_b.shape[1] > r_of_b:
            top_b = np.partition(top_b, top_b.shape[1] - r_of_b, axis=1)[:, -r_of_b:]
    r_b = np.sort(top_b, axis=1).mean(axis=1).astype(A.dtype)
    return r_a, r_b


def neighbour_means(A, B, targets, *, n_neighbors=50, working_memory=None):
    """For each row of ``A``, the mean of ``targets`` over its ``n_neighbors`` most similar
    rows of ``B`` (``targets[j]`` stands for ``B[j]``), block by block.

    Parameters
    ----------
    A : ndarray of shape (n_A, d)
    B : ndarray of shape (n_B, d)
        Similarity is the dot product of rows of ``A`` and ``B``.
    targets : ndarray of shape (n_B, p)
    n_neighbors : int, default=50
    working_memory : float, default=None

    Returns
    -------
    means : ndarray of shape (n_A, p)
    """
    k = min(n_neighbors, len(B))
    means = np.empty((len(A), targets.shape[1]), dtype=targets.dtype)
    for rows in _similarity_blocks(A, B, working_memory):
        S = A[rows] @ B.T
        top = np.argpartition(S, S.shape[1] - k, axis=1)[:, S.shape[1] - k:]
        averaging = sparse.csr_array(
            (np.full(top.size, 1.0 / k, dtype=targets.dtype), top.ravel(),
             np.arange(0, top.size + 1, k)), shape=(len(S), len(B)))
        means[rows] = averaging @ targets
    return means


def csls_mutual_neighbours(A, B, *, n_neighbors=10, working_memory=None):
    """Pairs of rows of ``A`` and ``B`` that are each other's best match under CSLS.

    Parameters
    ----------
    A : ndarray of shape (n_A, d)
        Unit rows (cosine is their dot product).
    B : ndarray of shape (n_B, d)
        Unit rows, in the same coordinates as ``A``.
    n_neighbors : int, default=10
        ``r``, the neighbours averaged into each row's hubness.
    working_memory : float, default=None
        MiB for one block of similarities; ``None`` uses scikit-learn's configuration.

    Returns
    -------
    pairs : ndarray of shape (n_pairs, 2)
        Rows of ``A`` and of ``B`` that are mutual best matches, by decreasing margin.
    margin : ndarray of shape (n_pairs,)
        How far each pair's CSLS score is above the next best candidate of either row (the
        smaller of the two margins), a confidence in ``[0, 4]``.
    """
    r_a, r_b = _hubness(A, B, n_neighbors, working_memory)
    n_a, n_b = len(A), len(B)
    best_of_a = np.empty(n_a, dtype=np.intp)
    margin_a = np.empty(n_a, dtype=np.float64)
    top2_b = np.full((2, n_b), -np.inf)  # best and second best score of each row of B
    best_of_b = np.zeros(n_b, dtype=np.intp)
    for rows in _similarity_blocks(A, B, working_memory):
        C = A[rows] @ B.T
        C *= 2
        C -= r_b
        C -= r_a[rows, None]
        best = C.argmax(axis=1)
        best_of_a[rows] = best
        first = C[np.arange(len(C)), best]
        if n_b > 1:
            C[np.arange(len(C)), best] = -np.inf
            margin_a[rows] = first - C.max(axis=1)
            C[np.arange(len(C)), best] = first
        else:
            margin_a[rows] = np.inf
        # running best and second best of every column (reductions down the columns)
        block_best = C.argmax(axis=0)
        block_first = C[block_best, np.arange(n_b)]
        C[block_best, np.arange(n_b)] = -np.inf
        block_second = C.max(axis=0)
        new_best = block_first > top2_b[0]
        top2_b[1] = np.where(new_best, np.maximum(top2_b[0], block_second),
                             np.maximum(top2_b[1], block_first))
        top2_b[0] = np.where(new_best, block_first, top2_b[0])
        best_of_b = np.where(new_best, block_best + rows.start, best_of_b)
    a = np.flatnonzero(best_of_b[best_of_a] == np.arange(n_a))
    b = best_of_a[a]
    margin = np.minimum(margin_a[a], top2_b[0, b] - top2_b[1, b])
    order = np.argsort(-margin, kind="stable")
    return np.column_stack([a[order], b[order]]), margin[order]
