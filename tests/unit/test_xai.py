"""The xAI client on the wire (respx): the three video endpoints, image generations and
edits, deferred statuses (moderation and expiry included), errors as xAI words them, no
cancel, adaptation to the published limits, the deprecated model's warning, prices."""

from __future__ import annotations

import base64
import json
import warnings
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import respx
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError as PydanticValidationError

from tarash.emulator.xai import check_body, contract
from tarash.tarash_gateway import generate_image_async, generate_video_async
from tarash.tarash_gateway.engine._polling import JobState
from tarash.tarash_gateway.errors import (
    AuthenticationError,
    ContentModerationError,
    GenerationFailedError,
    InsufficientCreditError,
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
from tarash.tarash_gateway.providers.xai import XaiClient
from tarash.tarash_gateway.providers.xai_models import (
    IMAGE_ASPECT_RATIOS,
    IMAGE_RESOLUTIONS,
    VIDEO_ASPECT_RATIOS,
    VIDEO_RESOLUTIONS,
    XAI_SPECS,
)
from tarash.tarash_gateway.routing._prices import PriceTable
from tests._emulator import tiny_png

BASE = "https://xai-gateway.test/v1"
KEY = "xai-" + "k7" * 40
REQUEST_ID = "4b2cd27e-0b0d-3dec-c31c-7572daf74bb3"
OUT = "https://vidgen.x.ai/xai-vidgen-bucket/xai-video-f532feb6.mp4"
IMAGE_OUT = "https://imgen.x.ai/xai-imgu/f9c1.jpeg"
FRAME = "https://example.com/frame.png"
CLIP = "https://example.com/clip.mp4"


@pytest.fixture(autouse=True)
def _hermetic(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No xAI setting from the developer's environment; lifecycle warnings start afresh."""
    monkeypatch.delenv("TARASH_XAI_BASE_URL", raising=False)
    _lifecycle._warned.clear()
    yield
    _lifecycle._warned.clear()


def client(model: str = "grok-imagine-video") -> XaiClient:
    return XaiClient(ProviderSettings(model=model, base_url=BASE, api_key=None))


def video_config(model: str = "grok-imagine-video", **kwargs: Any) -> VideoGenerationConfig:
    fields: dict[str, Any] = {
        "provider": "xai",
        "model": model,
        "api_key": KEY,
        "base_url": BASE,
        "poll_interval": 0.01,
        **kwargs,
    }
    return VideoGenerationConfig(**fields)


def image_config(model: str = "grok-imagine-image", **kwargs: Any) -> ImageGenerationConfig:
    fields: dict[str, Any] = {
        "provider": "xai",
        "model": model,
        "api_key": KEY,
        "base_url": BASE,
        **kwargs,
    }
    return ImageGenerationConfig(**fields)


def sent_json(route: respx.Route) -> Any:
    return json.loads(route.calls.last.request.content)


def done(**video: Any) -> dict[str, Any]:
    return {
        "status": "done",
        "video": {"url": OUT, "duration": 5, "respect_moderation": True, **video},
        "model": "grok-imagine-video",
    }


def test_registry_resolves_the_client() -> None:
    """'xai' names XaiClient: key XAI_API_KEY, no remote cancel, images answered in the
    request."""
    assert get_provider_class("xai") is XaiClient
    assert XaiClient.key_env_vars == ("XAI_API_KEY",)
    assert XaiClient.supports_cancel is False
    assert XaiClient.answers_in_request == frozenset({"image"})
    assert XaiClient.default_base_url == "https://api.x.ai/v1"


def test_the_base_url_comes_from_tarash_xai_base_url(monkeypatch: pytest.MonkeyPatch) -> None:
    """TARASH_XAI_BASE_URL points the client elsewhere (an emulator, a gateway)."""
    monkeypatch.setenv("TARASH_XAI_BASE_URL", "http://127.0.0.1:9/xai/v1/")
    settings = ProviderSettings(model="grok-imagine-video")
    assert XaiClient(settings).base_url == "http://127.0.0.1:9/xai/v1"


def test_a_generation_maps_the_published_fields() -> None:
    """prompt, duration, aspect_ratio, resolution (1080p included) and the first frame as
    image.url, with the model."""
    request = VideoGenerationRequest(
        prompt="a cat",
        duration_seconds=7,
        aspect_ratio="3:2",
        resolution="1080p",
        image_list=[{"image": FRAME, "type": "first_frame"}],
    )
    job = client().prepare_video(request)
    assert job.payload == {
        "prompt": "a cat",
        "duration": 7,
        "aspect_ratio": "3:2",
        "resolution": "1080p",
        "image": {"url": FRAME},
        "model": "grok-imagine-video",
    }
    assert job.adaptations == []


def test_a_single_reference_image_animates_as_the_first_frame() -> None:
    """As published: one image of any role is the image to animate."""
    request = VideoGenerationRequest(
        prompt="it rotates", image_list=[{"image": FRAME, "type": "reference"}]
    )
    assert client().prepare_video(request).payload["image"] == {"url": FRAME}


@pytest.mark.anyio
async def test_a_request_with_a_video_is_an_edit(respx_mock: respx.MockRouter) -> None:
    """request.video goes to /videos/edits with the prompt and the video only; a duration
    is noted as not sent (an edit keeps the input's length)."""
    create = respx_mock.post(f"{BASE}/videos/edits").respond(200, json={"request_id": REQUEST_ID})
    respx_mock.get(f"{BASE}/videos/{REQUEST_ID}").respond(200, json=done())
    response = await generate_video_async(
        video_config(), VideoGenerationRequest(prompt="add snow", video=CLIP, duration_seconds=5)
    )
    assert sent_json(create) == {
        "prompt": "add snow",
        "video": {"url": CLIP},
        "model": "grok-imagine-video",
    }
    [note] = response.execution_metadata.attempts[0].adaptations
    assert note.startswith("duration_seconds: 5 not sent")


@pytest.mark.anyio
async def test_extend_asks_for_an_extension(respx_mock: respx.MockRouter) -> None:
    """extra_params extend=True with a video goes to /videos/extensions; the duration is
    the seconds added; 'extend' itself is never sent."""
    create = respx_mock.post(f"{BASE}/videos/extensions").respond(
        200, json={"request_id": REQUEST_ID}
    )
    respx_mock.get(f"{BASE}/videos/{REQUEST_ID}").respond(200, json=done(duration=11))
    response = await generate_video_async(
        video_config(),
        VideoGenerationRequest(
            prompt="pan left", video=CLIP, duration_seconds=6, extra_params={"extend": True}
        ),
    )
    assert sent_json(create) == {
        "prompt": "pan left",
        "duration": 6,
        "video": {"url": CLIP},
        "model": "grok-imagine-video",
    }
    assert response.video == OUT


@pytest.mark.parametrize(
    ("request_fields", "words"),
    [
        ({"extra_params": {"extend": True}}, "set request.video"),
        ({"video": CLIP, "extra_params": {"extend": "yes"}}, "must be True or False"),
    ],
)
def test_a_misused_extend_is_refused_before_sending(
    request_fields: dict[str, Any], words: str
) -> None:
    """extend without a video, or not a bool, is a ValidationError naming it."""
    with pytest.raises(ValidationError, match=words) as caught:
        client().prepare_video(VideoGenerationRequest(prompt="a cat", **request_fields))
    assert "extend" in caught.value.message
    assert caught.value.fallback_allowed is False


@pytest.mark.anyio
async def test_text_to_video_polls_pending_then_done(respx_mock: respx.MockRouter) -> None:
    """POST /videos/generations with the bearer key; pending (with progress) until done;
    the video's URL, type and duration come back."""
    create = respx_mock.post(f"{BASE}/videos/generations").respond(
        200, json={"request_id": REQUEST_ID}
    )
    poll = respx_mock.get(f"{BASE}/videos/{REQUEST_ID}").mock(
        side_effect=[
            httpx.Response(200, json={"status": "pending"}),
            httpx.Response(200, json={"status": "pending", "progress": 40}),
            httpx.Response(200, json=done()),
        ]
    )
    updates: list[Any] = []
    response = await generate_video_async(
        video_config(),
        VideoGenerationRequest(prompt="a lake", duration_seconds=5, resolution="720p"),
        on_progress=updates.append,
    )
    assert create.calls.last.request.headers["authorization"] == f"Bearer {KEY}"
    assert poll.call_count == 3
    assert poll.calls.last.request.headers["authorization"] == f"Bearer {KEY}"
    assert (response.video, response.content_type, response.request_id) == (
        OUT,
        "video/mp4",
        REQUEST_ID,
    )
    assert any(update.progress_percent == 40 for update in updates)


@pytest.mark.parametrize(
    ("body", "state", "error", "words"),
    [
        ({"status": "pending", "progress": 120}, JobState.PROCESSING, None, ""),
        (done(), JobState.COMPLETED, None, ""),
        (
            done(url="", duration=0, respect_moderation=False),
            JobState.FAILED,
            ContentModerationError,
            "moderation",
        ),
        (
            {"status": "failed", "error": {"code": "internal_error", "message": "boom"}},
            JobState.FAILED,
            GenerationFailedError,
            "internal_error: boom",
        ),
        (
            {"status": "failed", "error": {"code": "content_moderation", "message": "no"}},
            JobState.FAILED,
            ContentModerationError,
            "content_moderation",
        ),
        ({"status": "expired"}, JobState.FAILED, GenerationFailedError, "expired"),
        ({"status": "rendering"}, JobState.FAILED, GenerationFailedError, "unknown"),
    ],
)
def test_statuses_map_to_states_and_errors(
    body: dict[str, Any], state: JobState, error: type[Exception] | None, words: str
) -> None:
    """Each deferred status (all HTTP 200) maps to one state; the ends that did not
    succeed carry their error, moderation as ContentModerationError."""
    snapshot = client()._snapshot(body, REQUEST_ID)
    assert snapshot.state is state
    if error is None:
        assert snapshot.error is None
    else:
        assert type(snapshot.error) is error
        assert words in str(snapshot.error)
        assert snapshot.error.request_id == REQUEST_ID
    if body.get("progress") == 120:
        assert snapshot.progress_percent == 99


@pytest.mark.anyio
async def test_a_moderated_video_raises_content_moderation(respx_mock: respx.MockRouter) -> None:
    """done with respect_moderation false is a ContentModerationError (no URL to give)."""
    respx_mock.post(f"{BASE}/videos/generations").respond(200, json={"request_id": REQUEST_ID})
    respx_mock.get(f"{BASE}/videos/{REQUEST_ID}").respond(
        200, json=done(url="", respect_moderation=False)
    )
    with pytest.raises(ContentModerationError):
        await generate_video_async(video_config(), VideoGenerationRequest(prompt="a cat"))


@pytest.mark.anyio
async def test_cancel_sends_nothing() -> None:
    """xAI has no cancel: cancel() is False without a request (respx would refuse one)."""
    xai = client()
    with respx.mock(assert_all_called=False) as mock:
        assert await xai.cancel(xai.new_handle("video", REQUEST_ID)) is False
        assert not mock.calls


@pytest.mark.anyio
async def test_an_image_generation_answers_in_the_request(respx_mock: respx.MockRouter) -> None:
    """POST /images/generations with n, aspect_ratio and the published resolution; the
    reply's URLs are the images (JPEG, as xAI serves them); no status is read."""
    create = respx_mock.post(f"{BASE}/images/generations").respond(
        200,
        json={"data": [{"url": IMAGE_OUT, "revised_prompt": ""}, {"url": IMAGE_OUT}]},
    )
    response = await generate_image_async(
        image_config(),
        ImageGenerationRequest(
            prompt="a sunset", n=2, aspect_ratio="16:9", extra_params={"resolution": "2k"}
        ),
    )
    assert sent_json(create) == {
        "prompt": "a sunset",
        "n": 2,
        "aspect_ratio": "16:9",
        "resolution": "2k",
        "model": "grok-imagine-image",
    }
    assert response.images == [IMAGE_OUT, IMAGE_OUT]
    assert response.content_type == "image/jpeg"
    assert create.call_count == 1


@pytest.mark.anyio
async def test_base64_images_are_data_uris(respx_mock: respx.MockRouter) -> None:
    """response_format b64_json (through extra_params) gives the image as a data: URI (the
    published result type); a malformed item is skipped."""
    png = tiny_png()
    respx_mock.post(f"{BASE}/images/generations").respond(
        200,
        json={"data": [{"b64_json": "not base64!"}, {"b64_json": base64.b64encode(png).decode()}]},
    )
    response = await generate_image_async(
        image_config(),
        ImageGenerationRequest(prompt="a fox", extra_params={"response_format": "b64_json"}),
    )
    assert response.images == [f"data:image/png;base64,{base64.b64encode(png).decode()}"]
    assert response.content_type == "image/png"


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("images", "expected"),
    [
        ([FRAME], {"image": {"url": FRAME}}),
        (
            [FRAME, "https://example.com/b.png"],
            {"images": [{"url": FRAME}, {"url": "https://example.com/b.png"}]},
        ),
    ],
)
async def test_input_images_make_a_json_edit(
    respx_mock: respx.MockRouter, images: list[str], expected: dict[str, Any]
) -> None:
    """Input images go to /images/edits as JSON: one as image.url, several as images[]."""
    edit = respx_mock.post(f"{BASE}/images/edits").respond(200, json={"data": [{"url": FRAME}]})
    await generate_image_async(
        image_config(),
        ImageGenerationRequest(
            prompt="warmer light",
            image_list=[{"image": image, "type": "reference"} for image in images],
        ),
    )
    assert sent_json(edit) == {
        "prompt": "warmer light",
        **expected,
        "model": "grok-imagine-image",
    }
    assert edit.calls.last.request.headers["content-type"] == "application/json"


@pytest.mark.anyio
async def test_a_bad_image_resolution_is_refused_before_sending(
    respx_mock: respx.MockRouter,
) -> None:
    """extra_params resolution other than 1k/2k is a ValidationError naming the field; no
    request is sent."""
    create = respx_mock.post(f"{BASE}/images/generations")
    with pytest.raises(ValidationError, match=r"extra_params\['resolution'\]"):
        await generate_image_async(
            image_config(), ImageGenerationRequest(prompt="a", extra_params={"resolution": "4k"})
        )
    assert create.call_count == 0


@pytest.mark.anyio
async def test_a_withheld_image_is_content_moderation(respx_mock: respx.MockRouter) -> None:
    """A reply whose every image failed moderation is a ContentModerationError."""
    respx_mock.post(f"{BASE}/images/generations").respond(
        200, json={"data": [{"url": "", "respect_moderation": False}]}
    )
    with pytest.raises(ContentModerationError):
        await generate_image_async(image_config(), ImageGenerationRequest(prompt="a"))


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("response", "error"),
    [
        (
            httpx.Response(
                400,
                json={
                    "code": "Client specified an invalid argument",
                    "error": "Incorrect API key provided: xa***k7. You can obtain an API key "
                    "from https://console.x.ai.",
                },
            ),
            AuthenticationError,
        ),
        (
            httpx.Response(
                400,
                json={
                    "code": "Client specified an invalid argument",
                    "error": "Generated image rejected by content moderation.",
                },
            ),
            ContentModerationError,
        ),
        (
            httpx.Response(
                422,
                text="Failed to deserialize the JSON body into the target type: unknown field "
                "`seconds`, expected one of `prompt` at line 1 column 1",
            ),
            ValidationError,
        ),
        (
            httpx.Response(
                404,
                json={
                    "code": "Some requested entity was not found",
                    "error": "The model grok-x does not exist or your team does not have "
                    "access to it.",
                },
            ),
            NotFoundError,
        ),
        (
            httpx.Response(401, json={"code": "Unauthenticated", "error": "no key"}),
            AuthenticationError,
        ),
        (
            httpx.Response(
                403,
                json={
                    "code": "The caller does not have permission to execute the specified "
                    "operation",
                    "error": "Your newly created team doesn't have any credits yet.",
                },
            ),
            InsufficientCreditError,
        ),
    ],
)
async def test_create_errors_map_to_one_class_sent_once(
    respx_mock: respx.MockRouter, response: httpx.Response, error: type[Exception]
) -> None:
    """Each refusal of a create maps to its class, is sent once, and never quotes the key."""
    create = respx_mock.post(f"{BASE}/videos/generations").mock(return_value=response)
    with pytest.raises(error) as caught:
        await generate_video_async(video_config(), VideoGenerationRequest(prompt="a cat"))
    assert type(caught.value) is error
    assert create.call_count == 1
    assert KEY not in str(caught.value) and KEY not in repr(caught.value)


