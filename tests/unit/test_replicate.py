"""The Replicate client on the wire (respx): mapping, create headers, statuses, outputs,
errors, retries, cancellation and secrets."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, get_args

import httpx
import pytest
import respx
from hypothesis import given
from hypothesis import strategies as st
from pydantic import SecretStr

from tarash.tarash_gateway import generate_image_async, generate_video_async
from tarash.tarash_gateway.engine._polling import JobState
from tarash.tarash_gateway.errors import (
    AuthenticationError,
    ContentModerationError,
    GenerationFailedError,
    HTTPConnectionError,
    InsufficientCreditError,
    JobCancelledError,
    NotFoundError,
    ProviderServerError,
    RateLimitError,
    TarashException,
    TimeoutError,
    ValidationError,
)
from tarash.tarash_gateway.models import (
    AspectRatio,
    ImageGenerationConfig,
    ImageGenerationRequest,
    JobHandle,
    VideoGenerationConfig,
    VideoGenerationRequest,
)
from tarash.tarash_gateway.providers import get_provider_class
from tarash.tarash_gateway.providers._adapt import adapt_image_request, adapt_video_request
from tarash.tarash_gateway.providers._base import ProviderSettings
from tarash.tarash_gateway.providers.replicate import ReplicateClient
from tarash.tarash_gateway.providers.replicate_models import FLUX_ASPECT_RATIOS, REPLICATE_MODELS

BASE = "https://api.replicate.test"
TOKEN = "r8_canary-token-0123456789abcdef"
VERSION = "5c7d5dc6dd8bf75c1acaa8565735e7986bc5b66206b55cca93cb72c9bf15ccaa"
PNG = "https://cdn.test/frame.png"
VIDEO_URL = "https://replicate.delivery/xezq/abc/output.mp4"
CREATED = "2025-07-30T01:38:07.143Z"
COMPLETED = "2025-07-30T01:39:40.500000Z"
VIDEO_MODELS = ("google/veo-3", "google/veo-3-fast", "google/veo-3.1", "minimax/video-01")
RATIOS: tuple[str, ...] = get_args(AspectRatio)


def client(model: str = "google/veo-3", **provider_config: Any) -> ReplicateClient:
    return ReplicateClient(
        ProviderSettings(model=model, base_url=BASE, api_key=None, provider_config=provider_config)
    )


def keyed_client(model: str = "google/veo-3", **provider_config: Any) -> ReplicateClient:
    return ReplicateClient(
        ProviderSettings(
            model=model,
            base_url=BASE,
            api_key=SecretStr(TOKEN),
            provider_config=provider_config,
        )
    )


def video_config(model: str = "google/veo-3", **kwargs: Any) -> VideoGenerationConfig:
    return VideoGenerationConfig(
        provider="replicate",
        model=model,
        api_key=TOKEN,
        base_url=BASE,
        poll_interval=0.01,
        **kwargs,
    )


def image_config(
    model: str = "black-forest-labs/flux-schnell", **kwargs: Any
) -> ImageGenerationConfig:
    return ImageGenerationConfig(
        provider="replicate",
        model=model,
        api_key=TOKEN,
        base_url=BASE,
        poll_interval=0.01,
        **kwargs,
    )


def prediction(
    status: str = "starting", pid: str = "p1", base: str = BASE, **fields: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": pid,
        "model": "google/veo-3",
        "version": "hidden",
        "input": {"prompt": "a cat"},
        "logs": "",
        "output": None,
        "data_removed": False,
        "error": None,
        "status": status,
        "source": "api",
        "created_at": CREATED,
        "urls": {
            "get": f"{base}/v1/predictions/{pid}",
            "cancel": f"{base}/v1/predictions/{pid}/cancel",
            "web": f"https://replicate.com/p/{pid}",
        },
    }
    if status == "succeeded":
        body.update(completed_at=COMPLETED, output=VIDEO_URL)
    body.update(fields)
    return body


def video(**kwargs: Any) -> VideoGenerationRequest:
    return VideoGenerationRequest(prompt="a cat surfing", **kwargs)


def prepare(model: str, request: VideoGenerationRequest) -> tuple[dict[str, Any], list[str]]:
    """Adapt and map a video request as the chain does (no local files involved)."""
    replicate = client(model)
    adapted, notes = adapt_video_request(
        request, replicate.capabilities("video"), strict=False, provider="replicate", model=model
    )
    return replicate.prepare_video(adapted).payload, notes


# ---------------------------------------------------------------------------------------
# Registry and mapping
# ---------------------------------------------------------------------------------------


def test_registry_resolves_the_client() -> None:
    """The provider name "replicate" resolves to this client, with the SDK's env var."""
    assert get_provider_class("replicate") is ReplicateClient
    assert ReplicateClient.key_env_vars == ("REPLICATE_API_TOKEN",)
    assert ReplicateClient.default_base_url == "https://api.replicate.com"


