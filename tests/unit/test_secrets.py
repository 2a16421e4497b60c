"""No key leaks, whatever layer put it in a message: stripped keys, scrubbed errors, pickles."""

from __future__ import annotations

import json
import logging
import pickle
import traceback
from typing import Any
from urllib.parse import quote

import httpx
import pytest
import respx

from tarash.tarash_gateway import generate_image_async, generate_video_async
from tarash.tarash_gateway.engine._redact import REDACTED, redact, scrub_exception
from tarash.tarash_gateway.errors import (
    AuthenticationError,
    GenerationFailedError,
    HTTPConnectionError,
    TarashException,
    ValidationError,
)
from tarash.tarash_gateway.models import (
    ImageGenerationConfig,
    ImageGenerationRequest,
    ImageGenerationResponse,
    VideoGenerationConfig,
    VideoGenerationRequest,
)
from tests.unit.fake_provider import BASE

pytestmark = pytest.mark.anyio

CANARY = "canary-key-0123456789abcdef"
TRAILING = ["\n", "\r\n", "\t", " "]
REPLICATE = "https://api.replicate.test"
TOKEN = "r8_canary0123456789abcdefghijklmn"
DELIVERY = "https://replicate.delivery/a/out-0.png"


def leaks(error: BaseException, secret: str = CANARY) -> list[str]:
    """Every place of an error (and what it chains to) that still holds the secret."""
    places = {
        "str": str(error),
        "repr": repr(error),
        "args": repr(error.args),
        "traceback": "".join(traceback.format_exception(error)),
    }
    if isinstance(error, TarashException):
        places["message"] = error.message
        places["raw_response"] = repr(error.raw_response)
        if error.execution_metadata is not None:
            places["metadata"] = error.execution_metadata.model_dump_json()
    places["pickle"] = repr(pickle.dumps(error))
    return [name for name, text in places.items() if secret in text]


def fake_config(**kwargs: Any) -> VideoGenerationConfig:
    return VideoGenerationConfig(provider="fake", model="t2v", base_url=BASE, **kwargs)


# -- keys from the environment --------------------------------------------------------


@pytest.mark.parametrize("trailing", TRAILING, ids=repr)
async def test_environment_key_is_sent_without_surrounding_whitespace(
    respx_mock: respx.MockRouter, monkeypatch: pytest.MonkeyPatch, trailing: str
) -> None:
    """A key read from a file or a CRLF .env (trailing newline, CR, tab, space) is stripped."""
    monkeypatch.setenv("FAKE_PROVIDER_KEY", f"{trailing}{CANARY}{trailing}")
    submit = respx_mock.post(f"{BASE}/jobs").respond(401, json={"message": "revoked"})
    with pytest.raises(AuthenticationError):
        await generate_video_async(fake_config(), VideoGenerationRequest(prompt="x"))
    assert submit.calls.last.request.headers["authorization"] == f"Bearer {CANARY}"


@pytest.mark.parametrize("inner", ["\n", "\x01", "\x7f", "é", " ", "\u2028"], ids=repr)
async def test_environment_key_with_odd_inner_character_is_refused_unquoted(
    respx_mock: respx.MockRouter, monkeypatch: pytest.MonkeyPatch, inner: str
) -> None:
    """A control, whitespace or non-ASCII character inside a key is a ValidationError that
    names the variable, does not quote the key, and nothing is sent."""
    monkeypatch.setenv("FAKE_PROVIDER_KEY", f"canary-key{inner}0123456789abcdef")
    submit = respx_mock.post(f"{BASE}/jobs")
    with pytest.raises(ValidationError) as info:
        await generate_video_async(fake_config(), VideoGenerationRequest(prompt="x"))
    assert "FAKE_PROVIDER_KEY" in info.value.message
    assert info.value.provider == "fake"
    for part in ("canary-key", "0123456789abcdef"):
        assert part not in str(info.value) + repr(info.value)
    assert submit.call_count == 0


# -- scrubbing, whatever the origin ---------------------------------------------------


@pytest.mark.parametrize(
    "spelling",
    [
        f"b'Bearer {CANARY}\\n'",  # h11's "Illegal header value" quote of the header
        f"b'Key {CANARY}\\r\\n'",
        f"'{CANARY}\\t'",
        json.dumps(f"{CANARY}\n"),
        quote(CANARY + " ", safe=""),
        f"Bearer {CANARY} ",
    ],
)
def test_redact_catches_escaped_and_header_forms(spelling: str) -> None:
    """The key is scrubbed in its repr, bytes-repr, JSON and URL forms and behind a scheme."""
    secret = f"{CANARY}\n"
    assert CANARY not in redact(f"Illegal header value {spelling}", secret)


def test_redact_catches_escaped_inner_characters() -> None:
    """A key with characters that get escaped is found in its escaped spellings too."""
    secret = "canary\x01key-é-0123456789"
    for text in (repr(secret), repr(secret.encode()), json.dumps(secret)):
        assert "0123456789" not in redact(f"bad {text}", secret)


def test_redact_catches_each_half_of_a_compound_key() -> None:
    """fal's key_id:key_secret leaks through either half alone."""
    scrubbed = redact("id key-id-123456 secret 0123456789abcdef", "key-id-123456:0123456789abcdef")
    assert scrubbed == f"id {REDACTED} secret {REDACTED}"


def test_redact_catches_a_key_cut_at_a_length_limit() -> None:
    """A provider message cut part-way through the key does not keep the key's start."""
    assert redact(f"your key {CANARY[:14]}", CANARY) == f"your key {REDACTED}"


