"""``tarash providers`` and ``tarash models``: the capability tables, drawn with rich.

The rows come from :mod:`tarash.tarash_gateway.routing._catalog` (the registry and the default
price table), which the docs build renders too; this module only draws them.
"""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.measure import Measurement
from rich.table import Table

from tarash.tarash_gateway.routing._catalog import ModelRow, ProviderRow, listed, price_text

__all__ = [
    "MODEL_HEADERS",
    "PROVIDER_HEADERS",
    "model_cells",
    "models_table",
    "plain_lines",
    "print_catalog",
    "provider_cells",
    "providers_table",
]


_SHORT_SUCCESSOR = 24


def _lifecycle_cell(row: ModelRow) -> str:
    # A long successor note (a whole sentence) is in --json; the table names short ones.
    if row.successor is None or len(row.successor) > _SHORT_SUCCESSOR:
        return row.lifecycle
    return f"{row.lifecycle}, use {row.successor}"


PROVIDER_HEADERS = ("provider", "name", "kinds", "models", "key from", "base URL from", "cancel")
"""The columns of ``tarash providers``."""

MODEL_HEADERS = (
    "provider",
    "model",
    "kind",
    "durations (s)",
    "aspect ratios",
    "resolutions",
    "image input",
    "lifecycle",
    "price (USD)",
)
"""The columns of ``tarash models``."""

_UNBOUNDED = 1_000_000

# Columns holding identifiers a user copies into a command: never wrapped or cut.
_IDENTIFIERS = frozenset({"provider", "name", "model", "key from", "base URL from"})


def provider_cells(row: ProviderRow) -> tuple[str, ...]:
    """One provider's cells, as plain text, in :data:`PROVIDER_HEADERS` order."""
    if row.custom:
        return (row.name, "custom handler", "-", "-", "-", "-", "-")
    return (
        row.name,
        row.label,
        ", ".join(row.kinds),
        str(row.models),
        " or ".join(row.key_env_vars),
        " or ".join(row.base_url_env_vars),
        "yes" if row.cancel else "no",
    )


def model_cells(row: ModelRow) -> tuple[str, ...]:
    """One model's cells, as plain text, in :data:`MODEL_HEADERS` order."""
    caps = row.capabilities
    return (
        row.provider,
        row.model,
        caps.kind,
        listed(caps.durations),
        listed(caps.aspect_ratios),
        listed(caps.resolutions),
        row.image_input,
        _lifecycle_cell(row),
        price_text(row.price) or "-",
    )


def _table(title: str, headers: tuple[str, ...], rows: list[tuple[str, ...]]) -> Table:
    table = Table(title=title, title_justify="left")
    for header in headers:
        if header in _IDENTIFIERS:
            table.add_column(header, no_wrap=True)
        else:
            # At least the header's width: squeezed to nothing, a column shows no value.
            table.add_column(header, overflow="fold", min_width=len(header.split()[0]))
    for cells in rows:
        table.add_row(*(escape(cell) for cell in cells))
    return table


def providers_table(rows: list[ProviderRow]) -> Table:
    """``tarash providers`` as a rich table."""
    return _table("providers", PROVIDER_HEADERS, [provider_cells(row) for row in rows])


def models_table(rows: list[ModelRow]) -> Table:
    """``tarash models`` as a rich table."""
    return _table("models", MODEL_HEADERS, [model_cells(row) for row in rows])


def plain_lines(headers: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    """The rows as tab-separated lines under a header line, for a pipe or a narrow terminal.

    Nothing is wrapped or cut, so ``cut -f2`` or ``awk -F'\\t'`` reads whole identifiers.
    """
    lines = ["\t".join(headers), *("\t".join(map(_plain_cell, cells)) for cells in rows)]
    return "".join(line + "\n" for line in lines)


def _plain_cell(cell: str) -> str:
    # An empty cell ("-" instead) would read as two tabs, which `read`-style splitting
    # folds into one; a tab or line break inside a cell would add a column or a row.
    return " ".join(cell.split("\n")).replace("\t", " ") or "-"


def print_catalog(
    console: Console, table: Table, headers: tuple[str, ...], rows: list[tuple[str, ...]]
) -> None:
    """Print ``table`` on a terminal wide enough for it, else :func:`plain_lines`.

    A table drawn into a pipe or a narrow terminal is squeezed: rich splits identifiers
    across lines and empties whole columns, which reads as missing data.
    """
    # Measured without the console's width, which would clamp the answer to it.
    unbounded = console.options.update(max_width=_UNBOUNDED)
    if not console.is_terminal or Measurement.get(console, unbounded, table).minimum > (
        console.width
    ):
        console.file.write(plain_lines(headers, rows))
        console.file.flush()
        return
    console.print(table)
