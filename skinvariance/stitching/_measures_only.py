"""The similarity side of a comparison: the measures of every ordered pair of spaces under one
invariance (calibrated against a permutation null where asked), and the representations they
read when no target is given (no decoder, no stitching)."""

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial

import numpy as np
from joblib import delayed
from sklearn.utils import check_random_state

from .._validation import error_class
from ..metrics import get_measure, permutation_test
from ..metrics._registry import call_measure, check_measure_params
from ._anchor_rows import anchor_rows, check_anchor_mapping
from ._evaluator import seeded_clone
from ._invariances import projection_kind
from ._work import encode_rows, fit_alignment, fit_projection, measure, run_small_tasks

__all__ = [
    "AUTO_MAX_SAMPLES",
    "MetricColumn",
    "encode_without_labels",
    "resolve_max_samples",
    "resolve_metrics",
    "sample_queries",
    "sampling_note",
    "similarity_matrices",
]

#: ``max_samples="auto"``: the rows up to which the neighbour and retrieval measures are exact
#: (their cost grows as rows squared; above, this many query rows, at a cost linear in rows).
AUTO_MAX_SAMPLES = 1000


@dataclass(frozen=True)
class MetricColumn:
    """One similarity column of a comparison.

    Attributes
    ----------
    function : callable
        ``function(X, Y) -> float``.
    symmetric : bool
        Whether ``function(X, Y) == function(Y, X)`` (then measured once per unordered pair).
    same_width : bool or None
        Whether it needs equal widths (None for a user's callable: unknown).
    tested : str or callable
        What :func:`~skinvariance.metrics.permutation_test` is given: the registry's name when
        there is one, so that permutations reuse what a shuffle does not change.
    measure_name : str or None
        The registry's canonical name of the measure (None for a user's callable).
    per_space : object or None
        The registry's split of the measure into a search per space and a comparison of two
        (see :class:`~skinvariance.metrics.Measure`), or None.
    samples_rows : bool
        Whether, above ``max_samples`` test rows, the measure is computed on the sampled rows
        alone (a measure of every pair of rows with no per-space split).
    params : tuple of (str, object) pairs
        The measure's keyword arguments (``metric_params``), for its permutation test too.
    """

    function: Callable
    symmetric: bool
    same_width: bool | None
    tested: object
    measure_name: str | None = None
    per_space: object = None
    samples_rows: bool = False
    params: tuple = ()


def _with_params(function, params, label, X, Y):
    """``function(X, Y, **params)``, its parameters checked (a bad one named as the
    ``metric_params`` of compare_invariances)."""
    return call_measure(function, X, Y, params, owner="compare_invariances", label=label)


def _check_metric_params(metric_params, metrics):
    """``{name: params}`` from ``metric_params``: a mapping from names among ``metrics`` (a
    list of the registry's names) to dicts of keyword arguments; None: none."""
    if metric_params is None:
        return {}
    if isinstance(metrics, Mapping):
        raise TypeError(
            "The 'metric_params' parameter of compare_invariances applies to measures given "
            "by name; with a mapping of callables, bind the parameters in the callables. Got "
            f"metric_params={metric_params!r}."
        )
    if not isinstance(metric_params, Mapping) or not all(
            isinstance(params, Mapping) for params in metric_params.values()):
        raise TypeError(
            "The 'metric_params' parameter of compare_invariances must be a dict mapping "
            "measure names to dicts of keyword arguments, e.g. {'jaccard': {'k': 20}}. Got "
            f"{metric_params!r} instead."
        )
    unknown = [name for name in metric_params if name not in metrics]
    if unknown:
        raise ValueError(
            "The 'metric_params' parameter of compare_invariances must name measures of "
            f"'metrics' ({list(metrics)}). Got {unknown[0]!r}."
        )
    for name, params in metric_params.items():
        check_measure_params(get_measure(name).function, params, owner="compare_invariances",
                             label=repr(name), shown=f"{{{name!r}: {dict(params)!r}}}")
    return {name: dict(params) for name, params in metric_params.items()}


