"""Gemini Omni Flash against the emulator's Interactions API, sync and async: the inline
video saved, fallback to Veo, a deadline's give-up (no cancel: the interaction runs on),
the strict contract, and generateContent refusing the model as Google does."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tarash.emulator import Emulator, Fault
from tarash.tarash_gateway import generate_video, generate_video_async
from tarash.tarash_gateway._sample_media import make_png
from tarash.tarash_gateway.errors import GenerationFailedError, TimeoutError, ValidationError
from tarash.tarash_gateway.media import sniff_mime
from tarash.tarash_gateway.models import VideoGenerationRequest
from tests._emulator import emulated_video_config

pytestmark = pytest.mark.integration

OMNI = "gemini-omni-flash-preview"
VEO = "veo-3.1-generate-preview"
TEXT = VideoGenerationRequest(prompt="a cat on a skateboard")


def test_text_to_video_sync_saves_the_inline_mp4(emu: Emulator, tmp_path: Path) -> None:
    """POST /interactions, polled until completed; the base64 video saves as the MP4."""
    response = generate_video(emulated_video_config(emu, "google", OMNI), TEXT)
    assert isinstance(response.video, dict)
    response.save(tmp_path / "omni.mp4")
    assert sniff_mime((tmp_path / "omni.mp4").read_bytes()) == "video/mp4"
    [job] = [job for job in emu.jobs("google") if job.id == response.request_id]
    assert job.input["payload"]["background"] is True


@pytest.mark.anyio
async def test_image_to_video_async_sends_structured_input(emu: Emulator) -> None:
    """A first frame travels inline in structured input; the emulator's contract takes it."""
    request = VideoGenerationRequest(
        prompt="the cat jumps",
        image_list=[{"image": make_png(64, 36), "type": "first_frame"}],
    )
    response = await generate_video_async(emulated_video_config(emu, "google", OMNI), request)
    [job] = [job for job in emu.jobs("google") if job.id == response.request_id]
    kinds = [item["type"] for item in job.input["payload"]["input"]]
    assert kinds == ["text", "image"]


@pytest.mark.anyio
async def test_a_failed_interaction_falls_back_to_veo(emu: Emulator) -> None:
    """A failed interaction is a GenerationFailedError the router follows with Veo."""
    emu.inject(Fault("job_failure", provider="google", model=OMNI))
    config = emulated_video_config(
        emu, "google", OMNI, fallback_configs=[emulated_video_config(emu, "google", VEO)]
    )
    response = await generate_video_async(config, TEXT)
    assert [a.model for a in response.execution_metadata.attempts] == [OMNI, VEO]
    assert [a.status for a in response.execution_metadata.attempts] == ["failed", "success"]


def test_a_failed_interaction_alone_is_a_generation_failure(emu: Emulator) -> None:
    """Without a fallback the failure reaches the caller with the interaction's id."""
    emu.inject(Fault("job_failure", provider="google", model=OMNI))
    with pytest.raises(GenerationFailedError, match="internal error") as caught:
        generate_video(emulated_video_config(emu, "google", OMNI), TEXT)
    assert str(caught.value.request_id).startswith("v1_")


@pytest.mark.anyio
async def test_a_deadline_gives_up_without_a_cancel_and_pays_no_fallback(
    emu: Emulator,
) -> None:
    """No cancel is declared for the client: at the deadline the error carries the handle,
    no Veo job is paid, and the interaction runs on."""
    emu.inject(Fault("stuck", provider="google", model=OMNI))
    veo_before = len([job for job in emu.jobs("google") if job.model == VEO])
    config = emulated_video_config(
        emu,
        "google",
        OMNI,
        timeout=0.5,
        fallback_configs=[emulated_video_config(emu, "google", VEO)],
    )
    with pytest.raises(TimeoutError) as caught:
        await generate_video_async(config, TEXT)
    error = caught.value
    assert error.fallback_allowed is False and error.job_handle is not None
    assert len([job for job in emu.jobs("google") if job.model == VEO]) == veo_before
    [job] = [job for job in emu.jobs("google") if job.id == error.job_handle.request_id]
    assert job.state == "running"


def test_a_field_the_contract_lacks_is_refused(emu: Emulator) -> None:
    """The Interactions body is strict: an unknown field is a 400 and no job."""
    before = emu.stats("google").submitted
    with pytest.raises(ValidationError, match="bogus"):
        generate_video(
            emulated_video_config(emu, "google", OMNI),
            VideoGenerationRequest(prompt="a cat", extra_params={"bogus": 1}),
        )
    assert emu.stats("google").submitted == before


def test_generate_content_refuses_the_model(emu: Emulator) -> None:
    """generateContent with Omni is the real API's 400 naming the Interactions API."""
    config = emulated_video_config(emu, "google", OMNI)
    assert config.base_url is not None
    reply = httpx.post(
        f"{config.base_url}/models/{OMNI}:generateContent",
        headers={"x-goog-api-key": emu.api_key("google")},
        json={"contents": [{"parts": [{"text": "a cat"}]}]},
    )
    assert reply.status_code == 400
    assert reply.json()["error"]["message"] == "This model only supports Interactions API."
