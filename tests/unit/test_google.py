"""The Google (Gemini API) client on the wire (respx): Veo operations, Gemini and Imagen
images, RAI filtering, Google's error envelope and RetryInfo, lifecycle warnings, secrets."""

from __future__ import annotations

import base64
import json
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from pydantic import SecretStr

from tarash.tarash_gateway import generate_image_async, generate_video_async
from tarash.tarash_gateway._sample_media import make_png
from tarash.tarash_gateway.errors import (
    AuthenticationError,
    ContentModerationError,
    GenerationFailedError,
    NotFoundError,
    ProviderServerError,
    RateLimitError,
    ValidationError,
)
from tarash.tarash_gateway.models import (
    ImageGenerationConfig,
    ImageGenerationRequest,
    VideoGenerationConfig,
    VideoGenerationRequest,
)
from tarash.tarash_gateway.providers import _lifecycle, get_provider_class
from tarash.tarash_gateway.providers._base import ProviderSettings
from tarash.tarash_gateway.providers._lifecycle import ModelRetiredWarning
from tarash.tarash_gateway.providers.google import GoogleClient, retry_delay_seconds
from tarash.tarash_gateway.providers.google_models import find_model

BASE = "https://gemini.test/v1beta"
OFFICIAL = "https://generativelanguage.googleapis.com/v1beta"
KEY = "AIza-canary-0123456789abcdef"
VEO = "veo-3.1-generate-preview"
OP = "3yudfuwjdznj"
OP_NAME = f"models/{VEO}/operations/{OP}"
FILE_URI = f"{BASE}/files/abc123:download?alt=media"
PNG = make_png(64, 36)
PNG_URI = f"data:image/png;base64,{base64.b64encode(PNG).decode()}"


@pytest.fixture(autouse=True)
def _hermetic(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No Google setting from the developer's environment; lifecycle warnings start afresh."""
    for name in ("GEMINI_API_KEY", "GOOGLE_API_KEY", "TARASH_GOOGLE_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    _lifecycle._warned.clear()
    yield
    _lifecycle._warned.clear()


def client(model: str = VEO, base_url: str | None = BASE, **config: Any) -> GoogleClient:
    return GoogleClient(
        ProviderSettings(
            model=model, base_url=base_url, api_key=SecretStr(KEY), provider_config=config
        )
    )


def video_config(model: str = VEO, **kwargs: Any) -> VideoGenerationConfig:
    fields: dict[str, Any] = {
        "provider": "google",
        "model": model,
        "api_key": KEY,
        "base_url": BASE,
        "poll_interval": 0.01,
        **kwargs,
    }
    return VideoGenerationConfig(**fields)


def image_config(model: str = "gemini-3.1-flash-image", **kwargs: Any) -> ImageGenerationConfig:
    fields: dict[str, Any] = {
        "provider": "google",
        "model": model,
        "api_key": KEY,
        "base_url": BASE,
        **kwargs,
    }
    return ImageGenerationConfig(**fields)


def done(**response: Any) -> dict[str, Any]:
    return {"name": OP_NAME, "done": True, "response": {"generateVideoResponse": response}}


def samples(uri: str = FILE_URI) -> dict[str, Any]:
    return done(generatedSamples=[{"video": {"uri": uri}}])


def envelope(code: int, status: str, message: str = "nope", *details: Any) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "status": status, "details": list(details)}}


def sent_json(route: respx.Route) -> Any:
    return json.loads(route.calls.last.request.content)


def gemini_reply(*images: bytes, **extra: Any) -> dict[str, Any]:
    parts: list[dict[str, Any]] = [{"text": "here"}]
    parts += [
        {"inlineData": {"mimeType": "image/png", "data": base64.b64encode(image).decode()}}
        for image in images
    ]
    return {"candidates": [{"content": {"role": "model", "parts": parts}}], **extra}


def test_registry_resolves_the_client() -> None:
    """'google' names GoogleClient; its keys are GEMINI_API_KEY then GOOGLE_API_KEY."""
    assert get_provider_class("google") is GoogleClient
    assert GoogleClient.key_env_vars == ("GEMINI_API_KEY", "GOOGLE_API_KEY")
    assert GoogleClient.answers_in_request == frozenset({"image"})


