"""The key sent with result downloads goes only to the hosts that need it, per media item."""

from __future__ import annotations

from pathlib import Path

import pytest
import respx

from tarash.tarash_gateway import generate_image_async
from tarash.tarash_gateway.models import ImageGenerationConfig, ImageGenerationRequest

pytestmark = pytest.mark.anyio

BASE = "https://api.replicate.test"
TOKEN = "r8_canary-token-0123456789abcdef"
DELIVERY = "https://replicate.delivery/a/out-0.png"
THIRD_PARTY = "https://cdn.thirdparty.test/out-1.png"


def image_config() -> ImageGenerationConfig:
    return ImageGenerationConfig(
        provider="replicate",
        model="black-forest-labs/flux-schnell",
        api_key=TOKEN,
        base_url=BASE,
        poll_interval=0.01,
    )


def succeeded(output: list[str]) -> dict[str, object]:
    return {
        "id": "p1",
        "status": "succeeded",
        "output": output,
        "created_at": "2025-07-30T01:38:07.143Z",
        "completed_at": "2025-07-30T01:39:40.500000Z",
        "urls": {"get": f"{BASE}/v1/predictions/p1", "cancel": f"{BASE}/v1/predictions/p1/cancel"},
    }


@pytest.mark.parametrize("output", [[DELIVERY, THIRD_PARTY], [THIRD_PARTY, DELIVERY]])
async def test_each_image_download_gets_only_its_own_hosts_headers(
    respx_mock: respx.MockRouter, tmp_path: Path, output: list[str]
) -> None:
    """Saving any image sends the token to replicate.delivery and never to another host,
    whichever position either URL holds in the output."""
    respx_mock.post(f"{BASE}/v1/models/black-forest-labs/flux-schnell/predictions").respond(
        201, json=succeeded(output)
    )
    delivery = respx_mock.get(DELIVERY).respond(200, content=b"png-a")
    third = respx_mock.get(THIRD_PARTY).respond(200, content=b"png-b")
    response = await generate_image_async(
        image_config(), ImageGenerationRequest(prompt="a fox", n=2)
    )
    assert response.images == output
    await response.save_async(tmp_path / "0.png", 0)
    await response.save_async(tmp_path / "1.png", 1)
    assert "authorization" not in third.calls.last.request.headers
    assert delivery.calls.last.request.headers["authorization"] == f"Bearer {TOKEN}"
