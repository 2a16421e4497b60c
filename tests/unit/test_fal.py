"""fal queue client over respx: submit, poll, SSE, result, cancel, and every error mapping."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import anyio
import httpx
import pytest
import respx
from pydantic import SecretStr

from tarash.tarash_gateway.api import generate_image_async, generate_video_async
from tarash.tarash_gateway.engine import _sse
from tarash.tarash_gateway.engine._polling import JobState
from tarash.tarash_gateway.engine._sse import open_json_event_stream, parse_event_lines
from tarash.tarash_gateway.errors import (
    AuthenticationError,
    ContentModerationError,
    GenerationFailedError,
    HTTPConnectionError,
    JobCancelledError,
    NotFoundError,
    ProviderServerError,
    RateLimitError,
    TarashException,
    TimeoutError,
    ValidationError,
)
from tarash.tarash_gateway.models import (
    ImageGenerationConfig,
    ImageGenerationRequest,
    JobHandle,
    VideoGenerationConfig,
    VideoGenerationRequest,
    VideoGenerationUpdate,
)
from tarash.tarash_gateway.providers._base import ProviderSettings
from tarash.tarash_gateway.providers.fal import FalClient, queue_app_path

pytestmark = pytest.mark.anyio

BASE = "https://queue.fal.test"
KEY = "fal-id:fal-secret-canary-4242"
REQ = "80e732af-660e-45cd-bd63-580e4f2a94cc"
VEO = "fal-ai/veo3"
REQUESTS = f"{BASE}/{VEO}/requests/{REQ}"
VIDEO_URL = "https://v3.fal.media/files/x/output.mp4"


def video_config(**overrides: Any) -> VideoGenerationConfig:
    fields: dict[str, Any] = {
        "provider": "fal",
        "model": VEO,
        "base_url": BASE,
        "api_key": KEY,
        "poll_interval": 0.01,
        "provider_config": {"status_stream": False},
    }
    fields.update(overrides)
    return VideoGenerationConfig(**fields)


def queue_urls(app: str = VEO, request_id: str = REQ, base: str = BASE) -> dict[str, str]:
    root = f"{base}/{app}/requests/{request_id}"
    return {"response_url": root, "status_url": f"{root}/status", "cancel_url": f"{root}/cancel"}


def submitted(**extra: Any) -> httpx.Response:
    body = {"status": "IN_QUEUE", "request_id": REQ, **queue_urls(), "queue_position": 2, **extra}
    return httpx.Response(200, json=body, headers={"x-fal-request-id": REQ})


def status(name: str, **extra: Any) -> httpx.Response:
    return httpx.Response(200, json={"status": name, "request_id": REQ, **extra})


COMPLETED = status("COMPLETED", logs=[], metrics={"inference_time": 1.2})
VIDEO_RESULT = httpx.Response(
    200,
    json={"video": {"url": VIDEO_URL, "content_type": "video/mp4", "file_size": 1234}},
)


def detail_error(status_code: int, detail: Any, **headers: str) -> httpx.Response:
    return httpx.Response(status_code, json={"detail": detail}, headers=headers)


@pytest.fixture
def fal() -> Iterator[respx.MockRouter]:
    """A respx router where every route must be called."""
    with respx.mock(assert_all_called=True) as router:
        yield router


def client(model: str = VEO, **config: Any) -> FalClient:
    config.setdefault("api_key", SecretStr(KEY))
    return FalClient(ProviderSettings(model=model, base_url=BASE, **config))


def handle(model: str = VEO, **fields: Any) -> JobHandle:
    from datetime import UTC, datetime

    values: dict[str, Any] = {
        "kind": "video",
        "provider": "fal",
        "model": model,
        "request_id": REQ,
        "base_url": BASE,
        "submitted_at": datetime.now(UTC),
        **queue_urls(queue_app(model)),
    }
    values["result_url"] = values.pop("response_url")
    values.update(fields)
    return JobHandle(**values)


def queue_app(model: str) -> str:
    from tarash.tarash_gateway.providers.fal import queue_app_path

    return queue_app_path(model)


def assert_no_key(error: BaseException) -> None:
    assert KEY not in str(error)
    assert KEY not in repr(error)
    assert "fal-secret-canary" not in str(getattr(error, "raw_response", ""))


# ---------------------------------------------------------------------------------------
# Keys
# ---------------------------------------------------------------------------------------


def test_key_from_fal_key_id_and_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without FAL_KEY, FAL_KEY_ID and FAL_KEY_SECRET are joined "id:secret"."""
    monkeypatch.setenv("FAL_KEY_ID", "abc")
    monkeypatch.setenv("FAL_KEY_SECRET", "xyz")
    assert client(api_key=None).auth_headers() == {"Authorization": "Key abc:xyz"}


