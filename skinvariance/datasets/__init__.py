"""Embedded data: a zoo of small neural networks trained on the fly.

:func:`make_model_zoo` trains scikit-learn multi-layer perceptrons on a dataset that ships
with an installed package (scikit-learn's digits by default, so nothing is downloaded) and
returns their latent spaces of the same held-out samples: the multi-space input every other
part of skinvariance consumes. The models differ in the three factors of the workshop paper
"Infusing invariances in neural representations": initialisation (random seed),
architecture (depth, width, activation) and training modality (solver, learning rate,
batch size).

:func:`hidden_activations` computes a hidden layer of any fitted
:class:`~sklearn.neural_network.MLPClassifier` or :class:`~sklearn.neural_network.MLPRegressor`
from its weights; it is how the zoo's latent spaces are made.
"""

from ._activations import hidden_activations
from ._loaders import load_mnist1d, load_mnist_5k
from ._zoo import DATASETS as DATASETS  # the dataset names make_model_zoo accepts
from ._zoo import FACTORS as FACTORS  # the factors a zoo can vary
from ._zoo import make_model_zoo

__all__ = ["hidden_activations", "load_mnist1d", "load_mnist_5k", "make_model_zoo"]