@pytest.mark.anyio
async def test_a_429_on_create_is_retried(respx_mock: respx.MockRouter) -> None:
    """A 429 made nothing: the create is sent again after Retry-After."""
    create = respx_mock.post(f"{BASE}/videos/generations").mock(
        side_effect=[
            httpx.Response(
                429,
                headers={"retry-after": "0"},
                json={"code": "Some resource has been exhausted", "error": "slow down"},
            ),
            httpx.Response(200, json={"request_id": REQUEST_ID}),
        ]
    )
    respx_mock.get(f"{BASE}/videos/{REQUEST_ID}").respond(200, json=done())
    await generate_video_async(video_config(), VideoGenerationRequest(prompt="a cat"))
    assert create.call_count == 2


def test_a_429_maps_to_rate_limit() -> None:
    """parse_error turns xAI's 429 into a RateLimitError with its wait."""
    reply = httpx.Response(
        429, headers={"retry-after": "3"}, json={"code": "exhausted", "error": "slow down"}
    )
    found = client().parse_error(reply)
    assert isinstance(found, RateLimitError) and found.retry_after == 3


@pytest.mark.anyio
async def test_durations_and_resolutions_adapt_or_refuse_under_strict(
    respx_mock: respx.MockRouter,
) -> None:
    """20 s is fitted to 15 s and 4k to 1080p, each recorded; strict_parameters refuses the
    same request with a ValidationError naming the field, before anything is sent."""
    create = respx_mock.post(f"{BASE}/videos/generations").respond(
        200, json={"request_id": REQUEST_ID}
    )
    respx_mock.get(f"{BASE}/videos/{REQUEST_ID}").respond(200, json=done())
    request = VideoGenerationRequest(prompt="a cat", duration_seconds=20, resolution="4k")
    response = await generate_video_async(video_config(), request)
    sent = sent_json(create)
    assert (sent["duration"], sent["resolution"]) == (15, "1080p")
    assert len(response.execution_metadata.attempts[0].adaptations) == 2
    with pytest.raises(ValidationError, match="duration"):
        await generate_video_async(video_config(strict_parameters=True), request)
    assert create.call_count == 1


