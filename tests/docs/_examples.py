"""How the Markdown pages' Python examples run: sybil, one namespace per page, the emulator.

Every ```` ```python ```` fence in ``README.md`` and ``docs/**/*.md`` is a test. The fences of
one page share a namespace, in page order, so a page reads (and runs) as one tutorial. Shell
commands and output are in ``bash``/``text`` fences, which are not Python and do not run; a
``<!-- skip: next -->`` comment before a fence skips it, for the rare example that truly
cannot run.

Each page runs in a fresh working directory with every provider pointed at one emulator
through ``TARASH_<PROVIDER>_BASE_URL`` and given the emulator's key in the variable the
provider reads (``FAL_KEY``, ``REPLICATE_API_TOKEN``, ...), so an example that calls a
provider reaches the emulator with no edit to its text. A fence may use top-level ``await``,
as in a notebook: it then runs on a fresh asyncio loop. A fence that starts with ``>>>`` is a
doctest: its printed output is checked. Providers and field mappings a page registers are
forgotten after it, so pages cannot leak into each other or into the other tests.
"""

from __future__ import annotations

import ast
import asyncio
import doctest
import inspect
import shutil
import socket
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sybil import Example, Sybil
from sybil.evaluators.python import pad
from sybil.parsers.markdown import CodeBlockParser, PythonCodeBlockParser, SkipParser

from tarash.emulator import Emulator, Latency
from tarash.emulator._app import PROVIDERS as EMULATED
from tarash.emulator.fal import FalOptions
from tarash.tarash_gateway import providers, testing
from tarash.tarash_gateway.providers import field_mappers, get_provider_class

ROOT = Path(__file__).resolve().parents[2]

DOCS_LATENCY = Latency(queue_seconds=0.05, run_seconds=0.15)
# The made-up model ids the pages use to show an unregistered model: the strict emulator
# serves only models its contracts know, so the pages' emulator declares these.
DOCS_MODELS = [FalOptions(media_kinds={"fal-ai/acme-video/v1": "video"})]
"""Short enough that a page of examples runs in well under a second or two."""

# Variables a developer's shell may hold that would send an example somewhere else.
_FOREIGN = (
    "FAL_KEY_ID",
    "FAL_KEY_SECRET",
    "AZURE_OPENAI_AD_TOKEN",
    "AZURE_OPENAI_ENDPOINT",
    "OPENAI_BASE_URL",
    "RUNWAYML_BASE_URL",
    "GOOGLE_API_KEY",
    "GOOGLE_GENAI_USE_VERTEXAI",
    "GOOGLE_CLOUD_PROJECT",
    "GOOGLE_CLOUD_LOCATION",
    "GOOGLE_OAUTH_ACCESS_TOKEN",
    "GOOGLE_APPLICATION_CREDENTIALS",
    "TARASH_EMULATOR_URL",
)


def evaluate_python(example: Example) -> None:
    """Run one fence in the page's namespace; top-level ``await`` runs on a fresh loop."""
    __tracebackhide__ = True
    source = pad(example.parsed, example.line + example.parsed.line_offset)
    code = compile(
        source, example.path, "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT, dont_inherit=True
    )
    namespace: dict[str, Any] = example.namespace
    if code.co_flags & inspect.CO_COROUTINE:
        asyncio.run(eval(code, namespace))
    else:
        exec(code, namespace)
    namespace.pop("__builtins__", None)


def is_example_page(path: Path) -> bool:
    """``README.md`` at the root and every Markdown page under ``docs/`` (new ones included)."""
    try:
        relative = path.resolve().relative_to(ROOT)
    except ValueError:
        return False
    if relative == Path("README.md"):
        return True
    return relative.parts[0] == "docs" and relative.suffix == ".md"


_LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1"})


