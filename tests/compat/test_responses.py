"""Issue 7 item 5: responses, updates and execution metadata built and read as published."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from typing import Any

import pytest

T0 = datetime(2025, 1, 1, 12, 0, 0)


def _attempt(number: int, status: str, seconds: float, **fields: Any) -> Any:
    from tarash.tarash_gateway.models import AttemptMetadata

    values: dict[str, Any] = {
        "provider": "fal",
        "model": "fal-ai/veo3",
        "attempt_number": number,
        "started_at": T0 + timedelta(seconds=10 * (number - 1)),
        "ended_at": T0 + timedelta(seconds=10 * (number - 1) + seconds),
        "status": status,
        "error_type": None,
        "error_message": None,
        "is_retryable": None,
        "request_id": None,
    }
    values.update(fields)
    return AttemptMetadata(**values)


def test_video_response_takes_the_published_required_fields() -> None:
    """VideoGenerationResponse(request_id, video, status, raw_response) with is_mock False."""
    from tarash.tarash_gateway.models import VideoGenerationResponse

    response = VideoGenerationResponse(
        request_id="r1", video="https://cdn.example/v.mp4", status="completed", raw_response={}
    )
    assert response.is_mock is False
    assert (response.content_type, response.audio_url, response.duration) == (None, None, None)
    assert (response.resolution, response.aspect_ratio) == (None, None)


def test_failed_is_a_valid_response_status() -> None:
    """status="failed" is accepted on both responses, as the published Literal allows."""
    from tarash.tarash_gateway.models import ImageGenerationResponse, VideoGenerationResponse

    video = VideoGenerationResponse(
        request_id="r1", video="https://cdn.example/v.mp4", status="failed", raw_response={}
    )
    image = ImageGenerationResponse(request_id="r2", images=[], status="failed", raw_response={})
    assert (video.status, image.status) == ("failed", "failed")


def test_video_response_accepts_media_content_as_video() -> None:
    """A handler may return the video as MediaContent, as the published MediaType allows."""
    from tarash.tarash_gateway.models import VideoGenerationResponse

    media = {"content": b"\x00\x00\x00\x18ftypmp42", "content_type": "video/mp4"}
    response = VideoGenerationResponse(
        request_id="r1", video=media, status="completed", raw_response={}
    )
    assert response.video == media or response.video == media["content"]


def test_image_response_content_type_defaults_to_png() -> None:
    """ImageGenerationResponse.content_type defaults to "image/png"; is_mock to False."""
    from tarash.tarash_gateway.models import ImageGenerationResponse

    response = ImageGenerationResponse(
        request_id="r", images=["https://cdn.example/a.png"], status="completed", raw_response={}
    )
    assert response.content_type == "image/png"
    assert response.is_mock is False
    assert response.revised_prompt is None


@pytest.mark.parametrize("name", ["VideoGenerationUpdate", "ImageGenerationUpdate"])
def test_update_constructs_without_provider_or_model(name: str) -> None:
    """Updates take (request_id, status, update) only, as custom handlers build them."""
    from tarash.tarash_gateway import models

    update = getattr(models, name)(request_id="r1", status="processing", update={"step": 1})
    assert (update.request_id, update.status, update.update) == ("r1", "processing", {"step": 1})
    assert update.progress_percent is None
    assert update.result is None
    assert update.error is None


def test_update_carries_result_and_error() -> None:
    """VideoGenerationUpdate holds the final response in result and a failure in error."""
    from tarash.tarash_gateway.models import VideoGenerationResponse, VideoGenerationUpdate

    final = VideoGenerationResponse(
        request_id="r1", video="https://cdn.example/v.mp4", status="completed", raw_response={}
    )
    done = VideoGenerationUpdate(
        request_id="r1", status="completed", progress_percent=100, update={}, result=final
    )
    failed = VideoGenerationUpdate(request_id="r1", status="failed", update={}, error="boom")
    assert done.result is not None and done.result.video == "https://cdn.example/v.mp4"
    assert failed.error == "boom"


def test_update_progress_is_bounded_0_to_100() -> None:
    """progress_percent outside 0..100 is refused, as the published field says."""
    import pydantic

    from tarash.tarash_gateway.models import VideoGenerationUpdate

    half = VideoGenerationUpdate(
        request_id="r1", status="processing", progress_percent=50, update={}
    )
    assert half.progress_percent == 50
    with pytest.raises((pydantic.ValidationError, ValueError)):
        VideoGenerationUpdate(request_id="r1", status="processing", progress_percent=150, update={})


def test_attempt_elapsed_seconds_is_computed_from_the_timestamps() -> None:
    """AttemptMetadata.elapsed_seconds is ended_at - started_at (None while running)."""
    assert _attempt(1, "success", 2.5).elapsed_seconds == 2.5
    assert _attempt(1, "failed", 0, ended_at=None).elapsed_seconds is None


def test_execution_metadata_is_built_and_read_as_documented() -> None:
    """ExecutionMetadata from the published fields; attempts[successful_attempt - 1] wins."""
    from tarash.tarash_gateway.models import ExecutionMetadata

    attempts = [
        _attempt(1, "failed", 1.0, error_type="GenerationFailedError", error_message="busy"),
        _attempt(2, "success", 3.0, model="fal-ai/veo3/fast"),
    ]
    meta = ExecutionMetadata(
        total_attempts=2,
        successful_attempt=2,
        attempts=attempts,
        fallback_triggered=True,
        configs_in_chain=2,
    )
    winner = meta.attempts[meta.successful_attempt - 1]
    assert winner.model == "fal-ai/veo3/fast"
    assert winner.status == "success"
    assert meta.attempts[0].error_type == "GenerationFailedError"
    assert meta.total_elapsed_seconds == 13.0


def test_metadata_works_with_dataclasses_asdict_and_replace() -> None:
    """AttemptMetadata/ExecutionMetadata work with dataclasses.asdict and dataclasses.replace."""
    from tarash.tarash_gateway.models import ExecutionMetadata

    attempt = _attempt(1, "success", 1.0)
    meta = ExecutionMetadata(
        total_attempts=1,
        successful_attempt=1,
        attempts=[attempt],
        fallback_triggered=False,
        configs_in_chain=1,
    )
    assert dataclasses.is_dataclass(meta) and dataclasses.is_dataclass(attempt)
    as_dict = dataclasses.asdict(meta)
    assert as_dict["attempts"][0]["provider"] == "fal"
    assert as_dict["total_attempts"] == 1
    assert dataclasses.replace(attempt, status="failed").status == "failed"


def test_metadata_serialises_to_json() -> None:
    """Execution metadata on a response survives model_dump_json (a pydantic dataclass)."""
    from tarash.tarash_gateway.models import ExecutionMetadata, VideoGenerationResponse

    meta = ExecutionMetadata(
        total_attempts=1,
        successful_attempt=1,
        attempts=[_attempt(1, "success", 1.0)],
        fallback_triggered=False,
        configs_in_chain=1,
    )
    response = VideoGenerationResponse(
        request_id="r1",
        video="https://cdn.example/v.mp4",
        status="completed",
        raw_response={},
        execution_metadata=meta,
    )
    assert '"fallback_triggered":false' in response.model_dump_json()
