"""tarash's OpenAI cells against the emulator, sync and async: text-to-video,
image-to-video, image generation and image edit, plus a fault."""

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
from tarash.tarash_gateway.errors import ContentModerationError, NotFoundError, ValidationError
from tarash.tarash_gateway.media import sniff_mime
from tarash.tarash_gateway.models import (
    ImageGenerationConfig,
    ImageGenerationRequest,
    VideoGenerationConfig,
    VideoGenerationRequest,
)
from tests._emulator import emulated_image_config, emulated_video_config

pytestmark = pytest.mark.integration


def video_config(emu: Emulator, model: str = "openai/sora-2") -> VideoGenerationConfig:
    return emulated_video_config(emu, "openai", model)


def image_config(emu: Emulator, model: str = "gpt-image-1") -> ImageGenerationConfig:
    return emulated_image_config(emu, "openai", model)


TEXT_TO_VIDEO = VideoGenerationRequest(
    prompt="a cat playing piano", duration_seconds=8, aspect_ratio="16:9", resolution="720p"
)
IMAGE_TO_VIDEO = VideoGenerationRequest(
    prompt="the cat starts to play",
    aspect_ratio="9:16",
    image_list=[{"image": make_png(720, 1280), "type": "first_frame"}],
)
GENERATE = ImageGenerationRequest(prompt="a fox", n=2, aspect_ratio="2:3")
EDIT = ImageGenerationRequest(
    prompt="add a hat", image_list=[{"image": make_png(64, 64), "type": "reference"}]
)


def check_video(emu: Emulator, response: Any, tmp_path: Path, size: str, seconds: str) -> None:
    job = next(job for job in emu.jobs("openai") if job.id == response.request_id)
    assert (job.state, job.input["size"], job.input["seconds"]) == ("succeeded", size, seconds)
    assert sniff_mime(response.save(tmp_path / "out.mp4").read_bytes()) == "video/mp4"


def test_text_to_video_sync(emu: Emulator, tmp_path: Path) -> None:
    """openai/sora-2 t2v: the size and string seconds reach the emulator; the MP4 saves."""
    response = generate_video(video_config(emu), TEXT_TO_VIDEO)
    check_video(emu, response, tmp_path, "1280x720", "8")


@pytest.mark.anyio
async def test_text_to_video_async(emu: Emulator, tmp_path: Path) -> None:
    """The same through the async API (save() from a worker thread's loop is the sync one)."""
    response = await generate_video_async(video_config(emu, "sora-2"), TEXT_TO_VIDEO)
    job = next(job for job in emu.jobs("openai") if job.id == response.request_id)
    assert job.state == "succeeded"
    saved = await response.save_async(tmp_path / "out.mp4")
    assert sniff_mime(saved.read_bytes()) == "video/mp4"


def test_image_to_video_sync(emu: Emulator, tmp_path: Path) -> None:
    """A first frame matching the size goes as the multipart input_reference file."""
    response = generate_video(video_config(emu), IMAGE_TO_VIDEO)
    check_video(emu, response, tmp_path, "720x1280", "4")
    job = next(job for job in emu.jobs("openai") if job.id == response.request_id)
    assert job.input["input_reference"]["size"] == (720, 1280)
    assert job.headers["content-type"].startswith("multipart/form-data")


def test_image_to_video_with_an_ordinary_png_is_fitted(emu: Emulator) -> None:
    """An ordinary PNG of another size (the emulator refuses it as OpenAI does) reaches
    the create padded to the video's size; the attempt notes the fit."""
    request = IMAGE_TO_VIDEO.model_copy(
        update={"image_list": [{"image": make_png(1024, 768), "type": "first_frame"}]}
    )
    response = generate_video(video_config(emu), request)
    job = next(job for job in emu.jobs("openai") if job.id == response.request_id)
    assert (job.state, job.input["input_reference"]["size"]) == ("succeeded", (720, 1280))
    notes = response.execution_metadata.attempts[0].adaptations
    assert any("1024x768 -> 720x1280 (padded" in note for note in notes)


def test_image_to_video_refused_by_policy_creates_no_job(emu: Emulator) -> None:
    """image_fit='refuse': the mismatched frame never reaches the emulator."""
    before = emu.stats("openai").submitted
    request = IMAGE_TO_VIDEO.model_copy(
        update={"image_list": [{"image": make_png(64, 64), "type": "first_frame"}]}
    )
    config = video_config(emu).model_copy(update={"provider_config": {"image_fit": "refuse"}})
    with pytest.raises(ValidationError, match="64x64"):
        generate_video(config, request)
    assert emu.stats("openai").submitted == before


@pytest.mark.anyio
async def test_image_to_video_async(emu: Emulator) -> None:
    """Image-to-video through the async API: the content comes downloaded, as published
    MediaContent (a user could not fetch the content URL without the key)."""
    response = await generate_video_async(video_config(emu), IMAGE_TO_VIDEO)
    assert isinstance(response.video, dict)
    assert response.video["content_type"] == response.content_type == "video/mp4"
    assert sniff_mime(response.video["content"]) == "video/mp4"
    assert response.execution_metadata.attempts[0].http_requests >= 3  # create, poll, content


@pytest.mark.anyio
async def test_a_content_download_5xx_is_retried_within_the_attempt(
    emu: Emulator, tmp_path: Path
) -> None:
    """A 503 on the content download is retried by the attempt (one job, no fallback),
    and the result saves without another request."""
    before = emu.stats("openai").submitted
    emu.inject(Fault("server_error", provider="openai", operation="result", status_code=503))
    response = await generate_video_async(video_config(emu), TEXT_TO_VIDEO)
    assert emu.stats("openai").submitted == before + 1
    assert response.execution_metadata.attempts[0].retries >= 1
    saved = await response.save_async(tmp_path / "retried.mp4")
    assert sniff_mime(saved.read_bytes()) == "video/mp4"


