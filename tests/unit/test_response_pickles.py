"""Responses cross process pools and task queues: a pickled response holds no key, yet can
still be saved; a download's error holds none either."""

from __future__ import annotations

import pickle
from pathlib import Path

import httpx
import pytest
import respx

from tarash.tarash_gateway.errors import AuthenticationError, HTTPConnectionError
from tests.unit.test_secrets_hardening import DELIVERY, TOKEN, leaks, replicate_response

pytestmark = pytest.mark.anyio


async def test_pickled_response_holds_no_key_and_live_save_still_authenticates(
    respx_mock: respx.MockRouter, tmp_path: Path
) -> None:
    """Pickle, dump and JSON of a Replicate response hold no token; the live response's
    save() still sends it."""
    response = await replicate_response(respx_mock)
    download = respx_mock.get(DELIVERY).respond(200, content=b"png")
    assert TOKEN.encode() not in pickle.dumps(response)
    assert TOKEN not in response.model_dump_json() + repr(response.model_dump()) + repr(response)
    await response.save_async(tmp_path / "a.png")
    assert download.calls.last.request.headers["authorization"] == f"Bearer {TOKEN}"


async def test_unpickled_response_reads_the_key_again_from_the_environment(
    respx_mock: respx.MockRouter, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After unpickling, save() authenticates with REPLICATE_API_TOKEN, as the provider
    needs; without it, it fails with an AuthenticationError before any download."""
    restored = pickle.loads(pickle.dumps(await replicate_response(respx_mock)))
    download = respx_mock.get(DELIVERY).respond(200, content=b"png")
    with pytest.raises(AuthenticationError, match="pickled"):
        await restored.save_async(tmp_path / "a.png")
    assert download.call_count == 0
    monkeypatch.setenv("REPLICATE_API_TOKEN", f"{TOKEN}\r\n")
    await restored.save_async(tmp_path / "a.png")
    assert download.calls.last.request.headers["authorization"] == f"Bearer {TOKEN}"
    assert (tmp_path / "a.png").read_bytes() == b"png"


async def test_download_error_quoting_the_token_leaks_it_nowhere(
    respx_mock: respx.MockRouter, tmp_path: Path
) -> None:
    """A download whose transport error quotes the Authorization header raises an error
    without the token, and leaves no partial file."""
    response = await replicate_response(respx_mock)

    def reject(request: httpx.Request) -> httpx.Response:
        raise httpx.LocalProtocolError(f"Illegal header value {request.headers.raw[-1][1]!r}")

    respx_mock.get(DELIVERY).mock(side_effect=reject)
    with pytest.raises(HTTPConnectionError) as info:
        await response.save_async(tmp_path / "a.png")
    assert leaks(info.value, TOKEN) == []
    assert not (tmp_path / "a.png.part").exists()
