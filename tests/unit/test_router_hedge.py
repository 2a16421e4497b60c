"""The hedged race on the toy provider, on trio's virtual clock (no real waiting)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
import respx
import trio.testing

from tarash.tarash_gateway.errors import (
    GenerationFailedError,
    ProviderServerError,
    ValidationError,
)
from tarash.tarash_gateway.models import VideoGenerationConfig, VideoGenerationRequest
from tarash.tarash_gateway.router import HedgePolicy, Router
from tarash.tarash_gateway.routing._limits import ProviderLimit, account_fingerprint
from tests.unit.fake_provider import FAKE_KEY

pytestmark = pytest.mark.anyio

SLOW = "https://slow.test"
FAST = "https://fast.test"
THIRD = "https://third.test"
REQUEST = VideoGenerationRequest(prompt="a cat", duration_seconds=4)


@pytest.fixture
def anyio_backend() -> tuple[str, dict[str, Any]]:
    """Trio with an autojumping clock: every wait passes in virtual time at once."""
    return ("trio", {"clock": trio.testing.MockClock(autojump_threshold=0)})


def config(base: str, **kwargs: Any) -> VideoGenerationConfig:
    return VideoGenerationConfig(
        provider="fake", model="t2v", api_key=FAKE_KEY, base_url=base, poll_interval=1.0, **kwargs
    )


def chain(*bases: str, **kwargs: Any) -> VideoGenerationConfig:
    first, *rest = bases
    return config(first, fallback_configs=[config(base, **kwargs) for base in rest], **kwargs)


def job(
    mock: respx.MockRouter, base: str, job_id: str, *, polls_until_done: int | None
) -> dict[str, respx.Route]:
    """A job that finishes after ``polls_until_done`` polls (never, with None)."""
    count = {"polls": 0}

    def poll(request: httpx.Request) -> httpx.Response:
        count["polls"] += 1
        if polls_until_done is not None and count["polls"] >= polls_until_done:
            return httpx.Response(200, json={"status": "done", "url": f"{base}/v.mp4"})
        return httpx.Response(200, json={"status": "running"})

    return {
        "submit": mock.post(f"{base}/jobs").respond(200, json={"id": job_id, "status": "queued"}),
        "poll": mock.get(f"{base}/jobs/{job_id}").mock(side_effect=poll),
        "cancel": mock.post(f"{base}/jobs/{job_id}/cancel").respond(200, json={}),
    }


async def test_a_slow_primary_is_hedged_and_cancelled_when_the_hedge_wins(
    respx_mock: respx.MockRouter,
) -> None:
    """After the delay the next config starts; it wins; the primary is cancelled remotely."""
    slow = job(respx_mock, SLOW, "s1", polls_until_done=None)
    fast = job(respx_mock, FAST, "f1", polls_until_done=1)
    router = Router(strategy="hedge", hedge=HedgePolicy(after=5.0))
    response = await router.generate_video_async(chain(SLOW, FAST), REQUEST)
    assert response.request_id == "f1"
    assert slow["cancel"].call_count == 1 and fast["cancel"].call_count == 0
    meta = response.execution_metadata
    assert meta.successful_attempt == 2 and meta.fallback_triggered
    primary, hedge = meta.attempts
    assert (primary.role, primary.status) == ("primary", "cancelled")
    assert (hedge.role, hedge.status) == ("hedge", "success")


async def test_a_fast_primary_starts_no_hedge(respx_mock: respx.MockRouter) -> None:
    """A primary finishing before the delay wins alone: nothing else is submitted."""
    job(respx_mock, SLOW, "s1", polls_until_done=1)
    other = respx_mock.post(f"{FAST}/jobs").respond(200, json={"id": "x", "status": "queued"})
    router = Router(strategy="hedge", hedge=HedgePolicy(after=30.0))
    response = await router.generate_video_async(chain(SLOW, FAST), REQUEST)
    meta = response.execution_metadata
    assert other.call_count == 0
    assert (meta.total_attempts, meta.successful_attempt, meta.fallback_triggered) == (1, 1, False)


async def test_the_primary_winning_cancels_the_hedge(respx_mock: respx.MockRouter) -> None:
    """A hedge that loses is cancelled and the primary's win is no fallback."""
    primary = job(respx_mock, SLOW, "s1", polls_until_done=4)
    hedge = job(respx_mock, FAST, "f1", polls_until_done=None)
    # The 4th poll comes after 0.73 s at the soonest (the schedule's jitter is +/- 20%).
    router = Router(strategy="hedge", hedge=HedgePolicy(after=0.5))
    response = await router.generate_video_async(chain(SLOW, FAST), REQUEST)
    assert response.request_id == "s1"
    assert hedge["cancel"].call_count == 1 and primary["cancel"].call_count == 0
    meta = response.execution_metadata
    assert meta.successful_attempt == 1 and not meta.fallback_triggered
    assert [a.status for a in meta.attempts] == ["success", "cancelled"]


