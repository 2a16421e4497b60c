"""tarash's Runway cells against the emulator, sync and async: text-to-video,
image-to-video and text-to-image, a fault, THROTTLED then success, cancel, and the seed's
``gen3a_turbo`` snippet with its warning."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest

from tarash.emulator import Emulator, Fault, Latency, RunwayOptions
from tarash.emulator.runway import CLIENT_TEST_LENIENCY
from tarash.tarash_gateway import (
    generate_image,
    generate_image_async,
    generate_video,
    generate_video_async,
)
from tarash.tarash_gateway._sample_media import make_png
from tarash.tarash_gateway.errors import ContentModerationError, ValidationError
from tarash.tarash_gateway.media import sniff_mime
from tarash.tarash_gateway.models import (
    ImageGenerationConfig,
    ImageGenerationRequest,
    VideoGenerationConfig,
    VideoGenerationRequest,
)
from tarash.tarash_gateway.providers import _lifecycle
from tarash.tarash_gateway.providers._lifecycle import ModelRetiredWarning
from tests._emulator import emulated_image_config, emulated_video_config

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def _in_process(in_process_emu: Emulator) -> None:
    """Sockets do not matter to these cases: tarash reaches the emulator in-process."""


def video_config(emu: Emulator, model: str = "gen4.5") -> VideoGenerationConfig:
    return emulated_video_config(emu, "runway", model)


def image_config(emu: Emulator, model: str = "gen4_image") -> ImageGenerationConfig:
    return emulated_image_config(emu, "runway", model, poll_interval=0.05)


TEXT_TO_VIDEO = VideoGenerationRequest(
    prompt="a cat playing piano", duration_seconds=5, aspect_ratio="16:9"
)
IMAGE_TO_VIDEO = VideoGenerationRequest(
    prompt="the cat starts to play",
    aspect_ratio="9:16",
    duration_seconds=10,
    image_list=[{"image": make_png(720, 1280), "type": "first_frame"}],
)
TEXT_TO_IMAGE = ImageGenerationRequest(prompt="a fox on a cliff at dawn", aspect_ratio="16:9")


def last_input(emu: Emulator) -> Any:
    return emu.jobs("runway")[-1].input


def test_text_to_video_sync(emu: Emulator, tmp_path: Path) -> None:
    """Text-to-video: /v1/text_to_video, polled to SUCCEEDED, the MP4 saved."""
    response = generate_video(video_config(emu), TEXT_TO_VIDEO)
    sent = last_input(emu)
    assert (sent["endpoint"], sent["ratio"], sent["duration"]) == ("text_to_video", "1280:720", 5)
    response.save(tmp_path / "out.mp4")
    assert sniff_mime((tmp_path / "out.mp4").read_bytes()) == "video/mp4"
    assert response.expires_at is not None


@pytest.mark.anyio
async def test_text_to_video_async(emu: Emulator) -> None:
    """The same cell through the async API."""
    response = await generate_video_async(video_config(emu, "gen4.5"), TEXT_TO_VIDEO)
    assert response.video.endswith(".mp4")


def test_image_to_video_sync(emu: Emulator) -> None:
    """Image-to-video: the first frame goes as a data URI promptImage to /v1/image_to_video."""
    generate_video(video_config(emu), IMAGE_TO_VIDEO)
    sent = last_input(emu)
    assert sent["endpoint"] == "image_to_video"
    assert sent["promptImage"].startswith("data:image/png;base64,")
    assert sent["ratio"] == "720:1280"


@pytest.mark.anyio
async def test_image_to_video_async(emu: Emulator) -> None:
    """The same cell through the async API."""
    response = await generate_video_async(video_config(emu), IMAGE_TO_VIDEO)
    assert response.video.endswith(".mp4")


def test_text_to_image_sync(emu: Emulator, tmp_path: Path) -> None:
    """Text-to-image: /v1/text_to_image, the PNG saved at the ratio's size."""
    response = generate_image(image_config(emu), TEXT_TO_IMAGE)
    assert last_input(emu)["ratio"] == "1920:1080"
    response.save(tmp_path / "out.png")
    assert sniff_mime((tmp_path / "out.png").read_bytes()) == "image/png"


@pytest.mark.anyio
async def test_text_to_image_async(emu: Emulator) -> None:
    """The same cell through the async API."""
    response = await generate_image_async(image_config(emu), TEXT_TO_IMAGE)
    assert len(response.images) == 1


def test_a_safety_failure_is_content_moderation(emu: Emulator) -> None:
    """A content_refusal fault: FAILED with SAFETY.INPUT.TEXT -> ContentModerationError."""
    emu.inject(Fault("content_refusal", provider="runway"))
    with pytest.raises(ContentModerationError, match=r"SAFETY\.INPUT\.TEXT"):
        generate_video(video_config(emu), TEXT_TO_VIDEO)


def test_a_refused_body_names_the_field(emu: Emulator) -> None:
    """A duration the model does not take is Runway's 400, naming the field."""
    config = video_config(emu)
    request = VideoGenerationRequest(prompt="a cat", extra_params={"duration": 99})
    with pytest.raises(ValidationError, match="duration"):
        generate_video(config, request)


def test_throttled_then_succeeds() -> None:
    """With the account over its concurrency the task is THROTTLED, then runs and succeeds."""
    latency = Latency(queue_seconds=0.3, run_seconds=0.2)
    with Emulator(
        latency=latency, options=[RunwayOptions(throttle=True, lenient=CLIENT_TEST_LENIENCY)]
    ) as throttled:
        seen: list[Any] = []
        response = generate_video(
            video_config(throttled),
            TEXT_TO_VIDEO,
            on_progress=lambda update: seen.append(update.update.get("status")),
        )
        assert response.video.endswith(".mp4")
        assert "THROTTLED" in seen and seen[-1] == "SUCCEEDED"
        assert throttled.stats("runway").completed == 1


