"""ProductClassifier and ProductRegressor: gradients, known optima, aggregations, API."""

import copy
import math
import pickle
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import expit, softmax
from sklearn.base import clone
from sklearn.datasets import load_diabetes, make_classification, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import GridSearchCV
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler, scale
from sklearn.utils.estimator_checks import parametrize_with_checks

from skinvariance import (
    ProductClassifier,
    ProductProjection,
    ProductRegressor,
    RelativeProjection,
    StitchingEvaluator,
)
from skinvariance.decoders import _estimators
from skinvariance.decoders._aggregations import AGGREGATIONS, Weighted
from skinvariance.decoders._network import Network
from skinvariance.decoders._solvers import Adam, fit_adam

AGGREGATES = sorted(AGGREGATIONS)


@pytest.fixture
def blobs():
    """A 3-class problem whose 12 columns are 3 subspaces of width 4."""
    X, y = make_classification(n_samples=150, n_features=12, n_informative=6, n_classes=3,
                               random_state=0)
    return X, y


# -- gradients ------------------------------------------------------------------------------


def _targets(loss, n, rng):
    if loss == "multinomial":
        return 3, rng.integers(0, 3, n)
    if loss == "binary":
        return 1, rng.integers(0, 2, (n, 1)).astype(float)
    return 2, rng.normal(size=(n, 2))


@pytest.mark.parametrize("aggregate", AGGREGATES)
@pytest.mark.parametrize("hidden", [(), (5, 3)], ids=["linear", "mlp"])
@pytest.mark.parametrize("loss", ["multinomial", "binary", "squared"])
def test_gradient_matches_central_differences(aggregate, hidden, loss, rng):
    n, m, k = 7, 3, 4
    X = rng.normal(size=(n, m * k))
    n_outputs, target = _targets(loss, n, rng)
    net = Network(aggregate, m, k, hidden, n_outputs, loss, alpha=0.3, dtype=np.float64)
    start = net.initial_coef(np.random.RandomState(0))
    start += rng.normal(scale=0.3, size=start.shape)  # away from the symmetric start
    analytic = np.empty_like(start)
    net.loss_grad(start, X, target, analytic)
    h, scratch = 1e-6, np.empty_like(start)
    numeric = np.empty_like(analytic)
    for j in range(start.size):
        step = np.zeros_like(start)
        step[j] = h
        plus = net.loss_grad(start + step, X, target, scratch)
        numeric[j] = (plus - net.loss_grad(start - step, X, target, scratch)) / (2 * h)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-8)


# -- known optima ---------------------------------------------------------------------------


@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("alpha", [0.05, 2.0])
def test_concat_lbfgs_is_logistic_regression_with_c_one_over_alpha(n_classes, alpha):
    X, y = make_classification(n_samples=200, n_features=6, n_informative=4,
                               n_classes=n_classes, random_state=1)
    ours = ProductClassifier(2, aggregate="concat", solver="lbfgs", alpha=alpha, tol=1e-10,
                             max_iter=5000, random_state=0).fit(X, y)
    reference = LogisticRegression(C=1 / alpha, tol=1e-12, max_iter=10_000).fit(X, y)
    np.testing.assert_allclose(ours.predict_proba(X), reference.predict_proba(X), atol=2e-5)


@pytest.mark.parametrize("n_targets", [1, 3])
@pytest.mark.parametrize("alpha", [0.05, 20.0])
def test_concat_lbfgs_is_ridge_with_the_same_alpha(n_targets, alpha):
    X, y = make_regression(n_samples=120, n_features=6, n_targets=n_targets, noise=5.0,
                           random_state=2)
    y = y / 50.0
    ours = ProductRegressor(3, aggregate="concat", solver="lbfgs", alpha=alpha, tol=1e-8,
                            max_iter=5000, random_state=0).fit(X, y)
    reference = Ridge(alpha=alpha).fit(X, y)
    assert ours.predict(X).shape == reference.predict(X).shape
    np.testing.assert_allclose(ours.predict(X), reference.predict(X), atol=1e-5)


