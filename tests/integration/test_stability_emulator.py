"""tarash's Stability provider against the emulator: every generate endpoint through
generate_image (sync and async), both reply shapes, image-to-image, and the faults particular
to an API that answers in the request."""

from __future__ import annotations

import base64
import logging
import time
from pathlib import Path
from typing import Any

import pytest

from tarash.emulator import Emulator, Fault, Latency, StabilityOptions
from tarash.tarash_gateway import generate_image, generate_image_async
from tarash.tarash_gateway.errors import ContentModerationError, HTTPConnectionError
from tarash.tarash_gateway.media import sniff_mime
from tarash.tarash_gateway.models import ImageGenerationConfig, ImageGenerationRequest
from tests._emulator import tiny_png

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def _in_process(in_process_emu: Emulator) -> None:
    """Sockets do not matter to these cases: tarash reaches the emulator in-process."""


MODELS = [
    ("stable-image-ultra", "ultra"),
    ("stable-image-core", "core"),
    ("sd3.5-large", "sd3"),
]


def config(emu: Emulator, model: str, **kwargs: Any) -> ImageGenerationConfig:
    return ImageGenerationConfig(
        provider="stability",
        model=model,
        base_url=emu.base_url("stability"),
        api_key=emu.api_key("stability"),
        **kwargs,
    )


@pytest.mark.parametrize("accept", ["image/*", "application/json"])
@pytest.mark.parametrize(("model", "endpoint"), MODELS)
def test_generate_image_sync(
    emu: Emulator, tmp_path: Path, model: str, endpoint: str, accept: str
) -> None:
    """Each model's create answers with a real PNG, a published data: URI whatever the
    accept, saved as its bytes; the emulator saw one finished job of that model with the
    mapped form."""
    before = len(emu.jobs("stability"))
    response = generate_image(
        config(emu, model, provider_config={"accept": accept}),
        ImageGenerationRequest(prompt="a lighthouse", aspect_ratio="16:9", seed=7),
    )
    [image] = response.images
    assert image.startswith("data:image/png;base64,")
    assert response.content_type == "image/png"
    assert response.raw_response["finish_reason"] == "SUCCESS"
    saved = response.save(tmp_path / "out.png").read_bytes()
    assert saved == base64.b64decode(image.partition(",")[2])
    assert sniff_mime(saved) == "image/png"
    job = emu.jobs("stability")[before]
    assert (job.model, job.state, job.id) == (model, "succeeded", response.request_id)
    assert job.input["aspect_ratio"] == "16:9"
    assert job.input["seed"] == "7"
    assert job.headers["accept"] == accept
    attempt = response.execution_metadata.attempts[0]
    assert (attempt.status, attempt.poll_count, attempt.submit_count) == ("success", 0, 1)


@pytest.mark.anyio
@pytest.mark.parametrize(("model", "endpoint"), MODELS)
async def test_generate_image_async(emu: Emulator, model: str, endpoint: str) -> None:
    """The async API does the same, with a progress update carrying the result."""
    updates: list[Any] = []
    response = await generate_image_async(
        config(emu, model), ImageGenerationRequest(prompt="a fox"), on_progress=updates.append
    )
    assert response.images[0].startswith("data:image/png;base64,")
    assert [update.status for update in updates] == ["completed"]
    assert updates[-1].result is response


@pytest.mark.parametrize("model", ["stable-image-ultra", "sd3.5-medium"])
def test_image_to_image_uploads_the_input(emu: Emulator, model: str) -> None:
    """An image_list image goes up as the form's file with strength (and SD 3.5's mode)."""
    before = len(emu.jobs("stability"))
    generate_image(
        config(emu, model),
        ImageGenerationRequest(
            prompt="the same, at night",
            image_list=[{"image": tiny_png(), "type": "reference"}],
            extra_params={"strength": 0.4},
        ),
    )
    job = emu.jobs("stability")[before]
    assert job.input["image"] == {"file_name": "image.png", "bytes": len(tiny_png())}
    assert job.input["strength"] == "0.4"
    assert job.input.get("mode") == ("image-to-image" if model.startswith("sd3") else None)


def test_content_filtered_is_moderation() -> None:
    """A 200 whose finish_reason is CONTENT_FILTERED is a ContentModerationError, not a
    success (the emulator set to Stability's soft refusal)."""
    options = StabilityOptions(refusal="content_filtered")
    with Emulator(latency=Latency(0, 0.05), options=[options]) as emu:
        emu.inject(Fault("content_refusal", provider="stability"))
        with pytest.raises(ContentModerationError, match="CONTENT_FILTERED"):
            generate_image(config(emu, "stable-image-core"), ImageGenerationRequest(prompt="x"))


def test_a_stuck_create_is_given_up_after_its_grace(caplog: pytest.LogCaptureFixture) -> None:
    """A create held past the deadline plus its grace (as much again) is given up as a
    transport error flagged job_may_exist (the image may be billed), never resent; the
    emulator sees the client leave and nothing is left running."""
    with Emulator(latency=Latency(0, 0.05)) as emu:
        emu.inject(Fault("stuck", provider="stability"))
        with (
            caplog.at_level(logging.WARNING, logger="tarash"),
            pytest.raises(HTTPConnectionError) as caught,
        ):
            generate_image(
                config(emu, "stable-image-core", timeout=1.0), ImageGenerationRequest(prompt="x")
            )
        assert caught.value.job_may_exist
        assert caught.value.execution_metadata is not None
        assert caught.value.execution_metadata.attempts[0].submit_count == 1
        assert "may exist" in caplog.text
        deadline = time.monotonic() + 5
        while emu.stats().running and time.monotonic() < deadline:
            time.sleep(0.05)
        assert emu.stats().running == 0
        assert [job.state for job in emu.jobs("stability")] == ["cancelled"]
