"""A Sora job given up on runs on (OpenAI's protocol has no cancel): under
``max_concurrent=1`` the next request waits until the emulator says that job is over."""

from __future__ import annotations

import subprocess
import sys
import time

import anyio
import pytest

from tarash.emulator import Emulator, Latency
from tarash.tarash_gateway.errors import TimeoutError
from tarash.tarash_gateway.models import VideoGenerationRequest
from tarash.tarash_gateway.router import Router
from tarash.tarash_gateway.routing._limits import ProviderLimit
from tests._emulator import emulated_video_config
from tests._limit_rows import account_row

pytestmark = pytest.mark.anyio

REQUEST = VideoGenerationRequest(prompt="a cat playing piano", duration_seconds=4)


async def test_a_sora_job_given_up_on_keeps_its_slot_until_it_ends(emu: Emulator) -> None:
    """The first call times out; its job runs on and holds the one slot: the second call
    submits only once the first job has succeeded at the emulator, never beside it."""
    emu.latency = Latency(queue_seconds=0.0, run_seconds=1.0)
    router = Router(limits={"openai": ProviderLimit(max_concurrent=1)})
    before = len(emu.jobs("openai"))  # the module's emulator is shared
    with pytest.raises(TimeoutError):
        await router.generate_video_async(
            emulated_video_config(emu, "openai", "sora-2", timeout=0.2), REQUEST
        )
    assert account_row(router.snapshot().limits, "openai").in_flight == 1
    (first,) = emu.jobs("openai")[before:]
    assert first.state != "succeeded"

    with anyio.fail_after(10):
        response = await router.generate_video_async(
            emulated_video_config(emu, "openai", "sora-2", timeout=8.0), REQUEST
        )
    first_job, second_job = emu.jobs("openai")[before:]
    assert first_job.state == "succeeded" and second_job.id == response.request_id
    meta = response.execution_metadata
    assert meta is not None and meta.attempts[0].capacity_wait_seconds > 0.5
    assert account_row(router.snapshot().limits, "openai").in_flight == 0


def test_a_sync_call_returns_and_the_process_exits_while_its_job_is_watched(
    emu: Emulator,
) -> None:
    """The sync shim hands the job that runs on to the watcher and returns at once; the
    interpreter then exits without waiting for that job (the watch is stopped at exit)."""
    emu.latency = Latency(queue_seconds=0.0, run_seconds=60.0)
    config = emulated_video_config(emu, "openai", "sora-2", timeout=0.2)
    script = (
        "from tarash.tarash_gateway.routing._limits import ProviderLimit\n"
        "from tarash.tarash_gateway.errors import TimeoutError\n"
        "from tarash.tarash_gateway.models import VideoGenerationConfig\n"
        "from tarash.tarash_gateway.models import VideoGenerationRequest\n"
        "from tarash.tarash_gateway.router import Router\n"
        "router = Router(limits={'openai': ProviderLimit(max_concurrent=1)})\n"
        f"config = VideoGenerationConfig.model_validate_json({config.model_dump_json()!r})\n"
        f"config = config.model_copy(update={{'api_key': {emu.api_key('openai')!r}}})\n"
        "try:\n"
        "    router.generate_video(config, VideoGenerationRequest(prompt='a cat',"
        " duration_seconds=4))\n"
        "except TimeoutError:\n"
        "    (row,) = [r for k, r in router.snapshot().limits.items() if k.startswith('openai@')]\n"
        "    print('in flight', row.in_flight)\n"
    )
    before = len(emu.jobs("openai"))
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "in flight 1"
    assert time.monotonic() - started < 30  # the 60 s job was not waited for
    (job,) = emu.jobs("openai")[before:]
    assert job.state == "running"