def test_concat_with_the_defaults_is_logistic_regression_and_ridge_with_theirs():
    """alpha=1 is C=1 and Ridge's alpha=1: only the tolerance is tightened on both sides."""
    X, y = make_classification(n_samples=150, n_features=6, n_informative=4, n_classes=3,
                               random_state=3)
    ours = ProductClassifier(aggregate="concat", tol=1e-10, random_state=0).fit(X, y)
    reference = LogisticRegression(tol=1e-12, max_iter=10_000).fit(X, y)
    assert ours.solver_ == "lbfgs"
    np.testing.assert_allclose(ours.predict_proba(X), reference.predict_proba(X), atol=2e-5)
    target = X @ np.arange(6.0) / 10
    ours = ProductRegressor(aggregate="concat", tol=1e-10, random_state=0).fit(X, target)
    np.testing.assert_allclose(ours.predict(X), Ridge().fit(X, target).predict(X), atol=1e-5)


@pytest.mark.parametrize("aggregate", AGGREGATES)
def test_the_defaults_fit_small_standardised_data_like_ridge(aggregate):
    """Standardised diabetes (442 rows): every aggregation with the defaults converges and
    scores R² above 0.5 on its training rows, as scikit-learn's check asks; with one subspace
    "concat", "sum" and "weighted" are Ridge(alpha=1) itself."""
    X, y = load_diabetes(return_X_y=True)
    X, y = StandardScaler().fit_transform(X), scale(y)
    reference = Ridge().fit(X, y).score(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        model = ProductRegressor(aggregate=aggregate, random_state=0).fit(X, y)
    assert model.solver_ == "lbfgs"
    assert model.score(X, y) > 0.5
    if aggregate in ("concat", "sum", "weighted"):
        assert model.score(X, y) == pytest.approx(reference, abs=1e-5)


def test_solver_auto_switches_to_adam_above_the_row_limit(blobs, monkeypatch):
    X, y = blobs
    assert ProductClassifier(3, random_state=0).fit(X, y).solver_ == "lbfgs"
    monkeypatch.setattr(_estimators, "AUTO_LBFGS_MAX_SAMPLES", len(X) - 1)
    model = ProductClassifier(3, random_state=0).fit(X, y)
    assert model.solver_ == "adam" and model.validation_scores_ is not None


def test_solver_auto_is_lbfgs_up_to_1000_rows_then_adam(rng):
    X = rng.normal(size=(1001, 4))
    y = (X[:, 0] + X[:, 2] > 0).astype(int)
    assert ProductClassifier(2, random_state=0).fit(X[:1000], y[:1000]).solver_ == "lbfgs"
    assert ProductClassifier(2, random_state=0).fit(X, y).solver_ == "adam"
    assert ProductRegressor(2, random_state=0).fit(X, X[:, 0]).solver_ == "adam"


def test_minibatch_gradients_average_to_the_full_batch_gradient(rng):
    """The penalty of a minibatch is scaled by the training rows: the gradients of the
    minibatches of a partition, weighted by their share of the rows, sum to the gradient of
    the objective L-BFGS minimises."""
    X, target = rng.normal(size=(30, 6)), rng.integers(0, 3, 30)
    net = Network("mlp_sum", 2, 3, (4,), 3, "multinomial", alpha=2.5, dtype=np.float64)
    coef = net.initial_coef(np.random.RandomState(0))
    full, part, total = np.empty_like(coef), np.empty_like(coef), np.zeros_like(coef)
    loss = net.loss_grad(coef, X, target, full)
    total_loss = 0.0
    for rows in (slice(0, 7), slice(7, 20), slice(20, 30)):
        n_rows = rows.stop - rows.start
        total_loss += n_rows / 30 * net.loss_grad(coef, X[rows], target[rows], part,
                                                  n_train=30)
        total += n_rows / 30 * part
    np.testing.assert_allclose(total, full, rtol=1e-12, atol=1e-15)
    assert total_loss == pytest.approx(loss, rel=1e-12)


# -- what each aggregation computes ---------------------------------------------------------


def test_sum_of_identical_blocks_is_one_block_times_m(blobs):
    X, y = blobs
    block, m = X[:, :4], 3
    tiled = ProductClassifier(m, aggregate="sum", solver="lbfgs", random_state=0)
    scaled = ProductClassifier(1, aggregate="concat", solver="lbfgs", random_state=0)
    tiled.fit(np.tile(block, m), y)
    scaled.fit(m * block, y)
    np.testing.assert_allclose(tiled.predict_proba(np.tile(block, m)),
                               scaled.predict_proba(m * block), atol=1e-6)
    np.testing.assert_array_equal(tiled.aggregation_weights_, np.ones(m))


def test_weighted_starts_from_equal_weights(rng):
    m, k = 4, 3
    net = Network("weighted", m, k, (), 2, "squared", alpha=0.0, dtype=np.float64)
    params = net.layout.views(net.initial_coef(np.random.RandomState(0)))
    np.testing.assert_allclose(Weighted.weights(params["logits"]), np.full(m, 1 / m))
    X = rng.normal(size=(5, m * k))
    H, _ = net.aggregation.forward(X, params)
    np.testing.assert_allclose(H, X.reshape(5, m, k).mean(axis=1))


def test_weighted_learns_softmax_weights_that_favour_the_informative_subspace(rng):
    informative = rng.normal(size=(300, 4))
    y = (informative[:, 0] - informative[:, 1] > 0).astype(int)
    X = np.hstack([rng.normal(size=(300, 4)), informative, rng.normal(size=(300, 4))])
    model = ProductClassifier(3, aggregate="weighted", solver="lbfgs", random_state=0)
    weights = model.fit(X, y).aggregation_weights_
    np.testing.assert_allclose(weights, softmax(model.aggregation_params_["logits"]))
    assert weights.sum() == pytest.approx(1.0)
    assert np.argmax(weights) == 1


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_attention_over_one_token_is_a_linear_map(blobs):
    X, y = blobs
    model = ProductClassifier(1, aggregate="attention", solver="lbfgs", max_iter=50,
                              random_state=0).fit(X, y)
    value = model.aggregation_params_["value"]
    logits = X @ value @ model.coefs_[0] + model.intercepts_[0]
    np.testing.assert_allclose(model.predict_proba(X), softmax(logits, axis=1), atol=1e-10)


def _attention_by_the_formula(tokens, query, key, value):
    """One sample: tokens (m, k) -> sum_i sum_j softmax_j(q_i . k_j / sqrt(k)) v_j."""
    q, kk, v = tokens @ query, tokens @ key, tokens @ value
    out = np.zeros(tokens.shape[1])
    for i in range(len(tokens)):
        a = softmax(q[i] @ kk.T / math.sqrt(tokens.shape[1]))
        out += a @ v
    return out


def _aggregate_by_hand(model, s):
    """The aggregation of one sample's subspaces ``s`` (m, k), from the fitted attributes."""
    p, m = model.aggregation_params_, len(s)
    if model.aggregate == "concat":
        return s.ravel()
    if model.aggregate == "sum":
        return s.sum(axis=0)
    if model.aggregate == "weighted":
        return model.aggregation_weights_ @ s
    if model.aggregate == "mlp_sum":
        return sum(np.tanh(s[i] @ p["coef"][i] + p["intercept"][i]) for i in range(m))
    return _attention_by_the_formula(s, p["query"], p["key"], p["value"])


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("aggregate", AGGREGATES)
@pytest.mark.parametrize("n_classes", [2, 3])
def test_fitted_attributes_reproduce_the_predictions(aggregate, n_classes):
    """Each aggregation recomputed sample by sample from its documented attributes."""
    m, k = 3, 4
    X, y = make_classification(n_samples=60, n_features=m * k, n_classes=n_classes,
                               n_informative=5, random_state=0)
    model = ProductClassifier(m, aggregate=aggregate, hidden_layer_sizes=(6,), solver="lbfgs",
                              max_iter=30, random_state=0).fit(X, y)
    for x, proba in zip(X[:5], model.predict_proba(X[:5])):
        H = _aggregate_by_hand(model, x.reshape(m, k))
        hidden = np.maximum(H @ model.coefs_[0] + model.intercepts_[0], 0)
        z = hidden @ model.coefs_[1] + model.intercepts_[1]
        expected = np.r_[1 - expit(z[0]), expit(z[0])] if n_classes == 2 else softmax(z)
        np.testing.assert_allclose(proba, expected, atol=1e-10)


@settings(max_examples=40, deadline=None, derandomize=True)
@given(st.integers(1, 5), st.integers(1, 6), st.integers(1, 8), st.sampled_from(AGGREGATES),
       st.integers(0, 2**32 - 1))
def test_the_order_of_the_subspaces_does_not_matter(m, k, n, aggregate, seed):
    """Reordering the subspaces (and their own parameters alike) leaves the output unchanged.

    A sum is symmetric; self-attention followed by a sum over tokens is too, whatever its
    parameters; "concat" reorders its output the same way.
    """
    rng = np.random.default_rng(seed)
    order = rng.permutation(m)
    X = rng.normal(size=(n, m * k))
    reordered = X.reshape(n, m, k)[:, order].reshape(n, m * k)
    net = Network(aggregate, m, k, (), 1, "squared", alpha=0.0, dtype=np.float64)
    coef = net.initial_coef(np.random.RandomState(seed))
    coef += rng.normal(size=coef.shape)
    original = net.layout.views(coef)
    H = net.aggregation.forward(X, original)[0].copy()
    per_subspace = {"logits", "coef", "intercept"}
    params = {name: value[order] if name in per_subspace else value
              for name, value in original.items()}
    H_reordered, _ = net.aggregation.forward(reordered, params)
    if aggregate == "concat":
        H = H.reshape(n, m, k)[:, order].reshape(n, m * k)
    np.testing.assert_allclose(H_reordered, H, rtol=1e-10, atol=1e-10)


# -- training -------------------------------------------------------------------------------


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_deterministic_for_a_given_random_state(blobs, solver):
    X, y = blobs
    fits = [ProductClassifier(3, aggregate="attention", solver=solver, max_iter=15,
                              random_state=seed) for seed in (0, 0, 1)]
    probas = [model.fit(X, y).predict_proba(X) for model in fits]
    np.testing.assert_array_equal(probas[0], probas[1])
    assert not np.allclose(probas[0], probas[2])


def test_early_stopping_reports_its_scores_and_follows_the_stopping_rule(blobs):
    X, y = blobs
    model = ProductClassifier(3, solver="adam", learning_rate_init=0.01, max_iter=300,
                              random_state=0)
    model.fit(X, y)
    assert model.solver_ == "adam"
    assert len(model.validation_scores_) == len(model.loss_curve_) == model.n_iter_
    assert model.n_iter_ < 300
    assert model.best_validation_score_ == max(model.validation_scores_)
    # The stopping rule: no gain of tol for more than n_iter_no_change epochs at the end.
    tail = model.validation_scores_[-(model.n_iter_no_change + 1):]
    assert max(tail) < max(model.validation_scores_[: -len(tail)]) + model.tol
    lbfgs = ProductClassifier(3, solver="lbfgs", max_iter=20, random_state=0)
    with pytest.warns(ConvergenceWarning, match="max_iter=20"):
        lbfgs.fit(X, y)
    assert lbfgs.validation_scores_ is None and lbfgs.best_validation_score_ is None
    assert len(lbfgs.loss_curve_) == lbfgs.n_iter_
    assert lbfgs.loss_ == pytest.approx(lbfgs.loss_curve_[-1])


@pytest.mark.parametrize("solver, early_stopping", [("adam", True), ("adam", False),
                                                    ("lbfgs", True)])
def test_convergence_warning_when_max_iter_is_reached(blobs, solver, early_stopping):
    X, y = blobs
    model = ProductClassifier(3, solver=solver, early_stopping=early_stopping, max_iter=3,
                              random_state=0)
    with pytest.warns(ConvergenceWarning, match="max_iter=3"):
        model.fit(X, y)
    assert model.n_iter_ == 3


def test_training_loss_decreases_and_fits_the_training_rows(blobs):
    X, y = blobs
    model = ProductClassifier(3, solver="adam", early_stopping=False, learning_rate_init=0.01,
                              max_iter=200,
                              tol=0.0, n_iter_no_change=200, random_state=0)
    with pytest.warns(ConvergenceWarning):
        model.fit(X, y)
    assert model.loss_curve_[-1] < 0.5 * model.loss_curve_[0]
    assert model.score(X, y) > 0.9


@pytest.mark.parametrize("Estimator", [ProductClassifier, ProductRegressor])
@pytest.mark.parametrize("aggregate", AGGREGATES)
def test_float32_trains_in_float32(Estimator, aggregate, blobs):
    X, y = blobs
    model = Estimator(3, aggregate=aggregate, hidden_layer_sizes=(5,), max_iter=5,
                      random_state=0)
    with pytest.warns(ConvergenceWarning):
        model.fit(X.astype(np.float32), y)
    learned = [*model.coefs_, *model.intercepts_, *model.aggregation_params_.values()]
    assert all(a.dtype == np.float32 for a in learned)
    out = model.predict_proba(X) if Estimator is ProductClassifier else model.predict(X)
    assert out.dtype == np.float32


def test_regressor_output_shape_follows_the_target(rng):
    X = rng.normal(size=(50, 6))
    one = ProductRegressor(2, aggregate="concat", solver="lbfgs", random_state=0)
    many = ProductRegressor(2, aggregate="concat", solver="lbfgs", random_state=0)
    one.fit(X, X[:, 0])
    many.fit(X, X)
    assert one.predict(X).shape == (50,) and one.n_outputs_ == 1
    assert many.predict(X).shape == (50, 6) and many.n_outputs_ == 6


# -- bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "params, match",
    [
        ({"n_subspaces": 5}, r"'n_subspaces' parameter of ProductClassifier must divide .* "
                             r"n_subspaces=5 for X with 12 features"),
        ({"n_subspaces": 0}, r"'n_subspaces' parameter of ProductClassifier must be an int"),
        ({"aggregate": "mean"}, r"'aggregate' parameter of ProductClassifier must be a str "
                                r"among .*'attention'.*Got 'mean' instead"),
        ({"hidden_layer_sizes": (4, 0)}, r"'hidden_layer_sizes' parameter .* Got \(4, 0\)"),
        ({"solver": "sgd"}, r"'solver' parameter of ProductClassifier"),
        ({"validation_fraction": 1.0}, r"'validation_fraction' parameter"),
        ({"batch_size": 0}, r"'batch_size' parameter"),
    ],
)
def test_bad_parameters_name_the_parameter(blobs, params, match):
    X, y = blobs
    with pytest.raises(ValueError, match=match):
        ProductClassifier(**params, random_state=0).fit(X, y)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
