"""The sync shim's own waiting is never confused with the call's outcome, and its loop
survives whatever user code raises (issue 6, defects 1 and 3)."""

from __future__ import annotations

import threading

import pytest
import respx

from tarash.tarash_gateway import generate_video, wait
from tarash.tarash_gateway.engine import _sync
from tarash.tarash_gateway.errors import TimeoutError as TarashTimeoutError
from tarash.tarash_gateway.models import JobHandle, VideoGenerationConfig, VideoGenerationRequest
from tests.unit.fake_provider import BASE, FAKE_KEY

REQUEST = VideoGenerationRequest(prompt="a cat", duration_seconds=4)


def running_job(router: respx.MockRouter) -> respx.Route:
    """A job that never finishes; returns the cancel route."""
    router.post(f"{BASE}/jobs").respond(200, json={"id": "j1", "status": "queued"})
    router.get(f"{BASE}/jobs/j1").respond(200, json={"status": "running"})
    return router.post(f"{BASE}/jobs/j1/cancel").respond(200, json={})


def run_bounded(call: object) -> BaseException:
    """Run a sync call on a helper thread; fail the test if it does not return in 10 s."""
    outcome: list[BaseException] = []

    def target() -> None:
        try:
            call()  # type: ignore[operator]
        except BaseException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(10)
    assert not thread.is_alive(), "the sync call hung after its job timed out"
    assert outcome, "the call returned instead of timing out"
    return outcome[0]


def test_a_timed_out_sync_generate_returns_the_timeout_error(respx_mock: respx.MockRouter) -> None:
    """generate_video whose deadline passes raises tarash's TimeoutError instead of hanging
    (it subclasses the builtin TimeoutError, which the shim used to take for its own wait)."""
    cancel = running_job(respx_mock)
    config = VideoGenerationConfig(
        provider="fake",
        model="t2v",
        api_key=FAKE_KEY,
        base_url=BASE,
        poll_interval=0.01,
        timeout=0.2,
    )
    error = run_bounded(lambda: generate_video(config, REQUEST))
    assert isinstance(error, TarashTimeoutError)
    assert cancel.call_count == 1


def test_max_poll_attempts_running_out_in_a_sync_call_returns(
    respx_mock: respx.MockRouter,
) -> None:
    """Running out of max_poll_attempts in a sync call raises instead of hanging."""
    running_job(respx_mock)
    config = VideoGenerationConfig(
        provider="fake",
        model="t2v",
        api_key=FAKE_KEY,
        base_url=BASE,
        poll_interval=0.01,
        max_poll_attempts=2,
    )
    error = run_bounded(lambda: generate_video(config, REQUEST))
    assert isinstance(error, TarashTimeoutError)


def test_a_timed_out_sync_wait_returns(respx_mock: respx.MockRouter) -> None:
    """wait(handle, timeout=...) on a job that does not finish raises TimeoutError."""
    cancel = running_job(respx_mock)
    handle = JobHandle.model_validate(
        {
            "kind": "video",
            "provider": "fake",
            "model": "t2v",
            "request_id": "j1",
            "base_url": BASE,
            "submitted_at": "2026-12-01T00:00:00+00:00",
        }
    )
    error = run_bounded(lambda: wait(handle, api_key=FAKE_KEY, timeout=0.2, poll_interval=0.01))
    assert isinstance(error, TarashTimeoutError)
    assert cancel.call_count == 1


@pytest.mark.parametrize("raised", [KeyboardInterrupt, SystemExit, GeneratorExit])
def test_a_base_exception_from_user_code_reaches_the_caller_and_the_loop_lives(
    raised: type[BaseException],
) -> None:
    """A BaseException raised on the private loop is re-raised in the calling thread, and
    the next sync call runs on the same, still running, loop."""

    async def user_code() -> None:
        raise raised("boom")

    async def answer() -> int:
        return 42

    with pytest.raises(raised):
        _sync.run_sync(user_code)
    portal = _sync._portal
    assert _sync.run_sync(answer) == 42
    assert _sync._portal is portal


def test_a_loop_that_died_is_replaced_on_the_next_call() -> None:
    """If the private loop stops under tarash, the next sync call starts a new one."""

    async def answer() -> int:
        return 7

    assert _sync.run_sync(answer) == 7
    dead = _sync._portal
    assert dead is not None
    # The portal stops behind the shim's back (as when its loop thread crashes).
    dead.start_task_soon(dead.stop).result(5)
    assert _sync.run_sync(answer) == 7
    assert _sync._portal is not dead


def test_the_call_result_may_itself_be_a_timeout_error_instance() -> None:
    """A call that returns (not raises) a TimeoutError object gets it back at once."""

    async def returns_an_exception_object() -> BaseException:
        return TarashTimeoutError("a value, not an error")

    assert isinstance(_sync.run_sync(returns_an_exception_object), TarashTimeoutError)
