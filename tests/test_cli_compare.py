"""``skinvariance compare``: tables equal to compare_invariances', formats, user mistakes."""

import io
import json
import sys

import numpy as np
import pandas as pd
import pytest
from _helpers import run_cli
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import get_scorer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skinvariance import ProductProjection, RelativeProjection, compare_invariances, stack_spaces

# Two cheap rows and one measure keep every comparison in this file fast.
FAST = ["--invariances", "absolute,relative_cosine", "--metrics", "cka", "--anchors", "40"]


@pytest.fixture(scope="module")
def problem():
    """Three spaces of the same samples: X, a rotation of X, a scaled other rotation of X."""
    X, y = make_classification(
        n_samples=240, n_features=8, n_informative=6, n_classes=3, random_state=0
    )
    rng = np.random.default_rng(0)
    Q1, _ = np.linalg.qr(rng.normal(size=(8, 8)))
    Q2, _ = np.linalg.qr(rng.normal(size=(8, 8)))
    return {"a": X, "b": X @ Q1, "c": 3.0 * X @ Q2}, y


@pytest.fixture
def files(tmp_path, problem):
    spaces, y = problem
    paths = []
    for name, X in spaces.items():
        np.save(tmp_path / f"{name}.npy", X)
        paths.append(str(tmp_path / f"{name}.npy"))
    np.save(tmp_path / "y.npy", y)
    return paths, str(tmp_path / "y.npy")


def _fast_comparison(problem, **options):
    """What the FAST options ask compare_invariances for, called directly."""
    spaces, y = problem
    return compare_invariances(
        spaces,
        y,
        {"absolute": None, "relative_cosine": RelativeProjection("cosine")},
        metrics=["cka"],
        decoder=make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)),
        anchors=40,
        random_state=0,
        **options,
    )


def test_compare_files_matches_compare_invariances(files, problem, capsys):
    paths, labels = files
    status, out, err = run_cli(
        ["compare", *paths, "--labels", labels, *FAST, "--format", "json", "--quiet"], capsys
    )
    assert status == 0
    assert err == ""
    got = pd.DataFrame(json.loads(out))
    expected = _fast_comparison(problem)
    assert list(got["invariance"]) == ["absolute", "relative_cosine"]
    for column in ["cka_mean", "stitching_mean", "stitching_std", "non_stitched_mean"]:
        np.testing.assert_allclose(got[column], expected[column], rtol=1e-9)
    # The spaces differ by rotations and a scaling: cosine is invariant to both.
    stitching = got.set_index("invariance")["stitching_mean"]
    assert stitching["relative_cosine"] > stitching["absolute"] + 0.3
    assert got.set_index("invariance").loc["relative_cosine", "best"]


def _table(out, fmt):
    if fmt == "json":
        return pd.DataFrame(json.loads(out))
    return pd.read_csv(io.StringIO(out))


@pytest.mark.parametrize("layout", ["npz", "parquet", "csv", "csv-no-index"])
def test_compare_file_layouts_give_the_same_table(layout, files, problem, tmp_path, capsys):
    paths, labels = files
    spaces, _ = problem
    if layout == "npz":
        np.savez(tmp_path / "spaces.npz", **spaces)
    elif layout == "parquet":
        pytest.importorskip("pyarrow")  # the test extra
        stack_spaces(spaces).to_parquet(tmp_path / "spaces.parquet")
    else:
        stack_spaces(spaces).to_csv(tmp_path / "spaces.csv", index=layout == "csv")
    stacked = str(tmp_path / f"spaces.{layout.split('-')[0]}")
    common = ["--labels", labels, *FAST, "--format", "csv", "--quiet"]
    status, out_files, _ = run_cli(["compare", *paths, *common], capsys)
    assert status == 0
    status, out_stacked, _ = run_cli(["compare", stacked, *common], capsys)
    assert status == 0
    pd.testing.assert_frame_equal(_table(out_stacked, "csv"), _table(out_files, "csv"))


def test_csv_and_json_carry_only_the_table(files, capsys):
    paths, labels = files
    for fmt in ("csv", "json"):
        status, out, err = run_cli(
            ["compare", *paths, "--labels", labels, *FAST, "--format", fmt], capsys
        )
        assert status == 0
        table = _table(out, fmt)
        assert list(table["invariance"]) == ["absolute", "relative_cosine"]
        # The summary goes to standard error (not a terminal here: no progress lines).
        assert "Best invariance: relative_cosine" in err
        assert "training" not in err and "comparing" not in err


