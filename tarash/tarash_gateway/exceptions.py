"""The published ``tarash.tarash_gateway.exceptions`` module.

The classes are :mod:`tarash.tarash_gateway.errors`'s own (the same objects, so ``except
exceptions.X`` catches what tarash raises), with the published helpers:
:func:`is_retryable_error` and the :func:`handle_video_generation_errors` (and
:func:`handle_audio_generation_errors`) decorators for custom provider handlers.
"""

from __future__ import annotations

import functools
import inspect
import logging
import traceback
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, cast

import pydantic
from pydantic import SecretStr

from tarash.tarash_gateway.engine._redact import redact, scrub_exception
from tarash.tarash_gateway.errors import (
    AuthenticationError,
    ContentModerationError,
    FallbackPolicy,
    GenerationFailedError,
    HTTPConnectionError,
    HTTPError,
    InsufficientCreditError,
    JobCancelledError,
    NotFoundError,
    ProviderServerError,
    RateLimitError,
    TarashException,
    TimeoutError,
    ValidationError,
    falls_back,
    is_retryable_error,
)

__all__ = [
    "AuthenticationError",
    "ContentModerationError",
    "FallbackPolicy",
    "GenerationFailedError",
    "HTTPConnectionError",
    "HTTPError",
    "InsufficientCreditError",
    "JobCancelledError",
    "NotFoundError",
    "ProviderServerError",
    "RateLimitError",
    "TarashException",
    "TimeoutError",
    "ValidationError",
    "falls_back",
    "handle_audio_generation_errors",
    "handle_video_generation_errors",
    "is_retryable_error",
]

logger = logging.getLogger("tarash.tarash_gateway.exceptions")

F = TypeVar("F", bound=Callable[..., Any])


def _config_secrets(config: Any) -> list[str]:
    # A published-style handler's config may hold the key as a plain str or a SecretStr.
    key = getattr(config, "api_key", None)
    if isinstance(key, SecretStr):
        key = key.get_secret_value()
    return [key] if isinstance(key, str) and key else []


def _wrapped(config: Any, original: Exception, what: str = "video") -> TarashException:
    """The TarashException standing for ``original``, scrubbed of the config's key."""
    secrets = _config_secrets(config)
    # Made here, while ``original`` is being handled: format_exc() is its traceback.
    error = TarashException(
        f"Unknown error while generating {what}: {original}",
        provider=getattr(config, "provider", None),
        model=getattr(config, "model", None),
        raw_response={
            "error": str(original),
            "error_type": type(original).__name__,
            "traceback": traceback.format_exc(),
        },
    )
    # The key may be in the handler's message or its traceback (a header it built, say);
    # the original is scrubbed too, since it travels on as __cause__.
    scrub_exception(original, secrets)
    scrub_exception(error, secrets)
    logger.error(
        "unknown error in %s/%s handler: %s",
        error.provider,
        error.model,
        redact(f"{type(original).__name__}: {original}", secrets),
    )
    return error


def handle_video_generation_errors(func: F) -> F:
    """Decorate a handler's ``generate_video``/``generate_video_async`` (or image) method.

    The method is called ``(self, config, request, on_progress=None)``. A tarash error or a
    pydantic ``ValidationError`` it raises passes through unchanged; any other exception
    becomes a :class:`TarashException` with the config's provider and model, chained
    ``from`` the original, whose ``raw_response`` holds ``error``, ``error_type`` and
    ``traceback``. The config's key is scrubbed from the message and the traceback.
    Works on sync and async methods alike.

    Args:
        func: The method to wrap.

    Returns:
        The wrapped method, sync or async as ``func`` is.

    Example:
        ```python
        class MyProvider:
            @handle_video_generation_errors
            async def generate_video_async(self, config, request, on_progress=None): ...
        ```
    """
    return _guarded(func, "video")


def handle_audio_generation_errors(func: F) -> F:
    """Decorate a handler's ``generate_tts``/``generate_sts`` method (sync or async).

    As :func:`handle_video_generation_errors`, the message reading "Unknown error while
    generating audio: ...".

    Args:
        func: The method to wrap.

    Returns:
        The wrapped method, sync or async as ``func`` is.
    """
    return _guarded(func, "audio")


def _guarded(func: F, what: str) -> F:
    if inspect.iscoroutinefunction(func):

        @functools.wraps(func)
        async def async_wrapper(
            self: Any, config: Any, request: Any, on_progress: Any = None
        ) -> Any:
            try:
                return await cast("Callable[..., Awaitable[Any]]", func)(
                    self, config, request, on_progress
                )
            except (TarashException, pydantic.ValidationError):
                raise
            except Exception as exc:
                raise _wrapped(config, exc, what) from exc

        return cast("F", async_wrapper)

    @functools.wraps(func)
    def sync_wrapper(self: Any, config: Any, request: Any, on_progress: Any = None) -> Any:
        try:
            return func(self, config, request, on_progress)
        except (TarashException, pydantic.ValidationError):
            raise
        except Exception as exc:
            raise _wrapped(config, exc, what) from exc

    return cast("F", sync_wrapper)
