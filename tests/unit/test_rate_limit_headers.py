"""``x-ratelimit-*`` on a create's reply: a spent request budget pauses the provider."""

from __future__ import annotations

import anyio
import httpx
import pytest
import respx

from tarash.tarash_gateway._retry_after import parse_rate_limit_reset
from tarash.tarash_gateway.models import VideoGenerationRequest
from tarash.tarash_gateway.router import Router
from tarash.tarash_gateway.routing._limits import CapacitySlot, ProviderLimit
from tests._limit_rows import account_row, account_rows
from tests.unit.test_limits import FakeTime, board_with
from tests.unit.test_openai import BASE, video, video_config

SPENT = {"x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "6m0s"}


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        (SPENT, 360.0),
        ({**SPENT, "x-ratelimit-reset-requests": "1s"}, 1.0),
        ({**SPENT, "x-ratelimit-reset-requests": "20ms"}, 0.02),
        ({**SPENT, "x-ratelimit-reset-requests": "1h2m3.5s"}, 3723.5),
        ({**SPENT, "x-ratelimit-reset-requests": "2.5"}, 2.5),
        ({"X-RateLimit-Remaining-Requests": "0", "X-RateLimit-Reset-Requests": "3s"}, 3.0),
        ({**SPENT, "x-ratelimit-remaining-requests": "4"}, None),
        # Azure reports -1 where it does not count: not a spent budget.
        ({**SPENT, "x-ratelimit-remaining-requests": "-1"}, None),
        ({**SPENT, "x-ratelimit-reset-requests": "soon"}, None),
        ({**SPENT, "x-ratelimit-reset-requests": "3sx"}, None),
        ({**SPENT, "x-ratelimit-reset-requests": "0s"}, None),
        ({"x-ratelimit-remaining-requests": "0"}, None),
        ({}, None),
    ],
)
def test_the_reset_is_read_only_when_no_request_remains(
    headers: dict[str, str], seconds: float | None
) -> None:
    assert parse_rate_limit_reset(headers) == (None if seconds is None else pytest.approx(seconds))


@pytest.mark.anyio
async def test_a_pause_holds_creates_back_without_halving_the_rate() -> None:
    fake = FakeTime()
    board = board_with(fake, openai=ProviderLimit(creates_per_minute=60))
    board.pause_creates("openai", "sora-2", 5.0)
    state = board.snapshot()["openai"]
    assert state.paused_for_seconds == pytest.approx(5.0)
    assert state.effective_creates_per_minute == pytest.approx(60)
    slots: list[CapacitySlot] = []

    async def acquire() -> None:
        slots.append(await board.acquire("openai", "sora-2"))

    async with anyio.create_task_group() as group:
        group.start_soon(acquire)
        await fake.advance(5)
    assert slots[0].waited_seconds == pytest.approx(5.0)
    slots[0].release()


@pytest.mark.parametrize("seconds", [0.0, -1.0, float("inf"), float("nan")])
def test_a_meaningless_pause_is_ignored(seconds: float) -> None:
    board = board_with(FakeTime())
    board.pause_creates("openai", "sora-2", seconds)
    assert "openai" not in board.snapshot() or board.snapshot()["openai"].paused_for_seconds == 0


@pytest.mark.anyio
async def test_a_create_that_spends_the_budget_pauses_the_next(
    respx_mock: respx.MockRouter,
) -> None:
    """The reply of the create that spent the last request says when the budget resets:
    the next create to the provider waits for it instead of meeting a 429."""
    respx_mock.post(f"{BASE}/videos").respond(
        200,
        json=video(),
        headers={"x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "42s"},
    )
    router = Router(limits={})
    await router.submit_video_async(video_config(), VideoGenerationRequest(prompt="a cat"))
    state = account_row(router.snapshot().limits, "openai")
    assert 40 < state.paused_for_seconds <= 42


@pytest.mark.anyio
async def test_a_create_with_budget_left_pauses_nothing(respx_mock: respx.MockRouter) -> None:
    respx_mock.post(f"{BASE}/videos").respond(
        200,
        json=video(),
        headers={"x-ratelimit-remaining-requests": "9", "x-ratelimit-reset-requests": "42s"},
    )
    router = Router(limits={})
    await router.submit_video_async(video_config(), VideoGenerationRequest(prompt="a cat"))
    limits = router.snapshot().limits
    assert all(row.paused_for_seconds == 0 for row in account_rows(limits, "openai"))


# -- a 429 that a retry got past ------------------------------------------------------------


@pytest.mark.anyio
async def test_a_429_a_retry_got_past_still_slows_the_provider(
    respx_mock: respx.MockRouter,
) -> None:
    """[429 Retry-After: 2, 200]: the job is accepted, and the limiter learns the 429 all
    the same: the rate is halved and the rest of the Retry-After holds other creates."""
    route = respx_mock.post(f"{BASE}/videos")
    route.side_effect = [
        httpx.Response(429, json={"error": {"message": "slow down"}}, headers={"Retry-After": "2"}),
        httpx.Response(200, json=video()),
    ]
    router = Router(limits={"openai": ProviderLimit(creates_per_minute=60)})
    handle = await router.submit_video_async(video_config(), VideoGenerationRequest(prompt="a"))
    assert handle.request_id and route.call_count == 2
    state = account_row(router.snapshot().limits, "openai")
    assert state.effective_creates_per_minute == pytest.approx(30, rel=0.01)
    # The test's stamina does not sleep: the whole pause is still ahead.
    assert 0 < state.paused_for_seconds <= 2


@pytest.mark.anyio
async def test_a_create_that_got_no_429_slows_nothing(respx_mock: respx.MockRouter) -> None:
    """A 503 retried is not a throttle: the rate stays and nothing is paused."""
    route = respx_mock.post(f"{BASE}/videos")
    route.side_effect = [
        httpx.Response(503, json={"error": {"message": "busy"}}),
        httpx.Response(200, json=video()),
    ]
    router = Router(limits={"openai": ProviderLimit(creates_per_minute=60)})
    await router.submit_video_async(video_config(), VideoGenerationRequest(prompt="a"))
    state = account_row(router.snapshot().limits, "openai")
    assert state.effective_creates_per_minute == pytest.approx(60)
    assert state.paused_for_seconds == 0
