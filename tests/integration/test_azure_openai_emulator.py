"""tarash's Azure OpenAI cells against the emulator, sync and async: v1 video (text and
image-to-video), the legacy Sora-1 jobs API, image deployments (v1 and dated), plus a
fault and the Entra bearer token."""

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
from tarash.tarash_gateway.errors import ContentModerationError, GenerationFailedError
from tarash.tarash_gateway.media import sniff_mime
from tarash.tarash_gateway.models import (
    ImageGenerationConfig,
    ImageGenerationRequest,
    VideoGenerationConfig,
    VideoGenerationRequest,
)

pytestmark = [
    pytest.mark.integration,
    # The legacy jobs API is warned about once per process (it is reportedly retired).
    pytest.mark.filterwarnings(
        "ignore::tarash.tarash_gateway.providers._lifecycle.ModelRetiredWarning"
    ),
]

LEGACY = {"api": "legacy"}


def video_config(emu: Emulator, model: str = "my-sora", **kwargs: Any) -> VideoGenerationConfig:
    fields: dict[str, Any] = {
        "provider": "azure-openai",
        "model": model,
        "base_url": emu.base_url("azure_openai"),
        "api_key": emu.api_key("azure_openai"),
        "poll_interval": 0.05,
        **kwargs,
    }
    return VideoGenerationConfig(**fields)


def image_config(emu: Emulator, model: str = "my-images", **kwargs: Any) -> ImageGenerationConfig:
    fields: dict[str, Any] = {
        "provider": "azure_openai",
        "model": model,
        "base_url": emu.base_url("azure_openai"),
        "api_key": emu.api_key("azure_openai"),
        **kwargs,
    }
    return ImageGenerationConfig(**fields)


def job_of(emu: Emulator, response: Any) -> Any:
    return next(job for job in emu.jobs("azure_openai") if job.id == response.request_id)


I2V = VideoGenerationRequest(
    prompt="the cat plays",
    aspect_ratio="16:9",
    image_list=[{"image": make_png(1280, 720), "type": "first_frame"}],
)


def test_v1_video_sync(emu: Emulator, tmp_path: Path) -> None:
    """v1 t2v on a deployment: the deployment is the model; the MP4 comes downloaded with
    the key (published MediaContent) and saves."""
    response = generate_video(
        video_config(emu), VideoGenerationRequest(prompt="a cat", duration_seconds=12)
    )
    job = job_of(emu, response)
    assert (job.model, job.input["seconds"], job.state) == ("my-sora", "12", "succeeded")
    assert isinstance(response.video, dict) and response.video["content_type"] == "video/mp4"
    assert sniff_mime(response.save(tmp_path / "v.mp4").read_bytes()) == "video/mp4"


@pytest.mark.anyio
async def test_v1_image_to_video_async(emu: Emulator, tmp_path: Path) -> None:
    """v1 image-to-video: the first frame is the multipart input_reference."""
    response = await generate_video_async(video_config(emu), I2V)
    assert job_of(emu, response).input["input_reference"]["size"] == (1280, 720)
    saved = await response.save_async(tmp_path / "v.mp4")
    assert sniff_mime(saved.read_bytes()) == "video/mp4"


@pytest.mark.anyio
async def test_v1_image_to_video_with_an_ordinary_png_is_fitted(emu: Emulator) -> None:
    """An ordinary PNG of another size is cropped to the video's (image_fit='crop') and
    taken by the emulator, which refuses a mismatched frame as the API does."""
    request = I2V.model_copy(
        update={"image_list": [{"image": make_png(800, 800), "type": "first_frame"}]}
    )
    config = video_config(emu, provider_config={"image_fit": "crop"})
    response = await generate_video_async(config, request)
    job = job_of(emu, response)
    assert (job.state, job.input["input_reference"]["size"]) == ("succeeded", (1280, 720))
    notes = response.execution_metadata.attempts[0].adaptations
    assert any("800x800 -> 1280x720 (cropped" in note for note in notes)


def test_v1_image_to_video_sync(emu: Emulator) -> None:
    """v1 image-to-video through the sync API."""
    response = generate_video(video_config(emu), I2V)
    assert job_of(emu, response).state == "succeeded"


@pytest.mark.anyio
async def test_v1_video_async(emu: Emulator) -> None:
    """v1 t2v through the async API, with an Entra token as a Bearer."""
    response = await generate_video_async(
        video_config(emu, provider_config={"auth": "entra"}), VideoGenerationRequest(prompt="x")
    )
    assert job_of(emu, response).state == "succeeded"


