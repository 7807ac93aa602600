"""Pairs of rows of two unpaired spaces, from few known pairs or none (METHOD.md §9).

Every anchor-fitted estimator of the package needs *parallel anchors*: rows of two spaces that
embed the same inputs. :func:`match_spaces` finds such pairs when only a few are known (or
none), from the unpaired rows of each space; :class:`MatchedAlignment` fits an alignment on
them.
"""

from ._estimator import MatchedAlignment
from ._match import match_spaces

__all__ = ["MatchedAlignment", "match_spaces"]
