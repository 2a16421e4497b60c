"""The OpenAI client on the wire (respx): Sora videos and images mapping, statuses, the
poll hint, results, every error path, retries, lifecycle warnings and secrets."""

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

from tarash.tarash_gateway import generate_image_async, generate_video_async, wait_async
from tarash.tarash_gateway._sample_media import make_png
from tarash.tarash_gateway.engine._polling import JobState
from tarash.tarash_gateway.errors import (
    AuthenticationError,
    ContentModerationError,
    GenerationFailedError,
    InsufficientCreditError,
    NotFoundError,
    ProviderServerError,
    RateLimitError,
    TimeoutError,
    ValidationError,
)
from tarash.tarash_gateway.models import (
    ImageGenerationConfig,
    ImageGenerationRequest,
    JobHandle,
    VideoGenerationConfig,
    VideoGenerationRequest,
    VideoGenerationResponse,
)
from tarash.tarash_gateway.providers import _lifecycle, get_provider_class
from tarash.tarash_gateway.providers._base import ProviderSettings
from tarash.tarash_gateway.providers._lifecycle import ModelRetiredWarning
from tarash.tarash_gateway.providers.openai import OpenAIClient
from tarash.tarash_gateway.providers.openai_models import OPENAI_MODELS, RETIRED

BASE = "https://gateway.test/v1"
OFFICIAL = "https://api.openai.com/v1"
KEY = "sk-canary-0123456789abcdef"
VIDEO_ID = "video_68d7512d07848190b3e45da0ecbebcde004da08e1e0678d5"
PNG = make_png(1280, 720)
MP4 = b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 4


@pytest.fixture(autouse=True)
def _hermetic(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No OpenAI setting from the developer's environment; lifecycle warnings start afresh."""
    for name in ("OPENAI_BASE_URL", "OPENAI_ORG_ID", "OPENAI_PROJECT_ID", "TARASH_OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    _lifecycle._warned.clear()
    yield
    _lifecycle._warned.clear()


def client(model: str = "sora-2", base_url: str = BASE, **config: Any) -> OpenAIClient:
    return OpenAIClient(
        ProviderSettings(model=model, base_url=base_url, api_key=None, provider_config=config)
    )


def video_config(model: str = "sora-2", **kwargs: Any) -> VideoGenerationConfig:
    fields: dict[str, Any] = {
        "provider": "openai",
        "model": model,
        "api_key": KEY,
        "base_url": BASE,
        "poll_interval": 0.01,
        **kwargs,
    }
    return VideoGenerationConfig(**fields)


def image_config(model: str = "gpt-image-1", **kwargs: Any) -> ImageGenerationConfig:
    fields: dict[str, Any] = {
        "provider": "openai",
        "model": model,
        "api_key": KEY,
        "base_url": BASE,
        **kwargs,
    }
    return ImageGenerationConfig(**fields)


def video(status: str = "queued", **fields: Any) -> dict[str, Any]:
    return {
        "id": VIDEO_ID,
        "object": "video",
        "model": "sora-2",
        "status": status,
        "progress": 0,
        "created_at": 1758941485,
        "completed_at": None,
        "expires_at": None,
        "prompt": "a cat",
        "size": "1280x720",
        "seconds": "8",
        "remixed_from_video_id": None,
        "error": None,
        **fields,
    }


def images_body(*images: bytes) -> dict[str, Any]:
    return {
        "created": 1713833628,
        "output_format": "png",
        "data": [{"b64_json": base64.b64encode(image).decode()} for image in images],
    }


def error_body(
    code: str | None, message: str = "nope", type_: str = "invalid_request_error"
) -> dict[str, Any]:
    return {"error": {"message": message, "type": type_, "param": None, "code": code}}


def sent_json(route: respx.Route) -> Any:
    return json.loads(route.calls.last.request.content)


def serve_content(respx_mock: respx.MockRouter, *replies: httpx.Response) -> respx.Route:
    """The finished video's content (GET /videos/{id}/content), downloaded by the attempt;
    ``replies`` in order when given, else the MP4."""
    route = respx_mock.get(f"{BASE}/videos/{VIDEO_ID}/content")
    if replies:
        return route.mock(side_effect=list(replies))
    return route.respond(200, content=MP4, headers={"content-type": "video/mp4"})


# ---------------------------------------------------------------------------------------
# Registry and model ids
# ---------------------------------------------------------------------------------------


def test_registry_resolves_the_client() -> None:
    """'openai' names OpenAIClient; its key is OPENAI_API_KEY; it cannot cancel."""
    assert get_provider_class("openai") is OpenAIClient
    assert OpenAIClient.key_env_vars == ("OPENAI_API_KEY",)
    assert OpenAIClient.supports_cancel is False


@pytest.mark.parametrize("model", ["sora-2", "openai/sora-2", "OpenAI/sora-2"])
def test_bare_and_prefixed_ids_send_the_bare_id(model: str) -> None:
    """Users write OpenAI ids both ways; the API always gets the bare one."""
    job = client(model).prepare_video(VideoGenerationRequest(prompt="a cat"))
    assert job.payload["model"] == "sora-2"
    assert client(model).capabilities("video").durations == (4, 8, 12)


def test_every_published_id_is_registered() -> None:
    """The ids the published package mapped resolve to an entry of the right kind."""
    assert OPENAI_MODELS["sora-2"].api == OPENAI_MODELS["sora-2-pro"].api == "videos"
    for model in ("dall-e-2", "dall-e-3", "gpt-image-1.5", "gpt-image-1", "gpt-image-2"):
        assert OPENAI_MODELS[model].api == "images"
    assert {"sora-2", "sora-2-pro", "dall-e-2", "dall-e-3"} <= set(RETIRED)


# ---------------------------------------------------------------------------------------
# Video mapping
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "ratio", "resolution", "size"),
    [
        ("sora-2", "16:9", "720p", "1280x720"),
        ("sora-2", "9:16", None, "720x1280"),
        ("sora-2", None, "720p", "1280x720"),
        ("sora-2-pro", "16:9", "1080p", "1792x1024"),
        ("sora-2-pro", "9:16", "1080p", "1024x1792"),
    ],
)
def test_size_comes_from_aspect_ratio_and_resolution(
    model: str, ratio: Any, resolution: Any, size: str
) -> None:
    """size is the model's 'WxH' for the asked aspect ratio and resolution."""
    request = VideoGenerationRequest(prompt="a cat", aspect_ratio=ratio, resolution=resolution)
    assert client(model).prepare_video(request).payload["size"] == size


