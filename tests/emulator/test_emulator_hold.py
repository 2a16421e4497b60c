"""hold_reply: the one wait behind every synchronous answer (Prefer: wait, sync APIs)."""

from __future__ import annotations

import time

import anyio
import pytest

from tarash.emulator import Latency
from tarash.emulator._jobs import JobState, JobStore, Outcome, hold_reply

pytestmark = pytest.mark.anyio


async def test_hold_returns_when_the_job_ends() -> None:
    """A hold on a job that ends in 0.15 s returns its terminal state at that moment."""
    store = JobStore(Latency(queue_seconds=0.05, run_seconds=0.1))
    job = store.create(job_id="a", provider="fal", model="m", input={}, headers={})
    started = time.monotonic()
    assert await hold_reply(job, 10) is JobState.SUCCEEDED
    assert 0.14 <= time.monotonic() - started < 0.5


async def test_hold_gives_up_at_its_bound() -> None:
    """A stuck job holds the reply only until the bound, and is still running then."""
    store = JobStore(Latency(0, 0))
    job = store.create(
        job_id="a", provider="fal", model="m", input={}, headers={}, outcome=Outcome.HANG
    )
    started = time.monotonic()
    assert await hold_reply(job, 0.2) is JobState.RUNNING
    assert 0.19 <= time.monotonic() - started < 0.5


async def test_hold_wakes_on_a_cancel() -> None:
    """A cancel ends the hold at once (the job's notify), long before the bound."""
    store = JobStore(Latency(0, 0))
    job = store.create(
        job_id="a", provider="fal", model="m", input={}, headers={}, outcome=Outcome.HANG
    )

    async def cancel_soon() -> None:
        await anyio.sleep(0.1)
        store.cancel(job)

    started = time.monotonic()
    async with anyio.create_task_group() as tg:
        tg.start_soon(cancel_soon)
        assert await hold_reply(job, 30) is JobState.CANCELLED
    assert time.monotonic() - started < 1


async def test_a_finished_job_is_not_held() -> None:
    """A job already terminal (or a zero bound) answers without waiting."""
    store = JobStore(Latency(0, 0))
    job = store.create(job_id="a", provider="fal", model="m", input={}, headers={})
    started = time.monotonic()
    assert await hold_reply(job, 10) is JobState.SUCCEEDED
    assert await hold_reply(job, 0) is JobState.SUCCEEDED
    assert time.monotonic() - started < 0.05
