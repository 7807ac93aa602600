"""What both alignments share: input checks, tags, output width, fitted statistics."""

import numpy as np
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils import check_array
from sklearn.utils.validation import check_is_fitted, validate_data

from ._scaling import affine_map, scaled_side

__all__ = ["BaseAlignment", "check_target_space", "validate_pair"]


def validate_pair(estimator, X, Y):
    """Validate source and target anchors; return float arrays with a 2-D target."""
    X, Y = validate_data(
        estimator,
        X,
        Y,
        multi_output=True,
        y_numeric=True,
        dtype=[np.float64, np.float32],
        ensure_min_samples=2,
    )
    Y = np.asarray(Y, dtype=X.dtype)
    if Y.ndim == 1:
        Y = Y.reshape(-1, 1)
    return X, Y


def check_target_space(estimator, Y):
    """The target-space rows given to ``inverse_transform``, checked against ``n_targets_``."""
    check_is_fitted(estimator)
    Y = check_array(Y, dtype=[np.float64, np.float32], ensure_2d=False, input_name="Y")
    if Y.ndim == 1 and estimator.n_targets_ == 1:
        Y = Y.reshape(-1, 1)
    if Y.ndim != 2:
        raise ValueError(
            f"Expected a 2D array for Y, got an array of shape {Y.shape} instead. Reshape your "
            "data with Y.reshape(-1, 1) if it has a single feature."
        )
    if Y.shape[1] != estimator.n_targets_:
        raise ValueError(
            f"Y has {Y.shape[1]} features, but {type(estimator).__name__} is expecting "
            f"{estimator.n_targets_} target features as input."
        )
    return Y


class BaseAlignment(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Common tags, output width, and the anchors' statistics of the alignments.

    A subclass fits a matrix ``M`` (kept as ``fraction * 2**exponent``) between its source and
    target anchors, both centred and standardised as ``_scale_sides`` made them; ``_forward``
    and ``_backward`` apply it to raw vectors with the stored statistics.
    """

    @property
    def _n_features_out(self):
        return self.n_targets_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        tags.target_tags.multi_output = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags

    def _scale_sides(self, X, Y, *, center):
        """Both sides scaled for fitting; stores their means and standard deviations."""
        source = scaled_side(X, center=center, standardize=self.standardize)
        target = scaled_side(Y, center=center, standardize=self.standardize)
        self.source_mean_, self.target_mean_ = source.mean, target.mean
        self.source_scale_ = source.scale_array(X.dtype)
        self.target_scale_ = target.scale_array(X.dtype)
        self._source_scale, self._target_scale = source.scale, target.scale
        return source, target

    def _forward(self, X, matrix, exponent):
        """``((X - source_mean_) / source_scale_) @ matrix 2**exponent * target_scale_ +
        target_mean_``."""
        return affine_map(self, X, self.source_mean_, matrix, exponent, self.target_mean_,
                          in_scale=self._source_scale, out_scale=self._target_scale)

    def _backward(self, Y, matrix, exponent):
        """``((Y - target_mean_) / target_scale_) @ matrix 2**exponent * source_scale_ +
        source_mean_``."""
        return affine_map(self, Y, self.target_mean_, matrix, exponent, self.source_mean_,
                          in_scale=self._target_scale, out_scale=self._source_scale)
