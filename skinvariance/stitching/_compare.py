"""The selection of an invariance: similarity and zero-shot stitching of every invariance,
in one table (the workshop paper's phases 1 and 2)."""

import sys
import warnings
from numbers import Integral

import numpy as np
import pandas as pd
from sklearn.base import is_classifier
from sklearn.metrics import get_scorer_names
from sklearn.model_selection import (
    KFold,
    ShuffleSplit,
    StratifiedKFold,
    StratifiedShuffleSplit,
    check_cv,
)
from sklearn.utils.parallel import Parallel, delayed

from .._compat import InvalidParameterError, StrOptions, validate_parameter_constraints
from .._constraints import N_JOBS, RANDOM_STATE, NumberInterval
from .._validation import DataError, check_target, is_classification_target
from ..spaces import check_spaces
from ._anchor_rows import anchor_rows, matched_anchor_rows
from ._invariances import projection_kind
from ._measures_only import (
    resolve_max_samples,
    resolve_metrics,
    sampling_note,
)
from ._rows import (
    check_decoder,
    describe_decoder,
    draw_seed,
    resolve_invariances,
    row_decoders,
)
from ._split import evaluate_rows

__all__ = ["DEFAULT_METRICS", "compare_invariances"]

#: The similarity columns of the table by default.
DEFAULT_METRICS = ("cka", "pearson", "cosine", "jaccard", "mrr")
_PARAMETER_CONSTRAINTS = {
    "cv": ["cv_object"],
    "random_state": RANDOM_STATE,
    "n_jobs": N_JOBS,
    "calibrate": ["boolean", StrOptions({"zscore", "pvalue"})],
    "n_permutations": [NumberInterval(Integral, 1, None, closed="left")],
    "verbose": ["verbose"],
    "pairing": [StrOptions({"given", "match"})],
    "matched_anchors": [NumberInterval(Integral, 2, None, closed="left")],
    "max_samples": [NumberInterval(Integral, 1, None, closed="left"), StrOptions({"auto"}),
                    None],
}
def _check_scoring(scoring):
    if not (
        scoring is None
        or callable(scoring)
        or (isinstance(scoring, str) and scoring in get_scorer_names())
    ):
        raise ValueError(
            "The 'scoring' parameter of compare_invariances must be None, a scoring name of "
            f"sklearn.metrics.get_scorer_names() or a callable. Got {scoring!r} instead."
        )


def _evaluate_splits(rows, decoders, scoring, metrics, spaces, y, splits, split_anchors, seed,
                     calibration, n_jobs, verbose, max_samples=None):
    """``{invariance: [SplitResult per split]}``: every row on every split, the projection
    rows of a split in one task (see :func:`_row_tasks`), the tasks in parallel."""
    row_tasks = _row_tasks(rows)
    tasks = [
        delayed(evaluate_rows)(task, decoders, scoring, metrics, spaces, y, train, test,
                                split_anchors[split], seed, calibration, n_jobs, max_samples)
        for task in row_tasks
        for split, (train, test) in enumerate(splits)
    ]
    by_task = iter(Parallel(n_jobs=n_jobs, verbose=verbose)(tasks))
    found = {}
    for task in row_tasks:
        for split in range(len(splits)):
            for (name, _), result in zip(task, next(by_task), strict=True):
                found[name, split] = result
    return {name: [found[name, split] for split in range(len(splits))] for name in rows}


def _row_tasks(rows):
    """The rows in the tasks that evaluate them on a split: every projection row in one task,
    so that they share their relative subspaces; the rows that decode the raw spaces
    (absolute, alignments) in another, so that they share their decoders."""
    projections = [(name, value[0]) for name, value in rows.items()
                   if projection_kind(value[0]) == "projection"]
    raw = [(name, value[0]) for name, value in rows.items()
           if projection_kind(value[0]) != "projection"]
    return [task for task in (projections, raw) if task]


