"""Shared fixtures. Seeds come through fixtures, never ``np.random.seed`` at import."""

import importlib

import numpy as np
import pytest
from _helpers import N_TEST, N_TRAIN
from sklearn.datasets import make_classification

from skinvariance.kernels import _definitions, row_blocks


@pytest.fixture
def rng():
    """A fresh, seeded generator for each test."""
    return np.random.default_rng(0)


# -- data --------------------------------------------------------------------------------------


@pytest.fixture
def projection_data(rng):
    """200 samples and 25 anchors in 6 dimensions, away from the origin."""
    return rng.normal(size=(200, 6)) + 2.0, rng.normal(size=(25, 6)) + 2.0


@pytest.fixture
def out_of_core_data(rng):
    """700 samples in 6 dimensions and 15 of them as anchors (files cross many blocks)."""
    X = rng.normal(size=(700, 6))
    return X, X[rng.choice(700, size=15, replace=False)]


@pytest.fixture
def dask_data(rng):
    """500 samples in 7 dimensions and 12 of them as anchors (several Dask chunks)."""
    X = rng.normal(size=(500, 7))
    return X, X[rng.choice(500, size=12, replace=False)]


@pytest.fixture(scope="module")
def stitching_data():
    """Three well separated classes in 16 dimensions; the first 300 rows train, the rest test."""
    X, y = make_classification(
        n_samples=N_TRAIN + N_TEST,
        n_features=16,
        n_informative=12,
        n_redundant=0,
        n_classes=3,
        n_clusters_per_class=1,
        class_sep=1.5,
        random_state=0,
    )
    return X, y


# -- the kernels' computations ----------------------------------------------------------------


@pytest.fixture
def kernel_rows(monkeypatch):
    """Rows each kernel computed (cosine, euclidean, and the fused or single L1 / L-infinity):
    every kernel computation goes through one of these."""
    counts = {}
    for kernel_class in (_definitions.CosineKernel, _definitions.EuclideanKernel,
                         _definitions.L1Kernel, _definitions.LinfKernel):
        original = kernel_class.compute

        def counting(self, X, state, out, original=original, name=kernel_class.name):
            counts[name] = counts.get(name, 0) + X.shape[0]
            return original(self, X, state, out)

        monkeypatch.setattr(kernel_class, "compute", counting)
    fused = _definitions._numba.l1_linf_block

    def counting_fused(X, A, out_l1, out_linf):
        counts["l1+linf"] = counts.get("l1+linf", 0) + X.shape[0]
        return fused(X, A, out_l1, out_linf)

    monkeypatch.setattr(_definitions._numba, "l1_linf_block", counting_fused)
    return counts


# -- the measures' blocked loops ---------------------------------------------------------------


@pytest.fixture
def blocks(monkeypatch):
    """Record ``(rows per block, rows)`` of every blocked loop of the measures' modules."""
    seen = []

    def recording(n_rows, row_bytes, **kwargs):
        slices = list(row_blocks(n_rows, row_bytes, **kwargs))
        seen.append((slices[0].stop - slices[0].start, n_rows))
        return iter(slices)

    for module in ("_cka", "_matched", "_procrustes", "_neighbours"):
        monkeypatch.setattr(importlib.import_module(f"skinvariance.metrics.{module}"),
                            "row_blocks", recording)
    return seen


# -- extras ------------------------------------------------------------------------------------


@pytest.fixture
def da():
    """``dask.array``; the test is skipped when the ``dask`` extra is not installed."""
    return pytest.importorskip("dask.array")
