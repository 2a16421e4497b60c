"""The provider-neutral core end to end on a toy provider: retries, fallback, metadata,
progress, cancellation on give-up."""

from __future__ import annotations

from typing import Any

import anyio
import httpx
import pytest
import respx

from tarash.tarash_gateway import (
    generate_image_async,
    generate_video_async,
)
from tarash.tarash_gateway.errors import (
    AuthenticationError,
    GenerationFailedError,
    HTTPConnectionError,
    ProviderServerError,
    TarashException,
    TimeoutError,
    ValidationError,
)
from tarash.tarash_gateway.models import (
    ImageGenerationConfig,
    ImageGenerationRequest,
    VideoGenerationConfig,
    VideoGenerationRequest,
    VideoGenerationUpdate,
)
from tests.unit.fake_provider import BASE, FAKE_KEY

pytestmark = pytest.mark.anyio

OTHER = "https://other.test"
REQUEST = VideoGenerationRequest(prompt="a cat", duration_seconds=5, aspect_ratio="16:9")


def config(base: str = BASE, **kwargs: Any) -> VideoGenerationConfig:
    return VideoGenerationConfig(
        provider="fake",
        model="t2v",
        api_key=FAKE_KEY,
        base_url=base,
        poll_interval=0.001,
        **kwargs,
    )


def ok_job(mock: respx.MockRouter, base: str = BASE, job: str = "j1") -> dict[str, respx.Route]:
    return {
        "submit": mock.post(f"{base}/jobs").respond(200, json={"id": job, "status": "queued"}),
        "poll": mock.get(f"{base}/jobs/{job}").mock(
            side_effect=[
                httpx.Response(200, json={"status": "queued", "position": 2}),
                httpx.Response(200, json={"status": "running", "progress": 50}),
                httpx.Response(200, json={"status": "done", "url": "https://cdn.test/v.mp4"}),
            ]
        ),
    }


async def test_generate_reports_metadata_of_one_attempt(respx_mock: respx.MockRouter) -> None:
    """A successful job carries one successful attempt with counts, ids and adaptations."""
    routes = ok_job(respx_mock)
    response = await generate_video_async(config(), REQUEST)
    assert response.video == "https://cdn.test/v.mp4"
    assert response.request_id == "j1"
    assert response.duration == 6
    meta = response.execution_metadata
    assert (meta.total_attempts, meta.successful_attempt, meta.fallback_triggered) == (1, 1, False)
    attempt = meta.attempts[0]
    assert attempt.status == "success"
    assert attempt.request_id == "j1"
    assert (attempt.submit_count, attempt.poll_count) == (1, 3)
    assert attempt.adaptations == ["duration_seconds: 5 -> 6 (t2v offers 4s, 6s, 8s)"]
    assert attempt.started_at.tzinfo is not None
    sent = routes["submit"].calls.last.request
    assert sent.headers["authorization"] == f"Bearer {FAKE_KEY}"
    assert b'"duration":6' in sent.content


async def test_progress_reaches_sync_and_async_callbacks(respx_mock: respx.MockRouter) -> None:
    """on_progress may be a function or a coroutine function; both see every state."""
    seen: list[VideoGenerationUpdate] = []

    async def on_progress(update: VideoGenerationUpdate) -> None:
        seen.append(update)

    ok_job(respx_mock)
    await generate_video_async(config(), REQUEST, on_progress=on_progress)
    assert [u.status for u in seen] == ["queued", "processing", "completed"]
    assert seen[0].queue_position == 2 and seen[1].progress_percent == 50
    assert {(u.provider, u.model, u.attempt_number) for u in seen} == {("fake", "t2v", 1)}

    plain: list[str] = []
    ok_job(respx_mock, job="j1")
    await generate_video_async(config(), REQUEST, on_progress=lambda u: plain.append(u.status))
    assert plain[-1] == "completed"


