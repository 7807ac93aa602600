"""Zero-shot stitching of decoders across row-aligned latent spaces.

:class:`StitchingEvaluator` trains one decoder per space on an invariant representation of that
space and scores every decoder on every other space's representation, with no further training.
"""

import warnings
from collections.abc import Mapping
from numbers import Integral

import numpy as np
import pandas as pd
from joblib import delayed
from sklearn.base import BaseEstimator, MetaEstimatorMixin, clone, is_classifier, is_regressor
from sklearn.metrics import check_scoring, get_scorer_names
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from .._compat import HasMethods, StrOptions, _fit_context
from .._constraints import N_JOBS, RANDOM_STATE, NumberInterval
from .._validation import DataError, check_target
from ..anchors import ANCHOR_STRATEGIES
from ..spaces import check_spaces
from ._anchor_rows import anchor_rows, check_anchor_mapping, matched_anchor_rows
from ._deploy import stitched_pipeline
from ._invariances import fix_random_states, projection_kind
from ._work import (
    encode_and_score,
    fit_alignment,
    fit_decoder,
    fit_spaces_then_decoders,
    fits_in_processes,
    run_small_tasks,
    space_units,
    try_scorer,
)

__all__ = ["StitchingEvaluator", "seeded_clone"]


def _default_scoring(decoder):
    """Scoring string used when ``scoring=None``."""
    if is_classifier(decoder):
        return "accuracy"
    if is_regressor(decoder):
        return "neg_mean_squared_error"
    return None  # the decoder's own ``score`` method


