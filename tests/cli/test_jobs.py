"""``tarash jobs status|wait|cancel``: the handle API from a shell, against the emulator."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tarash.emulator import Emulator, Fault, Latency
from tarash.tarash_gateway import submit_video
from tarash.tarash_gateway.cli._app import build_app
from tarash.tarash_gateway.models import JobHandle, VideoGenerationConfig, VideoGenerationRequest

pytestmark = pytest.mark.integration


def _submit() -> JobHandle:
    # Base URL and key from the environment (cli_env), as a user of the command has them.
    config = VideoGenerationConfig(provider="fal", model="fal-ai/veo3", poll_interval=0.05)
    return submit_video(config, VideoGenerationRequest(prompt="a cat", duration_seconds=4))


def test_status_then_wait_from_a_handle_file(
    runner: CliRunner, cli_env: dict[str, str], emu: Emulator, tmp_path: Path
) -> None:
    """status reads a handle file and reports the state; wait saves the video."""
    emu.latency = Latency(queue_seconds=0.3, run_seconds=0.3)
    handle_file = tmp_path / "job.json"
    handle_file.write_text(_submit().model_dump_json())
    status = runner.invoke(build_app(), ["jobs", "status", str(handle_file), "--json"])
    assert status.exit_code == 0, status.output
    assert json.loads(status.stdout)["status"] in ("queued", "processing")
    waited = runner.invoke(
        build_app(),
        ["jobs", "wait", str(handle_file), "--out", str(tmp_path / "out")],
        env={"COLUMNS": "200"},
    )
    assert waited.exit_code == 0, waited.output
    assert "done fal fal-ai/veo3" in waited.stdout
    assert [path.suffix for path in (tmp_path / "out").iterdir()] == [".mp4"]


def test_cancel_inline_handle_json(
    runner: CliRunner, cli_env: dict[str, str], emu: Emulator
) -> None:
    """cancel takes the handle JSON inline and the job ends cancelled at the emulator."""
    emu.inject(Fault("stuck", provider="fal"))
    handle = _submit()
    result = runner.invoke(build_app(), ["jobs", "cancel", handle.model_dump_json(), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"request_id": handle.request_id, "cancelled": True}
    states = {job.id: job.state for job in emu.jobs("fal")}
    assert states[handle.request_id] == "cancelled"
    after = runner.invoke(build_app(), ["jobs", "status", handle.model_dump_json()])
    assert after.exit_code == 0 and "failed" in after.stdout


def test_a_wrapped_handle_is_read(
    runner: CliRunner, cli_env: dict[str, str], emu: Emulator
) -> None:
    """An object holding the handle under "job_handle" (a JSON error) is accepted."""
    handle = _submit()
    wrapped = json.dumps({"error": {"job_handle": json.loads(handle.model_dump_json())}})
    result = runner.invoke(build_app(), ["jobs", "status", wrapped, "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["request_id"] == handle.request_id


@pytest.mark.parametrize(
    ("argument", "needle"),
    [
        ("/no/such/handle.json", "neither handle JSON nor a readable file"),
        ("{not json", "not JSON"),
        ('{"provider": "fal"}', "request_id"),
    ],
)
def test_bad_handles_are_one_line_exit_2(
    runner: CliRunner, cli_env: dict[str, str], argument: str, needle: str
) -> None:
    """A missing file, bad JSON or an incomplete handle: one line, exit 2."""
    result = runner.invoke(build_app(), ["jobs", "wait", argument])
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], lines


def test_a_handle_pointing_elsewhere_is_refused(
    runner: CliRunner, cli_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A handle whose base URL is not the provider's nor the environment's gets no key."""
    handle = _submit()
    monkeypatch.delenv("TARASH_FAL_BASE_URL")
    result = runner.invoke(build_app(), ["jobs", "status", handle.model_dump_json()])
    assert result.exit_code == 2, result.output
    assert "neither fal's API nor a base_url you configured" in result.stderr
    assert cli_env["FAL_KEY"] not in result.output
