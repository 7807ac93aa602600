"""Zero-shot stitching between latent spaces, and the selection of an invariance.

:class:`StitchingEvaluator` trains one decoder per space on an invariant representation of that
space and scores every decoder on every other space's representation, with no further training
(METHOD.md §8). :func:`compare_invariances` runs it, together with the similarity measures of
:mod:`skinvariance.metrics`, over a set of invariances and returns one tidy table.
"""

import warnings
from collections.abc import Mapping
from numbers import Integral

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from sklearn.base import BaseEstimator, MetaEstimatorMixin, clone, is_classifier, is_regressor
from sklearn.metrics import check_scoring, get_scorer_names
from sklearn.utils import check_array, check_random_state, get_tags

from skinvariance._compat import (
    HasMethods,
    Interval,
    StrOptions,
    _fit_context,
    check_is_fitted,
)
from skinvariance.anchors import ANCHOR_STRATEGIES, select_anchors
from skinvariance.spaces import check_spaces

__all__ = ["StitchingEvaluator", "compare_invariances", "default_invariances"]


def _final_step(estimator):
    """The last step of a Pipeline (the estimator itself otherwise)."""
    steps = getattr(estimator, "steps", None)
    if isinstance(steps, list) and steps:
        last = steps[-1][1]
        if last is not None and last != "passthrough":
            return last
    return estimator


def _projection_kind(projection):
    """``"absolute"`` for None, ``"alignment"`` for a transformer needing a target, else
    ``"projection"``."""
    if projection is None:
        return "absolute"
    if get_tags(_final_step(projection)).target_tags.required:
        return "alignment"
    return "projection"


def _default_scoring(decoder):
    """Scoring string used when ``scoring=None``."""
    if is_classifier(decoder):
        return "accuracy"
    if is_regressor(decoder):
        return "neg_mean_squared_error"
    return None  # the decoder's own ``score`` method


def _fix_random_states(estimator, seed):
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


def _fit_projection_and_decoder(projection, decoder, X, anchor_indices, y):
    projection = clone(projection).fit(X[anchor_indices], y[anchor_indices])
    Z = projection.transform(X)
    return projection, clone(decoder).fit(Z, y), Z.shape[1]


def _fit_decoder(decoder, X, y):
    return clone(decoder).fit(X, y)


def _fit_alignment(alignment, anchors_source, anchors_target):
    return clone(alignment).fit(anchors_source, anchors_target)


def _score(scorer, decoder, Z, y, width):
    if Z.shape[1] != width:
        return np.nan
    return float(scorer(decoder, Z, y))


def _score_encoder(evaluator, encoder, X, y):
    """One row of the stitching matrix: encoder ``encoder`` into every decoder."""
    names = evaluator.space_names_
    widths = evaluator.decoder_widths_
    scorer = evaluator.scorer_
    row = []
    if evaluator.kind_ == "alignment":
        for decoder in names:
            if decoder == encoder:
                Z = X
            else:
                Z = evaluator.alignments_[encoder, decoder].transform(X)
            row.append(_score(scorer, evaluator.decoders_[decoder], Z, y, widths[decoder]))
        return row
    Z = X if evaluator.kind_ == "absolute" else evaluator.projections_[encoder].transform(X)
    for decoder in names:
        row.append(_score(scorer, evaluator.decoders_[decoder], Z, y, widths[decoder]))
    return row


