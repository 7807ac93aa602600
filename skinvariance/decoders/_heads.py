"""The head read after the aggregation (linear or MLP), and the losses at its output.

A head maps the aggregated features ``H`` to raw outputs ``Z`` (logits, or the regression
prediction) through ``len(hidden_layer_sizes)`` ReLU layers and one affine output layer; with
no hidden layer it is linear. Weight matrices are penalised, biases are not, as in
scikit-learn's MLP, whose Glorot initialisation it also uses.

A loss takes ``Z`` and the encoded target and returns the mean loss over the rows and
``dL/dZ``; each pairs an output activation with its canonical loss, so that
``dL/dZ = (activation(Z) - target) / n_samples``.
"""

import numpy as np
from scipy.special import expit

from ._aggregations import glorot_bound


class Head:
    """Dense layers ``H -> relu(H W_0 + b_0) -> ... -> Z = A W_L + b_L``.

    Parameters
    ----------
    n_inputs : int
        Width of ``H``.
    hidden_layer_sizes : tuple of int
        Widths of the ReLU layers; empty for a linear head.
    n_outputs : int
        Width of ``Z``.
    """

    def __init__(self, n_inputs, hidden_layer_sizes, n_outputs):
        self.layer_units = [n_inputs, *hidden_layer_sizes, n_outputs]

    @property
    def n_layers(self):
        return len(self.layer_units) - 1

    def parameters(self):
        units = self.layer_units
        coefs = [(f"coef_{i}", (units[i], units[i + 1]), True) for i in range(self.n_layers)]
        intercepts = [(f"intercept_{i}", (units[i + 1],), False) for i in range(self.n_layers)]
        return coefs + intercepts

    def initialize(self, params, rng):
        # scikit-learn's order: each layer's weights, then its biases, layer after layer.
        units = self.layer_units
        for i in range(self.n_layers):
            bound = glorot_bound(units[i], units[i + 1])
            params[f"coef_{i}"][:] = rng.uniform(-bound, bound, (units[i], units[i + 1]))
            params[f"intercept_{i}"][:] = rng.uniform(-bound, bound, units[i + 1])

    def forward(self, H, params):
        """``(Z, activations)``: the raw outputs and every layer's input, for backward."""
        activations = [H]
        for i in range(self.n_layers):
            A = activations[-1] @ params[f"coef_{i}"]
            A += params[f"intercept_{i}"]
            if i < self.n_layers - 1:
                np.maximum(A, 0, out=A)
            activations.append(A)
        return activations[-1], activations

    def backward(self, activations, delta, params, grads, *, input_gradient):
        """Write the parameter gradients given ``delta = dL/dZ``; return dL/dH if asked.

        ``activations`` is the second value :meth:`forward` returned.
        """
        for i in range(self.n_layers - 1, -1, -1):
            np.matmul(activations[i].T, delta, out=grads[f"coef_{i}"])
            np.sum(delta, axis=0, out=grads[f"intercept_{i}"])
            if i == 0 and not input_gradient:
                break
            delta = delta @ params[f"coef_{i}"].T
            if i > 0:
                delta *= activations[i] > 0  # ReLU derivative
        return delta if input_gradient else None


def softmax_inplace(Z):
    """Row-wise softmax of ``Z``, in place; returns ``Z``."""
    Z -= Z.max(axis=1, keepdims=True)
    np.exp(Z, out=Z)
    Z /= Z.sum(axis=1, keepdims=True)
    return Z


def softmax_cross_entropy(Z, codes):
    """Mean multinomial log loss of logits ``Z`` for integer class ``codes``; overwrites Z."""
    n = Z.shape[0]
    rows = np.arange(n)
    Z -= Z.max(axis=1, keepdims=True)
    true_logit = Z[rows, codes]
    np.exp(Z, out=Z)
    total = Z.sum(axis=1)
    loss = float(np.mean(np.log(total) - true_logit, dtype=np.float64))
    Z /= total[:, None]
    Z[rows, codes] -= 1.0
    Z *= 1.0 / n
    return loss, Z


def logistic_cross_entropy(Z, target):
    """Mean binary log loss of one logit column ``Z`` for 0/1 ``target``; overwrites Z."""
    n = Z.shape[0]
    loss = float(np.mean(np.logaddexp(0.0, Z) - target * Z, dtype=np.float64))
    expit(Z, out=Z)
    Z -= target
    Z *= 1.0 / n
    return loss, Z


def half_squared_error(Z, target):
    """Half the squared error summed over outputs, averaged over rows; overwrites Z.

    For one output this is scikit-learn's ``squared_loss``; for several it sums over
    outputs (scikit-learn's MLP reports the mean over outputs but follows the gradient of
    the sum), which makes ``alpha`` exactly :class:`~sklearn.linear_model.Ridge`'s.
    """
    n = Z.shape[0]
    Z -= target
    loss = 0.5 * float(np.einsum("ij,ij->", Z, Z, dtype=np.float64)) / n
    Z *= 1.0 / n
    return loss, Z


LOSSES = {
    "multinomial": softmax_cross_entropy,
    "binary": logistic_cross_entropy,
    "squared": half_squared_error,
}
