"""Emulator fixtures and media shared by the emulator's own tests and the integration tests."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
from typing import Any

import pytest

from tarash.emulator import Emulator, Latency
from tarash.emulator.runway import CLIENT_TEST_LENIENCY, RunwayOptions
from tarash.tarash_gateway.models import VideoGenerationConfig

FAST = Latency(queue_seconds=0.05, run_seconds=0.15)

#: The strict emulator's leniencies for the client's known wire bugs, which the client's
#: integration tests meet today (each is listed, with what the provider says instead, in
#: its options class's ``known_client_bugs``). Runway: a text-only gen4_turbo goes to
#: text_to_video, and the retired gen3a_turbo is still sent. Remove each when fixed.
CLIENT_WIRE_BUGS = [RunwayOptions(lenient=CLIENT_TEST_LENIENCY)]


def tiny_png() -> bytes:
    """A valid 2x2 RGB PNG, built by hand."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        return struct.pack(">I", len(data)) + kind + data + crc

    rows = b"".join(b"\x00" + b"\x00\x80\xff" * 2 for _ in range(2))
    header = struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def emulated_video_config(
    emu: Emulator, provider: str, model: str, **kwargs: Any
) -> VideoGenerationConfig:
    """A video config aimed at the emulator's ``provider`` API, polling every 50 ms."""
    return VideoGenerationConfig(
        provider=provider,
        model=model,
        base_url=emu.base_url(provider),
        api_key=emu.api_key(provider),
        poll_interval=0.05,
        **kwargs,
    )


@pytest.fixture(scope="module")
def shared_emu() -> Iterator[Emulator]:
    """One emulator per test module (startup is milliseconds, but sharing is cheaper)."""
    with Emulator(latency=FAST) as emu:
        yield emu


@pytest.fixture
def emu(shared_emu: Emulator) -> Iterator[Emulator]:
    """The module's emulator, faults cleared and fast latency restored around each test."""
    shared_emu.clear_faults()
    shared_emu.latency = FAST
    yield shared_emu
    shared_emu.clear_faults()
    shared_emu.latency = FAST
