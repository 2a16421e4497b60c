"""The Runway client on the wire (respx): the three endpoints, ratio and frame mapping,
task statuses (THROTTLED included), failure codes, cancel, errors, the 5 s poll floor and
gen3a_turbo's retirement warning."""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import respx

from tarash.tarash_gateway import generate_image_async, generate_video_async
from tarash.tarash_gateway.engine._polling import JobSnapshot, JobState, PollSchedule
from tarash.tarash_gateway.errors import (
    AuthenticationError,
    ContentModerationError,
    GenerationFailedError,
    InsufficientCreditError,
    JobCancelledError,
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
from tarash.tarash_gateway.providers.runway import API_VERSION, RunwayClient
from tarash.tarash_gateway.routing._jobs import JobWaiter

BASE = "https://runway-gateway.test"
OFFICIAL = "https://api.dev.runwayml.com"
KEY = "key_" + "ab" * 64
TASK = "17f20503-6c24-4c16-946b-35dbbce2af2f"
OUT = "https://dnznrvs05pmza.cloudfront.net/x/video.mp4?_jwt=abc"
FRAME = "https://example.com/frame.jpg"


@pytest.fixture(autouse=True)
def _hermetic(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No Runway setting from the developer's environment; lifecycle warnings start afresh."""
    for name in ("RUNWAYML_BASE_URL", "TARASH_RUNWAY_BASE_URL", "RUNWAYML_API_SECRET"):
        monkeypatch.delenv(name, raising=False)
    _lifecycle._warned.clear()
    yield
    _lifecycle._warned.clear()


def client(model: str = "gen4.5", base_url: str = BASE, **config: Any) -> RunwayClient:
    return RunwayClient(
        ProviderSettings(model=model, base_url=base_url, api_key=None, provider_config=config)
    )


def video_config(model: str = "gen4.5", **kwargs: Any) -> VideoGenerationConfig:
    fields: dict[str, Any] = {
        "provider": "runway",
        "model": model,
        "api_key": KEY,
        "base_url": BASE,
        "poll_interval": 0.01,
        **kwargs,
    }
    return VideoGenerationConfig(**fields)


def image_config(model: str = "gen4_image", **kwargs: Any) -> ImageGenerationConfig:
    fields: dict[str, Any] = {
        "provider": "runway",
        "model": model,
        "api_key": KEY,
        "base_url": BASE,
        "poll_interval": 0.01,
        **kwargs,
    }
    return ImageGenerationConfig(**fields)


def task(status: str, **fields: Any) -> dict[str, Any]:
    return {"id": TASK, "createdAt": "2024-06-27T19:49:32.334Z", "status": status, **fields}


def sent_json(route: respx.Route) -> Any:
    return json.loads(route.calls.last.request.content)


def test_registry_resolves_the_client() -> None:
    """'runway' names RunwayClient; its key is RUNWAYML_API_SECRET; it asks for 5 s polls."""
    assert get_provider_class("runway") is RunwayClient
    assert RunwayClient.key_env_vars == ("RUNWAYML_API_SECRET",)
    assert RunwayClient.min_poll_interval == 5.0


@pytest.mark.parametrize(
    ("model", "aspect", "resolution", "ratio"),
    [
        ("gen4.5", "16:9", None, "1280:720"),
        ("gen4.5", "1:1", "720p", "960:960"),
        ("gen4.5", "21:9", None, "1584:672"),
        ("veo3", "9:16", "1080p", "1080:1920"),
        ("veo3.1", "16:9", "720p", "1280:720"),
    ],
)
def test_ratio_is_runways_pixel_string(
    model: str, aspect: str, resolution: str | None, ratio: str
) -> None:
    """The aspect ratio (and resolution) become the model's own ``ratio`` string."""
    request = VideoGenerationRequest(prompt="a cat", aspect_ratio=aspect, resolution=resolution)
    assert client(model).prepare_video(request).payload["ratio"] == ratio


@pytest.mark.anyio
async def test_a_text_only_gen4_turbo_is_refused_before_sending(
    respx_mock: respx.MockRouter,
) -> None:
    """Runway takes gen4_turbo on image_to_video only (promptImage required): a request with
    no image is a ValidationError naming image_list, and nothing is posted (it used to go to
    text_to_video, which Runway refuses)."""
    with pytest.raises(ValidationError, match="image_list") as refused:
        await generate_video_async(
            video_config("gen4_turbo"), VideoGenerationRequest(prompt="a cat")
        )
    assert refused.value.model == "gen4_turbo"
    assert not respx_mock.calls


@pytest.mark.parametrize(("model", "seconds"), [("gen4.5", 5), ("veo3", 8)])
def test_a_model_whose_body_requires_a_duration_gets_one(model: str, seconds: int) -> None:
    """gen4.5 and veo3 bodies require ``duration`` (sdk-python marks it Required): a request
    naming none sends the model's default instead of meeting Runway's 400."""
    payload = client(model).prepare_video(VideoGenerationRequest(prompt="a cat")).payload
    assert payload["duration"] == seconds


def test_ratio_defaults_to_landscape_when_unasked() -> None:
    """Runway requires a ratio: a request without an aspect ratio gets the model's default."""
    assert client().prepare_video(VideoGenerationRequest(prompt="a cat")).payload["ratio"] == (
        "1280:720"
    )
    image = client("gen4_image").prepare_image(ImageGenerationRequest(prompt="a fox"))
    assert image.payload["ratio"] == "1024:1024"


def test_first_and_last_frames_become_positions() -> None:
    """A last frame turns promptImage into [{uri, position: first}, {uri, position: last}]."""
    request = VideoGenerationRequest(
        prompt="a cat",
        image_list=[
            {"image": FRAME, "type": "first_frame"},
            {"image": "https://example.com/end.jpg", "type": "last_frame"},
        ],
    )
    payload = client("veo3.1").prepare_video(request).payload
    assert payload["promptImage"] == [
        {"uri": FRAME, "position": "first"},
        {"uri": "https://example.com/end.jpg", "position": "last"},
    ]
    assert "lastFrame" not in payload


def test_content_moderation_comes_from_provider_config() -> None:
    """public_figure_threshold is sent as contentModeration; a bad value is refused."""
    request = VideoGenerationRequest(prompt="a cat")
    payload = client(public_figure_threshold="low").prepare_video(request).payload
    assert payload["contentModeration"] == {"publicFigureThreshold": "low"}
    with pytest.raises(ValidationError, match="public_figure_threshold"):
        client(public_figure_threshold="high").prepare_video(request)


def test_statuses_map_to_states_with_progress() -> None:
    """PENDING and THROTTLED are queued (waiting, not failed); RUNNING carries progress %."""
    runway = client()
    assert runway._snapshot(task("PENDING"), TASK).state is JobState.QUEUED
    assert runway._snapshot(task("THROTTLED"), TASK).state is JobState.QUEUED
    running = runway._snapshot(task("RUNNING", progress=0.42), TASK)
    assert (running.state, running.progress_percent) == (JobState.PROCESSING, 42)
    assert runway._snapshot(task("SUCCEEDED", output=[OUT]), TASK).state is JobState.COMPLETED
    cancelled = runway._snapshot(task("CANCELLED"), TASK)
    assert isinstance(cancelled.error, JobCancelledError)
    unknown = runway._snapshot(task("WEIRD"), TASK)
    assert (unknown.state, unknown.understood) == (JobState.FAILED, False)


@pytest.mark.parametrize(
    ("code", "error", "retryable"),
    [
        ("SAFETY.INPUT.IMAGE", ContentModerationError, False),
        ("SAFETY.OUTPUT.VIDEO", ContentModerationError, False),
        ("INTERNAL.BAD_OUTPUT.CODE01", GenerationFailedError, True),
        ("ASSET.INVALID", GenerationFailedError, False),
    ],
)
def test_failure_codes_map_to_errors(code: str, error: type[Exception], retryable: bool) -> None:
    """SAFETY.* is moderation; INTERNAL.* a retryable failure; the rest a plain failure."""
    body = task("FAILED", failure="Some inputs did not pass.", failureCode=code)
    found = client()._snapshot(body, TASK).error
    assert type(found) is error
    assert found is not None and found.retryable is retryable
    assert code in found.message


@pytest.mark.anyio
async def test_text_to_video_throttled_then_succeeds(respx_mock: respx.MockRouter) -> None:
    """Text-only goes to /v1/text_to_video with both headers; THROTTLED keeps waiting; the
    output URL is the video, with an expiry."""
    create = respx_mock.post(f"{BASE}/v1/text_to_video").respond(200, json={"id": TASK})
    poll = respx_mock.get(f"{BASE}/v1/tasks/{TASK}").mock(
        side_effect=[
            httpx.Response(200, json=task("THROTTLED")),
            httpx.Response(200, json=task("RUNNING", progress=0.5)),
            httpx.Response(200, json=task("SUCCEEDED", output=[OUT])),
        ]
    )
    updates: list[Any] = []
    response = await generate_video_async(
        video_config(),
        VideoGenerationRequest(prompt="a cat", duration_seconds=5, aspect_ratio="16:9"),
        on_progress=updates.append,
    )
    sent = create.calls.last.request
    assert sent.headers["authorization"] == f"Bearer {KEY}"
    assert sent.headers["x-runway-version"] == API_VERSION
    assert sent_json(create) == {
        "promptText": "a cat",
        "duration": 5,
        "ratio": "1280:720",
        "model": "gen4.5",
    }
    assert poll.call_count == 3
    assert response.video == OUT
    assert updates[-2].progress_percent == 50
    expires = response.expires_at
    assert expires is not None and expires > datetime.now(UTC) + timedelta(hours=23)


@pytest.mark.anyio
async def test_image_to_video_posts_prompt_image(respx_mock: respx.MockRouter) -> None:
    """A first frame sends the task to /v1/image_to_video as promptImage."""
    create = respx_mock.post(f"{BASE}/v1/image_to_video").respond(200, json={"id": TASK})
    respx_mock.get(f"{BASE}/v1/tasks/{TASK}").respond(200, json=task("SUCCEEDED", output=[OUT]))
    await generate_video_async(
        video_config(api_version="2025-01-01"),
        VideoGenerationRequest(
            prompt="a cat", image_list=[{"image": FRAME, "type": "first_frame"}]
        ),
    )
    assert sent_json(create)["promptImage"] == FRAME
    assert create.calls.last.request.headers["x-runway-version"] == "2025-01-01"


@pytest.mark.anyio
async def test_text_to_image_sends_tagged_references(respx_mock: respx.MockRouter) -> None:
    """Image requests go to /v1/text_to_image; references are tagged; outputs are the images."""
    create = respx_mock.post(f"{BASE}/v1/text_to_image").respond(200, json={"id": TASK})
    respx_mock.get(f"{BASE}/v1/tasks/{TASK}").respond(
        200, json=task("SUCCEEDED", output=["https://cdn.test/a.png"])
    )
    response = await generate_image_async(
        image_config(),
        ImageGenerationRequest(
            prompt="@ref1 on a cliff",
            aspect_ratio="16:9",
            image_list=[{"image": FRAME, "type": "reference"}],
        ),
    )
    assert sent_json(create) == {
        "promptText": "@ref1 on a cliff",
        "ratio": "1920:1080",
        "referenceImages": [{"uri": FRAME, "tag": "ref1"}],
        "model": "gen4_image",
    }
    assert response.images == ["https://cdn.test/a.png"]


def test_gen4_image_turbo_needs_references() -> None:
    """gen4_image_turbo without reference images is refused before sending."""
    with pytest.raises(ValidationError):
        client("gen4_image_turbo").prepare_image(ImageGenerationRequest(prompt="a fox"))


@pytest.mark.anyio
async def test_a_safety_failure_raises_content_moderation(respx_mock: respx.MockRouter) -> None:
    """A FAILED task with SAFETY.INPUT.TEXT raises ContentModerationError."""
    respx_mock.post(f"{BASE}/v1/text_to_video").respond(200, json={"id": TASK})
    respx_mock.get(f"{BASE}/v1/tasks/{TASK}").respond(
        200, json=task("FAILED", failure="moderated", failureCode="SAFETY.INPUT.TEXT")
    )
    with pytest.raises(ContentModerationError):
        await generate_video_async(video_config(), VideoGenerationRequest(prompt="a cat"))


@pytest.mark.anyio
async def test_cancel_deletes_the_task(
    respx_mock: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    """cancel() is DELETE /v1/tasks/{id} (204): True; an unknown task (404) is False."""
    monkeypatch.setenv("RUNWAYML_API_SECRET", KEY)
    runway = client()
    delete = respx_mock.delete(f"{BASE}/v1/tasks/{TASK}").mock(
        side_effect=[httpx.Response(204), httpx.Response(404, json={"error": "Not found"})]
    )
    handle = runway.new_handle("video", TASK)
    assert await runway.cancel(handle) is True
    assert await runway.cancel(handle) is False
    assert delete.call_count == 2
    assert delete.calls.last.request.headers["authorization"] == f"Bearer {KEY}"


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (
            400,
            {
                "error": "Validation of body failed",
                "issues": [{"code": "too_big", "message": "Too big", "path": ["duration"]}],
            },
            ValidationError,
        ),
        (
            400,
            {"error": "You do not have enough credits to run this task."},
            InsufficientCreditError,
        ),
        (401, {"error": "Unauthorized"}, AuthenticationError),
    ],
)
async def test_create_errors_map_to_one_class_sent_once(
    respx_mock: respx.MockRouter, status: int, body: dict[str, Any], error: type[Exception]
) -> None:
    """Each refusal maps to its class, is sent once, and never quotes the key."""
    create = respx_mock.post(f"{BASE}/v1/text_to_video").respond(status, json=body)
    with pytest.raises(error) as caught:
        await generate_video_async(video_config(), VideoGenerationRequest(prompt="a cat"))
    assert type(caught.value) is error
    assert create.call_count == 1
    assert KEY not in str(caught.value) and KEY not in repr(caught.value)


def test_a_validation_error_names_the_fields() -> None:
    """A 400's issues are in the message, by path."""
    reply = httpx.Response(
        400,
        json={
            "error": "Validation of body failed",
            "issues": [{"code": "too_big", "message": "Too big", "path": ["duration"]}],
        },
    )
    found = client().parse_error(reply)
    assert isinstance(found, ValidationError)
    assert "duration: Too big" in found.message


@pytest.mark.anyio
async def test_a_429_on_create_is_retried(respx_mock: respx.MockRouter) -> None:
    """429 on create (nothing made) is retried after Retry-After."""
    create = respx_mock.post(f"{BASE}/v1/text_to_video").mock(
        side_effect=[
            httpx.Response(429, json={"error": "Too many"}, headers={"retry-after": "0"}),
            httpx.Response(200, json={"id": TASK}),
        ]
    )
    respx_mock.get(f"{BASE}/v1/tasks/{TASK}").respond(200, json=task("SUCCEEDED", output=[OUT]))
    await generate_video_async(video_config(), VideoGenerationRequest(prompt="a cat"))
    assert create.call_count == 2


def test_a_429_maps_to_rate_limit() -> None:
    """A 429 is a RateLimitError."""
    found = client().parse_error(httpx.Response(429, json={"error": "Too many"}))
    assert isinstance(found, RateLimitError)


@pytest.mark.anyio
async def test_a_5xx_on_create_is_not_resent(respx_mock: respx.MockRouter) -> None:
    """A 500 on create may have made a task: not resent, ProviderServerError."""
    create = respx_mock.post(f"{BASE}/v1/text_to_video").respond(500, json={"error": "boom"})
    with pytest.raises(ProviderServerError):
        await generate_video_async(video_config(), VideoGenerationRequest(prompt="a cat"))
    assert create.call_count == 1


@pytest.mark.anyio
async def test_a_status_5xx_is_read_again(respx_mock: respx.MockRouter) -> None:
    """A 502 on the status read is retried."""
    respx_mock.post(f"{BASE}/v1/text_to_video").respond(200, json={"id": TASK})
    poll = respx_mock.get(f"{BASE}/v1/tasks/{TASK}").mock(
        side_effect=[
            httpx.Response(502, json={"error": "shed"}),
            httpx.Response(200, json=task("SUCCEEDED", output=[OUT])),
        ]
    )
    await generate_video_async(video_config(), VideoGenerationRequest(prompt="a cat"))
    assert poll.call_count == 2


@pytest.mark.anyio
async def test_gen3a_turbo_warns_naming_gen4_turbo_and_is_sent(
    respx_mock: respx.MockRouter,
) -> None:
    """The seed's gen3a_turbo warns once, naming gen4_turbo; the request still goes out."""
    create = respx_mock.post(f"{BASE}/v1/text_to_video").respond(200, json={"id": TASK})
    respx_mock.get(f"{BASE}/v1/tasks/{TASK}").respond(200, json=task("SUCCEEDED", output=[OUT]))
    with pytest.warns(ModelRetiredWarning, match="gen4_turbo"):
        await generate_video_async(
            video_config("gen3a_turbo"), VideoGenerationRequest(prompt="a cat")
        )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        await generate_video_async(
            video_config("gen3a_turbo"), VideoGenerationRequest(prompt="a cat")
        )
    assert create.call_count == 2
    assert sent_json(create)["model"] == "gen3a_turbo"


def test_poll_schedule_floor_bounds_every_wait() -> None:
    """PollSchedule.floor is the shortest wait, the server's own hint included."""
    schedule = PollSchedule(first=0.25, cap=1.0, floor=5.0)
    assert schedule.delay(0, JobSnapshot(JobState.QUEUED)) >= 5.0
    assert schedule.delay(0, JobSnapshot(JobState.PROCESSING, poll_after=0.1)) == 5.0
    assert PollSchedule(first=0.25, cap=1.0).delay(0, JobSnapshot(JobState.QUEUED)) < 1.5


def test_the_waiter_honours_runways_minimum_interval_on_its_host() -> None:
    """Against api.dev.runwayml.com the waiter never polls faster than 5 s; a compatible
    endpoint (the emulator) keeps the configured pace."""
    fast = PollSchedule(first=0.01, cap=0.01, queued_cap=0.02)
    official = client(base_url=OFFICIAL)
    waiter = JobWaiter(official, official.new_handle("video", TASK), schedule=fast)
    assert waiter._schedule_with_floor().floor == 5.0
    local = client()
    waiter = JobWaiter(local, local.new_handle("video", TASK), schedule=fast)
    assert waiter._schedule_with_floor().floor == 0.0


def test_runwayml_base_url_is_read_like_the_sdk(monkeypatch: pytest.MonkeyPatch) -> None:
    """RUNWAYML_BASE_URL is the base when the config and TARASH_RUNWAY_BASE_URL set none."""
    monkeypatch.setenv("RUNWAYML_BASE_URL", "https://proxy.test/")
    assert RunwayClient.resolve_base_url() == "https://proxy.test"
    assert RunwayClient.resolve_base_url("https://x.test") == "https://x.test"


# -- video-to-video (gen4_aleph, its published alias aleph, aleph2) -------------------------

SOURCE = "https://example.com/source.mp4"


@pytest.mark.anyio
@pytest.mark.parametrize("model", ["gen4_aleph", "aleph"])
async def test_aleph_with_a_video_goes_to_video_to_video(
    respx_mock: respx.MockRouter, model: str
) -> None:
    """gen4_aleph (and the published alias aleph, sent as gen4_aleph) with a video is POST
    /v1/video_to_video: videoUri, references from the images, seed, ratio and the published
    content_moderation spelt contentModeration; nothing goes to text_to_video."""
    text = respx_mock.post(f"{BASE}/v1/text_to_video")
    create = respx_mock.post(f"{BASE}/v1/video_to_video").respond(200, json={"id": TASK})
    respx_mock.get(f"{BASE}/v1/tasks/{TASK}").respond(200, json=task("SUCCEEDED", output=[OUT]))
    request = VideoGenerationRequest(
        prompt="art style",
        video=SOURCE,
        aspect_ratio="4:3",
        seed=777,
        image_list=[{"image": FRAME, "type": "reference"}],
        extra_params={"content_moderation": {"public_figure_threshold": "low"}},
    )
    with pytest.warns(ModelRetiredWarning, match="aleph2"):
        response = await generate_video_async(video_config(model), request)
    assert sent_json(create) == {
        "model": "gen4_aleph",
        "promptText": "art style",
        "videoUri": SOURCE,
        "references": [{"type": "image", "uri": FRAME}],
        "seed": 777,
        "ratio": "1104:832",
        "contentModeration": {"publicFigureThreshold": "low"},
    }
    assert text.call_count == 0
    assert response.video == OUT


def test_aleph2_sends_the_video_and_notes_what_it_has_no_field_for() -> None:
    """aleph2 (gen4_aleph's successor) takes videoUri, promptText and seed; a ratio or a
    reference it has no field for is noted as not sent."""
    job = client("aleph2").prepare_video(
        VideoGenerationRequest(prompt="art", video=SOURCE, aspect_ratio="4:3", seed=3)
    )
    assert job.payload == {
        "model": "aleph2",
        "promptText": "art",
        "videoUri": SOURCE,
        "seed": 3,
    }
    assert any(note.startswith("aspect_ratio") for note in job.adaptations)


def test_aleph_without_a_video_is_refused() -> None:
    """A video-to-video model without request.video is a ValidationError naming the field."""
    with (
        pytest.raises(ValidationError, match=r"videoUri.*request\.video"),
        pytest.warns(ModelRetiredWarning),
    ):
        client("gen4_aleph").prepare_video(VideoGenerationRequest(prompt="art"))


def test_veo_takes_no_seed_and_no_content_moderation() -> None:
    """Runway's Veo bodies have neither seed nor contentModeration (sdk-python): both are
    noted as not sent, never sent for Runway to refuse; gen4 models keep both."""
    moderation = {"content_moderation": {"public_figure_threshold": "low"}}
    job = client("veo3.1_fast").prepare_video(
        VideoGenerationRequest(prompt="a star", seed=42, extra_params=moderation)
    )
    assert "seed" not in job.payload and "contentModeration" not in job.payload
    assert any(note.startswith("seed: 42 not sent") for note in job.adaptations)
    assert any(note.startswith("contentModeration: not sent") for note in job.adaptations)
    gen4 = client("gen4.5", public_figure_threshold="low").prepare_video(
        VideoGenerationRequest(prompt="a star", seed=42)
    )
    assert gen4.payload["seed"] == 42
    assert gen4.payload["contentModeration"] == {"publicFigureThreshold": "low"}
