"""The mock provider: generations that cost nothing, need no key and touch no network.

Set ``mock=MockConfig(enabled=True)`` on a config and everything runs as usual (the fallback
chain, progress updates, execution metadata, handles, ``save()``) with a mock client behind
the provider protocol in place of the real provider's
(:mod:`tarash.tarash_gateway.providers.mock`). Names, fields and defaults are those of the
published tarash-gateway package. Unlike it, the sample media are made here (a real MP4 or
PNG, as a ``data:`` URI), so ``save()`` writes a playable file offline, and image and audio
configs are mocked too (audio: a WAV tone, or raw PCM when ``pcm`` is asked for).

Example:
    >>> from tarash.tarash_gateway.mock import MockConfig, MockPollingConfig
    >>> from tarash.tarash_gateway.models import VideoGenerationConfig
    >>> config = VideoGenerationConfig(
    ...     provider="fal",
    ...     model="fal-ai/veo3",
    ...     mock=MockConfig(enabled=True, polling=MockPollingConfig(delay_between_updates=0.1)),
    ... )
"""

from __future__ import annotations

import base64
import functools
import random
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from tarash.tarash_gateway._sample_media import MP4_CONTENT_TYPE, make_mp4
from tarash.tarash_gateway.errors import ValidationError
from tarash.tarash_gateway.models import (
    AspectRatio,
    ImageGenerationRequest,
    ImageGenerationResponse,
    MockConfig,
    MockPollingConfig,
    MockResponse,
    ProgressCallback,
    Resolution,
    VideoGenerationRequest,
    VideoGenerationResponse,
)

if TYPE_CHECKING:
    # Runtime imports would be circular: the models import this module, and the audio
    # models are built on it.
    from tarash.tarash_gateway.models import (
        AudioGenerationConfig,
        ImageGenerationConfig,
        STSProgressCallback,
        STSRequest,
        STSResponse,
        TTSProgressCallback,
        TTSRequest,
        TTSResponse,
        VideoGenerationConfig,
    )

