"""New registry families end to end against the emulator: accepted, classified, mapped."""

from __future__ import annotations

from typing import Any

import pytest

from tarash.emulator import Emulator
from tarash.tarash_gateway import generate_image_async, generate_video_async
from tarash.tarash_gateway.models import (
    ImageGenerationConfig,
    ImageGenerationRequest,
    VideoGenerationRequest,
)
from tests._emulator import emulated_video_config

pytestmark = pytest.mark.integration

CLIP = "https://example.test/clip.mp4"
AUDIO = "https://example.test/voice.mp3"


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("provider", "model", "fields", "wire"),
    [
        (
            "fal",
            "wan/v2.6/text-to-video",
            {"duration_seconds": 12},
            {"prompt": "a cat", "duration": "10"},
        ),
        (
            "fal",
            "fal-ai/sync-lipsync/v2",
            {"video": CLIP, "extra_params": {"audio_url": AUDIO}},
            {"video_url": CLIP, "audio_url": AUDIO},
        ),
        (
            "replicate",
            "kwaivgi/kling-v2.6",
            {"duration_seconds": 10, "generate_audio": True},
            {"prompt": "a cat", "duration": 10, "generate_audio": True},
        ),
    ],
)
async def test_video_family_runs_on_the_emulator(
    emu: Emulator, provider: str, model: str, fields: dict[str, Any], wire: dict[str, Any]
) -> None:
    """A new video family's id is accepted, served a video, and sent its own fields."""
    response = await generate_video_async(
        emulated_video_config(emu, provider, model),
        VideoGenerationRequest(prompt="a cat", **fields),
    )
    job = emu.jobs(provider)[-1]
    assert job.model == model
    assert job.input == wire
    assert response.content_type == "video/mp4"


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("provider", "model", "wire"),
    [
        ("fal", "fal-ai/reve/text-to-image", {"prompt": "a cat", "aspect_ratio": "1:1"}),
        ("fal", "xai/grok-imagine-image", {"prompt": "a cat", "aspect_ratio": "1:1"}),
        ("replicate", "luma/photon", {"prompt": "a cat", "aspect_ratio": "1:1"}),
    ],
)
async def test_image_family_runs_on_the_emulator(
    emu: Emulator, provider: str, model: str, wire: dict[str, Any]
) -> None:
    """A new image family's id is classified as an image model and sent its own fields."""
    config = ImageGenerationConfig(
        provider=provider,
        model=model,
        base_url=emu.base_url(provider),
        api_key=emu.api_key(provider),
        poll_interval=0.05,
    )
    response = await generate_image_async(
        config, ImageGenerationRequest(prompt="a cat", aspect_ratio="1:1")
    )
    job = emu.jobs(provider)[-1]
    assert job.input == wire
    assert response.images
