"""Fixtures for the emulator's own tests: one shared server, plus fresh ones on demand."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests._emulator import emu as emu
from tests._emulator import fresh_emu as fresh_emu
from tests._emulator import shared_emu as shared_emu


@pytest.fixture
def anyio_backend() -> str:
    """Async tests run on asyncio."""
    return "asyncio"


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    """A plain httpx client (no retries: every response is visible to the test)."""
    with httpx.Client(timeout=10) as http:
        yield http
