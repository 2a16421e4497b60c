"""The capacity board: concurrency caps, create rates, spill, deadlines and learning."""

from __future__ import annotations

import asyncio
import logging
import math
import threading
from collections.abc import Awaitable, Callable

import anyio
import pytest
import trio
import trio.testing

from tarash.tarash_gateway.errors import TimeoutError, ValidationError
from tarash.tarash_gateway.routing._limits import (
    DEFAULT_LIMITS,
    CapacityBoard,
    CapacitySlot,
    CapacitySpill,
    ProviderLimit,
    account_fingerprint,
    limit_key,
)


class FakeTime:
    """A clock and a sleep the test moves by hand: sleepers wake when it passes them."""

    def __init__(self) -> None:
        self.now = 0.0
        self._sleepers: list[tuple[float, anyio.Event]] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, delay: float) -> None:
        entry = (self.now + delay, anyio.Event())
        self._sleepers.append(entry)
        try:
            await entry[1].wait()
        finally:
            self._sleepers.remove(entry)

    async def advance(self, seconds: float) -> None:
        await anyio.wait_all_tasks_blocked()
        self.now += seconds
        for until, event in list(self._sleepers):
            if until <= self.now + 1e-9:
                event.set()
        await anyio.wait_all_tasks_blocked()


def board_with(fake: FakeTime, **limits: ProviderLimit) -> CapacityBoard:
    return CapacityBoard(
        {key.replace("__", "/"): value for key, value in limits.items()},
        clock=fake.clock,
        sleep=fake.sleep,
    )


async def acquire_into(
    board: CapacityBoard, slots: list[CapacitySlot], provider: str = "fal", model: str = "m"
) -> None:
    slots.append(await board.acquire(provider, model))


# -- ProviderLimit ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"max_concurrent": 0}, "max_concurrent"),
        ({"max_concurrent": 1.5}, "max_concurrent"),
        ({"max_concurrent": True}, "max_concurrent"),
        ({"creates_per_minute": -1}, "creates_per_minute"),
        ({"creates_per_minute": math.inf}, "creates_per_minute"),
        ({"creates_per_minute": math.nan}, "creates_per_minute"),
        ({"spill_after": "5"}, "spill_after"),
        ({"spill_after": 0}, "spill_after"),
    ],
)
def test_provider_limit_rejects_bad_values_naming_the_field(kwargs: dict, field: str) -> None:
    """A non-positive, non-finite or wrongly typed value is a ValidationError naming it."""
    with pytest.raises(ValidationError, match=f"ProviderLimit.{field}"):
        ProviderLimit(**kwargs)


def test_board_validates_keys_and_accepts_field_mappings() -> None:
    """Keys are provider[/model]; a mapping of field names stands for a ProviderLimit."""
    board = CapacityBoard({"fal": {"max_concurrent": 2}, "fal/fal-ai/veo3": ProviderLimit()})
    assert board.limits["fal"] == ProviderLimit(max_concurrent=2)
    with pytest.raises(ValidationError, match="unknown field"):
        CapacityBoard({"fal": {"max_concurent": 2}})
    with pytest.raises(ValidationError, match="limits keys"):
        CapacityBoard({"/model": ProviderLimit()})
    with pytest.raises(ValidationError, match=r"limits\['fal'\] must be a ProviderLimit"):
        CapacityBoard({"fal": 3})  # type: ignore[dict-item]


def test_default_limits_are_valid_and_keyed_by_known_providers() -> None:
    """The shipped defaults build a board and name only built-in providers."""
    CapacityBoard(DEFAULT_LIMITS)
    known = {"fal", "replicate", "runway", "openai", "azure_openai", "google", "stability"}
    assert {key.split("/", 1)[0] for key in DEFAULT_LIMITS} <= known


def test_fingerprint_is_stable_short_and_not_the_key() -> None:
    """Per-key counters are named by a one-way fingerprint, never by the key."""
    secret = "fal-key-1234567890abcdef"
    fingerprint = account_fingerprint(secret)
    assert fingerprint == account_fingerprint(secret) != account_fingerprint(secret + "x")
    assert len(fingerprint) == 12 and secret not in fingerprint
    assert limit_key("fal", "m", fingerprint) == f"fal/m@{fingerprint}"


# -- concurrency ----------------------------------------------------------------------------


@pytest.mark.anyio
async def test_concurrency_cap_holds_under_many_tasks() -> None:
    """100 tasks against a cap of 5: never more than 5 hold a slot, and all finish."""
    board = CapacityBoard({"fal": ProviderLimit(max_concurrent=5)})
    holding = peak = done = 0

    async def job() -> None:
        nonlocal holding, peak, done
        with await board.acquire("fal", "m"):
            holding += 1
            peak = max(peak, holding)
            for _ in range(3):
                await anyio.lowlevel.checkpoint()
            holding -= 1
        done += 1

    async with anyio.create_task_group() as group:
        for _ in range(100):
            group.start_soon(job)
    assert (peak, done) == (5, 100)
    assert board.snapshot()["fal"].in_flight == 0


