"""Every way a caller gives up, at every stage of a job: the emulator ends with nothing running.

The matrix crosses the cancellation mechanisms users have (asyncio's ``wait_for``,
``Task.cancel`` and ``asyncio.timeout``, anyio's and trio's cancel scopes, Ctrl-C in a sync
call, a progress callback raising anything) with the stages a job can be in when it happens
(a Replicate create held open by ``Prefer: wait``, fal's status stream, plain polling, the
wait on a resumed handle). Each case asserts that the job the emulator created was cancelled.
"""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import anyio
import pytest

from tarash.emulator import Emulator, Fault
from tarash.tarash_gateway import (
    generate_video,
    generate_video_async,
    submit_video_async,
    wait_async,
)
from tarash.tarash_gateway.models import VideoGenerationConfig, VideoGenerationRequest
from tests._emulator import FAST

pytestmark = pytest.mark.integration

REQUEST = VideoGenerationRequest(prompt="a cat playing piano")
GIVE_UP_AFTER = 0.4
"""Seconds before the caller gives up: inside the 1 s held create, and well after a fal
submit (milliseconds) so that the job is being waited on."""

Stage = str
Call = Callable[[], Awaitable[Any]]


@pytest.fixture
def emu() -> Iterator[Emulator]:
    """A fresh emulator per case, so its job table is this case's alone."""
    with Emulator(latency=FAST) as emulator:
        yield emulator


def config_for(emu: Emulator, stage: Stage, *, stuck: bool = True) -> VideoGenerationConfig:
    """A config whose job is in ``stage`` when the caller gives up (the job is stuck)."""
    provider = "replicate" if stage.startswith("replicate") else "fal"
    if stuck:
        emu.inject(Fault("stuck", provider=provider))
    options: dict[str, Any] = {
        "replicate-held-create": {"prefer_wait": 1},
        "replicate-polling": {"prefer_wait": 0},
        "fal-status-stream": {},
        "fal-polling": {"status_stream": False},
        "fal-resumed-wait": {"status_stream": False},
    }[stage]
    return VideoGenerationConfig(
        provider=provider,
        model="google/veo-3" if provider == "replicate" else "fal-ai/veo3",
        base_url=emu.base_url(provider),
        api_key=emu.api_key(provider),
        poll_interval=0.05,
        provider_config=options,
    )


def call_for(config: VideoGenerationConfig, stage: Stage) -> Call:
    """The public call that is running when the caller gives up."""
    if stage == "fal-resumed-wait":

        async def submit_then_wait() -> Any:
            handle = await submit_video_async(config, REQUEST)
            return await wait_async(handle, config=config, poll_interval=0.05)

        return submit_then_wait
    return lambda: generate_video_async(config, REQUEST)


def assert_nothing_left_running(emu: Emulator) -> None:
    jobs = emu.jobs()
    assert len(jobs) == 1, jobs  # one job was created: the case did reach the provider
    assert [job.state for job in jobs] == ["cancelled"]
    assert emu.stats().running == 0


async def give_up_by_wait_for(call: Call) -> None:
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(call(), GIVE_UP_AFTER)


async def give_up_by_asyncio_timeout(call: Call) -> None:
    with pytest.raises(asyncio.TimeoutError):
        async with asyncio.timeout(GIVE_UP_AFTER):
            await call()


async def give_up_by_task_cancel(call: Call) -> None:
    task = asyncio.ensure_future(call())
    await asyncio.sleep(GIVE_UP_AFTER)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def give_up_twice_by_task_cancel(call: Call) -> None:
    """Cancelled again while the first cancellation is being cleaned up."""
    task = asyncio.ensure_future(call())
    await asyncio.sleep(GIVE_UP_AFTER)
    task.cancel()
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def give_up_by_anyio_scope(call: Call) -> None:
    with anyio.move_on_after(GIVE_UP_AFTER) as scope:
        await call()
    assert scope.cancelled_caught


STAGES = [
    "replicate-held-create",
    "replicate-polling",
    "fal-status-stream",
    "fal-polling",
    "fal-resumed-wait",
]
ASYNCIO_MECHANISMS = [
    give_up_by_wait_for,
    give_up_by_asyncio_timeout,
    give_up_by_task_cancel,
    give_up_twice_by_task_cancel,
    give_up_by_anyio_scope,
]


@pytest.mark.anyio
@pytest.mark.parametrize("stage", STAGES)
@pytest.mark.parametrize("give_up", ASYNCIO_MECHANISMS, ids=lambda f: f.__name__)
async def test_asyncio_cancellation_cancels_the_job(
    emu: Emulator, stage: Stage, give_up: Callable[[Call], Awaitable[None]]
) -> None:
    """asyncio's and anyio's cancellation, at each stage, leave no job running."""
    await give_up(call_for(config_for(emu, stage), stage))
    assert_nothing_left_running(emu)


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["trio"])
@pytest.mark.parametrize("stage", STAGES)
async def test_trio_cancel_scope_cancels_the_job(emu: Emulator, stage: Stage) -> None:
    """A trio cancel scope, at each stage, leaves no job running."""
    import trio

    call = call_for(config_for(emu, stage), stage)
    with trio.move_on_after(GIVE_UP_AFTER) as scope:
        await call()
    assert scope.cancelled_caught
    assert_nothing_left_running(emu)


def press_ctrl_c_once_the_job_exists(emu: Emulator) -> None:
    """Ctrl-C once the emulator holds the case's job (a loaded machine may take longer than
    any fixed delay to get there), then a beat for the call to reach its stage: well inside
    the 1 s held create, and after a fal submit's answer, so the job is being waited on."""

    def press() -> None:
        deadline = time.monotonic() + 30
        while emu.stats().submitted == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.1)
        os.kill(os.getpid(), signal.SIGINT)  # delivered to the main thread, as Ctrl-C is

    threading.Thread(target=press, daemon=True).start()


@pytest.mark.parametrize("stage", ["replicate-held-create", "fal-status-stream", "fal-polling"])
def test_ctrl_c_in_a_sync_call_cancels_the_job(emu: Emulator, stage: Stage) -> None:
    """Ctrl-C during a sync generate_video, at each stage, leaves no job running."""
    config = config_for(emu, stage)
    press_ctrl_c_once_the_job_exists(emu)
    with pytest.raises(KeyboardInterrupt):
        generate_video(config, REQUEST)
    assert_nothing_left_running(emu)


class UserBug(Exception):
    """What a user's progress callback raises."""


@pytest.mark.parametrize("raised", [UserBug, KeyboardInterrupt, SystemExit])
@pytest.mark.parametrize("stage", ["fal-status-stream", "fal-polling", "replicate-polling"])
def test_a_raising_progress_callback_cancels_the_job_and_the_loop_survives(
    emu: Emulator, stage: Stage, raised: type[BaseException]
) -> None:
    """Whatever the callback raises reaches the caller unchanged, the job is cancelled, and
    the private loop serves the next sync call."""

    def on_progress(update: object) -> None:
        raise raised("from the callback")

    with pytest.raises(raised, match="from the callback"):
        generate_video(config_for(emu, stage), REQUEST, on_progress=on_progress)
    assert_nothing_left_running(emu)
    follow_up = generate_video(config_for(emu, "fal-polling", stuck=False), REQUEST)
    assert follow_up.video
