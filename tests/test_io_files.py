"""Reading spaces and labels from files: every layout read back as written, every error a
DataError that names the file."""

import re

import numpy as np
import pandas as pd
import pytest

from skinvariance import stack_spaces
from skinvariance._validation import DataError
from skinvariance.io import read_labels, read_matrix, read_spaces


@pytest.fixture
def spaces(rng):
    """Three row-aligned spaces of different widths, in order."""
    return {"first": rng.normal(size=(12, 3)), "second": rng.normal(size=(12, 5)),
            "third": rng.normal(size=(12, 2))}


def _assert_same_spaces(got, expected):
    """The same arrays, float32 kept and everything else float64."""
    assert list(got) == list(expected)
    for name, X in expected.items():
        assert got[name].dtype == (np.float32 if X.dtype == np.float32 else np.float64)
        np.testing.assert_array_equal(got[name], X)


# -- read_spaces -------------------------------------------------------------------------------


def test_one_npy_per_space_named_by_its_stem(tmp_path, spaces):
    paths = []
    for name, X in spaces.items():
        np.save(tmp_path / f"{name}.npy", X.astype(np.float32) if name == "second" else X)
        paths.append(tmp_path / f"{name}.npy")
    got = read_spaces([str(path) for path in paths])
    _assert_same_spaces(got, {**spaces, "second": spaces["second"].astype(np.float32)})


def test_parquet_layout(tmp_path, spaces):
    pytest.importorskip("pyarrow")  # the test extra
    stack_spaces(spaces).to_parquet(tmp_path / "spaces.parquet")
    _assert_same_spaces(read_spaces([tmp_path / "spaces.parquet"]), spaces)


def test_npz_and_csv_layouts(tmp_path, spaces):
    np.savez(tmp_path / "spaces.npz", **spaces)
    _assert_same_spaces(read_spaces([tmp_path / "spaces.npz"]), spaces)
    n_samples = next(iter(spaces.values())).shape[0]
    named = pd.Index([f"sample {i}" for i in range(n_samples)], name="id")  # was "NaN"
    for index, labels in ((True, None), (False, None), (True, named),
                          (True, pd.RangeIndex(n_samples, name="row"))):
        stack_spaces(spaces, index=labels).to_csv(tmp_path / "spaces.csv", index=index)
        got = read_spaces([tmp_path / "spaces.csv"])
        assert list(got) == list(spaces)
        for name, X in spaces.items():
            np.testing.assert_allclose(got[name], X, rtol=1e-15)  # text round trip


def test_integers_are_read_as_float64_and_files_mix(tmp_path, spaces):
    np.save(tmp_path / "counts.npy", np.arange(24, dtype=np.int16).reshape(12, 2))
    np.savez(tmp_path / "more.npz", first=spaces["first"], second=spaces["second"])
    got = read_spaces([tmp_path / "counts.npy", tmp_path / "more.npz"])
    assert list(got) == ["counts", "first", "second"]
    assert got["counts"].dtype == np.float64
    np.testing.assert_array_equal(got["counts"], np.arange(24).reshape(12, 2))


