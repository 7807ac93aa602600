"""What a comparison compares: the default invariances, how each is used, the default decoder."""

from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin
from sklearn.linear_model import Ridge, RidgeClassifier
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler
from sklearn.utils import get_tags
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import check_is_fitted, validate_data

from .._compat import InvalidParameterError, Options, _fit_context
from .._validation import check_target, final_step
from ..alignment import AffineAlignment, OrthogonalAlignment
from ..decoders import LogisticClassifier, ProductClassifier, ProductRegressor
from ..projection import ProductProjection, RelativeProjection, normalize_rows

__all__ = [
    "DECODERS",
    "LEARNED_DECODERS",
    "PowerOfTwoScaler",
    "default_invariances",
    "fix_random_states",
    "make_decoder",
    "projection_kind",
]

#: Names of the learned aggregations :func:`make_decoder` builds as decoders
#: (:class:`~skinvariance.ProductClassifier` / :class:`~skinvariance.ProductRegressor`).
LEARNED_DECODERS = ("concat", "sum", "weighted", "mlp_sum", "attention")
#: Names of the decoders :func:`make_decoder` builds (``"auto"`` picks by the target).
DECODERS = ("auto", "logistic", "ridge", "knn", *LEARNED_DECODERS)
#: The kernels of the default product rows.
_PRODUCT_KERNELS = ("cosine", "euclidean", "l1", "linf")


def default_invariances(y=None):
    """The invariances :func:`compare_invariances` compares by default.

    Parameters
    ----------
    y : array-like of shape (n_samples,) or (n_samples, n_targets), default=None
        The decoders' target. Given, the table gains the learned aggregation of the product,
        whose decoder is built for it (a classifier for class labels, a regressor
        otherwise); None leaves that row out (without a target nothing is decoded: the rows
        are compared by the similarity measures alone).

    Returns
    -------
    invariances : dict of str to estimator, None or (estimator, decoder) pair
        Unfitted estimators, in table order:

        - ``"absolute"``: None, the raw spaces;
        - ``"scale"``: L2 normalisation of each vector, the workshop paper's scale
          invariance (:func:`~skinvariance.projection.normalize_rows` with ``norm="l2"``,
          which, unlike :class:`sklearn.preprocessing.Normalizer`, takes vectors of any
          magnitude the dtype holds, not zeros for those whose squared norm overflows);
        - ``"relative_cosine"``, ``"relative_euclidean"``, ``"relative_l1"``,
          ``"relative_linf"``: :class:`~skinvariance.RelativeProjection` with each kernel;
        - ``"relative_cosine_centered"``: cosine after centring on the anchor mean
          (translation invariant as well);
        - ``"product"``: :class:`~skinvariance.ProductProjection` of the four kernels
          (concatenated, each subspace standardised per sample);
        - ``"product_mlp_sum"`` (only when ``y`` is given): the same product, decoded by
          the paper's learned "MLP+sum" aggregation, ``make_decoder("mlp_sum", y,
          n_subspaces=4)`` (:class:`~skinvariance.ProductClassifier` or
          :class:`~skinvariance.ProductRegressor`), a ``(projection, decoder)`` pair: this
          row uses its own decoder;
        - ``"orthogonal_standardized"``: ``OrthogonalAlignment(standardize=True)``, orthogonal
          Procrustes between the standard-scaled anchors (the latent space translation of
          Maiorca et al., NeurIPS 2023);
        - ``"affine_ridge"``: ``AffineAlignment(alpha="auto")``, ridge with its strength
          chosen by leave-one-out over the anchors.

        Both alignments are fitted on the parallel anchors of each ordered pair of spaces;
        why these two variants: :ref:`default_invariances`.

    Examples
    --------
    >>> from skinvariance.stitching import default_invariances
    >>> list(default_invariances())  # doctest: +NORMALIZE_WHITESPACE
    ['absolute', 'scale', 'relative_cosine', 'relative_euclidean', 'relative_l1',
     'relative_linf', 'relative_cosine_centered', 'product', 'orthogonal_standardized',
     'affine_ridge']
    >>> projection, decoder = default_invariances(y=[0, 1, 1, 0])["product_mlp_sum"]
    >>> decoder
    ProductClassifier(n_subspaces=4)
    """
    rows = {
        "absolute": None,
        "scale": FunctionTransformer(normalize_rows, kw_args={"norm": "l2"},
                                     feature_names_out="one-to-one"),
        "relative_cosine": RelativeProjection("cosine"),
        "relative_euclidean": RelativeProjection("euclidean"),
        "relative_l1": RelativeProjection("l1"),
        "relative_linf": RelativeProjection("linf"),
        "relative_cosine_centered": RelativeProjection("cosine", center=True),
        "product": ProductProjection(list(_PRODUCT_KERNELS)),
    }
    if y is not None:
        rows["product_mlp_sum"] = (
            ProductProjection(list(_PRODUCT_KERNELS)),
            make_decoder("mlp_sum", y, n_subspaces=len(_PRODUCT_KERNELS)),
        )
    rows["orthogonal_standardized"] = OrthogonalAlignment(standardize=True)
    rows["affine_ridge"] = AffineAlignment(alpha="auto")
    return rows


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


