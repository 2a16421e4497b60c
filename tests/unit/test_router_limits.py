"""The router's limits as the staged attempt uses them: 429s teach the provider's limiter."""

from __future__ import annotations

import pytest
import respx

from tarash.tarash_gateway._limits import ProviderLimit
from tarash.tarash_gateway.errors import RateLimitError
from tarash.tarash_gateway.models import VideoGenerationConfig, VideoGenerationRequest
from tarash.tarash_gateway.router import Router
from tests.unit.fake_provider import BASE, FAKE_KEY

pytestmark = pytest.mark.anyio

CONFIG = VideoGenerationConfig(
    provider="fake", model="t2v", api_key=FAKE_KEY, base_url=BASE, poll_interval=0.001
)
REQUEST = VideoGenerationRequest(prompt="a cat", duration_seconds=4)


def throttled(mock: respx.MockRouter) -> None:
    mock.post(f"{BASE}/jobs").respond(429, headers={"Retry-After": "3600"}, json={"message": "x"})


async def test_a_429_pauses_a_limited_provider_for_every_call(
    respx_mock: respx.MockRouter,
) -> None:
    """A 429 with Retry-After on a limited provider pauses its creates; the slot is freed."""
    throttled(respx_mock)
    router = Router(limits={"fake": ProviderLimit(max_concurrent=4)})
    with pytest.raises(RateLimitError) as caught:
        await router.generate_video_async(CONFIG, REQUEST)
    state = router.snapshot().limits["fake"]
    assert state.paused_for_seconds > 3000 and state.in_flight == 0
    meta = caught.value.execution_metadata
    assert meta is not None and meta.attempts[0].status == "failed"


async def test_an_unlimited_provider_does_not_learn(respx_mock: respx.MockRouter) -> None:
    """Without a limit for the provider a 429 fails that call only, as it always did."""
    throttled(respx_mock)
    router = Router()
    with pytest.raises(RateLimitError):
        await router.generate_video_async(CONFIG, REQUEST)
    assert all(state.paused_for_seconds == 0 for state in router.snapshot().limits.values())


def test_limits_must_be_a_mapping() -> None:
    """A Router refuses limits that are not a mapping, naming the argument."""
    from tarash.tarash_gateway.errors import ValidationError

    with pytest.raises(ValidationError, match="limits"):
        Router(limits=[ProviderLimit(max_concurrent=1)])  # type: ignore[arg-type]