def compare_invariances(
    spaces,
    y,
    invariances=None,
    *,
    metrics=DEFAULT_METRICS,
    metric_params=None,
    decoder=None,
    scoring=None,
    anchors=300,
    pairing="given",
    matched_anchors=300,
    cv=None,
    select_by=None,
    calibrate=False,
    n_permutations=999,
    max_samples="auto",
    random_state=None,
    n_jobs=None,
    verbose=0,
):
    """Compare invariances by the similarity of the spaces and by zero-shot stitching.

    The workshop paper's phases 1 and 2 in one table: for each invariance, make the spaces
    invariant (a projection fitted on each space's parallel anchors, an alignment fitted on
    the anchors of each ordered pair of spaces, or nothing), measure how similar the spaces
    become, stitch every encoder to every decoder with
    :class:`StitchingEvaluator`, and mark the invariance that stitches best. Without a
    target (``y=None``) nothing is decoded: the invariances are compared by the similarity
    measures alone, and the best is picked by one of them (``select_by``).

    Parameters
    ----------
    spaces : mapping of str to array-like of shape (n_samples, n_features_space) or DataFrame
        At least two row-aligned spaces: a mapping ``{name: array}`` or a DataFrame with
        ``(space, feature)`` columns.
    y : array-like of shape (n_samples,) or (n_samples, n_targets), or None
        The decoders' target: class labels, or values to regress (2-D for reconstruction).
        None: no stitching is scored (no decoder is fitted; ``decoder`` and ``scoring`` are
        not read), the table has no ``decoder``, ``stitching_*`` or ``non_stitched_*``
        columns, and the splits are never stratified.
    invariances : mapping of str to estimator, None or (estimator, decoder), default=None
        The invariances to compare, ``{name: projection, alignment or None}``, with the
        meaning of ``StitchingEvaluator``'s ``projection``. A value may also be a pair
        ``(projection or None, decoder)``: that row is decoded by its own decoder (an
        estimator with ``fit`` and ``predict``) instead of ``decoder``, so that, for
        instance, a learned aggregation of the product competes in the same table. None
        means :func:`default_invariances` for ``y``.
    metrics : list of str or mapping of str to callable, default=("cka", "pearson", \
"cosine", "jaccard", "mrr")
        Similarity measures between two row-aligned representations: names of
        :func:`~skinvariance.metrics.available_measures` (aliases included; ``"cka"`` is
        linear CKA), or a mapping ``{name: measure(X, Y) -> float}``. For an alignment,
        ``X`` is the source mapped into the target and ``Y`` the target.
    metric_params : dict of str to dict, default=None
        Keyword arguments of measures named in ``metrics``, by the name used there, e.g.
        ``{"jaccard": {"k": 20}}``; used by their permutation tests too. A neighbour count
        ``k`` keeps a measure's per-space search and its sampling (``max_samples``); other
        parameters compute it pair by pair, on every row. None: the defaults.
    decoder : estimator, str or None, default=None
        The decoder cloned for each space (of the rows without their own): an estimator, or
        a name of :func:`make_decoder` (``"auto"``, ``"logistic"``, ``"ridge"``, ``"knn"``, or
        a learned aggregation ``"concat"``, ``"sum"``, ``"weighted"``, ``"mlp_sum"``,
        ``"attention"``, given each row's number of subspaces). Unset ``random_state``
        parameters of every decoder are fixed to the seed drawn from ``random_state``. None
        means ``"auto"``: a linear probe, ``make_pipeline(PowerOfTwoScaler(),
        StandardScaler(), LogisticClassifier(max_iter=1000))`` for class labels and the same
        with ``Ridge()`` for a continuous target. Why this probe: :ref:`default_decoder`.
    scoring : str, callable or None, default=None
        How the decoders are scored, as in :class:`StitchingEvaluator`: a scikit-learn scoring
        name or a scorer callable ``scorer(estimator, X, y)``. None means accuracy for a
        classifier decoder and ``neg_mean_squared_error`` for a regressor.
    anchors : int or list of int, default=300
        The number of parallel anchors, chosen at random among the training rows (all of them
        if there are fewer). With ``pairing="match"``, the number of *known* pairs (0
        allowed). A list of counts gives the *anchor curve*: the comparison at each count, in
        one table with an ``anchors`` column (see :ref:`matching`).
    pairing : {"given", "match"}, default="given"
        As in :class:`StitchingEvaluator`: ``"match"`` treats only the ``anchors`` rows as
        known pairs and finds pseudo-anchors among the other training rows, used unpaired
        (:func:`~skinvariance.match_spaces`); every invariance of a split is fitted on the
        same pseudo-anchors, found once.
    matched_anchors : int, default=300
        With ``pairing="match"``: how many anchors the invariances are fitted on (the known
        pairs, then the most confident pseudo-pairs).
    cv : int, cross-validation generator, iterable or None, default=None
        How rows are split into training rows (anchors, fitting) and test rows (similarity
        and stitching scores). None means one shuffled split with a quarter of the rows held
        out (stratified for class labels); an int ``k`` means ``k`` shuffled folds (stratified
        for class labels); a splitter or an iterable of ``(train, test)`` index arrays is used
        as given. Scores are averaged over the splits for each pair of spaces before the mean
        and standard deviation over pairs. The anchors of a split are the same rows with and
        without ``y``.
    select_by : str or None, default=None
        The column whose highest value marks the best row: ``"stitching_mean"``,
        ``"non_stitched_mean"`` (with ``y``) or any ``"<metric>_mean"`` of ``metrics``
        (lowest for a p-value, with ``calibrate="pvalue"``). None means ``"stitching_mean"``
        with ``y``; without it ``"mrr_mean"`` when the mean reciprocal rank is among
        ``metrics``, else the first measure's mean.
    calibrate : bool or {"zscore", "pvalue"}, default=False
        As in :func:`~skinvariance.metrics.similarity_matrix`: False reports the measures'
        values; ``"zscore"`` (or True) each measure's z-score against its permutation null
        (:func:`~skinvariance.metrics.permutation_test`; 0 is chance), ``"pvalue"`` its
        one-sided p-value. Every pair, split and invariance is tested with the same shuffles.
        The stitching columns are not calibrated. See :ref:`calibration`.
    n_permutations : int, default=999
        Shuffles per measure and pair when calibrating.
    max_samples : int, "auto" or None, default="auto"
        The test rows, at most, whose neighbours and ranks the neighbour and retrieval
        measures (``"jaccard"``, ``"mutual_knn"``, ``"cknna"``, ``"mrr"``) average over, on
        each split: above it, that many rows drawn at random (seeded by ``random_state``, the
        same for every invariance) each search all the test rows, an unbiased estimate (for
        CKNNA, a ratio, a consistent one) at a cost linear in the rows instead of
        quadratic; ``"rsa"`` and ``"rbf_cka"`` (every pair of rows) are computed on those
        rows alone. None: every row (exact); ``"auto"``: 1,000.
        The other measures (CKA, Pearson and cosine cost time linear in the rows) and
        calibrated values are computed on every row.
        ``table.attrs["sampled"]`` says what was sampled (None: nothing). See
        :ref:`measures_at_scale`.
    random_state : int, RandomState instance or None, default=None
        Seeds the splits, the anchors, the decoders' unset random states and the
        calibration's shuffles (one seed drawn from it). Every invariance uses the same
        splits and the same anchor rows.
    n_jobs : int, default=None
        None (the default) evaluates the rows one after the other, each row's fits (a
        decoder per space, an alignment per pair), scores and similarity measures several at
        once on as many threads as BLAS may use (every core unless lowered by
        :func:`threadpoolctl.threadpool_limits`), one BLAS thread each (the learned
        decoders' L-BFGS fits, which hold the GIL, on as many worker processes); inside a
        :func:`joblib.parallel_config` context asking for several jobs (a Dask backend
        included) it follows that context. An int runs (invariance, split) evaluations on that
        many :mod:`joblib` workers (1: everything one after the other; -1: every processor);
        the projection rows of a split run in one job, which hands each space's relative
        subspaces from row to row. No setting changes the table, and no thread limit is
        needed around the call (:ref:`stitching_speed`).
    verbose : int, default=0
        Progress on standard error: the number of tasks, then joblib's report of the tasks
        done (more often for higher values).

    Returns
    -------
    table : DataFrame
        One row per invariance, in the order given, with columns ``invariance``, ``kind``
        (``"absolute"``, ``"projection"`` or ``"alignment"``), ``decoder`` (with ``y``: a
        short description of the row's decoder, e.g. ``"logistic (PowerOfTwoScaler,
        StandardScaler)"`` or ``"ProductClassifier(mlp_sum)"``), then for each measure ``m``
        ``m_mean`` and ``m_std`` (over ordered pairs of different spaces; calibrated values
        with ``calibrate``), then, with ``y``, ``stitching_mean``, ``stitching_std``
        (zero-shot: encoder and decoder of different spaces), ``non_stitched_mean``,
        ``non_stitched_std`` (the diagonal: decoder on its own space), and ``best``, True on
        the row that ``select_by`` picks. ``table.attrs`` holds ``"best"`` (that
        invariance's name), ``"selected_by"`` (the column that decided), ``"scorer"`` (the
        scorer's name, None without ``y``), ``"decoder"`` (the default decoder's
        description, None without ``y``), ``"stitching"`` (``"scored"`` or ``"not
        scored"``), ``"calibrated"`` (False, ``"zscore"`` or ``"pvalue"``) and ``"sampled"``
        (None, or which measures averaged over how many test rows: ``max_samples``).
        A pair that an invariance cannot compare (absolute spaces of different widths, a
        measure needing equal widths) contributes NaN and is left out of the mean and std.

    See Also
    --------
    StitchingEvaluator : Zero-shot stitching with one invariance.
    skinvariance.metrics.similarity_matrix : One similarity measure between all spaces.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import make_classification
    >>> from skinvariance import RelativeProjection, compare_invariances
    >>> X, y = make_classification(n_samples=300, n_features=8, n_informative=6,
    ...                            random_state=0)
    >>> Q, _ = np.linalg.qr(np.random.default_rng(0).normal(size=(8, 8)))
    >>> spaces = {"a": X, "b": X @ Q, "c": 2.0 * X @ Q.T}
    >>> table = compare_invariances(
    ...     spaces, y, {"absolute": None, "cosine": RelativeProjection("cosine")},
    ...     metrics=["cka", "mrr"], anchors=50, random_state=0)
    >>> table[["invariance", "cka_mean", "mrr_mean", "stitching_mean", "best"]].round(2)
      invariance  cka_mean  mrr_mean  stitching_mean   best
    0   absolute       1.0      0.04            0.50  False
    1     cosine       1.0      1.00            0.73   True
    >>> table.attrs["best"], table.attrs["scorer"]
    ('cosine', 'accuracy')

    Linear CKA cannot tell these spaces apart (it is invariant to rotations and isotropic
    scaling), but only the relative representation lets a decoder trained on one space read
    the others (mean reciprocal rank 1: every sample is its own nearest neighbour across
    spaces).

    Without labels, the measures alone (on an unstratified split: pass ``cv`` to compare
    the same rows with and without labels); the mean reciprocal rank picks the best row:

    >>> unlabelled = compare_invariances(
    ...     spaces, None, {"absolute": None, "cosine": RelativeProjection("cosine")},
    ...     metrics=["cka", "mrr"], anchors=50, random_state=0)
    >>> unlabelled.round(2)
      invariance        kind  cka_mean  cka_std  mrr_mean  mrr_std   best
    0   absolute    absolute       1.0      0.0      0.04     0.01  False
    1     cosine  projection       1.0      0.0      1.00     0.00   True
    >>> unlabelled.attrs["stitching"], unlabelled.attrs["selected_by"]
    ('not scored', 'mrr_mean')
    """
    # Parameters with no check of their own below (scikit-learn's words; never bools as counts).
    validate_parameter_constraints(
        _PARAMETER_CONSTRAINTS,
        {"cv": cv, "random_state": random_state, "n_jobs": n_jobs, "calibrate": calibrate,
         "n_permutations": n_permutations, "verbose": verbose, "pairing": pairing,
         "matched_anchors": matched_anchors, "max_samples": max_samples},
        caller_name="compare_invariances",
    )
    spaces = check_spaces(spaces)
    names = list(spaces)
    n_samples = next(iter(spaces.values())).shape[0]
    labelled = y is not None
    if labelled:
        y = check_target(y, n_samples)
    counts = _anchor_counts(anchors, pairing)
    rows = resolve_invariances(invariances, y)
    metrics = resolve_metrics(metrics, metric_params)
    max_samples = resolve_max_samples(max_samples)
    select_by = _check_select_by(select_by, metrics, labelled)
    decoder = check_decoder(decoder)
    _check_scoring(scoring)
    seed = draw_seed(random_state)
    decoders = default = None
    classification = False
    if labelled:
        # seeded, with the projections, where each split's evaluator is built (row_evaluator)
        decoders, default = row_decoders(rows, decoder, y)
        if decoder is None or isinstance(decoder, str):
            classification = np.ndim(y) == 1 and is_classification_target(y)
        else:
            classification = is_classifier(decoder)
    splits = _splits(cv, n_samples, y, classification, seed)
    calibration = (("zscore" if calibrate is True else calibrate, n_permutations, seed)
                   if calibrate else None)
    lower = (calibration is not None and calibration[0] == "pvalue"
             and select_by not in _STITCHING_COLUMNS)
    tables, best = [], None
    for count in counts:
        if verbose:
            print(f"Comparing {len(rows)} invariances of {len(names)} spaces on "
                  f"{len(splits)} split(s) with {count} anchors ({pairing})", file=sys.stderr)
        split_anchors = [_split_anchors(count, pairing, matched_anchors, spaces, train, seed)
                         for train, _ in splits]
        results = _evaluate_splits(rows, decoders, scoring, metrics, spaces, y, splits,
                                   split_anchors, seed, calibration, n_jobs, verbose, max_samples)
        table, scorer_name = _summarise(decoders, metrics, results, len(names))
        best = _mark_best(table, select_by, lower=lower)
        if not isinstance(anchors, Integral):
            table.insert(0, "anchors", count)
        tables.append(table)
    table = tables[0] if len(tables) == 1 else pd.concat(tables, ignore_index=True)
    table.attrs = {
        "best": best, "selected_by": select_by, "scorer": scorer_name,
        "decoder": None if default is None else describe_decoder(default),
        "stitching": "scored" if labelled else "not scored",
        "calibrated": False if calibration is None else calibration[0], "pairing": pairing,
        "sampled": sampling_note(metrics, max_samples, splits, calibration),
    }
    return table


