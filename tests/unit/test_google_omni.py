"""Gemini Omni Flash on the Interactions API (respx): the request, the interaction's status
mapping, the inline video as MediaContent, and what is refused before anything is sent."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import respx

from tarash.tarash_gateway import (
    JobHandle,
    generate_video_async,
    submit_video_async,
    wait_async,
)
from tarash.tarash_gateway._sample_media import make_png
from tarash.tarash_gateway.errors import (
    GenerationFailedError,
    ProviderServerError,
    TarashException,
    ValidationError,
)
from tarash.tarash_gateway.models import VideoGenerationConfig, VideoGenerationRequest
from tarash.tarash_gateway.providers import _lifecycle
from tarash.tarash_gateway.providers.google_models import OMNI_FLASH, find_model

BASE = "https://gemini.test/v1beta"
KEY = "AIza-canary-0123456789abcdef"
ID = "v1_omni0123"
MP4 = b"\x00\x00\x00\x18ftypmp42-omni-video"
PNG = make_png(64, 36)
PNG_URI = f"data:image/png;base64,{base64.b64encode(PNG).decode()}"


@pytest.fixture(autouse=True)
def _hermetic(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("GEMINI_API_KEY", "GOOGLE_API_KEY", "TARASH_GOOGLE_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    _lifecycle._warned.clear()
    yield
    _lifecycle._warned.clear()


def config(**kwargs: Any) -> VideoGenerationConfig:
    fields: dict[str, Any] = {
        "provider": "google",
        "model": OMNI_FLASH,
        "api_key": KEY,
        "base_url": BASE,
        "poll_interval": 0.01,
        **kwargs,
    }
    return VideoGenerationConfig(**fields)


def interaction(status: str, **extra: Any) -> dict[str, Any]:
    return {"id": ID, "object": "interaction", "model": OMNI_FLASH, "status": status, **extra}


def completed(data: bytes = MP4) -> dict[str, Any]:
    video = {"type": "video", "mime_type": "video/mp4", "data": base64.b64encode(data).decode()}
    return interaction(
        "completed",
        usage={"output_tokens_by_modality": [{"modality": "video", "tokens": 57920}]},
        steps=[
            {"type": "user_input", "content": [{"type": "text", "text": "a cat"}]},
            {"type": "thought", "signature": "sig"},
            {"type": "model_output", "content": [video]},
        ],
    )


def sent_json(route: respx.Route) -> Any:
    return json.loads(route.calls.last.request.content)


def test_the_model_is_registered_with_its_limits() -> None:
    """3-10 s, 720p, 16:9 or 9:16, one video, served by the Interactions API."""
    entry = find_model(OMNI_FLASH)
    assert entry is not None
    assert entry.method == "interactions"
    capabilities = entry.spec.capabilities
    assert capabilities.durations == tuple(range(3, 11))
    assert capabilities.aspect_ratios == ("16:9", "9:16")
    assert capabilities.resolutions == ("720p",)


@pytest.mark.anyio
async def test_text_to_video_creates_a_background_interaction_and_returns_the_bytes(
    respx_mock: respx.MockRouter,
) -> None:
    """POST /interactions takes the prompt as input, a video modality, in the background;
    GET /interactions/{id} is polled until completed; the video is MediaContent."""
    start = respx_mock.post(f"{BASE}/interactions").respond(200, json=interaction("in_progress"))
    poll = respx_mock.get(f"{BASE}/interactions/{ID}").mock(
        side_effect=[
            httpx.Response(200, json=interaction("in_progress")),
            httpx.Response(200, json=completed()),
        ]
    )
    response = await generate_video_async(
        config(), VideoGenerationRequest(prompt="a cat", duration_seconds=8)
    )
    assert start.calls.last.request.headers["x-goog-api-key"] == KEY
    assert sent_json(start) == {
        "model": OMNI_FLASH,
        "input": "a cat",
        "response_modalities": ["video"],
        "background": True,
    }
    assert poll.call_count == 2
    assert response.video == {"content": MP4, "content_type": "video/mp4"}
    assert response.request_id == ID
    # The raw reply keeps a note in place of the base64 (one copy in memory).
    raw = json.dumps(response.raw_response)
    assert base64.b64encode(MP4).decode() not in raw
    assert "base64 chars: the video" in raw
    # No duration field is documented for Omni: noted as not sent.
    attempt = response.execution_metadata.attempts[0]
    assert any("duration" in note for note in attempt.adaptations)


@pytest.mark.anyio
async def test_images_go_inline_as_structured_content_with_extra_params(
    respx_mock: respx.MockRouter,
) -> None:
    """A first frame becomes structured input (text, then the image inline); an extra
    parameter such as previous_interaction_id is sent as given."""
    start = respx_mock.post(f"{BASE}/interactions").respond(200, json=interaction("in_progress"))
    respx_mock.get(f"{BASE}/interactions/{ID}").respond(200, json=completed())
    await generate_video_async(
        config(),
        VideoGenerationRequest(
            prompt="make it rain",
            image_list=[{"image": PNG_URI, "type": "first_frame"}],
            extra_params={"previous_interaction_id": "v1_earlier"},
        ),
    )
    body = sent_json(start)
    assert body["input"] == [
        {"type": "text", "text": "make it rain"},
        {"type": "image", "data": base64.b64encode(PNG).decode(), "mime_type": "image/png"},
    ]
    assert body["previous_interaction_id"] == "v1_earlier"
    assert body["background"] is True


@pytest.mark.anyio
@pytest.mark.parametrize("status", ["failed", "incomplete", "requires_action"])
async def test_a_failed_interaction_is_a_generation_failure(
    respx_mock: respx.MockRouter, status: str
) -> None:
    """failed/incomplete (and requires_action: tarash sends no tools to answer it) end the
    job with the reply's message."""
    respx_mock.post(f"{BASE}/interactions").respond(200, json=interaction("in_progress"))
    respx_mock.get(f"{BASE}/interactions/{ID}").respond(
        200, json=interaction(status, error={"message": "the scene was refused"})
    )
    with pytest.raises(GenerationFailedError, match="the scene was refused") as caught:
        await generate_video_async(config(), VideoGenerationRequest(prompt="a cat"))
    assert caught.value.request_id == ID


