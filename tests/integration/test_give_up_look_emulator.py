"""Look before giving up, against every emulated provider (issue 15, "Paid twice" 1 and 2).

Each job here finishes after the waiter's last poll and before it gives up: the waiter's
schedule waits a minute between polls, the job runs 0.2 s, the give-up comes at 0.6 s.
Whatever the give-up (the deadline, the caller's anyio or asyncio cancellation: a lost
hedge race and a stopped batch are such cancellations), the finished job is read, or
left alone, never cancelled; where the provider's cancel deletes a finished task
(Runway), its output is still there afterwards for ``wait(handle)`` (a batch's rerun).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from tarash.emulator import Emulator, Latency
from tarash.tarash_gateway import generate_videos_async, submit_video_async, wait_async
from tarash.tarash_gateway.engine._polling import PollSchedule
from tarash.tarash_gateway.errors import NotFoundError
from tarash.tarash_gateway.models import JobHandle, VideoGenerationConfig, VideoGenerationRequest
from tarash.tarash_gateway.providers._base import ProviderClient
from tarash.tarash_gateway.routing._attempt import build_client
from tarash.tarash_gateway.routing._jobs import JobWaiter
from tests._emulator import CLIENT_WIRE_BUGS

pytestmark = [pytest.mark.integration, pytest.mark.anyio]

REQUEST = VideoGenerationRequest(prompt="a cat")
RUNS = Latency(queue_seconds=0.0, run_seconds=0.2)
GIVE_UP_AFTER = 0.6
"""Seconds after the submit: the job (0.2 s) is over well before, the next poll (60 s)
well after."""
NEVER_AGAIN = PollSchedule(first=60.0, cap=60.0, queued_cap=60.0, jitter=0.0, floor=60.0)
"""A minute between polls, whatever a provider hints (OpenAI's ``openai-poll-after-ms``)."""


@dataclass(frozen=True)
class Row:
    provider: str
    model: str
    label: str | None = None
    base_path: str | None = None
    provider_config: dict[str, Any] = field(default_factory=dict)


ROWS = (
    # fal's status stream would push the end: polling only, as when the stream is off.
    Row("fal", "fal-ai/veo3", provider_config={"status_stream": False}),
    Row("replicate", "google/veo-3", provider_config={"prefer_wait": 0}),
    Row("openai", "sora-2"),
    Row("azure_openai", "my-sora-deployment"),
    Row("runway", "gen4.5"),
    Row("xai", "grok-imagine-video"),
    Row("google", "veo-3.1-generate-preview"),
    Row(
        "google",
        "veo-3.1-generate-001",
        label="google-vertex",
        base_path="/google/v1beta1",
        provider_config={"vertexai": True, "project": "my-project", "location": "us-central1"},
    ),
)


@pytest.fixture
def emu() -> Iterator[Emulator]:
    """A private emulator whose jobs run 0.2 s."""
    with Emulator(latency=RUNS, options=CLIENT_WIRE_BUGS) as emulator:
        yield emulator


def config_for(emu: Emulator, row: Row) -> VideoGenerationConfig:
    base = emu.base_url(row.provider) if row.base_path is None else emu.url + row.base_path
    return VideoGenerationConfig(
        provider=row.provider,
        model=row.model,
        base_url=base,
        api_key=emu.api_key(row.provider),
        provider_config=row.provider_config,
    )


async def submitted(emu: Emulator, row: Row) -> tuple[VideoGenerationConfig, JobHandle]:
    config = config_for(emu, row)
    return config, await submit_video_async(config, REQUEST)


def waiter_for(config: VideoGenerationConfig, handle: JobHandle) -> JobWaiter:
    client: ProviderClient = build_client(config, deadline=None)
    return JobWaiter(client, handle, schedule=NEVER_AGAIN)


def assert_kept(emu: Emulator) -> None:
    assert [job.state for job in emu.jobs()] == ["succeeded"]


@pytest.mark.parametrize("row", ROWS, ids=lambda row: row.label or row.provider)
async def test_a_job_finishing_before_the_deadline_is_read_not_cancelled(
    emu: Emulator, row: Row
) -> None:
    """Every provider: the job ends in the last poll interval before the deadline; the
    waiter looks once more and returns its result instead of a TimeoutError."""
    config, handle = await submitted(emu, row)
    response = await waiter_for(config, handle).run(None, anyio.current_time() + GIVE_UP_AFTER)
    assert response.request_id == handle.request_id
    assert response.video
    assert_kept(emu)


async def test_a_runway_task_that_succeeded_is_not_deleted_by_a_cancel_scope(
    emu: Emulator,
) -> None:
    """A lost race and a stopped batch cancel the waiter's scope: the succeeded task is
    looked at, not deleted, and its rerun reads it."""
    config, handle = await submitted(emu, ROWS[4])
    with anyio.move_on_after(GIVE_UP_AFTER) as scope:
        await waiter_for(config, handle).run(None, None)
    assert scope.cancelled_caught
    assert_kept(emu)
    rerun = await wait_async(handle, config=config)
    assert rerun.request_id == handle.request_id


async def test_a_runway_task_that_succeeded_is_not_deleted_by_task_cancel(
    emu: Emulator,
) -> None:
    """asyncio's own cancellation (the CLI's Ctrl-C, ``wait_for``): the same."""
    config, handle = await submitted(emu, ROWS[4])
    task = asyncio.ensure_future(waiter_for(config, handle).run(None, None))
    await asyncio.sleep(GIVE_UP_AFTER)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert_kept(emu)
    rerun = await wait_async(handle, config=config)
    assert rerun.request_id == handle.request_id


async def test_a_stopped_batch_keeps_a_succeeded_runway_task_for_its_rerun(
    emu: Emulator, tmp_path: Path
) -> None:
    """The batch is stopped after its task succeeded (0.05 s) and before the next poll
    (0.2 s or more): the task is not deleted, and the rerun reads it instead of a 404 or
    paying again."""
    emu.latency = Latency(queue_seconds=0.0, run_seconds=0.05)
    config = config_for(emu, ROWS[4]).model_copy(update={"poll_interval": 10.0})
    ledger = tmp_path / "batch.sqlite"

    async def run_batch() -> None:
        async with generate_videos_async(config, [("k", REQUEST)], ledger=ledger) as results:
            async for _ in results:
                pass

    async with anyio.create_task_group() as group:
        group.start_soon(run_batch)
        # Stopped once the emulator says the task succeeded, not after a fixed 0.15 s: on
        # a loaded machine the submit came later and the stop met a running task (which
        # tarash rightly cancelled).
        with anyio.fail_after(10):
            while [job.state for job in emu.jobs()] != ["succeeded"]:  # noqa: ASYNC110
                await anyio.sleep(0.01)
        group.cancel_scope.cancel()
    assert_kept(emu)
    async with generate_videos_async(config, [("k", REQUEST)], ledger=ledger) as results:
        rerun = [result async for result in results]
    assert [result.ok for result in rerun] == [True]
    assert emu.stats().submitted == 1


@pytest.fixture
def anyio_backend() -> str:
    """asyncio: the Task.cancel case is asyncio's own."""
    return "asyncio"


async def test_the_emulated_runway_delete_destroys_a_finished_task(emu: Emulator) -> None:
    """The emulator deletes a finished task, as Runway does: the tests above would see
    the output gone (a 404) had tarash deleted it."""
    config, handle = await submitted(emu, ROWS[4])
    await wait_async(handle, config=config)
    async with httpx.AsyncClient() as http:
        reply = await http.delete(
            f"{emu.base_url('runway')}/v1/tasks/{handle.request_id}",
            headers={
                "Authorization": f"Bearer {emu.api_key('runway')}",
                "X-Runway-Version": "2024-11-06",
            },
        )
    assert reply.status_code == 204
    with pytest.raises(NotFoundError):
        await wait_async(handle, config=config)