def test_veo3_maps_every_concept_and_adapts_duration() -> None:
    """veo-3 takes 8 s only: a 5 s ask becomes 8 with a note; each concept has its field."""
    payload, notes = prepare(
        "google/veo-3",
        video(
            duration_seconds=5,
            aspect_ratio="9:16",
            resolution="1080p",
            generate_audio=True,
            seed=7,
            negative_prompt="blur",
            image_list=[{"image": PNG, "type": "first_frame"}],
        ),
    )
    assert payload == {
        "input": {
            "prompt": "a cat surfing",
            "duration": 8,
            "aspect_ratio": "9:16",
            "resolution": "1080p",
            "generate_audio": True,
            "seed": 7,
            "negative_prompt": "blur",
            "image": PNG,
        }
    }
    assert notes == ["duration_seconds: 5 -> 8 (google/veo-3 offers 8s)"]


def test_veo3_refuses_a_last_frame_but_veo31_sends_it() -> None:
    """Only veo-3.1 has ``last_frame``; asking veo-3 for one is refused before submit."""
    frames = [{"image": PNG, "type": "first_frame"}, {"image": PNG, "type": "last_frame"}]
    with pytest.raises(ValidationError, match="last_frame"):
        prepare("google/veo-3", video(image_list=frames))
    payload, _ = prepare("google/veo-3.1", video(image_list=frames))
    assert payload["input"]["image"] == PNG
    assert payload["input"]["last_frame"] == PNG


def test_kling_requires_a_start_image() -> None:
    """kling-v2.1 is image-to-video: no image is a ValidationError, one goes to start_image."""
    with pytest.raises(ValidationError, match="image-to-video"):
        prepare("kwaivgi/kling-v2.1", video())
    payload, notes = prepare(
        "kwaivgi/kling-v2.1",
        video(
            duration_seconds=9,
            negative_prompt="blur",
            aspect_ratio="16:9",
            image_list=[{"image": PNG, "type": "reference"}],
        ),
    )
    assert payload == {
        "input": {
            "prompt": "a cat surfing",
            "start_image": PNG,
            "duration": 10,
            "negative_prompt": "blur",
        }
    }
    assert notes == ["duration_seconds: 9 -> 10 (kwaivgi/kling-v2.1 offers 5s, 10s)"]


def test_minimax_maps_first_frame_and_prompt_optimizer() -> None:
    """minimax/video-01: first_frame_image, and enhance_prompt becomes prompt_optimizer."""
    payload, _ = prepare(
        "minimax/video-01",
        video(
            enhance_prompt=False,
            image_list=[{"image": b"\x89PNG\r\n\x1a\n", "type": "first_frame"}],
        ),
    )
    model_input = payload["input"]
    assert model_input["prompt_optimizer"] is False
    assert model_input["first_frame_image"].startswith("data:image/png;base64,")


def test_flux_maps_count_ratio_and_seed() -> None:
    """flux-schnell: n -> num_outputs (at most 4), aspect_ratio and seed as given."""
    replicate = client("black-forest-labs/flux-schnell")
    adapted, notes = adapt_image_request(
        ImageGenerationRequest(prompt="a fox", n=6, aspect_ratio="21:9", seed=3),
        replicate.capabilities("image"),
        strict=False,
        provider="replicate",
        model=replicate.model,
    )
    assert replicate.prepare_image(adapted).payload == {
        "input": {"prompt": "a fox", "num_outputs": 4, "aspect_ratio": "21:9", "seed": 3}
    }
    assert notes == ["n: 6 -> 4 (black-forest-labs/flux-schnell makes at most 4 a job)"]


@given(
    model=st.sampled_from(VIDEO_MODELS),
    seconds=st.integers(min_value=1, max_value=600),
    ratio=st.sampled_from(RATIOS),
)
def test_video_mapping_always_fits_the_model(model: str, seconds: int, ratio: str) -> None:
    """Whatever duration and ratio are asked, a registered video model gets values it offers."""
    capabilities = REPLICATE_MODELS[model].capabilities
    payload, _ = prepare(model, video(duration_seconds=seconds, aspect_ratio=ratio))
    model_input = payload["input"]
    assert capabilities.durations is not None
    if "duration" in REPLICATE_MODELS[model].inputs:
        assert model_input["duration"] in capabilities.durations
    if capabilities.aspect_ratios is not None and "aspect_ratio" in model_input:
        assert model_input["aspect_ratio"] in capabilities.aspect_ratios
    assert set(payload) == {"input"}


