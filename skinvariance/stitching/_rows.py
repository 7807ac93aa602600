"""The rows of a comparison: each invariance, and the decoder that reads it."""

from collections.abc import Mapping

from sklearn.pipeline import Pipeline

from .._compat import InvalidParameterError
from .._validation import final_step
from ..projection import ProductProjection
from ._invariances import DECODERS, default_invariances, make_decoder

__all__ = ["describe_decoder", "resolve_invariances", "row_decoders", "row_subspaces"]

# Short names of the decoders make_decoder builds, as the table's decoder column writes them.
_SHORT_NAMES = {
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


def resolve_invariances(invariances, y=None):
    """``{name: (projection, own decoder or None)}``, the rows to compare.

    None means :func:`default_invariances` for the target ``y``. A value may be a projection,
    an alignment, None (absolute spaces), or a ``(projection or None, decoder)`` pair whose
    decoder reads that row instead of ``compare_invariances``' ``decoder``.
    """
    if invariances is None:
        invariances = default_invariances(y)
    if not isinstance(invariances, Mapping) or not invariances:
        raise TypeError(
            "The 'invariances' parameter of compare_invariances must be None or a non-empty "
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
