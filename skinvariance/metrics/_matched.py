"""Measures comparing matched rows: the same sample's representation in two spaces."""

import numpy as np

from .._compat import validate_params
from .._dask import any_dask
from .._parallel import MAX_BLOCK_ROWS, row_blocks
from .._validation import DataError, check_paired_arrays
from ._base import row_centred, rowwise_cosine
from ._dask import check_dask_pair, dask_mean_rowwise_cosine

__all__ = ["mean_cosine_similarity", "pearson_similarity"]


@validate_params({"X": ["array-like"], "Y": ["array-like"]}, prefer_skip_nested_validation=True)
def mean_cosine_similarity(X, Y):
    """Mean cosine similarity between matched rows, ``mean_i cos(x_i, y_i)``.

    Compares the two spaces coordinate by coordinate, so it needs equal widths and is
    meaningful when the coordinates correspond, e.g. relative representations of both spaces
    on parallel anchors, or one space aligned onto the other. A zero row has cosine similarity
    0 with anything (scikit-learn's convention), so it counts as 0 in the mean.

    Range: [-1, 1]; higher = more similar; symmetric; 1 iff every ``y_i`` is a positive
    multiple of ``x_i``.
    Invariances: positive rescaling of any row of either space; one orthogonal map applied to
    both spaces. Not invariant to a map of one space alone, nor to translation.

    Finite input of any magnitude gives the value at scale 1 (:term:`at any magnitude`).

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        First space.
    Y : array-like of shape (n_samples, n_features)
        Second space, row-aligned with X, same width.

    Returns
    -------
    similarity : float
        Mean of the per-sample cosine similarities.

    Examples
    --------
    >>> import numpy as np
    >>> from skinvariance.metrics import mean_cosine_similarity
    >>> X = np.array([[1.0, 0.0], [0.0, 2.0]])
    >>> mean_cosine_similarity(X, np.array([[3.0, 0.0], [1.0, 0.0]]))
    0.5
    """
    if any_dask(X, Y):  # reduced blockwise, never gathered
        X, Y = check_dask_pair(X, Y, "mean_cosine_similarity", same_width=True)
        return float(dask_mean_rowwise_cosine(X, Y))
    X, Y = check_paired_arrays(X, Y, "mean_cosine_similarity", same_width=True)
    return float(np.mean(rowwise_cosine(X, Y)))


@validate_params({"X": ["array-like"], "Y": ["array-like"]}, prefer_skip_nested_validation=True)
def pearson_similarity(X, Y):
    """Mean Pearson correlation between matched representations, ``mean_i corr(x_i, y_i)``.

    For each sample, the correlation across features of its representation in X and in Y
    (the cross-seed "Pearson correlation of latent spaces" of the product-of-invariances
    paper): the cosine similarity of the row-centred rows. Needs equal widths, with
    corresponding coordinates (e.g. relative representations on parallel anchors). A
    constant row (zero variance across features) has correlation 0 with anything, by
    convention, and counts as 0 in the mean.

    Range: [-1, 1]; higher = more similar; symmetric.
    Invariances: per-sample positive affine maps ``a_i x_i + b_i 1`` of either space (a_i > 0);
    one permutation of the features applied to both. Not invariant to rotations.

    Finite input of any magnitude gives the value at scale 1 (:term:`at any magnitude`).

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        First space; at least 2 features.
    Y : array-like of shape (n_samples, n_features)
        Second space, row-aligned with X, same width.

    Returns
    -------
    similarity : float
        Mean of the per-sample correlations.

    Examples
    --------
    >>> import numpy as np
    >>> from skinvariance.metrics import pearson_similarity
    >>> X = np.array([[1.0, 2.0, 3.0], [0.0, 1.0, 0.0]])
    >>> pearson_similarity(X, 2.0 * X + 5.0)
    1.0
    """
    dask_input = any_dask(X, Y)
    check_pair = check_dask_pair if dask_input else check_paired_arrays
    X, Y = check_pair(X, Y, "pearson_similarity", same_width=True)
    if X.shape[1] < 2:
        raise DataError(
            "pearson_similarity correlates each sample's features, so it needs at least 2 "
            f"features; got X and Y with shape {X.shape}."
        )
    if dask_input:  # reduced blockwise, never gathered
        return float(dask_mean_rowwise_cosine(X, Y, centre=True))
    n, d = X.shape
    out = np.empty(n)
    for rows in row_blocks(n, 8 * 2 * d, max_rows=MAX_BLOCK_ROWS):
        out[rows] = rowwise_cosine(*row_centred(X[rows], Y[rows]), prepared=True)
    return float(out.mean())