def test_markdown_table_answer_first_with_summary(files, problem, capsys):
    paths, labels = files
    status, out, err = run_cli(["compare", *paths, "--labels", labels, *FAST], capsys)
    assert status == 0
    lines = out.splitlines()
    # The answer first, then kind and the measures; the shared decoder once, below.
    assert lines[0] == "| invariance | stitching | non_stitched | best | kind | cka |"
    row = _fast_comparison(problem).set_index("invariance").loc["relative_cosine"]

    def cell(measure):
        return f"{row[measure + '_mean']:.3f} ± {row[measure + '_std']:.3f}"

    assert lines[3] == (f"| relative_cosine | {cell('stitching')} | {cell('non_stitched')} | "
                        f"**best** | projection | {cell('cka')} |")
    assert lines[5] == "Decoder of every row: logistic (PowerOfTwoScaler, StandardScaler)."
    assert sum("PowerOfTwoScaler" in line for line in lines) == 1
    assert any(line.startswith("Best invariance: relative_cosine") for line in lines)
    assert any(line.startswith("Took ") for line in lines)
    assert err == ""
    status, quiet_out, err = run_cli(
        ["compare", *paths, "--labels", labels, *FAST, "--quiet"], capsys
    )
    assert quiet_out.splitlines() == lines[:6] and err == ""


def test_markdown_decoder_column_names_only_the_rows_that_differ():
    from skinvariance.cli._render import compare_markdown

    table = pd.DataFrame({
        "invariance": ["absolute", "product", "product_mlp_sum"],
        "kind": ["absolute", "projection", "projection"],
        "decoder": ["logistic", "logistic", "ProductClassifier(mlp_sum)"],
        "cka_mean": [0.5, 1.0, 1.0], "cka_std": [0.0, 0.0, 0.0],
        "stitching_mean": [0.25, 0.75, np.nan], "stitching_std": [0.0, 0.125, np.nan],
        "non_stitched_mean": [0.5, 0.5, 0.5], "non_stitched_std": [0.0, 0.0, 0.0],
        "best": [False, True, False],
    })
    table.attrs["selected_by"] = "stitching_mean"
    assert compare_markdown(table).splitlines() == [
        "| invariance | stitching | non_stitched | best | decoder | kind | cka |",
        "|---|---|---|---|---|---|---|",
        "| absolute | 0.250 ± 0.000 | 0.500 ± 0.000 |  |  | absolute | 0.500 ± 0.000 |",
        "| product | 0.750 ± 0.125 | 0.500 ± 0.000 | **best** |  | projection | 1.000 ± 0.000 |",
        "| product_mlp_sum |  | 0.500 ± 0.000 |  | ProductClassifier(mlp_sum) | projection | "
        "1.000 ± 0.000 |",
        "",
        "Decoder: logistic, except where the decoder column names another.",
    ]


def test_progress_only_on_a_terminal(files, capsys, monkeypatch):
    paths, labels = files
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    status, out, err = run_cli(
        ["compare", *paths, "--labels", labels, *FAST, "--format", "csv"], capsys
    )
    assert status == 0
    assert "reading 3 file(s)" in err and "comparing 2 invariances over 3 spaces" in err
    status, out, err = run_cli(
        ["compare", *paths, "--labels", labels, *FAST, "--format", "csv", "--quiet"], capsys
    )
    assert err == ""


def test_output_file_and_overwrite(files, tmp_path, capsys):
    paths, labels = files
    target = tmp_path / "table.json"
    argv = ["compare", *paths, "--labels", labels, *FAST, "--output", str(target), "--quiet"]
    status, out, _ = run_cli(argv, capsys)
    assert status == 0 and out == ""
    # The format follows the suffix.
    assert [row["invariance"] for row in json.loads(target.read_text())] == [
        "absolute",
        "relative_cosine",
    ]
    status, _, err = run_cli(argv, capsys)
    assert status == 2
    assert err.strip() == (
        f"skinvariance compare: error: --output {target}: the file exists; "
        "pass --overwrite to replace it"
    )
    assert run_cli([*argv, "--overwrite"], capsys)[0] == 0


