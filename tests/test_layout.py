"""The shape of the package (docs/code_layout.rst): imports go one way, with no circle, and no
module or function grows past what a reader can hold.

Imports are read from the source with ``ast``: module-level ones and those inside functions
(a function-level import hides a dependency, it does not remove it), absolute and relative.
"""

import ast
from pathlib import Path

import pytest

import skinvariance

PACKAGE_ROOT = Path(skinvariance.__file__).parent
MAX_MODULE_LINES = 600
MAX_FUNCTION_LINES = 80

#: The bottom layer and what sits above it (docs/code_layout.rst, "Layers").
BOTTOM = ("exceptions", "_validation", "_parallel", "_compat", "_constraints", "_dask",
          "_streaming", "_markdown", "_registry", "kernels")
ABOVE = ("projection", "alignment", "decoders", "metrics", "stitching", "io", "cli", "datasets",
         "plotting")


def _module_files(root):
    """{dotted module name: path} for every module of the package under ``root``."""
    modules = {}
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join(parts)] = path
    return modules


def imports_of(name, path, modules):
    """The package's modules that module ``name`` imports, anywhere in its source.

    ``from package import name`` depends on the submodule ``package.name`` when there is one,
    else on ``package`` (whose ``__init__`` defines ``name``).
    """
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module
            for alias in node.names:
                submodule = f"{target}.{alias.name}"
                found.add(submodule if submodule in modules else target)
    return {module for module in found if module in modules and module != name}


def import_graph(root):
    modules = _module_files(root)
    return {name: imports_of(name, path, modules) for name, path in modules.items()}


