"""Configs, requests, responses, progress updates, job handles and execution metadata;
the mock's configuration and the text-to-speech and speech-to-speech models too.

The names and field shapes follow the published tarash-gateway package so its users can
switch without edits. As there, a request's unknown keyword goes to ``extra_params`` (with an
:class:`ExtraParamsWarning` naming it); unlike there, a keyword one typo away from a real
field, and any unknown keyword on a config, is an error naming the field meant.
"""

from __future__ import annotations

import base64
import dataclasses
import difflib
import math
import re
import warnings
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime
from os import PathLike
from pathlib import Path
from typing import (
    TYPE_CHECKING,
    Annotated,
    Any,
    ClassVar,
    Generic,
    Literal,
    NotRequired,
    Protocol,
    Self,
    TypeVar,
    runtime_checkable,
)

from pydantic import (
    AnyUrl,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    HttpUrl,
    PrivateAttr,
    SecretStr,
    TypeAdapter,
    ValidationInfo,
    computed_field,
    field_serializer,
    field_validator,
    model_validator,
)
from pydantic.dataclasses import dataclass as pydantic_dataclass
from typing_extensions import TypedDict

from tarash.tarash_gateway._response_io import response_io
from tarash.tarash_gateway._validate import (
    MIN_POLL_INTERVAL,
    check_identifier,
    check_provider_name,
    check_seconds,
    check_text,
    check_url,
    clean_api_key,
)
from tarash.tarash_gateway.errors import AuthenticationError, TarashException, ValidationError

__all__ = [
    "AspectRatio",
    "AsyncImageProgressCallback",
    "AsyncProgressCallback",
    "AsyncSTSProgressCallback",
    "AsyncTTSProgressCallback",
    "AttemptMetadata",
    "AttemptRole",
    "AttemptStatus",
    "AudioGenerationConfig",
    "AudioOutputFormat",
    "Base64",
    "BaseVideoParams",
    "BatchCompletionUpdate",
    "BatchItem",
    "BatchItemResult",
    "BatchResponse",
    "CostEstimate",
    "ExecutionMetadata",
    "ExtraParamsWarning",
    "GenerationCost",
    "HealthCheckResult",
    "ImageBatchCompletionUpdate",
    "ImageBatchItem",
    "ImageBatchItemResult",
    "ImageBatchResponse",
    "ImageGenerationConfig",
    "ImageGenerationRequest",
    "ImageGenerationResponse",
    "ImageGenerationUpdate",
    "ImageProgressCallback",
    "ImageRole",
    "ImageType",
    "JobHandle",
    "KlingCameraConfig",
    "KlingCameraControl",
    "KlingVideoParams",
    "MediaContent",
    "MediaType",
    "ProgressCallback",
    "ProviderHandler",
    "Resolution",
    "STSBatchCompletionUpdate",
    "STSBatchItem",
    "STSBatchItemResult",
    "STSBatchResponse",
    "STSProgressCallback",
    "STSRequest",
    "STSResponse",
    "STSUpdate",
    "StatusType",
    "SyncImageProgressCallback",
    "SyncProgressCallback",
    "SyncSTSProgressCallback",
    "SyncTTSProgressCallback",
    "TTSBatchCompletionUpdate",
    "TTSBatchItem",
    "TTSBatchItemResult",
    "TTSBatchResponse",
    "TTSProgressCallback",
    "TTSRequest",
    "TTSResponse",
    "TTSUpdate",
    "UpdateStatus",
    "VideoBatchCompletionUpdate",
    "VideoBatchItem",
    "VideoBatchItemResult",
    "VideoBatchResponse",
    "VideoGenerationConfig",
    "VideoGenerationRequest",
    "VideoGenerationResponse",
    "VideoGenerationUpdate",
    "format_to_content_type",
]

Base64 = str
"""Base64 text (or a ``data:`` URI), the published package's name for it."""


class MediaContent(TypedDict):
    """Media given as its bytes and their MIME type, e.g. ``{"content": b"...",
    "content_type": "image/png"}``; sent to providers as a ``data:`` URI."""

    content: bytes
    content_type: str


def _url_as_text(value: object) -> object:
    # pydantic's URL objects (the published MediaType names HttpUrl) travel as their text,
    # so that everything past validation handles one kind of URL.
    return str(value) if isinstance(value, AnyUrl) else value


MediaType = Annotated[str | bytes | Path | HttpUrl | MediaContent, BeforeValidator(_url_as_text)]
"""An image or video input: an http(s) URL (text or ``HttpUrl``, kept as text), a data URI,
base64 text, raw bytes, a path, or a :class:`MediaContent` dict."""

ResultMedia = Annotated[str | bytes | MediaContent, BeforeValidator(_url_as_text)]
"""A result's media: a URL or data URI, the bytes, or a :class:`MediaContent` dict."""

ImageRole = Literal["first_frame", "last_frame", "reference", "asset", "style"]
Resolution = Literal["360p", "480p", "540p", "580p", "720p", "1080p", "1440p", "2k", "4k"]
AspectRatio = Literal["16:9", "9:16", "1:1", "4:3", "3:4", "21:9", "9:21", "3:2", "2:3", "auto"]
StatusType = Literal["queued", "processing", "completed", "failed"]
"""Where a job stands in a progress update (the published name)."""
UpdateStatus = StatusType
AttemptStatus = Literal["success", "failed", "cancelled", "skipped"]
AttemptRole = Literal["primary", "fallback", "hedge"]
"""Why an attempt was started: the chain's first config, a fallback after a failure (or a
skip), or a hedge raced alongside an attempt still running."""


class ImageType(TypedDict):
    """One image input and the role it plays in the generation."""

    image: MediaType
    type: ImageRole


class ExtraParamsWarning(UserWarning):
    """A request got keywords that are not its fields; they were sent as ``extra_params``.

    Silence it for code that passes provider options as keywords on purpose:
    ``warnings.filterwarnings("ignore", category=ExtraParamsWarning)``.
    """


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


# How close (difflib's ratio) an unknown request keyword must be to a field's name to be
# taken for a typo of it rather than a provider option: 'duraton_seconds' and
# 'aspect_ration' score over 0.9; options such as 'duration', 'num_videos', 'image_url' or
# 'mask_url' stay under 0.8.
_TYPO_CUTOFF = 0.8
# The warning points at the caller's line: this function, capture_extra_fields, then
# BaseModel.__init__ or model_validate (pydantic-core's own frames are not Python frames).
_CALLER_STACKLEVEL = 4


