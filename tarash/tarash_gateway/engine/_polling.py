"""Waiting for a provider job: an adaptive poll schedule under a wall-clock deadline.

The schedule starts fast (most image jobs finish in seconds), backs off while the job is
queued or running, and obeys the provider's own hint (``openai-poll-after-ms`` and the
like) when there is one. Time is injected, so tests drive it without sleeping.
"""

from __future__ import annotations

import enum
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import anyio

from tarash.tarash_gateway.errors import TarashException, TimeoutError

__all__ = [
    "JobSnapshot",
    "JobState",
    "PollSchedule",
    "poll_until_done",
]


class JobState(enum.Enum):
    """Where a provider job is in its life, in provider-neutral terms."""

    QUEUED = "queued"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def is_terminal(self) -> bool:
        """Whether the job can no longer change."""
        return self in (JobState.COMPLETED, JobState.FAILED, JobState.CANCELLED)


@dataclass(frozen=True, slots=True)
class JobSnapshot:
    """One observation of a provider job.

    Attributes:
        state: The neutral state.
        raw: The provider's status body.
        progress_percent: 0-100 where the provider reports it.
        queue_position: Place in the provider's queue where reported.
        poll_after: The provider's hint, in seconds, for when to ask again.
        error: For FAILED and CANCELLED, the error to raise.
        understood: False when the provider's status was not one we know: the snapshot is
            FAILED for us, but the remote job may still be running (and is cancelled).
        throttled: The provider holds the job back because the account already runs as
            many jobs as it may (Runway's ``THROTTLED``): accepted and waiting, not
            failed, and a sign that the provider's concurrency is full, which the router's
            limiter learns from.
    """

    state: JobState
    raw: dict[str, Any] = field(default_factory=dict)
    progress_percent: int | None = None
    queue_position: int | None = None
    poll_after: float | None = None
    error: TarashException | None = None
    understood: bool = True
    throttled: bool = False


@dataclass(frozen=True, slots=True)
class PollSchedule:
    """How long to wait between polls.

    The n-th wait is ``first * factor**n`` capped at ``cap`` (``queued_cap`` while the job
    is still queued, where nothing changes fast), with +/- ``jitter`` relative noise so that
    thousands of jobs submitted together do not poll in lockstep.
    """

    first: float = 0.25
    # 1.2 keeps each wait near a fifth of the time already waited, so a job is seen done
    # within ~20 % of its run time (until the cap) at a logarithmic number of polls.
    factor: float = 1.2
    cap: float = 5.0
    queued_cap: float = 10.0
    jitter: float = 0.2
    floor: float = 0.0
    """The provider's minimum interval (``ProviderClient.min_poll_interval``): no wait,
    the server's own hint included, is shorter."""

    def delay(
        self,
        poll_number: int,
        snapshot: JobSnapshot,
        *,
        random_unit: Callable[[], float] = random.random,
    ) -> float:
        """Return the wait before poll ``poll_number + 1`` after seeing ``snapshot``."""
        if snapshot.poll_after is not None:
            return max(0.0, self.floor, snapshot.poll_after)
        cap = self.queued_cap if snapshot.state is JobState.QUEUED else self.cap
        base = min(cap, self.first * self.factor ** max(0, poll_number))
        spread = base * self.jitter
        return max(0.0, self.floor, base - spread + 2 * spread * random_unit())


def _deadline_passed(timeout_seconds: float | None) -> TimeoutError:
    return TimeoutError(
        "the job did not finish before its deadline", timeout_seconds=timeout_seconds
    )


Sleep = Callable[[float], Awaitable[None]]
Clock = Callable[[], float]


async def poll_until_done(
    poll: Callable[[], Awaitable[JobSnapshot]],
    *,
    deadline: float | None,
    schedule: PollSchedule = PollSchedule(),
    max_polls: int | None = None,
    on_snapshot: Callable[[JobSnapshot], Awaitable[None]] | None = None,
    first_snapshot: JobSnapshot | None = None,
    sleep: Sleep = anyio.sleep,
    clock: Clock = anyio.current_time,
    timeout_seconds: float | None = None,
) -> JobSnapshot:
    """Poll until the job is terminal, then return its last snapshot.

    Args:
        poll: Fetches one snapshot (one status call).
        deadline: Absolute time on ``clock`` by which the job must be done; ``None`` for none.
        schedule: The waits between polls.
        max_polls: Optional cap on the number of polls.
        on_snapshot: Called with every snapshot (progress reporting).
        first_snapshot: A snapshot already known (from the submit reply, say); when
            non-terminal the first poll waits one interval.
        sleep: The sleep to use (injected in tests).
        clock: The clock to use (injected in tests).
        timeout_seconds: The timeout the deadline stands for, reported on the
            :class:`TimeoutError` raised when it passes.

    Returns:
        The terminal snapshot (COMPLETED, FAILED or CANCELLED): reading it is the caller's job.

    Raises:
        TimeoutError: The deadline passed (its ``timeout_seconds`` is ``timeout_seconds``),
            or ``max_polls`` were made (its ``timeout_seconds`` is the time spent polling),
            before the job ended.
    """
    started = clock()
    polls = 0
    snapshot = first_snapshot
    if snapshot is not None and snapshot.state.is_terminal:
        return snapshot
    while True:
        if snapshot is not None:
            wait = schedule.delay(polls, snapshot)
            if deadline is not None:
                remaining = deadline - clock()
                if remaining <= 0:
                    raise _deadline_passed(timeout_seconds)
                wait = min(wait, remaining)
            await sleep(wait)
        if deadline is not None and clock() >= deadline:
            raise _deadline_passed(timeout_seconds)
        if max_polls is not None and polls >= max_polls:
            raise TimeoutError(
                f"the job did not finish within max_poll_attempts={max_polls}",
                timeout_seconds=round(clock() - started, 3),
            )
        snapshot = await poll()
        polls += 1
        if on_snapshot is not None:
            await on_snapshot(snapshot)
        if snapshot.state.is_terminal:
            return snapshot
