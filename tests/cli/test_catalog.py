"""``tarash providers`` and ``tarash models``: the capability tables from the registry."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from tarash.tarash_gateway.cli._app import build_app
from tarash.tarash_gateway.providers.fal_models import FAL_MODELS

SEVEN = {"fal", "replicate", "stability", "openai", "azure_openai", "google", "runway"}


def test_providers_lists_all_seven(runner: CliRunner) -> None:
    """The table names every built-in provider."""
    result = runner.invoke(build_app(), ["providers"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    for name in SEVEN:
        assert name in result.stdout


def test_providers_json_has_kinds_keys_and_cancel(runner: CliRunner) -> None:
    """--json gives each provider's kinds, key variables and whether it cancels."""
    result = runner.invoke(build_app(), ["providers", "--json"])
    assert result.exit_code == 0, result.output
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    assert set(rows) >= SEVEN
    assert rows["fal"]["key_env_vars"] == ["FAL_KEY"] and rows["fal"]["cancel"] is True
    assert rows["stability"]["kinds"] == ["image"]
    assert "OPENAI_BASE_URL" in rows["openai"]["base_url_env_vars"]
    assert rows["openai"]["cancel"] is False


def test_models_of_one_provider_match_its_registry(runner: CliRunner) -> None:
    """``models fal`` lists exactly fal's registry, with the durations validation uses."""
    result = runner.invoke(build_app(), ["models", "fal", "--json"])
    assert result.exit_code == 0, result.output
    rows = {row["model"]: row for row in json.loads(result.stdout)}
    assert set(rows) == set(FAL_MODELS)
    veo3 = rows["fal-ai/veo3"]
    assert veo3["kind"] == "video" and veo3["durations"] == [4, 6, 8]
    assert veo3["aspect_ratios"] == ["16:9", "9:16"] and veo3["lifecycle"] == "active"


def test_models_table_shows_lifecycle_and_kind_filter(runner: CliRunner) -> None:
    """The table marks retired models; --kind keeps one kind."""
    result = runner.invoke(
        build_app(), ["models", "openai", "--kind", "image"], env={"COLUMNS": "200"}
    )
    assert result.exit_code == 0, result.output
    assert "dall-e-3" in result.stdout and "retired" in result.stdout
    assert "sora-2" not in result.stdout


def test_models_of_unknown_provider_is_one_line_exit_2(runner: CliRunner) -> None:
    """An unknown provider: one line naming the available ones, exit code 2."""
    result = runner.invoke(build_app(), ["models", "nope"])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "unknown provider 'nope'" in lines[0] and "fal" in lines[0]


def test_models_show_the_price_table(runner: CliRunner) -> None:
    """The price column comes from the default price table (what spend estimates use)."""
    from tarash.tarash_gateway._prices import PriceTable
    from tarash.tarash_gateway.cli._catalog import price_text

    result = runner.invoke(build_app(), ["models", "--json"])
    rows = json.loads(result.stdout)
    priced = [row for row in rows if row["price"] is not None]
    assert priced, "some registry model has a published price"
    sample = priced[0]
    assert sample["price"] == price_text(PriceTable().price(sample["provider"], sample["model"]))
