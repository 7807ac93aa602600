"""Sphinx configuration for the skinvariance documentation.

Build with ``bash docs/build.sh`` (or ``python -m sphinx -W --keep-going -b html docs
docs/_build/html``). The build works offline: no inventory, font or data is fetched, and
the pages it writes load nothing from the network either: formulas are MathML written at build
time (``_mathml.py``), and ``docs/build.sh`` fails if a page loads a script or stylesheet
from elsewhere.
"""

import importlib
import os
import re
import sys
from pathlib import Path

import skinvariance

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(DOCS))  # the local helpers: _api, _tables, _benchmarks, _gallery

# -- Project -----------------------------------------------------------------------------------

project = "skinvariance"
author = "The skinvariance developers"
copyright = "the skinvariance developers, BSD-3-Clause licence"
release = skinvariance.__version__
version = ".".join(release.split(".")[:2])

# -- General -----------------------------------------------------------------------------------

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "_mathml",  # formulas as MathML at build time (docs/_mathml.py): no script, no network
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "myst_parser",
]
# No intersphinx: the build must not reach the network. External names (numpy, pandas,
# scikit-learn) are written as plain text or ``code``; see ``nitpick_ignore_regex``.

html_math_renderer = "mathml"

templates_path = ["_templates"]
# sg_execution_times.rst: sphinx-gallery's timing pages load jQuery and DataTables from CDNs;
# they are not written (``write_computation_times`` below), and a stale copy is not built.
exclude_patterns = [
    "_build",
    "Thumbs.db",
    ".DS_Store",
    "**.ipynb_checkpoints",
    "sg_execution_times.rst",
    "auto_examples/sg_execution_times.rst",
]
source_suffix = {".rst": "restructuredtext"}
root_doc = "index"
default_role = "literal"
pygments_style = "sphinx"
add_module_names = False
# Curly quotes and ellipses, but leave "--" alone: command-line options are spelled with it.
smartquotes_action = "qe"

# A reference that does not resolve is a warning, hence an error under ``-W``.
nitpicky = True
nitpick_ignore_regex = [
    # Names from other projects (no intersphinx, so they cannot resolve).
    (
        r"py:.*",
        r"(numpy|np|scipy|pandas|pd|sklearn|joblib|numba|matplotlib|dask|distributed|pyarrow"
        r"|threadpoolctl)(\..*)?",
    ),
    (r"py:.*", r"(dict|list|tuple|str|int|float|bool|object|callable|None|type|Path)"),
    (r"py:.*", r"(os|pathlib|collections|typing)\..*"),
]

# -- autodoc / autosummary / numpydoc ----------------------------------------------------------

autosummary_generate = True
autosummary_imported_members = False
autodoc_default_options = {"members": True}
autodoc_typehints = "none"

numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True
numpydoc_xref_param_type = True
# Only the aliases below become links: every other word of a type stays plain text.
numpydoc_xref_ignore = "all"


def _xref_aliases():
    """Link the project's own names in parameter types; leave the rest as text.

    numpydoc's default aliases point into other projects' inventories (``python:None``,
    ``numpy:array_like``), which an offline build cannot resolve, so each is mapped to itself
    (plain text).
    """
    from _api import public_names
    from numpydoc.xref import DEFAULT_LINKS

    aliases = {name: name for name in DEFAULT_LINKS}
    for module, names in public_names().items():
        for name in names:
            aliases[name] = f"{module}.{name}"
    return aliases


numpydoc_xref_aliases = _xref_aliases()

# api.rst is written from each public module's ``__all__`` before Sphinx looks for sources,
# so the reference lists exactly the names that exist (docs/_api.py).
from _api import write_api_page  # noqa: E402

write_api_page(DOCS / "api.rst")

# Tables generated from the package (the kernel registry), included by the user guide.
from _tables import write_tables  # noqa: E402

write_tables(DOCS / "generated")

# The benchmark results, one page per ``benchmarks/results/*.md``, listed by benchmarks.rst.
from _benchmarks import write_benchmark_pages  # noqa: E402

write_benchmark_pages(ROOT / "benchmarks" / "results", DOCS / "benchmarks")

# -- Markdown (the changelog is CHANGELOG.md, included as is) ----------------------------------

myst_enable_extensions = []
myst_heading_anchors = 3
suppress_warnings = ["myst.header"]

# -- sphinx-gallery ----------------------------------------------------------------------------

os.environ.setdefault("MPLBACKEND", "Agg")

