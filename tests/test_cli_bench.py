"""``skinvariance bench``: the kernels' speed table, as ratios measured in one run.

Nothing here times anything: the engine's clock is replaced by a fake one that each timed
call moves on by a known cost (the projections, scipy, scikit-learn and the matrix product
still run, on small arrays), so every column of the table has an expected value that does
not come from the table itself: a swapped reference, an inverted ratio or a timing that
includes the compiling first call is caught.
"""

import io

import numpy as np
import pandas as pd
import pytest
from _helpers import run_cli

from skinvariance.cli import _kernel_speed as engine

#: What one call costs on the fake clock, in seconds.
MATMUL = 0.5
KERNEL_COST = {"cosine": 2.0, "euclidean": 3.0, "l1": 5.0, "linf": 8.0}
PRODUCT = 10.0
#: Added to the first call of each fitted projection (its compilation).
FIRST_CALL = 100.0
#: Every second call of a projection or of the matrix product is this much slower: the
#: table must report the best of the ``--repeat`` timings.
SLOWER = 1.5
SCIPY = 40.0
SKLEARN = 80.0


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def costing(self, seconds, function, *, alternate=1.0):
        """``function`` that moves the clock on by ``seconds`` at each call (by ``alternate``
        times as much at every second call)."""
        calls = []

        def timed(*args, **kwargs):
            calls.append(None)
            self.now += seconds * (alternate if len(calls) % 2 == 0 else 1.0)
            return function(*args, **kwargs)

        return timed


@pytest.fixture
def clock(monkeypatch):
    clock = FakeClock()

    def first_call_costs_more(cls, cost):
        class Timed(cls):
            def transform(self, X):
                self.calls_ = number = getattr(self, "calls_", 0) + 1
                if number == 1:
                    clock.now += cost(self) + FIRST_CALL
                else:  # the timed calls 2, 3, ...: one in two slower
                    clock.now += cost(self) * (SLOWER if number % 2 else 1.0)
                return super().transform(X)

        return Timed

    monkeypatch.setattr(engine, "perf_counter", clock)
    monkeypatch.setattr(engine, "_matrix_product",
                        clock.costing(MATMUL, engine._matrix_product, alternate=SLOWER))
    monkeypatch.setattr(engine, "cdist", clock.costing(SCIPY, engine.cdist))
    for name in ("cosine_similarity", "pairwise_distances"):
        monkeypatch.setattr(engine, name, clock.costing(SKLEARN, getattr(engine, name)))
    monkeypatch.setattr(engine, "RelativeProjection", first_call_costs_more(
        engine.RelativeProjection, lambda projection: KERNEL_COST[projection.kernel]))
    monkeypatch.setattr(engine, "ProductProjection", first_call_costs_more(
        engine.ProductProjection, lambda product: PRODUCT))
    return clock


def _bench_table(capsys, kernels, dtypes):
    status, out, err = run_cli(
        [
            "bench", "--n-samples", "80", "--n-anchors", "7", "--n-features", "5",
            "--kernels", ",".join(kernels), "--dtype", ",".join(dtypes), "--repeat", "2",
            "--format", "csv",
        ],
        capsys,
    )  # fmt: skip
    assert status == 0, err
    assert "80 samples x 7 anchors x 5 features" in err
    return pd.read_csv(io.StringIO(out))


def test_each_column_times_what_it_names(clock, capsys):
    kernels = ["l1", "cosine"]
    table = _bench_table(capsys, kernels, ["float64"])
    assert list(table["kernel"]) == kernels and set(table["dtype"]) == {"float64"}
    cost = np.array([KERNEL_COST[kernel] for kernel in kernels])
    expected = {
        "skinvariance s": cost,
        "first call s": cost + FIRST_CALL,
        "matmul s": MATMUL,
        "scipy s": SCIPY,
        "sklearn s": SKLEARN,
        "vs matmul": cost / MATMUL,
        "scipy x": SCIPY / cost,
        "sklearn x": SKLEARN / cost,
    }
    for column, values in expected.items():
        np.testing.assert_allclose(table[column], values, rtol=1e-12, err_msg=column)
    assert "vs sum of singles" not in table  # the product needs the four kernels


def test_the_product_row_compares_with_the_sum_of_the_single_kernels(clock, capsys):
    table = _bench_table(capsys, list(KERNEL_COST), ["float32", "float64"])
    expected_kernels = [*KERNEL_COST, "product (concat)"]
    assert list(table["kernel"]) == 2 * expected_kernels
    assert list(table["dtype"]) == ["float32"] * 5 + ["float64"] * 5
    product = table[table["kernel"] == "product (concat)"]
    singles = sum(KERNEL_COST.values())
    np.testing.assert_allclose(product["skinvariance s"], PRODUCT, rtol=1e-12)
    np.testing.assert_allclose(product["vs matmul"], PRODUCT / MATMUL, rtol=1e-12)
    np.testing.assert_allclose(product["sum of singles s"], singles, rtol=1e-12)
    np.testing.assert_allclose(product["vs sum of singles"], PRODUCT / singles, rtol=1e-12)
    assert (table["extra MiB"] >= 0).all()


def test_bench_unknown_kernel(capsys):
    status, _, err = run_cli(["bench", "--kernels", "cosinus"], capsys)
    assert status == 2 and "--kernels: unknown kernel 'cosinus'" in err
