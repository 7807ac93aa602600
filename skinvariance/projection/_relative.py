"""Relative projections: samples described by their kernel values against anchors."""

from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from .._compat import StrOptions, _check_feature_names_in, _fit_context, validate_params
from .._constraints import COUNT, RANDOM_STATE, NumberInterval
from .._dask import compute_if_dask
from .._streaming import transform_not_in_memory
from .._validation import FLOAT_DTYPES, DataError
from ..anchors import ANCHOR_STRATEGIES, select_anchors
from ..kernels import available_kernels, get_kernel
from ..kernels._driver import check_samples_and_anchors
from ._engine import AnchorPreprocessing, SubspaceGroup, project_in_blocks
from ._normalize import NORMALIZATIONS

__all__ = ["AnchorSelectionMixin", "RelativeProjection", "relative_projection"]


class AnchorSelectionMixin:
    """Validates the fitted rows and picks the anchors among them (both projections)."""

    def _fit_anchors(self, X, y):
        """Set ``anchors_`` (and ``anchor_indices_`` when ``n_anchors`` selects rows)."""
        X, y = compute_if_dask(X), compute_if_dask(y)
        X = validate_data(self, X, dtype=FLOAT_DTYPES)
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


def check_enough_anchors(normalize, n_anchors):
    if normalize == "layer" and n_anchors < 2:
        raise DataError(
            "normalize='layer' needs at least 2 anchors (a standard deviation over one "
            f"value is 0); got n_samples = {n_anchors} anchor."
        )


class RelativeProjection(AnchorSelectionMixin, TransformerMixin, BaseEstimator):
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
    n_threads : int, default=None
        Threads of the compiled loops (L1, L-infinity, Minkowski, the Euclidean correction and
        the row normalisation). None follows the package's thread policy: every core, unless
        a lower limit is in force (inside a joblib worker, under
        :func:`threadpoolctl.threadpool_limits`, or while
        :class:`~skinvariance.StitchingEvaluator` runs many small fits); matrix-product
        kernels use BLAS's own threads, under the same limits. The values do not depend on it.

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
    relative_projection : The same computation as a function of samples and anchors.
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
        "p": [NumberInterval(Real, 1, None, closed="both")],
        "n_anchors": [NumberInterval(Integral, 1, None, closed="left"), None],
        "anchor_selection": [StrOptions(set(ANCHOR_STRATEGIES))],
        "center": ["boolean"],
        "scale": ["boolean"],
        "l2_normalize": ["boolean"],
        "normalize": [StrOptions(set(NORMALIZATIONS)), None],
        "random_state": RANDOM_STATE,
        "n_threads": [COUNT, None],
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
        n_threads=None,
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
        self.n_threads = n_threads

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
        check_enough_anchors(self.normalize, self.anchors_.shape[0])
        preprocessing = AnchorPreprocessing.fit(
            self.anchors_, center=self.center, scale=self.scale, l2_normalize=self.l2_normalize
        )
        self.mean_, self.scale_ = preprocessing.mean, preprocessing.scale
        return self

    def transform(self, X):
        """Relative representation of ``X`` with respect to the fitted anchors.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features_in_)
            Samples of the same latent space as the anchors. A :class:`numpy.memmap` is
            streamed one checked block of rows at a time; a Dask array gives a lazy Dask
            array (see :mod:`skinvariance.io`).

        Returns
        -------
        R : ndarray of shape (n_samples, n_anchors)
            ``R[i, j] = kernel(x_i, a_j)`` after pre-processing, normalised per row if
            ``normalize`` is set; float32 for float32 input, float64 otherwise.
        """
        check_is_fitted(self)
        streamed = transform_not_in_memory(self, X)
        if streamed is not None:
            return streamed
        X = validate_data(self, X, dtype=FLOAT_DTYPES, reset=False)
        return _project(X, subspace_group([self], X.dtype, n_threads=self.n_threads))

    def _transform_sharing(self, X, source):
        """:meth:`transform` of in-memory ``X`` with the raw subspace read from ``source``
        (see ``_shared.py``)."""
        check_is_fitted(self)
        X = validate_data(self, X, dtype=FLOAT_DTYPES, reset=False)
        return _project(X, subspace_group([self], X.dtype, n_threads=self.n_threads), source)

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


