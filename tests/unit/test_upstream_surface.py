"""The published repository's newer surface: ordered batches, costs, estimate_cost,
health_check and the timeout_seconds config field."""

from __future__ import annotations

import json
import logging
from typing import Any

import httpx
import pytest
import respx

from tarash.tarash_gateway import (
    BatchItemResult,
    CostEstimate,
    GenerationCost,
    ImageBatchItem,
    VideoBatchCompletionUpdate,
    VideoBatchItem,
    VideoGenerationUpdate,
    estimate_cost,
    generate_image_batch_async,
    generate_video_batch,
    generate_video_batch_async,
    health_check,
    health_check_async,
)
from tarash.tarash_gateway.errors import GenerationFailedError, TarashException, ValidationError
from tarash.tarash_gateway.mock import MockConfig
from tarash.tarash_gateway.models import (
    AttemptMetadata,
    AudioGenerationConfig,
    ExecutionMetadata,
    ImageGenerationConfig,
    ImageGenerationRequest,
    TTSResponse,
    VideoGenerationConfig,
    VideoGenerationRequest,
    VideoGenerationResponse,
)
from tarash.tarash_gateway.router import Router
from tarash.tarash_gateway.routing._prices import Price
from tests.unit.fake_provider import BASE, FAKE_KEY

anyio_only = pytest.mark.anyio


def fake(model: str = "t2v", **kwargs: Any) -> VideoGenerationConfig:
    return VideoGenerationConfig(
        provider="fake", model=model, api_key=FAKE_KEY, base_url=BASE, poll_interval=0.001, **kwargs
    )


def serve_jobs(respx_mock: respx.MockRouter, polls: dict[str, list[dict[str, Any]]]) -> None:
    """Each prompt is its job's id; ``polls[id]`` are its status replies, in order."""

    def submit(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"id": json.loads(request.content)["prompt"]})

    respx_mock.post(f"{BASE}/jobs").mock(side_effect=submit)
    for job, replies in polls.items():
        respx_mock.get(f"{BASE}/jobs/{job}").mock(
            side_effect=[httpx.Response(200, json=reply) for reply in replies]
        )


DONE = {"status": "done", "url": "https://cdn.test/v.mp4"}


# -- ordered batches ---------------------------------------------------------------------


@anyio_only
async def test_a_video_batch_answers_in_input_order(respx_mock: respx.MockRouter) -> None:
    """Results come back in input order (results[i].index == i) though item 1 finished
    first, with the counts, and on_batch_progress is told of each item as it ends."""
    serve_jobs(
        respx_mock,
        {"slow": [{"status": "running", "progress": 50}, DONE], "fast": [DONE]},
    )
    ended: list[VideoBatchCompletionUpdate] = []
    items = [
        VideoBatchItem(request=VideoGenerationRequest(prompt="slow")),
        VideoBatchItem(request=VideoGenerationRequest(prompt="fast")),
    ]
    batch = await generate_video_batch_async(fake(), items, on_batch_progress=ended.append)
    assert [result.index for result in batch.results] == [0, 1]
    assert all(result.status == "completed" for result in batch.results)
    assert (batch.total, batch.succeeded, batch.failed) == (2, 2, 0)
    assert batch.results[0].response is not None
    assert batch.results[0].response.video == "https://cdn.test/v.mp4"
    assert [update.completed_count for update in ended] == [1, 2]
    assert {update.index for update in ended} == {0, 1}
    assert all(update.total_count == 2 for update in ended)


@anyio_only
async def test_a_failed_item_is_its_result_not_raised(respx_mock: respx.MockRouter) -> None:
    """A failure is the item's result (status failed, the tarash error); the others run."""
    serve_jobs(respx_mock, {"ok": [DONE], "bad": [{"status": "failed", "error": "nope"}]})
    items = [
        VideoBatchItem(request=VideoGenerationRequest(prompt="ok")),
        VideoBatchItem(request=VideoGenerationRequest(prompt="bad")),
    ]
    batch = await generate_video_batch_async(fake(), items, max_concurrent=1)
    good, bad = batch.results
    assert good.status == "completed" and good.error is None
    assert bad.status == "failed" and bad.response is None
    assert isinstance(bad.error, GenerationFailedError)
    assert (batch.succeeded, batch.failed) == (1, 1)


