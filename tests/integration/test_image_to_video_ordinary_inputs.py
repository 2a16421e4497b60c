"""Every image-to-video cell of the seed's table takes an ordinary image: a 1024x768 PNG or
JPEG, of no size any model asks for, reaches each provider's strict emulation through
``generate_video`` (Sora's first frame fitted to the video's size on the way)."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from tarash.emulator import Emulator
from tarash.tarash_gateway import generate_video_async
from tarash.tarash_gateway._sample_media import make_png
from tarash.tarash_gateway.models import VideoGenerationRequest
from tests._emulator import emulated_video_config

pytestmark = pytest.mark.integration

CELLS = [
    ("openai", "sora-2"),
    ("azure_openai", "my-sora"),
    ("fal", "fal-ai/kling-video/v2.1/standard/image-to-video"),
    ("google", "veo-3.1-generate-preview"),
    ("runway", "gen4_turbo"),
    ("replicate", "kwaivgi/kling-v2.1"),
]


def ordinary_jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (1024, 768), (200, 120, 40)).save(out, "JPEG")
    return out.getvalue()


@pytest.mark.anyio
@pytest.mark.parametrize(("provider", "model"), CELLS)
@pytest.mark.parametrize("image_format", ["png", "jpeg"])
async def test_an_ordinary_first_frame_works_on_every_cell(
    emu: Emulator, provider: str, model: str, image_format: str
) -> None:
    """The job succeeds; on OpenAI and Azure the attempt notes the pad to 1280x720."""
    image = make_png(1024, 768) if image_format == "png" else ordinary_jpeg()
    request = VideoGenerationRequest(
        prompt="the cat walks",
        aspect_ratio="16:9",
        image_list=[{"image": image, "type": "first_frame"}],
    )
    response = await generate_video_async(emulated_video_config(emu, provider, model), request)
    job = next(job for job in emu.jobs(provider) if job.id == response.request_id)
    assert job.state == "succeeded"
    notes = response.execution_metadata.attempts[0].adaptations
    fitted = [note for note in notes if note.startswith("first_frame: 1024x768 -> 1280x720")]
    assert len(fitted) == (1 if provider in ("openai", "azure_openai") else 0)