def subspace_group(projections, dtype, *, n_threads=None):
    """One :class:`SubspaceGroup` for fitted RelativeProjections sharing anchors and
    pre-processing (read from their public fitted attributes)."""
    first = projections[0]
    preprocessing = AnchorPreprocessing(first.mean_, first.scale_, first.l2_normalize)
    return SubspaceGroup(
        first.anchors_,
        preprocessing,
        [projection.kernel for projection in projections],
        [projection.normalize for projection in projections],
        p=first.p,
        dtype=dtype,
        n_threads=n_threads,
    )


def _project(X, group, source=None):
    """Every row of ``X`` through one group of one subspace; its raw values from ``source``
    when one is given (see ``_shared.py``)."""
    row_bytes = group.temporary_row_bytes(X.shape[1])
    if source is not None:
        (raw,) = source(group, X, row_bytes)
        out = np.array(raw, copy=True)
        group.normalize([out])
        return out
    out = np.empty((X.shape[0], group.n_anchors), dtype=X.dtype)

    def compute_block(rows, block):
        group.compute(block, [out[rows]])

    project_in_blocks(X, compute_block, row_bytes)
    return out


@validate_params(
    {
        "X": ["array-like"],
        "anchors": ["array-like"],
        "kernel": [StrOptions(set(available_kernels(aliases=True)))],
        "p": [NumberInterval(Real, 1, None, closed="both")],
        "center": ["boolean"],
        "scale": ["boolean"],
        "l2_normalize": ["boolean"],
        "normalize": [StrOptions(set(NORMALIZATIONS)), None],
        "n_threads": [COUNT, None],
    },
    prefer_skip_nested_validation=True,
)
def relative_projection(X, anchors, kernel="cosine", *, p=2.0, center=False, scale=False,
                        l2_normalize=False, normalize=None, n_threads=None):
    """The relative representation of ``X`` with respect to ``anchors``.

    ``R[i, j] = kernel(x_i, a_j)`` after the anchor-fitted pre-processing, normalised per row
    if ``normalize`` is set: what ``RelativeProjection(kernel, ...).fit(anchors).transform(X)``
    returns, as one function. Computed in row blocks within scikit-learn's
    ``working_memory``.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Samples. Must be finite.
    anchors : array-like of shape (n_anchors, n_features)
        Anchors of the same space. Must be finite.
    kernel : str, default="cosine"
        One of :func:`skinvariance.kernels.available_kernels` (aliases accepted).
    p : float, default=2.0
        Order of the ``"minkowski"`` kernel; ignored otherwise.
    center, scale, l2_normalize : bool, default=False
        Pre-processing of samples and anchors with the anchors' statistics, as in
        :class:`RelativeProjection`.
    normalize : {"layer", "l2"} or None, default=None
        Per-sample normalisation of the output (see
        :func:`~skinvariance.projection.normalize_rows`).
    n_threads : int, default=None
        Threads of the compiled loops; None follows the thread policy (see
        :class:`RelativeProjection`).

    Returns
    -------
    R : ndarray of shape (n_samples, n_anchors)
        float32 for float32 ``X``, float64 otherwise.

    See Also
    --------
    RelativeProjection : The estimator, for pipelines and anchors chosen among fitted rows.
    skinvariance.kernels.pairwise_kernel : The raw kernel values.

    Examples
    --------
    >>> import numpy as np
    >>> from skinvariance.projection import relative_projection
    >>> X = np.array([[1.0, 0.0], [0.0, 2.0]])
    >>> A = np.array([[1.0, 1.0], [2.0, 0.0]])
    >>> relative_projection(X, A, "cosine").round(3)
    array([[0.707, 1.   ],
           [0.707, 0.   ]])
    >>> relative_projection(X, A, "l1", normalize="l2").round(3)
    array([[0.707, 0.707],
           [0.447, 0.894]])
    """
    X, anchors = check_samples_and_anchors(X, anchors, a_name="anchors")
    check_enough_anchors(normalize, anchors.shape[0])
    preprocessing = AnchorPreprocessing.fit(
        anchors, center=center, scale=scale, l2_normalize=l2_normalize
    )
    group = SubspaceGroup(anchors, preprocessing, [kernel], [normalize], p=p, dtype=X.dtype,
                          n_threads=n_threads)
    return _project(X, group)
