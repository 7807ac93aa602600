"""ProductClassifier and ProductRegressor: a learned aggregation and a head, trained jointly."""

import math
import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import r2_score
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from .._compat import StrOptions, _fit_context
from .._constraints import RANDOM_STATE, NumberInterval
from .._validation import check_target
from ._aggregations import AGGREGATIONS, Weighted
from ._classes import LogitsClassifierMixin
from ._docs import docstring
from ._network import Network
from ._solvers import fit_adam, fit_lbfgs

#: ``validation_fraction`` of the rows, but never fewer than this, is held out for early
#: stopping.
MIN_VALIDATION_ROWS = 2

#: ``solver="auto"`` trains by full-batch L-BFGS up to this many rows, by Adam with early
#: stopping above (see the Notes of the decoders).
AUTO_LBFGS_MAX_SAMPLES = 1_000


class _BaseProductDecoder(BaseEstimator):
    """Validation, training loop and fitted attributes shared by both decoders."""

    _parameter_constraints = {
        "n_subspaces": [NumberInterval(Integral, 1, None, closed="left")],
        "aggregate": [StrOptions(set(AGGREGATIONS))],
        "hidden_layer_sizes": ["array-like", NumberInterval(Integral, 1, None, closed="left")],
        "alpha": [NumberInterval(Real, 0, None, closed="left")],
        "solver": [StrOptions({"auto", "adam", "lbfgs"})],
        "batch_size": [StrOptions({"auto"}), NumberInterval(Integral, 1, None, closed="left")],
        "learning_rate_init": [NumberInterval(Real, 0, None, closed="neither")],
        "max_iter": [NumberInterval(Integral, 1, None, closed="left")],
        "early_stopping": ["boolean"],
        "validation_fraction": [NumberInterval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [NumberInterval(Integral, 1, None, closed="left")],
        "tol": [NumberInterval(Real, 0, None, closed="left")],
        "random_state": RANDOM_STATE,
    }

    def __init__(
        self,
        n_subspaces=1,
        *,
        aggregate="mlp_sum",
        hidden_layer_sizes=(),
        alpha=1.0,
        solver="auto",
        batch_size="auto",
        learning_rate_init=1e-3,
        max_iter=500,
        early_stopping=True,
        validation_fraction=0.1,
        n_iter_no_change=10,
        tol=1e-4,
        random_state=None,
    ):
        self.n_subspaces = n_subspaces
        self.aggregate = aggregate
        self.hidden_layer_sizes = hidden_layer_sizes
        self.alpha = alpha
        self.solver = solver
        self.batch_size = batch_size
        self.learning_rate_init = learning_rate_init
        self.max_iter = max_iter
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.random_state = random_state

    # -- validation -------------------------------------------------------------------------

    def _checked_hidden_layer_sizes(self):
        sizes = self.hidden_layer_sizes
        sizes = [sizes] if isinstance(sizes, Integral) else list(sizes)
        if not all(isinstance(s, Integral) and not isinstance(s, bool) and s >= 1
                   for s in sizes):
            raise ValueError(
                f"The 'hidden_layer_sizes' parameter of {type(self).__name__} must be an int "
                "or a sequence of ints, each >= 1 (an empty sequence for a linear head). "
                f"Got {self.hidden_layer_sizes!r} instead."
            )
        return tuple(int(s) for s in sizes)

    def _checked_subspace_width(self, n_features):
        if n_features % self.n_subspaces:
            raise ValueError(
                f"The 'n_subspaces' parameter of {type(self).__name__} must divide the number "
                f"of features of X into blocks of equal width: got n_subspaces="
                f"{self.n_subspaces} for X with {n_features} features."
            )
        return n_features // self.n_subspaces

    def _validation_split(self, n_samples, codes, rng):
        """Row indices ``(train, validation)`` for early stopping."""
        n_validation = max(MIN_VALIDATION_ROWS, math.ceil(self.validation_fraction * n_samples))
        if n_samples - n_validation < 1:
            raise ValueError(
                f"early_stopping=True holds out validation_fraction={self.validation_fraction}"
                f" of the rows, at least {MIN_VALIDATION_ROWS}, which leaves no training rows"
                f" with n_samples={n_samples}; set early_stopping=False or use solver='lbfgs'."
            )
        stratify = None
        if codes is not None:
            counts = np.bincount(codes)
            n_classes = len(counts)
            if counts.min() >= 2 and min(n_validation, n_samples - n_validation) >= n_classes:
                stratify = codes
        return train_test_split(
            np.arange(n_samples), test_size=n_validation, random_state=rng, stratify=stratify
        )

    # -- training ---------------------------------------------------------------------------

    def _fit(self, X, y):
        X, y = validate_data(
            self, X, y, dtype=[np.float64, np.float32], order="C",
            multi_output=not self._is_classifier, y_numeric=False,
        )
        # The package's one check of a target (mixed types, a single class, strings to
        # regress), naming y; then numbers for a regressor.
        y = check_target(y, X.shape[0], classification=self._is_classifier, rows_of="X has")
        if not self._is_classifier:
            y = y.astype(np.float64, copy=False)
        hidden_layer_sizes = self._checked_hidden_layer_sizes()
        width = self._checked_subspace_width(X.shape[1])
        target, codes, n_outputs, loss = self._encode_target(y, X.dtype)
        rng = check_random_state(self.random_state)
        network = Network(self.aggregate, self.n_subspaces, width, hidden_layer_sizes,
                          n_outputs, loss, self.alpha, X.dtype)
        coef = network.initial_coef(rng)
        solver = self._solver_for(X.shape[0])
        # No thread limit of its own, as scikit-learn's MLP: inside an evaluation the stitching
        # tasks run each fit under one BLAS thread (skinvariance._parallel).
        if solver == "lbfgs":
            history = fit_lbfgs(network, coef, X, target, max_iter=self.max_iter, tol=self.tol)
        else:
            history = self._fit_adam(network, coef, X, y, target, codes, rng)
        self.solver_ = solver
        self._warn_if_not_converged(history)
        self._set_fitted(network, coef, history, width)
        return self

    def _solver_for(self, n_samples):
        if self.solver != "auto":
            return self.solver
        return "lbfgs" if n_samples <= AUTO_LBFGS_MAX_SAMPLES else "adam"

    def _fit_adam(self, network, coef, X, y, target, codes, rng):
        validation_score = None
        if self.early_stopping:
            train, held_out = self._validation_split(X.shape[0], codes, rng)
            X_held_out, y_held_out = X[held_out], y[held_out]
            X, target = X[train], target[train]

            def validation_score(coef):
                Z = network.decision(X_held_out, network.layout.views(coef))
                return self._score_decision(Z, y_held_out)

        n_samples = X.shape[0]
        batch_size = min(200, n_samples) if self.batch_size == "auto" else self.batch_size
        return fit_adam(
            network, coef, X, target, learning_rate_init=self.learning_rate_init,
            batch_size=min(batch_size, n_samples), max_iter=self.max_iter, tol=self.tol,
            n_iter_no_change=self.n_iter_no_change, rng=rng,
            validation_score=validation_score,
        )

    def _warn_if_not_converged(self, history):
        if history.converged:
            return
        if self.solver_ == "lbfgs" and history.n_iter >= self.max_iter:
            message = (
                f"lbfgs reached max_iter={self.max_iter} iterations before the projected "
                f"gradient fell below tol={self.tol}. Increase max_iter or tol."
            )
        elif self.solver_ == "lbfgs":
            message = (
                f"lbfgs stopped after {history.n_iter} iterations before the projected "
                f"gradient fell below tol={self.tol} (scipy: {history.message.strip()}); "
                "the loss may not decrease further at this precision: increase tol."
            )
        else:
            criterion = "validation score" if self.early_stopping else "training loss"
            message = (
                f"Adam reached max_iter={self.max_iter} epochs and the {criterion} still "
                f"improved by more than tol={self.tol} within the last n_iter_no_change="
                f"{self.n_iter_no_change} epochs: the optimisation has not converged yet."
            )
        warnings.warn(f"{type(self).__name__}: {message}", ConvergenceWarning, stacklevel=5)

    def _set_fitted(self, network, coef, history, width):
        # The network is the structure (shapes, loss) only: the parameters are the public
        # attributes below, views into the trained vector, and prediction reads them.
        self._network = network
        self.n_subspaces_, self.subspace_width_ = self.n_subspaces, width
        self.loss_curve_ = [float(v) for v in history.loss_curve]
        self.n_iter_ = history.n_iter
        self.loss_ = history.best_loss if self.solver_ == "lbfgs" else self.loss_curve_[-1]
        self.validation_scores_ = history.validation_scores
        self.best_validation_score_ = history.best_validation_score
        params = network.layout.views(coef)
        n_layers = network.head.n_layers
        self.coefs_ = [params.pop(f"coef_{i}") for i in range(n_layers)]
        self.intercepts_ = [params.pop(f"intercept_{i}") for i in range(n_layers)]
        if "qkv" in params:
            query, key, value = np.split(params.pop("qkv"), 3, axis=1)
            params.update(query=query, key=key, value=value)
        self.aggregation_params_ = params

    # Computed from the fitted parameters, so that it follows edits of them. No docstring:
    # the Attributes section documents it (numpydoc would otherwise link to a missing page).
    @property
    def aggregation_weights_(self):
        if self.aggregate == "weighted":
            return Weighted.weights(self.aggregation_params_["logits"])
        if self.aggregate == "sum":
            return np.ones(self.n_subspaces_, dtype=self._network.dtype)
        return None

    # -- prediction -------------------------------------------------------------------------

    def _parameters(self):
        """The network's parameters by name, read from the fitted attributes (not copied,
        except attention's query, key and value, side by side as the pass reads them)."""
        params = dict(self.aggregation_params_)
        if "query" in params:
            params["qkv"] = np.hstack([params.pop(name) for name in ("query", "key", "value")])
        for i, (coef, intercept) in enumerate(zip(self.coefs_, self.intercepts_)):
            params[f"coef_{i}"], params[f"intercept_{i}"] = coef, intercept
        return params

    def _decision(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, dtype=[np.float64, np.float32], order="C", reset=False)
        network = self._network
        return network.decision(X.astype(network.dtype, copy=False), self._parameters())


class ProductClassifier(ClassifierMixin, LogitsClassifierMixin, _BaseProductDecoder):
    __doc__ = docstring("""Classifier on the product space with a learned aggregation.

    The columns of ``X`` are ``n_subspaces`` relative subspaces side by side (the output of
    :class:`~skinvariance.ProductProjection` with ``aggregate="concat"``). The aggregation
    (``aggregate``) and a head (linear, or an MLP with ``hidden_layer_sizes``) are trained
    jointly to minimise the cross-entropy (softmax over the classes; one logistic output for
    two classes, as scikit-learn's MLP) plus an L2 penalty. The forward and backward passes
    are NumPy matrix products.

    Parameters
    ----------
    {parameters}

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels.
    {attributes}

    See Also
    --------
    ProductRegressor : The same for regression and reconstruction.
    skinvariance.ProductProjection : The product space it reads.
    sklearn.neural_network.MLPClassifier : The MLP whose parameters it shares.

    Notes
    -----
    With ``aggregate="concat"``, a linear head and ``solver="lbfgs"``, the model is
    multinomial (binary: plain) logistic regression, and with ``alpha = 1 / C`` it has the
    optimum of :class:`~sklearn.linear_model.LogisticRegression` with that ``C``: the
    penalised mean loss times ``n_samples / alpha`` is ``C * sum of losses + ||W||^2 / 2``.
    With the defaults (L-BFGS up to 1,000 rows, ``alpha=1``) it is
    ``LogisticRegression()``, to the tolerance; use that for a linear probe.

    *Defaults.* Up to 1,000 rows ``solver="auto"`` trains by L-BFGS to convergence, as
    scikit-learn advises for small data: minibatch Adam takes a few steps per epoch there
    and stops early before it has learned, and on the model zoos and synthetic spaces
    measured (:ref:`learned_aggregation`) L-BFGS fits most aggregations better, though
    slower. Above, Adam's many steps per pass over the rows win (from about 1,000 rows its
    product rows stitch as well, at a tenth of the time or less), and early stopping keeps
    the best epoch. ``alpha=1`` is the regularisation of scikit-learn's linear models.

    *Orientation.* Cosine is a similarity and euclidean, L1 and L∞ are distances. After
    per-sample standardisation, a cosine subspace and a distance subspace of the same
    anchors are strongly anti-correlated, so ``"sum"``, ``"weighted"`` (positive weights)
    and ``"attention"`` (one value map shared by all tokens) cancel them: negate the distance
    subspaces first, as :class:`~skinvariance.ProductProjection` does by default
    (``orient=True``). ``"concat"`` and ``"mlp_sum"`` (a matrix per subspace) can learn the
    sign themselves.

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from sklearn.model_selection import train_test_split
    >>> from sklearn.pipeline import make_pipeline
    >>> from skinvariance import ProductClassifier, ProductProjection
    >>> X, y = make_classification(n_samples=1000, n_features=10, n_informative=6,
    ...                            n_classes=3, random_state=0)
    >>> X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
    >>> model = make_pipeline(
    ...     ProductProjection(["cosine", "euclidean"], n_anchors=30, random_state=0),
    ...     ProductClassifier(n_subspaces=2, aggregate="mlp_sum", random_state=0),
    ... )
    >>> round(model.fit(X_train, y_train).score(X_test, y_test), 1)
    0.8
    >>> model.predict_proba(X_test[:2]).sum(axis=1)
    array([1., 1.])
    >>> model[-1].solver_                   # solver="auto" on 750 rows
    'lbfgs'
    """)

    _is_classifier = True

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Fit the aggregation and the head to ``(X, y)``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The product space: ``n_subspaces`` blocks of equal width, side by side.
        y : array-like of shape (n_samples,)
            Class labels (at least two classes).

        Returns
        -------
        self : ProductClassifier
        """
        return self._fit(X, y)

    def _encode_target(self, y, dtype):
        check_classification_targets(y)
        self.classes_, codes = np.unique(y, return_inverse=True)  # 2 or more (check_target)
        if len(self.classes_) == 2:
            return codes.astype(dtype).reshape(-1, 1), codes, 1, "binary"
        return codes, codes, len(self.classes_), "multinomial"

    def _score_decision(self, Z, y):
        return float(np.mean(self._classes_from_decision(Z) == y))


class ProductRegressor(RegressorMixin, _BaseProductDecoder):
    __doc__ = docstring("""Regressor on the product space with a learned aggregation.

    The columns of ``X`` are ``n_subspaces`` relative subspaces side by side (the output of
    :class:`~skinvariance.ProductProjection` with ``aggregate="concat"``). The aggregation
    (``aggregate``) and a head (linear, or an MLP with ``hidden_layer_sizes``) are trained
    jointly to minimise half the squared error (summed over outputs, averaged over rows)
    plus an L2 penalty. Targets may have several columns, e.g. the inputs to reconstruct.

    Parameters
    ----------
    {parameters}

    Attributes
    ----------
    n_outputs_ : int
        Number of target columns.
    {attributes}

    See Also
    --------
    ProductClassifier : The same for classification.
    skinvariance.ProductProjection : The product space it reads.
    sklearn.neural_network.MLPRegressor : The MLP whose parameters it shares.

    Notes
    -----
    With ``aggregate="concat"``, a linear head and ``solver="lbfgs"``, the model is ridge
    regression: the penalised loss times ``2 n_samples`` is
    ``||y - X W - b||^2 + alpha ||W||^2``, :class:`~sklearn.linear_model.Ridge`'s objective
    with the same ``alpha``; with the defaults it is ``Ridge()``, to the tolerance. For one
    output the loss is scikit-learn's MLP loss; for several, scikit-learn's MLP reports the
    mean over outputs but follows the gradient of the sum, which is what is minimised (and
    reported) here. The defaults are those of :class:`ProductClassifier`, for its reasons.

    *Orientation*: as for :class:`ProductClassifier`, ``"sum"``, ``"weighted"`` and
    ``"attention"`` need subspaces oriented alike.

    Examples
    --------
    >>> from sklearn.datasets import make_regression
    >>> from sklearn.model_selection import train_test_split
    >>> from sklearn.pipeline import make_pipeline
    >>> from skinvariance import ProductProjection, ProductRegressor
    >>> X, y = make_regression(n_samples=400, n_features=8, n_targets=2, noise=1.0,
    ...                        random_state=0)
    >>> X_train, X_test, y_train, y_test = train_test_split(X, y / 100, random_state=0)
    >>> model = make_pipeline(
    ...     ProductProjection(["cosine", "euclidean"], n_anchors=30, random_state=0),
    ...     ProductRegressor(n_subspaces=2, aggregate="mlp_sum", random_state=0),
    ... )
    >>> model.fit(X_train, y_train).predict(X_test).shape
    (100, 2)
    >>> model.score(X_test, y_test)          # R², averaged over the two targets
    0.99...
    """)

    _is_classifier = False

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Fit the aggregation and the head to ``(X, y)``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The product space: ``n_subspaces`` blocks of equal width, side by side.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets.

        Returns
        -------
        self : ProductRegressor
        """
        return self._fit(X, y)

    def _encode_target(self, y, dtype):
        target = np.asarray(y, dtype=dtype).reshape(y.shape[0], -1)
        self.n_outputs_ = target.shape[1]
        return target, None, self.n_outputs_, "squared"

    def _score_decision(self, Z, y):
        return float(r2_score(y, Z[:, 0] if y.ndim == 1 else Z))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    def predict(self, X):
        """Predicted targets.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            One column is returned as a 1-D array, as scikit-learn's MLP does.
        """
        Z = self._decision(X)
        return Z[:, 0] if self.n_outputs_ == 1 else Z