@given(
    ratio=st.sampled_from(RATIOS), count=st.integers(min_value=1, max_value=10), seed=st.integers()
)
def test_flux_mapping_always_fits_the_model(ratio: str, count: int, seed: int) -> None:
    """Any ratio and count map to a FLUX ratio and at most four outputs."""
    for model in ("black-forest-labs/flux-schnell", "black-forest-labs/flux-dev"):
        replicate = client(model)
        adapted, _ = adapt_image_request(
            ImageGenerationRequest(prompt="p", n=count, aspect_ratio=ratio, seed=seed),
            replicate.capabilities("image"),
            strict=False,
            provider="replicate",
            model=model,
        )
        model_input = replicate.prepare_image(adapted).payload["input"]
        assert model_input["aspect_ratio"] in FLUX_ASPECT_RATIOS
        assert model_input.get("num_outputs", 1) <= 4
        assert model_input["seed"] == seed


@given(
    seconds=st.integers(min_value=1, max_value=600),
    ratio=st.sampled_from(RATIOS),
    extra=st.dictionaries(st.text(min_size=1, max_size=8), st.integers(), max_size=3),
)
def test_generic_model_passes_values_through(
    seconds: int, ratio: str, extra: dict[str, int]
) -> None:
    """An unregistered id sends duration and ratio unchanged, extra_params last."""
    payload, notes = prepare(
        "acme/any-model",
        video(duration_seconds=seconds, aspect_ratio=ratio, extra_params=extra),
    )
    expected = {"prompt": "a cat surfing", "duration": seconds, "aspect_ratio": ratio, **extra}
    assert payload == {"input": expected}
    assert notes == []


def test_generic_model_maps_first_frame_and_refuses_last_frame() -> None:
    """Generic ids send ``image``; a last frame has no common name and is refused."""
    payload, _ = prepare(
        "acme/any-model", video(image_list=[{"image": PNG, "type": "first_frame"}])
    )
    assert payload["input"]["image"] == PNG
    with pytest.raises(ValidationError, match="last_frame"):
        prepare("acme/any-model", video(image_list=[{"image": PNG, "type": "last_frame"}]))


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        (f"acme/model:{VERSION}", {"version": VERSION, "input": {"prompt": "a cat surfing"}}),
        (VERSION, {"version": VERSION, "input": {"prompt": "a cat surfing"}}),
        ("acme/model", {"input": {"prompt": "a cat surfing"}}),
    ],
)
def test_version_forms_put_the_version_in_the_body(model: str, expected: dict[str, Any]) -> None:
    """owner/name:<version> and a bare version send ``version``; owner/name does not."""
    payload, _ = prepare(model, video())
    assert payload == expected


@pytest.mark.parametrize(
    "model", ["veo-3", "a/b/c", "acme/model:xyz", f"acme/model:{VERSION[:-1]}", "/model", "a b/c"]
)
def test_malformed_model_ids_are_refused_before_submit(model: str) -> None:
    """A model id that is not owner/name[:version] or a 64-hex version is a ValidationError."""
    with pytest.raises(ValidationError, match="not a Replicate model id") as caught:
        prepare(model, video())
    assert caught.value.fallback_allowed is False


@pytest.mark.parametrize(
    "options",
    [{"prefer_wait": "10"}, {"prefer_wait": True}, {"prefer_wait": -1}, {"prefer_wiat": 5}],
)
def test_bad_provider_config_is_refused(options: dict[str, Any]) -> None:
    """A malformed or unknown provider_config option is a ValidationError before submit."""
    with pytest.raises(ValidationError, match=r"prefer_wait|provider_config"):
        client("google/veo-3", **options).prepare_video(video())


# ---------------------------------------------------------------------------------------
# The whole flow
# ---------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_video_flow_polls_until_succeeded(respx_mock: respx.MockRouter) -> None:
    """Create, poll starting -> processing -> succeeded, then read the URL from the prediction."""
    create = respx_mock.post(f"{BASE}/v1/models/google/veo-3/predictions").respond(
        201, json=prediction("starting")
    )
    poll = respx_mock.get(f"{BASE}/v1/predictions/p1").mock(
        side_effect=[
            httpx.Response(200, json=prediction("starting")),
            httpx.Response(
                200,
                json=prediction(
                    "processing", logs="boot\n 12%|#   | 12/100\n 45%|####      | 45/100"
                ),
            ),
            httpx.Response(200, json=prediction("succeeded")),
        ]
    )
    updates: list[Any] = []
    response = await generate_video_async(
        video_config(), video(duration_seconds=5), on_progress=updates.append
    )
    assert response.video == VIDEO_URL
    assert response.content_type == "video/mp4"
    assert response.duration == 8
    assert response.expires_at == datetime(2025, 7, 30, 2, 39, 40, 500000, tzinfo=UTC)
    assert response.request_id == "p1"
    assert [u.status for u in updates] == ["queued", "queued", "processing", "completed"]
    assert updates[2].progress_percent == 45
    sent = create.calls.last.request
    assert sent.headers["authorization"] == f"Bearer {TOKEN}"
    assert "prefer" not in sent.headers  # video jobs never finish within a hold
    assert json.loads(sent.content)["input"]["duration"] == 8
    attempt = response.execution_metadata.attempts[0]
    assert (attempt.submit_count, attempt.poll_count, attempt.status) == (1, 3, "success")
    assert poll.call_count == 3
    headers = response._download_headers[VIDEO_URL]
    assert headers["Authorization"].get_secret_value() == f"Bearer {TOKEN}"


