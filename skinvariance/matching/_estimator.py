"""``MatchedAlignment``: an alignment fitted on pairs found by ``match_spaces``."""

from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin, clone
from sklearn.utils.validation import check_is_fitted, validate_data

from .._compat import HasMethods, StrOptions, _fit_context
from .._constraints import COUNT, RANDOM_STATE, NumberInterval
from ..alignment import AffineAlignment
from ._checks import check_unpaired_spaces
from ._match import MATCHING_METHODS, match_spaces

__all__ = ["MatchedAlignment"]


class MatchedAlignment(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """An alignment from X to Y fitted on pairs of rows found by :func:`match_spaces`.

    ``fit(X, Y, pairs=known)`` takes two *unpaired* spaces (their row counts may differ) and a
    few known pairs (or none), finds pseudo-pairs, and fits ``alignment`` on them as on
    parallel anchors; ``transform`` then carries X's vectors into Y's coordinates. Read more in
    the :ref:`User Guide <matching>`.

    Parameters
    ----------
    alignment : estimator, default=None
        The alignment fitted on the matched pairs (``fit(X_rows, Y_rows)``, ``transform``);
        ``None`` is ``AffineAlignment(alpha="auto")``. It is cloned.
    method : {"auto", "seeded", "spectral", "unpaired"}, default="auto"
        How pairs are found (:func:`match_spaces`).
    n_neighbors : int, default=10
        Neighbours of each row's hubness correction (:func:`match_spaces`).
    n_iter : int, default=5
        Rounds of refinement (:func:`match_spaces`).
    n_clusters : int, default=10
        Centroids per clustering, method ``"unpaired"`` (:func:`match_spaces`).
    n_runs : int, default=30
        Clusterings tried, method ``"unpaired"`` (:func:`match_spaces`).
    working_memory : float, default=None
        MiB for one block of similarities (:func:`match_spaces`).
    random_state : int, RandomState instance or None, default=None
        Seeds the matching (:func:`match_spaces`).

    Attributes
    ----------
    pairs_ : ndarray of shape (n_pairs, 2)
        The pairs fitted on: rows of X (column 0) and of Y (column 1), the known pairs first.
    confidence_ : ndarray of shape (n_pairs,)
        Each pair's confidence (``inf`` for a known pair, otherwise its CSLS margin).
    match_quality_ : float
        The label-free quality of a match without known pairs (:func:`match_spaces`'s
        ``return_quality``): below 0.5 the pairs are likely wrong (a
        :class:`~skinvariance.exceptions.MatchingWarning` was issued); ``nan`` when seeded by
        known pairs.
    alignment_ : estimator
        The fitted clone of ``alignment``.
    n_features_in_ : int
        Number of features of X seen during :term:`fit`.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features of X seen during :term:`fit`, when they are all strings.

    See Also
    --------
    match_spaces : The pairs alone.
    skinvariance.alignment.AffineAlignment : An alignment fitted on parallel anchors.
    skinvariance.alignment.OrthogonalAlignment : Orthogonal Procrustes on parallel anchors.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy.stats import ortho_group
    >>> from skinvariance import MatchedAlignment, OrthogonalAlignment
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(300, 8)) * np.linspace(1, 3, 8)
    >>> order = rng.permutation(300)
    >>> Y = X[order] @ ortho_group.rvs(8, random_state=0)  # rotated, rows shuffled
    >>> truth = np.argsort(order)
    >>> known = np.column_stack([np.arange(10), truth[:10]])
    >>> model = MatchedAlignment(OrthogonalAlignment()).fit(X, Y, pairs=known)
    >>> len(model.pairs_) > 250
    True
    >>> bool(np.allclose(model.transform(X[truth.argsort()]), Y, atol=1e-6))
    True
    """

    _parameter_constraints = {
        "alignment": [HasMethods(["fit", "transform"]), None],
        "method": [StrOptions({"auto", *MATCHING_METHODS})],
        "n_neighbors": [COUNT],
        "n_iter": [COUNT],
        "n_clusters": [NumberInterval(Integral, 2, None, closed="left")],
        "n_runs": [COUNT],
        "working_memory": [NumberInterval(Real, 0, None, closed="neither"), None],
        "random_state": RANDOM_STATE,
    }

    def __init__(self, alignment=None, *, method="auto", n_neighbors=10, n_iter=5,
                 n_clusters=10, n_runs=30, working_memory=None, random_state=None):
        self.alignment = alignment
        self.method = method
        self.n_neighbors = n_neighbors
        self.n_iter = n_iter
        self.n_clusters = n_clusters
        self.n_runs = n_runs
        self.working_memory = working_memory
        self.random_state = random_state

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, Y, pairs=None):
        """Find pairs of rows of X and Y, and fit the alignment on them.

        Parameters
        ----------
        X : array-like of shape (n_samples_X, n_features_X)
            The source space.
        Y : array-like of shape (n_samples_Y, n_features_Y)
            The target space; its rows need not correspond to X's.
        pairs : array-like of shape (n_known, 2), default=None
            Known pairs (row of X, row of Y); kept.

        Returns
        -------
        self : MatchedAlignment
            The fitted estimator.
        """
        _, Y = check_unpaired_spaces(X, Y)  # errors that name the space at fault
        X = validate_data(self, X, dtype=[np.float64, np.float32])  # and its feature names
        self.pairs_, self.confidence_, self.match_quality_ = match_spaces(
            X, Y, pairs, method=self.method, n_neighbors=self.n_neighbors, n_iter=self.n_iter,
            n_clusters=self.n_clusters, n_runs=self.n_runs, return_confidence=True,
            return_quality=True, working_memory=self.working_memory,
            random_state=self.random_state)
        alignment = AffineAlignment(alpha="auto") if self.alignment is None else self.alignment
        self.alignment_ = clone(alignment).fit(X[self.pairs_[:, 0]], Y[self.pairs_[:, 1]])
        return self

    def transform(self, X):
        """Carry X's vectors into Y's coordinates with the fitted alignment.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features_in_)
            Vectors of the source space.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_features_Y)
            Their images in the target space.
        """
        check_is_fitted(self)
        X = validate_data(self, X, dtype=[np.float64, np.float32], reset=False)
        return self.alignment_.transform(X)

    @property
    def _n_features_out(self):
        return self.alignment_.n_targets_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
