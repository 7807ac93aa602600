"""Relative projections onto anchors, and their product space."""

from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from numbers import Integral, Real

import numpy as np
from joblib import cpu_count
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from . import _dask
from ._compat import (
    Interval,
    StrOptions,
    _check_feature_names_in,
    _fit_context,
    check_is_fitted,
    validate_data,
)
from .anchors import ANCHOR_STRATEGIES, select_anchors
from .kernels import KernelEvaluator, _numba, available_kernels, get_kernel, row_blocks
from .outofcore import _is_memmap, _transform_memmap

NORMALIZATIONS = ("layer", "l2")
_NORM_CODES = {None: _numba.NORM_NONE, "layer": _numba.NORM_LAYER, "l2": _numba.NORM_L2}
AGGREGATIONS = ("concat", "mean", "sum", "weighted")


def normalize_rows(R, norm="layer", *, copy=True):
    """Per-sample normalisation of relative representations.

    Parameters
    ----------
    R : ndarray of shape (n_samples, n_anchors)
        Relative representations (float).
    norm : {"layer", "l2"} or None, default="layer"
        - ``"layer"``: subtract each row's mean and divide by its standard deviation
          (a LayerNorm without learned parameters). Makes distance kernels invariant to
          isotropic scaling of the latent space. A constant row becomes all zeros: one whose
          standard deviation is at most ``16 eps |mean|`` (``eps`` of its dtype), the spread
          rounding alone leaves on equal values, as on every row of a projection onto
          duplicate anchors.
        - ``"l2"``: divide each row by its L2 norm; a zero row stays zero.

        Statistics are accumulated in float64 on rows scaled so that nothing overflows or
        underflows: rows of any magnitude the dtype holds give finite results.
        - ``None``: leave the rows unchanged.
    copy : bool, default=True
        If False, normalise ``R`` in place (it must be a float ndarray).

    Returns
    -------
    R : ndarray of shape (n_samples, n_anchors)

    Examples
    --------
    >>> import numpy as np
    >>> from skinvariance.projection import normalize_rows
    >>> normalize_rows(np.array([[1.0, 2.0, 3.0], [5.0, 5.0, 5.0]]))
    array([[-1.22474487,  0.        ,  1.22474487],
           [ 0.        ,  0.        ,  0.        ]])
    """
    if norm is not None and norm not in NORMALIZATIONS:
        raise ValueError(f"norm must be one of {list(NORMALIZATIONS)} or None; got {norm!r}.")
    if copy:
        R = np.array(R, dtype=np.result_type(R, np.float32))
    if norm is not None:
        _numba.normalize_rows_into(R, R, _NORM_CODES[norm], 1.0, False)
    return R


class _AnchorSelectionMixin:
    """Validates the fitted rows and picks the anchors among them (both projections)."""

    def _fit_anchors(self, X, y):
        """Set ``anchors_`` (and ``anchor_indices_`` when ``n_anchors`` selects rows)."""
        X, y = _dask.compute_if_dask(X), _dask.compute_if_dask(y)
        X = validate_data(self, X, dtype=[np.float64, np.float32])
        if hasattr(self, "anchor_indices_"):
            del self.anchor_indices_
        if self.n_anchors is None:
            self.anchors_ = np.array(X, copy=True)
            return
        self.anchor_indices_ = select_anchors(
            X, self.n_anchors, strategy=self.anchor_selection, y=y,
            random_state=self.random_state,
        )
        self.anchors_ = X[self.anchor_indices_]


