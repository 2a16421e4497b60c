"""The data layer (models, errors, media types) imports nothing above it and sits in no cycle;
each room imports only the rooms below it, but for the crossings listed here.

The import graph is read from the source with :mod:`ast`. Run this file as a script
(``python -m tests.unit.test_import_layers``) to print the load-time import cycles of the
whole package and the count of imports of tarash modules made inside functions.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import tarash.tarash_gateway as gateway
from tarash.tarash_gateway._response_io import response_io

PACKAGE = "tarash.tarash_gateway"
ROOT = Path(gateway.__file__).parent

# The bottom layer: the data models (with the mock's configuration and the audio models, and
# the re-export left where the audio models lived), the error tree, the checks they run on
# their fields, and the seam their save() reaches its I/O through.
DATA = frozenset(
    f"{PACKAGE}.{name}"
    for name in ("models", "errors", "_validate", "_retry_after", "_response_io", "_audio_models")
)


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
        names = [base, *(f"{base}.{alias.name}" for alias in node.names)]
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


def test_data_layer_imports_only_the_data_layer() -> None:
    """models, errors and the modules beneath them import no tarash module above the data
    layer, at load time or inside a function (type-only imports apart)."""
    graph = import_graph(deep=True)
    upward = {module: sorted(graph[module] - DATA) for module in sorted(DATA)}
    assert upward == {module: [] for module in sorted(DATA)}


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


# The rooms, bottom up: a module may import its own room and the rooms below it. The
# published doors into compat (mock, exceptions, registry, providers.field_mappers and the
# mock client) sit with the public face; the cli beside it, above everything.
ROOMS = ("data", "engine", "providers", "compat", "routing", "batch", "face", "cli")
_DOORS = frozenset(
    f"{PACKAGE}.{name}"
    for name in ("mock", "exceptions", "registry", "providers.field_mappers", "providers.mock")
)
_FACE = frozenset(f"{PACKAGE}.{name}" for name in ("api", "router", "media", "testing")) | {PACKAGE}

# The imports that still cross the rooms upward (docs/architecture.md says why each is
# there); the list only shrinks: a new crossing fails, and so does one that is gone.
KNOWN_CROSSINGS = frozenset(
    {
        # nominal: ``from tarash.tarash_gateway import errors`` names the package
        ("batch._batch_codec", ""),
        ("batch._batch_run", "router"),
        ("compat._handler", "api"),
        ("compat._handler", "mock"),
        ("compat._handler", "routing._jobs"),
        ("compat._handler", "routing._metadata"),
        ("providers", "compat._handler"),
        ("providers._spec", "media"),
        ("providers._spec", "providers.field_mappers"),
        ("providers.google", "media"),
        ("providers.openai", "media"),
        ("providers.stability", "media"),
        ("providers.xai", "media"),
        ("routing._attempt", "media"),
        ("routing._attempt", "providers.mock"),
    }
)


def room_of(module: str) -> str:
    """The room a module of the package lives in."""
    if module in DATA or module == f"{PACKAGE}._sample_media":
        return "data"
    if module in _FACE or module in _DOORS:
        return "face"
    first = module.removeprefix(f"{PACKAGE}.").split(".")[0]
    if first in ("engine", "routing", "batch", "compat", "cli"):
        return first
    assert first in ("providers", "_adapt"), module
    return "providers"


def _short(module: str) -> str:
    return module.removeprefix(PACKAGE).removeprefix(".")


def test_rooms_import_only_the_rooms_below_them() -> None:
    """Each room imports its own room and those below it, at load time or inside a function,
    but for the known crossings (type-only imports apart)."""
    graph = import_graph(deep=True)
    upward = {
        (_short(module), _short(target))
        for module, targets in graph.items()
        for target in targets
        if ROOMS.index(room_of(target)) > ROOMS.index(room_of(module))
    }
    assert upward == KNOWN_CROSSINGS


def _function_level_imports() -> int:
    """Imports of tarash modules made inside functions (or under TYPE_CHECKING), counted as
    ``grep -rn "^\\s\\+from tarash\\|^\\s\\+import tarash" tarash`` counts them."""
    lines = (
        line
        for path in ROOT.parent.rglob("*.py")
        for line in path.read_text(encoding="utf-8").splitlines()
    )
    return sum(
        1
        for line in lines
        if line[:1].isspace() and line.lstrip().startswith(("from tarash", "import tarash"))
    )


if __name__ == "__main__":
    for cycle in cycles(import_graph()):
        print(len(cycle), " ".join(cycle))
    print("function-level imports of tarash modules:", _function_level_imports())
