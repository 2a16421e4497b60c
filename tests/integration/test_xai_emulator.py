"""xAI end to end against the emulator: generate_video and generate_image, sync and
async, as a published user calls them; edits and extensions; fallback to another
provider and back; a give-up leaves the unstoppable job running with its handle; a
wrong field refused by the emulator as xAI refuses it."""

from __future__ import annotations

import base64
from pathlib import Path

import anyio
import pytest

from tarash.emulator import Emulator, Fault
from tarash.tarash_gateway import (
    generate_image,
    generate_image_async,
    generate_video,
    generate_video_async,
    submit_video_async,
    wait_async,
)
from tarash.tarash_gateway.errors import (
    ContentModerationError,
    TimeoutError,
    ValidationError,
)
from tarash.tarash_gateway.media import sniff_mime
from tarash.tarash_gateway.models import (
    ImageGenerationConfig,
    ImageGenerationRequest,
    VideoGenerationRequest,
)
from tarash.tarash_gateway.providers import _lifecycle
from tarash.tarash_gateway.providers._lifecycle import ModelRetiredWarning
from tests._emulator import emulated_video_config, tiny_png

pytestmark = pytest.mark.integration

IMAGE = "data:image/png;base64," + base64.b64encode(tiny_png()).decode()


def image_config(emu: Emulator, model: str = "grok-imagine-image") -> ImageGenerationConfig:
    return ImageGenerationConfig(
        provider="xai", model=model, base_url=emu.base_url("xai"), api_key=emu.api_key("xai")
    )