_STITCHING_COLUMNS = ("stitching_mean", "non_stitched_mean")


def _anchor_counts(anchors, pairing):
    """The anchor counts to compare at: ``[anchors]``, or the list given (the curve)."""
    low = 0 if pairing == "match" else 1
    counts = [anchors] if isinstance(anchors, Integral) else anchors
    if (
        isinstance(anchors, bool)
        or not isinstance(counts, (list, tuple))
        or not counts
        or any(isinstance(c, bool) or not isinstance(c, Integral) or c < low for c in counts)
    ):
        raise InvalidParameterError(
            "The 'anchors' parameter of compare_invariances must be an int in the range "
            f"[{low}, inf) or a non-empty list of them (pairing={pairing!r}). Got {anchors!r} "
            "instead."
        )
    return [int(count) for count in counts]


def _split_anchors(count, pairing, matched_anchors, spaces, train, seed):
    """What the evaluators of one split are given as ``anchors``: the count (at most the
    training rows), or with ``pairing="match"`` every space's matched rows, found once."""
    n_train = len(train)
    if pairing == "given":
        return min(count, n_train)
    train_spaces = {name: X[train] for name, X in spaces.items()}
    first = train_spaces[next(iter(train_spaces))]
    known = (anchor_rows(first, min(count, n_train), "random", None, seed) if count
             else np.empty(0, dtype=np.int64))
    return matched_anchor_rows(train_spaces, known, matched_anchors, seed)


