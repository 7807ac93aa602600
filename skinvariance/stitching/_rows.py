"""The rows of a comparison: each invariance, the decoder that reads it, and the evaluator
that scores it (:func:`make_evaluator` deploys a row as it was scored)."""

from collections.abc import Mapping
from numbers import Integral

import numpy as np
from sklearn.base import clone
from sklearn.metrics import get_scorer_names
from sklearn.pipeline import Pipeline
from sklearn.utils import check_random_state

from .._compat import HasMethods, InvalidParameterError, StrOptions, validate_params
from .._constraints import RANDOM_STATE, NumberInterval
from .._validation import check_target, final_step
from ..projection import ProductProjection
from ._evaluator import StitchingEvaluator
from ._invariances import DECODERS, default_invariances, fix_random_states, make_decoder

__all__ = [
    "describe_decoder",
    "draw_seed",
    "make_evaluator",
    "resolve_invariances",
    "row_decoders",
    "row_evaluator",
    "row_subspaces",
]

# Short names of the decoders make_decoder builds, as the table's decoder column writes them.
_SHORT_NAMES = {
    "LogisticClassifier": "logistic",
    "LogisticRegression": "logistic",
    "Ridge": "ridge",
    "RidgeClassifier": "ridge",
    "KNeighborsClassifier": "knn",
    "KNeighborsRegressor": "knn",
}


def describe_decoder(estimator):
    """A short readable description of a decoder: its final estimator, then its steps.

    ``"logistic (PowerOfTwoScaler, StandardScaler)"`` for the default linear probe of class
    labels, ``"ProductClassifier(mlp_sum)"`` for a learned aggregation; any other estimator
    by its class name.

    Examples
    --------
    >>> from skinvariance.stitching import make_decoder
    >>> from skinvariance.stitching._rows import describe_decoder
    >>> describe_decoder(make_decoder("auto", [0, 1, 1, 0]))
    'logistic (PowerOfTwoScaler, StandardScaler)'
    >>> describe_decoder(make_decoder("mlp_sum", [0, 1, 1, 0], n_subspaces=4))
    'ProductClassifier(mlp_sum)'
    """
    if isinstance(estimator, Pipeline):
        steps = [step for _, step in estimator.steps if step not in (None, "passthrough")]
    else:
        steps = [estimator]
    final = steps[-1]
    name = type(final).__name__
    if name in ("ProductClassifier", "ProductRegressor"):
        text = f"{name}({final.aggregate})"
    else:
        text = _SHORT_NAMES.get(name, name)
    before = [type(step).__name__ for step in steps[:-1]]
    return f"{text} ({', '.join(before)})" if before else text


def _is_decoder(estimator):
    return all(callable(getattr(estimator, method, None)) for method in ("fit", "predict"))


def resolve_invariances(invariances, y=None, *, caller="compare_invariances"):
    """``{name: (projection, own decoder or None)}``, the rows to compare.

    None means :func:`default_invariances` for the target ``y``. A value may be a projection,
    an alignment, None (absolute spaces), or a ``(projection or None, decoder)`` pair whose
    decoder reads that row instead of ``compare_invariances``' ``decoder``. ``caller`` names
    the public function in error messages.
    """
    if invariances is None:
        invariances = default_invariances(y)
    if not isinstance(invariances, Mapping) or not invariances:
        raise TypeError(
            f"The 'invariances' parameter of {caller} must be None or a non-empty "
            f"mapping {{name: projection, alignment, None or (projection, decoder)}}. Got "
            f"{invariances!r} instead."
        )
    rows = {}
    for name, value in invariances.items():
        if not isinstance(name, str):
            raise TypeError(
                f"The names in 'invariances' must be str. Got {name!r} of type "
                f"{type(name).__name__}."
            )
        projection, decoder = value, None
        if isinstance(value, tuple):
            if len(value) != 2:
                raise TypeError(
                    f"invariances[{name!r}] must be a (projection or None, decoder) pair when "
                    f"it is a tuple. Got a tuple of {len(value)} items."
                )
            projection, decoder = value
            if not _is_decoder(decoder):
                raise TypeError(
                    f"The decoder of invariances[{name!r}] must be an estimator implementing "
                    f"'fit' and 'predict'. Got {decoder!r} instead."
                )
        if projection is not None and not all(
            callable(getattr(projection, method, None)) for method in ("fit", "transform")
        ):
            raise TypeError(
                f"invariances[{name!r}] must be None, a transformer, an alignment (an object "
                "implementing 'fit' and 'transform') or a (projection, decoder) pair. Got "
                f"{projection!r} instead."
            )
        rows[name] = (projection, decoder)
    return rows


