"""A create answered 429 with Retry-After holds the provider's other creates from the
moment it is seen, while it waits out the pause to retry, not only once its retry is
accepted."""

from __future__ import annotations

import json

import anyio
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
# Shorter than A's 30 s Retry-After: B's wait for the pause could only end in a timeout.
B_CONFIG = CONFIG.model_copy(update={"timeout": 5.0})


class Provider:
    """The fake provider's create: A's first try is answered 429 (Retry-After: 30); its
    retry is held until the test lets it through, which is A waiting out the pause."""

    def __init__(self, retry_after: str = "30", status: int = 429) -> None:
        self.retry_after = retry_after
        self.status = status
        self.seen: list[str] = []
        self.a_retrying = anyio.Event()
        self.release_a = anyio.Event()

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        prompt = json.loads(request.content)["prompt"]
        self.seen.append(prompt)
        if prompt == "a" and self.seen.count("a") == 1:
            return httpx.Response(
                self.status, headers={"Retry-After": self.retry_after}, json={"message": "slow"}
            )
        if prompt == "a":
            self.a_retrying.set()
            await self.release_a.wait()
        return httpx.Response(200, json={"id": f"job-{prompt}", "status": "queued"})


@pytest.mark.parametrize(
    "limits",
    [
        {},
        {"fake": ProviderLimit(max_concurrent=8)},
        {"fake": ProviderLimit(creates_per_minute=600)},
    ],
    ids=["unlimited", "max-concurrent", "creates-per-minute"],
)
async def test_while_a_throttled_create_waits_another_create_sends_nothing(
    limits: dict[str, ProviderLimit], respx_mock: respx.MockRouter
) -> None:
    """Create A meets a 429 with Retry-After: 30 and waits to retry; create B, started
    meanwhile, does not hit the provider (the pause outlasts its 5 s deadline, so it
    fails at once with RateLimitError, nothing sent). A's retry then goes through."""
    provider = Provider()
    respx_mock.post(f"{BASE}/jobs").mock(side_effect=provider)
    router = Router(limits=limits)
    handles = []

    async def create_a() -> None:
        handles.append(await router.submit_video_async(CONFIG, VideoGenerationRequest(prompt="a")))

    async with anyio.create_task_group() as group:
        group.start_soon(create_a)
        await provider.a_retrying.wait()
        try:
            paused_for = account_row(router.snapshot().limits, "fake").paused_for_seconds
            with pytest.raises(RateLimitError) as caught:
                await router.submit_video_async(B_CONFIG, VideoGenerationRequest(prompt="b"))
        finally:
            # A's submit is shielded until answered: it must be let through either way.
            provider.release_a.set()
    assert provider.seen == ["a", "a"]
    assert 25 < paused_for <= 30
    assert handles[0].request_id == "job-a"
    error = caught.value
    assert error.status_code is None and "Retry-After" in error.message
    meta = error.execution_metadata
    assert meta is not None and meta.attempts[0].status == "skipped"
    assert meta.attempts[0].submit_count == 0


async def test_a_retried_429_halves_the_rate_once(respx_mock: respx.MockRouter) -> None:
    """The 429 is one signal, told when it is seen: the rate is halved once, not again
    when the retry is accepted."""
    provider = Provider(retry_after="2")
    provider.release_a.set()
    respx_mock.post(f"{BASE}/jobs").mock(side_effect=provider)
    router = Router(limits={"fake": ProviderLimit(creates_per_minute=60)})
    await router.submit_video_async(CONFIG, VideoGenerationRequest(prompt="a"))
    state = account_row(router.snapshot().limits, "fake")
    assert state.effective_creates_per_minute == pytest.approx(30, rel=0.01)
    assert 0 < state.paused_for_seconds <= 2


async def test_a_retried_503_pauses_nothing(respx_mock: respx.MockRouter) -> None:
    """A 503 with Retry-After is the server's trouble, not the account's throttle: the
    other creates are not held."""
    provider = Provider(status=503)
    provider.release_a.set()
    respx_mock.post(f"{BASE}/jobs").mock(side_effect=provider)
    router = Router(limits={})
    await router.submit_video_async(CONFIG, VideoGenerationRequest(prompt="a"))
    await router.submit_video_async(B_CONFIG, VideoGenerationRequest(prompt="b"))
    assert provider.seen == ["a", "a", "b"]
    limits = router.snapshot().limits
    assert account_row(limits, "fake").paused_for_seconds == 0
