"""The provider registry: a provider name (``config.provider``) -> what serves it.

One registry holds two kinds of entry:

- a :class:`~tarash.tarash_gateway.providers._base.ProviderClient` subclass (the built-ins,
  imported on first use so a provider module's import cost is paid only by those who use
  it, and any third party's): tarash's submit/poll/fetch/cancel protocol;
- a *handler* object as the published tarash-gateway package defines one (methods
  ``generate_video``, ``generate_video_async``, ``generate_image``, ``generate_image_async``,
  each returning a whole response; :mod:`~tarash.tarash_gateway.providers._handlers` says
  what counts as one), run by :mod:`tarash.tarash_gateway.compat._handler`.

:func:`register_provider` adds either; the last registration of a name wins, a built-in's
included. Names are compared normalised (:func:`provider_key`: surrounding spaces, case and
``-`` versus ``_`` do not count), so ``"azure-openai"`` and ``"Azure_OpenAI"`` name one
provider; configs, metadata and errors keep the name as written. The router's tables
(limits, breakers, prices, learned latencies) are keyed by the same normalised name
(:func:`table_key`, :func:`normalise_table`), so a limit on ``"fal"`` holds for a config
spelt ``"FAL"`` or ``"fal-ai"``.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable, Mapping
from typing import TypeVar
from urllib.parse import urlsplit

from pydantic import SecretStr

from tarash.tarash_gateway._response_io import install_response_io
from tarash.tarash_gateway._validate import check_provider_name, provider_key
from tarash.tarash_gateway.errors import ValidationError
from tarash.tarash_gateway.providers._base import ProviderClient, ProviderSettings
from tarash.tarash_gateway.providers._handlers import (
    HANDLER_METHODS,
    BuiltInHandler,
    implements_any,
)

__all__ = [
    "available_providers",
    "get_provider_class",
    "get_provider_entry",
    "get_provider_handler",
    "normalise_table",
    "provider_key",
    "register_provider",
    "table_key",
]

V = TypeVar("V")

ProviderEntry = type[ProviderClient] | object
"""What serves a provider name: a client class, or a published-style handler instance."""

_BUILTIN: dict[str, str] = {
    "fal": "tarash.tarash_gateway.providers.fal:FalClient",
    "replicate": "tarash.tarash_gateway.providers.replicate:ReplicateClient",
    "stability": "tarash.tarash_gateway.providers.stability:StabilityClient",
    "openai": "tarash.tarash_gateway.providers.openai:OpenAIClient",
    "azure_openai": "tarash.tarash_gateway.providers.azure_openai:AzureOpenAIClient",
    "google": "tarash.tarash_gateway.providers.google:GoogleClient",
    "runway": "tarash.tarash_gateway.providers.runway:RunwayClient",
    "xai": "tarash.tarash_gateway.providers.xai:XaiClient",
    "openrouter": "tarash.tarash_gateway.providers.openrouter:OpenRouterClient",
}
# key -> entry, and key -> the name as it was registered (for available_providers).
_registered: dict[str, ProviderEntry] = {}
_written: dict[str, str] = {}
_lock = threading.Lock()


def table_key(key: str) -> str:
    """The key of a row of a per-provider table (``"provider"`` or ``"provider/model"``):
    its provider part as :func:`provider_key` reads it, its model as written (model ids
    are case-sensitive). ``"FAL/fal-ai/veo3"`` and ``"fal-ai/fal-ai/veo3"`` are
    ``"fal/fal-ai/veo3"``."""
    provider, slash, model = key.partition("/")
    return provider_key(provider) + slash + model


def normalise_table(rows: Mapping[str, V], table: str) -> dict[str, V]:
    """``rows`` keyed by :func:`table_key`: how the router's tables hold what users give.

    Args:
        rows: ``{"provider" or "provider/model": row}`` as the user spelt it.
        table: The table's name, for messages (``"limits"``, ``"prices"``).

    Raises:
        ValidationError: A key is not a string naming a provider, or two keys name the
            same row (``"fal"`` and ``"FAL"``): which one should win could only be guessed.
    """
    normalised: dict[str, V] = {}
    written: dict[str, str] = {}
    for key, row in rows.items():
        if not isinstance(key, str) or not key.partition("/")[0].strip():
            raise ValidationError(
                f"{table} keys are 'provider' or 'provider/model', got {key!r}",
                fallback_allowed=False,
            )
        normal = table_key(key)
        if normal in written:
            raise ValidationError(
                f"{table} keys {written[normal]!r} and {key!r} name the same provider "
                f"({normal!r}); give it once",
                fallback_allowed=False,
            )
        written[normal] = key
        normalised[normal] = row
    return normalised


def _is_client_class(value: object) -> bool:
    return isinstance(value, type) and issubclass(value, ProviderClient)


def register_provider(provider: str, handler: type[ProviderClient] | object) -> None:
    """Make ``handler`` serve every config whose ``provider`` is ``provider``.

    Registrations are global (every thread, every later call) and replace an earlier
    registration of the same name, a built-in's included (``register_provider("fal", h)``
    routes all fal configs to ``h``).

    Args:
        provider: The name configs will use, e.g. ``"my-provider"``. Looked up
            normalised: ``"my_provider"`` and ``"My-Provider"`` find it too.
        handler: Either a :class:`ProviderClient` subclass (tarash's job protocol: jobs it
            runs can be submitted, waited on and cancelled), or an *instance* of a
            handler written for the published package: an object with
            ``generate_video(config, request, on_progress=None)``,
            ``async generate_video_async(...)``, ``generate_image(...)`` and
            ``async generate_image_async(...)`` (and, for audio, ``generate_tts[_async]``
            and ``generate_sts[_async]``), raising ``NotImplementedError`` for what it
            does not do (a missing method counts as not implemented).

    Raises:
        ValidationError: ``provider`` is not a provider name, or ``handler`` is neither
            of the above (a handler class given instead of an instance, say).

    Example:
        >>> class EchoHandler:
        ...     async def generate_video_async(self, config, request, on_progress=None):
        ...         ...
        >>> register_provider("my-provider", EchoHandler())  # doctest: +SKIP
    """
    if not isinstance(provider, str):
        raise ValidationError(
            f"provider must be a str, got {type(provider).__name__}", fallback_allowed=False
        )
    key = provider_key(provider)
    check_provider_name(key)
    entry: ProviderEntry
    if isinstance(handler, BuiltInHandler):
        # registry.get_handler's wrapper of a client class: register the class itself.
        entry = handler.client_class
    elif _is_client_class(handler):
        entry = handler
    elif isinstance(handler, type):
        raise ValidationError(
            f"register_provider({provider!r}, ...) takes a handler instance or a "
            f"ProviderClient subclass; got the class {handler.__name__}: pass "
            f"{handler.__name__}() instead",
            provider=provider,
            fallback_allowed=False,
        )
    elif implements_any(handler):
        entry = handler
    else:
        raise ValidationError(
            f"register_provider({provider!r}, ...): {type(handler).__name__} has none of "
            f"{', '.join(HANDLER_METHODS)}",
            provider=provider,
            fallback_allowed=False,
        )
    with _lock:
        _registered[key] = entry
        _written[key] = provider.strip()


def available_providers() -> list[str]:
    """Names accepted in ``config.provider``, sorted (registered ones as registered)."""
    with _lock:
        names = {key: _written.get(key, key) for key in [*_BUILTIN, *_registered]}
    return sorted(names.values())


def _unknown(name: str) -> ValidationError:
    # "Unsupported provider: X" is the published package's wording (its registry's
    # get_handler), which users' tests match on; the rest is ours: the names that would work.
    return ValidationError(
        f"Unsupported provider: {name}; unknown provider {name!r}; "
        f"available: {', '.join(available_providers())}",
        provider=name,
        fallback_allowed=False,
    )


def get_provider_entry(name: str) -> ProviderEntry:
    """Return what serves a provider name: a client class or a handler instance.

    Raises:
        ValidationError: No provider has that name (raised before anything is submitted).
    """
    key = provider_key(name)
    with _lock:
        found = _registered.get(key)
    if found is not None:
        return found
    target = _BUILTIN.get(key)
    if target is None:
        raise _unknown(name)
    module_name, _, class_name = target.partition(":")
    client_class: type[ProviderClient] = getattr(importlib.import_module(module_name), class_name)
    with _lock:
        # A registration made meanwhile (an override of the built-in) wins.
        return _registered.setdefault(key, client_class)


def get_provider_handler(name: str) -> object | None:
    """The handler instance registered for ``name``, or ``None`` (a client class, or no
    provider of that name: :func:`get_provider_entry` says which)."""
    try:
        entry = get_provider_entry(name)
    except ValidationError:
        return None
    return None if _is_client_class(entry) else entry


def get_provider_class(name: str) -> type[ProviderClient]:
    """Return the client class for a provider name.

    Raises:
        ValidationError: No provider has that name, or it is served by a handler, which
            has no job protocol (raised before anything is submitted).
    """
    entry = get_provider_entry(name)
    if isinstance(entry, type) and issubclass(entry, ProviderClient):
        return entry
    raise ValidationError(
        f"provider {name!r} is served by a custom handler ({type(entry).__name__}), which "
        "returns whole results: use generate_video/generate_image (submit, wait, status "
        "and cancel need a provider with a job protocol)",
        provider=name,
        fallback_allowed=False,
    )


def _download_headers_of(
    provider: str | None, model: str | None, url: str
) -> Callable[[str], dict[str, SecretStr]]:
    """The ``download_headers`` of a client of ``provider`` made again for ``url``, its key
    read from the environment: a response unpickled without its key downloads with it."""
    client_class = get_provider_class(provider or "")
    parts = urlsplit(url)
    # The URL's own origin stands in for the API base it came from.
    client = client_class(
        ProviderSettings(
            model=model or "-",
            base_url=f"{parts.scheme}://{parts.hostname}"
            + (f":{parts.port}" if parts.port else ""),
        )
    )
    return client.download_headers


install_response_io(download_headers_of=_download_headers_of)
