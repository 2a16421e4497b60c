"""The routing TOML of ``tarash batch --config``: checked with errors naming the line."""

from __future__ import annotations

from pathlib import Path

import pytest

from tarash.tarash_gateway.cli._output import CliError
from tarash.tarash_gateway.cli._routing import load_routing
from tarash.tarash_gateway.router import HedgePolicy

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