async def test_max_parallel_bounds_the_attempts_in_flight(respx_mock: respx.MockRouter) -> None:
    """With max_parallel=2 a third config starts only once one racer has ended."""
    first = job(respx_mock, SLOW, "s1", polls_until_done=None)
    job(respx_mock, FAST, "f1", polls_until_done=None)
    third = job(respx_mock, THIRD, "t1", polls_until_done=1)
    router = Router(strategy="hedge", hedge=HedgePolicy(after=1.0, max_parallel=2))
    # The racers' deadlines end the two slow ones; only then may the third start.
    response = await router.generate_video_async(chain(SLOW, FAST, THIRD, timeout=20), REQUEST)
    assert response.request_id == "t1"
    meta = response.execution_metadata
    assert [a.role for a in meta.attempts] == ["primary", "hedge", "fallback"]
    assert third["submit"].call_count == 1 and first["cancel"].call_count == 1
    started_third = meta.attempts[2].started_at
    assert all(a.ended_at is not None and a.ended_at <= started_third for a in meta.attempts[:1])


async def test_a_failure_starts_the_next_config_at_once(respx_mock: respx.MockRouter) -> None:
    """A primary failing before the delay lets the fallback start without waiting."""
    respx_mock.post(f"{SLOW}/jobs").respond(500, json={"message": "down"})
    job(respx_mock, FAST, "f1", polls_until_done=1)
    router = Router(strategy="hedge", hedge=HedgePolicy(after=600.0))
    response = await router.generate_video_async(chain(SLOW, FAST, max_retries=0), REQUEST)
    meta = response.execution_metadata
    assert [(a.role, a.status) for a in meta.attempts] == [
        ("primary", "failed"),
        ("fallback", "success"),
    ]
    assert meta.fallback_triggered and meta.successful_attempt == 2


async def test_every_racer_failing_raises_the_last_error(respx_mock: respx.MockRouter) -> None:
    """All configs failing raises the last failure with every attempt in its metadata."""
    respx_mock.post(f"{SLOW}/jobs").respond(500, json={"message": "down"})
    respx_mock.post(f"{FAST}/jobs").respond(200, json={"id": "f1", "status": "queued"})
    respx_mock.get(f"{FAST}/jobs/f1").respond(200, json={"status": "failed", "error": "no"})
    router = Router(strategy="hedge", hedge=HedgePolicy(after=1.0))
    with pytest.raises((GenerationFailedError, ProviderServerError)) as caught:
        await router.generate_video_async(chain(SLOW, FAST, max_retries=0), REQUEST)
    meta = caught.value.execution_metadata
    assert meta is not None and meta.successful_attempt is None
    assert sorted(a.status for a in meta.attempts) == ["failed", "failed"]


