"""LogisticClassifier: its compiled loss and gradient against the formulas, its optimum against
scikit-learn's LogisticRegression, and its errors."""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import expit, log_expit, logsumexp, softmax
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression

from skinvariance import LogisticClassifier
from skinvariance._compat import InvalidParameterError
from skinvariance.decoders._logistic_loops import (
    MAX_CHUNKS,
    MIN_CHUNK_TILES,
    TILE,
    LogisticLoss,
    chunk_bounds,
)
from skinvariance.stitching import make_decoder
from skinvariance.stitching._rows import describe_decoder


def _oracle(X, W, b, y, sample_weight, binary):
    """The weighted loss sum and its gradient, in float64, from SciPy's special functions."""
    X, W, b = (np.asarray(a, dtype=np.float64) for a in (X, W, b))
    Z = X @ W.T + b
    if binary:
        z = Z[:, 0]
        losses = -(y * log_expit(z) + (1 - y) * log_expit(-z))
        G = (expit(z) - y)[:, None]
    else:
        labels = y.astype(int)
        losses = logsumexp(Z, axis=1) - Z[np.arange(len(y)), labels]
        G = softmax(Z, axis=1)
        G[np.arange(len(y)), labels] -= 1
    G *= sample_weight[:, None]
    return sample_weight @ losses, G.T @ X, G.sum(axis=0)


def _loss_gradient(X, W, b, y, sample_weight, binary, n_threads=1):
    return LogisticLoss(X, y, sample_weight, n_outputs=W.shape[0], binary=binary,
                        n_threads=n_threads)(W, b)


def _problem(rng, n_samples, n_features, n_classes, dtype, scale=1.0):
    binary = n_classes == 2
    X = (scale * rng.standard_normal((n_samples, n_features))).astype(dtype)
    W = (rng.standard_normal((1 if binary else n_classes, n_features)) / np.sqrt(n_features)
         / scale).astype(dtype)
    b = rng.standard_normal(W.shape[0]).astype(dtype)
    y = rng.integers(0, n_classes, n_samples).astype(np.float64)
    sample_weight = rng.uniform(0.1, 2.0, n_samples)
    return X, W, b, y, sample_weight, binary


@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-12), (np.float32, 2e-5)])
@pytest.mark.parametrize("n_classes", [2, 3, 4, 7])
@pytest.mark.parametrize("n_samples", [1, 5, TILE + 3, 3 * TILE * MAX_CHUNKS + 7])
def test_loss_and_gradient_match_the_formulas(dtype, rtol, n_classes, n_samples):
    """Every shape the loops cut differently: fewer rows than a block of four, a tile and a
    few, more tiles than chunks; an odd number of classes; one logit for two classes."""
    rng = np.random.default_rng(n_samples + n_classes)
    X, W, b, y, sample_weight, binary = _problem(rng, n_samples, 9, n_classes, dtype)
    loss, grad_W, grad_b = _loss_gradient(X, W, b, y, sample_weight, binary)
    expected_loss, expected_W, expected_b = _oracle(X, W, b, y, sample_weight, binary)
    assert grad_W.dtype == grad_b.dtype == np.float64
    np.testing.assert_allclose(loss, expected_loss, rtol=rtol)
    # The gradient's terms cancel; bound the error by the size of the terms summed.
    size = np.abs(sample_weight) @ np.abs(X.astype(np.float64))
    np.testing.assert_allclose(grad_W, expected_W, rtol=0, atol=rtol * size.max())
    np.testing.assert_allclose(grad_b, expected_b, rtol=0, atol=rtol * sample_weight.sum())