def resolve_metrics(metrics, metric_params=None):
    """``{name: MetricColumn}`` from names of the registry (with their ``metric_params``) or
    a mapping of callables."""
    params_of = _check_metric_params(metric_params, metrics)
    if isinstance(metrics, Mapping):
        for name, function in metrics.items():
            if not isinstance(name, str) or not callable(function):
                raise TypeError(
                    "The 'metrics' parameter of compare_invariances must map str names to "
                    f"callables measure(X, Y) -> float. Got {name!r}: {function!r}."
                )
        # a callable is not assumed symmetric: it is evaluated on every ordered pair
        return {name: MetricColumn(function, False, None, function)
                for name, function in metrics.items()}
    if isinstance(metrics, str) or not isinstance(metrics, (list, tuple)):
        raise TypeError(
            "The 'metrics' parameter of compare_invariances must be a list of measure names or "
            f"a mapping {{name: callable}}. Got {metrics!r} instead."
        )
    resolved = {}
    for name in metrics:
        measure = get_measure(name, parameter="metrics", owner="compare_invariances")
        params = params_of.get(name, {})
        function = (partial(_with_params, measure.function, params, repr(name)) if params
                    else measure.function)
        resolved[name] = MetricColumn(function, measure.symmetric, measure.same_width,
                                      measure.name, measure.name, measure.split_with(params),
                                      measure.samples_rows, tuple(sorted(params.items())))
    return resolved


def _state_key(per_space, Z):
    """Where a per-space search of the representation ``Z`` is kept (``Z`` kept beside it)."""
    return getattr(per_space, "key", id(per_space)), id(Z)


def _search(per_space, Z, queries, metric, invariance, space):
    """What a measure's per-space split searches once in ``Z`` (for the query rows
    ``queries`` where the measure can sample them; None: every row), a unit of work; an
    error names the measure ``metric``, the ``invariance`` and the ``space``."""
    try:
        return measure(lambda X, _: _prepare(per_space, X, queries), Z, Z)
    except ValueError as exc:
        raise error_class(exc)(
            f"The measure {metric!r} failed under the invariance {invariance!r} on the space "
            f"{space!r}: {exc}"
        ) from exc


def _prepare(per_space, Z, queries):
    if getattr(per_space, "samples_queries", False) and queries is not None:
        return per_space.prepare(Z, queries)
    return per_space.prepare(Z)


def _value(column, Zi, Zj, calibration, prepared, queries=None):
    """The measure, or its z-score or p-value against its permutation null.

    ``prepared`` holds what a measure searched once per space (its ``per_space`` split, see
    :func:`_search`) in each representation of this call; a measure that samples rows
    (``samples_rows``) is computed on the rows ``queries`` alone (None: every row).
    """
    if calibration is None and column.per_space is not None:
        per_space = column.per_space

        def compared(X, Y):
            # a representation no other pair reads was not searched before: searched here,
            # and its state goes with this unit
            states = [prepared[key][1] if (key := _state_key(per_space, Z)) in prepared
                      else _prepare(per_space, Z, queries) for Z in (X, Y)]
            # the pair's own work (CKA's cross term, MRR's search), a unit of work like the rest
            return per_space.compare(*states)

        return float(measure(compared, Zi, Zj))
    if calibration is None:
        if column.samples_rows and queries is not None:
            Zi, Zj = Zi[queries], Zj[queries]
        return float(measure(column.function, Zi, Zj))
    mode, n_permutations, seed = calibration
    result = measure(
        lambda X, Y: permutation_test(X, Y, column.tested, n_permutations=n_permutations,
                                      random_state=seed, metric_params=dict(column.params)),
        Zi, Zj)
    if not np.isfinite(result.statistic):
        return float(result.statistic)
    return float(result.zscore if mode == "zscore" else result.pvalue)


