"""tarash's Google (Gemini API) cells against the emulator, sync and async: Veo
text-to-video and image-to-video, a Gemini image model, a rate-limit fault answered with
RetryInfo, and the RAI-filtered Veo outcome."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tarash.emulator import Emulator, Fault
from tarash.tarash_gateway import (
    generate_image,
    generate_image_async,
    generate_video,
    generate_video_async,
)
from tarash.tarash_gateway._sample_media import make_png
from tarash.tarash_gateway.errors import ContentModerationError
from tarash.tarash_gateway.media import sniff_mime
from tarash.tarash_gateway.models import (
    ImageGenerationConfig,
    ImageGenerationRequest,
    VideoGenerationConfig,
    VideoGenerationRequest,
)
from tests._emulator import emulated_image_config, emulated_video_config

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def _in_process(in_process_emu: Emulator) -> None:
    """Sockets do not matter to these cases: tarash reaches the emulator in-process."""


VEO = "veo-3.1-generate-preview"


def video_config(emu: Emulator, model: str = VEO) -> VideoGenerationConfig:
    return emulated_video_config(emu, "google", model)


def image_config(emu: Emulator, model: str = "gemini-3.1-flash-image") -> ImageGenerationConfig:
    return emulated_image_config(emu, "google", model)


TEXT_TO_VIDEO = VideoGenerationRequest(prompt="a cat", duration_seconds=5, aspect_ratio="16:9")
IMAGE_TO_VIDEO = VideoGenerationRequest(
    prompt="the cat walks",
    duration_seconds=8,
    image_list=[{"image": make_png(1280, 720), "type": "first_frame"}],
)
TEXT_TO_IMAGE = ImageGenerationRequest(prompt="a red fox", aspect_ratio="16:9")


def last_input(emu: Emulator) -> dict[str, Any]:
    return dict(emu.jobs("google")[-1].input)


def test_text_to_video_sync(emu: Emulator, tmp_path: Path) -> None:
    """Veo text-to-video: started, polled to done, 5 s sent as 6, the file URI's redirect
    followed to the MP4."""
    response = generate_video(video_config(emu), TEXT_TO_VIDEO)
    assert last_input(emu)["parameters"]["durationSeconds"] == 6
    response.save(tmp_path / "out.mp4")
    assert sniff_mime((tmp_path / "out.mp4").read_bytes()) == "video/mp4"
    assert emu.stats("google").completed >= 1


@pytest.mark.anyio
async def test_text_to_video_async(emu: Emulator, tmp_path: Path) -> None:
    """The same cell through the async API."""
    response = await generate_video_async(video_config(emu), TEXT_TO_VIDEO)
    await response.save_async(tmp_path / "out.mp4")
    assert sniff_mime((tmp_path / "out.mp4").read_bytes()) == "video/mp4"


def test_image_to_video_sync(emu: Emulator) -> None:
    """Veo image-to-video: the first frame goes inline as base64 bytes."""
    response = generate_video(video_config(emu), IMAGE_TO_VIDEO)
    assert last_input(emu)["frames"]["image"] > 0
    assert ":download" in str(response.video)


@pytest.mark.anyio
async def test_image_to_video_async(emu: Emulator) -> None:
    """The same cell through the async API."""
    await generate_video_async(video_config(emu), IMAGE_TO_VIDEO)
    assert last_input(emu)["frames"]["image"] > 0


def test_gemini_image_sync(emu: Emulator, tmp_path: Path) -> None:
    """Gemini image: :generateContent answers in the request with an inline PNG, returned
    as the published data: URI, which saves."""
    response = generate_image(image_config(emu), TEXT_TO_IMAGE)
    assert response.images[0].startswith("data:image/png;base64,")
    response.save(tmp_path / "out.png")
    assert sniff_mime((tmp_path / "out.png").read_bytes()) == "image/png"


@pytest.mark.parametrize("model", ["imagen-4.0-generate-001", "imagen-4.0-fast-generate-001"])
def test_imagen_images_are_data_uris_that_save(emu: Emulator, tmp_path: Path, model: str) -> None:
    """Imagen's :predict answers with base64 PNGs: data: URIs (the published type) that
    save as the PNG."""
    response = generate_image(image_config(emu, model), TEXT_TO_IMAGE)
    assert [image[:22] for image in response.images] == ["data:image/png;base64,"]
    assert response.content_type == "image/png"
    assert sniff_mime(response.save(tmp_path / "imagen.png").read_bytes()) == "image/png"


@pytest.mark.anyio
async def test_gemini_image_async(emu: Emulator) -> None:
    """The same cell through the async API."""
    response = await generate_image_async(image_config(emu), TEXT_TO_IMAGE)
    assert len(response.images) == 1


def test_a_rate_limit_fault_is_waited_out_by_retry_info(emu: Emulator) -> None:
    """A 429 RESOURCE_EXHAUSTED (wait in RetryInfo, no Retry-After) is retried, then runs."""
    emu.inject(Fault("rate_limit", provider="google", operation="submit", retry_after=0))
    response = generate_video(video_config(emu), TEXT_TO_VIDEO)
    assert ":download" in str(response.video)


def test_rai_filtered_veo_is_content_moderation(emu: Emulator) -> None:
    """A content_refusal fault: done with raiMediaFilteredCount and no samples ->
    ContentModerationError carrying the reason."""
    emu.inject(Fault("content_refusal", provider="google"))
    with pytest.raises(ContentModerationError, match="person generation"):
        generate_video(video_config(emu), TEXT_TO_VIDEO)


def test_a_blocked_gemini_image_is_content_moderation(emu: Emulator) -> None:
    """A content_refusal on an image: 200 with promptFeedback.blockReason -> refusal."""
    emu.inject(Fault("content_refusal", provider="google"))
    with pytest.raises(ContentModerationError, match="PROHIBITED_CONTENT"):
        generate_image(image_config(emu), TEXT_TO_IMAGE)
