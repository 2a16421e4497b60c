"""Checks of the public functions' own arguments, made before anything is sent.

A config or request of the wrong kind (an image request given to ``generate_video``, an
image config among a video config's fallbacks) would otherwise be submitted and paid for,
and fail only when its result is read; a ``wait`` timeout of NaN would fail only after the
job had been cancelled. Each public function calls one of these first.
"""

from __future__ import annotations

from typing import Literal

from pydantic import SecretStr

from tarash.tarash_gateway._validate import (
    MIN_POLL_INTERVAL,
    check_seconds,
    clean_api_key,
)
from tarash.tarash_gateway.errors import ValidationError
from tarash.tarash_gateway.models import (
    AudioGenerationConfig,
    ImageGenerationConfig,
    ImageGenerationRequest,
    JobHandle,
    STSRequest,
    TTSRequest,
    VideoGenerationConfig,
    VideoGenerationRequest,
)

__all__ = [
    "check_generation_arguments",
    "check_handle_arguments",
    "check_wait_arguments",
]

Kind = Literal["video", "image", "tts", "sts"]

_CONFIG_CLASS: dict[
    Kind, type[VideoGenerationConfig | ImageGenerationConfig | AudioGenerationConfig]
] = {
    "video": VideoGenerationConfig,
    "image": ImageGenerationConfig,
    "tts": AudioGenerationConfig,
    "sts": AudioGenerationConfig,
}
_REQUEST_CLASS: dict[
    Kind, type[VideoGenerationRequest | ImageGenerationRequest | TTSRequest | STSRequest]
] = {
    "video": VideoGenerationRequest,
    "image": ImageGenerationRequest,
    "tts": TTSRequest,
    "sts": STSRequest,
}


def _invalid(message: str) -> ValidationError:
    return ValidationError(message, fallback_allowed=False)


def _wrong_type(function: str, argument: str, expected: type, got: object) -> ValidationError:
    return _invalid(
        f"{function}() takes a {expected.__name__} as {argument}, got "
        f"{type(got).__name__}; nothing was submitted"
    )


def _check_config_chain(function: str, kind: Kind, config: object) -> None:
    """Every config of the chain, fallbacks included, must be of the function's kind."""
    expected = _CONFIG_CLASS[kind]
    seen: list[object] = []
    pending: list[tuple[str, object]] = [("config", config)]
    while pending:
        path, candidate = pending.pop(0)
        if any(candidate is visited for visited in seen):
            continue
        seen.append(candidate)
        if not isinstance(candidate, expected):
            raise _wrong_type(function, path, expected, candidate)
        fallbacks = candidate.fallback_configs
        if fallbacks is None:
            continue
        # model_copy(update=...) and model_construct() skip pydantic's own checks.
        if not isinstance(fallbacks, list):
            raise _invalid(f"{function}(): {path}.fallback_configs must be a list or None")
        pending.extend(
            (f"{path}.fallback_configs[{index}]", fallback)
            for index, fallback in enumerate(fallbacks)
        )


def check_generation_arguments(
    function: str,
    kind: Kind,
    config: object,
    request: object,
    on_progress: object = None,
) -> None:
    """Check the arguments of ``generate_*`` and ``submit_*`` against the function's kind.

    Args:
        function: The public function's name, for the message.
        kind: The kind of job it makes.
        config: Its ``config`` argument; fallbacks are checked too.
        request: Its ``request`` argument.
        on_progress: Its ``on_progress`` argument, when it has one.

    Raises:
        ValidationError: An argument is of the wrong class or kind; it is named.
    """
    _check_config_chain(function, kind, config)
    expected = _REQUEST_CLASS[kind]
    if not isinstance(request, expected):
        raise _wrong_type(function, "request", expected, request)
    if on_progress is not None and not callable(on_progress):
        raise _invalid(
            f"{function}() takes a function (or None) as on_progress, got "
            f"{type(on_progress).__name__}"
        )


def check_handle_arguments(
    function: str, handle: object, config: object, api_key: object
) -> str | None:
    """Check the arguments of ``wait``/``status``/``cancel``; return the cleaned key.

    Raises:
        ValidationError: The handle is not a :class:`JobHandle`, the config not a config,
            or the key malformed (the message does not quote it).
    """
    if not isinstance(handle, JobHandle):
        raise _invalid(
            f"{function}() takes a JobHandle as handle, got {type(handle).__name__}; "
            "rebuild a stored one with JobHandle.model_validate_json(text)"
        )
    if config is not None and not isinstance(config, VideoGenerationConfig | ImageGenerationConfig):
        raise _invalid(
            f"{function}() takes a VideoGenerationConfig or ImageGenerationConfig (or None) "
            f"as config, got {type(config).__name__}"
        )
    if api_key is None:
        return None
    if isinstance(api_key, SecretStr):
        api_key = api_key.get_secret_value()
    if not isinstance(api_key, str):
        raise _invalid(f"{function}() takes a str as api_key, got {type(api_key).__name__}")
    return clean_api_key(api_key)


def check_wait_arguments(
    function: str,
    handle: object,
    config: object,
    api_key: object,
    timeout: object,
    poll_interval: object,
    on_progress: object,
) -> str | None:
    """Check the arguments of ``wait`` before any request (or remote cancel) is made.

    Returns:
        The cleaned ``api_key``.

    Raises:
        ValidationError: As :func:`check_handle_arguments`, or ``timeout`` or
            ``poll_interval`` is not a finite, positive number of seconds (at most 30 days).
    """
    key = check_handle_arguments(function, handle, config, api_key)
    if timeout is not None:
        check_seconds(timeout, "timeout")
    check_seconds(poll_interval, "poll_interval", minimum=MIN_POLL_INTERVAL)
    if on_progress is not None and not callable(on_progress):
        raise _invalid(
            f"{function}() takes a function (or None) as on_progress, got "
            f"{type(on_progress).__name__}"
        )
    return key