def test_plot_writes_a_png(files, tmp_path, capsys):
    pytest.importorskip("matplotlib")  # the plot extra
    paths, labels = files
    png = tmp_path / "bars.png"
    status, _, _ = run_cli(
        ["compare", *paths, "--labels", labels, *FAST, "--plot", str(png), "--quiet"], capsys
    )
    assert status == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_kernels_and_aggregate_choose_the_rows(files, capsys):
    paths, labels = files
    status, out, _ = run_cli(
        [
            "compare", *paths, "--labels", labels, "--kernels", "cosine,l1",
            "--aggregate", "sum", "--metrics", "cka", "--anchors", "40",
            "--format", "json", "--quiet",
        ],
        capsys,
    )  # fmt: skip
    assert status == 0
    rows = [row["invariance"] for row in json.loads(out)]
    assert rows == [
        "absolute", "scale", "relative_cosine", "relative_l1", "relative_cosine_centered",
        "product", "product_mlp_sum", "orthogonal_standardized", "affine_ridge",
    ]  # fmt: skip
    # the learned row reads one subspace per chosen kernel
    decoders = {row["invariance"]: row["decoder"] for row in json.loads(out)}
    assert decoders["product_mlp_sum"] == "ProductClassifier(mlp_sum)"


def _write_bad(tmp_path, problem, case):
    """Files for one bad-input case: (argv after 'compare', text the error must contain)."""
    spaces, y = problem
    a, b = str(tmp_path / "a.npy"), str(tmp_path / "b.npy")
    np.save(a, spaces["a"])
    np.save(b, spaces["b"])
    labels = str(tmp_path / "y.npy")
    np.save(labels, y)
    if case == "missing":
        return [a, str(tmp_path / "nope.npy"), "--labels", labels], "nope.npy: no such file"
    if case == "unreadable":
        (tmp_path / "bad.npy").write_bytes(b"not an array")
        return [a, str(tmp_path / "bad.npy"), "--labels", labels], "bad.npy: cannot read the file"
    if case == "rows":
        np.save(b, spaces["b"][:-5])
        return [a, b, "--labels", labels], "b.npy: space 'b' has 235 rows but space 'a'"
    if case == "labels-length":
        np.save(labels, y[:10])
        return [a, b, "--labels", labels], "--labels " + labels + ": 10 labels for 240 rows"
    if case == "npz-one-key":
        np.savez(tmp_path / "one.npz", only=spaces["a"])
        one = str(tmp_path / "one.npz")
        return [one, "--labels", labels], "one.npz: holds 1 array(s)"
    if case == "non-numeric":
        frame = stack_spaces(spaces)
        frame[("a", "0")] = "x"
        frame.to_csv(tmp_path / "s.csv")
        return [str(tmp_path / "s.csv"), "--labels", labels], "s.csv: column ('a', '0') is not"
    if case == "flat-csv":
        pd.DataFrame(spaces["a"]).to_csv(tmp_path / "flat.csv", index=False)
        return [str(tmp_path / "flat.csv"), "--labels", labels], "flat.csv: expected two column"
    if case == "nan":
        bad = spaces["b"].copy()
        bad[3, 1] = np.nan
        np.save(b, bad)
        return [a, b, "--labels", labels], "b.npy: space 'b' contains NaN"
    if case == "suffix":
        return [a, str(tmp_path / "b.txt"), "--labels", labels], "b.txt: unsupported file type"
    if case == "decoder-without-labels":
        return [a, b, "--decoder", "knn"], "--decoder: applies only with --labels"
    if case == "scoring-without-labels":
        return [a, b, "--scoring", "f1_macro"], "--scoring: applies only with --labels"
    if case == "learned-row-without-labels":
        return [a, b, "--invariances", "product_mlp_sum"], "(product_mlp_sum needs labels)"
    if case == "kernel":
        return [a, b, "--labels", labels, "--kernels", "cosinus"], "--kernels: unknown kernel 'co"
    if case == "invariance":
        return [a, b, "--labels", labels, "--invariances", "rotation"], "--invariances: unknown"
    if case == "zoo-option":
        return [a, b, "--labels", labels, "--n-models", "3"], "apply only when no file is given"
    if case == "labels-without-files":
        return ["--labels", labels], "--labels: applies only to spaces read from files"
    if case == "anchors-zero-given":
        return [a, b, "--labels", labels, "--anchors", "0,10"], "0 known pairs needs --pairing"
    if case == "anchors-above-rows":
        return [a, b, "--labels", labels, "--anchors", "10,5000"], "--anchors 10,5000: more"
    if case == "logistic-regression-target":
        np.save(labels, spaces["c"][:, 0])
        argv = [a, b, "--labels", labels, "--decoder", "logistic"]
        return argv, "--decoder logistic: The 'logistic' decoder needs class labels"
    raise AssertionError(case)


