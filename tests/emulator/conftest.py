"""Fixtures for the emulator's own tests: one shared server, plus fresh ones on demand."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tarash.emulator import Emulator, Latency

FAST = Latency(queue_seconds=0.05, run_seconds=0.15)


@pytest.fixture
def anyio_backend() -> str:
    """Async tests run on asyncio."""
    return "asyncio"


@pytest.fixture(scope="module")
def shared_emu() -> Iterator[Emulator]:
    """One emulator per test module (startup is milliseconds, but sharing is cheaper)."""
    with Emulator(latency=FAST) as emu:
        yield emu


@pytest.fixture
def emu(shared_emu: Emulator) -> Iterator[Emulator]:
    """The module's emulator with no faults armed and the fast latency restored."""
    shared_emu.clear_faults()
    shared_emu.latency = FAST
    yield shared_emu
    shared_emu.clear_faults()
    shared_emu.latency = FAST


@pytest.fixture
def fresh_emu() -> Iterator[Emulator]:
    """A private emulator, for tests that assert exact totals."""
    with Emulator(latency=FAST) as emu:
        yield emu


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    """A plain httpx client (no retries: every response is visible to the test)."""
    with httpx.Client(timeout=10) as http:
        yield http
