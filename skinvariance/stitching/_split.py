"""One split of :func:`~skinvariance.compare_invariances`: every row evaluated on the same
training and test rows, sharing what they can (the relative subspaces of each space's rows,
the decoders of the raw spaces, the fits of all projection rows run in one batch)."""

from dataclasses import dataclass
from functools import partial
from numbers import Integral

import joblib
import numpy as np

from ..projection._shared import SharedSubspaces, array_digest, shared_budget
from ._invariances import projection_kind
from ._measures_only import encode_without_labels, sample_queries, similarity_matrices
from ._rows import row_evaluator, row_subspaces
from ._work import (
    DecoderFits,
    fit_spaces_then_decoders,
    fits_in_processes,
    run_small_tasks,
    space_units,
)

__all__ = ["SHARED_BYTES_PER_SPACE", "SplitResult", "evaluate_rows"]

#: The raw subspaces a comparison keeps for the rows of one space and split, at most (they
#: are recomputed when more would be needed; the values are the same); within that, no
#: more than the rows themselves take (``shared_budget``).
SHARED_BYTES_PER_SPACE = 256 * 2**20


@dataclass
class SplitResult:
    """One invariance evaluated on one split.

    Attributes
    ----------
    kind : {"absolute", "projection", "alignment"}
    scorer : str or None
        The scorer's name (None without a target).
    stitching : ndarray of shape (n_spaces, n_spaces) or None
        Encoder x decoder scores (None without a target).
    similarity : dict of str to ndarray of shape (n_spaces, n_spaces)
        Each measure of every ordered pair (NaN diagonal).
    """

    kind: str
    scorer: str | None
    stitching: np.ndarray | None
    similarity: dict


def evaluate_rows(rows, decoders, scoring, metrics, spaces, y, train, test, anchors, seed,
                  calibration, n_jobs=None, max_samples=None):
    """Every invariance of ``rows`` (``[(name, projection)]``) on one split, in one task: a
    list of :class:`SplitResult`, in the order of ``rows``.

    The rows read the relative subspaces of each space's training and test rows from one
    :class:`~skinvariance.projection._shared.SharedSubspaces` per space and rows, made here
    and handed to each of them: a kernel shared by the product and a single-kernel row is
    computed once. They read their decoders of the raw training rows from one
    :class:`~skinvariance.stitching._work.DecoderFits`: the absolute row and the alignments
    fit each space's decoder once. The rows that fit a projection and a decoder per space on
    threads have those fits run in one batch (:func:`_fit_spaces_at_once`); each row's
    evaluator fits the rest and scores the spaces with ``n_jobs``. The measures that sample
    average over the same query rows in every row (``max_samples``). A row whose
    representations are an earlier row's (a projection read by two decoders) takes that
    row's measures instead of measuring them again: the two rows' representations have the
    same digests (:func:`_digests`). The measures are deterministic functions of the
    representations, the test rows, the query rows and the seed, all of which the rows of a
    split share, so the values are those a second measurement would give.
    """
    train_spaces = {name: X[train] for name, X in spaces.items()}
    test_spaces = {name: X[test] for name, X in spaces.items()}
    shared_train = {name: SharedSubspaces(X, max_bytes=_shared_bytes(X))
                    for name, X in train_spaces.items()}
    shared_test = {name: SharedSubspaces(X, max_bytes=_shared_bytes(X))
                   for name, X in test_spaces.items()}
    fits = DecoderFits()
    queries = sample_queries(len(test), max_samples, seed)
    evaluators = fitted_spaces = {}
    if y is not None:
        y_train, y_test = y[train], y[test]
        evaluators = {name: row_evaluator(projection, decoders[name], n_train=len(train),
                                          anchors=anchors, scoring=scoring, seed=seed,
                                          n_jobs=n_jobs)
                      for name, projection in rows}
        fitted_spaces = _fit_spaces_at_once(evaluators, train_spaces, y_train, shared_train,
                                            n_jobs)
    measured = _MeasuredRows(rows)
    results = []
    for position, (name, projection) in enumerate(rows):
        if y is None:
            kind, encodings = encode_without_labels(projection, train_spaces, test_spaces,
                                                    anchors, seed, shared_test)
            scorer_name = matrix = None
        else:
            kind, scorer_name, matrix, encodings = _stitch_split(
                evaluators[name], train_spaces, test_spaces, y_train, y_test, shared_train,
                shared_test, fits, fitted_spaces.get(name))
        similarity = measured.of_row(position, kind, encodings, partial(
            similarity_matrices, kind, encodings, test_spaces, metrics, name, calibration,
            queries, n_jobs))
        results.append(SplitResult(kind, scorer_name, matrix, similarity))
    return results


