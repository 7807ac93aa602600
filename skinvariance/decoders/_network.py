"""An aggregation followed by a head, with all parameters in one flat vector.

Every parameter array is a view into one contiguous vector ``coef`` and every gradient a view
into ``grad`` of the same layout, so that the optimisers work on two flat vectors (Adam
updates them in a few vectorised passes; L-BFGS reads and writes them directly) and the L2
penalty is one dot product: the penalised weight matrices come first in the layout.
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
    """Aggregation, head and loss; computes the penalised loss and its gradient.

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
        L2 penalty: ``0.5 * alpha * ||weights||^2 / n_rows`` is added to the mean loss of
        ``n_rows`` rows (scikit-learn's MLP convention).
    dtype : numpy dtype
        Of the parameters and of every computation.
    """

    def __init__(self, aggregate, n_subspaces, width, hidden_layer_sizes, n_outputs, loss,
                 alpha, dtype):
        self._args = (aggregate, n_subspaces, width, tuple(hidden_layer_sizes), n_outputs,
                      loss, alpha, np.dtype(dtype).str)
        self.aggregation = AGGREGATIONS[aggregate](n_subspaces, width)
        self.head = Head(self.aggregation.output_width, hidden_layer_sizes, n_outputs)
        self.loss = LOSSES[loss]
        self.alpha = float(alpha)
        self.dtype = np.dtype(dtype)
        self.layout = ParameterLayout(self.aggregation.parameters() + self.head.parameters())
        self.grad = np.zeros(self.layout.size, dtype=self.dtype)
        self._grads = self.layout.views(self.grad)
        self.set_coef(np.zeros(self.layout.size, dtype=self.dtype))

    def __getstate__(self):
        # The gradient buffer and the views are rebuilt from the layout on unpickling.
        return {"args": self._args, "coef": self.coef}

    def __setstate__(self, state):
        self.__init__(*state["args"])
        self.set_coef(state["coef"])

    def set_coef(self, coef):
        """Use ``coef`` (a flat vector of the network's dtype, not copied) as parameters."""
        self.coef = coef
        self.params = self.layout.views(coef)

    def initialize(self, rng):
        """Draw initial parameters from ``rng`` (a RandomState), in a fixed order."""
        self.aggregation.initialize(self.params, rng)
        self.head.initialize(self.params, rng)

    def forward(self, X):
        """Raw outputs ``Z`` of the rows ``X`` (C-contiguous, the network's dtype)."""
        H = self.aggregation.forward(X, self.params)
        return self.head.forward(H, self.params)

    def loss_grad(self, X, target):
        """Penalised mean loss over the rows of ``X``; its gradient is left in ``self.grad``."""
        n = X.shape[0]
        Z = self.forward(X)
        loss, delta = self.loss(Z, target)
        trainable = self.aggregation.trainable
        dH = self.head.backward(delta, self.params, self._grads, input_gradient=trainable)
        if trainable:
            self.aggregation.backward(dH, self.params, self._grads)
        p = self.layout.n_penalized
        if p and self.alpha:
            weights = self.coef[:p]
            loss += 0.5 * self.alpha * float(np.dot(weights, weights)) / n
            self.grad[:p] += (self.alpha / n) * weights
        return loss

    def decision(self, X):
        """Raw outputs for many rows, computed in blocks within ``working_memory``."""
        n = X.shape[0]
        width = self.aggregation.n_subspaces * self.aggregation.width
        # The widest intermediate is about three copies of the input row (attention's
        # queries, keys and values; mlp_sum's activations) plus the head's layers.
        row_bytes = self.dtype.itemsize * (4 * width + sum(self.head.layer_units))
        batch = get_chunk_n_rows(row_bytes=row_bytes, max_n_rows=n)
        out = np.empty((n, self.head.layer_units[-1]), dtype=self.dtype)
        for rows in gen_batches(n, max(batch, 1)):
            out[rows] = self.forward(np.ascontiguousarray(X[rows]))
        self.aggregation._cache = None
        self.head._activations = None
        return out
