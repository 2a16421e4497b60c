"""OpenRouter's video model catalog, read from ``GET /videos/models`` and cached.

OpenRouter sells many video models behind one key, and each takes its own durations,
resolutions, aspect ratios and frame images; the models endpoint lists them with their
per-second prices. tarash keeps no hand-kept table of them: a request is checked against
what the endpoint says (before anything is paid for), read once per base URL and kept for
:data:`CATALOG_TTL` seconds in the process.

Each entry of the reply's ``data`` array names ``id`` and, optionally,
``supported_durations``, ``supported_resolutions``, ``supported_aspect_ratios``,
``supported_sizes``, ``supported_frame_images`` (``first_frame``/``last_frame``),
``generate_audio`` and ``seed`` (whether the model takes them), ``pricing_skus`` (SKU name
-> USD as a string, ``per-video-second`` the base price) and
``allowed_passthrough_parameters``. A field left out means "not said": nothing is checked
for it.

Sources (read 2026-12-07): https://openrouter.ai/docs/features/multimodal/video-generation
(the models endpoint's fields), https://skills.sh/openrouterteam/skills/openrouter-video
(OpenRouterTeam's own skill: ``supported_durations`` is a discrete set, an out-of-set value
is a 400).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from tarash.tarash_gateway.errors import ProviderServerError

__all__ = [
    "CATALOGS",
    "CATALOG_TTL",
    "PER_SECOND_SKU",
    "CatalogEntry",
    "ModelCatalogCache",
    "parse_catalog",
]

CATALOG_TTL = 600.0
"""Seconds a catalog read stays fresh: models and prices change rarely, and one read per
ten minutes per process keeps the endpoint off the path of every request."""

PER_SECOND_SKU = "per-video-second"
"""The pricing SKU of the base per-second price (others add a resolution: ``-1080p``)."""


@dataclass(frozen=True, slots=True)
class CatalogEntry:
    """What OpenRouter's models endpoint says of one video model.

    Attributes:
        id: The model slug a request names (``google/veo-3.1``).
        durations: Seconds it takes; ``None`` when the endpoint does not say.
        resolutions: Resolutions it takes (``720p``); ``None`` when not said.
        aspect_ratios: Aspect ratios it takes (``16:9``); ``None`` when not said.
        frame_types: Frame images it takes (``first_frame``, ``last_frame``); ``None``
            when not said.
        generate_audio: Whether it takes ``generate_audio``; ``None`` when not said.
        seed: Whether it takes ``seed``; ``None`` when not said.
        prices: Pricing SKU -> USD (per second for the ``per-video-second`` SKUs).
        raw: The entry as the endpoint sent it.
    """

    id: str
    durations: tuple[int, ...] | None = None
    resolutions: tuple[str, ...] | None = None
    aspect_ratios: tuple[str, ...] | None = None
    frame_types: tuple[str, ...] | None = None
    generate_audio: bool | None = None
    seed: bool | None = None
    prices: Mapping[str, float] = field(default_factory=dict)
    raw: Mapping[str, Any] = field(default_factory=dict)

    @property
    def per_second(self) -> float | None:
        """The base price per second of video (USD), when the endpoint names one."""
        return self.prices.get(PER_SECOND_SKU)


def _strings(value: object) -> tuple[str, ...] | None:
    if not isinstance(value, list):
        return None
    return tuple(item for item in value if isinstance(item, str))


def _ints(value: object) -> tuple[int, ...] | None:
    if not isinstance(value, list):
        return None
    return tuple(
        int(item)
        for item in value
        if isinstance(item, int | float)
        and not isinstance(item, bool)
        and math.isfinite(item)
        and item == int(item)
    )


def _prices(value: object) -> Mapping[str, float]:
    found: dict[str, float] = {}
    if isinstance(value, dict):
        for sku, amount in value.items():
            try:
                number = float(amount)
            except (TypeError, ValueError):
                continue  # a SKU priced in a shape not known here: no price, not a crash
            if isinstance(sku, str) and math.isfinite(number) and number >= 0:
                found[sku] = number
    return MappingProxyType(found)


def _flag(value: object) -> bool | None:
    return value if isinstance(value, bool) else None


def parse_catalog(body: object, *, source: str) -> Mapping[str, CatalogEntry]:
    """The entries of a models reply, by id.

    Raises:
        ProviderServerError: The reply is not ``{"data": [...]}`` (retryable: it says
            nothing about the models).
    """
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, list):
        raise ProviderServerError(
            f"OpenRouter's video model list ({source}) is not a {{'data': [...]}} object",
            provider="openrouter",
            raw_response=body if isinstance(body, dict) else None,
        )
    entries: dict[str, CatalogEntry] = {}
    for item in data:
        if not isinstance(item, dict) or not isinstance(item.get("id"), str) or not item["id"]:
            continue  # an entry without an id cannot be asked for
        frames = item.get("supported_frame_images")
        entries[item["id"]] = CatalogEntry(
            id=item["id"],
            durations=_ints(item.get("supported_durations")),
            resolutions=_strings(item.get("supported_resolutions")),
            aspect_ratios=_strings(item.get("supported_aspect_ratios")),
            frame_types=_strings(frames),
            generate_audio=_flag(item.get("generate_audio")),
            seed=_flag(item.get("seed")),
            prices=_prices(item.get("pricing_skus")),
            raw=MappingProxyType(dict(item)),
        )
    return MappingProxyType(entries)


class ModelCatalogCache:
    """Catalogs by base URL, each fresh for ``ttl`` seconds; thread-safe.

    A failed read is not cached: the next request reads again. Two tasks that find the
    catalog stale at once may both read it (the later write wins): cheaper than holding a
    lock across a network call shared by threads and event loops.
    """

    def __init__(self, ttl: float = CATALOG_TTL, clock: Callable[[], float] = time.monotonic):
        self.ttl = ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[float, Mapping[str, CatalogEntry]]] = {}

    async def get(
        self, base_url: str, read: Callable[[], Awaitable[Mapping[str, CatalogEntry]]]
    ) -> Mapping[str, CatalogEntry]:
        """The catalog of ``base_url``: cached while fresh, else ``read()`` and kept.

        Raises:
            TarashException: ``read`` failed (what it raised).
        """
        now = self._clock()
        with self._lock:
            cached = self._entries.get(base_url)
        if cached is not None and now - cached[0] < self.ttl:
            return cached[1]
        catalog = await read()
        with self._lock:
            self._entries[base_url] = (self._clock(), catalog)
        return catalog

    def clear(self) -> None:
        """Forget every catalog (tests; a user who knows the list changed)."""
        with self._lock:
            self._entries.clear()


CATALOGS = ModelCatalogCache()
"""The process's catalogs."""