@pytest.mark.anyio
async def test_image_flow_held_create_needs_no_poll(respx_mock: respx.MockRouter) -> None:
    """Prefer: wait=10 on an image job; a reply already succeeded means zero polls."""
    images = ["https://replicate.delivery/a/out-0.webp", "https://replicate.delivery/a/out-1.webp"]
    create = respx_mock.post(
        f"{BASE}/v1/models/black-forest-labs/flux-schnell/predictions"
    ).respond(201, json=prediction("succeeded", output=images))
    response = await generate_image_async(
        image_config(), ImageGenerationRequest(prompt="a fox", n=2)
    )
    assert response.images == images
    assert response.content_type == "image/webp"
    sent = create.calls.last.request
    assert sent.headers["prefer"] == "wait=10"
    attempt = response.execution_metadata.attempts[0]
    assert (attempt.poll_count, attempt.http_requests) == (0, 1)


@pytest.mark.anyio
async def test_held_create_still_running_continues_polling(respx_mock: respx.MockRouter) -> None:
    """A hold that ends with the prediction still starting is followed by polls."""
    respx_mock.post(f"{BASE}/v1/models/black-forest-labs/flux-schnell/predictions").respond(
        201, json=prediction("starting")
    )
    respx_mock.get(f"{BASE}/v1/predictions/p1").respond(
        200, json=prediction("succeeded", output=["https://replicate.delivery/a/o.png"])
    )
    response = await generate_image_async(image_config(), ImageGenerationRequest(prompt="a fox"))
    assert response.images == ["https://replicate.delivery/a/o.png"]
    assert response.execution_metadata.attempts[0].poll_count == 1


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("kind", "options", "time_left", "expected"),
    [
        ("video", {}, 600.0, None),
        ("video", {"prefer_wait": 5}, 600.0, "wait=5"),
        ("image", {}, 600.0, "wait=10"),
        ("image", {"prefer_wait": 0}, 600.0, None),
        ("image", {"prefer_wait": 100}, 600.0, "wait=60"),
        ("image", {}, 4.7, "wait=4"),
        ("image", {}, 0.5, None),
        ("image", {}, None, "wait=10"),
    ],
)
async def test_prefer_wait_and_cancel_after_headers(
    respx_mock: respx.MockRouter,
    kind: str,
    options: dict[str, Any],
    time_left: float | None,
    expected: str | None,
) -> None:
    """Prefer: wait defaults by kind, is overridable, clamped to 1-60 and to the time left."""
    model = "google/veo-3" if kind == "video" else "black-forest-labs/flux-schnell"
    create = respx_mock.post(f"{BASE}/v1/models/{model}/predictions").respond(
        201, json=prediction("starting")
    )
    replicate = keyed_client(model, **options)
    job = (
        replicate.prepare_video(video())
        if kind == "video"
        else replicate.prepare_image(ImageGenerationRequest(prompt="p"))
    )
    submitted = await replicate.submit(job, time_left=time_left)
    sent = create.calls.last.request
    assert sent.headers.get("prefer") == expected
    if time_left is None:
        assert "cancel-after" not in sent.headers
    else:
        assert sent.headers["cancel-after"] == f"{max(1, -int(-time_left // 1))}s"
    assert submitted.snapshot is not None
    assert submitted.snapshot.state is JobState.QUEUED


@pytest.mark.anyio
async def test_cancel_after_comes_from_the_config_timeout(respx_mock: respx.MockRouter) -> None:
    """config.timeout=30 sends ``Cancel-After: 30s`` so Replicate stops a job we abandon."""
    create = respx_mock.post(f"{BASE}/v1/models/google/veo-3/predictions").respond(
        201, json=prediction("succeeded")
    )
    await generate_video_async(video_config(timeout=30), video())
    assert create.calls.last.request.headers["cancel-after"] == "30s"


@pytest.mark.anyio
async def test_version_ids_create_through_v1_predictions(respx_mock: respx.MockRouter) -> None:
    """owner/name:<version> posts {"version", "input"} to /v1/predictions."""
    create = respx_mock.post(f"{BASE}/v1/predictions").respond(201, json=prediction("succeeded"))
    await generate_video_async(video_config(f"acme/model:{VERSION}"), video())
    assert json.loads(create.calls.last.request.content) == {
        "version": VERSION,
        "input": {"prompt": "a cat surfing"},
    }


