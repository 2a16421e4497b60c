"""Jobs tarash gave up on but could not stop, followed until they end, holding their slots.

A caller gives up on a job (its deadline, a cancellation, a lost race) and the waiter
cancels it remotely. Where that fails (OpenAI's and Google's videos have no cancel; a
cancel refused, or sent after the job finished) the job runs on at the provider, counted
against the account's concurrency and billed. Releasing its capacity slot then would let
``max_concurrent=1`` run three jobs at once, so the slot goes to the :class:`JobWatcher`
instead: it polls the job, with the usual backoff, until the provider says it is over (any
terminal state, or unknown to it: a 404), or until its maximum run time has passed, and
only then releases the slot.

Owner and lifetime: one watcher per process (:data:`JOB_WATCHER`, which every router
uses), running its jobs as tasks of its own event loop in a daemon thread, started on the
first job it is given. A router is shared by every thread and loop (asyncio or trio), and
a caller's loop may end as soon as the call returns (``asyncio.run``), so no caller's task
group can own the watching. At interpreter exit (``atexit``) every watch is cancelled and
its slot released (the process holds no slots after it ends) and the thread stops: the exit
waits for no job (:meth:`JobWatcher.stop` does the same and lets a later job start the
thread again). A sync call never waits for a watch either: it returns as soon as it has
handed the job over.
"""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
import logging
import math
import threading
import time
from collections.abc import Awaitable, Callable, Mapping
from types import MappingProxyType

import anyio
from anyio.from_thread import BlockingPortal, start_blocking_portal

from tarash.tarash_gateway.engine._http import close_client
from tarash.tarash_gateway.engine._polling import (
    JobSnapshot,
    JobState,
    PollSchedule,
    poll_until_done,
)
from tarash.tarash_gateway.engine._tracing import log_fields
from tarash.tarash_gateway.errors import NotFoundError, TarashException
from tarash.tarash_gateway.models import JobHandle
from tarash.tarash_gateway.providers._base import ProviderClient

__all__ = [
    "DEFAULT_MAX_RUN_SECONDS",
    "JOB_WATCHER",
    "MAX_RUN_SECONDS",
    "MAX_UNREADABLE_POLLS",
    "JobWatcher",
    "max_run_seconds",
]

logger = logging.getLogger("tarash.watch")

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]

DEFAULT_MAX_RUN_SECONDS = 3600.0
"""How long a job given up on may run before its slot is released unseen: an hour.

None of the providers documents a maximum run time for a job (see
/work/shared/providers/); their own SDKs stop waiting after 10 minutes (Runway's
``TaskTimeoutError``, OpenAI's 600 s default), and a video job takes minutes. A job not
over after an hour is taken to be lost, so that a provider that stops answering about a
job cannot hold a slot for ever."""

#: Per ``provider`` or ``provider/model``, where a maximum is known (none is documented
#: yet: every job gets :data:`DEFAULT_MAX_RUN_SECONDS`).
MAX_RUN_SECONDS: Mapping[str, float] = MappingProxyType({})

MAX_UNREADABLE_POLLS = 5
"""Status calls in a row that may fail (each after its HTTP retries) before the watch stops
asking and holds the slot for what is left of the job's maximum run time instead."""

_STOP_WAIT_SECONDS = 5.0
"""How long :meth:`JobWatcher.stop` waits for its cancelled watches to end."""


def max_run_seconds(provider: str, model: str) -> float:
    """The longest a job of that provider/model is taken to run."""
    for key in (f"{provider}/{model}", provider):
        if key in MAX_RUN_SECONDS:
            return MAX_RUN_SECONDS[key]
    return DEFAULT_MAX_RUN_SECONDS


