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
    enough_for_processes,
    fit_decoder,
    fits_in_processes,
    project_space,
    run_small_tasks,
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
    decoder per space on threads (:meth:`StitchingEvaluator._space_fit_tasks`), their units
    run in one batch: a row's five fits on two threads take three rounds, the last on one
    thread, and the next row no longer waits for it. The longest fits (the rows with the most
    subspaces) go first, so that the short ones fill the last round.

    Rows whose learned decoders' L-BFGS fits hold the GIL
    (:func:`~skinvariance.stitching._work.fits_in_processes`) join the batch, their fits
    first, while every row's training representations fit the budget
    (:func:`_learned_fits_first`); beyond it, they are fitted after the batch by their own
    evaluator, which reads the kept subspaces again. Unless such a row comes later, a space's
    subspaces are released once its last unit is done, and the units go space by space (a
    space's long fits next to the short ones of the space before): the batch then holds the
    subspaces of the spaces it is working on, not of every space.
    """
    planned = {name: evaluator._space_fit_tasks(spaces, y, shared)
               for name, evaluator in evaluators.items()}
    order = sorted((name for name, plan in planned.items() if plan is not None),
                   key=lambda name: -row_subspaces(evaluators[name].projection))
    learned = [name for name, plan in planned.items() if plan is None
               and projection_kind(evaluators[name].projection) == "projection"
               and fits_in_processes(evaluators[name].decoder, len(y))]
    if learned and _fit_fewer_than_budget(evaluators, learned + order, spaces, len(y)):
        return _learned_fits_first(evaluators, learned, order, spaces, y, shared, n_jobs)
    if not order:
        return {}
    read_later = any(plan is None and projection_kind(evaluators[name].projection)
                     == "projection" for name, plan in planned.items())
    if read_later:
        dispatched = [(name, position) for name in order for position in range(len(spaces))]
        tasks = [planned[name][1][position] for name, position in dispatched]
    else:
        dispatched = _space_by_space(order, evaluators, len(spaces))
        tasks = _each_space_releasing(planned, dispatched, [shared[name] for name in spaces])
    results = {name: [None] * len(spaces) for name in order}
    for (name, position), result in zip(dispatched, run_small_tasks(tasks, n_jobs),
                                        strict=True):
        results[name][position] = result
    return {name: (planned[name][0], results[name]) for name in order}


def _fit_fewer_than_budget(evaluators, names, spaces, n_rows):
    """Whether the training representations of every row ``names`` of every space, held at
    once by :func:`_learned_fits_first`, take at most ``SHARED_BYTES_PER_SPACE`` a space
    (float64, each subspace as wide as the anchors or the space, whichever is wider)."""
    # a count of anchors bounds their number; given rows or a mapping, the rows bound it
    n_anchors = max(min(evaluator.anchors, n_rows) if isinstance(evaluator.anchors, Integral)
                    else n_rows for evaluator in evaluators.values())
    widest = max(max(n_anchors, X.shape[1]) for X in spaces.values())
    width = sum(row_subspaces(evaluators[name].projection) for name in names) * widest
    return 8 * n_rows * width <= SHARED_BYTES_PER_SPACE


def _learned_fits_first(evaluators, learned, order, spaces, y, shared, n_jobs):
    """``{row: (anchor rows, results)}`` of the rows ``learned`` (their decoders' L-BFGS
    steps hold the GIL, :func:`~skinvariance.stitching._work.fits_in_processes`) and
    ``order`` (the other rows that fit a projection and a decoder per space): every space
    projected for every row on threads, then every decoder in one batch, in processes when
    the learned fits have enough work (as
    :func:`~skinvariance.stitching._work.fit_spaces_then_decoders`), the learned rows' first.

    Five learned fits on two workers take three rounds, the last on one worker: the other
    rows' short fits fill the other worker then, where they used to run before the learned
    fits began. The representations are all held until the batch is done
    (:func:`_fit_fewer_than_budget`).
    """
    plans = {name: evaluators[name]._space_projection(spaces, y) for name in learned + order}
    units = [(name, space) for name in learned + order for space in spaces]
    projected = run_small_tasks(
        (joblib.delayed(project_space)(plans[name][1], spaces[space], plans[name][0][space],
                                       y, shared.get(space))
         for name, space in units), n_jobs)
    learned_representations = [Z for (name, _), (_, Z) in zip(units, projected, strict=True)
                               if name in learned]
    decoders = run_small_tasks(
        (joblib.delayed(fit_decoder)(evaluators[name].decoder, Z, y)
         for (name, _), (_, Z) in zip(units, projected, strict=True)),
        n_jobs, holds_the_gil=enough_for_processes(learned_representations))
    results = {name: (plans[name][0], []) for name in learned + order}
    for (name, _), (projection, Z), decoder in zip(units, projected, decoders, strict=True):
        results[name][1].append((projection, decoder, Z.shape[1]))
    return results


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


def _each_space_releasing(planned, dispatched, stores):
    """The units ``dispatched`` (``[(row, space position)]``), the last to finish of each
    space's releasing its store (``stores``, by position)."""
    units = [[] for _ in stores]
    for name, position in dispatched:
        units[position].append(planned[name][1][position])
    wrapped = [iter(_releasing(mine, store)) for mine, store in zip(units, stores, strict=True)]
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