# ---------------------------------------------------------------------------------------
# Statuses
# ---------------------------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("fields", "state", "error_type", "words"),
    [
        ({"status": "starting"}, JobState.QUEUED, None, None),
        (
            {"status": "processing", "logs": "x\n 7%|#  | 7/100\nstep"},
            JobState.PROCESSING,
            None,
            None,
        ),
        ({"status": "succeeded"}, JobState.COMPLETED, None, None),
        (
            {"status": "failed", "error": "CUDA out of memory"},
            JobState.FAILED,
            GenerationFailedError,
            "CUDA out of memory",
        ),
        (
            {"status": "failed", "error": "E005: The input or output was flagged as sensitive."},
            JobState.FAILED,
            ContentModerationError,
            "E005",
        ),
        (
            {"status": "failed", "error": "NSFW content detected"},
            JobState.FAILED,
            ContentModerationError,
            "NSFW",
        ),
        (
            {"status": "failed", "error": None},
            JobState.FAILED,
            GenerationFailedError,
            "without a message",
        ),
        ({"status": "canceled"}, JobState.CANCELLED, JobCancelledError, "canceled"),
        ({"status": "aborted"}, JobState.CANCELLED, JobCancelledError, "not billed"),
        ({"status": "exploded"}, JobState.FAILED, GenerationFailedError, "'exploded'"),
        ({"status": None}, JobState.FAILED, GenerationFailedError, "unknown prediction status"),
    ],
)
async def test_every_status_maps_to_one_state(
    respx_mock: respx.MockRouter,
    fields: dict[str, Any],
    state: JobState,
    error_type: type[TarashException] | None,
    words: str | None,
) -> None:
    """Each Replicate status (and an unknown one) maps to one neutral state and error."""
    respx_mock.get(f"{BASE}/v1/predictions/p1").respond(200, json=prediction(**fields))
    replicate = keyed_client()
    snapshot = await replicate.poll(handle())
    assert snapshot.state is state
    if error_type is None:
        assert snapshot.error is None
    else:
        assert type(snapshot.error) is error_type
        assert words is not None
        assert words in str(snapshot.error)
        assert snapshot.error.request_id == "p1"
    if fields.get("logs"):
        assert snapshot.progress_percent == 7


@pytest.mark.anyio
async def test_a_non_prediction_reply_is_a_retryable_error(respx_mock: respx.MockRouter) -> None:
    """A status reply that is not a JSON object says nothing of the job: retry, not fail."""
    respx_mock.get(f"{BASE}/v1/predictions/p1").respond(200, text="<html>")
    with pytest.raises(ProviderServerError) as info:
        await keyed_client().poll(handle())
    assert info.value.retryable


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("fields", "error_type"),
    [
        ({"status": "failed", "error": "flagged as sensitive"}, ContentModerationError),
        ({"status": "aborted"}, JobCancelledError),
        ({"status": "failed", "error": "boom"}, GenerationFailedError),
    ],
)
async def test_terminal_failures_raise_from_generate(
    respx_mock: respx.MockRouter, fields: dict[str, Any], error_type: type[TarashException]
) -> None:
    """A failed, refused or aborted prediction raises its error with the attempt recorded."""
    respx_mock.post(f"{BASE}/v1/models/google/veo-3/predictions").respond(
        201, json=prediction("starting")
    )
    respx_mock.get(f"{BASE}/v1/predictions/p1").respond(200, json=prediction(**fields))
    with pytest.raises(error_type) as caught:
        await generate_video_async(video_config(), video())
    assert caught.value.execution_metadata is not None
    attempt = caught.value.execution_metadata.attempts[0]
    assert (attempt.status, attempt.request_id) == ("failed", "p1")


def handle(**fields: Any) -> JobHandle:
    values: dict[str, Any] = {
        "kind": "video",
        "provider": "replicate",
        "model": "google/veo-3",
        "request_id": "p1",
        "base_url": BASE,
        "status_url": f"{BASE}/v1/predictions/p1",
        "cancel_url": f"{BASE}/v1/predictions/p1/cancel",
        "submitted_at": datetime.now(UTC),
    }
    values.update(fields)
    return JobHandle(**values)


@pytest.mark.anyio
async def test_foreign_status_urls_are_not_followed(respx_mock: respx.MockRouter) -> None:
    """urls.get on another host is replaced by {base}/v1/predictions/{id}: no token leaves."""
    respx_mock.post(f"{BASE}/v1/models/google/veo-3/predictions").respond(
        201, json=prediction("starting", base="https://evil.test")
    )
    poll = respx_mock.get(f"{BASE}/v1/predictions/p1").respond(200, json=prediction("succeeded"))
    response = await generate_video_async(video_config(), video())
    assert response.video == VIDEO_URL
    assert poll.call_count == 1
    resumed = await keyed_client().poll(handle(status_url="https://evil.test/v1/predictions/p1"))
    assert resumed.state is JobState.COMPLETED
    assert poll.call_count == 2


