"""The protocol every provider client implements, and the plain data it trades in.

A provider module maps the unified request to its wire format and its replies back; it
does nothing else. HTTP, retries, polling, deadlines, cancellation on give-up, fallback and
metadata live once, outside the providers.
"""

from __future__ import annotations

import abc
import os
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Literal

import httpx
from pydantic import SecretStr

from tarash.tarash_gateway._http import Operation, RequestContext, same_origin, send
from tarash.tarash_gateway._polling import JobSnapshot
from tarash.tarash_gateway._redact import redact
from tarash.tarash_gateway.errors import AuthenticationError, TarashException, ValidationError
from tarash.tarash_gateway.models import (
    ImageGenerationRequest,
    JobHandle,
    VideoGenerationRequest,
)

__all__ = [
    "ImageOutput",
    "JobKind",
    "ModelCapabilities",
    "PreparedJob",
    "ProviderClient",
    "ProviderSettings",
    "SubmittedJob",
    "VideoOutput",
]

JobKind = Literal["video", "image"]


@dataclass(frozen=True, slots=True)
class ModelCapabilities:
    """What a model can do, used to adapt or reject a request before anything is paid for.

    ``None`` for a tuple means "anything goes" (an unregistered model: the provider decides).
    """

    kind: JobKind
    durations: tuple[int, ...] | None = None
    aspect_ratios: tuple[str, ...] | None = None
    resolutions: tuple[str, ...] | None = None
    requires_image: bool = False
    accepts_image: bool = True
    accepts_last_frame: bool = True
    accepts_audio_flag: bool = True
    max_outputs: int | None = None


@dataclass(slots=True)
class PreparedJob:
    """A request mapped to one provider's wire input, ready to submit.

    Attributes:
        kind: Video or image.
        model: The provider's model id.
        payload: The body (or input object) the provider expects.
        adaptations: Human-readable notes of every value changed to fit the model.
        summary: The duration, resolution and aspect ratio actually asked for.
    """

    kind: JobKind
    model: str
    payload: dict[str, Any]
    adaptations: list[str] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class SubmittedJob:
    """What a submit returns: the handle, and the first snapshot if the reply carried one."""

    handle: JobHandle
    snapshot: JobSnapshot | None = None


@dataclass(slots=True)
class VideoOutput:
    """The media of a finished video job, as the provider gave it."""

    video: str | bytes
    content_type: str | None = None
    audio_url: str | None = None
    duration: float | None = None
    resolution: str | None = None
    aspect_ratio: str | None = None
    expires_at: datetime | None = None
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class ImageOutput:
    """The media of a finished image job, as the provider gave it."""

    images: list[str | bytes]
    content_type: str | None = None
    revised_prompt: str | None = None
    expires_at: datetime | None = None
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class ProviderSettings:
    """Where and as whom a provider client talks; built from a config or a handle."""

    model: str
    base_url: str | None = None
    api_key: SecretStr | None = None
    api_version: str | None = None
    provider_config: Mapping[str, Any] = field(default_factory=dict)
    max_attempts: int = 4
    deadline: float | None = None


