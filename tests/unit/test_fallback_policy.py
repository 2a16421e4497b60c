"""The fallback rule through whole chains: the published table by default, the opt-in
``fallback_on="provider_specific"`` for provider-specific failures, and "never pay twice"
under every policy."""

from __future__ import annotations

import logging
import typing
from typing import Any

import httpx
import pydantic
import pytest
import respx

from tarash.tarash_gateway import TarashException, generate_video_async
from tarash.tarash_gateway import errors as errors_module
from tarash.tarash_gateway.errors import (
    AuthenticationError,
    ContentModerationError,
    FallbackPolicy,
    ProviderServerError,
    ValidationError,
)
from tarash.tarash_gateway.models import (
    ImageGenerationConfig,
    VideoGenerationConfig,
    VideoGenerationRequest,
)
from tarash.tarash_gateway.routing._chain import fallback_policies
from tests.unit.fake_provider import BASE, FAKE_KEY

pytestmark = [pytest.mark.anyio, pytest.mark.respx(assert_all_called=False)]

BACKUP = "https://backup.test"
THIRD = "https://third.test"
FAL = "https://queue.fal.test"
FAL_KEY = "fal-id:fal-secret-canary-4242"
VEO = "fal-ai/veo3"
REQUEST = VideoGenerationRequest(prompt="a cat", duration_seconds=6, aspect_ratio="16:9")


def fake(base: str = BASE, **kwargs: Any) -> VideoGenerationConfig:
    return VideoGenerationConfig(
        provider="fake",
        model=kwargs.pop("model", "t2v"),
        api_key=kwargs.pop("api_key", FAKE_KEY),
        base_url=base,
        poll_interval=0.001,
        max_retries=0,
        **kwargs,
    )


def ok_job(mock: respx.MockRouter, base: str, job: str = "ok") -> respx.Route:
    submit = mock.post(f"{base}/jobs").respond(200, json={"id": job, "status": "queued"})
    mock.get(f"{base}/jobs/{job}").respond(
        200, json={"status": "done", "url": f"https://cdn.test/{job}.mp4"}
    )
    return submit


def test_config_field_has_the_policy_values_and_the_published_default() -> None:
    """fallback_on takes FallbackPolicy's values and defaults to the published table."""
    annotation = VideoGenerationConfig.model_fields["fallback_on"].annotation
    assert typing.get_args(annotation) == typing.get_args(FallbackPolicy)
    assert VideoGenerationConfig(provider="fake", model="m").fallback_on == "transient"
    assert ImageGenerationConfig(provider="fake", model="m").fallback_on == "transient"


def test_config_refuses_an_unknown_policy_naming_the_field() -> None:
    """A misspelt policy is refused when the config is built, naming fallback_on."""
    with pytest.raises((pydantic.ValidationError, ValidationError), match="fallback_on"):
        VideoGenerationConfig(provider="fake", model="m", fallback_on="always")


@pytest.mark.parametrize("status", [400, 401, 402, 403, 404, 408, 409, 422])
async def test_non_transient_statuses_raise_at_once_by_default(
    respx_mock: respx.MockRouter, status: int
) -> None:
    """By default an HTTP status outside 429/5xx raises with no fallback (published table)."""
    respx_mock.post(f"{BASE}/jobs").respond(status, json={"message": "refused"})
    backup = ok_job(respx_mock, BACKUP)
    with pytest.raises(TarashException) as info:
        await generate_video_async(fake(fallback_configs=[fake(BACKUP)]), REQUEST)
    assert info.value.status_code == status
    assert backup.call_count == 0
    meta = info.value.execution_metadata
    assert meta is not None and meta.total_attempts == 1 and meta.configs_in_chain == 2


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
async def test_transient_statuses_fall_back_by_default(
    respx_mock: respx.MockRouter, status: int
) -> None:
    """HTTP 429 and 5xx move down the chain under the default policy."""
    respx_mock.post(f"{BASE}/jobs").respond(status, json={"message": "busy"})
    ok_job(respx_mock, BACKUP)
    response = await generate_video_async(fake(fallback_configs=[fake(BACKUP)]), REQUEST)
    assert response.request_id == "ok"
    assert response.execution_metadata.fallback_triggered is True


async def test_failed_job_timeout_and_connection_errors_fall_back_by_default(
    respx_mock: respx.MockRouter,
) -> None:
    """A failed job, a deadline and a refused connection each move down the chain."""
    respx_mock.post(f"{BASE}/jobs").respond(200, json={"id": "j1", "status": "queued"})
    respx_mock.get(f"{BASE}/jobs/j1").respond(200, json={"status": "failed", "error": "oom"})
    respx_mock.post(f"{BACKUP}/jobs").respond(200, json={"id": "j2", "status": "queued"})
    respx_mock.get(f"{BACKUP}/jobs/j2").respond(200, json={"status": "running"})
    respx_mock.post(f"{BACKUP}/jobs/j2/cancel").respond(200, json={})
    respx_mock.post(f"{THIRD}/jobs").mock(side_effect=httpx.ConnectError("refused"))
    ok_job(respx_mock, "https://fourth.test")
    chain = fake(
        fallback_configs=[
            fake(BACKUP, max_poll_attempts=1),
            fake(THIRD),
            fake("https://fourth.test"),
        ]
    )
    response = await generate_video_async(chain, REQUEST)
    kinds = [a.error_type for a in response.execution_metadata.attempts]
    assert kinds == ["GenerationFailedError", "TimeoutError", "HTTPConnectionError", None]