def row_subspaces(projection):
    """The number of subspaces a learned aggregation reads in a row's representation: the
    projections of a concatenated :class:`~skinvariance.ProductProjection`, else 1."""
    if projection is None:
        return 1
    product = final_step(projection)
    if type(product) is not ProductProjection or product.aggregate != "concat":
        return 1
    try:
        return len(product._check_projections())
    except (TypeError, ValueError):
        return 1  # the projection reports its own mistake when it is fitted


def check_decoder(decoder):
    """``decoder`` (a name of :func:`make_decoder`, an estimator or None), checked."""
    if decoder is None or (isinstance(decoder, str) and decoder in DECODERS):
        return decoder
    if isinstance(decoder, str):
        raise InvalidParameterError(
            "The 'decoder' parameter of compare_invariances must be a str among "
            f"{sorted(DECODERS)}, an estimator implementing 'fit' and 'predict' or None. "
            f"Got {decoder!r} instead."
        )
    if not _is_decoder(decoder):
        raise TypeError(
            "The 'decoder' parameter of compare_invariances must be an estimator implementing "
            f"'fit' and 'predict', a str among {sorted(DECODERS)} or None. Got {decoder!r} "
            "instead."
        )
    return decoder


def row_decoders(rows, decoder, y):
    """The decoder of each row, and the default one (what rows without their own use).

    A name (None means ``"auto"``) is built by :func:`make_decoder` for the target, with the
    row's number of subspaces (:func:`row_subspaces`) for a learned aggregation.
    """
    if decoder is None:
        decoder = "auto"
    if not isinstance(decoder, str):
        return {name: own if own is not None else decoder
                for name, (_, own) in rows.items()}, decoder
    default = make_decoder(decoder, y)
    decoders = {}
    for name, (projection, own) in rows.items():
        if own is None:
            own = make_decoder(decoder, y, n_subspaces=row_subspaces(projection))
        decoders[name] = own
    return decoders, default


def draw_seed(random_state):
    """The one seed a comparison draws from its ``random_state``: it seeds the splits, the
    anchors and the unset random states of every row's projection and decoder."""
    return check_random_state(random_state).randint(np.iinfo(np.int32).max)


def row_evaluator(projection, decoder, *, n_train, anchors, scoring, seed, pairing="given",
                  matched_anchors=300, n_jobs=None):
    """The unfitted evaluator that scores one row of a comparison on ``n_train`` rows.

    The one place where a row becomes an evaluator: ``compare_invariances`` fits it on each
    split's training rows, :func:`make_evaluator` returns it, so a deployed row is configured
    exactly as it was scored. An int ``anchors`` is capped at ``n_train`` (all the rows if
    fewer); a mapping gives each space its rows (a comparison's matched anchors, found once
    per split); the decoder's unset random states, like the projection's (which the evaluator
    fixes when it is fitted), are ``seed``. ``n_jobs``: the evaluator's, which fits and
    scores the spaces (and the pairs of an alignment) in parallel; it changes no result.
    """
    if isinstance(anchors, Integral):
        anchors = min(anchors, n_train)
    return StitchingEvaluator(
        None if projection is None else clone(projection),
        fix_random_states(clone(decoder), seed),
        anchors=anchors,
        pairing=pairing,
        matched_anchors=matched_anchors,
        scoring=scoring,
        n_jobs=n_jobs,
        random_state=seed,
    )