def test_seconds_is_a_string_and_unasked_size_is_left_to_the_server() -> None:
    """seconds goes out as the string "8" (an integer is a 400); no size when none asked."""
    payload = client().prepare_video(VideoGenerationRequest(prompt="a cat", duration_seconds=8))
    assert payload.payload == {"prompt": "a cat", "seconds": "8", "model": "sora-2"}


def test_fields_sora_does_not_take_are_noted() -> None:
    """A negative prompt or seed is not sent, and the attempt says so."""
    job = client().prepare_video(
        VideoGenerationRequest(prompt="a cat", negative_prompt="dogs", seed=3)
    )
    assert "negative_prompt" not in job.payload and "seed" not in job.payload
    assert any("negative_prompt" in note for note in job.adaptations)
    assert any("seed" in note for note in job.adaptations)


def test_extra_params_size_wins() -> None:
    """extra_params={'size': ...} is sent as given, over the mapped size."""
    request = VideoGenerationRequest(
        prompt="a cat", aspect_ratio="9:16", extra_params={"size": "1792x1024"}
    )
    assert client("sora-2-pro").prepare_video(request).payload["size"] == "1792x1024"


@pytest.mark.anyio
async def test_text_to_video_is_json_then_polled_with_the_servers_hint(
    respx_mock: respx.MockRouter,
) -> None:
    """A create without an image is JSON; polls follow openai-poll-after-ms; the result is
    the content, downloaded with the key once the job completed, as published MediaContent."""
    create = respx_mock.post(f"{BASE}/videos").respond(200, json=video())
    content = serve_content(respx_mock)
    hint = {"openai-poll-after-ms": "0"}
    poll = respx_mock.get(f"{BASE}/videos/{VIDEO_ID}").mock(
        side_effect=[
            httpx.Response(200, json=video("in_progress", progress=40), headers=hint),
            httpx.Response(200, json=video("completed", progress=100, expires_at=4102444800)),
        ]
    )
    updates: list[Any] = []
    response = await generate_video_async(
        video_config(),
        VideoGenerationRequest(prompt="a cat", duration_seconds=8, aspect_ratio="16:9"),
        on_progress=updates.append,
    )
    sent = create.calls.last.request
    assert sent.headers["content-type"] == "application/json"
    assert sent.headers["authorization"] == f"Bearer {KEY}"
    assert sent_json(create) == {
        "prompt": "a cat",
        "seconds": "8",
        "model": "sora-2",
        "size": "1280x720",
    }
    assert poll.call_count == 2
    assert [u.status for u in updates] == ["queued", "processing", "completed"]
    assert updates[1].progress_percent == 40
    assert response.video == {"content": MP4, "content_type": "video/mp4"}
    assert response.content_type == "video/mp4"
    assert response.duration == 8
    assert content.calls.last.request.headers["authorization"] == f"Bearer {KEY}"
    assert response._download_headers == {}
    attempt = response.execution_metadata.attempts[0]
    assert attempt.http_requests == 4  # the create, two polls, the download


