"""``tarash emulator``'s heavy-tail options: refused by name before anything serves (the
serving itself is in test_subprocess.py)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

import tarash.emulator.__main__ as emulator_main
from tarash.emulator import Emulator
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


@pytest.mark.parametrize(("options", "any_key"), [([], False), (["--any-key"], True)])
def test_the_emulator_takes_only_its_printed_keys_unless_any_key(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch, options: list[str], any_key: bool
) -> None:
    """By default the served emulator accepts only the keys it prints; ``--any-key`` makes
    it take any non-empty key (what it is given is read off the emulator it builds)."""
    built: list[Emulator] = []
    monkeypatch.setattr(emulator_main, "serve", lambda emulator, **_: built.append(emulator))
    result = runner.invoke(build_app(), ["emulator", "--port", "0", *options])
    assert result.exit_code == 0, result.output
    (emulator,) = built
    keys = emulator._ctx.required_keys
    assert keys.get("replicate") == (None if any_key else emulator.api_key("replicate"))
    assert emulator._ctx.key_accepted("replicate", "r8_someone_else") is any_key
