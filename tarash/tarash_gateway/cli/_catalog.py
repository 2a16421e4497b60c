"""``tarash providers`` and ``tarash models``: the capability tables.

Read from the provider registry and each client's model table, the same data request
validation and adaptation use, so what is shown is what a request will meet.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich.markup import escape
from rich.table import Table

from tarash.tarash_gateway._prices import Price, PriceTable
from tarash.tarash_gateway.providers import (
    available_providers,
    get_provider_entry,
    provider_key,
)
from tarash.tarash_gateway.providers._base import ProviderClient
from tarash.tarash_gateway.providers._spec import JobKind, ModelCapabilities, ModelSpec

__all__ = [
    "ModelRow",
    "ProviderRow",
    "model_rows",
    "models_table",
    "price_text",
    "provider_rows",
    "providers_table",
]


@dataclass(frozen=True, slots=True)
class ProviderRow:
    """One provider as ``tarash providers`` shows it."""

    name: str
    label: str
    kinds: tuple[str, ...]
    models: int
    key_env_vars: tuple[str, ...]
    base_url_env_vars: tuple[str, ...]
    cancel: bool
    custom: bool

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
        }


@dataclass(frozen=True, slots=True)
class ModelRow:
    """One registered model (or model family) as ``tarash models`` shows it."""

    provider: str
    model: str
    capabilities: ModelCapabilities
    lifecycle: str
    successor: str | None = None
    price: Price | None = None

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
            "image_input": _image_input(caps),
            "lifecycle": self.lifecycle,
            "successor": self.successor,
            "price": price_text(self.price),
        }


def _client_class(name: str) -> type[ProviderClient] | None:
    entry = get_provider_entry(name)
    return entry if isinstance(entry, type) and issubclass(entry, ProviderClient) else None


def _kinds(client: type[ProviderClient]) -> tuple[str, ...]:
    found = {spec.capabilities.kind for spec in client.models.values()} | set(client.generic_specs)
    return tuple(kind for kind in ("video", "image") if kind in found)


def _base_url_env_vars(client: type[ProviderClient]) -> tuple[str, ...]:
    names = [f"TARASH_{client.name.upper()}_BASE_URL"]
    sdk_variable = getattr(client, "base_url_env_var", None)
    if isinstance(sdk_variable, str) and sdk_variable:
        names.append(sdk_variable)
    return tuple(names)


def provider_rows() -> list[ProviderRow]:
    """Every provider ``config.provider`` accepts, built-in and registered."""
    rows = []
    for name in available_providers():
        client = _client_class(name)
        if client is None:
            rows.append(ProviderRow(name, name, (), 0, (), (), False, True))
            continue
        rows.append(
            ProviderRow(
                name=name,
                label=client.display_name or client.name,
                kinds=_kinds(client),
                models=len(client.models),
                key_env_vars=client.key_env_vars,
                base_url_env_vars=_base_url_env_vars(client),
                cancel=client.supports_cancel,
                custom=False,
            )
        )
    return rows


def _lifecycle(spec: ModelSpec) -> tuple[str, str | None]:
    if spec.lifecycle is None:
        return "active", None
    when = f" {spec.lifecycle.since.isoformat()}" if spec.lifecycle.since else ""
    return f"{spec.lifecycle.status()}{when}", spec.lifecycle.successor


def model_rows(provider: str | None = None, kind: JobKind | None = None) -> list[ModelRow]:
    """The registered models of ``provider`` (every provider when ``None``).

    Raises:
        ValidationError: ``provider`` names no provider.
    """
    names = [provider] if provider is not None else available_providers()
    prices = PriceTable()
    rows = []
    for name in names:
        client = _client_class(name)
        if client is None:
            continue
        for model, spec in sorted(client.models.items()):
            if kind is None or spec.capabilities.kind == kind:
                state, successor = _lifecycle(spec)
                key = provider_key(name)
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


def _listed(values: tuple[Any, ...] | None) -> str:
    if values is None:
        return "any"
    if (
        len(values) > 3
        and all(isinstance(value, int) for value in values)
        and list(values) == list(range(values[0], values[-1] + 1))
    ):
        return f"{values[0]}-{values[-1]}"  # a run of seconds reads better as a range
    return ", ".join(str(value) for value in values) or "-"


def _image_input(caps: ModelCapabilities) -> str:
    if caps.requires_image:
        return "required"
    return "optional" if caps.accepts_image else "no"


_SHORT_SUCCESSOR = 24


def _lifecycle_cell(row: ModelRow) -> str:
    # A long successor note (a whole sentence) is in --json; the table names short ones.
    if row.successor is None or len(row.successor) > _SHORT_SUCCESSOR:
        return row.lifecycle
    return f"{row.lifecycle}, use {row.successor}"


def providers_table(rows: list[ProviderRow]) -> Table:
    """``tarash providers`` as a rich table."""
    table = Table(title="providers", title_justify="left")
    for column in ("provider", "name", "kinds", "models", "key from", "base URL from", "cancel"):
        table.add_column(column, overflow="fold")
    for row in rows:
        if row.custom:
            table.add_row(escape(row.name), "custom handler", "-", "-", "-", "-", "-")
            continue
        table.add_row(
            escape(row.name),
            escape(row.label),
            ", ".join(row.kinds),
            str(row.models),
            " or ".join(row.key_env_vars),
            " or ".join(row.base_url_env_vars),
            "yes" if row.cancel else "no",
        )
    return table


def models_table(rows: list[ModelRow]) -> Table:
    """``tarash models`` as a rich table."""
    table = Table(title="models", title_justify="left")
    table.add_column("provider", no_wrap=True)
    table.add_column("model", no_wrap=True)
    for column in ("kind", "durations (s)", "aspect ratios", "resolutions", "image input"):
        table.add_column(column, overflow="fold")
    table.add_column("lifecycle", overflow="fold")
    table.add_column("price (USD)", overflow="fold")
    for row in rows:
        caps = row.capabilities
        table.add_row(
            escape(row.provider),
            escape(row.model),
            caps.kind,
            _listed(caps.durations),
            _listed(caps.aspect_ratios),
            _listed(caps.resolutions),
            _image_input(caps),
            escape(_lifecycle_cell(row)),
            escape(price_text(row.price) or "-"),
        )
    return table
