"""The shared SSL context honours SSL_CERT_FILE / SSL_CERT_DIR, and follows their changes."""

from __future__ import annotations

from pathlib import Path

import pytest
import trustme

from tarash.tarash_gateway.engine import _http
from tarash.tarash_gateway.errors import ValidationError


@pytest.fixture
def ca_file(tmp_path: Path) -> Path:
    """A PEM file holding one freshly generated CA."""
    path = tmp_path / "ca.pem"
    trustme.CA().cert_pem.write_to_path(str(path))
    return path


def test_one_context_while_the_environment_stays(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the variables, every client shares one context (built once)."""
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    assert _http._shared_ssl_context() is _http._shared_ssl_context()


def test_ssl_cert_file_replaces_the_trusted_cas(
    monkeypatch: pytest.MonkeyPatch, ca_file: Path
) -> None:
    """SSL_CERT_FILE makes that bundle the trust (as httpx does); unsetting it restores the
    system's on the next call, so one test's CA never lingers into the next."""
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    system = _http._shared_ssl_context()
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))
    local = _http._shared_ssl_context()
    assert local is not system
    assert len(local.get_ca_certs()) == 1
    monkeypatch.delenv("SSL_CERT_FILE")
    restored = _http._shared_ssl_context()
    assert restored is not local
    assert len(restored.get_ca_certs()) != 1


def test_ssl_cert_dir_is_read(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """SSL_CERT_DIR alone builds a context of its own (its CAs load on demand)."""
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    system = _http._shared_ssl_context()
    monkeypatch.setenv("SSL_CERT_DIR", str(tmp_path))
    assert _http._shared_ssl_context() is not system


def test_an_unreadable_bundle_is_a_validation_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A SSL_CERT_FILE naming no certificates is a tarash ValidationError naming it."""
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "missing.pem"))
    with pytest.raises(ValidationError, match="SSL_CERT_FILE"):
        _http._shared_ssl_context()
    (tmp_path / "junk.pem").write_text("not a certificate")
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "junk.pem"))
    with pytest.raises(ValidationError, match="SSL_CERT_FILE"):
        _http._shared_ssl_context()
