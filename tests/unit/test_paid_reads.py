"""Paid jobs are never bought twice over a reply that could not be read: a finished job's
result is read again, and an accepted submit is followed (or flagged), not replaced."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest
import respx

from tarash.tarash_gateway import generate_video_async, submit_video_async
from tarash.tarash_gateway.errors import (
    ContentModerationError,
    GenerationFailedError,
    ProviderServerError,
    TarashException,
)
from tarash.tarash_gateway.models import VideoGenerationConfig, VideoGenerationRequest

pytestmark = [pytest.mark.anyio, pytest.mark.respx(assert_all_called=False)]

FAL = "https://queue.fal.test"
FAL_KEY = "fal-id:fal-secret-canary-4242"
VEO = "fal-ai/veo3"
REQ = "80e732af-660e-45cd-bd63-580e4f2a94cc"
FAL_JOB = f"{FAL}/{VEO}/requests/{REQ}"
REPLICATE = "https://api.replicate.test"
TOKEN = "r8_canary-token-0123456789abcdef"
CREATE = f"{REPLICATE}/v1/models/google/veo-3/predictions"
PREDICTION = f"{REPLICATE}/v1/predictions/p1"
VIDEO_URL = "https://cdn.test/output.mp4"
CUT_SHORT = b'{"video": {"url": "https://cdn.te'
REQUEST = VideoGenerationRequest(prompt="a cat", duration_seconds=8)


def fal_config(**kwargs: Any) -> VideoGenerationConfig:
    return VideoGenerationConfig(
        provider="fal",
        model=VEO,
        base_url=FAL,
        api_key=FAL_KEY,
        poll_interval=0.001,
        provider_config={"status_stream": False},
        **kwargs,
    )


def replicate_config(**kwargs: Any) -> VideoGenerationConfig:
    return VideoGenerationConfig(
        provider="replicate",
        model="google/veo-3",
        base_url=REPLICATE,
        api_key=TOKEN,
        poll_interval=0.001,
        **kwargs,
    )


def prediction(status: str, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": "p1",
        "status": status,
        "output": VIDEO_URL if status == "succeeded" else None,
        "created_at": "2025-07-30T01:38:07.143Z",
        "urls": {"get": PREDICTION, "cancel": f"{PREDICTION}/cancel"},
    }
    body.update(fields)
    return body


def fal_job_until_completed(mock: respx.MockRouter) -> dict[str, respx.Route]:
    """Routes of a fal job accepted and COMPLETED; its result route is the test's."""
    return {
        "submit": mock.post(f"{FAL}/{VEO}").respond(
            200, json={"status": "IN_QUEUE", "request_id": REQ}
        ),
        "status": mock.get(f"{FAL_JOB}/status").respond(
            200, json={"status": "COMPLETED", "request_id": REQ}
        ),
        "cancel": mock.put(f"{FAL_JOB}/cancel").respond(202, json={"status": "ok"}),
    }


def replicate_routes(mock: respx.MockRouter) -> dict[str, respx.Route]:
    """A Replicate job that would succeed, as the fallback that must not be bought."""
    return {
        "create": mock.post(CREATE).respond(201, json=prediction("starting")),
        "poll": mock.get(PREDICTION).respond(200, json=prediction("succeeded")),
    }


# ---------------------------------------------------------------------------------------
# Defect 6: a finished job's result read
# ---------------------------------------------------------------------------------------


async def test_fal_result_cut_short_is_read_again(respx_mock: respx.MockRouter) -> None:
    """A 200 result whose JSON is cut short is retried like a transient fault, then read."""
    fal_job_until_completed(respx_mock)
    result = respx_mock.get(FAL_JOB).mock(
        side_effect=[
            httpx.Response(200, content=CUT_SHORT, headers={"content-type": "application/json"}),
            httpx.Response(200, json={"video": {"url": VIDEO_URL}}),
        ]
    )
    response = await generate_video_async(fal_config(), REQUEST)
    assert response.video == VIDEO_URL
    assert result.call_count == 2
    attempt = response.execution_metadata.attempts[0]
    assert (attempt.status, attempt.retries) == ("success", 1)


