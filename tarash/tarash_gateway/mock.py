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

from typing import TYPE_CHECKING, Any, cast

from tarash.tarash_gateway.engine._polling import PollSchedule
from tarash.tarash_gateway.engine._sync import run_sync
from tarash.tarash_gateway.errors import ValidationError
from tarash.tarash_gateway.models import (
    AudioGenerationConfig,
    ImageGenerationConfig,
    ImageGenerationRequest,
    ImageGenerationResponse,
    MockConfig,
    MockPollingConfig,
    MockResponse,
    ProgressCallback,
    STSProgressCallback,
    STSRequest,
    STSResponse,
    TTSProgressCallback,
    TTSRequest,
    TTSResponse,
    VideoGenerationConfig,
    VideoGenerationRequest,
    VideoGenerationResponse,
)
from tarash.tarash_gateway.providers._base import ProviderSettings
from tarash.tarash_gateway.providers._mock_library import (
    MockVideoSpec,
    _library,
    find_best_matching_video,
    generate_mock_request_id,
    select_mock_response,
)
from tarash.tarash_gateway.providers._mock_library import (
    best_matching_spec as best_matching_spec,  # imported from here before it moved
)
from tarash.tarash_gateway.providers.mock import MockClient, run_mock_audio
from tarash.tarash_gateway.routing._chain import submit_prepared
from tarash.tarash_gateway.routing._jobs import CallbackError, JobWaiter

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


if TYPE_CHECKING:
    MOCK_VIDEO_LIBRARY: list[MockVideoSpec]
    """The sample videos a mock picks from when no output is set (the published ten)."""


def __getattr__(name: str) -> Any:
    if name == "MOCK_VIDEO_LIBRARY":
        return _library()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# ---------------------------------------------------------------------------------------
# Helpers of the published module
# ---------------------------------------------------------------------------------------


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
    if isinstance(request, TTSRequest | STSRequest):
        return await run_mock_audio(mock_config, request, on_progress)
    return await _run_mock_request(mock_config, request, on_progress)


def handle_mock_request_sync(
    mock_config: MockConfig,
    request: VideoGenerationRequest | ImageGenerationRequest | TTSRequest | STSRequest,
    on_progress: ProgressCallback | None = None,
) -> VideoGenerationResponse | ImageGenerationResponse | TTSResponse | STSResponse:
    """Sync twin of :func:`handle_mock_request_async`."""
    return run_sync(handle_mock_request_async, mock_config, request, on_progress)


async def _run_mock_request(
    mock: MockConfig,
    request: VideoGenerationRequest | ImageGenerationRequest,
    on_progress: ProgressCallback | None = None,
    *,
    provider: str = "mock",
    model: str = "mock",
) -> VideoGenerationResponse | ImageGenerationResponse:
    """One mock job through the normal submit, wait and result path (no fallback chain).

    Raises:
        TarashException: The picked response's error.
    """
    client = MockClient(ProviderSettings(model=model), mock=mock, provider=provider)
    if isinstance(request, VideoGenerationRequest):
        job = client.prepare_video(request)
    else:
        job = client.prepare_image(request)
    submitted = await submit_prepared(client, job, deadline=None)
    waiter = JobWaiter(client, submitted.handle, schedule=PollSchedule(), on_progress=on_progress)
    try:
        return await waiter.run(submitted.snapshot, None)
    except CallbackError as exc:
        raise exc.original from None


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
        mock = _enabled_mock(config)
        response = await _run_mock_request(
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
        mock = _enabled_mock(config)
        response = await _run_mock_request(
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
        return run_sync(self.generate_sts_async, config, request, on_progress)