@pytest.mark.parametrize("Estimator", [ProductClassifier, ProductRegressor])
def test_non_finite_input_is_refused(Estimator, bad, blobs):
    X, y = blobs
    X = X.copy()
    X[3, 2] = bad
    with pytest.raises(ValueError, match="Input X contains (NaN|infinity)"):
        Estimator(3, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="Input y contains (NaN|infinity)"):
        Estimator(3, random_state=0).fit(X[:2] * 0 + 1, np.array([0.0, bad]))


def test_one_class_is_refused(blobs):
    X, _ = blobs
    with pytest.raises(ValueError, match=r"y holds only one class \('a'\); at least two"):
        ProductClassifier(3, random_state=0).fit(X, np.full(len(X), "a"))


@pytest.mark.parametrize("Estimator", [ProductClassifier, ProductRegressor])
def test_width_changed_after_fit(Estimator, blobs):
    X, y = blobs
    model = Estimator(3, solver="lbfgs", max_iter=5, random_state=0)
    with pytest.warns(ConvergenceWarning):
        model.fit(X, y)
    name = Estimator.__name__
    with pytest.raises(ValueError, match=f"X has 9 features, but {name} is expecting 12 "):
        model.predict(X[:, :9])


def test_too_few_rows_for_early_stopping():
    with pytest.raises(ValueError, match="early_stopping=True .* n_samples=2"):
        ProductClassifier(solver="adam", random_state=0).fit([[0.0, 1.0], [1.0, 0.0]], [0, 1])


