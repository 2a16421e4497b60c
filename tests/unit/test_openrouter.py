"""The OpenRouter client on the wire (respx): the submit's body, the statuses, the
download with the key, errors as OpenRouter words them, no cancel, and the model catalog
(checked before paying, cached per base URL, a failed read typed)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import respx

from tarash.tarash_gateway import generate_video_async
from tarash.tarash_gateway.errors import (
    AuthenticationError,
    GenerationFailedError,
    InsufficientCreditError,
    ProviderServerError,
    ValidationError,
)
from tarash.tarash_gateway.models import VideoGenerationConfig, VideoGenerationRequest
from tarash.tarash_gateway.providers import get_provider_class
from tarash.tarash_gateway.providers._base import ProviderSettings
from tarash.tarash_gateway.providers._openrouter_catalog import (
    CATALOGS,
    ModelCatalogCache,
    parse_catalog,
)
from tarash.tarash_gateway.providers.openrouter import OpenRouterClient
from tarash.tarash_gateway.routing._prices import PriceTable

pytestmark = pytest.mark.anyio

BASE = "https://openrouter-gateway.test/api/v1"
KEY = "sk-or-v1-" + "ab" * 32
JOB = "job-abc123"
MODEL = "google/veo-3.1"
FRAME = "https://example.com/frame.png"
MP4 = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 32
CATALOG = {
    "data": [
        {
            "id": MODEL,
            "supported_durations": [4, 6, 8],
            "supported_resolutions": ["720p", "1080p"],
            "supported_aspect_ratios": ["16:9", "9:16"],
            "supported_frame_images": ["first_frame", "last_frame"],
            "generate_audio": True,
            "seed": True,
            "pricing_skus": {"per-video-second": "0.40", "per-video-second-1080p": "0.50"},
        },
        {"id": "alibaba/wan-2.6", "supported_durations": [5, 10], "seed": False},
    ]
}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True)
def _fresh_catalog(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("TARASH_OPENROUTER_BASE_URL", raising=False)
    CATALOGS.clear()
    yield
    CATALOGS.clear()


def config(model: str = MODEL, **kwargs: Any) -> VideoGenerationConfig:
    return VideoGenerationConfig(
        provider="openrouter",
        model=model,
        api_key=KEY,
        base_url=BASE,
        poll_interval=0.01,
        max_poll_attempts=50,
        **kwargs,
    )


def routes(
    mock: respx.MockRouter, *statuses: dict[str, Any], catalog: Any = CATALOG
) -> dict[str, respx.Route]:
    """The catalog, a submit answering 202 and polls answering ``statuses`` in turn."""
    return {
        "models": mock.get(f"{BASE}/videos/models").respond(200, json=catalog),
        "submit": mock.post(f"{BASE}/videos").respond(
            202, json={"id": JOB, "polling_url": f"{BASE}/videos/{JOB}", "status": "pending"}
        ),
        "poll": mock.get(f"{BASE}/videos/{JOB}").mock(
            side_effect=[httpx.Response(200, json=body) for body in statuses]
        ),
        "content": mock.get(f"{BASE}/videos/{JOB}/content", params={"index": "0"}).respond(
            200, content=MP4, headers={"Content-Type": "video/mp4"}
        ),
    }


def completed() -> dict[str, Any]:
    return {
        "id": JOB,
        "status": "completed",
        "unsigned_urls": [f"{BASE}/videos/{JOB}/content?index=0"],
        "usage": {"cost": 3.2},
    }


def test_no_cancel_is_said_plainly() -> None:
    """No cancel call: the router and the watcher read ``supports_cancel``."""
    assert get_provider_class("openrouter") is OpenRouterClient
    assert OpenRouterClient.supports_cancel is False
    assert OpenRouterClient.credentials is not None
    assert "OPENROUTER_API_KEY" in OpenRouterClient.key_env_vars


async def test_generate_maps_the_request_polls_and_downloads_with_the_key(
    respx_mock: respx.MockRouter,
) -> None:
    wire = routes(
        respx_mock,
        {"id": JOB, "status": "pending"},
        {"id": JOB, "status": "in_progress"},
        completed(),
    )
    request = VideoGenerationRequest(
        prompt="a golden retriever on a beach",
        duration_seconds=8,
        resolution="1080p",
        aspect_ratio="16:9",
        generate_audio=True,
        seed=42,
        image_list=[{"image": FRAME, "type": "first_frame"}],
        extra_params={"callback_url": "https://example.com/hook"},
    )
    response = await generate_video_async(config(), request)
    sent = json.loads(wire["submit"].calls.last.request.content)
    assert sent == {
        "model": MODEL,
        "prompt": "a golden retriever on a beach",
        "duration": 8,
        "resolution": "1080p",
        "aspect_ratio": "16:9",
        "generate_audio": True,
        "seed": 42,
        "frame_images": [
            {"type": "image_url", "image_url": {"url": FRAME}, "frame_type": "first_frame"}
        ],
        "callback_url": "https://example.com/hook",
    }
    assert wire["submit"].calls.last.request.headers["Authorization"] == f"Bearer {KEY}"
    assert wire["content"].calls.last.request.headers["Authorization"] == f"Bearer {KEY}"
    assert response.request_id == JOB
    video = response.video
    assert isinstance(video, dict) and video["content"] == MP4


async def test_the_catalog_is_read_once_per_base_url(respx_mock: respx.MockRouter) -> None:
    wire = routes(respx_mock, completed(), completed())
    request = VideoGenerationRequest(prompt="a cat", duration_seconds=4)
    await generate_video_async(config(), request)
    await generate_video_async(config(), request)
    assert wire["models"].call_count == 1 and wire["submit"].call_count == 2


async def test_a_value_the_catalog_does_not_list_is_refused_before_paying(
    respx_mock: respx.MockRouter,
) -> None:
    wire = routes(respx_mock)
    with pytest.raises(ValidationError, match=r"duration in \[4, 6, 8\]"):
        await generate_video_async(config(), VideoGenerationRequest(prompt="a", duration_seconds=5))
    with pytest.raises(ValidationError, match="takes no seed"):
        await generate_video_async(
            config("alibaba/wan-2.6"), VideoGenerationRequest(prompt="a", seed=1)
        )
    assert wire["submit"].call_count == 0


async def test_a_model_the_catalog_does_not_list_is_refused_naming_some_it_does(
    respx_mock: respx.MockRouter,
) -> None:
    wire = routes(respx_mock)
    with pytest.raises(ValidationError, match=r"alibaba/wan-2\.6, google/veo-3\.1") as caught:
        await generate_video_async(config("acme/nope"), VideoGenerationRequest(prompt="a"))
    assert caught.value.provider == "openrouter" and wire["submit"].call_count == 0


@pytest.mark.parametrize(
    ("reply", "raised"),
    [
        (
            httpx.Response(500, json={"error": {"code": 500, "message": "down"}}),
            ProviderServerError,
        ),
        (httpx.Response(200, json={"models": []}), ProviderServerError),
        (
            httpx.Response(401, json={"error": {"code": 401, "message": "No auth"}}),
            AuthenticationError,
        ),
    ],
)
async def test_a_failed_catalog_read_is_a_typed_error_and_nothing_is_sent(
    respx_mock: respx.MockRouter, reply: httpx.Response, raised: type[Exception]
) -> None:
    wire = routes(respx_mock)
    wire["models"].mock(return_value=reply)
    with pytest.raises(raised):
        await generate_video_async(
            config(max_retries=0), VideoGenerationRequest(prompt="a cat", duration_seconds=4)
        )
    assert wire["submit"].call_count == 0


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"id": JOB, "status": "failed", "error": "upstream refused"}, "upstream refused"),
        ({"id": JOB, "status": "expired"}, "expired before it completed"),
        ({"id": JOB, "status": "cancelled"}, "cancelled before it completed"),
    ],
)
async def test_terminal_failures_are_generation_failures(
    respx_mock: respx.MockRouter, body: dict[str, Any], message: str
) -> None:
    wire = routes(respx_mock, body)
    with pytest.raises(GenerationFailedError, match=message) as caught:
        await generate_video_async(config(), VideoGenerationRequest(prompt="a cat"))
    assert caught.value.request_id == JOB and wire["content"].call_count == 0


async def test_an_out_of_credit_account_is_an_insufficient_credit_error(
    respx_mock: respx.MockRouter,
) -> None:
    wire = routes(respx_mock)
    wire["submit"].respond(
        402, json={"error": {"code": 402, "message": "Insufficient credits", "metadata": {}}}
    )
    with pytest.raises(InsufficientCreditError, match="Insufficient credits") as caught:
        await generate_video_async(config(), VideoGenerationRequest(prompt="a cat"))
    assert KEY not in str(caught.value)


async def test_cancel_sends_nothing_and_says_false(respx_mock: respx.MockRouter) -> None:
    client = OpenRouterClient(ProviderSettings(model=MODEL, base_url=BASE, api_key=None))
    handle = client.new_handle("video", JOB)
    assert handle.cancel_url is None
    assert await client.cancel(handle) is False
    assert not respx_mock.calls


def test_an_input_video_or_an_image_request_is_refused() -> None:
    client = OpenRouterClient(ProviderSettings(model=MODEL, base_url=BASE, api_key=None))
    with pytest.raises(ValidationError, match="no input video"):
        client.prepare_video(
            VideoGenerationRequest(prompt="a", video="https://example.com/clip.mp4")
        )


def test_the_catalog_parses_prices_and_skips_what_it_cannot_read() -> None:
    body = {
        "data": [
            *CATALOG["data"],
            {"name": "no id"},
            {"id": "x/y", "pricing_skus": {"per-video-second": "n/a"}, "supported_durations": "8"},
        ]
    }
    catalog = parse_catalog(body, source="test")
    assert sorted(catalog) == ["alibaba/wan-2.6", MODEL, "x/y"]
    assert catalog[MODEL].per_second == 0.40 and catalog[MODEL].durations == (4, 6, 8)
    assert catalog["x/y"].per_second is None and catalog["x/y"].durations is None


async def test_the_cache_reads_again_after_its_ttl_and_not_after_a_failure() -> None:
    now = [0.0]
    cache = ModelCatalogCache(ttl=10.0, clock=lambda: now[0])
    reads: list[int] = []

    async def read() -> Any:
        reads.append(1)
        return parse_catalog(CATALOG, source="test")

    async def fail() -> Any:
        raise ProviderServerError("down", provider="openrouter")

    with pytest.raises(ProviderServerError):
        await cache.get(BASE, fail)
    await cache.get(BASE, read)
    now[0] = 9.0
    await cache.get(BASE, read)
    await cache.get("https://other.test/api/v1", read)
    now[0] = 20.0
    await cache.get(BASE, read)
    assert len(reads) == 3


def test_the_price_table_says_a_cancelled_job_is_billed_in_full() -> None:
    """No cancel call: what a give-up leaves running is billed (no amounts are kept)."""
    row = PriceTable().price("openrouter", MODEL)
    assert row is not None and row.cancelled == "full" and not row.known
    assert PriceTable().cancelled_cost("openrouter", MODEL, 3.2) == 3.2