@pytest.mark.anyio
async def test_the_deprecated_pro_model_warns_naming_its_successor_and_is_sent(
    respx_mock: respx.MockRouter,
) -> None:
    """grok-imagine-image-pro warns once (ModelRetiredWarning naming
    grok-imagine-image-quality) and the request still goes out."""
    create = respx_mock.post(f"{BASE}/images/generations").respond(
        200, json={"data": [{"url": IMAGE_OUT}]}
    )
    with pytest.warns(ModelRetiredWarning, match="grok-imagine-image-quality"):
        await generate_image_async(
            image_config("grok-imagine-image-pro"), ImageGenerationRequest(prompt="a")
        )
    assert sent_json(create)["model"] == "grok-imagine-image-pro"


def test_prices_follow_xais_published_rates() -> None:
    """$0.05 per video second, $0.02 per Grok Imagine image; grok-2-image is unknown."""
    table = PriceTable()
    assert table.estimate("xai", "grok-imagine-video", {"duration_seconds": 8}) == pytest.approx(
        0.4
    )
    assert table.estimate("xai", "grok-imagine-image", {"n": 3}) == pytest.approx(0.06)
    assert table.estimate("xai", "grok-2-image", {"n": 1}) is None


_PROMPTS = st.text(min_size=1, max_size=40).filter(str.strip)


