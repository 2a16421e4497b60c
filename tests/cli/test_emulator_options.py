"""``tarash emulator``'s heavy-tail options: refused by name before anything serves (the
serving itself is in test_subprocess.py)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from tarash.tarash_gateway.cli._app import build_app


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--tail-fraction", "0.1"], "--tail-fraction and --tail-seconds go together"),
        (["--tail-seconds", "30"], "--tail-fraction and --tail-seconds go together"),
        (["--tail-fraction", "1.5", "--tail-seconds", "30"], "between 0 and 1, got 1.5"),
        (["--tail-fraction", "0.1", "--tail-seconds", "-2"], "--tail-seconds must be a finite"),
        (["--latency", "0,1", "--tail-fraction", "0.1"], "go together"),
    ],
)
def test_a_malformed_tail_option_is_a_usage_error_naming_it(
    runner: CliRunner, options: list[str], message: str
) -> None:
    """Exit 2 with one ``error:`` line naming the option; the emulator never starts."""
    result = runner.invoke(build_app(), ["emulator", "--port", "0", *options])
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert result.stdout == ""


def test_a_seed_that_is_not_an_integer_is_refused(runner: CliRunner) -> None:
    result = runner.invoke(build_app(), ["emulator", "--port", "0", "--seed", "seven"])
    assert result.exit_code == 2
    assert "--seed" in result.stderr and result.stdout == ""
