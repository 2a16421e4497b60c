"""Giving up on a hedged race while both racers hold jobs: every job cancelled remotely.

A race has two jobs in flight at once, each in a task of its own; whatever stops it (the
caller's asyncio or trio cancellation, the deadline, a progress callback raising, even a
``KeyboardInterrupt`` from a sync call's callback) must cancel both at the provider and
reach the caller as it would from a chain: unchanged, never an exception group, and
without stopping tarash's private event loop.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import anyio
import pytest
import trio

from tarash.emulator import Emulator, Latency
from tarash.tarash_gateway.errors import TimeoutError as TarashTimeoutError
from tarash.tarash_gateway.models import VideoGenerationConfig, VideoGenerationRequest
from tarash.tarash_gateway.router import HedgePolicy, Router
from tests._emulator import emulated_video_config

REQUEST = VideoGenerationRequest(prompt="a cat", duration_seconds=4)
SLOW = Latency(queue_seconds=0.0, run_seconds=30.0)


def raced(emu: Emulator, **kwargs: object) -> VideoGenerationConfig:
    """fal first, Replicate hedged beside it (``kwargs`` for both: each config's timeout
    bounds its own attempt)."""
    fallback = emulated_video_config(emu, "replicate", "google/veo-3", **kwargs)
    return emulated_video_config(emu, "fal", "fal-ai/veo3", fallback_configs=[fallback], **kwargs)


@pytest.fixture
def router() -> Router:
    return Router(strategy="hedge", hedge=HedgePolicy(after=0.1, max_parallel=2))


def both_jobs_cancelled(emu: Emulator, before: tuple[int, int]) -> None:
    # A remote cancel is sent before the caller sees the error, but the emulator counts
    # the cancel when its request is served: allow it the moment to be.
    for _ in range(100):
        if emu.stats().running == 0:
            break
        time.sleep(0.02)
    stats = emu.stats()
    submitted, cancelled = before
    assert (stats.submitted - submitted, stats.cancelled - cancelled, stats.running) == (2, 2, 0)


def counts(emu: Emulator) -> tuple[int, int]:
    stats = emu.stats()
    return stats.submitted, stats.cancelled


def racing_then(seconds: float) -> Callable[[object], None]:
    """A progress callback that raises KeyboardInterrupt once both racers run."""
    started = time.monotonic()

    def on_progress(update: object) -> None:
        if time.monotonic() - started > seconds:
            raise KeyboardInterrupt

    return on_progress


def test_asyncio_wait_for(emu: Emulator, router: Router) -> None:
    emu.latency = SLOW
    before = counts(emu)

    async def main() -> None:
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(router.generate_video_async(raced(emu), REQUEST), 0.6)

    asyncio.run(main())
    both_jobs_cancelled(emu, before)


def test_trio_cancel_scope(emu: Emulator, router: Router) -> None:
    emu.latency = SLOW
    before = counts(emu)

    async def main() -> None:
        with trio.move_on_after(0.6) as scope:
            await router.generate_video_async(raced(emu), REQUEST)
        assert scope.cancelled_caught

    trio.run(main)
    both_jobs_cancelled(emu, before)


def test_anyio_scope_on_asyncio(emu: Emulator, router: Router) -> None:
    emu.latency = SLOW
    before = counts(emu)

    async def main() -> None:
        with anyio.move_on_after(0.6) as scope:
            await router.generate_video_async(raced(emu), REQUEST)
        assert scope.cancelled_caught

    anyio.run(main)
    both_jobs_cancelled(emu, before)


def test_the_deadline_of_a_sync_call(emu: Emulator, router: Router) -> None:
    emu.latency = SLOW
    before = counts(emu)
    with pytest.raises(TarashTimeoutError) as caught:
        router.generate_video(raced(emu, timeout=0.6), REQUEST)
    meta = caught.value.execution_metadata
    assert meta is not None
    assert [(a.role, a.status) for a in meta.attempts] == [
        ("primary", "cancelled"),
        ("hedge", "cancelled"),
    ]
    both_jobs_cancelled(emu, before)


def test_keyboard_interrupt_in_a_sync_calls_callback(emu: Emulator, router: Router) -> None:
    """Raised in a racer's task, it is carried out of the race: not an exception group,
    and the private loop lives on for the next call."""
    emu.latency = SLOW
    before = counts(emu)
    with pytest.raises(KeyboardInterrupt):
        router.generate_video(raced(emu), REQUEST, on_progress=racing_then(0.4))
    both_jobs_cancelled(emu, before)
    emu.latency = Latency(queue_seconds=0.0, run_seconds=0.05)
    assert router.generate_video(raced(emu), REQUEST).provider == "fal"


def test_a_callbacks_error_reaches_the_caller_unchanged(emu: Emulator, router: Router) -> None:
    emu.latency = SLOW
    before = counts(emu)
    started = time.monotonic()

    def on_progress(update: object) -> None:
        if time.monotonic() - started > 0.4:
            raise LookupError("the user's own bug")

    with pytest.raises(LookupError, match="the user's own bug"):
        router.generate_video(raced(emu), REQUEST, on_progress=on_progress)
    both_jobs_cancelled(emu, before)
