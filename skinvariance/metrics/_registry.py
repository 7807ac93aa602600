"""The one registry of similarity measures: names, aliases, symmetry.

:func:`~skinvariance.metrics.similarity_matrix` and
:func:`~skinvariance.compare_invariances` both look measures up here, so a measure added to
the registry is available to both (and to ``skinvariance compare --metrics``).
"""

from dataclasses import dataclass

import pandas as pd

from ._cka import cka, linear_cka, rbf_cka
from ._matched import mean_cosine_similarity, pearson_similarity
from ._neighbours import knn_jaccard, mean_reciprocal_rank
from ._procrustes import procrustes_similarity

__all__ = ["Measure", "available_measures", "get_measure", "measure_table"]


@dataclass(frozen=True)
class Measure:
    """A similarity measure of the registry.

    Attributes
    ----------
    name : str
        Canonical name: the function's name.
    function : callable
        ``function(X, Y, **params) -> float``, higher meaning more similar.
    symmetric : bool
        Whether ``function(X, Y) == function(Y, X)``; symmetric measures are evaluated once
        per unordered pair.
    aliases : tuple of str
        Short names (those of ``compare_invariances``' columns).
    same_width : bool
        Whether ``X`` and ``Y`` must have the same number of features.
    """

    name: str
    function: object
    symmetric: bool = True
    aliases: tuple = ()
    same_width: bool = False


_MEASURES = {
    measure.name: measure
    for measure in (
        Measure("cka", cka),
        Measure("linear_cka", linear_cka),
        Measure("rbf_cka", rbf_cka),
        Measure("mean_cosine_similarity", mean_cosine_similarity, aliases=("cosine",),
                same_width=True),
        Measure("pearson_similarity", pearson_similarity, aliases=("pearson",),
                same_width=True),
        Measure("procrustes_similarity", procrustes_similarity, aliases=("procrustes",)),
        Measure("knn_jaccard", knn_jaccard, aliases=("jaccard",)),
        Measure("mean_reciprocal_rank", mean_reciprocal_rank, symmetric=False,
                aliases=("mrr",), same_width=True),
    )
}
_BY_NAME = {
    **{alias: measure for measure in _MEASURES.values() for alias in measure.aliases},
    **_MEASURES,
}


def available_measures(*, aliases=False):
    """Names accepted wherever a measure is chosen by name.

    Parameters
    ----------
    aliases : bool, default=False
        Whether to include the short names (``"cosine"``, ``"pearson"``, ``"jaccard"``,
        ``"mrr"``, ``"procrustes"``).

    Returns
    -------
    names : list of str
        Sorted names.

    Examples
    --------
    >>> from skinvariance.metrics import available_measures
    >>> "linear_cka" in available_measures(), "mrr" in available_measures(aliases=True)
    (True, True)
    """
    return sorted(_BY_NAME if aliases else _MEASURES)


def get_measure(name, *, parameter="metric", owner=None):
    """The measure registered under ``name`` (a canonical name or an alias).

    Parameters
    ----------
    name : str
        A name from ``available_measures(aliases=True)``.
    parameter : str, default="metric"
        The parameter's name in the error message.
    owner : str, default=None
        The function or estimator whose parameter it is, for the error message.

    Returns
    -------
    measure : Measure

    Raises
    ------
    ValueError
        If ``name`` is not registered; the message lists the accepted names.

    Examples
    --------
    >>> from skinvariance.metrics import get_measure
    >>> get_measure("mrr").name
    'mean_reciprocal_rank'
    """
    try:
        return _BY_NAME[name]
    except (KeyError, TypeError):
        where = f" of {owner}" if owner else ""
        raise ValueError(
            f"The '{parameter}' parameter{where} must be a str among "
            f"{available_measures(aliases=True)}. Got {name!r} instead."
        ) from None


def measure_table():
    """One row per measure: aliases, symmetry, whether widths must match.

    Returns
    -------
    table : pandas.DataFrame
        Indexed by canonical name.

    Examples
    --------
    >>> from skinvariance.metrics import measure_table
    >>> bool(measure_table().loc["mean_reciprocal_rank", "symmetric"])
    False
    """
    rows = [
        {
            "measure": measure.name,
            "aliases": ", ".join(measure.aliases),
            "symmetric": measure.symmetric,
            "same width": measure.same_width,
        }
        for measure in _MEASURES.values()
    ]
    return pd.DataFrame(rows).set_index("measure")
