"""Plots of stitching and similarity results (needs matplotlib, the ``plot`` extra).

matplotlib is imported when a plot is drawn, never when this module is imported.
"""

from numbers import Real

import numpy as np
import pandas as pd

from ._compat import HasMethods, InvalidParameterError, validate_params
from ._constraints import NumberInterval

__all__ = ["plot_anchor_curve", "plot_invariances", "plot_matrix"]


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError(
            "skinvariance.plotting needs matplotlib, which is installed with the 'plot' extra: "
            'pip install "skinvariance[plot]".'
        ) from exc
    return plt


def _check_colors(function, **colors):
    """Refuse, naming the parameter, what matplotlib does not take for a colour."""
    from matplotlib.colors import is_color_like

    for name, color in colors.items():
        if not is_color_like(color):
            raise InvalidParameterError(
                f"The {name!r} parameter of {function} must be a matplotlib color. Got "
                f"{color!r} instead."
            )


def _axes(ax, figsize):
    if ax is None:
        _, ax = _pyplot().subplots(figsize=figsize)
    else:
        _pyplot()  # the same clear error if matplotlib is missing
    return ax


_AXES = [HasMethods(["imshow", "barh", "set_title"]), None]
_BOUND = [NumberInterval(Real, None, None, closed="neither"), None]


@validate_params(
    {
        "matrix": ["array-like"],
        "ax": _AXES,
        "cmap": "no_validation",  # matplotlib names the colour map it does not know
        "vmin": _BOUND,
        "vmax": _BOUND,
        "annotate": ["boolean"],
        "fmt": [str],
        "colorbar": ["boolean"],
        "title": [str, None],
    },
    prefer_skip_nested_validation=True,
)
def plot_matrix(
    matrix,
    *,
    ax=None,
    cmap="viridis",
    vmin=None,
    vmax=None,
    annotate=True,
    fmt=".2f",
    colorbar=True,
    title=None,
):
    """Draw a stitching or similarity matrix as an annotated heatmap.

    Parameters
    ----------
    matrix : DataFrame or array-like of shape (n_rows, n_columns)
        For instance :meth:`StitchingEvaluator.stitching_matrix
        <skinvariance.StitchingEvaluator.stitching_matrix>` (rows: encoders, columns:
        decoders) or :func:`skinvariance.metrics.similarity_matrix`. A DataFrame's index and
        columns label the axes (their names, such as ``"encoder"`` and ``"decoder"``, become the
        axis labels). NaN cells are left blank.
    ax : matplotlib Axes, default=None
        Where to draw; a new figure by default.
    cmap : str or Colormap, default="viridis"
        The colour map.
    vmin, vmax : float, default=None
        The colour range; by default the finite values' range.
    annotate : bool, default=True
        Whether to write each value in its cell.
    fmt : str, default=".2f"
        Format of the annotations.
    colorbar : bool, default=True
        Whether to add a colour bar.
    title : str, default=None
        The title of the Axes.

    Returns
    -------
    ax : matplotlib Axes
        The Axes drawn on; the heatmap is ``ax.images[0]``.

    See Also
    --------
    plot_invariances : Bar chart of :func:`~skinvariance.compare_invariances`.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import pandas as pd
    >>> from skinvariance.plotting import plot_matrix
    >>> matrix = pd.DataFrame([[0.9, 0.8], [0.7, 0.95]],
    ...                       index=pd.Index(["a", "b"], name="encoder"),
    ...                       columns=pd.Index(["a", "b"], name="decoder"))
    >>> ax = plot_matrix(matrix, title="accuracy")
    >>> ax.get_xlabel(), ax.get_ylabel(), [t.get_text() for t in ax.texts]
    ('decoder', 'encoder', ['0.90', '0.80', '0.70', '0.95'])
    """
    if isinstance(matrix, pd.DataFrame):
        frame = matrix
    else:
        values = np.asarray(matrix, dtype=float)
        if values.ndim != 2:
            raise ValueError(f"matrix must be 2-D; got an array of shape {values.shape} instead.")
        frame = pd.DataFrame(values)
    values = frame.to_numpy(dtype=float)
    ax = _axes(ax, figsize=(1.0 + 0.8 * values.shape[1], 0.8 + 0.7 * values.shape[0]))
    finite = values[np.isfinite(values)]
    if vmin is None and finite.size:
        vmin = float(finite.min())
    if vmax is None and finite.size:
        vmax = float(finite.max())
    image = ax.imshow(np.ma.masked_invalid(values), cmap=cmap, vmin=vmin, vmax=vmax)
    ax.set_xticks(
        np.arange(values.shape[1]), [str(c) for c in frame.columns], rotation=45, ha="right"
    )
    ax.set_yticks(np.arange(values.shape[0]), [str(i) for i in frame.index])
    if frame.columns.name is not None:
        ax.set_xlabel(str(frame.columns.name))
    if frame.index.name is not None:
        ax.set_ylabel(str(frame.index.name))
    if annotate:
        middle = (vmin + vmax) / 2 if finite.size else 0.0
        for (row, column), value in np.ndenumerate(values):
            if np.isfinite(value):
                ax.text(
                    column,
                    row,
                    format(value, fmt),
                    ha="center",
                    va="center",
                    color="black" if value >= middle else "white",
                )
    if colorbar:
        ax.figure.colorbar(image, ax=ax)
    if title is not None:
        ax.set_title(title)
    return ax


