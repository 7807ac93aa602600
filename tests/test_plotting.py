import sys

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from skinvariance.plotting import plot_invariances, plot_matrix

# matplotlib is the 'plot' extra (in the test extra too): without it, these tests cannot run.
matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
plt = pytest.importorskip("matplotlib.pyplot")


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
    with pytest.raises(TypeError, match="'table' parameter of plot_invariances must be an "
                       "instance of 'pandas.DataFrame'"):
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


def _error_bar_ends(ax):
    """(lower, upper) end of each bar's error bar, in bar order."""
    segments = ax.collections[0].get_segments()
    return np.array([[s[0][1], s[1][1]] for s in segments])


def test_plot_invariances_legend_says_what_colours_and_error_bars_mean(table):
    ax = plot_invariances(table, "cka")
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == [
        "best: relative_cosine (highest stitching_mean)",
        "other invariances",
        "± 1 std over space pairs",
    ]
    handles = ax.get_legend().legend_handles
    assert matplotlib.colors.to_rgba(handles[0].get_facecolor()) == matplotlib.colors.to_rgba("C1")
    assert matplotlib.colors.to_rgba(handles[1].get_facecolor()) == matplotlib.colors.to_rgba("C0")


def test_plot_invariances_legend_follows_the_table(table):
    table.attrs["selected_by"] = "cka_mean"
    ax = plot_invariances(table.drop(columns="stitching_std"), color="gray", best_color="red")
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    # no error bars, no error-bar entry
    assert labels == ["best: relative_cosine (highest cka_mean)", "other invariances"]
    # no best invariance: only the error bars to explain; neither: no legend
    no_best = plot_invariances(table.drop(columns="best"))
    assert [t.get_text() for t in no_best.get_legend().get_texts()] == ["± 1 std over space pairs"]
    bare = table.drop(columns=["best", "stitching_std"])
    assert plot_invariances(bare).get_legend() is None
    assert plot_invariances(table, legend=False).get_legend() is None


@pytest.mark.parametrize(
    "measure, scorer, low, high",
    [
        ("stitching", "accuracy", 0.0, 1.0),
        ("non_stitched", "f1_macro", 0.0, 1.0),
        ("stitching", "neg_mean_squared_error", -np.inf, 0.0),
        ("stitching", "r2", -np.inf, 1.0),
        ("cka", None, 0.0, 1.0),
        ("mrr", None, 0.0, 1.0),
        ("jaccard", None, 0.0, 1.0),
        ("pearson", None, -1.0, 1.0),
    ],
)
def test_plot_invariances_clips_error_bars_to_the_measure_range(measure, scorer, low, high):
    rng = np.random.default_rng(0)
    if low == -np.inf:
        means = high - rng.uniform(0.01, 2.0, size=6)
    else:
        means = np.array([low + 0.02, low + 0.5 * (high - low), high - 0.03, low, high, 0.7])
    stds = np.array([0.1, 0.05, 0.2, 0.3, 0.3, 0.0])
    table = pd.DataFrame(
        {
            "invariance": [f"inv{i}" for i in range(6)],
            f"{measure}_mean": means,
            f"{measure}_std": stds,
        }
    )
    if scorer is not None:
        table.attrs["scorer"] = scorer
    ends = _error_bar_ends(plot_invariances(table, measure))
    assert_allclose(ends[:, 0], np.maximum(means - stds, low))
    assert_allclose(ends[:, 1], np.minimum(means + stds, high))
    assert np.all(ends >= low) and np.all(ends <= high)


