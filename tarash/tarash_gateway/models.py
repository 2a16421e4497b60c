"""Configs, requests, responses, progress updates, job handles and execution metadata.

The names and field shapes follow the published tarash-gateway package so its users can
switch without edits. Unlike that package, an unknown keyword is an error (it names the
closest field and points to ``extra_params``) rather than being swallowed silently.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    ValidationInfo,
    field_validator,
    model_validator,
)
from typing_extensions import TypedDict

from tarash.tarash_gateway._validate import (
    MIN_POLL_INTERVAL,
    check_identifier,
    check_provider_name,
    check_seconds,
    check_text,
    check_url,
    clean_api_key,
)
from tarash.tarash_gateway.errors import ValidationError

__all__ = [
    "AspectRatio",
    "AttemptMetadata",
    "AttemptStatus",
    "ExecutionMetadata",
    "ImageGenerationConfig",
    "ImageGenerationRequest",
    "ImageGenerationResponse",
    "ImageGenerationUpdate",
    "ImageRole",
    "ImageType",
    "JobHandle",
    "MediaType",
    "ProgressCallback",
    "Resolution",
    "UpdateStatus",
    "VideoGenerationConfig",
    "VideoGenerationRequest",
    "VideoGenerationResponse",
    "VideoGenerationUpdate",
]

MediaType = str | bytes | Path
"""An image or video input: an http(s) URL, a data URI, base64 text, raw bytes or a path."""

ImageRole = Literal["first_frame", "last_frame", "reference", "asset", "style"]
Resolution = Literal["360p", "480p", "540p", "580p", "720p", "1080p", "1440p", "2k", "4k"]
AspectRatio = Literal["16:9", "9:16", "1:1", "4:3", "3:4", "21:9", "9:21", "3:2", "2:3", "auto"]
UpdateStatus = Literal["queued", "processing", "completed", "failed"]
AttemptStatus = Literal["success", "failed", "cancelled", "skipped"]


class ImageType(TypedDict):
    """One image input and the role it plays in the generation."""

    image: MediaType
    type: ImageRole


def _reject_unknown_fields(model: type[BaseModel], data: Any, passthrough_hint: str) -> Any:
    """Raise a :class:`ValidationError` naming the closest field for each unknown keyword."""
    if not isinstance(data, dict):
        return data
    known = set(model.model_fields)
    unknown = sorted(key for key in data if isinstance(key, str) and key not in known)
    if not unknown:
        return data
    hints = []
    for key in unknown:
        close = difflib.get_close_matches(key, sorted(known), n=1, cutoff=0.6)
        hint = f"did you mean {close[0]!r}?" if close else "no field has a similar name"
        hints.append(f"{key!r} ({hint})")
    raise ValidationError(
        f"{model.__name__} got unknown field(s): {', '.join(hints)}. {passthrough_hint}",
        fallback_allowed=False,
    )


class _StrictFieldsModel(BaseModel):
    """Base for user-facing inputs: unknown keywords are errors with a helpful hint."""

    _PASSTHROUGH_HINT: ClassVar[str] = (
        "Provider-specific parameters go in extra_params={...}, sent to the provider as is."
    )

    @model_validator(mode="before")
    @classmethod
    def _check_unknown_fields(cls, data: Any) -> Any:
        return _reject_unknown_fields(cls, data, cls._PASSTHROUGH_HINT)


# ---------------------------------------------------------------------------------------
# Configs
# ---------------------------------------------------------------------------------------


class _GenerationConfig(_StrictFieldsModel):
    """Fields shared by video and image configs."""

    model_config = ConfigDict(frozen=True)

    _PASSTHROUGH_HINT: ClassVar[str] = (
        "Provider-specific options go in provider_config={...}; generation parameters "
        "belong on the request."
    )

    provider: str = Field(description="Provider name: 'fal', 'replicate', ...")
    model: str = Field(description="The provider's model id, e.g. 'fal-ai/veo3'.")
    api_key: SecretStr | None = Field(
        default=None,
        description="The key; when None, read from the provider's usual environment variable.",
    )
    base_url: str | None = Field(
        default=None,
        description="Override the provider's API base URL (e.g. the bundled emulator's).",
    )
    api_version: str | None = None
    timeout: float = Field(
        default=600.0,
        gt=0,
        description="Wall-clock deadline in seconds for the whole job, submit to result.",
    )
    max_poll_attempts: int | None = Field(
        default=None,
        ge=1,
        description="Optional cap on status polls; the deadline (timeout) always applies.",
    )
    poll_interval: float = Field(
        default=5.0,
        gt=0,
        description="The longest wait between two status polls; polling starts faster.",
    )
    max_retries: int = Field(
        default=3,
        ge=0,
        le=10,
        description="Retries of one HTTP call on transient faults (never a resubmitted job).",
    )
    strict_parameters: bool = Field(
        default=False,
        description="When True, a value the model does not support (e.g. a 5 s duration on "
        "a model offering 4, 6 or 8 s) is a ValidationError instead of being adapted.",
    )
    provider_config: dict[str, Any] = Field(default_factory=dict)

    @field_validator("provider")
    @classmethod
    def _normalise_provider(cls, value: str) -> str:
        return check_provider_name(value.strip().lower().replace("-", "_"))

    @field_validator("model")
    @classmethod
    def _model_not_empty(cls, value: str) -> str:
        if not value.strip():
            # tarash's own ValidationError (not pydantic's) so that the one except clause
            # users write for bad input catches it; pydantic lets it through as is.
            raise ValidationError("model must not be empty", fallback_allowed=False)
        # The model id goes into URL paths: '?' or '#' would change what is requested.
        return check_identifier(value.strip(), "model", forbidden="?#")

    @field_validator("api_key")
    @classmethod
    def _key_is_clean(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        return SecretStr(clean_api_key(value.get_secret_value()))

    @field_validator("base_url")
    @classmethod
    def _base_url_is_http(cls, value: str | None) -> str | None:
        return None if value is None else check_url(value, "base_url")

    @field_validator("api_version")
    @classmethod
    def _api_version_is_printable(cls, value: str | None) -> str | None:
        return None if value is None else check_identifier(value, "api_version")

    @field_validator("timeout")
    @classmethod
    def _timeout_is_finite(cls, value: float) -> float:
        # pydantic's gt=0 lets inf and 1e300 through; the deadline arithmetic overflows.
        return check_seconds(value, "timeout")

    @field_validator("poll_interval")
    @classmethod
    def _poll_interval_is_sane(cls, value: float) -> float:
        return check_seconds(value, "poll_interval", minimum=MIN_POLL_INTERVAL)

    def chain(self) -> list[Self]:
        """Return this config followed by its fallbacks, depth first, each once."""
        ordered: list[Self] = []

        def visit(config: Self) -> None:
            if any(config is seen for seen in ordered):
                return
            ordered.append(config)
            for fallback in getattr(config, "fallback_configs", None) or []:
                visit(fallback)

        visit(self)
        return ordered


class VideoGenerationConfig(_GenerationConfig):
    """Where and how to generate a video: provider, model, credentials, deadline, fallbacks.

    Example:
        ``VideoGenerationConfig(provider="fal", model="fal-ai/veo3", fallback_configs=[...])``
    """

    fallback_configs: list[VideoGenerationConfig] | None = None


class ImageGenerationConfig(_GenerationConfig):
    """Where and how to generate an image: provider, model, credentials, deadline, fallbacks."""

    timeout: float = Field(default=180.0, gt=0)
    fallback_configs: list[ImageGenerationConfig] | None = None


# ---------------------------------------------------------------------------------------
# Requests
# ---------------------------------------------------------------------------------------


class _GenerationRequest(_StrictFieldsModel):
    """What video and image requests share: the prompt, its check, and images by role.

    Only ``prompt`` is declared here: it is the first field of both requests, and pydantic
    orders a base class's fields before the subclass's own.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    prompt: str

    if TYPE_CHECKING:
        # Declared by each request, in its own place in the field order.
        image_list: list[ImageType]

    @field_validator("prompt")
    @classmethod
    def _prompt_not_empty(cls, value: str) -> str:
        if not value.strip():
            raise ValidationError("prompt must not be empty", fallback_allowed=False)
        return check_text(value, "prompt")

    # Declared on each request, so the field need not exist here.
    @field_validator("negative_prompt", check_fields=False)
    @classmethod
    def _negative_prompt_is_sendable(cls, value: str | None) -> str | None:
        return None if value is None else check_text(value, "negative_prompt")

    def images_of(self, role: ImageRole) -> list[MediaType]:
        """Return the images given for one role, in order."""
        return [item["image"] for item in self.image_list if item["type"] == role]


