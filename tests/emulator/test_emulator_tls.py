"""Emulator(tls=True): HTTPS on loopback with a CA generated for the emulator."""

from __future__ import annotations

import ssl
from collections.abc import Iterator

import httpx
import pytest

from tarash.emulator import Emulator, Latency

from ._calls import fal_auth, fal_submit, fal_wait, replicate_create


@pytest.fixture(scope="module")
def tls_emu() -> Iterator[Emulator]:
    """One HTTPS emulator for the module."""
    with Emulator(latency=Latency(0, 0.02), tls=True) as emu:
        yield emu


@pytest.fixture
def trusting(tls_emu: Emulator) -> Iterator[httpx.Client]:
    """An httpx client that trusts only the emulator's CA."""
    with httpx.Client(verify=tls_emu.client_ssl_context(), timeout=10) as http:
        yield http


def test_serves_https_with_its_own_ca(tls_emu: Emulator, trusting: httpx.Client) -> None:
    """The URLs are https, the CA file is PEM, and a client trusting it gets through."""
    assert tls_emu.tls
    assert tls_emu.url.startswith("https://127.0.0.1:")
    assert tls_emu.base_url("fal").startswith("https://")
    assert tls_emu.ca_path.read_text().startswith("-----BEGIN CERTIFICATE-----")
    index = trusting.get(tls_emu.url + "/").json()
    assert index["providers"]["replicate"] == tls_emu.base_url("replicate")


def test_the_certificate_names_localhost_too(tls_emu: Emulator, trusting: httpx.Client) -> None:
    """https://localhost:<port> verifies as well as the 127.0.0.1 address."""
    assert trusting.get(f"https://localhost:{tls_emu.port}/").status_code == 200


def test_a_client_that_does_not_trust_the_ca_is_refused(tls_emu: Emulator) -> None:
    """Without the CA the handshake fails verification (the certificate is not public)."""
    with (
        httpx.Client(verify=ssl.create_default_context()) as http,
        pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"),
    ):
        http.get(tls_emu.url + "/")


def test_fal_urls_and_media_are_https(tls_emu: Emulator, trusting: httpx.Client) -> None:
    """fal's queue URLs and output files come back as https URLs that download."""
    submitted = fal_submit(trusting, tls_emu).json()
    assert submitted["status_url"].startswith("https://")
    fal_wait(trusting, tls_emu, submitted["status_url"])
    result = trusting.get(submitted["response_url"], headers=fal_auth(tls_emu)).json()
    assert result["video"]["url"].startswith(tls_emu.url + "/media/")
    assert trusting.get(result["video"]["url"]).content[4:8] == b"ftyp"


def test_replicate_outputs_are_https_urls(tls_emu: Emulator, trusting: httpx.Client) -> None:
    """Replicate outputs are https URLs (what replicate.run() wraps in FileOutput)."""
    body = replicate_create(trusting, tls_emu, headers={"Prefer": "wait"}).json()
    assert body["status"] == "succeeded"
    assert body["urls"]["get"].startswith("https://")
    assert body["output"].startswith(tls_emu.url + "/media/")
    assert trusting.get(body["output"]).content[4:8] == b"ftyp"


def test_plain_emulator_has_no_ca() -> None:
    """ca_path on an http emulator is an error, not a path to nothing."""
    emu = Emulator()
    assert not emu.tls
    assert emu.url.startswith("http://")
    with pytest.raises(RuntimeError, match="tls=True"):
        _ = emu.ca_path


def test_a_stopped_tls_emulator_starts_again() -> None:
    """The CA outlives stop(): the same emulator serves again with the same trust."""
    emu = Emulator(tls=True)
    with emu:
        ca = emu.ca_path.read_bytes()
    with emu, httpx.Client(verify=emu.client_ssl_context()) as http:
        assert http.get(emu.url + "/").status_code == 200
        assert emu.ca_path.read_bytes() == ca