class StitchingEvaluator(MetaEstimatorMixin, BaseEstimator):
    """Zero-shot stitching of decoders across row-aligned latent spaces.

    For each space, fit a clone of ``projection`` on that space's anchors, transform the space
    and fit a clone of ``decoder`` on the result. Then feed every space's representation to
    every space's decoder with no further training and score it: the stitching matrix. Its
    diagonal is the ordinary (non-stitched) score; its off-diagonal entries are zero-shot.

    Anchors are chosen once, as row indices, so every space uses its own embedding of the same
    samples (*parallel anchors*).

    Parameters
    ----------
    projection : estimator or None
        What makes the spaces comparable:

        - a transformer (:class:`~skinvariance.RelativeProjection`,
          :class:`~skinvariance.ProductProjection`, a Pipeline ending in one, or any other
          transformer): fitted on each space's anchors alone (``fit(anchors)``), then applied
          to the whole space;
        - an *alignment*, i.e. a transformer whose ``fit`` requires a target (its tags say
          ``target_tags.required``), such as :class:`~skinvariance.OrthogonalAlignment` or
          :class:`~skinvariance.AffineAlignment`: fitted for every ordered pair of spaces
          ``(i, j)`` on the parallel anchors (``fit(anchors_i, anchors_j)``); the decoder of
          space ``j``, trained on space ``j`` itself, then sees space ``i`` mapped into ``j``;
        - None: the absolute spaces, the baseline. Decoders are trained on the raw spaces and
          an encoder can only be stitched to a decoder of the same width: pairs of different
          widths have no score (NaN, with a warning).

        Unset ``random_state`` parameters of ``projection`` (and of its sub-estimators) are
        fixed to one seed drawn from ``random_state`` so that the per-space clones make the
        same random choices (the same anchor subset, for instance).
    decoder : estimator
        A classifier or regressor (anything with ``fit`` and ``predict``), cloned once per
        space. Regression targets may be 2-D (for instance the inputs to reconstruct).
    anchors : int or array-like of int, default=300
        The number of anchor rows, chosen among the training rows by ``anchor_selection`` on
        the first space, or the anchor row indices themselves (positions in the rows passed to
        :meth:`fit`).
    anchor_selection : {"random", "stratified", "kmeans", "fps"}, default="random"
        The strategy of :func:`~skinvariance.select_anchors`, used when ``anchors`` is an int.
        ``"stratified"`` uses the classification target ``y``.
    scoring : str, callable or None, default=None
        A scikit-learn scoring name (see :func:`sklearn.metrics.get_scorer_names`) or a scorer
        callable ``scorer(estimator, X, y) -> float``. None means ``"accuracy"`` for a
        classifier decoder, ``"neg_mean_squared_error"`` for a regressor decoder (negated, as
        in scikit-learn, so that higher is better and GridSearchCV maximises it; flip the
        sign to read an MSE), and the decoder's own ``score`` method otherwise.
    n_jobs : int, default=None
        The number of jobs fitting the spaces and alignment pairs and scoring the encoders
        in parallel with :mod:`joblib`. None means 1 unless in a
        :func:`joblib.parallel_config` context; -1 means all processors.
    random_state : int, RandomState instance or None, default=None
        Seeds the anchor selection and the ``random_state`` parameters left unset in
        ``projection``.

    Attributes
    ----------
    kind_ : {"projection", "alignment", "absolute"}
        How ``projection`` was used.
    space_names_ : list of str
        The spaces, in the order seen during :meth:`fit`.
    n_features_per_space_ : dict of str to int
        The width of each space seen during :meth:`fit`.
    anchor_indices_ : ndarray of shape (n_anchors,)
        The anchor rows (the same in every space), positions in the rows passed to :meth:`fit`.
    projections_ : dict of str to estimator
        The fitted projection of each space (empty unless ``kind_ == "projection"``).
    alignments_ : dict of (str, str) to estimator
        The fitted alignment of each ordered pair ``(encoder, decoder)`` (empty unless
        ``kind_ == "alignment"``).
    decoders_ : dict of str to estimator
        The fitted decoder of each space.
    decoder_widths_ : dict of str to int
        The number of features each decoder was fitted on.
    scorer_ : callable
        The scorer used.
    scorer_name_ : str
        Its name, as written in ``results_``.
    results_ : DataFrame
        Set by :meth:`stitching_matrix` (and :meth:`score`): one row per (encoder, decoder)
        pair with columns ``encoder``, ``decoder``, ``stitched`` (encoder differs from
        decoder), ``score`` and ``scorer``.

    See Also
    --------
    compare_invariances : Compare invariances by similarity and stitching in one table.
    skinvariance.stack_spaces : The DataFrame form of the input, which GridSearchCV can split.

    Notes
    -----
    The input is several spaces at once, a mapping ``{name: array}`` or a DataFrame with
    ``(space, feature)`` columns (:func:`~skinvariance.stack_spaces`). Pass the DataFrame form
    to scikit-learn's model selection tools: they split it by rows. ``score`` is the mean
    zero-shot score over the ordered pairs of different spaces, so ``GridSearchCV`` selects
    the projection that stitches best. The evaluator is not a classifier: for stratified
    folds, pass ``cv=StratifiedKFold(...)``.

    Because of this multi-space input, scikit-learn's generic estimator checks
    (``check_estimator``), written for a single array ``X``, do not apply; the test suite
    checks cloning, parameters, nested parameters and pickling directly.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import make_classification
    >>> from sklearn.linear_model import LogisticRegression
    >>> from skinvariance import RelativeProjection, StitchingEvaluator
    >>> X, y = make_classification(n_samples=300, n_features=8, n_informative=6,
    ...                            random_state=0)
    >>> Q, _ = np.linalg.qr(np.random.default_rng(0).normal(size=(8, 8)))
    >>> spaces = {"model_a": X, "model_b": 3.0 * X @ Q}     # a rotated and scaled copy
    >>> ev = StitchingEvaluator(RelativeProjection("cosine"), LogisticRegression(),
    ...                         anchors=50, random_state=0)
    >>> ev.fit(spaces, y).stitching_matrix(spaces, y).round(2)
    decoder   model_a  model_b
    encoder
    model_a      0.78     0.78
    model_b      0.78     0.78
    >>> absolute = StitchingEvaluator(None, LogisticRegression(), random_state=0)
    >>> absolute.fit(spaces, y).stitching_matrix(spaces, y).round(2)
    decoder   model_a  model_b
    encoder
    model_a      0.80     0.46
    model_b      0.41     0.80

    The cosine relative representation is invariant to the rotation and the rescaling, so
    each decoder reads the other model's space as well as its own; the absolute spaces do
    not stitch. (Scores here are on the training rows, for brevity; score held-out rows.)
    """

    _parameter_constraints = {
        "projection": [HasMethods(["fit", "transform"]), None],
        "decoder": [HasMethods(["fit", "predict"])],
        "anchors": [Interval(Integral, 1, None, closed="left"), "array-like"],
        "anchor_selection": [StrOptions(set(ANCHOR_STRATEGIES))],
        "scoring": [StrOptions(set(get_scorer_names())), callable, None],
        "n_jobs": [Integral, None],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        projection,
        decoder,
        *,
        anchors=300,
        anchor_selection="random",
        scoring=None,
        n_jobs=None,
        random_state=None,
    ):
        self.projection = projection
        self.decoder = decoder
        self.anchors = anchors
        self.anchor_selection = anchor_selection
        self.scoring = scoring
        self.n_jobs = n_jobs
        self.random_state = random_state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        return tags

    # -- validation -------------------------------------------------------------------------

    def _check_y(self, y, n_samples, name="y"):
        y = check_array(y, ensure_2d=False, dtype=None, ensure_all_finite=True, input_name=name)
        if y.ndim not in (1, 2):
            raise ValueError(f"{name} must be 1-D or 2-D; got an array of shape {y.shape}.")
        if y.shape[0] != n_samples:
            raise ValueError(
                f"{name} has {y.shape[0]} rows but the spaces have {n_samples} rows (samples)."
            )
        return y

    def _anchor_indices(self, first, y):
        n_samples = first.shape[0]
        if isinstance(self.anchors, Integral):
            if self.anchors > n_samples:
                raise ValueError(
                    f"The 'anchors' parameter of StitchingEvaluator asks for {self.anchors} "
                    f"anchors, but only {n_samples} training rows were given."
                )
            return np.asarray(
                select_anchors(
                    first,
                    int(self.anchors),
                    strategy=self.anchor_selection,
                    y=y if self.anchor_selection == "stratified" else None,
                    random_state=self.random_state,
                ),
                dtype=np.int64,
            )
        indices = np.asarray(self.anchors)
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

    def _make_scorer(self):
        scoring = self.scoring if self.scoring is not None else _default_scoring(self.decoder)
        scorer = check_scoring(self.decoder, scoring=scoring)
        if isinstance(scoring, str):
            name = scoring
        elif scoring is None:
            name = "score"
        else:
            name = getattr(scoring, "__name__", None) or repr(scoring)
        return scorer, name

    def _check_fitted_spaces(self, spaces, y, argument):
        spaces = check_spaces(spaces, input_name=argument)
        if set(spaces) != set(self.space_names_):
            missing = sorted(set(self.space_names_) - set(spaces))
            extra = sorted(set(spaces) - set(self.space_names_))
            raise ValueError(
                f"{argument} must hold the spaces seen in fit, {self.space_names_}; "
                f"missing {missing}, unexpected {extra}."
            )
        for name in self.space_names_:
            width, expected = spaces[name].shape[1], self.n_features_per_space_[name]
            if width != expected:
                raise ValueError(
                    f"Space {name!r} of {argument} has {width} features, but "
                    f"StitchingEvaluator was fitted with {expected} features for it."
                )
        n_samples = next(iter(spaces.values())).shape[0]
        y = self._check_y(y, n_samples)
        return {name: spaces[name] for name in self.space_names_}, y

    # -- fit / score --------------------------------------------------------------------------

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, spaces, y):
        """Fit one projection (or one alignment per pair) and one decoder per space.

        Parameters
        ----------
        spaces : mapping of str to array-like of shape (n_samples, n_features_space) or \
DataFrame
            At least two row-aligned spaces: a mapping ``{name: array}`` or a DataFrame with
            ``(space, feature)`` columns.
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            The decoders' target: class labels, or values to regress (2-D for reconstruction).

        Returns
        -------
        self : StitchingEvaluator
            The fitted evaluator.
        """
        spaces = check_spaces(spaces)
        names = list(spaces)
        first = spaces[names[0]]
        y = self._check_y(y, first.shape[0])
        kind = _projection_kind(self.projection)
        scorer, scorer_name = self._make_scorer()
        anchor_indices = self._anchor_indices(first, y)

        parallel = Parallel(n_jobs=self.n_jobs)
        projections, alignments = {}, {}
        if kind == "projection":
            seed = check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
            projection = _fix_random_states(clone(self.projection), seed)
            fitted = parallel(
                delayed(_fit_projection_and_decoder)(
                    projection, self.decoder, X, anchor_indices, y
                )
                for X in spaces.values()
            )
            projections = {name: proj for name, (proj, _, _) in zip(names, fitted, strict=True)}
            decoders = {name: dec for name, (_, dec, _) in zip(names, fitted, strict=True)}
            widths = {name: width for name, (_, _, width) in zip(names, fitted, strict=True)}
        else:
            pairs = []
            if kind == "alignment":
                pairs = [(i, j) for i in names for j in names if i != j]
            tasks = [delayed(_fit_decoder)(self.decoder, X, y) for X in spaces.values()]
            tasks += [
                delayed(_fit_alignment)(
                    self.projection, spaces[i][anchor_indices], spaces[j][anchor_indices]
                )
                for i, j in pairs
            ]
            fitted = parallel(tasks)
            decoders = dict(zip(names, fitted[: len(names)], strict=True))
            alignments = dict(zip(pairs, fitted[len(names) :], strict=True))
            widths = {name: X.shape[1] for name, X in spaces.items()}

        # Check once, on the training rows, that the scorer can score this decoder.
        name0 = names[0]
        Z0 = first if kind != "projection" else projections[name0].transform(first)
        try:
            scorer(decoders[name0], Z0, y)
        except (AttributeError, TypeError, ValueError) as exc:
            raise ValueError(
                f"The 'scoring' parameter of StitchingEvaluator ({scorer_name!r}) cannot score "
                f"the decoder {self.decoder!r}: {exc}"
            ) from exc

        self.kind_ = kind
        self.space_names_ = names
        self.n_features_per_space_ = {name: X.shape[1] for name, X in spaces.items()}
        self.anchor_indices_ = anchor_indices
        self.projections_ = projections
        self.alignments_ = alignments
        self.decoders_ = decoders
        self.decoder_widths_ = widths
        self.scorer_ = scorer
        self.scorer_name_ = scorer_name
        return self

    def stitching_matrix(self, spaces, y):
        """Score every encoder space with every decoder.

        Parameters
        ----------
        spaces : mapping of str to array-like of shape (n_samples, n_features_space) or \
DataFrame
            The spaces seen in :meth:`fit` (same names and widths), for instance test rows.
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            The true target of these rows.

        Returns
        -------
        matrix : DataFrame of shape (n_spaces, n_spaces)
            Rows are encoder spaces (index name ``"encoder"``), columns decoder spaces (columns
            name ``"decoder"``). The diagonal is the non-stitched score; an off-diagonal entry
            is NaN when the encoder's representation and the decoder's input differ in width
            (absolute spaces of different widths), which also raises a warning.
        """
        check_is_fitted(self)
        spaces, y = self._check_fitted_spaces(spaces, y, "spaces")
        names = self.space_names_
        rows = Parallel(n_jobs=self.n_jobs)(
            delayed(_score_encoder)(self, name, spaces[name], y) for name in names
        )
        matrix = pd.DataFrame(
            np.asarray(rows, dtype=np.float64),
            index=pd.Index(names, name="encoder"),
            columns=pd.Index(names, name="decoder"),
        )
        undefined = [(i, j) for i in names for j in names if np.isnan(matrix.loc[i, j])]
        if undefined:
            i, j = undefined[0]
            warnings.warn(
                f"{len(undefined)} encoder/decoder pair(s) cannot be stitched because their "
                f"widths differ (e.g. encoder {i!r} gives {self._encoded_width(i)} features, "
                f"the decoder of {j!r} expects {self.decoder_widths_[j]}); their scores are "
                "NaN. Use an invariant projection or an alignment to stitch spaces of "
                "different widths.",
                UserWarning,
                stacklevel=2,
            )
        self.results_ = pd.DataFrame(
            {
                "encoder": [i for i in names for _ in names],
                "decoder": [j for _ in names for j in names],
                "stitched": [i != j for i in names for j in names],
                "score": matrix.to_numpy().ravel(),
                "scorer": self.scorer_name_,
            }
        )
        return matrix

    def _encoded_width(self, name):
        if self.kind_ == "projection":
            return self.decoder_widths_[name]
        return self.n_features_per_space_[name]

    def score(self, spaces, y):
        """Mean zero-shot score over the ordered pairs of different spaces.

        Parameters
        ----------
        spaces : mapping of str to array-like of shape (n_samples, n_features_space) or \
DataFrame
            The spaces seen in :meth:`fit`.
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            The true target.

        Returns
        -------
        score : float
            The mean of the off-diagonal entries of :meth:`stitching_matrix` that are defined
            (NaN, with a warning, if none is).
        """
        matrix = self.stitching_matrix(spaces, y).to_numpy()
        off_diagonal = matrix[~np.eye(matrix.shape[0], dtype=bool)]
        if np.all(np.isnan(off_diagonal)):
            return np.nan
        return float(np.nanmean(off_diagonal))


