"""The exceptions the package raises beyond Python's and scikit-learn's own.

A wrong parameter raises scikit-learn's ``InvalidParameterError`` (a :class:`ValueError`
and a :class:`TypeError`), a wrong type a :class:`TypeError`; data that cannot be used as
given raises :class:`DataError`.
"""

__all__ = ["DataError", "MatchingWarning"]


class DataError(ValueError):
    """The data given is unusable as it is: its message names the argument and says why.

    Raised for a problem with the data a user passed, not with a parameter's value and not a
    bug: NaN or infinite values, spaces whose row counts differ, labels of the wrong length, a
    damaged or unreadable file, a matrix too large for the memory allowed. The command line
    prints it as one line on standard error (exit status 2); any other exception keeps its
    traceback.

    A subclass of :class:`ValueError`, so ``except ValueError`` keeps catching it, as it
    catches scikit-learn's own errors about data.

    Examples
    --------
    >>> import numpy as np
    >>> from skinvariance.exceptions import DataError
    >>> from skinvariance.spaces import check_spaces
    >>> try:
    ...     check_spaces({"a": np.ones((4, 3)), "b": np.ones((5, 3))})
    ... except DataError as error:
    ...     print(error)
    All spaces must have the same number of rows (samples); space 'b' has 5 rows but space 'a' has 4.
    """  # noqa: E501


class MatchingWarning(UserWarning):
    """Pairs found without any known pair are likely wrong: the coarse match was unstable.

    Issued by :func:`~skinvariance.match_spaces` (and :class:`~skinvariance.MatchedAlignment`)
    when its label-free quality signal (``return_quality=True``; the ``match_quality_``
    attribute) is below ``0.5``: two independent matches carry the rows of X to places in Y
    that agree less than that. Read more in the :ref:`User Guide <matching>`.

    Examples
    --------
    >>> import warnings
    >>> import numpy as np
    >>> from skinvariance import match_spaces
    >>> from skinvariance.exceptions import MatchingWarning
    >>> rng = np.random.default_rng(0)
    >>> X, Y = rng.normal(size=(400, 8)), rng.normal(size=(400, 8))  # unrelated clouds
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     pairs = match_spaces(X, Y, n_runs=10, random_state=0)
    >>> any(issubclass(w.category, MatchingWarning) for w in caught)
    True
    """
