"""The projection cache: the same bits with and without it, never a stale value, bounded."""

import os
import subprocess
import sys
import textwrap
import threading

import numpy as np
import pytest
from sklearn import config_context
from sklearn.preprocessing import Normalizer

from skinvariance import ProductProjection, RelativeProjection
from skinvariance.projection import (
    cached_projections,
    projection_cache_info,
    relative_projection,
    set_projection_cache,
)
from skinvariance.projection._cache import DEFAULT_MAX_BYTES, MAX_ENTRY_FRACTION

KERNELS = ["cosine", "euclidean", "l1", "linf", "angular", "minkowski"]


pytestmark = pytest.mark.usefixtures("fresh_cache")


def _twice_cached(estimator, X):
    with cached_projections():
        first = estimator.transform(X)
        second = estimator.transform(X)
    return first, second


# --------------------------------------------------------------------------------------------
# The same bits
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("options", [{}, {"center": True, "normalize": "layer"},
                                     {"scale": True, "l2_normalize": True, "normalize": "l2"}])
def test_relative_projection_is_bit_identical_with_the_cache(kernel, options, dtype, rng):
    X = rng.normal(size=(303, 9)).astype(dtype)
    projection = RelativeProjection(kernel, p=3.0, **options).fit(X[:20])
    plain = projection.transform(X)
    first, second = _twice_cached(projection, X)
    assert projection_cache_info().hits >= 1
    np.testing.assert_array_equal(first, plain)
    np.testing.assert_array_equal(second, plain)
    assert second.dtype == dtype and second.flags.writeable


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("aggregate", ["concat", "sum", "mean", "weighted"])
@pytest.mark.parametrize("working_memory", [None, 0.05])
def test_product_is_bit_identical_with_the_cache(aggregate, working_memory, dtype, rng):
    X = rng.normal(size=(1003, 12)).astype(dtype)
    entries = ["cosine", "euclidean", "l1", "linf",
               RelativeProjection("cosine", center=True, normalize="l2")]
    if aggregate == "concat":
        entries.append(Normalizer())  # computed by its own transform
    weights = list(range(1, len(entries) + 1)) if aggregate == "weighted" else None
    product = ProductProjection(entries, aggregate=aggregate, weights=weights).fit(X[:40])
    with config_context(working_memory=working_memory or 1024):  # several blocks, or one
        plain = product.transform(X)
        first, second = _twice_cached(product, X)
    np.testing.assert_array_equal(first, plain)
    np.testing.assert_array_equal(second, plain)


def test_the_function_is_bit_identical_with_the_cache(rng):
    X, A = rng.normal(size=(200, 6)), rng.normal(size=(15, 6))
    plain = relative_projection(X, A, "l1", center=True, normalize="layer")
    with cached_projections():
        relative_projection(X, A, "l1", center=True, normalize="layer")
        cached = relative_projection(X, A, "l1", center=True, normalize="layer")
    assert projection_cache_info().hits == 1
    np.testing.assert_array_equal(cached, plain)


def test_the_single_kernels_and_the_product_share_their_subspaces(rng, kernel_rows):
    """The product's cosine and euclidean subspaces are the single kernels' projections."""
    X = rng.normal(size=(250, 8))
    anchors = X[:30]
    with cached_projections():
        singles = [RelativeProjection(k).fit(anchors).transform(X) for k in ("cosine",
                                                                             "euclidean")]
        product = ProductProjection(["cosine", "euclidean", "l1", "linf"],
                                    normalize=None).fit(anchors).transform(X)
    assert kernel_rows["cosine"] == kernel_rows["euclidean"] == 250
    assert kernel_rows["l1+linf"] == 250  # the product's fused pass, computed once
    np.testing.assert_array_equal(product[:, :30], singles[0])
    np.testing.assert_array_equal(-product[:, 30:60], singles[1])  # a distance, oriented


def test_products_differing_in_aggregation_compute_the_kernels_once(rng, kernel_rows):
    X = rng.normal(size=(180, 7))
    outputs = {}
    with cached_projections():
        for aggregate in ("concat", "sum", "mean"):
            for normalize in ("layer", "l2", None):
                product = ProductProjection(["cosine", "euclidean", "l1", "linf"],
                                            aggregate=aggregate, normalize=normalize)
                outputs[aggregate, normalize] = product.fit(X[:25]).transform(X)
    assert kernel_rows == {"cosine": 180, "euclidean": 180, "l1+linf": 180}
    for (aggregate, normalize), cached in outputs.items():
        fresh = ProductProjection(["cosine", "euclidean", "l1", "linf"], aggregate=aggregate,
                                  normalize=normalize).fit(X[:25]).transform(X)
        np.testing.assert_array_equal(cached, fresh)


