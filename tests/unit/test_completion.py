"""run_to_completion under a cancellation that meets a Ctrl-C: the Ctrl-C is never
replaced by the cancellation (asyncio and trio)."""

from __future__ import annotations

import asyncio
import sys

import anyio
import anyio.lowlevel
import pytest

from tarash.tarash_gateway.engine._completion import run_to_completion, submit_to_completion

pytestmark = pytest.mark.anyio


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


async def test_a_step_finishes_under_cancellation_then_the_cancellation_travels() -> None:
    finished = []

    async def step() -> None:
        await anyio.sleep(0.01)
        finished.append(True)

    with anyio.CancelScope() as scope:
        scope.cancel()
        await run_to_completion(step)
        pytest.fail("the cancellation was not raised")  # pragma: no cover
    assert finished == [True] and scope.cancelled_caught


async def test_a_ctrl_c_from_the_step_outranks_the_cancellation_it_met() -> None:
    async def step() -> None:
        await anyio.sleep(0.01)
        raise KeyboardInterrupt

    async def cancelled_caller() -> None:
        with anyio.CancelScope() as scope:
            scope.cancel()
            await run_to_completion(step)

    with pytest.raises(KeyboardInterrupt):
        await cancelled_caller()


async def test_a_clean_up_while_a_ctrl_c_travels_does_not_replace_it() -> None:
    """The shape of every give-up path: ``except BaseException: await clean_up; raise``
    (and ``finally``), where the batch's stop has cancelled the scope meanwhile."""
    cleaned = []

    async def clean_up() -> None:
        await anyio.sleep(0.01)
        cleaned.append(True)

    async def cleaning_in_except() -> None:
        with anyio.CancelScope() as scope:
            try:
                raise KeyboardInterrupt
            except BaseException:
                scope.cancel()
                await run_to_completion(clean_up)
                raise

    async def cleaning_in_finally() -> None:
        with anyio.CancelScope() as scope:
            try:
                raise KeyboardInterrupt
            finally:
                scope.cancel()
                await run_to_completion(clean_up)

    with pytest.raises(KeyboardInterrupt):
        await cleaning_in_except()
    assert cleaned == [True]
    with pytest.raises(KeyboardInterrupt):
        await cleaning_in_finally()
    assert cleaned == [True, True]


async def test_an_ordinary_error_travelling_still_lets_the_cancellation_through() -> None:
    """Only a stop outranks a cancellation: a clean-up run while an ordinary error
    travels raises the cancellation, as anyio's own scopes expect."""

    async def clean_up() -> None:
        await anyio.lowlevel.checkpoint()

    with anyio.CancelScope() as scope:
        try:
            raise ValueError("boom")
        except ValueError:
            scope.cancel()
            await run_to_completion(clean_up)
            pytest.fail("the cancellation was not raised")  # pragma: no cover
    assert scope.cancelled_caught


# ------------------------------------------------------------------------------------------
# Hostile cases for the Ctrl-C-over-cancellation rule of ``_completion``: a cancellation that is
# not raised in a Ctrl-C's place must not be lost when that Ctrl-C never ends the task (user code
# catches it, or it is only the one a loop was started to clean up after), and a Ctrl-C from a
# submit is not replaced by the cancellation it met.
# ------------------------------------------------------------------------------------------


STEP_SECONDS = 0.01  # a step that spans a few loop turns, so a cancellation lands in it


async def _step() -> str:
    await asyncio.sleep(STEP_SECONDS)
    return "done"


async def _cancel_while_running(coro_fn: object) -> asyncio.Task[object]:
    """Start a task, cancel it (asyncio's own ``Task.cancel()``) once it is inside its
    step, and return it once it is over."""
    task: asyncio.Task[object] = asyncio.ensure_future(coro_fn())  # type: ignore[operator]
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    task.cancel()
    await asyncio.wait({task}, timeout=5)
    return task


@pytest.mark.parametrize("anyio_backend", ["asyncio"])  # asyncio's Task.cancel()
async def test_a_ctrl_c_caught_by_user_code_does_not_swallow_an_asyncio_cancel() -> None:
    """``except KeyboardInterrupt: await clean_up()`` with the KI handled for good: the
    ``Task.cancel()`` that landed in the clean-up still cancels the task."""
    ran_on: list[str] = []

    async def handler() -> None:
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt:
            assert await run_to_completion(_step) == "done"
        await asyncio.sleep(STEP_SECONDS)
        ran_on.append("the task ran on after its cancel")

    task = await _cancel_while_running(handler)
    assert task.done() and task.cancelled()
    assert ran_on == []


