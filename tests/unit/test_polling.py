"""The poll schedule and poll_until_done, driven by an injected clock (no real sleeps)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tarash.tarash_gateway.engine._polling import (
    JobSnapshot,
    JobState,
    PollSchedule,
    poll_until_done,
)
from tarash.tarash_gateway.errors import TimeoutError

pytestmark = pytest.mark.anyio


class FakeTime:
    """A clock that moves only when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def scripted(states: list[JobState]) -> Iterator[JobSnapshot]:
    for state in states:
        yield JobSnapshot(state)


def test_schedule_starts_fast_and_backs_off_to_the_cap() -> None:
    """Waits grow geometrically from `first` and never exceed `cap` while processing."""
    schedule = PollSchedule(first=0.25, factor=2.0, cap=2.0, jitter=0.0)
    running = JobSnapshot(JobState.PROCESSING)
    waits = [schedule.delay(n, running) for n in range(6)]
    assert waits == [0.25, 0.5, 1.0, 2.0, 2.0, 2.0]


def test_schedule_waits_longer_while_queued() -> None:
    """A queued job is polled up to `queued_cap`, not `cap`."""
    schedule = PollSchedule(first=1.0, factor=10.0, cap=2.0, queued_cap=8.0, jitter=0.0)
    assert schedule.delay(3, JobSnapshot(JobState.QUEUED)) == 8.0
    assert schedule.delay(3, JobSnapshot(JobState.PROCESSING)) == 2.0


def test_schedule_obeys_server_hint() -> None:
    """A provider's poll-after hint replaces the computed wait."""
    schedule = PollSchedule()
    assert schedule.delay(9, JobSnapshot(JobState.PROCESSING, poll_after=0.7)) == 0.7


@pytest.mark.parametrize("unit", [0.0, 0.5, 0.999])
def test_schedule_jitter_stays_within_bounds(unit: float) -> None:
    """Jitter spreads waits by at most +/- jitter * base."""
    schedule = PollSchedule(first=1.0, factor=1.0, cap=1.0, jitter=0.2)
    wait = schedule.delay(0, JobSnapshot(JobState.PROCESSING), random_unit=lambda: unit)
    assert 0.8 <= wait <= 1.2


async def test_poll_until_done_returns_terminal_snapshot() -> None:
    """Polling stops at the first terminal state and reports every snapshot."""
    time = FakeTime()
    states = scripted([JobState.QUEUED, JobState.PROCESSING, JobState.COMPLETED])
    seen: list[JobState] = []

    async def poll() -> JobSnapshot:
        return next(states)

    async def record(snapshot: JobSnapshot) -> None:
        seen.append(snapshot.state)

    result = await poll_until_done(
        poll, deadline=100.0, on_snapshot=record, sleep=time.sleep, clock=time.clock
    )
    assert result.state is JobState.COMPLETED
    assert seen == [JobState.QUEUED, JobState.PROCESSING, JobState.COMPLETED]
    assert len(time.sleeps) == 2


async def test_poll_until_done_raises_at_deadline_without_oversleeping() -> None:
    """A job that never ends raises TimeoutError, and no sleep passes the deadline."""
    time = FakeTime()

    async def poll() -> JobSnapshot:
        return JobSnapshot(JobState.PROCESSING)

    with pytest.raises(TimeoutError):
        await poll_until_done(poll, deadline=30.0, sleep=time.sleep, clock=time.clock)
    assert time.now == pytest.approx(30.0)


async def test_poll_until_done_honours_max_polls() -> None:
    """max_poll_attempts caps the number of status calls."""
    time = FakeTime()
    calls = 0

    async def poll() -> JobSnapshot:
        nonlocal calls
        calls += 1
        return JobSnapshot(JobState.QUEUED)

    with pytest.raises(TimeoutError, match="max_poll_attempts=3"):
        await poll_until_done(poll, deadline=None, max_polls=3, sleep=time.sleep, clock=time.clock)
    assert calls == 3


async def test_terminal_first_snapshot_needs_no_poll() -> None:
    """A submit reply that is already terminal is returned without polling."""

    async def poll() -> JobSnapshot:
        raise AssertionError("must not poll")

    done = JobSnapshot(JobState.COMPLETED)
    assert await poll_until_done(poll, deadline=None, first_snapshot=done) is done
