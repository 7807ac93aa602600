"""Decoders: learned aggregations of the product space, and the default linear probe.

:class:`ProductClassifier` and :class:`ProductRegressor` read the concatenated product space
(what :class:`~skinvariance.ProductProjection` with ``aggregate="concat"`` produces), split it
into its relative subspaces, combine them with a learned aggregation (a softmax-weighted sum,
a per-subspace tanh layer followed by a sum, or self-attention over subspaces) and decode the
result with a linear or MLP head, all trained together. They take scikit-learn's MLP
parameters (``hidden_layer_sizes``, ``alpha``, ``solver``, ``early_stopping``, ...).

:class:`LogisticClassifier` is the linear probe of the default decoder: scikit-learn's
``LogisticRegression`` model and solver, with a compiled loss that reads the data once a step.
"""

from ._estimators import ProductClassifier, ProductRegressor
from ._logistic import LogisticClassifier

__all__ = ["LogisticClassifier", "ProductClassifier", "ProductRegressor"]
