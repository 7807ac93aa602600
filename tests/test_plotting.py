import sys

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from numpy.testing import assert_allclose, assert_array_equal  # noqa: E402

from skinvariance.plotting import plot_invariances, plot_matrix  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.fixture
def matrix():
    names = ["enc_a", "enc_b", "enc_c"]
    values = np.array([[0.9, 0.2, np.nan], [0.3, 0.8, 0.5], [0.1, 0.4, 0.7]])
    return pd.DataFrame(
        values,
        index=pd.Index(names, name="encoder"),
        columns=pd.Index(names, name="decoder"),
    )


@pytest.fixture
def table():
    return pd.DataFrame(
        {
            "invariance": ["absolute", "scale", "relative_cosine"],
            "kind": ["absolute", "projection", "projection"],
            "cka_mean": [0.2, 0.4, 0.95],
            "cka_std": [0.05, 0.02, 0.01],
            "stitching_mean": [0.3, 0.35, 0.9],
            "stitching_std": [0.1, 0.05, 0.02],
            "best": [False, False, True],
        }
    )


def test_plot_matrix_draws_values_labels_and_annotations(matrix):
    ax = plot_matrix(matrix)
    image = ax.images[0]
    drawn = image.get_array()
    assert_array_equal(np.ma.getmaskarray(drawn), np.isnan(matrix.to_numpy()))
    assert_allclose(drawn.filled(np.nan), matrix.to_numpy())
    assert [t.get_text() for t in ax.get_xticklabels()] == list(matrix.columns)
    assert [t.get_text() for t in ax.get_yticklabels()] == list(matrix.index)
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("decoder", "encoder")
    finite = matrix.to_numpy()[np.isfinite(matrix.to_numpy())]
    assert [t.get_text() for t in ax.texts] == [f"{v:.2f}" for v in finite]
    # colour range defaults to the finite values' range
    assert image.get_clim() == (finite.min(), finite.max())
    assert len(ax.figure.axes) == 2  # heatmap and colour bar


def test_plot_matrix_options_and_given_axes(matrix):
    fig, ax = plt.subplots()
    out = plot_matrix(
        matrix.to_numpy(), ax=ax, annotate=False, colorbar=False, vmin=0, vmax=1, title="t"
    )
    assert out is ax
    assert len(ax.texts) == 0
    assert len(fig.axes) == 1
    assert ax.images[0].get_clim() == (0, 1)
    assert ax.get_title() == "t"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0", "1", "2"]


def test_plot_matrix_bad_shape():
    with pytest.raises(ValueError, match=r"matrix must be 2-D; got an array of shape \(3,\)"):
        plot_matrix([1.0, 2.0, 3.0])


def test_plot_invariances_bars_errors_and_best(table):
    ax = plot_invariances(table)
    heights = [bar.get_height() for bar in ax.patches]
    assert_allclose(heights, table["stitching_mean"])
    assert [t.get_text() for t in ax.get_xticklabels()] == list(table["invariance"])
    colours = [bar.get_facecolor() for bar in ax.patches]
    best = matplotlib.colors.to_rgba("C1")
    assert [c == best for c in colours] == list(table["best"])
    # error bars: one vertical segment per bar, of half-length std
    segments = ax.collections[0].get_segments()
    half_lengths = [abs(s[1][1] - s[0][1]) / 2 for s in segments]
    assert_allclose(half_lengths, table["stitching_std"])
    assert ax.get_title() == "stitching"


def test_plot_invariances_other_measure(table):
    ax = plot_invariances(table, "cka_mean", title="CKA")
    assert_allclose([bar.get_height() for bar in ax.patches], table["cka_mean"])
    assert ax.get_title() == "CKA"


def test_plot_invariances_bad_input(table):
    with pytest.raises(ValueError, match=r"must be one of \['cka', 'stitching'\].*'mrr'"):
        plot_invariances(table, "mrr")
    with pytest.raises(TypeError, match="got dict instead"):
        plot_invariances(table.to_dict())


def test_missing_matplotlib_names_the_plot_extra(monkeypatch, matrix, table):
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match=r"'plot' extra.*skinvariance\[plot\]"):
        plot_matrix(matrix)
    with pytest.raises(ImportError, match="'plot' extra"):
        plot_invariances(table)


def test_importing_plotting_does_not_import_matplotlib():
    import subprocess

    code = (
        "import sys, skinvariance.plotting; "
        "sys.exit(int(any(m.startswith('matplotlib') for m in sys.modules)))"
    )
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
