"""Seeded refinement: grow a few known pairs into many pseudo-pairs (METHOD.md §9).

Every row of each space is described in coordinates both spaces share — its cosines to that
space's current anchors (relative descriptors), or, once enough pairs exist, its image under a
map fitted on them — and rows that are mutual nearest neighbours under CSLS become pairs. The
most confident pairs join the anchors and the description is rebuilt; each round keeps a larger
share, and the known pairs always stay.
"""

import numpy as np
from sklearn.base import clone
from sklearn.linear_model import Ridge

from ..kernels._unit import unit_rows
from ._neighbours import csls_mutual_neighbours

__all__ = ["centred_units", "seeded_pairs"]

#: Rounds before the last search only every ``stride``-th free row of ``U`` (about this many of
#: them) when more than twice as many are free: they keep only the surest pairs, and a true
#: mutual pair of a row searched stays mutual among fewer rows.
EARLY_ROWS = 4096


def centred_units(Z):
    """Rows of ``Z`` centred on the mean of every row, then of unit length (float32 or 64)."""
    Z = np.asarray(Z)
    return unit_rows(Z - Z.mean(axis=0))


def relative_descriptors(U, anchors):
    """Cosines of the unit rows ``U`` to ``anchors`` (unit vectors), centred, of unit length."""
    D = U @ anchors.T
    return unit_rows(D - D.mean(axis=0))


def mapped_descriptors(U, V, pairs, alignment):
    """``U`` carried into ``V``'s coordinates by ``alignment`` fitted on ``pairs``, unit rows."""
    if alignment is None:  # a fixed ridge on unit rows: one small solve, no search
        fitted = Ridge(alpha=1.0, solver="cholesky").fit(U[pairs[:, 0]], V[pairs[:, 1]])
        mapped = fitted.predict(U)
    else:
        mapped = clone(alignment).fit(U[pairs[:, 0]], V[pairs[:, 1]]).transform(U)
    return unit_rows(np.asarray(mapped, dtype=U.dtype)), V


def _free(n, taken):
    free = np.ones(n, dtype=bool)
    free[taken] = False
    return np.flatnonzero(free)


def seeded_pairs(U, V, known, *, start=None, n_iter=5, n_neighbors=10, map_after=None,
                 alignment=None, working_memory=None):
    """Pseudo-pairs of the unit rows ``U`` and ``V`` grown from the ``known`` pairs.

    Parameters
    ----------
    U, V : ndarray of shape (n_U, d_U), (n_V, d_V)
        Centred unit rows of the two spaces (:func:`centred_units`).
    known : ndarray of shape (k, 2)
        Known pairs (row of ``U``, row of ``V``); they are kept.
    start : tuple of two ndarrays or None
        Descriptors ``(A, B)`` of the rows of ``U`` and of ``V`` in the first round, in place
        of the relative descriptors (e.g. ``U`` carried into ``V``'s coordinates by a rotation
        found without pairs, and ``V``); needed when no pair is known.
    n_iter : int
        Rounds of refinement; round ``t`` keeps the most confident ``2**(t + 1 - n_iter)`` of its
        mutual neighbours (all of them in the last round). Before the last, only every
        ``k``-th free row of ``U`` is searched when more than ``2 * EARLY_ROWS`` are free.
    n_neighbors : int
        CSLS's ``r``.
    map_after : int or None
        Describe rows through a map once this many pairs exist (``None``: never; relative
        descriptors throughout).
    alignment : estimator or None
        The map (fitted on the current pairs, ``fit(U_rows, V_rows)``); ``None`` is a ridge
        regression of strength 1 (on unit rows).
    working_memory : float or None
        MiB for one block of similarities.

    Returns
    -------
    pairs : ndarray of shape (n_pairs, 2)
        The known pairs, then the pseudo-pairs of the last round by decreasing confidence.
    margin : ndarray of shape (n_pairs - k,)
        The CSLS margin of each pseudo-pair.
    """
    free_u = _free(len(U), known[:, 0])
    free_v = _free(len(V), known[:, 1])
    pairs, margin = known, np.empty(0)
    for t in range(n_iter):
        if start is not None and t == 0:
            A, B = start
        elif map_after is not None and len(pairs) >= map_after:
            A, B = mapped_descriptors(U, V, pairs, alignment)
        else:
            A = relative_descriptors(U, U[pairs[:, 0]])
            B = relative_descriptors(V, V[pairs[:, 1]])
        searched = free_u
        if t < n_iter - 1 and len(free_u) > 2 * EARLY_ROWS:
            searched = free_u[:: len(free_u) // EARLY_ROWS]
        found, margin = csls_mutual_neighbours(A[searched], B[free_v], n_neighbors=n_neighbors,
                                               working_memory=working_memory)
        share = 2.0 ** (t + 1 - n_iter)
        keep = max(1, int(np.ceil(share * len(found)))) if len(found) else 0
        found, margin = found[:keep], margin[:keep]
        pairs = np.vstack([known, np.column_stack([searched[found[:, 0]], free_v[found[:, 1]]])])
    return pairs, margin
