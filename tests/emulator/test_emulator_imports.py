"""The emulator is written from the providers' protocols, not from the client's tables.

If the emulator imported a value table from ``tarash.tarash_gateway`` (an enum of aspect
ratios, a model list), a wrong client table would be accepted by the emulator too and no
test would notice. Its only client import is the shared sample-media builder (the same
valid PNG/MP4 bytes the mock provider serves). This scan reads every module's source, so
it also sees imports inside functions and relative ones, and needs no import of the
package (importing the sample-media module loads the whole client package anyway).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import tarash.emulator

#: The client modules the emulator may import: the sample-media builder only.
ALLOWED_CLIENT_MODULES = frozenset({"tarash.tarash_gateway._sample_media"})

EMULATOR_DIR = Path(tarash.emulator.__file__).parent


def _is_allowed(module: str) -> bool:
    """A module the emulator may import: not tarash's, the emulator's own, or allowed."""
    if module != "tarash" and not module.startswith("tarash."):
        return True
    if module == "tarash.emulator" or module.startswith("tarash.emulator."):
        return True
    return module in ALLOWED_CLIENT_MODULES


def _statement_imports(node: ast.AST, package: str) -> list[str] | None:
    """The modules one statement imports (each must be allowed), or None when ``node``
    is no import."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom):
        if node.level:
            parts = package.split(".")
            parts = parts[: len(parts) - (node.level - 1)]
            module = ".".join([*parts, node.module] if node.module else parts)
        else:
            module = node.module or ""
        if _is_allowed(module):
            return [module]
        # ``from pkg import name`` names either an attribute of ``pkg`` or its submodule
        # ``pkg.name``: allowed only when every name is an allowed submodule.
        return [f"{module}.{alias.name}" for alias in node.names]
    if (
        isinstance(node, ast.Call)
        and node.args
        and isinstance(node.args[0], ast.Constant)
        and isinstance(node.args[0].value, str)
        and (
            (isinstance(node.func, ast.Name) and node.func.id == "__import__")
            or (isinstance(node.func, ast.Attribute) and node.func.attr == "import_module")
        )
    ):
        return [node.args[0].value]
    return None


def _client_imports(root: Path) -> list[str]:
    """``file:line: statement`` for every import under the package at ``root`` of a tarash
    module outside it that is not allowed, inside functions and relative ones included."""
    offending: list[str] = []
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root.parent.parent)
        # Relative imports resolve against the module's package (``__init__``'s own).
        package = ".".join(relative.with_suffix("").parts[:-1])
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            modules = _statement_imports(node, package)
            if modules is not None and not all(map(_is_allowed, modules)):
                offending.append(f"{relative}:{getattr(node, 'lineno', 0)}: {ast.unparse(node)}")
    return offending


def test_the_emulator_imports_no_client_module_but_the_sample_media() -> None:
    """No module of tarash.emulator imports from tarash_gateway but the sample-media builder."""
    assert _client_imports(EMULATOR_DIR) == []


@pytest.mark.parametrize(
    "source",
    [
        "from tarash.tarash_gateway.providers.stability_models import ASPECT_RATIOS\n",
        "import tarash.tarash_gateway.providers.runway_models\n",
        "from tarash.tarash_gateway import models\n",
        "from ..tarash_gateway.providers import openai_models\n",
        "def later():\n    from tarash.tarash_gateway import errors\n",
        "import importlib\nimportlib.import_module('tarash.tarash_gateway.registry')\n",
        "from tarash.tarash_gateway._sample_media import make_png\nimport tarash.tarash_gateway\n",
    ],
)
def test_the_scan_finds_a_client_import(tmp_path: Path, source: str) -> None:
    """The scan flags a client table import however it is written (absolute, relative,
    inside a function, through importlib), even next to the allowed one."""
    root = tmp_path / "tarash" / "emulator"
    root.mkdir(parents=True)
    (root / "__init__.py").write_text("")
    (root / "fake.py").write_text(source)
    assert len(_client_imports(root)) == 1


@pytest.mark.parametrize(
    "source",
    [
        "from tarash.tarash_gateway._sample_media import make_mp4, make_png\n",
        "from tarash.tarash_gateway import _sample_media\n",
        "from tarash.emulator import _wire as wire\n",
        "from ._jobs import Job\n",
        "import httpx\n",
    ],
)
def test_the_scan_allows_the_emulator_and_the_sample_media(tmp_path: Path, source: str) -> None:
    """The emulator's own modules, third-party ones and the sample-media builder pass."""
    root = tmp_path / "tarash" / "emulator"
    root.mkdir(parents=True)
    (root / "__init__.py").write_text("")
    (root / "fake.py").write_text(source)
    assert _client_imports(root) == []