def test_fal_key_wins_over_id_and_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    """FAL_KEY is read first, as fal-client does."""
    monkeypatch.setenv("FAL_KEY", "full:key")
    monkeypatch.setenv("FAL_KEY_ID", "abc")
    monkeypatch.setenv("FAL_KEY_SECRET", "xyz")
    assert client(api_key=None).api_key().get_secret_value() == "full:key"


def test_missing_key_names_every_variable() -> None:
    """No key anywhere is an AuthenticationError naming FAL_KEY and FAL_KEY_ID/SECRET."""
    with pytest.raises(AuthenticationError, match="FAL_KEY_ID and FAL_KEY_SECRET"):
        client(api_key=None).api_key()


def test_unknown_provider_config_option_is_rejected() -> None:
    """A misspelt provider_config key is a ValidationError, not silently ignored."""
    with pytest.raises(ValidationError, match="status_streem"):
        client(provider_config={"status_streem": False})


# ---------------------------------------------------------------------------------------
# The whole flow
# ---------------------------------------------------------------------------------------


async def test_generate_video_polls_to_completion(fal: respx.MockRouter) -> None:
    """submit -> IN_QUEUE -> IN_PROGRESS (42% in logs) -> COMPLETED -> result, all reported."""
    submit = fal.post(f"{BASE}/{VEO}").mock(return_value=submitted())
    poll = fal.get(f"{REQUESTS}/status").mock(
        side_effect=[
            status("IN_QUEUE", queue_position=1),
            status("IN_PROGRESS", logs=[{"message": "Generating: 42%", "level": "INFO"}]),
            COMPLETED,
        ]
    )
    result = fal.get(REQUESTS).mock(return_value=VIDEO_RESULT)
    updates: list[VideoGenerationUpdate] = []

    response = await generate_video_async(
        video_config(),
        VideoGenerationRequest(prompt="a cat", duration_seconds=5, seed=3),
        on_progress=updates.append,
    )

    assert response.video == VIDEO_URL
    assert response.content_type == "video/mp4"
    assert response.duration == 6
    assert response.request_id == REQ
    sent = submit.calls.last.request
    assert sent.headers["authorization"] == f"Key {KEY}"
    assert json.loads(sent.content) == {"prompt": "a cat", "duration": "6s", "seed": 3}
    assert 590 <= int(sent.headers["x-fal-request-timeout"]) <= 600
    assert poll.call_count == 3
    assert poll.calls.last.request.url.params["logs"] == "1"
    assert result.call_count == 1
    assert [(u.status, u.queue_position, u.progress_percent) for u in updates] == [
        ("queued", 2, None),
        ("queued", 1, None),
        ("processing", None, 42),
        ("completed", None, 100),
    ]
    attempt = response.execution_metadata.attempts[0]
    assert attempt.status == "success"
    assert attempt.adaptations == ["duration_seconds: 5 -> 6 (fal-ai/veo3 offers 4s, 6s, 8s)"]
    assert (attempt.submit_count, attempt.poll_count) == (1, 3)


async def test_generate_image_with_flux(fal: respx.MockRouter) -> None:
    """flux: submit to the full id, poll owner/alias URLs, read images[].url."""
    app_urls = queue_urls("fal-ai/flux")
    submit = fal.post(f"{BASE}/fal-ai/flux/dev").mock(
        return_value=httpx.Response(200, json={"request_id": REQ, **app_urls})
    )
    fal.get(app_urls["status_url"]).mock(return_value=COMPLETED)
    image = {"url": "https://v3.fal.media/a.jpg", "width": 1024, "height": 576}
    fal.get(app_urls["response_url"]).mock(
        return_value=httpx.Response(
            200, json={"images": [{**image, "content_type": "image/jpeg"}, image], "seed": 5}
        )
    )
    config = ImageGenerationConfig(
        provider="fal",
        model="fal-ai/flux/dev",
        base_url=BASE,
        api_key=KEY,
        poll_interval=0.01,
        provider_config={"status_stream": False},
    )

    response = await generate_image_async(
        config, ImageGenerationRequest(prompt="a cat", aspect_ratio="16:9", n=2)
    )

    assert response.images == ["https://v3.fal.media/a.jpg", "https://v3.fal.media/a.jpg"]
    assert response.content_type == "image/jpeg"
    assert response.raw_response["seed"] == 5
    assert json.loads(submit.calls.last.request.content) == {
        "prompt": "a cat",
        "image_size": "landscape_16_9",
        "num_images": 2,
    }


