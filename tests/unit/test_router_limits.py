"""The router's limits as the staged attempt uses them: 429s and THROTTLED jobs teach the
provider's limiter, limited or not."""

from __future__ import annotations

import logging

import httpx
import pytest
import respx

from tarash.tarash_gateway.errors import RateLimitError
from tarash.tarash_gateway.models import VideoGenerationConfig, VideoGenerationRequest
from tarash.tarash_gateway.router import Router
from tarash.tarash_gateway.routing._limits import ProviderLimit
from tests._limit_rows import account_row
from tests.unit.fake_provider import BASE, FAKE_KEY

pytestmark = pytest.mark.anyio

CONFIG = VideoGenerationConfig(
    provider="fake", model="t2v", api_key=FAKE_KEY, base_url=BASE, poll_interval=0.001
)
REQUEST = VideoGenerationRequest(prompt="a cat", duration_seconds=4)


def throttled(mock: respx.MockRouter) -> respx.Route:
    return mock.post(f"{BASE}/jobs").respond(
        429, headers={"Retry-After": "3600"}, json={"message": "x"}
    )


async def test_a_429_pauses_a_limited_provider_for_every_call(
    respx_mock: respx.MockRouter,
) -> None:
    """A 429 with Retry-After on a limited provider pauses its creates; the slot is freed."""
    throttled(respx_mock)
    router = Router(limits={"fake": ProviderLimit(max_concurrent=4)})
    with pytest.raises(RateLimitError) as caught:
        await router.generate_video_async(CONFIG, REQUEST)
    state = account_row(router.snapshot().limits, "fake")
    assert state.paused_for_seconds > 3000 and state.in_flight == 0
    meta = caught.value.execution_metadata
    assert meta is not None and meta.attempts[0].status == "failed"


async def test_an_unlimited_provider_learns_its_pause_and_the_next_call_sends_nothing(
    respx_mock: respx.MockRouter,
) -> None:
    """With no limit configured a 429's Retry-After still pauses the whole provider: the
    next call, which the pause would hold past its deadline, fails at once unsent."""
    submit = throttled(respx_mock)
    router = Router(limits={})
    with pytest.raises(RateLimitError):
        await router.generate_video_async(CONFIG, REQUEST)
    assert account_row(router.snapshot().limits, "fake").paused_for_seconds > 3000
    with pytest.raises(RateLimitError) as caught:
        await router.generate_video_async(CONFIG, REQUEST)
    assert submit.call_count == 1  # the second call sent nothing
    error = caught.value
    assert error.status_code is None and error.retry_after is not None
    assert error.retry_after > 3000
    meta = error.execution_metadata
    assert meta is not None and meta.attempts[0].status == "skipped"
    assert "Retry-After" in (meta.attempts[0].skip_reason or "")


async def test_a_429_with_retry_after_on_an_unlimited_provider_learns_no_rate(
    respx_mock: respx.MockRouter,
) -> None:
    """A provider with no known rate that says when to come back is taken at its word:
    a Retry-After of 0 holds nothing back."""
    respx_mock.post(f"{BASE}/jobs").respond(429, headers={"Retry-After": "0"}, json={})
    router = Router(limits={})
    with pytest.raises(RateLimitError):
        await router.generate_video_async(CONFIG, REQUEST)
    state = account_row(router.snapshot().limits, "fake")
    assert state.effective_creates_per_minute is None
    assert state.paused_for_seconds == 0


FAL_BASE = "https://queue.fal.test"
FAL_CONFIG = VideoGenerationConfig(
    provider="fal",
    model="fal-ai/veo3",
    api_key="fal-id:fal-secret-canary-4242",
    base_url=FAL_BASE,
    poll_interval=0.001,
)


