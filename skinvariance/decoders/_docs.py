"""The parameter and attribute sections the two decoders' docstrings share."""

_SHARED_PARAMETERS_DOC = """\
    n_subspaces : int, default=1
        ``m``, the number of equal-width blocks the columns of ``X`` are split into, in order:
        what :class:`~skinvariance.ProductProjection` with ``aggregate="concat"`` produces
        with ``m`` projections (one block of ``n_anchors`` columns per projection). It must
        divide the number of features. The default, 1, treats ``X`` as one subspace, so the
        estimator works on any input (``"mlp_sum"`` is then one tanh layer of the input's
        width).
    aggregate : {"concat", "sum", "weighted", "mlp_sum", "attention"}, default="mlp_sum"
        How the ``m`` subspaces ``s_1..s_m`` (each of width ``k``) are combined before the
        head:

        - ``"concat"``: ``[s_1, ..., s_m]`` (width ``m k``);
        - ``"sum"``: ``sum_i s_i``;
        - ``"weighted"``: ``sum_i w_i s_i`` with ``w = softmax(theta)``, ``theta`` learned
          from equal weights (``aggregation_weights_``);
        - ``"mlp_sum"``: ``sum_i tanh(s_i W_i + b_i)``, one ``(k, k)`` matrix per subspace,
          not shared (the paper's "MLP+sum");
        - ``"attention"``: the subspaces as ``m`` tokens of width ``k``, one self-attention
          head (learned ``(k, k)`` query, key and value maps, scaled dot-product softmax
          over tokens), its ``m`` outputs summed.

        ``"sum"``, ``"weighted"`` and ``"attention"`` add subspaces together: give them
        subspaces oriented alike (see Notes).
    hidden_layer_sizes : int or tuple of int, default=()
        The head after the aggregation: ``()`` is linear; otherwise the widths of its ReLU
        hidden layers, as in :class:`~sklearn.neural_network.MLPClassifier`.
    alpha : float, default=1.0
        Strength of the L2 penalty on the weight matrices (of the head and of the
        aggregation; not on biases or the logits of ``"weighted"``):
        ``0.5 * alpha * ||W||^2 / n_train`` is added to the mean loss over the ``n_train``
        training rows, so that ``alpha`` is ``1 / C`` of
        :class:`~sklearn.linear_model.LogisticRegression` and the ``alpha`` of
        :class:`~sklearn.linear_model.Ridge` (the default, 1, is theirs). Adam divides by
        ``n_train`` too, not by the rows of the minibatch as scikit-learn's MLP does.
    solver : {"auto", "lbfgs", "adam"}, default="auto"
        ``"lbfgs"``: full-batch L-BFGS (scipy) to convergence; ``"adam"``: minibatch Adam
        with ``batch_size``, ``learning_rate_init`` and ``early_stopping``; ``"auto"``:
        ``"lbfgs"`` up to 1,000 rows, ``"adam"`` above (see Notes). ``solver_`` says which
        ran.
    batch_size : int or "auto", default="auto"
        Minibatch size for ``"adam"``; ``"auto"`` is ``min(200, n_samples)``. A larger
        size is clipped to the number of training rows.
    learning_rate_init : float, default=1e-3
        Adam's step size.
    max_iter : int, default=500
        Maximum number of epochs (``"adam"``) or iterations (``"lbfgs"``).
    early_stopping : bool, default=True
        For ``"adam"``: hold out ``validation_fraction`` of the training rows (stratified by
        class for the classifier), stop when their score (accuracy, or R² for the regressor)
        has not improved by ``tol`` for more than ``n_iter_no_change`` consecutive epochs,
        and keep the parameters of the best epoch. On by default, unlike scikit-learn's MLP:
        these decoders fit their training rows within a few epochs. Ignored by ``"lbfgs"``.
    validation_fraction : float, default=0.1
        Fraction of the rows held out for early stopping (at least 2 rows).
    n_iter_no_change : int, default=10
        Epochs without an improvement of ``tol`` tolerated before stopping.
    tol : float, default=1e-4
        Improvement that counts (of the validation score, or of the training loss without
        early stopping); for ``"lbfgs"``, the tolerance on the projected gradient.
    random_state : int, RandomState instance or None, default=None
        Seeds the initialisation, the validation split and the shuffling of minibatches:
        an int makes :meth:`fit` deterministic.
"""

_SHARED_ATTRIBUTES_DOC = """\
    loss_ : float
        The last training loss (penalised; of the last epoch for ``"adam"``, at the optimum
        for ``"lbfgs"``).
    loss_curve_ : list of float
        The training loss after each epoch (``"adam"``) or iteration (``"lbfgs"``).
    n_iter_ : int
        Number of epochs (``"adam"``) or iterations (``"lbfgs"``) run.
    solver_ : {"lbfgs", "adam"}
        The solver that ran (``solver="auto"`` chooses by the number of rows).
    validation_scores_ : list of float or None
        Score on the held-out rows after each epoch, with early stopping; else None.
    best_validation_score_ : float or None
        The best of them (its epoch's parameters are kept), with early stopping; else None.
    coefs_ : list of ndarray
        The head's weight matrices, layer by layer (``coefs_[i]`` of shape
        ``(units_i, units_{i+1})``), as in scikit-learn's MLP. These arrays, with
        ``intercepts_`` and ``aggregation_params_``, are the model: prediction reads them,
        so editing them (in place, or assigning arrays of the same shapes) changes it.
    intercepts_ : list of ndarray
        The head's bias vectors.
    aggregation_params_ : dict of str to ndarray
        The aggregation's learned parameters: ``{}`` for ``"concat"`` and ``"sum"``;
        ``{"logits": (m,)}`` for ``"weighted"``; ``{"coef": (m, k, k), "intercept": (m, k)}``
        for ``"mlp_sum"``; ``{"query", "key", "value"}``, each ``(k, k)``, for
        ``"attention"`` (token ``s`` maps to ``s @ query``, ...).
    aggregation_weights_ : ndarray of shape (n_subspaces,) or None
        The weight of each subspace in the sum: ``softmax(logits)`` for ``"weighted"``,
        ones for ``"sum"``, None otherwise.
    n_subspaces_ : int
        The number of subspaces ``m`` used.
    subspace_width_ : int
        Their width ``k``.
    n_features_in_ : int
        Number of features seen during :meth:`fit`.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during :meth:`fit`, when they are all strings.
"""


def docstring(text):
    """Insert the shared parameter and attribute sections into a class docstring."""
    return text.replace("    {parameters}\n", _SHARED_PARAMETERS_DOC).replace(
        "    {attributes}\n", _SHARED_ATTRIBUTES_DOC
    )
