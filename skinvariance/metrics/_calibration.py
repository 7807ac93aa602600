"""Calibration: a similarity score read against its permutation null."""

import inspect
import math
from numbers import Integral

import numpy as np
from scipy import stats

from .._compat import StrOptions, validate_params
from .._constraints import RANDOM_STATE, NumberInterval
from .._validation import check_paired_arrays
from ._registry import available_measures, call_measure, get_measure

__all__ = ["permutation_test", "seed_sequence"]

#: The most permutation indices scipy is asked to draw at once (int64 values): 64 MiB.
_INDEX_BATCH_VALUES = 2**23
_SCIPY_TAKES_RNG = "rng" in inspect.signature(stats.permutation_test).parameters


def seed_sequence(random_state):
    """A :class:`numpy.random.SeedSequence` drawn from ``random_state``.

    An int (or None, fresh entropy) seeds it directly; a ``RandomState`` or ``Generator``
    gives one draw, so the same object in the same state gives the same sequence.
    """
    if isinstance(random_state, np.random.RandomState):
        return np.random.SeedSequence(int(random_state.randint(2**31 - 1)))
    if isinstance(random_state, np.random.Generator):
        return np.random.SeedSequence(int(random_state.integers(2**63 - 1)))
    return np.random.SeedSequence(random_state)


def _zscore(statistic, null):
    """``(statistic - mean) / std`` of the null (ddof=1); see :func:`permutation_test`."""
    mean = float(np.mean(null))
    std = float(np.std(null, ddof=1)) if null.size > 1 else 0.0
    if std > 0:
        return (float(statistic) - mean) / std
    if abs(statistic - mean) <= 1e-12 * max(1.0, abs(mean)):
        return 0.0
    return math.copysign(math.inf, statistic - mean)


def _null_of(metric, X, Y, params):
    """``(observed, perms -> values, label)`` for a registered measure or a callable."""
    if callable(metric):
        func, factory = metric, None
        label = getattr(metric, "__name__", repr(metric))
    else:
        measure = get_measure(metric)
        func, factory, label = measure.function, measure.null, measure.name
    # validates the inputs and the measure's parameters
    observed = call_measure(func, X, Y, params, owner="permutation_test", label=label)
    X, Y = check_paired_arrays(X, Y, label)
    null = factory(X, Y, **params) if factory is not None else None
    if null is None:
        def null(perms):
            return np.array([func(X, Y[p], **params) for p in perms], dtype=np.float64)
    return float(observed), null, X.shape[0]


