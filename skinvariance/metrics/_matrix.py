"""One measure between every pair of spaces of a multi-space input."""

from numbers import Integral, Real

import numpy as np
import pandas as pd
from joblib import delayed
from sklearn.utils.parallel import Parallel
from sklearn.utils.parallel import delayed as delayed_with_config

from .._compat import StrOptions, validate_params
from .._constraints import N_JOBS, RANDOM_STATE, NumberInterval
from .._parallel import run_small_tasks
from .._validation import error_class
from ..spaces import check_spaces
from ._calibration import permutation_test, seed_sequence
from ._registry import available_measures, call_measure, get_measure

__all__ = ["similarity_matrix"]


def _calibrated(X, Y, params, metric, calibrate, n_permutations, seed):
    result = permutation_test(X, Y, metric, n_permutations=n_permutations,
                              random_state=np.random.default_rng(seed), metric_params=params)
    if not np.isfinite(result.statistic):
        return result.statistic  # reported by _evaluate, as for an uncalibrated value
    return result.zscore if calibrate == "zscore" else result.pvalue


def _failed(exc, name, pair):
    """``exc`` told with the measure's name and the spaces it failed on."""
    if len(pair) == 1:
        return error_class(exc)(f"The metric {name} failed on the space {pair[0]!r}: {exc}")
    return error_class(exc)(
        f"The metric {name} failed on the spaces {pair[0]!r} (X) and {pair[1]!r} (Y): {exc}"
    )


def _evaluate(func, X, Y, params, pair, name, calibration=None):
    try:
        if calibration is None:
            value = call_measure(func, X, Y, params, owner="similarity_matrix", label=name)
        else:
            value = _calibrated(X, Y, params, *calibration)
    except ValueError as exc:
        raise _failed(exc, name, pair) from exc
    return _finite(value, name, pair, calibration)


def _searched_space(per_space, X, space, name):
    """What the measure's per-space split searches once in the space ``space``."""
    try:
        return per_space.prepare(X)
    except ValueError as exc:
        raise _failed(exc, name, (space,)) from exc


def _compared(per_space, PX, PY, pair, name):
    """The measure of a pair from its two spaces' searches."""
    try:
        value = per_space.compare(PX, PY)
    except ValueError as exc:
        raise _failed(exc, name, pair) from exc
    return _finite(value, name, pair)


def _finite(value, name, pair, calibration=None):
    """``value`` as a float, checked finite (a z-score may be infinite, not NaN)."""
    # A z-score may be infinite (a null without spread); the measure itself may not.
    if not isinstance(value, Real | np.number) or not (
        np.isfinite(value) or (calibration is not None and not np.isnan(value))
    ):
        raise ValueError(
            f"The metric {name} must return a finite real number; got {value!r} for the "
            f"spaces {pair[0]!r} and {pair[1]!r}."
        )
    return float(value)


