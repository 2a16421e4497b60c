"""Issue 7 item 6: the published mock provider guide, run offline with no key."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import respx

CLIP = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00" * 16
CLIP_DATA_URI = "data:video/mp4;base64," + base64.b64encode(CLIP).decode()


def _video_config(mock: Any, **kwargs: Any) -> Any:
    from tarash.tarash_gateway.models import VideoGenerationConfig

    return VideoGenerationConfig(provider="fal", model="fal-ai/veo3", mock=mock, **kwargs)


def _request(**kwargs: Any) -> Any:
    from tarash.tarash_gateway.models import VideoGenerationRequest

    return VideoGenerationRequest(prompt="a cat playing piano", **kwargs)


def _polling(**kwargs: Any) -> Any:
    from tarash.tarash_gateway.mock import MockPollingConfig

    return MockPollingConfig(delay_between_updates=0, **kwargs)


def test_mock_polling_config_has_the_published_defaults() -> None:
    """MockPollingConfig(): enabled, queued/processing/completed, 0.5 s apart, no extras."""
    from tarash.tarash_gateway.mock import MockPollingConfig

    polling = MockPollingConfig()
    assert polling.enabled is True
    assert list(polling.status_sequence) == ["queued", "processing", "completed"]
    assert polling.delay_between_updates == 0.5
    assert (polling.progress_percentages, polling.custom_updates) == (None, None)


def test_mock_polling_lists_must_match_the_status_sequence() -> None:
    """progress_percentages/custom_updates of another length than status_sequence are refused."""
    import pydantic

    from tarash.tarash_gateway.mock import MockPollingConfig

    with pytest.raises((pydantic.ValidationError, ValueError)):
        MockPollingConfig(progress_percentages=[0, 100])
    with pytest.raises((pydantic.ValidationError, ValueError)):
        MockPollingConfig(custom_updates=[{"a": 1}])


def test_mock_response_has_the_published_defaults_and_checks() -> None:
    """MockResponse: weight 1.0, output_video_type "url"; bad weights and mixes refused."""
    import pydantic

    from tarash.tarash_gateway import GenerationFailedError
    from tarash.tarash_gateway.mock import MockResponse

    response = MockResponse()
    assert response.weight == 1.0
    assert (response.mock_response, response.output_video, response.error) == (None, None, None)
    assert response.output_video_type == "url"
    with pytest.raises((pydantic.ValidationError, ValueError)):
        MockResponse(weight=0)
    with pytest.raises((pydantic.ValidationError, ValueError)):
        MockResponse(output_video="https://example.com/v.mp4", error=GenerationFailedError("x"))


def test_mock_config_requires_enabled() -> None:
    """MockConfig.enabled is required; responses and polling are optional."""
    import pydantic

    from tarash.tarash_gateway.mock import MockConfig

    with pytest.raises(pydantic.ValidationError):
        MockConfig()
    assert MockConfig(enabled=True).polling is None


def test_mock_generates_a_video_with_no_key_and_no_network(no_http: respx.MockRouter) -> None:
    """mock=MockConfig(enabled=True): a response with is_mock True, no key, no HTTP."""
    from tarash.tarash_gateway import generate_video
    from tarash.tarash_gateway.mock import MockConfig

    response = generate_video(_video_config(MockConfig(enabled=True)), _request())

    assert response.is_mock is True
    assert response.status == "completed"
    assert response.video
    assert no_http.calls.call_count == 0


@pytest.mark.anyio
async def test_mock_generates_asynchronously_too(no_http: respx.MockRouter) -> None:
    """generate_video_async with a mock config returns a mock response."""
    from tarash.tarash_gateway import generate_video_async
    from tarash.tarash_gateway.mock import MockConfig

    response = await generate_video_async(_video_config(MockConfig(enabled=True)), _request())
    assert response.is_mock is True
    assert no_http.calls.call_count == 0


def test_mock_response_carries_execution_metadata() -> None:
    """A mock run records one successful attempt for the configured provider and model."""
    from tarash.tarash_gateway import generate_video
    from tarash.tarash_gateway.mock import MockConfig

    response = generate_video(_video_config(MockConfig(enabled=True)), _request())
    meta = response.execution_metadata
    assert meta is not None
    assert (meta.total_attempts, meta.successful_attempt, meta.fallback_triggered) == (1, 1, False)
    assert (meta.attempts[0].provider, meta.attempts[0].model) == ("fal", "fal-ai/veo3")
    assert meta.attempts[0].status == "success"


def test_mock_sample_matches_the_request() -> None:
    """With no output set, the sample video matches the request's aspect ratio and resolution."""
    from tarash.tarash_gateway import generate_video
    from tarash.tarash_gateway.mock import MockConfig

    request = _request(aspect_ratio="16:9", resolution="1080p", duration_seconds=4)
    response = generate_video(_video_config(MockConfig(enabled=True)), request)
    assert (response.aspect_ratio, response.resolution) == ("16:9", "1080p")