class VideoGenerationRequest(_GenerationRequest):
    """What video to generate, in provider-neutral terms.

    Values a model cannot honour exactly are adapted to the nearest supported value (and
    the adaptation recorded in the attempt's metadata) unless the config sets
    ``strict_parameters=True``.
    """

    duration_seconds: int | None = Field(default=None, gt=0, le=600)
    resolution: Resolution | None = None
    aspect_ratio: AspectRatio | None = None
    generate_audio: bool | None = None
    image_list: list[ImageType] = Field(default_factory=list)
    video: MediaType | None = None
    seed: int | None = None
    number_of_videos: int = Field(default=1, ge=1, le=8)
    negative_prompt: str | None = None
    enhance_prompt: bool | None = None
    extra_params: dict[str, Any] = Field(default_factory=dict)


class ImageGenerationRequest(_GenerationRequest):
    """What image(s) to generate, in provider-neutral terms."""

    negative_prompt: str | None = None
    size: str | None = Field(default=None, description="'WIDTHxHEIGHT', e.g. '1024x1024'.")
    quality: str | None = None
    style: str | None = None
    n: int = Field(default=1, ge=1, le=10)
    image_list: list[ImageType] = Field(default_factory=list)
    mask_image: MediaType | None = None
    seed: int | None = None
    aspect_ratio: AspectRatio | None = None
    extra_params: dict[str, Any] = Field(default_factory=dict)

    @field_validator("size")
    @classmethod
    def _size_is_width_by_height(cls, value: str | None) -> str | None:
        if value is None:
            return None
        # ASCII digits only: str.isdigit() also accepts '²', which int() refuses.
        match = re.fullmatch(r"([0-9]{1,6})x([0-9]{1,6})", value.lower())
        if match is None or 0 in (int(match[1]), int(match[2])):
            raise ValidationError(
                f"size must look like '1024x1024', got {value!a}", fallback_allowed=False
            )
        return value.lower()

    @field_validator("quality", "style")
    @classmethod
    def _text_is_sendable(cls, value: str | None, info: ValidationInfo) -> str | None:
        return None if value is None else check_text(value, str(info.field_name))


