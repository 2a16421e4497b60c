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
from tarash.tarash_gateway.cli._app import build_app

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
