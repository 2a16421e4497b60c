"""A provider spelt any way the registry accepts (``"FAL"``, ``"Fal-AI"``, ``"falai"``)
meets the limits, breakers, prices and spend cap keyed under another spelling of it:
every table is keyed by the registry's own reading of the name."""

from __future__ import annotations

from pathlib import Path

import anyio
import httpx
import pytest
import respx

from tarash.tarash_gateway.cli._output import CliError
from tarash.tarash_gateway.cli._routing import load_routing
from tarash.tarash_gateway.errors import (
    CircuitOpenError,
    ProviderServerError,
    RateLimitError,
    SpendCapExceededError,
    ValidationError,
)
from tarash.tarash_gateway.models import VideoGenerationConfig, VideoGenerationRequest
from tarash.tarash_gateway.providers import normalise_table, table_key
from tarash.tarash_gateway.router import Router
from tarash.tarash_gateway.routing._breaker import BreakerBoard, BreakerPolicy
from tarash.tarash_gateway.routing._latency import LatencyTracker
from tarash.tarash_gateway.routing._limits import (
    CapacitySlot,
    ProviderLimit,
    limit_key,
    merge_limits,
)
from tarash.tarash_gateway.routing._prices import Price, PriceTable
from tests._limit_rows import account_row
from tests.unit.test_limits import FakeTime, board_with

pytestmark = pytest.mark.anyio

FAL_BASE = "https://queue.fal.test"
VEO = "fal-ai/veo3"
REQUEST = VideoGenerationRequest(prompt="a lighthouse", duration_seconds=8)
#: Names the registry reads as fal's.
SPELLINGS = ["fal", "Fal", "FAL", "fal-ai", "Fal_AI", "falai"]
#: (the table's spelling, the config's spelling): each pair names fal twice, differently.
PAIRS = [
    ("fal", "FAL"),
    ("FAL", "fal"),
    ("Fal", "fal-ai"),
    ("fal-ai", "Fal"),
    ("falai", "FAL_AI"),
]


def fal_config(provider: str) -> VideoGenerationConfig:
    return VideoGenerationConfig(
        provider=provider,
        model=VEO,
        api_key="fal-id:fal-secret-canary-4242",
        base_url=FAL_BASE,
        poll_interval=0.001,
        max_retries=0,
    )


def fal_accepts(mock: respx.MockRouter) -> respx.Route:
    root = f"{FAL_BASE}/{VEO}/requests/req-1"
    return mock.post(f"{FAL_BASE}/{VEO}").respond(
        200,
        json={
            "status": "IN_QUEUE",
            "request_id": "req-1",
            "response_url": root,
            "status_url": f"{root}/status",
            "cancel_url": f"{root}/cancel",
        },
    )


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_every_spelling_keys_the_same_row(spelling: str) -> None:
    """The registry's reading of the name keys every table; the model stays as written."""
    assert table_key(spelling) == "fal"
    assert table_key(f"{spelling}/{VEO}") == f"fal/{VEO}"
    assert table_key(f"{spelling}/Model/X") == "fal/Model/X"
    assert limit_key(spelling, VEO) == f"fal/{VEO}"


@pytest.mark.parametrize(("table", "config"), PAIRS)
async def test_a_limit_holds_for_a_config_spelt_otherwise(
    table: str, config: str, respx_mock: respx.MockRouter
) -> None:
    """The router applies the limit keyed one way to a call spelt another: one key, one
    set of counters, the configured limit in force."""
    fal_accepts(respx_mock)
    router = Router(limits={table: ProviderLimit(max_concurrent=3)})
    await router.submit_video_async(fal_config(config), REQUEST)
    limits = router.snapshot().limits
    assert account_row(limits, "fal").max_concurrent == 3
    keys = [key for key in limits if key.startswith(("fal", "Fal", "FAL"))]
    # One account (the config's key), so one row per provider and model.
    assert sorted(key.split("@", 1)[0] for key in keys) == ["fal", f"fal/{VEO}"]


