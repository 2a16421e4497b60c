"""The mkdocs hook renders the capability tables from the registry (docs/_hooks.py)."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType, SimpleNamespace

import pytest

from tarash.tarash_gateway import providers
from tarash.tarash_gateway.providers import available_providers, get_provider_class
from tarash.tarash_gateway.routing._catalog import listed, model_rows, provider_rows, ranges
from tests.docs._examples import _restore_registries, _snapshot_registries

ROOT = Path(__file__).resolve().parents[2]


def _load_hooks() -> ModuleType:
    spec = importlib.util.spec_from_file_location("tarash_docs_hooks", ROOT / "docs" / "_hooks.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


hooks = _load_hooks()


def _page(src_uri: str) -> SimpleNamespace:
    return SimpleNamespace(file=SimpleNamespace(src_uri=src_uri))


def test_mkdocs_runs_the_hook() -> None:
    config = (ROOT / "mkdocs.yml").read_text()
    assert "hooks:\n  - docs/_hooks.py" in config


@pytest.fixture
def built_ins_only() -> Iterator[None]:
    """The registry as a docs build sees it: other tests' registrations set aside."""
    saved = _snapshot_registries()
    providers._registered.clear()
    providers._written.clear()
    yield
    _restore_registries(saved)


@pytest.mark.usefixtures("built_ins_only")
def test_the_providers_table_has_a_row_per_provider_with_its_model_count() -> None:
    rows = hooks.providers_table("providers/").splitlines()[2:]
    built_in = [
        "azure_openai", "fal", "google", "openai", "openrouter", "replicate", "runway",
        "stability", "xai",
    ]  # fmt: skip
    assert available_providers() == built_in
    for name, row in zip(built_in, rows, strict=True):
        client = get_provider_class(name)
        assert f"(providers/{name}.md) `{name}`" in row
        assert f"| {len(client.models)} |" in row
        assert client.key_env_vars[0] in row


def test_a_models_table_lists_every_registered_model_with_its_capabilities() -> None:
    client = get_provider_class("runway")
    rows = hooks.models_table("runway").splitlines()[2:]
    assert [row.split(" | ")[0] for row in rows] == [
        f"| `{model}`" for model in sorted(client.models)
    ]
    gen3 = next(row for row in rows if row.startswith("| `gen3a_turbo`"))
    assert "5, 10" in gen3 and "retired 2026-06-01, use `gen4_turbo`" in gen3
    gen45 = next(row for row in rows if row.startswith("| `gen4.5`"))
    assert "| 2-10 |" in gen45 and "| active |" in gen45


def test_the_page_hook_replaces_each_marker_and_links_relative_to_the_page() -> None:
    markdown = "# P\n\n<!-- tarash:providers -->\n\n<!-- tarash:models fal -->\n"
    home = hooks.on_page_markdown(markdown, _page("providers.md"), None, None)
    assert "<!--" not in home
    assert "[fal.ai](providers/fal.md)" in home
    assert "| `fal-ai/veo3` | text-to-video | 4, 6, 8 |" in home
    inside = hooks.on_page_markdown(markdown, _page("providers/index.md"), None, None)
    assert "[fal.ai](fal.md)" in inside


def test_a_marker_naming_no_provider_fails_the_build() -> None:
    with pytest.raises(ValueError, match="no-such-provider -->: no such provider"):
        hooks.render("<!-- tarash:models no-such-provider -->")


def test_the_ranges_are_compact() -> None:
    assert ranges([8, 2, 3, 4, 5, 10]) == "2-5, 8, 10"
    assert ranges([5, 10]) == "5, 10" and ranges([4, 5]) == "4, 5"
    assert ranges([]) == ""
    assert listed(None) == "any" and listed(()) == "-" and listed(("16:9", "1:1")) == "16:9, 1:1"


@pytest.mark.usefixtures("built_ins_only")
def test_the_docs_and_the_cli_draw_the_same_rows() -> None:
    """One catalog: each docs row carries what ``tarash models --json`` says of the model
    (kind, durations, lifecycle and price), and the providers' counts agree."""
    cli_rows = {(row.provider, row.model): row.as_json() for row in model_rows()}
    for provider in available_providers():
        for line in hooks.models_table(provider).splitlines()[2:]:
            cells = [cell.strip() for cell in line.strip("|").split(" | ")]
            row = cli_rows[(provider, cells[0].strip("`"))]
            assert cells[2] == listed(row["durations"])
            assert cells[6].startswith(str(row["lifecycle"]))
            assert cells[7] == (row["price"] or "-")
    priced = [row for row in cli_rows.values() if row["price"]]
    assert priced, "the default price table prices some registered model"
    counts = {row.name: row.models for row in provider_rows(built_in_only=True)}
    for line in hooks.providers_table().splitlines()[2:]:
        name = line.split("`")[1]
        assert f"| {counts[name]} |" in line