async def test_fallback_runs_after_a_failure(respx_mock: respx.MockRouter) -> None:
    """A failed primary moves on to the fallback; metadata shows both attempts."""
    respx_mock.post(f"{BASE}/jobs").respond(401, json={"message": "bad key"})
    ok_job(respx_mock, base=OTHER, job="j2")
    # A refused key is specific to one provider: it falls back only under the opt-in policy
    # (by default it raises at once, pinned in test_fallback_policy).
    chained = config(fallback_configs=[config(OTHER)], fallback_on="provider_specific")
    response = await generate_video_async(chained, REQUEST)
    meta = response.execution_metadata
    assert response.request_id == "j2"
    assert meta.fallback_triggered and meta.successful_attempt == 2
    assert [a.status for a in meta.attempts] == ["failed", "success"]
    assert meta.attempts[0].error_type == "AuthenticationError"
    assert meta.attempts[0].status_code == 401
    assert meta.attempts[0].job_may_exist is False
    assert meta.configs_in_chain == 2


async def test_total_failure_raises_with_metadata(respx_mock: respx.MockRouter) -> None:
    """When every attempt fails the last error carries the metadata of all attempts."""
    respx_mock.post(f"{BASE}/jobs").respond(200, json={"id": "j1", "status": "queued"})
    respx_mock.get(f"{BASE}/jobs/j1").respond(200, json={"status": "failed", "error": "oom"})
    respx_mock.post(f"{OTHER}/jobs").respond(500, json={"message": "down"})
    with pytest.raises(ProviderServerError) as info:
        await generate_video_async(config(fallback_configs=[config(OTHER)]), REQUEST)
    meta = info.value.execution_metadata
    assert meta is not None and meta.total_attempts == 2 and meta.successful_attempt is None
    first, second = meta.attempts
    assert (first.status, first.error_type, first.request_id) == (
        "failed",
        "GenerationFailedError",
        "j1",
    )
    assert second.error_type == "ProviderServerError"


async def test_done_without_media_is_an_error(respx_mock: respx.MockRouter) -> None:
    """A 'successful' job with no output is GenerationFailedError, never None."""
    respx_mock.post(f"{BASE}/jobs").respond(200, json={"id": "j1", "status": "queued"})
    respx_mock.get(f"{BASE}/jobs/j1").respond(200, json={"status": "done"})
    with pytest.raises(GenerationFailedError, match="without a video") as info:
        await generate_video_async(config(), REQUEST)
    assert info.value.request_id == "j1" and info.value.provider == "fake"


async def test_unknown_status_is_terminal(respx_mock: respx.MockRouter) -> None:
    """A status the client does not know ends the wait with an error."""
    respx_mock.post(f"{BASE}/jobs").respond(200, json={"id": "j1", "status": "queued"})
    respx_mock.get(f"{BASE}/jobs/j1").respond(200, json={"status": "expired"})
    with pytest.raises(GenerationFailedError, match="expired"):
        await generate_video_async(config(), REQUEST)


async def test_submit_429_is_retried_after_retry_after(respx_mock: respx.MockRouter) -> None:
    """A 429 at submit cannot have created a job, so it is retried."""
    submit = respx_mock.post(f"{BASE}/jobs").mock(
        side_effect=[
            httpx.Response(429, headers={"Retry-After": "0"}, json={"message": "slow"}),
            httpx.Response(200, json={"id": "j1", "status": "queued"}),
        ]
    )
    respx_mock.get(f"{BASE}/jobs/j1").respond(200, json={"status": "done", "url": "https://x/v"})
    response = await generate_video_async(config(), REQUEST)
    assert submit.call_count == 2
    assert response.execution_metadata.attempts[0].retries == 1


@pytest.mark.parametrize("status", [500, 502, 504])
async def test_submit_5xx_that_may_have_created_a_job_is_not_resent(
    respx_mock: respx.MockRouter, status: int
) -> None:
    """A submit answered 500/502/504 may have created a paid job: it is never resent."""
    submit = respx_mock.post(f"{BASE}/jobs").respond(status, json={"message": "x"})
    with pytest.raises(ProviderServerError) as info:
        await generate_video_async(config(), REQUEST)
    assert submit.call_count == 1
    meta = info.value.execution_metadata
    assert meta is not None
    assert meta.attempts[0].job_may_exist is True


