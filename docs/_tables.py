"""Tables of the documentation that are generated, never kept by hand.

From the package (the kernel registry, the command's parser and its real output) and from the
benchmarks' result files. ``conf.py`` writes them under ``generated/`` before the build; pages
``.. include::`` them.
"""

import os
import re
import subprocess
import sys
import tempfile
import textwrap
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
# The command "Your own embeddings" shows, run on the files its code writes (the same zoo,
# saved the same way), in a folder of its own.
OWN_FILES = ("model_a.npy", "model_b.npy", "model_c.npy")
CLI_COMPARE_FILES = ["compare", *OWN_FILES, "--labels", "labels.npy"]
# A line of the command's output that reports a duration ("Took 4.5 s"), which changes
# from run to run and is left out of the pages.
_DURATION = re.compile(r"\b\d+(\.\d+)? ?s\b")


def _run_cli(argv, cwd):
    """Standard output of ``python -m skinvariance argv`` run in ``cwd`` with this checkout's
    package; an error if it fails or writes to standard error."""
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", COLUMNS="80")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    completed = subprocess.run(
        [sys.executable, "-m", "skinvariance", *argv],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0 or completed.stderr.strip():
        raise RuntimeError(
            f"skinvariance {' '.join(argv)} failed (status {completed.returncode}) "
            f"or wrote to standard error:\n{completed.stderr}"
        )
    return completed.stdout


def _markdown_table_rst(stdout):
    """The Markdown table of the command's output as a reST table."""
    lines = [line for line in stdout.splitlines() if line.startswith("|")]
    cells = [[cell.strip() for cell in line.strip("|").split("|")] for line in lines]
    header, _separator, *rows = cells
    # "mean ± std" on two lines, so that the columns fit the page; names stay whole
    rows = [
        [_two_lines(cell, " ± ") if " ± " in cell else cell or " " for cell in row] for row in rows
    ]
    return _list_table(header, rows, css_class="cli-output")


def cli_compare_output_rst():
    """The Markdown table ``skinvariance compare --quiet`` prints, run now, as a reST table."""
    stdout = _run_cli(CLI_COMPARE, ROOT)
    # the line below the table that names the decoder shared by the rows
    notes = [line for line in stdout.splitlines() if line.startswith("Decoder")]
    return _markdown_table_rst(stdout) + "".join(f"\n{line}\n" for line in notes)


def own_embeddings_cli_output_rst():
    """``skinvariance compare model_a.npy ... --labels labels.npy``, run now on the files the
    page "Your own embeddings" writes: its table, then its other lines (but durations)."""
    import numpy as np

    from skinvariance.datasets import make_model_zoo

    zoo = make_model_zoo(factors="architecture", n_models=4, random_state=0)
    with tempfile.TemporaryDirectory() as folder:
        for name, Z in zip(OWN_FILES, zoo.spaces.values()):
            np.save(Path(folder) / name, Z.astype(np.float32))
        np.save(Path(folder) / "labels.npy", zoo.target)
        stdout = _run_cli(CLI_COMPARE_FILES, folder)
    summary = [
        line
        for line in stdout.splitlines()
        if line.strip() and not line.startswith("|") and not _DURATION.search(line)
    ]
    # wrapped to the column of code on the pages (docs/_check_site.py)
    wrapped = [
        part for line in summary for part in textwrap.wrap(line, 66, subsequent_indent="  ")
    ]
    block = [".. code-block:: text", "", *(f"   {line}" for line in wrapped)]
    return _markdown_table_rst(stdout) + "\n" + "\n".join(block) + "\n"


def _two_lines(cell, separator):
    """A reST line block of ``cell`` cut after the first ``separator`` (which stays)."""
    head, tail = cell.split(separator, 1)
    if separator == "_":
        head += "\\_"  # escaped: "word_" is a reference in reST
    else:
        tail = f"{separator.strip()} {tail}"
    return f"| {head}\n       | {tail}"


def measure_table_rst():
    """The measure registry: the names ``metric=`` accepts, short names, range, symmetry,
    and the numeric contract."""
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
            row["scale-free"],
            row["at any magnitude"],
        )
        for name, row in table.iterrows()
    ]
    header = ("measure", "short names", "range", "symmetric", "equal widths", "fast null",
              "scale-free", "at any magnitude")
    return _list_table(header, rows, widths=(22, 10, 14, 8, 8, 8, 10, 20))


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
        "own_embeddings_cli_output.inc": own_embeddings_cli_output_rst(),
        "zoo_stitching_table.inc": zoo_stitching_table_rst(),
        "zoo_similarity_table.inc": zoo_similarity_table_rst(),
    }.items():
        path = directory / name
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