def _write_bad_spaces(tmp_path, spaces, case):
    """The paths of one bad case, and the file its error must name first."""
    a, b = tmp_path / "a.npy", tmp_path / "b.npy"
    np.save(a, spaces["first"])
    np.save(b, spaces["second"])
    if case == "suffix":
        (tmp_path / "b.txt").write_text("1 2\n")
        return [a, tmp_path / "b.txt"], tmp_path / "b.txt", "unsupported file type '.txt'"
    if case == "missing":
        return [a, tmp_path / "nope.npy"], tmp_path / "nope.npy", "no such file"
    if case == "unreadable":
        b.write_bytes(b"not an array")
        return [a, b], b, "cannot read the file"
    if case == "not numeric":
        np.save(b, np.array([["x", "y"]] * 12))
        return [a, b], b, r"the array is not numeric \(dtype <U1\)"
    if case == "not 2-D":
        np.save(b, np.ones(12))
        return [a, b], b, r"must be a 2-D array \(samples x features\), got shape \(12,\)"
    if case == "rows":
        np.save(b, spaces["second"][:-2])
        return [a, b], b, r"space 'b' has 10 rows but space 'a' \(.*a.npy\) has 12"
    if case == "nan":
        bad = spaces["second"].copy()
        bad[4, 1] = np.nan
        np.save(b, bad)
        return [a, b], b, "space 'b' contains NaN or infinity"
    if case == "inf":
        bad = spaces["second"].copy()
        bad[0, 0] = -np.inf
        np.save(b, bad)
        return [a, b], b, "space 'b' contains NaN or infinity"
    if case == "repeated name":
        np.savez(tmp_path / "more.npz", a=spaces["third"])
        return [a, tmp_path / "more.npz"], tmp_path / "more.npz", "space 'a' was already read"
    if case == "one space":
        return [a], a, "1 space found"
    if case == "npz with one key":
        np.savez(tmp_path / "one.npz", only=spaces["first"])
        return [tmp_path / "one.npz"], tmp_path / "one.npz", r"holds 1 array\(s\)"
    if case == "flat csv":
        pd.DataFrame(spaces["first"]).to_csv(tmp_path / "flat.csv", index=False)
        return [tmp_path / "flat.csv"], tmp_path / "flat.csv", "expected two column levels"
    if case == "flat parquet":
        pytest.importorskip("pyarrow")  # the test extra
        pd.DataFrame(spaces["first"]).to_parquet(tmp_path / "flat.parquet")
        return [tmp_path / "flat.parquet"], tmp_path / "flat.parquet", "expected two column"
    if case == "text column":
        frame = stack_spaces(spaces)
        frame[("first", "0")] = "x"
        frame.to_csv(tmp_path / "s.csv")
        return [tmp_path / "s.csv"], tmp_path / "s.csv", r"column \('first', '0'\) is not numeric"
    raise AssertionError(case)


@pytest.mark.parametrize(
    "case",
    ["suffix", "missing", "unreadable", "not numeric", "not 2-D", "rows", "nan", "inf",
     "repeated name", "one space", "npz with one key", "flat csv", "flat parquet",
     "text column"],
)
def test_read_spaces_errors_name_the_file(tmp_path, spaces, case):
    paths, culprit, reason = _write_bad_spaces(tmp_path, spaces, case)
    with pytest.raises(DataError, match="^" + re.escape(str(culprit)) + ": .*" + reason):
        read_spaces(paths)


# -- read_labels -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("suffix", "write"),
    [
        (".npy", lambda path, y: np.save(path, y)),
        (".csv", lambda path, y: pd.Series(y).to_csv(path, index=False, header=False)),
        (".txt", lambda path, y: path.write_text("\n".join(map(str, y)) + "\n")),
    ],
)
@pytest.mark.parametrize("labels", [np.array([0, 2, 1, 2, 0, 1]), np.array(list("abcabb"))])
def test_labels_read_back_as_written(tmp_path, suffix, write, labels):
    path = tmp_path / f"y{suffix}"
    write(path, labels)
    np.testing.assert_array_equal(read_labels(path, 6), labels)


def test_several_targets_in_a_2d_npy_not_a_csv(tmp_path):
    targets = np.array([[0.5, 1.0], [1.5, -2.0], [2.5, 0.0]])
    np.save(tmp_path / "t.npy", targets)
    np.testing.assert_array_equal(read_labels(tmp_path / "t.npy", 3), targets)
    pd.DataFrame(targets).to_csv(tmp_path / "t.csv", index=False, header=False)
    with pytest.raises(DataError, match=r"t.csv: line 1 holds 2 values \(separated by ','\); "
                       r"a labels file holds one value per line \(several target columns go in "
                       r"a 2-D .npy\)"):
        read_labels(tmp_path / "t.csv", 3)


LABELS = {
    "classes": np.array(["cat", "dog", "cat", "bird", "dog", "cat"], dtype=object),
    "integers": np.array([3, 1, 3, 2, 1, 3]),
    "values": np.array([0.25, -1.5, 3.0, 2.75, 10.0, -0.125]),
}


