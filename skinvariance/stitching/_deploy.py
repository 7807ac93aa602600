"""Deploying a stitched decoder: a fitted space's decoder serving a model that came later.

The point of zero-shot stitching is reuse. A :class:`StitchingEvaluator` fitted on spaces
``A`` and ``B`` holds a decoder per space; a model ``C`` that arrives later needs only its
embeddings of the *anchor inputs* (the rows ``anchor_indices_`` of the fitted spaces) to be
read by ``A``'s decoder: fit the evaluator's projection on ``C``'s anchors (or, for an
alignment, the map from ``C``'s anchors onto ``A``'s), and put ``A``'s decoder after it.
:func:`stitched_pipeline` builds that scikit-learn ``Pipeline``;
:meth:`StitchingEvaluator.stitch` delegates to it.
"""

import copy

from sklearn.base import clone
from sklearn.pipeline import Pipeline
from sklearn.utils import check_array
from sklearn.utils.validation import check_is_fitted

from .._validation import DataError

__all__ = ["stitched_pipeline"]

_FLOAT_DTYPES = ("float64", "float32")


def stitched_pipeline(evaluator, decoder, anchors):
    """The decoder of the fitted space ``decoder``, reading a new model's embeddings.

    Parameters
    ----------
    evaluator : StitchingEvaluator
        A fitted evaluator.
    decoder : str
        The space whose decoder is reused, one of ``evaluator.space_names_``.
    anchors : array-like of shape (n_anchors, n_features_new)
        The new model's embeddings of the anchor inputs, row ``k`` being the input of row
        ``evaluator.anchor_indices_[k]`` of the spaces the evaluator was fitted on.

    Returns
    -------
    model : sklearn.pipeline.Pipeline
        Fitted; its input is the new model's embeddings. Its steps, by ``evaluator.kind_``:

        - ``"projection"``: ``("projection", P)``, a clone of ``evaluator.projections_[decoder]``
          (so with the same fixed random states) fitted on ``anchors`` (and the anchors'
          target, ``anchor_target_``, as in :meth:`StitchingEvaluator.fit`), then
          ``("decoder", D)``;
        - ``"alignment"``: ``("alignment", M)``, a clone of the evaluator's alignment fitted
          from ``anchors`` onto ``evaluator.anchors_[decoder]`` (the new model mapped into the
          decoder's space, as the stitching matrix maps an encoder), then ``("decoder", D)``;
        - ``"absolute"``: ``("decoder", D)`` alone, the baseline, which reads the new model's
          raw coordinates as if they were the decoder space's. It needs the decoder space's
          width.

        ``D`` is a copy of ``evaluator.decoders_[decoder]``, so refitting the pipeline leaves
        the evaluator as it is.

    Raises
    ------
    sklearn.exceptions.NotFittedError
        If the evaluator is not fitted.
    ValueError
        If ``decoder`` is not a fitted space; if ``anchors`` is not a finite 2-D array with
        one row per anchor; if the representation of ``anchors`` is not as wide as the
        decoder's input (absolute spaces of different widths, or a projection whose width
        follows its input's, such as ``Normalizer``).
    """
    check_is_fitted(evaluator)
    names = evaluator.space_names_
    if not isinstance(decoder, str) or decoder not in names:
        raise ValueError(
            "The 'decoder' parameter of StitchingEvaluator.stitch must be a str among "
            f"{sorted(names)} (the spaces seen in fit). Got {decoder!r} instead."
        )
    anchors = check_array(anchors, dtype=_FLOAT_DTYPES, input_name="anchors")
    n_anchors = evaluator.anchor_indices_.size
    if anchors.shape[0] != n_anchors:
        raise DataError(
            f"anchors has {anchors.shape[0]} rows, but StitchingEvaluator was fitted with "
            f"{n_anchors} anchors: pass the new model's embeddings of the anchor inputs, one "
            "row per anchor, in the order of anchor_indices_."
        )
    kind = evaluator.kind_
    steps = []
    if kind == "projection":
        projection = clone(evaluator.projections_[decoder])
        projection.fit(anchors, evaluator.anchor_target_)
        steps.append(("projection", projection))
        width = projection.transform(anchors[:1]).shape[1]
    elif kind == "alignment":
        # Every pair's alignment is a clone of one estimator; take its fitted parameters
        # (the evaluator's own parameter may have been set anew since fit).
        alignment = clone(next(iter(evaluator.alignments_.values())))
        alignment.fit(anchors, evaluator.anchors_[decoder])
        steps.append(("alignment", alignment))
        width = alignment.transform(anchors[:1]).shape[1]
    else:
        width = anchors.shape[1]
    expected = evaluator.decoder_widths_[decoder]
    if width != expected:
        raise DataError(_width_message(kind, decoder, anchors.shape[1], width, expected))
    steps.append(("decoder", copy.deepcopy(evaluator.decoders_[decoder])))
    return Pipeline(steps)


def _width_message(kind, decoder, n_features, width, expected):
    if kind == "absolute":
        return (
            f"anchors has {n_features} features, but the decoder of space {decoder!r} reads "
            f"{expected}: absolute spaces of different widths cannot be stitched. Use an "
            "invariant projection or an alignment to stitch spaces of different widths."
        )
    return (
        f"The projection of anchors (with {n_features} features) has {width} features, but "
        f"the decoder of space {decoder!r} reads {expected}: this projection's width follows "
        "its input's. Use a relative projection or an alignment to stitch spaces of "
        "different widths."
    )