def test_mock_save_writes_a_playable_file_offline(
    tmp_path: Path, no_http: respx.MockRouter
) -> None:
    """save() on a mock response writes an MP4 (an ftyp box) without any network."""
    from tarash.tarash_gateway import generate_video
    from tarash.tarash_gateway.mock import MockConfig

    response = generate_video(_video_config(MockConfig(enabled=True)), _request())
    saved = response.save(tmp_path / "mock.mp4")

    data = Path(saved).read_bytes()
    assert len(data) > 32
    assert data[4:8] == b"ftyp"
    assert no_http.calls.call_count == 0


def test_mock_polling_reports_each_status_in_order() -> None:
    """With polling set, on_progress sees queued, processing, completed, the last with result."""
    from tarash.tarash_gateway import generate_video
    from tarash.tarash_gateway.mock import MockConfig

    updates: list[Any] = []
    config = _video_config(MockConfig(enabled=True, polling=_polling()))
    generate_video(config, _request(), on_progress=updates.append)

    assert [update.status for update in updates] == ["queued", "processing", "completed"]
    assert updates[-1].result is not None


def test_mock_polling_passes_progress_and_custom_updates() -> None:
    """progress_percentages and custom_updates reach each update, step by step."""
    from tarash.tarash_gateway import generate_video
    from tarash.tarash_gateway.mock import MockConfig

    custom = [{"step": "a"}, {"step": "b"}, {"step": "c"}]
    polling = _polling(progress_percentages=[5, 55, 100], custom_updates=custom)
    updates: list[Any] = []
    generate_video(
        _video_config(MockConfig(enabled=True, polling=polling)),
        _request(),
        on_progress=updates.append,
    )

    assert [update.progress_percent for update in updates] == [5, 55, 100]
    for update, extra in zip(updates, custom, strict=True):
        assert extra.items() <= update.update.items()


def test_mock_without_polling_makes_no_progress_calls() -> None:
    """polling=None (the default) means on_progress is never called."""
    from tarash.tarash_gateway import generate_video
    from tarash.tarash_gateway.mock import MockConfig

    updates: list[Any] = []
    generate_video(_video_config(MockConfig(enabled=True)), _request(), on_progress=updates.append)
    assert updates == []


def test_mock_error_is_raised_as_given() -> None:
    """MockResponse(error=...) raises that error (same class and message)."""
    from tarash.tarash_gateway import ContentModerationError, generate_video
    from tarash.tarash_gateway.mock import MockConfig, MockResponse

    mock = MockConfig(
        enabled=True, responses=[MockResponse(error=ContentModerationError("refused prompt"))]
    )
    with pytest.raises(ContentModerationError) as info:
        generate_video(_video_config(mock), _request())
    assert info.value.message == "refused prompt"


def test_mock_error_with_polling_ends_with_a_failed_update() -> None:
    """A mock error with polling reports a last update with status failed and the error."""
    from tarash.tarash_gateway import GenerationFailedError, generate_video
    from tarash.tarash_gateway.mock import MockConfig, MockResponse

    mock = MockConfig(
        enabled=True,
        responses=[MockResponse(error=GenerationFailedError("gpu fell over"))],
        polling=_polling(),
    )
    updates: list[Any] = []
    with pytest.raises(GenerationFailedError):
        generate_video(_video_config(mock), _request(), on_progress=updates.append)
    assert updates[-1].status == "failed"
    assert "gpu fell over" in (updates[-1].error or "")


def test_failing_mock_primary_falls_back_to_a_succeeding_mock() -> None:
    """A GenerationFailedError mock primary + a mock fallback: fallback_triggered, attempt 2."""
    from tarash.tarash_gateway import GenerationFailedError, generate_video
    from tarash.tarash_gateway.mock import MockConfig, MockResponse
    from tarash.tarash_gateway.models import VideoGenerationConfig

    fallback = VideoGenerationConfig(
        provider="replicate", model="google/veo-3", mock=MockConfig(enabled=True)
    )
    failing = MockConfig(enabled=True, responses=[MockResponse(error=GenerationFailedError("x"))])
    response = generate_video(_video_config(failing, fallback_configs=[fallback]), _request())

    meta = response.execution_metadata
    assert meta is not None
    assert response.is_mock is True
    assert (meta.fallback_triggered, meta.total_attempts, meta.successful_attempt) == (True, 2, 2)
    assert meta.attempts[0].status == "failed"
    assert meta.attempts[0].error_type == "GenerationFailedError"
    assert meta.attempts[1].provider == "replicate"


def test_non_retryable_mock_error_does_not_fall_back() -> None:
    """A ValidationError mock primary raises at once; the fallback mock is never tried."""
    from tarash.tarash_gateway import ValidationError, generate_video
    from tarash.tarash_gateway.mock import MockConfig, MockResponse
    from tarash.tarash_gateway.models import VideoGenerationConfig

    fallback = VideoGenerationConfig(
        provider="replicate", model="google/veo-3", mock=MockConfig(enabled=True)
    )
    failing = MockConfig(enabled=True, responses=[MockResponse(error=ValidationError("bad"))])
    with pytest.raises(ValidationError) as info:
        generate_video(_video_config(failing, fallback_configs=[fallback]), _request())
    assert info.value.execution_metadata is not None
    assert info.value.execution_metadata.total_attempts == 1


