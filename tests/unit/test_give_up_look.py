"""Look before giving up (issue 15, "Paid twice" 1 and 2), on trio's virtual clock.

A job that finishes between the last poll and the give-up (the deadline, a caller's
cancel, a lost race) is read once more first: a finished job is never cancelled (nor,
where the provider's cancel deletes, destroyed), and at a deadline its result is
returned (or its failure raised) instead of a TimeoutError that buys a second job.
"""

from __future__ import annotations

from typing import Any

import anyio
import httpx
import pytest
import respx
import trio.testing
from pydantic import SecretStr

from tarash.tarash_gateway.api import cancel_async
from tarash.tarash_gateway.errors import GenerationFailedError, TimeoutError
from tarash.tarash_gateway.models import (
    AttemptMetadata,
    JobHandle,
    VideoGenerationConfig,
    VideoGenerationRequest,
)
from tarash.tarash_gateway.providers._base import ProviderSettings
from tarash.tarash_gateway.providers.runway import RunwayClient
from tarash.tarash_gateway.router import HedgePolicy, Router
from tarash.tarash_gateway.routing._attempt import AttemptHooks
from tarash.tarash_gateway.routing._jobs import LOOK_GRACE_SECONDS, look_then_cancel
from tests.unit.fake_provider import BASE, FAKE_KEY, FakeClient

pytestmark = pytest.mark.anyio

OTHER = "https://other.test"
REQUEST = VideoGenerationRequest(prompt="a cat", duration_seconds=4)
TIMEOUT = 30.0
RUNWAY = "https://runway.test"
RUNWAY_KEY = "key_" + "a" * 128


@pytest.fixture
def anyio_backend() -> tuple[str, dict[str, Any]]:
    """Trio with an autojumping clock: every wait passes in virtual time at once."""
    return ("trio", {"clock": trio.testing.MockClock(autojump_threshold=0)})


def config(base: str = BASE, **kwargs: Any) -> VideoGenerationConfig:
    return VideoGenerationConfig(
        provider="fake", model="t2v", api_key=FAKE_KEY, base_url=base, poll_interval=5.0, **kwargs
    )


def job_ending_at(
    mock: respx.MockRouter, ends_at: float, last: dict[str, Any], base: str = BASE
) -> dict[str, respx.Route]:
    """A job running until virtual time ``ends_at``, ``last`` from then on: every poll
    made before it sees it running, so only a status read after it sees it over."""

    def status(request: httpx.Request) -> httpx.Response:
        if anyio.current_time() < ends_at:
            return httpx.Response(200, json={"status": "running"})
        return httpx.Response(200, json=last)

    return {
        "submit": mock.post(f"{base}/jobs").respond(200, json={"id": "j1", "status": "queued"}),
        "status": mock.get(f"{base}/jobs/j1").mock(side_effect=status),
        "cancel": mock.post(f"{base}/jobs/j1/cancel").respond(200, json={}),
    }


DONE = {"status": "done", "url": "https://cdn.test/v.mp4"}


async def test_a_job_finishing_after_the_last_poll_is_read_at_the_deadline() -> None:
    """The job ends in the last poll interval before the deadline: its result is returned,
    no cancel lands on it, and no fallback buys a second job."""
    with respx.mock(assert_all_called=False) as mock:
        routes = job_ending_at(mock, anyio.current_time() + TIMEOUT - 0.01, DONE)
        other = mock.post(f"{OTHER}/jobs").respond(200, json={"id": "x", "status": "queued"})
        response = await Router().run_async(
            config(timeout=TIMEOUT, fallback_configs=[config(OTHER)]), REQUEST
        )
    assert response.request_id == "j1"
    assert response.video == "https://cdn.test/v.mp4"
    assert routes["cancel"].call_count == 0
    assert other.call_count == 0
    assert response.execution_metadata is not None
    assert [a.status for a in response.execution_metadata.attempts] == ["success"]


async def test_a_job_found_failed_at_the_deadline_raises_its_own_failure() -> None:
    """Found failed by the last look: the job's failure, not a TimeoutError; no cancel."""
    with respx.mock(assert_all_called=False) as mock:
        routes = job_ending_at(
            mock, anyio.current_time() + TIMEOUT - 0.01, {"status": "failed", "error": "boom"}
        )
        with pytest.raises(GenerationFailedError, match="boom"):
            await Router().run_async(config(timeout=TIMEOUT), REQUEST)
    assert routes["cancel"].call_count == 0


