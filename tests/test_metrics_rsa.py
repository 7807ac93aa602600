"""RSA against scipy's pdist + spearmanr / pearsonr, its memory budget and its invariances."""

import importlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial.distance import pdist
from scipy.stats import ortho_group, pearsonr, spearmanr
from sklearn import config_context

from skinvariance.kernels import row_blocks
from skinvariance.metrics import rsa

PROPERTY = settings(derandomize=True, max_examples=25, deadline=None)
CORRELATION = {
    "spearman": lambda a, b: spearmanr(a, b)[0],
    "pearson": lambda a, b: pearsonr(a, b)[0],
}


def rsa_ref(X, Y, distance, method):
    return CORRELATION[method](pdist(X, distance), pdist(Y, distance))


def related(seed, n=50, d_x=5, d_y=8):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d_x))
    return X, X @ rng.normal(size=(d_x, d_y)) + rng.normal(size=(n, d_y))


@pytest.fixture
def blocks(monkeypatch):
    """Record ``(rows per block, rows)`` of every blocked loop of rsa."""
    seen = []

    def recording(n_rows, row_bytes, **kwargs):
        slices = list(row_blocks(n_rows, row_bytes, **kwargs))
        seen.append((slices[0].stop - slices[0].start, n_rows))
        return iter(slices)

    module = importlib.import_module("skinvariance.metrics._rsa")
    monkeypatch.setattr(module, "row_blocks", recording)
    return seen


@pytest.mark.parametrize("method", ["spearman", "pearson"])
@pytest.mark.parametrize("distance", ["correlation", "euclidean"])
def test_matches_pdist_and_scipy_correlations_over_several_blocks(distance, method, blocks):
    X, Y = related(0, n=600)  # more rows than one block of dissimilarities
    with config_context(working_memory=8):  # the ranks of 179,700 pairs need 5.5 MiB
        value = rsa(X, Y, distance=distance, method=method)
    assert blocks and all(height < n for height, n in blocks)
    assert value == pytest.approx(rsa_ref(X, Y, distance, method), abs=1e-12)


@pytest.mark.parametrize("method", ["spearman", "pearson"])
def test_ties_and_magnitudes(method, rng):
    Xi = rng.integers(0, 3, size=(40, 4)).astype(float)  # many equal distances: tied ranks
    Yi = rng.integers(0, 3, size=(40, 3)).astype(float)
    assert rsa(Xi, Yi, distance="euclidean", method=method) == pytest.approx(
        rsa_ref(Xi, Yi, "euclidean", method), abs=1e-12
    )
    X, Y = related(1)
    for scale in (1e-8, 1e8):
        assert rsa(scale * X, Y, distance="euclidean", method=method) == pytest.approx(
            rsa_ref(X, Y, "euclidean", method), abs=1e-9
        )
    assert rsa(X.astype(np.float32), Y, method=method) == pytest.approx(
        rsa_ref(X, Y, "correlation", method), abs=1e-5
    )


def test_constant_rows_have_correlation_dissimilarity_one(rng):
    X, Y = related(2, n=20)
    X[3] = 7.0  # no variance across features: correlation 0 with every other row
    dissimilarities = pdist(X, "correlation")
    dissimilarities[np.isnan(dissimilarities)] = 1.0
    expected = spearmanr(dissimilarities, pdist(Y, "correlation"))[0]
    assert rsa(X, Y) == pytest.approx(expected, abs=1e-12)


def test_spearman_refuses_what_exceeds_the_working_memory(rng):
    X, Y = related(3, n=300)
    with config_context(working_memory=1):  # 300 samples: 44,850 pairs x 32 bytes = 1.4 MiB
        with pytest.raises(ValueError, match=r"n_samples=300 it needs about 1.4 MiB, more than "
                                             r"the working_memory budget of 1.0 MiB.*'pearson'"):
            rsa(X, Y)
        assert rsa(X, Y, method="pearson") == pytest.approx(
            rsa_ref(X, Y, "correlation", "pearson"), abs=1e-12
        )
    with config_context(working_memory=2):
        assert rsa(X, Y) == pytest.approx(rsa_ref(X, Y, "correlation", "spearman"), abs=1e-12)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"distance": "cosine"}, r"'distance' parameter of rsa must be a str among"),
        ({"method": "kendall"}, r"'method' parameter of rsa must be a str among"),
    ],
)
def test_bad_parameters(kwargs, match, rng):
    X, Y = related(4)
    with pytest.raises(ValueError, match=match):
        rsa(X, Y, **kwargs)


def test_bad_inputs(rng):
    X, Y = related(5)
    with pytest.raises(ValueError, match="rsa needs at least 3 samples"):
        rsa(X[:2], Y[:2])
    with pytest.raises(ValueError, match=r"at least 2 features; got X with shape \(50, 1\)"):
        rsa(X[:, :1], Y)
    assert np.isfinite(rsa(X[:, :1], Y, distance="euclidean"))
    with pytest.raises(ValueError, match="every euclidean dissimilarity between the rows of Y"):
        rsa(X, np.eye(50), distance="euclidean")  # all distances sqrt(2)
    with pytest.raises(ValueError, match="same number of rows"):
        rsa(X, Y[:10])
    with pytest.raises(ValueError, match="infinity"):
        rsa(np.where(X > 2, np.inf, X), Y)


# -- invariances ---------------------------------------------------------------------------

seeds = st.integers(0, 2**16)
methods = st.sampled_from(["spearman", "pearson"])


@PROPERTY
@given(seeds, st.floats(1e-3, 1e3), methods)
def test_euclidean_rsa_ignores_orthogonal_maps_scaling_and_translation(seed, scale, method):
    X, Y = related(seed, n=30)
    moved = scale * X @ ortho_group.rvs(5, random_state=seed) - 3.0
    expected = rsa(X, Y, distance="euclidean", method=method)
    assert rsa(moved, Y, distance="euclidean", method=method) == pytest.approx(expected, abs=1e-9)
    assert rsa(X, X @ ortho_group.rvs(5, random_state=seed + 1), distance="euclidean",
               method=method) == pytest.approx(1.0, abs=1e-9)


@PROPERTY
@given(seeds, methods)
def test_correlation_rsa_ignores_per_sample_affine_maps_and_feature_permutations(seed, method):
    X, Y = related(seed, n=30)
    rng = np.random.default_rng(seed)
    a, b = rng.uniform(0.1, 10.0, size=(30, 1)), rng.normal(scale=5.0, size=(30, 1))
    moved = (a * X + b)[:, rng.permutation(5)]
    assert rsa(moved, Y, method=method) == pytest.approx(rsa(X, Y, method=method), abs=1e-9)
    assert rsa(X, X, method=method) == pytest.approx(1.0, abs=1e-12)


def test_correlation_rsa_is_not_invariant_to_a_rotation():
    X, _ = related(6, n=60)
    Q = ortho_group.rvs(5, random_state=0)
    rotated = rsa(X, X @ Q)
    assert rotated == pytest.approx(rsa_ref(X, X @ Q, "correlation", "spearman"), abs=1e-12)
    assert rotated < 0.8  # the rotation changes each sample's mean across features
    assert rsa(X, X @ Q, distance="euclidean") == pytest.approx(1.0, abs=1e-12)
