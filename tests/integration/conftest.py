"""Fixtures for the integration tests: the emulator every client test talks to.

The client's tests run against the strict emulator with only the leniencies for the
client's known wire bugs (``CLIENT_WIRE_BUGS``); the emulator's own tests run strict.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tarash.emulator import Emulator
from tests._emulator import CLIENT_WIRE_BUGS, FAST
from tests._emulator import emu as emu


@pytest.fixture(scope="module")
def shared_emu() -> Iterator[Emulator]:
    """One emulator per test module, lenient only about the client's known wire bugs."""
    with Emulator(latency=FAST, options=CLIENT_WIRE_BUGS) as emulator:
        yield emulator