def _check_select_by(select_by, metrics, labelled):
    """The column that picks the best row: ``select_by``, or the documented default."""
    columns = [f"{metric}_mean" for metric in metrics]
    if labelled:
        columns = [*_STITCHING_COLUMNS, *columns]
    if select_by is None:
        if labelled:
            return "stitching_mean"
        # retrieval across spaces is what makes spaces interchangeable
        mrr = [metric for metric, column in metrics.items()
               if column.measure_name == "mean_reciprocal_rank"]
        return f"{mrr[0]}_mean" if mrr else columns[0]
    if not isinstance(select_by, str) or select_by not in columns:
        raise InvalidParameterError(
            "The 'select_by' parameter of compare_invariances must be None or a str among "
            f"{columns}. Got {select_by!r} instead."
        )
    return select_by


def _summarise(decoders, metrics, results, n_spaces):
    """The table (one row per invariance, mean and std over ordered pairs of spaces) and the
    scorer's name. ``results`` maps each invariance to its :class:`SplitResult` per split."""
    off_diagonal = ~np.eye(n_spaces, dtype=bool)
    records = []
    scorer_name = None
    for name, per_split in results.items():
        record = {"invariance": name, "kind": per_split[0].kind}
        if decoders is not None:
            record["decoder"] = describe_decoder(decoders[name])
            scorer_name = scorer_name or per_split[0].scorer
        for metric in metrics:
            values = _mean_over_splits([result.similarity[metric] for result in per_split])
            record[f"{metric}_mean"], record[f"{metric}_std"] = _mean_std(values[off_diagonal])
        if decoders is not None:
            stitching = _mean_over_splits([result.stitching for result in per_split])
            record["stitching_mean"], record["stitching_std"] = _mean_std(
                stitching[off_diagonal])
            record["non_stitched_mean"], record["non_stitched_std"] = _mean_std(
                np.diag(stitching))
        records.append(record)
    return pd.DataFrame(records), scorer_name