class JobWatcher:
    """Follows jobs given up on but not stopped, and releases each one's slot when it ends.

    Args:
        clock: Seconds on a monotonic clock, for the jobs' maximum run times.
        sleep: How the watch waits between polls.
    """

    def __init__(self, *, clock: Clock = time.monotonic, sleep: Sleep = anyio.sleep) -> None:
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._portal: BlockingPortal | None = None
        self._portal_cm: contextlib.AbstractContextManager[BlockingPortal] | None = None
        self._exit_hook_registered = False
        self._scopes: set[anyio.CancelScope] = set()
        self._closed = False
        self._watching = 0
        self._idle = threading.Condition(self._lock)

    @property
    def watching(self) -> int:
        """Jobs being followed now."""
        with self._lock:
            return self._watching

    def follow(
        self,
        client: ProviderClient,
        handle: JobHandle,
        release: Callable[[], None],
        *,
        schedule: PollSchedule,
        run_for: float,
    ) -> None:
        """Follow ``handle`` until it ends (or ``run_for`` seconds pass), then ``release``.

        Callable from any thread or event loop; returns at once. The client is no longer
        used by its attempt: it is the watch's from here on.

        Args:
            client: The job's provider client.
            handle: The job.
            release: Gives its slot back; called exactly once, from the watcher's thread
                (or from this one, when the watcher cannot run).
            schedule: The job's poll schedule.
            run_for: Seconds it may still run (its maximum run time less its age).
        """
        with self._lock:
            if self._closed:
                portal = None
            else:
                try:
                    portal = self._start_locked()
                except RuntimeError:  # no new thread at interpreter shutdown
                    portal = None
            if portal is not None:
                self._watching += 1
        if portal is None:
            # The process is ending: nothing it holds outlives it.
            release()
            return
        # The job's retries stop at its old deadline, on its caller's clock (a trio loop's
        # is not this loop's): the watch has a deadline of its own.
        client.request_context.deadline = None

        async def watch() -> None:
            scope = anyio.CancelScope()
            with self._lock:
                self._scopes.add(scope)
                # Started after stop() began: its cancel_all may not see this scope.
                stopping = self._portal is not portal
            try:
                with scope:
                    if not stopping:
                        await self._watch(client, handle, schedule, run_for)
            finally:
                with self._lock:
                    self._scopes.discard(scope)
                    self._watching -= 1
                    self._idle.notify_all()
                release()

        try:
            portal.start_task_soon(watch)
        except RuntimeError:
            with self._lock:
                self._watching -= 1
            release()

    async def _watch(
        self, client: ProviderClient, handle: JobHandle, schedule: PollSchedule, run_for: float
    ) -> None:
        fields = log_fields(handle.provider, handle.model, handle.request_id)
        logger.info(
            "holding the slot of %s job %s, which could not be stopped, until it ends",
            handle.provider,
            handle.request_id,
            extra=fields,
        )
        last: list[JobSnapshot] = []
        failures = 0

        async def poll() -> JobSnapshot:
            nonlocal failures
            try:
                snapshot = await client.poll(handle)
            except NotFoundError:
                raise
            except TarashException as exc:
                failures += 1
                if not last or not exc.retryable or failures > MAX_UNREADABLE_POLLS:
                    raise
                # A bad minute is not the job's end: poll on until it says so.
                logger.info(
                    "status of %s job %s unreadable (%s); still holding its slot",
                    handle.provider,
                    handle.request_id,
                    type(exc).__name__,
                    extra=fields,
                )
                return last[-1]
            failures = 0
            if not snapshot.understood:
                # A status tarash does not know ends a caller's wait, not the job.
                snapshot = dataclasses.replace(snapshot, state=JobState.PROCESSING)
            last[:] = [snapshot]
            return snapshot

        deadline = self._clock() + max(0.0, run_for)
        floor = max(schedule.floor, client.poll_floor())
        try:
            snapshot = await poll_until_done(
                poll,
                deadline=deadline,
                schedule=dataclasses.replace(schedule, floor=floor),
                sleep=self._sleep,
                clock=self._clock,
            )
        except NotFoundError:
            outcome = "unknown to the provider"
        except TimeoutError:
            outcome = "past its maximum run time"
        except TarashException as exc:
            # Its status cannot be read (a refused key, a provider gone quiet): it may
            # still run, so the slot is held for what is left of its maximum run time.
            logger.warning(
                "cannot follow %s job %s (%s); holding its slot for its maximum run time",
                handle.provider,
                handle.request_id,
                type(exc).__name__,
                extra=fields,
            )
            left = deadline - self._clock()
            if math.isfinite(left) and left > 0:
                await self._sleep(left)
            outcome = "past its maximum run time"
        else:
            outcome = snapshot.state.value
        logger.info(
            "%s job %s is over (%s): its slot is released",
            handle.provider,
            handle.request_id,
            outcome,
            extra=fields,
        )

    def _start_locked(self) -> BlockingPortal:
        if self._portal is None:
            cm = start_blocking_portal(backend="asyncio", name="tarash-job-watcher")
            self._portal = cm.__enter__()
            self._portal_cm = cm
            # Once per watcher, not per start: stop() and a later job start the thread
            # again (every test's reset does), and each start would add another hook.
            if not self._exit_hook_registered:
                atexit.register(self._at_exit)
                self._exit_hook_registered = True
        return self._portal

    def wait_idle(self, timeout: float) -> bool:
        """Block until no job is followed (for tests and diagnostics); False on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: self._watching == 0, timeout)

    def _at_exit(self) -> None:
        with self._lock:
            self._closed = True
        self.stop()

    def stop(self) -> None:
        """Stop every watch (releasing its slot) and the watcher's thread.

        A job still running is no longer held against any limit: call it when the process
        is done with its routers (it runs at interpreter exit). A job handed over later
        starts the thread again, except at interpreter exit, where it is released at once.
        """
        with self._lock:
            portal, cm = self._portal, self._portal_cm
            self._portal = self._portal_cm = None
        if portal is None or cm is None:
            return

        def cancel_all() -> None:
            with self._lock:
                scopes = list(self._scopes)
            for scope in scopes:
                scope.cancel()

        with contextlib.suppress(Exception):
            portal.call(cancel_all)
        # Each watch ends at its next checkpoint; a poll cut short must not reopen the
        # loop's pools after they are closed (they would outlive the loop's end).
        self.wait_idle(_STOP_WAIT_SECONDS)
        with contextlib.suppress(Exception):
            portal.call(close_client)
        with contextlib.suppress(Exception):
            cm.__exit__(None, None, None)


#: The process's watcher, used by every router.
JOB_WATCHER = JobWatcher()