def _measure(column, Zi, Zj, metric, invariance, pair, calibration, prepared, queries=None):
    """The measure of ``(Zi, Zj)``, or NaN for a measure that needs equal widths on a pair
    whose widths differ (absolute spaces); any other error is raised with its context."""
    if column.same_width and Zi.shape[1] != Zj.shape[1]:
        return np.nan
    try:
        return _value(column, Zi, Zj, calibration, prepared, queries)
    except ValueError as exc:
        if column.same_width is None and Zi.shape[1] != Zj.shape[1]:
            return np.nan  # a measure of the user's that cannot compare these widths
        raise error_class(exc)(
            f"The measure {metric!r} failed under the invariance {invariance!r} on the spaces "
            f"{pair[0]!r} (X) and {pair[1]!r} (Y): {exc}"
        ) from exc


def _searches(metrics, pairs, measured, names, calibration):
    """The per-space searches the measured pairs read (``measured``: ``(metric, a, b)``):
    ``{key: (per_space, Z, metric, space)}``, each representation once per measure (none
    when calibrated: permutations search anew), with the first measure and space that read
    it.

    Only the representations that two or more measured pairs read are searched beforehand
    (kept until every pair is measured); one that a single pair reads (a space mapped into
    another by an alignment) is searched by that pair's unit, and its state goes with it.
    """
    wanted, readers = {}, Counter()
    if calibration is not None:
        return wanted
    measured = set(measured)
    for metric, column in metrics.items():
        if column.per_space is None:
            continue
        for (a, b), (Zi, Zj) in pairs.items():
            if ((metric, a, b) in measured
                    and not (column.same_width and Zi.shape[1] != Zj.shape[1])):
                for Z, space in ((Zi, names[a]), (Zj, names[b])):
                    key = _state_key(column.per_space, Z)
                    readers[key] += 1
                    wanted.setdefault(key, (column.per_space, Z, metric, space))
    return {key: search for key, search in wanted.items() if readers[key] > 1}


def similarity_matrices(kind, encodings, test_spaces, metrics, invariance, calibration=None,
                        queries=None, n_jobs=None):
    """``{metric: (n_spaces, n_spaces) matrix}`` of one invariance on one split (NaN diagonal).

    ``encodings[i][j]`` is what space ``j``'s side reads of space ``i``'s test rows. For an
    alignment, the source mapped into the target is measured beside the target; otherwise
    the two spaces' representations. ``calibration``, ``(mode, n_permutations, seed)``,
    replaces each value by its z-score or p-value; a symmetric measure is measured (and
    tested) once per unordered pair, except under an alignment (two different maps).
    ``queries`` (row indices, from :func:`sample_queries`) are the rows whose neighbours and
    ranks the measures that sample (``per_space.samples_queries``) average over, and the
    rows the measures of every pair of rows (``samples_rows``) are computed on.

    Each representation is searched once per measure that splits per space, then every pair
    is measured; both steps run their units of work on threads, with ``n_jobs`` (see
    :func:`~skinvariance._parallel.run_small_tasks`), so a measure given as a callable may
    be called from several threads at once. No setting changes a value.
    """
    names = list(test_spaces)
    pairs = {}
    for a, i in enumerate(names):
        for b, j in enumerate(names):
            if a != b:
                pairs[a, b] = ((encodings[i][j], test_spaces[j]) if kind == "alignment"
                               else (encodings[i][i], encodings[j][j]))
    measured = [(metric, a, b) for (a, b) in pairs for metric, column in metrics.items()
                if not (column.symmetric and kind != "alignment" and b < a)]
    wanted = _searches(metrics, pairs, measured, names, calibration)
    searched = run_small_tasks(
        (delayed(_search)(per_space, Z, queries, metric, invariance, space)
         for per_space, Z, metric, space in wanted.values()),
        n_jobs,
        shared_memory=True,
    )
    # each search kept beside its representation: the ids in the keys stay unique
    prepared = {key: (Z, state)
                for (key, (_, Z, _, _)), state in zip(wanted.items(), searched, strict=True)}
    values = run_small_tasks(
        (delayed(_measure)(metrics[metric], *pairs[a, b], metric, invariance,
                           (names[a], names[b]), calibration, prepared, queries)
         for metric, a, b in measured),
        n_jobs,
        shared_memory=True,
    )
    similarity = {metric: np.full((len(names), len(names)), np.nan) for metric in metrics}
    for (metric, a, b), value in zip(measured, values, strict=True):
        similarity[metric][a, b] = value
        if metrics[metric].symmetric and kind != "alignment":
            similarity[metric][b, a] = value
    return similarity