def _loopback_only(real: Callable[..., Any]) -> Callable[..., Any]:
    """``socket.getaddrinfo`` that resolves loopback names only: an example that names a
    real host fails at once, offline, instead of reaching the internet."""

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else host
        if name is not None and name not in _LOOPBACK:
            raise socket.gaierror(socket.EAI_NONAME, f"the docs' examples stay offline: {name}")
        return real(host, *args, **kwargs)

    return getaddrinfo


def page_environment(emu: Emulator) -> dict[str, str]:
    """Every emulated provider's base URL and key, in the variables tarash reads."""
    env: dict[str, str] = {}
    for name in EMULATED:
        client = get_provider_class(name)
        env[f"TARASH_{name.upper()}_BASE_URL"] = emu.base_url(name)
        env[client.key_env_vars[0]] = emu.api_key(name)
    # Vertex examples authenticate with an access token; the emulator's key stands for one.
    env["GOOGLE_OAUTH_ACCESS_TOKEN"] = emu.api_key("google")
    return env


class _Pages:
    """What every page runs against: one emulator, started with the first page, plus
    each page's environment, working directory and registries, undone after it."""

    def __init__(self) -> None:
        self._emulator: Emulator | None = None
        self._undo: list[Callable[[], None]] = []

    def emulator(self) -> Emulator:
        if self._emulator is None:
            emulator = Emulator(latency=DOCS_LATENCY, options=DOCS_MODELS)
            emulator.start()
            self._emulator = emulator
        return self._emulator

    def setup(self, namespace: dict[str, Any]) -> None:
        """Before a page's first example: surroundings of its own (see the module doc)."""
        emu = self.emulator()
        emu.clear_faults()
        emu.latency = DOCS_LATENCY
        patch = pytest.MonkeyPatch()
        for name in _FOREIGN:
            patch.delenv(name, raising=False)
        for name, value in page_environment(emu).items():
            patch.setenv(name, value)
        patch.setattr(socket, "getaddrinfo", _loopback_only(socket.getaddrinfo))
        workdir = tempfile.mkdtemp(prefix="tarash-docs-")
        patch.chdir(workdir)
        testing.set_testing(True)
        registries = _snapshot_registries()

        def undo() -> None:
            _restore_registries(registries)
            testing.set_testing(False)
            patch.undo()
            shutil.rmtree(workdir, ignore_errors=True)
            emu.clear_faults()

        self._undo.append(undo)

    def teardown(self, namespace: dict[str, Any]) -> None:
        """After a page's last example."""
        while self._undo:
            self._undo.pop()()

    def close(self) -> None:
        """At the end of the session: stop the emulator, if a page started it."""
        if self._emulator is not None:
            self._emulator.stop()
            self._emulator = None


PAGES = _Pages()


_Registries = tuple[dict[str, Any], dict[str, Any], dict[str, Any]]


def _snapshot_registries() -> _Registries:
    return (
        dict(providers._registered),
        dict(providers._written),
        {key: dict(value) for key, value in field_mappers._registered.items()},
    )


def _restore_registries(saved: _Registries) -> None:
    for live, before in zip(
        (providers._registered, providers._written, field_mappers._registered), saved, strict=True
    ):
        live.clear()
        live.update(before)


def _python_parser() -> PythonCodeBlockParser:
    """Python fences: ``>>>`` ones as doctests, the others through :func:`evaluate_python`."""
    parser = PythonCodeBlockParser(
        doctest_optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    )
    parser.codeblock_parser = CodeBlockParser(language="python", evaluator=evaluate_python)
    return parser


sybil = Sybil(
    parsers=[_python_parser(), SkipParser()],
    patterns=["*.md"],
    path=str(ROOT),
    setup=PAGES.setup,
    teardown=PAGES.teardown,
)
_collect = sybil.pytest()


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    """The pytest hook (re-exported by the root conftest): one test per example of a page."""
    if not is_example_page(file_path):
        return None
    collected: pytest.Collector | None = _collect(file_path, parent)
    return collected
