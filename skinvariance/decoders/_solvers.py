"""The two optimisers: Adam on minibatches with early stopping, and full-batch L-BFGS.

Both follow scikit-learn's MLP: the same Adam (``beta_1=0.9``, ``beta_2=0.999``,
``epsilon=1e-8``), the same stopping rule (stop once the validation score, or without early
stopping the training loss, has not improved by ``tol`` for more than ``n_iter_no_change``
consecutive epochs), the same L-BFGS call (``gtol=tol``, ``maxiter=max_iter``). One
difference, taken from scikit-learn's ``LogisticRegression``: L-BFGS stops on the relative
decrease of the loss only below ``64 * eps`` of the parameters' dtype, so that ``tol`` decides.
"""

import math
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import minimize
from sklearn.utils import gen_batches

#: L-BFGS evaluates the loss at most this many times (scikit-learn's ``max_fun`` default),
#: or 10 times ``max_iter`` if that is more.
MAX_FUN = 15_000


@dataclass
class History:
    """What a solver reports back: the estimator turns it into fitted attributes."""

    loss_curve: list = field(default_factory=list)
    n_iter: int = 0
    converged: bool = False
    message: str = ""
    validation_scores: list | None = None
    best_validation_score: float | None = None
    best_loss: float | None = None


class Adam:
    """Adam (Kingma and Ba, 2014) on one flat parameter vector, updated in place."""

    def __init__(self, size, dtype, learning_rate, beta_1=0.9, beta_2=0.999, epsilon=1e-8):
        self.learning_rate = learning_rate
        self.beta_1, self.beta_2, self.epsilon = beta_1, beta_2, epsilon
        self.t = 0
        self.ms = np.zeros(size, dtype=dtype)
        self.vs = np.zeros(size, dtype=dtype)
        self._step = np.empty(size, dtype=dtype)

    def update(self, coef, grad):
        """One step: ``coef -= lr_t * m_t / (sqrt(v_t) + epsilon)``."""
        self.t += 1
        b1, b2, step = self.beta_1, self.beta_2, self._step
        lr = self.learning_rate * math.sqrt(1.0 - b2**self.t) / (1.0 - b1**self.t)
        self.ms *= b1
        np.multiply(grad, 1.0 - b1, out=step)
        self.ms += step
        self.vs *= b2
        np.multiply(grad, grad, out=step)
        step *= 1.0 - b2
        self.vs += step
        np.sqrt(self.vs, out=step)
        step += self.epsilon
        np.divide(self.ms, step, out=step)
        step *= -lr
        coef += step


def fit_adam(network, X, target, *, learning_rate_init, batch_size, max_iter, tol,
             n_iter_no_change, rng, validation_score=None):
    """Train ``network`` with Adam on shuffled minibatches of ``(X, target)``.

    ``validation_score(network) -> float`` (higher is better) turns early stopping on: the
    parameters of the best epoch are restored at the end. Returns a :class:`History`.
    """
    n = X.shape[0]
    optimizer = Adam(network.layout.size, network.dtype, learning_rate_init)
    order = np.arange(n)
    batch = np.empty((min(batch_size, n), X.shape[1]), dtype=X.dtype)
    history = History()
    early_stopping = validation_score is not None
    if early_stopping:
        history.validation_scores, history.best_validation_score = [], -np.inf
        best_coef = network.coef.copy()
    else:
        history.best_loss = np.inf
    no_improvement = 0
    for _ in range(max_iter):
        rng.shuffle(order)
        accumulated = 0.0
        for rows in gen_batches(n, batch_size):
            idx = order[rows]
            X_batch = np.take(X, idx, axis=0, out=batch[: len(idx)])
            accumulated += network.loss_grad(X_batch, target[idx]) * len(idx)
            optimizer.update(network.coef, network.grad)
        history.n_iter += 1
        history.loss_curve.append(accumulated / n)
        if early_stopping:
            score = validation_score(network)
            history.validation_scores.append(score)
            improved = score >= history.best_validation_score + tol
            if score > history.best_validation_score:
                history.best_validation_score = score
                best_coef[:] = network.coef
        else:
            loss = history.loss_curve[-1]
            improved = loss <= history.best_loss - tol
            history.best_loss = min(history.best_loss, loss)
        no_improvement = 0 if improved else no_improvement + 1
        if no_improvement > n_iter_no_change:
            history.converged = True
            break
    if early_stopping:
        network.coef[:] = best_coef
    return history


def fit_lbfgs(network, X, target, *, max_iter, tol):
    """Train ``network`` on all of ``(X, target)`` with scipy's L-BFGS-B.

    scipy works in float64; a float32 network computes in float32 and its gradient is cast.
    Returns a :class:`History` whose loss curve has the loss after each iteration.
    """
    last = {}

    def loss_and_gradient(x):
        np.copyto(network.coef, x, casting="same_kind")
        loss = network.loss_grad(X, target)
        last["x"], last["loss"] = x.copy(), loss
        return loss, network.grad.astype(np.float64)

    history = History()

    def record(xk):
        if not np.array_equal(xk, last["x"]):  # not the last point evaluated: evaluate it
            loss_and_gradient(xk)
        history.loss_curve.append(last["loss"])

    result = minimize(
        loss_and_gradient,
        network.coef.astype(np.float64),
        method="L-BFGS-B",
        jac=True,
        callback=record,
        options={
            "maxiter": max_iter,
            "maxfun": max(MAX_FUN, 10 * max_iter),
            "gtol": tol,
            "ftol": 64 * np.finfo(network.dtype).eps,
        },
    )
    np.copyto(network.coef, result.x, casting="same_kind")
    history.n_iter = int(result.nit)
    history.converged = result.status == 0
    history.message = str(result.message)
    history.best_loss = float(result.fun)
    return history
