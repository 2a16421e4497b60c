"""What the rooms' layer contract does not check: the data layer's load-time cycles, where
its imports sit, the I/O the package installs for it, and the imports made inside functions.

The rooms themselves (each imports only the rooms below it, inside functions too) are an
import-linter contract in ``pyproject.toml`` (``[tool.importlinter]``), run by
``lint-imports`` in CI's lint step; so is the emulator's independence. That contract lets
the modules of one room import each other, so a cycle inside the data layer is caught
here. Imports inside functions are allowed only for optional extras: a function-level
import is how an upward import or a cycle gets hidden.

The import graph is read from the source with :mod:`ast`. Run this file as a script
(``python -m tests.unit.test_import_layers``) to print the load-time import cycles of the
whole package and the imports of tarash modules made inside functions.
"""

from __future__ import annotations

import ast
import tomllib
from collections.abc import Iterator
from pathlib import Path

import tarash.tarash_gateway as gateway
from tarash.tarash_gateway._response_io import response_io

PACKAGE = "tarash.tarash_gateway"
ROOT = Path(gateway.__file__).parent


def _data_layer() -> frozenset[str]:
    """The data layer's modules, read from the rooms contract in ``pyproject.toml`` (its
    layer holding ``models``): one list of them, the contract's."""
    config = tomllib.loads((ROOT.parents[1] / "pyproject.toml").read_text("utf-8"))
    contracts = config["tool"]["importlinter"]["contracts"]
    rooms = next(contract for contract in contracts if contract["id"] == "rooms")
    rooms_modules = [[name.strip() for name in layer.split(":")] for layer in rooms["layers"]]
    data = next(names for names in rooms_modules if "models" in names)
    return frozenset(f"{PACKAGE}.{name}" for name in data)


# The data models, the error tree, the checks they run on their fields, the seam their
# save() reaches its I/O through, the audio models' re-export, the internal unions.
DATA = _data_layer()


def _module_name(path: Path) -> str:
    parts = [PACKAGE, *path.relative_to(ROOT).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(path): path for path in sorted(ROOT.rglob("*.py"))}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(body: list[ast.stmt], *, deep: bool) -> Iterator[ast.Import | ast.ImportFrom]:
    """The imports run when ``body`` runs (none under ``if TYPE_CHECKING``); with ``deep``,
    those inside its functions and classes too."""
    for node in body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        elif isinstance(node, ast.If):
            if not _is_type_checking(node):
                yield from _imports(node.body, deep=deep)
            yield from _imports(node.orelse, deep=deep)
        elif isinstance(node, ast.Try):
            for block in (node.body, node.orelse, node.finalbody):
                yield from _imports(block, deep=deep)
            for handler in node.handlers:
                yield from _imports(handler.body, deep=deep)
        elif isinstance(node, ast.With) or (
            deep and isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
        ):
            yield from _imports(node.body, deep=deep)


def _targets(module: str, node: ast.Import | ast.ImportFrom) -> set[str]:
    """The package's modules an import statement loads (the deepest module each names)."""
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    else:
        base = node.module or ""
        if node.level:
            package = module.split(".")
            if MODULES[module].name != "__init__.py":
                package = package[:-1]
            package = package[: len(package) - node.level + 1]
            base = ".".join([*package, base] if base else package)
        # As import-linter reads it: ``from pkg import name`` imports ``pkg.name`` when that
        # is a module, else ``pkg`` (the parent packages any import also runs not counted).
        names = [f"{base}.{alias.name}" for alias in node.names]
    found = set()
    for name in names:
        while name and name not in MODULES:
            name = name.rpartition(".")[0]
        if name and name != module:
            found.add(name)
    return found


def import_graph(*, deep: bool = False) -> dict[str, set[str]]:
    """Each module -> the package's modules it imports when it loads (``deep``: at all)."""
    graph = {}
    for module, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        graph[module] = {
            target for node in _imports(tree.body, deep=deep) for target in _targets(module, node)
        }
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_no_load_time_cycle_holds_a_data_module() -> None:
    """No data module is in an import cycle when the package loads."""
    assert [cycle for cycle in cycles(import_graph()) if DATA & set(cycle)] == []


def test_data_modules_import_at_their_top() -> None:
    """No import sits below a data module's first class or function (an import at the
    bottom of a module is how a cycle gets closed)."""
    late = []
    for module in sorted(DATA):
        seen_definition = False
        for node in ast.parse(MODULES[module].read_text(encoding="utf-8")).body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                seen_definition = True
            elif seen_definition and isinstance(node, ast.Import | ast.ImportFrom):
                late.append(f"{module}:{node.lineno}")
    assert late == []


def test_the_package_installs_the_io_a_response_saves_through() -> None:
    """Loading the package installs the download, the sync portal and the download headers
    that a response's save() reaches through the seam."""
    from tarash.tarash_gateway.engine._sync import run_sync
    from tarash.tarash_gateway.media import save_media

    assert response_io.save_media is save_media
    assert response_io.run_sync is run_sync
    assert callable(response_io.download_headers_of)


# The imports of tarash modules that may run inside a function: each is of an optional
# extra, which the module's load must not need (a comment at each says so).
OPTIONAL_EXTRA_IMPORTS = frozenset(
    {
        # the cli extra (typer, rich): `tarash` says how to install it instead of failing
        ("tarash.tarash_gateway.cli", "tarash.tarash_gateway.cli._app"),
        ("tarash.tarash_gateway.cli", "tarash.tarash_gateway.cli._output"),
        ("tarash.tarash_gateway.cli", "tarash.tarash_gateway.cli._signals"),
        # the emulator extra (starlette, uvicorn): `tarash emulator` and its options
        ("tarash.tarash_gateway.cli._emulator", "tarash.emulator"),
        ("tarash.tarash_gateway.cli._emulator", "tarash.emulator._app"),
        ("tarash.tarash_gateway.cli._emulator", "tarash.emulator.__main__"),
    }
)

TARASH = ROOT.parent


def _in_functions(body: list[ast.stmt]) -> Iterator[ast.Import | ast.ImportFrom]:
    """The imports inside the functions (and methods) of ``body``, type-only ones apart."""
    for node in ast.walk(ast.Module(body=body, type_ignores=[])):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield from _imports(node.body, deep=True)


def function_level_imports() -> set[tuple[str, str]]:
    """``(module, imported)`` for each import of a tarash module made inside a function,
    anywhere under ``tarash/`` (the emulator included); relative imports resolved."""
    found = set()
    for path in sorted(TARASH.rglob("*.py")):
        parts = ["tarash", *path.relative_to(TARASH).with_suffix("").parts]
        module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in _in_functions(tree.body):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                names = [".".join([*base, node.module] if node.module else base)]
            else:
                names = [node.module or ""]
            found |= {(module, name) for name in names if name.split(".")[0] == "tarash"}
    return found


def test_imports_inside_functions_are_only_of_optional_extras() -> None:
    """No tarash module is imported inside a function but an optional extra's (the cli's
    typer and rich, the emulator): an upward import or a cycle is fixed, not hidden."""
    assert function_level_imports() == OPTIONAL_EXTRA_IMPORTS


if __name__ == "__main__":
    for cycle in cycles(import_graph()):
        print(len(cycle), " ".join(cycle))
    print("imports of tarash modules inside functions:")
    for module, imported in sorted(function_level_imports()):
        print(f"  {module} -> {imported}")