# The range of each measure a compare_invariances table can hold, by column name, where it is
# bounded: error bars are clipped to it (a standard deviation does not make a score of 1.02
# or -0.05 possible). Names from skinvariance.metrics' registry in compare_invariances.
_MEASURE_RANGES = {
    "cka": (0.0, 1.0),
    "linear_cka": (0.0, 1.0),
    "rbf_cka": (0.0, 1.0),
    "procrustes": (0.0, 1.0),
    "jaccard": (0.0, 1.0),
    "mrr": (0.0, 1.0),
    "pearson": (-1.0, 1.0),
    "cosine": (-1.0, 1.0),
}
# Ranges of scikit-learn scorers, for the stitching columns (the table's attrs["scorer"]).
_SCORER_PREFIX_RANGES = (
    ("neg_", (-np.inf, 0.0)),
    ("accuracy", (0.0, 1.0)),
    ("balanced_accuracy", (0.0, 1.0)),
    ("top_k_accuracy", (0.0, 1.0)),
    ("f1", (0.0, 1.0)),
    ("precision", (0.0, 1.0)),
    ("recall", (0.0, 1.0)),
    ("jaccard", (0.0, 1.0)),
    ("roc_auc", (0.0, 1.0)),
    ("average_precision", (0.0, 1.0)),
    ("matthews_corrcoef", (-1.0, 1.0)),
    ("r2", (-np.inf, 1.0)),
    ("explained_variance", (-np.inf, 1.0)),
)


def _measure_range(table, measure):
    """``(low, high)`` of ``measure`` in a comparison table, or None when it is not known.

    Unknown: a measure given as a callable under a name of one's own, or the stitching scores
    of a scorer that ``table.attrs["scorer"]`` does not name.
    """
    measure = measure.removesuffix("_mean")
    if measure in ("stitching", "non_stitched"):
        scorer = table.attrs.get("scorer")
        if not isinstance(scorer, str):
            return None
        for prefix, limits in _SCORER_PREFIX_RANGES:
            if scorer.startswith(prefix):
                return limits
        return None
    return _MEASURE_RANGES.get(measure)


def _clipped_errors(means, errors, limits):
    """Lower and upper error-bar lengths, ``mean -/+ std`` clipped to ``limits``."""
    if errors is None:
        return None
    low, high = limits if limits is not None else (-np.inf, np.inf)
    finite = np.isfinite(means)
    if np.any((means[finite] < low) | (means[finite] > high)):
        # a mean outside the range: the range does not apply to this measure
        low, high = -np.inf, np.inf
    lower = means - np.maximum(means - errors, low)
    upper = np.minimum(means + errors, high) - means
    return np.vstack([lower, upper])