async def test_submit_urls_on_another_host_are_not_trusted(fal: respx.MockRouter) -> None:
    """Returned URLs off the configured host are replaced by ones built from the base URL."""
    fal.post(f"{BASE}/fal-ai/flux/dev").mock(
        return_value=httpx.Response(
            200, json={"request_id": REQ, **queue_urls("fal-ai/flux", base="https://evil.test")}
        )
    )
    submitted_job = await client("fal-ai/flux/dev").submit(
        _prepared("fal-ai/flux/dev"), time_left=None
    )
    assert submitted_job.handle.status_url == f"{BASE}/fal-ai/flux/requests/{REQ}/status"
    assert submitted_job.handle.result_url == f"{BASE}/fal-ai/flux/requests/{REQ}"
    assert submitted_job.handle.cancel_url == f"{BASE}/fal-ai/flux/requests/{REQ}/cancel"
    assert submitted_job.snapshot is not None
    assert submitted_job.snapshot.state is JobState.QUEUED


async def test_submit_sends_options_and_short_timeout(fal: respx.MockRouter) -> None:
    """queue_priority and webhook_url are sent; a deadline under 2 s still sends 2."""
    submit = fal.post(f"{BASE}/{VEO}").mock(return_value=submitted())
    fal_client = client(
        provider_config={"queue_priority": "low", "webhook_url": "https://me.test/hook"}
    )
    await fal_client.submit(_prepared(VEO), time_left=0.4)
    sent = submit.calls.last.request
    assert sent.headers["x-fal-request-timeout"] == "2"
    assert sent.headers["x-fal-queue-priority"] == "low"
    assert sent.url.params["fal_webhook"] == "https://me.test/hook"


async def test_no_deadline_sends_no_request_timeout(fal: respx.MockRouter) -> None:
    """Without a deadline fal gets no X-Fal-Request-Timeout."""
    submit = fal.post(f"{BASE}/{VEO}").mock(return_value=submitted())
    await client().submit(_prepared(VEO), time_left=None)
    assert "x-fal-request-timeout" not in submit.calls.last.request.headers


async def test_submit_without_request_id_fails(fal: respx.MockRouter) -> None:
    """An accepted submit naming no request id fails flagged job_may_exist, no fallback."""
    fal.post(f"{BASE}/{VEO}").mock(return_value=httpx.Response(200, json={"status": "IN_QUEUE"}))
    with pytest.raises(ProviderServerError, match="no job id") as info:
        await client().submit(_prepared(VEO), time_left=None)
    assert (info.value.job_may_exist, info.value.fallback_allowed) == (True, False)


def _prepared(model: str) -> Any:
    from tarash.tarash_gateway.providers._base import PreparedJob

    return PreparedJob(kind="video", model=model, payload={"prompt": "a cat"})


# ---------------------------------------------------------------------------------------
# Status mapping
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "state", "error_class"),
    [
        ({"status": "IN_QUEUE", "queue_position": 0}, JobState.QUEUED, None),
        ({"status": "IN_PROGRESS", "logs": None}, JobState.PROCESSING, None),
        ({"status": "COMPLETED", "logs": None}, JobState.COMPLETED, None),
        (
            {"status": "COMPLETED", "error": "Internal Server Error", "error_type": None},
            JobState.FAILED,
            GenerationFailedError,
        ),
        (
            {"status": "COMPLETED", "error": "flagged", "error_type": "content_policy_violation"},
            JobState.FAILED,
            ContentModerationError,
        ),
        (
            {"status": "COMPLETED", "error": "too big", "error_type": "image_too_large"},
            JobState.FAILED,
            ValidationError,
        ),
        (
            {"status": "COMPLETED", "error": "cancelled", "error_type": "request_cancelled"},
            JobState.CANCELLED,
            JobCancelledError,
        ),
        ({"status": "FAILED"}, JobState.FAILED, GenerationFailedError),
        ({"nothing": True}, JobState.FAILED, GenerationFailedError),
    ],
)
async def test_status_mapping(
    fal: respx.MockRouter,
    body: dict[str, Any],
    state: JobState,
    error_class: type[TarashException] | None,
) -> None:
    """Each fal status body maps to one neutral state (unknown ones are terminal failures)."""
    fal.get(f"{REQUESTS}/status").mock(return_value=httpx.Response(200, json=body))
    snapshot = await client().poll(handle())
    assert snapshot.state is state
    if error_class is None:
        assert snapshot.error is None
    else:
        assert type(snapshot.error) is error_class
        assert snapshot.error.request_id == REQ


async def test_unknown_status_names_the_value(fal: respx.MockRouter) -> None:
    """An unknown status fails with a message naming it."""
    fal.get(f"{REQUESTS}/status").mock(return_value=status("EXPLODED"))
    snapshot = await client().poll(handle())
    assert "EXPLODED" in str(snapshot.error)