# ---------------------------------------------------------------------------------------
# Execution metadata
# ---------------------------------------------------------------------------------------


class AttemptMetadata(BaseModel):
    """What happened on one provider attempt of a generation."""

    provider: str
    model: str
    attempt_number: int
    started_at: datetime
    ended_at: datetime | None = None
    elapsed_seconds: float | None = None
    status: AttemptStatus
    request_id: str | None = None
    error_type: str | None = None
    error_message: str | None = None
    status_code: int | None = None
    is_retryable: bool | None = None
    submit_count: int = 0
    poll_count: int = 0
    http_requests: int = 0
    retries: int = 0
    adaptations: list[str] = Field(default_factory=list)
    job_may_exist: bool = Field(
        default=False,
        description="The submit failed in a way that may still have created a job at the "
        "provider (no reply, or a 5xx other than 503); tarash could not learn its id to "
        "cancel it, so check the provider's dashboard.",
    )


class ExecutionMetadata(BaseModel):
    """Every attempt a generation made, in order, and how it ended."""

    attempts: list[AttemptMetadata] = Field(default_factory=list)
    total_attempts: int = 0
    successful_attempt: int | None = None
    fallback_triggered: bool = False
    configs_in_chain: int = 1
    started_at: datetime | None = None
    ended_at: datetime | None = None
    total_elapsed_seconds: float | None = None

    @property
    def final_attempt(self) -> AttemptMetadata | None:
        """The last attempt made, if any."""
        return self.attempts[-1] if self.attempts else None


# ---------------------------------------------------------------------------------------
# Responses and updates
# ---------------------------------------------------------------------------------------


