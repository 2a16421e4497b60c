"""The sync shims: one private loop, safe from scripts, threads and running loops."""

from __future__ import annotations

import asyncio
import inspect
import os
import signal
import sys
import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from types import CodeType, FrameType

import anyio
import httpx
import pytest
import respx

import tarash.tarash_gateway as gateway
from tarash.tarash_gateway import generate_video, wait
from tarash.tarash_gateway.engine import _sync
from tarash.tarash_gateway.errors import TimeoutError as TarashTimeoutError
from tarash.tarash_gateway.models import JobHandle, VideoGenerationConfig, VideoGenerationRequest
from tests.unit.fake_provider import BASE, FAKE_KEY

CONFIG = VideoGenerationConfig(
    provider="fake", model="t2v", api_key=FAKE_KEY, base_url=BASE, poll_interval=0.001
)
REQUEST = VideoGenerationRequest(prompt="a cat", duration_seconds=4)

SYNC_ASYNC_PAIRS = [
    name
    for name in gateway.__all__
    if f"{name}_async" in gateway.__all__ and callable(getattr(gateway, name))
]

BATCH_PAIRS = {"generate_videos", "generate_images"}

TraceFunction = Callable[[FrameType, str, object], object]


def mock_jobs(router: respx.MockRouter) -> None:
    counter = iter(range(10_000))

    def submit(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"id": f"j{next(counter)}", "status": "queued"})

    router.post(f"{BASE}/jobs").mock(side_effect=submit)
    router.post(url__regex=rf"{BASE}/jobs/j\d+/cancel$").respond(200, json={})
    router.get(url__regex=rf"{BASE}/jobs/j\d+$").respond(
        200, json={"status": "done", "url": "https://cdn.test/v.mp4"}
    )


def test_every_sync_function_has_an_async_twin_with_the_same_signature() -> None:
    """Each x / x_async pair takes the same parameters."""
    assert {
        "generate_video",
        "generate_image",
        "generate_tts",
        "generate_sts",
        "wait",
        "submit_video",
    } <= set(SYNC_ASYNC_PAIRS)
    for name in SYNC_ASYNC_PAIRS:
        sync_sig = inspect.signature(getattr(gateway, name))
        async_sig = inspect.signature(getattr(gateway, f"{name}_async"))
        assert list(sync_sig.parameters.values()) == list(async_sig.parameters.values()), name
        if name in BATCH_PAIRS:
            # A batch's async twin returns its async iterator (a BatchRun) at once.
            assert inspect.signature(getattr(gateway, f"{name}_async")).return_annotation
        else:
            assert inspect.iscoroutinefunction(getattr(gateway, f"{name}_async"))


def test_sync_call_from_a_script(respx_mock: respx.MockRouter) -> None:
    """A plain script calls generate_video and gets the response."""
    mock_jobs(respx_mock)
    response = generate_video(CONFIG, REQUEST)
    assert response.video == "https://cdn.test/v.mp4"


def test_sync_calls_share_one_loop_thread(respx_mock: respx.MockRouter) -> None:
    """Consecutive sync calls run on the same private loop (the pool is reused)."""
    mock_jobs(respx_mock)
    seen: set[int] = set()
    for _ in range(3):
        generate_video(CONFIG, REQUEST, on_progress=lambda _: seen.add(threading.get_ident()))
    assert len(seen) == 1
    assert threading.get_ident() not in seen


def test_sync_calls_from_eight_threads(respx_mock: respx.MockRouter) -> None:
    """Eight threads calling at once all get their own results."""
    mock_jobs(respx_mock)
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _: generate_video(CONFIG, REQUEST), range(8)))
    assert len({r.request_id for r in results}) == 8


def test_sync_call_inside_a_running_event_loop(respx_mock: respx.MockRouter) -> None:
    """Calling the sync API from inside a running loop (Jupyter) does not deadlock."""
    mock_jobs(respx_mock)

    async def notebook_cell() -> str:
        return generate_video(CONFIG, REQUEST).request_id

    assert asyncio.run(notebook_cell()).startswith("j")


def test_sync_call_from_the_private_loop_is_refused(respx_mock: respx.MockRouter) -> None:
    """A sync call from a progress callback of a sync call raises instead of deadlocking."""
    mock_jobs(respx_mock)
    errors: list[BaseException] = []

    def callback(_: object) -> None:
        try:
            generate_video(CONFIG, REQUEST)
        except RuntimeError as exc:
            errors.append(exc)
            raise

    with pytest.raises(RuntimeError, match="_async"):
        generate_video(CONFIG, REQUEST, on_progress=callback)
    assert errors


def test_interrupted_sync_call_cancels_the_task_and_waits_for_cleanup() -> None:
    """Interrupting the waiting thread cancels the task and lets its cleanup finish."""
    started = threading.Event()
    cleaned = threading.Event()

    async def long_job() -> None:
        try:
            started.set()
            await anyio.sleep(30)
        finally:
            with anyio.CancelScope(shield=True):
                await anyio.sleep(0.01)
                cleaned.set()

    def interrupt_soon() -> None:
        # Once the task runs, however long a loaded machine takes to start it: a Ctrl-C
        # before that would find no task to clean up.
        if started.wait(30):
            os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C, delivered to the main thread

    assert threading.current_thread() is threading.main_thread()
    threading.Thread(target=interrupt_soon, daemon=True).start()
    with pytest.raises(KeyboardInterrupt):
        _sync.run_sync(long_job)
    assert cleaned.is_set()


