"""The router against the emulator: shared limits, spill-over and hedged races."""

from __future__ import annotations

import threading

import anyio
import pytest

from tarash.emulator import Emulator, Fault, Latency
from tarash.emulator.runway import CLIENT_TEST_LENIENCY
from tarash.tarash_gateway import generate_video
from tarash.tarash_gateway.errors import AuthenticationError, RateLimitError, SpendCapExceededError
from tarash.tarash_gateway.models import VideoGenerationRequest, VideoGenerationResponse
from tarash.tarash_gateway.router import HedgePolicy, Router
from tarash.tarash_gateway.routing._attempt import AttemptHooks
from tarash.tarash_gateway.routing._breaker import BreakerBoard, BreakerPolicy
from tarash.tarash_gateway.routing._limits import ProviderLimit
from tarash.tarash_gateway.routing._prices import Price
from tests._emulator import emulated_video_config
from tests._limit_rows import account_row

pytestmark = pytest.mark.anyio

REQUEST = VideoGenerationRequest(prompt="a cat", duration_seconds=4)
FAL = ("fal", "fal-ai/veo3")
REPLICATE = ("replicate", "google/veo-3")


def test_a_cap_holds_across_threads_of_sync_calls_and_async_tasks(emu: Emulator) -> None:
    """8 threads of sync calls and 4 tasks on a user loop share one cap of 2 fal jobs."""
    emu.latency = Latency(queue_seconds=0.0, run_seconds=0.15)
    router = Router(limits={"fal": ProviderLimit(max_concurrent=2)})
    config = emulated_video_config(emu, *FAL)
    results: list[VideoGenerationResponse] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def sync_caller() -> None:
        try:
            response = router.generate_video(config, REQUEST)
        except BaseException as exc:  # collected, asserted below
            with lock:
                errors.append(exc)
            return
        with lock:
            results.append(response)

    def async_callers() -> None:
        async def main() -> None:
            async def one() -> None:
                response = await router.generate_video_async(config, REQUEST)
                with lock:
                    results.append(response)

            async with anyio.create_task_group() as group:
                for _ in range(4):
                    group.start_soon(one)

        try:
            anyio.run(main)
        except BaseException as exc:  # collected, asserted below
            with lock:
                errors.append(exc)

    threads = [threading.Thread(target=sync_caller) for _ in range(8)]
    threads.append(threading.Thread(target=async_callers))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert len(results) == 12
    assert emu.peak_concurrency("fal") == 2
    assert emu.stats("fal").running == 0
    assert account_row(router.snapshot().limits, "fal").in_flight == 0
    # Some call waited for a slot, and its metadata says for how long.
    waits = [r.execution_metadata.attempts[0].capacity_wait_seconds for r in results]
    assert max(waits) > 0


async def test_a_config_waiting_for_capacity_spills_to_the_next(emu: Emulator) -> None:
    """A full fal spills the request to Replicate after spill_after; the skip is recorded."""
    router = Router(limits={"fal": ProviderLimit(max_concurrent=1, spill_after=0.2)})
    emu.inject(Fault("stuck", provider="fal"))
    fal = emulated_video_config(emu, *FAL, timeout=30)
    chained = emulated_video_config(
        emu, *FAL, fallback_configs=[emulated_video_config(emu, *REPLICATE)]
    )
    before = emu.stats("fal")
    accepted = anyio.Event()
    holder = AttemptHooks(on_accepted=lambda event: accepted.set())

    async def hold_the_slot() -> None:
        await router.run_async(fal, REQUEST, hooks=holder)

    async with anyio.create_task_group() as group:
        group.start_soon(hold_the_slot)
        await accepted.wait()
        response = await router.generate_video_async(chained, REQUEST)
        group.cancel_scope.cancel()
    assert response.provider == "replicate"
    spilt, served = response.execution_metadata.attempts
    assert spilt.status == "skipped" and spilt.skip_reason is not None
    assert "spilt over" in spilt.skip_reason and spilt.capacity_wait_seconds >= 0.2
    assert spilt.submit_count == 0 and served.status == "success"
    # The stuck job was cancelled when its caller was; only it was ever submitted to fal.
    after = emu.stats("fal")
    assert after.submitted - before.submitted == 1
    assert (after.cancelled - before.cancelled, after.running) == (1, 0)


async def test_a_hedge_wins_and_the_slow_job_is_cancelled_at_the_provider(
    emu: Emulator,
) -> None:
    """A stuck fal job is raced by Replicate after 0.3 s; fal's job ends cancelled."""
    emu.inject(Fault("stuck", provider="fal"))
    before = emu.stats("fal")
    router = Router(strategy="hedge", hedge=HedgePolicy(after=0.3))
    chained = emulated_video_config(
        emu, *FAL, fallback_configs=[emulated_video_config(emu, *REPLICATE)]
    )
    response = await router.generate_video_async(chained, REQUEST)
    assert response.provider == "replicate"
    meta = response.execution_metadata
    assert [(a.role, a.status) for a in meta.attempts] == [
        ("primary", "cancelled"),
        ("hedge", "success"),
    ]
    assert meta.successful_attempt == 2
    after = emu.stats("fal")
    assert (after.cancelled - before.cancelled, after.running) == (1, 0)
    assert emu.stats().running == 0


