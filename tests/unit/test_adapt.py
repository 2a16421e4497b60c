"""Fitting requests to models: nearest values, recorded notes, strict mode, hard errors."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tarash.tarash_gateway.errors import ValidationError
from tarash.tarash_gateway.models import VideoGenerationRequest
from tarash.tarash_gateway.providers._adapt import adapt_video_request, nearest_aspect_ratio
from tarash.tarash_gateway.providers._base import ModelCapabilities

VEO = ModelCapabilities(
    kind="video",
    durations=(4, 6, 8),
    aspect_ratios=("16:9", "9:16"),
    resolutions=("720p", "1080p"),
    accepts_image=False,
)
I2V = ModelCapabilities(kind="video", durations=(5, 10), requires_image=True)


def adapt(request: VideoGenerationRequest, caps: ModelCapabilities = VEO, strict: bool = False):  # type: ignore[no-untyped-def]
    return adapt_video_request(request, caps, strict=strict, provider="p", model="m")


def test_five_seconds_on_veo_becomes_six_and_is_recorded() -> None:
    """The seed's 5 s request on a 4/6/8 s model becomes 6 s, with a note."""
    adapted, notes = adapt(VideoGenerationRequest(prompt="x", duration_seconds=5))
    assert adapted.duration_seconds == 6
    assert notes == ["duration_seconds: 5 -> 6 (m offers 4s, 6s, 8s)"]


def test_original_request_is_untouched() -> None:
    """Adaptation copies: the same request can go to a fallback with other durations."""
    request = VideoGenerationRequest(prompt="x", duration_seconds=5)
    adapt(request)
    assert request.duration_seconds == 5


def test_strict_mode_raises_instead() -> None:
    """strict_parameters turns an adaptation into a ValidationError."""
    with pytest.raises(ValidationError, match="duration_seconds=5 is not supported"):
        adapt(VideoGenerationRequest(prompt="x", duration_seconds=5), strict=True)


def test_supported_values_pass_unchanged() -> None:
    """Nothing is noted when the model supports what was asked."""
    request = VideoGenerationRequest(prompt="x", duration_seconds=8, aspect_ratio="9:16")
    adapted, notes = adapt(request, strict=True)
    assert adapted is request and notes == []


def test_aspect_ratio_and_resolution_adapt_to_nearest() -> None:
    """21:9 falls to 16:9, 4k to 1080p."""
    adapted, notes = adapt(VideoGenerationRequest(prompt="x", aspect_ratio="21:9", resolution="4k"))
    assert (adapted.aspect_ratio, adapted.resolution) == ("16:9", "1080p")
    assert len(notes) == 2


def test_image_to_video_without_image_is_an_error() -> None:
    """An image-to-video model with no image cannot be adapted."""
    with pytest.raises(ValidationError, match="image-to-video"):
        adapt(VideoGenerationRequest(prompt="x"), I2V)


def test_text_to_video_model_rejects_images() -> None:
    """A text-only model given an image says which variant to use."""
    request = VideoGenerationRequest(
        prompt="x", image_list=[{"image": "https://a/b.png", "type": "first_frame"}]
    )
    with pytest.raises(ValidationError, match="text-to-video"):
        adapt(request)


def test_nearest_aspect_ratio_ignores_auto() -> None:
    """'auto' is never chosen as the nearest concrete shape."""
    assert nearest_aspect_ratio("4:3", ["auto", "16:9", "1:1"]) == "1:1"


@given(st.integers(min_value=1, max_value=600))
def test_any_duration_lands_on_a_supported_one(seconds: int) -> None:
    """Whatever the duration asked, the adapted one is offered by the model."""
    adapted, _ = adapt(VideoGenerationRequest(prompt="x", duration_seconds=seconds))
    assert adapted.duration_seconds in (4, 6, 8)
    assert adapted.duration_seconds is not None
    nearest = min(abs(d - seconds) for d in (4, 6, 8))
    assert abs(adapted.duration_seconds - seconds) == nearest