class _MeasuredRows:
    """The measures of the rows of one split, each row's taken from an earlier row's when
    the two measure the same representations.

    Candidates are rows whose projections print the same (:func:`_projection_key`); the
    representations are then compared by their digests (:func:`_digests`), so only the
    digests and the measures of a row whose projection comes again are kept, not its arrays.
    """

    def __init__(self, rows):
        self.keys = [_projection_key(projection) for _, projection in rows]
        self.kept = {}  # key: (fingerprint, similarity) of a row whose key comes again

    def of_row(self, position, kind, encodings, measure):
        """``measure()`` (``{metric: matrix}``) for the row at ``position``, or a copy of an
        earlier row's measures when its representations have the same digests."""
        key = self.keys[position]
        again = key in self.keys[position + 1:]
        earlier = self.kept.pop(key, None)
        fingerprint = (kind, _digests(encodings)) if earlier is not None or again else None
        if earlier is not None and earlier[0] == fingerprint:
            similarity = {metric: values.copy() for metric, values in earlier[1].items()}
        else:
            similarity = measure()
        if again:
            self.kept[key] = fingerprint, similarity
        return similarity


def _projection_key(projection):
    """What two rows whose projections may give the same representations share: the
    projection's class and text (the same parameters print the same; the decoder of a
    ``(projection, decoder)`` row does not take part)."""
    return type(projection), repr(projection)


def _digests(encodings):
    """``{(encoder, space): digest}`` of what each space reads of each encoder's test rows
    (:func:`~skinvariance.projection._shared.array_digest`: dtype, shape and a digest of the
    values), each distinct array hashed once (a projection's one array serves every space).
    Two rows with the same digests measure the same arrays, without the earlier row's arrays
    being kept for the comparison."""
    by_array, digests = {}, {}
    for encoder, row in encodings.items():
        for space, Z in row.items():
            if id(Z) not in by_array:
                by_array[id(Z)] = array_digest(Z)
            digests[encoder, space] = by_array[id(Z)]
    return digests


def _shared_bytes(X):
    return min(SHARED_BYTES_PER_SPACE, shared_budget(X))


def _fit_spaces_at_once(evaluators, spaces, y, shared, n_jobs):
    """``{row: (anchor rows, results)}`` of the rows whose evaluator fits a projection and a
    decoder per space (:meth:`StitchingEvaluator._space_projection`), their units run in one
    batch: a row's five fits on two threads take three rounds, the last on one thread, and
    the next row no longer waits for it. The longest fits (the rows with the most subspaces)
    go first, so that the short ones fill the last round.

    Rows whose learned decoders' L-BFGS fits hold the GIL
    (:func:`~skinvariance.stitching._work.fits_in_processes`) join the batch while every
    row's training representations fit the budget (:func:`_fit_fewer_than_budget`): every
    space is projected for every row, then every decoder is fitted
    (:func:`~skinvariance.stitching._work.fit_spaces_then_decoders`), the learned rows'
    first. Five learned fits on two workers take three rounds, the last on one worker, and
    the other rows' short fits fill the other worker then. Beyond the budget, the learned
    rows are fitted after the batch by their own evaluators, which read the kept subspaces
    again. Without such a row, a space's subspaces are released once its last unit is done,
    and the units go space by space (a space's long fits next to the short ones of the space
    before): the batch then holds the subspaces of the spaces it is working on, not of every
    space.
    """
    projecting = [name for name, evaluator in evaluators.items()
                  if projection_kind(evaluator.projection) == "projection"]
    learned = [name for name in projecting
               if fits_in_processes(evaluators[name].decoder, len(y))]
    order = sorted((name for name in projecting if name not in learned),
                   key=lambda name: -row_subspaces(evaluators[name].projection))
    together = bool(learned) and _fit_fewer_than_budget(evaluators, learned + order, spaces,
                                                        len(y))
    batched = learned + order if together else order
    plans = {name: evaluators[name]._space_projection(spaces, y) for name in batched}
    if together:
        fitted = fit_spaces_then_decoders(
            [(plans[name][1], evaluators[name].decoder, plans[name][0]) for name in batched],
            spaces, y, shared, n_jobs)
        return {name: (plans[name][0], results)
                for name, results in zip(batched, fitted, strict=True)}
    if not order:
        return {}
    units = {name: space_units(plans[name][1], evaluators[name].decoder, spaces, y,
                               plans[name][0], shared) for name in order}
    if learned:  # fitted later, reading the kept subspaces
        dispatched = [(name, position) for name in order for position in range(len(spaces))]
        tasks = [units[name][position] for name, position in dispatched]
    else:
        dispatched = _space_by_space(order, evaluators, len(spaces))
        tasks = _each_space_releasing(units, dispatched, [shared[name] for name in spaces])
    results = {name: [None] * len(spaces) for name in order}
    for (name, position), result in zip(dispatched, run_small_tasks(tasks, n_jobs),
                                        strict=True):
        results[name][position] = result
    return {name: (plans[name][0], results[name]) for name in order}