@pytest.mark.anyio
async def test_model_limit_applies_in_addition_to_the_provider_limit() -> None:
    """A model's cap binds that model only; the provider's cap binds all its models."""
    fake = FakeTime()
    board = board_with(
        fake, fal=ProviderLimit(max_concurrent=3), fal__a=ProviderLimit(max_concurrent=1)
    )
    slots: list[CapacitySlot] = []
    async with anyio.create_task_group() as group:
        slots.append(await board.acquire("fal", "a"))
        group.start_soon(acquire_into, board, slots, "fal", "a")
        await anyio.wait_all_tasks_blocked()
        slots.append(await board.acquire("fal", "b"))
        slots.append(await board.acquire("fal", "b"))
        snapshot = board.snapshot()
        assert snapshot["fal"].in_flight == 3 and snapshot["fal/a"].waiting == 1
        slots[0].release()
    assert [slot.model for slot in slots] == ["a", "b", "b", "a"]


@pytest.mark.anyio
async def test_waiters_are_served_in_arrival_order_and_release_is_idempotent() -> None:
    """A release hands the slot to the earliest waiter; releasing twice frees one slot."""
    board = CapacityBoard({"fal": ProviderLimit(max_concurrent=1)})
    order: list[str] = []

    async def waiter(name: str) -> None:
        with await board.acquire("fal", "m"):
            order.append(name)
            await anyio.lowlevel.checkpoint()

    first = await board.acquire("fal", "m")
    async with anyio.create_task_group() as group:
        for name in "abc":
            group.start_soon(waiter, name)
            await anyio.wait_all_tasks_blocked()
        first.release()
        first.release()
    assert order == ["a", "b", "c"]
    assert board.snapshot()["fal"].in_flight == 0 and first.released


@pytest.mark.anyio
async def test_a_waiter_on_a_free_key_is_not_held_up_by_a_blocked_one() -> None:
    """A call blocked on one model's cap does not block calls that do not need that cap."""
    fake = FakeTime()
    board = board_with(fake, fal__a=ProviderLimit(max_concurrent=1))
    held = await board.acquire("fal", "a")
    async with anyio.create_task_group() as group:
        group.start_soon(board.acquire, "fal", "a")
        await anyio.wait_all_tasks_blocked()
        other = await board.acquire("fal", "b")
        assert other.waited_seconds == 0.0
        group.cancel_scope.cancel()
    held.release()


@pytest.mark.anyio
async def test_per_account_counters_are_separate() -> None:
    """Two API keys are two accounts: each has the provider's cap to itself."""
    board = CapacityBoard({"fal": ProviderLimit(max_concurrent=1)})
    one = await board.acquire("fal", "m", account="aaaa")
    two = await board.acquire("fal", "m", account="bbbb")
    assert set(board.snapshot()) == {"fal@aaaa", "fal/m@aaaa", "fal@bbbb", "fal/m@bbbb"}
    one.release()
    two.release()


@pytest.mark.anyio
async def test_wildcard_model_limit_gives_each_model_its_own_cap() -> None:
    """``provider/*`` caps every model of the provider separately."""
    board = CapacityBoard({"runway/*": ProviderLimit(max_concurrent=1)})
    one = await board.acquire("runway", "gen4_turbo")
    two = await board.acquire("runway", "gen4_image")
    snapshot = board.snapshot()
    assert snapshot["runway/gen4_turbo"].max_concurrent == 1
    assert snapshot["runway"].max_concurrent is None
    one.release()
    two.release()


# -- cancellation, spill, deadline ----------------------------------------------------------


@pytest.mark.anyio
async def test_a_cancelled_waiter_takes_nothing() -> None:
    """Cancelling a waiter leaves no slot taken and no waiter counted."""
    board = CapacityBoard({"fal": ProviderLimit(max_concurrent=1)})
    held = await board.acquire("fal", "m")
    with anyio.move_on_after(0):
        await board.acquire("fal", "m")
    async with anyio.create_task_group() as group:
        group.start_soon(board.acquire, "fal", "m")
        await anyio.wait_all_tasks_blocked()
        assert board.snapshot()["fal"].waiting == 1
        group.cancel_scope.cancel()
    snapshot = board.snapshot()["fal"]
    assert (snapshot.in_flight, snapshot.waiting) == (1, 0)
    held.release()
    assert board.snapshot()["fal"].in_flight == 0


