"""The one registry of similarity measures: names, aliases, symmetry.

:func:`~skinvariance.metrics.similarity_matrix` and
:func:`~skinvariance.compare_invariances` both look measures up here, so a measure added to
the registry is available to both (and to ``skinvariance compare --metrics``).
"""

from dataclasses import dataclass

from .._registry import Registry
from ._cca import pwcca, pwcca_null, svcca, svcca_null
from ._cka import cka, linear_cka, rbf_cka
from ._cka_null import cka_null, linear_cka_null, rbf_cka_null
from ._matched import mean_cosine_similarity, pearson_similarity
from ._mutual import cknna, cknna_null, knn_jaccard_null, mutual_knn, mutual_knn_null
from ._neighbours import knn_jaccard, mean_reciprocal_rank
from ._procrustes import procrustes_similarity
from ._regression import linear_regression_r2, linear_regression_r2_null
from ._rsa import rsa, rsa_null

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
    value_range : str
        The range of the values, as documented by the function.
    null : callable or None
        ``null(X, Y, **params)`` returns a function ``perms -> values`` giving the measure of
        ``(X, Y[p])`` for every row ``p`` of an array of permutations, reusing what a
        permutation of Y's rows does not change (see
        :func:`~skinvariance.metrics.permutation_test`); it may return None where it cannot
        help. None: every permutation re-runs the function.
    """

    name: str
    function: object
    symmetric: bool = True
    aliases: tuple = ()
    same_width: bool = False
    value_range: str = "[0, 1]"
    null: object = None


_CKA_RANGE = "[0, 1] ([-1, 1] debiased)"
_MEASURES = Registry(
    (
        Measure("cka", cka, value_range=_CKA_RANGE, null=cka_null),
        Measure("linear_cka", linear_cka, value_range=_CKA_RANGE, null=linear_cka_null),
        Measure("rbf_cka", rbf_cka, value_range=_CKA_RANGE, null=rbf_cka_null),
        Measure("mean_cosine_similarity", mean_cosine_similarity, aliases=("cosine",),
                same_width=True, value_range="[-1, 1]"),
        Measure("pearson_similarity", pearson_similarity, aliases=("pearson",),
                same_width=True, value_range="[-1, 1]"),
        Measure("procrustes_similarity", procrustes_similarity, aliases=("procrustes",)),
        Measure("knn_jaccard", knn_jaccard, aliases=("jaccard",), null=knn_jaccard_null),
        Measure("mean_reciprocal_rank", mean_reciprocal_rank, symmetric=False,
                aliases=("mrr",), same_width=True, value_range="[1/n, 1]"),
        Measure("svcca", svcca, null=svcca_null),
        Measure("pwcca", pwcca, symmetric=False, null=pwcca_null),
        Measure("rsa", rsa, value_range="[-1, 1]", null=rsa_null),
        Measure("mutual_knn", mutual_knn, aliases=("mknn",), null=mutual_knn_null),
        Measure("cknna", cknna, value_range="[-1, 1]", null=cknna_null),
        Measure("linear_regression_r2", linear_regression_r2, symmetric=False,
                aliases=("r2",), null=linear_regression_r2_null),
    ),
    parameter="metric",
)


def available_measures(*, aliases=False):
    """Names accepted wherever a measure is chosen by name.

    Parameters
    ----------
    aliases : bool, default=False
        Whether to include the short names (``"cosine"``, ``"pearson"``, ``"jaccard"``,
        ``"mrr"``, ``"procrustes"``, ``"mknn"``, ``"r2"``).

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
    return _MEASURES.names(aliases=aliases)


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
    return _MEASURES.get(name, parameter=parameter, owner=owner)


def measure_table():
    """One row per measure: aliases, range, symmetry, whether widths must match, fast null.

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
    return _MEASURES.table(
        lambda measure: {
            "measure": measure.name,
            "aliases": ", ".join(measure.aliases),
            "range": measure.value_range,
            "symmetric": measure.symmetric,
            "same width": measure.same_width,
            "fast null": measure.null is not None,
        },
        index="measure",
    )