@validate_params(
    {
        "X": ["array-like"],
        "Y": ["array-like"],
        "metric": [StrOptions(set(available_measures(aliases=True))), callable],
        "n_permutations": [NumberInterval(Integral, 1, None, closed="left")],
        "random_state": [*RANDOM_STATE, np.random.Generator],
        "metric_params": [dict, None],
    },
    prefer_skip_nested_validation=True,
)
def permutation_test(X, Y, metric="linear_cka", *, n_permutations=999, random_state=None,
                     metric_params=None):
    """Test a similarity score against its permutation null: is it more than chance?

    The rows of Y are shuffled ``n_permutations`` times, breaking the pairing of samples
    while keeping each space's own structure, and the measure is evaluated on each shuffle:
    the values it takes for spaces that share nothing but their marginal structure, at this
    number of samples and these widths. The bookkeeping is
    :func:`scipy.stats.permutation_test` (``permutation_type="pairings"``,
    ``alternative="greater"``): ``pvalue`` is the share of null values at least as large as
    the observed one, counting the observed one, ``(1 + #{null >= observed}) /
    (n_permutations + 1)``, so it is never below ``1 / (n_permutations + 1)``; when
    ``n_permutations`` reaches ``n_samples!`` every permutation is enumerated once (an exact
    test). The **z-score** ``(statistic - mean(null)) / std(null)`` (sample standard
    deviation) says how far above chance the score lies where the p-value saturates: it is
    what makes scores comparable across numbers of samples, widths and depths. A null with no
    spread gives a z-score of 0 if the statistic equals it, +-inf otherwise.

    Permutations reuse whatever a shuffle of Y's rows does not change (the measure's
    ``null`` in the registry, see :func:`measure_table`): the centred Gram matrices (float32,
    within ``working_memory``) or the feature-space matrices for CKA, the neighbour lists of
    both spaces for :func:`knn_jaccard`, :func:`mutual_knn` and :func:`cknna`, the SVDs for
    :func:`svcca`, :func:`pwcca` and :func:`linear_regression_r2`, the ranked dissimilarity
    matrices for :func:`rsa`. Other measures, and callables, are re-run on every
    permutation. Null values from float32 Gram matrices agree with re-running the measure to
    about 1e-9 (:ref:`calibration`); the neighbour lists of a shuffled space are those
    of the original renamed, which differs from a new search only where the last place ties
    (broken by row index).

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features_x)
        First space.
    Y : array-like of shape (n_samples, n_features_y)
        Second space, row-aligned with X; its rows are the ones shuffled.
    metric : str or callable, default="linear_cka"
        A measure of the registry by name or alias (see :func:`available_measures`), or a
        callable ``metric(X, Y, **metric_params) -> float``, higher meaning more similar.
    n_permutations : int, default=999
        Number of shuffles.
    random_state : int, RandomState instance, Generator or None, default=None
        Seeds the shuffles; an int gives the same null distribution at every call.
    metric_params : dict, default=None
        Keyword arguments of the measure, e.g. ``{"k": 20}``.

    Returns
    -------
    result : scipy.stats's PermutationTestResult
        The result of :func:`scipy.stats.permutation_test` with one more attribute:

        statistic : float
            The measure of ``(X, Y)``, exactly as the measure returns it.
        pvalue : float
            The one-sided p-value (greater similarity than chance).
        null_distribution : ndarray of shape (n_permutations,)
            The measure of ``(X, Y[p])`` for each shuffle ``p``.
        zscore : float
            ``(statistic - mean(null_distribution)) / std(null_distribution, ddof=1)``.

    Raises
    ------
    ValueError
        On invalid inputs or parameters (those of the measure included), with the measure's
        message.

    See Also
    --------
    similarity_matrix : With ``calibrate=...``, a z-score or p-value for every pair of spaces.

    Examples
    --------
    >>> import numpy as np
    >>> from skinvariance.metrics import permutation_test
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(100, 20))
    >>> Q = np.linalg.qr(rng.normal(size=(20, 20)))[0]
    >>> result = permutation_test(X, X @ Q, "linear_cka", n_permutations=99, random_state=0)
    >>> round(float(result.statistic), 6), float(result.pvalue)  # a rotation: not chance
    (1.0, 0.01)
    >>> bool(result.zscore > 10)
    True
    >>> result = permutation_test(X, rng.normal(size=(100, 20)), n_permutations=99,
    ...                           random_state=0)
    >>> bool(result.pvalue > 0.05), bool(abs(result.zscore) < 3)  # unrelated spaces
    (True, True)
    """
    observed, null, n = _null_of(metric, X, Y, dict(metric_params or {}))

    def statistic(index, axis=-1):
        # scipy evaluates the unpermuted data first (a 1-D index): the measure's own value.
        return np.float64(observed) if index.ndim == 1 else null(index)

    rng = np.random.default_rng(seed_sequence(random_state))
    result = stats.permutation_test(
        (np.arange(n),),
        statistic,
        permutation_type="pairings",
        vectorized=True,
        n_resamples=n_permutations,
        batch=max(1, min(n_permutations, _INDEX_BATCH_VALUES // n)),
        alternative="greater",
        **({"rng": rng} if _SCIPY_TAKES_RNG else {"random_state": rng}),
    )
    result.zscore = _zscore(result.statistic, result.null_distribution)
    return result

