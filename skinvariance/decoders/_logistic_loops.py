"""Compiled loss and gradient of multinomial (and binary) logistic regression.

One L-BFGS evaluation needs the logits ``X @ W.T`` and the gradient ``G.T @ X``: two matrix
products with one thin side (the classes). BLAS packs the whole of ``X`` for each of them and
runs its kernels on ten-wide edges, at a third of its speed on square products; both are read
from memory on every evaluation. These loops read ``X`` once per evaluation instead, in tiles
of ``TILE`` rows that stay in cache between the logits and the gradient, four rows and two
classes at a time.

Rows are cut into at most ``MAX_CHUNKS`` chunks of whole tiles (at least ``MIN_CHUNK_TILES``
tiles each, when there are enough), fixed by the number of rows alone; each chunk sums its
gradient in the input's dtype (as a BLAS product does over its rows) and the chunks are added
in float64, in order. Threads take whole chunks, so the result does not depend on the number
of threads, which may change from one evaluation to the next (a fit in a batch of fits
borrows the batch's idle threads, :func:`~skinvariance._parallel.spare_threads`). The loops
release the GIL and are cached on disk (no ``parallel=True``). The inputs are finite
(validated before), so the fast-math subset below only lets LLVM vectorise the sums; ``nnan``
and ``ninf`` are left out.
"""

import numba
import numpy as np

from .._parallel import run_parts, spare_threads, split_rows

__all__ = ["MAX_CHUNKS", "MIN_CHUNK_TILES", "TILE", "LogisticLoss", "chunk_bounds"]

TILE = 128
MAX_CHUNKS = 16
#: A chunk holds at least this many tiles (all the rows when there are fewer): fewer partial
#: gradients to add up at every evaluation on small data.
MIN_CHUNK_TILES = 4

_JIT = dict(nogil=True, cache=True, fastmath={"contract", "reassoc"})


@numba.njit(**_JIT)
def _logits(X, W, b, start, stop, Z):  # pragma: no cover - compiled
    """``Z[:stop - start] = X[start:stop] @ W.T + b``, four rows by two classes at a time."""
    n_classes, n_features = W.shape
    zero = X.dtype.type(0)
    i = start
    while i < stop:
        rows = min(4, stop - i)
        if rows < 4:  # the tile's last rows, one at a time
            for k in range(n_classes):
                acc = zero
                for j in range(n_features):
                    acc += X[i, j] * W[k, j]
                Z[i - start, k] = acc + b[k]
            i += 1
            continue
        for k in range(0, n_classes - 1, 2):
            a0 = zero
            a1 = zero
            a2 = zero
            a3 = zero
            c0 = zero
            c1 = zero
            c2 = zero
            c3 = zero
            for j in range(n_features):
                w = W[k, j]
                v = W[k + 1, j]
                x0 = X[i, j]
                x1 = X[i + 1, j]
                x2 = X[i + 2, j]
                x3 = X[i + 3, j]
                a0 += x0 * w
                a1 += x1 * w
                a2 += x2 * w
                a3 += x3 * w
                c0 += x0 * v
                c1 += x1 * v
                c2 += x2 * v
                c3 += x3 * v
            r = i - start
            Z[r, k] = a0 + b[k]
            Z[r + 1, k] = a1 + b[k]
            Z[r + 2, k] = a2 + b[k]
            Z[r + 3, k] = a3 + b[k]
            Z[r, k + 1] = c0 + b[k + 1]
            Z[r + 1, k + 1] = c1 + b[k + 1]
            Z[r + 2, k + 1] = c2 + b[k + 1]
            Z[r + 3, k + 1] = c3 + b[k + 1]
        if n_classes % 2:
            k = n_classes - 1
            a0 = zero
            a1 = zero
            a2 = zero
            a3 = zero
            for j in range(n_features):
                w = W[k, j]
                a0 += X[i, j] * w
                a1 += X[i + 1, j] * w
                a2 += X[i + 2, j] * w
                a3 += X[i + 3, j] * w
            r = i - start
            Z[r, k] = a0 + b[k]
            Z[r + 1, k] = a1 + b[k]
            Z[r + 2, k] = a2 + b[k]
            Z[r + 3, k] = a3 + b[k]
        i += 4