def resolve_max_samples(max_samples):
    """``max_samples`` (validated by the caller's constraints) as an int, or None (every
    row)."""
    return AUTO_MAX_SAMPLES if max_samples == "auto" else max_samples


def sample_queries(n_rows, max_samples, seed):
    """The query rows of one split's measures: None (every row) when ``max_samples`` is None
    or at least ``n_rows``; else ``max_samples`` rows drawn without replacement (seeded by
    ``seed``), in increasing order."""
    if max_samples is None or max_samples >= n_rows:
        return None
    chosen = check_random_state(seed).choice(n_rows, size=max_samples, replace=False)
    return np.sort(chosen)


def sampling_note(metrics, max_samples, splits, calibration=None):
    """What the table says of its sampling: None when every measure was exact (calibrated
    values always are), else which columns were measured on how many of the test rows."""
    searching = [name for name, column in metrics.items()
                 if getattr(column.per_space, "samples_queries", False)]
    among = [name for name, column in metrics.items()
             if column.per_space is None and column.samples_rows]
    n_test = [len(test) for _, test in splits]
    largest = max(n_test)
    if max_samples is None or max_samples >= largest or not searching + among or calibration:
        return None
    of = f"{largest}" if min(n_test) == largest else f"up to {largest}"
    parts = []
    if searching:
        parts.append(f"{', '.join(searching)}: over {max_samples} random test rows of {of} "
                     "(each searching all of them")
    if among:
        parts.append(f"{', '.join(among)}: on {max_samples} random test rows of {of} (the "
                     "pairs among them")
    return "; ".join(f"{part}; max_samples={max_samples})" for part in parts)


def encode_without_labels(projection, train_spaces, test_spaces, anchors, seed, shared=None):
    """``(kind, encodings)`` of one invariance on one split, with no target: the anchors,
    projections and alignments :class:`StitchingEvaluator` fits with the same ``anchors``
    and ``random_state`` (the same rows, the same seeded clones), and no decoder.

    ``encodings[i][j]`` is what space ``j`` reads of space ``i``'s test rows, as in
    ``StitchingEvaluator._stitch_all``; ``shared`` maps a space to the caller's
    :class:`~skinvariance.projection._shared.SharedSubspaces` of its test rows.
    """
    names = list(train_spaces)
    first = train_spaces[names[0]]
    if isinstance(anchors, Mapping):  # each space's own rows (matched pseudo-anchors)
        rows = check_anchor_mapping(anchors, train_spaces)
    else:
        # the default "random" selection does not read a target: the rows of the labelled run
        rows = dict.fromkeys(names, anchor_rows(first, min(anchors, first.shape[0]), "random",
                                                None, seed))
    kind = projection_kind(projection)
    shared = shared or {}
    projections, alignments = {}, {}
    if kind == "projection":
        seeded = seeded_clone(projection, seed)
        projections = {name: fit_projection(seeded, X[rows[name]], None)
                       for name, X in train_spaces.items()}
    elif kind == "alignment":
        alignments = {
            (i, j): fit_alignment(projection, train_spaces[i][rows[i]], train_spaces[j][rows[j]])
            for i in names for j in names if i != j
        }
    encodings = {
        name: encode_rows(kind, names, projections, alignments, rows[names[0]].size, name,
                          test_spaces[name], shared.get(name))
        for name in names
    }
    return kind, encodings
