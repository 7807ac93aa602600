"""The units of work :class:`StitchingEvaluator` runs in parallel: the one layer of the
package that sets thread limits. Each unit gets the limit its size deserves (see
``skinvariance._parallel``): fits on anchors and decoders of ordinary sizes one BLAS thread, a
large projection every core; every limit is scoped to its ``with`` block. Several units run
at once through :func:`run_small_tasks` (threads, one BLAS thread each, by default; the fits
of a decoder that holds the GIL in processes, see :func:`fits_in_processes`).

A unit that projects rows may be handed the caller's :class:`SharedSubspaces` of those rows
(``shared``): the raw subspaces another projection of the same rows computed are read from it.
A unit that fits a decoder may be handed the caller's :class:`DecoderFits` (``fits``): a
decoder of the same parameters already fitted on the same rows is read from it, not fitted
again.
"""

from itertools import islice

import joblib
import numpy as np
from sklearn.base import clone

from .._parallel import one_blas_thread, one_blas_thread_to_project, run_small_tasks
from .._validation import final_step
from ..decoders._estimators import _BaseProductDecoder

__all__ = [
    "MIN_ELEMENTS_IN_PROCESSES",
    "DecoderFits",
    "encode",
    "encode_and_score",
    "encode_rows",
    "fit_alignment",
    "fit_decoder",
    "fit_projection",
    "fit_space",
    "fit_spaces_then_decoders",
    "fits_in_processes",
    "measure",
    "project_space",
    "run_small_tasks",
    "score",
    "space_units",
    "try_scorer",
]


def _projecting(X, n_anchors):
    """The thread limit of projecting ``X`` onto ``n_anchors`` anchors."""
    return one_blas_thread_to_project(X.shape[0], n_anchors, X.shape[1])


def _transform(projection, X, shared):
    """``projection.transform(X)``, reading shared subspaces when ``shared`` holds ``X``."""
    if shared is not None and shared.rows is X:
        return shared.transform(projection)
    return projection.transform(X)


def fit_projection(projection, anchors, anchor_target):
    """A clone of ``projection`` fitted on one space's anchor rows (``anchor_target`` may be
    None: relative projections do not read it)."""
    with one_blas_thread(anchors.size):
        return clone(projection).fit(anchors, anchor_target)


def project_space(projection, X, anchor_indices, y, shared=None):
    """One space's projection (fitted on its anchors) and representation ``Z``.

    ``shared``: the caller's :class:`SharedSubspaces` of ``X``, or None.
    """
    projection = fit_projection(projection, X[anchor_indices], y[anchor_indices])
    with _projecting(X, anchor_indices.size):
        return projection, _transform(projection, X, shared)


def fit_space(projection, decoder, X, anchor_indices, y, shared=None):
    """One space's projection (fitted on its anchors), decoder and representation width."""
    projection, Z = project_space(projection, X, anchor_indices, y, shared)
    return projection, fit_decoder(decoder, Z, y), Z.shape[1]


def space_units(projection, decoder, spaces, y, rows, shared):
    """One :func:`fit_space` unit per space (``rows``: its anchor rows, ``shared``: its
    :class:`SharedSubspaces` if any): each space projected and decoded in one unit, so that
    a thread holds one representation at a time."""
    return [joblib.delayed(fit_space)(projection, decoder, X, rows[name], y, shared.get(name))
            for name, X in spaces.items()]


#: Fits of a decoder that holds the GIL on fewer elements than this in all (rows x features,
#: summed over the spaces) stay on threads: there, starting the worker processes (1.5 s, once
#: per session) costs more than the GIL does.
MIN_ELEMENTS_IN_PROCESSES = 2**20


def fits_in_processes(decoder, n_samples):
    """Whether fits of ``decoder`` on ``n_samples`` rows run at once in processes only
    (when there is enough work: ``MIN_ELEMENTS_IN_PROCESSES``).

    The package's learned decoders (:class:`~skinvariance.ProductClassifier` and
    :class:`~skinvariance.ProductRegressor`, alone or last in a pipeline) train by SciPy's
    L-BFGS-B when their solver is ``"lbfgs"`` (``"auto"`` up to 1,000 rows), and its step
    holds the GIL: on the model zoo's product rows it is a third of a fit, so five fits on two
    threads took 0.76 of the time of one after the other, and 0.56 in two processes. Adam's
    minibatch products release it (four fits on two threads: 0.55).
    """
    final = final_step(decoder)
    return isinstance(final, _BaseProductDecoder) and final._solver_for(n_samples) == "lbfgs"


