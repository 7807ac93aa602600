"""Tables for people (Markdown, ``mean ± std`` cells, the answer first) and for programs
(CSV, JSON: every column of :func:`~skinvariance.compare_invariances`, in its order)."""

import numpy as np
import pandas as pd

from .._markdown import markdown_table

__all__ = ["compare_markdown", "render"]


def _cells(table, measure):
    mean, std = table[f"{measure}_mean"], table[f"{measure}_std"]
    return ["" if np.isnan(m) else f"{m:.3f} ± {s:.3f}" for m, s in zip(mean, std)]


def _decoders(table):
    """``(column or None, footer or None)``: a decoder shared by every row is said once
    below the table; otherwise the column names only the rows that differ from the most
    common one, which the footer names."""
    if "decoder" not in table.columns:  # without labels: nothing is decoded
        return None, None
    decoders = table["decoder"].astype(str)
    shared = decoders.value_counts().index[0]
    if (decoders == shared).all():
        return None, f"Decoder of every row: {shared}."
    column = np.where(decoders == shared, "", decoders)
    return column, f"Decoder: {shared}, except where the decoder column names another."


def compare_markdown(table):
    """The compare table for people: the answer first (``invariance``, ``stitching``,
    ``non_stitched``, ``best``), then ``kind`` and the measures, one ``mean ± std`` cell
    each, names whole; a decoder shared by every row is said once, below the table."""
    measures = [column.removesuffix("_mean") for column in table.columns
                if column.endswith("_mean")]
    # The answer: stitching when it was scored, else the measure that picked the best row.
    selected = table.attrs.get("selected_by", "").removesuffix("_mean")
    answer = [m for m in ("stitching", "non_stitched") if m in measures]
    if not answer and selected in measures:
        answer = [selected]
    columns = {"anchors": table["anchors"]} if "anchors" in table.columns else {}
    columns["invariance"] = table["invariance"]
    columns.update({measure: _cells(table, measure) for measure in answer})
    columns["best"] = np.where(table["best"], "**best**", "")
    decoder, footer = _decoders(table)
    if decoder is not None:
        columns["decoder"] = decoder
    columns["kind"] = table["kind"]
    columns.update({m: _cells(table, m) for m in measures if m not in answer})
    text = markdown_table(pd.DataFrame(columns))
    return text if footer is None else f"{text}\n\n{footer}"


def render(table, fmt, *, markdown=compare_markdown):
    """``table`` as text in the format ``fmt`` (``"markdown"``, ``"csv"`` or ``"json"``)."""
    if fmt == "csv":
        return table.to_csv(index=False)
    if fmt == "json":
        return table.to_json(orient="records", indent=2) + "\n"
    return markdown(table) + "\n"
