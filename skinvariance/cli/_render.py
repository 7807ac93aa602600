"""Tables for people (Markdown, ``mean ± std`` cells) and for programs (CSV, JSON)."""

import numpy as np
import pandas as pd

from .._markdown import markdown_table

__all__ = ["compare_markdown", "render"]


def compare_markdown(table):
    """The compare table for people: one ``mean ± std`` cell per measure."""
    columns = {"invariance": table["invariance"], "kind": table["kind"]}
    if "decoder" in table.columns:  # not without labels: nothing is decoded
        columns["decoder"] = table["decoder"]
    for column in table.columns:
        if column.endswith("_mean"):
            measure = column[: -len("_mean")]
            std = table[f"{measure}_std"]
            columns[measure] = [
                "" if np.isnan(m) else f"{m:.3f} ± {s:.3f}" for m, s in zip(table[column], std)
            ]
    columns["best"] = np.where(table["best"], "**best**", "")
    return markdown_table(pd.DataFrame(columns))


def render(table, fmt, *, markdown=compare_markdown):
    """``table`` as text in the format ``fmt`` (``"markdown"``, ``"csv"`` or ``"json"``)."""
    if fmt == "csv":
        return table.to_csv(index=False)
    if fmt == "json":
        return table.to_json(orient="records", indent=2) + "\n"
    return markdown(table) + "\n"