def import_cycles(graph):
    """One circle (as a closed path of modules) per strongly connected component."""
    index, low, stack, on_stack, cycles = {}, {}, [], set(), []

    def visit(node):  # Tarjan's algorithm
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(_closed_path(graph, component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return cycles


def _closed_path(graph, component):
    """A shortest path from the component's first module back to itself, inside it."""
    start = min(component)
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for target in sorted(graph[node] & component):
                if target == start:
                    return paths[node] + [start]
                if target not in paths:
                    paths[target] = paths[node] + [target]
                    following.append(target)
        frontier = following
    raise AssertionError(f"no closed path in {component}")


def sklearn_imports(path):
    """[(module, name, private)] of every scikit-learn name a file imports; ``private`` when the
    name or a module on its path starts with ``_`` (``sklearn.utils._param_validation``)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.ImportFrom) and not node.level:
            module, names = node.module, [alias.name for alias in node.names]
        elif isinstance(node, ast.Import):
            for alias in node.names:
                module, _, name = alias.name.rpartition(".")
                found += _sklearn_names(module, [name])
            continue
        else:
            continue
        found += _sklearn_names(module, names)
    return found


def _sklearn_names(module, names):
    parts = module.split(".")
    if parts[0] != "sklearn":
        return []
    private_module = any(part.startswith("_") for part in parts)
    return [(module, name, private_module or name.startswith("_")) for name in names]


def top_level_definitions(root):
    """{name: [module, ...]} of every function and class defined at a module's top level."""
    found = {}
    for module, path in _module_files(root).items():
        for node in ast.parse(path.read_text(), filename=str(path)).body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                found.setdefault(node.name, []).append(module)
    return found


def function_lengths(path):
    """[(qualified name, lines of body without its docstring)] of every function in a file."""
    lengths = []

    def visit(node, prefix):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                body = child.body
                if (isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
                        and isinstance(body[0].value.value, str)):
                    body = body[1:]
                lines = child.end_lineno - body[0].lineno + 1 if body else 0
                lengths.append((f"{prefix}{child.name}", lines))
                visit(child, f"{prefix}{child.name}.")
            elif isinstance(child, ast.ClassDef):
                visit(child, f"{prefix}{child.name}.")
            else:
                visit(child, prefix)

    visit(ast.parse(path.read_text(), filename=str(path)), "")
    return lengths


# -- the checks on the package -----------------------------------------------------------------


@pytest.fixture(scope="module")
def graph():
    return import_graph(PACKAGE_ROOT)


def test_no_import_circle(graph):
    cycles = import_cycles(graph)
    assert not cycles, "import circles:\n" + "\n".join(" -> ".join(c) for c in cycles)


def test_no_module_over_600_lines():
    long = {name: len(path.read_text().splitlines())
            for name, path in _module_files(PACKAGE_ROOT).items()}
    long = {name: lines for name, lines in long.items() if lines > MAX_MODULE_LINES}
    assert not long, f"modules over {MAX_MODULE_LINES} lines: {long}"


def test_no_function_body_over_80_lines():
    long = {f"{name}.{function}": lines
            for name, path in _module_files(PACKAGE_ROOT).items()
            for function, lines in function_lengths(path) if lines > MAX_FUNCTION_LINES}
    assert not long, f"function bodies over {MAX_FUNCTION_LINES} lines: {long}"


def test_private_sklearn_helpers_come_through_compat_only():
    outside = {name: [f"{module}.{imported}" for module, imported, private in
                      sklearn_imports(path) if private]
               for name, path in _module_files(PACKAGE_ROOT).items()
               if name != "skinvariance._compat"}
    outside = {name: imports for name, imports in outside.items() if imports}
    assert not outside, f"scikit-learn's private helpers imported outside _compat: {outside}"


def test_compat_holds_private_helpers_only(graph):
    compat = PACKAGE_ROOT / "_compat.py"
    public = [f"{module}.{name}" for module, name, private in sklearn_imports(compat)
              if not private]
    assert not public, f"_compat imports public names (import them where used): {public}"
    assert not graph["skinvariance._compat"], "_compat imports from the package"


#: Names defined by more than one module, each with its reason. Any other name defined twice
#: is one concept under two implementations, or two concepts under one name.
SHARED_NAMES = {
    "add_parser": "the subcommand protocol: each cli module adds its own sub-parser",
    "run": "the subcommand protocol: each cli module runs its own subcommand",
    "row_blocks": "kernels.row_blocks is the public, validated form of _parallel.row_blocks",
}


def test_one_name_per_concept():
    twice = {name: modules for name, modules in top_level_definitions(PACKAGE_ROOT).items()
             if len(modules) > 1 and name not in SHARED_NAMES}
    assert not twice, f"defined in more than one module: {twice}"


def test_validation_imports_nothing_of_the_package_but_compat(graph):
    assert graph["skinvariance._validation"] <= {"skinvariance._compat", "skinvariance.exceptions"}
    assert not graph["skinvariance.exceptions"]


def _layer(module, layers):
    """The top-level part of ``module`` among ``layers`` (``skinvariance.x.y`` -> ``x``)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in layers else None


def upward_imports(graph):
    """(module, target) pairs where the bottom layer imports from above it (the package's
    ``__init__``, which imports every layer, counts as above)."""
    return sorted(
        (module, target)
        for module, targets in graph.items() if _layer(module, BOTTOM)
        for target in targets if _layer(target, ABOVE) or target == "skinvariance"
    )


def test_nothing_below_imports_from_above(graph):
    upward = upward_imports(graph)
    assert not upward, "the bottom layer imports from above it: " + ", ".join(
        f"{module} -> {target}" for module, target in upward
    )


# -- the checks check what they say ------------------------------------------------------------


def _package(tmp_path, files):
    root = tmp_path / "skinvariance"
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def test_the_walk_finds_every_kind_of_import(tmp_path):
    root = _package(tmp_path, {
        "__init__.py": "from skinvariance.b import f\n__version__ = '1'\n",
        "a.py": "def g():\n    from . import b\n    from .sub.c import h\n",
        "b.py": "import skinvariance.sub.c\nfrom skinvariance import __version__\n",
        "sub/__init__.py": "",
        "sub/c.py": "def h():\n    if True:\n        from ..a import g\n    from .. import b\n",
    })
    assert import_graph(root) == {
        "skinvariance": {"skinvariance.b"},
        "skinvariance.a": {"skinvariance.b", "skinvariance.sub.c"},
        "skinvariance.b": {"skinvariance.sub.c", "skinvariance"},
        "skinvariance.sub": set(),
        "skinvariance.sub.c": {"skinvariance.a", "skinvariance.b"},
    }
    cycles = import_cycles(import_graph(root))
    assert len(cycles) == 1  # one component: the package, a, b and c import each other
    cycle = cycles[0]
    assert cycle[0] == cycle[-1] and len(cycle) >= 3
    graph = import_graph(root)
    assert all(b in graph[a] for a, b in zip(cycle, cycle[1:]))


def test_an_in_function_circle_of_two_is_reported(tmp_path):
    root = _package(tmp_path, {
        "__init__.py": "",
        "x.py": "from .y import f\n",
        "y.py": "def f():\n    from .x import g\n",
    })
    assert import_cycles(import_graph(root)) == [["skinvariance.x", "skinvariance.y",
                                                  "skinvariance.x"]]


def test_function_lengths_leave_out_the_docstring(tmp_path):
    body = "\n".join(f"    x{i} = {i}" for i in range(81))
    root = _package(tmp_path, {
        "m.py": f'def long():\n    """Doc\n\n    string."""\n{body}\n\n'
                f'class C:\n    def short(self):\n        """Doc."""\n        return 1\n'
                f'    def only_doc(self):\n        """Doc."""\n',
    })
    assert function_lengths(root / "m.py") == [("long", 81), ("C.short", 1), ("C.only_doc", 0)]


def test_sklearn_imports_tell_private_from_public(tmp_path):
    root = _package(tmp_path, {
        "m.py": "import sklearn.utils._chunking\nfrom sklearn.base import _fit_context, clone\n"
                "from sklearn.utils._param_validation import Interval\nimport numpy\n"
                "def f():\n    from sklearn.utils.validation import check_is_fitted\n"
                "    from . import sklearn\n",
    })
    assert sorted(sklearn_imports(root / "m.py")) == [
        ("sklearn.base", "_fit_context", True),
        ("sklearn.base", "clone", False),
        ("sklearn.utils", "_chunking", True),
        ("sklearn.utils._param_validation", "Interval", True),
        ("sklearn.utils.validation", "check_is_fitted", False),
    ]


def test_top_level_definitions_leave_out_methods_and_nested_functions(tmp_path):
    root = _package(tmp_path, {
        "a.py": "def f():\n    def g():\n        pass\nclass C:\n    def f(self):\n"
                "        pass\n",
        "sub/b.py": "def f():\n    pass\nasync def h():\n    pass\n",
    })
    assert top_level_definitions(root) == {
        "f": ["skinvariance.a", "skinvariance.sub.b"], "C": ["skinvariance.a"],
        "h": ["skinvariance.sub.b"],
    }


def test_upward_imports_are_found():
    graph = {
        "skinvariance": {"skinvariance.metrics"},
        "skinvariance.kernels._driver": {"skinvariance._parallel", "skinvariance.metrics._cka"},
        "skinvariance._dask": {"skinvariance"},
        "skinvariance._parallel": {"skinvariance._compat"},
        "skinvariance.metrics._cka": {"skinvariance.kernels", "skinvariance.stitching"},
    }
    assert upward_imports(graph) == [
        ("skinvariance._dask", "skinvariance"),
        ("skinvariance.kernels._driver", "skinvariance.metrics._cka"),
    ]