async def test_fal_result_never_readable_buys_no_fallback(respx_mock: respx.MockRouter) -> None:
    """A result that stays unreadable ends the chain with the handle: Replicate is not paid."""
    routes = fal_job_until_completed(respx_mock)
    result = respx_mock.get(FAL_JOB).respond(200, content=CUT_SHORT)
    fallback = replicate_routes(respx_mock)
    config = fal_config(fallback_configs=[replicate_config()])
    with pytest.raises(ProviderServerError, match="not a JSON object") as info:
        await generate_video_async(config, REQUEST)
    error = info.value
    assert error.fallback_allowed is False
    assert error.job_handle is not None
    assert error.job_handle.request_id == REQ
    assert result.call_count == 4  # 1 + max_retries
    assert fallback["create"].call_count == 0
    assert routes["cancel"].call_count == 0  # finished: nothing to cancel
    assert error.execution_metadata is not None
    assert error.execution_metadata.total_attempts == 1
    assert CUT_SHORT.decode() not in str(error)


@pytest.mark.parametrize(
    "reply",
    [
        httpx.Response(400, json={"detail": "Request is still in progress"}),
        httpx.Response(401, json={"detail": "Invalid key"}),
        httpx.Response(404, json={"detail": "Request not found"}),
        httpx.Response(429, json={"detail": "slow down"}, headers={"retry-after": "0"}),
        httpx.Response(503, json={"detail": "unavailable"}),
    ],
    ids=["400", "401", "404", "429", "503"],
)
async def test_a_failed_result_read_buys_no_fallback(
    respx_mock: respx.MockRouter, reply: httpx.Response
) -> None:
    """Whatever the HTTP error of a finished job's result read, no second job is bought."""
    fal_job_until_completed(respx_mock)
    respx_mock.get(FAL_JOB).mock(return_value=reply)
    fallback = replicate_routes(respx_mock)
    with pytest.raises(TarashException) as info:
        await generate_video_async(fal_config(fallback_configs=[replicate_config()]), REQUEST)
    assert info.value.fallback_allowed is False
    assert info.value.job_handle is not None
    assert fallback["create"].call_count == 0


@pytest.mark.parametrize(
    ("reply", "error_class"),
    [
        # fal's app answering 5xx (x-fal-request-id set): the job itself failed, unbilled.
        (
            httpx.Response(500, json={"detail": "boom"}, headers={"x-fal-request-id": REQ}),
            GenerationFailedError,
        ),
        # The result was read: it holds no video.
        (httpx.Response(200, json={"seed": 1}), GenerationFailedError),
        (
            httpx.Response(
                422,
                json={"detail": [{"msg": "flagged", "type": "content_policy_violation"}]},
                headers={"x-fal-request-id": REQ},
            ),
            ContentModerationError,
        ),
    ],
    ids=["job-failed-5xx", "no-video", "moderated"],
)
async def test_a_result_saying_no_usable_output_allows_the_fallback(
    respx_mock: respx.MockRouter, reply: httpx.Response, error_class: type[Exception]
) -> None:
    """When the provider says the finished job left nothing usable, the fallback runs."""
    fal_job_until_completed(respx_mock)
    respx_mock.get(FAL_JOB).mock(return_value=reply)
    fallback = replicate_routes(respx_mock)
    # Moderation falls back only under the opt-in policy (the published table raises it at
    # once); what this pins is that a paid read's verdict does not forbid the fallback.
    policy = "provider_specific" if error_class is ContentModerationError else "transient"
    response = await generate_video_async(
        fal_config(fallback_configs=[replicate_config()], fallback_on=policy), REQUEST
    )
    assert response.provider == "replicate"
    assert fallback["create"].call_count == 1
    assert response.execution_metadata.attempts[0].error_type == error_class.__name__