class PowerOfTwoScaler(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """Divide each feature (or all of them) by a power of two fitted to its largest magnitude.

    The divisor of a feature is ``2**e`` with its largest magnitude in ``[2**(e-1), 2**e)``
    among the fitted rows (1 for a zero feature): dividing by it is exact in the normal range,
    so what follows sees values within ``[-1, 1]`` and gives, for data of any magnitude, the
    result it gives for the same data at scale 1. It sits in front of scikit-learn's
    ``StandardScaler`` in the default decoders: alone, the latter squares values (which
    overflows from about 1e154 in float64 and 1e19 in float32) and takes a feature whose
    variance is below ``eps`` for a constant (every feature of a space of magnitude 1e-160).

    Parameters
    ----------
    per_feature : bool, default=True
        One divisor per feature; False: one for all features (the largest magnitude of all),
        which keeps distances between rows in proportion (for nearest neighbours).
    dtype : {np.float32, np.float64}, default=None
        The dtype of the output; None keeps the input's. The ridge decoders of
        :func:`make_decoder` ask for ``np.float64``: their closed-form solve squares the
        condition number of the features, and on the standardised product of a float32 space
        (hundreds of strongly correlated columns) the coefficients of a float32 solve were
        off by up to 2.4 % of the largest, mostly without a warning.

    Attributes
    ----------
    exponent_ : ndarray of shape (n_features,)
        The exponents ``e`` of the divisors.
    n_features_in_ : int
        Number of features seen during fit.

    Examples
    --------
    >>> import numpy as np
    >>> from skinvariance.stitching import PowerOfTwoScaler
    >>> X = np.array([[1e300, -3.0], [-5e299, 1.0]])
    >>> PowerOfTwoScaler().fit_transform(X)
    array([[ 0.74661089, -0.75      ],
           [-0.37330545,  0.25      ]])
    """

    _parameter_constraints = {
        "per_feature": ["boolean"],
        "dtype": [Options(type, {np.float64, np.float32}), None],
    }

    def __init__(self, per_feature=True, dtype=None):
        self.per_feature = per_feature
        self.dtype = dtype

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        kept = ["float64", "float32"] if self.dtype is None else [np.dtype(self.dtype).name]
        tags.transformer_tags.preserves_dtype = kept
        return tags

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Fit the exponents to the largest magnitude of each feature of ``X``."""
        X = validate_data(self, X, dtype=[np.float64, np.float32])
        top = np.abs(X).max(axis=0, initial=0.0)
        if not self.per_feature:
            top = np.full_like(top, top.max(initial=0.0))
        self.exponent_ = np.frexp(top)[1].astype(np.intc)
        return self

    def transform(self, X):
        """``X`` divided by the fitted powers of two, in ``dtype`` (by default its own)."""
        check_is_fitted(self)
        X = validate_data(self, X, dtype=[np.float64, np.float32], reset=False)
        dtype = X.dtype if self.dtype is None else np.dtype(self.dtype)
        # Divide in the wider dtype: a float32 value divided into the subnormal range keeps
        # its digits in float64, and a float64 value beyond float32's range comes within it.
        # The ufunc casts as it goes: one output, no cast copy of X beside it.
        wide = np.promote_types(X.dtype, dtype)
        return np.ldexp(X, -self.exponent_, dtype=wide).astype(dtype, copy=False)


def make_decoder(name, y, *, n_subspaces=1):
    """The decoder named ``name`` for the target ``y``, each space getting a clone.

    Parameters
    ----------
    name : {"auto", "logistic", "ridge", "knn", "concat", "sum", "weighted", "mlp_sum", \
"attention"}
        ``"auto"``: ``"logistic"`` for class labels, ``"ridge"`` otherwise. ``"logistic"``:
        standard scaling then logistic regression; ``"ridge"``: standard scaling then a
        ridge classifier (class labels) or ridge regression; ``"knn"``: k nearest neighbours.
        Each starts with a :class:`PowerOfTwoScaler`, so that it decodes spaces of any
        magnitude as it decodes them at scale 1. The learned aggregations of the product
        space (``"concat"``, ``"sum"``, ``"weighted"``, ``"mlp_sum"``, ``"attention"``):
        :class:`~skinvariance.ProductClassifier` (class labels) or
        :class:`~skinvariance.ProductRegressor` with that ``aggregate`` and
        ``n_subspaces``, its other parameters at their defaults.
    y : array-like
        The target, which decides between a classifier and a regressor.
    n_subspaces : int, default=1
        The number of equal-width subspaces a learned aggregation splits its input into (the
        number of projections of a concatenated :class:`~skinvariance.ProductProjection`);
        the other decoders do not read it.

    Returns
    -------
    decoder : estimator
        Unfitted.

    Raises
    ------
    ValueError
        If ``name`` is unknown, ``"logistic"`` is asked for a continuous target, or the
        target is neither class labels nor continuous values.

    Notes
    -----
    ``"auto"`` is ``PowerOfTwoScaler`` + ``StandardScaler`` + ``LogisticClassifier(max_iter=
    1000)`` (scikit-learn's ``LogisticRegression``'s model and solver, with a faster loss)
    for class labels and ``+ Ridge()`` for a continuous target; why, and when to
    drop the ``StandardScaler``: :ref:`default_decoder`. The ridge decoders compute in float64
    (``PowerOfTwoScaler(dtype=np.float64)``), whatever the spaces' dtype.

    Examples
    --------
    >>> from skinvariance.stitching import make_decoder
    >>> make_decoder("auto", [0, 1, 1, 0])
    Pipeline(steps=[('poweroftwoscaler', PowerOfTwoScaler()),
                    ('standardscaler', StandardScaler()),
                    ('logisticclassifier', LogisticClassifier(max_iter=1000))])
    >>> make_decoder("mlp_sum", [0.5, 1.0, 2.0], n_subspaces=4)
    ProductRegressor(n_subspaces=4)
    """
    if not isinstance(name, str) or name not in DECODERS:
        raise InvalidParameterError(
            f"The 'name' parameter of make_decoder must be a str among {sorted(DECODERS)}. "
            f"Got {name!r} instead."
        )
    if (not isinstance(n_subspaces, Integral) or isinstance(n_subspaces, bool)
            or n_subspaces < 1):
        raise InvalidParameterError(
            "The 'n_subspaces' parameter of make_decoder must be an int in the range "
            f"[1, inf). Got {n_subspaces!r} instead."
        )
    y = check_target(y, None, min_classes=1)  # a single class is refused where it is fitted
    target = type_of_target(y, input_name="y")
    if target not in ("binary", "multiclass", "continuous", "continuous-multioutput"):
        raise ValueError(
            f"No default decoder fits a {target!r} target y; pass a decoder estimator."
        )
    classification = target in ("binary", "multiclass")
    if name in LEARNED_DECODERS:
        learned = ProductClassifier if classification else ProductRegressor
        return learned(n_subspaces=int(n_subspaces), aggregate=name)
    if name == "auto":
        name = "logistic" if classification else "ridge"
    if name == "logistic":
        if not classification:
            raise ValueError(
                "The 'logistic' decoder needs class labels; got a continuous target y."
            )
        return make_pipeline(PowerOfTwoScaler(), StandardScaler(),
                             LogisticClassifier(max_iter=1000))
    if name == "ridge":
        return make_pipeline(PowerOfTwoScaler(dtype=np.float64), StandardScaler(),
                             RidgeClassifier() if classification else Ridge())
    return make_pipeline(PowerOfTwoScaler(per_feature=False),
                         KNeighborsClassifier() if classification else KNeighborsRegressor())
