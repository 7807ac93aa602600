"""Generate the API reference from the public modules' ``__all__``.

The page lists exactly the names the package exports, so it can neither miss a new public
name nor document one that does not exist. ``conf.py`` calls :func:`write_api_page` when the
build starts; autosummary then writes one page per name under ``generated/``.
"""

import importlib
import importlib.util
import inspect
from pathlib import Path

# (module, section title), in reading order. The text of each section is the module's docstring.
SECTIONS = [
    ("skinvariance.projection", "Relative projections"),
    ("skinvariance.kernels", "Kernels"),
    ("skinvariance.anchors", "Anchors"),
    ("skinvariance.alignment", "Alignment"),
    ("skinvariance.matching", "Few or no parallel anchors"),
    ("skinvariance.decoders", "Learned aggregation decoders"),
    ("skinvariance.metrics", "Similarity between latent spaces"),
    ("skinvariance.stitching", "Zero-shot stitching and invariance selection"),
    ("skinvariance.spaces", "Several spaces at once"),
    ("skinvariance.io", "Reading and writing spaces; large data"),
    ("skinvariance.datasets", "Datasets"),
    ("skinvariance.plotting", "Plotting"),
    ("skinvariance.exceptions", "Exceptions"),
]


def _available(module):
    """Whether ``module`` exists in the installed package (modules land one at a time)."""
    return importlib.util.find_spec(module) is not None


def public_names():
    """Return ``{module: [name, ...]}`` for every public module that exists."""
    out = {}
    for module, _ in SECTIONS:
        if not _available(module):
            continue
        mod = importlib.import_module(module)
        names = getattr(mod, "__all__", None)
        if names is None:
            names = [
                name
                for name, obj in vars(mod).items()
                if not name.startswith("_")
                and (inspect.isclass(obj) or inspect.isfunction(obj))
                and obj.__module__ == module
            ]
        out[module] = sorted(names, key=lambda n: (not inspect.isclass(getattr(mod, n)), n))
    return out


HEADER = """\
.. This page is written by docs/_api.py at every build; edit that file, not this one.

.. _api:

=============
API reference
=============

Every public name, one page each, grouped by module. The main estimators and functions are
also importable from the package itself (``from skinvariance import RelativeProjection``);
``skinvariance.kernels``, ``skinvariance.metrics``, ``skinvariance.datasets``,
``skinvariance.io`` and ``skinvariance.plotting`` are meant to be imported as modules
(``skinvariance.outofcore``, the first path of ``skinvariance.io``'s out-of-core names, is
deprecated: importing from it warns).
The command line is described in :doc:`user_guide/cli`.

"""


def write_api_page(path):
    """Write the API reference page to ``path`` (only if its text changed)."""
    names = public_names()
    lines = [HEADER]
    for module, title in SECTIONS:
        if module not in names or not names[module]:
            continue
        lines += [
            title,
            "-" * len(title),
            "",
            f".. automodule:: {module}",
            "   :no-members:",
            "",
            f".. currentmodule:: {module}",
            "",
            ".. autosummary::",
            "   :toctree: generated/",
            # the sidebar groups the pages by module under the same titles as this page
            f"   :caption: {title}",
            "   :nosignatures:",
            "",
        ]
        for name in names[module]:
            lines.append(f"   {name}")
        lines.append("")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "\n".join(lines) + "\n"
    if not path.exists() or path.read_text() != text:
        path.write_text(text)
