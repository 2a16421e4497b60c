"""The provider registry: a provider name (``config.provider``) -> its client class.

Clients are imported on first use, so a provider module's import cost is paid only by
those who use it. Third parties may add their own with :func:`register_provider`.
"""

from __future__ import annotations

import importlib
import threading

from tarash.tarash_gateway.errors import ValidationError
from tarash.tarash_gateway.providers._base import ProviderClient

__all__ = ["available_providers", "get_provider_class", "register_provider"]

_BUILTIN: dict[str, str] = {
    "fal": "tarash.tarash_gateway.providers.fal:FalClient",
    "replicate": "tarash.tarash_gateway.providers.replicate:ReplicateClient",
}
_ALIASES: dict[str, str] = {"fal_ai": "fal", "falai": "fal"}
_registered: dict[str, type[ProviderClient]] = {}
_lock = threading.Lock()


def register_provider(name: str, client_class: type[ProviderClient]) -> None:
    """Make ``client_class`` serve configs whose ``provider`` is ``name``."""
    with _lock:
        _registered[name] = client_class


def available_providers() -> list[str]:
    """Names accepted in ``config.provider``, sorted."""
    return sorted({*_BUILTIN, *_registered})


def get_provider_class(name: str) -> type[ProviderClient]:
    """Return the client class for a provider name.

    Raises:
        ValidationError: No provider has that name (raised before anything is submitted).
    """
    key = _ALIASES.get(name, name)
    with _lock:
        found = _registered.get(key)
    if found is not None:
        return found
    target = _BUILTIN.get(key)
    if target is None:
        raise ValidationError(
            f"unknown provider {name!r}; available: {', '.join(available_providers())}",
            provider=name,
            fallback_allowed=False,
        )
    module_name, _, class_name = target.partition(":")
    client_class: type[ProviderClient] = getattr(importlib.import_module(module_name), class_name)
    with _lock:
        _registered.setdefault(key, client_class)
    return client_class