@pytest.mark.anyio
async def test_a_waiter_cancelled_after_being_granted_gives_the_slot_back() -> None:
    """A slot granted to a waiter that is cancelled before it runs is released, not leaked."""
    board = CapacityBoard({"fal": ProviderLimit(max_concurrent=1)})
    held = await board.acquire("fal", "m")
    got: list[CapacitySlot] = []
    async with anyio.create_task_group() as group:
        group.start_soon(acquire_into, board, got)
        await anyio.wait_all_tasks_blocked()
        held.release()  # grants the slot to the waiter, which has not run yet
        group.cancel_scope.cancel()
    assert got == []
    assert board.snapshot()["fal"].in_flight == 0


@pytest.mark.anyio
async def test_spill_after_raises_the_spill_signal_holding_nothing() -> None:
    """After ``spill_after`` seconds without capacity the call spills; nothing is held."""
    fake = FakeTime()
    board = board_with(fake, fal=ProviderLimit(max_concurrent=1, spill_after=5))
    held = await board.acquire("fal", "m")
    outcome: list[BaseException] = []

    async def waiter() -> None:
        try:
            await board.acquire("fal", "m")
        except CapacitySpill as exc:
            outcome.append(exc)

    async with anyio.create_task_group() as group:
        group.start_soon(waiter)
        await fake.advance(4.9)
        assert outcome == []
        await fake.advance(0.1)
    assert isinstance(outcome[0], CapacitySpill) and outcome[0].provider == "fal"
    assert board.snapshot()["fal"].waiting == 0 and board.snapshot()["fal"].in_flight == 1
    held.release()


@pytest.mark.anyio
async def test_the_last_config_waits_instead_of_spilling() -> None:
    """``may_spill=False`` waits past ``spill_after`` and gets the slot when it frees."""
    fake = FakeTime()
    board = board_with(fake, fal=ProviderLimit(max_concurrent=1, spill_after=1))
    held = await board.acquire("fal", "m")
    slots: list[CapacitySlot] = []

    async def waiter() -> None:
        slots.append(await board.acquire("fal", "m", may_spill=False))

    async with anyio.create_task_group() as group:
        group.start_soon(waiter)
        await fake.advance(10)
        held.release()
    assert slots[0].waited_seconds == pytest.approx(10)


@pytest.mark.anyio
async def test_the_deadline_passing_first_is_a_tarash_timeout() -> None:
    """A deadline reached while waiting raises TimeoutError; nothing is held."""
    fake = FakeTime()
    board = board_with(fake, fal=ProviderLimit(max_concurrent=1, spill_after=60))
    held = await board.acquire("fal", "m")
    errors: list[BaseException] = []

    async def waiter() -> None:
        try:
            await board.acquire("fal", "m", deadline=anyio.current_time() + 2)
        except TimeoutError as exc:
            errors.append(exc)

    async with anyio.create_task_group() as group:
        group.start_soon(waiter)
        await fake.advance(2)
    assert "nothing was submitted" in str(errors[0])
    assert board.snapshot()["fal"].waiting == 0
    held.release()


# -- create rate ----------------------------------------------------------------------------


@pytest.mark.anyio
async def test_create_rate_lets_a_minutes_worth_go_then_records_the_wait() -> None:
    """At 60 creates/min, 60 go at once; the 61st waits until the first is a minute old,
    recorded on its slot."""
    fake = FakeTime()
    board = board_with(fake, replicate=ProviderLimit(creates_per_minute=60))
    burst = [await board.acquire("replicate", "m") for _ in range(60)]
    slots: list[CapacitySlot] = []
    async with anyio.create_task_group() as group:
        group.start_soon(acquire_into, board, slots, "replicate")
        await fake.advance(59.5)
        assert slots == []
        await fake.advance(0.5)
    assert {slot.waited_seconds for slot in burst} == {0.0}
    assert slots[0].waited_seconds == pytest.approx(60.0)


@pytest.mark.anyio
async def test_slow_down_halves_the_rate_once_per_burst_and_recovers() -> None:
    """A 429 halves the create rate (once per burst) and the rate climbs back gradually."""
    fake = FakeTime()
    board = board_with(fake, replicate=ProviderLimit(creates_per_minute=600))
    board.slow_down("replicate", "m")
    board.slow_down("replicate", "m")  # the same burst: not halved again
    assert board.snapshot()["replicate"].effective_creates_per_minute == pytest.approx(300)
    fake.now += 25
    assert board.snapshot()["replicate"].effective_creates_per_minute == pytest.approx(450)
    fake.now += 25
    assert board.snapshot()["replicate"].effective_creates_per_minute == pytest.approx(600)


