"""The two optimisers: Adam on minibatches with early stopping, and full-batch L-BFGS.

Both work on a flat parameter vector ``coef``, updated in place, and follow scikit-learn's
MLP: Adam with its constants (``beta_1=0.9``, ``beta_2=0.999``, ``epsilon=1e-8``), the same
stopping rule (stop once the validation score, or without early
stopping the training loss, has not improved by ``tol`` for more than ``n_iter_no_change``
consecutive epochs), the same L-BFGS call (``gtol=tol``, ``maxiter=max_iter``). One
difference, taken from scikit-learn's ``LogisticRegression``: L-BFGS stops on the relative
decrease of the loss only below ``64 * eps`` of the parameters' dtype, so that ``tol`` decides.
And one from the MLP's Adam: the penalty of a minibatch is divided by the number of training
rows, not of the minibatch's, so that every minibatch estimates the objective L-BFGS minimises
and ``alpha`` means the same for both solvers.
"""

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
    """Adam (Kingma and Ba, 2014, Algorithm 1) on one flat parameter vector, in place.

    ``m_t = b1 m + (1 - b1) g``, ``v_t = b2 v + (1 - b2) g^2`` and
    ``coef -= lr * m_hat / (sqrt(v_hat) + epsilon)`` with the bias-corrected moments
    ``m_hat = m_t / (1 - b1^t)``, ``v_hat = v_t / (1 - b2^t)``. (scikit-learn folds the
    corrections into the step size, which moves ``epsilon`` by ``sqrt(1 - b2^t)``.)
    """

    def __init__(self, size, dtype, learning_rate, beta_1=0.9, beta_2=0.999, epsilon=1e-8):
        self.learning_rate = learning_rate
        self.beta_1, self.beta_2, self.epsilon = beta_1, beta_2, epsilon
        self.t = 0
        self.ms = np.zeros(size, dtype=dtype)
        self.vs = np.zeros(size, dtype=dtype)
        self._step = np.empty(size, dtype=dtype)

    def update(self, coef, grad):
        """One step of Algorithm 1 with the gradient ``grad`` at ``coef``."""
        self.t += 1
        b1, b2, step = self.beta_1, self.beta_2, self._step
        self.ms *= b1
        np.multiply(grad, 1.0 - b1, out=step)
        self.ms += step
        self.vs *= b2
        np.multiply(grad, grad, out=step)
        step *= 1.0 - b2
        self.vs += step
        # sqrt(v_hat) + epsilon, then m_hat over it, in the step buffer.
        np.multiply(self.vs, 1.0 / (1.0 - b2**self.t), out=step)
        np.sqrt(step, out=step)
        step += self.epsilon
        np.divide(self.ms, step, out=step)
        step *= -self.learning_rate / (1.0 - b1**self.t)
        coef += step


def fit_adam(network, coef, X, target, *, learning_rate_init, batch_size, max_iter, tol,
             n_iter_no_change, rng, validation_score=None):
    """Train ``network`` from the flat parameters ``coef`` (updated in place) with Adam on
    shuffled minibatches of ``(X, target)``.

    ``validation_score(coef) -> float`` (higher is better) turns early stopping on: the
    parameters of the best epoch are restored at the end. Returns a :class:`History`.
    """
    n = X.shape[0]
    optimizer = Adam(coef.size, coef.dtype, learning_rate_init)
    grad = np.empty_like(coef)
    order = np.arange(n)
    batch = np.empty((min(batch_size, n), X.shape[1]), dtype=X.dtype)
    history = History()
    early_stopping = validation_score is not None
    if early_stopping:
        history.validation_scores, history.best_validation_score = [], -np.inf
        best_coef = coef.copy()
    else:
        history.best_loss = np.inf
    no_improvement = 0
    for _ in range(max_iter):
        rng.shuffle(order)
        accumulated = 0.0
        for rows in gen_batches(n, batch_size):
            idx = order[rows]
            X_batch = np.take(X, idx, axis=0, out=batch[: len(idx)])
            loss = network.loss_grad(coef, X_batch, target[idx], grad, n_train=n)
            accumulated += loss * len(idx)
            optimizer.update(coef, grad)
        history.n_iter += 1
        history.loss_curve.append(accumulated / n)
        if early_stopping:
            score = validation_score(coef)
            history.validation_scores.append(score)
            improved = score >= history.best_validation_score + tol
            if score > history.best_validation_score:
                history.best_validation_score = score
                best_coef[:] = coef
        else:
            loss = history.loss_curve[-1]
            improved = loss <= history.best_loss - tol
            history.best_loss = min(history.best_loss, loss)
        no_improvement = 0 if improved else no_improvement + 1
        if no_improvement > n_iter_no_change:
            history.converged = True
            break
    if early_stopping:
        coef[:] = best_coef
    return history


def fit_lbfgs(network, coef, X, target, *, max_iter, tol):
    """Train ``network`` from the flat parameters ``coef`` (updated in place) on all of
    ``(X, target)`` with scipy's L-BFGS-B.

    scipy works in float64; a float32 network computes in float32 and its gradient is cast.
    Returns a :class:`History` whose loss curve has the loss after each iteration.
    """
    last = {}
    grad = np.empty_like(coef)

    def loss_and_gradient(x):
        np.copyto(coef, x, casting="same_kind")
        loss = network.loss_grad(coef, X, target, grad)
        last["x"], last["loss"] = x.copy(), loss
        return loss, grad.astype(np.float64)

    history = History()

    def record(xk):
        if not np.array_equal(xk, last["x"]):  # not the last point evaluated: evaluate it
            loss_and_gradient(xk)
        history.loss_curve.append(last["loss"])

    result = minimize(
        loss_and_gradient,
        coef.astype(np.float64),
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
    np.copyto(coef, result.x, casting="same_kind")
    history.n_iter = int(result.nit)
    history.converged = result.status == 0
    history.message = str(result.message)
    history.best_loss = float(result.fun)
    return history