@validate_params(
    {
        "table": [pd.DataFrame],
        "measure": [str],
        "ax": _AXES,
        "color": "no_validation",  # _check_colors
        "best_color": "no_validation",
        "title": [str, None],
        "limits": "no_validation",  # checked below, with the measure's range
        "legend": ["boolean"],
    },
    prefer_skip_nested_validation=True,
)
def plot_invariances(
    table,
    measure="stitching",
    *,
    ax=None,
    color="C0",
    best_color="C1",
    title=None,
    limits="auto",
    legend=True,
):
    """Bar chart of a :func:`~skinvariance.compare_invariances` table.

    One bar per invariance: the mean of ``measure`` over space pairs, with an error bar of
    one standard deviation on either side, clipped to the measure's range (an accuracy's
    error bar stops at 0 and 1). The best invariance (column ``best``: the highest
    ``stitching_mean``) is drawn in ``best_color``, whichever measure is drawn, and the
    legend says so.

    Parameters
    ----------
    table : DataFrame
        The output of :func:`~skinvariance.compare_invariances`: columns ``invariance``,
        ``<measure>_mean``, ``<measure>_std`` and optionally ``best``.
    measure : str, default="stitching"
        Which measure to draw: ``"stitching"``, ``"non_stitched"`` or a similarity measure of
        the table (``"cka"``, ``"mrr"``, ...). A trailing ``"_mean"`` is accepted.
    ax : matplotlib Axes, default=None
        Where to draw; a new figure by default.
    color, best_color : color, default="C0", "C1"
        Colours of the bars and of the best invariance's bar.
    title : str, default=None
        The title of the Axes; the measure's name by default.
    limits : "auto", tuple of (float, float) or None, default="auto"
        The range the error bars are clipped to. ``"auto"`` uses the measure's known range
        ([0, 1] for CKA, Jaccard, MRR, Procrustes and an accuracy
        scorer; [-1, 1] for Pearson and cosine; at most 0 for a ``neg_*`` scorer) and does not
        clip a measure whose range is unknown; None never clips. A range that some mean falls
        outside of is ignored.
    legend : bool, default=True
        Whether to draw a legend saying what the colours and the error bars mean.

    Returns
    -------
    ax : matplotlib Axes
        The Axes drawn on; the bars are ``ax.patches``, in table order, and the error bars
        ``ax.collections[0]`` (one segment per bar, from the lower to the upper end).

    See Also
    --------
    plot_matrix : Heatmap of a stitching or similarity matrix.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import pandas as pd
    >>> from skinvariance.plotting import plot_invariances
    >>> table = pd.DataFrame({"invariance": ["absolute", "cosine"],
    ...                       "stitching_mean": [0.3, 0.9], "stitching_std": [0.1, 0.2],
    ...                       "best": [False, True]})
    >>> table.attrs["scorer"] = "accuracy"
    >>> ax = plot_invariances(table)
    >>> [round(float(bar.get_height()), 2) for bar in ax.patches]
    [0.3, 0.9]

    The error bar of the best invariance stops at 1, the highest accuracy:

    >>> [[round(float(end[1]), 2) for end in segment]
    ...  for segment in ax.collections[0].get_segments()]
    [[0.2, 0.4], [0.7, 1.0]]
    >>> for text in ax.get_legend().get_texts():
    ...     print(text.get_text())
    best: cosine (highest stitching_mean)
    other invariances
    ± 1 std over space pairs
    """
    _pyplot()  # the clear error if matplotlib is missing, before anything else
    _check_colors("plot_invariances", color=color, best_color=best_color)
    measure = measure.removesuffix("_mean")
    available = sorted(
        column.removesuffix("_mean") for column in table.columns if column.endswith("_mean")
    )
    if f"{measure}_mean" not in table.columns:
        raise ValueError(
            f"The 'measure' parameter of plot_invariances must be one of {available} (the "
            f"measures of table). Got {measure!r} instead."
        )
    if "invariance" not in table.columns:
        raise ValueError("table must have an 'invariance' column, as compare_invariances makes.")
    if isinstance(limits, str) and limits == "auto":
        limits = _measure_range(table, measure)
    elif limits is not None:
        try:
            low, high = (float(v) for v in limits)
        except (TypeError, ValueError):
            low = high = np.nan
        if not low <= high:  # also False for NaN
            raise ValueError(
                "The 'limits' parameter of plot_invariances must be 'auto', None or a pair "
                f"(low, high) with low <= high. Got {limits!r} instead."
            )
        limits = (low, high)
    means = table[f"{measure}_mean"].to_numpy(dtype=float)
    std_column = f"{measure}_std"
    errors = table[std_column].to_numpy(dtype=float) if std_column in table.columns else None
    best = (
        table["best"].to_numpy(dtype=bool)
        if "best" in table.columns
        else np.zeros(len(table), dtype=bool)
    )
    ax = _axes(ax, figsize=(1.5 + 0.7 * len(table), 4.0))
    positions = np.arange(len(table))
    ax.bar(
        positions,
        means,
        yerr=_clipped_errors(means, errors, limits),
        color=[best_color if flag else color for flag in best],
        capsize=3,
        error_kw={"ecolor": "black", "elinewidth": 1.0},
    )
    ax.set_xticks(positions, [str(name) for name in table["invariance"]], rotation=45, ha="right")
    ax.set_xlabel("invariance")
    ax.set_ylabel(f"{measure}\n(mean over space pairs)")
    # An Axes that shares its y axis with a neighbour has its tick labels hidden by
    # plt.subplots(sharey=True); every bar chart keeps its own.
    ax.tick_params(axis="y", labelleft=True)
    ax.set_title(measure if title is None else title)
    if legend:
        _legend(ax, table, best, color, best_color, errors is not None)
    return ax