class ProviderClient(abc.ABC):
    """One provider's wire protocol.

    Subclasses set the class attributes, implement the abstract methods, and call
    :meth:`_send` for every request (it adds auth, retries and error mapping).
    """

    name: ClassVar[str]
    """Registry name, as written in ``config.provider``."""
    default_base_url: ClassVar[str]
    """Used when neither the config nor ``TARASH_<NAME>_BASE_URL`` (e.g. an emulator) says."""
    key_env_vars: ClassVar[tuple[str, ...]]
    """Environment variables read for the key, in order (the official SDKs' names)."""
    supports_cancel: ClassVar[bool] = True
    provider_config_options: ClassVar[frozenset[str]] = frozenset()
    """The ``provider_config`` keys this provider understands; any other is refused."""

    def __init__(self, settings: ProviderSettings) -> None:
        self.settings = settings
        self.model = settings.model
        self.base_url = self.resolve_base_url(settings.base_url)
        unknown = sorted(set(settings.provider_config) - self.provider_config_options)
        if unknown:
            # A misspelt option would otherwise be ignored silently.
            raise ValidationError(
                f"unknown {self.name} provider_config option(s) {unknown}; "
                f"accepted: {sorted(self.provider_config_options)}",
                provider=self.name,
                model=settings.model,
                fallback_allowed=False,
            )
        self.request_context = RequestContext(
            provider=self.name,
            model=settings.model,
            parse_error=self._parse_error_redacted,
            max_attempts=settings.max_attempts,
            deadline=settings.deadline,
        )

    @classmethod
    def resolve_base_url(cls, explicit: str | None = None) -> str:
        """The API base: ``explicit``, else ``TARASH_<NAME>_BASE_URL``, else the default."""
        chosen = (
            explicit
            or os.environ.get(f"TARASH_{cls.name.upper()}_BASE_URL")
            or cls.default_base_url
        )
        return chosen.rstrip("/")

    # -- credentials -------------------------------------------------------------------

    def api_key(self) -> SecretStr:
        """Return the key from the settings or the environment.

        Raises:
            AuthenticationError: No key was given or found (raised before any request).
        """
        if self.settings.api_key is not None and self.settings.api_key.get_secret_value():
            return self.settings.api_key
        for variable in self.key_env_vars:
            value = os.environ.get(variable)
            if value:
                return SecretStr(value)
        raise AuthenticationError(
            f"no API key: pass api_key in the config or set {' or '.join(self.key_env_vars)}",
            provider=self.name,
            model=self.model,
            retryable=False,
        )

    @abc.abstractmethod
    def auth_headers(self) -> dict[str, str]:
        """Headers that authenticate a request (never logged)."""

    def download_headers(self, url: str) -> dict[str, SecretStr]:
        """Headers needed to download a result URL; none unless the provider asks for them."""
        return {}

    # -- mapping -----------------------------------------------------------------------

    @abc.abstractmethod
    def capabilities(self, kind: JobKind) -> ModelCapabilities:
        """What this client's model can do, for adapting and validating requests."""

    @abc.abstractmethod
    def prepare_video(self, request: VideoGenerationRequest) -> PreparedJob:
        """Map an (already adapted) video request to this provider's input.

        Raises:
            ValidationError: Something the model needs is missing.
        """

    @abc.abstractmethod
    def prepare_image(self, request: ImageGenerationRequest) -> PreparedJob:
        """Map an image request to this provider's input."""

    # -- lifecycle ---------------------------------------------------------------------

    @abc.abstractmethod
    async def submit(self, job: PreparedJob, *, time_left: float | None) -> SubmittedJob:
        """Create the job. ``time_left`` (seconds) lets providers set a server-side deadline."""

    @abc.abstractmethod
    async def poll(self, handle: JobHandle) -> JobSnapshot:
        """Return one status observation of the job."""

    def watch(self, handle: JobHandle) -> AsyncIterator[JobSnapshot] | None:
        """A push channel of snapshots (SSE, held requests), or ``None`` to poll."""
        return None

    @abc.abstractmethod
    async def fetch_video(self, handle: JobHandle, snapshot: JobSnapshot) -> VideoOutput:
        """Read the finished video.

        Raises:
            GenerationFailedError: The job ended with no video.
        """

    @abc.abstractmethod
    async def fetch_image(self, handle: JobHandle, snapshot: JobSnapshot) -> ImageOutput:
        """Read the finished image(s)."""

    @abc.abstractmethod
    async def cancel(self, handle: JobHandle) -> bool:
        """Ask the provider to stop the job; return whether it accepted."""

    @abc.abstractmethod
    def parse_error(self, response: httpx.Response) -> TarashException:
        """Map a non-success reply to exactly one error, reading the provider's body."""

    # -- shared plumbing ---------------------------------------------------------------

    def _parse_error_redacted(self, response: httpx.Response) -> TarashException:
        """:meth:`parse_error`, with the key scrubbed from whatever the provider echoed."""
        error = self.parse_error(response)
        try:
            secret: str | None = self.api_key().get_secret_value()
        except TarashException:
            secret = None
        error.message = redact(error.message, secret)
        error.args = (error.message,)
        error.raw_response = redact(error.raw_response, secret)
        return error

    def trusted_url(self, url: object, fallback: str) -> str:
        """``url`` when it is on the configured API origin, else ``fallback``.

        URLs from replies (or from a resumed handle, which could have been edited) receive
        the key, so nothing off the API's own origin is followed.
        """
        return url if isinstance(url, str) and same_origin(url, self.base_url) else fallback

    async def _send(
        self,
        operation: Operation,
        method: str,
        url: str,
        *,
        request_id: str | None = None,
        headers: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        """Send an authenticated request through the shared client and retry policy."""
        merged = {**self.auth_headers(), **(headers or {})}
        self.request_context.request_id = request_id
        return await send(self.request_context, operation, method, url, headers=merged, **kwargs)
