"""The spend cap counts a job that may exist at its full estimate until proven otherwise:
a create whose reply was lost, and a job given up on that was not stopped."""

from __future__ import annotations

from typing import Any

import pytest
import respx

from tarash.tarash_gateway.errors import SpendCapExceededError
from tarash.tarash_gateway.models import VideoGenerationConfig, VideoGenerationRequest
from tarash.tarash_gateway.router import HedgePolicy, Router
from tarash.tarash_gateway.routing._prices import Price
from tests.unit.fake_provider import BASE, FAKE_KEY

pytestmark = pytest.mark.anyio

REQUEST = VideoGenerationRequest(prompt="a cat", duration_seconds=4)
OTHER = "https://other.test"


def config(base: str = BASE, **kwargs: Any) -> VideoGenerationConfig:
    return VideoGenerationConfig(
        provider="fake", model="t2v", api_key=FAKE_KEY, base_url=base, poll_interval=0.001, **kwargs
    )


@pytest.fixture
def lost_create(respx_mock: respx.MockRouter) -> respx.Route:
    """The primary's create reached the provider, whose reply was lost (a 502)."""
    return respx_mock.post(f"{BASE}/jobs").respond(502, json={"message": "bad gateway"})


async def test_a_create_whose_reply_was_lost_counts_in_full_against_the_cap(
    respx_mock: respx.MockRouter, lost_create: respx.Route
) -> None:
    """The job may exist (and be billed): its $8 stays spent, so an $8 fallback no longer
    fits under an $8 cap, where it used to make $16 of jobs."""
    fallback = respx_mock.post(f"{OTHER}/jobs").respond(200, json={"id": "j2"})
    chain = config(max_retries=0, fallback_configs=[config(OTHER)])
    router = Router(prices={"fake/t2v": Price(per_second=2.0)}, spend_cap=8.0)
    with pytest.raises(SpendCapExceededError) as caught:
        await router.generate_video_async(chain, REQUEST)
    assert not fallback.called
    assert router.spend.spent == pytest.approx(8.0)
    meta = caught.value.execution_metadata
    assert meta is not None
    first, second = meta.attempts
    assert first.job_may_exist and first.estimated_cost == pytest.approx(8.0)
    assert second.status == "skipped"


async def test_a_create_refused_before_any_job_was_made_costs_nothing(
    respx_mock: respx.MockRouter,
) -> None:
    """A 503 turns the create away (no job): settled at 0, the fallback runs under the cap."""
    respx_mock.post(f"{BASE}/jobs").respond(503, json={"message": "unavailable"})
    respx_mock.post(f"{OTHER}/jobs").respond(200, json={"id": "j2"})
    respx_mock.get(f"{OTHER}/jobs/j2").respond(200, json={"status": "done", "url": "u"})
    chain = config(max_retries=0, fallback_configs=[config(OTHER)])
    router = Router(prices={"fake/t2v": Price(per_second=2.0)}, spend_cap=8.0)
    response = await router.generate_video_async(chain, REQUEST)
    assert response.execution_metadata is not None
    assert [a.estimated_cost for a in response.execution_metadata.attempts] == [0.0, 8.0]
    assert router.spend.spent == pytest.approx(8.0)


def _race(respx_mock: respx.MockRouter, *, cancel: int) -> tuple[respx.Route, Router]:
    """A race whose primary runs until cancelled (its cancel answers ``cancel``) and whose
    hedge, started at once, wins."""
    respx_mock.post(f"{BASE}/jobs").respond(200, json={"id": "slow"})
    respx_mock.get(f"{BASE}/jobs/slow").respond(200, json={"status": "running"})
    slow_cancel = respx_mock.post(f"{BASE}/jobs/slow/cancel").respond(cancel, json={})
    respx_mock.post(f"{OTHER}/jobs").respond(200, json={"id": "fast"})
    respx_mock.get(f"{OTHER}/jobs/fast").respond(200, json={"status": "done", "url": "u"})
    router = Router(
        strategy="hedge",
        hedge=HedgePolicy(after=0.0, max_parallel=2),
        # Where a cancel is free, a loser the cancel did stop costs nothing.
        prices={"fake/t2v": Price(per_second=1.0, cancelled="nothing")},
    )
    return slow_cancel, router


async def test_a_hedge_loser_whose_cancel_failed_is_counted_in_full(
    respx_mock: respx.MockRouter,
) -> None:
    """The loser's cancel was refused: it runs on and is billed, $4 besides the winner's."""
    slow_cancel, router = _race(respx_mock, cancel=404)
    response = await router.generate_video_async(config(fallback_configs=[config(OTHER)]), REQUEST)
    assert slow_cancel.called
    assert response.execution_metadata is not None
    loser, _winner = response.execution_metadata.attempts
    assert loser.status == "cancelled" and loser.estimated_cost == pytest.approx(4.0)
    assert router.spend.spent == pytest.approx(8.0)


async def test_a_hedge_loser_stopped_in_time_costs_its_cancel_price(
    respx_mock: respx.MockRouter,
) -> None:
    """The loser's cancel was accepted: it costs what a cancel costs there (nothing)."""
    _slow, router = _race(respx_mock, cancel=200)
    response = await router.generate_video_async(config(fallback_configs=[config(OTHER)]), REQUEST)
    assert response.execution_metadata is not None
    loser, _ = response.execution_metadata.attempts
    assert loser.estimated_cost == 0.0
    assert router.spend.spent == pytest.approx(4.0)
