"""The measures' blockwise reductions of Dask arrays, against NumPy and the n x n formula."""

import numpy as np
import pytest
from _helpers import chunked
from scipy.spatial.distance import cdist
from scipy.stats import pearsonr

from skinvariance import metrics

da = pytest.importorskip("dask.array")


def _reference_linear_cka(X, Y):
    """The Gram-matrix definition: HSIC(K, L) / sqrt(HSIC(K, K) HSIC(L, L)), n x n."""
    n = len(X)
    H = np.eye(n) - 1.0 / n
    K, L = H @ X @ X.T @ H, H @ Y @ Y.T @ H
    return np.vdot(K, L) / np.sqrt(np.vdot(K, K) * np.vdot(L, L))


def test_metrics_reduce_dask_arrays_blockwise(rng):
    X = rng.normal(size=(400, 9))
    Y = np.tanh(X @ rng.normal(size=(9, 9))) + 0.3 * rng.normal(size=(400, 9))
    Xd, Yd = chunked(X, 70, 4), da.from_array(Y, chunks=(55, 9))  # misaligned chunks
    assert metrics.linear_cka(Xd, Yd) == pytest.approx(_reference_linear_cka(X, Y), rel=1e-10)
    assert metrics.linear_cka(Xd, Y, debiased=True) == pytest.approx(
        metrics.linear_cka(X, Y, debiased=True), rel=1e-10
    )
    cosine = np.mean(1.0 - np.diag(cdist(X, Y, "cosine")))
    assert metrics.mean_cosine_similarity(Xd, Yd) == pytest.approx(cosine, rel=1e-10)
    pearson = np.mean([pearsonr(x, y)[0] for x, y in zip(X, Y)])
    assert metrics.pearson_similarity(X, Yd) == pytest.approx(pearson, rel=1e-10)


def test_metrics_dask_errors(rng):
    X = rng.normal(size=(300, 5))
    Xd = chunked(X, 64, 5)
    with pytest.raises(ValueError, match=r"same number of rows .* \(300, 5\) .* \(200, 5\)"):
        metrics.linear_cka(Xd, X[:200])
    with pytest.raises(ValueError, match="mean_cosine_similarity compares X and Y feature by"):
        metrics.mean_cosine_similarity(Xd, X[:, :4])
    bad = X.copy()
    bad[130, 1] = np.inf
    with pytest.raises(ValueError, match=r"Input Y contains infinity .* rows 128 to 191"):
        metrics.pearson_similarity(Xd, chunked(bad, 64, 5))
    with pytest.raises(ValueError, match="CKA is undefined"):
        metrics.linear_cka(Xd, da.ones((300, 5), chunks=100))