def test_the_wire_requires_the_version_header(emu: Emulator) -> None:
    """No X-Runway-Version is a 400; a wrong key a 401; DELETE cancels a running task."""
    emu.latency = Latency(queue_seconds=0.05, run_seconds=30)  # running when DELETE comes
    url = f"{emu.base_url('runway')}/v1/text_to_video"
    key = {"Authorization": f"Bearer {emu.api_key('runway')}"}
    body = {"model": "gen4.5", "promptText": "a cat", "duration": 5, "ratio": "1280:720"}
    assert httpx.post(url, json=body, headers=key).status_code == 400
    bad = {"Authorization": "Bearer nope", "X-Runway-Version": "2024-11-06"}
    headers = {**key, "X-Runway-Version": "2024-11-06"}
    assert httpx.post(url, json=body, headers={**bad, "Authorization": ""}).status_code == 401
    task_id = httpx.post(url, json=body, headers=headers).json()["id"]
    task = f"{emu.base_url('runway')}/v1/tasks/{task_id}"
    assert httpx.delete(task, headers=headers).status_code == 204
    assert httpx.get(task, headers=headers).json()["status"] == "CANCELLED"


def test_seed_snippet_gen3a_turbo_runs_with_its_warning(
    emu: Emulator, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The seed's provider='runway', model='gen3a_turbo' runs, warning that gen4_turbo
    succeeds it."""
    monkeypatch.setenv("TARASH_RUNWAY_BASE_URL", emu.base_url("runway"))
    monkeypatch.setenv("RUNWAYML_API_SECRET", emu.api_key("runway"))
    monkeypatch.chdir(tmp_path)
    _lifecycle._warned.clear()

    from tarash.tarash_gateway.models import VideoGenerationResponse

    request = VideoGenerationRequest(
        prompt="A cat playing piano, cinematic lighting", duration_seconds=5, aspect_ratio="16:9"
    )
    config = VideoGenerationConfig(provider="runway", model="gen3a_turbo")
    with pytest.warns(ModelRetiredWarning, match="gen4_turbo"):
        response = generate_video(config, request)

    async def app() -> VideoGenerationResponse:
        return await generate_video_async(config, request)

    response = asyncio.run(app())
    response.save("cat.mp4")
    assert sniff_mime((tmp_path / "cat.mp4").read_bytes()) == "video/mp4"
    assert last_input(emu)["ratio"] == "1280:768"
    _lifecycle._warned.clear()


@pytest.mark.anyio
async def test_video_to_video_with_a_reference(emu: Emulator) -> None:
    """gen4_aleph with a video (and a reference image, bytes) runs at /v1/video_to_video:
    the emulator checks the body as Runway's contract says and answers a video URL."""
    _lifecycle._warned.clear()
    request = VideoGenerationRequest(
        prompt="apply the reference's art style",
        video="https://example.com/source.mp4",
        image_list=[{"image": make_png(64, 64), "type": "reference"}],
        aspect_ratio="4:3",
        seed=777,
    )
    with pytest.warns(ModelRetiredWarning, match="aleph2"):
        response = await generate_video_async(video_config(emu, "gen4_aleph"), request)
    job = emu.jobs("runway")[-1]
    assert job.input["endpoint"] == "video_to_video"
    assert job.input["videoUri"] == "https://example.com/source.mp4"
    assert job.input["references"][0]["type"] == "image"
    assert job.input["references"][0]["uri"].startswith("data:image/png;base64,")
    assert (job.input["seed"], job.input["ratio"]) == (777, "1104:832")
    assert str(response.video).startswith("http")


def test_aleph2_video_to_video_sync(emu: Emulator) -> None:
    """aleph2, gen4_aleph's successor, goes to /v1/video_to_video with no warning."""
    request = VideoGenerationRequest(prompt="make it snow", video="https://example.com/v.mp4")
    response = generate_video(video_config(emu, "aleph2"), request)
    job = emu.jobs("runway")[-1]
    assert (job.model, job.input["endpoint"]) == ("aleph2", "video_to_video")
    assert str(response.video).startswith("http")


def test_the_emulator_video_to_video_refuses_what_runway_refuses(emu: Emulator) -> None:
    """A field gen4_aleph does not take, or a missing videoUri, is Runway's 400 "Validation
    of body failed" with zod's issue naming it; no task is made."""
    url = f"{emu.base_url('runway')}/v1/video_to_video"
    headers = {
        "Authorization": f"Bearer {emu.api_key('runway')}",
        "X-Runway-Version": "2024-11-06",
    }
    before = len(emu.jobs("runway"))
    body = {"model": "gen4_aleph", "promptText": "x", "videoUri": "https://e.com/v.mp4"}
    unknown = httpx.post(url, json={**body, "duration": 5}, headers=headers)
    missing = httpx.post(url, json={"model": "gen4_aleph", "promptText": "x"}, headers=headers)
    for reply in (unknown, missing):
        assert reply.status_code == 400
        assert reply.json()["error"] == "Validation of body failed"
    # Worded as zod words them, as on Runway's other creates.
    assert unknown.json()["issues"][0] == {
        "code": "unrecognized_keys",
        "keys": ["duration"],
        "path": [],
        "message": 'Unrecognized key: "duration"',
    }
    assert missing.json()["issues"][0]["path"] == ["videoUri"]
    assert missing.json()["issues"][0]["code"] == "invalid_type"
    assert len(emu.jobs("runway")) == before