def test_outside_the_scope_nothing_is_cached(rng, kernel_rows):
    X = rng.normal(size=(100, 5))
    projection = RelativeProjection("l1").fit(X[:10])
    projection.transform(X)
    projection.transform(X)
    assert kernel_rows["l1"] == 200
    assert projection_cache_info().entries == 0


def test_a_cached_output_can_be_written_without_touching_the_cache(rng):
    X = rng.normal(size=(50, 4))
    projection = RelativeProjection("euclidean").fit(X[:8])
    reference = projection.transform(X)
    with cached_projections():
        first = projection.transform(X)
        first[:] = -1.0
        second = projection.transform(X)
    np.testing.assert_array_equal(second, reference)


# --------------------------------------------------------------------------------------------
# Never a stale value: anything the values depend on is part of the key
# --------------------------------------------------------------------------------------------


def _assert_fresh(estimator, X, stale):
    """Inside the cache, ``estimator.transform(X)`` equals a computation without the cache and
    differs from ``stale``."""
    expected = estimator.transform(X)
    with cached_projections():
        got = estimator.transform(X)
    np.testing.assert_array_equal(got, expected)
    assert not np.array_equal(got, stale)


@pytest.mark.parametrize("make", [lambda: RelativeProjection("l1"),
                                  lambda: ProductProjection(["cosine", "l1", "linf"])])
def test_new_anchors_invalidate(make, rng):
    X = rng.normal(size=(120, 6))
    estimator = make().fit(X[:10])
    with cached_projections():
        stale = estimator.transform(X)
    _assert_fresh(estimator.fit(X[10:20]), X, stale)


def test_anchors_changed_in_place_invalidate(rng):
    X = rng.normal(size=(120, 6))
    projection = RelativeProjection("linf").fit(X[:10])
    with cached_projections():
        stale = projection.transform(X)
    projection.anchors_[0] += 1.0
    _assert_fresh(projection, X, stale)


