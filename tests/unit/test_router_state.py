"""The router's state interface, in memory: leases, windows, pauses, holds, breakers."""

from __future__ import annotations

import anyio
import pytest

from tarash.tarash_gateway.routing._state import (
    BreakerRecord,
    MemoryState,
    RouterState,
    SpendFigures,
)

pytestmark = pytest.mark.anyio


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def state(clock: Clock) -> MemoryState:
    return MemoryState(clock=clock)


def test_the_memory_state_is_a_router_state(state: MemoryState) -> None:
    """The default store meets the interface a shared store will implement."""
    typed: RouterState = state
    assert typed.clock() == 1000.0


async def test_slots_are_limited_and_come_back_on_release(state: MemoryState) -> None:
    """Two slots of a key: a third is refused until one is released (twice does nothing)."""
    first = await state.acquire_slot("fal@a1", limit=2, lease_seconds=60)
    second = await state.acquire_slot("fal@a1", limit=2, lease_seconds=60)
    assert first is not None and second is not None and first.token != second.token
    assert await state.acquire_slot("fal@a1", limit=2, lease_seconds=60) is None
    assert await state.acquire_slot("fal@b2", limit=2, lease_seconds=60) is not None
    await state.release_slot(first)
    await state.release_slot(first)
    assert await state.slots_held("fal@a1") == 1
    assert await state.acquire_slot("fal@a1", limit=2, lease_seconds=60) is not None
    assert await state.acquire_slot("fal@a1", limit=2, lease_seconds=60) is None


async def test_a_lease_not_renewed_expires_and_its_slot_comes_back(
    state: MemoryState, clock: Clock
) -> None:
    """A dead holder's slot is free again once its lease passes; a renewed one is kept."""
    dead = await state.acquire_slot("replicate", limit=2, lease_seconds=30)
    alive = await state.acquire_slot("replicate", limit=2, lease_seconds=30)
    assert dead is not None and alive is not None and alive.expires_at == 1030.0
    clock.now += 20
    renewed = await state.renew_slot(alive, lease_seconds=30)
    assert renewed is not None and renewed.expires_at == 1050.0
    clock.now += 15  # the dead holder's lease has passed, the renewed one has not
    assert await state.slots_held("replicate") == 1
    assert await state.renew_slot(dead, lease_seconds=30) is None  # lost: it may be taken
    assert await state.acquire_slot("replicate", limit=2, lease_seconds=30) is not None
    assert await state.acquire_slot("replicate", limit=2, lease_seconds=30) is None


async def test_a_window_counts_events_and_says_when_the_next_fits(
    state: MemoryState, clock: Clock
) -> None:
    """Three per 60 s: the fourth waits for the first to leave the window."""
    for _ in range(3):
        assert await state.take_in_window("google/veo", limit=3, window_seconds=60) == 0.0
        clock.now += 10
    assert await state.take_in_window("google/veo", limit=3, window_seconds=60) == 30.0
    assert await state.count_in_window("google/veo", window_seconds=60) == 3  # not counted
    clock.now += 30
    assert await state.take_in_window("google/veo", limit=3, window_seconds=60) == 0.0
    assert await state.count_in_window("google/veo", window_seconds=60) == 3
    assert await state.count_in_window("google/other", window_seconds=60) == 0


async def test_the_longest_pause_holds_until_it_ends(state: MemoryState, clock: Clock) -> None:
    """A shorter pause never cuts a longer one short; a pause ends on time; clear forgets."""
    assert await state.paused_for("replicate@a1") == 0.0
    assert await state.pause("replicate@a1", 10) == 10.0
    assert await state.pause("replicate@a1", 3) == 10.0
    assert await state.pause("replicate@a1", 0) == 10.0  # nothing to hold back
    clock.now += 4
    assert await state.paused_for("replicate@a1") == 6.0
    assert await state.paused_for("replicate@b2") == 0.0  # another account's reads go
    clock.now += 6
    assert await state.paused_for("replicate@a1") == 0.0
    await state.pause("read fal", 60)
    await state.pause("create fal", 60)
    await state.clear_pauses("read ")
    assert await state.paused_for("read fal") == 0.0
    assert await state.paused_for("create fal") == 60.0  # another prefix stays
    await state.clear_pauses()
    assert await state.paused_for("create fal") == 0.0


async def test_a_hold_settles_to_the_actual_or_is_released(state: MemoryState) -> None:
    """Holds count against the cap; settling turns one into spend once; a release frees it."""
    first = await state.reserve("router", 3.0, cap=5.0)
    held = await state.reserve("router", 1.5, cap=5.0)
    assert first is not None and held is not None
    assert await state.reserve("router", 1.0, cap=5.0) is None  # 3 + 1.5 + 1 > 5
    await state.settle(first, 2.5)
    await state.settle(first, 9.0)  # once only
    assert await state.spend("router") == SpendFigures(spent=2.5, reserved=1.5)
    await state.release(held)
    await state.settle(held, 4.0)  # released: nothing more
    assert await state.spend("router") == SpendFigures(spent=2.5, reserved=0.0)
    uncapped = await state.reserve("other", 1e6, cap=None)
    assert uncapped is not None and await state.spend("router") == SpendFigures(2.5, 0.0)


async def test_the_cap_holds_across_concurrent_reservations(state: MemoryState) -> None:
    """Sixteen tasks reserving $1 under a $10 cap: exactly ten hold."""
    granted: list[bool] = []

    async def reserve() -> None:
        granted.append(await state.reserve("batch", 1.0, cap=10.0) is not None)

    async with anyio.create_task_group() as group:
        for _ in range(16):
            group.start_soon(reserve)
    assert granted.count(True) == 10


async def test_a_breaker_record_is_swapped_only_if_no_one_changed_it(
    state: MemoryState,
) -> None:
    """Compare-and-set on the version: the second writer of the same read loses, rereads
    and wins; an unknown key reads as a closed breaker."""
    key = "fal/fal-ai/veo3"
    first = await state.breaker(key)
    assert first == BreakerRecord() and first.state == "closed"
    opened = BreakerRecord(state="open", consecutive=3, opened_at=1000.0, reason="3 failed")
    assert await state.swap_breaker(key, first, opened)
    assert not await state.swap_breaker(key, first, BreakerRecord(consecutive=9))  # stale
    current = await state.breaker(key)
    assert (current.state, current.consecutive, current.version) == ("open", 3, 1)
    assert await state.swap_breaker(key, current, BreakerRecord(state="half_open"))
    assert (await state.breaker(key)).version == 2
    assert await state.breaker_keys() == [key]


async def test_samples_keep_the_last_few(state: MemoryState) -> None:
    """Only the last ``keep`` samples of a key are kept, oldest first."""
    for value in range(5):
        await state.add_sample("fal/m", float(value), keep=3)
    assert await state.samples("fal/m") == [2.0, 3.0, 4.0]
    assert await state.samples("fal/other") == []
