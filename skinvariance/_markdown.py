"""Markdown tables, for the command line's output and the benchmarks' result files."""

import numpy as np

__all__ = ["markdown_table"]


def markdown_table(table, *, floatfmt=".3g"):
    """A DataFrame as a Markdown table (missing cells blank), without extra dependencies.

    Examples
    --------
    >>> import pandas as pd
    >>> from skinvariance._markdown import markdown_table
    >>> print(markdown_table(pd.DataFrame({"kernel": ["l1"], "ratio": [0.51234]})))
    | kernel | ratio |
    |---|---|
    | l1 | 0.512 |
    """

    def cell(value):
        if isinstance(value, float):
            return "" if np.isnan(value) else format(value, floatfmt)
        return str(value)

    header = [str(column) for column in table.columns]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    for record in table.itertuples(index=False):
        lines.append("| " + " | ".join(cell(value) for value in record) + " |")
    return "\n".join(lines)
