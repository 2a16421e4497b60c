"""A key echoed back by a provider is scrubbed before it reaches an error."""

from __future__ import annotations

import pytest
import respx

from tarash.tarash_gateway import generate_video_async
from tarash.tarash_gateway.engine._redact import redact
from tarash.tarash_gateway.errors import AuthenticationError
from tarash.tarash_gateway.models import VideoGenerationConfig, VideoGenerationRequest
from tests.unit.fake_provider import BASE, FAKE_KEY


def test_redact_walks_nested_data() -> None:
    """Strings inside dicts, lists and tuples are scrubbed; other values are untouched."""
    data = {"detail": f"bad key {FAKE_KEY}", "items": [FAKE_KEY, 3, (FAKE_KEY,)], "n": None}
    assert redact(data, FAKE_KEY) == {
        "detail": "bad key ***",
        "items": ["***", 3, ("***",)],
        "n": None,
    }


def test_short_secrets_are_not_scrubbed() -> None:
    """A too-short 'secret' would mangle ordinary text, so it is left alone."""
    assert redact("the cat", "cat") == "the cat"


@pytest.mark.anyio
async def test_echoed_key_never_reaches_the_error(respx_mock: respx.MockRouter) -> None:
    """A provider echoing the key in its error body does not leak it into the exception."""
    respx_mock.post(f"{BASE}/jobs").respond(
        401, json={"message": f"key {FAKE_KEY} is revoked", "key": FAKE_KEY}
    )
    config = VideoGenerationConfig(provider="fake", model="t2v", api_key=FAKE_KEY, base_url=BASE)
    with pytest.raises(AuthenticationError) as info:
        await generate_video_async(config, VideoGenerationRequest(prompt="x"))
    error = info.value
    assert error.message == "key *** is revoked"
    assert error.raw_response == {"message": "key *** is revoked", "key": "***"}
    assert FAKE_KEY not in str(error) + repr(error)
    assert error.execution_metadata is not None
    assert FAKE_KEY not in error.execution_metadata.model_dump_json()