@pytest.mark.parametrize(
    "model",
    [
        "veo-3.0-generate-preview",
        "veo-3.1-generate-preview",
        "imagen-3.0-generate-001",
        "imagen-3.0-generate-002",
        "imagen-3.0-fast-generate-001",
        "gemini-2.5-flash-image",
        "gemini-2.5-flash-image-preview",
        "gemini-3-pro-image-preview",
        "models/veo-3.1-generate-preview",
    ],
)
def test_every_published_id_is_registered(model: str) -> None:
    """The ids the published package documents resolve to an entry (prefixed ones too)."""
    assert find_model(model) is not None


@pytest.mark.anyio
async def test_text_to_video_starts_an_operation_polls_it_and_adapts_5s_to_6s(
    respx_mock: respx.MockRouter,
) -> None:
    """:predictLongRunning gets instances/parameters with a numeric durationSeconds (5 -> 6,
    recorded); GET /{name} is polled until done; the result is the file URI with the key."""
    start = respx_mock.post(f"{BASE}/models/{VEO}:predictLongRunning").respond(
        200, json={"name": OP_NAME}
    )
    poll = respx_mock.get(f"{BASE}/{OP_NAME}").mock(
        side_effect=[
            httpx.Response(200, json={"name": OP_NAME}),
            httpx.Response(200, json={"name": OP_NAME, "done": False}),
            httpx.Response(200, json=samples()),
        ]
    )
    response = await generate_video_async(
        video_config(),
        VideoGenerationRequest(
            prompt="a cat",
            duration_seconds=5,
            aspect_ratio="9:16",
            resolution="1080p",
            negative_prompt="blur",
            seed=7,
            extra_params={"personGeneration": "allow_all"},
        ),
    )
    assert start.calls.last.request.headers["x-goog-api-key"] == KEY
    body = sent_json(start)
    assert body["instances"] == [{"prompt": "a cat"}]
    parameters = body["parameters"]
    assert parameters["durationSeconds"] == 6
    assert isinstance(parameters["durationSeconds"], int)
    assert parameters["aspectRatio"] == "9:16"
    assert parameters["resolution"] == "1080p"
    assert parameters["negativePrompt"] == "blur"
    assert parameters["personGeneration"] == "allow_all"
    # The Gemini API refuses seed (Vertex only): noted, not sent.
    assert "seed" not in parameters
    assert poll.call_count == 3
    assert response.video == FILE_URI
    attempt = response.execution_metadata.attempts[0]
    assert any("5 -> 6" in note for note in attempt.adaptations)
    assert any("seed" in note for note in attempt.adaptations)
    headers = response._download_headers[FILE_URI]
    assert headers["x-goog-api-key"].get_secret_value() == KEY


@pytest.mark.anyio
async def test_image_to_video_sends_both_frames_inline(respx_mock: respx.MockRouter) -> None:
    """First and last frames go as {bytesBase64Encoded, mimeType} in instances[0]."""
    start = respx_mock.post(f"{BASE}/models/{VEO}:predictLongRunning").respond(
        200, json={"name": OP_NAME}
    )
    respx_mock.get(f"{BASE}/{OP_NAME}").respond(200, json=samples())
    await generate_video_async(
        video_config(),
        VideoGenerationRequest(
            prompt="a cat",
            image_list=[
                {"image": PNG, "type": "first_frame"},
                {"image": PNG, "type": "last_frame"},
            ],
        ),
    )
    instance = sent_json(start)["instances"][0]
    encoded = base64.b64encode(PNG).decode()
    assert instance["image"] == {"bytesBase64Encoded": encoded, "mimeType": "image/png"}
    assert instance["lastFrame"] == {"bytesBase64Encoded": encoded, "mimeType": "image/png"}


@pytest.mark.anyio
async def test_a_url_frame_is_refused_before_sending(respx_mock: respx.MockRouter) -> None:
    """The Gemini API takes images inline only: a URL frame is a ValidationError, unsent."""
    start = respx_mock.post(f"{BASE}/models/{VEO}:predictLongRunning").respond(200, json={})
    with pytest.raises(ValidationError, match="inline"):
        await generate_video_async(
            video_config(),
            VideoGenerationRequest(
                prompt="a cat",
                image_list=[{"image": "https://example.com/a.png", "type": "first_frame"}],
            ),
        )
    assert start.call_count == 0


