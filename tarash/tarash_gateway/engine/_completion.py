"""Running a step to completion although the caller is cancelled meanwhile.

A submit in flight may already have created a paid job, and a remote cancel is what stops
one: neither may be cut off halfway. anyio's shielded cancel scope protects a step from
anyio's and trio's cancellation, but not from asyncio's own (``Task.cancel()``,
``asyncio.wait_for``, ``asyncio.timeout``), which interrupts whatever the task awaits. So
on asyncio the step runs in a task of its own that the caller's cancellation never reaches
directly, and the caller waits for it, however often it is cancelled; the cancellation is
delivered to the caller once the step is over and its result (a job id) dealt with.

Two strengths: :func:`run_to_completion` lets nothing cut the step (a remote cancel, with
its own time bound), while :func:`submit_to_completion` passes the caller's cancellation on
to the step as an anyio cancellation, so that only the HTTP request in flight (shielded in
``_http.send``) finishes, and retry waits or a request not yet sent are cut at once.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import anyio
import anyio.lowlevel

__all__ = ["run_to_completion", "submit_to_completion"]

T = TypeVar("T")

_STOPS = (KeyboardInterrupt, SystemExit)
"""What a step may raise that its caller's cancellation must not replace: the user asked
the program to stop (a callback's Ctrl-C, say), and a cancellation raised instead would
let the program run on as if a task had merely been cancelled."""

# The loop keeps only weak references to tasks: hold the step tasks until they are done.
_running_steps: set[asyncio.Future[Any]] = set()


@dataclass(slots=True)
class _Outcome(Generic[T]):
    value: T | None = None
    error: BaseException | None = None

    def unwrap(self) -> T:
        if self.error is not None:
            raise self.error
        return self.value  # type: ignore[return-value]


async def _capture(step: Callable[[], Awaitable[T]]) -> _Outcome[T]:
    try:
        return _Outcome(value=await step())
    except BaseException as exc:  # handed to the caller, which raises it
        return _Outcome(error=exc)


def _on_asyncio() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False  # trio, anyio's other backend
    return True


async def _finish(
    step: Callable[[], Awaitable[T]], *, pass_cancel_on: bool
) -> tuple[_Outcome[T], BaseException | None, bool]:
    """Run ``step`` to its end; return its outcome, the cancellation that hit the caller
    and whether that was asyncio's own (``Task.cancel()``) rather than a scope's."""
    cancelled: BaseException | None = None
    native = False
    if not _on_asyncio():
        # trio has no cancellation but its cancel scopes, which shields stop.
        with anyio.CancelScope(shield=not pass_cancel_on):
            outcome = await _capture(step)
    else:
        inner = anyio.CancelScope()

        async def run_step() -> _Outcome[T]:
            with inner:
                return await _capture(step)
            return _Outcome(error=anyio.get_cancelled_exc_class()())  # cut before a reply

        task: asyncio.Future[_Outcome[T]] = asyncio.ensure_future(run_step())
        _running_steps.add(task)
        task.add_done_callback(_running_steps.discard)
        while not task.done():
            try:
                # The shield keeps anyio's scopes from re-delivering their cancellation
                # on every loop turn; asyncio's own lands here and is held back.
                with anyio.CancelScope(shield=True):
                    await asyncio.wait({task})
            except asyncio.CancelledError as exc:
                native = True
                cancelled = cancelled or exc
                if pass_cancel_on:
                    inner.cancel()
        outcome = task.result()
    if cancelled is None:
        try:
            # An anyio or trio scope cancelled while the shield held: it is delivered here.
            await anyio.lowlevel.checkpoint_if_cancelled()
        except BaseException as exc:  # re-raised by the caller, after the clean-up
            cancelled = exc
    return outcome, cancelled, native


def _deliver_later(cancelled: BaseException, *, native: bool) -> None:
    """A cancellation a Ctrl-C goes out in place of must not be lost when that Ctrl-C
    does not end the task (user code catches it; or it is only the one being handled
    when the loop was started, ``except KeyboardInterrupt: asyncio.run(...)``, which every
    task then sees in ``sys.exc_info()``). anyio's and trio's scopes stay cancelled and
    deliver theirs at the next checkpoint; asyncio's own is delivered once, so it is asked
    for again (its count unchanged, so ``asyncio.timeout`` still turns it into its error)."""
    task = asyncio.current_task() if native else None
    if task is None:
        return
    task.uncancel()
    task.cancel(cancelled.args[0] if cancelled.args else None)


async def run_to_completion(step: Callable[[], Awaitable[T]]) -> T:
    """Run ``step`` to its end even if the caller is cancelled while it runs.

    Bound ``step`` in time yourself: nothing here cuts it.

    Returns:
        ``step``'s result.

    Raises:
        BaseException: The caller's cancellation, once ``step`` is over; otherwise
            whatever ``step`` raised. A ``KeyboardInterrupt`` or ``SystemExit`` from
            ``step`` is raised even when the caller was cancelled meanwhile, and a
            clean-up step run while one propagates never raises the cancellation in its
            place.
    """
    # Read before the first await: a cancellation thrown in meanwhile resets it.
    stopping = isinstance(sys.exc_info()[1], _STOPS)
    outcome, cancelled, native = await _finish(step, pass_cancel_on=False)
    if cancelled is not None:
        if not stopping and not isinstance(outcome.error, _STOPS):
            raise cancelled
        # A Ctrl-C in the step outranks the cancellation it met, and a clean-up run while
        # one travels (in an ``except`` or ``finally`` on its way out) does not raise the
        # cancellation in its place: the Ctrl-C goes on, the cancellation comes after it.
        _deliver_later(cancelled, native=native)
    return outcome.unwrap()


async def submit_to_completion(
    submit: Callable[[], Awaitable[T]],
    *,
    on_abandoned: Callable[[T], Awaitable[object]],
) -> T:
    """Run a submit so that a request in flight is never cut off by the caller's cancellation.

    Under any cancellation (anyio's, trio's or asyncio's own) the submit's retry waits are
    cut at once, but a request already sent runs to its reply (``_http.send`` shields it):
    if that reply created a job, ``on_abandoned`` is called with the submit's result to
    cancel it, and then the cancellation travels on.

    Returns:
        The submit's result, when the caller was not cancelled.

    Raises:
        BaseException: The caller's cancellation (after ``on_abandoned``; with the
            submit's error as ``__cause__`` when it failed), or whatever the submit
            raised; a ``KeyboardInterrupt`` or ``SystemExit`` from the submit even
            when the caller was cancelled meanwhile.
    """
    outcome, cancelled, native = await _finish(submit, pass_cancel_on=True)
    if cancelled is None:
        return outcome.unwrap()
    if isinstance(outcome.error, _STOPS):
        # A Ctrl-C during the request outranks the cancellation it met (no job id came
        # back to cancel), as in :func:`run_to_completion`.
        _deliver_later(cancelled, native=native)
        raise outcome.error
    if outcome.error is None:
        result = outcome.value

        async def clean_up() -> object:
            return await on_abandoned(result)  # type: ignore[arg-type]

        await _finish(clean_up, pass_cancel_on=False)
        raise cancelled
    # The submit failed as the caller was cancelled: its error (a reply lost after the
    # request reached the provider says a job may exist) rides on the cancellation.
    raise cancelled from outcome.error
