"""Which rows are the anchors of each space: parallel rows chosen or given, rows given per
space, and pseudo-parallel rows matched when only a few pairs are known.

With ``pairing="match"`` (:class:`StitchingEvaluator`, :func:`compare_invariances`), only the
``anchors`` rows are known pairs; every other training row of each space is used *unpaired*
to find more (:func:`~skinvariance.match_spaces`). Every space is matched to the first one
(the reference), each from a pool whose rows are shuffled independently (seeded), so that the
rows' order is never read: the known pairs are the only link. The anchors are then the
reference rows matched in *every* space, the known ones first, then the most confident, each
space's own matched row beside each: parallel by position, as given anchors are.
"""

from numbers import Integral

import numpy as np
from sklearn.utils import check_random_state

from .._validation import DataError
from ..anchors import select_anchors

__all__ = ["anchor_rows", "check_anchor_mapping", "matched_anchor_rows"]


def anchor_rows(first, anchors, anchor_selection, y, random_state):
    """The anchor row indices :class:`StitchingEvaluator` uses: ``anchors`` rows chosen by
    ``anchor_selection`` among the rows of ``first`` (an int), or the given indices, checked."""
    n_samples = first.shape[0]
    if isinstance(anchors, Integral):
        if anchors > n_samples:
            raise DataError(
                f"The 'anchors' parameter of StitchingEvaluator asks for {anchors} "
                f"anchors, but only {n_samples} training rows were given."
            )
        return np.asarray(
            select_anchors(
                first,
                int(anchors),
                strategy=anchor_selection,
                y=y if anchor_selection == "stratified" else None,
                random_state=random_state,
            ),
            dtype=np.int64,
        )
    indices = np.asarray(anchors)
    if indices.ndim != 1 or indices.size == 0 or indices.dtype.kind not in "iu":
        raise ValueError(
            "The 'anchors' parameter of StitchingEvaluator must be an int or a non-empty "
            f"1-D array of integer row indices. Got an array of shape {indices.shape} and "
            f"dtype {indices.dtype} instead."
        )
    out_of_range = indices[(indices < 0) | (indices >= n_samples)]
    if out_of_range.size:
        raise ValueError(
            f"The 'anchors' parameter of StitchingEvaluator holds row index "
            f"{int(out_of_range[0])}, out of range for {n_samples} training rows."
        )
    if np.unique(indices).size != indices.size:
        raise ValueError("The 'anchors' parameter of StitchingEvaluator repeats a row index.")
    return indices.astype(np.int64)


def check_anchor_mapping(anchors, spaces):
    """``anchors``, a mapping ``{space: row indices}``, checked against ``spaces``."""
    names = list(spaces)
    if set(anchors) != set(names):
        raise ValueError(
            "The 'anchors' parameter of StitchingEvaluator, a mapping, must have one entry per "
            f"space, {sorted(names)}. Got {sorted(map(str, anchors))} instead.")
    rows = {name: anchor_rows(spaces[name], np.asarray(anchors[name]), "random", None, None)
            for name in names}
    sizes = {name: indices.size for name, indices in rows.items()}
    if len(set(sizes.values())) > 1:
        raise ValueError(
            "The 'anchors' parameter of StitchingEvaluator, a mapping, must give every space "
            f"the same number of anchor rows (row k of each is the same input). Got {sizes}.")
    return rows


def matched_anchor_rows(spaces, known, n_anchors, random_state):
    """``{space: row indices}``: ``n_anchors`` pseudo-parallel anchors in every space.

    Parameters
    ----------
    spaces : dict of str to ndarray of shape (n_samples, n_features_space)
        Checked training spaces (row-aligned, but their order is not read beyond ``known``).
    known : ndarray of shape (n_known,)
        The rows known to be the same input in every space (possibly empty).
    n_anchors : int
        How many anchors to return (at least ``n_known``), fewer if fewer rows are matched in
        every space.
    random_state : int, RandomState instance or None
        Seeds the shuffles of the pools and the matching.

    Returns
    -------
    rows : dict of str to ndarray of shape (n_matched,)
        Row ``k`` of every space is believed to be the same input; the first ``n_known`` are
        ``known`` itself.
    """
    from ..matching import match_spaces

    names = list(spaces)
    reference = spaces[names[0]]
    n_samples = reference.shape[0]
    rng = check_random_state(random_state)
    seed = rng.randint(np.iinfo(np.int32).max)
    known = np.asarray(known, dtype=np.int64)
    votes = np.zeros(n_samples)           # summed confidence of each reference row
    matched_in = np.zeros(n_samples, dtype=int)
    partner = {names[0]: np.arange(n_samples)}
    for name in names[1:]:
        # The pool of this space in an order of its own: only the known rows link the two.
        order = rng.permutation(n_samples)
        position = np.empty(n_samples, dtype=np.int64)
        position[order] = np.arange(n_samples)
        pairs = np.column_stack([known, position[known]]) if known.size else None
        found, confidence = match_spaces(reference, spaces[name][order], pairs,
                                         random_state=seed, return_confidence=True)
        rows = np.full(n_samples, -1, dtype=np.int64)
        rows[found[:, 0]] = order[found[:, 1]]
        partner[name] = rows
        matched_in[found[:, 0]] += 1
        votes[found[:, 0]] += np.where(np.isfinite(confidence), confidence, 0.0)
    everywhere = np.flatnonzero(matched_in == len(names) - 1)
    others = np.setdiff1d(everywhere, known)
    others = others[np.argsort(-votes[others], kind="stable")]
    chosen = np.concatenate([known, others])[: max(n_anchors, known.size)]
    if chosen.size < 2:
        raise DataError(
            f"Matching the spaces' unpaired rows found {chosen.size} anchor(s) common to every "
            "space; at least 2 are needed. Give more known pairs ('anchors') or more rows."
        )
    return {name: partner[name][chosen] for name in names}