@pytest.mark.anyio
async def test_save_downloads_the_file_uri_with_the_key(
    respx_mock: respx.MockRouter, tmp_path: Path
) -> None:
    """save() GETs the file URI on the API origin with x-goog-api-key."""
    respx_mock.post(f"{BASE}/models/{VEO}:predictLongRunning").respond(200, json={"name": OP_NAME})
    respx_mock.get(f"{BASE}/{OP_NAME}").respond(200, json=samples())
    content = respx_mock.get(FILE_URI).respond(200, content=b"\x00\x00\x00\x18ftypmp42")
    response = await generate_video_async(video_config(), VideoGenerationRequest(prompt="a cat"))
    await response.save_async(tmp_path / "out.mp4")
    assert content.calls.last.request.headers["x-goog-api-key"] == KEY
    assert (tmp_path / "out.mp4").read_bytes().startswith(b"\x00\x00\x00\x18ftyp")


def test_the_key_goes_to_the_api_origin_only() -> None:
    """download_headers: the key for the API's own origin, nothing for a storage host."""
    assert set(client().download_headers(FILE_URI)) == {"x-goog-api-key"}
    assert client().download_headers("https://storage.googleapis.com/b/v.mp4") == {}


@pytest.mark.anyio
async def test_inline_video_bytes_are_the_result(
    respx_mock: respx.MockRouter, tmp_path: Path
) -> None:
    """A sample with encodedVideo (base64) becomes published MediaContent, which saves;
    raw_response keeps a note in place of the base64 (no second copy)."""
    respx_mock.post(f"{BASE}/models/{VEO}:predictLongRunning").respond(200, json={"name": OP_NAME})
    encoded = base64.b64encode(b"mp4bytes").decode()
    respx_mock.get(f"{BASE}/{OP_NAME}").respond(
        200, json=done(generatedSamples=[{"video": {"encodedVideo": encoded}}])
    )
    response = await generate_video_async(video_config(), VideoGenerationRequest(prompt="a cat"))
    assert response.video == {"content": b"mp4bytes", "content_type": "video/mp4"}
    [sample] = response.raw_response["response"]["generateVideoResponse"]["generatedSamples"]
    assert sample["video"]["encodedVideo"] == f"<{len(encoded)} base64 chars: the video>"
    assert (await response.save_async(tmp_path / "v.mp4")).read_bytes() == b"mp4bytes"


@pytest.mark.anyio
async def test_rai_filtered_operation_is_content_moderation_with_reasons(
    respx_mock: respx.MockRouter,
) -> None:
    """done with raiMediaFilteredCount and no samples is a ContentModerationError naming
    the reasons (not a success, not a crash)."""
    respx_mock.post(f"{BASE}/models/{VEO}:predictLongRunning").respond(200, json={"name": OP_NAME})
    respx_mock.get(f"{BASE}/{OP_NAME}").respond(
        200,
        json=done(raiMediaFilteredCount=1, raiMediaFilteredReasons=["celebrity likeness"]),
    )
    with pytest.raises(ContentModerationError, match="celebrity likeness"):
        await generate_video_async(video_config(), VideoGenerationRequest(prompt="a cat"))


@pytest.mark.anyio
async def test_a_failed_operation_is_generation_failed(respx_mock: respx.MockRouter) -> None:
    """done with error (a google.rpc.Status) is a GenerationFailedError with its message."""
    respx_mock.post(f"{BASE}/models/{VEO}:predictLongRunning").respond(200, json={"name": OP_NAME})
    respx_mock.get(f"{BASE}/{OP_NAME}").respond(
        200, json={"name": OP_NAME, "done": True, "error": {"code": 13, "message": "boom"}}
    )
    with pytest.raises(GenerationFailedError, match="boom"):
        await generate_video_async(video_config(), VideoGenerationRequest(prompt="a cat"))


@pytest.mark.anyio
async def test_a_start_reply_without_a_name_allows_no_fallback(
    respx_mock: respx.MockRouter,
) -> None:
    """A 200 naming no operation: the job may run, so it is flagged and not re-bought."""
    respx_mock.post(f"{BASE}/models/{VEO}:predictLongRunning").respond(200, json={})
    with pytest.raises(ProviderServerError, match="no operation") as caught:
        await generate_video_async(video_config(), VideoGenerationRequest(prompt="a cat"))
    assert getattr(caught.value, "job_may_exist", False) is True
    assert getattr(caught.value, "fallback_allowed", True) is False