__all__ = [
    "MOCK_VIDEO_LIBRARY",
    "MockConfig",
    "MockPollingConfig",
    "MockProviderHandler",
    "MockResponse",
    "MockVideoSpec",
    "find_best_matching_video",
    "generate_mock_request_id",
    "handle_mock_request_async",
    "handle_mock_request_sync",
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
    # Built on first use, not at import: this module is imported with the models.
    return [
        MockVideoSpec(
            aspect,
            resolution,
            seconds,
            _data_uri(_clip(aspect, round(seconds)), MP4_CONTENT_TYPE),
        )
        for aspect, resolution, seconds in _LIBRARY_LAYOUT
    ]


if TYPE_CHECKING:
    MOCK_VIDEO_LIBRARY: list[MockVideoSpec]
    """The sample videos a mock picks from when no output is set (the published ten)."""


def __getattr__(name: str) -> Any:
    if name == "MOCK_VIDEO_LIBRARY":
        return _library()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
# Helpers of the published module
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


async def handle_mock_request_async(
    mock_config: MockConfig,
    request: VideoGenerationRequest | ImageGenerationRequest | TTSRequest | STSRequest,
    on_progress: ProgressCallback | None = None,
) -> VideoGenerationResponse | ImageGenerationResponse | TTSResponse | STSResponse:
    """Run one mock request outside any config: pick a response, report updates, answer.

    It goes through the same submit, wait and result path as ``generate_*`` (with no
    fallback chain and no execution metadata).

    Args:
        mock_config: The responses and polling to simulate.
        request: A video request (answered with a video), an image request, or (ours
            only) a TTS or STS request (answered with audio).
        on_progress: Called with each simulated update; sync or async.

    Returns:
        The response, with ``is_mock=True``.

    Raises:
        TarashException: The picked response's error.
    """
    from tarash.tarash_gateway.models import STSRequest, TTSRequest
    from tarash.tarash_gateway.providers.mock import run_mock_audio, run_mock_request

    if isinstance(request, TTSRequest | STSRequest):
        return await run_mock_audio(mock_config, request, on_progress)
    return await run_mock_request(mock_config, request, on_progress)


def handle_mock_request_sync(
    mock_config: MockConfig,
    request: VideoGenerationRequest | ImageGenerationRequest | TTSRequest | STSRequest,
    on_progress: ProgressCallback | None = None,
) -> VideoGenerationResponse | ImageGenerationResponse | TTSResponse | STSResponse:
    """Sync twin of :func:`handle_mock_request_async`."""
    from tarash.tarash_gateway._sync import run_sync

    return run_sync(handle_mock_request_async, mock_config, request, on_progress)


def _enabled_mock(
    config: VideoGenerationConfig | ImageGenerationConfig | AudioGenerationConfig,
) -> MockConfig:
    if config.mock is None or not config.mock.enabled:
        raise ValidationError(
            "MockProviderHandler needs a config with mock=MockConfig(enabled=True)",
            provider=config.provider,
            model=config.model,
            fallback_allowed=False,
        )
    return config.mock


class MockProviderHandler:
    """The mock as a published-style provider handler (one attempt, no fallback chain).

    ``generate_*`` with a mock config does not need it: the config alone selects the mock.
    Unlike the published handler it also generates images and speech (the audio methods
    are what ``generate_tts``/``generate_sts`` run for a mocked config).
    """

    async def generate_video_async(
        self,
        config: VideoGenerationConfig,
        request: VideoGenerationRequest,
        on_progress: ProgressCallback | None = None,
    ) -> VideoGenerationResponse:
        """Generate a mock video for ``config`` (whose ``mock`` must be enabled).

        Raises:
            ValidationError: ``config.mock`` is not enabled.
            TarashException: The picked response's error.
        """
        from tarash.tarash_gateway.providers.mock import run_mock_request

        mock = _enabled_mock(config)
        response = await run_mock_request(
            mock, request, on_progress, provider=config.provider, model=config.model
        )
        # A video request is answered with a video.
        return cast("VideoGenerationResponse", response)

    def generate_video(
        self,
        config: VideoGenerationConfig,
        request: VideoGenerationRequest,
        on_progress: ProgressCallback | None = None,
    ) -> VideoGenerationResponse:
        """Sync twin of :meth:`generate_video_async`."""
        from tarash.tarash_gateway._sync import run_sync

        return run_sync(self.generate_video_async, config, request, on_progress)

    async def generate_image_async(
        self,
        config: ImageGenerationConfig,
        request: ImageGenerationRequest,
        on_progress: ProgressCallback | None = None,
    ) -> ImageGenerationResponse:
        """Generate mock images for ``config`` (whose ``mock`` must be enabled).

        Raises:
            ValidationError: ``config.mock`` is not enabled.
            TarashException: The picked response's error.
        """
        from tarash.tarash_gateway.providers.mock import run_mock_request

        mock = _enabled_mock(config)
        response = await run_mock_request(
            mock, request, on_progress, provider=config.provider, model=config.model
        )
        # An image request is answered with images.
        return cast("ImageGenerationResponse", response)

    def generate_image(
        self,
        config: ImageGenerationConfig,
        request: ImageGenerationRequest,
        on_progress: ProgressCallback | None = None,
    ) -> ImageGenerationResponse:
        """Sync twin of :meth:`generate_image_async`."""
        from tarash.tarash_gateway._sync import run_sync

        return run_sync(self.generate_image_async, config, request, on_progress)

    async def generate_tts_async(
        self,
        config: AudioGenerationConfig,
        request: TTSRequest,
        on_progress: TTSProgressCallback | None = None,
    ) -> TTSResponse:
        """Speak ``request.text`` as a mock tone for ``config`` (whose ``mock`` must be enabled).

        Raises:
            ValidationError: ``config.mock`` is not enabled.
            TarashException: The picked response's error.
        """
        from tarash.tarash_gateway.providers.mock import run_mock_audio

        mock = _enabled_mock(config)
        response = await run_mock_audio(
            mock, request, on_progress, provider=config.provider, model=config.model
        )
        # A TTS request is answered with a TTS response.
        return cast("TTSResponse", response)

    def generate_tts(
        self,
        config: AudioGenerationConfig,
        request: TTSRequest,
        on_progress: TTSProgressCallback | None = None,
    ) -> TTSResponse:
        """Sync twin of :meth:`generate_tts_async`."""
        from tarash.tarash_gateway._sync import run_sync

        return run_sync(self.generate_tts_async, config, request, on_progress)

    async def generate_sts_async(
        self,
        config: AudioGenerationConfig,
        request: STSRequest,
        on_progress: STSProgressCallback | None = None,
    ) -> STSResponse:
        """Answer ``request.audio`` with a mock tone for ``config`` (``mock`` enabled).

        Raises:
            ValidationError: ``config.mock`` is not enabled.
            TarashException: The picked response's error.
        """
        from tarash.tarash_gateway.providers.mock import run_mock_audio

        mock = _enabled_mock(config)
        response = await run_mock_audio(
            mock, request, on_progress, provider=config.provider, model=config.model
        )
        # An STS request is answered with an STS response.
        return cast("STSResponse", response)

    def generate_sts(
        self,
        config: AudioGenerationConfig,
        request: STSRequest,
        on_progress: STSProgressCallback | None = None,
    ) -> STSResponse:
        """Sync twin of :meth:`generate_sts_async`."""
        from tarash.tarash_gateway._sync import run_sync

        return run_sync(self.generate_sts_async, config, request, on_progress)
