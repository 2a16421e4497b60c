"""``tarash providers`` and ``tarash models``: the capability tables from the registry."""

from __future__ import annotations

import importlib.metadata
import io
import json
import subprocess
import sys
from collections.abc import Iterator

import pytest
from rich.console import Console
from typer.testing import CliRunner

from tarash.tarash_gateway.cli._app import build_app
from tarash.tarash_gateway.cli._catalog import (
    MODEL_HEADERS,
    model_cells,
    models_table,
    print_catalog,
)
from tarash.tarash_gateway.errors import ValidationError
from tarash.tarash_gateway.providers import register_provider
from tarash.tarash_gateway.providers.fal_models import FAL_MODELS
from tarash.tarash_gateway.routing._catalog import model_rows, provider_rows
from tests.docs._examples import _restore_registries, _snapshot_registries

BUILT_IN = {"fal", "replicate", "stability", "openai", "azure_openai", "google", "runway", "xai"}


def test_providers_lists_every_built_in(runner: CliRunner) -> None:
    """The table names every built-in provider."""
    result = runner.invoke(build_app(), ["providers"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    for name in BUILT_IN:
        assert name in result.stdout


def test_providers_json_has_kinds_keys_and_cancel(runner: CliRunner) -> None:
    """--json gives each provider's kinds, key variables and whether it cancels."""
    result = runner.invoke(build_app(), ["providers", "--json"])
    assert result.exit_code == 0, result.output
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    assert set(rows) >= BUILT_IN
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
    from tarash.tarash_gateway.routing._catalog import price_text
    from tarash.tarash_gateway.routing._prices import PriceTable

    result = runner.invoke(build_app(), ["models", "--json"])
    rows = json.loads(result.stdout)
    priced = [row for row in rows if row["price"] is not None]
    assert priced, "some registry model has a published price"
    sample = priced[0]
    assert sample["price"] == price_text(PriceTable().price(sample["provider"], sample["model"]))


@pytest.fixture
def custom_provider() -> Iterator[str]:
    """A handler registered at run time (a custom provider), removed afterwards."""
    saved = _snapshot_registries()

    class EchoHandler:
        async def generate_video_async(self, config: object, request: object) -> None:
            raise NotImplementedError

    register_provider("my-echo", EchoHandler())
    yield "my-echo"
    _restore_registries(saved)


def test_a_custom_provider_is_a_row_of_the_cli_not_of_the_docs(custom_provider: str) -> None:
    """``tarash providers`` lists a registered handler as custom; the docs (built-in only)
    leave it out, and asking the docs for its models is an error naming it."""
    cli = {row.name: row for row in provider_rows()}
    assert cli[custom_provider].custom and cli[custom_provider].models == 0
    assert custom_provider not in {row.name for row in provider_rows(built_in_only=True)}
    assert model_rows(custom_provider) == []
    with pytest.raises(ValidationError, match="'my-echo' is not a built-in provider"):
        model_rows(custom_provider, built_in_only=True)


def test_the_catalog_works_without_rich() -> None:
    """The rows need no rich (the docs build and the bare package read them): with rich
    unimportable, the catalog still builds every row."""
    code = (
        "import sys; sys.modules['rich'] = None; "
        "import tarash.tarash_gateway.routing._catalog as c; "
        "assert c.model_rows() and len(c.provider_rows(built_in_only=True)) == 9"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


@pytest.mark.parametrize("command", [["providers"], ["models"], ["models", "replicate"]])
@pytest.mark.parametrize("columns", ["40", "200"])
def test_piped_tables_are_tab_separated_with_whole_identifiers(
    runner: CliRunner, command: list[str], columns: str
) -> None:
    """Into a pipe (any width), the catalog is one tab-separated line per row under a
    header line: no identifier split across lines, no column emptied."""
    result = runner.invoke(build_app(), command, env={"COLUMNS": columns})
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    width = len(lines[0].split("\t"))
    assert width in (7, 9) and all(len(line.split("\t")) == width for line in lines)
    assert all(cell.strip() for line in lines for cell in line.split("\t"))
    if command[0] == "models":
        models = {line.split("\t")[1] for line in lines[1:]}
        assert "fal-ai/veo3" in models or "google/veo-3" in models
    else:
        keys = {line.split("\t")[0]: line.split("\t")[4] for line in lines[1:]}
        assert keys["azure_openai"] == "AZURE_OPENAI_API_KEY or AZURE_OPENAI_AD_TOKEN"


def test_a_narrow_terminal_gets_the_plain_layout_a_wide_one_the_table() -> None:
    """On a terminal too narrow for the table, the plain layout; wide enough, the table."""
    rows = model_rows("fal")
    cells = [model_cells(row) for row in rows]
    for width, table_drawn in ((40, False), (400, True)):
        out = io.StringIO()
        console = Console(file=out, force_terminal=True, width=width, color_system=None)
        print_catalog(console, models_table(rows), MODEL_HEADERS, cells)
        assert ("┃" in out.getvalue()) is table_drawn
        assert "fal-ai/bytedance/omnihuman/v1.5" in out.getvalue()


def test_version_prints_the_package_version(runner: CliRunner) -> None:
    """``tarash --version`` prints the installed distribution's version and exits 0."""
    result = runner.invoke(build_app(), ["--version"])
    assert result.exit_code == 0, result.output
    assert result.stdout == f"tarash {importlib.metadata.version('tarash-gateway')}\n"


@pytest.mark.parametrize(
    "command",
    [[], ["batch"], ["generate"], ["emulator"], ["providers"], ["jobs"], ["jobs", "wait"]],
)
def test_help_shows_no_bool_label_and_keeps_bracketed_names(
    runner: CliRunner, command: list[str]
) -> None:
    """No ``<bool>`` after a flag, and ``[route]``, ``[limits.*]`` survive rich markup."""
    result = runner.invoke(build_app(), [*command, "--help"], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    assert "<bool>" not in result.stdout
    if command == ["batch"]:
        assert "[route], strategy, spend_cap, [hedge], [limits.*], [breakers], [prices.*]" in (
            result.stdout
        )
    if command == ["emulator"]:
        assert "KIND[,provider=P][,operation=O]" in result.stdout