def _capture_unknown_fields(model: type[BaseModel], data: Any) -> Any:
    """Move a request's unknown keywords into ``extra_params``, warning with their names.

    A keyword one typo away from a real field is a :class:`ValidationError` naming it
    instead: sent to the provider, it would be ignored there, and the field meant unset.
    The caller's dict is not changed.
    """
    if not isinstance(data, dict):
        return data
    known = set(model.model_fields)
    unknown = [key for key in data if key not in known]
    if not unknown:
        return data
    typos = []
    for key in unknown:
        if isinstance(key, str):
            close = difflib.get_close_matches(key, sorted(known), n=1, cutoff=_TYPO_CUTOFF)
            if close:
                typos.append(f"{key!r} (did you mean {close[0]!r}?)")
    if typos:
        raise ValidationError(
            f"{model.__name__} got unknown field(s): {', '.join(typos)}. A provider "
            "parameter of that name goes in extra_params={...}, sent to the provider as is.",
            fallback_allowed=False,
        )
    explicit = data.get("extra_params", {})
    captured = {key: data[key] for key in unknown}
    cleaned = {key: value for key, value in data.items() if key in known}
    if isinstance(explicit, dict):
        # As published: a keyword wins over an extra_params entry of the same name.
        cleaned["extra_params"] = {**explicit, **captured}
    # else: extra_params keeps the value given, for pydantic to refuse as not a dict.
    names = ", ".join(repr(key) for key in captured)
    warnings.warn(
        f"{model.__name__}: {names} {'is not a field' if len(captured) == 1 else 'are not fields'}"
        "; sent to the provider in extra_params (pass it there to silence this warning)",
        ExtraParamsWarning,
        stacklevel=_CALLER_STACKLEVEL,
    )
    return cleaned


# ---------------------------------------------------------------------------------------
# Configs
# ---------------------------------------------------------------------------------------

_KEY_MASK = "**********"
"""What reprs and dumps show in place of a key (pydantic's SecretStr mask)."""


class _ApiKey(str):
    """A key as the user gave it: a plain str to every use (``f"Bearer {key}"``), masked in
    its repr, so that logging a config, or the key with ``%r``, does not print it."""

    __slots__ = ()

    def __repr__(self) -> str:
        return repr(_KEY_MASK)