@pytest.mark.parametrize("status", [400, 401, 402, 403, 404, 408, 409, 422])
async def test_opt_in_policy_falls_back_on_provider_specific_statuses(
    respx_mock: respx.MockRouter, status: int
) -> None:
    """With fallback_on="provider_specific" a refused key, credit, 404 or 4xx falls back."""
    respx_mock.post(f"{BASE}/jobs").respond(status, json={"message": "refused"})
    ok_job(respx_mock, BACKUP)
    chain = fake(fallback_configs=[fake(BACKUP)], fallback_on="provider_specific")
    response = await generate_video_async(chain, REQUEST)
    first = response.execution_metadata.attempts[0]
    assert (first.status, first.status_code) == ("failed", status)
    assert response.request_id == "ok"


def _fal(**kwargs: Any) -> VideoGenerationConfig:
    return VideoGenerationConfig(
        provider="fal",
        model=VEO,
        base_url=FAL,
        api_key=FAL_KEY,
        max_retries=0,
        provider_config={"status_stream": False},
        **kwargs,
    )


@pytest.mark.parametrize(
    ("policy", "falls_back"), [("transient", False), ("provider_specific", True)]
)
async def test_moderation_falls_back_only_under_the_opt_in_policy(
    respx_mock: respx.MockRouter, policy: FallbackPolicy, falls_back: bool
) -> None:
    """A provider's moderation refusal raises at once by default, falls back when opted in."""
    respx_mock.post(f"{FAL}/{VEO}").respond(
        422, json={"detail": [{"msg": "flagged", "type": "content_policy_violation"}]}
    )
    backup = ok_job(respx_mock, BACKUP)
    chain = _fal(fallback_configs=[fake(BACKUP)], fallback_on=policy)
    if falls_back:
        response = await generate_video_async(chain, REQUEST)
        assert response.execution_metadata.attempts[0].error_type == "ContentModerationError"
    else:
        with pytest.raises(ContentModerationError):
            await generate_video_async(chain, REQUEST)
        assert backup.call_count == 0


async def test_model_that_cannot_take_the_request_raises_by_default(
    respx_mock: respx.MockRouter,
) -> None:
    """An image-to-video model given no image: skipped unsent, and by default raised."""
    backup = ok_job(respx_mock, BACKUP)
    with pytest.raises(ValidationError) as info:
        await generate_video_async(fake(model="i2v", fallback_configs=[fake(BACKUP)]), REQUEST)
    assert backup.call_count == 0
    assert not respx_mock.calls
    meta = info.value.execution_metadata
    assert meta is not None and meta.attempts[0].status == "skipped"


@pytest.mark.parametrize(
    ("policy", "falls_back"), [("transient", False), ("provider_specific", True)]
)
async def test_missing_key_is_provider_specific(
    respx_mock: respx.MockRouter, policy: FallbackPolicy, falls_back: bool
) -> None:
    """A config with no key fails unsent; the chain moves on only under the opt-in policy."""
    ok_job(respx_mock, BACKUP)
    keyless = VideoGenerationConfig(
        provider="fake", model="t2v", base_url=BASE, fallback_configs=[fake(BACKUP)]
    )
    chain = keyless.model_copy(update={"fallback_on": policy})
    if falls_back:
        response = await generate_video_async(chain, REQUEST)
        assert response.execution_metadata.attempts[0].error_type == "AuthenticationError"
    else:
        with pytest.raises(AuthenticationError):
            await generate_video_async(chain, REQUEST)
        assert not respx_mock.calls


async def test_the_requests_own_fault_raises_under_the_opt_in_policy_too(
    respx_mock: respx.MockRouter,
) -> None:
    """A request no provider could send (extra_params not JSON) never falls back."""
    backup = ok_job(respx_mock, BACKUP)
    request = VideoGenerationRequest(prompt="a cat", extra_params={"seed": {1, 2}})
    chain = fake(fallback_configs=[fake(BACKUP)], fallback_on="provider_specific")
    with pytest.raises(ValidationError, match="extra_params"):
        await generate_video_async(chain, request)
    assert backup.call_count == 0
    assert not respx_mock.calls


