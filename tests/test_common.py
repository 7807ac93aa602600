"""scikit-learn's estimator checks over every public estimator, discovered from the package."""

import inspect
import re
from pathlib import Path

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
    "MatchedAlignment": (
        "fits on two unpaired spaces (fit(X, Y, pairs=...), row counts may differ, Y 2-D), "
        "which the standard checks cannot generate; tests/test_matching.py checks clone, "
        "a Pipeline and pickling"
    ),
    "StitchingEvaluator": (
        "fits on a multi-space input (several row-aligned spaces), which the standard checks "
        "cannot generate; tests/test_stitching_evaluator.py checks clone, parameters and pickling"
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


# The checks fit on a few hundred random rows with default settings; a decoder that has not
# converged there says so, as scikit-learn's own MLPs do (what is checked is the API).
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@parametrize_with_checks(list(_instances()), expected_failed_checks=_expected_failed_checks)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


# The estimators of the public contract (shared/DESIGN.md, "Public API").
_CONTRACT_ESTIMATORS = {
    "RelativeProjection",
    "ProductProjection",
    "OrthogonalAlignment",
    "AffineAlignment",
    "StitchingEvaluator",
}


def test_every_public_estimator_is_checked_or_excused():
    """Discovery finds the contract's estimators (none dropped from ``__all__`` or renamed),
    and every excuse is for a discovered estimator, with a reason whose test file exists."""
    discovered = {cls.__name__ for cls in _public_estimator_classes()}
    assert _CONTRACT_ESTIMATORS <= discovered, _CONTRACT_ESTIMATORS - discovered
    for name, reason in _NOT_STANDARD.items():
        assert name in discovered, f"{name} is excused but is not a public estimator"
        assert isinstance(reason, str) and reason.strip(), f"{name} is excused without reason"
        for test_file in re.findall(r"tests/\S+\.py", reason):
            assert (Path(__file__).parent.parent / test_file).is_file(), test_file


@pytest.mark.parametrize(
    "estimator", [est for est in _instances() if hasattr(est, "transform")],
    ids=lambda est: type(est).__name__,
)
def test_float32_in_float32_out(estimator, rng):
    X = rng.normal(size=(30, 5)).astype(np.float32)
    fitted = estimator.fit(X, X[:, :2] if estimator.__sklearn_tags__().target_tags.required
                           else None)
    assert fitted.transform(X).dtype == np.float32
