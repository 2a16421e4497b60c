"""Paths where a paid provider job could be left running after the caller stops caring."""

from __future__ import annotations

from collections.abc import Iterator

import anyio
import httpx
import pytest
import respx

from tarash.tarash_gateway.api import generate_video_async, submit_video_async
from tarash.tarash_gateway.errors import GenerationFailedError, TimeoutError
from tarash.tarash_gateway.models import VideoGenerationConfig, VideoGenerationRequest

pytestmark = pytest.mark.anyio

BASE = "https://queue.fal.test"
KEY = "fal-id:fal-secret-canary-4242"
REQ = "0b8e2d59-7c1e-4a43-9f6c-orphan000001"
VEO = "fal-ai/veo3"
REQUESTS = f"{BASE}/{VEO}/requests/{REQ}"


def video_config() -> VideoGenerationConfig:
    return VideoGenerationConfig(
        provider="fal",
        model=VEO,
        base_url=BASE,
        api_key=KEY,
        poll_interval=0.01,
        provider_config={"status_stream": False},
    )


def submitted_reply() -> httpx.Response:
    root = REQUESTS
    return httpx.Response(
        200,
        json={
            "status": "IN_QUEUE",
            "request_id": REQ,
            "response_url": root,
            "status_url": f"{root}/status",
            "cancel_url": f"{root}/cancel",
        },
    )


@pytest.fixture
def fal() -> Iterator[respx.MockRouter]:
    """A respx router where every route must be called."""
    with respx.mock(assert_all_called=True) as router:
        yield router


@pytest.mark.parametrize("entry", ["generate", "submit"])
async def test_caller_cancelled_while_the_submit_is_in_flight_still_cancels_the_job(
    fal: respx.MockRouter, entry: str
) -> None:
    """A submit that reached the provider is not cut off by the caller's cancellation: its
    reply is read, and the job it created is cancelled remotely instead of orphaned."""
    reached = anyio.Event()
    release = anyio.Event()

    async def slow_submit(request: httpx.Request) -> httpx.Response:
        reached.set()  # the provider has the request: the paid job exists
        await release.wait()
        return submitted_reply()

    fal.post(f"{BASE}/{VEO}").mock(side_effect=slow_submit)
    cancel = fal.put(f"{REQUESTS}/cancel").mock(
        return_value=httpx.Response(202, json={"status": "CANCELLATION_REQUESTED"})
    )
    request = VideoGenerationRequest(prompt="a cat")

    caller = anyio.CancelScope()

    async def call() -> None:
        with caller:
            if entry == "generate":
                await generate_video_async(video_config(), request)
            else:
                await submit_video_async(video_config(), request)

    with anyio.fail_after(5):
        async with anyio.create_task_group() as group:
            group.start_soon(call)
            await reached.wait()
            caller.cancel()
            await anyio.sleep(0.01)
            release.set()
    assert cancel.call_count == 1


async def test_unknown_status_cancels_the_job_before_failing(fal: respx.MockRouter) -> None:
    """A status we cannot read says nothing about whether the job still runs: the error is
    raised only after the remote job is cancelled (else a fallback would leave it billing)."""
    fal.post(f"{BASE}/{VEO}").mock(return_value=submitted_reply())
    fal.get(f"{REQUESTS}/status").mock(
        return_value=httpx.Response(200, json={"status": "IN_REVIEW", "request_id": REQ})
    )
    cancel = fal.put(f"{REQUESTS}/cancel").mock(
        return_value=httpx.Response(202, json={"status": "CANCELLATION_REQUESTED"})
    )
    with pytest.raises(GenerationFailedError, match="IN_REVIEW"):
        await generate_video_async(video_config(), VideoGenerationRequest(prompt="a cat"))
    assert cancel.call_count == 1


async def test_unknown_status_in_a_replicate_create_reply_cancels_the_prediction(
    respx_mock: respx.MockRouter,
) -> None:
    """The same holds for the first snapshot, read from Replicate's create reply."""
    base = "https://api.replicate.test"
    urls = {"get": f"{base}/v1/predictions/p1", "cancel": f"{base}/v1/predictions/p1/cancel"}
    respx_mock.post(f"{base}/v1/models/google/veo-3/predictions").respond(
        201, json={"id": "p1", "status": "queued", "urls": urls}
    )
    cancel = respx_mock.post(urls["cancel"]).respond(200, json={"id": "p1", "status": "canceled"})
    config = VideoGenerationConfig(
        provider="replicate",
        model="google/veo-3",
        base_url=base,
        api_key="r8_canary-token-0123456789abcdef",
        poll_interval=0.01,
    )
    with pytest.raises(GenerationFailedError, match="queued"):
        await generate_video_async(config, VideoGenerationRequest(prompt="a cat"))
    assert cancel.call_count == 1


async def test_callback_error_mid_stream_closes_the_stream_and_cancels(
    fal: respx.MockRouter,
) -> None:
    """A progress callback raising while the status stream is open cancels the job and
    closes the stream at once (its slot and connection are not held until GC)."""
    from tarash.tarash_gateway.engine import _sse

    fal.post(f"{BASE}/{VEO}").mock(return_value=submitted_reply())
    events = (
        b'data: {"status": "IN_QUEUE", "queue_position": 0}\n\n'
        b'data: {"status": "IN_PROGRESS", "logs": []}\n\n'
        b'data: {"status": "COMPLETED", "logs": []}\n\n'
    )
    fal.get(f"{REQUESTS}/status/stream").mock(
        return_value=httpx.Response(
            200, content=events, headers={"content-type": "text/event-stream"}
        )
    )
    cancel = fal.put(f"{REQUESTS}/cancel").mock(
        return_value=httpx.Response(202, json={"status": "CANCELLATION_REQUESTED"})
    )

    def explode(update: object) -> None:
        if getattr(update, "status", None) == "processing":
            raise RuntimeError("user bug")

    config = video_config().model_copy(update={"provider_config": {}})
    with pytest.raises(RuntimeError, match="user bug"):
        await generate_video_async(config, VideoGenerationRequest(prompt="a cat"), explode)
    assert cancel.call_count == 1
    assert _sse.stream_limiter().borrowed_tokens == 0


async def test_cancel_at_the_deadline_is_retried(fal: respx.MockRouter) -> None:
    """The remote cancel sent because the deadline passed is retried on a transient fault:
    the job's own deadline bounds its polls, not the cancel that stops it."""
    fal.post(f"{BASE}/{VEO}").mock(return_value=submitted_reply())
    fal.get(f"{REQUESTS}/status").mock(
        return_value=httpx.Response(200, json={"status": "IN_PROGRESS", "logs": []})
    )
    cancel = fal.put(f"{REQUESTS}/cancel").mock(
        side_effect=[
            httpx.Response(503, json={"detail": "busy"}),
            httpx.Response(202, json={"status": "CANCELLATION_REQUESTED"}),
        ]
    )
    config = video_config().model_copy(update={"timeout": 0.2})
    with pytest.raises(TimeoutError):
        await generate_video_async(config, VideoGenerationRequest(prompt="a cat"))
    assert cancel.call_count == 2