sphinx_gallery_conf = {
    "examples_dirs": str(ROOT / "examples"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "abort_on_example_error": True,
    "doc_module": ("skinvariance",),
    "backreferences_dir": "generated/backreferences",
    "within_subsection_order": "_gallery.example_sort_key",
    "remove_config_comments": True,
    "download_all_examples": False,
    "show_memory": False,
    "min_reported_time": 1,
    "write_computation_times": False,
    # Figures sized for the content column and saved at 150 dpi, plus a 2x copy for
    # high-density screens (docs/_gallery.py).
    "reset_modules": ("_gallery.reset_matplotlib",),
    "image_srcset": ["2x"],
}

# -- HTML --------------------------------------------------------------------------------------

html_theme = "pydata_sphinx_theme"
html_title = f"skinvariance {release}"
html_static_path = ["_static"]
html_css_files = ["custom.css"]
html_show_sourcelink = False
html_theme_options = {
    "navbar_align": "left",
    "show_toc_level": 2,
    "navigation_with_keys": False,
    "header_links_before_dropdown": 6,
    "secondary_sidebar_items": ["page-toc"],
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
}
html_sidebars = {"index": [], "install": [], "quickstart": [], "changelog": []}
html_context = {"default_mode": "light"}


# -- Hooks -------------------------------------------------------------------------------------


def _documented_names():
    """``{id(object): documented name}`` for every public name of the API page.

    Objects are defined in private modules (``skinvariance.stitching._compare``) and
    documented where they are public (``skinvariance.stitching.compare_invariances``).
    """
    from _api import public_names

    documented = {}
    for module, names in public_names().items():
        mod = importlib.import_module(module)
        for name in names:
            documented.setdefault(id(getattr(mod, name)), f"{module}.{name}")
    return documented


def _resolve_reexports(app, env, node, contnode):
    """Resolve ``skinvariance.Name`` (or ``skinvariance.Name.attribute``) to where ``Name`` is
    documented."""
    target = node.get("reftarget", "")
    if node.get("refdomain") != "py" or not target.startswith("skinvariance."):
        return None
    parts = target.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        break
    else:
        return None
    # Walk the attributes, remembering the last public object documented on its own page.
    canonical = None
    for j, attr in enumerate(parts[i:], start=i):
        obj = getattr(obj, attr, None)
        if obj is None:
            return None
        documented = _DOCUMENTED.get(id(obj))
        if documented is not None:
            canonical = ".".join([documented, *parts[j + 1 :]])
    if canonical is None or canonical == target:
        return None
    domain = env.get_domain("py")
    return domain.resolve_xref(
        env, node.get("refdoc"), app.builder, node.get("reftype"), canonical, node, contnode
    )


_DOCUMENTED = _documented_names()

# A numpydoc "name : type" line (Parameters, Returns, Attributes, ...).
_TYPE_LINE = re.compile(r"^(\s*\**[A-Za-z_][\w, *]*\s:\s)(.+)$")
# A word ending in an underscore (``n_features_in_``), which reST would read as a reference.
_TRAILING_UNDERSCORE = re.compile(r"(?<![`\w\\])([A-Za-z]\w*)_(?![\w`])")


def _escape_fitted_names_in_types(app, what, name, obj, options, lines):
    """Let types say ``ndarray of shape (n_features_in_,)`` as scikit-learn's do.

    In reST, ``n_features_in_`` followed by a comma or a parenthesis is a reference to a target
    named ``n_features_in``; in a type it can only mean the fitted attribute, so the underscore
    is escaped before numpydoc renders the docstring.
    """
    for i, line in enumerate(lines):
        match = _TYPE_LINE.match(line)
        if match:
            head, type_ = match.groups()
            lines[i] = head + _TRAILING_UNDERSCORE.sub(r"\1\\_", type_)


def _skip_metadata_request_methods(app, what, name, obj, skip, options):
    """Leave out the ``set_*_request`` methods scikit-learn generates for metadata routing.

    Their docstrings are scikit-learn's and point into its user guide, and every
    scikit-learn estimator has them.
    """
    if name.startswith("set_") and name.endswith("_request"):
        return True
    return None


def setup(app):
    app.connect("missing-reference", _resolve_reexports)
    app.connect("autodoc-skip-member", _skip_metadata_request_methods)
    # Before numpydoc (priority 500) turns the sections into reST.
    app.connect("autodoc-process-docstring", _escape_fitted_names_in_types, priority=400)