@pytest.mark.anyio
async def test_retry_after_pauses_every_create_on_the_provider() -> None:
    """``Retry-After`` holds every create to the provider, any model, until it passes."""
    fake = FakeTime()
    board = board_with(fake)
    board.slow_down("fal", "a", retry_after=10)
    assert board.snapshot()["fal"].paused_for_seconds == pytest.approx(10)
    slots: list[CapacitySlot] = []
    async with anyio.create_task_group() as group:
        group.start_soon(acquire_into, board, slots, "fal", "b")
        await fake.advance(9)
        assert slots == []
        await fake.advance(1)
    assert slots[0].waited_seconds == pytest.approx(10)


@pytest.mark.anyio
async def test_an_unlimited_provider_is_slowed_from_its_observed_rate() -> None:
    """With no configured rate, a 429 limits the provider to half its observed rate, then
    it becomes unlimited again once recovered."""
    fake = FakeTime()
    board = board_with(fake)
    for _ in range(30):
        (await board.acquire("fal", "m")).release()
        fake.now += 1
    assert board.snapshot()["fal"].effective_creates_per_minute is None
    board.slow_down("fal", "m")
    assert board.snapshot()["fal"].effective_creates_per_minute == pytest.approx(15)
    fake.now += 50
    assert board.snapshot()["fal"].effective_creates_per_minute is None


@pytest.mark.anyio
async def test_over_concurrency_lowers_the_cap_and_regains_it() -> None:
    """THROTTLED with 4 running caps the provider at 3, regaining a slot every 30 s."""
    fake = FakeTime()
    board = board_with(fake, runway=ProviderLimit(max_concurrent=5))
    slots = [await board.acquire("runway", "m") for _ in range(4)]
    board.slow_down("runway", "m", over_concurrency=True)
    assert board.snapshot()["runway"].effective_max_concurrent == 3
    fake.now += 30
    assert board.snapshot()["runway"].effective_max_concurrent == 4
    fake.now += 30
    assert board.snapshot()["runway"].effective_max_concurrent == 5
    for slot in slots:
        slot.release()


def test_slow_down_logs_structured_fields_without_a_key(caplog: pytest.LogCaptureFixture) -> None:
    """The slow-down record names provider, model and account fingerprint as extras."""
    board = CapacityBoard()
    with caplog.at_level(logging.WARNING, logger="tarash.limits"):
        board.slow_down("fal", "m", retry_after=3, account="abcd")
    (record,) = caplog.records
    assert (record.provider, record.model, record.account) == ("fal", "m", "abcd")  # type: ignore[attr-defined]
    assert record.retry_after == 3  # type: ignore[attr-defined]


# -- other loops and threads ----------------------------------------------------------------


def _run_jobs_in_thread(
    runner: Callable[[Callable[[], Awaitable[None]]], None],
    board: CapacityBoard,
    tracker: dict[str, int],
    lock: threading.Lock,
    jobs: int,
) -> threading.Thread:
    async def job() -> None:
        slot = await board.acquire("fal", "m")
        with lock:
            tracker["holding"] += 1
            tracker["peak"] = max(tracker["peak"], tracker["holding"])
        for _ in range(5):
            await anyio.lowlevel.checkpoint()
        with lock:
            tracker["holding"] -= 1
            tracker["done"] += 1
        slot.release()

    async def main() -> None:
        async with anyio.create_task_group() as group:
            for _ in range(jobs):
                group.start_soon(job)

    thread = threading.Thread(target=runner, args=(main,))
    thread.start()
    return thread


def test_one_board_shared_by_asyncio_and_trio_loops_in_threads() -> None:
    """Two asyncio loops and a trio loop in three threads share one cap and wake each other."""
    board = CapacityBoard({"fal": ProviderLimit(max_concurrent=3)})
    tracker = {"holding": 0, "peak": 0, "done": 0}
    lock = threading.Lock()
    threads = [
        _run_jobs_in_thread(lambda main: asyncio.run(main()), board, tracker, lock, 40),
        _run_jobs_in_thread(lambda main: asyncio.run(main()), board, tracker, lock, 40),
        _run_jobs_in_thread(lambda main: trio.run(main), board, tracker, lock, 40),
    ]
    for thread in threads:
        thread.join(30)
    assert tracker["done"] == 120 and tracker["peak"] <= 3
    assert board.snapshot()["fal"].in_flight == 0 and board.snapshot()["fal"].waiting == 0


def test_trio_with_a_mock_clock_holds_creates_to_the_window() -> None:
    """On trio (autojumping mock clock) five creates at 2/min: two per rolling minute."""
    waits: list[float] = []

    async def main() -> None:
        board = CapacityBoard({"fal": ProviderLimit(creates_per_minute=2)}, clock=trio.current_time)

        async def one() -> None:
            waits.append((await board.acquire("fal", "m")).waited_seconds)

        async with trio.open_nursery() as nursery:
            for _ in range(5):
                nursery.start_soon(one)

    trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))
    assert sorted(waits) == pytest.approx([0, 0, 60, 60, 120], abs=1e-6)
