"""The Azure OpenAI client on the wire (respx): endpoints, auth (api-key, Entra), the v1
Sora protocol, the legacy jobs API, image deployments, families and errors."""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import respx
from pydantic import SecretStr

from tarash.tarash_gateway import generate_image_async, generate_video_async
from tarash.tarash_gateway._sample_media import make_png
from tarash.tarash_gateway.engine._polling import JobState
from tarash.tarash_gateway.errors import (
    AuthenticationError,
    ContentModerationError,
    GenerationFailedError,
    JobCancelledError,
    NotFoundError,
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
from tarash.tarash_gateway.providers.azure_openai import AzureOpenAIClient

ENDPOINT = "https://my-resource.openai.azure.com"
KEY = "azure-canary-key-0123456789"
TOKEN = "eyJ0eXAiOiJKV1QiLCJhbGciOi.entra-canary"
VIDEO_ID = "video_68d7512d07848190b3e45da0"
TASK = "task_01jwcet0eje35tc5jy54yjax5q"
GEN = "gen_01jwcet5abcd"
MP4 = b"\x00\x00\x00\x18ftypmp42" + bytes(64)


@pytest.fixture(autouse=True)
def _hermetic(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No Azure setting from the developer's environment; lifecycle warnings start afresh."""
    for name in (
        "AZURE_OPENAI_ENDPOINT",
        "AZURE_OPENAI_AD_TOKEN",
        "OPENAI_API_VERSION",
        "TARASH_AZURE_OPENAI_BASE_URL",
    ):
        monkeypatch.delenv(name, raising=False)
    _lifecycle._warned.clear()
    yield
    _lifecycle._warned.clear()


def client(
    model: str = "my-sora", key: str | None = KEY, api_version: str | None = None, **config: Any
) -> AzureOpenAIClient:
    return AzureOpenAIClient(
        ProviderSettings(
            model=model,
            base_url=ENDPOINT,
            api_key=SecretStr(key) if key else None,
            api_version=api_version,
            provider_config=config,
        )
    )


def video_config(model: str = "my-sora", **kwargs: Any) -> VideoGenerationConfig:
    fields: dict[str, Any] = {
        "provider": "azure-openai",
        "model": model,
        "api_key": KEY,
        "base_url": ENDPOINT,
        "poll_interval": 0.01,
        **kwargs,
    }
    return VideoGenerationConfig(**fields)


def image_config(model: str = "my-images", **kwargs: Any) -> ImageGenerationConfig:
    fields: dict[str, Any] = {
        "provider": "azure_openai",
        "model": model,
        "api_key": KEY,
        "base_url": ENDPOINT,
        **kwargs,
    }
    return ImageGenerationConfig(**fields)


def serve_content(respx_mock: respx.MockRouter, url: str | None = None) -> respx.Route:
    """The finished video's content, downloaded by the attempt (v1's URL by default)."""
    return respx_mock.get(url or f"{ENDPOINT}/openai/v1/videos/{VIDEO_ID}/content").respond(
        200, content=MP4, headers={"content-type": "video/mp4"}
    )


def video(status: str = "queued", **fields: Any) -> dict[str, Any]:
    return {
        "id": VIDEO_ID,
        "object": "video",
        "model": "my-sora",
        "status": status,
        "progress": 0,
        "created_at": 1758941485,
        "size": "1280x720",
        "seconds": "4",
        "error": None,
        **fields,
    }


def job(status: str = "queued", **fields: Any) -> dict[str, Any]:
    return {
        "object": "video.generation.job",
        "id": TASK,
        "status": status,
        "created_at": 1748469875,
        "finished_at": None,
        "expires_at": None,
        "generations": [],
        "prompt": "a cat",
        "model": "my-sora-1",
        "n_variants": 1,
        "n_seconds": 5,
        "height": 480,
        "width": 854,
        "failure_reason": None,
        **fields,
    }


PNG_B64 = "iVBORw0KGgo="


def test_both_provider_spellings_resolve() -> None:
    """'azure_openai' and 'azure-openai' name the same client."""
    assert get_provider_class("azure_openai") is AzureOpenAIClient
    assert get_provider_class("azure-openai") is AzureOpenAIClient


def test_the_endpoint_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """AZURE_OPENAI_ENDPOINT is the endpoint; an SDK-style '/openai/v1' suffix is dropped;
    none at all is a ValidationError naming the variable."""
    with pytest.raises(ValidationError, match="AZURE_OPENAI_ENDPOINT"):
        AzureOpenAIClient.resolve_base_url()
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", f"{ENDPOINT}/")
    assert AzureOpenAIClient.resolve_base_url() == ENDPOINT
    assert AzureOpenAIClient.resolve_base_url(f"{ENDPOINT}/openai/v1") == ENDPOINT


def test_api_key_header_by_default_and_entra_bearer_on_request(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The key goes in api-key; auth='entra' (or only AZURE_OPENAI_AD_TOKEN set) sends a
    Bearer token instead."""
    assert client().auth_headers() == {"api-key": KEY}
    assert client(key=TOKEN, auth="entra").auth_headers() == {"Authorization": f"Bearer {TOKEN}"}
    monkeypatch.setenv("AZURE_OPENAI_AD_TOKEN", TOKEN)
    assert client(key=None).auth_headers() == {"Authorization": f"Bearer {TOKEN}"}
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", KEY)
    assert client(key=None).auth_headers() == {"api-key": KEY}


def test_no_key_names_both_variables() -> None:
    """Without a key or token the error says what to set, before any request."""
    with pytest.raises(AuthenticationError, match="AZURE_OPENAI_AD_TOKEN"):
        client(key=None).api_key()


@pytest.mark.parametrize(
    "config",
    [{"api": "v2"}, {"family": "sora-3"}, {"auth": "password"}, {"deployment": "x"}],
)
def test_bad_provider_config_is_refused(config: dict[str, Any]) -> None:
    """An unknown api, family, auth or option is a ValidationError before anything is sent."""
    with pytest.raises(ValidationError):
        client(**config)


def test_the_deployment_name_is_never_parsed_for_a_model() -> None:
    """A deployment named like a model is still mapped by its family (sora-2 by default),
    and sent as written."""
    named_pro = client("sora-2-pro-eastus")
    assert named_pro.capabilities("video").resolutions == ("720p",)
    pro = client("anything", family="sora-2-pro")
    assert pro.capabilities("video").resolutions == ("720p", "1080p")
    job = pro.prepare_video(VideoGenerationRequest(prompt="a cat", resolution="1080p"))
    assert job.payload["model"] == "anything"
    assert job.payload["size"] == "1792x1024"
    assert client("dall-e-3", family="dall-e-3").capabilities("image").max_outputs == 1
    assert client("dall-e-3").capabilities("image").max_outputs == 10  # gpt-image-1 default


# ---------------------------------------------------------------------------------------
# v1 videos
# ---------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_v1_video_uses_the_openai_protocol(respx_mock: respx.MockRouter) -> None:
    """v1: POST {endpoint}/openai/v1/videos with the deployment as model and api-key auth;
    the content is on the endpoint, downloaded with the key into MediaContent."""
    create = respx_mock.post(f"{ENDPOINT}/openai/v1/videos").respond(200, json=video())
    content = serve_content(respx_mock)
    respx_mock.get(f"{ENDPOINT}/openai/v1/videos/{VIDEO_ID}").respond(200, json=video("completed"))
    response = await generate_video_async(
        video_config(), VideoGenerationRequest(prompt="a cat", aspect_ratio="9:16")
    )
    sent = create.calls.last.request
    assert sent.headers["api-key"] == KEY
    assert "authorization" not in sent.headers
    assert "api-version" not in str(sent.url)
    assert json.loads(sent.content) == {"prompt": "a cat", "model": "my-sora", "size": "720x1280"}
    assert response.video == {"content": MP4, "content_type": "video/mp4"}
    assert content.calls.last.request.headers["api-key"] == KEY


@pytest.mark.anyio
async def test_v1_image_to_video_is_multipart(respx_mock: respx.MockRouter) -> None:
    """A first frame as bytes is the input_reference file of a multipart create."""
    create = respx_mock.post(f"{ENDPOINT}/openai/v1/videos").respond(200, json=video("completed"))
    serve_content(respx_mock)
    await generate_video_async(
        video_config(),
        VideoGenerationRequest(
            prompt="a cat", image_list=[{"image": make_png(1280, 720), "type": "first_frame"}]
        ),
    )
    assert b'name="input_reference"' in create.calls.last.request.content


@pytest.mark.anyio
async def test_an_explicit_api_version_rides_on_v1(respx_mock: respx.MockRouter) -> None:
    """A configured api_version is sent on v1 calls too (some clients add 'preview')."""
    create = respx_mock.post(f"{ENDPOINT}/openai/v1/videos").respond(200, json=video("completed"))
    serve_content(respx_mock)
    await generate_video_async(
        video_config(api_version="preview"), VideoGenerationRequest(prompt="a cat")
    )
    assert create.calls.last.request.url.params["api-version"] == "preview"


@pytest.mark.anyio
async def test_v1_content_filter_failure_is_moderation(respx_mock: respx.MockRouter) -> None:
    """A v1 video failed with content_filter is a ContentModerationError."""
    respx_mock.post(f"{ENDPOINT}/openai/v1/videos").respond(
        200, json=video("failed", error={"code": "content_filter", "message": "filtered"})
    )
    with pytest.raises(ContentModerationError):
        await generate_video_async(video_config(), VideoGenerationRequest(prompt="a cat"))


# ---------------------------------------------------------------------------------------
# The legacy jobs API
# ---------------------------------------------------------------------------------------


def test_legacy_mapping_is_width_height_and_n_seconds() -> None:
    """Legacy: width/height from the aspect ratio and resolution, n_seconds, n_variants."""
    with pytest.warns(ModelRetiredWarning, match="v1 API"):
        job_ = client("my-sora-1", api="legacy").prepare_video(
            VideoGenerationRequest(
                prompt="a cat",
                duration_seconds=5,
                aspect_ratio="16:9",
                resolution="720p",
                number_of_videos=2,
            )
        )
    assert job_.payload == {
        "prompt": "a cat",
        "n_seconds": 5,
        "n_variants": 2,
        "model": "my-sora-1",
        "width": 1280,
        "height": 720,
    }


@pytest.mark.anyio
@pytest.mark.filterwarnings(
    "ignore::tarash.tarash_gateway.providers._lifecycle.ModelRetiredWarning"
)
async def test_legacy_flow_polls_states_and_downloads_by_generation(
    respx_mock: respx.MockRouter,
) -> None:
    """preprocessing -> queued -> running -> processing -> succeeded; the MP4 is the
    first generation's content/video, downloaded with api-version=preview and the key."""
    jobs = f"{ENDPOINT}/openai/v1/video/generations/jobs"
    content = respx_mock.get(
        f"{ENDPOINT}/openai/v1/video/generations/{GEN}/content/video",
        params={"api-version": "preview"},
    ).respond(200, content=MP4, headers={"content-type": "video/mp4"})
    create = respx_mock.post(jobs).respond(201, json=job("preprocessing"))
    poll = respx_mock.get(f"{jobs}/{TASK}").mock(
        side_effect=[
            httpx.Response(200, json=job(status)) for status in ("queued", "running", "processing")
        ]
        + [httpx.Response(200, json=job("succeeded", generations=[{"id": GEN}]))]
    )
    updates: list[Any] = []
    response = await generate_video_async(
        video_config("my-sora-1", provider_config={"api": "legacy"}),
        VideoGenerationRequest(prompt="a cat", duration_seconds=5),
        on_progress=updates.append,
    )
    assert create.calls.last.request.url.params["api-version"] == "preview"
    assert poll.calls.last.request.url.params["api-version"] == "preview"
    assert [u.status for u in updates] == [
        "queued",
        "queued",
        "processing",
        "processing",
        "completed",
    ]
    assert response.video == {"content": MP4, "content_type": "video/mp4"}
    assert content.calls.last.request.headers["api-key"] == KEY


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (job("failed", failure_reason="input_moderation"), ContentModerationError),
        (job("failed", failure_reason="output_moderation"), ContentModerationError),
        (job("failed", failure_reason="internal_error"), GenerationFailedError),
        (job("cancelled"), JobCancelledError),
    ],
)
def test_legacy_terminal_states_carry_their_reason(body: dict[str, Any], error: type) -> None:
    """failure_reason moderation values are ContentModerationError; cancelled is cancelled."""
    snapshot = client(api="legacy")._job_snapshot(body)
    assert snapshot.state in (JobState.FAILED, JobState.CANCELLED)
    assert type(snapshot.error) is error


def test_legacy_unknown_status_is_not_understood() -> None:
    """A job status Azure never documented ends the wait as not understood."""
    assert client(api="legacy")._job_snapshot(job("paused")).understood is False


@pytest.mark.anyio
@pytest.mark.filterwarnings(
    "ignore::tarash.tarash_gateway.providers._lifecycle.ModelRetiredWarning"
)
async def test_legacy_cancel_deletes_the_job(respx_mock: respx.MockRouter) -> None:
    """cancel(handle) on a legacy job sends DELETE jobs/{id}; a v1 video sends nothing."""
    jobs = f"{ENDPOINT}/openai/v1/video/generations/jobs"
    respx_mock.post(jobs).respond(201, json=job())
    delete = respx_mock.delete(f"{jobs}/{TASK}").respond(204)
    legacy = client("my-sora-1", api="legacy")
    submitted = await legacy.submit(
        legacy.prepare_video(VideoGenerationRequest(prompt="a cat")), time_left=None
    )
    assert submitted.handle.provider_state == {"api": "legacy"}
    assert await legacy.cancel(submitted.handle) is True
    assert delete.calls.last.request.url.params["api-version"] == "preview"
    v1_handle = submitted.handle.model_copy(update={"provider_state": {"api": "v1"}})
    assert await client().cancel(v1_handle) is False
    assert delete.call_count == 1


@pytest.mark.anyio
@pytest.mark.filterwarnings(
    "ignore::tarash.tarash_gateway.providers._lifecycle.ModelRetiredWarning"
)
async def test_a_404_on_the_legacy_create_names_the_v1_successor(
    respx_mock: respx.MockRouter,
) -> None:
    """The retired jobs API answering 404 is a NotFoundError pointing at the v1 API."""
    respx_mock.post(f"{ENDPOINT}/openai/v1/video/generations/jobs").respond(
        404, json={"error": {"code": "404", "message": "Resource not found"}}
    )
    with pytest.raises(NotFoundError, match="v1 API"):
        await generate_video_async(
            video_config("my-sora-1", provider_config={"api": "legacy"}),
            VideoGenerationRequest(prompt="a cat"),
        )


# ---------------------------------------------------------------------------------------
# Images
# ---------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_v1_images_send_the_deployment_as_model(respx_mock: respx.MockRouter) -> None:
    """v1 images: POST /openai/v1/images/generations with model = the deployment."""
    create = respx_mock.post(f"{ENDPOINT}/openai/v1/images/generations").respond(
        200, json={"created": 1, "data": [{"b64_json": PNG_B64}]}
    )
    response = await generate_image_async(image_config(), ImageGenerationRequest(prompt="a fox"))
    assert json.loads(create.calls.last.request.content)["model"] == "my-images"
    assert response.images == [f"data:image/png;base64,{PNG_B64}"]


@pytest.mark.anyio
async def test_deployment_images_use_the_dated_path(
    respx_mock: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    """legacy images: /openai/deployments/{d}/images/generations?api-version= (the config's,
    else OPENAI_API_VERSION, else 2025-04-01-preview)."""
    path = f"{ENDPOINT}/openai/deployments/my.images_1/images/generations"
    create = respx_mock.post(path).respond(
        200, json={"created": 1, "data": [{"b64_json": PNG_B64}]}
    )
    config = image_config("my.images_1", provider_config={"api": "legacy"})
    await generate_image_async(config, ImageGenerationRequest(prompt="a fox"))
    assert create.calls.last.request.url.params["api-version"] == "2025-04-01-preview"
    monkeypatch.setenv("OPENAI_API_VERSION", "2024-10-21")
    await generate_image_async(config, ImageGenerationRequest(prompt="a fox"))
    assert create.calls.last.request.url.params["api-version"] == "2024-10-21"
    dated = image_config("my.images_1", provider_config={"api": "legacy"}, api_version="2025-01-01")
    await generate_image_async(dated, ImageGenerationRequest(prompt="a fox"))
    assert create.calls.last.request.url.params["api-version"] == "2025-01-01"


# ---------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (
            401,
            {"error": {"code": "401", "message": "Access denied due to invalid key"}},
            AuthenticationError,
        ),
        (
            404,
            {"error": {"code": "DeploymentNotFound", "message": "no such deployment"}},
            NotFoundError,
        ),
        (
            400,
            {
                "error": {
                    "code": "content_policy_violation",
                    "message": "rejected",
                    "inner_error": {"code": "ResponsibleAIPolicyViolation"},
                }
            },
            ContentModerationError,
        ),
    ],
)
async def test_azure_error_bodies_map(
    respx_mock: respx.MockRouter, status: int, body: dict[str, Any], error: type[Exception]
) -> None:
    """Azure's envelope (string codes, inner_error) maps to the one hierarchy, key unquoted."""
    respx_mock.post(f"{ENDPOINT}/openai/v1/images/generations").respond(
        status, json=body, headers={"apim-request-id": "apim-1"}
    )
    with pytest.raises(error) as caught:
        await generate_image_async(image_config(), ImageGenerationRequest(prompt="a fox"))
    assert KEY not in repr(caught.value)
    assert "apim-1" in caught.value.message