@pytest.mark.parametrize(
    ("error_type", "retryable"),
    [("request_timeout", True), ("startup_timeout", True), ("runner_disconnected", True)],
)
async def test_infrastructure_failures_are_retryable(
    fal: respx.MockRouter, error_type: str, retryable: bool
) -> None:
    """fal's infrastructure error types fail the job as retryable GenerationFailedError."""
    fal.get(f"{REQUESTS}/status").mock(
        return_value=status("COMPLETED", error="Request timed out", error_type=error_type)
    )
    snapshot = await client().poll(handle())
    assert isinstance(snapshot.error, GenerationFailedError)
    assert snapshot.error.retryable is retryable
    assert error_type in snapshot.error.message


async def test_completed_with_error_fails_the_generation(fal: respx.MockRouter) -> None:
    """COMPLETED + error ends the attempt failed, without fetching the result."""
    fal.post(f"{BASE}/{VEO}").mock(return_value=submitted())
    fal.get(f"{REQUESTS}/status").mock(
        return_value=status(
            "COMPLETED", error="Internal Server Error", error_type="internal_server_error"
        )
    )
    result = respx.get(REQUESTS).mock(return_value=VIDEO_RESULT)
    with pytest.raises(GenerationFailedError, match="Internal Server Error") as caught:
        await generate_video_async(video_config(), VideoGenerationRequest(prompt="a cat"))
    assert result.call_count == 0
    assert caught.value.execution_metadata is not None
    assert caught.value.execution_metadata.attempts[0].status == "failed"
    assert_no_key(caught.value)


@pytest.mark.parametrize(
    ("message", "percent"),
    [("Generating: 42%", 42), ("step 3/10 (30.4 %)", 30), ("loading weights", None)],
)
async def test_progress_read_from_logs(
    fal: respx.MockRouter, message: str, percent: int | None
) -> None:
    """IN_PROGRESS progress is the last percentage the logs printed, else None."""
    fal.get(f"{REQUESTS}/status").mock(
        return_value=status("IN_PROGRESS", logs=[{"message": "start 0%"}, {"message": message}])
    )
    snapshot = await client().poll(handle())
    assert snapshot.progress_percent == (percent if percent is not None else 0)


# ---------------------------------------------------------------------------------------
# SSE status stream
# ---------------------------------------------------------------------------------------


def sse(*bodies: dict[str, Any]) -> httpx.Response:
    text = "".join(f"data: {json.dumps(body)}\n\n" for body in bodies)
    return httpx.Response(
        200,
        content=(": keep-alive\n\n" + text).encode(),
        headers={"content-type": "text/event-stream"},
    )


async def test_generate_video_follows_the_status_stream(fal: respx.MockRouter) -> None:
    """With streaming on (default), status arrives over SSE and no poll is made."""
    fal.post(f"{BASE}/{VEO}").mock(return_value=submitted())
    stream = fal.get(f"{REQUESTS}/status/stream").mock(
        return_value=sse(
            {"status": "IN_QUEUE", "queue_position": 0},
            {"status": "IN_PROGRESS", "logs": [{"message": "Generating: 10%"}]},
            {"status": "COMPLETED", "logs": []},
        )
    )
    poll = respx.get(f"{REQUESTS}/status").mock(return_value=COMPLETED)
    fal.get(REQUESTS).mock(return_value=VIDEO_RESULT)
    updates: list[VideoGenerationUpdate] = []

    response = await generate_video_async(
        video_config(provider_config={}),
        VideoGenerationRequest(prompt="a cat"),
        on_progress=updates.append,
    )

    assert response.video == VIDEO_URL
    assert poll.call_count == 0
    request = stream.calls.last.request
    assert request.headers["accept"] == "text/event-stream"
    assert request.headers["authorization"] == f"Key {KEY}"
    assert request.url.params["logs"] == "1"
    assert [u.status for u in updates] == ["queued", "queued", "processing", "completed"]
    assert updates[2].progress_percent == 10
    assert _sse.stream_limiter().borrowed_tokens == 0
    assert response.execution_metadata.attempts[0].http_requests == 3


@pytest.mark.parametrize(
    "broken",
    [
        httpx.Response(500, json={"detail": "Internal Server Error"}),
        httpx.RemoteProtocolError("peer closed connection"),
        sse({"status": "IN_PROGRESS", "logs": []}),  # ends before COMPLETED
        httpx.Response(200, content=b"data: {not json\n\n"),
    ],
)
async def test_broken_stream_falls_back_to_polling(fal: respx.MockRouter, broken: Any) -> None:
    """A stream that fails to open, drops, ends early or sends garbage -> the job is polled."""
    fal.post(f"{BASE}/{VEO}").mock(return_value=submitted())
    fal.get(f"{REQUESTS}/status/stream").mock(side_effect=[broken])
    poll = fal.get(f"{REQUESTS}/status").mock(return_value=COMPLETED)
    fal.get(REQUESTS).mock(return_value=VIDEO_RESULT)
    response = await generate_video_async(
        video_config(provider_config={}), VideoGenerationRequest(prompt="a cat")
    )
    assert response.video == VIDEO_URL
    assert poll.call_count == 1
    assert _sse.stream_limiter().borrowed_tokens == 0