def _points_of_the_wait() -> list[tuple[CodeType, str, int]]:
    """Every line and return the calling thread runs again and again while a sync call
    waits on its task (the wait's loop; its start, run once, is left out)."""
    running = threading.Event()
    seen: Counter[tuple[CodeType, str, int]] = Counter()

    async def job() -> None:
        running.set()
        await anyio.sleep(1)
        running.clear()

    def record(frame: FrameType, event: str, arg: object) -> TraceFunction:
        if running.is_set() and event in ("line", "return"):
            seen[frame.f_code, event, frame.f_lineno] += 1
        return record

    previous = sys.gettrace()
    sys.settrace(record)
    try:
        _sync.run_sync(job)
    finally:
        sys.settrace(previous)
    return [point for point, times in seen.items() if times > 1]


def _interrupt_at(points: list[tuple[CodeType, str, int]], index: int) -> None:
    """Raise KeyboardInterrupt (what SIGINT's handler raises) into a waiting sync call at
    ``points[index]`` (or, should the wait not pass there again, at the first later point
    it passes); the call's task is cancelled and its cleanup finishes."""
    started, cleaned = threading.Event(), threading.Event()
    order = {point: number for number, point in enumerate(points)}

    async def long_job() -> None:
        try:
            started.set()
            await anyio.sleep(10)
        finally:
            cleaned.set()

    def interrupt_there(frame: FrameType, event: str, arg: object) -> TraceFunction:
        if started.is_set() and order.get((frame.f_code, event, frame.f_lineno), -1) >= index:
            raise KeyboardInterrupt
        return interrupt_there

    previous = sys.gettrace()
    sys.settrace(interrupt_there)
    try:
        with pytest.raises(KeyboardInterrupt):
            _sync.run_sync(long_job)
    finally:
        sys.settrace(previous)
    assert cleaned.is_set(), points[index]


def _answer_within(seconds: float) -> list[int]:
    async def answer() -> int:
        return 42

    answers: list[int] = []
    follow_up = threading.Thread(target=lambda: answers.append(_sync.run_sync(answer)), daemon=True)
    follow_up.start()
    follow_up.join(seconds)
    return answers


def test_a_ctrl_c_at_any_point_of_the_wait_leaves_the_private_loop_serving() -> None:
    """A KeyboardInterrupt landing at any line of the calling thread's wait (just after a
    lock was taken, say) cancels the call and never jams the private loop: the next sync
    call is served."""
    points = _points_of_the_wait()
    assert points
    for index, point in enumerate(points):
        _interrupt_at(points, index)
        assert _answer_within(5) == [42], f"the private loop hung after a Ctrl-C at {point}"


def test_shutdown_then_reuse() -> None:
    """After shutdown a new private loop starts on the next call."""

    async def answer() -> int:
        return 42

    _sync.shutdown()
    assert not _sync.portal_thread_running()
    assert _sync.run_sync(answer) == 42
    assert _sync.portal_thread_running()


def test_shutdown_cancels_running_calls_and_waits_for_their_cleanup() -> None:
    """At interpreter exit, calls still running in other threads are cancelled (so their
    remote jobs are) and their cleanup finishes before the loop closes."""
    started = threading.Event()
    cleaned = threading.Event()
    outcome: list[BaseException] = []

    async def long_job() -> None:
        try:
            started.set()
            await anyio.sleep_forever()  # without the cancel, shutdown would hang here
        finally:
            with anyio.CancelScope(shield=True):
                await anyio.sleep(0.01)
                cleaned.set()

    def worker() -> None:
        try:
            _sync.run_sync(long_job)
        except BaseException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=worker, daemon=True)
    thread.start()
    assert started.wait(5)
    _sync.shutdown()
    assert cleaned.is_set()
    thread.join(5)
    assert outcome
    assert "Cancelled" in type(outcome[0]).__name__


def test_sigterm_handler_is_installed_for_the_wait_only() -> None:
    """A sync call in the main thread takes SIGTERM only while it waits, then restores the
    default; a program's own handler is never replaced."""
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    seen: list[object] = []

    async def look() -> None:
        seen.append(signal.getsignal(signal.SIGTERM))

    _sync.run_sync(look)
    assert seen[0] not in (signal.SIG_DFL, signal.SIG_IGN, None)
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL

    def own(signum: int, frame: object) -> None:
        del signum, frame

    previous = signal.signal(signal.SIGTERM, own)
    try:
        _sync.run_sync(look)
        assert seen[1] is own
        assert signal.getsignal(signal.SIGTERM) is own
    finally:
        signal.signal(signal.SIGTERM, previous)


# ------------------------------------------------------------------------------------------
# The sync shim's own waiting is never confused with the call's outcome, and its loop survives
# whatever user code raises (issue 6, defects 1 and 3).
# ------------------------------------------------------------------------------------------


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