def seeded_clone(projection, random_state):
    """A clone of ``projection`` whose unset random states are one seed drawn from
    ``random_state``: every space's clone makes the same random choices."""
    seed = check_random_state(random_state).randint(np.iinfo(np.int32).max)
    return fix_random_states(clone(projection), seed)


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
    anchors : int, array-like of int or dict, default=300
        The number of anchor rows, chosen among the training rows by ``anchor_selection`` on
        the first space, or the anchor row indices themselves (positions in the rows passed to
        :meth:`fit`), or a mapping ``{space: row indices}`` giving each space its own anchor
        rows (row ``k`` of every space the same input). With ``pairing="match"``: the number
        of *known* pairs (0 allowed) or their indices.
    anchor_selection : {"random", "stratified", "kmeans", "fps"}, default="random"
        The strategy of :func:`~skinvariance.select_anchors`, used when ``anchors`` is an int.
        ``"stratified"`` uses the classification target ``y``.
    pairing : {"given", "match"}, default="given"
        ``"given"``: the anchor rows are the same inputs in every space (parallel anchors).
        ``"match"``: only the ``anchors`` rows are known pairs; every other training row of
        each space is used unpaired, its order never read, to find pseudo-anchors with
        :func:`~skinvariance.match_spaces` (each space matched to the first, see
        :ref:`matching`), and the invariance is fitted on ``matched_anchors`` of them.
    matched_anchors : int, default=300
        With ``pairing="match"``: how many anchors the invariance is fitted on, the known
        pairs first, then the pseudo-pairs matched in every space, most confident first.
    scoring : str, callable or None, default=None
        A scikit-learn scoring name (see :func:`sklearn.metrics.get_scorer_names`) or a scorer
        callable ``scorer(estimator, X, y) -> float``. None means ``"accuracy"`` for a
        classifier decoder, ``"neg_mean_squared_error"`` for a regressor decoder (negated, as
        in scikit-learn, so that higher is better and GridSearchCV maximises it; flip the
        sign to read an MSE), and the decoder's own ``score`` method otherwise.
    n_jobs : int, default=None
        How the spaces' decoders and projections, the alignment pairs and the encoders'
        scores run in parallel. None (the default) runs them on as many threads as BLAS may
        use (every core unless lowered by :func:`threadpoolctl.threadpool_limits` or inside a
        joblib worker), each on one BLAS thread (the learned decoders' L-BFGS fits, which
        hold the GIL, on as many worker processes); inside a :func:`joblib.parallel_config`
        context asking for more than one job, it follows that context. An int runs them on
        that many :mod:`joblib` workers (1: one after the other; -1: every processor). No
        setting changes a result (:ref:`stitching_speed`).
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
        The anchor rows of the first space, positions in the rows passed to :meth:`fit` (the
        same in every space unless ``anchor_rows_`` says otherwise).
    anchor_rows_ : dict of str to ndarray of shape (n_anchors,)
        Each space's anchor rows: all equal to ``anchor_indices_`` for given parallel anchors;
        each space's own (matched) rows with ``pairing="match"`` or an ``anchors`` mapping.
    anchors_ : dict of str to ndarray of shape (n_anchors, n_features_space)
        Each space's anchor rows, in ``anchor_indices_`` order (what :meth:`stitch` maps a
        new model's anchors onto, for an alignment).
    anchor_target_ : ndarray of shape (n_anchors,) or (n_anchors, n_targets)
        The target of the anchor rows, passed with them to each projection's ``fit``.
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
        Its name, as written in the ``scorer`` column of :meth:`stitching_scores`.

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

    No thread limit is needed around the evaluator: :ref:`stitching_speed`. A grid search
    whose candidates differ only in how a product is aggregated or normalised, or in the
    decoder, computes each fold's kernels once when the product has a ``memory`` (see
    :ref:`grid_search`).
    """

    _parameter_constraints = {
        "projection": [HasMethods(["fit", "transform"]), None],
        "decoder": [HasMethods(["fit", "predict"])],
        "anchors": [NumberInterval(Integral, 0, None, closed="left"), "array-like", dict],
        "anchor_selection": [StrOptions(set(ANCHOR_STRATEGIES))],
        "pairing": [StrOptions({"given", "match"})],
        "matched_anchors": [NumberInterval(Integral, 2, None, closed="left")],
        "scoring": [StrOptions(set(get_scorer_names())), callable, None],
        "n_jobs": N_JOBS,
        "random_state": RANDOM_STATE,
    }

    def __init__(
        self,
        projection,
        decoder,
        *,
        anchors=300,
        anchor_selection="random",
        pairing="given",
        matched_anchors=300,
        scoring=None,
        n_jobs=None,
        random_state=None,
    ):
        self.projection = projection
        self.decoder = decoder
        self.anchors = anchors
        self.anchor_selection = anchor_selection
        self.pairing = pairing
        self.matched_anchors = matched_anchors
        self.scoring = scoring
        self.n_jobs = n_jobs
        self.random_state = random_state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        return tags

    # -- validation -------------------------------------------------------------------------

    def _anchor_rows(self, spaces, y):
        """``{space: anchor row indices}``, row ``k`` of each the same input."""
        names = list(spaces)
        if isinstance(self.anchors, Mapping):
            return check_anchor_mapping(self.anchors, spaces)
        first = spaces[names[0]]
        if self.pairing == "given":
            if isinstance(self.anchors, Integral) and self.anchors < 1:
                raise ValueError(
                    "The 'anchors' parameter of StitchingEvaluator must be at least 1 with "
                    "pairing='given' (0 known pairs needs pairing='match'). Got 0 instead.")
            rows = anchor_rows(first, self.anchors, self.anchor_selection, y,
                               self.random_state)
            return dict.fromkeys(names, rows)
        known = np.empty(0, dtype=np.int64)
        if not (isinstance(self.anchors, Integral) and self.anchors == 0):
            known = anchor_rows(first, self.anchors, self.anchor_selection, y,
                                self.random_state)
        return matched_anchor_rows(spaces, known, self.matched_anchors, self.random_state)

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
        y = check_target(y, n_samples)
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
        return self._fit(check_spaces(spaces), y)

    def _fit(self, spaces, y, shared=None, fits=None, fitted_spaces=None):
        """:meth:`fit` on checked ``spaces``; ``shared`` maps a space to the caller's
        :class:`~skinvariance.projection._shared.SharedSubspaces` of its rows (or is None);
        ``fits``: the caller's :class:`~skinvariance.stitching._work.DecoderFits` of these
        rows, which the decoders of raw spaces are read from (or None); ``fitted_spaces``:
        ``(anchor rows, results)`` of the per-space fits of :meth:`_space_projection`'s
        projection, which the caller ran (or None)."""
        names = list(spaces)
        first = spaces[names[0]]
        y = check_target(y, first.shape[0])
        kind = projection_kind(self.projection)
        scorer, scorer_name = self._make_scorer()
        if fitted_spaces is not None:
            rows, fitted = fitted_spaces
        else:
            rows, fitted = self._anchor_rows(spaces, y), None
        anchor_indices = rows[names[0]]

        if kind == "projection":
            projections, decoders, widths = self._fit_projections(spaces, y, rows,
                                                                  shared or {}, fitted)
            alignments = {}
        else:
            projections = {}
            decoders, alignments = self._fit_decoders(spaces, y, rows, kind, fits)
            widths = {name: X.shape[1] for name, X in spaces.items()}

        # Check once, on the anchor rows, that the scorer can score this decoder.
        try:
            try_scorer(scorer, decoders[names[0]], projections.get(names[0]),
                       first[anchor_indices], y[anchor_indices])
        except (AttributeError, TypeError, ValueError) as exc:
            raise DataError(
                f"The 'scoring' parameter of StitchingEvaluator ({scorer_name!r}) cannot score "
                f"the decoder {self.decoder!r}: {exc}"
            ) from exc

        self.kind_ = kind
        self.space_names_ = names
        self.n_features_per_space_ = {name: X.shape[1] for name, X in spaces.items()}
        self.anchor_indices_ = anchor_indices
        self.anchor_rows_ = rows
        self.anchors_ = {name: X[rows[name]] for name, X in spaces.items()}
        self.anchor_target_ = y[anchor_indices]
        self.projections_ = projections
        self.alignments_ = alignments
        self.decoders_ = decoders
        self.decoder_widths_ = widths
        self.scorer_ = scorer
        self.scorer_name_ = scorer_name
        return self

    def _space_projection(self, spaces, y):
        """The anchor rows and the seeded projection of :meth:`_fit`'s per-space fits, for a
        caller that projects and decodes the spaces itself (with other evaluators' spaces,
        say) and hands the results back as ``fitted_spaces``. ``y``: checked by the caller (a
        comparison's training target), as :meth:`_fit` checks it again."""
        return self._anchor_rows(spaces, y), seeded_clone(self.projection, self.random_state)

    def _fit_projections(self, spaces, y, rows, shared, fitted=None):
        """One projection (fitted on the space's anchors) and one decoder per space
        (``fitted``: ``(projection, decoder, width)`` per space, fitted by the caller)."""
        if fitted is None:
            projection = seeded_clone(self.projection, self.random_state)
            if fits_in_processes(self.decoder, y.shape[0]):
                [fitted] = fit_spaces_then_decoders([(projection, self.decoder, rows)], spaces,
                                                    y, shared, self.n_jobs)
            else:
                fitted = run_small_tasks(space_units(projection, self.decoder, spaces, y, rows,
                                                     shared), self.n_jobs)
        names = list(spaces)
        projections = {name: proj for name, (proj, _, _) in zip(names, fitted, strict=True)}
        decoders = {name: dec for name, (_, dec, _) in zip(names, fitted, strict=True)}
        widths = {name: width for name, (_, _, width) in zip(names, fitted, strict=True)}
        return projections, decoders, widths

    def _fit_decoders(self, spaces, y, rows, kind, fits=None):
        """One decoder per raw space, and one alignment per ordered pair for an alignment."""
        names = list(spaces)
        pairs = [(i, j) for i in names for j in names if i != j] if kind == "alignment" else []
        tasks = [delayed(fit_decoder)(self.decoder, X, y, fits) for X in spaces.values()]
        tasks += [
            delayed(fit_alignment)(
                self.projection, spaces[i][rows[i]], spaces[j][rows[j]]
            )
            for i, j in pairs
        ]
        fitted = run_small_tasks(tasks, self.n_jobs)
        decoders = dict(zip(names, fitted[: len(names)], strict=True))
        alignments = dict(zip(pairs, fitted[len(names) :], strict=True))
        return decoders, alignments

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
        matrix, _ = self._stitch_all(spaces, y, keep_encodings=False)
        names = self.space_names_
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
        return matrix

    def _stitch_all(self, spaces, y, *, keep_encodings, shared=None):
        """The stitching matrix of checked ``spaces``, and (``keep_encodings``) what each
        decoder read: ``{encoder: {decoder: representation}}``, for measures computed on the
        same representations. ``shared``: as in :meth:`_fit`."""
        names = self.space_names_
        shared = shared or {}
        results = run_small_tasks(
            (delayed(encode_and_score)(self, name, spaces[name], y, keep_encodings,
                                       shared.get(name))
             for name in names),
            self.n_jobs,
        )
        matrix = pd.DataFrame(
            np.asarray([row for row, _ in results], dtype=np.float64),
            index=pd.Index(names, name="encoder"),
            columns=pd.Index(names, name="decoder"),
        )
        encodings = dict(zip(names, (encoded for _, encoded in results), strict=True))
        return matrix, encodings

    def _encoded_width(self, name):
        if self.kind_ == "projection":
            return self.decoder_widths_[name]
        return self.n_features_per_space_[name]

    def stitching_scores(self, spaces, y):
        """The stitching matrix in long form: one row per (encoder, decoder) pair.

        Parameters
        ----------
        spaces : mapping of str to array-like of shape (n_samples, n_features_space) or \
DataFrame
            The spaces seen in :meth:`fit` (same names and widths), for instance test rows.
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            The true target of these rows.

        Returns
        -------
        scores : DataFrame
            Columns ``encoder``, ``decoder``, ``stitched`` (encoder differs from decoder),
            ``score`` and ``scorer`` (``scorer_name_``), encoders in fit order.
        """
        matrix = self.stitching_matrix(spaces, y)
        names = list(matrix.index)
        return pd.DataFrame(
            {
                "encoder": [i for i in names for _ in names],
                "decoder": [j for _ in names for j in names],
                "stitched": [i != j for i in names for j in names],
                "score": matrix.to_numpy().ravel(),
                "scorer": self.scorer_name_,
            }
        )

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

    def stitch(self, decoder, anchors):
        """Deploy the decoder of a fitted space on a new model: a fitted ``Pipeline``.

        A model that was not in the fit is read by the decoder of space ``decoder``, zero-shot,
        given only its embeddings of the anchor inputs: the projection (a clone of
        ``projections_[decoder]``, same random states) is fitted on them, or for an alignment
        the map from them onto ``anchors_[decoder]``; for absolute spaces the decoder reads the
        new model's raw coordinates, which must be as wide as its space.

        Parameters
        ----------
        decoder : str
            The fitted space whose decoder is reused, one of ``space_names_``.
        anchors : array-like of shape (n_anchors, n_features_new)
            The new model's embeddings of the anchor inputs: row ``k`` embeds the input of
            row ``anchor_indices_[k]`` of the spaces passed to :meth:`fit`. A ValueError
            names a wrong number of rows, or a representation narrower or wider than the
            decoder's input.

        Returns
        -------
        model : sklearn.pipeline.Pipeline
            Fitted steps ``("projection", ...)`` or ``("alignment", ...)`` (none for
            absolute spaces), then ``("decoder", ...)``, a copy of ``decoders_[decoder]``.
            Its ``predict`` (``predict_proba``, ``score``, ...) takes the new model's
            embeddings. Given a fitted space's own anchors, a projection's pipeline scores
            what :meth:`stitching_matrix` does (with ``scorer_(model, X, y)``).

        Examples
        --------
        >>> from sklearn.datasets import make_classification
        >>> from sklearn.linear_model import LogisticRegression
        >>> from skinvariance import RelativeProjection, StitchingEvaluator
        >>> X, y = make_classification(n_samples=300, n_features=8, random_state=0)
        >>> spaces = {"a": X, "b": X[:, ::-1]}
        >>> ev = StitchingEvaluator(RelativeProjection(), LogisticRegression(),
        ...                         anchors=50, random_state=0).fit(spaces, y)
        >>> new = 2.0 * X[:, [1, 0, 3, 2, 5, 4, 7, 6]]  # a later model: permuted, rescaled
        >>> model = ev.stitch("a", new[ev.anchor_indices_])
        >>> bool(model.score(new, y) == ev.stitching_matrix(spaces, y).loc["a", "a"])
        True
        """
        return stitched_pipeline(self, decoder, anchors)
