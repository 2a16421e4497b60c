"""tarash's Google cells on Vertex AI against the emulator, with an access token and in
express mode: Veo text-to-video (inline and GCS results), image-to-video, Imagen and a
Gemini image model, a rate-limit fault answered with RetryInfo, the RAI-filtered outcome
and a refused token."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tarash.emulator import Emulator, Fault, GoogleOptions
from tarash.tarash_gateway import (
    generate_image,
    generate_image_async,
    generate_video,
    generate_video_async,
    submit_video,
    wait,
)
from tarash.tarash_gateway._sample_media import make_png
from tarash.tarash_gateway.errors import (
    AuthenticationError,
    ContentModerationError,
    ValidationError,
)
from tarash.tarash_gateway.media import sniff_mime
from tarash.tarash_gateway.models import (
    ImageGenerationConfig,
    ImageGenerationRequest,
    JobHandle,
    VideoGenerationConfig,
    VideoGenerationRequest,
)
from tests._emulator import FAST

pytestmark = pytest.mark.integration

VEO = "veo-3.1-generate-001"
TOKEN_MODE = {"vertexai": True, "project": "my-project", "location": "us-central1"}
EXPRESS = {"vertexai": True}
MODES = pytest.mark.parametrize("mode", [TOKEN_MODE, EXPRESS], ids=["token", "express"])


def base(emu: Emulator) -> str:
    """Vertex's versioned root on the emulator (python-genai speaks v1beta1)."""
    return f"{emu.url}/google/v1beta1"


def video_config(emu: Emulator, mode: dict[str, Any], **kwargs: Any) -> VideoGenerationConfig:
    fields: dict[str, Any] = {
        "provider": "google",
        "model": VEO,
        "base_url": base(emu),
        "api_key": emu.api_key("google"),
        "provider_config": mode,
        "poll_interval": 0.05,
        **kwargs,
    }
    return VideoGenerationConfig(**fields)


def image_config(emu: Emulator, model: str, mode: dict[str, Any]) -> ImageGenerationConfig:
    return ImageGenerationConfig(
        provider="google",
        model=model,
        base_url=base(emu),
        api_key=emu.api_key("google"),
        provider_config=mode,
    )


TEXT_TO_VIDEO = VideoGenerationRequest(prompt="a cat", duration_seconds=5, seed=3)
IMAGE_TO_VIDEO = VideoGenerationRequest(
    prompt="the cat walks",
    duration_seconds=8,
    image_list=[{"image": make_png(1280, 720), "type": "first_frame"}],
)
TEXT_TO_IMAGE = ImageGenerationRequest(prompt="a red fox", aspect_ratio="16:9")


def last_job(emu: Emulator) -> Any:
    return emu.jobs("google")[-1]


@MODES
def test_text_to_video_inline(emu: Emulator, mode: dict[str, Any], tmp_path: Path) -> None:
    """Veo on Vertex: started, read with fetchPredictOperation, the video inline as base64
    (no storageUri), returned as MediaContent; 5 s sent as 6 and the seed kept."""
    response = generate_video(video_config(emu, mode), TEXT_TO_VIDEO)
    # The published type of inline bytes: MediaContent.
    assert isinstance(response.video, dict)
    assert response.video["content_type"] == "video/mp4"
    assert sniff_mime(response.video["content"]) == "video/mp4"
    assert last_job(emu).input["parameters"]["durationSeconds"] == 6
    assert last_job(emu).input["parameters"]["seed"] == 3
    response.save(tmp_path / "out.mp4")
    assert sniff_mime((tmp_path / "out.mp4").read_bytes()) == "video/mp4"


@pytest.mark.anyio
async def test_text_to_video_to_cloud_storage(emu: Emulator, tmp_path: Path) -> None:
    """With storageUri the result is a gs:// object; save() reads it through the storage
    JSON API with the same token."""
    request = VideoGenerationRequest(prompt="a cat", extra_params={"storageUri": "gs://bkt/out/"})
    response = await generate_video_async(video_config(emu, TOKEN_MODE), request)
    assert str(response.video).startswith(f"{emu.url}/google/download/storage/v1/b/bkt/o/out%2F")
    await response.save_async(tmp_path / "out.mp4")
    assert sniff_mime((tmp_path / "out.mp4").read_bytes()) == "video/mp4"