@numba.njit(**_JIT)
def _add_gradient(X, G, start, stop, grad):  # pragma: no cover - compiled
    """``grad += G[:stop - start].T @ X[start:stop]``, four rows by two classes at a time."""
    n_classes, n_features = grad.shape
    i = start
    while i < stop:
        rows = min(4, stop - i)
        r = i - start
        if rows < 4:
            for k in range(n_classes):
                g = G[r, k]
                for j in range(n_features):
                    grad[k, j] += g * X[i, j]
            i += 1
            continue
        for k in range(0, n_classes - 1, 2):
            g0 = G[r, k]
            g1 = G[r + 1, k]
            g2 = G[r + 2, k]
            g3 = G[r + 3, k]
            h0 = G[r, k + 1]
            h1 = G[r + 1, k + 1]
            h2 = G[r + 2, k + 1]
            h3 = G[r + 3, k + 1]
            for j in range(n_features):
                x0 = X[i, j]
                x1 = X[i + 1, j]
                x2 = X[i + 2, j]
                x3 = X[i + 3, j]
                grad[k, j] += g0 * x0 + g1 * x1 + g2 * x2 + g3 * x3
                grad[k + 1, j] += h0 * x0 + h1 * x1 + h2 * x2 + h3 * x3
        if n_classes % 2:
            k = n_classes - 1
            g0 = G[r, k]
            g1 = G[r + 1, k]
            g2 = G[r + 2, k]
            g3 = G[r + 3, k]
            for j in range(n_features):
                grad[k, j] += g0 * X[i, j] + g1 * X[i + 1, j] + g2 * X[i + 2, j] + g3 * X[i + 3, j]
        i += 4


@numba.njit(**_JIT)
def _pointwise(Z, rows, y, sample_weight, binary):  # pragma: no cover - compiled
    """Turn the logits ``Z[:rows]`` into the loss's pointwise gradient, in place; return the
    rows' weighted loss (float64).

    Binary: one logit ``z`` per row, loss ``log(1 + exp(z)) - y z``, gradient
    ``expit(z) - y``. Multinomial: loss ``logsumexp(z) - z[y]``, gradient
    ``softmax(z) - onehot(y)``. Exponentials are taken in float64 of ``z - max(z)``.
    """
    total = 0.0
    for r in range(rows):
        sw = sample_weight[r]
        if binary:
            z = np.float64(Z[r, 0])
            if z > 0:
                e = np.exp(-z)
                loss = z + np.log1p(e) - y[r] * z
                p = 1.0 / (1.0 + e)
            else:
                e = np.exp(z)
                loss = np.log1p(e) - y[r] * z
                p = e / (1.0 + e)
            total += sw * loss
            Z[r, 0] = sw * (p - y[r])
            continue
        label = int(y[r])
        top = np.float64(Z[r, 0])
        for k in range(1, Z.shape[1]):
            top = max(top, np.float64(Z[r, k]))
        total += sw * (top - np.float64(Z[r, label]))
        norm = 0.0
        for k in range(Z.shape[1]):
            e = np.exp(np.float64(Z[r, k]) - top)
            norm += e
            Z[r, k] = e  # kept for the probabilities: one exponential per logit
        total += sw * np.log(norm)
        for k in range(Z.shape[1]):
            Z[r, k] = sw * (Z[r, k] / norm - (1.0 if k == label else 0.0))
    return total


