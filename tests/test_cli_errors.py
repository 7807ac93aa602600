"""Every user mistake on the command line: one line on standard error, exit status 2.

Every option of every subcommand (discovered from the parser, so a new option without a bad
value here fails) gets bad values; the message must name the option as typed and nothing may
be printed on standard output. Then the mistakes of issue 12: damaged files, labels with NaN,
a ``--plot`` type matplotlib cannot write (reported before the table is printed), failed
writes (the message says *write*), a ``.parquet`` file without pyarrow (the message names the
extra), and finite spaces of extreme magnitudes, which are compared, not refused.
"""

import argparse
import errno
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from skinvariance import stack_spaces
from skinvariance.cli import build_parser, main
from skinvariance.io import read_spaces

N_SAMPLES = 40
#: Cheap comparisons: two rows, one measure.
FAST = ["--invariances", "absolute,relative_cosine", "--metrics", "cka", "--anchors", "10",
        "--quiet"]


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """Two row-aligned spaces, their labels and anchors, in the current directory."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(N_SAMPLES, 4))
    np.save(tmp_path / "a.npy", X)
    np.save(tmp_path / "b.npy", X @ np.linalg.qr(rng.normal(size=(4, 4)))[0])
    np.save(tmp_path / "y.npy", (X[:, 0] > 0).astype(int))
    np.save(tmp_path / "anchors.npy", X[:6])
    (tmp_path / "taken.md").write_text("already here\n")
    (tmp_path / "folder").mkdir()
    monkeypatch.chdir(tmp_path)
    return tmp_path


COMPARE = ["compare", "a.npy", "b.npy", "--labels", "y.npy", *FAST]
ZOO = ["compare", "--quiet"]
PROJECT = ["project", "anchors.npy", "a.npy", "out.npy"]
BENCH = ["bench", "--n-samples", "50", "--n-anchors", "5", "--n-features", "4", "--repeat",
         "1", "--kernels", "cosine", "--dtype", "float64", "--quiet"]

#: (base command, option, bad value, what the message says besides the option).
BAD_OPTIONS = [
    (COMPARE, "--labels", "missing.npy", "missing.npy: no such file"),
    (COMPARE, "--labels", "y.json", "unsupported file type '.json'"),
    (COMPARE, "--anchors", "0", "0 known pairs needs --pairing match"),
    (COMPARE, "--anchors", "-5", "expected an integer of at least 0"),
    (COMPARE, "--anchors", "many", "expected an integer of at least 0, got 'many'"),
    (COMPARE, "--anchors", "2.5", "expected an integer of at least 0"),
    (COMPARE, "--anchors", "10,", "expected a comma-separated list"),
    (COMPARE, "--anchors", "10,41", "--anchors 10,41: more anchors than the 40 rows"),
    (COMPARE, "--pairing", "matched", "invalid choice: 'matched'"),
    (COMPARE, "--anchors", "41", "--anchors 41: more anchors than the 40 rows"),
    (COMPARE, "--invariances", "rotation", "unknown invariance 'rotation'"),
    (COMPARE, "--invariances", ",", "expected a comma-separated list"),
    (COMPARE, "--kernels", "cosinus", "unknown kernel 'cosinus'"),
    (COMPARE, "--kernels", "cosine,,l1", "expected a comma-separated list"),
    (COMPARE, "--aggregate", "median", "invalid choice: 'median'"),
    (COMPARE, "--metrics", "foo", "--metrics: unknown measure 'foo'; choose among"),
    (COMPARE, "--metrics", "cka,", "expected a comma-separated list"),
    (COMPARE, "--decoder", "forest", "invalid choice: 'forest'"),
    (COMPARE, "--neighbors", "0", "expected a positive integer, got '0'"),
    (COMPARE, "--neighbors", "5", "--neighbors: applies to the neighbour measures (jaccard, "
     "mutual_knn, cknna); none is among the measures compared (cka)"),
    (COMPARE, "--calibrate", "z", "invalid choice: 'z'"),
    (COMPARE, "--n-permutations", "0", "expected a positive integer, got '0'"),
    (COMPARE, "--n-permutations", "many", "got 'many'"),
    (COMPARE, "--max-samples", "0", "expected a positive integer, auto or all, got '0'"),
    (COMPARE, "--max-samples", "some", "got 'some'"),
    (COMPARE, "--scoring", "accuracyy", "--scoring accuracyy: not a scikit-learn scorer"),
    (COMPARE, "--plot", "out.txt", "--plot out.txt: unsupported file type '.txt'"),
    (COMPARE, "--plot", "nowhere/out.png", "--plot nowhere/out.png: no such directory"),
    (COMPARE, "--plot", "folder", "--plot folder: is a directory"),
    (COMPARE, "--n-jobs", "0", "expected a nonzero integer (-1 for all processors), got '0'"),
    (COMPARE, "--n-jobs", "all", "got 'all'"),
    (COMPARE, "--blas-threads", "-3", "expected an integer of at least 0, got '-3'"),
    (COMPARE, "--blas-threads", "two", "got 'two'"),
    (COMPARE, "--seed", "-1", "expected an integer from 0 to 4294967295, got '-1'"),
    (COMPARE, "--seed", str(2**32), f"got '{2**32}'"),
    (COMPARE, "--seed", "0.5", "got '0.5'"),
    (ZOO, "--dataset", "imagenet", "invalid choice: 'imagenet'"),
    (ZOO, "--factors", "depth", "unknown value 'depth'"),
    (ZOO, "--n-models", "1", "expected an integer of at least 2, got '1'"),
    (ZOO, "--n-models", "x", "got 'x'"),
    (ZOO, "--kind", "vae", "invalid choice: 'vae'"),
    (COMPARE, "--dataset", "digits", "apply only when no file is given"),
    (COMPARE, "--format", "xml", "invalid choice: 'xml'"),
    (COMPARE, "--output", "taken.md", "--output taken.md: the file exists; pass --overwrite"),
    (COMPARE, "--output", "nowhere/t.md", "--output nowhere/t.md: no such directory"),
    (COMPARE, "--output", "folder", "--output folder: is a directory"),
    (PROJECT, "--kernel", "cosinus", "--kernel: unknown kernel 'cosinus'"),
    (PROJECT, "--working-memory", "0", "expected a positive integer, got '0'"),
    (PROJECT, "--working-memory", "lots", "got 'lots'"),
    (BENCH, "--n-samples", "0", "expected a positive integer"),
    (BENCH, "--n-anchors", "-1", "expected a positive integer"),
    (BENCH, "--n-features", "x", "expected a positive integer"),
    (BENCH, "--kernels", "foo", "--kernels: unknown kernel 'foo'"),
    (BENCH, "--dtype", "float16", "unknown value 'float16'"),
    (BENCH, "--repeat", "0", "expected a positive integer"),
    (BENCH, "--seed", "-1", "expected an integer from 0 to 4294967295"),
    (BENCH, "--format", "xml", "invalid choice: 'xml'"),
    (BENCH, "--output", "nowhere/t.md", "--output nowhere/t.md: no such directory"),
]
def run_cli(argv, capsys):
    """``skinvariance argv``: (exit status, standard output, standard error); argparse's own
    errors exit through SystemExit, as the console script does."""
    try:
        status = main(argv)
    except SystemExit as exit_info:
        status = exit_info.code
    out, err = capsys.readouterr()
    return status, out, err


#: Options that take no value (or print and exit 0): nothing to get wrong.
FLAGS = {"-h", "--help", "--version", "--overwrite", "--quiet"}


def _assert_one_line_error(status, out, err, command, *expected):
    assert status == 2, err
    assert out == "", "nothing on standard output"
    assert err.startswith(f"skinvariance {command}: error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err
    for text in expected:
        assert text in err, err


@pytest.mark.parametrize(
    "base, option, value, expected", BAD_OPTIONS,
    ids=[f"{base[0]}{option}={value}" for base, option, value, _ in BAD_OPTIONS],
)
def test_every_bad_option_value_is_one_line_naming_the_option(base, option, value, expected,
                                                               workdir, capsys):
    status, out, err = run_cli([*base, option, value], capsys)
    _assert_one_line_error(status, out, err, base[0], option, expected)


def test_every_option_has_bad_values():
    """Discovered from the parser: an option added without a bad value here fails."""
    parser = build_parser()
    (commands,) = (a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    tested = {(base[0], option) for base, option, _, _ in BAD_OPTIONS}
    for name, subparser in commands.choices.items():
        for action in subparser._actions:
            for option in action.option_strings:
                if option not in FLAGS:
                    assert (name, option) in tested, f"skinvariance {name} {option}: untested"


# -- files -------------------------------------------------------------------------------------


def _damaged_files(workdir):
    """Files a user may have damaged or mistaken, and the file the message must name."""
    (workdir / "truncated.npy").write_bytes(Path(workdir / "a.npy").read_bytes()[:90])
    (workdir / "corrupt.npz").write_bytes(b"PK\x03\x04" + b"garbage" * 20)
    (workdir / "corrupt.parquet").write_bytes(b"PAR1 not really parquet PAR1")
    (workdir / "text.npy").write_text("1,2,3\n")
    np.save(workdir / "objects.npy", np.array([{"a": 1}, None], dtype=object))
    np.save(workdir / "vector.npy", np.arange(N_SAMPLES, dtype=float))
    return ["truncated.npy", "corrupt.npz", "corrupt.parquet", "text.npy", "objects.npy",
            "vector.npy"]


@pytest.mark.parametrize("position", ["space", "labels", "anchors", "input"])
def test_damaged_files_are_one_line_naming_the_file(position, workdir, capsys):
    for name in _damaged_files(workdir):
        if position == "space":
            argv = ["compare", "a.npy", name, "--labels", "y.npy", *FAST]
        elif position == "labels":
            if not name.endswith(".npy"):
                continue
            argv = ["compare", "a.npy", "b.npy", "--labels", name, *FAST]
        elif position == "anchors":
            if not name.endswith(".npy"):
                continue
            argv = ["project", name, "a.npy", "out.npy"]
        else:
            if not name.endswith(".npy"):
                continue
            argv = ["project", "anchors.npy", name, "out.npy"]
        status, out, err = run_cli(argv, capsys)
        if position == "labels" and name == "vector.npy":
            # 40 distinct integral values: 40 classes of one sample each, which the split
            # cannot stratify (a 1-D vector is otherwise a valid target).
            _assert_one_line_error(status, out, err, "compare", "y cannot be split")
            continue
        _assert_one_line_error(status, out, err, argv[0], name)


@pytest.mark.parametrize(
    "labels, expected",
    [
        (np.r_[np.zeros(20), np.ones(19), np.nan], "y is invalid: Input y contains NaN"),
        (np.r_[np.zeros(20), np.ones(19), np.inf], "y is invalid: Input y contains infinity"),
        (np.zeros(N_SAMPLES, dtype=int), "y holds only one class (0"),
        (np.r_[np.zeros(N_SAMPLES - 1), 1.0], "y cannot be split into training and test rows"),
        (np.zeros(N_SAMPLES - 1, dtype=int), "39 labels for 40 rows"),
    ],
)
def test_bad_labels_are_one_line_naming_the_labels(labels, expected, workdir, capsys):
    np.save(workdir / "bad.npy", labels)
    np.savetxt(workdir / "bad.csv", labels)
    for name in ("bad.npy", "bad.csv"):
        argv = ["compare", "a.npy", "b.npy", "--labels", name, *FAST]
        status, out, err = run_cli(argv, capsys)
        # Errors found reading the file name it; those found splitting the rows name y.
        where = "y cannot" if "split" in expected else f"--labels {name}: "
        _assert_one_line_error(status, out, err, "compare", where, expected)


def test_plot_of_an_unsupported_type_is_refused_before_the_table(workdir, capsys):
    """Was a traceback from matplotlib after the table had been printed."""
    status, out, err = run_cli([*COMPARE, "--plot", "bars.txt"], capsys)
    _assert_one_line_error(status, out, err, "compare", "--plot bars.txt")
    assert not (workdir / "bars.txt").exists()


def _disk_full(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


def test_failed_writes_say_write(workdir, capsys, monkeypatch):
    with monkeypatch.context() as patch:
        patch.setattr(Path, "write_bytes", _disk_full)
        status, out, err = run_cli([*COMPARE, "--output", "table.md"], capsys)
    _assert_one_line_error(status, out, err, "compare",
                           "--output table.md: cannot write the file (No space left on device)")

    from matplotlib.figure import Figure

    with monkeypatch.context() as patch:
        patch.setattr(Figure, "savefig", _disk_full)
        status, out, err = run_cli([*COMPARE, "--plot", "bars.png", "--format", "csv"], capsys)
    assert status == 2 and "Traceback" not in err
    assert "--plot bars.png: cannot write the file (No space left on device)" in err
    assert out.startswith("invariance,")  # the table was computed and printed before

    import skinvariance.io._npy as npy

    with monkeypatch.context() as patch:
        patch.setattr(npy.os, "fsync", _disk_full)
        status, out, err = run_cli(PROJECT, capsys)
    _assert_one_line_error(status, out, err, "project", "Writing the output", "out.npy",
                           "the disk is full")
    assert "[Errno" not in err
    assert not (workdir / "out.npy").exists()


def test_parquet_without_pyarrow_names_the_extra(workdir, capsys, monkeypatch):
    spaces = {name: np.load(workdir / f"{name}.npy") for name in ("a", "b")}
    stack_spaces(spaces).to_parquet(workdir / "spaces.parquet")
    assert list(read_spaces(["spaces.parquet"])) == ["a", "b"]  # with pyarrow
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # import pyarrow now fails
    with pytest.raises(ValueError, match=r'spaces.parquet: reading .parquet files needs '
                       r'pyarrow, .*the \'parquet\' extra: pip install "skinvariance\[parquet\]"'):
        read_spaces(["spaces.parquet"])
    status, out, err = run_cli(["compare", "spaces.parquet", "--labels", "y.npy", *FAST],
                               capsys)
    _assert_one_line_error(status, out, err, "compare", 'pip install "skinvariance[parquet]"')


def test_the_parquet_extra_is_declared():
    import tomllib

    pyproject = tomllib.loads(
        (Path(__file__).parent.parent / "pyproject.toml").read_text(encoding="utf-8"))
    extras = pyproject["project"]["optional-dependencies"]
    assert any(requirement.startswith("pyarrow") for requirement in extras["parquet"])


@pytest.mark.parametrize("exponent", [-1060, 990])
def test_spaces_of_extreme_magnitudes_give_the_table_of_scale_one(exponent, workdir, capsys):
    """Finite huge (or tiny) spaces were reported as "contains NaN" or "every row is the
    same vector": they give the table of the same numbers at scale 1."""
    tables = []
    for shift in (0, exponent):
        for name in ("a", "b"):
            with np.errstate(under="ignore"):  # subnormal numbers keep fewer digits: the
                scaled = np.ldexp(np.load(workdir / f"{name}.npy"), exponent)  # same numbers
            np.save(workdir / f"{name}{shift}.npy", np.ldexp(scaled, shift - exponent))
        argv = ["compare", f"a{shift}.npy", f"b{shift}.npy", "--labels", "y.npy", "--format",
                "json", "--quiet", "--anchors", "10", "--metrics", "cka,pearson,cosine,mrr",
                "--invariances", "absolute,scale,relative_cosine,relative_euclidean,product"]
        status, out, err = run_cli(argv, capsys)
        assert status == 0 and err == "", err
        tables.append(pd.DataFrame(json.loads(out)).set_index("invariance"))
    numbers = [c for c in tables[0].columns if c.endswith(("_mean", "_std"))]
    values = tables[1][numbers].to_numpy(dtype=float)
    assert np.all(np.isfinite(values))
    # The euclidean kernel (in the product) is accurate to sqrt(d eps) relative, by different
    # paths at different magnitudes (kernel_table()); the rest is scale-free exactly.
    np.testing.assert_allclose(values, tables[0][numbers].to_numpy(dtype=float), atol=1e-6)


def test_too_few_rows_for_the_neighbour_measures_names_the_options(workdir, capsys):
    """On 40 rows (10 test rows a split) the default k=10 of jaccard cannot be met."""
    argv = ["compare", "a.npy", "b.npy", "--labels", "y.npy", "--invariances",
            "absolute,relative_cosine", "--metrics", "cka,jaccard", "--anchors", "10",
            "--quiet"]
    status, out, err = run_cli(argv, capsys)
    _assert_one_line_error(
        status, out, err, "compare",
        "The 'k' parameter of knn_jaccard must be smaller than n_samples=10",
        "got k=10. Pass a smaller --neighbors K, or leave the measure out of --metrics")
    status, out, err = run_cli([*argv, "--neighbors", "9", "--format", "json"], capsys)
    assert status == 0 and err == ""
    assert all(0 <= row["jaccard_mean"] <= 1 for row in json.loads(out))