async def test_replicate_output_read_cut_short_is_read_again(respx_mock: respx.MockRouter) -> None:
    """A succeeded prediction whose output read is cut short is read again, not "no output"."""
    respx_mock.post(CREATE).respond(201, json=prediction("starting"))
    poll = respx_mock.get(PREDICTION).mock(
        side_effect=[
            httpx.Response(200, json=prediction("succeeded", output=None)),
            httpx.Response(200, content=b'{"id": "p1", "status": "succ'),
            httpx.Response(200, json=prediction("succeeded")),
        ]
    )
    response = await generate_video_async(replicate_config(), REQUEST)
    assert response.video == VIDEO_URL
    assert poll.call_count == 3


async def test_replicate_output_never_readable_buys_no_fallback(
    respx_mock: respx.MockRouter,
) -> None:
    """A succeeded prediction whose output cannot be read ends the chain: fal is not paid."""
    respx_mock.post(CREATE).respond(201, json=prediction("starting"))
    respx_mock.get(PREDICTION).mock(
        side_effect=[
            httpx.Response(200, json=prediction("succeeded", output=None)),
            *[httpx.Response(200, content=b"<html>502</html>")] * 4,
        ]
    )
    fal_submit = respx_mock.post(f"{FAL}/{VEO}").respond(200, json={"request_id": REQ})
    with pytest.raises(ProviderServerError) as info:
        await generate_video_async(replicate_config(fallback_configs=[fal_config()]), REQUEST)
    assert info.value.fallback_allowed is False
    assert info.value.job_handle is not None
    assert fal_submit.call_count == 0


async def test_replicate_null_output_allows_the_fallback(respx_mock: respx.MockRouter) -> None:
    """A prediction that succeeded with a null output left nothing: the fallback runs."""
    respx_mock.post(CREATE).respond(201, json=prediction("starting"))
    respx_mock.get(PREDICTION).respond(200, json=prediction("succeeded", output=None))
    fal_job_until_completed(respx_mock)
    respx_mock.get(FAL_JOB).respond(200, json={"video": {"url": VIDEO_URL}})
    response = await generate_video_async(
        replicate_config(fallback_configs=[fal_config()]), REQUEST
    )
    assert response.provider == "fal"


async def test_a_status_cut_short_is_read_again(respx_mock: respx.MockRouter) -> None:
    """A status reply cut short is retried inside the same poll, not counted as a state."""
    respx_mock.post(CREATE).respond(201, json=prediction("starting"))
    poll = respx_mock.get(PREDICTION).mock(
        side_effect=[
            httpx.Response(200, content=b'{"id": "p1", "sta'),
            httpx.Response(200, json=prediction("succeeded")),
        ]
    )
    response = await generate_video_async(replicate_config(), REQUEST)
    assert response.video == VIDEO_URL
    assert poll.call_count == 2
    assert response.execution_metadata.attempts[0].retries == 1


# ---------------------------------------------------------------------------------------
# Defect 7: a submit accepted with a reply that cannot be read
# ---------------------------------------------------------------------------------------

GARBLED = b'{"id": "p1", "model": "google/ve'


async def test_replicate_create_cut_short_is_followed_by_its_location(
    respx_mock: respx.MockRouter,
) -> None:
    """A 201 whose body is cut short names the prediction in Location: it is waited on."""
    create = respx_mock.post(CREATE).respond(
        201, content=GARBLED, headers={"Location": "/v1/predictions/p1"}
    )
    poll = respx_mock.get(PREDICTION).respond(200, json=prediction("succeeded"))
    fallback = respx_mock.post(f"{FAL}/{VEO}").respond(200, json={"request_id": REQ})
    response = await generate_video_async(
        replicate_config(fallback_configs=[fal_config()]), REQUEST
    )
    assert (response.provider, response.request_id) == ("replicate", "p1")
    assert response.video == VIDEO_URL
    assert (create.call_count, poll.call_count, fallback.call_count) == (1, 1, 0)
    assert response.execution_metadata.attempts[0].job_may_exist is False