@pytest.mark.parametrize(
    "case",
    [
        "missing", "unreadable", "rows", "labels-length", "npz-one-key", "non-numeric",
        "flat-csv", "nan", "suffix", "decoder-without-labels", "scoring-without-labels",
        "learned-row-without-labels", "kernel", "invariance", "zoo-option",
        "labels-without-files", "logistic-regression-target", "anchors-zero-given",
        "anchors-above-rows",
    ],
)  # fmt: skip
def test_user_mistakes_are_one_line_and_status_2(case, tmp_path, problem, capsys):
    argv, expected = _write_bad(tmp_path, problem, case)
    status, out, err = run_cli(["compare", *argv, "--metrics", "cka"], capsys)
    assert status == 2
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("skinvariance compare: error: ")
    assert expected in err
    assert "Traceback" not in err


def test_compare_on_a_small_zoo_relative_beats_absolute(capsys):
    # The no-file mode end to end on a tiny zoo (two classifiers differing by their seed).
    status, out, err = run_cli(
        ["compare", "--n-models", "2", *FAST, "--format", "json", "--quiet"], capsys
    )
    assert status == 0 and err == ""
    stitching = pd.DataFrame(json.loads(out)).set_index("invariance")["stitching_mean"]
    assert stitching["relative_cosine"] > 0.8
    assert stitching["absolute"] < 0.3  # ten classes: chance is 0.1


def test_zoo_dataset_without_the_extra(monkeypatch, capsys):
    from skinvariance.datasets import _loaders

    def missing():
        raise ImportError("load_mnist1d needs the 'mnist1d' package")

    monkeypatch.setattr(_loaders, "_mnist1d_arrays", missing)
    status, _, err = run_cli(["compare", "--dataset", "mnist1d", "--quiet"], capsys)
    assert status == 2
    assert err.strip() == (
        "skinvariance compare: error: --dataset mnist1d: load_mnist1d needs the 'mnist1d' package"
    )


def test_scoring_chooses_the_stitching_scorer(files, problem, capsys):
    paths, labels = files
    status, out, _ = run_cli(
        ["compare", *paths, "--labels", labels, *FAST, "--scoring", "f1_macro",
         "--format", "json", "--quiet"], capsys,
    )
    assert status == 0
    got = pd.DataFrame(json.loads(out))
    expected = _fast_comparison(problem, scoring=get_scorer("f1_macro"))
    np.testing.assert_allclose(got["stitching_mean"], expected["stitching_mean"], rtol=1e-9)
    accuracy = _fast_comparison(problem)
    assert got["stitching_mean"][0] != pytest.approx(accuracy["stitching_mean"][0])


def test_unknown_scoring_is_one_line_and_status_2(files, capsys):
    paths, labels = files
    status, out, err = run_cli(
        ["compare", *paths, "--labels", labels, *FAST, "--scoring", "best", "--quiet"], capsys
    )
    assert status == 2 and out == ""
    assert err.count("\n") == 1 and "--scoring best: not a scikit-learn scorer name" in err


# -- without labels, calibrated, learned decoders ------------------------------------------------


def test_compare_without_labels_prints_the_measures_alone(files, problem, capsys):
    paths, _ = files
    spaces, _ = problem
    argv = ["compare", *paths, "--invariances", "absolute,relative_cosine", "--metrics",
            "cka,mrr", "--anchors", "40"]
    status, out, err = run_cli(argv, capsys)
    assert status == 0 and err == ""
    lines = out.splitlines()
    assert lines[0] == "| invariance | mrr | best | kind | cka |"  # mrr picked the best
    assert "Stitching not scored (no --labels): compared by the similarity measures " \
        "alone." in lines
    assert any(line.startswith("Best invariance by mrr_mean: relative_cosine (1.000 ± ")
               for line in lines)
    status, out, err = run_cli([*argv, "--format", "json", "--quiet"], capsys)
    got = pd.DataFrame(json.loads(out))
    expected = compare_invariances(
        spaces, None, {"absolute": None, "relative_cosine": RelativeProjection("cosine")},
        metrics=["cka", "mrr"], anchors=40, random_state=0)
    assert list(got.columns) == list(expected.columns)
    for column in ["cka_mean", "mrr_mean", "mrr_std"]:
        np.testing.assert_allclose(got[column], expected[column], rtol=1e-9, atol=1e-10)