@settings(max_examples=30, deadline=None)
@given(exponent=st.integers(-4, 4), n_classes=st.integers(2, 5), seed=st.integers(0, 2**16))
def test_loss_and_gradient_hold_at_large_logits(exponent, n_classes, seed):
    """Logits up to hundreds (float64): the loss neither overflows nor loses the small
    classes' share, whatever the scale of X (W scaled inversely, so the logits are alike)."""
    rng = np.random.default_rng(seed)
    X, W, b, y, sample_weight, binary = _problem(rng, 40, 6, n_classes, np.float64,
                                                 scale=10.0 ** exponent)
    W *= 300.0
    loss, grad_W, grad_b = _loss_gradient(X, W, b, y, sample_weight, binary)
    expected_loss, expected_W, expected_b = _oracle(X, W, b, y, sample_weight, binary)
    assert np.isfinite(loss)
    np.testing.assert_allclose(loss, expected_loss, rtol=1e-10)
    size = np.abs(sample_weight) @ np.abs(X)
    np.testing.assert_allclose(grad_W, expected_W, rtol=0, atol=1e-12 * size.max())
    np.testing.assert_allclose(grad_b, expected_b, rtol=0, atol=1e-12 * sample_weight.sum())


def test_a_loss_evaluated_again_forgets_its_previous_point():
    """The buffers are reused between evaluations: the second point's values are those of a
    fresh evaluation there, exactly, on one thread or two."""
    rng = np.random.default_rng(5)
    X, W, b, y, sample_weight, binary = _problem(rng, 3 * TILE + 1, 7, 4, np.float32)
    for n_threads in (1, 2):
        loss = LogisticLoss(X, y, sample_weight, n_outputs=4, binary=False, n_threads=n_threads)
        loss(2 * W, b - 1)
        again = loss(W, b)
        fresh = _loss_gradient(X, W, b, y, sample_weight, binary)
        assert again[0] == fresh[0]
        np.testing.assert_array_equal(again[1], fresh[1])
        np.testing.assert_array_equal(again[2], fresh[2])


def test_chunks_are_whole_tiles_fixed_by_the_rows():
    for n_samples in (1, TILE, TILE + 1, 9 * TILE, 40 * TILE + 5, 100 * TILE):
        bounds = chunk_bounds(n_samples)
        assert bounds[0] == 0 and bounds[-1] == n_samples
        assert 1 <= len(bounds) - 1 <= MAX_CHUNKS
        assert np.all(np.diff(bounds) > 0)
        assert np.all(bounds[1:-1] % TILE == 0)
        # Whole chunks of at least MIN_CHUNK_TILES tiles, but for a lone chunk of fewer rows.
        assert len(bounds) == 2 or np.all(np.diff(bounds)[:-1] >= MIN_CHUNK_TILES * TILE)


def test_the_fit_does_not_depend_on_the_threads():
    X, y = make_classification(n_samples=6 * TILE * MAX_CHUNKS // 4, n_features=20,
                               n_informative=8, n_classes=4, random_state=0)
    X = X.astype(np.float32)
    one = LogisticClassifier(max_iter=300, n_threads=1).fit(X, y)
    two = LogisticClassifier(max_iter=300, n_threads=2).fit(X, y)
    np.testing.assert_array_equal(one.coef_, two.coef_)
    np.testing.assert_array_equal(one.intercept_, two.intercept_)
    assert one.n_iter_ == two.n_iter_