async def test_a_fal_429_lowers_fals_concurrency_not_its_rate(
    respx_mock: respx.MockRouter,
) -> None:
    """fal limits jobs at once, never creates per minute: its 429 is a concurrency
    refusal, so the router caps fal below what ran and leaves its rate alone."""
    respx_mock.post(f"{FAL_BASE}/fal-ai/veo3").respond(
        429, headers={"Retry-After": "0"}, json={"detail": "Too many concurrent requests"}
    )
    router = Router(limits={})
    with pytest.raises(RateLimitError) as caught:
        await router.generate_video_async(FAL_CONFIG, REQUEST)
    assert caught.value.over_concurrency is True
    state = account_row(router.snapshot().limits, "fal")
    assert state.effective_max_concurrent == 1
    assert state.effective_creates_per_minute is None
    assert state.in_flight == 0


RUNWAY_BASE = "https://runway.test"  # not Runway's own host: no 5 s poll floor
RUNWAY_CONFIG = VideoGenerationConfig(
    provider="runway",
    model="gen4.5",
    api_key="runway-secret-canary-4242",
    base_url=RUNWAY_BASE,
    poll_interval=0.001,
)


def runway_task(status: str, **more: object) -> dict[str, object]:
    return {"id": "task-1", "status": status, **more}


async def test_a_throttled_runway_task_lowers_the_cap_once_while_it_holds_its_slot(
    respx_mock: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    """THROTTLED (polled twice) is one signal: Runway's cap is lowered below what ran, the
    job its slot still held, and the job goes on to succeed."""
    respx_mock.post(f"{RUNWAY_BASE}/v1/text_to_video").respond(200, json={"id": "task-1"})
    respx_mock.get(f"{RUNWAY_BASE}/v1/tasks/task-1").mock(
        side_effect=[
            httpx.Response(200, json=runway_task("THROTTLED")),
            httpx.Response(200, json=runway_task("THROTTLED")),
            httpx.Response(200, json=runway_task("RUNNING", progress=0.5)),
            httpx.Response(200, json=runway_task("SUCCEEDED", output=["https://x/v.mp4"])),
        ]
    )
    router = Router(limits={"runway": ProviderLimit(max_concurrent=4)})
    with caplog.at_level(logging.INFO, logger="tarash"):
        response = await router.generate_video_async(RUNWAY_CONFIG, REQUEST)
    assert response.video == "https://x/v.mp4"
    state = account_row(router.snapshot().limits, "runway")
    assert state.effective_max_concurrent == 1 and state.max_concurrent == 4
    assert state.effective_creates_per_minute is None and state.in_flight == 0
    slowed = [r for r in caplog.records if r.name == "tarash.limits"]
    held = [r for r in caplog.records if r.name == "tarash.jobs" and "holds job" in r.message]
    assert len(slowed) == 1 and len(held) == 1
    assert held[0].job_id == "task-1"  # type: ignore[attr-defined]


async def test_a_resumed_throttled_job_teaches_nothing(respx_mock: respx.MockRouter) -> None:
    """A resumed job holds no slot: its THROTTLED would lower the cap below the jobs this
    process runs, so it is not told to the limiter."""
    respx_mock.post(f"{RUNWAY_BASE}/v1/text_to_video").respond(200, json={"id": "task-1"})
    respx_mock.get(f"{RUNWAY_BASE}/v1/tasks/task-1").mock(
        side_effect=[
            httpx.Response(200, json=runway_task("THROTTLED")),
            httpx.Response(200, json=runway_task("SUCCEEDED", output=["https://x/v.mp4"])),
        ]
    )
    router = Router(limits={})
    handle = await router.submit_video_async(RUNWAY_CONFIG, REQUEST)
    await router.wait_async(handle, config=RUNWAY_CONFIG, poll_interval=0.001)
    assert account_row(router.snapshot().limits, "runway").effective_max_concurrent is None


def test_limits_must_be_a_mapping() -> None:
    """A Router refuses limits that are not a mapping, naming the argument."""
    from tarash.tarash_gateway.errors import ValidationError

    with pytest.raises(ValidationError, match="limits"):
        Router(limits=[ProviderLimit(max_concurrent=1)])  # type: ignore[arg-type]
