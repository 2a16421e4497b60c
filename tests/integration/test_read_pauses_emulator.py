"""The shared read pause end to end on the emulator: throttled polls on every polling
provider still finish their jobs and say how long they were held; a pause that outlives a
job's deadline (or its caller's trio scope) still ends the wait there and cancels the job
remotely; a Ctrl-C from a sync call's callback in a hedged race whose reads are throttled
reaches the caller with every job cancelled and the private loop alive.

Under the suite ``tarash.tarash_gateway.testing.set_testing`` is on: retries do not
wait (stamina's testing mode), and neither do the routers' read pauses. The tests that
need a pause to hold for real turn that off for the default router's pauses, kept under a
second.
"""

from __future__ import annotations

import time
from typing import Any

import anyio
import pytest

from tarash.emulator import Emulator, Fault, Latency
from tarash.tarash_gateway.api import generate_video_async
from tarash.tarash_gateway.engine import _http
from tarash.tarash_gateway.engine._read_pauses import ReadPauses
from tarash.tarash_gateway.errors import TimeoutError as TarashTimeoutError
from tarash.tarash_gateway.models import VideoGenerationConfig, VideoGenerationRequest
from tarash.tarash_gateway.router import HedgePolicy, Router, default_router
from tarash.tarash_gateway.routing._limits import account_fingerprint
from tests._emulator import emulated_video_config

SLOW = Latency(queue_seconds=0.0, run_seconds=30.0)
QUICK = Latency(queue_seconds=0.0, run_seconds=0.15)

POLLING: dict[str, tuple[str, dict[str, Any], VideoGenerationRequest]] = {
    "fal": (
        "fal-ai/veo3",
        {"status_stream": False},
        VideoGenerationRequest(prompt="a cat", duration_seconds=4),
    ),
    "replicate": (
        "google/veo-3",
        {"prefer_wait": 0},
        VideoGenerationRequest(prompt="a cat", duration_seconds=4),
    ),
    "runway": (
        "gen4.5",
        {},
        VideoGenerationRequest(prompt="a cat", duration_seconds=5, aspect_ratio="16:9"),
    ),
    "google": (
        "veo-3.1-generate-preview",
        {},
        VideoGenerationRequest(prompt="a cat", duration_seconds=4, aspect_ratio="16:9"),
    ),
    "openai": (
        "openai/sora-2",
        {},
        VideoGenerationRequest(prompt="a cat", duration_seconds=4),
    ),
}


def polling_config(emu: Emulator, provider: str, **kwargs: Any) -> VideoGenerationConfig:
    model, options, _ = POLLING[provider]
    return emulated_video_config(emu, provider, model, provider_config=options, **kwargs)


def settled(emu: Emulator) -> None:
    # The emulator counts a cancel when it serves it: allow it the moment to be served.
    for _ in range(100):
        if emu.stats().running == 0:
            return
        time.sleep(0.02)


def origin_of(emu: Emulator, provider: str) -> str:
    return _http._origin_key(emu.base_url(provider))


def account(emu: Emulator) -> str:
    """The account of the emulator's Replicate key: read pauses are per account."""
    return account_fingerprint(emu.api_key("replicate"))


@pytest.fixture
def sleeping_pauses(monkeypatch: pytest.MonkeyPatch) -> ReadPauses:
    """The default router's read pauses, really waiting (the suite's testing mode turns
    every pause's waits off)."""
    pauses = default_router().read_pauses
    monkeypatch.setattr(pauses, "skip_waits", False)
    return pauses