# -- the scikit-learn toolbox ---------------------------------------------------------------


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_in_a_pipeline_and_a_grid_search(blobs):
    X, y = blobs
    pipe = make_pipeline(StandardScaler(), ProductClassifier(3, solver="lbfgs", max_iter=50,
                                                             random_state=0))
    search = GridSearchCV(pipe, {"productclassifier__aggregate": ["concat", "mlp_sum"],
                                 "productclassifier__hidden_layer_sizes": [(), (8,)]}, cv=2)
    search.fit(X, y)
    scores = search.cv_results_["mean_test_score"]
    assert len(scores) == 4 and min(scores) > 0.5  # three classes: chance is 1/3
    best = search.best_estimator_[-1]
    assert (best.aggregate, best.hidden_layer_sizes) == (
        search.best_params_["productclassifier__aggregate"],
        search.best_params_["productclassifier__hidden_layer_sizes"],
    )


def test_clone_and_pickle(blobs):
    X, y = blobs
    model = ProductRegressor(3, aggregate="attention", hidden_layer_sizes=(4,), max_iter=5,
                             random_state=0)
    assert clone(model).get_params() == model.get_params()
    with pytest.warns(ConvergenceWarning):
        model.fit(X, y)
    restored = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(restored.predict(X), model.predict(X))
    assert not hasattr(clone(model), "coefs_")


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_as_the_decoder_of_a_stitching_evaluator(rng):
    """Two spaces related by a rotation stitch perfectly through cosine and euclidean."""
    X, y = make_classification(n_samples=160, n_features=6, n_informative=4, random_state=0)
    Q, _ = np.linalg.qr(rng.normal(size=(6, 6)))
    spaces = {"a": X, "b": X @ Q + 1.0}
    projection = ProductProjection([RelativeProjection("cosine", center=True), "euclidean"])
    decoder = ProductClassifier(2, aggregate="mlp_sum", solver="lbfgs", random_state=0)
    ev = StitchingEvaluator(projection, decoder, anchors=20, random_state=0)
    ev.fit(spaces, y)
    matrix = ev.stitching_matrix(spaces, y).to_numpy()
    np.testing.assert_allclose(matrix, matrix[0, 0], atol=1e-12)
    assert matrix[0, 0] > 0.9


