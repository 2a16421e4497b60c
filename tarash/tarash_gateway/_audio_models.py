"""Text-to-speech (TTS) and speech-to-speech (STS): config, requests, responses, updates.

The names, fields and defaults of the published tarash-gateway package, re-exported from
:mod:`tarash.tarash_gateway.models`. tarash has no built-in audio provider: audio is made
by a handler registered with ``register_provider`` (its ``generate_tts[_async]`` and
``generate_sts[_async]`` methods) or by the mock (``mock=MockConfig(enabled=True)``).

As on video and image requests, a request's unknown keyword goes to ``extra_params`` with
an :class:`~tarash.tarash_gateway.models.ExtraParamsWarning`, a near-miss of a field is an
error naming it, and the config's ``api_key`` reads back as the str given but is masked
in reprs and dumps and left out of pickles.
"""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from tarash.tarash_gateway._validate import check_identifier, check_text
from tarash.tarash_gateway.errors import ValidationError
from tarash.tarash_gateway.models import (
    ExecutionMetadata,
    MediaType,
    MockConfig,
    _capture_unknown_fields,
    _GenerationConfig,
    _GenerationUpdate,
    _StrictFieldsModel,
)

__all__ = [
    "AsyncSTSProgressCallback",
    "AsyncTTSProgressCallback",
    "AudioGenerationConfig",
    "AudioOutputFormat",
    "STSProgressCallback",
    "STSRequest",
    "STSResponse",
    "STSUpdate",
    "SyncSTSProgressCallback",
    "SyncTTSProgressCallback",
    "TTSProgressCallback",
    "TTSRequest",
    "TTSResponse",
    "TTSUpdate",
    "format_to_content_type",
]

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

# The inherited ``mock`` field names MockConfig, which this module's namespace must supply.
AudioGenerationConfig.model_rebuild(_types_namespace={"MockConfig": MockConfig})