def test_image_generate_sync(emu: Emulator, tmp_path: Path) -> None:
    """gpt-image-1: two base64 images come back as published data: URIs that save."""
    response = generate_image(image_config(emu), GENERATE)
    assert [image[:22] for image in response.images] == ["data:image/png;base64,"] * 2
    saved = response.save(tmp_path / "one.png", 1)
    assert sniff_mime(saved.read_bytes()) == "image/png"
    job = next(job for job in emu.jobs("openai") if job.id == response.request_id)
    assert (job.input["size"], job.input["n"]) == ("1024x1536", 2)


@pytest.mark.anyio
async def test_image_generate_async(emu: Emulator) -> None:
    """Image generation through the async API."""
    response = await generate_image_async(image_config(emu, "gpt-image-1.5"), GENERATE)
    assert len(response.images) == 2


def test_image_edit_sync(emu: Emulator) -> None:
    """An input image makes it an /images/edits job (multipart)."""
    response = generate_image(image_config(emu), EDIT)
    job = next(job for job in emu.jobs("openai") if job.id == response.request_id)
    assert job.input["edit"] is True
    assert response.images[0].startswith("data:image/png;base64,")


@pytest.mark.anyio
async def test_image_edit_async(emu: Emulator) -> None:
    """An edit through the async API."""
    response = await generate_image_async(image_config(emu), EDIT)
    assert len(response.images) == 1


def test_dall_e_3_on_a_compatible_endpoint_is_not_warned(emu: Emulator) -> None:
    """dall-e-3 is retired on api.openai.com; the emulator (a compatible endpoint) serves it
    without a warning (warnings are errors here) and with a revised prompt."""
    response = generate_image(image_config(emu, "dall-e-3"), ImageGenerationRequest(prompt="x"))
    assert response.revised_prompt


def test_dall_e_gets_urls_as_published_and_they_save(emu: Emulator, tmp_path: Path) -> None:
    """dall-e is sent no response_format (as published), so it takes its default, URLs,
    which save."""
    response = generate_image(image_config(emu, "dall-e-2"), ImageGenerationRequest(prompt="x"))
    job = next(job for job in emu.jobs("openai") if job.id == response.request_id)
    assert job.input["response_format"] == "url"
    assert response.images[0].startswith("http")
    assert sniff_mime(response.save(tmp_path / "dall-e.png").read_bytes()) == "image/png"


def test_a_refused_image_is_content_moderation(emu: Emulator) -> None:
    """content_refusal on an image request: the held create answers 400 moderation_blocked."""
    emu.inject(Fault("content_refusal", provider="openai"))
    with pytest.raises(ContentModerationError, match="moderation_blocked"):
        generate_image(image_config(emu), ImageGenerationRequest(prompt="a fox"))


@pytest.mark.anyio
async def test_a_rate_limited_video_create_is_retried_async(emu: Emulator) -> None:
    """rate_limit on the video create: retried after retry-after, one job."""
    before = emu.stats("openai").submitted
    emu.inject(Fault("rate_limit", provider="openai", operation="submit", retry_after=0))
    response = await generate_video_async(video_config(emu), TEXT_TO_VIDEO)
    assert response.execution_metadata.attempts[0].submit_count == 2
    assert emu.stats("openai").submitted == before + 1


@pytest.mark.anyio
async def test_remix_makes_a_video_from_a_completed_one(emu: Emulator) -> None:
    """extra_params video_id remixes that video (POST /videos/{id}/remix, the prompt only):
    the new video keeps the source's seconds and size and names its source."""
    source = await generate_video_async(video_config(emu), TEXT_TO_VIDEO)
    request = VideoGenerationRequest(
        prompt="shift the palette to teal", extra_params={"video_id": source.request_id}
    )
    remixed = await generate_video_async(video_config(emu), request)
    job = emu.jobs("openai")[-1]
    assert job.id == remixed.request_id != source.request_id
    assert job.input == {
        "prompt": "shift the palette to teal",
        "model": "sora-2",
        "seconds": "8",
        "size": "1280x720",
        "remixed_from_video_id": source.request_id,
    }


def test_remix_of_an_unknown_video_is_not_found(emu: Emulator) -> None:
    """A remix of a video the API does not know is OpenAI's 404, not a new video."""
    request = VideoGenerationRequest(prompt="teal", extra_params={"video_id": "video_missing"})
    before = len(emu.jobs("openai"))
    with pytest.raises(NotFoundError):
        generate_video(video_config(emu), request)
    assert len(emu.jobs("openai")) == before


def test_the_emulator_remix_takes_only_a_prompt_on_a_completed_video(emu: Emulator) -> None:
    """The emulator's remix answers as OpenAI: an unknown field is 400 unknown_parameter,
    a video still running is 400, and neither makes a job."""
    import httpx

    headers = {"Authorization": f"Bearer {emu.api_key('openai')}"}
    base = emu.base_url("openai")
    emu.inject(Fault("stuck", provider="openai", times=1))  # the source never completes
    with httpx.Client(headers=headers) as http:
        running = http.post(f"{base}/videos", json={"prompt": "a cat"}).json()["id"]
        before = len(emu.jobs("openai"))
        extra = http.post(f"{base}/videos/{running}/remix", json={"prompt": "x", "seconds": "8"})
        not_done = http.post(f"{base}/videos/{running}/remix", json={"prompt": "x"})
    assert extra.status_code == 400
    assert extra.json()["error"]["code"] == "unknown_parameter"
    assert extra.json()["error"]["param"] == "seconds"
    assert not_done.status_code == 400
    assert len(emu.jobs("openai")) == before
