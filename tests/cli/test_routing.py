"""The routing TOML of ``tarash batch --config``: checked with errors naming the line."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tarash.tarash_gateway import BreakerPolicy, configure
from tarash.tarash_gateway.cli._app import build_app
from tarash.tarash_gateway.cli._output import CliError
from tarash.tarash_gateway.cli._routing import load_routing
from tarash.tarash_gateway.router import HedgePolicy, default_router

GOOD = """\
strategy = "hedge"

[route]
provider = "fal"
model = "fal-ai/veo3"
fallbacks = ["replicate:google/veo-3"]
timeout = 600

[hedge]
after = 30

[limits.fal]
max_concurrent = 4

[limits."replicate/google/veo-3"]
creates_per_minute = 60
"""

EVERYTHING = (
    GOOD
    + """
[breakers]
failures = 3
cooldown = 10

[prices."fal/fal-ai/veo3"]
per_second = 0.4
per_second_by_resolution = { "1080p" = 0.5 }
cancelled = "nothing"
checked = 2025-10-01
source = "https://fal.ai/models/fal-ai/veo3"

[prices.runway]
per_second = 0.05
"""
).replace('strategy = "hedge"\n', 'strategy = "hedge"\nspend_cap = 25.5\n', 1)


def test_a_full_file_maps_onto_route_limits_and_hedge(tmp_path: Path) -> None:
    """Every section becomes its library object."""
    config = load_routing(_write(tmp_path, GOOD))
    assert config.route.provider == "fal" and config.route.fallbacks == ("replicate:google/veo-3",)
    assert config.route.timeout == 600.0
    assert config.strategy == "hedge" and config.hedge == HedgePolicy(after=30)
    assert config.limits["fal"].max_concurrent == 4
    assert config.limits["replicate/google/veo-3"].creates_per_minute == 60


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "routing.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        (
            '[route]\nprovider = "fal"\n\n[limits.fal]\nmax_concurrent = -1\n',
            ":5: limits.fal.max_concurrent",
        ),
        ('[limits."replicate/x"]\nburst = 3\n', ':2: limits."replicate/x".burst: unknown key'),
        ('strategy = "fastest"\n', ":1: strategy: must be 'chain' or 'hedge'"),
        ('[route]\nkind = "audio"\n', ":2: route.kind: must be 'video' or 'image'"),
        ('[route]\nfallbacks = ["replicate"]\n', ":2: route.fallbacks"),
        ("[hedge]\nmax_parallel = 0\n", ":2: hedge.max_parallel"),
        ("[routes]\n", "routes: unknown key"),
        ("[route\n", "not TOML"),
    ],
)
def test_errors_name_the_line_and_key(tmp_path: Path, text: str, needle: str) -> None:
    """Each mistake is one error naming the file, its line and the key."""
    with pytest.raises(CliError) as caught:
        load_routing(_write(tmp_path, text))
    assert needle in str(caught.value), str(caught.value)
    assert str(caught.value).startswith(str(tmp_path / "routing.toml"))


def test_a_missing_file_is_a_cli_error(tmp_path: Path) -> None:
    """A --config that is not there says so."""
    with pytest.raises(CliError, match="--config"):
        load_routing(tmp_path / "nope.toml")


def test_prices_are_checked_with_their_line(tmp_path: Path) -> None:
    """A [prices] row becomes a Price; a negative amount names its line."""
    good = load_routing(_write(tmp_path, '[prices."fal/fal-ai/veo3"]\nper_second = 0.4\n'))
    assert good.prices["fal/fal-ai/veo3"].per_second == 0.4
    with pytest.raises(CliError, match=r':3: prices\."fal/fal-ai/veo3"\.per_second'):
        load_routing(_write(tmp_path, '# price\n[prices."fal/fal-ai/veo3"]\nper_second = -1\n'))


@pytest.fixture
def restore_default_router() -> Iterator[None]:
    """``apply()`` replaces the default router; the next test gets a plain one back."""
    yield
    configure()


@pytest.mark.usefixtures("restore_default_router")
def test_apply_gives_the_default_router_every_section(tmp_path: Path) -> None:
    """Strategy, hedge, limits, breakers, prices and the spend cap reach the router that
    batch requests run on, over the default price table."""
    config = load_routing(_write(tmp_path, EVERYTHING))
    assert config.spend_cap == 25.5
    assert config.breakers == BreakerPolicy(failures=3, cooldown=10)
    assert config.prices["fal/fal-ai/veo3"].per_second_by_resolution == {"1080p": 0.5}
    router = config.apply()
    assert default_router() is router
    assert router.strategy == "hedge" and router.hedge == HedgePolicy(after=30)
    assert router.spend.cap == 25.5
    assert router.breakers is not None and router.breakers.policy.failures == 3
    veo3 = router.prices.price("fal", "fal-ai/veo3")
    assert veo3 is not None and veo3.per_second == 0.4 and veo3.cancelled == "nothing"
    assert router.prices.estimate("runway", "gen4_turbo", {"duration_seconds": 10}) == 0.5
    assert router.prices.price("replicate", "google/veo-3") is not None, "defaults stay"
    assert router.board.limits["fal"].max_concurrent == 4


@pytest.mark.usefixtures("restore_default_router")
def test_an_empty_file_gives_a_plain_router(tmp_path: Path) -> None:
    """No section set: chain, no limits, no breakers, no cap."""
    router = load_routing(_write(tmp_path, "")).apply()
    assert router.strategy == "chain" and router.breakers is None and router.spend.cap is None


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ('strategy = "chain"\nspend_cap = -5\n', ":2: spend_cap: must be dollars"),
        ('spend_cap = "ten"\n', ":1: spend_cap: must be dollars"),
        ("[breakers]\nfailures = 0\n", ":2: breakers.failures: BreakerPolicy.failures"),
        ("[breakers]\n\nburst = 2\n", ":3: breakers.burst: unknown key"),
        ("breakers = 3\n", ":1: breakers: must be a table"),
        ('[prices."fall/x"]\nper_second = 1\n', ":1: prices.\"fall/x\": unknown provider 'fall'"),
        ("[limits.nope]\nmax_concurrent = 1\n", ":1: limits.nope: unknown provider 'nope'"),
        ('[prices.fal]\nper_second = "1"\n', ":2: prices.fal.per_second: Price.per_second"),
        ('[prices.fal]\ncancelled = "half"\n', ":2: prices.fal.cancelled: Price.cancelled"),
        ("[prices.fal]\ncancelled = 1\n", ":2: prices.fal.cancelled: must be a string"),
        ('[prices.fal]\nchecked = "2025-10-01"\n', ":2: prices.fal.checked: must be a TOML date"),
        ("[prices.fal]\nchecked = 2025-10-01T10:00:00\n", ":2: prices.fal.checked"),
        (
            '[prices.fal]\nper_second_by_resolution = { "1080p" = "a" }\n',
            ":2: prices.fal.per_second_by_resolution: must be a table",
        ),
        ("[prices.fal]\nsource = 3\n", ":2: prices.fal.source: must be a string"),
        ("[prices]\nfal = 3\n", ":2: prices.fal: must be a table of Price fields"),
    ],
)
def test_router_sections_name_the_line_and_key(tmp_path: Path, text: str, needle: str) -> None:
    """Spend cap, breakers and prices mistakes: one error naming the file, line and key."""
    with pytest.raises(CliError) as caught:
        load_routing(_write(tmp_path, text))
    assert needle in str(caught.value), str(caught.value)
    assert str(caught.value).startswith(str(tmp_path / "routing.toml"))


def test_the_example_in_docs_cli_md_runs_and_its_error_is_quoted_exactly(
    tmp_path: Path, runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    """docs/cli.md's routing TOML is read as it stands, and the error the page quotes is
    what ``tarash batch`` prints with ``max_concurrent = -1`` (exit 2)."""
    page = (Path(__file__).resolve().parents[2] / "docs" / "cli.md").read_text()
    section = page.split("### Routing config", 1)[1]
    example = section.split("```toml\n", 1)[1].split("```", 1)[0]
    config = load_routing(_write(tmp_path, example))
    assert config.spend_cap == 25.0 and config.breakers is not None
    assert config.prices["fal/fal-ai/veo3"].cancelled == "nothing"
    quoted = section.split("```text\n", 1)[1].split("\n```", 1)[0]
    _write(tmp_path, example.replace("max_concurrent = 4", "max_concurrent = -1"))
    (tmp_path / "jobs.jsonl").write_text('{"prompt": "a cat"}\n')
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(
        build_app(),
        ["batch", "jobs.jsonl", "--out", "out", "--config", "routing.toml"],
        env={"COLUMNS": "300"},
    )
    assert result.exit_code == 2, result.output
    assert result.stderr.strip() == quoted
    assert not (tmp_path / "out").exists(), "nothing ran"
