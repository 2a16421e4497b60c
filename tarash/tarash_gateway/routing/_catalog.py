"""The capability catalog: one row per provider and per registered model, from the registry.

Built from the same data request validation and adaptation read (each provider client's
``models``: ``ModelSpec.capabilities`` and ``ModelSpec.lifecycle``) and from the default
price table, so what a table shows is what a request meets. Two renderers use these rows:
``tarash providers`` / ``tarash models`` (rich tables, in the ``cli`` extra) and the docs
build's hook (``docs/_hooks.py``, markdown tables); this module needs neither.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from tarash.tarash_gateway.errors import ValidationError
from tarash.tarash_gateway.providers import (
    available_providers,
    get_provider_entry,
    provider_key,
)
from tarash.tarash_gateway.providers._base import ProviderClient
from tarash.tarash_gateway.providers._spec import JobKind, ModelCapabilities, ModelSpec
from tarash.tarash_gateway.routing._prices import Price, PriceTable

__all__ = [
    "ModelRow",
    "ProviderRow",
    "listed",
    "model_rows",
    "price_text",
    "provider_rows",
    "ranges",
]

_BUILT_IN_MODULES = "tarash.tarash_gateway.providers."

_LABELS = {"fal": "fal.ai", "stability": "Stability AI"}
"""Names for the built-in clients that set no ``display_name``."""


@dataclass(frozen=True, slots=True)
class ProviderRow:
    """One provider: what it makes, its models in sum, where its key comes from.

    ``custom`` rows are providers served by a handler registered at run time: they carry
    only their name.
    """

    name: str
    label: str
    kinds: tuple[str, ...]
    models: int
    key_env_vars: tuple[str, ...]
    base_url_env_vars: tuple[str, ...]
    cancel: bool
    custom: bool
    text_to_video: bool = False
    image_to_video: bool = False
    durations: tuple[int, ...] = ()
    aspect_ratios: tuple[str, ...] = ()
    active: int = 0
    retiring: int = 0

    def as_json(self) -> dict[str, Any]:
        """The row as plain JSON data."""
        return {
            "name": self.name,
            "label": self.label,
            "kinds": list(self.kinds),
            "models": self.models,
            "key_env_vars": list(self.key_env_vars),
            "base_url_env_vars": list(self.base_url_env_vars),
            "cancel": self.cancel,
            "custom": self.custom,
            "text_to_video": self.text_to_video,
            "image_to_video": self.image_to_video,
            "durations": list(self.durations),
            "aspect_ratios": list(self.aspect_ratios),
            "active_models": self.active,
            "retiring_models": self.retiring,
        }


@dataclass(frozen=True, slots=True)
class ModelRow:
    """One registered model (or model family): its capabilities, lifecycle and price."""

    provider: str
    model: str
    capabilities: ModelCapabilities
    lifecycle: str
    successor: str | None = None
    price: Price | None = None

    @property
    def image_input(self) -> str:
        """``"required"``, ``"optional"`` or ``"no"``."""
        if self.capabilities.requires_image:
            return "required"
        return "optional" if self.capabilities.accepts_image else "no"

    @property
    def kind_label(self) -> str:
        """What the model makes from what: ``"text-to-video"``, ``"image edit"``..."""
        caps = self.capabilities
        if caps.kind == "image":
            return "image edit" if caps.requires_image else "image"
        if caps.requires_image:
            return "image-to-video"
        return "text/image-to-video" if caps.accepts_image else "text-to-video"

    def as_json(self) -> dict[str, Any]:
        """The row as plain JSON data."""
        caps = self.capabilities
        return {
            "provider": self.provider,
            "model": self.model,
            "kind": caps.kind,
            "durations": list(caps.durations) if caps.durations is not None else None,
            "aspect_ratios": list(caps.aspect_ratios) if caps.aspect_ratios is not None else None,
            "resolutions": list(caps.resolutions) if caps.resolutions is not None else None,
            "image_input": self.image_input,
            "lifecycle": self.lifecycle,
            "successor": self.successor,
            "price": price_text(self.price),
        }


def _client_class(name: str, *, built_in_only: bool) -> type[ProviderClient] | None:
    entry = get_provider_entry(name)
    if not (isinstance(entry, type) and issubclass(entry, ProviderClient)):
        return None
    if built_in_only and not entry.__module__.startswith(_BUILT_IN_MODULES):
        return None
    return entry


def _label(client: type[ProviderClient]) -> str:
    return client.display_name or _LABELS.get(client.name, client.name)


def _base_url_env_vars(client: type[ProviderClient]) -> tuple[str, ...]:
    names = [f"TARASH_{client.name.upper()}_BASE_URL"]
    sdk_variable = getattr(client, "base_url_env_var", None)
    if isinstance(sdk_variable, str) and sdk_variable:
        names.append(sdk_variable)
    return tuple(names)


def _ratio_order(ratio: str) -> tuple[float, str]:
    """Widest first (``21:9`` before ``16:9`` before ``1:1`` before ``9:16``)."""
    width, _, height = ratio.partition(":")
    try:
        return (-float(width) / float(height), ratio)
    except (ValueError, ZeroDivisionError):
        return (0.0, ratio)


def _provider_row(name: str, client: type[ProviderClient]) -> ProviderRow:
    specs = list(client.models.values())
    videos = [spec.capabilities for spec in specs if spec.capabilities.kind == "video"]
    images = [spec.capabilities for spec in specs if spec.capabilities.kind == "image"]
    kinds = {caps.kind for caps in videos + images} | set(client.generic_specs)
    retiring = sum(1 for spec in specs if spec.lifecycle is not None)
    return ProviderRow(
        name=name,
        label=_label(client),
        kinds=tuple(kind for kind in ("video", "image") if kind in kinds),
        models=len(specs),
        key_env_vars=client.key_env_vars,
        base_url_env_vars=_base_url_env_vars(client),
        cancel=client.supports_cancel,
        custom=False,
        text_to_video=any(not caps.requires_image for caps in videos),
        image_to_video=any(caps.accepts_image or caps.requires_image for caps in videos),
        durations=tuple(sorted({d for caps in videos for d in caps.durations or ()})),
        aspect_ratios=tuple(
            sorted(
                {r for caps in videos + images for r in caps.aspect_ratios or ()}, key=_ratio_order
            )
        ),
        active=len(specs) - retiring,
        retiring=retiring,
    )


def provider_rows(*, built_in_only: bool = False) -> list[ProviderRow]:
    """Every provider ``config.provider`` accepts, sorted by name.

    Args:
        built_in_only: Leave out providers registered at run time (tarash's own only, as
            the docs list them); else each is a ``custom`` row.
    """
    rows = []
    for name in available_providers():
        client = _client_class(name, built_in_only=built_in_only)
        if client is not None:
            rows.append(_provider_row(name, client))
        elif not built_in_only:
            rows.append(ProviderRow(name, name, (), 0, (), (), False, True))
    return rows


def _lifecycle(spec: ModelSpec) -> tuple[str, str | None]:
    if spec.lifecycle is None:
        return "active", None
    when = f" {spec.lifecycle.since.isoformat()}" if spec.lifecycle.since else ""
    return f"{spec.lifecycle.status()}{when}", spec.lifecycle.successor


def model_rows(
    provider: str | None = None, kind: JobKind | None = None, *, built_in_only: bool = False
) -> list[ModelRow]:
    """The registered models of ``provider`` (every provider when ``None``), by id.

    Args:
        provider: A provider name (spelt as ``config.provider`` accepts it).
        kind: Only ``"video"`` or only ``"image"`` models.
        built_in_only: ``provider`` must be one of tarash's own.

    Raises:
        ValidationError: ``provider`` names no provider (or, with ``built_in_only``, none
            of tarash's own).
    """
    names = [provider] if provider is not None else available_providers()
    prices = PriceTable()
    rows = []
    for name in names:
        client = _client_class(name, built_in_only=built_in_only)
        if client is None:
            if provider is not None and built_in_only:
                raise ValidationError(
                    f"{provider!r} is not a built-in provider; built-in: "
                    + ", ".join(row.name for row in provider_rows(built_in_only=True)),
                    provider=provider,
                )
            continue
        key = provider_key(name)
        for model, spec in sorted(client.models.items()):
            if kind is None or spec.capabilities.kind == kind:
                state, successor = _lifecycle(spec)
                price = prices.price(key, model)
                rows.append(ModelRow(key, model, spec.capabilities, state, successor, price))
    return rows


def price_text(price: Price | None) -> str | None:
    """``"$0.40/s"``, ``"$0.04/image"``...; ``None`` when no amount is known."""
    if price is None or not price.known:
        return None
    parts = []
    if price.per_second is not None:
        parts.append(f"${price.per_second:.2f}/s")
    if price.per_second_without_audio is not None:
        parts.append(f"${price.per_second_without_audio:.2f}/s without audio")
    parts.extend(
        f"${amount:.2f}/s at {name}" for name, amount in price.per_second_by_resolution.items()
    )
    if price.per_image is not None:
        parts.append(f"${price.per_image:.3f}/image")
    if price.per_run is not None:
        parts.append(f"${price.per_run:.2f}/run")
    return ", ".join(parts)


def ranges(numbers: Iterable[int]) -> str:
    """``2, 3, 4, 5, 8`` -> ``"2-5, 8"`` (runs of three or more read as a range)."""
    spans: list[list[int]] = []
    for number in sorted(set(numbers)):
        if spans and number == spans[-1][1] + 1:
            spans[-1][1] = number
        else:
            spans.append([number, number])
    cells = []
    for low, high in spans:
        if high - low >= 2:
            cells.append(f"{low}-{high}")
        else:
            cells.extend(str(number) for number in range(low, high + 1))
    return ", ".join(cells)


def listed(values: Iterable[Any] | None) -> str:
    """A capability's allowed values as one cell: ``"any"`` (no constraint), ``"-"``
    (none), a compact range of whole seconds, or the values comma-separated."""
    if values is None:
        return "any"
    items = tuple(values)
    if not items:
        return "-"
    if all(isinstance(item, int) and not isinstance(item, bool) for item in items):
        return ranges(items)
    return ", ".join(str(item) for item in items)