@pytest.mark.parametrize(("table", "config"), PAIRS)
async def test_a_held_slot_blocks_a_call_spelt_otherwise(table: str, config: str) -> None:
    """max_concurrent=1 keyed one way: a second call spelt another way waits for the slot."""
    fake = FakeTime()
    board = board_with(fake, **{table: ProviderLimit(max_concurrent=1)})
    first = await board.acquire("fal", VEO)
    slots: list[CapacitySlot] = []

    async def second() -> None:
        slots.append(await board.acquire(config, VEO))

    async with anyio.create_task_group() as group:
        group.start_soon(second)
        await fake.advance(1)
        assert slots == [] and board.snapshot()["fal"].waiting == 1
        first.release()
    assert len(slots) == 1
    slots[0].release()


@pytest.mark.parametrize(("table", "config"), PAIRS)
async def test_a_model_limit_holds_for_a_config_spelt_otherwise(table: str, config: str) -> None:
    """A ``provider/model`` row keyed with one spelling is the model's limit for another."""
    router = Router(limits={f"{table}/{VEO}": ProviderLimit(max_concurrent=2, spill_after=5)})
    assert router.board.spill_after(config, VEO) == 5
    slot = await router.board.acquire(config, VEO)
    assert account_row(router.snapshot().limits, f"fal/{VEO}").max_concurrent == 2
    slot.release()


@pytest.mark.parametrize(("first", "second"), PAIRS)
async def test_an_open_breaker_refuses_a_config_spelt_otherwise(
    first: str, second: str, respx_mock: respx.MockRouter
) -> None:
    """A breaker opened by calls spelt one way refuses calls spelt another: one breaker."""
    submit = respx_mock.post(f"{FAL_BASE}/{VEO}").respond(500, json={"detail": "down"})
    router = Router(breakers=BreakerBoard(BreakerPolicy(failures=1), clock=lambda: 0.0))
    with pytest.raises(ProviderServerError):
        await router.generate_video_async(fal_config(first), REQUEST)
    with pytest.raises(CircuitOpenError):
        await router.generate_video_async(fal_config(second), REQUEST)
    assert submit.call_count == 1
    assert list(router.snapshot().breakers) == [f"fal/{VEO}"]


@pytest.mark.parametrize(("table", "config"), PAIRS)
async def test_a_price_row_prices_a_config_spelt_otherwise(table: str, config: str) -> None:
    """A price row keyed one way (model or provider row) prices a call spelt another."""
    by_model = PriceTable({f"{table}/{VEO}": Price(per_second=1.0)})
    by_provider = PriceTable({table: Price(per_run=2.0, cancelled="nothing")}, defaults={})
    assert by_model.estimate(config, VEO, {"duration_seconds": 8}) == 8.0
    assert by_provider.estimate(config, "any-model", {}) == 2.0
    assert by_provider.cancel_is_free(config, "any-model")


@pytest.mark.parametrize("spelling", SPELLINGS)
async def test_the_default_prices_hold_the_spend_cap_for_any_spelling(
    spelling: str, respx_mock: respx.MockRouter
) -> None:
    """fal's default price ($0.40/s, $3.20 for 8 s) is over a $1 cap however fal is spelt:
    nothing is sent."""
    submit = respx_mock.post(f"{FAL_BASE}/{VEO}").respond(500)
    router = Router(spend_cap=1.0)
    with pytest.raises(SpendCapExceededError):
        await router.generate_video_async(fal_config(spelling), REQUEST)
    assert submit.call_count == 0


@pytest.mark.parametrize(("table", "config"), PAIRS)
async def test_a_users_price_holds_the_spend_cap_for_a_config_spelt_otherwise(
    table: str, config: str, respx_mock: respx.MockRouter
) -> None:
    """The user's row keyed one way is what the cap weighs a call spelt another way by."""
    submit = respx_mock.post(f"{FAL_BASE}/{VEO}").respond(500)
    router = Router(prices={f"{table}/{VEO}": Price(per_second=10.0)}, spend_cap=50.0)
    with pytest.raises(SpendCapExceededError) as caught:
        await router.generate_video_async(fal_config(config), REQUEST)
    assert caught.value.estimate == 80.0 and submit.call_count == 0


