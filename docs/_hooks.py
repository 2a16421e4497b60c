"""mkdocs hook: the capability tables, rendered from tarash's model registry at build time.

A page writes a marker where a table goes; the build replaces it with the table made from
the same data that request validation and adaptation read (each provider client's
``models``: ``ModelSpec.capabilities`` and ``ModelSpec.lifecycle``), so the docs cannot drift
from what a request meets:

- ``<!-- tarash:providers -->``: one row per built-in provider (what it makes, how many
  models it knows, their durations and ratios, their lifecycle, its key and cancel);
- ``<!-- tarash:models fal -->``: every registered model of one provider.

A marker naming no provider fails the build. The functions take no mkdocs object, so tests
call them directly (tests/docs/test_hooks.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from tarash.tarash_gateway.providers import available_providers, get_provider_entry
from tarash.tarash_gateway.providers._base import ProviderClient
from tarash.tarash_gateway.providers._spec import ModelCapabilities, ModelSpec

MARKER = re.compile(r"<!--\s*tarash:(?P<what>providers|models)(?:\s+(?P<arg>[\w-]+))?\s*-->")

_BUILT_IN_MODULES = "tarash.tarash_gateway.providers."

_LABELS = {"fal": "fal.ai", "stability": "Stability AI"}
"""Names for the clients that set no ``display_name``."""


def _clients() -> list[type[ProviderClient]]:
    """The built-in provider clients (a provider registered at run time is not tarash's)."""
    clients = []
    for name in available_providers():
        entry = get_provider_entry(name)
        if (
            isinstance(entry, type)
            and issubclass(entry, ProviderClient)
            and entry.__module__.startswith(_BUILT_IN_MODULES)
        ):
            clients.append(entry)
    return clients


def _client(name: str) -> type[ProviderClient]:
    for client in _clients():
        if client.name == name.strip().lower().replace("-", "_"):
            return client
    known = ", ".join(client.name for client in _clients())
    raise ValueError(f"<!-- tarash:models {name} -->: no such provider (known: {known})")


def _ranges(numbers: Iterable[int]) -> str:
    """``2, 3, 4, 5, 8`` -> ``2-5, 8``."""
    spans: list[list[int]] = []
    for number in sorted(set(numbers)):
        if spans and number == spans[-1][1] + 1:
            spans[-1][1] = number
        else:
            spans.append([number, number])
    return ", ".join(str(low) if low == high else f"{low}-{high}" for low, high in spans)


def _ratio_key(ratio: str) -> tuple[float, str]:
    width, _, height = ratio.partition(":")
    try:
        return (-float(width) / float(height), ratio)
    except (ValueError, ZeroDivisionError):
        return (0.0, ratio)


def _listed(values: tuple[Any, ...] | None) -> str:
    return "any" if values is None else ", ".join(str(value) for value in values) or "-"


def _kind(caps: ModelCapabilities) -> str:
    if caps.kind == "image":
        return "image edit" if caps.requires_image else "image"
    if caps.requires_image:
        return "image-to-video"
    return "text/image-to-video" if caps.accepts_image else "text-to-video"


def _lifecycle(spec: ModelSpec) -> str:
    if spec.lifecycle is None:
        return "active"
    when = f" {spec.lifecycle.since.isoformat()}" if spec.lifecycle.since else ""
    return f"{spec.lifecycle.status()}{when}, use `{spec.lifecycle.successor}`"


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
    rows = []
    for client in _clients():
        specs = list(client.models.values())
        videos = [spec.capabilities for spec in specs if spec.capabilities.kind == "video"]
        images = [spec.capabilities for spec in specs if spec.capabilities.kind == "image"]
        durations = [d for caps in videos for d in caps.durations or ()]
        ratios = {r for caps in videos + images for r in caps.aspect_ratios or ()}
        retiring = [spec for spec in specs if spec.lifecycle is not None]
        page = f"{client.name}.md"
        label = client.display_name or _LABELS.get(client.name, client.name)
        rows.append(
            [
                f"[{label}]({link_prefix}{page}) `{client.name}`",
                _yes(any(not caps.requires_image for caps in videos)),
                _yes(any(caps.accepts_image or caps.requires_image for caps in videos)),
                _yes(bool(images)),
                str(len(specs)),
                _ranges(durations) or "-",
                ", ".join(sorted(ratios, key=_ratio_key)) or "-",
                f"{len(specs) - len(retiring)} active"
                + (f", {len(retiring)} retiring or retired" if retiring else ""),
                " or ".join(f"`{name}`" for name in client.key_env_vars),
                _yes(client.supports_cancel),
            ]
        )
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
    client = _client(provider)
    rows = []
    for model, spec in sorted(client.models.items()):
        caps = spec.capabilities
        image_input = (
            "required" if caps.requires_image else ("optional" if caps.accepts_image else "-")
        )
        rows.append(
            [
                f"`{model}`",
                _kind(caps),
                _ranges(caps.durations) if caps.durations else _listed(caps.durations),
                _listed(caps.aspect_ratios),
                _listed(caps.resolutions),
                image_input,
                _lifecycle(spec),
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
