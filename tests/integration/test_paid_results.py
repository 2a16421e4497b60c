"""A finished job is paid for: its result is never thrown away for being late or hard to read."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import anyio
import pytest

from tarash.emulator import Emulator, Fault
from tarash.tarash_gateway import generate_video_async, submit_video_async, wait_async
from tarash.tarash_gateway.errors import ProviderServerError
from tarash.tarash_gateway.models import VideoGenerationRequest, VideoGenerationResponse
from tests._emulator import FAST, emulated_video_config

pytestmark = [pytest.mark.integration, pytest.mark.anyio]

REQUEST = VideoGenerationRequest(prompt="a cat", duration_seconds=6)


async def test_wait_after_the_deadline_still_reads_a_finished_job(emu: Emulator) -> None:
    """A handle whose deadline passed while nobody waited returns the finished result."""
    config = emulated_video_config(emu, "fal", "fal-ai/veo3")
    handle = await submit_video_async(config, REQUEST)
    # The emulator computes a job's state from its clock: it has succeeded once its queue
    # and run time have passed since the create, which came before the handle.
    await anyio.sleep(FAST.queue_seconds + FAST.run_seconds)
    [job] = [job for job in emu.jobs("fal") if job.id == handle.request_id]
    assert job.state == "succeeded"
    late = handle.model_copy(update={"deadline_at": datetime.now(UTC) - timedelta(minutes=1)})
    before = emu.stats("fal").cancelled
    response = await wait_async(late, config=config)
    assert isinstance(response, VideoGenerationResponse)
    assert response.request_id == handle.request_id
    assert emu.stats("fal").cancelled == before


async def test_unreadable_result_does_not_pay_a_fallback(emu: Emulator) -> None:
    """If a finished job's result cannot be read, no second job is bought elsewhere; the
    error carries the handle, and waiting on it later returns the result."""
    emu.inject(Fault("server_error", provider="fal", operation="result", times=20))
    config = emulated_video_config(
        emu,
        "fal",
        "fal-ai/veo3",
        max_retries=1,
        fallback_configs=[emulated_video_config(emu, "replicate", "google/veo-3")],
    )
    replicate_before = emu.stats("replicate").submitted
    with pytest.raises(ProviderServerError) as info:
        await generate_video_async(config, REQUEST)
    error = info.value
    assert error.fallback_allowed is False
    assert emu.stats("replicate").submitted == replicate_before
    assert error.job_handle is not None
    emu.clear_faults()
    response = await wait_async(error.job_handle, config=config)
    assert response.request_id == error.job_handle.request_id
