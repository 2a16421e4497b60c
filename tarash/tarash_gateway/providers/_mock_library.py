"""The mock's sample library and its picks: the sample video that best matches a request,
the weighted outcome a request gets, and a mock job's request id.

Published in :mod:`tarash.tarash_gateway.mock`; here, in the providers room beside the mock
client (:mod:`tarash.tarash_gateway.providers.mock`), beneath both, so that each imports it
and neither imports the other back.
"""

from __future__ import annotations

import base64
import functools
import random
import uuid
from dataclasses import dataclass, field

from tarash.tarash_gateway._sample_media import MP4_CONTENT_TYPE, make_mp4
from tarash.tarash_gateway.errors import ValidationError
from tarash.tarash_gateway.models import (
    AspectRatio,
    MockResponse,
    Resolution,
    VideoGenerationRequest,
)

__all__ = [
    "MockVideoSpec",
    "best_matching_spec",
    "find_best_matching_video",
    "generate_mock_request_id",
    "select_mock_response",
]


# ---------------------------------------------------------------------------------------
# The sample library
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MockVideoSpec:
    """One sample video of :data:`MOCK_VIDEO_LIBRARY`.

    Attributes:
        aspect_ratio: The aspect ratio the sample stands for.
        resolution: The resolution it stands for.
        duration: Its length in seconds (the file lasts as long, at 1 frame a second).
        url: The file, a tiny H.264 MP4 as a ``data:`` URI: ``save()`` writes it offline.
            Its pixels are a few macroblocks of about that shape, not the resolution named.
    """

    aspect_ratio: AspectRatio
    resolution: Resolution
    duration: float
    url: str = field(repr=False)


# The published library's ten entries (aspect ratio, resolution, seconds).
_LIBRARY_LAYOUT: tuple[tuple[AspectRatio, Resolution, float], ...] = (
    ("9:16", "720p", 4.0),
    ("9:16", "1080p", 4.0),
    ("9:16", "720p", 8.0),
    ("16:9", "720p", 4.0),
    ("16:9", "1080p", 4.0),
    ("16:9", "4k", 8.0),
    ("1:1", "720p", 4.0),
    ("1:1", "1080p", 4.0),
    ("4:3", "480p", 4.0),
    ("21:9", "1080p", 4.0),
)

# Pixel sizes in whole 16-pixel macroblocks (the MP4 builder writes no cropping), as near
# the aspect ratio as a handful of blocks gets; the files stay a few kilobytes.
_CLIP_SIZES: dict[str, tuple[int, int]] = {
    "16:9": (64, 32),
    "9:16": (32, 64),
    "1:1": (32, 32),
    "4:3": (64, 48),
    "3:4": (48, 64),
    "3:2": (48, 32),
    "2:3": (32, 48),
    "21:9": (80, 32),
    "9:21": (32, 80),
}


@functools.cache
def _clip(aspect_ratio: str, seconds: int) -> bytes:
    width, height = _CLIP_SIZES.get(aspect_ratio, (32, 32))
    return make_mp4(width, height, fps=1, frames=max(1, min(seconds, 60)))


def _data_uri(data: bytes, content_type: str) -> str:
    return f"data:{content_type};base64,{base64.b64encode(data).decode('ascii')}"


@functools.cache
def _library() -> list[MockVideoSpec]:
    # Built on first use, not at import: this module is imported with the package.
    return [
        MockVideoSpec(
            aspect,
            resolution,
            seconds,
            _data_uri(_clip(aspect, round(seconds)), MP4_CONTENT_TYPE),
        )
        for aspect, resolution, seconds in _LIBRARY_LAYOUT
    ]


# Ranks on the published scale (360p, 480p, 720p, 1080p, 4k), ours placed in between, so
# that a published resolution scores exactly as it did there.
_RESOLUTION_RANK: dict[str, float] = {
    "360p": 0,
    "480p": 1,
    "540p": 1.5,
    "580p": 1.5,
    "720p": 2,
    "1080p": 3,
    "1440p": 3.5,
    "2k": 3.5,
    "4k": 4,
}


def _match_score(spec: MockVideoSpec, aspect_ratio: str, resolution: str, seconds: float) -> float:
    score = 0.4 if spec.aspect_ratio == aspect_ratio else 0.0
    distance = abs(_RESOLUTION_RANK.get(resolution, 2) - _RESOLUTION_RANK.get(spec.resolution, 2))
    score += max(0.0, 0.3 - 0.15 * distance)
    score += max(0.0, 0.3 - 0.05 * abs(seconds - spec.duration))
    return score


def best_matching_spec(
    aspect_ratio: str | None, resolution: str | None, duration_seconds: float | None
) -> MockVideoSpec:
    """The library video closest to an aspect ratio, resolution and duration.

    Scored as published: 0.4 for the aspect ratio, up to 0.3 for the resolution and up to
    0.3 for the duration; missing values count as 9:16, 720p and 4 s; the first best wins.
    """
    aspect = aspect_ratio or "9:16"
    wanted = resolution or "720p"
    seconds = float(duration_seconds or 4)
    library = _library()
    return max(library, key=lambda spec: _match_score(spec, aspect, wanted, seconds))


def find_best_matching_video(request: VideoGenerationRequest) -> MockVideoSpec:
    """Return the :data:`MOCK_VIDEO_LIBRARY` video that best matches a request.

    Args:
        request: Its aspect ratio, resolution and duration are compared.

    Returns:
        The best match (see :func:`best_matching_spec` for the scoring).
    """
    return best_matching_spec(request.aspect_ratio, request.resolution, request.duration_seconds)


# ---------------------------------------------------------------------------------------
# Outcomes and request ids
# ---------------------------------------------------------------------------------------


def generate_mock_request_id() -> str:
    """Return a new request id for a mock job: ``mock_`` and a UUID4."""
    return f"mock_{uuid.uuid4()}"


def select_mock_response(responses: list[MockResponse]) -> MockResponse:
    """Pick one response, each with a chance proportional to its weight.

    Uses the :mod:`random` module, so ``random.seed`` makes a run repeatable.

    Raises:
        ValidationError: ``responses`` is empty.
    """
    if not responses:
        raise ValidationError("the mock has no responses to choose from", fallback_allowed=False)
    return random.choices(responses, weights=[response.weight for response in responses])[0]


# Their published module, where users import them from (and where a pickle finds them).
for _published in (
    MockVideoSpec,
    find_best_matching_video,
    generate_mock_request_id,
    select_mock_response,
):
    _published.__module__ = "tarash.tarash_gateway.mock"
del _published
