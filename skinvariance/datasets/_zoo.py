"""A zoo of small neural networks trained on the fly: the embedded default data."""

import sys
import time
import warnings
from numbers import Integral

import numpy as np
import pandas as pd
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.utils import Bunch, check_random_state
from sklearn.utils.parallel import Parallel, delayed

from .._compat import RealNotInt, StrOptions, validate_params
from .._constraints import N_JOBS, RANDOM_STATE, NumberInterval
from .._parallel import one_blas_thread
from ._activations import hidden_activations
from ._loaders import load_dataset

__all__ = ["DATASETS", "FACTORS", "make_model_zoo"]

FACTORS = ("initialization", "architecture", "training")
DATASETS = ("digits", "mnist1d", "mnist_5k")

# Every model starts from this configuration; a factor changes only its own fields.
_BASE = {
    "hidden_layer_sizes": (64, 32),
    "activation": "relu",
    "solver": "adam",
    "learning_rate_init": 1e-3,
    "batch_size": 64,
}
# Autoencoders: the narrowest hidden layer is the bottleneck (the latent space).
_BASE_AUTOENCODER = {**_BASE, "hidden_layer_sizes": (64, 16, 64)}

# Architecture factor: depth, width and activation, taken in order (then cycled with new
# seeds). The first entry is the base architecture.
_ARCHITECTURES = {
    "classifier": [
        ((64, 32), "relu"),
        ((32,), "relu"),
        ((64, 64, 32), "relu"),
        ((64, 32), "tanh"),
        ((128, 32), "relu"),
        ((64, 32), "logistic"),
        ((64,), "tanh"),
        ((32, 32), "relu"),
    ],
    "autoencoder": [
        ((64, 16, 64), "relu"),
        ((32, 16, 32), "relu"),
        ((64, 32, 16, 32, 64), "relu"),
        ((64, 16, 64), "tanh"),
        ((128, 16, 128), "relu"),
        ((64, 16, 64), "logistic"),
        ((64, 24, 64), "relu"),
        ((64, 12, 64), "tanh"),
    ],
}
# Training-modality factor: (solver, learning_rate_init, batch_size). lbfgs is full-batch
# and has no learning rate. Autoencoders (squared error, linear output) take a smaller SGD
# step: at 0.1 they diverge or collapse to the mean on MNIST-1D.
_TRAININGS = {
    "classifier": [
        ("adam", 1e-3, 64),
        ("sgd", 1e-1, 32),
        ("adam", 1e-2, 256),
        ("lbfgs", None, None),
        ("adam", 3e-4, 16),
        ("sgd", 1e-2, 128),
    ],
    "autoencoder": [
        ("adam", 1e-3, 64),
        ("sgd", 1e-2, 32),
        ("adam", 1e-2, 256),
        ("lbfgs", None, None),
        ("adam", 3e-4, 16),
        ("sgd", 3e-3, 128),
    ],
}


