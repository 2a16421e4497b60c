"""Give-up paths that held a job id or a submit in flight (issue 6, defects 2 and 4)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import anyio
import httpx
import pytest
import respx

from tarash.tarash_gateway.api import generate_video_async, submit_video_async, wait_async
from tarash.tarash_gateway.models import JobHandle, VideoGenerationConfig, VideoGenerationRequest
from tests.unit.fake_provider import BASE, FAKE_KEY

pytestmark = pytest.mark.anyio

CONFIG = VideoGenerationConfig(
    provider="fake", model="t2v", api_key=FAKE_KEY, base_url=BASE, poll_interval=0.01
)
REQUEST = VideoGenerationRequest(prompt="a cat", duration_seconds=4)
HANDLE = JobHandle.model_validate(
    {
        "kind": "video",
        "provider": "fake",
        "model": "t2v",
        "request_id": "j1",
        "base_url": BASE,
        "submitted_at": "2026-12-01T00:00:00+00:00",
    }
)


@pytest.fixture
def fake() -> Iterator[respx.MockRouter]:
    """A respx router where every route must be called."""
    with respx.mock(assert_all_called=True) as router:
        yield router


def slow_reply(reached: anyio.Event, release: anyio.Event, reply: httpx.Response) -> object:
    async def respond(request: httpx.Request) -> httpx.Response:
        reached.set()  # the provider has the request
        await release.wait()
        return reply

    return respond


@pytest.mark.parametrize("entry", ["generate", "submit"])
@pytest.mark.parametrize("how", ["task.cancel", "wait_for", "asyncio.timeout"])
async def test_asyncio_cancellation_during_a_submit_cancels_the_job_it_created(
    fake: respx.MockRouter, entry: str, how: str
) -> None:
    """asyncio's own cancellation (which an anyio shield does not stop) landing while the
    submit is in flight: its reply is still read and the job it created is cancelled."""
    reached, release = anyio.Event(), anyio.Event()
    fake.post(f"{BASE}/jobs").mock(
        side_effect=slow_reply(
            reached, release, httpx.Response(200, json={"id": "j1", "status": "queued"})
        )
    )
    cancel = fake.post(f"{BASE}/jobs/j1/cancel").respond(200, json={})

    async def call() -> object:
        if entry == "generate":
            return await generate_video_async(CONFIG, REQUEST)
        return await submit_video_async(CONFIG, REQUEST)

    async def release_soon() -> None:
        await reached.wait()
        await asyncio.sleep(0.05)  # the caller gives up meanwhile
        release.set()

    releaser = asyncio.ensure_future(release_soon())
    if how == "task.cancel":
        task = asyncio.ensure_future(call())
        await reached.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    elif how == "wait_for":
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(call(), 0.02)
    else:
        with pytest.raises(asyncio.TimeoutError):
            async with asyncio.timeout(0.02):
                await call()
    await releaser
    assert cancel.call_count == 1


async def test_a_submit_waiting_to_retry_is_cut_at_once_by_cancellation(
    fake: respx.MockRouter,
) -> None:
    """Only a request in flight outlives the caller's cancellation: a submit waiting out a
    429's Retry-After is cancelled at once (nothing was created, nothing to cancel)."""
    import stamina

    stamina.set_testing(False)  # the real wait, which the cancellation must cut
    fake.post(f"{BASE}/jobs").respond(429, headers={"retry-after": "30"}, json={})
    task = asyncio.ensure_future(generate_video_async(CONFIG, REQUEST))
    await asyncio.sleep(0.1)
    task.cancel()
    with anyio.fail_after(2), pytest.raises(asyncio.CancelledError):
        await task


@pytest.mark.parametrize("how", ["anyio", "task.cancel"])
@pytest.mark.respx(assert_all_called=False)
async def test_wait_cancelled_during_its_first_status_call_cancels_the_job(
    respx_mock: respx.MockRouter, how: str
) -> None:
    """The first status call of wait_async is made by the waiter: giving up during it
    cancels the job (it used to be left running while the metadata said cancelled)."""
    reached, release = anyio.Event(), anyio.Event()
    # The status call is cut by the cancellation, so respx never records it as called.
    respx_mock.get(f"{BASE}/jobs/j1").mock(
        side_effect=slow_reply(reached, release, httpx.Response(200, json={"status": "running"}))
    )
    cancel = respx_mock.post(f"{BASE}/jobs/j1/cancel").respond(200, json={})
    if how == "anyio":
        with anyio.CancelScope() as scope:

            async def give_up() -> None:
                await reached.wait()
                scope.cancel()
                release.set()

            async with anyio.create_task_group() as group:
                group.start_soon(give_up)
                await wait_async(HANDLE, api_key=FAKE_KEY, timeout=30)
        assert scope.cancelled_caught
    else:
        task = asyncio.ensure_future(wait_async(HANDLE, api_key=FAKE_KEY, timeout=30))
        await reached.wait()
        task.cancel()
        release.set()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert cancel.call_count == 1