async def test_no_free_stream_slot_means_polling() -> None:
    """When every stream slot of the loop is taken, watch() returns None (poll instead)."""
    limiter = _sse.stream_limiter()
    holders = [object() for _ in range(_sse.MAX_STREAMS_PER_LOOP)]
    for holder in holders:
        limiter.acquire_on_behalf_of_nowait(holder)
    try:
        assert client().watch(handle()) is None
    finally:
        for holder in holders:
            limiter.release_on_behalf_of(holder)
    stream = client().watch(handle())
    assert stream is not None
    await stream.aclose()  # type: ignore[attr-defined]
    assert limiter.borrowed_tokens == 0


def test_status_stream_can_be_disabled() -> None:
    """provider_config status_stream=False: no push channel."""
    assert client(provider_config={"status_stream": False}).watch(handle()) is None


async def test_silent_stream_counts_as_broken(fal: respx.MockRouter) -> None:
    """No event within the idle timeout raises HTTPConnectionError and frees the slot."""

    async def silence() -> AsyncIterator[bytes]:
        yield b": hello\n\n"
        await anyio.sleep(5)
        yield b"data: {}\n\n"  # pragma: no cover

    fal.get(f"{REQUESTS}/status/stream").mock(return_value=httpx.Response(200, content=silence()))
    fal_client = client()
    events = open_json_event_stream(
        fal_client.request_context,
        f"{REQUESTS}/status/stream",
        headers={},
        idle_timeout=0.05,
    )
    assert events is not None
    with pytest.raises(HTTPConnectionError, match=r"nothing for 0\.05 s"):
        async for _ in events:
            pass  # pragma: no cover
    assert _sse.stream_limiter().borrowed_tokens == 0


async def test_event_parser_handles_comments_multiline_and_crlf() -> None:
    """SSE parsing: comments skipped, data lines joined, CRLF ok, last event without blank."""

    async def lines() -> AsyncIterator[str]:
        for line in [": ping", "event: status", 'data: {"a":', "data: 1}\r", "", "", "data:2"]:
            yield line

    assert [event async for event in parse_event_lines(lines())] == ['{"a":\n1}', "2"]


# ---------------------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "url"),
    [
        ({"videos": [{"url": "https://v3.fal.media/v.mp4"}]}, "https://v3.fal.media/v.mp4"),
        ({"video": "https://v3.fal.media/v.mp4"}, "https://v3.fal.media/v.mp4"),
        ({"video": {"url": "data:video/mp4;base64,AAAA"}}, "data:video/mp4;base64,AAAA"),
    ],
)
async def test_unregistered_video_output_is_found(
    fal: respx.MockRouter, body: dict[str, Any], url: str
) -> None:
    """Unregistered models: the video is found under video.url, videos[0].url or video."""
    model = "fal-ai/new/model"
    fal.get(f"{BASE}/fal-ai/new/requests/{REQ}").mock(return_value=httpx.Response(200, json=body))
    output = await client(model).fetch_video(handle(model), _completed())
    assert output.video == url
    assert output.raw == body


async def test_unregistered_image_output_is_found(fal: respx.MockRouter) -> None:
    """Unregistered image models: a single image.url is found too."""
    model = "fal-ai/new/model"
    fal.get(f"{BASE}/fal-ai/new/requests/{REQ}").mock(
        return_value=httpx.Response(200, json={"image": {"url": "https://x.test/a.png"}})
    )
    output = await client(model).fetch_image(handle(model, kind="image"), _completed())
    assert output.images == ["https://x.test/a.png"]


@pytest.mark.parametrize("body", [{}, {"video": None}, {"video": {"url": ""}}, {"images": []}])
async def test_empty_output_is_a_failure(fal: respx.MockRouter, body: dict[str, Any]) -> None:
    """A result without media is a GenerationFailedError, never None."""
    fal.get(REQUESTS).mock(return_value=httpx.Response(200, json=body))
    with pytest.raises(GenerationFailedError, match="without a video"):
        await client().fetch_video(handle(), _completed())


async def test_empty_image_output_is_a_failure(fal: respx.MockRouter) -> None:
    """An image result with no url is a GenerationFailedError."""
    fal.get(REQUESTS).mock(return_value=httpx.Response(200, json={"images": [{"width": 1}]}))
    with pytest.raises(GenerationFailedError, match="without an image"):
        await client().fetch_image(handle(), _completed())