async def test_submit_503_is_retried(respx_mock: respx.MockRouter) -> None:
    """503 means the server refused the work, so a submit is retried."""
    submit = respx_mock.post(f"{BASE}/jobs").mock(
        side_effect=[
            httpx.Response(503, json={"message": "busy"}),
            httpx.Response(200, json={"id": "j1", "status": "queued"}),
        ]
    )
    respx_mock.get(f"{BASE}/jobs/j1").respond(200, json={"status": "done", "url": "https://x/v"})
    await generate_video_async(config(), REQUEST)
    assert submit.call_count == 2


async def test_submit_dropped_mid_reply_is_not_resent(respx_mock: respx.MockRouter) -> None:
    """A connection dropped after the request was sent may have created a job: no resend."""
    submit = respx_mock.post(f"{BASE}/jobs").mock(
        side_effect=httpx.RemoteProtocolError("peer closed connection")
    )
    with pytest.raises(HTTPConnectionError) as info:
        await generate_video_async(config(), REQUEST)
    assert submit.call_count == 1
    meta = info.value.execution_metadata
    assert meta is not None
    assert meta.attempts[0].job_may_exist is True


async def test_submit_refused_connection_is_retried(respx_mock: respx.MockRouter) -> None:
    """A refused connection never reached the server, so the submit is retried."""
    submit = respx_mock.post(f"{BASE}/jobs").mock(
        side_effect=[
            httpx.ConnectError("refused"),
            httpx.Response(200, json={"id": "j1", "status": "queued"}),
        ]
    )
    respx_mock.get(f"{BASE}/jobs/j1").respond(200, json={"status": "done", "url": "https://x/v"})
    await generate_video_async(config(), REQUEST)
    assert submit.call_count == 2


async def test_poll_faults_are_retried(respx_mock: respx.MockRouter) -> None:
    """Status calls are idempotent: 5xx and dropped connections are retried."""
    respx_mock.post(f"{BASE}/jobs").respond(200, json={"id": "j1", "status": "queued"})
    poll = respx_mock.get(f"{BASE}/jobs/j1").mock(
        side_effect=[
            httpx.Response(500, json={"message": "x"}),
            httpx.ReadError("reset"),
            httpx.Response(200, json={"status": "done", "url": "https://x/v"}),
        ]
    )
    response = await generate_video_async(config(), REQUEST)
    assert poll.call_count == 3
    assert response.execution_metadata.attempts[0].retries == 2


async def test_retry_after_beyond_the_cap_is_not_waited(respx_mock: respx.MockRouter) -> None:
    """A 429 asking to wait longer than MAX_RETRY_AFTER_DELAY fails at once."""
    submit = respx_mock.post(f"{BASE}/jobs").respond(
        429, headers={"Retry-After": "3600"}, json={"message": "later"}
    )
    with pytest.raises(TarashException) as info:
        await generate_video_async(config(), REQUEST)
    assert submit.call_count == 1
    assert info.value.status_code == 429


async def test_callback_error_is_raised_unchanged_and_job_cancelled(
    respx_mock: respx.MockRouter,
) -> None:
    """A progress callback's exception is the user's: no fallback, the job is cancelled."""
    ok_job(respx_mock)
    cancel = respx_mock.post(f"{BASE}/jobs/j1/cancel").respond(200, json={})
    fallback_submit = respx_mock.post(f"{OTHER}/jobs").respond(500)

    def explode(update: object) -> None:
        raise KeyError("user bug")

    with pytest.raises(KeyError, match="user bug"):
        await generate_video_async(config(fallback_configs=[config(OTHER)]), REQUEST, explode)
    assert cancel.call_count == 1
    assert fallback_submit.call_count == 0


