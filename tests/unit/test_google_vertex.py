"""The Google client on Vertex AI (respx): backend choice, URLs, the three kinds of auth,
fetchPredictOperation, inline and GCS results, RAI filtering, errors and lifecycle."""

from __future__ import annotations

import base64
import json
import pickle
import sys
import types
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from pydantic import SecretStr

from tarash.tarash_gateway import generate_image_async, generate_video_async, submit_image_async
from tarash.tarash_gateway._sample_media import make_png
from tarash.tarash_gateway.errors import (
    AuthenticationError,
    ContentModerationError,
    NotFoundError,
    ValidationError,
)
from tarash.tarash_gateway.models import (
    ImageGenerationConfig,
    ImageGenerationRequest,
    JobHandle,
    VideoGenerationConfig,
    VideoGenerationRequest,
)
from tarash.tarash_gateway.providers import _google_vertex, _lifecycle
from tarash.tarash_gateway.providers._base import ProviderSettings
from tarash.tarash_gateway.providers._google_vertex import (
    TokenSource,
    VertexTarget,
    storage_download_url,
    vertex_host,
)
from tarash.tarash_gateway.providers._lifecycle import ModelRetiredWarning
from tarash.tarash_gateway.providers.google import GoogleClient

TOKEN = "ya29.canary-token-0123456789abcdef"
EXPRESS_KEY = "AIza-express-canary-0123456789"
VEO = "veo-3.1-generate-001"
PROJECT, LOCATION = "my-project", "us-central1"
ROOT = "https://us-central1-aiplatform.googleapis.com/v1beta1"
MODEL = f"projects/{PROJECT}/locations/{LOCATION}/publishers/google/models/{VEO}"
OP_NAME = f"projects/123456/locations/{LOCATION}/publishers/google/models/{VEO}/operations/0a1b2c"
EXPRESS_ROOT = "https://aiplatform.googleapis.com/v1beta1"
MP4 = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 16
PNG = make_png(32, 18)
PNG_URI = f"data:image/png;base64,{base64.b64encode(PNG).decode()}"
VERTEX = {"vertexai": True, "project": PROJECT, "location": LOCATION}
_ENV = (
    "GEMINI_API_KEY",
    "GOOGLE_API_KEY",
    "TARASH_GOOGLE_BASE_URL",
    "GOOGLE_GENAI_USE_VERTEXAI",
    "GOOGLE_CLOUD_PROJECT",
    "GOOGLE_CLOUD_LOCATION",
    "GOOGLE_OAUTH_ACCESS_TOKEN",
)


