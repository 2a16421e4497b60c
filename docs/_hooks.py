"""mkdocs hook: the capability tables, rendered from tarash's model registry at build time.

A page writes a marker where a table goes; the build replaces it with the table made from
the same data that request validation and adaptation read (each provider client's
``models``: ``ModelSpec.capabilities`` and ``ModelSpec.lifecycle``), so the docs cannot drift
from what a request meets:

- ``<!-- tarash:providers -->``: one row per built-in provider (what it makes, how many
  models it knows, their durations and ratios, their lifecycle, its key and cancel);
- ``<!-- tarash:models fal -->``: every registered model of one provider, with its price
  from the default price table.

The rows are :mod:`tarash.tarash_gateway.routing._catalog`'s, the ones ``tarash providers`` and
``tarash models`` draw; this hook only writes them as markdown.

A marker naming no provider fails the build. The functions take no mkdocs object, so tests
call them directly (tests/docs/test_hooks.py).
"""

from __future__ import annotations

import re
from typing import Any

from tarash.tarash_gateway.errors import ValidationError
from tarash.tarash_gateway.routing._catalog import (
    listed,
    model_rows,
    price_text,
    provider_rows,
    ranges,
)

MARKER = re.compile(r"<!--\s*tarash:(?P<what>providers|models)(?:\s+(?P<arg>[\w-]+))?\s*-->")


def _yes(flag: bool) -> str:
    return "yes" if flag else "-"


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def providers_table(link_prefix: str = "") -> str:
    """One row per built-in provider, from the registry.

    Args:
        link_prefix: Put before each provider page's file name (``"providers/"`` from the
            docs root; empty from a page under ``providers/``).
    """
    rows = [
        [
            f"[{row.label}]({link_prefix}{row.name}.md) `{row.name}`",
            _yes(row.text_to_video),
            _yes(row.image_to_video),
            _yes("image" in row.kinds),
            str(row.models),
            ranges(row.durations) or "-",
            ", ".join(row.aspect_ratios) or "-",
            f"{row.active} active"
            + (f", {row.retiring} retiring or retired" if row.retiring else ""),
            " or ".join(f"`{name}`" for name in row.key_env_vars),
            _yes(row.cancel),
        ]
        for row in provider_rows(built_in_only=True)
    ]
    header = [
        "Provider",
        "Text-to-video",
        "Image-to-video",
        "Image",
        "Models",
        "Durations (s)",
        "Aspect ratios",
        "Lifecycle",
        "Key",
        "Remote cancel",
    ]
    return _table(header, rows)


def models_table(provider: str) -> str:
    """Every model ``provider`` registers (a key may name a family of ids), from the registry.

    Raises:
        ValueError: ``provider`` is not a built-in provider.
    """
    try:
        found = model_rows(provider, built_in_only=True)
    except ValidationError as exc:
        message = f"<!-- tarash:models {provider} -->: no such provider ({exc.message})"
        raise ValueError(message) from None
    rows = []
    for row in found:
        caps = row.capabilities
        lifecycle = row.lifecycle + (f", use `{row.successor}`" if row.successor else "")
        rows.append(
            [
                f"`{row.model}`",
                row.kind_label,
                listed(caps.durations),
                listed(caps.aspect_ratios),
                listed(caps.resolutions),
                "-" if row.image_input == "no" else row.image_input,
                lifecycle,
                price_text(row.price) or "-",
            ]
        )
    header = [
        "Model",
        "Kind",
        "Durations (s)",
        "Aspect ratios",
        "Resolutions",
        "Input image",
        "Lifecycle",
        "Price (USD)",
    ]
    return _table(header, rows)


def render(markdown: str, *, link_prefix: str = "") -> str:
    """``markdown`` with every marker replaced by its table."""

    def table(match: re.Match[str]) -> str:
        if match["what"] == "providers":
            return providers_table(link_prefix)
        if not match["arg"]:
            raise ValueError("<!-- tarash:models PROVIDER -->: name the provider")
        return models_table(match["arg"])

    return MARKER.sub(table, markdown)


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    """mkdocs' hook: render the markers of each page (links relative to the page)."""
    in_providers = str(getattr(page.file, "src_uri", "")).startswith("providers/")
    return render(markdown, link_prefix="" if in_providers else "providers/")
