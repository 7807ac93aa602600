"""``skinvariance bench``: the kernels' speed table, as ratios measured in one run."""

import io

import numpy as np
import pandas as pd
from _helpers import run_cli


def test_bench_prints_ratios(capsys):
    status, out, err = run_cli(
        [
            "bench", "--n-samples", "60", "--n-anchors", "7", "--n-features", "5",
            "--kernels", "l1,cosine", "--dtype", "float64", "--repeat", "1", "--format", "csv",
        ],
        capsys,
    )  # fmt: skip
    assert status == 0
    table = pd.read_csv(io.StringIO(out))
    assert list(table["kernel"]) == ["l1", "cosine"]
    ratio = table["scipy s"] / table["skinvariance s"]
    np.testing.assert_allclose(table["scipy x"], ratio, rtol=1e-9)
    assert "60 samples x 7 anchors x 5 features" in err


def test_bench_unknown_kernel(capsys):
    status, _, err = run_cli(["bench", "--kernels", "cosinus"], capsys)
    assert status == 2 and "--kernels: unknown kernel 'cosinus'" in err