@pytest.mark.anyio
async def test_save_writes_the_downloaded_content(
    respx_mock: respx.MockRouter, tmp_path: Path
) -> None:
    """The content is GET once, with the key, by the attempt; save() writes it and sends
    nothing more."""
    respx_mock.post(f"{BASE}/videos").respond(200, json=video("completed"))
    content = serve_content(respx_mock)
    response = await generate_video_async(video_config(), VideoGenerationRequest(prompt="a cat"))
    await response.save_async(tmp_path / "out.mp4")
    assert content.call_count == 1
    assert content.calls.last.request.headers["authorization"] == f"Bearer {KEY}"
    assert (tmp_path / "out.mp4").read_bytes() == MP4


@pytest.mark.anyio
async def test_a_content_download_that_fails_transiently_is_retried(
    respx_mock: respx.MockRouter,
) -> None:
    """A 503 or a dropped connection on the content is retried from the start (the
    engine's download rules); the content type defaults to video/mp4."""
    respx_mock.post(f"{BASE}/videos").respond(200, json=video("completed"))
    content = serve_content(
        respx_mock,
        httpx.Response(503, json=error_body(None, type_="server_error")),
        httpx.Response(200, content=MP4),
    )
    response = await generate_video_async(video_config(), VideoGenerationRequest(prompt="a cat"))
    assert content.call_count == 2
    assert response.video == {"content": MP4, "content_type": "video/mp4"}


@pytest.mark.anyio
async def test_a_content_download_that_fails_keeps_the_paid_job(
    respx_mock: respx.MockRouter,
) -> None:
    """A finished video whose content cannot be read is paid for: no fallback, the error
    carries the handle, and wait(handle) reads it later."""
    respx_mock.post(f"{BASE}/videos").respond(200, json=video("completed"))
    respx_mock.get(f"{BASE}/videos/{VIDEO_ID}").respond(200, json=video("completed"))
    serve_content(respx_mock, *[httpx.Response(500, json=error_body(None))] * 4)
    with pytest.raises(ProviderServerError) as caught:
        await generate_video_async(video_config(), VideoGenerationRequest(prompt="a cat"))
    assert caught.value.fallback_allowed is False
    handle = caught.value.job_handle
    assert handle is not None and handle.request_id == VIDEO_ID
    assert KEY not in repr(caught.value.raw_response) + str(caught.value)
    serve_content(respx_mock)
    result = await wait_async(handle, config=video_config())
    assert isinstance(result, VideoGenerationResponse)
    assert result.video == {"content": MP4, "content_type": "video/mp4"}


def test_the_key_goes_to_the_api_origin_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """download_headers: the key for the API's own origin, nothing for another host."""
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    found = client().download_headers(f"{BASE}/videos/x/content")
    assert set(found) == {"Authorization"}
    assert client().download_headers("https://cdn.example/x.png") == {}


@pytest.mark.anyio
async def test_image_to_video_bytes_go_as_a_multipart_file(respx_mock: respx.MockRouter) -> None:
    """A first frame given as bytes is the input_reference file part of a multipart form."""
    create = respx_mock.post(f"{BASE}/videos").respond(200, json=video("completed"))
    serve_content(respx_mock)
    await generate_video_async(
        video_config(),
        VideoGenerationRequest(
            prompt="a cat",
            aspect_ratio="16:9",
            image_list=[{"image": PNG, "type": "first_frame"}],
        ),
    )
    sent = create.calls.last.request
    assert sent.headers["content-type"].startswith("multipart/form-data; boundary=")
    body = sent.content
    assert b'name="input_reference"; filename="input_reference.png"' in body
    assert b"Content-Type: image/png" in body
    assert PNG in body
    assert b'name="size"\r\n\r\n1280x720' in body
    assert b'name="model"\r\n\r\nsora-2' in body