@numba.njit(**_JIT)
def _chunks(X, W, b, y, sample_weight, binary, bounds, first, last, grad, grad_b,
            loss):  # pragma: no cover - compiled
    """Chunks ``first..last - 1``: each one's gradient, intercept gradient and loss in its slot."""
    Z = np.empty((TILE, W.shape[0]), dtype=X.dtype)
    for c in range(first, last):
        grad[c] = 0
        grad_b[c] = 0
        total = 0.0
        for start in range(bounds[c], bounds[c + 1], TILE):
            stop = min(start + TILE, bounds[c + 1])
            _logits(X, W, b, start, stop, Z)
            total += _pointwise(Z, stop - start, y[start:stop], sample_weight[start:stop], binary)
            _add_gradient(X, Z, start, stop, grad[c])
            for r in range(stop - start):
                for k in range(W.shape[0]):
                    grad_b[c, k] += Z[r, k]
        loss[c] = total


def chunk_bounds(n_samples):
    """Row bounds of the chunks, by the rows alone: at most ``MAX_CHUNKS`` of whole tiles, of
    at least ``MIN_CHUNK_TILES`` tiles each when there are enough."""
    n_tiles = -(-n_samples // TILE)
    n_chunks = max(1, min(MAX_CHUNKS, n_tiles // MIN_CHUNK_TILES))
    tiles = np.linspace(0, n_tiles, n_chunks + 1).astype(np.int64)
    return np.minimum(tiles * TILE, n_samples)


class LogisticLoss:
    """The sum of the weighted losses of fixed ``(X, y, sample_weight)`` and its gradient, at
    any ``(W, b)``: the function L-BFGS-B evaluates, its chunks, threads and buffers set once.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        C-contiguous, float32 or float64, finite.
    y : ndarray of shape (n_samples,)
        Float64: the positive class's indicator (binary) or the class index.
    sample_weight : ndarray of shape (n_samples,)
        Float64.
    n_outputs : int
        Rows of ``W``: one for a binary model, one per class otherwise.
    binary : bool
    n_threads : int
        Threads to run the chunks on (the result does not depend on it).
    borrow : bool, default=False
        Whether each evaluation may also run on the idle threads of the batch of fits this
        one belongs to (:func:`~skinvariance._parallel.spare_threads`).
    """

    def __init__(self, X, y, sample_weight, *, n_outputs, binary, n_threads, borrow=False):
        self.X, self.y, self.sample_weight, self.binary = X, y, sample_weight, binary
        self.bounds = chunk_bounds(X.shape[0])
        n_chunks = len(self.bounds) - 1
        self._grad = np.empty((n_chunks, n_outputs, X.shape[1]), dtype=X.dtype)
        self._grad_b = np.empty((n_chunks, n_outputs))
        self._loss = np.empty(n_chunks)
        self._n_threads = min(n_threads, n_chunks)
        self._n_borrowable = n_chunks - self._n_threads if borrow else 0
        # the chunks' parts for each number of threads, made when first needed
        self._parts = {}

    def _parts_on(self, n_threads):
        parts = self._parts.get(n_threads)
        if parts is None:
            parts = self._parts[n_threads] = split_rows(len(self.bounds) - 1, n_threads,
                                                        min_rows=1)
        return parts

    def __call__(self, W, b):
        """Loss and gradient at ``(W, b)`` (both in ``X``'s dtype), computed in ``X``'s
        dtype within each chunk and added up in float64.

        Returns
        -------
        loss : float
        grad_W : ndarray of shape (n_outputs, n_features), float64
        grad_b : ndarray of shape (n_outputs,), float64
        """
        def run(part):
            _chunks(self.X, W, b, self.y, self.sample_weight, self.binary, self.bounds,
                    part.start, part.stop, self._grad, self._grad_b, self._loss)

        with spare_threads(self._n_borrowable) as n_lent:
            run_parts(run, self._parts_on(self._n_threads + n_lent))
        return (float(self._loss.sum()), self._grad.sum(axis=0, dtype=np.float64),
                self._grad_b.sum(axis=0))
