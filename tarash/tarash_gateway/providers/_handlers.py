"""The published handler protocol as the provider registry knows it.

A *handler* (the published tarash-gateway package's ``ProviderHandler``) is an object with
some of :data:`HANDLER_METHODS`, each doing a whole job and returning its response. The
registry (:func:`tarash.tarash_gateway.providers.register_provider`) accepts one when it
implements any of them, and unwraps a :class:`BuiltInHandler` (a client class seen as a
handler) back into its class. Running a handler as an attempt of a chain is
``compat/_handler``'s; the video and image methods of a wrapped client class, which run the
config through the router, are the public face's (``registry.ClientHandler``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tarash.tarash_gateway.models import (
    AudioGenerationConfig,
    STSProgressCallback,
    STSRequest,
    STSResponse,
    TTSProgressCallback,
    TTSRequest,
    TTSResponse,
)

__all__ = [
    "HANDLER_METHODS",
    "BuiltInHandler",
    "NoBuiltInAudio",
    "implemented",
    "implements_any",
]

HANDLER_METHODS = (
    "generate_video",
    "generate_video_async",
    "generate_image",
    "generate_image_async",
    "generate_tts",
    "generate_tts_async",
    "generate_sts",
    "generate_sts_async",
)
"""The methods of the published ``ProviderHandler`` protocol."""


def implemented(handler: object, name: str) -> Callable[..., Any] | None:
    """``handler.<name>`` when the handler really implements it.

    A class that subclasses the ``ProviderHandler`` protocol without overriding a method
    inherits the protocol's ``...`` stub, which returns ``None``: that counts as missing.
    """
    method: object = getattr(handler, name, None)
    if not callable(method):
        return None
    for klass in type(handler).__mro__:
        if name in vars(klass):
            if getattr(klass, "_is_protocol", False):
                return None
            break
    return method


def implements_any(handler: object) -> bool:
    """Whether ``handler`` implements at least one of :data:`HANDLER_METHODS`."""
    return any(implemented(handler, name) is not None for name in HANDLER_METHODS)


class NoBuiltInAudio(NotImplementedError):
    """Raised by a :class:`BuiltInHandler`'s audio methods: no built-in provider has audio."""


class BuiltInHandler:
    """A :class:`~tarash.tarash_gateway.providers._base.ProviderClient` class seen through
    the published ``ProviderHandler`` protocol: its audio half.

    The audio methods raise :class:`NoBuiltInAudio` (``NotImplementedError``), as the
    protocol asks of a provider without that modality; the public face's
    ``registry.ClientHandler`` adds the video and image methods. Registering either under
    another name registers the client class itself.
    """

    def __init__(self, client_class: type[Any]) -> None:
        self.client_class = client_class

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.client_class.__name__})"

    def _no_audio(self, what: str) -> NoBuiltInAudio:
        name = getattr(self.client_class, "name", self.client_class.__name__)
        return NoBuiltInAudio(
            f"{name} has no {what}: tarash's built-in providers make video and images"
        )

    async def generate_tts_async(
        self,
        config: AudioGenerationConfig,
        request: TTSRequest,
        on_progress: TTSProgressCallback | None = None,
    ) -> TTSResponse:
        """Raise ``NotImplementedError``: no built-in provider makes speech."""
        raise self._no_audio("text-to-speech")

    def generate_tts(
        self,
        config: AudioGenerationConfig,
        request: TTSRequest,
        on_progress: TTSProgressCallback | None = None,
    ) -> TTSResponse:
        """Raise ``NotImplementedError``: no built-in provider makes speech."""
        raise self._no_audio("text-to-speech")

    async def generate_sts_async(
        self,
        config: AudioGenerationConfig,
        request: STSRequest,
        on_progress: STSProgressCallback | None = None,
    ) -> STSResponse:
        """Raise ``NotImplementedError``: no built-in provider makes speech."""
        raise self._no_audio("speech-to-speech")

    def generate_sts(
        self,
        config: AudioGenerationConfig,
        request: STSRequest,
        on_progress: STSProgressCallback | None = None,
    ) -> STSResponse:
        """Raise ``NotImplementedError``: no built-in provider makes speech."""
        raise self._no_audio("speech-to-speech")