def _completed() -> Any:
    from tarash.tarash_gateway.engine._polling import JobSnapshot

    return JobSnapshot(JobState.COMPLETED)


async def test_result_fetch_is_retried_on_5xx(fal: respx.MockRouter) -> None:
    """Reading a result is idempotent: a 502 then success is retried."""
    result = fal.get(REQUESTS).mock(side_effect=[httpx.Response(502), VIDEO_RESULT])
    output = await client().fetch_video(handle(), _completed())
    assert output.video == VIDEO_URL
    assert result.call_count == 2


async def test_app_5xx_on_result_is_the_job_failing(fal: respx.MockRouter) -> None:
    """A result 5xx carrying x-fal-request-id is the app's answer: the job failed, it is
    not read again, and a fallback may run (fal does not bill 5xx failures)."""
    result = fal.get(REQUESTS).mock(
        return_value=httpx.Response(
            500, json={"detail": "CUDA out of memory"}, headers={"x-fal-request-id": REQ}
        )
    )
    with pytest.raises(GenerationFailedError, match="CUDA") as info:
        await client().fetch_video(handle(), _completed())
    assert result.call_count == 1
    assert info.value.retryable is False
    assert info.value.fallback_allowed is True
    assert info.value.status_code == 500


async def test_result_without_returned_urls_is_built_from_the_app_path(
    fal: respx.MockRouter,
) -> None:
    """A handle without URLs (older JSON) reads {base}/{owner}/{alias}/requests/{id}."""
    model = "fal-ai/kling-video/v2.1/pro/image-to-video"
    fal.get(f"{BASE}/fal-ai/kling-video/requests/{REQ}").mock(return_value=VIDEO_RESULT)
    bare = handle(model, status_url=None, result_url=None, cancel_url=None)
    output = await client(model).fetch_video(bare, _completed())
    assert output.video == VIDEO_URL


# ---------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------


async def test_401_on_submit_is_authentication_error(fal: respx.MockRouter) -> None:
    """401 -> AuthenticationError, not retried, key nowhere in the error."""
    route = fal.post(f"{BASE}/{VEO}").mock(
        return_value=detail_error(401, "No user found for Key ID and Secret")
    )
    with pytest.raises(AuthenticationError, match="No user found") as caught:
        await generate_video_async(video_config(), VideoGenerationRequest(prompt="a cat"))
    assert route.call_count == 1
    assert caught.value.status_code == 401
    assert_no_key(caught.value)
    assert caught.value.execution_metadata is not None
    assert KEY not in str(caught.value.execution_metadata.model_dump())


async def test_404_on_status_is_not_found(fal: respx.MockRouter) -> None:
    """404 on status -> NotFoundError."""
    fal.get(f"{REQUESTS}/status").mock(return_value=detail_error(404, "Request not found"))
    with pytest.raises(NotFoundError, match="Request not found"):
        await client().poll(handle())


async def test_422_validation_on_result(fal: respx.MockRouter) -> None:
    """A 422 detail list is a ValidationError with a readable message."""
    fal.get(REQUESTS).mock(
        return_value=detail_error(
            422,
            [{"loc": ["body", "prompt"], "msg": "field required", "type": "value_error.missing"}],
            **{"x-fal-request-id": "rid-9"},
        )
    )
    with pytest.raises(ValidationError) as caught:
        await client().fetch_video(handle(), _completed())
    assert caught.value.message == "prompt: field required [value_error.missing]"
    assert caught.value.request_id == "rid-9"
    assert caught.value.status_code == 422


async def test_422_content_policy_on_result(fal: respx.MockRouter) -> None:
    """A 422 whose detail type is content_policy_violation is a ContentModerationError."""
    fal.get(REQUESTS).mock(
        return_value=detail_error(
            422,
            [
                {
                    "loc": ["body", "prompt"],
                    "msg": "The content was flagged by a content checker.",
                    "type": "content_policy_violation",
                }
            ],
        )
    )
    with pytest.raises(ContentModerationError, match="flagged") as caught:
        await client().fetch_video(handle(), _completed())
    assert caught.value.status_code == 422
    assert caught.value.fallback_allowed


async def test_error_type_header_is_read(fal: respx.MockRouter) -> None:
    """X-Fal-Error-Type names the error when the body does not."""
    fal.get(REQUESTS).mock(
        return_value=httpx.Response(
            504, text="gateway timeout", headers={"x-fal-error-type": "startup_timeout"}
        )
    )
    stamina_off = client(max_attempts=1)
    with pytest.raises(ProviderServerError, match=r"gateway timeout \[startup_timeout\]"):
        await stamina_off.fetch_video(handle(), _completed())


