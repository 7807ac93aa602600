"""Mutual nearest neighbours under CSLS between two sets of unit rows, block by block.

CSLS (cross-domain similarity local scaling; Conneau et al., 2018) scores a pair ``(a, b)`` by
``2 cos(a, b) - r_A(a) - r_B(b)``, where ``r_A(a)`` is the mean cosine of ``a`` to its ``r``
nearest rows of ``B`` (and ``r_B(b)`` likewise): a *hub*, close to everything, is marked down.
The similarities are formed one block of rows of ``A`` at a time (:func:`row_blocks` under
scikit-learn's ``working_memory``), so no ``n_A x n_B`` matrix is ever held at once.
"""

import numpy as np

from .._parallel import row_blocks

__all__ = ["csls_mutual_neighbours"]


def _similarity_blocks(A, B, working_memory):
    # One block holds its similarities (float of B's rows) and a few temporaries of that size.
    return row_blocks(len(A), 4 * len(B) * A.itemsize, working_memory=working_memory)


def _hubness(A, B, r, working_memory):
    """Mean cosine of each row of ``A`` to its ``r`` nearest rows of ``B``."""
    r_a = np.empty(len(A), dtype=A.dtype)
    r = min(r, len(B))
    for rows in _similarity_blocks(A, B, working_memory):
        S = A[rows] @ B.T
        # along rows (contiguous): far faster than a partition down the columns
        r_a[rows] = np.partition(S, S.shape[1] - r, axis=1)[:, S.shape[1] - r:].mean(axis=1)
    return r_a


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
    r_a = _hubness(A, B, n_neighbors, working_memory)
    r_b = _hubness(B, A, n_neighbors, working_memory)
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
