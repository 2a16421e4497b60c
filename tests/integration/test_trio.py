"""The async API runs under trio too (anyio only): streams, held creates and downloads."""

from __future__ import annotations

from pathlib import Path

import pytest

from tarash.emulator import Emulator, Latency
from tarash.tarash_gateway import generate_image_async, generate_video_async
from tarash.tarash_gateway.media import sniff_mime
from tarash.tarash_gateway.models import (
    ImageGenerationConfig,
    ImageGenerationRequest,
    VideoGenerationConfig,
    VideoGenerationRequest,
)

pytestmark = [pytest.mark.integration, pytest.mark.anyio]


@pytest.mark.parametrize("anyio_backend", ["trio"])
async def test_fal_stream_and_replicate_held_create_under_trio(tmp_path: Path) -> None:
    """Under trio: a fal video over its status stream, saved; a Replicate image held by
    Prefer: wait."""
    async with Emulator(latency=Latency(queue_seconds=0.05, run_seconds=0.2)) as emu:
        video = await generate_video_async(
            VideoGenerationConfig(
                provider="fal",
                model="fal-ai/veo3",
                base_url=emu.base_url("fal"),
                api_key=emu.api_key("fal"),
            ),
            VideoGenerationRequest(prompt="a cat"),
        )
        saved = await video.save_async(tmp_path / "cat.mp4")
        image = await generate_image_async(
            ImageGenerationConfig(
                provider="replicate",
                model="black-forest-labs/flux-schnell",
                base_url=emu.base_url("replicate"),
                api_key=emu.api_key("replicate"),
            ),
            ImageGenerationRequest(prompt="a fox"),
        )
    assert sniff_mime(saved.read_bytes()) == "video/mp4"
    assert video.execution_metadata.attempts[0].poll_count == 0  # followed by the stream
    assert image.images
    assert image.execution_metadata.attempts[0].poll_count == 0  # answered by the held create
