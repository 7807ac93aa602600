"""scikit-learn's estimator checks over every public estimator, discovered from the package."""

import inspect

import numpy as np
import pytest
from sklearn.base import BaseEstimator
from sklearn.utils.estimator_checks import parametrize_with_checks

import skinvariance


def _public_estimator_classes():
    return sorted(
        (
            obj
            for name in skinvariance.__all__
            if inspect.isclass(obj := getattr(skinvariance, name))
            and issubclass(obj, BaseEstimator)
        ),
        key=lambda cls: cls.__name__,
    )


# Constructor arguments for estimators that have required parameters.
_REQUIRED_ARGUMENTS = {
    "ProductProjection": {"projections": ["cosine", "euclidean", "l1", "linf"]},
}

# Estimators the standard checks cannot drive, with the reason.
_NOT_STANDARD = {
    "StitchingEvaluator": (
        "fits on a multi-space input (several row-aligned spaces), which the standard checks "
        "cannot generate; tests/test_stitching.py checks clone, parameters and pickling"
    ),
}


def _instances():
    for cls in _public_estimator_classes():
        if cls.__name__ in _NOT_STANDARD:
            continue
        yield cls(**_REQUIRED_ARGUMENTS.get(cls.__name__, {}))


def _expected_failed_checks(estimator):
    """Each estimator may declare its known failures, each with a reason."""
    getter = getattr(type(estimator), "_expected_failed_checks", None)
    return getter(estimator) if getter is not None else {}


@parametrize_with_checks(list(_instances()), expected_failed_checks=_expected_failed_checks)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


def test_every_public_estimator_is_checked_or_excused():
    discovered = {cls.__name__ for cls in _public_estimator_classes()}
    checked = {type(est).__name__ for est in _instances()}
    assert discovered == checked | (set(_NOT_STANDARD) & discovered)
    assert {"RelativeProjection", "ProductProjection"} <= checked


@pytest.mark.parametrize(
    "estimator", [est for est in _instances() if hasattr(est, "transform")],
    ids=lambda est: type(est).__name__,
)
def test_float32_in_float32_out(estimator, rng):
    X = rng.normal(size=(30, 5)).astype(np.float32)
    fitted = estimator.fit(X, X[:, :2] if estimator.__sklearn_tags__().target_tags.required
                           else None)
    assert fitted.transform(X).dtype == np.float32