def test_legacy_video_sync(emu: Emulator, tmp_path: Path) -> None:
    """Sora-1 jobs API: width/height/n_seconds sent; the generation's MP4 comes downloaded
    (published MediaContent) and saves."""
    response = generate_video(
        video_config(emu, "my-sora-1", provider_config=LEGACY),
        VideoGenerationRequest(
            prompt="a cat", duration_seconds=5, aspect_ratio="1:1", resolution="480p"
        ),
    )
    job = job_of(emu, response)
    assert job.input == {
        "prompt": "a cat",
        "width": 480,
        "height": 480,
        "n_seconds": 5,
        "n_variants": 1,
    }
    assert isinstance(response.video, dict)
    assert sniff_mime(response.video["content"]) == "video/mp4"
    assert sniff_mime(response.save(tmp_path / "l.mp4").read_bytes()) == "video/mp4"


@pytest.mark.anyio
async def test_legacy_video_async(emu: Emulator) -> None:
    """The legacy jobs API through the async API, every state reported."""
    updates: list[Any] = []
    response = await generate_video_async(
        video_config(emu, "my-sora-1", provider_config=LEGACY),
        VideoGenerationRequest(prompt="a cat"),
        on_progress=updates.append,
    )
    assert updates[-1].status == "completed"
    assert response.raw_response["status"] == "succeeded"


def test_legacy_failed_job_is_generation_failed(emu: Emulator) -> None:
    """job_failure on the legacy API: failure_reason internal_error, GenerationFailedError."""
    emu.inject(Fault("job_failure", provider="azure_openai"))
    with pytest.raises(GenerationFailedError, match="internal_error"):
        generate_video(
            video_config(emu, "my-sora-1", provider_config=LEGACY),
            VideoGenerationRequest(prompt="a cat"),
        )


def test_image_v1_sync(emu: Emulator, tmp_path: Path) -> None:
    """v1 images: base64 PNGs as published data: URIs, which save."""
    response = generate_image(image_config(emu), ImageGenerationRequest(prompt="a fox"))
    assert response.images[0].startswith("data:image/png;base64,")
    assert sniff_mime(response.save(tmp_path / "i.png").read_bytes()) == "image/png"
    assert job_of(emu, response).model == "my-images"


@pytest.mark.anyio
async def test_image_deployment_async(emu: Emulator) -> None:
    """The dated deployment path, with the config's api_version."""
    response = await generate_image_async(
        image_config(emu, provider_config=LEGACY, api_version="2025-04-01-preview"),
        ImageGenerationRequest(prompt="a fox", n=2),
    )
    assert len(response.images) == 2


def test_image_deployment_sync(emu: Emulator) -> None:
    """The dated deployment path through the sync API (default api-version)."""
    response = generate_image(
        image_config(emu, provider_config=LEGACY), ImageGenerationRequest(prompt="a fox")
    )
    assert job_of(emu, response).model == "my-images"


@pytest.mark.anyio
async def test_image_edit_async(emu: Emulator) -> None:
    """An edit on a v1 image deployment."""
    response = await generate_image_async(
        image_config(emu),
        ImageGenerationRequest(
            prompt="add a hat", image_list=[{"image": make_png(32, 32), "type": "reference"}]
        ),
    )
    assert job_of(emu, response).input["edit"] is True


def test_a_refused_video_is_content_moderation(emu: Emulator) -> None:
    """content_refusal on a v1 video: failed moderation_blocked, ContentModerationError."""
    emu.inject(Fault("content_refusal", provider="azure_openai"))
    with pytest.raises(ContentModerationError):
        generate_video(video_config(emu), VideoGenerationRequest(prompt="a cat"))


@pytest.mark.anyio
async def test_a_rate_limited_image_request_is_retried_async(emu: Emulator) -> None:
    """rate_limit on an image deployment's create (nothing made): retried after Retry-After."""
    before = emu.stats("azure_openai").submitted
    emu.inject(Fault("rate_limit", provider="azure_openai", operation="submit", retry_after=0))
    response = await generate_image_async(
        image_config(emu, provider_config=LEGACY), ImageGenerationRequest(prompt="a fox")
    )
    assert response.execution_metadata.attempts[0].submit_count == 2
    assert emu.stats("azure_openai").submitted == before + 1


def test_v1_remix_keeps_the_deployment_and_the_source(emu: Emulator) -> None:
    """On v1, extra_params video_id remixes that video (POST /openai/v1/videos/{id}/remix):
    the new video is the source deployment's, with its seconds, and names its source."""
    source = generate_video(
        video_config(emu), VideoGenerationRequest(prompt="a cat", duration_seconds=12)
    )
    remixed = generate_video(
        video_config(emu),
        VideoGenerationRequest(prompt="in teal", extra_params={"video_id": source.request_id}),
    )
    job = job_of(emu, remixed)
    assert (job.model, job.input["seconds"]) == ("my-sora", "12")
    assert job.input["remixed_from_video_id"] == source.request_id