@pytest.mark.anyio
async def test_gemini_image_inline_parts_become_data_uris(
    respx_mock: respx.MockRouter,
) -> None:
    """:generateContent gets text + inlineData parts and imageConfig; inline image parts
    of the reply are the images, as published data: URIs."""
    model = "gemini-3.1-flash-image"
    route = respx_mock.post(f"{BASE}/models/{model}:generateContent").respond(
        200, json=gemini_reply(PNG)
    )
    response = await generate_image_async(
        image_config(model),
        ImageGenerationRequest(
            prompt="make it purple",
            aspect_ratio="16:9",
            image_list=[{"image": PNG, "type": "reference"}],
        ),
    )
    body = sent_json(route)
    parts = body["contents"][0]["parts"]
    assert parts[0] == {"text": "make it purple"}
    assert parts[1]["inlineData"]["data"] == base64.b64encode(PNG).decode()
    assert body["generationConfig"]["imageConfig"] == {"aspectRatio": "16:9"}
    assert body["generationConfig"]["responseModalities"] == ["TEXT", "IMAGE"]
    assert response.images == [PNG_URI]
    assert response.content_type == "image/png"


@pytest.mark.anyio
@pytest.mark.parametrize(
    "reply",
    [
        {"promptFeedback": {"blockReason": "PROHIBITED_CONTENT"}},
        {"candidates": [{"finishReason": "IMAGE_SAFETY", "content": {"parts": []}}]},
    ],
)
async def test_a_blocked_image_is_content_moderation(
    respx_mock: respx.MockRouter, reply: dict[str, Any]
) -> None:
    """HTTP 200 with a block reason (or an IMAGE_SAFETY finish and no image) is a refusal."""
    respx_mock.post(f"{BASE}/models/gemini-3.1-flash-image:generateContent").respond(
        200, json=reply
    )
    with pytest.raises(ContentModerationError):
        await generate_image_async(image_config(), ImageGenerationRequest(prompt="x"))


def test_retry_info_is_read_in_seconds() -> None:
    """RetryInfo.retryDelay '42s' / '1.5s' / {seconds, nanos} is the delay in seconds."""
    info = "type.googleapis.com/google.rpc.RetryInfo"
    assert retry_delay_seconds(envelope(429, "X", "m", {"@type": info, "retryDelay": "42s"})) == 42
    assert (
        retry_delay_seconds(envelope(429, "X", "m", {"@type": info, "retryDelay": "1.5s"})) == 1.5
    )
    nested = {"@type": info, "retryDelay": {"seconds": 2, "nanos": 500_000_000}}
    assert retry_delay_seconds(envelope(429, "X", "m", nested)) == 2.5
    assert retry_delay_seconds({"error": "x"}) is None


def test_resource_exhausted_carries_the_retry_delay() -> None:
    """A 429 RESOURCE_EXHAUSTED with RetryInfo is a RateLimitError whose retry_after is it."""
    reply = httpx.Response(
        429,
        json=envelope(
            429,
            "RESOURCE_EXHAUSTED",
            "Quota exceeded",
            {"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": []},
            {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "42s"},
        ),
    )
    error = client().parse_error(reply)
    assert isinstance(error, RateLimitError)
    assert error.retry_after == 42.0
    assert "RESOURCE_EXHAUSTED" in error.message


@pytest.mark.anyio
async def test_a_rate_limited_start_is_retried_after_the_retry_delay(
    respx_mock: respx.MockRouter,
) -> None:
    """429 with RetryInfo (no Retry-After header) is retried, then the job runs."""
    info = {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "0s"}
    start = respx_mock.post(f"{BASE}/models/{VEO}:predictLongRunning").mock(
        side_effect=[
            httpx.Response(429, json=envelope(429, "RESOURCE_EXHAUSTED", "slow", info)),
            httpx.Response(200, json={"name": OP_NAME}),
        ]
    )
    respx_mock.get(f"{BASE}/{OP_NAME}").respond(200, json=samples())
    await generate_video_async(video_config(), VideoGenerationRequest(prompt="a cat"))
    assert start.call_count == 2


def test_permission_denied_maps_to_its_class() -> None:
    """403 PERMISSION_DENIED is an AuthenticationError naming the status, no key in it."""
    reply = httpx.Response(403, json=envelope(403, "PERMISSION_DENIED", "no video on free tier"))
    error = client().parse_error(reply)
    assert isinstance(error, AuthenticationError)
    assert "PERMISSION_DENIED" in error.message
    assert KEY not in repr(error)


