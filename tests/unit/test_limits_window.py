"""The create limit is a rolling window: N in any window, a burst of N at once, no more."""

from __future__ import annotations

import anyio
import pytest
import trio
import trio.testing
from hypothesis import given, settings
from hypothesis import strategies as st

from tarash.tarash_gateway.routing._limits import CapacityBoard, CapacitySlot, ProviderLimit
from tests.unit.test_limits import FakeTime, acquire_into, board_with

pytestmark = pytest.mark.anyio


async def test_a_burst_of_n_goes_at_once_and_the_next_waits_for_the_window() -> None:
    """10/min: ten creates at once, the 11th exactly when the first leaves the minute."""
    fake = FakeTime()
    board = board_with(fake, openai__sora=ProviderLimit(creates_per_minute=10))
    burst = [await board.acquire("openai", "sora") for _ in range(10)]
    assert [slot.waited_seconds for slot in burst] == [0.0] * 10
    slots: list[CapacitySlot] = []
    async with anyio.create_task_group() as group:
        group.start_soon(acquire_into, board, slots, "openai", "sora")
        await fake.advance(59.999)
        assert slots == []
        await fake.advance(0.001)
    assert slots[0].waited_seconds == pytest.approx(60.0)


async def test_the_window_slides_with_each_create() -> None:
    """3/min with creates at 0, 10 and 20 s: the 4th goes at 60 s, the 5th at 70 s."""
    fake = FakeTime()
    board = board_with(fake, fal=ProviderLimit(creates_per_minute=3))
    for _ in range(3):
        assert (await board.acquire("fal", "m")).waited_seconds == 0.0
        fake.now += 10
    slots: list[CapacitySlot] = []
    async with anyio.create_task_group() as group:
        group.start_soon(acquire_into, board, slots, "fal", "m")
        group.start_soon(acquire_into, board, slots, "fal", "m")
        await fake.advance(30)
        assert len(slots) == 1 and slots[0].waited_seconds == pytest.approx(30)
        await fake.advance(10)
    assert slots[1].waited_seconds == pytest.approx(40)


async def test_a_shorter_window_bounds_the_burst() -> None:
    """600/min counted over 10 s (Stability's way): 100 at once, the next 10 s later."""
    fake = FakeTime()
    board = board_with(fake, stability=ProviderLimit(creates_per_minute=600, window_seconds=10))
    for _ in range(100):
        assert (await board.acquire("stability", "m")).waited_seconds == 0.0
    slots: list[CapacitySlot] = []
    async with anyio.create_task_group() as group:
        group.start_soon(acquire_into, board, slots, "stability", "m")
        await fake.advance(10)
    assert slots[0].waited_seconds == pytest.approx(10)


async def test_a_halved_rate_is_a_smaller_window_after_one_interval() -> None:
    """A 429 on 10/min halves it to 5 per minute; the next create waits one interval (12 s)
    of the halved rate, and no more than 5 start in any minute from then."""
    fake = FakeTime()
    board = board_with(fake, google=ProviderLimit(creates_per_minute=10))
    board.slow_down("google", "veo")
    assert board.snapshot()["google"].effective_creates_per_minute == pytest.approx(5)
    slots: list[CapacitySlot] = []
    async with anyio.create_task_group() as group:
        for _ in range(2):
            group.start_soon(acquire_into, board, slots, "google", "veo")
        await fake.advance(11.9)
        assert slots == []
        await fake.advance(0.1)
    assert [slot.waited_seconds for slot in slots] == pytest.approx([12, 12])


async def test_a_very_slow_rate_stretches_the_window() -> None:
    """Below one create per window the window grows: 0.5/min allows one every 2 minutes."""
    fake = FakeTime()
    board = board_with(fake, fal=ProviderLimit(creates_per_minute=0.5))
    await board.acquire("fal", "m")
    slots: list[CapacitySlot] = []
    async with anyio.create_task_group() as group:
        group.start_soon(acquire_into, board, slots, "fal", "m")
        await fake.advance(119)
        assert slots == []
        await fake.advance(1)
    assert slots[0].waited_seconds == pytest.approx(120)


def _granted_at(per_window: int, window: float, arrivals: list[float]) -> list[float]:
    """Run one call per arrival time on trio's virtual clock; return when each was granted."""
    granted: list[float] = []

    async def main() -> None:
        board = CapacityBoard(
            {
                "fal": ProviderLimit(
                    creates_per_minute=per_window * 60 / window, window_seconds=window
                )
            },
            clock=trio.current_time,
        )

        async def one(at: float) -> None:
            await trio.sleep_until(at)
            await board.acquire("fal", "m")
            granted.append(trio.current_time())

        async with trio.open_nursery() as nursery:
            for at in arrivals:
                nursery.start_soon(one, at)

    trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))
    return sorted(granted)


@settings(max_examples=60, deadline=None)
@given(
    per_window=st.integers(min_value=1, max_value=8),
    window=st.sampled_from([10.0, 60.0]),
    gaps=st.lists(st.floats(min_value=0, max_value=40, allow_nan=False), max_size=30),
)
def test_no_window_ever_holds_more_than_n_and_none_waits_longer_than_needed(
    per_window: int, window: float, gaps: list[float]
) -> None:
    """Random arrivals: never more than N creates in any window, and each create starts as
    soon as both its arrival and the N-th create before it leaving the window allow."""
    arrivals, now = [], 1.0
    for gap in gaps:
        now += gap
        arrivals.append(now)
    granted = _granted_at(per_window, window, arrivals)
    assert len(granted) == len(arrivals)
    for i, start in enumerate(granted):
        inside = [at for at in granted if start <= at < start + window - 1e-6]
        assert len(inside) <= per_window
        earliest = arrivals[i]
        if i >= per_window:
            earliest = max(earliest, granted[i - per_window] + window)
        assert start == pytest.approx(earliest, abs=1e-6)
