"""What a comparison compares: the default invariances, how each is used, the default decoder."""

from collections.abc import Mapping

import numpy as np
from sklearn.linear_model import LogisticRegression, Ridge, RidgeClassifier
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import Normalizer, StandardScaler
from sklearn.utils import get_tags
from sklearn.utils.multiclass import type_of_target

from .._validation import final_step
from ..alignment import AffineAlignment, OrthogonalAlignment
from ..projection import ProductProjection, RelativeProjection

__all__ = [
    "DECODERS",
    "default_invariances",
    "fix_random_states",
    "make_decoder",
    "projection_kind",
    "resolve_invariances",
]

#: Names of the decoders :func:`make_decoder` builds (``"auto"`` picks by the target).
DECODERS = ("auto", "logistic", "ridge", "knn")


def default_invariances():
    """The invariances :func:`compare_invariances` compares by default.

    Returns
    -------
    invariances : dict of str to estimator or None
        Unfitted estimators, in table order:

        - ``"absolute"``: None, the raw spaces;
        - ``"scale"``: :class:`sklearn.preprocessing.Normalizer` (L2 normalisation of each
          vector, the workshop paper's scale invariance);
        - ``"relative_cosine"``, ``"relative_euclidean"``, ``"relative_l1"``,
          ``"relative_linf"``: :class:`~skinvariance.RelativeProjection` with each kernel;
        - ``"relative_cosine_centered"``: cosine after centring on the anchor mean
          (translation invariant as well);
        - ``"product"``: :class:`~skinvariance.ProductProjection` of the four kernels
          (concatenated, each subspace standardised per sample);
        - ``"orthogonal_standardized"``: ``OrthogonalAlignment(standardize=True)``, orthogonal
          Procrustes between the standard-scaled anchors (the latent space translation of
          Maiorca et al., NeurIPS 2023);
        - ``"affine_ridge"``: ``AffineAlignment(alpha="auto")``, ridge with its strength
          chosen by leave-one-out over the anchors.

        Both alignments are fitted on the parallel anchors of each ordered pair of spaces.
        They are the variants that transferred best on the zoo benchmark
        (``benchmarks/bench_zoo.py``, digits, MNIST-1D and MNIST-5k, 300 and 16 anchors):
        standardising the orthogonal map raised zero-shot accuracy in 15 of 18 zoos (by
        0.045 on average with 300 anchors, 0.034 with 16), though it did worse on 11 of the
        18 reconstruction zoos; the leave-one-out ridge stayed within 0.007 of least squares
        with 300 anchors (ahead in 15 of the 18 classification scores), and with 16 anchors
        (no more than the latent dimensions) it raised accuracy by 0.034 on average and cut
        the reconstruction error by 42% (geometric mean; worse in one zoo of nine), while
        standardising it as well did not help (0.016 lower accuracy with 16 anchors).

    Examples
    --------
    >>> from skinvariance.stitching import default_invariances
    >>> list(default_invariances())  # doctest: +NORMALIZE_WHITESPACE
    ['absolute', 'scale', 'relative_cosine', 'relative_euclidean', 'relative_l1',
     'relative_linf', 'relative_cosine_centered', 'product', 'orthogonal_standardized',
     'affine_ridge']
    """
    return {
        "absolute": None,
        "scale": Normalizer(),
        "relative_cosine": RelativeProjection("cosine"),
        "relative_euclidean": RelativeProjection("euclidean"),
        "relative_l1": RelativeProjection("l1"),
        "relative_linf": RelativeProjection("linf"),
        "relative_cosine_centered": RelativeProjection("cosine", center=True),
        "product": ProductProjection(["cosine", "euclidean", "l1", "linf"]),
        "orthogonal_standardized": OrthogonalAlignment(standardize=True),
        "affine_ridge": AffineAlignment(alpha="auto"),
    }


def projection_kind(projection):
    """``"absolute"`` for None, ``"alignment"`` for a transformer whose fit needs a target
    (its tags say ``target_tags.required``), else ``"projection"``."""
    if projection is None:
        return "absolute"
    if get_tags(final_step(projection)).target_tags.required:
        return "alignment"
    return "projection"


def fix_random_states(estimator, seed):
    """Give every unset ``random_state`` of ``estimator`` (and its sub-estimators) ``seed``.

    The per-space clones of a projection then make the same random choices (for instance the
    same anchor rows among the parallel anchors), whatever space they are fitted on.
    """
    params = estimator.get_params(deep=True)
    fixed = {
        key: seed
        for key, value in params.items()
        if (key == "random_state" or key.endswith("__random_state"))
        and (value is None or isinstance(value, np.random.RandomState))
    }
    if fixed:
        estimator.set_params(**fixed)
    return estimator


def resolve_invariances(invariances):
    """The mapping ``{name: projection, alignment or None}`` to compare (the defaults for None)."""
    if invariances is None:
        return default_invariances()
    if not isinstance(invariances, Mapping) or not invariances:
        raise TypeError(
            "The 'invariances' parameter of compare_invariances must be None or a non-empty "
            f"mapping {{name: projection, alignment or None}}. Got {invariances!r} instead."
        )
    for name, estimator in invariances.items():
        if not isinstance(name, str):
            raise TypeError(
                f"The names in 'invariances' must be str. Got {name!r} of type "
                f"{type(name).__name__}."
            )
        if estimator is not None and not all(
            callable(getattr(estimator, method, None)) for method in ("fit", "transform")
        ):
            raise TypeError(
                f"invariances[{name!r}] must be None, a transformer or an alignment (an "
                f"object implementing 'fit' and 'transform'). Got {estimator!r} instead."
            )
    return dict(invariances)


def make_decoder(name, y):
    """The decoder named ``name`` for the target ``y``, each space getting a clone.

    Parameters
    ----------
    name : {"auto", "logistic", "ridge", "knn"}
        ``"auto"``: ``"logistic"`` for class labels, ``"ridge"`` otherwise. ``"logistic"``:
        standard scaling then logistic regression; ``"ridge"``: standard scaling then a
        ridge classifier (class labels) or ridge regression; ``"knn"``: k nearest neighbours.
    y : array-like
        The target, which decides between a classifier and a regressor.

    Returns
    -------
    decoder : estimator
        Unfitted.

    Raises
    ------
    ValueError
        If ``name`` is unknown, ``"logistic"`` is asked for a continuous target, or the
        target is neither class labels nor continuous values.

    Examples
    --------
    >>> from skinvariance.stitching import make_decoder
    >>> make_decoder("auto", [0, 1, 1, 0])
    Pipeline(steps=[('standardscaler', StandardScaler()),
                    ('logisticregression', LogisticRegression(max_iter=1000))])
    """
    if name not in DECODERS:
        raise ValueError(
            f"The decoder name must be a str among {list(DECODERS)}. Got {name!r} instead."
        )
    target = type_of_target(y, input_name="y")
    if target not in ("binary", "multiclass", "continuous", "continuous-multioutput"):
        raise ValueError(
            f"No default decoder fits a {target!r} target y; pass a decoder estimator."
        )
    classification = target in ("binary", "multiclass")
    if name == "auto":
        name = "logistic" if classification else "ridge"
    if name == "logistic":
        if not classification:
            raise ValueError(
                "The 'logistic' decoder needs class labels; got a continuous target y."
            )
        return make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    if name == "ridge":
        return make_pipeline(StandardScaler(), RidgeClassifier() if classification else Ridge())
    return KNeighborsClassifier() if classification else KNeighborsRegressor()