async def test_429_with_retry_after_then_success(fal: respx.MockRouter) -> None:
    """A 429 on submit is retried (nothing was created) honouring Retry-After."""
    route = fal.post(f"{BASE}/{VEO}").mock(
        side_effect=[
            detail_error(429, "Rate limit exceeded", **{"retry-after": "0"}),
            submitted(),
        ]
    )
    fal.get(f"{REQUESTS}/status").mock(return_value=COMPLETED)
    fal.get(REQUESTS).mock(return_value=VIDEO_RESULT)
    response = await generate_video_async(video_config(), VideoGenerationRequest(prompt="a"))
    assert route.call_count == 2
    assert response.execution_metadata.attempts[0].retries == 1


async def test_fal_retryable_false_stops_retries(fal: respx.MockRouter) -> None:
    """X-Fal-Retryable: false overrides the default retry of a 429."""
    route = fal.post(f"{BASE}/{VEO}").mock(
        return_value=detail_error(429, "quota", **{"x-fal-retryable": "false"})
    )
    with pytest.raises(RateLimitError) as caught:
        await client().submit(_prepared(VEO), time_left=None)
    assert route.call_count == 1
    assert caught.value.retryable is False


async def test_500_on_status_then_success(fal: respx.MockRouter) -> None:
    """A 5xx on a status poll is retried and the job completes."""
    fal.post(f"{BASE}/{VEO}").mock(return_value=submitted())
    poll = fal.get(f"{REQUESTS}/status").mock(
        side_effect=[detail_error(500, "Internal Server Error"), COMPLETED]
    )
    fal.get(REQUESTS).mock(return_value=VIDEO_RESULT)
    response = await generate_video_async(video_config(), VideoGenerationRequest(prompt="a"))
    assert response.video == VIDEO_URL
    assert poll.call_count == 2


async def test_503_on_submit_is_retried(fal: respx.MockRouter) -> None:
    """503 on submit means nothing was queued: it is retried."""
    route = fal.post(f"{BASE}/{VEO}").mock(
        side_effect=[detail_error(503, "runner_connection_refused"), submitted()]
    )
    fal.get(f"{REQUESTS}/status").mock(return_value=COMPLETED)
    fal.get(REQUESTS).mock(return_value=VIDEO_RESULT)
    await generate_video_async(video_config(), VideoGenerationRequest(prompt="a"))
    assert route.call_count == 2


@pytest.mark.parametrize("status_code", [500, 502])
async def test_5xx_on_submit_is_not_retried(fal: respx.MockRouter, status_code: int) -> None:
    """500/502 on submit may have queued a paid job: never resubmitted."""
    route = fal.post(f"{BASE}/{VEO}").mock(
        return_value=detail_error(status_code, "Internal Server Error")
    )
    with pytest.raises(ProviderServerError) as caught:
        await generate_video_async(video_config(), VideoGenerationRequest(prompt="a"))
    assert route.call_count == 1
    assert_no_key(caught.value)


async def test_dropped_connection_on_submit_is_not_retried(fal: respx.MockRouter) -> None:
    """A connection dropped after sending may have created the job: not retried."""
    route = fal.post(f"{BASE}/{VEO}").mock(side_effect=httpx.RemoteProtocolError("dropped"))
    with pytest.raises(HTTPConnectionError) as caught:
        await generate_video_async(video_config(), VideoGenerationRequest(prompt="a"))
    assert route.call_count == 1
    assert_no_key(caught.value)


async def test_refused_connection_on_submit_is_retried(fal: respx.MockRouter) -> None:
    """A connection never made cannot have created a job: retried."""
    route = fal.post(f"{BASE}/{VEO}").mock(side_effect=[httpx.ConnectError("refused"), submitted()])
    await client().submit(_prepared(VEO), time_left=None)
    assert route.call_count == 2


async def test_key_never_appears_in_errors(
    fal: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whatever fails, the key (here from FAL_KEY) is absent from the error's str and repr."""
    monkeypatch.setenv("FAL_KEY", KEY)
    fal.get(f"{REQUESTS}/status").mock(
        side_effect=[detail_error(403, "forbidden"), httpx.ReadTimeout("slow")]
    )
    fal_client = client(api_key=None, max_attempts=1)
    for expected in (AuthenticationError, HTTPConnectionError):
        with pytest.raises(expected) as caught:
            await fal_client.poll(handle())
        assert_no_key(caught.value)


# ---------------------------------------------------------------------------------------
# Cancel and deadlines
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reply", "accepted"),
    [
        (httpx.Response(202, json={"status": "CANCELLATION_REQUESTED"}), True),
        (httpx.Response(400, json={"status": "ALREADY_COMPLETED"}), False),
        (httpx.Response(404, json={"status": "NOT_FOUND"}), False),
    ],
)
async def test_cancel(fal: respx.MockRouter, reply: httpx.Response, accepted: bool) -> None:
    """PUT cancel_url: 202 accepted; 400 already completed / 404 unknown -> False."""
    route = fal.put(f"{REQUESTS}/cancel").mock(return_value=reply)
    assert await client().cancel(handle()) is accepted
    assert route.call_count == 1
    assert route.calls.last.request.headers["authorization"] == f"Key {KEY}"


