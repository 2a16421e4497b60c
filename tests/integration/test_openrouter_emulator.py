"""OpenRouter end to end against the emulator: generate_video sync and async as a
published user writes it, the catalog read from the emulator's models endpoint, a value
the catalog refuses, fallback to another provider, a deadline give-up that leaves the
uncancellable job watched (never cancelled), and a hedging router that starts it only when
the user opts in."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

from tarash.emulator import Emulator, Fault, Latency
from tarash.tarash_gateway import (
    generate_video,
    generate_video_async,
    submit_video_async,
    wait_async,
)
from tarash.tarash_gateway.errors import TimeoutError, ValidationError
from tarash.tarash_gateway.media import sniff_mime
from tarash.tarash_gateway.models import (
    JobHandle,
    VideoGenerationConfig,
    VideoGenerationRequest,
)
from tarash.tarash_gateway.providers._openrouter_catalog import CATALOGS
from tarash.tarash_gateway.router import HedgePolicy, Router
from tarash.tarash_gateway.routing._catalog import provider_rows
from tests._emulator import emulated_video_config

pytestmark = pytest.mark.integration

MODEL = "google/veo-3.1"


@pytest.fixture(autouse=True)
def _fresh_catalog() -> None:
    CATALOGS.clear()


def test_sync_generate_as_a_published_user_writes_it(
    emu: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A config naming only provider and model reaches the emulator through
    TARASH_OPENROUTER_BASE_URL and OPENROUTER_API_KEY; the MP4 is downloaded with the key."""
    monkeypatch.setenv("TARASH_OPENROUTER_BASE_URL", emu.base_url("openrouter"))
    monkeypatch.setenv("OPENROUTER_API_KEY", emu.api_key("openrouter"))
    video = generate_video(
        VideoGenerationConfig(provider="openrouter", model=MODEL, poll_interval=0.05),
        VideoGenerationRequest(
            prompt="a lake", duration_seconds=6, resolution="720p", aspect_ratio="16:9"
        ),
    )
    assert video.status == "completed"
    assert sniff_mime(video.save(tmp_path / "lake.mp4").read_bytes()) == "video/mp4"
    [job] = [job for job in emu.jobs("openrouter") if job.id == video.request_id]
    assert dict(job.input) == {
        "model": MODEL,
        "prompt": "a lake",
        "duration": 6,
        "resolution": "720p",
        "aspect_ratio": "16:9",
    }


@pytest.mark.anyio
async def test_async_generate_and_a_value_the_catalog_refuses(emu: Emulator) -> None:
    config = emulated_video_config(emu, "openrouter", "alibaba/wan-2.6")
    video = await generate_video_async(
        config, VideoGenerationRequest(prompt="a fox", duration_seconds=5)
    )
    assert video.status == "completed" and video.content_type == "video/mp4"
    before = len(emu.jobs("openrouter"))
    with pytest.raises(ValidationError, match="duration in"):
        await generate_video_async(config, VideoGenerationRequest(prompt="a", duration_seconds=7))
    assert len(emu.jobs("openrouter")) == before  # refused before anything was paid for


@pytest.mark.anyio
async def test_a_failed_job_falls_back_to_another_provider(emu: Emulator) -> None:
    emu.inject(Fault("job_failure", provider="openrouter"))
    config = emulated_video_config(
        emu,
        "openrouter",
        MODEL,
        fallback_configs=[emulated_video_config(emu, "xai", "grok-imagine-video")],
    )
    video = await generate_video_async(
        config, VideoGenerationRequest(prompt="a lake", duration_seconds=4)
    )
    meta = video.execution_metadata
    assert [(a.provider, a.status) for a in meta.attempts] == [
        ("openrouter", "failed"),
        ("xai", "success"),
    ]


@pytest.mark.anyio
async def test_a_deadline_give_up_leaves_the_job_running_not_cancelled(emu: Emulator) -> None:
    """No cancel call exists: the job the deadline gave up on runs on at the provider and
    the error carries its handle; no fallback follows (it would be paid twice)."""
    emu.inject(Fault("stuck", provider="openrouter"))
    config = emulated_video_config(
        emu,
        "openrouter",
        MODEL,
        timeout=1,
        fallback_configs=[emulated_video_config(emu, "xai", "grok-imagine-video")],
    )
    xai_jobs = len(emu.jobs("xai"))
    with pytest.raises(TimeoutError) as caught:
        await generate_video_async(config, VideoGenerationRequest(prompt="a", duration_seconds=4))
    handle = caught.value.job_handle
    assert handle is not None and handle.provider == "openrouter"
    await anyio.sleep(0.2)
    [job] = [job for job in emu.jobs("openrouter") if job.id == handle.request_id]
    assert job.state == "running"
    assert len(emu.jobs("xai")) == xai_jobs  # no fallback: the first job is still billed


@pytest.mark.anyio
async def test_a_hedging_router_starts_openrouter_only_when_the_user_opts_in(
    emu: Emulator,
) -> None:
    """A slow fal primary is hedged after 50 ms onto the next config; OpenRouter, which
    cannot stop a losing job, is not started beside it unless the policy allows it."""
    emu.latency = Latency(queue_seconds=0.05, run_seconds=0.6)
    config = emulated_video_config(
        emu,
        "fal",
        "fal-ai/veo3",
        fallback_configs=[emulated_video_config(emu, "openrouter", MODEL)],
    )
    request = VideoGenerationRequest(prompt="a lake", duration_seconds=4)
    refused = Router(strategy="hedge", hedge=HedgePolicy(after=0.05))
    meta = (await refused.generate_video_async(config, request)).execution_metadata
    assert [(a.provider, a.role) for a in meta.attempts] == [("fal", "primary")]
    allowed = Router(strategy="hedge", hedge=HedgePolicy(after=0.05, refuse_billed_cancel=False))
    meta = (await allowed.generate_video_async(config, request)).execution_metadata
    assert [(a.provider, a.role) for a in meta.attempts] == [
        ("fal", "primary"),
        ("openrouter", "hedge"),
    ]


def test_the_provider_table_says_it_cannot_cancel() -> None:
    [row] = [row for row in provider_rows() if row.name == "openrouter"]
    assert row.cancel is False and row.key_env_vars[0] == "OPENROUTER_API_KEY"


@pytest.mark.anyio
async def test_a_handle_submitted_once_is_waited_on_later(emu: Emulator) -> None:
    """submit returns a handle (no cancel URL: there is none); wait reads it to the end."""
    config = emulated_video_config(emu, "openrouter", MODEL)
    handle = await submit_video_async(
        config, VideoGenerationRequest(prompt="a lake", duration_seconds=4)
    )
    assert handle.provider == "openrouter" and handle.cancel_url is None
    resumed = JobHandle.model_validate_json(handle.model_dump_json())
    video = await wait_async(resumed, config=config, poll_interval=0.05)
    assert video.status == "completed" and video.request_id == handle.request_id
