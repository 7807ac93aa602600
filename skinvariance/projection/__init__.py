"""Relative projections onto anchors, and their product space.

A relative projection describes each sample by its kernel values against a set of anchors
(:func:`relative_projection`, :class:`RelativeProjection`); a product of relative projections
combines several invariances at once (:class:`ProductProjection`), each subspace normalised
per sample (:func:`normalize_rows`) before aggregation. Inside :func:`cached_projections`, raw
subspaces already computed for the same samples and anchors are reused (the projection cache:
:func:`set_projection_cache`, :func:`clear_projection_cache`, :func:`projection_cache_info`).
"""

from ._cache import (
    cached_projections,
    clear_projection_cache,
    projection_cache_info,
    set_projection_cache,
)
from ._normalize import normalize_rows
from ._product import ProductProjection
from ._relative import RelativeProjection, relative_projection

__all__ = [
    "ProductProjection",
    "RelativeProjection",
    "cached_projections",
    "clear_projection_cache",
    "normalize_rows",
    "projection_cache_info",
    "relative_projection",
    "set_projection_cache",
]
