"""The foundation issue's snippet, verbatim, against the emulator; and Ctrl-C in a sync call."""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time
from pathlib import Path

import pytest

from tarash.emulator import Emulator, Fault
from tarash.tarash_gateway.media import sniff_mime

pytestmark = [pytest.mark.integration]


def test_seed_snippet_runs_verbatim(
    emu: Emulator,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The snippet works unchanged once two environment variables point fal at the emulator."""
    monkeypatch.setenv("TARASH_FAL_BASE_URL", emu.base_url("fal"))
    monkeypatch.setenv("FAL_KEY", emu.api_key("fal"))
    monkeypatch.chdir(tmp_path)

    # --- the snippet, as users write it -------------------------------------------
    from tarash.tarash_gateway import generate_video, generate_video_async
    from tarash.tarash_gateway.models import (
        VideoGenerationConfig,
        VideoGenerationRequest,
        VideoGenerationResponse,
    )

    request = VideoGenerationRequest(
        prompt="A cat playing piano, cinematic lighting", duration_seconds=5, aspect_ratio="16:9"
    )
    config = VideoGenerationConfig(provider="fal", model="fal-ai/veo3")
    response = generate_video(config, request)  # sync, from a script

    async def app() -> VideoGenerationResponse:
        return await generate_video_async(config, request)  # async, from an app

    response = asyncio.run(app())
    print(response.video, response.execution_metadata)
    response.save("cat.mp4")
    # -------------------------------------------------------------------------------

    assert sniff_mime((tmp_path / "cat.mp4").read_bytes()) == "video/mp4"
    assert "attempts=" in capsys.readouterr().out
    assert response.execution_metadata.attempts[0].adaptations == [
        "duration_seconds: 5 -> 6 (fal-ai/veo3 offers 4s, 6s, 8s)"
    ]


def test_ctrl_c_in_a_sync_call_cancels_the_remote_job(emu: Emulator) -> None:
    """Ctrl-C during generate_video cancels the emulated job: nothing is left running."""
    from tarash.tarash_gateway import generate_video
    from tarash.tarash_gateway.models import VideoGenerationConfig, VideoGenerationRequest

    emu.inject(Fault("stuck", provider="fal"))
    config = VideoGenerationConfig(
        provider="fal",
        model="fal-ai/veo3",
        base_url=emu.base_url("fal"),
        api_key=emu.api_key("fal"),
        poll_interval=0.05,
    )
    before = emu.stats("fal")

    def press_ctrl_c_once_submitted() -> None:
        deadline = time.monotonic() + 10
        while emu.stats("fal").submitted == before.submitted and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.1)
        os.kill(os.getpid(), signal.SIGINT)

    threading.Thread(target=press_ctrl_c_once_submitted, daemon=True).start()
    with pytest.raises(KeyboardInterrupt):
        generate_video(config, VideoGenerationRequest(prompt="a cat"))
    after = emu.stats("fal")
    assert after.submitted == before.submitted + 1
    assert after.cancelled == before.cancelled + 1
    assert after.running == 0
