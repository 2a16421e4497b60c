"""Fixtures for the ``tarash`` command's tests: an emulator and an environment aimed at it."""

from __future__ import annotations

import os

import pytest
from typer.testing import CliRunner

from tarash.emulator import Emulator
from tests._emulator import emu as emu
from tests._emulator import emulator_environment
from tests._emulator import shared_emu as shared_emu


@pytest.fixture
def cli_env(emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The process environment points every provider at the emulator (as a user would)."""
    env = emulator_environment(emu)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


@pytest.fixture
def runner() -> CliRunner:
    """typer's runner, stdout and stderr kept apart."""
    return CliRunner()


@pytest.fixture
def subprocess_env(emu: Emulator) -> dict[str, str]:
    """An environment for a ``tarash`` subprocess aimed at the emulator (no real keys)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("TARASH_")}
    env.update(emulator_environment(emu))
    env["COLUMNS"] = "200"
    return env