class _GenerationConfig(_StrictFieldsModel):
    """Fields shared by video and image configs."""

    model_config = ConfigDict(frozen=True)

    _PASSTHROUGH_HINT: ClassVar[str] = (
        "Provider-specific options go in provider_config={...}; generation parameters "
        "belong on the request."
    )

    provider: str = Field(description="Provider name: 'fal', 'replicate', ...")
    model: str = Field(description="The provider's model id, e.g. 'fal-ai/veo3'.")
    api_key: str | None = Field(
        default=None,
        description="The key; when None, read from the provider's usual environment variable. "
        "Reads back as the str given; masked in repr, str and dumps, left out of pickles.",
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
        default=120,
        ge=1,
        description="Cap on status polls (None: no cap); the deadline (timeout) always "
        "applies. Push updates (a provider's event stream) are not polls.",
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
    # errors.FallbackPolicy's values (a test keeps the two equal).
    fallback_on: Literal["transient", "provider_specific"] = Field(
        default="transient",
        description="When the chain moves on from this config (and its fallbacks): "
        "'transient' (the published table: failed jobs, timeouts, connection errors, HTTP "
        "429/5xx) or 'provider_specific' (also a refused key, no credit, moderation, an "
        "unknown model, a request this model cannot take).",
    )
    provider_config: dict[str, Any] = Field(default_factory=dict)
    mock: MockConfig | None = Field(
        default=None,
        description="When enabled, the mock provider answers instead: no network, no key.",
    )

    @model_validator(mode="before")
    @classmethod
    def _timeout_seconds_is_timeout(cls, data: Any) -> Any:
        # The published repository's newer name for the deadline (it deprecates `timeout`):
        # here both name the one deadline, so code of either age runs; given both,
        # timeout_seconds wins, as it does there.
        if not isinstance(data, dict) or "timeout_seconds" not in data:
            return data
        data = dict(data)
        data["timeout"] = data.pop("timeout_seconds")
        return data

    @property
    def timeout_seconds(self) -> float:
        """The deadline in seconds: :attr:`timeout` under the published repository's newer
        name (``timeout_seconds=`` is accepted when the config is made, too)."""
        return self.timeout

    @field_validator("provider")
    @classmethod
    def _normalise_provider(cls, value: str) -> str:
        # Checked normalised, kept as written: the registry normalises for lookup only,
        # so "azure-openai" reads back as the user wrote it.
        check_provider_name(value.strip().lower().replace("-", "_"))
        return value

    @field_validator("model")
    @classmethod
    def _model_not_empty(cls, value: str) -> str:
        if not value.strip():
            # tarash's own ValidationError (not pydantic's) so that the one except clause
            # users write for bad input catches it; pydantic lets it through as is.
            raise ValidationError("model must not be empty", fallback_allowed=False)
        # The model id goes into URL paths: '?' or '#' would change what is requested.
        return check_identifier(value.strip(), "model", forbidden="?#")

    @field_validator("api_key", mode="before")
    @classmethod
    def _key_may_be_secret(cls, value: object) -> object:
        # Accepted as well: code written for tarash's earlier SecretStr field.
        return value.get_secret_value() if isinstance(value, SecretStr) else value

    @field_validator("api_key")
    @classmethod
    def _key_is_clean(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if value.strip() == _KEY_MASK:
            # A dump fed back: it holds no key, like a pickle, and likewise the key is
            # then read from the environment (the mask is never sent as one).
            return None
        return _ApiKey(clean_api_key(value))

    @field_serializer("api_key")
    def _key_is_masked(self, value: str | None) -> str | None:
        return None if value is None else _KEY_MASK

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        # The field's own repr masks the key; this covers a plain str put there by
        # model_copy(update=...) or model_construct(), which skip validation.
        for name, value in super().__repr_args__():
            yield name, (_KEY_MASK if name == "api_key" and value is not None else value)

    def __getstate__(self) -> dict[Any, Any]:
        # A pickle leaves the process (task queues, process pools, caches on disk): it
        # carries no key, and the unpickled config reads it from the environment, as a
        # config given none does. Fallback configs pickle through here too.
        state = super().__getstate__()
        values = dict(state["__dict__"])
        if values.get("api_key") is not None:
            values["api_key"] = None
        state["__dict__"] = values
        return state

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
    """Where and how to generate an image: provider, model, credentials, deadline, fallbacks.

    Its defaults are the published package's: a 120 s deadline, polls at most 2 s apart and
    at most 60 of them.
    """

    timeout: float = Field(
        default=120.0,
        gt=0,
        description="Wall-clock deadline in seconds for the whole job, submit to result.",
    )
    max_poll_attempts: int | None = Field(
        default=60,
        ge=1,
        description="Cap on status polls (None: no cap); the deadline (timeout) always applies.",
    )
    poll_interval: float = Field(
        default=2.0,
        gt=0,
        description="The longest wait between two status polls; polling starts faster.",
    )
    fallback_configs: list[ImageGenerationConfig] | None = None


# ---------------------------------------------------------------------------------------
# Requests
# ---------------------------------------------------------------------------------------


class _GenerationRequest(BaseModel):
    """What video and image requests share: the prompt, its check, images by role, and the
    capture of provider options passed as keywords.

    Only ``prompt`` is declared here: it is the first field of both requests, and pydantic
    orders a base class's fields before the subclass's own.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    prompt: str

    if TYPE_CHECKING:
        # Declared by each request, in its own place in the field order.
        image_list: list[ImageType]

    @model_validator(mode="before")
    @classmethod
    def capture_extra_fields(cls, data: Any) -> Any:
        """Move keywords that are not fields into ``extra_params`` (the published name).

        ``VideoGenerationRequest(prompt=..., auto_fix=True)`` sends ``auto_fix`` to the
        provider, with an :class:`ExtraParamsWarning` naming it; a keyword wins over an
        ``extra_params`` entry of the same name. A keyword one typo away from a field
        (``duraton_seconds``) is a :class:`ValidationError` naming the field meant.
        """
        return _capture_unknown_fields(cls, data)

    @field_validator("prompt")
    @classmethod
    def _prompt_is_sendable(cls, value: str) -> str:
        return check_text(value, "prompt")

    @model_validator(mode="after")
    def _prompt_not_empty(self) -> Self:
        # A blank prompt is refused unless the request carries what a prompt-less model
        # works from (the published package takes prompt="" for those); the model's
        # mapping then refuses it for any model that needs a prompt, before sending.
        if not self.prompt.strip() and not self._works_without_prompt():
            raise ValidationError("prompt must not be empty", fallback_allowed=False)
        return self

    def _works_without_prompt(self) -> bool:
        """Whether a blank prompt may stand: never for an image request."""
        return False

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

    def _works_without_prompt(self) -> bool:
        """A blank prompt may stand with a ``video`` (a model that moves an image by it,
        such as Wan 2.2 animate, takes no prompt) or a multi-shot ``multi_prompt`` in
        ``extra_params`` (Kling V3/O3 take it instead of the prompt)."""
        return self.video is not None or self.extra_params.get("multi_prompt") is not None


class ImageGenerationRequest(_GenerationRequest):
    """What image(s) to generate, in provider-neutral terms."""

    negative_prompt: str | None = None
    size: str | None = Field(
        default=None, description="'WIDTHxHEIGHT', e.g. '1024x1024', or 'auto'."
    )
    quality: str | None = None
    style: str | None = None
    n: int | None = Field(default=None, ge=1, le=10, description="How many images; None means one.")
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
        if value.lower() == "auto":
            return "auto"  # the model picks (OpenAI's gpt-image takes it)
        # ASCII digits only: str.isdigit() also accepts '²', which int() refuses.
        match = re.fullmatch(r"([0-9]{1,6})x([0-9]{1,6})", value.lower())
        if match is None or 0 in (int(match[1]), int(match[2])):
            raise ValidationError(
                f"size must look like '1024x1024' or be 'auto', got {value!a}",
                fallback_allowed=False,
            )
        return value.lower()

    @field_validator("quality", "style")
    @classmethod
    def _text_is_sendable(cls, value: str | None, info: ValidationInfo) -> str | None:
        return None if value is None else check_text(value, str(info.field_name))


# ---------------------------------------------------------------------------------------
# Execution metadata
# ---------------------------------------------------------------------------------------


_ADAPTERS: dict[type[Any], TypeAdapter[Any]] = {}


def _adapter(kind: type[Any]) -> TypeAdapter[Any]:
    # Built once per class (two threads racing build two equal ones: harmless).
    adapter = _ADAPTERS.get(kind)
    if adapter is None:
        adapter = _ADAPTERS[kind] = TypeAdapter(kind)
    return adapter


class _Dumpable:
    """``model_dump()`` and ``model_dump_json()`` as on pydantic models: the metadata were
    models before they became the published dataclasses, and code dumps them."""

    def model_dump(self, **options: Any) -> dict[str, Any]:
        """The fields (and computed durations) as a dict; options as pydantic's."""
        dumped: dict[str, Any] = _adapter(type(self)).dump_python(self, **options)
        return dumped

    def model_dump_json(self, **options: Any) -> str:
        """The fields (and computed durations) as JSON text; options as pydantic's."""
        return _adapter(type(self)).dump_json(self, **options).decode()


class GenerationCost(BaseModel):
    """What a generation cost, as the published repository's ``response.cost`` reports it.

    tarash's figures are estimates from the router's price table (``Router(prices=...)``,
    see docs/routing.md), never a provider's bill: ``None`` where no price is known.

    Attributes:
        amount_usd: The cost in US dollars; ``None`` when it is not known in dollars.
        raw_amount: The amount as the price table states it, in ``raw_unit``.
        raw_unit: The unit of ``raw_amount`` (the price table's currency, ``"USD"``).
    """

    model_config = ConfigDict(frozen=True)

    amount_usd: float | None = None
    raw_amount: float | None = None
    raw_unit: str | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class CostEstimate:
    """The range a generation on one provider/model is estimated to cost, in US dollars.

    Returned by ``estimate_cost(config)``: the cheapest and dearest single job the model
    offers (its shortest and longest duration, its cheapest and dearest per-second rate),
    from the router's price table. A frozen dataclass, as published.
    """

    min_usd: float
    max_usd: float
    model: str
    provider: str

    @property
    def avg_usd(self) -> float:
        """The middle of the range."""
        return (self.min_usd + self.max_usd) / 2


class HealthCheckResult(TypedDict):
    """What ``health_check`` found for one config, as the published repository shapes it
    (a dict): ``status`` is ``"ok"`` or ``"error"``, ``latency_ms`` how long the check took
    in whole milliseconds, and ``error`` (present only on an error) why. tarash adds
    ``provider``, ``model`` and, on an error, ``error_type`` (the exception's class name).
    """

    status: Literal["ok", "error"]
    latency_ms: int
    provider: str
    model: str
    error: NotRequired[str]
    error_type: NotRequired[str]


@pydantic_dataclass
class AttemptMetadata(_Dumpable):
    """What happened on one provider attempt of a generation.

    A dataclass, as published (``dataclasses.asdict``, ``replace`` and positional
    construction work), validated and serialised by pydantic inside responses. The first
    ten fields are the published ones, in order; tarash's own follow, with defaults.
    Timestamps are timezone-aware UTC.

    Attributes:
        status_code: The HTTP status of the error, if it was one.
        submit_count: Submit requests sent, retries included.
        poll_count: Status polls sent, retries included (a status stream is not polled).
        http_requests: All requests sent, retries included; a status stream counts as one.
        retries: HTTP retries made.
        adaptations: Request values changed to fit the model (``strict_parameters=False``).
        job_may_exist: The submit failed in a way that may still have created a job at
            the provider (no reply, or a 5xx other than 503); tarash could not learn its
            id to cancel it, so check the provider's dashboard.
        role: Why the attempt was started (:data:`AttemptRole`): ``"primary"``,
            ``"fallback"`` (the previous config failed or was skipped) or ``"hedge"``
            (raced alongside an attempt that had not finished after the hedge delay).
        capacity_wait_seconds: Seconds spent waiting for a concurrency slot or a create
            token of the provider's limits before the submit (part of the deadline).
        estimated_cost: What the job is estimated to cost, from the router's price table,
            in ``cost_currency``: the whole job for a submitted one, what its provider
            bills for cancelled work for a cancelled one, 0 when nothing was submitted;
            ``None`` when the price is unknown.
        cost_currency: The currency of ``estimated_cost`` (the price table's, USD).
        skip_reason: Why a ``skipped`` attempt sent nothing: an open circuit breaker, a
            spill-over after waiting for capacity, a refused hedge; ``None`` otherwise.
        read_pause_seconds: Seconds its polls and result reads waited out a pause that a
            429 to a read of the same provider set (its own, or any other call's: one
            throttled read holds back every read of that provider until its
            ``Retry-After`` ends).
        cost: ``estimated_cost`` as a :class:`GenerationCost` (the published repository's
            name), filled in when the generation's metadata is assembled; ``None`` when
            the price is unknown. A cost given when the metadata is made is kept.
    """

    provider: str
    model: str
    attempt_number: int
    started_at: datetime
    ended_at: datetime | None
    status: AttemptStatus
    error_type: str | None = None
    error_message: str | None = None
    is_retryable: bool | None = None
    request_id: str | None = None
    status_code: int | None = None
    submit_count: int = 0
    poll_count: int = 0
    http_requests: int = 0
    retries: int = 0
    adaptations: list[str] = dataclasses.field(default_factory=list)
    job_may_exist: bool = False
    role: AttemptRole = "primary"
    capacity_wait_seconds: float = 0.0
    estimated_cost: float | None = None
    cost_currency: str = "USD"
    skip_reason: str | None = None
    read_pause_seconds: float = 0.0
    cost: GenerationCost | None = None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def elapsed_seconds(self) -> float | None:
        """Seconds from ``started_at`` to ``ended_at``; None while the attempt runs."""
        if self.ended_at is None:
            return None
        return (self.ended_at - self.started_at).total_seconds()


@pydantic_dataclass
class ExecutionMetadata(_Dumpable):
    """Every attempt a generation made, in order, and how it ended.

    A dataclass like :class:`AttemptMetadata`: the five published fields first, in order
    (with defaults here), then tarash's own.
    """

    total_attempts: int = 0
    successful_attempt: int | None = None
    attempts: list[AttemptMetadata] = dataclasses.field(default_factory=list)
    fallback_triggered: bool = False
    configs_in_chain: int = 1
    started_at: datetime | None = None
    ended_at: datetime | None = None
    total_cost_usd: float | None = None
    """What every attempt is estimated to have cost together, in US dollars (failed,
    cancelled and hedged-against ones included: they are paid for too), filled in when
    the metadata is assembled; ``None`` when no attempt's cost is known."""

    @computed_field  # type: ignore[prop-decorator]
    @property
    def total_elapsed_seconds(self) -> float:
        """Seconds from the first attempt's start to the last attempt's end (0.0 with no
        attempt), as published."""
        if not self.attempts:
            return 0.0
        first_start = self.attempts[0].started_at
        last_end = max(
            (attempt.ended_at for attempt in self.attempts if attempt.ended_at is not None),
            default=first_start,
        )
        return (last_end - first_start).total_seconds()

    @property
    def final_attempt(self) -> AttemptMetadata | None:
        """The last attempt made, if any."""
        return self.attempts[-1] if self.attempts else None


# ---------------------------------------------------------------------------------------
# Responses and updates
# ---------------------------------------------------------------------------------------


class _SavableResponse(BaseModel):
    """Base for responses whose media can be saved to disk."""

    # Media bytes (a MediaContent video: OpenAI's downloaded content, inline Veo) travel in
    # JSON as base64 and are read back as bytes: UTF-8, pydantic's default, fails on them.
    model_config = ConfigDict(
        arbitrary_types_allowed=True, ser_json_bytes="base64", val_json_bytes="base64"
    )

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
        # Both responses declare these fields (in their own place in the field order).
        provider: str | None = getattr(self, "provider", None)
        model: str | None = getattr(self, "model", None)
        # A client of the provider, made again for the URL (vetted when the response was
        # made: only URLs its provider sends the key to are listed).
        download_headers = response_io.download_headers_of(provider, model, url)
        try:
            return download_headers(url)
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


def _plain_media(media: str | bytes | MediaContent) -> str | bytes:
    """A result as text or bytes: a :class:`MediaContent` dict gives its bytes."""
    return media["content"] if isinstance(media, dict) else media


class VideoGenerationResponse(_SavableResponse):
    """A finished video and how it was made.

    ``video`` is, as published, a URL or a :class:`MediaContent` dict
    (``{"content": bytes, "content_type": ...}``) where the provider answers with the bytes
    (Veo inline) or the result is only readable with the key (OpenAI's content, downloaded
    as part of the attempt); the mock and custom handlers may also give plain bytes.
    ``save(path)`` writes it to disk whatever its shape.
    """

    request_id: str
    video: ResultMedia
    content_type: str | None = None
    audio_url: str | None = None
    duration: float | None = None
    resolution: str | None = None
    aspect_ratio: str | None = None
    status: Literal["completed", "failed"] = "completed"
    is_mock: bool = Field(default=False, description="True when the mock provider made it.")
    provider: str | None = None
    model: str | None = None
    expires_at: datetime | None = Field(
        default=None, description="When the provider deletes the result URL, where known."
    )
    raw_response: dict[str, Any] = Field(default_factory=dict)
    execution_metadata: ExecutionMetadata = Field(default_factory=ExecutionMetadata)
    cost: GenerationCost | None = Field(
        default=None,
        description="What the job that made this result is estimated to have cost (the "
        "winning attempt's; execution_metadata.total_cost_usd adds the others); None when "
        "unknown.",
    )

    def _media_items(self) -> list[str | bytes]:
        return [_plain_media(self.video)]

    def save(self, path: str | Path) -> Path:
        """Stream the video to ``path`` and return it. Sync twin of :meth:`save_async`."""
        return response_io.run_sync(self.save_async, path)

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
        video = _plain_media(self.video)
        return await response_io.save_media(
            video,
            self._target(path),
            headers=self._headers_for(video),
            provider=self.provider,
            model=self.model,
        )


def _image_as_text(image: object, content_type: object) -> object:
    """An image result given as bytes (a custom handler's, a response pickled or dumped
    before ``images`` held text only) as the ``data:`` URI published responses hold."""
    if not isinstance(image, bytes | bytearray):
        return image
    mime = content_type if isinstance(content_type, str) and content_type else "image/png"
    return f"data:{mime};base64,{base64.b64encode(bytes(image)).decode('ascii')}"


class ImageGenerationResponse(_SavableResponse):
    """Finished image(s) and how they were made.

    ``images`` holds text, as published: each image's URL, or a ``data:`` URI where the
    provider answered with the bytes (Stability, Imagen and Gemini, GPT image models).
    Bytes given (by a custom handler, or in a response pickled before) become a data URI.
    """

    request_id: str
    images: list[str] = Field(
        description="Each image's URL, or a data: URI where the provider sent the bytes."
    )
    content_type: str | None = Field(
        default="image/png", description="The images' MIME type (the published default)."
    )
    revised_prompt: str | None = None
    status: Literal["completed", "failed"] = "completed"
    is_mock: bool = Field(default=False, description="True when the mock provider made it.")
    provider: str | None = None
    model: str | None = None
    expires_at: datetime | None = None
    raw_response: dict[str, Any] = Field(default_factory=dict)
    execution_metadata: ExecutionMetadata = Field(default_factory=ExecutionMetadata)
    cost: GenerationCost | None = Field(
        default=None,
        description="What the job that made this result is estimated to have cost (the "
        "winning attempt's; execution_metadata.total_cost_usd adds the others); None when "
        "unknown.",
    )

    @model_validator(mode="before")
    @classmethod
    def _bytes_as_data_uris(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("images"), list | tuple):
            content_type = data.get("content_type", "image/png")
            # A copy: the caller's dict is theirs.
            return {
                **data,
                "images": [_image_as_text(item, content_type) for item in data["images"]],
            }
        return data

    def __setstate__(self, state: dict[Any, Any]) -> None:
        # A pickle restores fields without validation: one made when images could hold
        # bytes is brought to the text shape here.
        fields = state.get("__dict__")
        if isinstance(fields, dict) and isinstance(fields.get("images"), list):
            images = [_image_as_text(item, fields.get("content_type")) for item in fields["images"]]
            state = {**state, "__dict__": {**fields, "images": images}}
        super().__setstate__(state)

    def _media_items(self) -> list[str | bytes]:
        return list(self.images)

    def save(self, path: str | Path, index: int = 0) -> Path:
        """Stream image ``index`` to ``path`` and return it. Sync twin of :meth:`save_async`."""
        return response_io.run_sync(self.save_async, path, index)

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
        return await response_io.save_media(
            image,
            self._target(path),
            headers=self._headers_for(image),
            provider=self.provider,
            model=self.model,
        )


class _GenerationUpdate(BaseModel):
    """A progress report from a running job.

    tarash fills ``provider``, ``model`` and ``attempt_number`` in every update it emits;
    a custom provider handler may build one from ``request_id``, ``status`` and ``update``
    alone, as published.
    """

    request_id: str
    status: StatusType
    progress_percent: int | None = Field(default=None, ge=0, le=100)
    queue_position: int | None = None
    provider: str | None = None
    model: str | None = None
    attempt_number: int = 1
    update: dict[str, Any] = Field(default_factory=dict)
    error: str | None = Field(default=None, description="Why the job failed, on a 'failed' update.")


class VideoGenerationUpdate(_GenerationUpdate):
    """A progress report from a running video job."""

    result: VideoGenerationResponse | None = Field(
        default=None, description="The finished video, on the final 'completed' update."
    )


class ImageGenerationUpdate(_GenerationUpdate):
    """A progress report from a running image job."""

    result: ImageGenerationResponse | None = Field(
        default=None, description="The finished images, on the final 'completed' update."
    )


SyncProgressCallback = Callable[[VideoGenerationUpdate], None]
AsyncProgressCallback = Callable[[VideoGenerationUpdate], Awaitable[None]]
ProgressCallback = SyncProgressCallback | AsyncProgressCallback
"""``on_progress`` of a video generation: a plain function or a coroutine function."""

SyncImageProgressCallback = Callable[[ImageGenerationUpdate], None]
AsyncImageProgressCallback = Callable[[ImageGenerationUpdate], Awaitable[None]]
ImageProgressCallback = SyncImageProgressCallback | AsyncImageProgressCallback
"""``on_progress`` of an image generation: a plain function or a coroutine function."""


# ---------------------------------------------------------------------------------------
# Custom providers and model-specific parameters (the published types)
# ---------------------------------------------------------------------------------------


@runtime_checkable
class ProviderHandler(Protocol):
    """What a published-style custom provider implements; register an instance with
    ``register_provider("my-provider", MyHandler())``.

    A method for a modality the provider lacks raises ``NotImplementedError`` (tarash turns
    it into a :class:`ValidationError`). ``config.api_key`` is the plain str given.
    """

    async def generate_video_async(
        self,
        config: VideoGenerationConfig,
        request: VideoGenerationRequest,
        on_progress: ProgressCallback | None = None,
    ) -> VideoGenerationResponse:
        """Generate a video; call ``on_progress`` with each update, if given."""
        ...

    def generate_video(
        self,
        config: VideoGenerationConfig,
        request: VideoGenerationRequest,
        on_progress: ProgressCallback | None = None,
    ) -> VideoGenerationResponse:
        """Generate a video, blocking."""
        ...

    async def generate_image_async(
        self,
        config: ImageGenerationConfig,
        request: ImageGenerationRequest,
        on_progress: ImageProgressCallback | None = None,
    ) -> ImageGenerationResponse:
        """Generate image(s); call ``on_progress`` with each update, if given."""
        ...

    def generate_image(
        self,
        config: ImageGenerationConfig,
        request: ImageGenerationRequest,
        on_progress: ImageProgressCallback | None = None,
    ) -> ImageGenerationResponse:
        """Generate image(s), blocking."""
        ...


class BaseVideoParams(TypedDict, total=False):
    """Base of the model-specific parameter dicts (for ``extra_params``)."""


class KlingCameraConfig(BaseModel):
    """A Kling 'simple' camera move: set one of the six, from -10 to 10."""

    model_config = ConfigDict(extra="forbid")

    horizontal: float | None = Field(default=None, ge=-10.0, le=10.0)
    vertical: float | None = Field(default=None, ge=-10.0, le=10.0)
    pan: float | None = Field(default=None, ge=-10.0, le=10.0)
    tilt: float | None = Field(default=None, ge=-10.0, le=10.0)
    roll: float | None = Field(default=None, ge=-10.0, le=10.0)
    zoom: float | None = Field(default=None, ge=-10.0, le=10.0)


class KlingCameraControl(BaseModel):
    """Kling camera control: a predefined move, or 'simple' with a :class:`KlingCameraConfig`."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["simple", "down_back", "forward_up", "right_turn_forward", "left_turn_forward"]
    config: KlingCameraConfig | None = Field(
        default=None, description="Required for 'simple', None for the other types."
    )


class KlingVideoParams(BaseVideoParams):
    """Kling's own parameters, for ``extra_params``."""

    mode: Literal["std", "pro"]
    sound: bool
    negative_prompt: str | None
    cfg_scale: float | None
    camera_control: KlingCameraControl | None


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


# ---------------------------------------------------------------------------------------
# Mock configuration (published in tarash.tarash_gateway.mock)
# ---------------------------------------------------------------------------------------

MediaContentDict = dict[str, Any]
"""``{"content": bytes, "content_type": "video/mp4"}``, the published ``MediaContent``."""


_DEFAULT_SEQUENCE: tuple[UpdateStatus, ...] = ("queued", "processing", "completed")


class MockPollingConfig(BaseModel):
    """The progress a mock job reports to ``on_progress``, step by step.

    Each status is one update; the job waits ``delay_between_updates`` seconds between two
    (through the waiter's own sleep, like a real provider's polls). The last update is the
    outcome: ``"completed"`` with the result, or ``"failed"`` with the error's text (a
    failing response's last status is replaced by ``"failed"``, as published). The job ends
    at the first ``"completed"`` or ``"failed"`` in the sequence.

    Attributes:
        enabled: When False, no updates are reported (as with ``polling=None``).
        status_sequence: The statuses reported, in order.
        delay_between_updates: Seconds between two updates (not after the last).
        progress_percentages: ``progress_percent`` of each update; by default 0 for
            queued, 50 for processing, 100 for completed, none for failed.
        custom_updates: The ``update`` dict of each update.
    """

    model_config = ConfigDict(frozen=True)

    enabled: bool = Field(default=True, description="Report the simulated updates.")
    status_sequence: list[UpdateStatus] = Field(
        default_factory=lambda: list(_DEFAULT_SEQUENCE),
        description="Ordered statuses reported to the progress callback.",
    )
    delay_between_updates: float = Field(
        default=0.5, description="Seconds between two simulated updates."
    )
    progress_percentages: list[int] | None = Field(
        default=None, description="progress_percent of each step; as long as status_sequence."
    )
    custom_updates: list[dict[str, Any]] | None = Field(
        default=None, description="The update payload of each step; as long as status_sequence."
    )

    @model_validator(mode="after")
    def _lists_match_the_sequence(self) -> MockPollingConfig:
        # ValueError (pydantic reports it naming the model), as the published package does.
        steps = len(self.status_sequence)
        for name in ("progress_percentages", "custom_updates"):
            values = getattr(self, name)
            if values and len(values) != steps:
                raise ValueError(
                    f"{name} has {len(values)} item(s); status_sequence has {steps}: "
                    "give one per status"
                )
        if self.progress_percentages and any(
            not 0 <= value <= 100 for value in self.progress_percentages
        ):
            raise ValueError("progress_percentages must each be from 0 to 100")
        delay = self.delay_between_updates
        if not math.isfinite(delay) or delay < 0:
            raise ValueError(f"delay_between_updates must be finite and >= 0, got {delay!r}")
        return self


class MockResponse(BaseModel):
    """One weighted outcome of a mock request.

    Set at most one of ``mock_response``, ``output_video`` (and/or ``output_image``,
    ``output_audio``) or ``error``; with none set, a sample matching the request is
    returned.

    Attributes:
        weight: Relative chance of this outcome among :attr:`MockConfig.responses`.
        mock_response: Returned as is, with a new ``request_id`` and ``is_mock=True`` (an
            :class:`ImageGenerationResponse` serves image configs; ours only).
        output_video: The video to return: a URL, ``data:`` URI, base64 text, bytes, a
            path or a ``{"content": bytes, "content_type": ...}`` dict.
        output_video_type: ``"url"`` returns ``output_video`` as given (bytes for a path
            or a content dict); ``"content"`` returns its bytes (a URL is downloaded).
        output_image: Ours only: the image(s) an image config gets, as ``output_video``.
        output_audio: Ours only: the audio a TTS or STS request gets (its bytes, base64 in
            the response), given as ``output_video`` is; its type is sniffed when not given.
        error: Raised instead of a result, exactly as a provider's error would be (it
            decides the fallback). A non-tarash exception is raised as a
            :class:`~tarash.tarash_gateway.errors.TarashException` chained to it.
    """

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    weight: float = Field(default=1.0, description="Relative probability; must be positive.")
    mock_response: VideoGenerationResponse | ImageGenerationResponse | None = Field(
        default=None, description="Returned as is (request_id and is_mock overwritten)."
    )
    output_video: MediaType | MediaContentDict | None = Field(
        default=None, description="The video to return instead of a sample."
    )
    output_video_type: Literal["url", "content"] = Field(
        default="url", description="'url' returns the video as given, 'content' its bytes."
    )
    output_image: MediaType | MediaContentDict | None = Field(
        default=None, description="The image to return to image configs instead of a sample."
    )
    output_audio: MediaType | MediaContentDict | None = Field(
        default=None, description="The audio to return to TTS/STS requests instead of a tone."
    )
    error: Exception | None = Field(
        default=None, description="Raised instead of returning a response."
    )

    @model_validator(mode="after")
    def _one_outcome(self) -> MockResponse:
        outputs = any(
            value is not None for value in (self.output_video, self.output_image, self.output_audio)
        )
        if self.error is not None and (self.mock_response is not None or outputs):
            raise ValueError("a MockResponse is a success or an error, not both")
        if self.mock_response is not None and outputs:
            raise ValueError("give mock_response or output_video/output_image, not both")
        if not (math.isfinite(self.weight) and self.weight > 0):
            raise ValueError(f"weight must be a positive number, got {self.weight!r}")
        for name in ("output_video", "output_image", "output_audio"):
            value = getattr(self, name)
            if isinstance(value, dict) and not isinstance(value.get("content"), bytes):
                raise ValueError(f"{name} as a dict needs 'content' bytes (MediaContent)")
        return self

    @field_serializer("error", when_used="json")
    def _error_as_text(self, error: Exception | None) -> str | None:
        # JSON cannot hold an exception; its class and message say what it was.
        return None if error is None else f"{type(error).__name__}: {error}"


class MockConfig(BaseModel):
    """Turns the mock provider on for a config (``config.mock``).

    Attributes:
        enabled: True to answer with the mock instead of the provider (required).
        responses: The outcomes, one picked per request by weight; by default one
            success with a sample matching the request.
        polling: The progress updates to report; ``None`` reports none.
    """

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    enabled: bool = Field(description="True activates the mock provider.")
    responses: list[MockResponse] | None = Field(
        default=None, description="Pool of outcomes; by default one auto-matched success."
    )
    polling: MockPollingConfig | None = Field(
        default=None, description="Simulated progress updates; None reports none."
    )

    @model_validator(mode="before")
    @classmethod
    def _default_response(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("enabled") and not data.get("responses"):
            # A copy: the caller's dict is theirs.
            return {**data, "responses": [MockResponse()]}
        return data


# Their published module, where users import them from (and where a pickle finds them).
for _mock_type in (MockPollingConfig, MockResponse, MockConfig):
    _mock_type.__module__ = "tarash.tarash_gateway.mock"
del _mock_type

# The configs name MockConfig, defined after them (it names the responses).
VideoGenerationConfig.model_rebuild()
ImageGenerationConfig.model_rebuild()

# ---------------------------------------------------------------------------------------
# Text-to-speech (TTS) and speech-to-speech (STS)
# ---------------------------------------------------------------------------------------
# tarash has no built-in audio provider: audio is made by a handler registered with
# register_provider (its generate_tts[_async] and generate_sts[_async] methods) or by the
# mock. As on video and image requests, a request's unknown keyword goes to extra_params, a
# near-miss of a field is an error naming it, and the config's api_key is masked in reprs
# and dumps and left out of pickles.

# The published table, as published: an unknown format (case included) is MP3's type.
_CONTENT_TYPES: dict[str, str] = {
    "mp3": "audio/mpeg",
    "wav": "audio/wav",
    "pcm": "audio/pcm",
    "flac": "audio/flac",
    "opus": "audio/opus",
    "ulaw": "audio/basic",
    "mulaw": "audio/basic",
    "alaw": "audio/basic",
    "aac": "audio/aac",
    "linear16": "audio/pcm",
}

MAX_SAMPLE_RATE = 384_000
"""The highest sample rate accepted (Hz): above any codec's or provider's offer."""


def format_to_content_type(format: str) -> str:
    """Return the MIME type of an audio format name, e.g. ``"wav"`` -> ``"audio/wav"``.

    Args:
        format: ``mp3``, ``wav``, ``pcm``, ``linear16``, ``flac``, ``opus``, ``aac``,
            ``ulaw``, ``mulaw`` or ``alaw`` (lower case, as published).

    Returns:
        The MIME type; ``"audio/mpeg"`` for any other name, as published.
    """
    return _CONTENT_TYPES.get(format, "audio/mpeg")


class AudioOutputFormat(_StrictFieldsModel):
    """The audio a TTS or STS request asks for: codec, sample rate and bitrate.

    Example:
        ``AudioOutputFormat(format="wav", sample_rate=24000)``
    """

    _PASSTHROUGH_HINT: ClassVar[str] = (
        "Other codec options go in the request's extra_params={...}, sent to the handler."
    )

    format: str = Field(description="Codec: 'mp3', 'wav', 'pcm', 'flac', 'opus', ...")
    sample_rate: int | None = Field(default=None, description="Sample rate in Hz, e.g. 44100.")
    bitrate: int | None = Field(default=None, description="Bitrate in kbps, e.g. 128.")

    @field_validator("format")
    @classmethod
    def _format_is_a_name(cls, value: str) -> str:
        if not value.strip():
            raise ValidationError("output_format.format must not be empty", fallback_allowed=False)
        return check_identifier(value, "output_format.format")

    @field_validator("sample_rate")
    @classmethod
    def _sample_rate_is_sane(cls, value: int | None) -> int | None:
        if value is not None and not 1 <= value <= MAX_SAMPLE_RATE:
            raise ValidationError(
                f"output_format.sample_rate must be from 1 to {MAX_SAMPLE_RATE} Hz, got {value}",
                fallback_allowed=False,
            )
        return value

    @field_validator("bitrate")
    @classmethod
    def _bitrate_is_positive(cls, value: int | None) -> int | None:
        if value is not None and value <= 0:
            raise ValidationError(
                f"output_format.bitrate must be a positive number of kbps, got {value}",
                fallback_allowed=False,
            )
        return value


def _default_output_format() -> AudioOutputFormat:
    # The published default: MP3 at 44.1 kHz, 128 kbps.
    return AudioOutputFormat(format="mp3", sample_rate=44100, bitrate=128)


# ---------------------------------------------------------------------------------------
# Config
# ---------------------------------------------------------------------------------------


class AudioGenerationConfig(_GenerationConfig):
    """Where and how to make speech: provider, model, credentials, deadline, fallbacks.

    The provider must be one registered with ``register_provider`` whose handler
    implements ``generate_tts[_async]`` (or ``generate_sts[_async]``); tarash's built-in
    providers make video and images only. tarash applies ``timeout`` (the handler is
    stopped there), ``fallback_on`` and ``mock``; the other fields shared with the video
    config (``base_url``, ``poll_interval``, ``max_retries``, ...) reach the handler in
    the config it is given, for it to use as it sees fit.

    Its default deadline is the published package's: 240 s.

    Example:
        ``AudioGenerationConfig(provider="my-tts", model="voice-v2", api_key="...")``
    """

    timeout: float = Field(
        default=240.0,
        gt=0,
        description="Wall-clock deadline in seconds for the handler's whole call.",
    )
    fallback_configs: list[AudioGenerationConfig] | None = None


# ---------------------------------------------------------------------------------------
# Requests
# ---------------------------------------------------------------------------------------


class _AudioRequest(BaseModel):
    """What TTS and STS requests share: the capture of provider options passed as keywords.

    No field is declared here: pydantic orders a base class's fields before the subclass's
    own, and each request keeps the published field order.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    @model_validator(mode="before")
    @classmethod
    def capture_extra_fields(cls, data: Any) -> Any:
        """Move keywords that are not fields into ``extra_params`` (the published name).

        ``TTSRequest(text=..., speed=1.2)`` sends ``speed`` to the handler, with an
        :class:`~tarash.tarash_gateway.models.ExtraParamsWarning` naming it; a keyword one
        typo away from a field (``voice_idd``) is a :class:`ValidationError` naming it.
        """
        return _capture_unknown_fields(cls, data)

    # Declared on each request, so the fields need not exist here.
    @field_validator("voice_id", "language_code", check_fields=False)
    @classmethod
    def _text_is_sendable(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return None
        if not value.strip():
            raise ValidationError(f"{info.field_name} must not be empty", fallback_allowed=False)
        return check_text(value, str(info.field_name))


class TTSRequest(_AudioRequest):
    """What to say, in whose voice, in what audio format.

    Example:
        ``TTSRequest(text="Hello there", voice_id="rachel",
        output_format=AudioOutputFormat(format="wav"))``
    """

    text: str = Field(description="The text to speak.")
    voice_id: str | None = Field(default=None, description="The provider's voice id.")
    output_format: AudioOutputFormat = Field(
        default_factory=_default_output_format,
        description="Codec, sample rate (Hz) and bitrate (kbps); MP3 at 44.1 kHz by default.",
    )
    language_code: str | None = Field(default=None, description="A language hint, e.g. 'en'.")
    voice_settings: dict[str, Any] | None = Field(
        default=None, description="Provider-specific voice settings (stability, speed, ...)."
    )
    extra_params: dict[str, Any] = Field(
        default_factory=dict, description="Provider parameters with no field of their own."
    )

    @field_validator("text")
    @classmethod
    def _text_not_empty(cls, value: str) -> str:
        if not value.strip():
            raise ValidationError("text must not be empty", fallback_allowed=False)
        return check_text(value, "text")


class STSRequest(_AudioRequest):
    """Speech to say again in another voice.

    ``audio`` is any media input the video requests take: an http(s) URL, a ``data:``
    URI, base64 text, bytes, a path or a ``{"content": bytes, "content_type": ...}`` dict.
    It reaches the handler as given.
    """

    audio: MediaType = Field(description="The input speech.")
    voice_id: str = Field(description="The provider's id of the voice to speak in.")
    output_format: AudioOutputFormat = Field(
        default_factory=_default_output_format,
        description="Codec, sample rate (Hz) and bitrate (kbps); MP3 at 44.1 kHz by default.",
    )
    voice_settings: dict[str, Any] | None = Field(
        default=None, description="Provider-specific voice settings (stability, speed, ...)."
    )
    extra_params: dict[str, Any] = Field(
        default_factory=dict, description="Provider parameters with no field of their own."
    )

    @field_validator("audio")
    @classmethod
    def _audio_not_empty(cls, value: object) -> object:
        empty = (isinstance(value, str | bytes) and not value) or (
            isinstance(value, dict) and not value.get("content")
        )
        if empty:
            raise ValidationError("audio must not be empty", fallback_allowed=False)
        return value


# ---------------------------------------------------------------------------------------
# Responses and updates
# ---------------------------------------------------------------------------------------


def _audio_as_base64(value: object) -> object:
    # A handler that returns the raw bytes gets them encoded, as the field promises
    # (pydantic would otherwise decode them as UTF-8 text).
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode("ascii")
    return value


class _AudioResponse(BaseModel):
    """What TTS and STS responses share (every field: the two differ in name only)."""

    request_id: str
    audio: str = Field(description="The audio, base64-encoded (bytes given are encoded).")
    content_type: str | None = Field(default=None, description="Its MIME type, e.g. 'audio/wav'.")
    duration: float | None = Field(default=None, description="Its length in seconds, if known.")
    status: Literal["completed", "failed"] = "completed"
    is_mock: bool = Field(default=False, description="True when the mock provider made it.")
    provider: str | None = None
    model: str | None = None
    raw_response: dict[str, Any] = Field(default_factory=dict)
    execution_metadata: ExecutionMetadata = Field(default_factory=ExecutionMetadata)
    cost: GenerationCost | None = Field(
        default=None,
        description="What the job that made this result is estimated to have cost (the "
        "winning attempt's; execution_metadata.total_cost_usd adds the others); None when "
        "unknown.",
    )

    @field_validator("audio", mode="before")
    @classmethod
    def _bytes_become_base64(cls, value: object) -> object:
        return _audio_as_base64(value)

    def audio_bytes(self) -> bytes:
        """The audio decoded from base64.

        Raises:
            ValidationError: ``audio`` is not base64 (a handler put a URL there, say).
        """
        try:
            return base64.b64decode(self.audio, validate=True)
        except ValueError:
            raise ValidationError(
                "audio is not base64 text", provider=self.provider, model=self.model
            ) from None


class TTSResponse(_AudioResponse):
    """Speech made from text, and how it was made (``execution_metadata``)."""


class STSResponse(_AudioResponse):
    """Speech made from speech, and how it was made (``execution_metadata``)."""


class TTSUpdate(_GenerationUpdate):
    """A progress report from a running text-to-speech call."""

    result: TTSResponse | None = Field(
        default=None, description="The finished speech, on the final 'completed' update."
    )


class STSUpdate(_GenerationUpdate):
    """A progress report from a running speech-to-speech call."""

    result: STSResponse | None = Field(
        default=None, description="The finished speech, on the final 'completed' update."
    )


SyncTTSProgressCallback = Callable[[TTSUpdate], None]
AsyncTTSProgressCallback = Callable[[TTSUpdate], Awaitable[None]]
TTSProgressCallback = SyncTTSProgressCallback | AsyncTTSProgressCallback
"""``on_progress`` of a text-to-speech call: a plain function or a coroutine function."""

SyncSTSProgressCallback = Callable[[STSUpdate], None]
AsyncSTSProgressCallback = Callable[[STSUpdate], Awaitable[None]]
STSProgressCallback = SyncSTSProgressCallback | AsyncSTSProgressCallback
"""``on_progress`` of a speech-to-speech call: a plain function or a coroutine function."""


# ---------------------------------------------------------------------------------------
# Batches with results in input order (the published repository's generate_*_batch)
# ---------------------------------------------------------------------------------------

# Unconstrained, as published: a bare BatchItem(request=...) takes any request; the
# batch functions check the kinds they run.
_BatchConfigT = TypeVar("_BatchConfigT")
_BatchRequestT = TypeVar("_BatchRequestT")
_BatchResponseT = TypeVar("_BatchResponseT")


class BatchItem(BaseModel, Generic[_BatchConfigT, _BatchRequestT]):
    """One request of ``generate_video_batch`` / ``generate_image_batch``.

    Attributes:
        request: What to generate.
        config: The config for this item alone; ``None`` (default): the batch's config.
    """

    request: _BatchRequestT
    config: _BatchConfigT | None = None


class BatchItemResult(BaseModel, Generic[_BatchResponseT]):
    """How one item of a batch ended: its response or its error, never both.

    Attributes:
        index: The item's position in the batch's input, from 0.
        status: ``"completed"`` or ``"failed"``.
        response: The response, when it completed.
        error: Why it failed, when it did (a tarash exception, never raised by the batch).
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    index: int
    status: Literal["completed", "failed"]
    response: _BatchResponseT | None = None
    error: TarashException | None = None


class BatchResponse(BaseModel, Generic[_BatchResponseT]):
    """Every item's result, in input order, and the counts.

    Attributes:
        results: One :class:`BatchItemResult` per item, ``results[i].index == i``.
        total: The number of items.
        succeeded: How many completed.
        failed: How many failed.
    """

    results: list[BatchItemResult[_BatchResponseT]] = Field(default_factory=list)
    total: int = 0
    succeeded: int = 0
    failed: int = 0

    @property
    def total_cost_usd(self) -> float | None:
        """What the completed items are estimated to have cost (each one's
        ``execution_metadata.total_cost_usd``); ``None`` when none is known."""
        known = []
        for result in self.results:
            metadata = getattr(result.response, "execution_metadata", None)
            cost = getattr(metadata, "total_cost_usd", None)
            if isinstance(cost, int | float):
                known.append(float(cost))
        return sum(known) if known else None


class BatchCompletionUpdate(BaseModel, Generic[_BatchResponseT]):
    """Passed to ``on_batch_progress`` as each item of a batch ends.

    Attributes:
        index: The item that ended.
        item_result: How it ended.
        completed_count: Items ended so far, this one included.
        total_count: Items in the batch.
    """

    index: int
    item_result: BatchItemResult[_BatchResponseT]
    completed_count: int
    total_count: int


VideoBatchItem = BatchItem[VideoGenerationConfig, VideoGenerationRequest]
ImageBatchItem = BatchItem[ImageGenerationConfig, ImageGenerationRequest]
TTSBatchItem = BatchItem[AudioGenerationConfig, TTSRequest]
STSBatchItem = BatchItem[AudioGenerationConfig, STSRequest]
TTSBatchItemResult = BatchItemResult[TTSResponse]
STSBatchItemResult = BatchItemResult[STSResponse]
TTSBatchResponse = BatchResponse[TTSResponse]
STSBatchResponse = BatchResponse[STSResponse]
TTSBatchCompletionUpdate = BatchCompletionUpdate[TTSResponse]
STSBatchCompletionUpdate = BatchCompletionUpdate[STSResponse]
VideoBatchItemResult = BatchItemResult[VideoGenerationResponse]
ImageBatchItemResult = BatchItemResult[ImageGenerationResponse]
VideoBatchResponse = BatchResponse[VideoGenerationResponse]
ImageBatchResponse = BatchResponse[ImageGenerationResponse]
VideoBatchCompletionUpdate = BatchCompletionUpdate[VideoGenerationResponse]
ImageBatchCompletionUpdate = BatchCompletionUpdate[ImageGenerationResponse]
# pydantic's parametrised classes carry no docstring of their own.
VideoBatchItem.__doc__ = "An item of ``generate_video_batch``: a request and an optional config."
ImageBatchItem.__doc__ = "An item of ``generate_image_batch``: a request and an optional config."
TTSBatchItem.__doc__ = "An item of ``generate_tts_batch``: a request and an optional config."
STSBatchItem.__doc__ = "An item of ``generate_sts_batch``: a request and an optional config."
TTSBatchItemResult.__doc__ = "How one item of a text-to-speech batch ended."
STSBatchItemResult.__doc__ = "How one item of a speech-to-speech batch ended."
TTSBatchResponse.__doc__ = "What ``generate_tts_batch`` returns: results in input order."
STSBatchResponse.__doc__ = "What ``generate_sts_batch`` returns: results in input order."
TTSBatchCompletionUpdate.__doc__ = "What a text-to-speech batch's ``on_batch_progress`` receives."
STSBatchCompletionUpdate.__doc__ = "What a speech-to-speech batch's ``on_batch_progress`` receives."
VideoBatchItemResult.__doc__ = "How one item of a video batch ended."
ImageBatchItemResult.__doc__ = "How one item of an image batch ended."
VideoBatchResponse.__doc__ = "What ``generate_video_batch`` returns: results in input order."
ImageBatchResponse.__doc__ = "What ``generate_image_batch`` returns: results in input order."
VideoBatchCompletionUpdate.__doc__ = "What a video batch's ``on_batch_progress`` receives."
ImageBatchCompletionUpdate.__doc__ = "What an image batch's ``on_batch_progress`` receives."
