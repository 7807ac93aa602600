"""Zero-shot stitching between latent spaces, and the selection of an invariance.

:class:`StitchingEvaluator` trains one decoder per space on an invariant representation of that
space and scores every decoder on every other space's representation, with no further training.
:func:`compare_invariances` runs it, together with the similarity measures of
:mod:`skinvariance.metrics`, over a set of invariances (:func:`default_invariances`) and returns
one tidy table; :func:`make_evaluator` turns any row of that table into the evaluator that
scored it, to fit and deploy.
"""

from ._compare import compare_invariances
from ._evaluator import StitchingEvaluator
from ._invariances import PowerOfTwoScaler, default_invariances, make_decoder
from ._rows import make_evaluator

__all__ = [
    "PowerOfTwoScaler",
    "StitchingEvaluator",
    "compare_invariances",
    "default_invariances",
    "make_decoder",
    "make_evaluator",
]