async def test_poll_cap_cancels_remote_job(respx_mock: respx.MockRouter) -> None:
    """Giving up on a job (max_poll_attempts) cancels it remotely and records 'cancelled'."""
    respx_mock.post(f"{BASE}/jobs").respond(200, json={"id": "j1", "status": "queued"})
    respx_mock.get(f"{BASE}/jobs/j1").respond(200, json={"status": "running"})
    cancel = respx_mock.post(f"{BASE}/jobs/j1/cancel").respond(200, json={})
    with pytest.raises(TimeoutError) as info:
        await generate_video_async(config(max_poll_attempts=2), REQUEST)
    assert cancel.call_count == 1
    meta = info.value.execution_metadata
    assert meta is not None and meta.attempts[0].status == "cancelled"


async def test_missing_key_fails_before_any_request(respx_mock: respx.MockRouter) -> None:
    """No key: AuthenticationError naming the env var, and nothing is sent."""
    keyless = VideoGenerationConfig(provider="fake", model="t2v", base_url=BASE)
    with pytest.raises(AuthenticationError, match="FAKE_PROVIDER_KEY") as info:
        await generate_video_async(keyless, REQUEST)
    meta = info.value.execution_metadata
    assert meta is not None and meta.attempts[0].status == "skipped"
    assert not respx_mock.calls


async def test_image_to_video_without_image_is_skipped_then_falls_back(
    respx_mock: respx.MockRouter,
) -> None:
    """A request one model cannot serve is skipped unsent; the fallback may serve it."""
    ok_job(respx_mock, base=OTHER)
    # A model that cannot take the request is a provider-specific failure: the chain moves
    # on from it only under the opt-in policy (by default the ValidationError is raised).
    i2v = VideoGenerationConfig(
        provider="fake",
        model="i2v",
        api_key=FAKE_KEY,
        base_url=BASE,
        fallback_configs=[config(OTHER)],
        fallback_on="provider_specific",
    )
    response = await generate_video_async(i2v, REQUEST)
    assert [a.status for a in response.execution_metadata.attempts] == ["skipped", "success"]


async def test_unknown_provider_fails_before_anything_is_sent(
    respx_mock: respx.MockRouter,
) -> None:
    """A typo in any provider of the chain is caught before the first job is paid for."""
    bad = VideoGenerationConfig(provider="nope", model="m")
    with pytest.raises(ValidationError, match="unknown provider 'nope'"):
        await generate_video_async(config(fallback_configs=[bad]), REQUEST)
    assert not respx_mock.calls


async def test_secret_never_in_errors_or_metadata(respx_mock: respx.MockRouter) -> None:
    """The key appears in no error text, repr or metadata dump."""
    respx_mock.post(f"{BASE}/jobs").respond(401, json={"message": "denied"})
    with pytest.raises(TarashException) as info:
        await generate_video_async(config(), REQUEST)
    error = info.value
    assert error.execution_metadata is not None
    for text in (str(error), repr(error), error.execution_metadata.model_dump_json()):
        assert FAKE_KEY not in text


async def test_image_generation_through_the_core(respx_mock: respx.MockRouter) -> None:
    """Image jobs use the same lifecycle and return a list of images."""
    ok_job(respx_mock)
    image_config = ImageGenerationConfig(
        provider="fake", model="img", api_key=FAKE_KEY, base_url=BASE, poll_interval=0.001
    )
    response = await generate_image_async(image_config, ImageGenerationRequest(prompt="x"))
    assert response.images == ["https://cdn.test/v.mp4"]


@pytest.mark.parametrize("anyio_backend", ["trio"])
async def test_core_runs_under_trio(respx_mock: respx.MockRouter) -> None:
    """The async core uses anyio only, so it runs under trio too."""
    ok_job(respx_mock)
    response = await generate_video_async(config(), REQUEST)
    assert response.request_id == "j1"


