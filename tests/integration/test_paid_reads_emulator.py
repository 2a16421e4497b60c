"""Against the emulator: a reply cut short never buys a second paid job on the fallback."""

from __future__ import annotations

import pytest

from tarash.emulator import Emulator, Fault
from tarash.tarash_gateway import generate_video_async, wait_async
from tarash.tarash_gateway.errors import ProviderServerError
from tarash.tarash_gateway.models import VideoGenerationRequest
from tests._emulator import emulated_video_config

pytestmark = [pytest.mark.integration, pytest.mark.anyio]

REQUEST = VideoGenerationRequest(prompt="a cat", duration_seconds=6)


async def test_fal_result_cut_short_once_is_read_again(emu: Emulator) -> None:
    """One truncated 200 on fal's result read is retried: fal's result, no Replicate job."""
    emu.inject(Fault("malformed_json", provider="fal", operation="result", times=1))
    replicate_before = emu.stats("replicate").submitted
    config = emulated_video_config(
        emu,
        "fal",
        "fal-ai/veo3",
        fallback_configs=[emulated_video_config(emu, "replicate", "google/veo-3")],
    )
    response = await generate_video_async(config, REQUEST)
    assert response.provider == "fal"
    assert response.execution_metadata.attempts[0].retries == 1
    assert emu.stats("replicate").submitted == replicate_before
    assert emu.pending_faults() == []


async def test_fal_result_never_readable_keeps_the_handle_and_buys_nothing(
    emu: Emulator,
) -> None:
    """A result that stays cut short fails with the handle and no fallback; it reads later."""
    emu.inject(Fault("malformed_json", provider="fal", operation="result", times=None))
    replicate_before = emu.stats("replicate").submitted
    config = emulated_video_config(
        emu,
        "fal",
        "fal-ai/veo3",
        max_retries=1,
        fallback_configs=[emulated_video_config(emu, "replicate", "google/veo-3")],
    )
    with pytest.raises(ProviderServerError) as info:
        await generate_video_async(config, REQUEST)
    error = info.value
    assert error.fallback_allowed is False
    assert error.job_handle is not None
    assert emu.stats("replicate").submitted == replicate_before
    emu.clear_faults()
    response = await wait_async(error.job_handle, config=config)
    assert response.request_id == error.job_handle.request_id


async def test_replicate_status_cut_short_is_read_again(emu: Emulator) -> None:
    """A truncated Replicate prediction read is retried, and the job is followed to the end."""
    emu.inject(Fault("malformed_json", provider="replicate", operation="status", times=2))
    fal_before = emu.stats("fal").submitted
    config = emulated_video_config(
        emu,
        "replicate",
        "google/veo-3",
        fallback_configs=[emulated_video_config(emu, "fal", "fal-ai/veo3")],
    )
    response = await generate_video_async(config, REQUEST)
    assert response.provider == "replicate"
    assert emu.stats("fal").submitted == fal_before


async def test_fal_submit_cut_short_is_flagged_and_buys_no_fallback(emu: Emulator) -> None:
    """A submit answered 200 with a truncated body and no id: flagged, Replicate not paid."""
    emu.inject(Fault("malformed_json", provider="fal", operation="submit", times=1))
    replicate_before = emu.stats("replicate").submitted
    config = emulated_video_config(
        emu,
        "fal",
        "fal-ai/veo3",
        fallback_configs=[emulated_video_config(emu, "replicate", "google/veo-3")],
    )
    with pytest.raises(ProviderServerError) as info:
        await generate_video_async(config, REQUEST)
    assert (info.value.job_may_exist, info.value.fallback_allowed) == (True, False)
    meta = info.value.execution_metadata
    assert meta is not None
    assert meta.attempts[0].job_may_exist is True
    assert emu.stats("replicate").submitted == replicate_before
