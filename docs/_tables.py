"""Tables of the documentation that are generated, never kept by hand.

From the package (the kernel registry, the command's parser and its real output) and from the
benchmarks' result files. ``conf.py`` writes them under ``generated/`` before the build; pages
``.. include::`` them.
"""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"


def _list_table(header, rows, *, widths=None, css_class=None):
    lines = [".. list-table::", "   :header-rows: 1"]
    if widths:
        lines.append("   :widths: " + " ".join(str(w) for w in widths))
    if css_class:
        lines.append(f"   :class: {css_class}")
    lines.append("")
    for row in [header, *rows]:
        first, *rest = row
        lines.append(f"   * - {first}")
        lines += [f"     - {cell}" for cell in rest]
    return "\n".join(lines) + "\n"


def kernel_table_rst():
    """The registry's kernels: name, aliases, kind, formula and accuracy."""
    from skinvariance.kernels import kernel_table

    table = kernel_table()
    rows = [
        (
            f"``{name}``",
            ", ".join(f"``{a.strip()}``" for a in row["aliases"].split(",") if a.strip()) or "",
            row["kind"],
            f"``{row['formula']}``",
            row["accuracy"],
        )
        for name, row in table.iterrows()
    ]
    return _list_table(
        ("name", "aliases", "kind", "value for sample x, anchor a", "accuracy (any magnitude)"),
        rows,
    )


def invariance_table_rst():
    """Yes/no table: which transformation each registered kernel is invariant to."""
    from skinvariance.kernels import kernel_table

    table = kernel_table()
    invariances = {
        name: [s.strip() for s in row["invariant to"].split(",") if s.strip()]
        for name, row in table.iterrows()
    }
    transforms = list(dict.fromkeys(t for names in invariances.values() for t in names))
    rows = [
        (t, *("yes" if t in invariances[name] else "no" for name in table.index))
        for t in transforms
    ]
    header = ("transformation", *(f"``{name}``" for name in table.index))
    return _list_table(header, rows, css_class="invariance-table")


def cli_reference_rst():
    """Every ``skinvariance`` sub-command with its ``--help`` text, from the parser itself."""
    import argparse
    import os

    from skinvariance.cli import build_parser

    columns = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "80"  # argparse wraps to the terminal width: make it fixed
    try:
        parser = build_parser()
        (commands,) = (
            action for action in parser._actions if isinstance(action, argparse._SubParsersAction)
        )
        lines = []
        for name, subparser in commands.choices.items():
            title = f"skinvariance {name} --help"
            lines += [title, "-" * len(title), "", ".. code-block:: text", ""]
            lines += [f"   {line}".rstrip() for line in subparser.format_help().splitlines()]
            lines.append("")
    finally:
        if columns is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = columns
    return "\n".join(lines) + "\n"


def _mean_std(mean, std, digits=2):
    return f"{mean:.{digits}f} ± {std:.{digits}f}"


def zoo_stitching_table_rst(dataset="digits", score="accuracy"):
    """Zero-shot stitching per invariance and zoo factor, from the zoo benchmark's results."""
    import pandas as pd

    results = pd.read_csv(RESULTS / "zoo_stitching.csv")
    results = results[(results["dataset"] == dataset) & (results["score"] == score)]
    factors = list(dict.fromkeys(results["factor"]))
    columns = list(dict.fromkeys(results["column"]))
    cell = {
        (row.column, row.factor): _mean_std(row.mean, row.std)
        for row in results.itertuples(index=False)
    }
    rows = [(c, *(cell[(c, f)] for f in factors)) for c in columns]
    return _list_table(("invariance", *factors), rows, css_class="results-table")


def zoo_similarity_table_rst(dataset="digits", factor="initialization"):
    """The similarity measures per invariance for one zoo, from the zoo benchmark's results."""
    import pandas as pd

    results = pd.read_csv(RESULTS / "zoo_similarity.csv")
    results = results[(results["dataset"] == dataset) & (results["factor"] == factor)]
    measures = list(dict.fromkeys(results["measure"]))
    invariances = list(dict.fromkeys(results["invariance"]))
    cell = {
        (row.invariance, row.measure): _mean_std(row.mean, row.std)
        for row in results.itertuples(index=False)
    }
    rows = [(i, *(cell[(i, m)] for m in measures)) for i in invariances]
    return _list_table(("invariance", *measures), rows, css_class="results-table")


# The command the command-line page shows with its output (run at every build).
CLI_COMPARE = ["compare", "--quiet"]


def cli_compare_output_rst():
    """The Markdown table ``skinvariance compare --quiet`` prints, run now, as a reST table."""
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", COLUMNS="80")
    completed = subprocess.run(
        [sys.executable, "-m", "skinvariance", *CLI_COMPARE],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0 or completed.stderr.strip():
        raise RuntimeError(
            f"skinvariance {' '.join(CLI_COMPARE)} failed (status {completed.returncode}) "
            f"or wrote to standard error:\n{completed.stderr}"
        )
    lines = [line for line in completed.stdout.splitlines() if line.startswith("|")]
    cells = [[cell.strip() for cell in line.strip("|").split("|")] for line in lines]
    header, _separator, *rows = cells
    # "mean ± std" and long column names on two lines, so that the ten columns fit the page
    header = [_two_lines(name, "_") if "_" in name[:-1] else name for name in header]
    rows = [
        [_two_lines(cell, " ± ") if " ± " in cell else cell or " " for cell in row] for row in rows
    ]
    return _list_table(header, rows, css_class="cli-output")


def _two_lines(cell, separator):
    """A reST line block of ``cell`` cut after the first ``separator`` (which stays)."""
    head, tail = cell.split(separator, 1)
    if separator == "_":
        head += "\\_"  # escaped: "word_" is a reference in reST
    else:
        tail = f"{separator.strip()} {tail}"
    return f"| {head}\n       | {tail}"


def measure_table_rst():
    """The measure registry: the names ``metric=`` accepts, short names, range, symmetry."""
    from skinvariance.metrics import measure_table

    table = measure_table()
    rows = [
        (
            f":func:`~skinvariance.metrics.{name}`",
            ", ".join(f"``{a.strip()}``" for a in row["aliases"].split(",") if a.strip()),
            row["range"],
            "yes" if row["symmetric"] else "no",
            "yes" if row["same width"] else "no",
            "yes" if row["fast null"] else "no",
        )
        for name, row in table.iterrows()
    ]
    header = ("measure", "short names", "range", "symmetric", "equal widths", "fast null")
    return _list_table(header, rows, widths=(28, 14, 18, 12, 12, 12))


def write_tables(directory):
    """Write every generated table into ``directory`` (only files whose text changed)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in {
        "kernel_table.inc": kernel_table_rst(),
        "invariance_table.inc": invariance_table_rst(),
        "measure_table.inc": measure_table_rst(),
        "cli_reference.inc": cli_reference_rst(),
        "cli_compare_output.inc": cli_compare_output_rst(),
        "zoo_stitching_table.inc": zoo_stitching_table_rst(),
        "zoo_similarity_table.inc": zoo_similarity_table_rst(),
    }.items():
        path = directory / name
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
