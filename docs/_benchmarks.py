"""Publish the benchmark results (``benchmarks/results/*.md``) as pages of the site.

Each results file, written by a script of ``benchmarks/``, becomes one page under
``benchmarks/`` (``conf.py`` calls :func:`write_benchmark_pages` when the build starts), so
that the site shows every result the documentation cites and a new results file is published
without editing anything. A page is the Markdown file itself, included as is, with the label
``benchmarks_<file stem>`` for ``:ref:`` links.
"""

from pathlib import Path

PAGE = """\
.. This page is written by docs/_benchmarks.py at every build from
   benchmarks/results/{stem}.md; edit that file (or rerun its benchmark), not this one.

.. _benchmarks_{stem}:

.. include:: ../../benchmarks/results/{stem}.md
   :parser: myst_parser.sphinx_
"""


def write_benchmark_pages(results, directory):
    """Write one page per ``results/*.md`` into ``directory`` (only pages whose text changed)
    and remove pages whose results file is gone. Return the stems, sorted."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    stems = sorted(path.stem for path in Path(results).glob("*.md"))
    for stem in stems:
        path = directory / f"{stem}.rst"
        text = PAGE.format(stem=stem)
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
    for path in directory.glob("*.rst"):
        if path.stem not in stems:
            path.unlink()
    return stems
