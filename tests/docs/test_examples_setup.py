"""How the docs' examples are collected and run (tests/docs/_examples.py)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from tarash.emulator import Emulator
from tarash.emulator._app import PROVIDERS as EMULATED
from tests.docs._examples import ROOT, _loopback_only, is_example_page, page_environment


def test_readme_and_every_page_under_docs_are_collected_new_ones_included() -> None:
    assert is_example_page(ROOT / "README.md")
    assert is_example_page(ROOT / "docs" / "index.md")
    assert is_example_page(ROOT / "docs" / "providers" / "a-page-added-later.md")
    assert not is_example_page(ROOT / "docs" / "_hooks.py")
    assert not is_example_page(ROOT / "tests" / "README.md")
    assert not is_example_page(Path("/elsewhere/docs/index.md"))


def test_every_current_page_is_found() -> None:
    pages = sorted(path for path in (ROOT / "docs").rglob("*.md") if is_example_page(path))
    assert ROOT / "docs" / "quickstart.md" in pages
    assert len(pages) >= 20


def test_every_emulated_provider_is_pointed_at_the_emulator_with_a_key() -> None:
    with Emulator() as emu:
        env = page_environment(emu)
    for name in EMULATED:
        assert env[f"TARASH_{name.upper()}_BASE_URL"].startswith("http://127.0.0.1:")
    assert {"FAL_KEY", "REPLICATE_API_TOKEN", "OPENAI_API_KEY", "STABILITY_API_KEY"} <= set(env)


def test_an_example_naming_a_real_host_fails_offline() -> None:
    resolve = _loopback_only(socket.getaddrinfo)
    assert resolve("127.0.0.1", 80)
    with pytest.raises(socket.gaierror, match=r"stay offline: api\.example"):
        resolve("api.example", 443)