# -- prediction is pure, and the attributes are the model -----------------------------------


def _assert_same_state(before, after, where="estimator"):
    """Deep comparison of fitted state: arrays by value and dtype, objects by their vars."""
    assert type(before) is type(after), where
    if isinstance(before, np.ndarray):
        assert before.dtype == after.dtype and before.shape == after.shape, where
        np.testing.assert_array_equal(before, after, err_msg=where)
    elif isinstance(before, dict):
        assert before.keys() == after.keys(), where
        for key in before:
            _assert_same_state(before[key], after[key], f"{where}[{key!r}]")
    elif isinstance(before, (list, tuple)):
        assert len(before) == len(after), where
        for i, (a, b) in enumerate(zip(before, after)):
            _assert_same_state(a, b, f"{where}[{i}]")
    elif hasattr(before, "__dict__") and not callable(before):
        _assert_same_state(vars(before), vars(after), f"{where}.")
    else:
        assert before == after, where


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("aggregate", AGGREGATES)
@pytest.mark.parametrize("Estimator", [ProductClassifier, ProductRegressor])
def test_prediction_writes_nothing_on_the_estimator(Estimator, aggregate, blobs):
    X, y = blobs
    model = Estimator(3, aggregate=aggregate, hidden_layer_sizes=(5,), max_iter=10,
                      random_state=0).fit(X, y)
    before = copy.deepcopy(vars(model))
    methods = ["predict", "decision_function", "predict_proba"]
    for name in methods:
        if hasattr(model, name):
            getattr(model, name)(X[:40])
    model.score(X, y)
    _assert_same_state(before, vars(model))


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("aggregate", ["mlp_sum", "attention"])
def test_concurrent_predictions_from_threads_agree_with_serial_ones(aggregate, blobs):
    X, y = blobs
    model = ProductClassifier(3, aggregate=aggregate, hidden_layer_sizes=(6,), max_iter=20,
                              random_state=0).fit(X, y)
    # Inputs of different sizes, so that any state shared between calls would mix them.
    chunks = [X[i % 7 : 20 + 13 * (i % 9)] * (1 + i % 3) for i in range(48)]
    serial = [model.predict_proba(chunk) for chunk in chunks]
    with ThreadPoolExecutor(max_workers=8) as pool:
        concurrent = list(pool.map(model.predict_proba, chunks))
    for expected, got in zip(serial, concurrent):
        np.testing.assert_array_equal(got, expected)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("aggregate", AGGREGATES)