def test_scrub_exception_rewrites_the_whole_chain() -> None:
    """The error, its args, body and the exceptions it was raised from lose the key."""
    try:
        try:
            raise httpx.LocalProtocolError(f"Illegal header value b'Bearer {CANARY}\\n'")
        except httpx.LocalProtocolError as low:
            raise HTTPConnectionError(f"failed: {low}", raw_response={"k": CANARY}) from low
    except HTTPConnectionError as exc:
        error = exc
    assert leaks(error)
    scrub_exception(error, f"{CANARY}\n")
    assert leaks(error) == []


async def test_transport_error_quoting_the_key_leaks_it_nowhere(
    respx_mock: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    """An httpx error whose text quotes the auth header (as h11's does) is scrubbed from the
    error, its args, its chain, the metadata, a pickle of it and the logs."""

    def reject(request: httpx.Request) -> httpx.Response:
        header = request.headers.raw[-1][1]
        raise httpx.LocalProtocolError(f"Illegal header value {header!r} {json.dumps(CANARY)}")

    respx_mock.post(f"{BASE}/jobs").mock(side_effect=reject)
    caplog.set_level(logging.DEBUG)
    with pytest.raises(HTTPConnectionError) as info:
        await generate_video_async(fake_config(api_key=CANARY), VideoGenerationRequest(prompt="x"))
    assert "Illegal header value" in info.value.message  # the cause is still told
    assert leaks(info.value) == []
    assert CANARY not in caplog.text


async def test_fallback_after_a_leaky_failure_keeps_the_key_out(
    respx_mock: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    """A failed attempt's message in a successful fallback response's metadata and in the
    fallback warning hold no key."""
    respx_mock.post(f"{BASE}/jobs").mock(
        side_effect=httpx.RemoteProtocolError(f"peer said: Authorization: Bearer {CANARY}")
    )
    replicate = "https://api.replicate.test"
    respx_mock.post(f"{replicate}/v1/models/black-forest-labs/flux-schnell/predictions").respond(
        201,
        json={
            "id": "p1",
            "status": "succeeded",
            "output": ["https://cdn.example.test/a.png"],
            "urls": {"get": f"{replicate}/v1/predictions/p1"},
        },
    )
    config = ImageGenerationConfig(
        provider="fake",
        model="t2i",
        api_key=CANARY,
        base_url=BASE,
        fallback_configs=[
            ImageGenerationConfig(
                provider="replicate",
                model="black-forest-labs/flux-schnell",
                api_key=TOKEN,
                base_url=replicate,
            )
        ],
    )
    caplog.set_level(logging.DEBUG)
    response = await generate_image_async(config, ImageGenerationRequest(prompt="a fox"))
    first = response.execution_metadata.attempts[0]
    assert first.error_message is not None and "RemoteProtocolError" in first.error_message
    assert CANARY not in response.execution_metadata.model_dump_json()
    assert "falling back" in caplog.text
    assert CANARY not in caplog.text
    assert CANARY.encode() not in pickle.dumps(response)


async def test_key_echoed_in_a_status_body_is_scrubbed(respx_mock: respx.MockRouter) -> None:
    """An error a provider module builds from a status body (not an HTTP error) is scrubbed
    before it reaches the caller or the metadata."""
    respx_mock.post(f"{BASE}/jobs").respond(200, json={"id": "j1", "status": "queued"})
    respx_mock.get(f"{BASE}/jobs/j1").respond(
        200, json={"status": "failed", "error": f"key {CANARY} has no credit"}
    )
    with pytest.raises(GenerationFailedError) as info:
        await generate_video_async(
            fake_config(api_key=CANARY, poll_interval=0.01), VideoGenerationRequest(prompt="x")
        )
    assert info.value.message == f"key {REDACTED} has no credit"
    assert leaks(info.value) == []


# -- pickles --------------------------------------------------------------------------


def replicate_image_config() -> ImageGenerationConfig:
    return ImageGenerationConfig(
        provider="replicate",
        model="black-forest-labs/flux-schnell",
        api_key=TOKEN,
        base_url=REPLICATE,
        poll_interval=0.01,
    )


async def replicate_response(respx_mock: respx.MockRouter) -> ImageGenerationResponse:
    respx_mock.post(f"{REPLICATE}/v1/models/black-forest-labs/flux-schnell/predictions").respond(
        201,
        json={
            "id": "p1",
            "status": "succeeded",
            "output": [DELIVERY],
            "urls": {"get": f"{REPLICATE}/v1/predictions/p1"},
        },
    )
    return await generate_image_async(replicate_image_config(), ImageGenerationRequest(prompt="x"))


async def test_pickled_error_of_a_failed_replicate_call_holds_no_key(
    respx_mock: respx.MockRouter,
) -> None:
    """An error carrying the raw response, metadata and handle pickles without the token."""
    respx_mock.post(f"{REPLICATE}/v1/models/black-forest-labs/flux-schnell/predictions").respond(
        201,
        json={"id": "p1", "status": "starting", "urls": {"get": f"{REPLICATE}/v1/predictions/p1"}},
    )
    respx_mock.get(f"{REPLICATE}/v1/predictions/p1").respond(
        200, json={"id": "p1", "status": "failed", "error": f"token {TOKEN} over quota"}
    )
    with pytest.raises(TarashException) as info:
        await generate_image_async(replicate_image_config(), ImageGenerationRequest(prompt="x"))
    assert leaks(info.value, TOKEN) == []
    restored = pickle.loads(pickle.dumps(info.value))
    assert TOKEN not in str(restored) and type(restored) is type(info.value)
