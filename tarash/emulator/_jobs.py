"""The job store: every emulated job, its state derived from timestamps, and the totals.

A job never runs anywhere. At submit it gets a start time (``created + queue``) and an end
time (``start + run``) on the monotonic clock, and every request computes its state from
those. There is no task per job, so 1,000+ concurrent jobs cost a dict entry each.
"""

from __future__ import annotations

import enum
import math
import random
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio


@dataclass(frozen=True)
class Latency:
    """How long emulated jobs take.

    A job waits ``queue_seconds`` (fal ``IN_QUEUE``, Replicate ``starting``), then runs
    ``run_seconds`` (``IN_PROGRESS`` / ``processing``), then finishes. Each phase gets an
    extra uniform random delay in ``[0, jitter_seconds]``. Jobs keep the latency that was
    current when they were submitted.

    A heavy tail, as video providers have: a ``tail_fraction`` of the jobs run
    ``tail_run_seconds`` instead of ``run_seconds``
    (``Latency(run_seconds=5, tail_fraction=0.05, tail_run_seconds=60)``: 95% of the jobs
    run 5 s, 5% run 60 s). With a ``seed``, which jobs are slow (and their jitter) is
    deterministic: each provider draws from its own stream seeded by ``seed`` and its
    name, so the n-th job submitted to a provider is slow or not whatever the other
    providers receive.

    Attributes:
        queue_seconds: Time spent queued.
        run_seconds: Time spent running.
        jitter_seconds: Upper bound of the random delay added to each phase.
        tail_fraction: Share of the jobs (0 to 1) that run ``tail_run_seconds``.
        tail_run_seconds: How long a slow job runs; required when ``tail_fraction`` > 0.
        seed: Seed of the per-provider draws; None draws unseeded.

    Raises:
        ValueError: A time is negative or not finite, ``tail_fraction`` is outside 0..1,
            or a tail has no ``tail_run_seconds``.
    """

    queue_seconds: float = 0.05
    run_seconds: float = 0.25
    jitter_seconds: float = 0.0
    tail_fraction: float = 0.0
    tail_run_seconds: float | None = None
    seed: int | None = None

    def __post_init__(self) -> None:
        for name in ("queue_seconds", "run_seconds", "jitter_seconds", "tail_run_seconds"):
            value = getattr(self, name)
            if value is None and name == "tail_run_seconds":
                continue
            if not math.isfinite(value) or value < 0:
                raise ValueError(f"Latency.{name} must be a finite number >= 0, got {value!r}")
        if not math.isfinite(self.tail_fraction) or not 0 <= self.tail_fraction <= 1:
            raise ValueError(
                f"Latency.tail_fraction must be between 0 and 1, got {self.tail_fraction!r}"
            )
        if self.tail_fraction > 0 and self.tail_run_seconds is None:
            raise ValueError("Latency.tail_run_seconds is required when tail_fraction > 0")

    def draw(self, rng: random.Random) -> tuple[float, float]:
        """One job's queue and run seconds, drawn from ``rng``."""
        queue = self.queue_seconds + rng.uniform(0, self.jitter_seconds)
        run = self.run_seconds
        # Drawn only with a tail, so a model without one consumes the stream as before.
        if self.tail_fraction > 0 and rng.random() < self.tail_fraction:
            assert self.tail_run_seconds is not None  # checked in __post_init__
            run = self.tail_run_seconds
        return queue, run + rng.uniform(0, self.jitter_seconds)


@dataclass(frozen=True)
class EmulatorStats:
    """Job totals, for asserting that nothing was orphaned.

    Attributes:
        submitted: Jobs created.
        completed: Jobs that succeeded.
        failed: Jobs that ended in an error: ``job_failure``, ``content_refusal``, or a start
            deadline that passed (fal ``request_timeout``, Replicate ``aborted``).
        cancelled: Jobs cancelled by a client, or by Replicate's ``Cancel-After`` while
            running.
        running: Jobs not finished yet (queued or running) right now.
    """

    submitted: int = 0
    completed: int = 0
    failed: int = 0
    cancelled: int = 0
    running: int = 0


