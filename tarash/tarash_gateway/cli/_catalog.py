"""``tarash providers`` and ``tarash models``: the capability tables, drawn with rich.

The rows come from :mod:`tarash.tarash_gateway._catalog` (the registry and the default
price table), which the docs build renders too; this module only draws them.
"""

from __future__ import annotations

from rich.markup import escape
from rich.table import Table

from tarash.tarash_gateway._catalog import ModelRow, ProviderRow, listed, price_text

__all__ = ["models_table", "providers_table"]


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
            listed(caps.durations),
            listed(caps.aspect_ratios),
            listed(caps.resolutions),
            row.image_input,
            escape(_lifecycle_cell(row)),
            escape(price_text(row.price) or "-"),
        )
    return table
