"""Keys with surrounding whitespace, over real HTTP (h11 refuses them in a header), against the
emulator: they are stripped, the job runs, and no output carries the key."""

from __future__ import annotations

import logging
import pickle
from pathlib import Path

import pytest

from tarash.emulator import Emulator
from tarash.tarash_gateway import generate_image_async, generate_video_async
from tarash.tarash_gateway.errors import AuthenticationError
from tarash.tarash_gateway.models import (
    ImageGenerationConfig,
    ImageGenerationRequest,
    VideoGenerationConfig,
    VideoGenerationRequest,
)

pytestmark = [pytest.mark.integration, pytest.mark.anyio]

TRAILING = ["\n", "\r\n", "\t", " "]


@pytest.mark.parametrize("trailing", TRAILING, ids=repr)
@pytest.mark.parametrize(("provider", "variable"), [("fal", "FAL_KEY"), ("replicate", None)])
async def test_environment_key_with_trailing_whitespace_runs_the_job(
    emu: Emulator,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    trailing: str,
    provider: str,
    variable: str | None,
) -> None:
    """A key read from a file or a CRLF .env into the environment is sent stripped: the job
    succeeds, and the key appears in no metadata, log or pickle."""
    key = emu.api_key(provider)
    monkeypatch.setenv(variable or "REPLICATE_API_TOKEN", key + trailing)
    model = "fal-ai/veo3" if provider == "fal" else "google/veo-3"
    config = VideoGenerationConfig(
        provider=provider, model=model, base_url=emu.base_url(provider), poll_interval=0.05
    )
    caplog.set_level(logging.DEBUG)
    response = await generate_video_async(config, VideoGenerationRequest(prompt="a cat"))
    assert response.execution_metadata.attempts[0].status == "success"
    assert key not in response.execution_metadata.model_dump_json()
    assert key not in caplog.text
    assert key.encode() not in pickle.dumps(response)


async def test_replicate_download_after_unpickling_reads_the_token_again(
    emu: Emulator, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A response pickled without its token knows its file URL (on the API's origin) needs
    it: save() refuses without REPLICATE_API_TOKEN and works once it is set."""
    config = ImageGenerationConfig(
        provider="replicate",
        model="black-forest-labs/flux-schnell",
        base_url=emu.base_url("replicate"),
        api_key=emu.api_key("replicate"),
        poll_interval=0.05,
    )
    response = await generate_image_async(config, ImageGenerationRequest(prompt="a fox"))
    data = pickle.dumps(response)
    assert emu.api_key("replicate").encode() not in data
    restored = pickle.loads(data)
    with pytest.raises(AuthenticationError):
        await restored.save_async(tmp_path / "fox.png")
    assert not (tmp_path / "fox.png.part").exists()
    monkeypatch.setenv("REPLICATE_API_TOKEN", emu.api_key("replicate"))
    written = await restored.save_async(tmp_path / "fox.png")
    assert written.read_bytes().startswith(b"\x89PNG")