async def test_an_open_breaker_is_skipped_and_its_probe_closes_it(emu: Emulator) -> None:
    """Two fal failures open its breaker: the next request skips fal; after the cooldown
    one probe goes to fal, succeeds and closes it."""
    now = [0.0]
    board = BreakerBoard(BreakerPolicy(failures=2, cooldown=30.0), clock=lambda: now[0])
    router = Router(breakers=board)
    chained = emulated_video_config(
        emu, *FAL, max_retries=0, fallback_configs=[emulated_video_config(emu, *REPLICATE)]
    )
    emu.inject(Fault("server_error", provider="fal", operation="submit", times=2))
    for _ in range(2):
        response = await router.generate_video_async(chained, REQUEST)
        assert [a.status for a in response.execution_metadata.attempts] == ["failed", "success"]
    submitted = emu.stats("fal").submitted
    response = await router.generate_video_async(chained, REQUEST)
    skipped, served = response.execution_metadata.attempts
    assert skipped.status == "skipped" and skipped.submit_count == 0
    assert skipped.skip_reason is not None and "circuit breaker open" in skipped.skip_reason
    assert served.provider == "replicate" and emu.stats("fal").submitted == submitted
    assert router.snapshot().open_breakers == ["fal/fal-ai/veo3"]
    now[0] += 31.0
    response = await router.generate_video_async(chained, REQUEST)
    assert response.provider == "fal" and response.execution_metadata.total_attempts == 1
    assert router.snapshot().open_breakers == []


async def test_the_spend_cap_refuses_the_attempt_that_would_pass_it(emu: Emulator) -> None:
    """With room for one job's estimate, the second request submits nothing and says why."""
    prices = {"fal/fal-ai/veo3": Price(per_second=0.5)}
    config = emulated_video_config(emu, *FAL)
    first = await Router(prices=prices).generate_video_async(config, REQUEST)
    estimate = first.execution_metadata.attempts[0].estimated_cost
    assert estimate is not None and estimate > 0
    router = Router(prices=prices, spend_cap=estimate * 1.5)
    await router.generate_video_async(config, REQUEST)
    submitted = emu.stats("fal").submitted
    with pytest.raises(SpendCapExceededError, match="spend cap") as caught:
        await router.generate_video_async(config, REQUEST)
    assert emu.stats("fal").submitted == submitted
    meta = caught.value.execution_metadata
    assert meta is not None and meta.attempts[0].status == "skipped"
    assert meta.attempts[0].submit_count == 0 and meta.attempts[0].estimated_cost == 0.0
    spend = router.snapshot().spend
    assert spend is not None and spend.spent == pytest.approx(estimate) and spend.reserved == 0


def test_throttled_runway_tasks_teach_the_router_a_lower_cap() -> None:
    """Against an emulated Runway account over its concurrency (tasks THROTTLED), the
    router lowers its cap on Runway while the jobs run, and every job still succeeds."""
    from tarash.emulator import RunwayOptions

    latency = Latency(queue_seconds=0.2, run_seconds=0.1)
    with Emulator(
        latency=latency, options=[RunwayOptions(throttle=True, lenient=CLIENT_TEST_LENIENCY)]
    ) as throttled:
        router = Router(limits={"runway": ProviderLimit(max_concurrent=3)})
        config = emulated_video_config(throttled, "runway", "gen4.5")

        async def main() -> None:
            async with anyio.create_task_group() as group:
                for _ in range(3):
                    group.start_soon(router.generate_video_async, config, REQUEST)

        anyio.run(main)
        state = account_row(router.snapshot().limits, "runway")
        assert state.max_concurrent == 3
        assert state.effective_max_concurrent is not None and state.effective_max_concurrent < 3
        assert state.in_flight == 0
        assert throttled.stats("runway").completed == 3


async def test_a_fal_429_fault_lowers_fals_cap_on_the_emulator(emu: Emulator) -> None:
    """fal's 429s at submit (the emulator's rate-limit fault), outlasting the retries, are
    learnt as a concurrency refusal: fal's cap drops to one, its create rate is untouched,
    and the next call, one at a time, succeeds."""
    emu.inject(Fault("rate_limit", provider="fal", operation="submit", retry_after=0, times=None))
    router = Router(limits={})
    config = emulated_video_config(emu, *FAL)
    with pytest.raises(RateLimitError) as caught:
        await router.generate_video_async(config, REQUEST)
    assert caught.value.over_concurrency is True
    state = account_row(router.snapshot().limits, "fal")
    assert state.effective_max_concurrent == 1
    assert state.effective_creates_per_minute is None
    emu.clear_faults()
    response = await router.generate_video_async(config, REQUEST)
    assert response.video and emu.stats("fal").running == 0


@pytest.mark.parametrize(
    ("kind", "error"),
    [("unauthorized", AuthenticationError), ("forbidden", AuthenticationError)],
)
def test_a_refused_key_raises_without_buying_the_fallback(
    emu: Emulator, kind: str, error: type[Exception]
) -> None:
    """A 401 or 403 from the primary (the emulator's refusal faults) is the caller's to fix:
    it raises, and the fallback is never submitted (as published: no fallback on 401/403)."""
    emu.inject(Fault(kind, provider="fal"))  # type: ignore[arg-type]
    config = emulated_video_config(
        emu,
        "fal",
        "fal-ai/veo3",
        fallback_configs=[emulated_video_config(emu, "replicate", "google/veo-3")],
    )
    before = emu.stats().submitted
    with pytest.raises(error):
        generate_video(config, VideoGenerationRequest(prompt="a cat", duration_seconds=8))
    assert emu.stats().submitted == before