@pytest.mark.parametrize("n_threads", [None, 1])
def test_a_fit_left_alone_in_its_batch_takes_the_idle_thread(n_threads, monkeypatch):
    """In a batch of fits (one thread each), a fit whose batch mates have finished runs its
    evaluations on their idle threads too, unless its threads were set, and finds the same
    model as a fit on one thread."""
    from joblib import cpu_count, delayed
    from threadpoolctl import threadpool_limits

    from skinvariance._parallel import run_small_tasks
    from skinvariance.decoders import _logistic_loops

    if cpu_count() < 2:
        pytest.skip("needs two CPUs")
    X, y = make_classification(n_samples=4 * MIN_CHUNK_TILES * TILE, n_features=20,
                               n_informative=8, n_classes=4, random_state=0)
    X = X.astype(np.float32)
    alone = LogisticClassifier(max_iter=100, n_threads=1).fit(X, y)
    threads, run_parts = [], _logistic_loops.run_parts
    monkeypatch.setattr(_logistic_loops, "run_parts",
                        lambda function, parts: (threads.append(len(parts)),
                                                 run_parts(function, parts)))
    with threadpool_limits(2, user_api="blas"):  # a batch on two threads, whatever the BLAS
        _, in_batch = run_small_tasks([
            delayed(len)(X),  # done at once: its thread is idle while the fit runs
            delayed(LogisticClassifier(max_iter=100, n_threads=n_threads).fit)(X, y),
        ])
    assert max(threads) == (2 if n_threads is None else 1)
    np.testing.assert_array_equal(in_batch.coef_, alone.coef_)
    np.testing.assert_array_equal(in_batch.intercept_, alone.intercept_)


@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("C", [0.05, 1.0, 30.0])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_the_optimum_is_logistic_regressions(n_classes, C, fit_intercept):
    X, y = make_classification(n_samples=300, n_features=8, n_informative=5,
                               n_classes=n_classes, random_state=n_classes)
    sample_weight = np.random.default_rng(0).uniform(0.2, 3.0, len(y))
    ours = LogisticClassifier(C=C, fit_intercept=fit_intercept, tol=1e-10,
                              max_iter=10_000).fit(X, y, sample_weight=sample_weight)
    reference = LogisticRegression(C=C, fit_intercept=fit_intercept, tol=1e-12,
                                   max_iter=10_000).fit(X, y, sample_weight=sample_weight)
    assert ours.coef_.shape == reference.coef_.shape
    np.testing.assert_allclose(ours.predict_proba(X), reference.predict_proba(X), atol=2e-5)
    np.testing.assert_allclose(ours.decision_function(X), reference.decision_function(X),
                               atol=1e-3)
    np.testing.assert_array_equal(ours.predict(X), reference.predict(X))


def test_float32_stays_float32_and_scores_like_logistic_regression():
    X, y = make_classification(n_samples=2000, n_features=40, n_informative=20, n_classes=5,
                               random_state=0)
    X = X.astype(np.float32)
    ours = LogisticClassifier(max_iter=1000).fit(X, y)
    reference = LogisticRegression(max_iter=1000).fit(X, y)
    assert ours.coef_.dtype == ours.intercept_.dtype == np.float32
    assert abs(ours.score(X, y) - reference.score(X, y)) <= 0.005
    np.testing.assert_allclose(ours.predict_proba(X), reference.predict_proba(X), atol=5e-3)


def test_a_weight_of_two_is_a_row_twice():
    X, y = make_classification(n_samples=120, n_features=5, n_informative=3, n_classes=3,
                               random_state=4)
    weights = np.where(np.arange(len(y)) % 3 == 0, 2.0, 1.0)
    repeated = np.repeat(np.arange(len(y)), weights.astype(int))
    weighted = LogisticClassifier(tol=1e-10, max_iter=5000).fit(X, y, sample_weight=weights)
    twice = LogisticClassifier(tol=1e-10, max_iter=5000).fit(X[repeated], y[repeated])
    np.testing.assert_allclose(weighted.predict_proba(X), twice.predict_proba(X), atol=1e-6)


def test_labels_of_any_type_and_the_binary_layout():
    X, y = make_classification(n_samples=200, n_features=4, random_state=0)
    names = np.array(["cat", "dog"])[y]
    model = LogisticClassifier().fit(X, names)
    assert list(model.classes_) == ["cat", "dog"]
    assert model.coef_.shape == (1, 4) and model.decision_function(X).shape == (200,)
    positive = model.decision_function(X) > 0
    np.testing.assert_array_equal(model.predict(X), np.where(positive, "dog", "cat"))
    np.testing.assert_allclose(model.predict_proba(X)[:, 1], expit(model.decision_function(X)))
    np.testing.assert_allclose(np.exp(model.predict_log_proba(X)), model.predict_proba(X))


