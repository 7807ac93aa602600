"""Aggregations of the product space: forward and backward pass of each.

The input of every aggregation is the concatenated product space ``X`` of shape
``(n_samples, m * k)``: ``m`` subspaces (blocks of columns, in order) of width ``k`` each,
``s_i = X[:, i*k:(i+1)*k]``. An aggregation maps it to ``H`` of shape
``(n_samples, output_width)``; the head reads ``H``.

Each aggregation declares its parameters as ``(name, shape, penalized)`` triples; the network
lays them out in one flat vector (see ``_network.py``) and hands each aggregation a dict of
views into it. ``forward`` returns the output and what ``backward`` needs (a local of the
pass, never stored on the instance): an aggregation holds only its shape, so prediction
writes nothing and concurrent passes are safe. No aggregation needs the gradient with respect
to its input, so none is computed.
"""

import math

import numpy as np


def glorot_bound(fan_in, fan_out):
    """Bound of the uniform initialisation scikit-learn's MLP uses (Glorot, tanh/relu)."""
    return math.sqrt(6.0 / (fan_in + fan_out))


class Aggregation:
    """Base class: no parameters, the identity (``"concat"``).

    Parameters
    ----------
    n_subspaces : int
        ``m``, the number of blocks.
    width : int
        ``k``, the width of each block.
    """

    #: Whether the aggregation has parameters, i.e. whether the head must return the
    #: gradient with respect to its input.
    trainable = False

    def __init__(self, n_subspaces, width):
        self.n_subspaces = n_subspaces
        self.width = width

    @property
    def output_width(self):
        return self.n_subspaces * self.width

    def parameters(self):
        """``[(name, shape, penalized), ...]``, in initialisation order."""
        return []

    def initialize(self, params, rng):
        """Fill the parameter views ``params`` in place, drawing from ``rng``."""

    def blocks(self, X):
        """The subspaces of ``X`` as views (no copy)."""
        k = self.width
        return [X[:, i * k : (i + 1) * k] for i in range(self.n_subspaces)]

    def forward(self, X, params):
        """``(H, cache)``: the aggregated rows and what :meth:`backward` needs."""
        return X, None

    def backward(self, cache, dH, params, grads):
        """Write the gradients of the parameters into ``grads`` (views), given dL/dH.

        ``cache`` is the second value :meth:`forward` returned; it may be overwritten.
        """


class Sum(Aggregation):
    """``H = sum_i s_i`` (no parameters)."""

    @property
    def output_width(self):
        return self.width

    def forward(self, X, params):
        blocks = self.blocks(X)
        H = blocks[0].copy()
        for block in blocks[1:]:
            H += block
        return H, None


class Weighted(Aggregation):
    """``H = sum_i w_i s_i`` with ``w = softmax(theta)``; ``theta`` starts at 0 (equal weights).

    ``theta`` is not penalised: like a bias it carries no scale (a softmax is unchanged by a
    shift of ``theta``), and a penalty would only pull the weights towards equal ones.
    """

    trainable = True

    @property
    def output_width(self):
        return self.width

    def parameters(self):
        return [("logits", (self.n_subspaces,), False)]

    def initialize(self, params, rng):
        params["logits"][:] = 0.0

    @staticmethod
    def weights(logits):
        """softmax(logits), computed stably."""
        e = np.exp(logits - logits.max())
        return e / e.sum()

    def forward(self, X, params):
        w = self.weights(params["logits"])
        blocks = self.blocks(X)
        H = np.multiply(blocks[0], w[0])
        for wi, block in zip(w[1:], blocks[1:]):
            H += wi * block
        return H, (X, w)

    def backward(self, cache, dH, params, grads):
        X, w = cache
        # dL/dw_i = <dH, s_i>; softmax backward: dtheta = w * (dw - <w, dw>)
        dw = np.array([np.einsum("ij,ij->", dH, block) for block in self.blocks(X)],
                      dtype=w.dtype)
        grads["logits"][:] = w * (dw - np.dot(w, dw))