def _fit_fewer_than_budget(evaluators, names, spaces, n_rows):
    """Whether the training representations of every row ``names`` of every space, held at
    once when the learned rows join the batch, take at most ``SHARED_BYTES_PER_SPACE`` a
    space (float64, each subspace as wide as the anchors or the space, whichever is
    wider)."""
    # a count of anchors bounds their number; given rows or a mapping, the rows bound it
    n_anchors = max(min(evaluator.anchors, n_rows) if isinstance(evaluator.anchors, Integral)
                    else n_rows for evaluator in evaluators.values())
    widest = max(max(n_anchors, X.shape[1]) for X in spaces.values())
    width = sum(row_subspaces(evaluators[name].projection) for name in names) * widest
    return 8 * n_rows * width <= SHARED_BYTES_PER_SPACE


def _space_by_space(order, evaluators, n_spaces):
    """``[(row, space position)]``: each space's units of the rows that read several
    subspaces (the long fits) before the other units of the space before it, the short units
    of the last space last."""
    long = [name for name in order if row_subspaces(evaluators[name].projection) > 1]
    short = [name for name in order if name not in long]
    dispatched = [(name, 0) for name in long]
    for position in range(n_spaces):
        if position + 1 < n_spaces:
            dispatched += [(name, position + 1) for name in long]
        dispatched += [(name, position) for name in short]
    return dispatched


def _each_space_releasing(units, dispatched, stores):
    """The units ``dispatched`` (``[(row, space position)]``, of ``units``: ``{row: [unit
    per space]}``), the last to finish of each space's releasing its store (``stores``, by
    position)."""
    by_space = [[] for _ in stores]
    for name, position in dispatched:
        by_space[position].append(units[name][position])
    wrapped = [iter(_releasing(mine, store))
               for mine, store in zip(by_space, stores, strict=True)]
    return [next(wrapped[position]) for _, position in dispatched]


def _releasing(units, store):
    """``units`` (joblib's delayed calls), the last of them to finish releasing ``store``."""
    store.release_after(len(units))
    return [joblib.delayed(_run_then)(store.unit_done, function, args, kwargs)
            for function, args, kwargs in units]


def _run_then(done, function, args, kwargs):
    try:
        return function(*args, **kwargs)
    finally:
        done()


def _stitch_split(evaluator, train_spaces, test_spaces, y_train, y_test, shared_train,
                  shared_test, fits=None, fitted_spaces=None):
    """The stitching matrix of one invariance on one split (``evaluator``, unfitted), and the
    representations scored.

    The test rows are projected (or, for an alignment, mapped into each other space) once;
    the stitching scores and the similarity measures read the same representations.
    """
    evaluator = evaluator._fit(train_spaces, y_train, shared_train, fits, fitted_spaces)
    matrix, encodings = evaluator._stitch_all(test_spaces, y_test, keep_encodings=True,
                                              shared=shared_test)
    return evaluator.kind_, evaluator.scorer_name_, matrix.to_numpy(), encodings