# ---------------------------------------------------------------------------------------
# Outputs
# ---------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_output_missing_from_the_snapshot_is_read_once(respx_mock: respx.MockRouter) -> None:
    """A succeeded snapshot without output costs exactly one GET of the prediction."""
    get = respx_mock.get(f"{BASE}/v1/predictions/p1").respond(200, json=prediction("succeeded"))
    replicate = keyed_client()
    snapshot = await replicate.poll(handle())
    bare = type(snapshot)(JobState.COMPLETED, {"id": "p1", "status": "succeeded"})
    out = await replicate.fetch_video(handle(), bare)
    assert out.video == VIDEO_URL
    assert get.call_count == 2
    await replicate.fetch_video(handle(), snapshot)
    assert get.call_count == 2  # the output was in the snapshot: no request


@pytest.mark.anyio
async def test_removed_output_explains_the_retention(respx_mock: respx.MockRouter) -> None:
    """output null with data_removed is a GenerationFailedError about the 1 h retention."""
    respx_mock.get(f"{BASE}/v1/predictions/p1").respond(
        200, json=prediction("succeeded", output=None, data_removed=True)
    )
    replicate = keyed_client()
    snapshot = await replicate.poll(handle())
    with pytest.raises(GenerationFailedError, match="1 hour"):
        await replicate.fetch_video(handle(), snapshot)


@pytest.mark.anyio
async def test_null_output_is_read_again_then_fails(respx_mock: respx.MockRouter) -> None:
    """A succeeded prediction whose output stays null fails after one extra read."""
    get = respx_mock.get(f"{BASE}/v1/predictions/p1").respond(
        200, json=prediction("succeeded", output=None)
    )
    replicate = keyed_client()
    snapshot = await replicate.poll(handle())
    with pytest.raises(GenerationFailedError, match="no output"):
        await replicate.fetch_image(handle(kind="image"), snapshot)
    assert get.call_count == 2


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("output", "expected", "content_type"),
    [
        (VIDEO_URL, VIDEO_URL, "video/mp4"),
        ([VIDEO_URL, "https://replicate.delivery/b.mp4"], VIDEO_URL, "video/mp4"),
        ({"thumbnail": "https://x.test/t.jpg", "video": VIDEO_URL}, VIDEO_URL, "video/mp4"),
        ("data:video/webm;base64,GkXfow==", "data:video/webm;base64,GkXfow==", "video/webm"),
    ],
)
async def test_video_output_shapes(output: Any, expected: str, content_type: str) -> None:
    """A URL, a list, a dict or a data URI: the first video is taken, its type guessed."""
    replicate = keyed_client()
    snapshot = replicate._snapshot(prediction("succeeded", output=output))
    out = await replicate.fetch_video(handle(), snapshot)
    assert (out.video, out.content_type) == (expected, content_type)
    if expected.startswith("data:"):
        assert out.expires_at is None


@pytest.mark.anyio
async def test_output_without_media_fails() -> None:
    """An output holding no URL (text, numbers) is a GenerationFailedError."""
    replicate = keyed_client()
    snapshot = replicate._snapshot(prediction("succeeded", output={"text": "hello"}))
    with pytest.raises(GenerationFailedError, match="no URL"):
        await replicate.fetch_image(handle(kind="image"), snapshot)


@pytest.mark.anyio
async def test_expiry_falls_back_to_created_at() -> None:
    """Without completed_at the 1 h retention counts from created_at."""
    replicate = keyed_client()
    snapshot = replicate._snapshot(prediction("succeeded", completed_at=None))
    out = await replicate.fetch_video(handle(), snapshot)
    assert out.expires_at == datetime(2025, 7, 30, 2, 38, 7, 143000, tzinfo=UTC)