def test_weighted_responses_pick_each_outcome() -> None:
    """Two equally weighted responses (success, error): over 40 runs both outcomes occur."""
    from tarash.tarash_gateway import GenerationFailedError, generate_video
    from tarash.tarash_gateway.mock import MockConfig, MockResponse

    mock = MockConfig(
        enabled=True,
        responses=[
            MockResponse(weight=1.0, output_video="https://example.com/ok.mp4"),
            MockResponse(weight=1.0, error=GenerationFailedError("unlucky")),
        ],
    )
    outcomes = set()
    for _ in range(40):
        try:
            generate_video(_video_config(mock), _request())
            outcomes.add("success")
        except GenerationFailedError:
            outcomes.add("error")
    assert outcomes == {"success", "error"}


def test_output_video_url_is_returned_as_given() -> None:
    """MockResponse(output_video=url) returns that URL as the video."""
    from tarash.tarash_gateway import generate_video
    from tarash.tarash_gateway.mock import MockConfig, MockResponse

    mock = MockConfig(
        enabled=True, responses=[MockResponse(output_video="https://example.com/mine.mp4")]
    )
    response = generate_video(_video_config(mock), _request())
    assert str(response.video) == "https://example.com/mine.mp4"
    assert response.is_mock is True


def test_output_video_type_content_returns_the_bytes() -> None:
    """output_video_type="content" returns the video's bytes (from a data URI here)."""
    from tarash.tarash_gateway import generate_video
    from tarash.tarash_gateway.mock import MockConfig, MockResponse

    mock = MockConfig(
        enabled=True,
        responses=[MockResponse(output_video=CLIP_DATA_URI, output_video_type="content")],
    )
    video = generate_video(_video_config(mock), _request()).video
    content = video["content"] if isinstance(video, dict) else video
    assert content == CLIP


def test_mock_response_is_returned_with_new_request_id() -> None:
    """MockResponse(mock_response=...) comes back as given, request_id and is_mock rewritten."""
    from tarash.tarash_gateway import generate_video
    from tarash.tarash_gateway.mock import MockConfig, MockResponse
    from tarash.tarash_gateway.models import VideoGenerationResponse

    canned = VideoGenerationResponse(
        request_id="canned",
        video="https://example.com/canned.mp4",
        content_type="video/mp4",
        duration=8.0,
        status="completed",
        raw_response={"canned": True},
    )
    mock = MockConfig(enabled=True, responses=[MockResponse(mock_response=canned)])
    response = generate_video(_video_config(mock), _request())

    assert str(response.video) == "https://example.com/canned.mp4"
    assert response.duration == 8.0
    assert response.request_id != "canned"
    assert response.is_mock is True


def test_mock_generates_images_too(tmp_path: Path, no_http: respx.MockRouter) -> None:
    """An image config with a mock returns mock images, saved offline."""
    from tarash.tarash_gateway import generate_image
    from tarash.tarash_gateway.mock import MockConfig
    from tarash.tarash_gateway.models import ImageGenerationConfig, ImageGenerationRequest

    config = ImageGenerationConfig(
        provider="fal", model="fal-ai/flux/dev", mock=MockConfig(enabled=True)
    )
    response = generate_image(config, ImageGenerationRequest(prompt="a cat"))

    assert response.is_mock is True
    assert len(response.images) >= 1
    data = Path(response.save(tmp_path / "mock.png")).read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" or data[:3] == b"\xff\xd8\xff"
    assert no_http.calls.call_count == 0


def test_mock_works_on_the_bare_install(tmp_path: Path) -> None:
    """A mock run imports neither the emulator nor its extras (starlette, uvicorn)."""
    script = (
        "import sys\n"
        "from tarash.tarash_gateway import generate_video\n"
        "from tarash.tarash_gateway.mock import MockConfig\n"
        "from tarash.tarash_gateway.models import VideoGenerationConfig, VideoGenerationRequest\n"
        "config = VideoGenerationConfig(provider='fal', model='fal-ai/veo3',"
        " mock=MockConfig(enabled=True))\n"
        "response = generate_video(config, VideoGenerationRequest(prompt='a cat'))\n"
        f"response.save({str(tmp_path / 'bare.mp4')!r})\n"
        "loaded = sorted(m for m in ('tarash.emulator', 'starlette', 'uvicorn')"
        " if m in sys.modules)\n"
        "print(loaded)\n"
    )
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.endswith(("_KEY", "_TOKEN", "_SECRET"))
    }
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=60
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "[]"
    assert (tmp_path / "bare.mp4").stat().st_size > 0


def test_mock_module_helpers_behave_as_published() -> None:
    """generate_mock_request_id has the mock_ prefix; select_mock_response picks from the pool."""
    from tarash.tarash_gateway.mock import (
        MockResponse,
        generate_mock_request_id,
        select_mock_response,
    )

    assert generate_mock_request_id().startswith("mock_")
    only = MockResponse(output_video="https://example.com/v.mp4")
    assert select_mock_response([only]) is only
