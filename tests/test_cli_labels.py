"""Labels and tables read as the user wrote them, from the command line (issue 18, part 6).

The oracle of each accepted layout is the table of the same comparison with the labels saved
as a 1-D ``.npy`` (the spaces as one ``.npy`` each); each refused one is a single line on
standard error and exit status 2.
"""

import json

import numpy as np
import pandas as pd
import pytest
from _helpers import run_cli

from skinvariance import RelativeProjection, compare_invariances

N_SAMPLES = 60
FAST = ["--invariances", "absolute,relative_cosine", "--metrics", "cka", "--anchors", "10",
        "--format", "json"]


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(N_SAMPLES, 4))
    np.save(tmp_path / "a.npy", X)
    np.save(tmp_path / "b.npy", X @ np.linalg.qr(rng.normal(size=(4, 4)))[0])
    monkeypatch.chdir(tmp_path)
    return tmp_path, X


def _table(labels, capsys, *options):
    status, out, err = run_cli(["compare", "a.npy", "b.npy", "--labels", labels, *FAST,
                                *options], capsys)
    assert status == 0, err
    return pd.DataFrame(json.loads(out)), err


def _assert_refused(argv, capsys, *expected):
    status, out, err = run_cli(argv, capsys)
    assert status == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("skinvariance compare: error: ")
    assert "Traceback" not in err
    for text in expected:
        assert text in err


@pytest.mark.parametrize("kind", ["classes", "values"])
@pytest.mark.parametrize("separator", [",", ";"])
def test_pandas_csv_with_index_gives_the_table_of_the_npy(workdir, capsys, kind, separator):
    """A continuous target with an index column was regressed as (row number, value)."""
    folder, X = workdir
    y = np.where(X[:, 0] > 0, "up", "down") if kind == "classes" else X[:, 1] + X[:, 2]
    np.save(folder / "y.npy", y)
    pd.Series(y).to_csv(folder / "y.csv", sep=separator)
    expected, _ = _table("y.npy", capsys, "--quiet")
    got, err = _table("y.csv", capsys)
    pd.testing.assert_frame_equal(got, expected)
    assert "--labels y.csv: line 1" in err and "read as a header" in err
    assert "the first column is the row number 0 .. 59" in err


@pytest.mark.parametrize("decoder", [[], ["--decoder", "knn"]])
def test_two_columns_of_class_labels_are_one_line(workdir, capsys, decoder):
    folder, X = workdir
    classes = (X[:, :2] > 0).astype(int)
    np.save(folder / "y2.npy", classes)
    _assert_refused(["compare", "a.npy", "b.npy", "--labels", "y2.npy", *FAST, *decoder],
                    capsys, "--labels y2.npy: holds 2 columns of class labels")
    pd.DataFrame(classes).to_csv(folder / "y2.csv", index=False, header=False)
    _assert_refused(["compare", "a.npy", "b.npy", "--labels", "y2.csv", *FAST, *decoder],
                    capsys, "--labels y2.csv: line 1 holds 2 values (separated by ',')")


def test_txt_class_names_with_spaces(workdir, capsys):
    folder, X = workdir
    names = np.where(X[:, 0] > 0, "new york", "los angeles")
    (folder / "y.txt").write_text("\n".join(names) + "\n")
    np.save(folder / "y.npy", names)
    expected, _ = _table("y.npy", capsys, "--quiet")
    got, _ = _table("y.txt", capsys, "--quiet")
    pd.testing.assert_frame_equal(got, expected)


def test_missing_value_names_and_spellings_are_classes(workdir, capsys):
    folder, X = workdir
    names = np.array(["NA", "None", "null", "N/A", "01", "1"], dtype=object)
    y = names[np.arange(N_SAMPLES) % 6]
    (folder / "y.csv").write_text("\n".join(y) + "\n")
    np.save(folder / "y.npy", y.astype(str))
    expected, _ = _table("y.npy", capsys, "--quiet")
    got, _ = _table("y.csv", capsys, "--quiet")
    pd.testing.assert_frame_equal(got, expected)


def test_a_column_target_is_the_vector_target(workdir):
    """y of shape (n, 1) was decoded as classes but split without stratification."""
    folder, X = workdir
    spaces = {"a": np.load(folder / "a.npy"), "b": np.load(folder / "b.npy")}
    y = np.digitize(X[:, 0], [-0.5, 0.5])  # three classes of unequal sizes
    options = dict(metrics=["cka"], anchors=10, random_state=0)
    invariances = {"absolute": None, "relative_cosine": RelativeProjection()}
    vector = compare_invariances(spaces, y, invariances, **options)
    column = compare_invariances(spaces, y[:, None], invariances, **options)
    pd.testing.assert_frame_equal(column, vector)


def test_a_column_npy_gives_the_table_of_the_vector(workdir, capsys):
    folder, X = workdir
    y = np.digitize(X[:, 0], [-0.5, 0.5])
    np.save(folder / "y.npy", y)
    np.save(folder / "column.npy", y[:, None])
    expected, _ = _table("y.npy", capsys, "--quiet")
    got, _ = _table("column.npy", capsys, "--quiet")
    pd.testing.assert_frame_equal(got, expected)


def test_two_label_columns_separated_by_semicolons_are_one_line(workdir, capsys):
    folder, X = workdir
    rows = [f"{'up' if v > 0 else 'down'};{'left' if w > 0 else 'right'}" for v, w in X[:, :2]]
    (folder / "y.csv").write_text("\n".join(rows) + "\n")
    _assert_refused(["compare", "a.npy", "b.npy", "--labels", "y.csv", *FAST], capsys,
                    "--labels y.csv: line 1 holds 2 values (separated by ';'); a labels file "
                    "holds one value per line")


def test_stacked_csv_whose_index_has_a_name(workdir, capsys):
    """Was refused as "contains NaN or infinity" (the index's name line read as data)."""
    from skinvariance import stack_spaces

    folder, X = workdir
    np.save(folder / "y.npy", (X[:, 0] > 0).astype(int))
    spaces = {"a": np.load(folder / "a.npy"), "b": np.load(folder / "b.npy")}
    index = pd.Index([f"doc{i}" for i in range(N_SAMPLES)], name="document")
    stack_spaces(spaces, index=index).to_csv(folder / "spaces.csv")
    expected, _ = _table("y.npy", capsys, "--quiet")
    status, out, err = run_cli(["compare", "spaces.csv", "--labels", "y.npy", *FAST,
                                "--quiet"], capsys)
    assert status == 0, err
    got = pd.DataFrame(json.loads(out))
    numbers = [c for c in got.columns if c.endswith(("_mean", "_std"))]
    np.testing.assert_allclose(got[numbers], expected[numbers], rtol=1e-9, atol=1e-10)
