"""Every import of scikit-learn's private helpers, in one place.

scikit-learn moves its private helpers between releases; keeping them here means such a
move touches this file alone.
"""

import numpy as np
from sklearn.base import _fit_context
from sklearn.utils._chunking import get_chunk_n_rows
from sklearn.utils._param_validation import (
    HasMethods,
    Hidden,
    Interval,
    Options,
    RealNotInt,
    StrOptions,
    validate_params,
)
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


__all__ = [
    "HasMethods",
    "Hidden",
    "Interval",
    "NumberInterval",
    "Options",
    "RealNotInt",
    "StrOptions",
    "_check_feature_names_in",
    "_fit_context",
    "check_is_fitted",
    "get_chunk_n_rows",
    "validate_data",
    "validate_params",
]