@pytest.mark.parametrize(
    "headers",
    [{}, {"Location": "https://elsewhere.test/v1/predictions/p1"}, {"Location": "/v1/x/a b"}],
    ids=["no-location", "foreign-location", "malformed-id"],
)
async def test_replicate_create_with_no_readable_id_is_flagged_not_replaced(
    respx_mock: respx.MockRouter, caplog: pytest.LogCaptureFixture, headers: dict[str, str]
) -> None:
    """A 201 naming no usable id: the job exists, so it is flagged and no fallback is bought."""
    create = respx_mock.post(CREATE).respond(201, content=GARBLED, headers=headers)
    fallback = respx_mock.post(f"{FAL}/{VEO}").respond(200, json={"request_id": REQ})
    with (
        caplog.at_level(logging.WARNING, logger="tarash"),
        pytest.raises(ProviderServerError, match="no job id") as info,
    ):
        await generate_video_async(replicate_config(fallback_configs=[fal_config()]), REQUEST)
    error = info.value
    assert (error.job_may_exist, error.fallback_allowed, error.retryable) == (True, False, False)
    assert (create.call_count, fallback.call_count) == (1, 0)
    assert error.execution_metadata is not None
    assert error.execution_metadata.attempts[0].job_may_exist is True
    assert "cannot cancel" in caplog.text
    assert TOKEN not in caplog.text and TOKEN not in str(error)


async def test_fal_submit_cut_short_is_followed_by_its_request_id_header(
    respx_mock: respx.MockRouter,
) -> None:
    """A fal submit 200 cut short still names the job in x-fal-request-id: it is waited on."""
    routes = fal_job_until_completed(respx_mock)
    routes["submit"].respond(200, content=b'{"status": "IN_QU', headers={"x-fal-request-id": REQ})
    respx_mock.get(FAL_JOB).respond(200, json={"video": {"url": VIDEO_URL}})
    response = await generate_video_async(fal_config(), REQUEST)
    assert (response.request_id, response.video) == (REQ, VIDEO_URL)


async def test_fal_submit_with_no_readable_id_is_flagged_not_replaced(
    respx_mock: respx.MockRouter,
) -> None:
    """A fal submit 200 naming no id anywhere is flagged, and Replicate is not bought."""
    submit = respx_mock.post(f"{FAL}/{VEO}").respond(200, content=b'{"status": "IN_QU')
    fallback = replicate_routes(respx_mock)
    with pytest.raises(ProviderServerError) as info:
        await generate_video_async(fal_config(fallback_configs=[replicate_config()]), REQUEST)
    assert (info.value.job_may_exist, info.value.fallback_allowed) == (True, False)
    assert (submit.call_count, fallback["create"].call_count) == (1, 0)
    meta = info.value.execution_metadata
    assert meta is not None
    assert meta.attempts[0].job_may_exist is True


async def test_submit_video_flags_an_untracked_job_too(
    respx_mock: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    """submit_video raises the same flagged error (and warning) when no id can be learnt."""
    respx_mock.post(CREATE).respond(201, content=GARBLED)
    with (
        caplog.at_level(logging.WARNING, logger="tarash"),
        pytest.raises(ProviderServerError) as info,
    ):
        await submit_video_async(replicate_config(), REQUEST)
    assert info.value.job_may_exist is True
    assert "cannot cancel" in caplog.text


async def test_submit_video_returns_the_handle_learnt_from_location(
    respx_mock: respx.MockRouter,
) -> None:
    """submit_video returns a handle for a create cut short that names its Location."""
    respx_mock.post(CREATE).respond(201, content=GARBLED, headers={"Location": PREDICTION})
    handle = await submit_video_async(replicate_config(), REQUEST)
    assert (handle.request_id, handle.status_url) == ("p1", PREDICTION)


async def test_submit_video_error_after_a_5xx_carries_the_flag(
    respx_mock: respx.MockRouter,
) -> None:
    """A submit 502 (may have created a job) raises an error flagged job_may_exist."""
    respx_mock.post(CREATE).respond(502, json={"detail": "bad gateway"})
    with pytest.raises(ProviderServerError) as info:
        await submit_video_async(replicate_config(), REQUEST)
    assert info.value.job_may_exist is True