@pytest.mark.anyio
async def test_a_429_with_retry_after_seconds_is_retried(respx_mock: respx.MockRouter) -> None:
    """Azure's 429 'retry after N seconds' with Retry-After is retried after it."""
    create = respx_mock.post(f"{ENDPOINT}/openai/v1/videos").mock(
        side_effect=[
            httpx.Response(
                429,
                json={"error": {"code": "429", "message": "Please retry after 0 seconds."}},
                headers={"retry-after": "0"},
            ),
            httpx.Response(200, json=video("completed")),
        ]
    )
    serve_content(respx_mock)
    await generate_video_async(video_config(), VideoGenerationRequest(prompt="a cat"))
    assert create.call_count == 2


def test_a_429_beyond_the_retry_cap_is_raised() -> None:
    """Retry-After 38 s parses as the error's retry_after."""
    reply = httpx.Response(
        429,
        json={"error": {"code": "429", "message": "retry after 38 seconds"}},
        headers={"retry-after": "38"},
    )
    error = client().parse_error(reply)
    assert isinstance(error, RateLimitError) and error.retry_after == 38.0


def test_v1_is_not_warned_about() -> None:
    """Only the legacy API carries a retirement warning; Azure runs its own schedule."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        client().prepare_video(VideoGenerationRequest(prompt="a cat"))
        client("dall-e-3", family="dall-e-3").prepare_image(ImageGenerationRequest(prompt="x"))


@pytest.mark.anyio
async def test_v1_remixes_and_the_legacy_api_refuses(respx_mock: respx.MockRouter) -> None:
    """On v1, extra_params video_id is POST /openai/v1/videos/{id}/remix with the prompt;
    the legacy jobs API has no remix: a ValidationError before anything is sent."""
    remix = respx_mock.post(f"{ENDPOINT}/openai/v1/videos/video_src/remix").respond(
        200, json=video("completed", progress=100)
    )
    serve_content(respx_mock)
    request = VideoGenerationRequest(prompt="teal", extra_params={"video_id": "video_src"})
    response = await generate_video_async(video_config(), request)
    assert json.loads(remix.calls.last.request.content) == {"prompt": "teal"}
    assert response.video == {"content": MP4, "content_type": "video/mp4"}
    with pytest.raises(ValidationError, match="no remix"), pytest.warns(ModelRetiredWarning):
        client("my-sora-1", api="legacy").prepare_video(request)
