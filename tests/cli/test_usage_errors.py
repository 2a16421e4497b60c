"""Bad command-line input: exit 2 with one ``error:`` line naming what is wrong, checked
before anything is sent (no traceback, no job at the emulator)."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tarash.emulator import Emulator
from tarash.tarash_gateway.batch._batch import _caught_in_intent
from tarash.tarash_gateway.cli._app import build_app
from tarash.tarash_gateway.cli._output import cli_advice, error_line
from tarash.tarash_gateway.errors import AuthenticationError

pytestmark = pytest.mark.integration

FAL = ["--provider", "fal", "--model", "fal-ai/veo3"]


def _one_error_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), stderr
    return lines[0]


@pytest.fixture
def jobs(tmp_path: Path) -> Path:
    """A one-line batch file."""
    path = tmp_path / "jobs.jsonl"
    path.write_text('{"prompt": "a cat"}\n')
    return path


@pytest.mark.parametrize("value", ["0", "-1", "nan", "inf"])
@pytest.mark.parametrize("command", ["generate", "batch", "jobs wait"])
def test_a_timeout_that_is_not_a_positive_finite_number_is_refused_up_front(
    runner: CliRunner,
    cli_env: dict[str, str],
    emu: Emulator,
    jobs: Path,
    tmp_path: Path,
    command: str,
    value: str,
) -> None:
    """--timeout 0, -1, nan or inf: exit 2, one line naming --timeout, nothing submitted."""
    before = emu.stats().submitted
    args = {
        "generate": ["generate", "video", *FAL, "--prompt", "x"],
        "batch": ["batch", str(jobs), "--out", str(tmp_path / "out"), *FAL],
        "jobs wait": ["jobs", "wait", '{"provider": "fal"}'],
    }[command]
    result = runner.invoke(build_app(), [*args, "--timeout", value])
    assert result.exit_code == 2, result.output
    assert "--timeout" in _one_error_line(result.stderr)
    assert emu.stats().submitted == before


@pytest.mark.parametrize("command", ["generate", "batch"])
@pytest.mark.parametrize("where", ["file", "under-a-file"])
def test_an_out_that_is_no_writable_folder_is_refused_up_front(
    runner: CliRunner,
    cli_env: dict[str, str],
    emu: Emulator,
    jobs: Path,
    tmp_path: Path,
    command: str,
    where: str,
) -> None:
    """--out naming a file, or a folder that cannot be made: exit 2, one line naming --out,
    and no job paid for that would have nowhere to be saved."""
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    out = blocker if where == "file" else blocker / "sub"
    before = emu.stats().submitted
    args = {
        "generate": ["generate", "video", *FAL, "--prompt", "x"],
        "batch": ["batch", str(jobs), *FAL],
    }[command]
    result = runner.invoke(build_app(), [*args, "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert f"--out {out}" in _one_error_line(result.stderr)
    assert emu.stats().submitted == before


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        (b'[route]\nprovider = "fal"\nmodel = "fal-ai/veo3"\ntimeout = nan\n', "timeout"),
        (b'[route]\nprovider = "fal"\nmodel = "fal-ai/veo3"\ntimeout = inf\n', "timeout"),
        (b'[route]\nprovider = "fal"\n# caf\xe9\nmodel = "fal-ai/veo3"\n', "not UTF-8"),
    ],
)
def test_a_routing_file_with_a_bad_timeout_or_encoding_is_refused_up_front(
    runner: CliRunner,
    cli_env: dict[str, str],
    emu: Emulator,
    jobs: Path,
    tmp_path: Path,
    toml: bytes,
    message: str,
) -> None:
    """``timeout = nan`` or a file that is not UTF-8: one line naming the file, before the run."""
    config = tmp_path / "routing.toml"
    config.write_bytes(toml)
    before = emu.stats().submitted
    result = runner.invoke(
        build_app(), ["batch", str(jobs), "--out", str(tmp_path / "out"), "--config", str(config)]
    )
    assert result.exit_code == 2, result.output
    line = _one_error_line(result.stderr)
    assert str(config) in line and message in line
    assert emu.stats().submitted == before


@pytest.mark.parametrize("port", ["-1", "65536", "99999"])
def test_an_emulator_port_out_of_range_is_refused(runner: CliRunner, port: str) -> None:
    """--port beyond 0-65535: exit 2 and one line naming --port."""
    result = runner.invoke(build_app(), ["emulator", "--port", port])
    assert result.exit_code == 2, result.output
    assert f"--port {port}" in _one_error_line(result.stderr)


def test_an_emulator_port_in_use_is_refused(runner: CliRunner) -> None:
    """--port of a port another process listens on: exit 2 and one line, no traceback."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = runner.invoke(build_app(), ["emulator", "--port", str(port)])
    assert result.exit_code == 2, result.output
    line = _one_error_line(result.stderr)
    assert f"--port {port}: cannot listen on 127.0.0.1:{port}" in line