def test_a_hedge_learns_one_latency_for_every_spelling() -> None:
    """Learned completion times (the hedge's delay) are one series per provider/model."""
    latency = LatencyTracker()
    for spelling in SPELLINGS:
        latency.record(limit_key(spelling, VEO), 10.0)
    assert list(latency.snapshot()) == [f"fal/{VEO}"]


def test_a_users_limit_replaces_the_default_spelt_otherwise() -> None:
    """``"Replicate"`` replaces the default ``"replicate"`` row whole, as ``"replicate"``
    would, rather than sitting beside it."""
    merged = merge_limits({"Replicate": ProviderLimit(max_concurrent=2)})
    assert merged["replicate"] == ProviderLimit(max_concurrent=2)
    assert "Replicate" not in merged


@pytest.mark.parametrize(
    "rows",
    [
        {"fal": ProviderLimit(max_concurrent=1), "FAL": ProviderLimit(max_concurrent=9)},
        {f"fal/{VEO}": ProviderLimit(), f"fal-ai/{VEO}": ProviderLimit()},
    ],
)
def test_two_spellings_of_one_limit_are_refused(rows: dict[str, ProviderLimit]) -> None:
    """Which of two rows for one provider should hold could only be guessed: refused,
    both keys named."""
    first, second = rows
    with pytest.raises(ValidationError) as caught:
        Router(limits=rows)
    assert repr(first) in caught.value.message and repr(second) in caught.value.message


def test_two_spellings_of_one_price_are_refused() -> None:
    """The price table refuses two rows for one provider/model, naming both keys."""
    with pytest.raises(ValidationError, match="'Fal/fal-ai/veo3'"):
        Router(prices={f"fal/{VEO}": Price(per_second=1), f"Fal/{VEO}": Price(per_second=2)})


def test_normalise_table_refuses_a_key_naming_no_provider() -> None:
    """A key must name a provider: the error names the table and the key."""
    with pytest.raises(ValidationError, match="limits keys"):
        normalise_table({"/m": 1}, "limits")


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "routing.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("spelling", ["FAL", "Fal-AI", "falai"])
def test_the_routing_files_tables_are_keyed_as_the_router_looks_up(
    tmp_path: Path, spelling: str
) -> None:
    """``[limits.FAL]`` and ``[prices."Fal-AI/fal-ai/veo3"]`` become fal's rows."""
    config = load_routing(
        _write(
            tmp_path,
            f'[limits.{spelling}]\nmax_concurrent = 2\n\n[limits."{spelling}/{VEO}"]\n'
            f'max_concurrent = 1\n\n[prices."{spelling}/{VEO}"]\nper_second = 9.0\n',
        )
    )
    assert set(config.limits) == {"fal", f"fal/{VEO}"}
    assert set(config.prices) == {f"fal/{VEO}"}
    router = Router(limits=config.limits, prices=config.prices)
    assert router.prices.estimate("fal", VEO, {"duration_seconds": 1}) == 9.0


def test_the_routing_file_refuses_two_spellings_of_one_row_with_its_line(
    tmp_path: Path,
) -> None:
    """Two tables for one provider: one line, naming where and the other spelling."""
    path = _write(
        tmp_path, "[limits.fal]\nmax_concurrent = 2\n\n[limits.FAL]\nmax_concurrent = 9\n"
    )
    with pytest.raises(CliError) as caught:
        load_routing(path)
    message = str(caught.value)
    assert f"{path}:4" in message and "limits.fal" in message


async def test_a_fal_429_slows_fal_for_every_spelling(respx_mock: respx.MockRouter) -> None:
    """What the limiter learns from a 429 to ``"FAL"`` holds back ``"fal-ai"``'s calls."""
    submit = respx_mock.post(f"{FAL_BASE}/{VEO}").mock(
        return_value=httpx.Response(429, headers={"Retry-After": "3600"}, json={"detail": "x"})
    )
    router = Router(limits={})
    with pytest.raises(RateLimitError):
        await router.generate_video_async(fal_config("FAL"), REQUEST)
    with pytest.raises(RateLimitError) as caught:
        await router.generate_video_async(fal_config("fal-ai"), REQUEST)
    assert submit.call_count == 1 and caught.value.status_code is None
