"""Every import of scikit-learn's private helpers, in one place.

scikit-learn moves its private helpers between releases; keeping them here means such a
move touches this file alone.
"""

import copy
import inspect
from numbers import Integral

import numpy as np
from sklearn.base import _fit_context
from sklearn.utils._chunking import get_chunk_n_rows
from sklearn.utils._param_validation import (
    HasMethods,
    Hidden,
    Interval,
    InvalidParameterError,
    Options,
    RealNotInt,
    StrOptions,
    validate_parameter_constraints,
    validate_params,
)
from sklearn.utils._set_output import _get_output_config
from sklearn.utils.metaestimators import _BaseComposition
from sklearn.utils.validation import _check_feature_names_in, check_is_fitted, validate_data


class NumberInterval(Interval):
    """:class:`Interval` that also refuses booleans.

    ``True`` is an ``Integral`` (and a ``Real``) to Python, so scikit-learn's ``Interval``
    accepts it as the number 1; a count or a strength given as a boolean is a mistake.
    The error message is ``Interval``'s ("must be an int in the range [1, inf)").

    Examples
    --------
    >>> from numbers import Integral
    >>> from skinvariance._compat import NumberInterval
    >>> count = NumberInterval(Integral, 1, None, closed="left")
    >>> count.is_satisfied_by(3), count.is_satisfied_by(True)
    (True, False)
    """

    def is_satisfied_by(self, val):
        return not isinstance(val, (bool, np.bool_)) and super().is_satisfied_by(val)


#: The constraint of a count (``k``, ``n_permutations``, ...): an int of at least 1, not a bool.
COUNT = NumberInterval(Integral, 1, None, closed="left")
#: The constraints of ``random_state``: scikit-learn's (an int seed, a RandomState instance or
#: None), but not a bool, which ``check_random_state`` would silently take for the seed 0 or 1.
RANDOM_STATE = [
    NumberInterval(Integral, 0, 2**32 - 1, closed="both"),
    np.random.RandomState,
    None,
]
#: The constraints of ``n_jobs`` (joblib's meaning): a nonzero int (negative counts down from
#: the number of processors) or None; not a bool, not 0 (which joblib refuses).
N_JOBS = [
    NumberInterval(Integral, None, -1, closed="right"),
    NumberInterval(Integral, 1, None, closed="left"),
    None,
]

__all__ = [
    "COUNT",
    "RANDOM_STATE",
    "N_JOBS",
    "HasMethods",
    "Hidden",
    "Interval",
    "InvalidParameterError",
    "NumberInterval",
    "Options",
    "RealNotInt",
    "StrOptions",
    "_BaseComposition",
    "_check_feature_names_in",
    "_fit_context",
    "check_is_fitted",
    "get_chunk_n_rows",
    "logistic_regression_cv",
    "plain_output",
    "transform_output",
    "validate_data",
    "validate_parameter_constraints",
    "validate_params",
]


def transform_output(estimator):
    """The container ``estimator.transform`` returns: ``"default"``, ``"pandas"``, ...

    What :meth:`set_output` configured (or the global ``transform_output`` setting).
    """
    return _get_output_config("transform", estimator)["dense"]


def plain_output(estimator):
    """``estimator`` itself, or a copy whose ``transform`` returns arrays (``set_output`` undone).

    Used where a transform is applied block by block and the blocks are assembled into one
    array: the container is made once, for the whole result, not once per block.
    """
    if transform_output(estimator) == "default":
        return estimator
    estimator = copy.deepcopy(estimator)
    estimator.set_output(transform="default")
    return estimator


def logistic_regression_cv(**params):
    """``LogisticRegressionCV(**params)``, an L2 penalty, without the transition warnings.

    scikit-learn 1.8 and later warn unless ``l1_ratios`` and ``use_legacy_attributes`` are
    given; earlier releases have neither parameter.
    """
    from sklearn.linear_model import LogisticRegressionCV

    names = inspect.signature(LogisticRegressionCV).parameters
    if "use_legacy_attributes" in names:
        params.setdefault("l1_ratios", (0.0,))
        params.setdefault("use_legacy_attributes", False)
    return LogisticRegressionCV(**params)
