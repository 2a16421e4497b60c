"""The Replicate client end to end against the bundled emulator's predictions API."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tarash.emulator import Emulator, Fault, ReplicateOptions
from tarash.tarash_gateway import (
    generate_image_async,
    generate_video_async,
)
from tarash.tarash_gateway.media import sniff_mime
from tarash.tarash_gateway.models import (
    ImageGenerationConfig,
    ImageGenerationRequest,
    VideoGenerationConfig,
    VideoGenerationRequest,
)
from tests._emulator import FAST, emulated_video_config, tiny_png

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def _in_process(in_process_emu: Emulator) -> None:
    """Sockets do not matter to these cases: tarash reaches the emulator in-process."""


def video_config(
    emu: Emulator, model: str = "google/veo-3", **kwargs: Any
) -> VideoGenerationConfig:
    return emulated_video_config(emu, "replicate", model, **kwargs)


def last_job(emu: Emulator) -> Any:
    return emu.jobs("replicate")[-1]


@pytest.mark.anyio
async def test_text_to_video_adapts_duration(emu: Emulator) -> None:
    """veo-3 asked for 5 s submits 8 s with Cancel-After, polls, and returns the video URL."""
    response = await generate_video_async(
        video_config(emu), VideoGenerationRequest(prompt="a cat surfing", duration_seconds=5)
    )
    job = last_job(emu)
    assert job.model == "google/veo-3"
    assert job.input == {"prompt": "a cat surfing", "duration": 8}
    assert job.headers["cancel-after"].endswith("s")
    assert "prefer" not in job.headers
    assert response.request_id == job.id
    assert response.duration == 8
    assert response.content_type == "video/mp4"
    assert isinstance(response.video, str)
    assert response.video.startswith(emu.url)
    attempt = response.execution_metadata.attempts[0]
    assert attempt.status == "success"
    assert attempt.adaptations == ["duration_seconds: 5 -> 8 (google/veo-3 offers 8s)"]
    assert attempt.poll_count >= 1


@pytest.mark.anyio
async def test_image_to_video_sends_the_png(emu: Emulator) -> None:
    """kling-v2.1 gets the PNG bytes as a data URI in start_image."""
    png = tiny_png()
    response = await generate_video_async(
        video_config(emu, "kwaivgi/kling-v2.1"),
        VideoGenerationRequest(
            prompt="the cat jumps",
            duration_seconds=5,
            image_list=[{"image": png, "type": "first_frame"}],
        ),
    )
    job = last_job(emu)
    assert job.input["start_image"].startswith("data:image/png;base64,")
    assert job.input["duration"] == 5
    assert response.content_type == "video/mp4"


@pytest.mark.anyio
async def test_flux_image_is_held_and_needs_no_poll(emu: Emulator) -> None:
    """flux-schnell creates with Prefer: wait=10 and gets the finished images back at once."""
    response = await generate_image_async(
        ImageGenerationConfig(
            provider="replicate",
            model="black-forest-labs/flux-schnell",
            base_url=emu.base_url("replicate"),
            api_key=emu.api_key("replicate"),
        ),
        ImageGenerationRequest(prompt="a fox", n=2, aspect_ratio="16:9"),
    )
    job = last_job(emu)
    assert job.headers["prefer"] == "wait=10"
    assert job.input == {"prompt": "a fox", "num_outputs": 2, "aspect_ratio": "16:9"}
    assert len(response.images) == 2
    assert response.content_type == "image/png"
    attempt = response.execution_metadata.attempts[0]
    assert (attempt.poll_count, attempt.http_requests) == (0, 1)


@pytest.mark.anyio
async def test_fallback_from_fal_to_replicate(emu: Emulator) -> None:
    """fal failing (server errors) falls back to Replicate's veo-3, recording two attempts."""
    emu.inject(Fault("server_error", provider="fal", times=None))
    config = emulated_video_config(emu, "fal", "fal-ai/veo3", fallback_configs=[video_config(emu)])
    response = await generate_video_async(
        config, VideoGenerationRequest(prompt="a cat surfing", duration_seconds=8)
    )
    assert response.provider == "replicate"
    meta = response.execution_metadata
    assert meta.fallback_triggered
    assert [(a.provider, a.status) for a in meta.attempts] == [
        ("fal", "failed"),
        ("replicate", "success"),
    ]
    assert meta.successful_attempt == 2


@pytest.mark.anyio
async def test_data_uri_outputs_are_saved_without_download(tmp_path: Path) -> None:
    """Outputs given as data: URIs come back as such (no expiry) and save to a valid PNG."""
    with Emulator(latency=FAST, options=[ReplicateOptions(output="data_uri")]) as emu:
        response = await generate_image_async(
            ImageGenerationConfig(
                provider="replicate",
                model="black-forest-labs/flux-dev",
                base_url=emu.base_url("replicate"),
                api_key=emu.api_key("replicate"),
            ),
            ImageGenerationRequest(prompt="a fox"),
        )
    image = response.images[0]
    assert isinstance(image, str)
    assert image.startswith("data:image/png;base64,")
    assert (response.content_type, response.expires_at) == ("image/png", None)
    saved = await response.save_async(tmp_path / "fox.png")
    assert sniff_mime(saved.read_bytes()) == "image/png"
