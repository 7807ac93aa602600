"""Every import of scikit-learn's private helpers, in one place.

scikit-learn moves its private helpers between releases; keeping them here means such a
move touches this file alone. Nothing else lives here: the package's own constraints are in
``_constraints``, public scikit-learn names are imported from scikit-learn directly.
"""

import copy

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
from sklearn.utils.validation import _check_feature_names_in, _check_sample_weight

__all__ = [
    "HasMethods",
    "Hidden",
    "Interval",
    "InvalidParameterError",
    "Options",
    "RealNotInt",
    "StrOptions",
    "_BaseComposition",
    "_check_feature_names_in",
    "_check_sample_weight",
    "_fit_context",
    "get_chunk_n_rows",
    "plain_output",
    "transform_output",
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