async def test_a_finished_jobs_unreadable_result_never_falls_back_even_opted_in(
    respx_mock: respx.MockRouter,
) -> None:
    """Never pay twice: a finished job whose result read is refused (401) buys no fallback."""
    respx_mock.post(f"{FAL}/{VEO}").respond(
        200,
        json={
            "request_id": "80e732af-660e-45cd-bd63-580e4f2a94cc",
            "status_url": f"{FAL}/{VEO}/requests/80e732af-660e-45cd-bd63-580e4f2a94cc/status",
            "response_url": f"{FAL}/{VEO}/requests/80e732af-660e-45cd-bd63-580e4f2a94cc",
        },
    )
    respx_mock.get(f"{FAL}/{VEO}/requests/80e732af-660e-45cd-bd63-580e4f2a94cc/status").respond(
        200, json={"status": "COMPLETED", "logs": []}
    )
    respx_mock.get(f"{FAL}/{VEO}/requests/80e732af-660e-45cd-bd63-580e4f2a94cc").respond(
        401, json={"detail": "key expired"}
    )
    backup = ok_job(respx_mock, BACKUP)
    chain = _fal(fallback_configs=[fake(BACKUP)], fallback_on="provider_specific")
    with pytest.raises(AuthenticationError) as info:
        await generate_video_async(chain, REQUEST)
    assert info.value.fallback_allowed is False
    assert info.value.job_handle is not None
    assert backup.call_count == 0


async def test_an_accepted_submit_without_a_job_id_never_falls_back_even_opted_in(
    respx_mock: respx.MockRouter,
) -> None:
    """Never pay twice: a 2xx submit whose job id is unknown (job_may_exist) raises."""
    respx_mock.post(f"{FAL}/{VEO}").respond(200, json={"status": "IN_QUEUE"})
    backup = ok_job(respx_mock, BACKUP)
    chain = _fal(fallback_configs=[fake(BACKUP)], fallback_on="provider_specific")
    with pytest.raises(ProviderServerError, match="no job id") as info:
        await generate_video_async(chain, REQUEST)
    assert (info.value.job_may_exist, info.value.fallback_allowed) == (True, False)
    assert backup.call_count == 0


def test_policy_on_the_top_config_covers_the_whole_chain() -> None:
    """fallback_on covers a config and, recursively, its fallbacks; a fallback may widen it."""
    third = fake(THIRD)
    second = fake(BACKUP, fallback_configs=[third])
    top = fake(fallback_configs=[second], fallback_on="provider_specific")
    assert set(fallback_policies(top).values()) == {"provider_specific"}

    widening = fake(BACKUP, fallback_configs=[third], fallback_on="provider_specific")
    narrow_top = fake(fallback_configs=[widening, fake("https://fourth.test")])
    policies = fallback_policies(narrow_top)
    ordered = [policies[id(member)] for member in narrow_top.chain()]
    assert ordered == ["transient", "provider_specific", "provider_specific", "transient"]


async def test_opted_in_top_config_lets_a_later_fallback_move_on(
    respx_mock: respx.MockRouter,
) -> None:
    """Set on the config passed in, the opt-in applies when the second config fails too."""
    respx_mock.post(f"{BASE}/jobs").respond(403, json={"message": "no"})
    respx_mock.post(f"{BACKUP}/jobs").respond(404, json={"message": "no such model"})
    ok_job(respx_mock, THIRD)
    chain = fake(fallback_configs=[fake(BACKUP), fake(THIRD)], fallback_on="provider_specific")
    response = await generate_video_async(chain, REQUEST)
    assert [a.status_code for a in response.execution_metadata.attempts] == [403, 404, None]


async def test_fallback_warning_names_provider_model_class_and_status(
    respx_mock: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    """str(error) is the message alone, so the fallback log spells out where it failed."""
    caplog.set_level(logging.WARNING, logger="tarash")
    respx_mock.post(f"{BASE}/jobs").respond(503, json={"message": "down for a bit"})
    ok_job(respx_mock, BACKUP)
    await generate_video_async(fake(fallback_configs=[fake(BACKUP)]), REQUEST)
    assert (
        "fake/t2v failed (ProviderServerError HTTP 503: down for a bit); falling back to fake/t2v"
    ) in caplog.text
    assert FAKE_KEY not in caplog.text


async def test_unknown_provider_anywhere_fails_before_the_first_job_under_either_policy(
    respx_mock: respx.MockRouter,
) -> None:
    """An unknown provider in the chain raises before anything is sent, opted in or not."""
    for policy in typing.get_args(FallbackPolicy):
        bad = VideoGenerationConfig(provider="nope", model="m")
        chain = fake(fallback_configs=[fake(BACKUP, fallback_configs=[bad])], fallback_on=policy)
        with pytest.raises(ValidationError, match="nope"):
            await generate_video_async(chain, REQUEST)
    assert not respx_mock.calls


async def test_deadline_timeout_carries_the_configs_timeout(respx_mock: respx.MockRouter) -> None:
    """The TimeoutError of an attempt's deadline reports config.timeout as timeout_seconds."""
    respx_mock.post(f"{BASE}/jobs").respond(200, json={"id": "j1", "status": "queued"})
    respx_mock.get(f"{BASE}/jobs/j1").respond(200, json={"status": "running"})
    cancel = respx_mock.post(f"{BASE}/jobs/j1/cancel").respond(200, json={})
    with pytest.raises(errors_module.TimeoutError) as info:
        await generate_video_async(fake(timeout=0.05), REQUEST)
    assert info.value.timeout_seconds == 0.05
    assert cancel.call_count == 1