@pytest.mark.parametrize("provider", sorted(POLLING))
def test_a_throttled_poll_finishes_the_job_and_says_how_long_it_was_held(
    emu: Emulator, sleeping_pauses: ReadPauses, provider: str
) -> None:
    emu.latency = QUICK
    emu.inject(Fault("rate_limit", provider=provider, operation="status", times=1, retry_after=1))
    before = emu.stats(provider)
    config = polling_config(emu, provider)

    async def main() -> Any:
        return await generate_video_async(config, POLLING[provider][2])

    response = anyio.run(main)
    assert response.provider == provider
    (attempt,) = response.execution_metadata.attempts
    assert attempt.status == "success"
    assert attempt.retries == 1
    # stamina's testing mode did not wait the Retry-After: the retry waited out the pause
    # its own 429 set instead (what is left of 1 s), and no later poll found one.
    assert 0.9 <= attempt.read_pause_seconds <= 1.0
    assert emu.pending_faults() == []  # the 429 was served to this job's poll
    settled(emu)
    after = emu.stats(provider)
    assert (after.submitted - before.submitted, after.running) == (1, 0)


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_a_pause_past_the_deadline_ends_the_wait_there_and_cancels_the_job(
    emu: Emulator, sleeping_pauses: ReadPauses, backend: str
) -> None:
    """Another caller's 429 paused Replicate's reads with the same key for 30 s; a job due
    in 0.3 s stops waiting at its deadline, and its job is cancelled at the provider."""
    emu.latency = SLOW
    sleeping_pauses.pause("replicate", origin_of(emu, "replicate"), 30, account=account(emu))
    before = emu.stats("replicate")
    config = polling_config(emu, "replicate", timeout=0.3)
    started = time.monotonic()

    async def main() -> None:
        await generate_video_async(config, POLLING["replicate"][2])

    with pytest.raises(TarashTimeoutError) as caught:
        anyio.run(main, backend=backend)
    assert time.monotonic() - started < 10  # the 30 s pause did not hold it
    meta = caught.value.execution_metadata
    assert meta is not None
    (attempt,) = meta.attempts
    # No poll waited out the pause; the one status read is the give-up's look (is it
    # finished?), which does not wait for it either.
    assert (attempt.status, attempt.poll_count) == ("cancelled", 1)
    # Cut at the deadline, the wait still says how long it held the job (0.3 s).
    assert 0 < attempt.read_pause_seconds <= 0.3
    settled(emu)
    after = emu.stats("replicate")
    assert (after.submitted - before.submitted, after.cancelled - before.cancelled) == (1, 1)
    assert after.running == 0


def test_a_trio_scope_cancelling_a_read_held_by_a_pause_cancels_the_job(
    emu: Emulator, sleeping_pauses: ReadPauses
) -> None:
    emu.latency = SLOW
    sleeping_pauses.pause("replicate", origin_of(emu, "replicate"), 30, account=account(emu))
    before = emu.stats("replicate")
    config = polling_config(emu, "replicate")

    async def main() -> bool:
        with anyio.move_on_after(0.3) as scope:
            await generate_video_async(config, POLLING["replicate"][2])
        return scope.cancelled_caught

    assert anyio.run(main, backend="trio") is True
    settled(emu)
    after = emu.stats("replicate")
    assert (after.submitted - before.submitted, after.cancelled - before.cancelled) == (1, 1)
    assert after.running == 0


def test_a_ctrl_c_in_a_throttled_hedged_race_reaches_the_sync_caller(emu: Emulator) -> None:
    """Both racers' polls are answered 429 now and then; the callback's Ctrl-C comes out
    of the sync call as itself, both jobs are cancelled, and the private loop runs the
    next call (and its reads) as before."""
    emu.latency = SLOW
    for provider in ("fal", "replicate"):
        emu.inject(Fault("rate_limit", provider=provider, operation="status", times=3))
    router = Router(strategy="hedge", hedge=HedgePolicy(after=0.1, max_parallel=2))
    fallback = polling_config(emu, "replicate")
    config = polling_config(emu, "fal", fallback_configs=[fallback])
    request = POLLING["fal"][2]
    before = emu.stats()
    started = time.monotonic()

    def on_progress(update: object) -> None:
        if time.monotonic() - started > 0.4:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        router.generate_video(config, request, on_progress=on_progress)
    settled(emu)
    after = emu.stats()
    assert (after.submitted - before.submitted, after.cancelled - before.cancelled) == (2, 2)
    assert after.running == 0
    emu.latency = QUICK
    assert router.generate_video(config, request).provider == "fal"
