"""run_to_completion under a cancellation that meets a Ctrl-C: the Ctrl-C is never
replaced by the cancellation (asyncio and trio)."""

from __future__ import annotations

import anyio
import anyio.lowlevel
import pytest

from tarash.tarash_gateway.engine._completion import run_to_completion

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
