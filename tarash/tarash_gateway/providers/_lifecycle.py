"""Model lifecycles: retired model ids, the one warning they get, and the hint errors repeat.

Providers retire models on dates of their own (OpenAI shut ``dall-e-3`` on 2026-05-12 and
its Sora endpoint on 2026-09-24; Stability re-routes ``sd3-*`` to ``sd3.5-*``). A provider
keeps a table ``model id -> Retirement``; a request for a retired id warns once per
process, naming the successor, and is still sent: a compatible endpoint (a gateway reached
by ``base_url``, another cloud) may well serve it. The provider's own refusal of the id
repeats the successor (:func:`successor_hint`).
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Literal

__all__ = [
    "ModelDeprecatedWarning",
    "ModelRetiredWarning",
    "Retirement",
    "successor_hint",
    "warn_if_retired",
    "warn_retired",
]


class ModelDeprecatedWarning(UserWarning):
    """Warned (once per provider and model) when a request names a model its provider has
    announced it will retire; :class:`ModelRetiredWarning` once the date has passed."""


class ModelRetiredWarning(ModelDeprecatedWarning):
    """Warned (once per provider and model) when a request names a retired model."""


@dataclass(frozen=True, slots=True)
class Retirement:
    """A model's retirement, past or announced (``deprecated`` until :attr:`since`).

    Attributes:
        successor: What to use instead, as the user would write it.
        since: The date the provider stopped serving it (or re-routed it); ``None`` when
            no date is known.
        note: Anything else worth saying (where it still runs, what it re-routes to).
        verified: False when the date comes from an unconfirmed source.
    """

    successor: str
    since: date | None
    note: str = ""
    verified: bool = True

    def status(self, today: date | None = None) -> Literal["deprecated", "retired"]:
        """``"deprecated"`` until :attr:`since` (announced, still served), ``"retired"``
        from that day on, or when no date is known."""
        if self.since is None or self.since <= (today or date.today()):
            return "retired"
        return "deprecated"

    def describe(self, model: str) -> str:
        """``"dall-e-3 was retired on 2026-05-12; use gpt-image-1"`` (``"... is deprecated
        and will be retired on ..."`` before the date)."""
        when = f" on {self.since.isoformat()}" if self.since is not None else ""
        unconfirmed = "" if self.verified else " (unconfirmed)"
        note = f" ({self.note})" if self.note else ""
        fate = "was retired" if self.status() == "retired" else "is deprecated and will be retired"
        return f"{model} {fate}{when}{unconfirmed}{note}; use {self.successor}"


_warned: set[tuple[str, str]] = set()
_warned_lock = threading.Lock()


def warn_if_retired(provider: str, model: str, retired: Mapping[str, Retirement]) -> None:
    """Warn once per ``(provider, model)`` when ``model`` is in ``retired``; nothing else.

    Args:
        provider: The provider's registry name.
        model: The model id, as the provider's table keys it.
        retired: The provider's table of retired ids.
    """
    found = retired.get(model)
    if found is not None:
        warn_retired(provider, model, found)


def warn_retired(provider: str, model: str, retirement: Retirement) -> None:
    """Warn once per ``(provider, model)`` and process that ``model`` is retired (or will
    be), naming its successor (:class:`ModelRetiredWarning`, :class:`ModelDeprecatedWarning`
    before the date); the request is not stopped.

    Args:
        provider: The provider's registry name.
        model: The model id, as the user wrote it.
        retirement: The model's retirement.
    """
    with _warned_lock:
        if (provider, model) in _warned:
            return
        _warned.add((provider, model))
    warnings.warn(
        f"{provider}: {retirement.describe(model)}. The request is sent anyway (a compatible "
        "endpoint may still serve it).",
        ModelRetiredWarning if retirement.status() == "retired" else ModelDeprecatedWarning,
        stacklevel=3,
    )


def successor_hint(model: str, retired: Mapping[str, Retirement]) -> str:
    """What an error about ``model`` appends: ``" (<model> was retired on ...; use ...)"``,
    or ``""`` when it is not retired."""
    found = retired.get(model)
    return "" if found is None else f" ({found.describe(model)})"


# Their published module, where users import them from (and where a pickle finds them).
for _published in (
    ModelDeprecatedWarning,
    ModelRetiredWarning,
):
    _published.__module__ = "tarash.tarash_gateway"
del _published