@anyio_only
async def test_an_items_own_config_is_used(respx_mock: respx.MockRouter) -> None:
    """An item with a config of its own runs on it; the others on the batch's config."""
    serve_jobs(respx_mock, {"a": [DONE], "b": [DONE], "c": [DONE]})
    items = [
        VideoBatchItem(request=VideoGenerationRequest(prompt="a")),
        VideoBatchItem(request=VideoGenerationRequest(prompt="b"), config=fake("other")),
        VideoBatchItem(request=VideoGenerationRequest(prompt="c")),
    ]
    batch = await generate_video_batch_async(fake(), items)
    models = [result.response.model for result in batch.results if result.response is not None]
    assert models == ["t2v", "other", "t2v"]


@anyio_only
async def test_item_progress_is_forwarded(respx_mock: respx.MockRouter) -> None:
    """on_item_progress gets each item's VideoGenerationUpdate, as on_progress would."""
    serve_jobs(respx_mock, {"a": [{"status": "running", "progress": 40}, DONE]})
    updates: list[VideoGenerationUpdate] = []

    async def on_item_progress(update: VideoGenerationUpdate) -> None:
        updates.append(update)

    items = [VideoBatchItem(request=VideoGenerationRequest(prompt="a"))]
    await generate_video_batch_async(fake(), items, on_item_progress=on_item_progress)
    assert any(u.status == "processing" and u.progress_percent == 40 for u in updates)
    assert all(isinstance(u, VideoGenerationUpdate) for u in updates)