def test_editing_the_fitted_arrays_in_place_changes_the_predictions(aggregate, blobs):
    """As with MLPClassifier: zero the output weights and every row gets the same logits,
    softmax of the output intercepts."""
    X, y = blobs
    ours = ProductClassifier(3, aggregate=aggregate, hidden_layer_sizes=(5,), max_iter=10,
                             random_state=0).fit(X, y)
    mlp = MLPClassifier(hidden_layer_sizes=(5,), max_iter=10, random_state=0).fit(X, y)
    for model in (ours, mlp):
        assert np.ptp(model.predict_proba(X), axis=0).max() > 0.01
        model.coefs_[-1][:] = 0.0
        model.intercepts_[-1][:] = [0.5, -1.0, 2.0]
        np.testing.assert_allclose(model.predict_proba(X),
                                   np.tile(softmax([0.5, -1.0, 2.0]), (len(X), 1)))


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("aggregate", AGGREGATES)
@pytest.mark.parametrize("n_classes", [2, 3])
def test_assigned_arrays_are_the_model_and_survive_pickling(aggregate, n_classes, rng):
    """New arrays of the same shapes, in the head and in the aggregation, are what predicts
    (checked against the formulas, sample by sample), also after pickling and cloning."""
    m, k = 3, 4
    X, y = make_classification(n_samples=60, n_features=m * k, n_classes=n_classes,
                               n_informative=5, random_state=0)
    model = ProductClassifier(m, aggregate=aggregate, hidden_layer_sizes=(6,), max_iter=5,
                              random_state=0).fit(X, y)
    model.coefs_ = [rng.normal(size=c.shape) for c in model.coefs_]
    model.intercepts_[1] = rng.normal(size=model.intercepts_[1].shape)
    for name, value in model.aggregation_params_.items():
        model.aggregation_params_[name] = rng.normal(size=value.shape)
    restored = pickle.loads(pickle.dumps(model))
    for x, proba in zip(X[:5], model.predict_proba(X[:5])):
        H = _aggregate_by_hand(model, x.reshape(m, k))
        hidden = np.maximum(H @ model.coefs_[0] + model.intercepts_[0], 0)
        z = hidden @ model.coefs_[1] + model.intercepts_[1]
        expected = np.r_[1 - expit(z[0]), expit(z[0])] if n_classes == 2 else softmax(z)
        np.testing.assert_allclose(proba, expected, atol=1e-10)
    np.testing.assert_array_equal(restored.predict_proba(X), model.predict_proba(X))
    refit = clone(model).fit(X, y)
    assert not np.allclose(refit.coefs_[0], model.coefs_[0])