# ---------------------------------------------------------------------------------------
# Errors and retries
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "body", "error_type", "message"),
    [
        (
            401,
            {
                "title": "Unauthenticated",
                "detail": "You did not pass a valid authentication token",
                "status": 401,
            },
            AuthenticationError,
            "Unauthenticated: You did not pass a valid authentication token",
        ),
        (
            402,
            {"title": "Insufficient credit", "detail": "Add a payment method.", "status": 402},
            InsufficientCreditError,
            "Insufficient credit: Add a payment method.",
        ),
        (404, {"detail": "Not found.", "status": 404}, NotFoundError, "Not found."),
        (
            422,
            {
                "detail": "- input.aspect_ratio: aspect_ratio must be one of ...\n",
                "status": 422,
                "title": "Input validation failed",
                "invalid_fields": [
                    {
                        "type": "enum",
                        "field": "input.aspect_ratio",
                        "description": "aspect_ratio must be one of ...",
                    },
                    {"type": "required", "field": "input", "description": "prompt is required"},
                ],
            },
            ValidationError,
            "Input validation failed: invalid fields: input.aspect_ratio: aspect_ratio must be "
            "one of ...; input: prompt is required",
        ),
        (
            422,
            {
                "title": "Invalid version or not permitted",
                "detail": "The specified version does not exist",
                "status": 422,
            },
            ValidationError,
            "Invalid version or not permitted: The specified version does not exist",
        ),
        (
            422,
            {
                "title": "Input rejected",
                "detail": "prompt flagged as sensitive (E005)",
                "status": 422,
            },
            ContentModerationError,
            "Input rejected: prompt flagged as sensitive (E005)",
        ),
        (500, "<html>oops</html>", ProviderServerError, "<html>oops</html>"),
        (502, "", ProviderServerError, "HTTP 502 from Replicate"),
    ],
)
def test_parse_error_maps_problem_bodies(
    status: int, body: Any, error_type: type[TarashException], message: str
) -> None:
    """Replicate's RFC 7807-ish bodies become "title: detail" on the right error class."""
    reply = (
        httpx.Response(status, json=body)
        if isinstance(body, dict)
        else httpx.Response(status, text=body)
    )
    error = keyed_client().parse_error(reply)
    assert type(error) is error_type
    assert error.message == message
    assert error.status_code == status
    assert error.provider == "replicate"


def test_parse_error_reads_retry_after_on_429() -> None:
    """A throttled reply is a RateLimitError carrying Retry-After seconds."""
    reply = httpx.Response(
        429,
        json={"detail": "Request was throttled. Your rate limit resets in ~30s.", "status": 429},
        headers={"retry-after": "30"},
    )
    error = keyed_client().parse_error(reply)
    assert isinstance(error, RateLimitError)
    assert error.retry_after == 30
    assert error.message == "Request was throttled. Your rate limit resets in ~30s."


@pytest.mark.anyio
async def test_429_on_create_is_retried_then_succeeds(respx_mock: respx.MockRouter) -> None:
    """A throttled create cannot have made a job, so it is retried after Retry-After."""
    throttled = httpx.Response(
        429, json={"detail": "Request was throttled.", "status": 429}, headers={"retry-after": "0"}
    )
    create = respx_mock.post(f"{BASE}/v1/models/google/veo-3/predictions").mock(
        side_effect=[throttled, httpx.Response(201, json=prediction("succeeded"))]
    )
    response = await generate_video_async(video_config(), video())
    assert response.video == VIDEO_URL
    assert create.call_count == 2
    attempt = response.execution_metadata.attempts[0]
    assert (attempt.submit_count, attempt.retries) == (2, 1)


@pytest.mark.anyio
async def test_500_on_create_is_not_retried(respx_mock: respx.MockRouter) -> None:
    """A 500 on create may have made a paid job: it is raised, never resubmitted."""
    create = respx_mock.post(f"{BASE}/v1/models/google/veo-3/predictions").respond(
        500,
        json={
            "title": "Internal Server Error",
            "detail": "An unexpected error occurred.",
            "status": 500,
        },
    )
    with pytest.raises(ProviderServerError, match="Internal Server Error"):
        await generate_video_async(video_config(), video())
    assert create.call_count == 1


@pytest.mark.anyio
async def test_dropped_connection_on_create_is_not_retried(respx_mock: respx.MockRouter) -> None:
    """A create whose connection dropped mid-reply may have made a job: not resubmitted."""
    create = respx_mock.post(f"{BASE}/v1/models/google/veo-3/predictions").mock(
        side_effect=httpx.RemoteProtocolError("peer closed connection")
    )
    with pytest.raises(HTTPConnectionError):
        await generate_video_async(video_config(), video())
    assert create.call_count == 1


@pytest.mark.anyio
async def test_5xx_on_poll_is_retried(respx_mock: respx.MockRouter) -> None:
    """Polling is idempotent: a 502 then 503 then success keeps the job going."""
    respx_mock.post(f"{BASE}/v1/models/google/veo-3/predictions").respond(
        201, json=prediction("starting")
    )
    poll = respx_mock.get(f"{BASE}/v1/predictions/p1").mock(
        side_effect=[
            httpx.Response(502, text="bad gateway"),
            httpx.Response(503, json={"detail": "unavailable", "status": 503}),
            httpx.Response(200, json=prediction("succeeded")),
        ]
    )
    response = await generate_video_async(video_config(), video())
    assert response.video == VIDEO_URL
    assert poll.call_count == 3
    assert response.execution_metadata.attempts[0].retries == 2


