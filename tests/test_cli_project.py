"""``skinvariance project ANCHORS IN OUT``: the out-of-core projection from the command line."""

import re

import numpy as np
import pytest
from _helpers import save_npy
from numpy.testing import assert_allclose
from scipy.spatial.distance import cdist

from skinvariance.cli import main


def test_cli_project_writes_the_projection(tmp_path, out_of_core_data, capsys):
    X, anchors = out_of_core_data
    save_npy(tmp_path, "A.npy", anchors)
    save_npy(tmp_path, "X.npy", X.astype(np.float32))
    files = [str(tmp_path / name) for name in ("A.npy", "X.npy", "R.npy")]
    assert main(["project", *files, "--kernel", "manhattan", "--working-memory", "1"]) == 0
    R = np.load(tmp_path / "R.npy")
    assert R.dtype == np.float32
    assert_allclose(
        R,
        cdist(X.astype(np.float32).astype(np.float64), anchors, "cityblock"),
        rtol=1e-5,
        atol=1e-4,
    )
    captured = capsys.readouterr()
    assert captured.out == "" and "R.npy: 700 rows x 15 manhattan anchor values" in captured.err
    assert main(["project", *files, "--quiet", "--overwrite"]) == 0
    assert capsys.readouterr() == ("", "")
    assert_allclose(
        np.load(tmp_path / "R.npy"), 1 - cdist(X, anchors, "cosine"), rtol=1e-5, atol=1e-5
    )


@pytest.mark.parametrize(
    "change,message",
    [
        ({"kernel": "cosinus"}, r"--kernel: unknown kernel 'cosinus'; choose among angular"),
        ({"out_exists": True}, r"R.npy: the file exists; pass --overwrite to replace it"),
        ({"anchors": "missing.npy"}, r"missing.npy: no such file"),
        ({"input": "X.txt"}, r"X.txt: unsupported file type '.txt'; expected one of .npy"),
        ({"width": 5}, r"X.npy' has 5 features .* expecting 6 features"),
        ({"nan_row": 321}, r"X.npy: Input X contains NaN in the block of rows .* row 321"),
        ({"int_input": True}, r"X.npy' holds int64 values"),
        ({"output": "no/R.npy"}, r"R.npy: no such directory"),
        ({"output": "R.csv"}, r"R.csv: unsupported file type '.csv' for the output"),
    ],
)
def test_cli_project_errors_are_one_line_status_2(tmp_path, out_of_core_data, capsys, change,
                                                  message):
    X, anchors = out_of_core_data
    X = X[:, : change.get("width", X.shape[1])].copy()
    if "nan_row" in change:
        X[change["nan_row"], 0] = np.nan
    if change.get("int_input"):
        X = np.arange(X.size).reshape(X.shape)
    save_npy(tmp_path, "A.npy", anchors)
    save_npy(tmp_path, "X.npy", X)
    (tmp_path / "X.txt").write_text("1 2 3\n")
    if change.get("out_exists"):
        save_npy(tmp_path, "R.npy", np.zeros(2))
    before = sorted(p.name for p in tmp_path.iterdir())
    argv = [
        "project",
        str(tmp_path / change.get("anchors", "A.npy")),
        str(tmp_path / change.get("input", "X.npy")),
        str(tmp_path / change.get("output", "R.npy")),
        "--kernel",
        change.get("kernel", "cosine"),
        "--working-memory",
        "1",
    ]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("skinvariance project: error: ")
    assert re.search(message, err)
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing written