def test_compare_calibrated_and_learned_decoder_match_compare_invariances(files, problem,
                                                                         capsys):
    paths, labels = files
    spaces, y = problem
    argv = ["compare", *paths, "--labels", labels, "--invariances", "relative_cosine,product",
            "--kernels", "cosine,l1", "--metrics", "cka", "--anchors", "40", "--decoder",
            "mlp_sum", "--calibrate", "zscore", "--n-permutations", "19", "--format", "json"]
    status, out, err = run_cli(argv, capsys)
    assert status == 0
    assert "Measures calibrated: zscore against a permutation null." in err
    got = pd.DataFrame(json.loads(out))
    expected = compare_invariances(
        spaces, y, {"relative_cosine": RelativeProjection("cosine"),
                    "product": ProductProjection(["cosine", "l1"])},
        metrics=["cka"], anchors=40, decoder="mlp_sum", calibrate="zscore",
        n_permutations=19, random_state=0)
    assert list(got["decoder"]) == ["ProductClassifier(mlp_sum)"] * 2
    for column in ["cka_mean", "stitching_mean", "non_stitched_mean"]:
        np.testing.assert_allclose(got[column], expected[column], rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("labelled", [True, False])
def test_neighbors_is_the_k_of_the_neighbour_measures(problem, tmp_path, capsys, labelled):
    from skinvariance.metrics import knn_jaccard, mean_reciprocal_rank, mutual_knn

    X, y = problem[0]["a"], problem[1]
    # Neighbourhoods that differ between the spaces (rotations would keep every one).
    spaces = {"a": X, "b": X + np.random.default_rng(1).normal(scale=1.0, size=X.shape)}
    for name, Z in spaces.items():
        np.save(tmp_path / f"{name}.npy", Z)
    np.save(tmp_path / "y.npy", y)
    argv = ["compare", str(tmp_path / "a.npy"), str(tmp_path / "b.npy"),
            *(["--labels", str(tmp_path / "y.npy")] if labelled else []), "--invariances",
            "absolute,relative_cosine", "--metrics", "jaccard,mutual_knn,mrr", "--anchors",
            "40", "--format", "json", "--quiet"]
    default = pd.DataFrame(json.loads(run_cli(argv, capsys)[1]))
    # k=10 is the measures' default: the same table, the same best row
    same = pd.DataFrame(json.loads(run_cli([*argv, "--neighbors", "10"], capsys)[1]))
    pd.testing.assert_frame_equal(same, default)
    got = pd.DataFrame(json.loads(run_cli([*argv, "--neighbors", "4"], capsys)[1]))
    expected = compare_invariances(
        spaces, y if labelled else None,
        {"absolute": None, "relative_cosine": RelativeProjection("cosine")},
        metrics={"jaccard": lambda X, Y: knn_jaccard(X, Y, k=4),
                 "mutual_knn": lambda X, Y: mutual_knn(X, Y, k=4),
                 "mrr": mean_reciprocal_rank},
        anchors=40, random_state=0, **({} if labelled else {"select_by": "mrr_mean"}))
    for column in ["jaccard_mean", "mutual_knn_mean", "mrr_mean"]:
        np.testing.assert_allclose(got[column], expected[column], rtol=1e-9, atol=1e-10)
    assert np.all(np.abs(got["jaccard_mean"] - default["jaccard_mean"]) > 1e-3)
    assert list(got["best"]) == list(expected["best"])


def test_anchor_counts_give_the_curve_and_its_plot(files, problem, tmp_path, capsys):
    pytest.importorskip("matplotlib")  # the plot extra
    paths, labels = files
    png = tmp_path / "curve.png"
    argv = ["compare", *paths, "--labels", labels, *FAST[:4], "--anchors", "10,40",
            "--format", "json", "--plot", str(png), "--quiet"]
    status, out, _ = run_cli(argv, capsys)
    assert status == 0
    got = pd.DataFrame(json.loads(out))
    spaces, y = problem
    expected = compare_invariances(
        spaces, y, {"absolute": None, "relative_cosine": RelativeProjection("cosine")},
        metrics=["cka"], decoder=make_pipeline(StandardScaler(),
                                               LogisticRegression(max_iter=1000)),
        anchors=[10, 40], random_state=0)
    assert got["anchors"].tolist() == [10, 10, 40, 40]
    np.testing.assert_allclose(got["stitching_mean"], expected["stitching_mean"], rtol=1e-9)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    status, out, _ = run_cli([*argv[:-5], "--format", "markdown", "--quiet"], capsys)
    assert out.splitlines()[0].startswith("| anchors | invariance | stitching |")