class RelativeProjection(_AnchorSelectionMixin, TransformerMixin, BaseEstimator):
    """Project samples onto anchors with a kernel: the relative representation.

    Each sample ``x`` becomes ``[kernel(x, a_1), ..., kernel(x, a_k)]`` for the anchors
    ``a_1..a_k``. If two latent spaces are related by a transformation the kernel is invariant
    to, and their anchors are *parallel* (the same inputs embedded by each model), their
    relative representations coincide: a decoder trained on one works on the other.

    Parameters
    ----------
    kernel : str, default="cosine"
        One of :func:`skinvariance.kernels.available_kernels` (aliases accepted):
        ``"cosine"`` (invariant to rotations, reflections and isotropic scaling),
        ``"euclidean"`` (rotations, reflections, translations), ``"l1"`` / ``"linf"``
        (signed coordinate permutations, translations), ``"angular"``, ``"minkowski"``.
    p : float, default=2.0
        Order of the ``"minkowski"`` kernel (``p >= 1``); ignored otherwise.
    n_anchors : int, default=None
        ``None``: every row passed to :meth:`fit` is an anchor. An int: select that many of
        the fitted rows with ``anchor_selection`` (what a Pipeline fitted on a training set
        needs).
    anchor_selection : {"random", "stratified", "kmeans", "fps"}, default="random"
        Strategy of :func:`skinvariance.select_anchors` when ``n_anchors`` is set;
        ``"stratified"`` uses the ``y`` given to :meth:`fit`.
    center : bool, default=False
        Subtract the anchors' mean from samples and anchors before the kernel. Makes cosine
        invariant to translations.
    scale : bool, default=False
        Divide samples and anchors by the anchors' per-feature standard deviation (a
        standard deviation below ``10 * eps`` is treated as 1, as in scikit-learn's
        :class:`~sklearn.preprocessing.StandardScaler`). With ``center=True`` this is
        standard scaling.
    l2_normalize : bool, default=False
        Divide every sample and anchor by its L2 norm (after ``center`` / ``scale``); zero
        vectors stay zero. Makes every kernel invariant to per-sample rescaling.
    normalize : {"layer", "l2"} or None, default=None
        Per-sample normalisation of the output (see :func:`normalize_rows`). ``"layer"``
        makes the distance kernels invariant to isotropic scaling; it needs at least two
        anchors.
    random_state : int, RandomState instance or None, default=None
        Seed of the anchor selection.

    Attributes
    ----------
    anchors_ : ndarray of shape (n_anchors, n_features_in_)
        The anchors, as fitted (before pre-processing).
    anchor_indices_ : ndarray of shape (n_anchors,)
        Rows of the fitted data chosen as anchors; only when ``n_anchors`` is set.
    mean_ : ndarray of shape (n_features_in_,) or None
        The anchors' mean, when ``center=True``.
    scale_ : ndarray of shape (n_features_in_,) or None
        The anchors' standard deviation, when ``scale=True``.
    n_features_in_ : int
        Number of features seen during :meth:`fit`.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during :meth:`fit`, when they are all strings.

    See Also
    --------
    ProductProjection : Several relative projections combined into a product space.
    skinvariance.kernels.pairwise_kernel : The kernel values behind the projection.

    Notes
    -----
    The output has the float dtype of the samples (float32 stays float32); the anchors are
    cast to it. Transforms run in row blocks within scikit-learn's ``working_memory``.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy.stats import ortho_group
    >>> from skinvariance import RelativeProjection
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(100, 8))
    >>> Q = ortho_group.rvs(8, random_state=0)          # a second model: X rotated
    >>> anchors = np.arange(10)                          # the same rows in both spaces
    >>> R1 = RelativeProjection("cosine").fit(X[anchors]).transform(X)
    >>> R2 = RelativeProjection("cosine").fit((X @ Q)[anchors]).transform(X @ Q)
    >>> R1.shape, bool(np.allclose(R1, R2))
    ((100, 10), True)
    """

    _parameter_constraints = {
        "kernel": [StrOptions(set(available_kernels(aliases=True)))],
        "p": [Interval(Real, 1, None, closed="both")],
        "n_anchors": [Interval(Integral, 1, None, closed="left"), None],
        "anchor_selection": [StrOptions(set(ANCHOR_STRATEGIES))],
        "center": ["boolean"],
        "scale": ["boolean"],
        "l2_normalize": ["boolean"],
        "normalize": [StrOptions(set(NORMALIZATIONS)), None],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        kernel="cosine",
        *,
        p=2.0,
        n_anchors=None,
        anchor_selection="random",
        center=False,
        scale=False,
        l2_normalize=False,
        normalize=None,
        random_state=None,
    ):
        self.kernel = kernel
        self.p = p
        self.n_anchors = n_anchors
        self.anchor_selection = anchor_selection
        self.center = center
        self.scale = scale
        self.l2_normalize = l2_normalize
        self.normalize = normalize
        self.random_state = random_state

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Fit the anchors: every row of ``X``, or ``n_anchors`` rows selected from it.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The anchors (or the rows to select anchors from, when ``n_anchors`` is set).
        y : array-like of shape (n_samples,), default=None
            Class labels, used only by ``anchor_selection="stratified"``.

        Returns
        -------
        self : RelativeProjection
            The fitted projection.
        """
        self._fit_anchors(X, y)
        _check_enough_anchors(self.normalize, self.anchors_.shape[0])
        self.mean_, self.scale_ = None, None
        if self.center or self.scale:
            # Fitted on the anchors divided by a power of two (exact), so that no sum or
            # square overflows or underflows at extreme magnitudes; the statistics are scaled
            # back, except the scale 1 of constant features.
            exponent = int(np.frexp(np.max(np.abs(self.anchors_)))[1])
            scaler = StandardScaler(with_mean=self.center, with_std=self.scale)
            scaler.fit(np.ldexp(self.anchors_, -exponent))
            if self.center:
                self.mean_ = np.ldexp(scaler.mean_, exponent)
            if self.scale:
                constant = scaler.scale_ != np.sqrt(scaler.var_)
                self.scale_ = np.where(constant, 1.0, np.ldexp(scaler.scale_, exponent))
        self._processed_anchors = self._preprocess(self.anchors_)
        return self

    def _preprocess(self, X):
        """Apply the anchor-fitted pre-processing to a block of rows (returns a new array)."""
        if self.mean_ is not None:
            X = X - self.mean_.astype(X.dtype, copy=False)
        if self.scale_ is not None:
            X = X / self.scale_.astype(X.dtype, copy=False)
        if not (self.mean_ is None and self.scale_ is None or np.isfinite(X).all()):
            raise ValueError(
                f"X centred and scaled with the anchors' statistics overflows {X.dtype}; "
                "rescale X and the anchors, or use float64."
            )
        if self.l2_normalize:
            X = _numba.unit_rows(X)
        return X

    @property
    def _needs_preprocessing(self):
        return self.mean_ is not None or self.scale_ is not None or self.l2_normalize

    def transform(self, X):
        """Relative representation of ``X`` with respect to the fitted anchors.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features_in_)
            Samples of the same latent space as the anchors. A :class:`numpy.memmap` is
            streamed one checked block of rows at a time; a Dask array gives a lazy Dask
            array (see :mod:`skinvariance.outofcore`).

        Returns
        -------
        R : ndarray of shape (n_samples, n_anchors)
            ``R[i, j] = kernel(x_i, a_j)`` after pre-processing, normalised per row if
            ``normalize`` is set; float32 for float32 input, float64 otherwise.
        """
        check_is_fitted(self)
        if _dask.is_dask_array(X):
            return _dask.transform(self, X)
        if _is_memmap(X):
            return _transform_memmap(self, X)
        X = validate_data(self, X, dtype=[np.float64, np.float32], reset=False)
        anchors = self._processed_anchors.astype(X.dtype, copy=False)
        out = np.empty((X.shape[0], anchors.shape[0]), dtype=X.dtype)
        with KernelEvaluator(anchors, [self.kernel], p=self.p) as evaluator:
            row_bytes = evaluator.temporary_row_bytes(X.shape[1]) * 2
            for rows in row_blocks(X.shape[0], row_bytes):
                block = np.ascontiguousarray(X[rows])
                if self._needs_preprocessing:
                    block = np.ascontiguousarray(self._preprocess(block), dtype=X.dtype)
                evaluator.compute(block, [out[rows]])
                normalize_rows(out[rows], self.normalize, copy=False)
        return out

    def get_feature_names_out(self, input_features=None):
        """Output feature names: ``"<kernel>_anchor<j>"`` for anchor ``j``.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Checked against ``feature_names_in_`` if given; they do not change the output.

        Returns
        -------
        feature_names_out : ndarray of str objects
        """
        check_is_fitted(self)
        _check_feature_names_in(self, input_features)
        name = get_kernel(self.kernel).name
        return np.asarray(
            [f"{name}_anchor{j}" for j in range(self.anchors_.shape[0])], dtype=object
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags


def _check_enough_anchors(normalize, n_anchors):
    if normalize == "layer" and n_anchors < 2:
        raise ValueError(
            "normalize='layer' needs at least 2 anchors (a standard deviation over one "
            f"value is 0); got n_samples = {n_anchors} anchor."
        )


def _relative_core(estimator):
    """The RelativeProjection at the end of ``estimator`` (itself or a Pipeline's last step)."""
    if isinstance(estimator, Pipeline):
        estimator = estimator.steps[-1][1]
    return estimator if isinstance(estimator, RelativeProjection) else None


def _default_name(projection):
    if isinstance(projection, str):
        return projection
    core = _relative_core(projection)
    if core is not None and isinstance(core.kernel, str):
        return core.kernel
    return type(projection).__name__.lower()


class ProductProjection(_AnchorSelectionMixin, TransformerMixin, BaseEstimator):
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
    aggregate : {"concat", "sum", "mean", "weighted"}, default="concat"
        - ``"concat"``: ``[N(s_1), ..., N(s_m)]``, width ``m * n_anchors``: the product space.
        - ``"sum"``: ``sum_i o_i N(s_i)``, width ``n_anchors``.
        - ``"mean"``: the sum divided by ``m``.
        - ``"weighted"``: ``sum_i w_i o_i N(s_i)`` with the fixed ``weights``.

        Here ``N`` is the per-subspace normalisation and ``o_i`` an orientation: a fixed sum
        would cancel a similarity (cosine: larger = closer) against a distance (larger =
        farther), so ``sum`` / ``mean`` / ``weighted`` negate distance subspaces first (every
        subspace then reads "larger = closer"). ``concat`` keeps raw orientations (a decoder
        can learn the sign). Subspaces must have equal widths except for ``concat``.
    weights : array-like of shape (n_projections,), default=None
        Weights of ``aggregate="weighted"`` (finite; used as given, not normalised). Ignored
        by the other aggregations.
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

    Attributes
    ----------
    projections_ : list of (str, estimator)
        The fitted clones, named. ``projections`` itself is left as given.
    orientations_ : ndarray of shape (n_projections,)
        ``+1`` for similarity subspaces, ``-1`` for distance subspaces (estimators that are not
        relative projections count as ``+1``).
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
    together, block by block: L1 and L-infinity share one pass over the data.

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
        "aggregate": [StrOptions(set(AGGREGATIONS))],
        "weights": ["array-like", None],
        "normalize": [StrOptions(set(NORMALIZATIONS)), None],
        "n_anchors": [Interval(Integral, 1, None, closed="left"), None],
        "anchor_selection": [StrOptions(set(ANCHOR_STRATEGIES))],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        projections,
        *,
        aggregate="concat",
        weights=None,
        normalize="layer",
        n_anchors=None,
        anchor_selection="random",
        random_state=None,
    ):
        self.projections = projections
        self.aggregate = aggregate
        self.weights = weights
        self.normalize = normalize
        self.n_anchors = n_anchors
        self.anchor_selection = anchor_selection
        self.random_state = random_state

    # -- parameters -------------------------------------------------------------------------

    def _entries(self):
        """``[(name, estimator_or_kernel_name, explicit_name)]`` for ``projections``."""
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
        names = [name for name, _, _ in entries]
        explicit = [name for name, _, is_explicit in entries if is_explicit]
        repeated = {name for name in explicit if explicit.count(name) > 1}
        if repeated:
            raise ValueError(
                f"Names in 'projections' must be unique; {sorted(repeated)} are repeated."
            )
        # Repeated implicit names become name-1, name-2, ... (as scikit-learn's make_union).
        counts = {name: names.count(name) for name in names}
        seen = {}
        named = []
        for name, projection, is_explicit in entries:
            if not is_explicit and counts[name] > 1:
                seen[name] = seen.get(name, 0) + 1
                name = f"{name}-{seen[name]}"
            if "__" in name or name in self._get_param_names():
                raise ValueError(
                    f"Projection name {name!r} is not allowed: it contains '__' or is the name "
                    "of a parameter of ProductProjection."
                )
            named.append((name, projection))
        return named

    def _named_projections(self):
        """``[(name, estimator)]`` with kernel names turned into RelativeProjection."""
        return [
            (name, RelativeProjection(kernel=p) if isinstance(p, str) else p)
            for name, p in self._entries()
        ]

    def get_params(self, deep=True):
        """Parameters of this estimator and, with ``deep``, of each named subspace.

        Parameters
        ----------
        deep : bool, default=True
            Include ``<name>`` (the subspace's estimator) and ``<name>__<param>`` entries.

        Returns
        -------
        params : dict
        """
        params = super().get_params(deep=False)
        if not deep:
            return params
        try:
            named = self._named_projections()
        except (TypeError, ValueError):
            return params
        for name, estimator in named:
            params[name] = estimator
            if hasattr(estimator, "get_params"):
                for key, value in estimator.get_params(deep=True).items():
                    params[f"{name}__{key}"] = value
        return params

    def set_params(self, **params):
        """Set parameters, including ``<name>`` and ``<name>__<param>`` of the subspaces.

        Parameters
        ----------
        **params : dict
            Estimator parameters.

        Returns
        -------
        self : ProductProjection
        """
        own = set(self._get_param_names())
        if "projections" in params:
            self.projections = params.pop("projections")
        super().set_params(**{key: params.pop(key) for key in list(params) if key in own})
        if not params:
            return self
        entries = self._entries()
        names = [name for name, _ in entries]
        replaced = dict(entries)
        nested = {}
        for key, value in params.items():
            name, _, sub_key = key.partition("__")
            if name not in replaced:
                raise ValueError(
                    f"Invalid parameter {name!r} for estimator {self}. Valid parameters are: "
                    f"{sorted(own | set(names))!r}."
                )
            if sub_key:
                nested.setdefault(name, {})[sub_key] = value
            else:
                replaced[name] = value
        for name, sub_params in nested.items():
            if isinstance(replaced[name], str):
                replaced[name] = RelativeProjection(kernel=replaced[name])
            replaced[name].set_params(**sub_params)
        self.projections = [
            entry if replaced[name] is original else (name, replaced[name])
            for entry, (name, original) in zip(self.projections, entries)
        ]
        return self

    # -- fitting ----------------------------------------------------------------------------

    def _check_projections(self):
        if len(self.projections) == 0:
            raise ValueError("'projections' must contain at least one projection; got [].")
        named = self._named_projections()
        for name, estimator in named:
            if not (hasattr(estimator, "fit") and hasattr(estimator, "transform")):
                raise TypeError(
                    f"Projection {name!r} must be a kernel name among "
                    f"{available_kernels(aliases=True)} or a transformer with fit and "
                    f"transform; got {estimator!r}."
                )
            core = _relative_core(estimator)
            if core is not None and isinstance(core.kernel, str):
                get_kernel(core.kernel)  # an unknown kernel name fails here, by name
        return named

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
        self.widths_ = np.array(
            [np.asarray(est.transform(probe)).shape[1] for _, est in self.projections_]
        )
        if self.normalize == "layer":
            _check_enough_anchors("layer", int(self.widths_.min()))
        if self.aggregate != "concat" and len(set(self.widths_.tolist())) > 1:
            widths = {name: int(w) for (name, _), w in zip(self.projections_, self.widths_)}
            raise ValueError(
                f"aggregate={self.aggregate!r} needs subspaces of equal widths; got {widths}. "
                "Use aggregate='concat', or the same anchors for every subspace."
            )
        self.orientations_ = np.array(
            [_orientation(est) for _, est in self.projections_], dtype=np.float64
        )
        if self.aggregate == "weighted":
            self._weights = self._check_weights()
        return self

    def _check_weights(self):
        if self.weights is None:
            raise ValueError("aggregate='weighted' needs 'weights'; got weights=None.")
        weights = np.asarray(self.weights, dtype=np.float64)
        if weights.shape != (len(self.projections_),) or not np.all(np.isfinite(weights)):
            raise ValueError(
                f"'weights' must be {len(self.projections_)} finite numbers, one per "
                f"projection; got {self.weights!r}."
            )
        return weights

    # -- transforming -----------------------------------------------------------------------

    def _coefficients(self):
        """Per-subspace multipliers applied after normalisation."""
        if self.aggregate == "concat":
            return np.ones(len(self.projections_))
        coefficients = self.orientations_.copy()
        if self.aggregate == "mean":
            coefficients /= len(self.projections_)
        elif self.aggregate == "weighted":
            coefficients *= self._weights
        return coefficients

    def _fusion_groups(self):
        """Subspaces computed together: plain RelativeProjections sharing pre-processing."""
        groups = {}
        for position, (_, est) in enumerate(self.projections_):
            if type(est) is RelativeProjection and est.n_anchors is None:
                key = (est.center, est.scale, est.l2_normalize, float(est.p))
                groups.setdefault(key, []).append(position)
        return list(groups.values())

    def transform(self, X):
        """Project ``X`` on every subspace, normalise and aggregate.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features_in_)
            Samples of the same latent space as the anchors. A :class:`numpy.memmap` is
            streamed one checked block of rows at a time; a Dask array gives a lazy Dask
            array (see :mod:`skinvariance.outofcore`).

        Returns
        -------
        Z : ndarray of shape (n_samples, n_features_out)
            ``sum(widths_)`` columns for ``concat``, ``widths_[0]`` otherwise; float32 for
            float32 input, float64 otherwise.
        """
        check_is_fitted(self)
        if _dask.is_dask_array(X):
            return _dask.transform(self, X)
        if _is_memmap(X):
            return _transform_memmap(self, X)
        X = validate_data(self, X, dtype=[np.float64, np.float32], reset=False)
        dtype = X.dtype
        widths = self.widths_
        concat = self.aggregate == "concat"
        offsets = np.concatenate([[0], np.cumsum(widths)])
        coefficients = self._coefficients()
        out_width = int(offsets[-1]) if concat else int(widths[0])
        out = np.empty((X.shape[0], out_width), dtype=dtype)

        groups = self._fusion_groups()
        grouped = {position for group in groups for position in group}
        row_bytes = dtype.itemsize * (2 * X.shape[1] + int(widths.sum()))
        with ExitStack() as stack:
            evaluators = []
            for group in groups:
                leader = self.projections_[group[0]][1]
                anchors = leader._processed_anchors.astype(dtype, copy=False)
                kernels = [self.projections_[i][1].kernel for i in group]
                evaluators.append(
                    stack.enter_context(KernelEvaluator(anchors, kernels, p=leader.p))
                )
            threads = cpu_count()
            pool = stack.enter_context(ThreadPoolExecutor(max_workers=threads))
            buffers = None
            for rows in row_blocks(X.shape[0], row_bytes):
                block = np.ascontiguousarray(X[rows])
                if buffers is None:  # one buffer per fused subspace, reused by every block
                    buffers = {i: np.empty((len(block), widths[i]), dtype=dtype)
                               for i in grouped}
                subspaces = [None] * len(self.projections_)
                for group, evaluator in zip(groups, evaluators):
                    leader = self.projections_[group[0]][1]
                    source = block
                    if leader._needs_preprocessing:
                        source = np.ascontiguousarray(leader._preprocess(block), dtype=dtype)
                    outs = [buffers[i][: len(block)] for i in group]
                    evaluator.compute(source, outs)
                    for i, values in zip(group, outs):
                        sub = self.projections_[i][1]
                        subspaces[i] = normalize_rows(values, sub.normalize, copy=False)
                for i, (_, est) in enumerate(self.projections_):
                    if i not in grouped:
                        subspaces[i] = np.asarray(est.transform(block), dtype=dtype)
                parts = np.array_split(np.arange(len(block)), threads)
                futures = [
                    pool.submit(self._aggregate_rows, subspaces, out[rows], slice(p[0], p[-1] + 1),
                                offsets, coefficients)
                    for p in parts if len(p)
                ]
                for future in futures:
                    future.result()
        return out

    def _aggregate_rows(self, subspaces, target, part, offsets, coefficients):
        """Normalise, orient or weight, and place (concat) or add (sums) rows ``part``.

        One pass over each subspace; rows are independent, so parts run on threads.
        """
        concat = self.aggregate == "concat"
        code = _NORM_CODES[self.normalize]
        for i, values in enumerate(subspaces):
            columns = slice(offsets[i], offsets[i + 1]) if concat else slice(None)
            _numba.normalize_rows_into(
                values[part], target[part, columns], code, coefficients[i], not concat and i > 0
            )

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
            if _relative_core(est) is not None:
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


def _orientation(estimator):
    core = _relative_core(estimator)
    if core is None:
        return 1.0
    return 1.0 if get_kernel(core.kernel).kind == "similarity" else -1.0


__all__ = ["ProductProjection", "RelativeProjection", "normalize_rows"]