def test_sync_video_and_image_as_a_published_user_writes_them(
    emu: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Configs naming only provider and model reach the emulator through
    TARASH_XAI_BASE_URL and XAI_API_KEY; the video and the image save as real files."""
    monkeypatch.setenv("TARASH_XAI_BASE_URL", emu.base_url("xai"))
    monkeypatch.setenv("XAI_API_KEY", emu.api_key("xai"))
    video = generate_video(
        emulated_video_config(emu, "xai", "grok-imagine-video").model_copy(
            update={"base_url": None, "api_key": None}
        ),
        VideoGenerationRequest(
            prompt="a lake", aspect_ratio="16:9", duration_seconds=5, resolution="720p"
        ),
    )
    assert (video.status, video.content_type) == ("completed", "video/mp4")
    assert isinstance(video.video, str) and video.video.startswith("http")
    assert sniff_mime(video.save(tmp_path / "lake.mp4").read_bytes()) == "video/mp4"
    image = generate_image(
        ImageGenerationConfig(provider="xai", model="grok-imagine-image"),
        ImageGenerationRequest(
            prompt="a sunset", aspect_ratio="16:9", extra_params={"resolution": "1k"}
        ),
    )
    assert isinstance(image.images[0], str) and image.images[0].startswith("http")
    assert image.content_type == "image/png"  # the emulator serves PNGs
    assert sniff_mime(image.save(tmp_path / "sunset.png").read_bytes()) == "image/png"
    [job] = [job for job in emu.jobs("xai") if job.id == video.request_id]
    assert dict(job.input) == {
        "prompt": "a lake",
        "aspect_ratio": "16:9",
        "resolution": "720p",
        "duration": 5,
        "model": "grok-imagine-video",
        "endpoint": "/v1/videos/generations",
    }


@pytest.mark.anyio
async def test_async_image_to_video_and_image_edit(emu: Emulator) -> None:
    """A reference image animates (image.url, here a data URI); an image request with an
    image is a JSON edit."""
    video = await generate_video_async(
        emulated_video_config(emu, "xai", "grok-imagine-video"),
        VideoGenerationRequest(
            prompt="it rotates",
            aspect_ratio="1:1",
            duration_seconds=5,
            image_list=[{"type": "reference", "image": IMAGE}],
        ),
    )
    edited = await generate_image_async(
        image_config(emu),
        ImageGenerationRequest(
            prompt="warmer light",
            aspect_ratio="1:1",
            image_list=[{"type": "reference", "image": IMAGE}],
        ),
    )
    jobs = {job.id: job for job in emu.jobs("xai")}
    assert jobs[video.request_id].input["image"] == {"url": IMAGE}
    assert edited.images and emu.jobs("xai")[-1].input["endpoint"] == "/v1/images/edits"


@pytest.mark.anyio
async def test_edit_and_extend_a_video(emu: Emulator) -> None:
    """request.video is an edit; with extra_params extend it is an extension whose
    duration is the seconds added."""
    config = emulated_video_config(emu, "xai", "grok-imagine-video")
    clip = "https://example.com/clip.mp4"
    edited = await generate_video_async(
        config, VideoGenerationRequest(prompt="add snow", video=clip)
    )
    extended = await generate_video_async(
        config,
        VideoGenerationRequest(
            prompt="keep going", video=clip, duration_seconds=4, extra_params={"extend": True}
        ),
    )
    jobs = {job.id: job for job in emu.jobs("xai")}
    assert jobs[edited.request_id].input["endpoint"] == "/v1/videos/edits"
    assert jobs[extended.request_id].input["endpoint"] == "/v1/videos/extensions"
    assert extended.duration == 8 + 4  # the emulator's input clip is 8 s


@pytest.mark.anyio
async def test_fallback_from_xai_and_back(emu: Emulator) -> None:
    """A failed xAI video falls back to Runway; a failed Runway task falls back to xAI."""
    emu.inject(Fault("job_failure", provider="xai"))
    to_runway = emulated_video_config(
        emu,
        "xai",
        "grok-imagine-video",
        fallback_configs=[emulated_video_config(emu, "runway", "gen4.5")],
    )
    response = await generate_video_async(to_runway, VideoGenerationRequest(prompt="a cat"))
    assert response.provider == "runway"
    assert [a.provider for a in response.execution_metadata.attempts] == ["xai", "runway"]

    emu.inject(Fault("job_failure", provider="runway"))
    to_xai = emulated_video_config(
        emu,
        "runway",
        "gen4.5",
        fallback_configs=[emulated_video_config(emu, "xai", "grok-imagine-video")],
    )
    response = await generate_video_async(to_xai, VideoGenerationRequest(prompt="a cat"))
    assert response.provider == "xai"
    assert [a.status for a in response.execution_metadata.attempts] == ["failed", "success"]


@pytest.mark.anyio
async def test_a_deadline_leaves_the_video_running_with_its_handle(emu: Emulator) -> None:
    """xAI cannot cancel: at the deadline the error carries the handle, no fallback is
    paid, and the job runs on (wait() reads it once it is done)."""
    emu.inject(Fault("stuck", provider="xai"))
    runway_before = emu.stats("runway").submitted
    config = emulated_video_config(
        emu,
        "xai",
        "grok-imagine-video",
        timeout=0.5,
        fallback_configs=[emulated_video_config(emu, "runway", "gen4.5")],
    )
    with pytest.raises(TimeoutError) as caught:
        await generate_video_async(config, VideoGenerationRequest(prompt="a cat"))
    error = caught.value
    assert error.fallback_allowed is False and error.job_handle is not None
    assert emu.stats("runway").submitted == runway_before
    [job] = [job for job in emu.jobs("xai") if job.id == error.job_handle.request_id]
    assert job.state == "running"


@pytest.mark.anyio
async def test_a_cancel_scope_sends_no_cancel_and_the_job_is_read_later(emu: Emulator) -> None:
    """Cancelled by the caller mid-wait, nothing is sent to stop the job (xAI has no
    cancel); it runs to its end and wait() returns it, not a second paid job."""
    config = emulated_video_config(emu, "xai", "grok-imagine-video")
    handle = await submit_video_async(config, VideoGenerationRequest(prompt="a cat"))
    with anyio.move_on_after(0.01):
        await wait_async(handle, config=config)
    response = await wait_async(handle, config=config)
    assert response.request_id == handle.request_id
    [job] = [job for job in emu.jobs("xai") if job.id == handle.request_id]
    assert job.state == "succeeded"


@pytest.mark.anyio
async def test_refused_content_is_content_moderation_for_images_too(emu: Emulator) -> None:
    """A content_refusal on an image is xAI's 400 naming moderation: a
    ContentModerationError."""
    emu.inject(Fault("content_refusal", provider="xai"))
    with pytest.raises(ContentModerationError, match="moderation"):
        await generate_image_async(image_config(emu), ImageGenerationRequest(prompt="a"))


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("extra", "words"),
    [
        ({"seconds": 5}, "unknown field `seconds`"),
        ({"duration": "5"}, "invalid type"),
        ({"duration": 30}, "between 1 and 15"),
    ],
)
async def test_a_wrong_field_is_refused_by_the_emulator(
    emu: Emulator, extra: dict[str, object], words: str
) -> None:
    """A field xAI does not take (passed through extra_params) is refused as xAI refuses
    it: a ValidationError with xAI's words, and no job."""
    before = emu.stats("xai").submitted
    with pytest.raises(ValidationError, match=words):
        await generate_video_async(
            emulated_video_config(emu, "xai", "grok-imagine-video"),
            VideoGenerationRequest(prompt="a cat", extra_params=extra),
        )
    assert emu.stats("xai").submitted == before


def test_the_deprecated_pro_model_warns_and_is_served(emu: Emulator) -> None:
    """grok-imagine-image-pro warns naming its successor; the emulator still serves it, as
    xAI does during the transition."""
    _lifecycle._warned.discard(("xai", "grok-imagine-image-pro"))
    with pytest.warns(ModelRetiredWarning, match="grok-imagine-image-quality"):
        response = generate_image(
            image_config(emu, "grok-imagine-image-pro"), ImageGenerationRequest(prompt="a")
        )
    assert response.images


def test_base64_images_are_data_uris_that_save(emu: Emulator, tmp_path: Path) -> None:
    """response_format b64_json (through extra_params) gives published data: URIs, which
    save as the image."""
    response = generate_image(
        image_config(emu),
        ImageGenerationRequest(prompt="a fox", extra_params={"response_format": "b64_json"}),
    )
    assert response.images[0].startswith("data:image/png;base64,")
    assert response.content_type == "image/png"
    assert sniff_mime(response.save(tmp_path / "fox.png").read_bytes()) == "image/png"