async def test_a_job_still_running_at_the_deadline_is_cancelled() -> None:
    """The look finds it running: it is cancelled and the deadline is the error."""
    with respx.mock(assert_all_called=False) as mock:
        routes = job_ending_at(mock, anyio.current_time() + 10 * TIMEOUT, DONE)
        with pytest.raises(TimeoutError):
            await Router().run_async(config(timeout=TIMEOUT), REQUEST)
    assert routes["cancel"].call_count == 1


async def test_a_caller_cancel_leaves_a_finished_job_alone_and_records_it_finished() -> None:
    """The caller gives up just after the job finished: the look sees it done, nothing is
    cancelled, and the attempt is recorded a success (billed in full), not cancelled."""
    ended: list[AttemptMetadata] = []
    with respx.mock(assert_all_called=False) as mock:
        give_up_at = anyio.current_time() + TIMEOUT
        routes = job_ending_at(mock, give_up_at - 0.01, DONE)
        with anyio.move_on_after(TIMEOUT) as scope:
            await Router().run_async(
                config(), REQUEST, hooks=AttemptHooks(on_attempt_end=ended.append)
            )
    assert scope.cancelled_caught
    assert routes["cancel"].call_count == 0
    assert [meta.status for meta in ended] == ["success"]


async def test_a_caller_cancel_still_cancels_a_running_job() -> None:
    ended: list[AttemptMetadata] = []
    with respx.mock(assert_all_called=False) as mock:
        routes = job_ending_at(mock, anyio.current_time() + 10 * TIMEOUT, DONE)
        with anyio.move_on_after(TIMEOUT):
            await Router().run_async(
                config(), REQUEST, hooks=AttemptHooks(on_attempt_end=ended.append)
            )
    assert routes["cancel"].call_count == 1
    assert [meta.status for meta in ended] == ["cancelled"]


async def test_a_hedge_loser_that_succeeded_is_not_cancelled_and_is_recorded_a_success() -> None:
    """The primary finishes after its last poll, just as the hedge wins: the race's
    give-up looks first, sends no cancel, and records the loser a success (billed)."""
    won = {"at": None}

    def loser_status(request: httpx.Request) -> httpx.Response:
        # Over only once the hedge has won: no poll of its own can have seen it done.
        if won["at"] is None:
            return httpx.Response(200, json={"status": "running"})
        return httpx.Response(200, json=DONE)

    def winner_status(request: httpx.Request) -> httpx.Response:
        won["at"] = anyio.current_time()
        return httpx.Response(200, json={"status": "done", "url": "https://cdn.test/w.mp4"})

    with respx.mock(assert_all_called=False) as mock:
        mock.post(f"{BASE}/jobs").respond(200, json={"id": "j1", "status": "queued"})
        mock.get(f"{BASE}/jobs/j1").mock(side_effect=loser_status)
        loser_cancel = mock.post(f"{BASE}/jobs/j1/cancel").respond(200, json={})
        mock.post(f"{OTHER}/jobs").respond(200, json={"id": "w1", "status": "queued"})
        mock.get(f"{OTHER}/jobs/w1").mock(side_effect=winner_status)
        router = Router(strategy="hedge", hedge=HedgePolicy(after=1.0))
        response = await router.generate_video_async(
            config(fallback_configs=[config(OTHER)]), REQUEST
        )
    assert response.request_id == "w1"
    assert loser_cancel.call_count == 0
    assert response.execution_metadata is not None
    assert response.execution_metadata.successful_attempt == 2
    assert [a.status for a in response.execution_metadata.attempts] == ["success", "success"]


def runway_handle() -> JobHandle:
    return JobHandle.model_validate(
        {
            "kind": "video",
            "provider": "runway",
            "model": "gen4_turbo",
            "request_id": "t1",
            "base_url": RUNWAY,
            "submitted_at": "2026-12-01T00:00:00+00:00",
        }
    )


