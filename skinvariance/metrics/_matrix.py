"""One measure between every pair of spaces of a multi-space input."""

from numbers import Integral, Real

import numpy as np
import pandas as pd
from joblib import Parallel, delayed

from .._compat import StrOptions, validate_params
from .._validation import error_class
from ..spaces import check_spaces
from ._registry import available_measures, get_measure

__all__ = ["similarity_matrix"]


def _evaluate(func, X, Y, params, pair, name):
    try:
        value = func(X, Y, **params)
    except ValueError as exc:
        raise error_class(exc)(
            f"The metric {name} failed on the spaces {pair[0]!r} (X) and {pair[1]!r} (Y): {exc}"
        ) from exc
    if not isinstance(value, Real | np.number) or not np.isfinite(value):
        raise ValueError(
            f"The metric {name} must return a finite real number; got {value!r} for the "
            f"spaces {pair[0]!r} and {pair[1]!r}."
        )
    return float(value)


@validate_params(
    {
        "spaces": "no_validation",
        "metric": [StrOptions(set(available_measures(aliases=True))), callable],
        "n_jobs": [Integral, None],
        "metric_params": [dict, None],
    },
    prefer_skip_nested_validation=True,
)
def similarity_matrix(spaces, metric="linear_cka", *, n_jobs=None, metric_params=None):
    """A similarity measure between every pair of spaces of a multi-space input.

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
        ``joblib.parallel_config`` context, -1 means all processors.
    metric_params : dict, default=None
        Keyword arguments for the measure, e.g. ``{"k": 20}`` for ``"knn_jaccard"``.

    Returns
    -------
    matrix : DataFrame of shape (n_spaces, n_spaces)
        ``matrix.loc[a, b] = metric(spaces[a], spaces[b])``, indexed and columned by the space
        names in input order (row = first argument).

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
    values = Parallel(n_jobs=n_jobs)(
        delayed(_evaluate)(func, checked[a], checked[b], params, (a, b), label) for a, b in pairs
    )
    out = pd.DataFrame(np.nan, index=pd.Index(names), columns=pd.Index(names), dtype=np.float64)
    for (a, b), value in zip(pairs, values, strict=True):
        out.loc[a, b] = value
        if symmetric:
            out.loc[b, a] = value
    return out
