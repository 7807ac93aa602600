"""skinvariance: latent space communication for scikit-learn.

Relative projections of embeddings onto parallel anchors (cosine, euclidean, L1, L-infinity
kernels), their product space, anchor-fitted alignments, similarity measures between latent
spaces and zero-shot stitching.
"""

from skinvariance import datasets, exceptions, io, kernels, metrics
from skinvariance import outofcore as outofcore  # deprecated: skinvariance.io
from skinvariance.alignment import AffineAlignment, OrthogonalAlignment
from skinvariance.anchors import select_anchors
from skinvariance.decoders import LogisticClassifier, ProductClassifier, ProductRegressor
from skinvariance.matching import MatchedAlignment, match_spaces
from skinvariance.projection import ProductProjection, RelativeProjection
from skinvariance.spaces import stack_spaces, unstack_spaces
from skinvariance.stitching import StitchingEvaluator, compare_invariances, make_evaluator

__version__ = "0.1.0.dev0"

__all__ = [
    "AffineAlignment",
    "LogisticClassifier",
    "MatchedAlignment",
    "OrthogonalAlignment",
    "ProductClassifier",
    "ProductProjection",
    "ProductRegressor",
    "RelativeProjection",
    "StitchingEvaluator",
    "__version__",
    "compare_invariances",
    "datasets",
    "exceptions",
    "io",
    "kernels",
    "make_evaluator",
    "match_spaces",
    "metrics",
    "select_anchors",
    "stack_spaces",
    "unstack_spaces",
]