@validate_params(
    {
        "name": [str],
        "y": ["array-like"],
        "invariances": [Mapping, None],
        "decoder": [StrOptions(set(DECODERS)), HasMethods(["fit", "predict"]), None],
        "scoring": [StrOptions(set(get_scorer_names())), callable, None],
        "anchors": [NumberInterval(Integral, 0, None, closed="left")],
        "pairing": [StrOptions({"given", "match"})],
        "matched_anchors": [NumberInterval(Integral, 2, None, closed="left")],
        "random_state": RANDOM_STATE,
    },
    prefer_skip_nested_validation=True,
)
def make_evaluator(name, y, invariances=None, *, decoder=None, scoring=None, anchors=300,
                   pairing="given", matched_anchors=300, random_state=None):
    """The evaluator of one row of :func:`compare_invariances`, configured as it was scored.

    Whatever row wins (absolute spaces, a projection, an alignment or a ``(projection,
    decoder)`` pair), pass its name and the comparison's arguments: the unfitted
    :class:`StitchingEvaluator` returned is the one that scored the row on each split (the
    same projection or alignment, decoder, anchor count, scoring and seed), ready for
    :meth:`~StitchingEvaluator.fit` and :meth:`~StitchingEvaluator.stitch`. See
    :ref:`own_embeddings`.

    Parameters
    ----------
    name : str
        The row, a name of ``invariances`` (for instance ``table.attrs["best"]``).
    y : array-like of shape (n_samples,) or (n_samples, n_targets)
        The target the evaluator will be fitted on. As in :func:`compare_invariances`, it
        decides the decoder (a classifier for class labels, a regressor otherwise), and the
        anchors are all its rows if it has fewer than ``anchors``.
    invariances : mapping of str to estimator, None or (estimator, decoder), default=None
        The comparison's ``invariances``; None means :func:`default_invariances` for ``y``.
    decoder : estimator, str or None, default=None
        The comparison's ``decoder``, for a row without its own.
    scoring : str, callable or None, default=None
        The comparison's ``scoring``.
    anchors : int, default=300
        The comparison's ``anchors`` (one count of an anchor curve).
    pairing : {"given", "match"}, default="given"
        The comparison's ``pairing``.
    matched_anchors : int, default=300
        The comparison's ``matched_anchors``.
    random_state : int, RandomState instance or None, default=None
        The comparison's ``random_state``. Pass the same int: the seed drawn from it seeds
        the anchor selection and the unset random states of the row's projection and decoder.

    Returns
    -------
    evaluator : StitchingEvaluator
        Unfitted. Fitted on a split's training rows (``cv=[(train, test)]`` in the
        comparison), its :meth:`~StitchingEvaluator.stitching_matrix` of the test rows is
        the one the comparison averaged for that row.

    Raises
    ------
    ValueError
        If ``name`` is not a row of ``invariances`` (the message lists them), or if a
        parameter is invalid as it would be for :func:`compare_invariances`.

    See Also
    --------
    compare_invariances : The table whose rows this deploys.
    StitchingEvaluator.stitch : Serve a model that came later with a fitted space's decoder.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import make_classification
    >>> from skinvariance import compare_invariances
    >>> from skinvariance.stitching import make_evaluator
    >>> X, y = make_classification(n_samples=300, n_features=8, n_informative=6,
    ...                            random_state=0)
    >>> Q, _ = np.linalg.qr(np.random.default_rng(0).normal(size=(8, 8)))
    >>> spaces = {"a": X, "b": X @ Q, "c": 2.0 * X @ Q.T}
    >>> table = compare_invariances(spaces, y, metrics=["cka"], anchors=50,
    ...                             random_state=0)
    >>> ev = make_evaluator(table.attrs["best"], y, anchors=50, random_state=0)
    >>> ev = ev.fit(spaces, y)
    >>> model = ev.stitch("a", 3.0 * X[ev.anchor_indices_] @ Q)  # a later model
    >>> model.predict(3.0 * X @ Q).shape
    (300,)
    """
    y = check_target(y, None)
    rows = resolve_invariances(invariances, y, caller="make_evaluator")
    if name not in rows:
        raise InvalidParameterError(
            f"The 'name' parameter of make_evaluator must be a str among {sorted(rows)} (the "
            f"rows of invariances). Got {name!r} instead."
        )
    projection, _ = rows[name]
    decoders, _ = row_decoders({name: rows[name]}, decoder, y)
    if anchors == 0 and pairing == "given":
        raise InvalidParameterError(
            "The 'anchors' parameter of make_evaluator must be at least 1 with "
            "pairing='given' (0 known pairs needs pairing='match'). Got 0 instead.")
    return row_evaluator(projection, decoders[name], n_train=len(y), anchors=anchors,
                         scoring=scoring, seed=draw_seed(random_state), pairing=pairing,
                         matched_anchors=matched_anchors)