@validate_params(
    {
        "spaces": "no_validation",
        "metric": [StrOptions(set(available_measures(aliases=True))), callable],
        "n_jobs": N_JOBS,
        "metric_params": [dict, None],
        "calibrate": ["boolean", StrOptions({"zscore", "pvalue"})],
        "n_permutations": [NumberInterval(Integral, 1, None, closed="left")],
        "random_state": [*RANDOM_STATE, np.random.Generator],
    },
    prefer_skip_nested_validation=True,
)
def similarity_matrix(spaces, metric="linear_cka", *, n_jobs=None, metric_params=None,
                      calibrate=False, n_permutations=999, random_state=None):
    """A similarity measure between every pair of spaces of a multi-space input.

    With ``calibrate``, each value is read against its own permutation null
    (:func:`permutation_test`): the raw size of a score depends on the number of samples and
    on the spaces' widths and depths, its distance above chance much less.

    Parameters
    ----------
    spaces : mapping of str to array-like or DataFrame
        Row-aligned spaces: ``{name: array (n_samples, d_name)}`` or a DataFrame with two
        column levels (space, feature) as made by :func:`~skinvariance.stack_spaces`; at least
        two spaces, validated by :func:`skinvariance.spaces.check_spaces`.
    metric : str or callable, default="linear_cka"
        A measure of this module by name (``"cka"``, ``"linear_cka"``, ``"rbf_cka"``,
        ``"mean_cosine_similarity"``, ``"pearson_similarity"``, ``"procrustes_similarity"``,
        ``"knn_jaccard"``, ``"mean_reciprocal_rank"``, or a short name of
        :func:`available_measures`) or a callable ``metric(X, Y) -> float``.
        Named measures are evaluated once per unordered pair and mirrored, except the
        asymmetric ``"mean_reciprocal_rank"``; a callable is evaluated on every ordered pair.
        The diagonal is evaluated too (``metric(X, X)``), not assumed.
    n_jobs : int, default=None
        Pairs evaluated in parallel with :class:`joblib.Parallel`; None means 1 unless in a
        ``joblib.parallel_config`` context, -1 means all processors. A named measure that
        splits per space (``"cka"``, ``"linear_cka"``, ``"knn_jaccard"``, ``"mutual_knn"``,
        ``"cknna"``, ``"mean_reciprocal_rank"``; uncalibrated, with no ``metric_params``
        but a neighbour count ``k``) is
        computed from one search of each space, then one comparison per pair (the same
        values, for a fraction of the cost): those units run on threads, by default as many
        as BLAS may use, one BLAS thread each (see :ref:`stitching_speed`).
    metric_params : dict, default=None
        Keyword arguments for the measure, e.g. ``{"k": 20}`` for ``"knn_jaccard"``.
    calibrate : bool or {"zscore", "pvalue"}, default=False
        False: the measure's values. ``"zscore"`` (or True): for each pair, the z-score of
        the value against its permutation null, ``(value - mean(null)) / std(null)``, with
        the rows of the column's space shuffled ``n_permutations`` times: 0 is chance level,
        and the scale is comparable across pairs of different sizes and widths.
        ``"pvalue"``: the one-sided permutation p-value (greater similarity than chance),
        never below ``1 / (n_permutations + 1)``, so it stops telling strong pairs apart
        where the z-score does not. The diagonal is calibrated too. Symmetric measures are
        tested once per unordered pair.
    n_permutations : int, default=999
        Shuffles per pair when calibrating.
    random_state : int, RandomState instance, Generator or None, default=None
        Seeds the shuffles when calibrating; each pair draws its own stream from it, so the
        result does not depend on ``n_jobs``.

    Returns
    -------
    matrix : DataFrame of shape (n_spaces, n_spaces)
        ``matrix.loc[a, b] = metric(spaces[a], spaces[b])`` (or its z-score or p-value),
        indexed and columned by the space names in input order (row = first argument).

    Raises
    ------
    ValueError
        If the spaces are invalid (the message names the space), or the measure cannot compare
        two of them (e.g. different widths for ``"mean_cosine_similarity"``), or a callable
        returns anything but a finite number.

    Examples
    --------
    >>> import numpy as np
    >>> from skinvariance.metrics import similarity_matrix
    >>> rng = np.random.default_rng(0)
    >>> A = rng.normal(size=(50, 4))
    >>> spaces = {"a": A, "a_scaled": 3.0 * A, "noise": rng.normal(size=(50, 6))}
    >>> similarity_matrix(spaces, "linear_cka").round(2)
                 a  a_scaled  noise
    a         1.00      1.00   0.08
    a_scaled  1.00      1.00   0.08
    noise     0.08      0.08   1.00
    >>> z = similarity_matrix(spaces, "linear_cka", calibrate="zscore", n_permutations=99,
    ...                       random_state=0)
    >>> bool(z.loc["a", "a_scaled"] > 10), bool(abs(z.loc["a", "noise"]) < 3)
    (True, True)
    """
    checked = check_spaces(spaces, ensure_min_samples=1)
    names = list(checked)
    params = dict(metric_params or {})
    if callable(metric):
        func, symmetric = metric, False
        label = getattr(metric, "__name__", repr(metric))
    else:
        measure = get_measure(metric)
        func, symmetric = measure.function, measure.symmetric
        label = repr(metric)
    if symmetric:
        pairs = [(a, b) for i, a in enumerate(names) for b in names[i:]]
    else:
        pairs = [(a, b) for a in names for b in names]
    if calibrate:
        mode = "zscore" if calibrate is True else calibrate
        seeds = seed_sequence(random_state).spawn(len(pairs))
        calibrations = [(metric, mode, n_permutations, seed) for seed in seeds]
    else:
        calibrations = [None] * len(pairs)
    per_space = None if callable(metric) or calibrate else measure.split_with(params)
    if per_space is not None:
        # each space searched once (its neighbour lists, unit rows or CKA terms), then every
        # pair compared: the values of the pair-by-pair function
        states = dict(zip(names, run_small_tasks(
            (delayed(_searched_space)(per_space, checked[name], name, label) for name in names),
            n_jobs, shared_memory=True), strict=True))
        values = run_small_tasks(
            (delayed(_compared)(per_space, states[a], states[b], (a, b), label)
             for a, b in pairs), n_jobs, shared_memory=True)
    else:
        values = Parallel(n_jobs=n_jobs)(
            delayed_with_config(_evaluate)(func, checked[a], checked[b], params, (a, b),
                                           label, calibration)
            for (a, b), calibration in zip(pairs, calibrations, strict=True)
        )
    out = pd.DataFrame(np.nan, index=pd.Index(names), columns=pd.Index(names), dtype=np.float64)
    for (a, b), value in zip(pairs, values, strict=True):
        out.loc[a, b] = value
        if symmetric:
            out.loc[b, a] = value
    return out
