"""The product of relative projections: several invariances at once, aggregated."""

import warnings
from numbers import Integral

import numpy as np
from sklearn.base import TransformerMixin, clone
from sklearn.utils.validation import check_is_fitted, validate_data

from .._compat import (
    HasMethods,
    StrOptions,
    _BaseComposition,
    _check_feature_names_in,
    _fit_context,
)
from .._constraints import COUNT, RANDOM_STATE, NumberInterval
from .._parallel import compiled_threads
from .._streaming import transform_not_in_memory
from .._validation import FLOAT_DTYPES, final_step
from ..anchors import ANCHOR_STRATEGIES
from ..kernels import available_kernels, get_kernel
from ._assemble import SubspaceAssembly, assemble_by_blocks, assemble_from_raw, assemble_in_phases
from ._engine import AnchorPreprocessing
from ._normalize import NORMALIZATIONS
from ._relative import (
    AnchorSelectionMixin,
    RelativeProjection,
    check_enough_anchors,
    subspace_group,
)
from ._shared import memory_source

__all__ = ["AGGREGATIONS", "ProductProjection"]

AGGREGATIONS = ("concat", "mean", "sum")
#: Accepted with a FutureWarning: the learned aggregation of ProductClassifier is "weighted".
_DEPRECATED_AGGREGATIONS = {"weighted": "sum"}


