"""A hedged race never starts a provider with no cancel call as a hedge unless the
user opts in: a lost racer there cannot be stopped and is billed (trio's virtual clock)."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest
import respx
import trio.testing

from tarash.tarash_gateway.models import JobHandle, VideoGenerationConfig, VideoGenerationRequest
from tarash.tarash_gateway.providers import register_provider
from tarash.tarash_gateway.router import HedgePolicy, Router
from tests.unit.fake_provider import FAKE_KEY, FakeClient
from tests.unit.test_router_hedge import FAST, SLOW, job

pytestmark = pytest.mark.anyio

REQUEST = VideoGenerationRequest(prompt="a cat", duration_seconds=4)


class UncancellableClient(FakeClient):
    """The toy provider without a cancel call (as OpenRouter's, OpenAI's videos)."""

    name = "fake_uncancellable"
    supports_cancel: ClassVar[bool] = False

    async def cancel(self, handle: JobHandle) -> bool:
        return False


register_provider("fake_uncancellable", UncancellableClient)


@pytest.fixture
def anyio_backend() -> tuple[str, dict[str, Any]]:
    """Trio with an autojumping clock: every wait passes in virtual time at once."""
    return ("trio", {"clock": trio.testing.MockClock(autojump_threshold=0)})


def chain(**kwargs: Any) -> VideoGenerationConfig:
    """A slow primary on the toy provider, then the uncancellable one (no price row)."""
    common: dict[str, Any] = {
        "model": "t2v",
        "api_key": FAKE_KEY,
        "poll_interval": 1.0,
        **kwargs,
    }
    return VideoGenerationConfig(
        provider="fake",
        base_url=SLOW,
        fallback_configs=[
            VideoGenerationConfig(provider="fake_uncancellable", base_url=FAST, **common)
        ],
        **common,
    )


async def test_no_hedge_onto_an_uncancellable_provider_without_a_price_row(
    respx_mock: respx.MockRouter,
) -> None:
    """No price row says it bills cancelled jobs, yet it cannot cancel: it runs only as
    the fallback once the primary has given up."""
    job(respx_mock, SLOW, "s1", polls_until_done=None)
    fast = job(respx_mock, FAST, "f1", polls_until_done=1)
    router = Router(strategy="hedge", hedge=HedgePolicy(after=1.0))
    response = await router.generate_video_async(chain(timeout=20), REQUEST)
    meta = response.execution_metadata
    assert [(a.role, a.status) for a in meta.attempts] == [
        ("primary", "cancelled"),
        ("fallback", "success"),
    ]
    assert fast["submit"].call_count == 1 and fast["cancel"].call_count == 0


async def test_opting_in_hedges_onto_an_uncancellable_provider(
    respx_mock: respx.MockRouter,
) -> None:
    """``refuse_billed_cancel=False`` is the explicit opt-in: the hedge starts after the
    delay and wins while the primary is still running."""
    slow = job(respx_mock, SLOW, "s1", polls_until_done=None)
    job(respx_mock, FAST, "f1", polls_until_done=1)
    router = Router(strategy="hedge", hedge=HedgePolicy(after=1.0, refuse_billed_cancel=False))
    response = await router.generate_video_async(chain(timeout=20), REQUEST)
    meta = response.execution_metadata
    assert [(a.role, a.status) for a in meta.attempts] == [
        ("primary", "cancelled"),
        ("hedge", "success"),
    ]
    assert slow["cancel"].call_count == 1
