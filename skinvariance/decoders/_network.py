"""An aggregation followed by a head: its parameter layout, forward pass, loss and gradient.

A :class:`Network` holds the structure only (shapes, loss, penalty), never parameters or
activations: every pass takes the parameters as an argument and keeps its activations in
locals, so prediction writes nothing and threads may share a network. Training works on one
flat parameter vector and one flat gradient vector of the same layout (Adam updates them in a
few vectorised passes; L-BFGS reads and writes them directly), every named parameter being a
view into them; the penalised weight matrices come first, so the L2 penalty is one dot
product.
"""

import numpy as np
from sklearn.utils import gen_batches

from .._compat import get_chunk_n_rows
from ._aggregations import AGGREGATIONS
from ._heads import LOSSES, Head


class ParameterLayout:
    """Where each named parameter lives in the flat vector.

    Parameters
    ----------
    entries : list of (name, shape, penalized)
        In initialisation order. Penalised entries are laid out first.
    """

    def __init__(self, entries):
        self.entries = list(entries)
        ordered = [e for e in self.entries if e[2]] + [e for e in self.entries if not e[2]]
        self.slices = {}
        start = 0
        for name, shape, _ in ordered:
            size = int(np.prod(shape, dtype=np.int64))
            self.slices[name] = (start, start + size, shape)
            start += size
        self.size = start
        self.n_penalized = sum(
            int(np.prod(shape, dtype=np.int64)) for _, shape, penalized in ordered if penalized
        )

    def views(self, flat):
        """``{name: view of flat with the parameter's shape}``."""
        return {
            name: flat[start:stop].reshape(shape)
            for name, (start, stop, shape) in self.slices.items()
        }


class Network:
    """Aggregation, head and loss; computes outputs, the penalised loss and its gradient.

    Parameters
    ----------
    aggregate : str
        A key of ``AGGREGATIONS``.
    n_subspaces, width : int
        The blocks of the input: ``n_subspaces`` of ``width`` columns.
    hidden_layer_sizes : tuple of int
        The head's ReLU layers.
    n_outputs : int
        Width of the raw output.
    loss : {"multinomial", "binary", "squared"}
    alpha : float
        L2 penalty: ``0.5 * alpha * ||weights||^2 / n_train`` is added to the mean loss,
        ``n_train`` being the number of training rows (of a minibatch too, so that every
        minibatch estimates the same objective).
    dtype : numpy dtype
        Of the parameters and of every computation.
    """

    def __init__(self, aggregate, n_subspaces, width, hidden_layer_sizes, n_outputs, loss,
                 alpha, dtype):
        self.aggregation = AGGREGATIONS[aggregate](n_subspaces, width)
        self.head = Head(self.aggregation.output_width, hidden_layer_sizes, n_outputs)
        self.loss = LOSSES[loss]
        self.alpha = float(alpha)
        self.dtype = np.dtype(dtype)
        self.layout = ParameterLayout(self.aggregation.parameters() + self.head.parameters())

    def initial_coef(self, rng):
        """A new flat parameter vector drawn from ``rng`` (a RandomState), in a fixed order."""
        coef = np.zeros(self.layout.size, dtype=self.dtype)
        params = self.layout.views(coef)
        self.aggregation.initialize(params, rng)
        self.head.initialize(params, rng)
        return coef

    def forward(self, X, params):
        """Raw outputs ``Z`` of the rows ``X`` (C-contiguous) under ``params`` (by name)."""
        H, _ = self.aggregation.forward(X, params)
        Z, _ = self.head.forward(H, params)
        return Z

    def loss_grad(self, coef, X, target, grad, n_train=None):
        """Penalised mean loss over the rows of ``X`` at the flat parameters ``coef``.

        Its gradient is written into ``grad`` (a flat vector of the same layout).
        ``n_train`` (default: the rows of ``X``) scales the penalty, for a minibatch.
        """
        n = X.shape[0] if n_train is None else n_train
        params, grads = self.layout.views(coef), self.layout.views(grad)
        H, aggregation_cache = self.aggregation.forward(X, params)
        Z, activations = self.head.forward(H, params)
        loss, delta = self.loss(Z, target)
        trainable = self.aggregation.trainable
        dH = self.head.backward(activations, delta, params, grads, input_gradient=trainable)
        if trainable:
            self.aggregation.backward(aggregation_cache, dH, params, grads)
        p = self.layout.n_penalized
        if p and self.alpha:
            weights = coef[:p]
            loss += 0.5 * self.alpha * float(np.dot(weights, weights)) / n
            grad[:p] += (self.alpha / n) * weights
        return loss

    def decision(self, X, params):
        """Raw outputs for many rows, computed in blocks within ``working_memory``."""
        n = X.shape[0]
        width = self.aggregation.n_subspaces * self.aggregation.width
        # The widest intermediate is about three copies of the input row (attention's
        # queries, keys and values; mlp_sum's activations) plus the head's layers.
        row_bytes = self.dtype.itemsize * (4 * width + sum(self.head.layer_units))
        batch = get_chunk_n_rows(row_bytes=row_bytes, max_n_rows=n)
        out = np.empty((n, self.head.layer_units[-1]), dtype=self.dtype)
        for rows in gen_batches(n, max(batch, 1)):
            out[rows] = self.forward(np.ascontiguousarray(X[rows]), params)
        return out
