"""Ctrl-C raised inside a batch's own tasks (by ``on_event`` or by the input's iterator).

Each request of a batch runs in a task of its own; a ``KeyboardInterrupt`` raised there
must reach the caller as a ``KeyboardInterrupt`` with every job cancelled remotely, and
must not stop tarash's private event loop (which, under the sync twins, asyncio would let
it do, leaving the caller a ``concurrent.futures.CancelledError`` and the jobs running).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import anyio
import pytest

from tarash.emulator import Emulator, Latency
from tarash.tarash_gateway import BatchEvent, generate_video, generate_videos
from tarash.tarash_gateway.models import VideoGenerationRequest
from tests._emulator import emulated_video_config

SLOW = Latency(queue_seconds=0.0, run_seconds=30.0)


def requests(count: int) -> list[VideoGenerationRequest]:
    return [VideoGenerationRequest(prompt=f"shot {n}", duration_seconds=4) for n in range(count)]


def nothing_left_running(emu: Emulator, submitted_before: int, cancelled_before: int) -> None:
    for _ in range(100):
        if emu.stats().running == 0:
            break
        time.sleep(0.02)
    stats = emu.stats()
    assert stats.running == 0
    assert stats.submitted - submitted_before > 0
    assert stats.cancelled - cancelled_before == stats.submitted - submitted_before


def test_keyboard_interrupt_from_on_event(emu: Emulator) -> None:
    emu.latency = SLOW
    config = emulated_video_config(emu, "fal", "fal-ai/veo3")
    before = emu.stats()
    seen: list[str] = []

    def on_event(event: BatchEvent) -> None:
        seen.append(event.kind)
        if seen.count("submitted") == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        for _ in generate_videos(config, requests(6), concurrency=3, on_event=on_event):
            pass
    nothing_left_running(emu, before.submitted, before.cancelled)
    # The private loop lives on.
    emu.latency = Latency(queue_seconds=0.0, run_seconds=0.05)
    assert generate_video(config, requests(1)[0]).provider == "fal"


def test_keyboard_interrupt_from_the_input(emu: Emulator) -> None:
    emu.latency = SLOW
    config = emulated_video_config(emu, "fal", "fal-ai/veo3")
    before = emu.stats()

    async def stopped_midway() -> AsyncIterator[VideoGenerationRequest]:
        for request in requests(3):
            yield request
        # Read on the batch's loop: wait there (not blocking it) until the jobs started.
        for _ in range(250):
            if emu.stats().submitted - before.submitted >= 3:
                break
            await anyio.sleep(0.02)
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        for _ in generate_videos(config, stopped_midway(), concurrency=4):
            pass
    nothing_left_running(emu, before.submitted, before.cancelled)


def test_keyboard_interrupt_outranks_an_error_raised_while_the_batch_stops(emu: Emulator) -> None:
    """on_event raises KeyboardInterrupt for one request while another request's callback,
    held until then, fails with RuntimeError as the batch stops: the caller gets the
    KeyboardInterrupt (the user asked to stop), and every job is cancelled remotely."""
    emu.latency = SLOW
    config = emulated_video_config(emu, "fal", "fal-ai/veo3")
    before = emu.stats()
    gate = anyio.Event()
    failed: list[int] = []

    held = anyio.Event()

    async def on_event(event: BatchEvent) -> None:
        if event.kind == "submitted" and event.index == 2:
            with anyio.CancelScope(shield=True):
                await held.wait()  # another request's callback is waiting to fail
            gate.set()
            raise KeyboardInterrupt
        if event.kind == "queued" and event.index == 3:
            # Held (shielded from the batch's stop) until the Ctrl-C, then failing.
            held.set()
            with anyio.CancelScope(shield=True):
                await gate.wait()
            failed.append(event.index)
            raise RuntimeError("the dashboard is down")

    with pytest.raises(KeyboardInterrupt):
        for _ in generate_videos(config, requests(4), concurrency=4, on_event=on_event):
            pass
    assert failed == [3]  # the ordinary error was raised after the Ctrl-C
    nothing_left_running(emu, before.submitted, before.cancelled)
