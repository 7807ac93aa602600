"""The package's own parameter constraints, for ``_parameter_constraints`` and
``validate_params``: numbers that refuse booleans, and the shared shortcuts built on them."""

from numbers import Integral

import numpy as np

from ._compat import Interval

__all__ = ["COUNT", "N_JOBS", "RANDOM_STATE", "NumberInterval"]


class NumberInterval(Interval):
    """:class:`Interval` that also refuses booleans.

    ``True`` is an ``Integral`` (and a ``Real``) to Python, so scikit-learn's ``Interval``
    accepts it as the number 1; a count or a strength given as a boolean is a mistake.
    The error message is ``Interval``'s ("must be an int in the range [1, inf)").

    Examples
    --------
    >>> from numbers import Integral
    >>> from skinvariance._constraints import NumberInterval
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
