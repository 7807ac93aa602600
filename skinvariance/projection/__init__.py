"""Relative projections onto anchors, and their product space.

A relative projection describes each sample by its kernel values against a set of anchors
(:func:`relative_projection`, :class:`RelativeProjection`); a product of relative projections
combines several invariances at once (:class:`ProductProjection`), each subspace normalised
per sample (:func:`normalize_rows`) before aggregation. A product's ``memory`` keeps the raw
subspaces of its transforms where the user says (a :class:`joblib.Memory`), so that a grid
search over aggregations computes each fold's kernels once.
"""

from ._normalize import normalize_rows
from ._product import ProductProjection
from ._relative import RelativeProjection, relative_projection

__all__ = [
    "ProductProjection",
    "RelativeProjection",
    "normalize_rows",
    "relative_projection",
]