@pytest.mark.anyio
async def test_a_completed_interaction_without_a_video_fails(
    respx_mock: respx.MockRouter,
) -> None:
    """completed with only text steps is a failure, not an empty result."""
    respx_mock.post(f"{BASE}/interactions").respond(200, json=interaction("in_progress"))
    respx_mock.get(f"{BASE}/interactions/{ID}").respond(
        200,
        json=interaction(
            "completed",
            steps=[{"type": "model_output", "content": [{"type": "text", "text": "no"}]}],
        ),
    )
    with pytest.raises(GenerationFailedError, match="no video"):
        await generate_video_async(config(), VideoGenerationRequest(prompt="a cat"))


@pytest.mark.anyio
async def test_an_unknown_status_is_an_error_not_a_wait(respx_mock: respx.MockRouter) -> None:
    """A status the Interactions API does not document is not taken for 'running'."""
    respx_mock.post(f"{BASE}/interactions").respond(200, json=interaction("in_progress"))
    respx_mock.get(f"{BASE}/interactions/{ID}").respond(200, json=interaction("dreaming"))
    with pytest.raises(ProviderServerError, match="dreaming"):
        await generate_video_async(config(), VideoGenerationRequest(prompt="a cat"))


@pytest.mark.anyio
async def test_a_url_image_and_vertex_are_refused_before_sending(
    respx_mock: respx.MockRouter,
) -> None:
    """The Gemini API takes images inline only; Omni is sent to the Gemini API only."""
    route = respx_mock.post(f"{BASE}/interactions")
    with pytest.raises(ValidationError, match="inline"):
        await generate_video_async(
            config(),
            VideoGenerationRequest(
                prompt="a cat",
                image_list=[{"image": "https://example.test/a.png", "type": "first_frame"}],
            ),
        )
    with pytest.raises(ValidationError, match="Interactions API"):
        await generate_video_async(
            config(provider_config={"vertexai": True, "project": "p", "location": "us-central1"}),
            VideoGenerationRequest(prompt="a cat"),
        )
    assert route.call_count == 0


@pytest.mark.anyio
async def test_a_cancelled_interaction_ends_the_wait(respx_mock: respx.MockRouter) -> None:
    """cancelled (by someone else) is an end: an error, not a wait to the deadline."""
    respx_mock.post(f"{BASE}/interactions").respond(200, json=interaction("in_progress"))
    poll = respx_mock.get(f"{BASE}/interactions/{ID}").respond(200, json=interaction("cancelled"))
    with pytest.raises(TarashException, match="cancel") as caught:
        await generate_video_async(config(), VideoGenerationRequest(prompt="a cat"))
    assert caught.value.request_id == ID
    assert poll.call_count == 1


@pytest.mark.anyio
async def test_a_handle_resumes_from_its_json_and_reads_the_interaction(
    respx_mock: respx.MockRouter,
) -> None:
    """A submitted interaction's handle, serialized and read back (another process), is
    waited on at /interactions/{id}: the same video, no second submit."""
    start = respx_mock.post(f"{BASE}/interactions").respond(200, json=interaction("in_progress"))
    respx_mock.get(f"{BASE}/interactions/{ID}").respond(200, json=completed())
    handle = await submit_video_async(config(), VideoGenerationRequest(prompt="a cat"))
    resumed = JobHandle.model_validate_json(handle.model_dump_json())
    response = await wait_async(resumed, config=config())
    assert response.video == {"content": MP4, "content_type": "video/mp4"}
    assert start.call_count == 1
