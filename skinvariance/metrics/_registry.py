"""The one registry of similarity measures: names, aliases, symmetry.

:func:`~skinvariance.metrics.similarity_matrix` and
:func:`~skinvariance.compare_invariances` both look measures up here, so a measure added to
the registry is available to both (and to ``skinvariance compare --metrics``).
"""

import copy
import inspect
from dataclasses import dataclass
from numbers import Integral

from sklearn import config_context

from .._compat import InvalidParameterError, validate_params
from .._registry import Registry
from ._cca import pwcca, pwcca_null, svcca, svcca_null
from ._cka import SharedLinearCKA, cka, linear_cka, rbf_cka
from ._cka_null import cka_null, linear_cka_null, rbf_cka_null
from ._matched import mean_cosine_similarity, pearson_similarity
from ._mutual import (
    SharedCKNNA,
    SharedNeighbours,
    cknna,
    cknna_null,
    knn_jaccard_null,
    mutual_knn,
    mutual_knn_null,
)
from ._neighbours import SharedRanks, knn_jaccard, mean_reciprocal_rank
from ._procrustes import procrustes_similarity
from ._regression import linear_regression_r2, linear_regression_r2_null
from ._rsa import rsa, rsa_null

__all__ = [
    "Measure",
    "available_measures",
    "call_measure",
    "check_measure_params",
    "get_measure",
    "measure_table",
]


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
    scaling : {"space", "sample"}
        The scaling the measure does not see, with its default parameters: a positive
        factor per space (``"space"``) or per sample, i.e. per row of either space
        (``"sample"``). The measure works on copies rescaled by powers of two, so that it
        gives the same value at every magnitude (its numeric contract, see ``tolerance``).
    tolerance : float
        The numeric contract: for finite input of any magnitude the dtype holds, the value
        is that of the same numbers brought to scale 1 (each space, or each sample, times a
        power of two), within this absolute difference; never NaN.
    scale_parameters : str
        How a parameter with units of the data follows a rescaling, if one does.
    per_space : object or None
        With the default parameters, the measure split into a search done once per space,
        ``per_space.prepare(Z)``, and a cheap comparison of two prepared spaces,
        ``per_space.compare(PX, PY)`` (the same value): what a comparison of many spaces
        uses to search each space once. None: the measure is computed pair by pair. Where
        ``per_space.samples_queries`` is true, ``prepare(Z, queries)`` takes row indices: the
        measure is then the mean over these rows of each row's value against all the rows
        (what ``compare_invariances``' ``max_samples`` uses).
    samples_rows : bool
        Whether the measure compares every pair of rows with no such split (its cost grows as
        the rows squared): above ``compare_invariances``' ``max_samples`` it is computed on a
        random subset of that many rows (the pairs among them).
    """

    name: str
    function: object
    symmetric: bool = True
    aliases: tuple = ()
    same_width: bool = False
    value_range: str = "[0, 1]"
    null: object = None
    scaling: str = "space"
    tolerance: float = 1e-12
    scale_parameters: str = ""
    per_space: object = None
    samples_rows: bool = False

    def split_with(self, params):
        """The per-space split of the measure with keyword arguments ``params``, or None when
        the split cannot take them (then the measure is computed pair by pair, with them).

        No ``params``: ``per_space``. A neighbour count alone (``{"k": k}``, a positive
        int) for a split that has one: a copy of it searching ``k`` neighbours.
        """
        if not params:
            return self.per_space
        k = params.get("k")
        if (set(params) == {"k"} and hasattr(self.per_space, "k") and isinstance(k, Integral)
                and not isinstance(k, bool) and k >= 1):
            split = copy.copy(self.per_space)
            split.k = int(k)
            return split
        return None

    @property
    def contract(self):
        """The numeric contract as the documentation states it."""
        extra = f" ({self.scale_parameters})" if self.scale_parameters else ""
        return f"value at scale 1 ± {self.tolerance:.0e}, never NaN{extra}"


_CKA_RANGE = "[0, 1] ([-1, 1] debiased)"
_MEASURES = Registry(
    (
        Measure("cka", cka, value_range=_CKA_RANGE, null=cka_null,
                per_space=SharedLinearCKA()),
        Measure("linear_cka", linear_cka, value_range=_CKA_RANGE, null=linear_cka_null,
                per_space=SharedLinearCKA()),
        Measure("rbf_cka", rbf_cka, value_range=_CKA_RANGE, null=rbf_cka_null,
                scale_parameters="a given sigma scales with X and Y together",
                samples_rows=True),
        Measure("mean_cosine_similarity", mean_cosine_similarity, aliases=("cosine",),
                same_width=True, value_range="[-1, 1]", scaling="sample"),
        Measure("pearson_similarity", pearson_similarity, aliases=("pearson",),
                same_width=True, value_range="[-1, 1]", scaling="sample"),
        Measure("procrustes_similarity", procrustes_similarity, aliases=("procrustes",)),
        Measure("knn_jaccard", knn_jaccard, aliases=("jaccard",), null=knn_jaccard_null,
                scaling="sample", per_space=SharedNeighbours("knn_jaccard")),
        Measure("mean_reciprocal_rank", mean_reciprocal_rank, symmetric=False,
                aliases=("mrr",), same_width=True, value_range="[1/n, 1]", scaling="sample",
                per_space=SharedRanks()),
        Measure("svcca", svcca, null=svcca_null),
        Measure("pwcca", pwcca, symmetric=False, null=pwcca_null),
        Measure("rsa", rsa, value_range="[-1, 1]", null=rsa_null, samples_rows=True),
        Measure("mutual_knn", mutual_knn, aliases=("mknn",), null=mutual_knn_null,
                scaling="sample", per_space=SharedNeighbours("mutual_knn")),
        Measure("cknna", cknna, value_range="[-1, 1]", null=cknna_null,
                per_space=SharedCKNNA()),
        Measure("linear_regression_r2", linear_regression_r2, symmetric=False,
                aliases=("r2",), null=linear_regression_r2_null,
                scale_parameters="a ridge alpha scales with the square of X's scale"),
    ),
    parameter="metric",
)


def check_measure_params(function, params, *, owner, label, shown=None):
    """A ``TypeError`` naming ``owner``'s ``metric_params`` unless ``params`` are keyword
    arguments of the measure ``function`` (called ``label``); ``shown``: the value the
    message quotes (``params`` by default)."""
    try:
        inspect.signature(function).bind(None, None, **params)
    except TypeError as exc:
        shown = f"metric_params={params!r}" if shown is None else shown
        raise TypeError(
            f"The 'metric_params' parameter of {owner} must be keyword arguments of {label}. "
            f"Got {shown}: {exc}."
        ) from None


def call_measure(function, X, Y, params, *, owner, label):
    """``function(X, Y, **params)``, its own parameter checks on, even when called by another
    validated function (which turns them off for what it calls); a bad ``params`` is reported
    as the ``metric_params`` of ``owner``.

    Raised as a plain ``ValueError`` / ``TypeError``: scikit-learn would rename the measure in
    the message of an ``InvalidParameterError`` after ``owner``'s own name.
    """
    check_measure_params(function, params, owner=owner, label=label)
    try:
        with config_context(skip_parameter_validation=False):
            return function(X, Y, **params)
    except InvalidParameterError as exc:
        raise ValueError(
            f"The 'metric_params' parameter of {owner} must be valid parameters of {label}. "
            f"Got metric_params={params!r}: {exc}"
        ) from None


@validate_params({"aliases": ["boolean"]}, prefer_skip_nested_validation=True)
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


@validate_params(
    {"name": "no_validation", "parameter": [str], "owner": [str, None]},
    prefer_skip_nested_validation=True,
)
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
    """One row per measure: aliases, range, symmetry, whether widths must match, fast null,
    and its numeric contract.

    The ``scale-free`` column says what scaling a measure does not see with its default
    parameters: one positive factor per space, or one per sample (row of either space). The
    ``at any magnitude`` column is the numeric contract: every measure works on copies of
    its inputs rescaled by powers of two and computes in float64, so finite input of any
    magnitude the dtype holds (float32 or float64, from the smallest subnormal number to
    the largest number, constant or duplicate rows, one column far larger than the others)
    gives the value of the same numbers at scale 1, within the stated absolute difference, and
    never NaN; where a measure is undefined (e.g. a space whose rows are all the same vector)
    it raises the same error at every scale.

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
            "scale-free": f"each {measure.scaling}",
            "at any magnitude": measure.contract,
        },
        index="measure",
    )
