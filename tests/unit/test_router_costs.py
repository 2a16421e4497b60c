"""What the router's attempts are estimated to cost where no submit returned a handle:
a job resumed from its handle, and a job a cancelled submit created and cancelled."""

from __future__ import annotations

from typing import Any

import anyio
import httpx
import pytest
import respx

from tarash.tarash_gateway.models import (
    AttemptMetadata,
    VideoGenerationConfig,
    VideoGenerationRequest,
)
from tarash.tarash_gateway.router import Router
from tarash.tarash_gateway.routing._attempt import AttemptHooks, JobAbandoned
from tarash.tarash_gateway.routing._prices import Price
from tests.unit.fake_provider import BASE, FAKE_KEY

pytestmark = pytest.mark.anyio

REQUEST = VideoGenerationRequest(prompt="a cat", duration_seconds=4)


def config(**kwargs: Any) -> VideoGenerationConfig:
    return VideoGenerationConfig(
        provider="fake", model="t2v", api_key=FAKE_KEY, base_url=BASE, poll_interval=0.001, **kwargs
    )


async def test_a_resumed_job_is_estimated_from_its_handles_request_summary(
    respx_mock: respx.MockRouter,
) -> None:
    """A rerun resumes a job by its handle: the attempt costs what the price table says
    for the summarised request (4 s at $0.5/s), and the router's spend counts it."""
    respx_mock.post(f"{BASE}/jobs").respond(200, json={"id": "j1", "status": "queued"})
    respx_mock.get(f"{BASE}/jobs/j1").respond(200, json={"status": "done", "url": "https://v"})
    prices = {"fake/t2v": Price(per_second=0.5)}
    handle = await Router(prices=prices).submit_video_async(config(), REQUEST)
    assert handle.request_summary.get("duration_seconds") == 4

    rerun = Router(prices=prices)  # another process: nothing known but the handle
    response = await rerun.resume_async(handle, config=config())
    assert response.execution_metadata is not None
    (attempt,) = response.execution_metadata.attempts
    assert attempt.status == "success"
    assert attempt.estimated_cost == pytest.approx(2.0)


async def test_a_resumed_job_without_a_price_has_no_estimate(
    respx_mock: respx.MockRouter,
) -> None:
    """No price row for the model: the estimate stays unknown (None), never a made-up 0."""
    respx_mock.post(f"{BASE}/jobs").respond(200, json={"id": "j1", "status": "queued"})
    respx_mock.get(f"{BASE}/jobs/j1").respond(200, json={"status": "done", "url": "https://v"})
    handle = await Router().submit_video_async(config(), REQUEST)
    response = await Router().resume_async(handle, config=config())
    assert response.execution_metadata is not None
    assert response.execution_metadata.attempts[0].estimated_cost is None


async def _cancelled_mid_submit(
    respx_mock: respx.MockRouter, price: Price, *, cancel_status: int = 200
) -> tuple[list[AttemptMetadata], list[JobAbandoned], Router]:
    """Run one request whose caller is cancelled while its submit is on the wire; the
    provider creates the job anyway, and the submit's clean-up cancels it remotely."""
    scope = anyio.CancelScope()

    def create(request: httpx.Request) -> httpx.Response:
        scope.cancel()  # the caller gives up while the reply is on its way
        return httpx.Response(200, json={"id": "j1", "status": "queued"})

    respx_mock.post(f"{BASE}/jobs").mock(side_effect=create)
    cancel = respx_mock.post(f"{BASE}/jobs/j1/cancel").respond(cancel_status, json={})
    ended: list[AttemptMetadata] = []
    abandoned: list[JobAbandoned] = []
    router = Router(prices={"fake/t2v": price})
    hooks = AttemptHooks(on_attempt_end=ended.append, on_abandoned=abandoned.append)
    with scope:
        await router.run_async(config(), REQUEST, hooks=hooks)
    assert scope.cancelled_caught
    assert cancel.called
    return ended, abandoned, router


async def test_a_job_cancelled_during_its_submit_costs_what_a_cancel_is_billed(
    respx_mock: respx.MockRouter,
) -> None:
    """The job exists and was cancelled by submit_to_completion's clean-up: a provider
    that bills cancelled work (``cancelled="full"``) is counted the job's estimate."""
    ended, abandoned, router = await _cancelled_mid_submit(
        respx_mock, Price(per_second=0.5, cancelled="full")
    )
    assert [event.cancelled for event in abandoned] == [True]
    (attempt,) = ended
    assert attempt.status == "cancelled"
    assert attempt.request_id == "j1"
    assert attempt.estimated_cost == pytest.approx(2.0)
    assert router.spend.spent == pytest.approx(2.0)


async def test_a_job_cancelled_during_its_submit_where_a_cancel_is_free_costs_nothing(
    respx_mock: respx.MockRouter,
) -> None:
    """``cancelled="nothing"``: the price table's cancelled cost, 0, not the estimate."""
    ended, _, router = await _cancelled_mid_submit(
        respx_mock, Price(per_second=0.5, cancelled="nothing")
    )
    assert ended[0].estimated_cost == 0.0
    assert router.spend.spent == 0.0


async def test_a_job_whose_cancel_failed_during_its_submit_costs_its_estimate(
    respx_mock: respx.MockRouter,
) -> None:
    """The remote cancel was refused: the job runs on and is billed in full, even where
    a cancel would have been free."""
    ended, abandoned, _ = await _cancelled_mid_submit(
        respx_mock, Price(per_second=0.5, cancelled="nothing"), cancel_status=404
    )
    assert [event.cancelled for event in abandoned] == [False]
    assert ended[0].estimated_cost == pytest.approx(2.0)