def test_the_emulator_option_writes_every_result_to_storage(tmp_path: Path) -> None:
    """GoogleOptions(vertex_storage_uri=...) makes every Veo result a gs:// object."""
    options = GoogleOptions(vertex_storage_uri="gs://all-results/")
    with Emulator(latency=FAST, options=[options]) as private:
        response = generate_video(video_config(private, TOKEN_MODE), TEXT_TO_VIDEO)
        assert "/b/all-results/o/" in str(response.video)
        response.save(tmp_path / "out.mp4")
    assert sniff_mime((tmp_path / "out.mp4").read_bytes()) == "video/mp4"


@MODES
@pytest.mark.anyio
async def test_image_to_video(emu: Emulator, mode: dict[str, Any]) -> None:
    """Veo image-to-video on Vertex: the first frame goes inline as base64 bytes."""
    response = await generate_video_async(video_config(emu, mode), IMAGE_TO_VIDEO)
    assert last_job(emu).input["frames"]["image"] > 0
    assert isinstance(response.video, dict)


@MODES
def test_imagen_on_vertex(emu: Emulator, mode: dict[str, Any], tmp_path: Path) -> None:
    """Imagen's :predict on Vertex answers in the request with an inline PNG."""
    response = generate_image(image_config(emu, "imagen-4.0-generate-001", mode), TEXT_TO_IMAGE)
    response.save(tmp_path / "out.png")
    assert sniff_mime((tmp_path / "out.png").read_bytes()) == "image/png"


@MODES
@pytest.mark.anyio
async def test_gemini_image_on_vertex(emu: Emulator, mode: dict[str, Any]) -> None:
    """A Gemini image model's :generateContent on Vertex."""
    response = await generate_image_async(
        image_config(emu, "gemini-3.1-flash-image", mode), TEXT_TO_IMAGE
    )
    assert len(response.images) == 1


def test_a_rate_limit_fault_is_waited_out(emu: Emulator) -> None:
    """A 429 RESOURCE_EXHAUSTED on the submit (wait in RetryInfo) is retried, then runs."""
    emu.inject(Fault("rate_limit", provider="google", operation="submit", retry_after=0))
    before = emu.stats("google").submitted
    response = generate_video(video_config(emu, TOKEN_MODE), TEXT_TO_VIDEO)
    assert isinstance(response.video, dict)
    assert emu.stats("google").submitted == before + 1


def test_rai_filtered_is_content_moderation(emu: Emulator) -> None:
    """content_refusal: done with raiMediaFilteredCount -> ContentModerationError."""
    emu.inject(Fault("content_refusal", provider="google"))
    with pytest.raises(ContentModerationError, match="person generation"):
        generate_video(video_config(emu, TOKEN_MODE), TEXT_TO_VIDEO)


def test_a_wrong_token_is_an_authentication_error() -> None:
    """With a required key, another token is Vertex's 401 UNAUTHENTICATED: nothing made."""
    with Emulator(latency=FAST, required_keys={"google": "the-token"}) as private:
        config = video_config(private, TOKEN_MODE, api_key="ya29.someone-else")
        with pytest.raises(AuthenticationError, match="UNAUTHENTICATED"):
            generate_video(config, TEXT_TO_VIDEO)
        assert private.stats().submitted == 0


def test_a_vertex_handle_resumes_with_its_config(emu: Emulator) -> None:
    """submit_video on Vertex gives a handle that remembers its backend; wait(handle,
    config=...) reads the operation with fetchPredictOperation, even from JSON."""
    config = video_config(emu, TOKEN_MODE)
    handle = submit_video(config, TEXT_TO_VIDEO)
    assert handle.provider_state["backend"] == "vertex"
    restored = JobHandle.model_validate_json(handle.model_dump_json())
    response = wait(restored, config=config)
    assert isinstance(response.video, dict)
    with pytest.raises(ValidationError, match="Vertex AI"):
        wait(restored, config=config.model_copy(update={"provider_config": {}}))


def test_published_selection_runs_on_vertex(emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    """The published package's way (api_key=None, provider_config project and location, no
    vertexai) reaches the Vertex routes with the token from GOOGLE_OAUTH_ACCESS_TOKEN."""
    monkeypatch.setenv("GOOGLE_OAUTH_ACCESS_TOKEN", emu.api_key("google"))
    published = {"project": "my-project", "location": "us-central1"}
    config = video_config(emu, published, api_key=None)
    response = generate_video(config, TEXT_TO_VIDEO)
    assert isinstance(response.video, dict) and response.video["content_type"] == "video/mp4"
    assert last_job(emu).input["parameters"]["durationSeconds"] == 6
    imagen = ImageGenerationConfig(
        provider="google",
        model="imagen-4.0-generate-001",
        base_url=base(emu),
        api_key=None,
        provider_config=published,
    )
    image = generate_image(imagen, TEXT_TO_IMAGE)
    assert image.images
