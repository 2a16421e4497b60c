"""The published package's door onto the provider registry.

``register_provider(provider, handler)`` and ``get_handler(config)`` as the published
tarash-gateway documents them, over tarash's one registry
(:mod:`tarash.tarash_gateway.providers`): a name registered here is the one configs,
``generate_*`` and :func:`tarash.tarash_gateway.providers.available_providers` see.
"""

from __future__ import annotations

from tarash.tarash_gateway.api import generate_image_async, generate_video_async
from tarash.tarash_gateway.engine._sync import run_sync
from tarash.tarash_gateway.models import (
    AudioGenerationConfig,
    ImageGenerationConfig,
    ImageGenerationRequest,
    ImageGenerationResponse,
    ImageProgressCallback,
    ProgressCallback,
    VideoGenerationConfig,
    VideoGenerationRequest,
    VideoGenerationResponse,
)
from tarash.tarash_gateway.providers import get_provider_entry, register_provider
from tarash.tarash_gateway.providers._handlers import BuiltInHandler

__all__ = ["get_handler", "register_provider"]


class ClientHandler(BuiltInHandler):
    """A built-in (or any :class:`ProviderClient` class) seen through the published
    ``ProviderHandler`` protocol, as :func:`get_handler` returns it.

    Each video and image method runs the config (without its fallbacks) through tarash's
    own pipeline; the audio methods raise ``NotImplementedError``, as the protocol asks of
    a provider without that modality (no built-in provider has audio). Registering it
    under another name registers the client class itself.
    """

    async def generate_video_async(
        self,
        config: VideoGenerationConfig,
        request: VideoGenerationRequest,
        on_progress: ProgressCallback | None = None,
    ) -> VideoGenerationResponse:
        """Generate a video on this provider alone (no fallback)."""
        alone = config.model_copy(update={"fallback_configs": None})
        return await generate_video_async(alone, request, on_progress)

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
        on_progress: ImageProgressCallback | None = None,
    ) -> ImageGenerationResponse:
        """Generate image(s) on this provider alone (no fallback)."""
        alone = config.model_copy(update={"fallback_configs": None})
        return await generate_image_async(alone, request, on_progress)

    def generate_image(
        self,
        config: ImageGenerationConfig,
        request: ImageGenerationRequest,
        on_progress: ImageProgressCallback | None = None,
    ) -> ImageGenerationResponse:
        """Sync twin of :meth:`generate_image_async`."""
        return run_sync(self.generate_image_async, config, request, on_progress)


def get_handler(
    config: VideoGenerationConfig | ImageGenerationConfig | AudioGenerationConfig,
) -> object:
    """Return the handler serving ``config.provider`` (looked up normalised).

    A handler registered with :func:`register_provider` is returned as registered. A
    provider served by a client class (the built-ins) is returned wrapped in an object
    with the handler methods: the video and image ones run the config they are given,
    without its fallbacks, through tarash's pipeline (the mock included, when
    ``config.mock`` enables it; ``generate_*`` also prefer the mock to a registered
    handler); the audio ones raise ``NotImplementedError`` (no built-in has audio).

    Raises:
        ValidationError: No provider has that name.
    """
    entry = get_provider_entry(config.provider)
    return ClientHandler(entry) if isinstance(entry, type) else entry