@pytest.mark.parametrize("anyio_backend", ["asyncio"])  # asyncio's Task.cancel()
async def test_a_step_ctrl_c_caught_by_user_code_does_not_swallow_an_asyncio_cancel() -> None:
    """The step's own Ctrl-C outranks the cancel it met; caught by the caller, the cancel
    is still delivered at the caller's next await."""
    ran_on: list[str] = []

    async def step() -> None:
        await asyncio.sleep(STEP_SECONDS)
        raise KeyboardInterrupt

    async def caller() -> None:
        with pytest.raises(KeyboardInterrupt):
            await run_to_completion(step)
        await asyncio.sleep(STEP_SECONDS)
        ran_on.append("the task ran on after its cancel")

    task = await _cancel_while_running(caller)
    assert task.done() and task.cancelled()
    assert ran_on == []


def _run_in_a_loop_started_while_a_ctrl_c_is_handled(main: object) -> object:
    # The usual script shape: ``except KeyboardInterrupt: asyncio.run(shut_down())``.
    # Every task of that loop sees the KeyboardInterrupt in ``sys.exc_info()``.
    try:
        raise KeyboardInterrupt
    except KeyboardInterrupt:
        assert isinstance(sys.exc_info()[1], KeyboardInterrupt)
        return asyncio.run(main())  # type: ignore[operator]


def test_a_loop_started_in_a_ctrl_c_handler_still_delivers_task_cancel() -> None:
    ran_on: list[str] = []

    async def worker() -> None:
        await run_to_completion(_step)
        await asyncio.sleep(STEP_SECONDS)
        ran_on.append("the task ran on after its cancel")

    async def main() -> bool:
        task = await _cancel_while_running(worker)
        return task.cancelled()

    assert _run_in_a_loop_started_while_a_ctrl_c_is_handled(main) is True
    assert ran_on == []


def test_a_loop_started_in_a_ctrl_c_handler_still_times_out() -> None:
    """``asyncio.timeout`` counts its cancel: re-delivered once, it still becomes the
    TimeoutError (not a bare CancelledError, not nothing)."""

    async def slow_step() -> str:
        await asyncio.sleep(STEP_SECONDS * 5)
        return "done"

    async def main() -> str:
        try:
            async with asyncio.timeout(STEP_SECONDS):
                await run_to_completion(slow_step)
                await asyncio.sleep(STEP_SECONDS * 5)
        except TimeoutError:
            return "timed out"
        return "ran past its timeout"

    assert _run_in_a_loop_started_while_a_ctrl_c_is_handled(main) == "timed out"


@pytest.mark.parametrize("anyio_backend", ["asyncio", "trio"])
async def test_a_scope_cancel_skipped_for_a_caught_ctrl_c_comes_at_the_next_checkpoint() -> None:
    """anyio's and trio's scopes stay cancelled: a cancellation not raised in a Ctrl-C's
    place is delivered at the next checkpoint, so caught Ctrl-Cs lose nothing there."""
    ran_on: list[str] = []

    async def step() -> None:
        await anyio.sleep(STEP_SECONDS)

    with anyio.CancelScope() as scope:
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt:
            scope.cancel()
            await run_to_completion(step)
        await anyio.lowlevel.checkpoint()
        ran_on.append("ran on")  # pragma: no cover
    assert scope.cancelled_caught and ran_on == []


@pytest.mark.parametrize("anyio_backend", ["asyncio", "trio"])
async def test_a_ctrl_c_from_a_submit_outranks_the_cancellation_it_met() -> None:
    """A Ctrl-C that lands while the submit's request is in flight (shielded in
    ``_http.send``; trio raises it in the running task) reaches the caller, not the
    cancellation that met it, and nothing is abandoned (the submit returned nothing)."""
    abandoned: list[str] = []

    async def submit() -> str:
        with anyio.CancelScope(shield=True):
            await anyio.sleep(STEP_SECONDS)
        raise KeyboardInterrupt

    async def on_abandoned(job_id: str) -> None:
        abandoned.append(job_id)  # pragma: no cover

    async def cancelled_caller() -> None:
        with anyio.CancelScope() as scope:
            scope.cancel()
            await submit_to_completion(submit, on_abandoned=on_abandoned)

    with pytest.raises(KeyboardInterrupt):
        await cancelled_caller()
    assert abandoned == []


@pytest.mark.parametrize("anyio_backend", ["asyncio"])  # asyncio's Task.cancel()
async def test_a_ctrl_c_from_a_submit_outranks_an_asyncio_cancel_yet_it_is_kept() -> None:
    ran_on: list[str] = []

    async def submit() -> str:
        with anyio.CancelScope(shield=True):
            await asyncio.sleep(STEP_SECONDS)
        raise KeyboardInterrupt

    async def no_job(job_id: str) -> None:
        raise AssertionError("nothing was submitted")  # pragma: no cover

    seen: list[str] = []

    async def caller() -> None:
        try:
            await submit_to_completion(submit, on_abandoned=no_job)
        except BaseException as exc:
            seen.append(type(exc).__name__)
            if not isinstance(exc, KeyboardInterrupt):
                raise
        await asyncio.sleep(STEP_SECONDS)
        ran_on.append("the task ran on after its cancel")

    task = await _cancel_while_running(caller)
    assert seen == ["KeyboardInterrupt"]
    assert task.done() and task.cancelled()
    assert ran_on == []