class _SavableResponse(BaseModel):
    """Base for responses whose media can be saved to disk."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    # Headers (e.g. the provider key) the download of each result URL needs, by URL.
    # Private so they never appear in reprs, dumps or JSON; never pickled (__getstate__).
    _download_headers: dict[str, dict[str, SecretStr]] = PrivateAttr(default_factory=dict)
    # The URLs that need the provider's key: all a pickled response keeps of the headers
    # (responses cross process pools and task queues), so that its save() resolves the key
    # again, from the environment, when it downloads.
    _keyed_urls: frozenset[str] = PrivateAttr(default_factory=frozenset)

    def __getstate__(self) -> dict[Any, Any]:
        state = super().__getstate__()
        private = dict(state.get("__pydantic_private__") or {})
        private["_keyed_urls"] = self._keyed_urls | frozenset(self._download_headers)
        private["_download_headers"] = {}
        state["__pydantic_private__"] = private
        return state

    def _headers_for(self, media: str | bytes) -> dict[str, SecretStr]:
        if not isinstance(media, str):
            return {}
        live = self._download_headers.get(media)
        if live is not None:
            return live
        return self._resolve_download_headers(media) if media in self._keyed_urls else {}

    def _resolve_download_headers(self, url: str) -> dict[str, SecretStr]:
        """The download headers of a response that lost its key to pickling, built again
        from the provider's key in the environment."""
        # Imported here: the providers import this module.
        from urllib.parse import urlsplit

        from tarash.tarash_gateway.errors import AuthenticationError
        from tarash.tarash_gateway.providers import get_provider_class
        from tarash.tarash_gateway.providers._base import ProviderSettings

        # Both responses declare these fields (in their own place in the field order).
        provider: str | None = getattr(self, "provider", None)
        model: str | None = getattr(self, "model", None)
        client_class = get_provider_class(provider or "")
        parts = urlsplit(url)
        # The URL was vetted when the response was made (only URLs its provider sends the
        # key to are listed): its own origin stands in for the API base it came from.
        client = client_class(
            ProviderSettings(
                model=model or "-",
                base_url=f"{parts.scheme}://{parts.hostname}"
                + (f":{parts.port}" if parts.port else ""),
            )
        )
        try:
            return client.download_headers(url)
        except AuthenticationError as exc:
            exc.message = (
                f"{exc.message}. A pickled response does not keep the key its download "
                "needs; it is read again from the environment"
            )
            exc.args = (exc.message,)
            raise

    @staticmethod
    def _target(path: object) -> Path:
        try:
            if isinstance(path, str | PathLike) and str(path):
                return Path(path)
        except TypeError:  # an os.PathLike of bytes
            pass
        raise ValidationError(
            f"path must be a non-empty str or os.PathLike, got {type(path).__name__}",
            fallback_allowed=False,
        )

    def _media_items(self) -> list[str | bytes]:
        raise NotImplementedError


class VideoGenerationResponse(_SavableResponse):
    """A finished video and how it was made.

    ``video`` is what the provider returned: a URL, or the bytes when the provider answers
    inline. ``save(path)`` streams it to disk either way.
    """

    request_id: str
    video: str | bytes
    content_type: str | None = None
    audio_url: str | None = None
    duration: float | None = None
    resolution: str | None = None
    aspect_ratio: str | None = None
    status: Literal["completed"] = "completed"
    provider: str | None = None
    model: str | None = None
    expires_at: datetime | None = Field(
        default=None, description="When the provider deletes the result URL, where known."
    )
    raw_response: dict[str, Any] = Field(default_factory=dict)
    execution_metadata: ExecutionMetadata = Field(default_factory=ExecutionMetadata)

    def _media_items(self) -> list[str | bytes]:
        return [self.video]

    def save(self, path: str | Path) -> Path:
        """Stream the video to ``path`` and return it. Sync twin of :meth:`save_async`."""
        from tarash.tarash_gateway._sync import run_sync

        return run_sync(self.save_async, path)

    async def save_async(self, path: str | Path) -> Path:
        """Stream the video to ``path`` without blocking the event loop.

        Args:
            path: Where to write the file; parent folders must exist.

        Returns:
            The path written.

        Raises:
            ValidationError: ``path`` is not a path, or its folder does not exist.
            HTTPError: The result URL could not be downloaded (expired, say) after the
                retries of transient faults; no partial file is left.
        """
        from tarash.tarash_gateway.media import save_media

        return await save_media(
            self.video,
            self._target(path),
            headers=self._headers_for(self.video),
            provider=self.provider,
            model=self.model,
        )