@pytest.mark.anyio
async def test_imagen_on_the_gemini_api_warns_and_its_404_names_the_successor(
    respx_mock: respx.MockRouter,
) -> None:
    """Imagen 4 on the official Gemini API warns (shut 2026-08-17) naming the successor;
    the 404 is a NotFoundError repeating it."""
    respx_mock.post(f"{OFFICIAL}/models/imagen-4.0-generate-001:predict").respond(
        404, json=envelope(404, "NOT_FOUND", "models/imagen-4.0-generate-001 is not found")
    )
    with (
        pytest.warns(ModelRetiredWarning, match=r"gemini-3\.1-flash-image"),
        pytest.raises(NotFoundError, match=r"gemini-3\.1-flash-image"),
    ):
        await generate_image_async(
            image_config("imagen-4.0-generate-001", base_url=None),
            ImageGenerationRequest(prompt="a fox"),
        )


@pytest.mark.anyio
async def test_imagen_predictions_become_data_uris(respx_mock: respx.MockRouter) -> None:
    """:predict's predictions[].bytesBase64Encoded are the images as data: URIs (a
    compatible endpoint)."""
    route = respx_mock.post(f"{BASE}/models/imagen-3.0-generate-002:predict").respond(
        200,
        json={"predictions": [{"bytesBase64Encoded": base64.b64encode(PNG).decode()}]},
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        response = await generate_image_async(
            image_config("imagen-3.0-generate-002"),
            ImageGenerationRequest(prompt="a fox", aspect_ratio="16:9"),
        )
    assert sent_json(route) == {
        "instances": [{"prompt": "a fox"}],
        "parameters": {"aspectRatio": "16:9"},
    }
    assert response.images == [PNG_URI]


def test_vertex_options_without_vertexai_are_refused() -> None:
    """project/location without vertexai (as the SDK: the Gemini API takes neither) is a
    ValidationError before anything is sent."""
    with pytest.raises(ValidationError, match="vertexai=True"):
        client(project="my-project")


def test_the_key_comes_from_gemini_api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """GEMINI_API_KEY, else GOOGLE_API_KEY."""
    monkeypatch.setenv("GOOGLE_API_KEY", "google-key")
    bare = GoogleClient(ProviderSettings(model=VEO, base_url=BASE, api_key=None))
    assert bare.auth_headers() == {"x-goog-api-key": "google-key"}
    monkeypatch.setenv("GEMINI_API_KEY", "gemini-key")
    assert bare.auth_headers() == {"x-goog-api-key": "gemini-key"}


@pytest.mark.anyio
async def test_the_download_redirect_never_sees_the_key(
    respx_mock: respx.MockRouter, tmp_path: Path
) -> None:
    """The file URI's 302 to a storage host is followed without x-goog-api-key (httpx
    itself strips only Authorization)."""
    respx_mock.post(f"{BASE}/models/{VEO}:predictLongRunning").respond(200, json={"name": OP_NAME})
    respx_mock.get(f"{BASE}/{OP_NAME}").respond(200, json=samples())
    storage = "https://storage.example/bucket/v.mp4?sig=1"
    first = respx_mock.get(FILE_URI).respond(302, headers={"location": storage})
    bytes_ = respx_mock.get(storage).respond(200, content=b"\x00\x00\x00\x18ftypmp42")
    response = await generate_video_async(video_config(), VideoGenerationRequest(prompt="a cat"))
    await response.save_async(tmp_path / "out.mp4")
    assert first.calls.last.request.headers["x-goog-api-key"] == KEY
    assert "x-goog-api-key" not in bytes_.calls.last.request.headers
    assert (tmp_path / "out.mp4").read_bytes().startswith(b"\x00\x00\x00\x18ftyp")


def test_a_wrong_key_400_is_an_authentication_error() -> None:
    """Google answers a wrong key with 400 INVALID_ARGUMENT + ErrorInfo API_KEY_INVALID:
    an AuthenticationError, not a ValidationError of the request."""
    info = {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID"}
    reply = httpx.Response(400, json=envelope(400, "INVALID_ARGUMENT", "API key not valid.", info))
    assert isinstance(client().parse_error(reply), AuthenticationError)


@pytest.mark.anyio
async def test_a_file_uri_on_another_host_is_read_under_our_base(
    respx_mock: respx.MockRouter,
) -> None:
    """A file URI naming Google's host behind a proxy (or emulator) is read as the SDK does:
    its files/<id> under the configured base, with the key; Google's host is never asked."""
    official = f"{OFFICIAL}/files/abc123:download?alt=media"
    respx_mock.post(f"{BASE}/models/{VEO}:predictLongRunning").respond(200, json={"name": OP_NAME})
    respx_mock.get(f"{BASE}/{OP_NAME}").respond(200, json=samples(official))
    response = await generate_video_async(video_config(), VideoGenerationRequest(prompt="a cat"))
    assert response.video == FILE_URI
