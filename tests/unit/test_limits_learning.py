"""What the capacity board learns from throttling, and the defaults every router applies."""

from __future__ import annotations

import anyio
import pytest

from tarash.tarash_gateway.errors import RateLimitError
from tarash.tarash_gateway.router import Router, configure, default_router
from tarash.tarash_gateway.routing._limits import (
    DEFAULT_LIMITS,
    CapacitySlot,
    CapacitySpill,
    ProviderLimit,
    merge_limits,
)
from tests.unit.test_limits import FakeTime, board_with

pytestmark = pytest.mark.anyio


async def test_a_concurrency_signal_lowers_the_cap_and_keeps_the_rate() -> None:
    """THROTTLED or fal's 429 says nothing about creates per minute: the rate stays."""
    fake = FakeTime()
    board = board_with(fake, replicate=ProviderLimit(creates_per_minute=600))
    slots = [await board.acquire("replicate", "m") for _ in range(3)]
    board.slow_down("replicate", "m", over_concurrency=True)
    state = board.snapshot()["replicate"]
    assert state.effective_max_concurrent == 2
    assert state.effective_creates_per_minute == pytest.approx(600)
    for slot in slots:
        slot.release()


async def test_an_unconfigured_provider_with_retry_after_is_paused_not_rated() -> None:
    """A provider with no known rate that says when to come back gets exactly that pause."""
    fake = FakeTime()
    board = board_with(fake)
    board.slow_down("azure_openai", "m", retry_after=5)
    state = board.snapshot()["azure_openai"]
    assert state.paused_for_seconds == pytest.approx(5)
    assert state.effective_creates_per_minute is None


async def test_a_429_at_a_slow_pace_teaches_an_unconfigured_provider_no_rate() -> None:
    """Two creates a minute cannot be over any per-minute limit: a 429 without Retry-After
    then learns no rate that would hold the next call back for many seconds."""
    fake = FakeTime()
    board = board_with(fake)
    for _ in range(2):
        (await board.acquire("fal", "m")).release()
    board.slow_down("fal", "m")
    assert board.snapshot()["fal"].effective_creates_per_minute is None
    assert (await board.acquire("fal", "m")).waited_seconds == 0


async def test_a_pause_past_the_deadline_refuses_at_once_unless_it_may_spill() -> None:
    """A call the pause would hold past its deadline fails now (the last config of a chain)
    or spills over (any other): it never sits out its whole deadline."""
    fake = FakeTime()
    board = board_with(fake)
    board.slow_down("fal", "m", retry_after=3600)
    deadline = anyio.current_time() + 600
    with pytest.raises(RateLimitError) as caught:
        await board.acquire("fal", "m", deadline=deadline, may_spill=False)
    assert caught.value.status_code is None
    assert caught.value.retry_after == pytest.approx(3600)
    with pytest.raises(CapacitySpill, match="Retry-After"):
        await board.acquire("fal", "m", deadline=deadline, may_spill=True)
    assert board.snapshot()["fal"].in_flight == 0
    assert board.snapshot()["fal"].waiting == 0


async def test_a_pause_within_the_deadline_is_waited_for() -> None:
    """A pause shorter than the deadline is waited out, then the call goes."""
    fake = FakeTime()
    board = board_with(fake)
    board.slow_down("fal", "m", retry_after=10)
    slots: list[CapacitySlot] = []

    async def acquire() -> None:
        deadline = anyio.current_time() + 600
        slots.append(await board.acquire("fal", "m", deadline=deadline, may_spill=False))

    async with anyio.create_task_group() as group:
        group.start_soon(acquire)
        await fake.advance(10)
    assert slots[0].waited_seconds == pytest.approx(10)


async def test_a_waiter_gives_up_when_a_new_pause_outlasts_its_deadline() -> None:
    """A call already waiting for a slot looks again when the provider asks for a pause
    longer than its deadline, and fails then instead of at the deadline."""
    fake = FakeTime()
    board = board_with(fake, fal=ProviderLimit(max_concurrent=1))
    held = await board.acquire("fal", "m")
    errors: list[BaseException] = []

    async def wait_for_slot() -> None:
        try:
            await board.acquire("fal", "m", deadline=anyio.current_time() + 600, may_spill=False)
        except RateLimitError as exc:
            errors.append(exc)

    async with anyio.create_task_group() as group:
        group.start_soon(wait_for_slot)
        await fake.advance(1)
        board.slow_down("fal", "m", retry_after=3600)
        await fake.advance(0)
    assert len(errors) == 1 and fake.now == pytest.approx(1)
    held.release()


# -- defaults -------------------------------------------------------------------------------


def test_the_defaults_are_create_rates_only() -> None:
    """No default caps jobs at once: providers with such caps queue the excess themselves."""
    assert DEFAULT_LIMITS
    assert all(limit.max_concurrent is None for limit in DEFAULT_LIMITS.values())
    assert all(limit.creates_per_minute is not None for limit in DEFAULT_LIMITS.values())


def test_limits_none_means_the_defaults_and_empty_means_none() -> None:
    """``Router()`` applies the defaults; ``Router(limits={})`` applies nothing."""
    assert Router().board.limits == dict(DEFAULT_LIMITS)
    assert Router(limits={}).board.limits == {}


def test_a_users_limits_replace_their_keys_and_keep_the_other_defaults() -> None:
    """A key given replaces that key's default whole; the other defaults stay."""
    mine = ProviderLimit(max_concurrent=2)
    merged = merge_limits({"replicate": mine, "fal": {"max_concurrent": 4}})
    assert merged["replicate"] == mine
    assert merged["fal"] == {"max_concurrent": 4}
    assert merged["stability"] == DEFAULT_LIMITS["stability"]
    assert Router(limits={"replicate": mine}).board.limits["replicate"] == mine


def test_the_default_router_applies_the_defaults() -> None:
    """``generate_video(config, request)`` runs under the defaults, as ``configure()`` sets."""
    assert default_router().board.limits == dict(DEFAULT_LIMITS)
    assert configure(limits={}).board.limits == {}