class MLPSum(Aggregation):
    """``H = sum_i tanh(s_i W_i + b_i)``, one ``(k, k)`` matrix ``W_i`` per subspace.

    The paper's "MLP+sum" (a DeepSet whose per-element networks are not shared). The weights
    are penalised, the biases are not.
    """

    trainable = True

    @property
    def output_width(self):
        return self.width

    def parameters(self):
        m, k = self.n_subspaces, self.width
        return [("coef", (m, k, k), True), ("intercept", (m, k), False)]

    def initialize(self, params, rng):
        m, k = self.n_subspaces, self.width
        bound = glorot_bound(k, k)
        params["coef"][:] = rng.uniform(-bound, bound, (m, k, k))
        params["intercept"][:] = rng.uniform(-bound, bound, (m, k))

    def forward(self, X, params):
        coef, intercept = params["coef"], params["intercept"]
        n, m, k = X.shape[0], self.n_subspaces, self.width
        # Every activation is kept for the backward pass: T[i] = tanh(s_i W_i + b_i).
        T = np.empty((m, n, k), dtype=X.dtype)
        for i, block in enumerate(self.blocks(X)):
            np.matmul(block, coef[i], out=T[i])
            T[i] += intercept[i]
            np.tanh(T[i], out=T[i])
        return T.sum(axis=0), (X, T)

    def backward(self, cache, dH, params, grads):
        X, T = cache
        for i, block in enumerate(self.blocks(X)):
            # d tanh = 1 - tanh^2, computed in place in the cached activations.
            Ti = T[i]
            np.multiply(Ti, Ti, out=Ti)
            np.subtract(1.0, Ti, out=Ti)
            Ti *= dH
            np.matmul(block.T, Ti, out=grads["coef"][i])
            np.sum(Ti, axis=0, out=grads["intercept"][i])


class Attention(Aggregation):
    """One self-attention head over the subspaces as tokens, outputs summed over tokens.

    With tokens ``s_1..s_m`` (rows of width ``k``), ``q_i = s_i W_q``, ``k_i = s_i W_k``,
    ``v_i = s_i W_v`` and ``a_ij = softmax_j(q_i . k_j / sqrt(k))``, the output is
    ``H = sum_i sum_j a_ij v_j``. ``W_q, W_k, W_v`` (each ``(k, k)``, no biases) are stored
    side by side as one ``(k, 3k)`` matrix, so that the three projections are one matrix
    product. With one token the softmax is 1 and ``H = s_1 W_v``.
    """

    trainable = True

    @property
    def output_width(self):
        return self.width

    def parameters(self):
        k = self.width
        return [("qkv", (k, 3 * k), True)]

    def initialize(self, params, rng):
        k = self.width
        bound = glorot_bound(k, k)
        params["qkv"][:] = rng.uniform(-bound, bound, (k, 3 * k))

    def forward(self, X, params):
        n, m, k = X.shape[0], self.n_subspaces, self.width
        # (n*m, k) tokens, one matrix product for queries, keys and values.
        QKV = (X.reshape(n * m, k) @ params["qkv"]).reshape(n, m, 3 * k)
        Q, K, V = QKV[..., :k], QKV[..., k : 2 * k], QKV[..., 2 * k :]
        S = np.matmul(Q, K.transpose(0, 2, 1))
        S *= 1.0 / math.sqrt(k)
        S -= S.max(axis=2, keepdims=True)
        np.exp(S, out=S)
        S /= S.sum(axis=2, keepdims=True)  # attention a_ij, softmax over keys j
        c = S.sum(axis=1)  # c_j = sum_i a_ij: how much token j contributes in total
        H = np.matmul(c[:, None, :], V)[:, 0, :]
        return H, (X, QKV, S, c)

    def backward(self, cache, dH, params, grads):
        X, QKV, A, c = cache
        n, m, k = X.shape[0], self.n_subspaces, self.width
        Q, K, V = QKV[..., :k], QKV[..., k : 2 * k], QKV[..., 2 * k :]
        dQKV = np.empty_like(QKV)
        # H = sum_j c_j v_j
        np.multiply(c[:, :, None], dH[:, None, :], out=dQKV[..., 2 * k :])
        dc = np.matmul(V, dH[:, :, None])[:, :, 0]
        # c_j = sum_i a_ij, so dL/da_ij = dc_j; softmax backward over j, then the 1/sqrt(k).
        dS = A * (dc[:, None, :] - np.matmul(A, dc[:, :, None]))
        dS *= 1.0 / math.sqrt(k)
        np.matmul(dS, K, out=dQKV[..., :k])
        np.matmul(dS.transpose(0, 2, 1), Q, out=dQKV[..., k : 2 * k])
        np.matmul(X.reshape(n * m, k).T, dQKV.reshape(n * m, 3 * k), out=grads["qkv"])


AGGREGATIONS = {
    "concat": Aggregation,
    "sum": Sum,
    "weighted": Weighted,
    "mlp_sum": MLPSum,
    "attention": Attention,
}