# -- invariance selection ---------------------------------------------------------------------

# Short names of the similarity measures of skinvariance.metrics, mapped to the function names.
_METRIC_FUNCTIONS = {
    "cka": "linear_cka",
    "linear_cka": "linear_cka",
    "rbf_cka": "rbf_cka",
    "pearson": "pearson_similarity",
    "cosine": "mean_cosine_similarity",
    "jaccard": "knn_jaccard",
    "mrr": "mean_reciprocal_rank",
    "procrustes": "procrustes_similarity",
}
_DEFAULT_METRICS = ("cka", "pearson", "cosine", "jaccard", "mrr")
_ASYMMETRIC_METRICS = {"mrr"}


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
        - ``"orthogonal"``, ``"affine"``: :class:`~skinvariance.OrthogonalAlignment` and
          :class:`~skinvariance.AffineAlignment`, fitted on the parallel anchors of each
          ordered pair of spaces.

    Examples
    --------
    >>> from skinvariance.stitching import default_invariances
    >>> list(default_invariances())  # doctest: +NORMALIZE_WHITESPACE
    ['absolute', 'scale', 'relative_cosine', 'relative_euclidean', 'relative_l1',
     'relative_linf', 'relative_cosine_centered', 'product', 'orthogonal', 'affine']
    """
    from sklearn.preprocessing import Normalizer

    from skinvariance.alignment import AffineAlignment, OrthogonalAlignment
    from skinvariance.projection import ProductProjection, RelativeProjection

    return {
        "absolute": None,
        "scale": Normalizer(),
        "relative_cosine": RelativeProjection("cosine"),
        "relative_euclidean": RelativeProjection("euclidean"),
        "relative_l1": RelativeProjection("l1"),
        "relative_linf": RelativeProjection("linf"),
        "relative_cosine_centered": RelativeProjection("cosine", center=True),
        "product": ProductProjection(["cosine", "euclidean", "l1", "linf"]),
        "orthogonal": OrthogonalAlignment(),
        "affine": AffineAlignment(),
    }


def _resolve_metrics(metrics):
    """``{name: (measure, symmetric)}`` from names or a mapping of callables."""
    if isinstance(metrics, Mapping):
        for name, function in metrics.items():
            if not isinstance(name, str) or not callable(function):
                raise TypeError(
                    "The 'metrics' parameter of compare_invariances must map str names to "
                    f"callables measure(X, Y) -> float. Got {name!r}: {function!r}."
                )
        # a callable is not assumed symmetric: it is evaluated on every ordered pair
        return {name: (function, False) for name, function in metrics.items()}
    if isinstance(metrics, str) or not isinstance(metrics, (list, tuple)):
        raise TypeError(
            "The 'metrics' parameter of compare_invariances must be a list of measure names or "
            f"a mapping {{name: callable}}. Got {metrics!r} instead."
        )
    from skinvariance import metrics as metrics_module

    resolved = {}
    for name in metrics:
        if name not in _METRIC_FUNCTIONS:
            raise ValueError(
                "The 'metrics' parameter of compare_invariances must hold names among "
                f"{sorted(_METRIC_FUNCTIONS)}. Got {name!r} instead."
            )
        function = getattr(metrics_module, _METRIC_FUNCTIONS[name])
        resolved[name] = (function, name not in _ASYMMETRIC_METRICS)
    return resolved


def _resolve_invariances(invariances):
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


def _default_decoder(y):
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.utils.multiclass import type_of_target

    target = type_of_target(y)
    if target in ("binary", "multiclass"):
        return make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)), True
    if target in ("continuous", "continuous-multioutput"):
        return make_pipeline(StandardScaler(), Ridge()), False
    raise ValueError(
        f"compare_invariances has no default decoder for a {target!r} target y; pass 'decoder'."
    )


def _measure(function, Zi, Zj, metric, invariance, pair):
    try:
        return float(function(Zi, Zj))
    except ValueError as exc:
        if Zi.shape[1] != Zj.shape[1]:
            return np.nan  # the measure needs equal widths: undefined for this pair
        raise ValueError(
            f"The measure {metric!r} failed under the invariance {invariance!r} on the spaces "
            f"{pair[0]!r} (X) and {pair[1]!r} (Y): {exc}"
        ) from exc


def _evaluate_invariance(
    invariance, projection, decoder, scoring, metrics, spaces, y, train, test, anchors, seed
):
    """Stitching matrix and similarity matrices of one invariance on one split."""
    train_spaces = {name: X[train] for name, X in spaces.items()}
    test_spaces = {name: X[test] for name, X in spaces.items()}
    evaluator = StitchingEvaluator(
        projection, decoder, anchors=min(anchors, len(train)), scoring=scoring, random_state=seed
    ).fit(train_spaces, y[train])
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*cannot be stitched because their widths")
        stitching = evaluator.stitching_matrix(test_spaces, y[test]).to_numpy()
    names = evaluator.space_names_
    kind = evaluator.kind_
    if kind == "projection":
        encoded = {
            name: evaluator.projections_[name].transform(test_spaces[name]) for name in names
        }
    else:
        encoded = test_spaces
    similarity = {metric: np.full((len(names), len(names)), np.nan) for metric in metrics}
    for a, i in enumerate(names):
        for b, j in enumerate(names):
            if a == b:
                continue
            if kind == "alignment":
                # the source mapped into the target, beside the target
                Zi, Zj = evaluator.alignments_[i, j].transform(test_spaces[i]), test_spaces[j]
            else:
                Zi, Zj = encoded[i], encoded[j]
            for metric, (function, symmetric) in metrics.items():
                if symmetric and kind != "alignment" and b < a:
                    similarity[metric][a, b] = similarity[metric][b, a]
                else:
                    similarity[metric][a, b] = _measure(
                        function, Zi, Zj, metric, invariance, (i, j)
                    )
    return kind, evaluator.scorer_name_, stitching, similarity


def compare_invariances(
    spaces,
    y,
    invariances=None,
    *,
    metrics=_DEFAULT_METRICS,
    decoder=None,
    scoring=None,
    anchors=300,
    cv=None,
    random_state=None,
    n_jobs=None,
):
    """Compare invariances by the similarity of the spaces and by zero-shot stitching.

    The workshop paper's phases 1 and 2 in one table: for each invariance, make the spaces
    invariant (a projection fitted on each space's parallel anchors, an alignment fitted on
    the anchors of each ordered pair of spaces, or nothing), measure how similar the spaces
    become, stitch every encoder to every decoder with
    :class:`StitchingEvaluator`, and mark the invariance that stitches best.

    Parameters
    ----------
    spaces : mapping of str to array-like of shape (n_samples, n_features_space) or DataFrame
        At least two row-aligned spaces: a mapping ``{name: array}`` or a DataFrame with
        ``(space, feature)`` columns.
    y : array-like of shape (n_samples,) or (n_samples, n_targets)
        The decoders' target: class labels, or values to regress (2-D for reconstruction).
    invariances : mapping of str to estimator or None, default=None
        The invariances to compare, ``{name: projection, alignment or None}``, with the
        meaning of ``StitchingEvaluator``'s ``projection``. None means
        :func:`default_invariances`: absolute, scale (L2), each relative kernel, centred
        cosine, the product of the four kernels, orthogonal and affine alignment.
    metrics : list of str or mapping of str to callable, default=("cka", "pearson", \
"cosine", "jaccard", "mrr")
        Similarity measures between two row-aligned representations: names of measures of
        :mod:`skinvariance.metrics` (``"cka"`` (linear), ``"linear_cka"``, ``"rbf_cka"``,
        ``"pearson"``, ``"cosine"``, ``"jaccard"``, ``"mrr"``, ``"procrustes"``), or a
        mapping ``{name: measure(X, Y) -> float}``. For an alignment, ``X`` is the source
        mapped into the target and ``Y`` the target.
    decoder : estimator, default=None
        The decoder cloned for each space. None means a linear probe:
        ``make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))`` for class
        labels (scored by accuracy) and ``make_pipeline(StandardScaler(), Ridge())`` for a
        continuous target (scored by ``neg_mean_squared_error``: minus the MSE, so that higher
        is better). The scaler is part of each space's decoder: fitted on the decoder's space,
        it is applied unchanged to the stitched encoders. How strongly the probe is
        regularised changes how well it transfers: an unregularised probe exploits directions
        that differ between spaces. A ``RidgeClassifier`` fits faster (closed form); give it
        a large ``alpha`` (100 to 1000 on standardised relative features) if you use it.
    scoring : str, callable or None, default=None
        How the decoders are scored, as in :class:`StitchingEvaluator`: a scikit-learn scoring
        name or a scorer callable ``scorer(estimator, X, y)``. None means accuracy for a
        classifier decoder and ``neg_mean_squared_error`` for a regressor.
    anchors : int, default=300
        The number of parallel anchors, chosen at random among the training rows (all of them
        if there are fewer).
    cv : int, cross-validation generator, iterable or None, default=None
        How rows are split into training rows (anchors, fitting) and test rows (similarity
        and stitching scores). None means one shuffled split with a quarter of the rows held
        out (stratified for class labels); an int ``k`` means ``k`` shuffled folds (stratified
        for class labels); a splitter or an iterable of ``(train, test)`` index arrays is used
        as given. Scores are averaged over the splits for each pair of spaces before the mean
        and standard deviation over pairs.
    random_state : int, RandomState instance or None, default=None
        Seeds the splits and the anchors. Every invariance uses the same splits and the same
        anchor rows.
    n_jobs : int, default=None
        Number of jobs running (invariance, split) evaluations in parallel with
        :mod:`joblib`; None means 1, -1 all processors.

    Returns
    -------
    table : DataFrame
        One row per invariance, in the order given, with columns ``invariance``, ``kind``
        (``"absolute"``, ``"projection"`` or ``"alignment"``), then for each measure ``m``
        ``m_mean`` and ``m_std`` (over ordered pairs of different spaces), then
        ``stitching_mean``, ``stitching_std`` (zero-shot: encoder and decoder of different
        spaces), ``non_stitched_mean``, ``non_stitched_std`` (the diagonal: decoder on its
        own space) and ``best``, True on the row with the highest ``stitching_mean``, the
        measure that decides. ``table.attrs`` holds ``"best"`` (that invariance's name),
        ``"selected_by"`` (``"stitching_mean"``) and ``"scorer"`` (the scorer's name).
        A pair that an invariance cannot compare (absolute spaces of different widths, a
        measure needing equal widths) contributes NaN and is left out of the mean and std.

    See Also
    --------
    StitchingEvaluator : Zero-shot stitching with one invariance.
    skinvariance.metrics.similarity_matrix : One similarity measure between all spaces.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import make_classification
    >>> from skinvariance import RelativeProjection, compare_invariances
    >>> X, y = make_classification(n_samples=300, n_features=8, n_informative=6,
    ...                            random_state=0)
    >>> Q, _ = np.linalg.qr(np.random.default_rng(0).normal(size=(8, 8)))
    >>> spaces = {"a": X, "b": X @ Q, "c": 2.0 * X @ Q.T}
    >>> table = compare_invariances(
    ...     spaces, y, {"absolute": None, "cosine": RelativeProjection("cosine")},
    ...     metrics=["cka", "mrr"], anchors=50, random_state=0)
    >>> table[["invariance", "cka_mean", "mrr_mean", "stitching_mean", "best"]].round(2)
      invariance  cka_mean  mrr_mean  stitching_mean   best
    0   absolute       1.0      0.04            0.50  False
    1     cosine       1.0      1.00            0.73   True
    >>> table.attrs["best"], table.attrs["scorer"]
    ('cosine', 'accuracy')

    Linear CKA cannot tell these spaces apart (it is invariant to rotations and isotropic
    scaling), but only the relative representation lets a decoder trained on one space read
    the others (mean reciprocal rank 1: every sample is its own nearest neighbour across
    spaces).
    """
    spaces = check_spaces(spaces)
    names = list(spaces)
    n_samples = next(iter(spaces.values())).shape[0]
    y = check_array(y, ensure_2d=False, dtype=None, input_name="y")
    if y.shape[0] != n_samples:
        raise ValueError(
            f"y has {y.shape[0]} rows but the spaces have {n_samples} rows (samples)."
        )
    if not isinstance(anchors, Integral) or isinstance(anchors, bool) or anchors < 1:
        raise ValueError(
            "The 'anchors' parameter of compare_invariances must be an int in the range "
            f"[1, inf). Got {anchors!r} instead."
        )
    invariances = _resolve_invariances(invariances)
    metrics = _resolve_metrics(metrics)
    classification = None
    if decoder is None:
        decoder, classification = _default_decoder(y)
    elif not all(callable(getattr(decoder, method, None)) for method in ("fit", "predict")):
        raise TypeError(
            "The 'decoder' parameter of compare_invariances must be an estimator implementing "
            f"'fit' and 'predict' or None. Got {decoder!r} instead."
        )
    if classification is None:
        classification = is_classifier(decoder)
    if not (
        scoring is None
        or callable(scoring)
        or (isinstance(scoring, str) and scoring in get_scorer_names())
    ):
        raise ValueError(
            "The 'scoring' parameter of compare_invariances must be None, a scoring name of "
            f"sklearn.metrics.get_scorer_names() or a callable. Got {scoring!r} instead."
        )
    seed = check_random_state(random_state).randint(np.iinfo(np.int32).max)
    splits = _splits(cv, n_samples, y, classification, seed)

    tasks = [
        delayed(_evaluate_invariance)(
            name, projection, decoder, scoring, metrics, spaces, y, train, test, anchors, seed
        )
        for name, projection in invariances.items()
        for train, test in splits
    ]
    results = Parallel(n_jobs=n_jobs)(tasks)

    off_diagonal = ~np.eye(len(names), dtype=bool)
    rows = []
    scorer_name = None
    for k, name in enumerate(invariances):
        per_split = results[k * len(splits) : (k + 1) * len(splits)]
        kind, scorer_name = per_split[0][0], per_split[0][1]
        row = {"invariance": name, "kind": kind}
        for metric in metrics:
            values = _mean_over_splits([result[3][metric] for result in per_split])
            row[f"{metric}_mean"], row[f"{metric}_std"] = _mean_std(values[off_diagonal])
        stitching = _mean_over_splits([result[2] for result in per_split])
        row["stitching_mean"], row["stitching_std"] = _mean_std(stitching[off_diagonal])
        row["non_stitched_mean"], row["non_stitched_std"] = _mean_std(np.diag(stitching))
        rows.append(row)
    table = pd.DataFrame(rows)
    means = table["stitching_mean"].to_numpy(dtype=float)
    table["best"] = False
    best = None
    if not np.all(np.isnan(means)):
        best_position = int(np.nanargmax(means))
        table.loc[best_position, "best"] = True
        best = table.loc[best_position, "invariance"]
    table.attrs = {"best": best, "selected_by": "stitching_mean", "scorer": scorer_name}
    return table


def _splits(cv, n_samples, y, classification, seed):
    from sklearn.model_selection import (
        KFold,
        ShuffleSplit,
        StratifiedKFold,
        StratifiedShuffleSplit,
        check_cv,
    )

    placeholder = np.zeros((n_samples, 1))
    if cv is None:
        splitter_class = StratifiedShuffleSplit if classification else ShuffleSplit
        splitter = splitter_class(n_splits=1, test_size=0.25, random_state=seed)
    elif isinstance(cv, Integral) and not isinstance(cv, bool):
        if cv < 2:
            raise ValueError(
                "The 'cv' parameter of compare_invariances must be None, an int in the range "
                f"[2, inf), a splitter or an iterable. Got {cv!r} instead."
            )
        splitter_class = StratifiedKFold if classification else KFold
        splitter = splitter_class(n_splits=int(cv), shuffle=True, random_state=seed)
    else:
        splitter = check_cv(cv, y, classifier=classification)
    return [
        (np.asarray(train), np.asarray(test)) for train, test in splitter.split(placeholder, y)
    ]


def _mean_over_splits(matrices):
    stacked = np.stack(matrices)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN pairs stay NaN
        return np.nanmean(stacked, axis=0)


def _mean_std(values):
    values = values[~np.isnan(values)]
    if values.size == 0:
        return np.nan, np.nan
    return float(np.mean(values)), float(np.std(values))