def test_too_few_iterations_warn():
    X, y = make_classification(n_samples=200, n_features=6, random_state=0)
    with pytest.warns(ConvergenceWarning, match="LogisticClassifier: L-BFGS-B stopped after 1"):
        LogisticClassifier(max_iter=1).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        LogisticClassifier(max_iter=1000).fit(X, y)


@pytest.mark.parametrize("params, match", [
    ({"C": 0}, "'C' parameter of LogisticClassifier must be a float in the range \\(0.0, inf\\)"),
    ({"max_iter": 0}, "'max_iter' parameter of LogisticClassifier"),
    ({"n_threads": True}, "'n_threads' parameter of LogisticClassifier"),
])
def test_bad_parameters_are_named(params, match):
    X, y = make_classification(n_samples=20, n_features=3, n_informative=2, n_redundant=0,
                               random_state=0)
    with pytest.raises(InvalidParameterError, match=match):
        LogisticClassifier(**params).fit(X, y)


def test_bad_input_gets_clear_errors():
    X, y = make_classification(n_samples=20, n_features=3, n_informative=2, n_redundant=0,
                               random_state=0)
    with pytest.raises(ValueError, match="Input X contains NaN"):
        LogisticClassifier().fit(np.where(np.eye(20, 3) > 0, np.nan, X), y)
    with pytest.raises(ValueError, match="y holds only one class"):
        LogisticClassifier().fit(X, np.zeros(20))
    with pytest.raises(ValueError, match="Negative values in data passed to .sample_weight."):
        LogisticClassifier().fit(X, y, sample_weight=-np.ones(20))
    with pytest.raises(ValueError, match="must contain at least one non-zero"):
        LogisticClassifier().fit(X, y, sample_weight=np.zeros(20))
    # Huge magnitudes: the line search fails at the first step, as scikit-learn's does.
    huge = (X / np.abs(X).max() * 1e38).astype(np.float32)
    with pytest.warns(ConvergenceWarning, match="increase max_iter or scale X"):
        model = LogisticClassifier().fit(huge, y)
    with pytest.warns(ConvergenceWarning, match="lbfgs failed to converge"):
        reference = LogisticRegression().fit(huge, y)
    np.testing.assert_array_equal(model.coef_, reference.coef_)


def test_the_default_decoder_is_this_probe():
    decoder = make_decoder("auto", [0, 1, 2, 1])
    assert isinstance(decoder[-1], LogisticClassifier) and decoder[-1].max_iter == 1000
    assert describe_decoder(decoder) == "logistic (PowerOfTwoScaler, StandardScaler)"


def test_blas_gets_one_thread_while_the_solver_runs_not_the_loops(monkeypatch):
    """The loops' threads follow the BLAS limit in force when fit starts; BLAS itself has one
    thread during the solve (its spinning threads would take the loops' cores), and the
    limit in force before is back afterwards."""
    from joblib import cpu_count
    from threadpoolctl import threadpool_limits

    from skinvariance._parallel import blas_threads
    from skinvariance.decoders import _logistic

    seen = []

    class Recording(LogisticLoss):
        def __init__(self, *args, n_threads, **kwargs):
            super().__init__(*args, n_threads=n_threads, **kwargs)
            self.n_threads = n_threads

        def __call__(self, W, b):
            seen.append((self.n_threads, blas_threads()))
            return super().__call__(W, b)

    monkeypatch.setattr(_logistic, "LogisticLoss", Recording)
    X, y = make_classification(n_samples=200, n_features=6, random_state=0)
    with threadpool_limits(2, user_api="blas"):
        LogisticClassifier().fit(X, y)
        after = blas_threads()
    assert seen and set(seen) == {(min(2, cpu_count()), 1)}
    assert after == 2
