"""tarash over HTTPS: the emulator's tls=True, trusted through SSL_CERT_FILE."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tarash.emulator import Emulator, Latency
from tarash.tarash_gateway import generate_video, generate_video_async
from tarash.tarash_gateway.errors import HTTPConnectionError
from tarash.tarash_gateway.media import sniff_mime
from tarash.tarash_gateway.models import VideoGenerationRequest
from tests._emulator import emulated_video_config

pytestmark = pytest.mark.integration

REQUEST = VideoGenerationRequest(prompt="a cat")


@pytest.fixture(scope="module")
def tls_emu() -> Iterator[Emulator]:
    """One HTTPS emulator for the module."""
    with Emulator(latency=Latency(0.02, 0.05), tls=True) as emu:
        yield emu


@pytest.fixture
def trust(tls_emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> Emulator:
    """tarash trusts the emulator's CA for this test only (monkeypatch restores the env)."""
    monkeypatch.setenv("SSL_CERT_FILE", str(tls_emu.ca_path))
    return tls_emu


@pytest.mark.anyio
async def test_fal_over_https(trust: Emulator, tmp_path: Path) -> None:
    """generate_video through fal over https; the video URL is https and saves an MP4."""
    response = await generate_video_async(
        emulated_video_config(trust, "fal", "fal-ai/veo3"), REQUEST
    )
    assert isinstance(response.video, str)
    assert response.video.startswith(trust.url + "/media/")
    saved = await response.save_async(tmp_path / "cat.mp4")
    assert sniff_mime(saved.read_bytes()) == "video/mp4"
    assert trust.stats("fal").running == 0


def test_replicate_over_https(trust: Emulator, tmp_path: Path) -> None:
    """The sync API through Replicate over https: https output URL, saved MP4."""
    response = generate_video(emulated_video_config(trust, "replicate", "google/veo-3"), REQUEST)
    assert isinstance(response.video, str)
    assert response.video.startswith("https://")
    assert sniff_mime(response.save(tmp_path / "cat.mp4").read_bytes()) == "video/mp4"


def test_trust_follows_the_environment(tls_emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    """Untrusted, the handshake fails as a connection error; trusted, the same call works;
    untrusted again, it fails again (no trust lingers in the pooled clients)."""
    config = emulated_video_config(tls_emu, "fal", "fal-ai/veo3", max_retries=0)
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    with pytest.raises(HTTPConnectionError, match="CERTIFICATE_VERIFY_FAILED"):
        generate_video(config, REQUEST)
    monkeypatch.setenv("SSL_CERT_FILE", str(tls_emu.ca_path))
    assert generate_video(config, REQUEST).video
    monkeypatch.delenv("SSL_CERT_FILE")
    with pytest.raises(HTTPConnectionError, match="CERTIFICATE_VERIFY_FAILED"):
        generate_video(config, REQUEST)
    assert tls_emu.stats("fal").running == 0