@pytest.mark.anyio
async def test_image_to_video_url_goes_as_json_image_url(respx_mock: respx.MockRouter) -> None:
    """A first frame given as a URL is JSON input_reference {image_url}."""
    create = respx_mock.post(f"{BASE}/videos").respond(200, json=video("completed"))
    serve_content(respx_mock)
    url = "https://cdn.test/frame.png"
    await generate_video_async(
        video_config(),
        VideoGenerationRequest(prompt="a cat", image_list=[{"image": url, "type": "first_frame"}]),
    )
    assert sent_json(create)["input_reference"] == {"image_url": url}


# ---------------------------------------------------------------------------------------
# Video statuses
# ---------------------------------------------------------------------------------------


def test_statuses_map_to_states_with_progress_and_hint() -> None:
    """queued/in_progress carry progress and the poll hint; completed is done."""
    openai = client()
    queued = openai._video_snapshot(video("queued"), "250")
    running = openai._video_snapshot(video("in_progress", progress=33), None)
    done = openai._video_snapshot(video("completed", progress=100), None)
    assert (queued.state, queued.poll_after) == (JobState.QUEUED, 0.25)
    assert (running.state, running.progress_percent) == (JobState.PROCESSING, 33)
    assert done.state is JobState.COMPLETED


@pytest.mark.parametrize(
    ("code", "error"),
    [
        ("moderation_blocked", ContentModerationError),
        ("content_filter", ContentModerationError),
        ("internal_error", GenerationFailedError),
    ],
)
def test_a_failed_video_carries_its_error_code(code: str, error: type[Exception]) -> None:
    """failed + error.code: moderation codes are ContentModerationError, others failures."""
    snapshot = client()._video_snapshot(
        video("failed", error={"code": code, "message": "why"}), None
    )
    assert snapshot.state is JobState.FAILED
    assert type(snapshot.error) is error
    assert snapshot.error is not None and code in snapshot.error.message


def test_an_unknown_status_is_a_failure_not_understood() -> None:
    """A status OpenAI never documented ends the wait as not understood."""
    snapshot = client()._video_snapshot(video("paused"), None)
    assert (snapshot.state, snapshot.understood) == (JobState.FAILED, False)


@pytest.mark.anyio
async def test_a_video_failed_for_moderation_raises_content_moderation(
    respx_mock: respx.MockRouter,
) -> None:
    """The whole flow: a video that fails moderation is a ContentModerationError."""
    respx_mock.post(f"{BASE}/videos").respond(200, json=video())
    respx_mock.get(f"{BASE}/videos/{VIDEO_ID}").respond(
        200, json=video("failed", error={"code": "moderation_blocked", "message": "blocked"})
    )
    with pytest.raises(ContentModerationError, match="moderation_blocked") as caught:
        await generate_video_async(video_config(), VideoGenerationRequest(prompt="a cat"))
    assert caught.value.request_id == VIDEO_ID


@pytest.mark.anyio
async def test_giving_up_sends_no_cancel_and_allows_no_fallback(
    respx_mock: respx.MockRouter,
) -> None:
    """Past the deadline nothing is sent (there is no cancel); the job may still be billing,
    so the fallback config is not tried; the handle rides on the error."""
    respx_mock.post(f"{BASE}/videos").respond(200, json=video())
    respx_mock.get(f"{BASE}/videos/{VIDEO_ID}").respond(
        200, json=video("in_progress"), headers={"openai-poll-after-ms": "20"}
    )
    delete = respx_mock.delete(f"{BASE}/videos/{VIDEO_ID}").respond(200, json={})
    fallback = respx_mock.post("https://other.test/v1/videos").respond(200, json=video())
    config = video_config(
        timeout=0.3,
        fallback_configs=[video_config(base_url="https://other.test/v1")],
    )
    with pytest.raises(TimeoutError) as caught:
        await generate_video_async(config, VideoGenerationRequest(prompt="a cat"))
    assert caught.value.fallback_allowed is False
    assert caught.value.job_handle is not None
    assert caught.value.job_handle.request_id == VIDEO_ID
    assert (delete.call_count, fallback.call_count) == (0, 0)