@pytest.fixture(autouse=True)
def _hermetic(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No Google setting from the developer's environment; warnings and tokens start afresh."""
    for name in _ENV:
        monkeypatch.delenv(name, raising=False)
    _lifecycle._warned.clear()
    _google_vertex._SOURCES.clear()
    yield
    _lifecycle._warned.clear()
    _google_vertex._SOURCES.clear()


def video_config(model: str = VEO, **kwargs: Any) -> VideoGenerationConfig:
    fields: dict[str, Any] = {
        "provider": "google",
        "model": model,
        "api_key": TOKEN,
        "provider_config": VERTEX,
        "poll_interval": 0.01,
        **kwargs,
    }
    return VideoGenerationConfig(**fields)


def image_config(model: str, **kwargs: Any) -> ImageGenerationConfig:
    fields: dict[str, Any] = {
        "provider": "google",
        "model": model,
        "api_key": TOKEN,
        "provider_config": VERTEX,
        **kwargs,
    }
    return ImageGenerationConfig(**fields)


def done(**response: Any) -> dict[str, Any]:
    return {"name": OP_NAME, "done": True, "response": response}


def inline_videos() -> dict[str, Any]:
    encoded = base64.b64encode(MP4).decode()
    return done(videos=[{"bytesBase64Encoded": encoded, "mimeType": "video/mp4"}])


def sent_json(route: respx.Route) -> Any:
    return json.loads(route.calls.last.request.content)


def start_and_poll(respx_mock: respx.MockRouter, *replies: dict[str, Any]) -> respx.Route:
    respx_mock.post(f"{ROOT}/{MODEL}:predictLongRunning").respond(200, json={"name": OP_NAME})
    return respx_mock.post(f"{ROOT}/{MODEL}:fetchPredictOperation").mock(
        side_effect=[httpx.Response(200, json=reply) for reply in replies]
    )


def test_hosts_follow_the_sdk() -> None:
    """global -> aiplatform.googleapis.com, us/eu -> the .rep hosts, a region -> {loc}-."""
    assert vertex_host("global") == "https://aiplatform.googleapis.com"
    assert vertex_host("eu") == "https://aiplatform.eu.rep.googleapis.com"
    assert vertex_host("europe-west4") == "https://europe-west4-aiplatform.googleapis.com"


def test_gs_uris_map_to_the_storage_json_api() -> None:
    """gs://bucket/a/b.mp4 is the JSON API's media download, the object name quoted."""
    assert storage_download_url("gs://b-1/a/b.mp4", "https://storage.googleapis.com") == (
        "https://storage.googleapis.com/download/storage/v1/b/b-1/o/a%2Fb.mp4?alt=media"
    )
    assert storage_download_url("gs://bucket", "https://s") is None
    assert storage_download_url("https://x/y", "https://s") is None


@pytest.mark.anyio
async def test_token_video_end_to_end(respx_mock: respx.MockRouter) -> None:
    """Veo on Vertex with an access token: the regional URL, Bearer, seed and audio sent
    (Vertex takes them), fetchPredictOperation with the full name, inline bytes returned."""
    poll = start_and_poll(respx_mock, {"name": OP_NAME}, inline_videos())
    request = VideoGenerationRequest(
        prompt="a cat", duration_seconds=5, seed=7, generate_audio=True, aspect_ratio="16:9"
    )
    response = await generate_video_async(video_config(), request)
    submit = respx_mock.calls[0].request
    assert submit.headers["authorization"] == f"Bearer {TOKEN}"
    assert "x-goog-api-key" not in submit.headers
    body = json.loads(submit.content)
    assert body["parameters"]["durationSeconds"] == 6
    assert body["parameters"]["seed"] == 7
    assert body["parameters"]["generateAudio"] is True
    assert sent_json(poll) == {"operationName": OP_NAME}
    assert response.video == {"content": MP4, "content_type": "video/mp4"}  # published
    assert response.content_type == "video/mp4"
    assert TOKEN not in repr(response) + response.model_dump_json()


@pytest.mark.anyio
async def test_gcs_result_downloads_with_the_token(
    respx_mock: respx.MockRouter, tmp_path: Path
) -> None:
    """A gcsUri result is the storage JSON API URL; save() sends the same Bearer there."""
    start_and_poll(
        respx_mock, done(videos=[{"gcsUri": "gs://bkt/out/sample_0.mp4", "mimeType": "video/mp4"}])
    )
    url = "https://storage.googleapis.com/download/storage/v1/b/bkt/o/out%2Fsample_0.mp4"
    media = respx_mock.get(url, params={"alt": "media"}).respond(200, content=MP4)
    response = await generate_video_async(video_config(), VideoGenerationRequest(prompt="a cat"))
    assert response.video == f"{url}?alt=media"
    await response.save_async(tmp_path / "v.mp4")
    assert media.calls.last.request.headers["authorization"] == f"Bearer {TOKEN}"
    assert (tmp_path / "v.mp4").read_bytes() == MP4
    assert TOKEN.encode() not in pickle.dumps(response)


@pytest.mark.anyio
async def test_express_mode_uses_the_key_on_the_global_host(
    respx_mock: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No project: express mode, publishers/google/models/{m} on aiplatform.googleapis.com,
    the key (GOOGLE_API_KEY) as x-goog-api-key, no Authorization."""
    monkeypatch.setenv("GOOGLE_API_KEY", EXPRESS_KEY)
    model = f"publishers/google/models/{VEO}"
    start = respx_mock.post(f"{EXPRESS_ROOT}/{model}:predictLongRunning").respond(
        200, json={"name": f"{model}/operations/op1"}
    )
    poll = respx_mock.post(f"{EXPRESS_ROOT}/{model}:fetchPredictOperation").respond(
        200, json=inline_videos()
    )
    config = video_config(api_key=None, provider_config={"vertexai": True})
    response = await generate_video_async(config, VideoGenerationRequest(prompt="a cat"))
    assert start.calls.last.request.headers["x-goog-api-key"] == EXPRESS_KEY
    assert "authorization" not in start.calls.last.request.headers
    assert sent_json(poll) == {"operationName": f"{model}/operations/op1"}
    assert response.video == {"content": MP4, "content_type": "video/mp4"}  # published


@pytest.mark.anyio
async def test_the_sdk_environment_selects_vertex(
    respx_mock: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GOOGLE_GENAI_USE_VERTEXAI, GOOGLE_CLOUD_PROJECT/LOCATION and GOOGLE_OAUTH_ACCESS_TOKEN
    are enough: no provider_config, no api_key."""
    for name, value in (
        ("GOOGLE_GENAI_USE_VERTEXAI", "true"),
        ("GOOGLE_CLOUD_PROJECT", PROJECT),
        ("GOOGLE_CLOUD_LOCATION", LOCATION),
        ("GOOGLE_OAUTH_ACCESS_TOKEN", TOKEN),
    ):
        monkeypatch.setenv(name, value)
    start_and_poll(respx_mock, inline_videos())
    config = video_config(api_key=None, provider_config={})
    response = await generate_video_async(config, VideoGenerationRequest(prompt="a cat"))
    assert respx_mock.calls[0].request.headers["authorization"] == f"Bearer {TOKEN}"
    assert response.video == {"content": MP4, "content_type": "video/mp4"}  # published


@pytest.mark.anyio
async def test_rai_filtered_is_content_moderation(respx_mock: respx.MockRouter) -> None:
    """done with raiMediaFilteredCount and no videos: ContentModerationError with reasons."""
    start_and_poll(
        respx_mock, done(raiMediaFilteredCount=1, raiMediaFilteredReasons=["person generation"])
    )
    with pytest.raises(ContentModerationError, match="person generation") as caught:
        await generate_video_async(video_config(), VideoGenerationRequest(prompt="a cat"))
    assert "Vertex AI" in caught.value.message


@pytest.mark.anyio
async def test_retry_info_is_honoured_on_vertex(respx_mock: respx.MockRouter) -> None:
    """A 429 RESOURCE_EXHAUSTED whose wait is in RetryInfo is retried, then the job runs."""
    info = {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "0s"}
    limited = {"error": {"code": 429, "status": "RESOURCE_EXHAUSTED", "details": [info]}}
    start = respx_mock.post(f"{ROOT}/{MODEL}:predictLongRunning").mock(
        side_effect=[httpx.Response(429, json=limited), httpx.Response(200, json={"name": OP_NAME})]
    )
    respx_mock.post(f"{ROOT}/{MODEL}:fetchPredictOperation").respond(200, json=inline_videos())
    await generate_video_async(video_config(), VideoGenerationRequest(prompt="a cat"))
    assert start.call_count == 2


@pytest.mark.anyio
async def test_an_expired_token_is_an_authentication_error_without_it(
    respx_mock: respx.MockRouter,
) -> None:
    """401 UNAUTHENTICATED (even one echoing the token) is an AuthenticationError whose
    message and raw response never hold the token; nothing is polled."""
    envelope = {
        "error": {
            "code": 401,
            "message": f"Request had invalid authentication credentials: Bearer {TOKEN}",
            "status": "UNAUTHENTICATED",
        }
    }
    respx_mock.post(f"{ROOT}/{MODEL}:predictLongRunning").respond(401, json=envelope)
    with pytest.raises(AuthenticationError) as caught:
        await generate_video_async(video_config(), VideoGenerationRequest(prompt="a cat"))
    assert TOKEN not in str(caught.value) + repr(caught.value.raw_response)
    assert TOKEN not in repr(caught.value.execution_metadata)


@pytest.mark.anyio
async def test_imagen_and_gemini_image_on_vertex(respx_mock: respx.MockRouter) -> None:
    """Imagen :predict and Gemini image :generateContent at the model's Vertex path."""
    encoded = base64.b64encode(PNG).decode()
    prefix = f"{ROOT}/projects/{PROJECT}/locations/{LOCATION}/publishers/google/models"
    imagen = respx_mock.post(f"{prefix}/imagen-4.0-generate-001:predict").respond(
        200, json={"predictions": [{"bytesBase64Encoded": encoded, "mimeType": "image/png"}]}
    )
    gemini = respx_mock.post(f"{prefix}/gemini-3.1-flash-image:generateContent").respond(
        200,
        json={
            "candidates": [
                {"content": {"parts": [{"inlineData": {"mimeType": "image/png", "data": encoded}}]}}
            ]
        },
    )
    request = ImageGenerationRequest(prompt="a fox", aspect_ratio="16:9")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # Imagen's Gemini-API shutdown is not Vertex's
        first = await generate_image_async(image_config("imagen-4.0-generate-001"), request)
    second = await generate_image_async(image_config("gemini-3.1-flash-image"), request)
    assert first.images == [PNG_URI] == second.images
    assert imagen.calls.last.request.headers["authorization"] == f"Bearer {TOKEN}"
    assert sent_json(gemini)["contents"][0]["parts"] == [{"text": "a fox"}]


@pytest.mark.anyio
async def test_submit_image_is_refused_before_sending(respx_mock: respx.MockRouter) -> None:
    """Imagen on Vertex answers in the request: submit_image refuses it, sending nothing."""
    with pytest.raises(ValidationError, match="answers image requests"):
        await submit_image_async(
            image_config("imagen-4.0-generate-001"), ImageGenerationRequest(prompt="x")
        )
    assert not respx_mock.calls


@pytest.mark.anyio
async def test_veo_3_0_on_vertex_warns_then_names_the_successor(
    respx_mock: respx.MockRouter,
) -> None:
    """veo-3.0-* retired on Vertex 2026-06-30: a warning naming veo-3.1-generate-001, and
    the 404 Vertex answers becomes a NotFoundError naming it too."""
    model = f"projects/{PROJECT}/locations/{LOCATION}/publishers/google/models/veo-3.0-generate-001"
    envelope = {
        "error": {"code": 404, "message": "Publisher Model was not found.", "status": "NOT_FOUND"}
    }
    respx_mock.post(f"{ROOT}/{model}:predictLongRunning").respond(404, json=envelope)
    with (
        pytest.warns(ModelRetiredWarning, match=r"veo-3\.1-generate-001"),
        pytest.raises(NotFoundError, match=r"veo-3\.1-generate-001"),
    ):
        await generate_video_async(
            video_config("veo-3.0-generate-001"), VideoGenerationRequest(prompt="a cat")
        )


def vertex_client(**config: Any) -> GoogleClient:
    return GoogleClient(
        ProviderSettings(model=VEO, api_key=SecretStr(TOKEN), provider_config=config)
    )


@pytest.mark.parametrize(
    ("config", "match"),
    [
        ({"vertexai": "yes"}, "true or false"),
        ({"vertexai": True, "location": LOCATION}, "needs a project"),
        ({"vertexai": True, "project": "a/b"}, "characters"),
        ({"vertexai": True, "project": PROJECT, "credentials": 42}, "credentials"),
    ],
)
def test_malformed_vertex_options_are_refused(config: dict[str, Any], match: str) -> None:
    """A malformed option is a ValidationError naming it, before anything is sent."""
    with pytest.raises(ValidationError, match=match):
        vertex_client(**config)


def test_a_gemini_handle_is_not_polled_on_vertex() -> None:
    """A handle's backend must be the config's: otherwise a clear ValidationError."""
    import anyio

    handle = JobHandle(
        kind="video",
        provider="google",
        model=VEO,
        request_id="op1",
        base_url=ROOT,
        submitted_at=datetime.now(UTC),
    )
    with pytest.raises(ValidationError, match="Gemini API"):
        anyio.run(vertex_client(**VERTEX).poll, handle)


def test_auth_choice() -> None:
    """A project and a key: a token; a project alone: ADC; neither: express mode."""
    assert VertexTarget.from_settings(VERTEX, has_key=True).auth == "token"
    assert VertexTarget.from_settings(VERTEX, has_key=False).auth == "adc"
    assert VertexTarget.from_settings({"vertexai": True}, has_key=True).auth == "express"
    assert VertexTarget.from_settings(
        {"vertexai": True, "project": "p"}, has_key=True
    ).location == ("global")


# -- Application Default Credentials (a fake google.auth: no network, no key file) ------------


class FakeCredentials:
    """Mints ``token-1``, ``token-2``, ... each valid for an hour from ``now``."""

    def __init__(self, now: datetime) -> None:
        self.token: str | None = None
        self.expiry: datetime | None = None
        self.now = now
        self.requests: list[Any] = []

    def refresh(self, request: Any) -> None:
        self.requests.append(request)
        self.token = f"adc-canary-token-{len(self.requests)}"
        self.expiry = (self.now + timedelta(hours=1)).replace(tzinfo=None)


@pytest.fixture
def fake_google_auth(monkeypatch: pytest.MonkeyPatch) -> FakeCredentials:
    """A stand-in google.auth module whose default() returns one FakeCredentials."""
    credentials = FakeCredentials(datetime.now(UTC))
    google = types.ModuleType("google")
    auth = types.ModuleType("google.auth")
    auth.default = lambda scopes: (credentials, PROJECT)  # type: ignore[attr-defined]
    google.auth = auth  # type: ignore[attr-defined]
    auth.__spec__ = importlib_spec("google.auth")
    monkeypatch.setitem(sys.modules, "google", google)
    monkeypatch.setitem(sys.modules, "google.auth", auth)
    return credentials


def importlib_spec(name: str) -> Any:
    import importlib.machinery

    return importlib.machinery.ModuleSpec(name, loader=None)


@pytest.mark.anyio
async def test_adc_tokens_are_minted_once_and_reused(
    respx_mock: respx.MockRouter, fake_google_auth: FakeCredentials
) -> None:
    """With a project and no token, ADC mints one (in a worker thread) that every request
    of the job reuses; it is a secret of the client."""
    start_and_poll(respx_mock, {"name": OP_NAME}, inline_videos())
    config = video_config(api_key=None)
    await generate_video_async(config, VideoGenerationRequest(prompt="a cat"))
    assert len(fake_google_auth.requests) == 1
    sent = {call.request.headers["authorization"] for call in respx_mock.calls}
    assert sent == {"Bearer adc-canary-token-1"}


@pytest.mark.anyio
async def test_adc_tokens_are_minted_again_before_expiry(fake_google_auth: FakeCredentials) -> None:
    """A token within REFRESH_MARGIN of its expiry is not used: a new one is minted."""
    now = [datetime.now(UTC)]
    source = TokenSource(fake_google_auth, now=lambda: now[0])
    first = await source.token()
    assert (await source.token()).get_secret_value() == first.get_secret_value()
    now[0] += timedelta(minutes=56)
    fake_google_auth.now = now[0]
    second = await source.token()
    assert second.get_secret_value() == "adc-canary-token-2"
    assert source.mints == 2


@pytest.mark.anyio
async def test_adc_token_never_leaks(
    respx_mock: respx.MockRouter, fake_google_auth: FakeCredentials
) -> None:
    """The minted token is scrubbed like a key from an error that echoes it."""
    respx_mock.post(f"{ROOT}/{MODEL}:predictLongRunning").respond(
        403, json={"error": {"code": 403, "message": "adc-canary-token-1 lacks permission"}}
    )
    with pytest.raises(AuthenticationError) as caught:
        await generate_video_async(video_config(api_key=None), VideoGenerationRequest(prompt="x"))
    assert "adc-canary-token-1" not in str(caught.value)


def test_adc_without_google_auth_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    """No google-auth installed: an AuthenticationError naming the extra and the other ways."""
    monkeypatch.setitem(sys.modules, "google.auth", None)
    monkeypatch.setattr("importlib.util.find_spec", lambda name: None)
    with pytest.raises(AuthenticationError, match=r"tarash-gateway\[vertex\]"):
        GoogleClient(ProviderSettings(model=VEO, provider_config=VERTEX)).api_key()


# -- the published package's way of selecting Vertex -----------------------------------------


@pytest.mark.anyio
async def test_published_selection_project_and_location_without_a_key(
    respx_mock: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    """api_key=None with provider_config project and location is Vertex AI (as published):
    the regional URL and the token as Bearer, no vertexai flag needed."""
    monkeypatch.setenv("GOOGLE_OAUTH_ACCESS_TOKEN", TOKEN)
    monkeypatch.setenv("GEMINI_API_KEY", EXPRESS_KEY)  # a Gemini key around changes nothing
    start_and_poll(respx_mock, inline_videos())
    config = video_config(api_key=None, provider_config={"project": PROJECT, "location": LOCATION})
    response = await generate_video_async(config, VideoGenerationRequest(prompt="a cat"))
    submit = respx_mock.calls[0].request
    assert submit.url == f"{ROOT}/{MODEL}:predictLongRunning"
    assert submit.headers["authorization"] == f"Bearer {TOKEN}"
    assert "x-goog-api-key" not in submit.headers
    assert response.video == {"content": MP4, "content_type": "video/mp4"}


def test_published_gcp_project_defaults_to_us_central1() -> None:
    """The published docs' gcp_project names the project; with no location, the published
    default us-central1 (the SDK's selection keeps its own default, global)."""
    client = GoogleClient(ProviderSettings(model=VEO, provider_config={"gcp_project": PROJECT}))
    assert client.vertex == VertexTarget(PROJECT, "us-central1", "adc", "adc")
    assert client.model_path() == MODEL
    flagged = vertex_client(vertexai=True, project=PROJECT)
    assert flagged.vertex is not None
    assert flagged.vertex.location == "global"


@pytest.mark.parametrize(
    ("config", "match"),
    [
        ({"project": PROJECT, "credentials_path": "/nonexistent/key.json"}, "credentials_path"),
        ({"project": PROJECT, "credentials_path": ""}, "credentials_path"),
        ({"project": PROJECT, "gcp_project": "other-project"}, "gcp_project"),
        ({"project": PROJECT, "credentials": "adc", "credentials_path": __file__}, "give one"),
    ],
)
def test_published_options_malformed_are_refused(config: dict[str, Any], match: str) -> None:
    """A missing credentials file, or two answers to one option, is a ValidationError
    naming the field, before anything is sent."""
    with pytest.raises(ValidationError, match=match):
        GoogleClient(ProviderSettings(model=VEO, provider_config=config))


def test_vertexai_false_still_means_the_gemini_api() -> None:
    """An explicit vertexai=False keeps the Gemini API (Vertex options are then refused),
    and so does a config with a key and no Vertex option."""
    with pytest.raises(ValidationError, match="vertexai=True"):
        GoogleClient(
            ProviderSettings(model=VEO, provider_config={"vertexai": False, "project": PROJECT})
        )
    gemini = GoogleClient(ProviderSettings(model=VEO, api_key=SecretStr(EXPRESS_KEY)))
    assert gemini.vertex is None
    assert GoogleClient(ProviderSettings(model=VEO, provider_config={})).vertex is None


@pytest.mark.anyio
async def test_credentials_path_mints_a_token_from_the_service_account_file(
    respx_mock: respx.MockRouter,
    monkeypatch: pytest.MonkeyPatch,
    fake_google_auth: FakeCredentials,
    tmp_path: Path,
) -> None:
    """credentials_path (published) is a service-account JSON file: google-auth loads it
    (load_credentials_from_file, cloud-platform scope) and mints the Bearer token."""
    key_file = tmp_path / "sa.json"
    key_file.write_text(json.dumps({"type": "service_account"}))
    loaded: list[tuple[str, Any]] = []

    def load_credentials_from_file(path: str, scopes: Any) -> tuple[FakeCredentials, str]:
        loaded.append((path, scopes))
        return fake_google_auth, PROJECT

    monkeypatch.setattr(
        sys.modules["google.auth"],
        "load_credentials_from_file",
        load_credentials_from_file,
        raising=False,
    )
    start_and_poll(respx_mock, inline_videos())
    config = video_config(
        api_key=None,
        provider_config={
            "project": PROJECT,
            "location": LOCATION,
            "credentials_path": str(key_file),
        },
    )
    await generate_video_async(config, VideoGenerationRequest(prompt="a cat"))
    assert loaded == [(str(key_file), [_google_vertex.CLOUD_PLATFORM_SCOPE])]
    assert respx_mock.calls[0].request.headers["authorization"] == "Bearer adc-canary-token-1"