class ImageGenerationResponse(_SavableResponse):
    """Finished image(s) and how they were made."""

    request_id: str
    images: list[str | bytes]
    content_type: str | None = None
    revised_prompt: str | None = None
    status: Literal["completed"] = "completed"
    provider: str | None = None
    model: str | None = None
    expires_at: datetime | None = None
    raw_response: dict[str, Any] = Field(default_factory=dict)
    execution_metadata: ExecutionMetadata = Field(default_factory=ExecutionMetadata)

    def _media_items(self) -> list[str | bytes]:
        return list(self.images)

    def save(self, path: str | Path, index: int = 0) -> Path:
        """Stream image ``index`` to ``path`` and return it. Sync twin of :meth:`save_async`."""
        from tarash.tarash_gateway._sync import run_sync

        return run_sync(self.save_async, path, index)

    async def save_async(self, path: str | Path, index: int = 0) -> Path:
        """Stream image ``index`` to ``path`` without blocking the event loop.

        Args:
            path: Where to write the file.
            index: Which of ``images`` to save.

        Returns:
            The path written.

        Raises:
            ValidationError: ``index`` is not an index of ``images``, ``path`` is not a
                path, or its folder does not exist.
            HTTPError: The result URL could not be downloaded (expired, say) after the
                retries of transient faults; no partial file is left.
        """
        from tarash.tarash_gateway.media import save_media

        count = len(self.images)
        if isinstance(index, bool) or not isinstance(index, int) or not -count <= index < count:
            given = repr(index) if isinstance(index, int) else type(index).__name__
            raise ValidationError(
                f"index must be an int from {-count} to {count - 1} (the response holds "
                f"{count} image(s)), got {given}",
                provider=self.provider,
                model=self.model,
                fallback_allowed=False,
            )
        image = self.images[index]
        return await save_media(
            image,
            self._target(path),
            headers=self._headers_for(image),
            provider=self.provider,
            model=self.model,
        )


class _GenerationUpdate(BaseModel):
    """A progress report from a running job."""

    request_id: str
    status: UpdateStatus
    progress_percent: int | None = None
    queue_position: int | None = None
    provider: str
    model: str
    attempt_number: int = 1
    update: dict[str, Any] = Field(default_factory=dict)


class VideoGenerationUpdate(_GenerationUpdate):
    """A progress report from a running video job."""


class ImageGenerationUpdate(_GenerationUpdate):
    """A progress report from a running image job."""


ProgressCallback = Callable[[Any], None] | Callable[[Any], Awaitable[None]]
"""``on_progress``: called with each update; a plain function or a coroutine function."""


# ---------------------------------------------------------------------------------------
# Job handles
# ---------------------------------------------------------------------------------------


class JobHandle(BaseModel):
    """A submitted provider job that can be waited on, polled or cancelled later.

    Serialises to JSON (``handle.model_dump_json()``) and back
    (``JobHandle.model_validate_json(text)``) so another process can resume it. It holds
    no secret: the key comes from the environment or is passed to ``wait``/``status``/
    ``cancel``.
    """

    model_config = ConfigDict(frozen=True)

    SCHEMA_VERSION: ClassVar[int] = 1

    kind: Literal["video", "image"]
    provider: str
    model: str
    request_id: str
    base_url: str
    status_url: str | None = None
    result_url: str | None = None
    cancel_url: str | None = None
    api_version: str | None = None
    submitted_at: datetime
    deadline_at: datetime | None = None
    provider_state: dict[str, Any] = Field(
        default_factory=dict,
        description="Provider facts needed later (e.g. the result parsed at submit).",
    )
    request_summary: dict[str, Any] = Field(
        default_factory=dict,
        description="The adapted request's duration, resolution and aspect ratio.",
    )
    adaptations: list[str] = Field(default_factory=list)

    # A handle may come from disk, a database or a queue: it is untrusted input, checked
    # on load like a config, so a stored or edited one fails here with a clear error
    # rather than deep inside wait/status/cancel.

    # Only what would break a request is refused: providers build handles from their
    # replies after the job exists, and a stricter rule would fail a paid submit.
    @field_validator("provider", "model", "request_id", "api_version")
    @classmethod
    def _ids_are_printable(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return None
        if not value:
            raise ValidationError(f"{info.field_name} must not be empty", fallback_allowed=False)
        return check_identifier(value, str(info.field_name))

    @field_validator("base_url", "status_url", "result_url", "cancel_url")
    @classmethod
    def _urls_are_http(cls, value: str | None, info: ValidationInfo) -> str | None:
        return None if value is None else check_url(value, str(info.field_name))

    @field_validator("submitted_at", "deadline_at")
    @classmethod
    def _naive_times_are_utc(cls, value: datetime | None) -> datetime | None:
        # SQL DATETIME columns (and naive isoformat strings) drop the offset; tarash
        # writes UTC, so that is what a naive time means.
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value

    def __repr__(self) -> str:
        return (
            f"JobHandle(kind={self.kind!r}, provider={self.provider!r}, model={self.model!r}, "
            f"request_id={self.request_id!r}, submitted_at={self.submitted_at.isoformat()})"
        )


VideoGenerationConfig.model_rebuild()
ImageGenerationConfig.model_rebuild()