def _plan(factors, n_models, kind, rng):
    """The list of model configurations: one dict per model, in zoo order."""
    base = _BASE_AUTOENCODER if kind == "autoencoder" else _BASE
    architectures = _ARCHITECTURES[kind]
    trainings = _TRAININGS[kind]
    plan = []
    for factor in factors:
        seeds = rng.randint(np.iinfo(np.int32).max, size=n_models)
        for i in range(n_models):
            config = dict(base, factor=factor)
            if factor == "initialization":
                config["seed"] = int(seeds[i])
                config["name"] = f"init-{i}"
            elif factor == "architecture":
                sizes, activation = architectures[i % len(architectures)]
                # Only the architecture varies; a cycle past the list draws a new seed.
                config.update(
                    hidden_layer_sizes=sizes,
                    activation=activation,
                    seed=int(seeds[i // len(architectures)]),
                )
                config["name"] = "arch-{}-{}".format("x".join(map(str, sizes)), activation)
                if i >= len(architectures):
                    config["name"] += f"-{i // len(architectures)}"
            else:
                solver, lr, batch_size = trainings[i % len(trainings)]
                config.update(
                    solver=solver,
                    learning_rate_init=lr,
                    batch_size=batch_size,
                    seed=int(seeds[i // len(trainings)]),
                )
                config["name"] = (
                    "train-lbfgs"
                    if solver == "lbfgs"
                    else f"train-{solver}-lr{lr:g}-bs{batch_size}"
                )
                if i >= len(trainings):
                    config["name"] += f"-{i // len(trainings)}"
            plan.append(config)
    return plan


def _train_one(config, kind, max_iter, X_train, y_train, X_test, y_test):
    """Fit one model; return its held-out latent space, its record and the fitted model."""
    params = {
        "hidden_layer_sizes": config["hidden_layer_sizes"],
        "activation": config["activation"],
        "solver": config["solver"],
        "max_iter": max_iter,
        "random_state": config["seed"],
    }
    if config["solver"] != "lbfgs":
        params["learning_rate_init"] = config["learning_rate_init"]
        params["batch_size"] = config["batch_size"]
    start = time.perf_counter()
    # max_iter is deliberately small so that the zoo trains in seconds: most models stop
    # before the optimiser's tolerance is met. Their held-out score is recorded instead of
    # a warning per model. One BLAS thread (the package's thread policy for small work): the
    # matrices are small (a batch times a layer), for which threads cost more than they
    # bring, and the floating-point result does not depend on the machine's core count.
    sizes = config["hidden_layer_sizes"]
    layer = int(np.argmin(sizes)) if kind == "autoencoder" else len(sizes) - 1
    with warnings.catch_warnings(), one_blas_thread(X_train.size):
        warnings.simplefilter("ignore", ConvergenceWarning)
        if kind == "autoencoder":
            model = MLPRegressor(**params).fit(X_train, X_train)
            score = {"test_mse": float(np.mean((model.predict(X_test) - X_test) ** 2))}
        else:
            model = MLPClassifier(**params).fit(X_train, y_train)
            score = {"test_accuracy": float(model.score(X_test, y_test))}
        Z = hidden_activations(model, X_test, layer=layer)
    elapsed = time.perf_counter() - start
    record = {
        "name": config["name"],
        "factor": config["factor"],
        "hidden_layer_sizes": tuple(sizes),
        "latent_dim": Z.shape[1],
        "activation": config["activation"],
        "solver": config["solver"],
        "learning_rate_init": config["learning_rate_init"],
        "batch_size": config["batch_size"],
        "seed": config["seed"],
        "n_iter": model.n_iter_,
        "dead_units": int(np.sum(np.ptp(Z, axis=0) == 0)),
        **score,
    }
    return Z, record, model, elapsed


def _report(i, n, kind, result):
    _, record, _, elapsed = result
    if kind == "autoencoder":
        score = f"held-out MSE {record['test_mse']:.4f}"
    else:
        score = f"held-out accuracy {record['test_accuracy']:.3f}"
    print(
        f"[{i + 1}/{n}] trained {record['name']}: {score}, {elapsed:.1f} s",
        file=sys.stderr,
        flush=True,
    )


@validate_params(
    {
        "dataset": [StrOptions(set(DATASETS))],
        "factors": [StrOptions({*FACTORS, "all"}), list, tuple],
        "n_models": [NumberInterval(Integral, 2, None, closed="left")],
        "kind": [StrOptions({"classifier", "autoencoder"})],
        "test_size": [NumberInterval(RealNotInt, 0, 1, closed="neither")],
        "max_iter": [NumberInterval(Integral, 1, None, closed="left")],
        "n_jobs": N_JOBS,
        "verbose": ["verbose"],
        "random_state": RANDOM_STATE,
    },
    prefer_skip_nested_validation=True,
)
def make_model_zoo(
    dataset="digits",
    *,
    factors="initialization",
    n_models=5,
    kind="classifier",
    test_size=0.5,
    max_iter=100,
    n_jobs=None,
    verbose=0,
    random_state=0,
):
    """Train a zoo of small neural networks and return their latent spaces.

    Every model is a scikit-learn multi-layer perceptron trained on the same training split
    of ``dataset``; its latent space is a hidden layer (computed by
    :func:`hidden_activations`) evaluated on the *held-out* split. The spaces are therefore
    row-aligned (row ``i`` is the same held-out sample in every space) and none of their rows
    was seen by any encoder, so that stitching evaluated on them (decoders trained on part of
    the held-out rows, tested on the rest) is not flattered by memorised training samples.

    The models differ in the factors of the workshop paper, each varied alone from a base
    configuration (hidden layers ``(64, 32)``, ReLU, Adam, learning rate 1e-3, batches of 64):

    - ``"initialization"``: the same configuration, a different random seed per model;
    - ``"architecture"``: depth, width and activation (``(64, 32)`` ReLU, ``(32,)`` ReLU,
      ``(64, 64, 32)`` ReLU, ``(64, 32)`` tanh, ``(128, 32)`` ReLU, ``(64, 32)`` logistic,
      ...), one seed for the factor;
    - ``"training"``: solver, learning rate and batch size (Adam 1e-3 / 64, SGD 0.1 / 32,
      Adam 1e-2 / 256, L-BFGS, Adam 3e-4 / 16, SGD 1e-2 / 128; autoencoders take SGD steps
      of 1e-2 and 3e-3), one seed for the factor.

    A factor asked for more models than it has variations cycles through them again with
    new seeds.

    Parameters
    ----------
    dataset : {"digits", "mnist1d", "mnist_5k"}, default="digits"
        ``"digits"``: scikit-learn's 1,797 8x8 digits (pixels divided by 16), always
        available. ``"mnist_5k"``: 5,000 MNIST digits (:func:`load_mnist_5k`, pixels divided
        by 255) and ``"mnist1d"``: 5,000 MNIST-1D sequences (:func:`load_mnist1d`) need the
        ``bench`` extra; both load offline.

    factors : {"initialization", "architecture", "training", "all"} or list of them, \
            default="initialization"
        Which factor(s) to vary; ``"all"`` is the three, in that order. Spaces of several
        factors are returned in one mapping, factor after factor; ``models["factor"]``
        tells them apart.

    n_models : int, default=5
        Number of models per factor (at least 2).

    kind : {"classifier", "autoencoder"}, default="classifier"
        ``"classifier"``: :class:`~sklearn.neural_network.MLPClassifier` models; the latent
        space is the last hidden layer. ``"autoencoder"``:
        :class:`~sklearn.neural_network.MLPRegressor` models trained to reconstruct their
        input through a bottleneck (base hidden layers ``(64, 16, 64)``); the latent space is
        the narrowest hidden layer. Use them for reconstruction stitching with
        ``zoo.data`` as the target.

    test_size : float, default=0.5
        Fraction of the dataset held out from training (stratified by label); the spaces are
        of these samples.

    max_iter : int, default=100
        Maximum number of epochs (L-BFGS: iterations) per model. Kept small so that the zoo
        trains in seconds; :class:`~sklearn.exceptions.ConvergenceWarning` is silenced on
        purpose, and each model's held-out score and ``n_iter`` are recorded in ``models``.

    n_jobs : int, default=None
        Number of models trained in parallel with joblib. ``None`` means 1 unless in a
        :func:`joblib.parallel_config` context; ``-1`` means all processors. The result does
        not depend on it.

    verbose : int, default=0
        If positive, print one line per trained model to standard error.

    random_state : int, RandomState instance or None, default=0
        Seeds the train/held-out split and the models' seeds. The default gives the same zoo
        on every call, like a dataset loader (on another CPU, the same up to the last bits
        of the fits: :ref:`portable_numbers`).

    Returns
    -------
    zoo : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with the attributes:

        spaces : dict of str to ndarray of shape (n_held_out, latent_dim)
            The latent spaces of the held-out samples, in zoo order, row-aligned; the
            multi-space input of the rest of skinvariance.
        target : ndarray of shape (n_held_out,)
            Labels of the held-out samples.
        data : ndarray of shape (n_held_out, n_features)
            The held-out inputs, scaled as the models saw them (the reconstruction target).
        models : pandas.DataFrame
            One row per space: ``name``, ``factor``, ``hidden_layer_sizes``, ``latent_dim``,
            ``activation``, ``solver``, ``learning_rate_init`` and ``batch_size`` (missing
            for L-BFGS), ``seed``, ``n_iter``, ``dead_units`` (latent units constant over
            the held-out samples, such as dead ReLUs), and ``test_accuracy`` (classifiers) or
            ``test_mse`` (autoencoders: mean squared reconstruction error) on the held-out
            samples.
        estimators : dict of str to estimator
            The fitted perceptrons, by space name.
        sample_index : ndarray of shape (n_held_out,)
            Row of each held-out sample in the full dataset.
        train_index : ndarray of shape (n_train,)
            Rows of the full dataset the models were trained on.
        fit_time : float
            Wall-clock seconds spent training and embedding.
        target_names : ndarray
            The class labels.
        DESCR : str
            A description of the zoo.

    See Also
    --------
    hidden_activations : Hidden-layer activations of a fitted perceptron.

    Examples
    --------
    >>> from skinvariance.datasets import make_model_zoo
    >>> zoo = make_model_zoo(n_models=2, max_iter=20)
    >>> list(zoo.spaces)
    ['init-0', 'init-1']
    >>> zoo.spaces["init-0"].shape, zoo.target.shape, zoo.data.shape
    ((899, 32), (899,), (899, 64))
    >>> zoo.models[["name", "factor", "hidden_layer_sizes", "solver"]]
         name          factor hidden_layer_sizes solver
    0  init-0  initialization           (64, 32)   adam
    1  init-1  initialization           (64, 32)   adam
    """
    if isinstance(factors, str):
        factors = list(FACTORS) if factors == "all" else [factors]
    else:
        factors = list(factors)
        unknown = [f for f in factors if not isinstance(f, str) or f not in FACTORS]
        if unknown or not factors:
            raise ValueError(
                "The 'factors' parameter of make_model_zoo must be 'all' or a non-empty list "
                f"of str among {sorted(FACTORS)}. Got {factors!r} instead."
            )
        if len(set(factors)) != len(factors):
            raise ValueError(
                "The 'factors' parameter of make_model_zoo must not repeat a factor. "
                f"Got {factors!r} instead."
            )

    rng = check_random_state(random_state)
    X, y, source = load_dataset(dataset)
    indices = np.arange(len(y))
    split_seed = rng.randint(np.iinfo(np.int32).max)
    train_index, test_index = train_test_split(
        indices, test_size=test_size, stratify=y, random_state=split_seed
    )
    X_train, y_train = X[train_index], y[train_index]
    X_test, y_test = X[test_index], y[test_index]
    plan = _plan(factors, n_models, kind, rng)

    start = time.perf_counter()
    jobs = (
        delayed(_train_one)(config, kind, max_iter, X_train, y_train, X_test, y_test)
        for config in plan
    )
    results = []
    # Each job silences ConvergenceWarning itself (worker processes do not share this
    # process's filters); the outer filter covers thread-based backends, whose concurrent
    # catch_warnings blocks would otherwise restore each other's filters out of order.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for i, result in enumerate(Parallel(n_jobs=n_jobs, return_as="generator")(jobs)):
            results.append(result)
            if verbose:
                _report(i, len(plan), kind, result)
    fit_time = time.perf_counter() - start

    models = pd.DataFrame([record for _, record, _, _ in results])
    models["batch_size"] = models["batch_size"].astype("Int64")
    models["learning_rate_init"] = models["learning_rate_init"].astype(np.float64)
    spaces = {record["name"]: Z for Z, record, _, _ in results}
    descr = (
        f"A zoo of {len(plan)} {kind} perceptrons varying {', '.join(factors)} "
        f"({n_models} per factor), trained on {len(train_index)} samples of {source}; "
        f"latent spaces of the {len(test_index)} held-out samples."
    )
    return Bunch(
        spaces=spaces,
        target=y_test,
        data=X_test,
        models=models,
        estimators={record["name"]: model for _, record, model, _ in results},
        sample_index=test_index,
        train_index=train_index,
        fit_time=fit_time,
        target_names=np.unique(y),
        DESCR=descr,
    )
