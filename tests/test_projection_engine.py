"""The projection engine's row blocks: memory beyond the output stays bounded."""

import pytest
from sklearn import config_context

from skinvariance import ProductProjection, RelativeProjection

FOUR = ["cosine", "euclidean", "l1", "linf"]


@pytest.mark.parametrize(
    "estimator",
    [ProductProjection(FOUR), RelativeProjection("l1", center=True, normalize="layer")],
    ids=["product", "relative"],
)
def test_transform_memory_is_the_output_plus_a_bounded_working_set(estimator, rng):
    import tracemalloc

    X, A = rng.normal(size=(10_000, 32)), rng.normal(size=(64, 32))
    estimator.fit(A).transform(X[:10])  # compile outside the measurement
    with config_context(working_memory=1):  # the output is 5 to 20 MiB
        tracemalloc.start()
        try:
            Z = estimator.transform(X)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert peak - Z.nbytes < 3 * 2**20, f"{(peak - Z.nbytes) / 2**20:.1f} MiB"