def _requestable(ratios: tuple[str, ...]) -> list[str]:
    """The ratios an ImageGenerationRequest takes as aspect_ratio (the published type lists
    fewer than xAI serves: the others go through extra_params)."""
    found = []
    for ratio in ratios:
        try:
            ImageGenerationRequest(prompt="x", aspect_ratio=ratio)  # type: ignore[arg-type]
        except PydanticValidationError:
            continue
        found.append(ratio)
    return found


@settings(max_examples=60, deadline=None)
@given(
    prompt=_PROMPTS,
    duration=st.none() | st.integers(1, 15),
    aspect=st.none() | st.sampled_from(VIDEO_ASPECT_RATIOS),
    resolution=st.none() | st.sampled_from(VIDEO_RESOLUTIONS),
    frame=st.booleans(),
    video=st.booleans(),
    extend=st.booleans(),
)
def test_every_video_payload_passes_the_emulators_contract(
    prompt: str,
    duration: int | None,
    aspect: str | None,
    resolution: str | None,
    frame: bool,
    video: bool,
    extend: bool,
) -> None:
    """Whatever the client maps (a generation, an edit, an extension), xAI's contract as
    the emulator holds it accepts it at the endpoint the client picked: the client sends
    no field, type or value xAI refuses."""
    request = VideoGenerationRequest(
        prompt=prompt,
        duration_seconds=duration,
        aspect_ratio=aspect,
        resolution=resolution,
        image_list=[{"image": FRAME, "type": "first_frame"}] if frame else [],
        video=CLIP if video else None,
        extra_params={"extend": True} if video and extend else {},
    )
    job = client().prepare_video(request)
    endpoint = f"/v1/videos/{job.operation}"  # type: ignore[attr-defined]
    assert check_body(endpoint, job.payload, contract().video_models) is None, job.payload


@settings(max_examples=60, deadline=None)
@given(
    prompt=_PROMPTS,
    model=st.sampled_from(sorted(m for m in XAI_SPECS if m != "grok-imagine-video")),
    count=st.none() | st.integers(1, 10),
    aspect=st.none() | st.sampled_from(_requestable(IMAGE_ASPECT_RATIOS)),
    resolution=st.none() | st.sampled_from(IMAGE_RESOLUTIONS),
    images=st.integers(0, 5),
)
def test_every_image_payload_passes_the_emulators_contract(
    prompt: str,
    model: str,
    count: int | None,
    aspect: str | None,
    resolution: str | None,
    images: int,
) -> None:
    """Image generations and edits as the client maps them are accepted by xAI's contract
    at the endpoint the client's submit picks."""
    request = ImageGenerationRequest(
        prompt=prompt,
        n=count,
        aspect_ratio=aspect,
        image_list=[{"image": f"{FRAME}?{index}", "type": "reference"} for index in range(images)],
        extra_params={"resolution": resolution} if resolution else {},
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ModelRetiredWarning)
        payload = client(model).prepare_image(request).payload
    endpoint = "/v1/images/edits" if images else "/v1/images/generations"
    assert check_body(endpoint, payload, contract().image_models) is None, payload