def fit_spaces_then_decoders(plans, spaces, y, shared, n_jobs):
    """``[(projection, decoder, width) per space]`` for each plan ``(projection, decoder,
    anchor rows)`` of ``plans``, when some decoders' fits hold the GIL: every space projected
    for every plan on threads (they read ``shared``), then every decoder in one batch, in the
    order of ``plans``, in processes (:func:`fits_in_processes`) unless the representations
    those decoders read are small."""
    units = [(plan, name) for plan in plans for name in spaces]
    projected = run_small_tasks(
        (joblib.delayed(project_space)(projection, spaces[name], rows[name], y,
                                       shared.get(name))
         for (projection, _, rows), name in units),
        n_jobs,
    )
    decoders = [decoder for (_, decoder, _), _ in units]
    holding = sum(Z.size for decoder, (_, Z) in zip(decoders, projected, strict=True)
                  if fits_in_processes(decoder, len(y)))
    fitted = run_small_tasks(
        (joblib.delayed(fit_decoder)(decoder, Z, y)
         for decoder, (_, Z) in zip(decoders, projected, strict=True)),
        n_jobs, holds_the_gil=holding >= MIN_ELEMENTS_IN_PROCESSES,
    )
    results = iter([(projection, decoder, Z.shape[1])
                    for (projection, Z), decoder in zip(projected, fitted, strict=True)])
    return [list(islice(results, len(spaces))) for _ in plans]


class DecoderFits:
    """The decoders fitted on the rows of one split, each fitted once.

    Rows of a comparison that decode the same representation with the same decoder (the
    absolute row and the alignments all decode each raw space with the default decoder) ask
    for the same fit: the first request fits a clone, the others get that fitted decoder, so
    its standardisation too is fitted once per space and split. A request matches an earlier
    one when its input is the very same array (``is``), its target is equal and its decoder
    has the same parameters (:func:`joblib.hash` of the target and of the unfitted estimator,
    random states included). The rows do not change a decoder once fitted, so sharing it
    changes no score.

    Sharing holds within one process: a copy sent to another process shares nothing (and
    changes no result either).
    """

    def __init__(self):
        self._fitted = {}
        self.n_fitted = 0
        self.n_served = 0

    def fit(self, decoder, X, y):
        """A clone of ``decoder`` fitted on ``(X, y)``, or the one already fitted on them."""
        key = (id(X), joblib.hash(y), joblib.hash(decoder))
        found = self._fitted.get(key)
        # The input is kept with its fit: its id cannot be reused while the fit is held.
        if found is not None and found[0] is X:
            self.n_served += 1
            return found[1]
        fitted = _fit_clone(decoder, X, y)
        self._fitted[key] = (X, fitted)
        self.n_fitted += 1
        return fitted


def _fit_clone(decoder, X, y):
    with one_blas_thread(X.size):
        return clone(decoder).fit(X, y)


def fit_decoder(decoder, X, y, fits=None):
    """A clone of ``decoder`` fitted on ``(X, y)``; with ``fits`` (a :class:`DecoderFits`),
    fitted once for every request of the same decoder on the same arrays."""
    if fits is None:
        return _fit_clone(decoder, X, y)
    return fits.fit(decoder, X, y)


def fit_alignment(alignment, anchors_source, anchors_target):
    with one_blas_thread(anchors_source.size + anchors_target.size):
        return clone(alignment).fit(anchors_source, anchors_target)


def score(scorer, decoder, Z, y, width):
    if Z.shape[1] != width:
        return np.nan
    with one_blas_thread(Z.size):
        return float(scorer(decoder, Z, y))


def measure(function, X, Y):
    """A similarity measure of two representations, one small unit of work."""
    with one_blas_thread(X.size + Y.size):
        return function(X, Y)


def encode(evaluator, encoder, X, shared=None):
    """What each decoder of a fitted evaluator reads of the encoder's rows ``X``:
    ``{decoder: representation}`` (see :func:`encode_rows`)."""
    return encode_rows(evaluator.kind_, evaluator.space_names_, evaluator.projections_,
                       evaluator.alignments_, evaluator.anchor_indices_.size, encoder, X, shared)


def encode_rows(kind, names, projections, alignments, n_anchors, encoder, X, shared=None):
    """What each space ``names`` reads of the encoder's rows ``X``: ``{space: representation}``.

    One projection of ``X`` (``projections[encoder]``) serves every space; an alignment maps
    ``X`` once per other space (``alignments[encoder, space]``); absolute rows stay as they are.
    """
    if kind == "absolute":
        return dict.fromkeys(names, X)
    if kind == "projection":
        with _projecting(X, n_anchors):
            Z = _transform(projections[encoder], X, shared)
        return dict.fromkeys(names, Z)
    encodings = {}
    for decoder in names:
        if decoder == encoder:
            encodings[decoder] = X
            continue
        with one_blas_thread(X.size):
            encodings[decoder] = alignments[encoder, decoder].transform(X)
    return encodings


def encode_and_score(evaluator, encoder, X, y, keep, shared=None):
    """One row of the stitching matrix (encoder ``encoder`` into every decoder), and the
    encodings it scored when ``keep``."""
    encodings = encode(evaluator, encoder, X, shared)
    row = [
        score(evaluator.scorer_, evaluator.decoders_[decoder], encodings[decoder], y,
              evaluator.decoder_widths_[decoder])
        for decoder in evaluator.space_names_
    ]
    return row, (encodings if keep else None)


def try_scorer(scorer, decoder, projection, rows, y):
    """Score ``decoder`` on ``rows`` (projected by ``projection`` unless None): raises what
    the scorer raises when it cannot score this decoder."""
    with one_blas_thread(rows.size):
        Z = rows if projection is None else projection.transform(rows)
        scorer(decoder, Z, y)