def runway_client() -> RunwayClient:
    return RunwayClient(
        ProviderSettings(model="gen4_turbo", base_url=RUNWAY, api_key=SecretStr(RUNWAY_KEY))
    )


def test_only_a_cancel_that_deletes_says_so() -> None:
    """The capability is the client's, not a name test: Runway's DELETE deletes a finished
    task; the toy provider's cancel is harmless."""
    assert RunwayClient.cancel_deletes_finished
    assert not FakeClient.cancel_deletes_finished


@pytest.mark.parametrize("status", ["SUCCEEDED", "FAILED"])
async def test_a_destructive_cancel_is_never_sent_to_a_finished_task(status: str) -> None:
    with respx.mock(assert_all_called=False) as mock:
        mock.get(f"{RUNWAY}/v1/tasks/t1").respond(
            200, json={"id": "t1", "status": status, "output": ["https://cdn.test/o.mp4"]}
        )
        delete = mock.delete(f"{RUNWAY}/v1/tasks/t1").respond(204)
        outcome = await look_then_cancel(runway_client(), runway_handle())
    assert outcome.finished is not None and not outcome.accepted
    assert delete.call_count == 0


async def test_a_destructive_cancel_is_not_sent_blind() -> None:
    """The status cannot be read: the task may have finished, so it is not deleted (it may
    run on; its handle still reads it)."""
    with respx.mock(assert_all_called=False) as mock:
        mock.get(f"{RUNWAY}/v1/tasks/t1").respond(401, json={"error": "bad key"})
        delete = mock.delete(f"{RUNWAY}/v1/tasks/t1").respond(204)
        outcome = await look_then_cancel(runway_client(), runway_handle())
    assert delete.call_count == 0
    assert not outcome.stopped and not outcome.accepted


async def test_a_running_task_is_still_cancelled_by_its_delete() -> None:
    with respx.mock(assert_all_called=True) as mock:
        mock.get(f"{RUNWAY}/v1/tasks/t1").respond(200, json={"id": "t1", "status": "RUNNING"})
        delete = mock.delete(f"{RUNWAY}/v1/tasks/t1").respond(204)
        outcome = await look_then_cancel(runway_client(), runway_handle())
    assert outcome.finished is None and outcome.accepted
    assert delete.call_count == 1


async def test_a_look_that_hangs_leaves_the_cancel_its_time() -> None:
    """The status read before the cancel hangs (a stalled server): it is cut at half the
    grace, and the cancel is still sent within the grace, so the job is not orphaned."""

    looks: list[float] = []

    async def stalled(request: httpx.Request) -> httpx.Response:
        looks.append(anyio.current_time())
        await anyio.sleep(3600)
        raise AssertionError("the look was not cut short")

    with respx.mock(assert_all_called=False) as mock:
        mock.get(f"{BASE}/jobs/j1").mock(side_effect=stalled)
        cancel = mock.post(f"{BASE}/jobs/j1/cancel").respond(200, json={})
        client = FakeClient(
            ProviderSettings(model="t2v", base_url=BASE, api_key=SecretStr(FAKE_KEY))
        )
        started = anyio.current_time()
        outcome = await look_then_cancel(client, client.new_handle("video", "j1"))
    assert looks and cancel.call_count == 1 and outcome.accepted
    assert anyio.current_time() - started == pytest.approx(LOOK_GRACE_SECONDS)


@pytest.mark.parametrize(("status", "deletes"), [("SUCCEEDED", 0), ("RUNNING", 1)])
async def test_the_public_cancel_reads_a_runway_task_before_deleting_it(
    status: str, deletes: int
) -> None:
    """``cancel(handle)`` never deletes a finished Runway task (False); a running one is
    cancelled as before."""
    with respx.mock(assert_all_called=False) as mock:
        mock.get(f"{RUNWAY}/v1/tasks/t1").respond(200, json={"id": "t1", "status": status})
        delete = mock.delete(f"{RUNWAY}/v1/tasks/t1").respond(204)
        trusted = VideoGenerationConfig(
            provider="runway", model="gen4_turbo", api_key=RUNWAY_KEY, base_url=RUNWAY
        )
        accepted = await cancel_async(runway_handle(), config=trusted)
    assert accepted is bool(deletes)
    assert delete.call_count == deletes
