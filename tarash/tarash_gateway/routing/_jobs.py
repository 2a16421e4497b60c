"""One job on one provider: submit, wait (push or poll), read the result, cancel on give-up.

Everything here is provider-neutral; the provider client only maps the wire. The wait is
bounded by a wall-clock deadline and, when the caller gives up (deadline, task cancelled,
KeyboardInterrupt through the sync shim, a progress callback that raised), the remote job
is cancelled before the error travels on, so no abandoned job keeps billing.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

import anyio

from tarash.tarash_gateway._unions import ProgressCallback, Response, Update
from tarash.tarash_gateway.engine._completion import run_to_completion
from tarash.tarash_gateway.engine._http import unpaused_reads
from tarash.tarash_gateway.engine._polling import (
    JobSnapshot,
    JobState,
    PollSchedule,
    poll_until_done,
)
from tarash.tarash_gateway.engine._progress import CallbackError, deliver_progress
from tarash.tarash_gateway.engine._tracing import log_fields
from tarash.tarash_gateway.errors import (
    ContentModerationError,
    GenerationFailedError,
    HTTPConnectionError,
    JobCancelledError,
    TarashException,
    TimeoutError,
)
from tarash.tarash_gateway.models import (
    ImageGenerationResponse,
    ImageGenerationUpdate,
    JobHandle,
    UpdateStatus,
    VideoGenerationResponse,
    VideoGenerationUpdate,
)
from tarash.tarash_gateway.providers._base import (
    AnsweredSubmit,
    ImageOutput,
    ProviderClient,
    VideoOutput,
)

__all__ = [
    "CANCEL_GRACE_SECONDS",
    "CallbackError",
    "GiveUp",
    "JobWaiter",
    "cancel_remote_job",
    "cancel_unless_finished",
    "look_then_cancel",
    "snapshot_to_update",
]

logger = logging.getLogger("tarash.jobs")

DEFAULT_WAIT_SECONDS = 600.0
"""How long ``wait`` waits on a handle that carries no deadline and is given no timeout."""
MAX_CONSECUTIVE_POLL_FAILURES = 5
"""Status calls in a row that may fail (each after its own HTTP retries) before giving up."""
CANCEL_GRACE_SECONDS = 10.0
"""How long a remote cancel may take once the caller has given up."""
LOOK_GRACE_SECONDS = CANCEL_GRACE_SECONDS / 2
"""How much of that grace the status read before the cancel may take: a look that hangs
must leave the cancel time to be sent."""


_STATE_TO_UPDATE: dict[JobState, UpdateStatus] = {
    JobState.QUEUED: "queued",
    JobState.PROCESSING: "processing",
    JobState.COMPLETED: "completed",
    JobState.FAILED: "failed",
    JobState.CANCELLED: "failed",
}


def snapshot_to_update(
    snapshot: JobSnapshot,
    handle: JobHandle,
    attempt_number: int = 1,
    *,
    result: Response | None = None,
) -> Update:
    """Turn a provider snapshot into the user-facing progress update.

    A failed or cancelled job's update carries its error's message in ``error``; the
    final ``completed`` update carries the response in ``result`` (as published).
    """
    update_class = VideoGenerationUpdate if handle.kind == "video" else ImageGenerationUpdate
    failed = snapshot.state in (JobState.FAILED, JobState.CANCELLED)
    return update_class(
        request_id=handle.request_id,
        status=_STATE_TO_UPDATE[snapshot.state],
        progress_percent=snapshot.progress_percent,
        queue_position=snapshot.queue_position,
        provider=handle.provider,
        model=handle.model,
        attempt_number=attempt_number,
        update=snapshot.raw,
        error=snapshot.error.message if failed and snapshot.error is not None else None,
        result=result,
    )


@dataclass(frozen=True, slots=True)
class GiveUp:
    """What giving up on a job did.

    Attributes:
        finished: The job's terminal snapshot when the last look found it over: it was
            not cancelled (nor, where the provider's cancel deletes, destroyed).
        stopped: Whether the job is over or a cancel was sent for it; False when it may
            run on (and bill): the provider has no cancel, or the cancel could not be sent.
        accepted: Whether the provider accepted a cancel.
    """

    finished: JobSnapshot | None = None
    stopped: bool = False
    accepted: bool = False

    @property
    def left_job(self) -> bool | None:
        """How it left the job, as :attr:`JobWaiter.stopped` records it: ``None`` when the
        look found it over (nothing runs on), else whether a cancel was accepted (False:
        it may run on, holding its slot and billed)."""
        return None if self.finished is not None else self.accepted


async def look_then_cancel(
    client: ProviderClient,
    handle: JobHandle,
    *,
    read_finished: bool = False,
    on_finished: Callable[[JobSnapshot], None] | None = None,
    on_result: Callable[[GiveUp], None] | None = None,
) -> GiveUp:
    """Give up on a job without destroying it: read its status once, cancel it only if
    it has not finished.

    Between the last poll and the give-up (a deadline, a lost race, a caller's cancel) the
    job may have finished: a cancel sent then lands on a paid job, and where the provider's
    cancel deletes (:attr:`ProviderClient.cancel_deletes_finished`, Runway) its output is
    gone. So the status is read first, and a finished job is left alone. Where the cancel
    deletes and the status cannot be read, no cancel is sent either: a job that may have
    finished is never destroyed (it may run on; its handle can still read it).

    The look and the cancel run to completion whatever cancels the caller meanwhile
    (asyncio's own cancellation included), together bounded by
    :data:`CANCEL_GRACE_SECONDS` (not by the job's deadline, which has usually passed); a
    failure is logged, never raised over the error that caused the give-up.

    Args:
        client: The job's provider client.
        handle: The job.
        read_finished: Whether a finished job's result is still wanted (a deadline passed):
            the status is then read even from a provider that cannot cancel.
        on_finished: Told of the terminal snapshot when the job turned out finished,
            before this returns: a caller being cancelled never sees the return value (its
            cancellation is delivered as soon as the look is over).
        on_result: Told of what was done, every time, before this returns (for the same
            reason): whether a job that runs on still holds its slot depends on it.

    Returns:
        What was done: see :class:`GiveUp`.
    """
    if not client.supports_cancel and not read_finished:
        nothing = GiveUp()
        if on_result is not None:
            on_result(nothing)
        return nothing

    async def within_grace() -> GiveUp:
        with anyio.move_on_after(CANCEL_GRACE_SECONDS):
            looked = await _look(client, handle)
            if looked is not None and looked.state.is_terminal and looked.understood:
                logger.info(
                    "%s job %s is already %s: not cancelled",
                    handle.provider,
                    handle.request_id,
                    looked.state.value,
                    extra=_fields(handle, job_state=looked.state.value),
                )
                if on_finished is not None:
                    on_finished(looked)
                return GiveUp(finished=looked, stopped=True)
            if not client.supports_cancel:
                return GiveUp()
            if looked is None and client.cancel_deletes_finished:
                logger.warning(
                    "%s job %s not cancelled: its status is unreadable, and a cancel would "
                    "delete it were it finished; wait(handle) can still read it",
                    handle.provider,
                    handle.request_id,
                    extra=_fields(handle),
                )
                return GiveUp()
            try:
                accepted = await client.cancel(handle)
            except Exception as exc:  # never mask the error that made us give up
                logger.warning(
                    "could not cancel %s job %s: %s",
                    handle.provider,
                    handle.request_id,
                    exc,
                    extra=_fields(handle, error_type=type(exc).__name__),
                )
                return GiveUp(stopped=True)
            logger.info(
                "cancelled %s job %s",
                handle.provider,
                handle.request_id,
                extra=_fields(handle, cancel_accepted=accepted),
            )
            return GiveUp(stopped=True, accepted=accepted)
        logger.warning(
            "could not cancel %s job %s within %.0f s",
            handle.provider,
            handle.request_id,
            CANCEL_GRACE_SECONDS,
            extra=_fields(handle),
        )
        return GiveUp(stopped=client.supports_cancel)

    async def within_grace_and_tell() -> GiveUp:
        outcome = await within_grace()
        if on_result is not None:
            on_result(outcome)
        return outcome

    # Usually called because the caller is being cancelled: asyncio may cancel it again
    # (a second Task.cancel(), an outer timeout), which must not cut the look or the
    # cancel off.
    return await run_to_completion(within_grace_and_tell)


async def _look(client: ProviderClient, handle: JobHandle) -> JobSnapshot | None:
    """One status read of a job being given up on; ``None`` when it failed or took longer
    than :data:`LOOK_GRACE_SECONDS`. It does not wait out a read pause (see
    :func:`~tarash.tarash_gateway.engine._http.unpaused_reads`)."""
    try:
        with anyio.move_on_after(LOOK_GRACE_SECONDS), unpaused_reads():
            return await client.poll(handle)
        logger.info(
            "the status of %s job %s was not read within %.0f s before giving up",
            handle.provider,
            handle.request_id,
            LOOK_GRACE_SECONDS,
            extra=_fields(handle),
        )
        return None
    except Exception as exc:  # the give-up goes on; never mask the error behind it
        logger.info(
            "could not read the status of %s job %s before giving up: %s",
            handle.provider,
            handle.request_id,
            exc,
            extra=_fields(handle, error_type=type(exc).__name__),
        )
        return None


async def cancel_remote_job(
    client: ProviderClient,
    handle: JobHandle,
    *,
    on_result: Callable[[GiveUp], None] | None = None,
) -> bool:
    """Cancel a job being given up on, unless it has finished; return whether a cancel
    was accepted (see :func:`look_then_cancel`, which this is without a finished job's
    result; ``on_result`` is told what was done, as there)."""
    return (await look_then_cancel(client, handle, on_result=on_result)).accepted


async def cancel_unless_finished(client: ProviderClient, handle: JobHandle) -> bool:
    """The public ``cancel``: where the provider's cancel deletes a finished job
    (:attr:`ProviderClient.cancel_deletes_finished`), read its status first and send no
    cancel to a finished one, whose paid output would be destroyed.

    Returns:
        Whether the provider accepted the cancel (False for a finished job).

    Raises:
        TarashException: The status or the cancel could not be read or sent.
    """
    if client.cancel_deletes_finished:
        snapshot = await client.poll(handle)
        if snapshot.state.is_terminal and snapshot.understood:
            logger.info(
                "%s job %s is already %s: not cancelled (its cancel would delete it)",
                handle.provider,
                handle.request_id,
                snapshot.state.value,
                extra=_fields(handle, job_state=snapshot.state.value),
            )
            return False
    return await client.cancel(handle)


@dataclass(slots=True)
class JobWaiter:
    """Waits for one submitted job and reads its result.

    Attributes:
        client: The provider client the job belongs to.
        handle: The job.
        schedule: Poll schedule when no push channel is available.
        max_polls: Optional cap on polls (``config.max_poll_attempts``).
        on_progress: The user's callback.
        attempt_number: For progress updates.
        timeout_seconds: The timeout the deadline stands for (``config.timeout``), put on
            the :class:`TimeoutError` raised when it passes; by default the time from the
            start of :meth:`run` to the deadline.
        on_throttled: Called (once per job) when the provider first reports the job held
            back by the account's concurrency (a ``throttled`` snapshot): the router's
            limiter lowers its cap on the provider while this job still holds its slot.
        stopped: How the wait left the job: ``None`` when it never gave up on a live job
            (it ended, was already over, or was found over by the last look); ``True`` when
            it gave up and the provider accepted the remote cancel; ``False`` when it gave
            up and the job was not stopped (no cancel in the protocol, or the cancel failed,
            came too late or was not sent): it may run on, holding its account's
            concurrency and billed in full.
    """

    client: ProviderClient
    handle: JobHandle
    schedule: PollSchedule = field(default_factory=PollSchedule)
    max_polls: int | None = None
    on_progress: ProgressCallback | None = None
    attempt_number: int = 1
    timeout_seconds: float | None = None
    on_throttled: Callable[[], None] | None = None
    last_state: JobState | None = None
    last_snapshot: JobSnapshot | None = None
    consecutive_poll_failures: int = 0
    throttled: bool = False
    stopped: bool | None = None

    def __post_init__(self) -> None:
        if not self.client.reports_progress:
            self.on_progress = None

    async def _report(self, snapshot: JobSnapshot) -> None:
        self.last_state = snapshot.state
        self.last_snapshot = snapshot
        if snapshot.throttled and not self.throttled:
            # Once per job: the job waiting on is one signal, however often it is polled.
            self.throttled = True
            logger.info(
                "%s holds job %s back: the account runs as many jobs as it may",
                self.handle.provider,
                self.handle.request_id,
                extra=_fields(self.handle),
            )
            if self.on_throttled is not None:
                self.on_throttled()
        if snapshot.state is JobState.COMPLETED:
            # Reported once its result is read, which the update then carries.
            return
        if snapshot.error is not None:
            # The update shows the error's message before the attempt's metadata would
            # scrub it: the key must not reach the callback through a provider's echo.
            self.client.scrub(snapshot.error)
        await deliver_progress(
            self.on_progress, snapshot_to_update(snapshot, self.handle, self.attempt_number)
        )

    async def _watch(self) -> JobSnapshot | None:
        """Follow the provider's push channel; ``None`` when it is absent or broke off."""
        stream = self.client.watch(self.handle)
        if stream is None:
            return None
        try:
            async for snapshot in stream:
                await self._report(snapshot)
                if snapshot.state.is_terminal:
                    return snapshot
        except TarashException as exc:
            if not (isinstance(exc, HTTPConnectionError) or exc.retryable):
                raise
            logger.info(
                "status stream of %s job %s broke off (%s: %s); polling",
                self.handle.provider,
                self.handle.request_id,
                type(exc).__name__,
                exc,
                extra=_fields(self.handle, error_type=type(exc).__name__),
            )
        finally:
            # Left early (terminal snapshot, the callback raised, cancelled): close it now,
            # so its connection and stream slot are not held until garbage collection.
            aclose = getattr(stream, "aclose", None)
            if aclose is not None:
                await aclose()
        return None

    async def _poll_tolerantly(self) -> JobSnapshot:
        """One poll; a transient failure that outlived the HTTP retries is absorbed here
        (the last snapshot is reported again) so one bad minute does not abandon a paid job.
        """
        try:
            snapshot = await self.client.poll(self.handle)
        except TarashException as exc:
            self.consecutive_poll_failures += 1
            if (
                not exc.retryable
                or self.last_snapshot is None
                or self.consecutive_poll_failures > MAX_CONSECUTIVE_POLL_FAILURES
            ):
                raise
            logger.warning(
                "status of %s job %s unreadable (%s); polling on",
                self.handle.provider,
                self.handle.request_id,
                exc,
                extra=_fields(self.handle, error_type=type(exc).__name__),
            )
            return self.last_snapshot
        self.consecutive_poll_failures = 0
        return snapshot

    async def wait_terminal(
        self, first_snapshot: JobSnapshot | None, deadline: float | None
    ) -> JobSnapshot:
        """Return the job's terminal snapshot, by push where offered, else by polling."""
        if first_snapshot is not None:
            await self._report(first_snapshot)
            if first_snapshot.state.is_terminal:
                return first_snapshot
        pushed = await self._watch()
        if pushed is not None:
            return pushed
        return await poll_until_done(
            self._poll_tolerantly,
            deadline=deadline,
            schedule=self._schedule_with_floor(),
            max_polls=self.max_polls,
            on_snapshot=self._report,
            first_snapshot=first_snapshot,
            timeout_seconds=self.timeout_seconds,
        )

    def _schedule_with_floor(self) -> PollSchedule:
        """The schedule, never polling faster than the provider asks (Runway: 5 s)."""
        floor = self.client.poll_floor()
        if floor <= self.schedule.floor:
            return self.schedule
        return replace(self.schedule, floor=floor)

    async def read_result(
        self, snapshot: JobSnapshot, answer: VideoOutput | ImageOutput | None = None
    ) -> Response:
        """Turn a terminal snapshot into the response, or raise the job's error.

        Args:
            snapshot: The job's terminal snapshot.
            answer: The output the submit's reply carried (an :class:`AnsweredSubmit`):
                taken as it is, nothing is fetched.
        """
        handle = self.handle
        if snapshot.state is not JobState.COMPLETED:
            error = snapshot.error or (
                JobCancelledError("the provider cancelled the job")
                if snapshot.state is JobState.CANCELLED
                else GenerationFailedError("the job failed")
            )
            raise _with_origin(error, handle)
        try:
            output = answer if answer is not None else await self._fetch(snapshot)
        except TarashException as exc:
            if not _reports_no_usable_output(exc):
                # The job finished and is paid for; only reading it failed. Another
                # provider would mean paying again: the error carries the handle so that
                # ``wait(error.job_handle)`` can fetch the result later instead.
                exc.fallback_allowed = False  # type: ignore[misc]
            raise _with_origin(exc, handle) from exc.__cause__
        response: Response
        if isinstance(output, VideoOutput):
            response = VideoGenerationResponse(
                request_id=handle.request_id,
                video=output.video,
                content_type=output.content_type,
                audio_url=output.audio_url,
                duration=output.duration or handle.request_summary.get("duration_seconds"),
                resolution=output.resolution or handle.request_summary.get("resolution"),
                aspect_ratio=output.aspect_ratio or handle.request_summary.get("aspect_ratio"),
                provider=handle.provider,
                model=handle.model,
                expires_at=output.expires_at,
                raw_response=output.raw,
                is_mock=self.client.is_mock,
            )
            references: list[object] = [output.video]
        else:
            response = ImageGenerationResponse(
                request_id=handle.request_id,
                images=output.images,
                content_type=output.content_type,
                revised_prompt=output.revised_prompt,
                provider=handle.provider,
                model=handle.model,
                expires_at=output.expires_at,
                raw_response=output.raw,
                is_mock=self.client.is_mock,
            )
            references = list(output.images)
        # Per URL: the outputs of one job can sit on different hosts, and a key meant for
        # the provider's delivery host must never reach another.
        response._download_headers = {
            reference: headers
            for reference in references
            if isinstance(reference, str)
            and reference.startswith("http")
            and (headers := self.client.download_headers(reference))
        }
        return response

    async def _fetch(self, snapshot: JobSnapshot) -> VideoOutput | ImageOutput:
        """Read a completed job's media from the provider."""
        if self.handle.kind == "video":
            return await self.client.fetch_video(self.handle, snapshot)
        return await self.client.fetch_image(self.handle, snapshot)

    async def take_answer(self, answered: AnsweredSubmit) -> Response:
        """The response of a job the provider answered in its submit's reply.

        No job exists there to poll, look at or cancel: the answer is reported (progress)
        and read as the job's terminal snapshot and output, whatever the deadline (it is
        paid for). :attr:`stopped` stays ``None``: nothing runs on.

        Raises:
            CallbackError: The progress callback raised.
            TarashException: The answer is a failure (a refusal, a reply that could not
                be read, no media).
        """
        snapshot = answered.snapshot
        await self._report(snapshot)
        response = await self.read_result(snapshot, answered.output)
        await deliver_progress(
            self.on_progress,
            snapshot_to_update(snapshot, self.handle, self.attempt_number, result=response),
        )
        return response

    async def _terminal_snapshot(
        self, first_snapshot: JobSnapshot | None, deadline: float | None
    ) -> JobSnapshot:
        if first_snapshot is not None and first_snapshot.state.is_terminal:
            # Already over (a held submit, or a resumed job): no deadline applies to
            # reporting it, so a finished, paid job is never thrown away as late.
            await self._report(first_snapshot)
            return first_snapshot
        snapshot: JobSnapshot | None = None
        with anyio.CancelScope(deadline=math.inf if deadline is None else deadline):
            snapshot = await self.wait_terminal(first_snapshot, deadline)
        if snapshot is None:  # the deadline cancelled the wait
            raise _with_origin(
                TimeoutError(
                    "the job did not finish before its deadline",
                    timeout_seconds=self.timeout_seconds,
                ),
                self.handle,
            )
        return snapshot

    def _seen_over(self) -> bool:
        """Whether a snapshot already showed the job over (nothing left to stop)."""
        return self.last_state is not None and self.last_state.is_terminal

    async def _give_up(self, *, read_finished: bool) -> GiveUp:
        """Look once more, cancel the job unless it finished; a finished job is kept as
        :attr:`last_snapshot` (without a progress update: the caller has gone), so the
        attempt records it finished, not cancelled."""
        return await look_then_cancel(
            self.client,
            self.handle,
            read_finished=read_finished,
            on_finished=self._finished,
            on_result=self._record_give_up,
        )

    def _record_give_up(self, outcome: GiveUp) -> None:
        # A job that may run on keeps its slot (the router's watcher).
        self.stopped = outcome.left_job

    def _finished(self, snapshot: JobSnapshot) -> None:
        self.last_state = snapshot.state
        self.last_snapshot = snapshot

    def _forbid_fallback(self, error: TarashException) -> None:
        """A job given up on that could not be stopped (OpenAI's Sora has no cancel; a
        cancel that would delete a job whose status is unreadable is not sent) runs on and
        is billed: another provider would be paid for the same request."""
        error.fallback_allowed = False  # type: ignore[misc]
        logger.warning(
            "%s did not cancel job %s: it may still be running (and billed); no fallback, "
            "wait(error.job_handle) can still read it",
            self.handle.provider,
            self.handle.request_id,
            extra=_fields(self.handle),
        )

    async def run(
        self,
        first_snapshot: JobSnapshot | None,
        deadline: float | None,
        *,
        poll_first: bool = False,
    ) -> Response:
        """Wait for the job and read its result, cancelling it remotely on any give-up.

        Args:
            first_snapshot: What the submit's reply said of the job, if anything.
            deadline: On ``anyio.current_time()``'s clock; None waits without one.
            poll_first: Ask for the job's status once before the deadline applies (a
                resumed handle): a job that finished while nobody waited is read, not
                cancelled as late.

        Raises:
            TimeoutError: The deadline passed and one last look found the job unfinished
                (it was cancelled remotely first). A job found finished by that look is
                read instead: its result returned, or its failure raised.
            CallbackError: The progress callback raised (the job was cancelled first,
                unless it had finished).
            TarashException: The job failed, its status could not be read (it was cancelled
                remotely first), or its result could not be read.
        """
        if self.timeout_seconds is None and deadline is not None:
            self.timeout_seconds = max(0.0, deadline - anyio.current_time())
        try:
            if poll_first and first_snapshot is None:
                # Inside the try: this status call is already a wait on a live job, and
                # giving up during it (cancelled, say) must cancel the job like any other.
                first_snapshot = await self.client.poll(self.handle)
            snapshot = await self._terminal_snapshot(first_snapshot, deadline)
        except TarashException as exc:
            # Whatever made us stop waiting (deadline, a status we could not read), the
            # job may still be running and billing: stop it, unless it has finished.
            _with_origin(exc, self.handle)
            if self._seen_over():
                raise
            outcome = await self._give_up(read_finished=True)
            if outcome.finished is None:
                if not outcome.stopped:
                    self._forbid_fallback(exc)
                raise
            # It finished after the last poll: a finished job is read (a success is a
            # success, a failure its own failure), whatever the deadline; giving up on
            # it would throw away a paid job and let the chain buy a second one.
            snapshot = outcome.finished
            await self._report(snapshot)
        except CallbackError:
            # The user's callback raised: we stop waiting, and the job would go on billing.
            if not self._seen_over():
                await self._give_up(read_finished=False)
            raise
        except BaseException:
            # The caller was cancelled (task cancelled, KeyboardInterrupt, race lost): stop
            # the remote job (a finished one is left alone), then let the cancellation
            # travel on.
            if not self._seen_over():
                await self._give_up(read_finished=False)
            raise
        if not snapshot.understood:
            # A status we do not know ends the wait, not necessarily the job: stop it
            # (its look reads the same unknown status, so the cancel is sent; without a
            # cancel, the job is recorded as running on).
            await self._give_up(read_finished=False)
        # Reading the result of a finished job is idempotent and paid for already: it is
        # not cut short by the job's deadline.
        response = await self.read_result(snapshot)
        await deliver_progress(
            self.on_progress,
            snapshot_to_update(snapshot, self.handle, self.attempt_number, result=response),
        )
        return response


def _reports_no_usable_output(error: TarashException) -> bool:
    """Whether an error met reading a COMPLETED job's result is the provider's word that
    the job left nothing usable, the one case where a fallback may follow a finished job.

    That word is a :class:`GenerationFailedError` (the job failed, was cancelled, or
    finished without media: fal's result 5xx carrying ``x-fal-request-id``, Replicate's
    ``succeeded`` with a null output) or a :class:`ContentModerationError` (its output was
    refused). Any other error (no reply, a body cut short, an HTTP error status such as a
    refused key, a rate limit, a 400 or a 404) says only that the read failed: the job may
    well have succeeded and been paid for, so another provider would be paid again.
    Providers must therefore raise those two classes for verdicts on the job only, never
    for a reply they could not read.
    """
    return isinstance(error, GenerationFailedError | ContentModerationError)


def _fields(handle: JobHandle, **more: object) -> dict[str, object]:
    return log_fields(handle.provider, handle.model, handle.request_id, **more)


def _with_origin(error: TarashException, handle: JobHandle) -> TarashException:
    error.job_handle = error.job_handle or handle
    error.provider = error.provider or handle.provider
    error.model = error.model or handle.model
    error.request_id = error.request_id or handle.request_id
    return error


def deadline_from_timeout(timeout: float | None) -> tuple[float | None, datetime | None]:
    """Return a deadline on the event loop's clock and as a wall-clock time."""
    if timeout is None:
        return None, None
    return anyio.current_time() + timeout, datetime.now(UTC) + timedelta(seconds=timeout)


def deadline_from_handle(handle: JobHandle, timeout: float | None) -> float:
    """Deadline for waiting on a resumed handle: the explicit timeout, else the handle's,
    else :data:`DEFAULT_WAIT_SECONDS` (a wait never goes on forever)."""
    if timeout is not None:
        return anyio.current_time() + timeout
    if handle.deadline_at is None:
        return anyio.current_time() + DEFAULT_WAIT_SECONDS
    left = (handle.deadline_at - datetime.now(UTC)).total_seconds()
    return anyio.current_time() + max(0.0, left)
