"""Similarity measures between latent spaces of the same samples.

Every measure takes two row-aligned spaces ``X`` (n_samples, d_x) and ``Y`` (n_samples, d_y):
row ``i`` of each embeds the same input. Each returns one float where **higher means more
similar**, and documents its range and the transformations it is invariant to, so that it can
tell which invariance relates two spaces. :func:`similarity_matrix` applies a measure to
every pair of spaces of a multi-space input; the registry (:func:`available_measures`,
:func:`get_measure`, :func:`measure_table`) maps names and short names to measures.
:func:`permutation_test` reads a score against its permutation null (p-value and z-score),
and ``similarity_matrix(..., calibrate=...)`` does so for every pair.

Conventions shared by all measures:

- inputs must be finite, have the same number of rows and at least two rows (three for the CCA
  measures and RSA, four for debiased CKA and CKNNA); the error names the argument at fault;
- computations run in float64 whatever the input dtype;
- memory stays bounded: nothing of size ``n_samples x n_samples`` is built at once; work that
  needs pairs of samples runs over blocks of rows sized by scikit-learn's ``working_memory``
  setting (``sklearn.config_context(working_memory=...)``, in MiB). Two exceptions hold
  ``n_samples x n_samples`` values within that budget and refuse what exceeds it: RSA with
  Spearman's correlation (the ranks need every dissimilarity) and the Gram matrices of a
  permutation null.
- linear CKA, mean cosine similarity and Pearson similarity also accept Dask arrays (the
  ``dask`` extra) and reduce them block by block, without gathering them in memory.

========================  ================  =============================================
measure                   range             invariant to
========================  ================  =============================================
linear CKA                [0, 1]            orthogonal maps, isotropic scaling and
                                            translation of either space, independently
debiased linear CKA       [-1, 1]           the same
RBF CKA (median sigma)    [0, 1]            the same (sigma follows the scale)
mean cosine similarity    [-1, 1]           positive per-sample scaling of either space;
                                            one orthogonal map applied to both
Pearson similarity        [-1, 1]           per-sample positive affine maps ``a x + b 1``
                                            of either space; one permutation applied to both
Procrustes similarity     [0, 1]            orthogonal maps, isotropic scaling and
                                            translation of either space, independently
kNN Jaccard               [0, 1]            any map preserving cosine-neighbour order in
                                            either space (orthogonal, positive scaling)
mean reciprocal rank      [1/n, 1]          positive per-sample scaling of either space;
                                            one orthogonal map applied to both
SVCCA                     [0, 1]            orthogonal maps, isotropic scaling and
                                            translation of either space; any invertible
                                            linear map without reduction
PWCCA                     [0, 1]            any invertible linear map of the wider space;
                                            signed permutations, isotropic scaling and
                                            translation of the narrower (weighting) one
RSA (euclidean)           [-1, 1]           orthogonal maps, isotropic scaling and
                                            translation of either space
RSA (correlation)         [-1, 1]           per-sample positive affine maps and feature
                                            permutations of either space (not rotations)
mutual k-NN               [0, 1]            like kNN Jaccard
CKNNA                     [-1, 1]           orthogonal maps and isotropic scaling of
                                            either space
linear regression R2      [0, 1]            any invertible linear map of X (no ridge);
                                            orthogonal maps and isotropic scaling of Y;
                                            translation of either (not symmetric)
========================  ================  =============================================
"""

from ._calibration import permutation_test
from ._cca import pwcca, svcca
from ._cka import cka, linear_cka, rbf_cka
from ._matched import mean_cosine_similarity, pearson_similarity
from ._matrix import similarity_matrix
from ._mutual import cknna, mutual_knn
from ._neighbours import knn_jaccard, mean_reciprocal_rank
from ._procrustes import procrustes_similarity
from ._registry import Measure, available_measures, get_measure, measure_table
from ._regression import linear_regression_r2
from ._rsa import rsa

__all__ = [
    "Measure",
    "available_measures",
    "cka",
    "cknna",
    "get_measure",
    "knn_jaccard",
    "linear_cka",
    "linear_regression_r2",
    "mean_cosine_similarity",
    "mean_reciprocal_rank",
    "measure_table",
    "mutual_knn",
    "pearson_similarity",
    "permutation_test",
    "procrustes_similarity",
    "pwcca",
    "rbf_cka",
    "rsa",
    "similarity_matrix",
    "svcca",
]
