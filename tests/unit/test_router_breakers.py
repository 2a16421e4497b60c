"""Breakers in the chain: a lone config whose breaker is open fails fast, sending nothing."""

from __future__ import annotations

import pytest
import respx

from tarash.tarash_gateway.errors import CircuitOpenError, ProviderServerError, ValidationError
from tarash.tarash_gateway.models import VideoGenerationConfig, VideoGenerationRequest
from tarash.tarash_gateway.router import Router
from tarash.tarash_gateway.routing._breaker import BreakerBoard, BreakerPolicy
from tests.unit.fake_provider import BASE, FAKE_KEY

pytestmark = pytest.mark.anyio

CONFIG = VideoGenerationConfig(
    provider="fake", model="t2v", api_key=FAKE_KEY, base_url=BASE, max_retries=0
)
REQUEST = VideoGenerationRequest(prompt="a cat", duration_seconds=4)


async def test_the_last_config_with_an_open_breaker_raises_circuit_open(
    respx_mock: respx.MockRouter,
) -> None:
    """After the breaker opens, the call raises CircuitOpenError and submits nothing."""
    submit = respx_mock.post(f"{BASE}/jobs").respond(500, json={"message": "down"})
    router = Router(breakers=BreakerBoard(BreakerPolicy(failures=1), clock=lambda: 0.0))
    with pytest.raises(ProviderServerError):
        await router.generate_video_async(CONFIG, REQUEST)
    with pytest.raises(CircuitOpenError) as caught:
        await router.generate_video_async(CONFIG, REQUEST)
    assert submit.call_count == 1
    meta = caught.value.execution_metadata
    assert meta is not None and meta.attempts[0].status == "skipped"
    assert meta.attempts[0].skip_reason is not None


async def test_bad_input_does_not_open_a_breaker(respx_mock: respx.MockRouter) -> None:
    """A refused request (nothing sent) says nothing of the provider's health."""
    router = Router(breakers=BreakerPolicy(failures=1))
    bad = CONFIG.model_copy(update={"model": "i2v"})  # needs an image: refused before sending
    for _ in range(2):
        with pytest.raises(ValidationError):
            await router.generate_video_async(bad, REQUEST)
    assert router.snapshot().open_breakers == []


def test_breakers_must_be_a_policy() -> None:
    """A Router refuses breakers that are not a BreakerPolicy, naming the argument."""
    with pytest.raises(ValidationError, match="breakers"):
        Router(breakers=5)  # type: ignore[arg-type]