def test_decision_function_is_the_logit_of_predict_proba(blobs):
    X, y = blobs
    for classes in (y, y % 2):
        model = ProductClassifier(3, random_state=0).fit(X, classes)
        proba, scores = model.predict_proba(X), model.decision_function(X)
        if proba.shape[1] == 2:
            assert scores.shape == (len(X),)
            np.testing.assert_allclose(proba[:, 1], expit(scores), rtol=1e-10)
        else:
            np.testing.assert_allclose(proba, softmax(scores, axis=1), rtol=1e-10)
        np.testing.assert_array_equal(
            model.predict(X), model.classes_[(scores > 0).astype(int)] if scores.ndim == 1
            else model.classes_[np.argmax(scores, axis=1)])


# -- the optimisers against independent oracles ---------------------------------------------


def _textbook_adam(x, gradient, steps, lr, b1=0.9, b2=0.999, eps=1e-8):
    """Kingma and Ba (2014), Algorithm 1, written out: the iterates x_1 .. x_steps."""
    m, v, path = np.zeros_like(x), np.zeros_like(x), []
    for t in range(1, steps + 1):
        g = gradient(x)
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        m_hat, v_hat = m / (1 - b1**t), v / (1 - b2**t)
        x = x - lr * m_hat / (np.sqrt(v_hat) + eps)
        path.append(x)
    return np.array(path)


