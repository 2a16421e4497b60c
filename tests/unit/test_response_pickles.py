"""Responses cross process pools and task queues: a pickled response holds no key, yet can
still be saved; a download's error holds none either."""

from __future__ import annotations

import base64
import pickle
from pathlib import Path

import httpx
import pytest
import respx

from tarash.tarash_gateway.errors import AuthenticationError, HTTPConnectionError
from tarash.tarash_gateway.models import (
    ImageGenerationResponse,
    TTSResponse,
    VideoGenerationResponse,
)
from tests.unit.test_secrets import DELIVERY, TOKEN, leaks, replicate_response

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


# A TTSResponse pickled by tarash before the audio models moved into models.py: it names
# tarash.tarash_gateway._audio_models, the module they lived in.
_EARLIER_TTS_PICKLE = (
    "gASV/wEAAAAAAACMI3RhcmFzaC50YXJhc2hfZ2F0ZXdheS5fYXVkaW9fbW9kZWxzlIwLVFRTUmVzcG9uc2WUk5Qp"
    "gZR9lCiMCF9fZGljdF9flH2UKIwKcmVxdWVzdF9pZJSMAnIxlIwFYXVkaW+UjAhVa2xHUmc9PZSMDGNvbnRlbnRf"
    "dHlwZZSMCWF1ZGlvL3dhdpSMCGR1cmF0aW9ulE6MBnN0YXR1c5SMCWNvbXBsZXRlZJSMB2lzX21vY2uUiYwIcHJv"
    "dmlkZXKUTowFbW9kZWyUTowMcmF3X3Jlc3BvbnNllH2UjBJleGVjdXRpb25fbWV0YWRhdGGUjBx0YXJhc2gudGFy"
    "YXNoX2dhdGV3YXkubW9kZWxzlIwRRXhlY3V0aW9uTWV0YWRhdGGUk5QpgZR9lCiMDnRvdGFsX2F0dGVtcHRzlEsA"
    "jBJzdWNjZXNzZnVsX2F0dGVtcHSUTowIYXR0ZW1wdHOUXZSMEmZhbGxiYWNrX3RyaWdnZXJlZJSJjBBjb25maWdz"
    "X2luX2NoYWlulEsBjApzdGFydGVkX2F0lE6MCGVuZGVkX2F0lE51YnWMEl9fcHlkYW50aWNfZXh0cmFfX5ROjBdf"
    "X3B5ZGFudGljX2ZpZWxkc19zZXRfX5SPlChoC2gJaAeQjBRfX3B5ZGFudGljX3ByaXZhdGVfX5ROdWIu"
)


def test_audio_response_pickled_by_an_earlier_version_still_loads() -> None:
    """A TTSResponse pickled when the audio models had their own module loads as the
    models module's TTSResponse, fields intact."""
    restored = pickle.loads(base64.b64decode(_EARLIER_TTS_PICKLE))
    assert type(restored) is TTSResponse
    assert (restored.request_id, restored.audio, restored.content_type) == (
        "r1",
        "UklGRg==",
        "audio/wav",
    )


def test_image_bytes_from_an_earlier_version_load_as_data_uris(tmp_path: Path) -> None:
    """images once held bytes: a response pickled or dumped (mode="python") then loads with
    data: URIs, the published type, and saves the same bytes."""
    png = b"\x89PNG\r\n\x1a\n-earlier"
    earlier = ImageGenerationResponse.model_construct(
        request_id="old", images=[png], content_type="image/png"
    )
    uri = f"data:image/png;base64,{base64.b64encode(png).decode()}"
    restored = pickle.loads(pickle.dumps(earlier))
    assert restored.images == [uri]
    assert restored.save(tmp_path / "old.png").read_bytes() == png
    dumped = {**earlier.model_dump(mode="python", exclude={"images"}), "images": [png]}
    assert ImageGenerationResponse.model_validate(dumped).images == [uri]
    assert ImageGenerationResponse(request_id="h", images=[png]).images == [uri]


def test_a_media_content_video_survives_pickle_and_json(tmp_path: Path) -> None:
    """A MediaContent video (OpenAI's downloaded content, inline Veo) pickles and dumps to
    JSON (its bytes as base64) and reads back as the same dict, which saves."""
    content = {"content": b"\x00\x00\x00\x18ftypmp42\xff\xfe", "content_type": "video/mp4"}
    response = VideoGenerationResponse(request_id="v", video=content, content_type="video/mp4")
    assert pickle.loads(pickle.dumps(response)).video == content
    restored = VideoGenerationResponse.model_validate_json(response.model_dump_json())
    assert restored.video == content
    assert restored.save(tmp_path / "v.mp4").read_bytes() == content["content"]