async def test_deadline_cancels_the_remote_job(fal: respx.MockRouter) -> None:
    """A job still running at the deadline is cancelled with PUT and recorded as cancelled."""
    fal.post(f"{BASE}/{VEO}").mock(return_value=submitted())
    fal.get(f"{REQUESTS}/status").mock(return_value=status("IN_PROGRESS", logs=[]))
    cancel = fal.put(f"{REQUESTS}/cancel").mock(
        return_value=httpx.Response(202, json={"status": "CANCELLATION_REQUESTED"})
    )
    with pytest.raises(TimeoutError) as caught:
        await generate_video_async(
            video_config(timeout=0.2), VideoGenerationRequest(prompt="a cat")
        )
    assert cancel.call_count == 1
    assert caught.value.execution_metadata is not None
    assert caught.value.execution_metadata.attempts[0].status == "cancelled"


# -- prompt="" where the model needs none (fal's schemas) ------------------------------------

KLING_O3 = "fal-ai/kling-video/o3/pro/text-to-video"
WAN_MOVE = "fal-ai/wan/v2.2-14b/animate/move"
SHOTS = [{"prompt": "a rocket launches", "duration": "4"}, {"prompt": "it climbs", "duration": "4"}]


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("model", "request_fields", "expected"),
    [
        (
            KLING_O3,
            {"duration_seconds": 8, "extra_params": {"multi_prompt": SHOTS}},
            {"duration": "8", "multi_prompt": SHOTS},
        ),
        (
            WAN_MOVE,
            {
                "video": "https://e.test/dance.mp4",
                "image_list": [{"image": "https://e.test/char.png", "type": "reference"}],
                "seed": 42,
            },
            {"video_url": "https://e.test/dance.mp4", "image_url": "https://e.test/char.png"},
        ),
    ],
)
async def test_a_blank_prompt_is_left_out_where_the_model_takes_none(
    fal: respx.MockRouter, model: str, request_fields: dict[str, Any], expected: dict[str, Any]
) -> None:
    """Kling O3 with multi_prompt and Wan animate/move take prompt="": no prompt is sent
    (fal: "either prompt or multi_prompt, not both"; Wan animate has no prompt field)."""
    root = f"{BASE}/{queue_app_path(model)}"  # fal's queue URLs name the app
    urls = {
        "response_url": f"{root}/requests/{REQ}",
        "status_url": f"{root}/requests/{REQ}/status",
        "cancel_url": f"{root}/requests/{REQ}/cancel",
    }
    submit = fal.post(f"{BASE}/{model}").mock(
        return_value=httpx.Response(200, json={"status": "IN_QUEUE", "request_id": REQ, **urls})
    )
    fal.get(urls["status_url"]).mock(return_value=COMPLETED)
    fal.get(urls["response_url"]).mock(return_value=VIDEO_RESULT)
    request = VideoGenerationRequest(prompt="", **request_fields)
    response = await generate_video_async(video_config(model=model), request)
    body = json.loads(submit.calls.last.request.content)
    assert "prompt" not in body
    assert expected.items() <= body.items()
    assert response.video == VIDEO_URL


def test_a_blank_prompt_is_refused_for_a_model_that_needs_one() -> None:
    """A blank prompt that got past the request (it has a video) is refused, before
    sending, by a model whose schema requires a prompt; Kling's message names multi_prompt."""
    request = VideoGenerationRequest(prompt="", video="https://e.test/v.mp4")
    with pytest.raises(ValidationError, match="prompt must not be empty"):
        client("fal-ai/kling-video/o1/video-to-video/edit").prepare_video(request)
    with pytest.raises(ValidationError, match="multi_prompt"):
        client(KLING_O3).prepare_video(request)


def test_a_prompt_given_with_multi_prompt_is_noted_as_not_sent() -> None:
    """Kling V3 takes prompt or multi_prompt, not both: multi_prompt wins, the prompt is
    noted as not sent."""
    job = client("fal-ai/kling-video/v3/pro/text-to-video").prepare_video(
        VideoGenerationRequest(prompt="a rocket", extra_params={"multi_prompt": SHOTS})
    )
    assert "prompt" not in job.payload
    assert any(note.startswith("prompt: not sent") for note in job.adaptations)
