"""The published package's door onto the provider registry.

``register_provider(provider, handler)`` and ``get_handler(config)`` as the published
tarash-gateway documents them, over tarash's one registry
(:mod:`tarash.tarash_gateway.providers`): a name registered here is the one configs,
``generate_*`` and :func:`tarash.tarash_gateway.providers.available_providers` see.
"""

from __future__ import annotations

from tarash.tarash_gateway.compat._handler import ClientHandler
from tarash.tarash_gateway.models import (
    AudioGenerationConfig,
    ImageGenerationConfig,
    VideoGenerationConfig,
)
from tarash.tarash_gateway.providers import get_provider_entry, register_provider

__all__ = ["get_handler", "register_provider"]


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