def test_new_data_invalidate_even_in_place(rng):
    X = rng.normal(size=(120, 6))
    projection = RelativeProjection("cosine").fit(X[:10])
    with cached_projections():
        stale = projection.transform(X)
    X[5, 2] += 0.5  # the same array object, one value changed
    expected = projection.transform(X)
    with cached_projections():
        got = projection.transform(X)
    np.testing.assert_array_equal(got, expected)
    assert not np.array_equal(got[5], stale[5])
    np.testing.assert_array_equal(got[:5], stale[:5])
    # The same values in another dtype or shape are other data.
    with cached_projections():
        as_float32 = projection.transform(X.astype(np.float32))
    assert as_float32.dtype == np.float32
    np.testing.assert_allclose(as_float32, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("change", [
    {"kernel": "linf"}, {"p": 3.0}, {"kernel": "angular"},
])
def test_a_kernel_parameter_invalidates(change, rng):
    X = rng.normal(size=(90, 5))
    base = {"kernel": "minkowski", "p": 1.5}
    with cached_projections():
        stale = RelativeProjection(**base).fit(X[:12]).transform(X)
    _assert_fresh(RelativeProjection(**{**base, **change}).fit(X[:12]), X, stale)


@pytest.mark.parametrize("change", [{"center": True}, {"scale": True}, {"l2_normalize": True}])
def test_the_preprocessing_invalidates(change, rng):
    X = rng.normal(loc=2.0, size=(90, 5)) * rng.uniform(0.5, 3.0, size=5)
    with cached_projections():
        stale = RelativeProjection("cosine").fit(X[:12]).transform(X)
    _assert_fresh(RelativeProjection("cosine", **change).fit(X[:12]), X, stale)
    # and in a product, where subspaces sharing a pre-processing are computed together
    with cached_projections():
        stale = ProductProjection(["cosine", "l1"]).fit(X[:12]).transform(X)
    entries = [RelativeProjection("cosine", **change), RelativeProjection("l1", **change)]
    _assert_fresh(ProductProjection(entries).fit(X[:12]), X, stale)


def test_the_fitted_statistics_changed_in_place_invalidate(rng):
    X = rng.normal(loc=1.0, size=(90, 5))
    projection = RelativeProjection("euclidean", center=True, scale=True).fit(X[:12])
    with cached_projections():
        stale = projection.transform(X)
    projection.scale_[1] *= 2.0
    _assert_fresh(projection, X, stale)


# --------------------------------------------------------------------------------------------
# Bounded memory
# --------------------------------------------------------------------------------------------


def test_the_cache_stays_within_its_bound(rng):
    X = rng.normal(size=(200, 6))
    entry_bytes = 200 * 25 * 8
    set_projection_cache(MAX_ENTRY_FRACTION * entry_bytes)  # room for 8 subspaces of 40 kB
    with cached_projections():
        for start in range(0, 150, 5):  # 30 different anchor sets
            RelativeProjection("l1").fit(X[start:start + 25]).transform(X)
            info = projection_cache_info()
            assert info.current_bytes <= info.max_bytes
    info = projection_cache_info()
    assert info.entries == MAX_ENTRY_FRACTION
    assert info.current_bytes == MAX_ENTRY_FRACTION * entry_bytes
    assert info.misses == 30 and info.hits == 0


def test_the_least_recently_used_subspace_goes_first(rng, kernel_rows):
    X = rng.normal(size=(100, 4))
    set_projection_cache(MAX_ENTRY_FRACTION * 100 * 10 * 8)  # eight subspaces of 100 x 10
    projections = [RelativeProjection("l1").fit(X[i:i + 10]) for i in range(0, 90, 10)]
    with cached_projections():
        for projection in projections[:8]:
            projection.transform(X)
        projections[0].transform(X)        # used again: now the most recent
        projections[8].transform(X)        # a ninth: the least recent (the second) goes
        assert kernel_rows["l1"] == 900
        projections[0].transform(X)
        assert kernel_rows["l1"] == 900
        projections[1].transform(X)
        assert kernel_rows["l1"] == 1000


def test_a_subspace_above_an_eighth_of_the_bound_is_not_stored(rng):
    X = rng.normal(size=(100, 4))
    set_projection_cache(MAX_ENTRY_FRACTION * 100 * 10 * 8 - 1)
    with cached_projections():
        RelativeProjection("l1").fit(X[:10]).transform(X)
    assert projection_cache_info().entries == 0


def test_a_zero_bound_disables_and_frees_the_cache(rng, kernel_rows):
    X = rng.normal(size=(60, 4))
    projection = RelativeProjection("l1").fit(X[:10])
    with cached_projections():
        projection.transform(X)
    assert projection_cache_info().entries == 1
    assert set_projection_cache(0) == DEFAULT_MAX_BYTES
    assert projection_cache_info()[2:] == (0, 0, 0)
    with cached_projections():
        projection.transform(X)
        projection.transform(X)
    assert kernel_rows["l1"] == 180
    assert projection_cache_info().entries == 0


@pytest.mark.parametrize("bad", [-1, 1.5, True, "1GB", None])
def test_a_bad_bound_is_refused(bad):
    with pytest.raises(ValueError, match="The 'max_bytes' parameter of set_projection_cache "
                                         "must be an int in the range"):
        set_projection_cache(bad)


def _run(code, **environment):
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
        env={**os.environ, **environment}, cwd=os.getcwd(), check=False,
    )


def test_the_environment_sets_the_bound_of_every_new_process():
    code = "from skinvariance.projection import projection_cache_info as i; " \
           "print(i().max_bytes)"
    assert _run(code, SKINVARIANCE_PROJECTION_CACHE_MB="64").stdout.strip() == str(64 * 2**20)
    assert _run(code, SKINVARIANCE_PROJECTION_CACHE_MB="0").stdout.strip() == "0"
    failed = _run(code, SKINVARIANCE_PROJECTION_CACHE_MB="lots")
    assert failed.returncode != 0
    assert "SKINVARIANCE_PROJECTION_CACHE_MB must be a number of MiB" in failed.stderr


def test_threads_share_the_cache_safely(rng):
    X = rng.normal(size=(400, 10))
    projections = [ProductProjection(["cosine", "l1", "linf"]).fit(X[i:i + 20])
                   for i in range(0, 120, 20)]
    expected = [projection.transform(X) for projection in projections]
    set_projection_cache(MAX_ENTRY_FRACTION * 400 * 20 * 8 * 4)  # fewer than all: evictions
    results, errors = {}, []

    def work(thread):
        try:
            with cached_projections():
                for repeat in range(3):
                    for i, projection in enumerate(projections):
                        results[thread, repeat, i] = projection.transform(X)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    for (_, _, i), got in results.items():
        np.testing.assert_array_equal(got, expected[i])
    info = projection_cache_info()
    assert info.current_bytes <= info.max_bytes and info.hits > 0


def test_the_scope_is_per_thread(rng, kernel_rows):
    X = rng.normal(size=(80, 4))
    projection = RelativeProjection("l1").fit(X[:10])
    with cached_projections():
        thread = threading.Thread(target=lambda: [projection.transform(X) for _ in range(2)])
        thread.start()
        thread.join()
    assert kernel_rows["l1"] == 160  # the other thread did not enter the scope