@pytest.mark.anyio
async def test_cancel_sends_nothing() -> None:
    """cancel() is False without a request (respx would refuse any)."""
    handle = JobHandle(
        kind="video",
        provider="openai",
        model="sora-2",
        request_id=VIDEO_ID,
        base_url=BASE,
        submitted_at="2026-01-01T00:00:00Z",  # type: ignore[arg-type]
    )
    with respx.mock(assert_all_called=False):
        assert await client().cancel(handle) is False


# ---------------------------------------------------------------------------------------
# Images
# ---------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_image_generation_b64_becomes_data_uris_held_once(
    respx_mock: respx.MockRouter, tmp_path: Path
) -> None:
    """b64_json images are data: URIs in response.images, as published (the raw body keeps
    a note, not a second copy), save() writes them, and no poll follows the create."""
    first, second = make_png(32, 32), make_png(16, 16)
    create = respx_mock.post(f"{BASE}/images/generations").respond(
        200, json=images_body(first, second), headers={"x-request-id": "req_abc"}
    )
    response = await generate_image_async(
        image_config(), ImageGenerationRequest(prompt="a fox", n=2, aspect_ratio="3:2")
    )
    assert sent_json(create) == {
        "prompt": "a fox",
        "n": 2,
        "model": "gpt-image-1",
        "size": "1536x1024",
    }
    encoded = [base64.b64encode(image).decode() for image in (first, second)]
    assert response.images == [f"data:image/png;base64,{text}" for text in encoded]
    assert response.request_id == "req_abc"
    assert response.content_type == "image/png"
    assert "base64 chars" in response.raw_response["data"][0]["b64_json"]
    assert (await response.save_async(tmp_path / "b.png", 1)).read_bytes() == second
    attempt = response.execution_metadata.attempts[0]
    assert (attempt.poll_count, attempt.http_requests) == (0, 1)


@pytest.mark.anyio
async def test_url_images_are_the_same_response_shape(respx_mock: respx.MockRouter) -> None:
    """A reply with url items (a compatible gateway, dall-e) gives URLs in images."""
    respx_mock.post(f"{BASE}/images/generations").respond(
        200, json={"created": 1, "data": [{"url": "https://cdn.test/a.png", "revised_prompt": "r"}]}
    )
    response = await generate_image_async(
        image_config("my-gateway-model"), ImageGenerationRequest(prompt="a fox")
    )
    assert response.images == ["https://cdn.test/a.png"]
    assert response.revised_prompt == "r"
    assert response._download_headers == {}


def test_no_model_is_sent_a_response_format() -> None:
    """dall-e gets no response_format (its URLs, as published); GPT image models refuse
    the field."""
    request = ImageGenerationRequest(prompt="a fox", quality="hd", style="vivid")
    dall_e = client("dall-e-3").prepare_image(request).payload
    assert "response_format" not in dall_e
    assert (dall_e["style"], dall_e["quality"]) == ("vivid", "hd")
    asked = ImageGenerationRequest(prompt="a fox", extra_params={"response_format": "b64_json"})
    assert client("dall-e-2").prepare_image(asked).payload["response_format"] == "b64_json"
    gpt = client("gpt-image-1").prepare_image(request)
    assert "response_format" not in gpt.payload and "style" not in gpt.payload
    assert any("style" in note for note in gpt.adaptations)


@pytest.mark.anyio
@pytest.mark.parametrize(("model", "field"), [("gpt-image-1", "image"), ("dall-e-2", "image")])
async def test_an_edit_with_one_file_is_multipart(
    respx_mock: respx.MockRouter, model: str, field: str
) -> None:
    """An input image (and mask) given as bytes go to /images/edits as file parts."""
    edit = respx_mock.post(f"{BASE}/images/edits").respond(200, json=images_body(PNG))
    mask = make_png(8, 8)
    await generate_image_async(
        image_config(model),
        ImageGenerationRequest(
            prompt="add a hat",
            image_list=[{"image": make_png(8, 4), "type": "reference"}],
            mask_image=mask,
        ),
    )
    body = edit.calls.last.request.content
    expected = OPENAI_MODELS[model].edit_image_field
    assert f'name="{expected}"; filename="image.png"'.encode() in body
    assert b'name="mask"; filename="mask.png"' in body
    assert field in expected