async def test_a_progress_callback_raising_cancels_every_racer(
    respx_mock: respx.MockRouter,
) -> None:
    """The callback's exception reaches the caller once every racer's job is cancelled."""
    slow = job(respx_mock, SLOW, "s1", polls_until_done=None)
    fast = job(respx_mock, FAST, "f1", polls_until_done=None)
    seen: list[str] = []

    def callback(update: Any) -> None:
        seen.append(update.provider)
        if len(seen) == 6:
            raise KeyError("stop")

    router = Router(strategy="hedge", hedge=HedgePolicy(after=1.0))
    with pytest.raises(KeyError, match="stop"):
        await router.generate_video_async(chain(SLOW, FAST), REQUEST, on_progress=callback)
    assert slow["cancel"].call_count == 1 and fast["cancel"].call_count == 1


def test_hedge_policy_names_the_bad_field() -> None:
    """Out-of-range hedge settings are refused with the field named."""
    with pytest.raises(ValidationError, match="after"):
        HedgePolicy(after=-1)
    with pytest.raises(ValidationError, match="max_parallel"):
        HedgePolicy(max_parallel=0)
    with pytest.raises(ValidationError, match="quantile"):
        HedgePolicy(quantile=1.5)
    with pytest.raises(ValidationError, match="strategy"):
        Router(strategy="fastest")  # type: ignore[arg-type]


async def test_a_learned_delay_hedges_after_the_recent_p90(respx_mock: respx.MockRouter) -> None:
    """With 10 recent 2 s completions learnt, a stuck primary is hedged long before the
    initial delay (1000 s, past the primary's deadline) would have."""
    slow = job(respx_mock, SLOW, "s1", polls_until_done=None)
    job(respx_mock, FAST, "f1", polls_until_done=1)
    router = Router(strategy="hedge", hedge=HedgePolicy(after="learned", initial_after=1000.0))
    for _ in range(10):
        router.latency.record("fake/t2v", 2.0)
    assert router.snapshot().latency["fake/t2v"].p90 == 2.0
    response = await router.generate_video_async(chain(SLOW, FAST, timeout=600), REQUEST)
    meta = response.execution_metadata
    assert [(a.role, a.status) for a in meta.attempts] == [
        ("primary", "cancelled"),
        ("hedge", "success"),
    ]
    assert slow["cancel"].call_count == 1


async def test_without_history_the_initial_delay_applies(respx_mock: respx.MockRouter) -> None:
    """No completion times known: the initial delay holds, so a fast primary races alone."""
    job(respx_mock, SLOW, "s1", polls_until_done=3)
    other = respx_mock.post(f"{FAST}/jobs").respond(200, json={"id": "x", "status": "queued"})
    router = Router(strategy="hedge", hedge=HedgePolicy(after="learned", initial_after=100.0))
    response = await router.generate_video_async(chain(SLOW, FAST), REQUEST)
    assert response.execution_metadata.total_attempts == 1 and other.call_count == 0
    assert router.snapshot().latency["fake/t2v"].samples == 1


async def test_no_hedge_onto_a_provider_billing_cancelled_jobs_in_full(
    respx_mock: respx.MockRouter,
) -> None:
    """A next config whose cancelled jobs are billed in full is not hedged onto; it runs
    only as the fallback once the primary has failed."""
    job(respx_mock, SLOW, "s1", polls_until_done=None)
    fast = job(respx_mock, FAST, "f1", polls_until_done=1)
    router = Router(
        strategy="hedge",
        hedge=HedgePolicy(after=1.0),
        prices={"fake": {"cancelled": "full", "per_run": 1.0}},
    )
    response = await router.generate_video_async(chain(SLOW, FAST, timeout=20), REQUEST)
    meta = response.execution_metadata
    assert [(a.role, a.status) for a in meta.attempts] == [
        ("primary", "cancelled"),
        ("fallback", "success"),
    ]
    assert fast["submit"].call_count == 1
    # The primary ran past its deadline and was cancelled: billed in full, as estimated.
    assert meta.attempts[0].estimated_cost == 1.0 and meta.attempts[1].estimated_cost == 1.0


