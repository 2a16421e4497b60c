"""The published repository's newer surface against the emulator: an ordered batch, the
costs it reports and the health check."""

from __future__ import annotations

import socket

import pytest

from tarash.emulator import Emulator, Fault
from tarash.tarash_gateway import (
    Price,
    Router,
    VideoBatchItem,
    configure,
    generate_video_batch_async,
    health_check_async,
)
from tarash.tarash_gateway.models import VideoGenerationConfig, VideoGenerationRequest
from tests._emulator import emulated_video_config

pytestmark = [pytest.mark.integration, pytest.mark.anyio]

N = 6


async def test_an_ordered_batch_sends_each_item_once_and_prices_it(emu: Emulator) -> None:
    """N items, one refused: results in input order, the refused one failed, N jobs at the
    emulator (none twice, none left running), each completed item priced."""
    configure(prices={"fal/fal-ai/veo3": Price(per_second=0.4)})
    config = emulated_video_config(emu, "fal", "fal-ai/veo3")
    emu.inject(Fault("content_refusal", provider="fal", times=1))
    before = emu.stats("fal").submitted
    items = [
        VideoBatchItem(request=VideoGenerationRequest(prompt=f"shot {i}", duration_seconds=4))
        for i in range(N)
    ]
    batch = await generate_video_batch_async(config, items, max_concurrent=3)
    assert [result.index for result in batch.results] == list(range(N))
    assert (batch.total, batch.succeeded, batch.failed) == (N, N - 1, 1)
    assert emu.stats("fal").submitted - before == N
    assert emu.stats("fal").running == 0
    for result in batch.results:
        if result.response is not None:
            assert result.response.cost is not None
            assert result.response.cost.amount_usd == pytest.approx(1.6)
    assert batch.total_cost_usd == pytest.approx(1.6 * (N - 1))


async def test_health_check_reaches_the_emulated_providers(emu: Emulator) -> None:
    """Every emulated video provider answers ok; a closed port is an error, not a raise."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    configs = {
        "fal": emulated_video_config(emu, "fal", "fal-ai/veo3"),
        "replicate": emulated_video_config(emu, "replicate", "google/veo-3"),
        "openai": emulated_video_config(emu, "openai", "sora-2"),
        "runway": emulated_video_config(emu, "runway", "gen4.5"),
        "closed": VideoGenerationConfig(
            provider="fal",
            model="fal-ai/veo3",
            api_key="k",
            base_url=f"http://127.0.0.1:{closed_port}",
            max_retries=0,
        ),
    }
    before = sum(emu.stats(name).submitted for name in ("fal", "replicate", "openai", "runway"))
    results = await health_check_async(configs, timeout=5)
    for name in ("fal", "replicate", "openai", "runway"):
        assert results[name]["status"] == "ok", results[name]
    assert results["closed"]["status"] == "error"
    assert results["closed"].get("error_type") == "HTTPConnectionError"
    after = sum(emu.stats(name).submitted for name in ("fal", "replicate", "openai", "runway"))
    assert after == before  # nothing was submitted


async def test_a_router_prices_what_it_ran(emu: Emulator) -> None:
    """A router's own price row gives response.cost and total_cost_usd for its run."""
    router = Router(prices={"fal/fal-ai/veo3": Price(per_second=0.5)})
    config = emulated_video_config(emu, "fal", "fal-ai/veo3")
    response = await router.generate_video_async(
        config, VideoGenerationRequest(prompt="priced", duration_seconds=6)
    )
    assert response.cost is not None and response.cost.amount_usd == pytest.approx(3.0)
    assert response.execution_metadata.total_cost_usd == pytest.approx(3.0)