@pytest.mark.anyio
async def test_an_edit_from_urls_is_json(respx_mock: respx.MockRouter) -> None:
    """Input images given as URLs (or several) go as JSON images[{image_url}]."""
    edit = respx_mock.post(f"{BASE}/images/edits").respond(200, json=images_body(PNG))
    urls = ["https://cdn.test/a.png", "https://cdn.test/b.png"]
    await generate_image_async(
        image_config(),
        ImageGenerationRequest(
            prompt="merge", image_list=[{"image": url, "type": "reference"} for url in urls]
        ),
    )
    assert sent_json(edit)["images"] == [{"image_url": url} for url in urls]


@pytest.mark.anyio
async def test_an_unreadable_image_reply_is_paid_and_not_retried(
    respx_mock: respx.MockRouter,
) -> None:
    """A 200 whose body is cut short: the images were billed, so no resubmit and no
    fallback."""
    create = respx_mock.post(f"{BASE}/images/generations").respond(200, content=b'{"data": [')
    with pytest.raises(ProviderServerError) as caught:
        await generate_image_async(image_config(), ImageGenerationRequest(prompt="a fox"))
    assert caught.value.fallback_allowed is False
    assert create.call_count == 1


@pytest.mark.anyio
async def test_an_image_handle_has_nothing_to_poll() -> None:
    """poll() on an image job's handle is a ValidationError, not a request."""
    handle = JobHandle(
        kind="image",
        provider="openai",
        model="gpt-image-1",
        request_id="req_1",
        base_url=BASE,
        submitted_at="2026-01-01T00:00:00Z",  # type: ignore[arg-type]
    )
    with pytest.raises(ValidationError):
        await client("gpt-image-1").poll(handle)


def test_a_video_model_refuses_an_image_job() -> None:
    """sora-2 makes videos: its capabilities say so (the adapter refuses an image job)."""
    assert client("sora-2").capabilities("image").kind == "video"
    assert client("gpt-image-1").capabilities("video").kind == "image"


