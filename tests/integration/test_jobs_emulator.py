"""Jobs you can hold: submit, serialise the handle, then wait, poll or cancel it later,
in this process or another one."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

from tarash.emulator import Emulator, Fault, Latency
from tarash.tarash_gateway import (
    cancel,
    cancel_async,
    status_async,
    submit_image,
    submit_video_async,
    wait,
    wait_async,
)
from tarash.tarash_gateway.errors import TimeoutError
from tarash.tarash_gateway.models import (
    ImageGenerationConfig,
    ImageGenerationRequest,
    ImageGenerationResponse,
    JobHandle,
    VideoGenerationConfig,
    VideoGenerationRequest,
    VideoGenerationResponse,
)

pytestmark = [pytest.mark.integration, pytest.mark.anyio]

REQUEST = VideoGenerationRequest(prompt="a cat", duration_seconds=5, aspect_ratio="16:9")


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    """One emulator for the module, with jobs that take a moment."""
    with Emulator(latency=Latency(queue_seconds=0.05, run_seconds=0.3)) as emulator:
        yield emulator


@pytest.fixture(autouse=True)
def _clean(emu: Emulator) -> Iterator[None]:
    emu.clear_faults()
    yield
    emu.clear_faults()


def fal_config(emu: Emulator, **kwargs: object) -> VideoGenerationConfig:
    return VideoGenerationConfig(
        provider="fal",
        model="fal-ai/veo3",
        base_url=emu.base_url("fal"),
        api_key=emu.api_key("fal"),
        poll_interval=0.05,
        **kwargs,  # type: ignore[arg-type]
    )


async def test_handle_survives_json_and_waits_to_the_result(emu: Emulator) -> None:
    """A handle rebuilt from JSON waits to the same job's result, with the adaptation kept."""
    handle = await submit_video_async(fal_config(emu), REQUEST)
    rebuilt = JobHandle.model_validate_json(handle.model_dump_json())
    assert rebuilt == handle
    assert handle.adaptations == ["duration_seconds: 5 -> 6 (fal-ai/veo3 offers 4s, 6s, 8s)"]
    response = await wait_async(rebuilt, config=fal_config(emu), poll_interval=0.05)
    assert isinstance(response, VideoGenerationResponse)
    assert response.request_id == handle.request_id
    assert response.duration == 6
    assert response.execution_metadata.attempts[0].status == "success"


def test_handle_is_resumed_in_another_process(emu: Emulator) -> None:
    """Another Python process waits on a handle given as JSON, with the key from FAL_KEY."""
    handle = submit_image(
        ImageGenerationConfig(
            provider="fal",
            model="fal-ai/flux/dev",
            base_url=emu.base_url("fal"),
            api_key=emu.api_key("fal"),
        ),
        ImageGenerationRequest(prompt="a fox"),
    )
    script = (
        "import sys, json\n"
        "from tarash.tarash_gateway import wait\n"
        "from tarash.tarash_gateway.models import JobHandle\n"
        "r = wait(JobHandle.model_validate_json(sys.stdin.read()), poll_interval=0.05)\n"
        "print(json.dumps({'id': r.request_id, 'images': len(r.images)}))\n"
    )
    # The other process trusts the emulator as its fal API through the documented variable.
    env = {**os.environ, "FAL_KEY": emu.api_key("fal"), "TARASH_FAL_BASE_URL": emu.base_url("fal")}
    done = subprocess.run(
        [sys.executable, "-c", script],
        input=handle.model_dump_json(),
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=True,
    )
    assert json.loads(done.stdout) == {"id": handle.request_id, "images": 1}


async def test_status_reports_where_the_job_stands(emu: Emulator) -> None:
    """status() polls once and says queued/processing/completed."""
    handle = await submit_video_async(fal_config(emu), REQUEST)
    update = await status_async(handle, config=fal_config(emu))
    assert update.request_id == handle.request_id
    assert update.status in {"queued", "processing", "completed"}
    assert (update.provider, update.model) == ("fal", "fal-ai/veo3")


async def test_a_handle_pointing_elsewhere_is_refused(emu: Emulator) -> None:
    """A handle whose base_url is not the provider's API nor a configured one is refused
    before the key is sent anywhere."""
    from tarash.tarash_gateway.errors import ValidationError

    handle = await submit_video_async(fal_config(emu), REQUEST)
    with pytest.raises(ValidationError, match="neither fal's API"):
        await status_async(handle, api_key=emu.api_key("fal"))
    edited = handle.model_copy(update={"base_url": "https://attacker.test"})
    with pytest.raises(ValidationError, match=r"attacker\.test"):
        await wait_async(edited, config=fal_config(emu))


async def test_cancel_stops_the_remote_job(emu: Emulator) -> None:
    """cancel() stops a stuck job; the emulator shows it cancelled and nothing running."""
    emu.inject(Fault("stuck", provider="fal"))
    handle = await submit_video_async(fal_config(emu), REQUEST)
    assert await cancel_async(handle, config=fal_config(emu)) is True
    [job] = [job for job in emu.jobs("fal") if job.id == handle.request_id]
    assert job.state == "cancelled"


async def test_wait_timeout_cancels_the_job(emu: Emulator) -> None:
    """A wait that times out cancels the remote job before raising."""
    emu.inject(Fault("stuck", provider="fal"))
    handle = await submit_video_async(fal_config(emu), REQUEST)
    before = emu.stats("fal").cancelled
    with pytest.raises(TimeoutError) as info:
        await wait_async(handle, config=fal_config(emu), timeout=0.5, poll_interval=0.05)
    assert emu.stats("fal").cancelled == before + 1
    [job] = [job for job in emu.jobs("fal") if job.id == handle.request_id]
    assert job.state == "cancelled"
    meta = info.value.execution_metadata
    assert meta is not None
    assert meta.attempts[0].status == "cancelled"


def test_sync_twins_on_replicate(emu: Emulator) -> None:
    """The sync submit/wait/cancel twins work on a Replicate job too."""
    config = ImageGenerationConfig(
        provider="replicate",
        model="black-forest-labs/flux-schnell",
        base_url=emu.base_url("replicate"),
        api_key=emu.api_key("replicate"),
        provider_config={"prefer_wait": 0},
    )
    handle = submit_image(config, ImageGenerationRequest(prompt="a fox"))
    response = wait(handle, config=config, poll_interval=0.05)
    assert isinstance(response, ImageGenerationResponse)
    assert response.images
    assert cancel(handle, config=config) is False  # already finished


async def test_strict_mode_refuses_a_field_the_model_cannot_take(emu: Emulator) -> None:
    """With strict_parameters, a value the model has no input for is refused before submit."""
    from tarash.tarash_gateway.errors import ValidationError

    config = VideoGenerationConfig(
        provider="fal",
        model="fal-ai/kling-video/v2.1/standard/image-to-video",
        base_url=emu.base_url("fal"),
        api_key=emu.api_key("fal"),
        strict_parameters=True,
    )
    request = VideoGenerationRequest(
        prompt="a cat",
        duration_seconds=5,
        aspect_ratio="16:9",
        image_list=[{"image": "https://example.test/cat.png", "type": "first_frame"}],
    )
    before = emu.stats("fal").submitted
    with pytest.raises(ValidationError, match="aspect_ratio"):
        await submit_video_async(config, request)
    assert emu.stats("fal").submitted == before