def test_adam_follows_the_textbook_update_on_a_quadratic():
    """f(x) = sum a_i (x_i - c_i)^2 / 2. The first step moves every coordinate by about lr
    against the sign of its gradient (m_hat / (sqrt(v_hat) + eps) = g / (|g| + eps)),
    whatever its scale; then the whole trajectory is Algorithm 1's."""
    a = np.array([100.0, 1.0, 0.01, 4.0])
    c = np.array([1.0, -2.0, 3.0, 0.5])
    x0 = np.zeros(4)
    lr = 0.05
    optimizer = Adam(4, np.float64, learning_rate=lr)
    x, path = x0.copy(), []
    for _ in range(60):
        optimizer.update(x, a * (x - c))
        path.append(x.copy())
    g = np.abs(a * c)
    np.testing.assert_allclose(path[0], x0 + lr * np.sign(c) * g / (g + 1e-8), rtol=1e-12)
    np.testing.assert_allclose(path, _textbook_adam(x0, lambda z: a * (z - c), 60, lr),
                               rtol=1e-12, atol=1e-15)


def test_full_batch_adam_trains_ridge_along_the_textbook_trajectory(rng):
    """fit_adam on one batch of a linear regression follows Algorithm 1 driven by the
    closed-form gradient of the penalised mean half squared error."""
    n, d, alpha, lr = 30, 5, 0.7, 0.01
    X, Y = rng.normal(size=(n, d)), rng.normal(size=(n, 2))
    net = Network("concat", 1, d, (), 2, "squared", alpha=alpha, dtype=np.float64)
    coef = net.initial_coef(np.random.RandomState(0))
    views = net.layout.views(coef)
    W0, b0 = views["coef_0"].copy(), views["intercept_0"].copy()

    def gradient(theta):
        W, b = theta[: d * 2].reshape(d, 2), theta[d * 2 :]
        residual = X @ W + b - Y
        return np.r_[(X.T @ residual / n + alpha / n * W).ravel(), residual.mean(axis=0)]

    expected = _textbook_adam(np.r_[W0.ravel(), b0], gradient, 8, lr)[-1]
    history = fit_adam(net, coef, X, Y, learning_rate_init=lr, batch_size=n, max_iter=8,
                       tol=0.0, n_iter_no_change=100, rng=np.random.RandomState(1))
    assert history.n_iter == 8
    np.testing.assert_allclose(np.r_[views["coef_0"].ravel(), views["intercept_0"]],
                               expected, rtol=1e-10)


def test_early_stopping_restores_the_parameters_of_the_best_epoch(rng):
    """Validation scores rise to epoch 3 and fall after: the run stops after
    n_iter_no_change + 1 epochs without improvement and hands back epoch 3's parameters,
    not the last epoch's."""
    X, Y = rng.normal(size=(40, 4)), rng.normal(size=(40, 1))
    net = Network("concat", 1, 4, (), 1, "squared", alpha=0.0, dtype=np.float64)
    coef = net.initial_coef(np.random.RandomState(0))
    scores, seen = [0.1, 0.4, 0.9, 0.5, 0.3, 0.2, 0.1, 0.0], []

    def validation_score(current):
        seen.append(current.copy())
        return scores[len(seen) - 1]

    history = fit_adam(net, coef, X, Y, learning_rate_init=0.1, batch_size=10, max_iter=50,
                       tol=1e-4, n_iter_no_change=3, rng=np.random.RandomState(0),
                       validation_score=validation_score)
    assert history.n_iter == len(seen) == 7  # epochs 4 to 7 brought no gain: stop
    assert history.best_validation_score == 0.9
    assert not np.allclose(seen[-1], seen[2])
    np.testing.assert_array_equal(coef, seen[2])


# -- scikit-learn's checks, every aggregation with the default parameters -------------------


# The default aggregation ("mlp_sum") is checked by tests/test_common.py with the defaults.
@parametrize_with_checks(
    [Estimator(aggregate=aggregate) for Estimator in (ProductClassifier, ProductRegressor)
     for aggregate in AGGREGATES if aggregate != Estimator().aggregate]
)
def test_sklearn_checks_pass_for_every_aggregation_with_the_defaults(estimator, check):
    """The accuracy and R² checks included (no poor_score tag). A tanh layer fitted to the
    checks' random targets may still warn that it has not converged, as scikit-learn's MLPs
    do; converging on real data is tested above."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        check(estimator)