@pytest.mark.parametrize("kind", list(LABELS))
@pytest.mark.parametrize("separator", [",", ";", "\t"])
def test_pandas_default_csv_header_and_index_are_read_and_said(tmp_path, kind, separator):
    """``Series.to_csv(path)`` writes a header line and an index column 0 .. n - 1 (a
    continuous target was read as a 2-D target of the row number and the value)."""
    labels = LABELS[kind]
    path = tmp_path / "y.csv"
    pd.Series(labels).to_csv(path, sep=separator)
    with pytest.warns(UserWarning) as notes:
        y = read_labels(path, 6)
    np.testing.assert_array_equal(y, labels)
    assert y.ndim == 1
    said = [str(note.message) for note in notes]
    assert said == [f"{path}: line 1 ({separator.join(['', '0'])!r}) read as a header",
                    f"{path}: the first column is the row number 0 .. 5: the labels are read "
                    "from the second"]


def test_an_index_column_without_header_and_a_header_without_index(tmp_path):
    labels = LABELS["values"]
    pd.Series(labels).to_csv(tmp_path / "indexed.csv", header=False)
    with pytest.warns(UserWarning, match="the first column is the row number 0 .. 5"):
        np.testing.assert_array_equal(read_labels(tmp_path / "indexed.csv", 6), labels)
    pd.Series(labels, name="label").to_csv(tmp_path / "named.csv", index=False)
    with pytest.warns(UserWarning, match=r"line 1 \('label'\) read as a header"):
        np.testing.assert_array_equal(read_labels(tmp_path / "named.csv", 6), labels)
    # A header line beside class names cannot be told from a label: refused, with a hint.
    pd.Series(["a", "b", "a", "b", "a", "b"], name="label").to_csv(tmp_path / "classes.csv",
                                                                  index=False)
    with pytest.raises(DataError, match=r"classes.csv: 7 labels for 6 rows in the spaces \(if "
                       r"line 1, 'label', is a header, remove it\)"):
        read_labels(tmp_path / "classes.csv", 6)
    # A first column that is not exactly 0 .. n - 1 is data: refused, not dropped.
    pd.Series(labels, index=range(1, 7)).to_csv(tmp_path / "shifted.csv", header=False)
    with pytest.raises(DataError, match="shifted.csv: line 1 holds 2 values"):
        read_labels(tmp_path / "shifted.csv", 6)


@pytest.mark.parametrize("separator", [";", "\t", "|"])
def test_other_separators_are_refused_not_read_as_one_class_per_row(tmp_path, separator):
    path = tmp_path / "y.csv"
    path.write_text("".join(f"{a}{separator}{b}\n" for a, b in zip("aabbab", "xyxyxy")))
    with pytest.raises(DataError, match=f"y.csv: line 1 holds 2 values \\(separated by "
                       f"{re.escape(repr(separator))}\\)"):
        read_labels(path, 6)


@pytest.mark.parametrize("suffix", [".csv", ".txt"])
def test_labels_are_strings_unless_every_value_is_a_number_written_one_way(tmp_path, suffix):
    cases = [
        # pandas' missing-value names are class names here
        (["NA", "None", "null", "N/A", "NA", "None"], ["NA", "None", "null", "N/A", "NA", "None"]),
        # "01" and "1" are two classes: both stay strings
        (["01", "1", "01", "2", "1", "2"], ["01", "1", "01", "2", "1", "2"]),
        (["1", "1.0", "2", "2", "1", "1.0"], ["1", "1.0", "2", "2", "1", "1.0"]),
        # numbers written one way are numbers
        (["01", "02", "01", "03", "02", "03"], [1, 2, 1, 3, 2, 3]),
        (["1.5", "2", "-3e2", "0.25", "2", "1.5"], [1.5, 2.0, -300.0, 0.25, 2.0, 1.5]),
    ]
    for written, expected in cases:
        path = tmp_path / f"y{suffix}"
        path.write_text("\n".join(written) + "\n")
        y = read_labels(path, 6)
        np.testing.assert_array_equal(y, np.array(expected, dtype=object))
        assert len(np.unique(y.astype(str))) == len(set(written))  # no two classes merged
        assert (y.dtype == object) == isinstance(expected[0], str)


