"""Tables of the documentation that are generated from the package, never kept by hand.

``conf.py`` writes them under ``generated/`` before the build; pages ``.. include::`` them.
"""

from pathlib import Path


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
    """The registry's kernels: name, aliases, kind and formula."""
    from skinvariance.kernels import kernel_table

    table = kernel_table()
    rows = [
        (
            f"``{name}``",
            ", ".join(f"``{a.strip()}``" for a in row["aliases"].split(",") if a.strip()) or "",
            row["kind"],
            f"``{row['formula']}``",
        )
        for name, row in table.iterrows()
    ]
    return _list_table(("name", "aliases", "kind", "value for sample x, anchor a"), rows)


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


def write_tables(directory):
    """Write every generated table into ``directory`` (only files whose text changed)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in {
        "kernel_table.inc": kernel_table_rst(),
        "invariance_table.inc": invariance_table_rst(),
        "cli_reference.inc": cli_reference_rst(),
    }.items():
        path = directory / name
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