# ---------------------------------------------------------------------------------------
# Lifecycle
# ---------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_a_retired_model_warns_once_and_is_still_sent(respx_mock: respx.MockRouter) -> None:
    """dall-e-3 on api.openai.com warns once naming its successor; the request goes out."""
    create = respx_mock.post(f"{OFFICIAL}/images/generations").respond(200, json=images_body(PNG))
    config = image_config("openai/dall-e-3", base_url=None)
    with pytest.warns(
        ModelRetiredWarning, match="dall-e-3 was retired on 2026-05-12; use gpt-image-1"
    ):
        await generate_image_async(config, ImageGenerationRequest(prompt="a fox"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        await generate_image_async(config, ImageGenerationRequest(prompt="a fox"))
    assert create.call_count == 2


def test_a_compatible_endpoint_is_not_warned_about() -> None:
    """With base_url set (a gateway, the emulator), OpenAI's retirement is not the endpoint's."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        client("sora-2").prepare_video(VideoGenerationRequest(prompt="a cat"))


@pytest.mark.anyio
async def test_the_providers_refusal_of_a_retired_model_names_the_successor(
    respx_mock: respx.MockRouter,
) -> None:
    """A 404 model_not_found for dall-e-3 is a NotFoundError repeating the successor."""
    respx_mock.post(f"{OFFICIAL}/images/generations").respond(
        404, json=error_body("model_not_found", "The model `dall-e-3` does not exist")
    )
    with (
        pytest.warns(ModelRetiredWarning),
        pytest.raises(NotFoundError, match="use gpt-image-1") as caught,
    ):
        await generate_image_async(
            image_config("dall-e-3", base_url=None), ImageGenerationRequest(prompt="a fox")
        )
    assert caught.value.status_code == 404


# ---------------------------------------------------------------------------------------
# Errors and retries
# ---------------------------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (
            400,
            error_body("moderation_blocked", type_="image_generation_user_error"),
            ContentModerationError,
        ),
        (400, error_body("content_policy_violation"), ContentModerationError),
        (400, error_body(None, "Invalid value for 'size'"), ValidationError),
        (
            401,
            error_body("invalid_api_key", f"Incorrect API key provided: {KEY}."),
            AuthenticationError,
        ),
        (403, error_body(None, "Your organization must be verified"), AuthenticationError),
        (404, error_body("model_not_found"), NotFoundError),
        (
            429,
            error_body("insufficient_quota", "You exceeded your current quota"),
            InsufficientCreditError,
        ),
    ],
)
async def test_create_errors_map_to_one_class_without_retry(
    respx_mock: respx.MockRouter, status: int, body: dict[str, Any], error: type[Exception]
) -> None:
    """Each refusal maps to its class, is sent once, and never quotes the key."""
    create = respx_mock.post(f"{BASE}/images/generations").respond(
        status, json=body, headers={"x-request-id": "req_123"}
    )
    with pytest.raises(error) as caught:
        await generate_image_async(image_config(), ImageGenerationRequest(prompt="a fox"))
    assert type(caught.value) is error
    assert create.call_count == 1
    assert KEY not in str(caught.value) and KEY not in repr(caught.value)
    assert "req_123" in caught.value.message


@pytest.mark.anyio
@pytest.mark.parametrize(
    "headers",
    [{"retry-after-ms": "5"}, {"retry-after": "0"}, {"x-ratelimit-reset-requests": "5ms"}],
)
async def test_a_rate_limited_create_is_retried_after_the_servers_delay(
    respx_mock: respx.MockRouter, headers: dict[str, str]
) -> None:
    """429 rate_limit_exceeded (nothing created) is retried after retry-after(-ms) or the
    x-ratelimit reset."""
    create = respx_mock.post(f"{BASE}/videos").mock(
        side_effect=[
            httpx.Response(429, json=error_body("rate_limit_exceeded"), headers=headers),
            httpx.Response(200, json=video("completed")),
        ]
    )
    serve_content(respx_mock)
    await generate_video_async(video_config(), VideoGenerationRequest(prompt="a cat"))
    assert create.call_count == 2


def test_the_rate_limit_reset_header_is_the_retry_delay() -> None:
    """x-ratelimit-reset-requests ('6m0s' style) becomes retry_after when no retry-after."""
    reply = httpx.Response(
        429,
        json=error_body("rate_limit_exceeded"),
        headers={"x-ratelimit-reset-requests": "1m30s", "x-ratelimit-reset-tokens": "250ms"},
    )
    error = client().parse_error(reply)
    assert isinstance(error, RateLimitError)
    assert error.retry_after == 90.0


@pytest.mark.anyio
async def test_x_should_retry_false_stops_the_retry(respx_mock: respx.MockRouter) -> None:
    """x-should-retry: false overrides a 429's default: raised after one try."""
    create = respx_mock.post(f"{BASE}/videos").respond(
        429,
        json=error_body("rate_limit_exceeded"),
        headers={"retry-after": "0", "x-should-retry": "false"},
    )
    with pytest.raises(RateLimitError) as caught:
        await generate_video_async(video_config(), VideoGenerationRequest(prompt="a cat"))
    assert caught.value.retryable is False
    assert create.call_count == 1


@pytest.mark.anyio
async def test_a_server_error_on_create_is_not_resent(respx_mock: respx.MockRouter) -> None:
    """A 500 on a video create may have created the job: raised, flagged, never resent."""
    create = respx_mock.post(f"{BASE}/videos").respond(
        500, json=error_body(None, "The server had an error", type_="server_error")
    )
    with pytest.raises(ProviderServerError) as caught:
        await generate_video_async(video_config(), VideoGenerationRequest(prompt="a cat"))
    assert caught.value.job_may_exist is True
    assert create.call_count == 1


@pytest.mark.anyio
async def test_a_status_5xx_is_read_again(respx_mock: respx.MockRouter) -> None:
    """A 503 on a poll is retried; the job is followed to its end."""
    respx_mock.post(f"{BASE}/videos").respond(200, json=video())
    poll = respx_mock.get(f"{BASE}/videos/{VIDEO_ID}").mock(
        side_effect=[
            httpx.Response(503, json=error_body(None, type_="server_error")),
            httpx.Response(200, json=video("completed")),
        ]
    )
    serve_content(respx_mock)
    await generate_video_async(video_config(), VideoGenerationRequest(prompt="a cat"))
    assert poll.call_count == 2


def test_a_non_json_error_body_still_maps() -> None:
    """An HTML 502 from a proxy is a ProviderServerError with its status."""
    error = client().parse_error(httpx.Response(502, text="<html>Bad gateway</html>"))
    assert isinstance(error, ProviderServerError)
    assert error.status_code == 502


# ---------------------------------------------------------------------------------------
# Configuration
# ---------------------------------------------------------------------------------------


def test_openai_base_url_is_read_like_the_sdk(monkeypatch: pytest.MonkeyPatch) -> None:
    """OPENAI_BASE_URL is the base when the config sets none; TARASH_OPENAI_BASE_URL wins."""
    monkeypatch.setenv("OPENAI_BASE_URL", "https://compatible.test/v1/")
    assert OpenAIClient.resolve_base_url() == "https://compatible.test/v1"
    monkeypatch.setenv("TARASH_OPENAI_BASE_URL", "http://127.0.0.1:9/openai/v1")
    assert OpenAIClient.resolve_base_url() == "http://127.0.0.1:9/openai/v1"
    assert OpenAIClient.resolve_base_url("https://explicit.test/v1") == "https://explicit.test/v1"


def test_the_key_comes_from_openai_api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """OPENAI_API_KEY is the key; organization and project become their headers."""
    monkeypatch.setenv("OPENAI_API_KEY", f" {KEY}\n")
    headers = client(organization="org-1", project="proj-1").auth_headers()
    assert headers == {
        "Authorization": f"Bearer {KEY}",
        "OpenAI-Organization": "org-1",
        "OpenAI-Project": "proj-1",
    }


def test_an_unknown_provider_config_option_is_refused() -> None:
    """A misspelt option is a ValidationError before anything is sent."""
    with pytest.raises(ValidationError, match="organisation"):
        client(organisation="org-1")


# ---------------------------------------------------------------------------------------
# Remix (extra_params video_id, as published)
# ---------------------------------------------------------------------------------------

SOURCE_ID = "video_source0123456789abcdef"


@pytest.mark.anyio
async def test_video_id_is_a_remix_with_the_prompt_only(respx_mock: respx.MockRouter) -> None:
    """extra_params video_id goes to POST /videos/{id}/remix with {"prompt"} only: no
    create (which would make a new, unrelated paid video) and no video_id in a body."""
    create = respx_mock.post(f"{BASE}/videos")
    remix = respx_mock.post(f"{BASE}/videos/{SOURCE_ID}/remix").respond(
        200, json=video("queued", remixed_from_video_id=SOURCE_ID)
    )
    respx_mock.get(f"{BASE}/videos/{VIDEO_ID}").respond(
        200, json=video("completed", progress=100, remixed_from_video_id=SOURCE_ID)
    )
    serve_content(respx_mock)
    request = VideoGenerationRequest(prompt="teal palette", extra_params={"video_id": SOURCE_ID})
    response = await generate_video_async(video_config(), request)
    assert sent_json(remix) == {"prompt": "teal palette"}
    assert response.video == {"content": MP4, "content_type": "video/mp4"}
    assert remix.calls.last.request.headers["Authorization"] == f"Bearer {KEY}"
    assert create.call_count == 0
    assert response.request_id == VIDEO_ID


def test_a_remix_drops_length_and_size_with_a_note() -> None:
    """Seconds and size asked of a remix are not sent (the source's are kept), and noted."""
    job = client().prepare_video(
        VideoGenerationRequest(
            prompt="teal", duration_seconds=8, aspect_ratio="16:9", extra_params={"video_id": "v1"}
        )
    )
    assert job.payload == {"prompt": "teal", "video_id": "v1"}
    assert any("remix keeps the length and size" in note for note in job.adaptations)


@pytest.mark.parametrize(
    ("extra", "image", "match"),
    [
        ({"video_id": "../videos"}, False, "video_id must be the id"),
        ({"video_id": 42}, False, "video_id must be the id"),
        ({"video_id": "video_1"}, True, "prompt only"),
    ],
)
def test_a_malformed_remix_is_refused_before_sending(
    extra: dict[str, Any], image: bool, match: str
) -> None:
    """An id that is not one (it goes into the URL path), or a first frame with a remix,
    is a ValidationError."""
    images: list[Any] = [{"image": PNG, "type": "first_frame"}] if image else []
    with pytest.raises(ValidationError, match=match):
        client().prepare_video(
            VideoGenerationRequest(prompt="teal", image_list=images, extra_params=extra)
        )