def test_txt_class_names_keep_their_spaces(tmp_path):
    names = ["new york", "los angeles", "new york", "san  francisco", "paris", "paris"]
    (tmp_path / "y.txt").write_text("\n".join(names) + "\n\n")
    np.testing.assert_array_equal(read_labels(tmp_path / "y.txt", 6), np.array(names))
    # a .txt of several numbers per line is a table: refused
    np.savetxt(tmp_path / "table.txt", np.arange(12.0).reshape(6, 2) + 0.5)
    with pytest.raises(DataError, match=r"table.txt: line 1 holds 2 values \(separated by "
                       r"whitespace\)"):
        read_labels(tmp_path / "table.txt", 6)


def test_npy_columns(tmp_path):
    y = np.array([0, 2, 1, 2, 0, 1])
    np.save(tmp_path / "column.npy", y[:, None])
    got = read_labels(tmp_path / "column.npy", 6)
    assert got.shape == (6,)
    np.testing.assert_array_equal(got, y)
    np.save(tmp_path / "indexed.npy", np.column_stack([np.arange(6), y]))
    with pytest.warns(UserWarning, match="indexed.npy: the first column is the row number"):
        np.testing.assert_array_equal(read_labels(tmp_path / "indexed.npy", 6), y)
    for name, table in (("pairs.npy", np.column_stack([y, y[::-1]])),
                        ("strings.npy", np.array([["a", "b"]] * 6)),
                        ("whole.npy", np.column_stack([y, y]).astype(float))):
        np.save(tmp_path / name, table)
        with pytest.raises(DataError, match=rf"{name}: holds 2 columns of class labels .*"
                           r"class labels are one per sample"):
            read_labels(tmp_path / name, 6)


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("y.npy", np.array([0, 1, 0]), "3 labels for 4 rows in the spaces"),
        ("y.npy", np.array([0.0, 1.0, np.nan, 1.0]), "contains NaN"),
        ("y.npy", np.array([0.0, 1.0, np.inf, 1.0]), "contains infinity"),
        ("y.npy", np.array([2, 2, 2, 2]), "holds only one class"),
        ("y.npy", np.zeros((4, 2, 2)), r"expected one label per row, got shape \(4, 2, 2\)"),
        ("y.txt", "1\n2\n", "2 labels for 4 rows in the spaces"),
        ("y.txt", "a\n\nb\na\n", "line 2 is empty; every sample needs a label"),
        ("y.csv", "a,\nb,\na,\nb,\n", "line 1 holds 2 values"),
        ("y.csv", "", "0 labels for 4 rows in the spaces"),
        ("y.npy", b"not an array", "cannot read the file"),
        ("y.json", "[0, 1, 0, 1]", "unsupported file type '.json'"),
        ("missing.npy", None, "no such file"),
    ],
)
def test_read_labels_errors_name_the_file(tmp_path, name, content, reason):
    path = tmp_path / name
    if isinstance(content, np.ndarray):
        np.save(path, content)
    elif isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    with pytest.raises(DataError, match="^" + re.escape(str(path)) + ": .*" + reason):
        read_labels(path, 4)
    with pytest.raises(DataError, match="^--labels y: .*" + reason):
        read_labels(path, 4, where="--labels y")


# -- read_matrix -------------------------------------------------------------------------------


def test_read_matrix(tmp_path):
    for dtype, read_as in ((np.float32, np.float32), (np.float64, np.float64),
                           (np.float16, np.float64), (np.int32, np.float64)):
        np.save(tmp_path / "A.npy", np.arange(6, dtype=dtype).reshape(3, 2))
        A = read_matrix(tmp_path / "A.npy")
        assert A.dtype == read_as
        np.testing.assert_array_equal(A, np.arange(6).reshape(3, 2))
    np.save(tmp_path / "v.npy", np.ones(3))
    with pytest.raises(DataError, match=r"v.npy: the anchors must be a 2-D array"):
        read_matrix(tmp_path / "v.npy", "the anchors")
    with pytest.raises(DataError, match=r"A.csv: unsupported file type '.csv'; expected one"):
        read_matrix(tmp_path / "A.csv")
    with pytest.raises(DataError, match=r"B.npy: no such file"):
        read_matrix(tmp_path / "B.npy")