def test_plot_invariances_does_not_clip_unknown_or_contradicted_ranges(table):
    means, stds = np.array([0.05, 0.98]), np.array([0.2, 0.2])
    unbounded = [means - stds, means + stds]
    # a measure under a name of one's own, stitching with no named scorer: range unknown
    custom = pd.DataFrame(
        {"invariance": ["a", "b"], "mine_mean": means, "mine_std": stds, "best": [0, 1]}
    )
    assert_allclose(_error_bar_ends(plot_invariances(custom, "mine")).T, unbounded)
    custom.attrs["scorer"] = "a_scorer_of_ones_own"
    stitching = custom.rename(columns={"mine_mean": "stitching_mean", "mine_std": "stitching_std"})
    assert_allclose(_error_bar_ends(plot_invariances(stitching)).T, unbounded)
    # a "cka" below 0 (debiased CKA under the usual name): [0, 1] does not apply
    debiased = custom.rename(columns={"mine_mean": "cka_mean", "mine_std": "cka_std"})
    debiased["cka_mean"] = [-0.05, 0.5]
    ends = _error_bar_ends(plot_invariances(debiased, "cka"))
    assert_allclose(ends.T, [debiased["cka_mean"] - stds, debiased["cka_mean"] + stds])
    # limits=None never clips; explicit limits are used as given
    cka = custom.rename(columns={"mine_mean": "cka_mean", "mine_std": "cka_std"})
    assert_allclose(_error_bar_ends(plot_invariances(cka, "cka", limits=None)).T, unbounded)
    ends = _error_bar_ends(plot_invariances(custom, "mine", limits=(0.0, 1.1)))
    assert_allclose(ends.T, [np.maximum(means - stds, 0.0), np.minimum(means + stds, 1.1)])


@pytest.mark.parametrize("limits", [(1.0, 0.0), (0.0, np.nan), "full", (0.0,), 3.0])
def test_plot_invariances_bad_limits(table, limits):
    with pytest.raises(ValueError, match=r"'limits' parameter of plot_invariances must be"):
        plot_invariances(table, limits=limits)


def test_plot_invariances_every_panel_has_y_tick_labels(table):
    fig, axes = plt.subplots(1, 3, sharey=True)
    for ax, measure in zip(axes, ["cka", "stitching", "cka"]):
        plot_invariances(table, measure, ax=ax, legend=False)
    fig.canvas.draw()
    for ax in axes:
        labels = [t for t in ax.get_yticklabels() if t.get_visible() and t.get_text()]
        assert len(labels) >= 2
        assert ax.yaxis.get_tick_params(which="major")["labelleft"]


def test_plot_anchor_curve_lines_ceiling_and_chance():
    from skinvariance.plotting import plot_anchor_curve

    table = pd.DataFrame({"anchors": [30, 30, 10, 10], "invariance": ["cos", "aff"] * 2,
                          "stitching_mean": [0.6, 0.7, 0.4, 0.3],
                          "stitching_std": [0.1, np.nan, 0.05, 0.05],
                          "non_stitched_mean": [0.9, 0.95, 0.92, 0.9]})
    ax = plot_anchor_curve(table, chance=0.25, title="t")
    cos, aff, ceiling, chance = ax.lines
    np.testing.assert_array_equal(cos.get_xdata(), [10, 30])  # sorted by anchors
    np.testing.assert_array_equal(cos.get_ydata(), [0.4, 0.6])
    np.testing.assert_array_equal(aff.get_ydata(), [0.3, 0.7])
    np.testing.assert_array_equal(ceiling.get_ydata(), [0.92, 0.95])  # the best per count
    np.testing.assert_array_equal(chance.get_ydata(), [0.25, 0.25])
    assert ax.get_title() == "t"


@pytest.mark.parametrize("table, chance, match", [
    (pd.DataFrame({"invariance": ["a"], "stitching_mean": [1.0]}), None, "it lacks"),
    ("table", None, "Got str instead"),
    (None, np.nan, "'chance' parameter"),
])
def test_plot_anchor_curve_bad_input(table, chance, match):
    from skinvariance._compat import InvalidParameterError
    from skinvariance.plotting import plot_anchor_curve

    if table is None:
        table = pd.DataFrame({"anchors": [1], "invariance": ["a"], "stitching_mean": [0.5],
                              "stitching_std": [0.0], "non_stitched_mean": [0.9]})
    with pytest.raises(InvalidParameterError, match=match):
        plot_anchor_curve(table, chance=chance)
