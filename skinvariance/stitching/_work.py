"""The units of work :class:`StitchingEvaluator` runs in parallel, each under the thread
limit its size deserves (see ``skinvariance._parallel``): fits on anchors and decoders of
ordinary sizes get one BLAS thread, a large projection every core.
"""

import numpy as np
from sklearn.base import clone

from .._parallel import limit_small_transform, limit_small_work
from ..projection import cached_projections

__all__ = [
    "encode",
    "encode_and_score",
    "encode_rows",
    "fit_alignment",
    "fit_decoder",
    "fit_projection",
    "fit_space",
    "score",
]


def fit_projection(projection, anchors, anchor_target):
    """A clone of ``projection`` fitted on one space's anchor rows (``anchor_target`` may be
    None: relative projections do not read it)."""
    with cached_projections(), limit_small_work(anchors.size):
        return clone(projection).fit(anchors, anchor_target)


def fit_space(projection, decoder, X, anchor_indices, y):
    """One space's projection (fitted on its anchors), representation and decoder.

    Each step gets the threads its size deserves (see ``skinvariance._parallel``): fits on
    anchors and decoders of ordinary sizes one BLAS thread, a large projection every core.
    """
    with cached_projections():
        projection = fit_projection(projection, X[anchor_indices], y[anchor_indices])
        with limit_small_transform(X.shape[0], anchor_indices.size, X.shape[1]):
            Z = projection.transform(X)
    return projection, fit_decoder(decoder, Z, y), Z.shape[1]


def fit_decoder(decoder, X, y):
    with limit_small_work(X.size):
        return clone(decoder).fit(X, y)


def fit_alignment(alignment, anchors_source, anchors_target):
    with limit_small_work(anchors_source.size + anchors_target.size):
        return clone(alignment).fit(anchors_source, anchors_target)


def score(scorer, decoder, Z, y, width):
    if Z.shape[1] != width:
        return np.nan
    with limit_small_work(Z.size):
        return float(scorer(decoder, Z, y))


def encode(evaluator, encoder, X):
    """What each decoder of a fitted evaluator reads of the encoder's rows ``X``:
    ``{decoder: representation}`` (see :func:`encode_rows`)."""
    return encode_rows(evaluator.kind_, evaluator.space_names_, evaluator.projections_,
                       evaluator.alignments_, evaluator.anchor_indices_.size, encoder, X)


def encode_rows(kind, names, projections, alignments, n_anchors, encoder, X):
    """What each space ``names`` reads of the encoder's rows ``X``: ``{space: representation}``.

    One projection of ``X`` (``projections[encoder]``) serves every space; an alignment maps
    ``X`` once per other space (``alignments[encoder, space]``); absolute rows stay as they are.
    """
    if kind == "absolute":
        return dict.fromkeys(names, X)
    if kind == "projection":
        with cached_projections(), limit_small_transform(X.shape[0], n_anchors, X.shape[1]):
            Z = projections[encoder].transform(X)
        return dict.fromkeys(names, Z)
    encodings = {}
    for decoder in names:
        if decoder == encoder:
            encodings[decoder] = X
            continue
        with limit_small_work(X.size):
            encodings[decoder] = alignments[encoder, decoder].transform(X)
    return encodings


def encode_and_score(evaluator, encoder, X, y, keep):
    """One row of the stitching matrix (encoder ``encoder`` into every decoder), and the
    encodings it scored when ``keep``."""
    encodings = encode(evaluator, encoder, X)
    row = [
        score(evaluator.scorer_, evaluator.decoders_[decoder], encodings[decoder], y,
               evaluator.decoder_widths_[decoder])
        for decoder in evaluator.space_names_
    ]
    return row, (encodings if keep else None)