@pytest.mark.anyio
async def test_missing_token_fails_before_any_request(respx_mock: respx.MockRouter) -> None:
    """No api_key and no REPLICATE_API_TOKEN: AuthenticationError naming the variable."""
    config = video_config().model_copy(update={"api_key": None})
    with pytest.raises(AuthenticationError, match="REPLICATE_API_TOKEN"):
        await generate_video_async(config, video())
    assert not respx_mock.calls


@pytest.mark.anyio
async def test_token_comes_from_the_environment(
    respx_mock: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    """REPLICATE_API_TOKEN is used when the config holds no key."""
    monkeypatch.setenv("REPLICATE_API_TOKEN", "r8_from_env")
    create = respx_mock.post(f"{BASE}/v1/models/google/veo-3/predictions").respond(
        201, json=prediction("succeeded")
    )
    await generate_video_async(video_config().model_copy(update={"api_key": None}), video())
    assert create.calls.last.request.headers["authorization"] == "Bearer r8_from_env"


@pytest.mark.anyio
async def test_token_never_appears_in_errors_or_metadata(respx_mock: respx.MockRouter) -> None:
    """Even a server echoing the token back: str, repr and metadata hold no secret."""
    respx_mock.post(f"{BASE}/v1/models/google/veo-3/predictions").respond(
        401, json={"title": "Unauthenticated", "detail": f"bad token {TOKEN}", "status": 401}
    )
    with pytest.raises(AuthenticationError) as caught:
        await generate_video_async(video_config(), video())
    error = caught.value
    assert error.execution_metadata is not None
    for text in (str(error), repr(error), error.execution_metadata.model_dump_json()):
        assert TOKEN not in text
    assert "***" in str(error)


# ---------------------------------------------------------------------------------------
# Cancellation
# ---------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_deadline_cancels_the_prediction(respx_mock: respx.MockRouter) -> None:
    """A job still starting at the deadline is cancelled remotely; the attempt says so."""
    respx_mock.post(f"{BASE}/v1/models/google/veo-3/predictions").respond(
        201, json=prediction("starting")
    )
    respx_mock.get(f"{BASE}/v1/predictions/p1").respond(200, json=prediction("starting"))
    cancel = respx_mock.post(f"{BASE}/v1/predictions/p1/cancel").respond(
        200, json=prediction("canceled")
    )
    with pytest.raises(TimeoutError) as caught:
        await generate_video_async(video_config(timeout=0.2), video())
    assert cancel.call_count == 1
    assert cancel.calls.last.request.headers["authorization"] == f"Bearer {TOKEN}"
    assert caught.value.execution_metadata is not None
    assert caught.value.execution_metadata.attempts[0].status == "cancelled"


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("reply", "accepted"),
    [
        (httpx.Response(200, json=prediction("canceled")), True),
        (httpx.Response(200, json=prediction("succeeded")), False),
        (httpx.Response(404, json={"detail": "Not found.", "status": 404}), False),
    ],
)
async def test_cancel_reports_whether_it_stopped_the_job(
    respx_mock: respx.MockRouter, reply: httpx.Response, accepted: bool
) -> None:
    """Cancel is True only when Replicate answers canceled; 404 or finished is False."""
    route = respx_mock.post(f"{BASE}/v1/predictions/p1/cancel").mock(return_value=reply)
    assert await keyed_client().cancel(handle()) is accepted
    assert route.call_count == 1


@pytest.mark.anyio
async def test_cancel_ignores_a_foreign_cancel_url(respx_mock: respx.MockRouter) -> None:
    """A cancel_url on another origin is replaced by the documented path on the base."""
    route = respx_mock.post(f"{BASE}/v1/predictions/p1/cancel").respond(
        200, json=prediction("canceled")
    )
    assert await keyed_client().cancel(handle(cancel_url="https://evil.test/cancel"))
    assert route.call_count == 1


# ---------------------------------------------------------------------------------------
# Downloads
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "sends_token"),
    [
        ("https://replicate.delivery/xezq/a/output.mp4", True),
        ("https://pbxt.replicate.delivery/a/out.png", True),
        (f"{BASE}/files/out.mp4", True),
        ("http://replicate.delivery/a/out.mp4", False),
        ("https://replicate.delivery.evil.test/a.mp4", False),
        ("https://evilreplicate.delivery/a.mp4", False),
        ("https://cdn.example.com/out.mp4", False),
        ("https://api.replicate.test:8443/files/out.mp4", False),
    ],
)
def test_download_headers_only_for_replicate_hosts(url: str, sends_token: bool) -> None:
    """The token goes to replicate.delivery (https) and the API's own origin, nowhere else."""
    headers = keyed_client().download_headers(url)
    if sends_token:
        assert headers["Authorization"].get_secret_value() == f"Bearer {TOKEN}"
        assert TOKEN not in repr(headers)
    else:
        assert headers == {}