def _mark_best(table, column, *, lower):
    """Set ``best`` (True on the row with the highest, ``lower``: lowest, value of
    ``column``) and return that row's invariance (None if every value is NaN)."""
    values = table[column].to_numpy(dtype=float)
    table["best"] = False
    if np.all(np.isnan(values)):
        return None
    position = int(np.nanargmin(values) if lower else np.nanargmax(values))
    table.loc[position, "best"] = True
    return table.loc[position, "invariance"]


def _splits(cv, n_samples, y, classification, seed):
    """The (train, test) splits; without a target (``y`` None) never stratified."""
    placeholder = np.zeros((n_samples, 1))
    if cv is None:
        splitter_class = StratifiedShuffleSplit if classification else ShuffleSplit
        splitter = splitter_class(n_splits=1, test_size=0.25, random_state=seed)
    elif isinstance(cv, Integral) and not isinstance(cv, bool):
        if cv < 2:
            raise ValueError(
                "The 'cv' parameter of compare_invariances must be None, an int in the range "
                f"[2, inf), a splitter or an iterable. Got {cv!r} instead."
            )
        splitter_class = StratifiedKFold if classification else KFold
        splitter = splitter_class(n_splits=int(cv), shuffle=True, random_state=seed)
    else:
        splitter = check_cv(cv, y, classifier=classification)
    try:
        splits = [
            (np.asarray(train), np.asarray(test))
            for train, test in splitter.split(placeholder, y)
        ]
    except ValueError as exc:  # e.g. a class of one sample, which no stratified split can hold
        raise DataError(f"y cannot be split into training and test rows: {exc}") from exc
    if not splits or any(train.size == 0 or test.size == 0 for train, test in splits):
        raise ValueError(
            "The 'cv' parameter of compare_invariances must give at least one split with "
            f"training and test rows. Got {cv!r} instead."
        )
    return splits


def _mean_over_splits(matrices):
    stacked = np.stack(matrices)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN pairs stay NaN
        return np.nanmean(stacked, axis=0)


def _mean_std(values):
    values = values[~np.isnan(values)]
    if values.size == 0:
        return np.nan, np.nan
    return float(np.mean(values)), float(np.std(values))
