"""The fal client end to end against the bundled emulator's queue API."""

from __future__ import annotations

from typing import Any

import pytest

from tarash.emulator import Emulator, Fault
from tarash.tarash_gateway import generate_image_async, generate_video_async
from tarash.tarash_gateway.errors import (
    TimeoutError,
)
from tarash.tarash_gateway.models import (
    ImageGenerationConfig,
    ImageGenerationRequest,
    VideoGenerationConfig,
    VideoGenerationRequest,
    VideoGenerationUpdate,
)
from tests._emulator import FAST, emulated_image_config, emulated_video_config, tiny_png

pytestmark = pytest.mark.integration

KLING = "fal-ai/kling-video/v2.1/standard/image-to-video"


def video_config(emu: Emulator, model: str = "fal-ai/veo3", **kwargs: Any) -> VideoGenerationConfig:
    return emulated_video_config(emu, "fal", model, **kwargs)


def last_job(emu: Emulator) -> Any:
    return emu.jobs("fal")[-1]


@pytest.mark.anyio
async def test_text_to_video_adapts_duration(emu: Emulator) -> None:
    """veo3 asked for 5 s submits "6s" with X-Fal-Request-Timeout; SSE carries the status."""
    updates: list[VideoGenerationUpdate] = []
    response = await generate_video_async(
        video_config(emu),
        VideoGenerationRequest(prompt="a cat surfing", duration_seconds=5, aspect_ratio="16:9"),
        on_progress=updates.append,
    )
    job = last_job(emu)
    assert job.model == "fal-ai/veo3"
    assert job.input == {"prompt": "a cat surfing", "duration": "6s", "aspect_ratio": "16:9"}
    assert 590 <= int(job.headers["x-fal-request-timeout"]) <= 600
    assert response.request_id == job.id
    assert (response.duration, response.aspect_ratio) == (6, "16:9")
    assert response.content_type == "video/mp4"
    assert isinstance(response.video, str)
    assert response.video.startswith(emu.url)
    attempt = response.execution_metadata.attempts[0]
    assert attempt.status == "success"
    assert attempt.adaptations == ["duration_seconds: 5 -> 6 (fal-ai/veo3 offers 4s, 6s, 8s)"]
    assert attempt.poll_count == 0  # the status stream replaced polling
    assert updates[-1].status == "completed"


@pytest.mark.anyio
async def test_polling_when_the_stream_is_disabled(emu: Emulator) -> None:
    """status_stream=False polls status_url until COMPLETED."""
    response = await generate_video_async(
        video_config(emu, provider_config={"status_stream": False}),
        VideoGenerationRequest(prompt="a cat"),
    )
    attempt = response.execution_metadata.attempts[0]
    assert attempt.poll_count >= 1
    assert response.request_id == last_job(emu).id


@pytest.mark.anyio
async def test_image_to_video_with_kling_and_png_bytes(emu: Emulator) -> None:
    """kling gets the PNG bytes as a data URI in image_url and duration "5"."""
    response = await generate_video_async(
        video_config(emu, KLING),
        VideoGenerationRequest(
            prompt="the cat jumps",
            duration_seconds=4,
            aspect_ratio="9:16",
            image_list=[{"image": tiny_png(), "type": "first_frame"}],
        ),
    )
    job = last_job(emu)
    assert job.model == KLING
    assert job.input["image_url"].startswith("data:image/png;base64,")
    assert job.input["duration"] == "5"
    assert "aspect_ratio" not in job.input
    assert response.aspect_ratio is None
    assert response.content_type == "video/mp4"
    notes = response.execution_metadata.attempts[0].adaptations
    assert any("aspect_ratio: '9:16' not sent" in note for note in notes)


@pytest.mark.anyio
async def test_flux_image(emu: Emulator) -> None:
    """flux/dev: image_size preset and num_images reach fal; every image comes back."""
    response = await generate_image_async(
        ImageGenerationConfig(
            provider="fal",
            model="fal-ai/flux/dev",
            base_url=emu.base_url("fal"),
            api_key=emu.api_key("fal"),
            poll_interval=0.05,
        ),
        ImageGenerationRequest(prompt="a fox", n=2, aspect_ratio="16:9", seed=11),
    )
    job = last_job(emu)
    assert job.input == {
        "prompt": "a fox",
        "image_size": "landscape_16_9",
        "num_images": 2,
        "seed": 11,
    }
    assert len(response.images) == 2
    assert response.raw_response["seed"] == 11
    assert response.raw_response["images"][0]["width"] == 1024