def test_retries_reach_the_user_as_no_bare_stamina_lines(tmp_path: Path) -> None:
    """An unreachable provider: the retries stamina schedules print nothing of their own;
    the user reads the one error line (exit 10)."""
    env = {
        "PATH": "/usr/bin:/bin",
        "FAL_KEY": "key-id:key-secret",
        "TARASH_FAL_BASE_URL": "http://127.0.0.1:9/fal",  # discard port: refused at once
        "COLUMNS": "200",
    }
    done = subprocess.run(
        [sys.executable, "-m", "tarash.tarash_gateway.cli", "generate", "video", *FAL,
         "--prompt", "x", "--out", str(tmp_path), "--json"],
        env={**env, "PYTHONPATH": ":".join(sys.path)}, capture_output=True, text=True,
        timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 10, done.stderr
    assert "stamina" not in done.stderr


@pytest.mark.parametrize(
    ("provider", "model", "variable"),
    [("fal", "fal-ai/veo3", "FAL_KEY"), ("replicate", "google/veo-3", "REPLICATE_API_TOKEN")],
)
def test_a_missing_key_tells_a_cli_user_what_to_set_not_what_to_pass(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch, provider: str, model: str, variable: str
) -> None:
    """No key: the line says which environment variable to set, never "pass api_key in
    the config" (there is no such thing on the command line); exit 3."""
    monkeypatch.delenv(variable, raising=False)
    monkeypatch.delenv("FAL_KEY_ID", raising=False)
    result = runner.invoke(
        build_app(),
        ["generate", "video", "--provider", provider, "--model", model, "--prompt", "x"],
    )
    assert result.exit_code == 3, result.output
    line = _one_error_line(result.stderr)
    assert f"set {variable}" in line and "in the environment" in line
    assert "api_key" not in line and "config" not in line


def test_a_missing_azure_endpoint_names_the_variables_not_base_url(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Azure without an endpoint: the line names AZURE_OPENAI_ENDPOINT and tarash's own
    variable, not the config's base_url; exit 2."""
    for name in ("AZURE_OPENAI_ENDPOINT", "TARASH_AZURE_OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", "k")
    result = runner.invoke(
        build_app(),
        ["generate", "video", "--provider", "azure_openai", "--model", "sora-2", "--prompt", "x"],
    )
    assert result.exit_code == 2, result.output
    line = _one_error_line(result.stderr)
    assert "AZURE_OPENAI_ENDPOINT (or TARASH_AZURE_OPENAI_BASE_URL)" in line
    assert "base_url" not in line


def test_library_advice_is_rewritten_for_the_command_only() -> None:
    """A retired model's successor note names --provider and TARASH_OPENAI_BASE_URL under
    the command; the library's own message (for Python callers) is left as it is."""
    library = (
        "use sora-2 on Azure OpenAI (provider='azure_openai') or an OpenAI-compatible "
        "endpoint set by base_url."
    )
    assert cli_advice(library) == (
        "use sora-2 on Azure OpenAI (--provider azure_openai) or an OpenAI-compatible "
        "endpoint set by TARASH_OPENAI_BASE_URL."
    )
    error = AuthenticationError("no API key: pass api_key in the config or set FAL_KEY")
    assert error.message == "no API key: pass api_key in the config or set FAL_KEY"
    assert error_line(error) == (
        "AuthenticationError: no API key: set FAL_KEY in the environment "
        "(the command reads keys only from there)"
    )


def test_a_row_caught_in_flight_tells_a_cli_user_how_to_send_it_anyway() -> None:
    """The library tells a Python caller to reset the ledger row (LedgerEntry.reset), which
    a command-line user cannot do: the command's line names what they can do instead."""
    library = _caught_in_intent(11)
    assert "LedgerEntry.reset" in library.message
    line = error_line(library)
    assert "LedgerEntry" not in line
    assert "put that line in a file of its own and run it with another --out" in line
