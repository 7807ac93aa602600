"""Hidden-layer activations of a fitted scikit-learn multi-layer perceptron."""

from numbers import Integral

import numpy as np
from scipy.special import expit
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.utils import check_array
from sklearn.utils.validation import check_is_fitted

from .._compat import HasMethods, validate_params
from .._constraints import NumberInterval

__all__ = ["hidden_activations"]


def _identity(z):
    return z


def _relu(z):
    return np.maximum(z, 0)


_ACTIVATIONS = {"identity": _identity, "logistic": expit, "tanh": np.tanh, "relu": _relu}


@validate_params(
    {
        "estimator": [HasMethods(["fit", "predict"])],
        "X": ["array-like"],
        "layer": [NumberInterval(Integral, None, None, closed="neither")],
    },
    prefer_skip_nested_validation=True,
)
def hidden_activations(estimator, X, *, layer=-1):
    """Activations of a hidden layer of a fitted multi-layer perceptron.

    The forward pass is computed from the fitted weights (``coefs_`` and ``intercepts_``) and
    the hidden activation function of the estimator, so any hidden layer, not only the output,
    can serve as a latent space.

    Parameters
    ----------
    estimator : MLPClassifier or MLPRegressor
        A fitted scikit-learn multi-layer perceptron.

    X : array-like of shape (n_samples, n_features)
        The inputs, pre-processed as they were for ``estimator.fit``.

    layer : int, default=-1
        Index of the hidden layer, ``0`` being the first one after the input; negative values
        count from the last hidden layer (``-1``, the default, is the layer the output layer
        reads).

    Returns
    -------
    Z : ndarray of shape (n_samples, hidden_layer_sizes[layer])
        The activations of that hidden layer.

    See Also
    --------
    make_model_zoo : Latent spaces of a zoo of perceptrons trained on the fly.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.neural_network import MLPClassifier
    >>> from skinvariance.datasets import hidden_activations
    >>> X, y = load_digits(return_X_y=True)
    >>> mlp = MLPClassifier(hidden_layer_sizes=(32, 16), solver="lbfgs", random_state=0)
    >>> mlp = mlp.fit(X[:200] / 16, y[:200])
    >>> hidden_activations(mlp, X[:5] / 16).shape
    (5, 16)
    >>> hidden_activations(mlp, X[:5] / 16, layer=0).shape
    (5, 32)
    """
    if not isinstance(estimator, (MLPClassifier, MLPRegressor)):
        raise TypeError(
            "The 'estimator' parameter of hidden_activations must be an instance of "
            f"MLPClassifier or MLPRegressor. Got {type(estimator).__name__} instead."
        )
    check_is_fitted(estimator, "coefs_")
    X = check_array(X, dtype=[np.float64, np.float32], input_name="X")
    n_features = estimator.coefs_[0].shape[0]
    if X.shape[1] != n_features:
        raise ValueError(
            f"X has {X.shape[1]} features, but {type(estimator).__name__} is expecting "
            f"{n_features} features as input."
        )
    n_hidden = len(estimator.coefs_) - 1
    if not -n_hidden <= layer < n_hidden:
        raise ValueError(
            f"The 'layer' parameter of hidden_activations must be an int in the range "
            f"[{-n_hidden}, {n_hidden - 1}] for an estimator with {n_hidden} hidden layers. "
            f"Got {layer} instead."
        )
    layer = layer % n_hidden
    activation = _ACTIVATIONS[estimator.activation]
    Z = X
    for i in range(layer + 1):
        Z = activation(Z @ estimator.coefs_[i] + estimator.intercepts_[i])
    return Z