@pytest.mark.anyio
async def test_flux_pro_v11_takes_the_ratio_as_image_size(emu: Emulator) -> None:
    """flux-pro/v1.1 has no aspect_ratio (its schema takes image_size): the ratio arrives."""
    await generate_image_async(
        ImageGenerationConfig(
            provider="fal",
            model="fal-ai/flux-pro/v1.1",
            base_url=emu.base_url("fal"),
            api_key=emu.api_key("fal"),
            poll_interval=0.05,
        ),
        ImageGenerationRequest(prompt="a fox", aspect_ratio="16:9"),
    )
    assert last_job(emu).input == {"prompt": "a fox", "image_size": "landscape_16_9"}


@pytest.mark.anyio
async def test_server_error_on_poll_is_retried(emu: Emulator) -> None:
    """A 500 on a status poll is retried and the job still completes."""
    emu.inject(Fault("server_error", provider="fal", operation="status"))
    response = await generate_video_async(
        video_config(emu, provider_config={"status_stream": False}),
        VideoGenerationRequest(prompt="a cat"),
    )
    assert response.execution_metadata.attempts[0].retries == 1


@pytest.mark.anyio
async def test_server_error_on_stream_falls_back_to_polling(emu: Emulator) -> None:
    """A status stream that cannot open (500) leaves the job to polling."""
    emu.inject(Fault("server_error", provider="fal", operation="status"))
    response = await generate_video_async(video_config(emu), VideoGenerationRequest(prompt="a"))
    assert response.execution_metadata.attempts[0].poll_count >= 1


@pytest.mark.anyio
async def test_deadline_cancels_a_stuck_job_when_polling() -> None:
    """Polling instead of the stream, a stuck job past timeout=1.0 is cancelled with PUT
    (the streamed case is in test_provider_contract.py)."""
    with Emulator(latency=FAST) as emu:
        emu.inject(Fault("stuck", provider="fal"))
        with pytest.raises(TimeoutError) as caught:
            await generate_video_async(
                video_config(emu, timeout=1.0, provider_config={"status_stream": False}),
                VideoGenerationRequest(prompt="a cat"),
            )
        assert caught.value.execution_metadata is not None
        assert caught.value.execution_metadata.attempts[0].status == "cancelled"
        assert [job.state for job in emu.jobs("fal")] == ["cancelled"]
        stats = emu.stats("fal")
        assert (stats.running, stats.cancelled) == (0, 1)


@pytest.mark.anyio
async def test_z_image_turbo_sends_what_its_schema_takes(emu: Emulator) -> None:
    """fal's own id, fal-ai/z-image/turbo, is a registry entry: a negative prompt, which the
    model has no input for, is left out (it used to be sent, and fal's schema refuses it)."""
    config = emulated_image_config(emu, "fal", "fal-ai/z-image/turbo")
    response = await generate_image_async(
        config, ImageGenerationRequest(prompt="a fox", negative_prompt="blur", aspect_ratio="1:1")
    )
    assert response.images
    sent = emu.jobs("fal")[-1].input
    assert "negative_prompt" not in sent and sent["prompt"] == "a fox"


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("model", "fields"),
    [
        (
            "fal-ai/kling-video/v3/pro/text-to-video",
            {
                "duration_seconds": 10,
                "extra_params": {
                    "multi_prompt": [
                        {"prompt": "an eagle over mountains", "duration": "5"},
                        {"prompt": "it dives to a lake", "duration": "5"},
                    ]
                },
            },
        ),
        (
            "fal-ai/wan/v2.2-14b/animate/move",
            {
                "video": "https://example.test/dance.mp4",
                "image_list": [{"image": tiny_png(), "type": "reference"}],
                "resolution": "480p",
            },
        ),
    ],
)
async def test_prompt_less_models_run_with_a_blank_prompt(
    emu: Emulator, model: str, fields: dict[str, Any]
) -> None:
    """prompt="" runs Kling V3 multi-shot and Wan animate/move end to end, sending no
    prompt (what their fal schemas take)."""
    response = await generate_video_async(
        video_config(emu, model), VideoGenerationRequest(prompt="", **fields)
    )
    job = last_job(emu)
    assert job.model == model
    assert "prompt" not in job.input
    assert response.request_id == job.id