async def test_a_loser_that_outlived_its_delay_is_learnt_at_its_time_so_far(
    respx_mock: respx.MockRouter,
) -> None:
    """The stuck primary is cancelled when its hedge wins: it is learnt as at least as slow
    as it ran, so the tail the race cuts off stays in the learned quantile."""
    job(respx_mock, SLOW, "s1", polls_until_done=None)
    job(respx_mock, FAST, "f1", polls_until_done=1)
    router = Router(strategy="hedge", hedge=HedgePolicy(after="learned"))
    for _ in range(10):
        router.latency.record("fake/t2v", 2.0)
    response = await router.generate_video_async(chain(SLOW, FAST), REQUEST)
    primary, hedge = response.execution_metadata.attempts
    assert (primary.status, hedge.status) == ("cancelled", "success")
    # 10 known + the hedge's completion + the primary's time so far (its 2 s delay, at least).
    assert router.latency.samples("fake/t2v") == 12
    slowest = router.latency.percentile("fake/t2v", 1.0)
    assert slowest is not None and slowest >= 2.0


async def test_a_hedge_cancelled_when_the_primary_wins_is_not_learnt(
    respx_mock: respx.MockRouter,
) -> None:
    """The losing hedge ran for less than a delay: its time so far tells nothing."""
    job(respx_mock, SLOW, "s1", polls_until_done=4)
    job(respx_mock, FAST, "f1", polls_until_done=None)
    router = Router(strategy="hedge", hedge=HedgePolicy(after=0.5))
    response = await router.generate_video_async(chain(SLOW, FAST), REQUEST)
    assert [a.status for a in response.execution_metadata.attempts] == ["success", "cancelled"]
    assert router.latency.samples("fake/t2v") == 1


async def test_the_hedge_delay_runs_from_the_primarys_submit_not_its_capacity_wait(
    respx_mock: respx.MockRouter,
) -> None:
    """The primary waits 100 s for a concurrency slot before its submit: the hedge (5 s)
    starts 5 s after that submit, not during the wait (learnt latencies run from the
    submit too)."""
    submitted_at: dict[str, float] = {}

    def submitted(base: str, job_id: str) -> Callable[[httpx.Request], httpx.Response]:
        def reply(request: httpx.Request) -> httpx.Response:
            submitted_at[base] = trio.current_time()
            return httpx.Response(200, json={"id": job_id, "status": "queued"})

        return reply

    job(respx_mock, SLOW, "s1", polls_until_done=None)["submit"].mock(
        side_effect=submitted(SLOW, "s1")
    )
    job(respx_mock, FAST, "f1", polls_until_done=1)["submit"].mock(
        side_effect=submitted(FAST, "f1")
    )
    router = Router(
        strategy="hedge",
        hedge=HedgePolicy(after=5.0),
        limits={"fake/t2v-slow": ProviderLimit(max_concurrent=1)},
    )
    primary = VideoGenerationConfig(
        provider="fake",
        model="t2v-slow",
        api_key=FAKE_KEY,
        base_url=SLOW,
        poll_interval=1.0,
        fallback_configs=[config(FAST)],
    )
    # Held on the primary's account: the router keeps each key's counters apart.
    held = await router.board.acquire("fake", "t2v-slow", account=account_fingerprint(FAKE_KEY))
    started = trio.current_time()
    response: list[Any] = []

    async def generate() -> None:
        response.append(await router.generate_video_async(primary, REQUEST))

    async with trio.open_nursery() as nursery:
        nursery.start_soon(generate)
        await trio.sleep(100)
        assert submitted_at == {}
        held.release()
    assert submitted_at[SLOW] - started == pytest.approx(100, abs=0.01)
    assert submitted_at[FAST] - submitted_at[SLOW] == pytest.approx(5, abs=0.01)
    meta = response[0].execution_metadata
    assert [(a.role, a.status) for a in meta.attempts] == [
        ("primary", "cancelled"),
        ("hedge", "success"),
    ]
    assert meta.attempts[0].capacity_wait_seconds == pytest.approx(100, abs=0.01)