async def test_secret_never_in_logs_even_at_debug(
    respx_mock: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    """No log record of tarash, httpx or httpcore carries the key, even at DEBUG."""
    caplog.set_level("DEBUG")
    ok_job(respx_mock)
    respx_mock.post(f"{OTHER}/jobs").respond(429, headers={"Retry-After": "0"}, json={})
    await generate_video_async(config(OTHER, fallback_configs=[config()]), REQUEST)
    assert caplog.records
    for record in caplog.records:
        assert FAKE_KEY not in record.getMessage()


async def test_garbled_status_is_polled_again(respx_mock: respx.MockRouter) -> None:
    """A status reply that cannot be read does not abandon the job: the next poll decides."""
    respx_mock.post(f"{BASE}/jobs").respond(200, json={"id": "j1", "status": "queued"})
    respx_mock.get(f"{BASE}/jobs/j1").mock(
        side_effect=[
            httpx.Response(200, json={"status": "running"}),
            httpx.Response(503, json={"message": "x"}),  # outlives its HTTP retries below
            httpx.Response(503, json={"message": "x"}),
            httpx.Response(200, json={"status": "done", "url": "https://x/v"}),
        ]
    )
    response = await generate_video_async(config(max_retries=1), REQUEST)
    assert response.request_id == "j1"


async def test_status_that_stays_unreadable_cancels_the_job(respx_mock: respx.MockRouter) -> None:
    """When status calls keep failing the waiter gives up, and cancels the job first."""
    respx_mock.post(f"{BASE}/jobs").respond(200, json={"id": "j1", "status": "queued"})
    respx_mock.get(f"{BASE}/jobs/j1").mock(
        side_effect=[httpx.Response(200, json={"status": "running"})]
        + [httpx.Response(500, json={"message": "x"})] * 50
    )
    cancel = respx_mock.post(f"{BASE}/jobs/j1/cancel").respond(200, json={})
    with pytest.raises(ProviderServerError):
        await generate_video_async(config(max_retries=0), REQUEST)
    assert cancel.call_count == 1


async def test_non_retryable_status_error_cancels_the_job(respx_mock: respx.MockRouter) -> None:
    """A status call refused outright (401) ends the wait and cancels the remote job."""
    respx_mock.post(f"{BASE}/jobs").respond(200, json={"id": "j1", "status": "queued"})
    respx_mock.get(f"{BASE}/jobs/j1").respond(401, json={"message": "revoked"})
    cancel = respx_mock.post(f"{BASE}/jobs/j1/cancel").respond(200, json={})
    with pytest.raises(AuthenticationError):
        await generate_video_async(config(), REQUEST)
    assert cancel.call_count == 1


async def test_caller_cancellation_cancels_the_remote_job(respx_mock: respx.MockRouter) -> None:
    """When the caller's task is cancelled mid-wait, the remote job is cancelled too."""
    respx_mock.post(f"{BASE}/jobs").respond(200, json={"id": "j1", "status": "queued"})
    polled = anyio.Event()

    def running(request: httpx.Request) -> httpx.Response:
        polled.set()
        return httpx.Response(200, json={"status": "running"})

    respx_mock.get(f"{BASE}/jobs/j1").mock(side_effect=running)
    cancel = respx_mock.post(f"{BASE}/jobs/j1/cancel").respond(200, json={})
    async with anyio.create_task_group() as group:
        group.start_soon(generate_video_async, config(), REQUEST)
        await polled.wait()
        group.cancel_scope.cancel()
    assert cancel.call_count == 1


def test_backoff_grows_and_is_capped() -> None:
    """Retry waits double from 0.2 s, plus jitter, and never exceed 10 s."""
    from tarash.tarash_gateway.engine._http import backoff_delay

    assert [backoff_delay(n, random_unit=lambda: 0.0) for n in (1, 2, 3)] == [0.2, 0.4, 0.8]
    assert backoff_delay(1, random_unit=lambda: 1.0) == pytest.approx(0.7)
    assert backoff_delay(20) == 10.0


async def test_no_retry_starts_after_the_deadline(respx_mock: respx.MockRouter) -> None:
    """A submit whose next retry would start past the deadline is not retried."""
    submit = respx_mock.post(f"{BASE}/jobs").respond(503, json={"message": "busy"})
    with pytest.raises(ProviderServerError):
        await generate_video_async(config(timeout=0.05), REQUEST)
    assert submit.call_count == 1
