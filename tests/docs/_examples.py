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
as in a notebook: it then runs on a fresh asyncio loop.
"""

from __future__ import annotations

import ast
import asyncio
import inspect
import os
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import stamina
from sybil import Example, Sybil
from sybil.evaluators.python import pad
from sybil.parsers.markdown import CodeBlockParser, SkipParser

from tarash.emulator import Emulator, Latency
from tarash.emulator._app import PROVIDERS as EMULATED
from tarash.tarash_gateway.providers import get_provider_class

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = "_tarash_docs_page"

DOCS_LATENCY = Latency(queue_seconds=0.05, run_seconds=0.15)
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
    return env


@pytest.fixture(scope="session")
def _tarash_docs_emulator() -> Iterator[Emulator]:
    """One emulator for every page (faults an example injects are cleared per page)."""
    with Emulator(latency=DOCS_LATENCY) as emu:
        yield emu


@pytest.fixture(scope="module")
def _tarash_docs_page(
    _tarash_docs_emulator: Emulator, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[None]:
    """A page's surroundings: its own working directory, the emulator in the environment,
    no real key or redirect from the developer's shell, and retries that do not sleep."""
    emu = _tarash_docs_emulator
    emu.clear_faults()
    emu.latency = DOCS_LATENCY
    cwd = Path.cwd()
    with pytest.MonkeyPatch.context() as patch:
        for name in _FOREIGN:
            patch.delenv(name, raising=False)
        for name, value in page_environment(emu).items():
            patch.setenv(name, value)
        patch.setattr(socket, "getaddrinfo", _loopback_only(socket.getaddrinfo))
        os.chdir(tmp_path_factory.mktemp("page"))
        stamina.set_testing(True, attempts=10, cap=True)
        try:
            yield
        finally:
            stamina.set_testing(False)
            os.chdir(cwd)
            emu.clear_faults()


sybil = Sybil(
    parsers=[CodeBlockParser(language="python", evaluator=evaluate_python), SkipParser()],
    patterns=["*.md"],
    path=str(ROOT),
    fixtures=[FIXTURE],
)
_collect = sybil.pytest()


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    """The pytest hook (re-exported by the root conftest): one test per example of a page."""
    if not is_example_page(file_path):
        return None
    collected: pytest.Collector | None = _collect(file_path, parent)
    return collected
