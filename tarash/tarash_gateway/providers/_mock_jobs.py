"""The mock's jobs: what a mock submit records, the steps it goes through, its snapshots.

Mock jobs live in this process's memory (the most recent :data:`MAX_MOCK_JOBS`), so that a
handle of one can be waited on, polled and cancelled here. The mock client
(:mod:`.mock`) records and reads them; the mock's audio (:mod:`._mock_audio`) goes through
the same steps and errors without a job.
"""

from __future__ import annotations

import copy
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from tarash.tarash_gateway.engine._polling import JobSnapshot, JobState
from tarash.tarash_gateway.errors import (
    GenerationFailedError,
    JobCancelledError,
    NotFoundError,
    TarashException,
)
from tarash.tarash_gateway.models import JobHandle, MockConfig, MockResponse
from tarash.tarash_gateway.providers import _kit as kit

MAX_MOCK_JOBS = 4096
"""Mock jobs remembered for ``wait``/``status``/``cancel``; the oldest are forgotten."""

STATE_OF: dict[str, JobState] = {
    "queued": JobState.QUEUED,
    "processing": JobState.PROCESSING,
    "completed": JobState.COMPLETED,
    "failed": JobState.FAILED,
}
DEFAULT_PROGRESS: dict[str, int | None] = {
    "queued": 0,
    "processing": 50,
    "completed": 100,
    "failed": None,
}


@dataclass(frozen=True, slots=True)
class Step:
    status: str
    progress: int | None
    update: dict[str, Any]


@dataclass(slots=True)
class MockJob:
    """A submitted mock job: its outcome, and how far along its steps it is."""

    kind: kit.JobKind
    mock: MockConfig
    outcome: MockResponse
    payload: dict[str, Any]
    steps: list[Step]
    delay: float
    position: int = 0
    cancelled: bool = False
    provider: str = "mock"
    model: str = "mock"

    @property
    def finished(self) -> bool:
        """Whether it was cancelled or reached a terminal step."""
        return self.cancelled or STATE_OF[self.steps[self.position].status].is_terminal

    def advance(self) -> None:
        """Move one step on (none once it is over), as one poll does."""
        with _jobs_lock:
            if not self.finished:
                self.position += 1

    def cancel(self) -> bool:
        """Cancel it unless it is over; whether it was cancelled now."""
        with _jobs_lock:
            if self.finished:
                return False
            self.cancelled = True
        return True


_jobs: OrderedDict[str, MockJob] = OrderedDict()
_jobs_lock = threading.Lock()


def remember(request_id: str, job: MockJob) -> None:
    with _jobs_lock:
        _jobs[request_id] = job
        while len(_jobs) > MAX_MOCK_JOBS:
            _jobs.popitem(last=False)


def is_mock_handle(handle: JobHandle) -> bool:
    """Whether a handle is a mock job's (as its submit marked it)."""
    return handle.provider_state.get("mock") is True


def mock_steps(mock: MockConfig, outcome: MockResponse) -> list[Step]:
    """The statuses a job goes through; the last is its outcome.

    Without polling, one silent terminal step. With polling, the sequence up to its first
    terminal status, the last step replaced by the outcome ("failed" for an error, as
    published; "completed" for a success).
    """
    final = "failed" if outcome.error is not None else "completed"
    polling = mock.polling
    if polling is None or not polling.enabled or not polling.status_sequence:
        return [Step(final, DEFAULT_PROGRESS[final], {})]
    steps: list[Step] = []
    for index, status in enumerate(polling.status_sequence):
        progress = (
            polling.progress_percentages[index]
            if polling.progress_percentages
            else DEFAULT_PROGRESS[status]
        )
        update = dict(polling.custom_updates[index]) if polling.custom_updates else {}
        steps.append(Step(status, progress, update))
        if STATE_OF[status].is_terminal:
            break
    last = steps[-1]
    if last.status != final:
        progress = last.progress if polling.progress_percentages else DEFAULT_PROGRESS[final]
        steps[-1] = Step(final, progress, last.update)
    return steps


def raisable_error(error: Exception, provider: str, model: str) -> TarashException:
    """The error a failing mock job raises: a fresh copy of the configured one.

    A copy, because the chain writes to what it raises (the job handle, the metadata) and
    one MockResponse may fail many requests. A non-tarash exception is wrapped, chained to
    it, with no fallback (like an unexpected error in a provider's own code).
    """
    if isinstance(error, TarashException):
        try:
            fresh = copy.copy(error)
        except Exception:  # an exception class that cannot be rebuilt: use it as is
            fresh = error
        fresh.provider = fresh.provider or provider
        fresh.model = fresh.model or model
        return fresh
    wrapped = TarashException(
        str(error) or type(error).__name__,
        provider=provider,
        model=model,
        retryable=False,
        fallback_allowed=False,
    )
    wrapped.__cause__ = error
    return wrapped


def job_of(handle: JobHandle) -> MockJob:
    with _jobs_lock:
        job = _jobs.get(handle.request_id)
    if job is None:
        raise NotFoundError(
            f"no mock job {handle.request_id} in this process: mock jobs live in the memory "
            "of the process that submitted them",
            provider=handle.provider,
            model=handle.model,
            request_id=handle.request_id,
            status_code=404,
        )
    return job


def job_snapshot(job: MockJob) -> JobSnapshot:
    if job.cancelled:
        return JobSnapshot(
            state=JobState.CANCELLED,
            error=JobCancelledError(
                "the mock job was cancelled", provider=job.provider, model=job.model
            ),
        )
    step = job.steps[job.position]
    state = STATE_OF[step.status]
    error: TarashException | None = None
    if state is JobState.FAILED:
        configured = job.outcome.error
        error = (
            raisable_error(configured, job.provider, job.model)
            if configured is not None
            else GenerationFailedError(
                "the mock job failed", provider=job.provider, model=job.model
            )
        )
    return JobSnapshot(
        state=state,
        raw=dict(step.update),
        progress_percent=step.progress,
        poll_after=None if state.is_terminal else job.delay,
        error=error,
    )