class ProductProjection(AnchorSelectionMixin, TransformerMixin, _BaseComposition):
    """A product of relative projections: several invariances at once.

    All subspaces share the same anchors (selected once). Each subspace is normalised per
    sample (``normalize``, LayerNorm-like by default, as the paper's aggregations do) and the
    subspaces are aggregated.

    Parameters
    ----------
    projections : list
        The subspaces. Each entry is a kernel name (``"cosine"``, meaning
        ``RelativeProjection("cosine")``), an estimator (a :class:`RelativeProjection`, a
        Pipeline ending in one, or any transformer fitted on anchors), or a
        ``(name, estimator_or_kernel_name)`` pair. Unnamed entries are named after their
        kernel (or their class, lower-cased); repeated names get ``-1``, ``-2``, ... suffixes.
        Nested parameters are reachable as ``<name>__<param>`` (for a kernel-name entry, setting
        one turns the entry into a ``(name, RelativeProjection(kernel))`` pair).
    aggregate : {"concat", "sum", "mean"}, default="concat"
        A fixed aggregation (the learned ones are decoders:
        :class:`~skinvariance.ProductClassifier`):

        - ``"concat"``: ``[N(s_1), ..., N(s_m)]``, width ``m * n_anchors``: the product space.
        - ``"sum"``: ``sum_i w_i o_i N(s_i)``, width ``n_anchors``, with the fixed ``weights``
          (all 1 by default).
        - ``"mean"``: ``sum_i o_i N(s_i) / m``.

        Here ``N`` is the per-subspace normalisation and ``o_i`` the orientation of
        ``orient``. Subspaces must have equal widths except for ``concat``.

        .. deprecated:: 0.1
           ``"weighted"`` (the fixed weighted sum) is ``"sum"`` with ``weights``: the name
           is the learned aggregation's, in :class:`~skinvariance.ProductClassifier`.
    orient : bool, default=True
        Negate distance subspaces (``o_i = -1``; ``+1`` for similarities), in every
        aggregation, so that every subspace reads "larger = closer". A fixed sum would
        otherwise cancel a similarity (cosine) against a distance (euclidean, L1, L-infinity),
        and so would the learned aggregations of :class:`~skinvariance.ProductClassifier`
        that weigh or attend over the concatenated subspaces (``"weighted"``,
        ``"attention"``): they expect alike-oriented input. A linear decoder on ``concat``
        is unaffected (a feature's sign). False keeps the raw orientations.
    weights : array-like of shape (n_projections,), default=None
        Fixed weights of ``aggregate="sum"`` (finite; used as given, not normalised); None
        weighs every subspace 1. Ignored by the other aggregations.
    normalize : {"layer", "l2"} or None, default="layer"
        Per-sample normalisation of each subspace before aggregation (see
        :func:`normalize_rows`). Which one stitches best depends on the models: search it.
    n_anchors : int, default=None
        ``None``: every fitted row is an anchor. An int: that many rows are selected once,
        with ``anchor_selection``, and every subspace is fitted on them.
    anchor_selection : {"random", "stratified", "kmeans", "fps"}, default="random"
        Strategy of :func:`skinvariance.select_anchors`.
    random_state : int, RandomState instance or None, default=None
        Seed of the anchor selection.
    n_threads : int, default=None
        Threads of the compiled loops of the subspaces computed together and of the
        aggregation. None follows the package's thread policy (see
        :class:`RelativeProjection`). Subspaces computed by their own ``transform`` (any
        other estimator) use their own setting. The values do not depend on it.
    memory : str, joblib.Memory or None, default=None
        Where to keep the raw relative subspaces of each transform (the kernel values, before
        normalisation and aggregation), as :class:`~sklearn.pipeline.Pipeline`'s ``memory``:
        a :class:`joblib.Memory` or the path of its cache directory. A later transform of the
        same rows onto the same anchors with the same kernels reads them back, whatever its
        ``aggregate``, ``normalize``, ``weights`` or decoder: a grid search over those
        computes each fold's kernels once (see :ref:`grid_search`). None keeps nothing.

    Attributes
    ----------
    projections_ : list of (str, estimator)
        The fitted clones, named. ``projections`` itself is left as given.
    orientations_ : ndarray of shape (n_projections,)
        ``+1`` for similarity subspaces, ``-1`` for distance subspaces (estimators that are not
        relative projections count as ``+1``); applied when ``orient`` is True.
    widths_ : ndarray of shape (n_projections,)
        Output width of each subspace.
    anchors_ : ndarray of shape (n_anchors, n_features_in_)
        The shared anchors.
    anchor_indices_ : ndarray of shape (n_anchors,)
        Rows of the fitted data chosen as anchors; only when ``n_anchors`` is set.
    n_features_in_ : int
        Number of features seen during :meth:`fit`.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during :meth:`fit`, when they are all strings.

    See Also
    --------
    RelativeProjection : One subspace.

    Notes
    -----
    Plain :class:`RelativeProjection` subspaces that share their pre-processing are computed
    together, block by block: L1 and L-infinity share one pass over the data. Parameters of
    the subspaces are managed by scikit-learn's composition base, as in
    :class:`~sklearn.compose.ColumnTransformer`.

    Examples
    --------
    >>> import numpy as np
    >>> from skinvariance import ProductProjection
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(50, 4))
    >>> prod = ProductProjection(["cosine", "euclidean", "l1", "linf"]).fit(X[:10])
    >>> prod.transform(X).shape
    (50, 40)
    >>> prod.get_feature_names_out()[[0, 10]].tolist()
    ['cosine_anchor0', 'euclidean_anchor0']
    >>> ProductProjection(["cosine", "l1"], aggregate="sum").fit(X[:10]).transform(X).shape
    (50, 10)
    """

    _parameter_constraints = {
        "projections": [list, tuple],
        "aggregate": [StrOptions(set(AGGREGATIONS) | set(_DEPRECATED_AGGREGATIONS),
                                 deprecated=set(_DEPRECATED_AGGREGATIONS))],
        "orient": ["boolean"],
        "weights": ["array-like", None],
        "normalize": [StrOptions(set(NORMALIZATIONS)), None],
        "n_anchors": [NumberInterval(Integral, 1, None, closed="left"), None],
        "anchor_selection": [StrOptions(set(ANCHOR_STRATEGIES))],
        "random_state": RANDOM_STATE,
        "n_threads": [COUNT, None],
        "memory": [None, str, HasMethods(["cache"])],
    }

    def __init__(
        self,
        projections,
        *,
        aggregate="concat",
        orient=True,
        weights=None,
        normalize="layer",
        n_anchors=None,
        anchor_selection="random",
        random_state=None,
        n_threads=None,
        memory=None,
    ):
        self.projections = projections
        self.aggregate = aggregate
        self.orient = orient
        self.weights = weights
        self.normalize = normalize
        self.n_anchors = n_anchors
        self.anchor_selection = anchor_selection
        self.random_state = random_state
        self.n_threads = n_threads
        self.memory = memory

    # -- parameters (scikit-learn's composition base) ----------------------------------------

    def _named_entries(self):
        """``[(name, entry)]``: ``projections`` with a name for every entry, entries as given.

        Unnamed entries are named after their kernel (or class); repeated implicit names get
        ``-1``, ``-2``, ... suffixes, as :func:`sklearn.pipeline.make_union` does.
        """
        entries = []
        for entry in self.projections:
            if isinstance(entry, tuple):
                if len(entry) != 2 or not isinstance(entry[0], str):
                    raise ValueError(
                        "A (name, projection) pair of 'projections' must hold a str name and "
                        f"a projection; got {entry!r}."
                    )
                entries.append((entry[0], entry[1], True))
            else:
                entries.append((_default_name(entry), entry, False))
        implicit = [name for name, _, explicit in entries if not explicit]
        seen = {}
        named = []
        for name, entry, explicit in entries:
            if not explicit and implicit.count(name) > 1:
                seen[name] = seen.get(name, 0) + 1
                name = f"{name}-{seen[name]}"
            named.append((name, entry))
        return named

    @property
    def _projections(self):
        try:
            return self._named_entries()
        except (TypeError, ValueError):
            return self.projections  # invalid: get_params must still work, fit will say why

    @_projections.setter
    def _projections(self, value):
        # An entry keeps its given form unless it was replaced by name.
        self.projections = [
            entry if new is old else (name, new)
            for entry, (name, old), (_, new) in zip(self.projections, self._named_entries(),
                                                    value)
        ]

    def get_params(self, deep=True):
        """Parameters of this estimator and, with ``deep``, of each named subspace.

        A kernel-name entry exposes the parameters of ``RelativeProjection(kernel)``.

        Parameters
        ----------
        deep : bool, default=True
            Include ``<name>`` (the subspace) and ``<name>__<param>`` entries.

        Returns
        -------
        params : dict
        """
        params = self._get_params("_projections", deep=deep)
        if deep and "projections" in params:
            for name, entry in _pairs_or_empty(self._projections):
                if isinstance(entry, str):
                    for key, value in RelativeProjection(kernel=entry).get_params().items():
                        params[f"{name}__{key}"] = value
        return params

    def set_params(self, **params):
        """Set parameters, including ``<name>`` and ``<name>__<param>`` of the subspaces.

        Setting a nested parameter of a kernel-name entry turns it into a
        ``(name, RelativeProjection(kernel))`` pair.

        Parameters
        ----------
        **params : dict
            Estimator parameters.

        Returns
        -------
        self : ProductProjection
        """
        if "projections" in params:
            self.projections = params.pop("projections")
        nested = {key.partition("__")[0] for key in params if "__" in key}
        for name, entry in _pairs_or_empty(self._projections):
            if name in nested and isinstance(entry, str):
                self._replace_estimator("_projections", name, RelativeProjection(kernel=entry))
        return self._set_params("_projections", **params)

    # -- fitting ----------------------------------------------------------------------------

    def _check_projections(self):
        """``[(name, estimator)]`` with kernel names turned into RelativeProjection."""
        if len(self.projections) == 0:
            raise ValueError("'projections' must contain at least one projection; got [].")
        named = self._named_entries()
        names = [name for name, _ in named]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ValueError(
                f"Names in 'projections' must be unique; {repeated} are repeated."
            )
        self._validate_names(names)
        checked = []
        for name, entry in named:
            estimator = RelativeProjection(kernel=entry) if isinstance(entry, str) else entry
            if not (hasattr(estimator, "fit") and hasattr(estimator, "transform")):
                raise TypeError(
                    f"The 'projections' parameter of ProductProjection must hold kernel names "
                    f"among {available_kernels(aliases=True)} or transformers with fit and "
                    f"transform; projection {name!r} is {estimator!r}."
                )
            core = final_step(estimator)
            if isinstance(core, RelativeProjection) and isinstance(core.kernel, str):
                get_kernel(core.kernel)  # an unknown kernel name fails here, by name
            checked.append((name, estimator))
        return checked

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y=None):
        """Select the shared anchors and fit one clone of each subspace on them.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The anchors (or the rows to select anchors from, when ``n_anchors`` is set).
        y : array-like of shape (n_samples,), default=None
            Class labels, used only by ``anchor_selection="stratified"``.

        Returns
        -------
        self : ProductProjection
            The fitted product.
        """
        named = self._check_projections()
        self._fit_anchors(X, y)
        self.projections_ = [(name, clone(est).fit(self.anchors_)) for name, est in named]
        probe = self.anchors_[:1]
        self.widths_ = np.array([_width(est, probe) for _, est in self.projections_])
        if self.normalize == "layer":
            check_enough_anchors("layer", int(self.widths_.min()))
        if self.aggregate != "concat" and len(set(self.widths_.tolist())) > 1:
            widths = {name: int(w) for (name, _), w in zip(self.projections_, self.widths_)}
            raise ValueError(
                f"aggregate={self.aggregate!r} needs subspaces of equal widths; got {widths}. "
                "Use aggregate='concat', or the same anchors for every subspace."
            )
        self.orientations_ = np.array(
            [_orientation(est) for _, est in self.projections_], dtype=np.float64
        )
        # weights are checked whenever given (a wrong value is a mistake even where unused)
        weights = self._check_weights() if self.weights is not None else None
        if self.aggregate in _DEPRECATED_AGGREGATIONS:
            warnings.warn(
                f"aggregate={self.aggregate!r} is deprecated: use aggregate='sum' with "
                "'weights' (the same fixed weighted sum). 'weighted' names the learned "
                "aggregation of ProductClassifier / ProductRegressor.",
                FutureWarning,
                stacklevel=2,
            )
            if weights is None:
                raise ValueError("aggregate='weighted' needs 'weights'; got weights=None.")
        self._weights = weights if self.aggregate in ("sum", "weighted") else None
        return self

    def _check_weights(self):
        try:
            weights = np.asarray(self.weights, dtype=np.float64)
        except (TypeError, ValueError):
            weights = None
        if (weights is None or weights.shape != (len(self.projections_),)
                or not np.all(np.isfinite(weights))):
            raise ValueError(
                f"The 'weights' parameter of ProductProjection must be "
                f"{len(self.projections_)} finite numbers, one per projection. Got "
                f"{self.weights!r} instead."
            )
        return weights

    # -- transforming -----------------------------------------------------------------------

    def _coefficients(self):
        """Per-subspace multipliers applied after normalisation."""
        if self.orient:
            coefficients = self.orientations_.copy()
        else:
            coefficients = np.ones(len(self.projections_))
        if self.aggregate == "mean":
            coefficients /= len(self.projections_)
        elif self._weights is not None:
            coefficients *= self._weights
        return coefficients

    def _subspace_plan(self, dtype):
        """``(groups, others)``: fused :class:`SubspaceGroup` with their subspace positions,
        and the positions of subspaces computed by their own ``transform``."""
        keys = {}
        others = []
        for position, (_, est) in enumerate(self.projections_):
            if type(est) is RelativeProjection and est.n_anchors is None:
                preprocessing = AnchorPreprocessing(est.mean_, est.scale_, est.l2_normalize)
                keys.setdefault((preprocessing.key(), float(est.p)), []).append(position)
            else:
                others.append(position)
        groups = [
            (subspace_group([self.projections_[i][1] for i in positions], dtype,
                            n_threads=self.n_threads), positions)
            for positions in keys.values()
        ]
        return groups, others

    def transform(self, X):
        """Project ``X`` on every subspace, normalise and aggregate.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features_in_)
            Samples of the same latent space as the anchors. A :class:`numpy.memmap` is
            streamed one checked block of rows at a time; a Dask array gives a lazy Dask
            array (see :mod:`skinvariance.io`).

        Returns
        -------
        Z : ndarray of shape (n_samples, n_features_out)
            ``sum(widths_)`` columns for ``concat``, ``widths_[0]`` otherwise; float32 for
            float32 input, float64 otherwise.
        """
        check_is_fitted(self)
        streamed = transform_not_in_memory(self, X)
        if streamed is not None:
            return streamed
        return self._transform_sharing(X, None)

    def _transform_sharing(self, X, source):
        """:meth:`transform` of in-memory ``X``, the raw subspaces read from ``source`` (see
        ``_shared.py``; None: from ``memory`` if set, else computed block by block)."""
        check_is_fitted(self)
        X = validate_data(self, X, dtype=FLOAT_DTYPES, reset=False)
        dtype, widths = X.dtype, self.widths_
        offsets = np.concatenate([[0], np.cumsum(widths)])
        out_width = int(offsets[-1]) if self.aggregate == "concat" else int(widths[0])
        out = np.empty((X.shape[0], out_width), dtype=dtype)
        groups, others = self._subspace_plan(dtype)
        others = [(i, self.projections_[i][1]) for i in others]
        aggregation = SubspaceAssembly(self.aggregate, self.normalize, offsets,
                                       self._coefficients(), compiled_threads(self.n_threads))
        row_bytes = sum(group.temporary_row_bytes(X.shape[1]) for group, _ in groups)
        row_bytes += dtype.itemsize * int(widths.sum())
        if source is None:
            source = memory_source(self.memory)
        if source is not None and groups:
            return assemble_from_raw(X, out, groups, others, aggregation, row_bytes, source,
                                     len(widths))
        if self.aggregate == "concat":
            return assemble_in_phases(X, out, groups, others, aggregation, row_bytes)
        return assemble_by_blocks(X, out, groups, others, aggregation, row_bytes, len(widths))

    def get_feature_names_out(self, input_features=None):
        """Output feature names.

        ``concat``: ``"<name>_anchor<j>"`` for relative subspaces and
        ``"<name>__<feature>"`` for other transformers; otherwise
        ``"<aggregate>_anchor<j>"``.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Checked against ``feature_names_in_`` if given.

        Returns
        -------
        feature_names_out : ndarray of str objects
        """
        check_is_fitted(self)
        _check_feature_names_in(self, input_features)
        if self.aggregate != "concat":
            return np.asarray(
                [f"{self.aggregate}_anchor{j}" for j in range(self.widths_[0])], dtype=object
            )
        names = []
        for (name, est), width in zip(self.projections_, self.widths_):
            if isinstance(final_step(est), RelativeProjection):
                names.extend(f"{name}_anchor{j}" for j in range(width))
            elif hasattr(est, "get_feature_names_out"):
                names.extend(f"{name}__{sub}" for sub in est.get_feature_names_out())
            else:
                names.extend(f"{name}__x{j}" for j in range(width))
        return np.asarray(names, dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags


def _width(estimator, probe):
    """Output width of a fitted subspace: its anchors for a relative projection, else what it
    makes of one row."""
    if type(estimator) is RelativeProjection:
        return estimator.anchors_.shape[0]
    return np.asarray(estimator.transform(probe)).shape[1]


def _pairs_or_empty(entries):
    """``entries`` if it is a list of (name, entry) pairs, else an empty list."""
    if isinstance(entries, list) and all(isinstance(e, tuple) and len(e) == 2 for e in entries):
        return entries
    return []


def _default_name(projection):
    if isinstance(projection, str):
        return projection
    core = final_step(projection)
    if isinstance(core, RelativeProjection) and isinstance(core.kernel, str):
        return core.kernel
    return type(projection).__name__.lower()


def _orientation(estimator):
    """+1 for a similarity subspace, -1 for a distance subspace (+1 if not relative)."""
    core = final_step(estimator)
    if not isinstance(core, RelativeProjection):
        return 1.0
    return 1.0 if get_kernel(core.kernel).kind == "similarity" else -1.0