class JobState(enum.Enum):
    """Provider-neutral job state; each provider module maps it to its own words."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    REFUSED = "refused"
    CANCELLED = "cancelled"
    EXPIRED = "expired"

    @property
    def is_terminal(self) -> bool:
        """Whether the job will never change state again."""
        return self not in (JobState.QUEUED, JobState.RUNNING)


class Outcome(enum.Enum):
    """How a job ends if nobody intervenes (chosen at submit by job-level faults)."""

    SUCCEED = "succeed"
    FAIL = "fail"
    REFUSE = "refuse"
    HANG = "hang"


_OUTCOME_STATES = {
    Outcome.SUCCEED: JobState.SUCCEEDED,
    Outcome.FAIL: JobState.FAILED,
    Outcome.REFUSE: JobState.REFUSED,
}


@dataclass(frozen=True)
class JobSnapshot:
    """What tests see of a job: what was sent and where it stands.

    Attributes:
        id: The provider's job id (fal ``request_id``, Replicate prediction ``id``).
        provider: ``"fal"``, ``"replicate"``, ...
        model: The model id as submitted.
        state: The provider-neutral state (``"queued"``, ``"running"``, ``"succeeded"``,
            ``"failed"``, ``"refused"``, ``"cancelled"``, ``"expired"``).
        input: The model input payload as received.
        headers: Request headers of interest (lower-cased names), e.g.
            ``x-fal-request-timeout``, ``cancel-after``, ``prefer``.
        created_at: Wall-clock submit time (UTC).
        progress: 0.0 to 1.0.
    """

    id: str
    provider: str
    model: str
    state: str
    input: Mapping[str, Any]
    headers: Mapping[str, str]
    created_at: datetime
    progress: float


@dataclass(eq=False)
class Job:
    """One emulated job. Times are ``time.monotonic()`` seconds.

    Attributes:
        id: Provider job id.
        provider: Provider name.
        model: Model id as submitted.
        input: Model input payload.
        headers: Request headers of interest.
        outcome: How the job ends unless cancelled or timed out.
        created: Submit time.
        created_wall: Submit time on the wall clock (UTC).
        starts_at: When the job leaves the queue.
        ends_at: When it finishes (infinite for a stuck job).
        start_deadline: If the job has not started by then, it expires (fal
            ``X-Fal-Request-Timeout``).
        deadline: If the job has not finished by then, it expires when still queued and is
            cancelled when running (Replicate ``Cancel-After``).
        extra: Provider-specific data (e.g. Replicate's ``version``).
    """

    id: str
    provider: str
    model: str
    input: Mapping[str, Any]
    headers: Mapping[str, str]
    outcome: Outcome
    created: float
    created_wall: datetime
    starts_at: float
    ends_at: float
    start_deadline: float | None = None
    deadline: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    cancelled_at: float | None = None
    _changed: anyio.Event | None = None

    def _natural_end(self) -> tuple[float, JobState]:
        """When and how the job ends if no client cancels it."""
        if self.start_deadline is not None and self.start_deadline < self.starts_at:
            return self.start_deadline, JobState.EXPIRED
        if self.deadline is not None and self.deadline < self.ends_at:
            if self.deadline < self.starts_at:
                return self.deadline, JobState.EXPIRED
            return self.deadline, JobState.CANCELLED
        if self.outcome is Outcome.HANG:
            return math.inf, JobState.RUNNING
        return self.ends_at, _OUTCOME_STATES[self.outcome]

    def ended_at(self) -> float | None:
        """When the job reached (or will reach) its terminal state; None if never."""
        if self.cancelled_at is not None:
            return self.cancelled_at
        end, _ = self._natural_end()
        return None if math.isinf(end) else end

    def state_at(self, now: float) -> JobState:
        """The job's state at monotonic time ``now``."""
        if self.cancelled_at is not None and now >= self.cancelled_at:
            return JobState.CANCELLED
        end, final = self._natural_end()
        if now >= end:
            return final
        return JobState.QUEUED if now < self.starts_at else JobState.RUNNING

    def started_at(self, now: float) -> float | None:
        """When the job started running, or None if it has not (or never will)."""
        stop = min(now, self.ended_at() or math.inf)
        return self.starts_at if stop >= self.starts_at else None

    def progress(self, now: float) -> float:
        """Fraction of the run phase done, 0.0 to 1.0."""
        state = self.state_at(now)
        if state is JobState.SUCCEEDED:
            return 1.0
        if state is JobState.QUEUED or self.started_at(now) is None:
            return 0.0
        if self.outcome is Outcome.HANG:
            return 0.5  # a stuck job sits halfway forever
        span = self.ends_at - self.starts_at
        stop = min(now, self.ended_at() or math.inf)
        return 1.0 if span <= 0 else max(0.0, min(1.0, (stop - self.starts_at) / span))

    def next_change_after(self, now: float) -> float:
        """The next monotonic time at which the state may change (inf if never)."""
        candidates = [self.starts_at, self.ended_at() or math.inf]
        return min((t for t in candidates if t > now), default=math.inf)

    def wall(self, moment: float) -> datetime:
        """Convert a monotonic time of this job to a UTC wall-clock time."""
        return self.created_wall + timedelta(seconds=moment - self.created)

    def notify(self) -> None:
        """Wake every coroutine waiting in :meth:`wait_for_change` (event-loop thread only)."""
        if self._changed is not None:
            self._changed.set()
            self._changed = None

    async def wait_for_change(self, timeout: float) -> None:
        """Sleep until the next state change, a :meth:`notify`, or ``timeout`` seconds.

        Called from the server's event loop. A job's own transitions are known in advance
        (see :meth:`next_change_after`), so waiting means one timed wait on an event, no
        polling.
        """
        now = time.monotonic()
        wake = min(now + max(0.0, timeout), self.next_change_after(now))
        if self._changed is None:
            self._changed = anyio.Event()
        event = self._changed
        with anyio.move_on_after(max(0.0, wake - now)):
            await event.wait()


async def hold_reply(job: Job, seconds: float) -> JobState:
    """Hold a reply until ``job`` is terminal or ``seconds`` pass; return its state then.

    The one wait every synchronous answer uses: Replicate's ``Prefer: wait`` create, its
    SSE stream, and APIs that answer in the request (OpenAI images, Stability generate)
    create a job and hold the reply on it. It runs on the server's event loop and wakes
    only on the job's own transitions (known from its timestamps) or a cancel's
    :meth:`Job.notify`: no task per job and no polling.

    Args:
        job: The job the reply waits for.
        seconds: Longest hold; ``math.inf`` waits for the end (a stuck job's end is a
            cancel).

    Returns:
        The job's state when the hold ended: terminal, or not when the bound passed.
    """
    deadline = time.monotonic() + max(0.0, seconds)
    while True:
        now = time.monotonic()
        state = job.state_at(now)
        if state.is_terminal or now >= deadline:
            return state
        await job.wait_for_change(deadline - now)


class JobStore:
    """All jobs of one emulator, shared by the server thread and the caller's thread."""

    def __init__(self, latency: Latency) -> None:
        self.latency = latency
        self._lock = threading.Lock()
        self._jobs: dict[tuple[str, str], Job] = {}
        self._rng = random.Random()
        self._seeded: dict[tuple[int, str], random.Random] = {}

    def _rng_for(self, seed: int | None, provider: str) -> random.Random:
        """The stream a job's latency is drawn from (under the lock)."""
        if seed is None:
            return self._rng
        stream = self._seeded.get((seed, provider))
        if stream is None:
            # A string seed is hashed with SHA-512: the same stream in every process.
            stream = self._seeded[(seed, provider)] = random.Random(f"{seed}/{provider}")
        return stream

    def create(
        self,
        *,
        job_id: str,
        provider: str,
        model: str,
        input: Mapping[str, Any],
        headers: Mapping[str, str],
        outcome: Outcome = Outcome.SUCCEED,
        start_timeout: float | None = None,
        deadline_after: float | None = None,
        extra: dict[str, Any] | None = None,
    ) -> Job:
        """Create a job with the current latency.

        Args:
            job_id: The provider's id for it.
            provider: Provider name.
            model: Model id.
            input: The model input payload.
            headers: Request headers of interest.
            outcome: How it ends (job-level faults change it).
            start_timeout: Seconds it may wait in the queue before expiring.
            deadline_after: Seconds until it is aborted/cancelled if unfinished.
            extra: Provider-specific data.

        Returns:
            The new job.
        """
        now = time.monotonic()
        latency = self.latency
        with self._lock:
            queue, run = latency.draw(self._rng_for(latency.seed, provider))
            job = Job(
                id=job_id,
                provider=provider,
                model=model,
                input=input,
                headers=dict(headers),
                outcome=outcome,
                created=now,
                created_wall=datetime.now(UTC),
                starts_at=now + queue,
                ends_at=now + queue + run,
                start_deadline=None if start_timeout is None else now + start_timeout,
                deadline=None if deadline_after is None else now + deadline_after,
                extra=extra or {},
            )
            self._jobs[(provider, job_id)] = job
        return job

    def get(self, provider: str, job_id: str) -> Job | None:
        """Find a job by provider and id."""
        with self._lock:
            return self._jobs.get((provider, job_id))

    def cancel(self, job: Job) -> bool:
        """Cancel a job that has not finished.

        Returns:
            True if it was cancelled now; False if it had already reached a terminal state.
        """
        with self._lock:
            now = time.monotonic()
            if job.state_at(now).is_terminal:
                return False
            job.cancelled_at = now
        job.notify()
        return True

    def all(self, provider: str | None = None) -> list[Job]:
        """Jobs in submit order, optionally of one provider."""
        with self._lock:
            jobs = list(self._jobs.values())
        return [job for job in jobs if provider is None or job.provider == provider]

    def stats(self, provider: str | None = None) -> EmulatorStats:
        """Totals right now, optionally for one provider."""
        now = time.monotonic()
        counts = dict.fromkeys(JobState, 0)
        jobs = self.all(provider)
        for job in jobs:
            counts[job.state_at(now)] += 1
        return EmulatorStats(
            submitted=len(jobs),
            completed=counts[JobState.SUCCEEDED],
            failed=counts[JobState.FAILED] + counts[JobState.REFUSED] + counts[JobState.EXPIRED],
            cancelled=counts[JobState.CANCELLED],
            running=counts[JobState.QUEUED] + counts[JobState.RUNNING],
        )

    def peak_concurrency(self, provider: str | None = None) -> int:
        """The most jobs that were unfinished (queued or running) at one instant so far."""
        now = time.monotonic()
        edges: list[tuple[float, int]] = []
        for job in self.all(provider):
            edges.append((job.created, 1))
            ended = job.ended_at()
            if ended is not None and ended <= now:
                edges.append((ended, -1))
        # An end and a create at the same instant: the end counts first.
        running = peak = 0
        for _, step in sorted(edges):
            running += step
            peak = max(peak, running)
        return peak

    def snapshots(self, provider: str | None = None) -> list[JobSnapshot]:
        """Snapshots of the jobs in submit order, optionally of one provider."""
        now = time.monotonic()
        return [
            JobSnapshot(
                id=job.id,
                provider=job.provider,
                model=job.model,
                state=job.state_at(now).value,
                input=job.input,
                headers=job.headers,
                created_at=job.created_wall,
                progress=job.progress(now),
            )
            for job in self.all(provider)
        ]