@anyio_only
async def test_a_failing_batch_progress_callback_is_logged_and_the_batch_goes_on(
    respx_mock: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    """What on_batch_progress raises is logged as a warning; every item still ends."""
    serve_jobs(respx_mock, {"a": [DONE], "b": [DONE]})

    def broken(update: VideoBatchCompletionUpdate) -> None:
        raise RuntimeError("display broke")

    items = [VideoBatchItem(request=VideoGenerationRequest(prompt=p)) for p in ("a", "b")]
    with caplog.at_level(logging.WARNING, logger="tarash.batch"):
        batch = await generate_video_batch_async(fake(), items, on_batch_progress=broken)
    assert batch.succeeded == 2
    assert sum("on_batch_progress raised" in r.getMessage() for r in caplog.records) == 2


@pytest.mark.parametrize("bad", [0, 51, True, 2.5])
def test_max_concurrent_is_one_to_fifty(bad: object) -> None:
    """max_concurrent outside 1-50 (or not an int) is refused before anything is sent."""
    items = [VideoBatchItem(request=VideoGenerationRequest(prompt="a"))]
    with pytest.raises(ValidationError, match=r"max_concurrent=.*1 to 50"):
        generate_video_batch(fake(), items, max_concurrent=bad)  # type: ignore[arg-type]


def test_a_wrong_item_is_refused_before_anything_is_sent() -> None:
    """An image item in a video batch: a ValidationError naming the item, nothing sent."""
    items: list[Any] = [ImageBatchItem(request=ImageGenerationRequest(prompt="a"))]
    with pytest.raises(ValidationError, match=r"items\[0\]"):
        generate_video_batch(fake(), items)


def test_an_empty_batch_is_an_empty_response() -> None:
    """No items: no results, all counts zero."""
    batch = generate_video_batch(fake(), [])
    assert (batch.results, batch.total, batch.succeeded, batch.failed) == ([], 0, 0, 0)


def test_the_sync_twin_and_an_image_batch_on_the_mock() -> None:
    """generate_video_batch (sync) and generate_image_batch_async on the mock provider."""
    mocked = MockConfig(enabled=True)
    video = VideoGenerationConfig(provider="fal", model="fal-ai/veo3", mock=mocked)
    items = [VideoBatchItem(request=VideoGenerationRequest(prompt=str(n))) for n in range(3)]
    batch = generate_video_batch(video, items, max_concurrent=2)
    assert batch.succeeded == 3 and all(r.response and r.response.is_mock for r in batch.results)

    import anyio

    image = ImageGenerationConfig(provider="fal", model="fal-ai/flux/dev", mock=mocked)
    images = anyio.run(
        generate_image_batch_async,
        image,
        [ImageBatchItem(request=ImageGenerationRequest(prompt="x"))],
    )
    assert images.succeeded == 1 and images.results[0].index == 0


def test_bare_batch_items_and_plain_requests_are_items() -> None:
    """A bare BatchItem(request=...) (the published spelling) and a plain request both run;
    a VideoBatchItemResult is a BatchItemResult."""
    from tarash.tarash_gateway import BatchItem, VideoBatchItemResult

    mocked = MockConfig(enabled=True)
    video = VideoGenerationConfig(provider="fal", model="fal-ai/veo3", mock=mocked)
    items: list[Any] = [BatchItem(request=VideoGenerationRequest(prompt="a"))]
    items.append(VideoGenerationRequest(prompt="b"))
    batch = generate_video_batch(video, items)
    assert batch.succeeded == 2
    assert issubclass(VideoBatchItemResult, BatchItemResult)


def test_batch_item_result_holds_a_tarash_error() -> None:
    """BatchItemResult carries a TarashException as is (not validated into text)."""
    error = TarashException("boom")
    result: BatchItemResult[Any] = BatchItemResult(index=3, status="failed", error=error)
    assert result.error is error and result.response is None


# -- costs ---------------------------------------------------------------------------------


@anyio_only
async def test_a_response_reports_its_cost(respx_mock: respx.MockRouter) -> None:
    """response.cost, AttemptMetadata.cost and total_cost_usd come from the price table:
    4 s at $0.5/s is $2."""
    serve_jobs(respx_mock, {"a": [DONE]})
    router = Router(prices={"fake/t2v": Price(per_second=0.5)})
    response = await router.generate_video_async(
        fake(), VideoGenerationRequest(prompt="a", duration_seconds=4)
    )
    assert response.cost == GenerationCost(amount_usd=2.0, raw_amount=2.0, raw_unit="USD")
    (attempt,) = response.execution_metadata.attempts
    assert attempt.cost == response.cost
    assert response.execution_metadata.total_cost_usd == pytest.approx(2.0)


@anyio_only
async def test_total_cost_counts_every_attempt(respx_mock: respx.MockRouter) -> None:
    """A failed primary's job is paid for too: total_cost_usd adds it to the winner's,
    and response.cost is the winner's alone."""
    serve_jobs(respx_mock, {"a": [{"status": "failed", "error": "x"}, DONE]})
    router = Router(prices={"fake/t2v": Price(per_second=0.5), "fake/b": Price(per_second=1.0)})
    config = fake(fallback_configs=[fake("b")])
    response = await router.generate_video_async(
        config, VideoGenerationRequest(prompt="a", duration_seconds=4)
    )
    assert response.cost is not None and response.cost.amount_usd == pytest.approx(4.0)
    assert response.execution_metadata.total_cost_usd == pytest.approx(6.0)


@anyio_only
async def test_no_price_means_no_cost(respx_mock: respx.MockRouter) -> None:
    """No price row: cost and total_cost_usd are None, never a made-up 0."""
    serve_jobs(respx_mock, {"a": [DONE]})
    response = await Router().generate_video_async(
        fake(), VideoGenerationRequest(prompt="a", duration_seconds=4)
    )
    assert response.cost is None and response.execution_metadata.total_cost_usd is None


def test_costs_given_by_hand_are_kept() -> None:
    """A response, attempt or metadata made with a cost keeps it; without one it is None;
    positional construction of the published ten attempt fields still works."""
    from datetime import UTC, datetime

    now = datetime.now(UTC)
    cost = GenerationCost(amount_usd=0.4, raw_amount=8.0, raw_unit="seconds")
    plain = AttemptMetadata("fal", "fal-ai/veo3", 1, now, now, "success", None, None, None, "r")
    assert plain.cost is None and plain.request_id == "r"
    priced = AttemptMetadata("fal", "fal-ai/veo3", 1, now, now, "success", cost=cost)
    assert priced.cost is cost
    assert ExecutionMetadata(attempts=[plain]).total_cost_usd is None
    assert ExecutionMetadata(attempts=[plain], total_cost_usd=1.5).total_cost_usd == 1.5
    video = VideoGenerationResponse(request_id="v", video="https://x/v.mp4", cost=cost)
    assert video.cost is cost
    assert VideoGenerationResponse(request_id="v", video="https://x/v.mp4").cost is None
    assert TTSResponse(request_id="t", audio="AAAA", cost=cost).cost is cost


def test_metadata_assembly_prices_every_attempt() -> None:
    """Assembled metadata turns each estimate into attempt.cost (no amount_usd for another
    currency) and sums the dollar ones into total_cost_usd."""
    from tarash.tarash_gateway.routing._metadata import MetadataCollector

    collector = MetadataCollector(configs_in_chain=3)
    for estimate, currency in ((1.5, "USD"), (3.0, "EUR"), (0.5, "USD")):
        meta = collector.new_attempt("p", "m").finish("failed", None)
        meta.estimated_cost, meta.cost_currency = estimate, currency
    metadata = collector.build(3)
    euro = metadata.attempts[1].cost
    assert euro == GenerationCost(amount_usd=None, raw_amount=3.0, raw_unit="EUR")
    assert metadata.total_cost_usd == pytest.approx(2.0)


def test_estimate_cost_ranges_over_the_models_durations() -> None:
    """fal-ai/veo3 (4-8 s, $0.2/s without audio to $0.4/s with): $0.8 to $3.2."""
    config = VideoGenerationConfig(provider="fal", model="fal-ai/veo3")
    estimate = estimate_cost(config)
    assert estimate == CostEstimate(min_usd=0.8, max_usd=3.2, model="fal-ai/veo3", provider="fal")
    assert estimate.avg_usd == pytest.approx(2.0)


def test_estimate_cost_reads_the_routers_prices() -> None:
    """A router's own row prices an image model; an unknown price is None."""
    router = Router(prices={"fal/fal-ai/flux/dev": Price(per_image=0.025, per_run=0.005)})
    config = ImageGenerationConfig(provider="fal", model="fal-ai/flux/dev")
    assert estimate_cost(config, router=router) == CostEstimate(
        min_usd=0.03, max_usd=0.03, model="fal-ai/flux/dev", provider="fal"
    )
    assert estimate_cost(ImageGenerationConfig(provider="openai", model="dall-e-3")) is None


def test_estimate_cost_refuses_what_is_not_a_config() -> None:
    """An audio config (or anything else) is a ValidationError; an unknown provider has
    no price, so None (as published), even where a row names it."""
    with pytest.raises(ValidationError, match="estimate_cost"):
        estimate_cost(AudioGenerationConfig(provider="fake", model="m"))  # type: ignore[arg-type]
    assert estimate_cost(VideoGenerationConfig(provider="nope", model="m")) is None
    router = Router(prices={"nope/m": Price(per_second=1.0, per_run=0.5)})
    assert estimate_cost(VideoGenerationConfig(provider="nope", model="m"), router=router) is None
    router = Router(prices={"nope/m": Price(per_run=0.5)})
    config = VideoGenerationConfig(provider="nope", model="m")
    assert estimate_cost(config, router=router) == CostEstimate(
        min_usd=0.5, max_usd=0.5, model="m", provider="nope"
    )


# -- health checks -------------------------------------------------------------------------


@anyio_only
async def test_a_reachable_provider_is_ok_and_the_key_is_not_sent(
    respx_mock: respx.MockRouter,
) -> None:
    """Any HTTP answer from the API's base URL is ok, timed; no key goes out."""
    route = respx_mock.get(f"{BASE}/").respond(404)
    results = await health_check_async({"primary": fake()})
    result = results["primary"]
    assert result["status"] == "ok" and "error" not in result
    assert result["provider"] == "fake" and result["model"] == "t2v"
    assert isinstance(result["latency_ms"], int) and result["latency_ms"] >= 0
    assert route.call_count == 1
    assert "authorization" not in route.calls.last.request.headers


@anyio_only
async def test_an_unreachable_provider_is_an_error(respx_mock: respx.MockRouter) -> None:
    """A connection that cannot be made is status error with the tarash error's name."""
    respx_mock.get(f"{BASE}/").mock(side_effect=httpx.ConnectError("refused"))
    result = (await health_check_async(fake(max_retries=0)))["fake"]
    assert result["status"] == "error" and result.get("error_type") == "HTTPConnectionError"
    assert result["latency_ms"] >= 0


def test_no_key_unknown_provider_mock_and_handler(monkeypatch: pytest.MonkeyPatch) -> None:
    """No key: an error before any request; an unknown provider: an error in the published
    words; a mocked config and a registered handler: ok without a probe (sync twin)."""
    import uuid

    from tarash.tarash_gateway import register_provider

    class Handler:
        def generate_video(self, config: Any, request: Any, on_progress: Any = None) -> Any:
            raise NotImplementedError

    monkeypatch.delenv("FAKE_PROVIDER_KEY", raising=False)
    # Registrations are global: a name of its own, as the other registry tests do.
    name = f"stub-health-{uuid.uuid4().hex[:8]}"
    register_provider(name, Handler())
    results = health_check(
        {
            "keyless": VideoGenerationConfig(provider="fake", model="t2v", base_url=BASE),
            "bad": VideoGenerationConfig(provider="nope", model="m"),
            "mock": VideoGenerationConfig(provider="fal", model="x", mock=MockConfig(enabled=True)),
            "stub": AudioGenerationConfig(provider=name, model="m"),
        }
    )
    assert results["keyless"]["status"] == "error"
    assert results["keyless"].get("error_type") == "AuthenticationError"
    assert results["bad"]["status"] == "error"
    assert "Unsupported provider: nope" in results["bad"].get("error", "")
    assert results["mock"]["status"] == "ok" and results["stub"]["status"] == "ok"
    assert health_check({}) == {}


def test_health_check_refuses_what_is_not_a_config() -> None:
    """A non-config or a non-positive timeout is a ValidationError."""
    with pytest.raises(ValidationError, match="not a config"):
        health_check(["fal"])  # type: ignore[list-item]
    with pytest.raises(ValidationError, match="timeout"):
        health_check([fake()], timeout=0)


# -- timeout_seconds -------------------------------------------------------------------------


def test_timeout_seconds_is_the_deadline() -> None:
    """timeout_seconds= sets timeout, and config.timeout_seconds reads it, on every config."""
    assert VideoGenerationConfig(provider="fal", model="m", timeout_seconds=30).timeout == 30
    assert ImageGenerationConfig(provider="fal", model="m", timeout_seconds=5).timeout_seconds == 5
    audio = AudioGenerationConfig(provider="fake", model="m", timeout_seconds=7)
    assert audio.timeout == 7 == audio.timeout_seconds
    assert VideoGenerationConfig(provider="fal", model="m").timeout_seconds == 600


def test_timeout_seconds_wins_over_timeout() -> None:
    """Both given: timeout_seconds is the deadline (as published, it takes precedence)."""
    both = VideoGenerationConfig(provider="fal", model="m", timeout=900, timeout_seconds=450)
    assert both.timeout == 450 == both.timeout_seconds
    fallback = VideoGenerationConfig(provider="openai", model="sora-2", timeout_seconds=180)
    chained = VideoGenerationConfig(
        provider="fal", model="m", timeout_seconds=500, fallback_configs=[fallback]
    )
    assert chained.fallback_configs is not None
    assert (chained.timeout_seconds, chained.fallback_configs[0].timeout_seconds) == (500, 180)


def test_cost_estimate_is_frozen_at_its_published_path() -> None:
    """tarash.tarash_gateway.costs holds estimate_cost and CostEstimate, a frozen dataclass
    (assigning raises AttributeError, as published)."""
    from tarash.tarash_gateway import costs

    assert costs.estimate_cost is estimate_cost and costs.CostEstimate is CostEstimate
    estimate = CostEstimate(min_usd=0.1, max_usd=0.3, model="m", provider="p")
    assert estimate.avg_usd == pytest.approx(0.2)
    with pytest.raises(AttributeError):
        estimate.min_usd = 0.5  # type: ignore[misc]


# -- speech batches ---------------------------------------------------------------------------


class _Voice:
    """A published-style speech handler: async TTS (failing on 'bad'), sync STS."""

    def __init__(self) -> None:
        self.spoken: list[str] = []

    async def generate_tts_async(self, config: Any, request: Any, on_progress: Any = None) -> Any:
        from tarash.tarash_gateway.models import TTSResponse, TTSUpdate

        if on_progress is not None:
            await on_progress(TTSUpdate(request_id="t", status="processing", progress_percent=50))
        if request.text == "bad":
            raise GenerationFailedError("the voice broke")
        self.spoken.append(request.text)
        return TTSResponse(request_id=f"t-{request.text}", audio=request.text.encode())

    def generate_sts(self, config: Any, request: Any, on_progress: Any = None) -> Any:
        from tarash.tarash_gateway.models import STSResponse

        return STSResponse(request_id="s", audio="AAAA")


def _voice() -> tuple[str, _Voice]:
    import uuid

    from tarash.tarash_gateway import register_provider

    name, handler = f"voice-{uuid.uuid4().hex[:8]}", _Voice()
    register_provider(name, handler)
    return name, handler


@anyio_only
async def test_a_tts_batch_speaks_each_item_in_order() -> None:
    """generate_tts_batch_async: one handler call per item, results in input order, a
    failure its item's result, each item's updates forwarded."""
    from tarash.tarash_gateway import TTSBatchItem, generate_tts_batch_async
    from tarash.tarash_gateway.models import TTSRequest, TTSUpdate

    name, handler = _voice()
    updates: list[TTSUpdate] = []
    items = [TTSBatchItem(request=TTSRequest(text=text)) for text in ("one", "bad", "three")]
    batch = await generate_tts_batch_async(
        AudioGenerationConfig(provider=name, model="v"), items, on_item_progress=updates.append
    )
    assert [r.status for r in batch.results] == ["completed", "failed", "completed"]
    assert batch.results[0].response is not None
    assert batch.results[0].response.audio_bytes() == b"one"
    assert isinstance(batch.results[1].error, GenerationFailedError)
    assert sorted(handler.spoken) == ["one", "three"]
    assert len(updates) == 3 and all(u.progress_percent == 50 for u in updates)


def test_an_sts_batch_and_its_checks() -> None:
    """generate_sts_batch (sync) runs STS items; a TTS item there is refused up front."""
    from tarash.tarash_gateway import STSBatchItem, TTSBatchItem, generate_sts_batch
    from tarash.tarash_gateway.models import STSRequest, TTSRequest

    name, _ = _voice()
    config = AudioGenerationConfig(provider=name, model="v")
    items = [STSBatchItem(request=STSRequest(audio="AAAA", voice_id="v")) for _ in range(2)]
    batch = generate_sts_batch(config, items, max_concurrent=1)
    assert batch.succeeded == 2 and [r.index for r in batch.results] == [0, 1]
    wrong: list[Any] = [TTSBatchItem(request=TTSRequest(text="x"))]
    with pytest.raises(ValidationError, match=r"items\[0\]"):
        generate_sts_batch(config, wrong)
