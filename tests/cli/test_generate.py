"""``tarash generate``: one generation against the emulator, through typer's runner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tarash.emulator import Emulator, Fault
from tarash.tarash_gateway import configure
from tarash.tarash_gateway.cli._app import build_app
from tarash.tarash_gateway.cli._generate import StatusLine, file_stem, parse_target
from tarash.tarash_gateway.cli._output import CliError
from tarash.tarash_gateway.models import VideoGenerationUpdate
from tests._emulator import FAST

pytestmark = pytest.mark.integration

VIDEO = ["generate", "video", "--provider", "fal", "--model", "fal-ai/veo3"]


def test_video_is_saved_and_summarised(
    runner: CliRunner, cli_env: dict[str, str], emu: Emulator, tmp_path: Path
) -> None:
    """A video is generated, saved under --out, and the metadata table printed."""
    result = runner.invoke(
        build_app(),
        [*VIDEO, "--prompt", "a cat", "--duration", "5", "--out", str(tmp_path)],
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.output
    files = list(tmp_path.iterdir())
    assert len(files) == 1 and files[0].suffix == ".mp4" and files[0].stat().st_size > 0
    assert "done fal fal-ai/veo3" in result.stdout
    assert "execution metadata" in result.stdout and "success" in result.stdout
    assert "duration_seconds: 5 -> 6" in result.stdout  # the adaptation, in the table
    assert emu.stats().running == 0


def test_image_json_is_plain_json(
    runner: CliRunner, cli_env: dict[str, str], tmp_path: Path
) -> None:
    """--json prints one JSON document and nothing else (no ANSI, no table)."""
    result = runner.invoke(
        build_app(),
        [
            "generate", "image", "--provider", "openai", "--model", "gpt-image-1",
            "--prompt", "a fox", "--aspect-ratio", "1:1", "--out", str(tmp_path), "--json",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.stdout
    data = json.loads(result.stdout)
    assert data["provider"] == "openai" and data["model"] == "gpt-image-1"
    assert [Path(name).suffix for name in data["files"]] == [".png"]
    assert Path(data["files"][0]).is_file()
    assert data["execution_metadata"]["attempts"][0]["status"] == "success"


def test_fallback_is_used_when_the_first_provider_fails(
    runner: CliRunner, cli_env: dict[str, str], emu: Emulator, tmp_path: Path
) -> None:
    """--fallback P:M runs after a failed job; the metadata shows both attempts."""
    emu.inject(Fault("job_failure", provider="fal"))
    result = runner.invoke(
        build_app(),
        [*VIDEO, "--prompt", "a cat", "--fallback", "replicate:google/veo-3",
         "--out", str(tmp_path), "--json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    metadata = json.loads(result.stdout)["execution_metadata"]
    assert metadata["fallback_triggered"] is True
    assert [(a["provider"], a["status"]) for a in metadata["attempts"]] == [
        ("fal", "failed"),
        ("replicate", "success"),
    ]
    assert emu.stats().running == 0


def test_image_input_from_a_file(
    runner: CliRunner, cli_env: dict[str, str], emu: Emulator, tmp_path: Path
) -> None:
    """--image PATH is read and sent as the first frame of an image-to-video model."""
    from tests._emulator import tiny_png

    picture = tmp_path / "frame.png"
    picture.write_bytes(tiny_png())
    result = runner.invoke(
        build_app(),
        ["generate", "video", "--provider", "fal", "--model", "fal-ai/veo3/image-to-video",
         "--prompt", "move", "--image", str(picture), "--out", str(tmp_path / "o"), "--json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    sent = emu.jobs("fal")[-1].input
    assert str(sent["image_url"]).startswith("data:image/png;base64,")


@pytest.mark.parametrize(
    ("arguments", "code", "needle"),
    [
        (["--prompt", "x", "--aspect-ratio", "5:7"], 2, "--aspect-ratio"),
        (["--prompt", "x", "--duration", "0"], 2, "--duration"),
        (["--prompt", "x", "--fallback", "replicate"], 2, "PROVIDER:MODEL"),
        (["--prompt", "x", "--image", "/no/such/file.png"], 2, "no such file"),
    ],
)
def test_bad_input_is_one_line_and_nothing_is_submitted(
    runner: CliRunner,
    cli_env: dict[str, str],
    emu: Emulator,
    arguments: list[str],
    code: int,
    needle: str,
) -> None:
    """Malformed options: one line naming the option, exit 2, no job at the emulator."""
    before = emu.stats().submitted
    result = runner.invoke(build_app(), [*VIDEO, *arguments])
    assert result.exit_code == code, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], lines
    assert emu.stats().submitted == before


def test_unknown_provider_and_options_of_the_wrong_kind(
    runner: CliRunner, cli_env: dict[str, str], emu: Emulator
) -> None:
    """An unknown provider and --duration on an image are refused before any submit."""
    before = emu.stats().submitted
    unknown = runner.invoke(
        build_app(), ["generate", "video", "--provider", "nope", "--model", "m", "--prompt", "x"]
    )
    assert unknown.exit_code == 2 and "unknown provider 'nope'" in unknown.stderr
    wrong = runner.invoke(
        build_app(),
        ["generate", "image", "--provider", "fal", "--model", "fal-ai/flux/dev",
         "--prompt", "x", "--duration", "5"],
    )  # fmt: skip
    assert wrong.exit_code == 2 and "--duration applies to videos only" in wrong.stderr
    assert emu.stats().submitted == before


def test_missing_key_is_exit_3_and_json_error(
    runner: CliRunner, cli_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, emu: Emulator
) -> None:
    """No key in the environment: AuthenticationError, exit 3; --json gives an error object."""
    monkeypatch.delenv("FAL_KEY")
    before = emu.stats().submitted
    result = runner.invoke(build_app(), [*VIDEO, "--prompt", "x", "--json"])
    assert result.exit_code == 3, result.output
    error = json.loads(result.stdout)["error"]
    assert error["type"] == "AuthenticationError" and "FAL_KEY" in error["message"]
    assert error["exit_code"] == 3
    assert emu.stats().submitted == before


def test_failed_job_exits_7_with_the_metadata(
    runner: CliRunner, cli_env: dict[str, str], emu: Emulator, tmp_path: Path
) -> None:
    """A job that fails (no fallback): exit 7, the attempts table on stderr, one error line."""
    emu.inject(Fault("job_failure", provider="fal"))
    result = runner.invoke(
        build_app(), [*VIDEO, "--prompt", "x", "--out", str(tmp_path)], env={"COLUMNS": "200"}
    )
    assert result.exit_code == 7, result.output
    assert "execution metadata" in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("error: GenerationFailedError")
    assert list(tmp_path.iterdir()) == []


def test_deadline_exits_8_and_cancels_the_job(
    runner: CliRunner, cli_env: dict[str, str], emu: Emulator, tmp_path: Path
) -> None:
    """--timeout passes on a stuck job: exit 8 and the job is cancelled at the emulator."""
    emu.inject(Fault("stuck", provider="fal"))
    cancelled = emu.stats("fal").cancelled
    result = runner.invoke(
        build_app(), [*VIDEO, "--prompt", "x", "--timeout", "1", "--out", str(tmp_path)]
    )
    assert result.exit_code == 8, result.output
    assert emu.stats("fal").cancelled == cancelled + 1 and emu.stats().running == 0


def test_keys_are_never_echoed(
    runner: CliRunner,
    cli_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    emu: Emulator,
    tmp_path: Path,
) -> None:
    """A key from the environment appears in no output, on success or on failure."""
    secret = "r8_" + "S3cr3tT0k3n" * 3
    # An emulator that takes this key (it refuses any key but its own, as Replicate does).
    with Emulator(latency=FAST, required_keys={"replicate": secret}) as own:
        monkeypatch.setenv("TARASH_REPLICATE_BASE_URL", own.base_url("replicate"))
        monkeypatch.setenv("REPLICATE_API_TOKEN", secret)
        ok = runner.invoke(
            build_app(),
            ["generate", "video", "--provider", "replicate", "--model", "google/veo-3",
             "--prompt", "x", "--out", str(tmp_path)],
            env={"COLUMNS": "200"},
        )  # fmt: skip
        assert ok.exit_code == 0, ok.output
        own.inject(Fault("job_failure", provider="replicate"))
        failed = runner.invoke(
            build_app(),
            ["generate", "video", "--provider", "replicate", "--model", "google/veo-3",
             "--prompt", "x", "--out", str(tmp_path), "--json"],
        )  # fmt: skip
    assert failed.exit_code == 7
    for result in (ok, failed):
        assert secret not in result.stdout and secret not in result.stderr
        assert "S3cr3t" not in result.output


def test_parse_target_keeps_a_pinned_version() -> None:
    """PROVIDER:MODEL splits at the first colon only."""
    assert parse_target("replicate:owner/name:abc123") == ("replicate", "owner/name:abc123")
    with pytest.raises(CliError, match="PROVIDER:MODEL"):
        parse_target(":model")


def test_file_stem_is_safe() -> None:
    """Odd characters of a request id do not reach the file name."""
    assert file_stem("../a b/c") == "a_b_c"
    assert file_stem("///") == "result"


def test_status_line_shows_provider_queue_progress_and_elapsed() -> None:
    """The live line says provider, model, state, queue position, progress and elapsed time."""
    now = [100.0]
    line = StatusLine("fal", "fal-ai/veo3", clock=lambda: now[0])
    assert line.text() == "fal fal-ai/veo3 · submitting · 0.0s"
    now[0] = 102.5
    line.update(
        VideoGenerationUpdate(
            request_id="r", status="queued", queue_position=3, provider="fal", model="m"
        )
    )
    assert line.text() == "fal m · queued (position 3) · 2.5s"
    line.update(
        VideoGenerationUpdate(
            request_id="r",
            status="processing",
            progress_percent=40,
            provider="replicate",
            model="google/veo-3",
            attempt_number=2,
        )
    )
    assert line.text() == "replicate google/veo-3 (attempt 2) · processing · 40% · 2.5s"


def test_a_job_that_may_still_run_leaves_its_handle(
    runner: CliRunner, cli_env: dict[str, str], emu: Emulator, tmp_path: Path
) -> None:
    """A deadline on a provider without cancel: the handle is saved and named, so that
    ``tarash jobs`` can follow the (paid) job; --json carries it too."""
    emu.inject(Fault("stuck", provider="openai", times=2))
    video = ["generate", "video", "--provider", "openai", "--model", "sora-2", "--prompt", "x",
             "--timeout", "1", "--out", str(tmp_path)]  # fmt: skip
    human = runner.invoke(build_app(), video)
    assert human.exit_code == 8, human.output
    saved = list(tmp_path.glob("*.handle.json"))
    assert len(saved) == 1 and f"tarash jobs status {saved[0]}" in human.stderr
    status = runner.invoke(build_app(), ["jobs", "status", str(saved[0]), "--json"])
    assert status.exit_code == 0 and json.loads(status.stdout)["status"] == "processing"
    # A new process each time, as from a shell: the first job (never cancelled, still
    # running) must not hold this run's capacity on the router they would share in-process.
    configure()
    machine = runner.invoke(build_app(), [*video, "--json"])
    assert machine.exit_code == 8
    assert json.loads(machine.stdout)["error"]["job_handle"]["provider"] == "openai"