def _legend(ax, table, best, color, best_color, has_errors):
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles = []
    if best.any():
        names = ", ".join(str(name) for name in table.loc[best, "invariance"])
        selected_by = table.attrs.get("selected_by", "stitching_mean")
        handles.append(Patch(color=best_color, label=f"best: {names} (highest {selected_by})"))
        handles.append(Patch(color=color, label="other invariances"))
    if has_errors:
        handles.append(
            Line2D(
                [],
                [],
                color="black",
                linewidth=1.0,
                marker="_",
                markersize=8,
                label="± 1 std over space pairs",
            )
        )
    if handles:
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)


@validate_params(
    {
        "table": "no_validation",  # checked below, naming the columns it lacks
        "chance": [Real, None],
        "ax": _AXES,
        "figsize": [tuple],
        "title": [str, None],
    },
    prefer_skip_nested_validation=True,
)
def plot_anchor_curve(table, *, chance=None, ax=None, figsize=(6.4, 4.0), title=None):
    """Stitching against the number of anchors, per invariance: the anchor curve.

    One line per invariance through its mean zero-shot score at each anchor count (a band of
    one standard deviation around it), the non-stitched ceiling (the best ``non_stitched_mean``
    at each count, dashed) and chance (dotted), when given. Answers "how many anchors do I
    need?" (see :ref:`matching`).

    Parameters
    ----------
    table : DataFrame
        The output of :func:`~skinvariance.compare_invariances` with a list of ``anchors``:
        columns ``anchors``, ``invariance``, ``stitching_mean``, ``stitching_std`` and
        ``non_stitched_mean``.
    chance : float, default=None
        The score of a decoder that guesses (for instance the share of the most frequent
        class); not drawn when None.
    ax : matplotlib Axes, default=None
        Where to draw; a new figure of ``figsize`` by default.
    figsize : tuple of (float, float), default=(6.4, 4.0)
        The size of a new figure, in inches.
    title : str, default=None
        The title; the pairing (``table.attrs["pairing"]``) by default.

    Returns
    -------
    ax : matplotlib Axes
        The Axes drawn on; one line per invariance (``ax.lines``, in table order), then the
        ceiling and chance.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import pandas as pd
    >>> from skinvariance.plotting import plot_anchor_curve
    >>> table = pd.DataFrame({"anchors": [10, 10, 100, 100],
    ...                       "invariance": ["cosine", "affine"] * 2,
    ...                       "stitching_mean": [0.4, 0.3, 0.8, 0.9],
    ...                       "stitching_std": [0.05] * 4,
    ...                       "non_stitched_mean": [0.95] * 4})
    >>> ax = plot_anchor_curve(table, chance=0.1)
    >>> [line.get_label() for line in ax.lines]
    ['cosine', 'affine', 'non-stitched (best)', 'chance']
    """
    needed = {"anchors", "invariance", "stitching_mean", "stitching_std", "non_stitched_mean"}
    if not isinstance(table, pd.DataFrame) or not needed <= set(table.columns):
        raise InvalidParameterError(
            "The 'table' parameter of plot_anchor_curve must be a compare_invariances table "
            f"with the columns {sorted(needed)} (pass a list of anchor counts). Got "
            f"{type(table).__name__} instead."
            if not isinstance(table, pd.DataFrame) else
            "The 'table' parameter of plot_anchor_curve must be a compare_invariances table "
            f"with the columns {sorted(needed)} (pass a list of anchor counts); it lacks "
            f"{sorted(needed - set(table.columns))}."
        )
    if chance is not None and not (isinstance(chance, Real) and np.isfinite(chance)):
        raise InvalidParameterError(
            "The 'chance' parameter of plot_anchor_curve must be a finite float or None. Got "
            f"{chance!r} instead."
        )
    ax = _axes(ax, figsize)
    for name, rows in table.groupby("invariance", sort=False):
        rows = rows.sort_values("anchors")
        x = rows["anchors"].to_numpy(dtype=float)
        mean = rows["stitching_mean"].to_numpy(dtype=float)
        std = np.nan_to_num(rows["stitching_std"].to_numpy(dtype=float))
        (line,) = ax.plot(x, mean, marker="o", label=str(name))
        ax.fill_between(x, mean - std, mean + std, color=line.get_color(), alpha=0.15,
                        linewidth=0)
    ceiling = table.groupby("anchors")["non_stitched_mean"].max().sort_index()
    ax.plot(ceiling.index.to_numpy(dtype=float), ceiling.to_numpy(), color="0.3",
            linestyle="--", label="non-stitched (best)")
    if chance is not None:
        ax.axhline(chance, color="0.5", linestyle=":", label="chance")
    ax.set_xlabel("known anchors")
    ax.set_ylabel("zero-shot stitching")
    pairing = table.attrs.get("pairing")
    ax.set_title(title if title is not None else
                 f"Stitching against anchors{f' (pairing={pairing})' if pairing else ''}")
    ax.legend(fontsize="small")
    return ax
