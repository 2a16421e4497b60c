"""The ``tarash`` command as a real process: generate against the emulator, the emulator
command itself, and the hint when the cli extra is missing."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tarash.emulator import Emulator, Latency
from tarash.emulator._app import PROVIDERS
from tarash.tarash_gateway.cli import INSTALL_HINT
from tests._emulator import FAST
from tests._processes import communicate_or_kill

pytestmark = pytest.mark.integration

TARASH = [sys.executable, "-m", "tarash.tarash_gateway.cli"]


def test_generate_in_a_subprocess(
    emu: Emulator, subprocess_env: dict[str, str], tmp_path: Path
) -> None:
    """``tarash generate image --json`` in its own process saves the file, prints clean JSON."""
    secret = "sk-" + "Pr1vateKey" * 5
    # An emulator that takes this key (it refuses any key but its own, as Stability does).
    with Emulator(latency=FAST, required_keys={"stability": secret}) as own:
        subprocess_env["TARASH_STABILITY_BASE_URL"] = own.base_url("stability")
        subprocess_env["STABILITY_API_KEY"] = secret
        done = subprocess.run(
            [*TARASH, "generate", "image", "--provider", "stability", "--model",
             "stable-image-core", "--prompt", "a fox", "--out", str(tmp_path), "--json"],
            env=subprocess_env, capture_output=True, text=True, timeout=50, check=False,
        )  # fmt: skip
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert Path(data["files"][0]).stat().st_size > 0
    assert secret not in done.stdout + done.stderr
    assert "Pr1vate" not in done.stdout + done.stderr


def test_error_exit_code_in_a_subprocess(subprocess_env: dict[str, str]) -> None:
    """A missing key in a real process: exit 3 and one line on stderr, nothing on stdout."""
    del subprocess_env["FAL_KEY"]
    done = subprocess.run(
        [*TARASH, "generate", "video", "--provider", "fal", "--model", "fal-ai/veo3",
         "--prompt", "x"],
        env=subprocess_env, capture_output=True, text=True, timeout=50, check=False,
    )  # fmt: skip
    assert done.returncode == 3
    assert done.stdout == ""
    assert done.stderr.strip().splitlines() == [
        line for line in done.stderr.strip().splitlines() if line.startswith("error:")
    ]
    assert "FAL_KEY" in done.stderr


def test_emulator_command_serves_and_prints_instructions(
    subprocess_env: dict[str, str],
) -> None:
    """``tarash emulator`` serves, prints how to point tarash and each SDK, stops on Ctrl+C."""
    proc = subprocess.Popen(
        [*TARASH, "emulator", "--port", "0", "--latency", "0,0.1",
         "--tail-fraction", "0.2", "--tail-seconds", "5", "--seed", "3",
         "--fault", "rate_limit,provider=fal,times=always"],
        env=subprocess_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if line.startswith("Ctrl+C to stop."):
                break
        text = "".join(lines)
        found = re.search(r"serving on (http://127\.0\.0\.1:\d+)", text)
        assert found, text
        url = found.group(1)
        # The heavy-tail options reached the latency it serves with.
        assert "tail_fraction=0.2, tail_run_seconds=5.0, seed=3)" in text, text
        for needle in (
            f"TARASH_FAL_BASE_URL={url}/fal",
            f"TARASH_GOOGLE_BASE_URL={url}/google/v1beta",
            f"TARASH_GOOGLE_BASE_URL={url}/google/v1beta GOOGLE_OAUTH_ACCESS_TOKEN=",
            f"REPLICATE_BASE_URL={url}/replicate",
            f"OPENAI_BASE_URL={url}/openai/v1",
            f"RUNWAYML_BASE_URL={url}/runway",
            f"GOOGLE_GEMINI_BASE_URL={url}/google",
            f'QUEUE_URL_FORMAT = "{url}/fal/"',
            f'azure_endpoint="{url}/azure_openai"',
            f"{url}/stability/v2beta/stable-image/generate/core",
        ):
            assert needle in text, needle
        assert "providers" in httpx.get(f"{url}/", timeout=5).json()
        # The --fault took effect: fal refuses every submit with a 429.
        key = PROVIDERS["fal"].fake_key
        refused = httpx.post(
            f"{url}/fal/fal-ai/veo3",
            json={"prompt": "x"},
            headers={"Authorization": f"Key {key}"},
            timeout=5,
        )
        assert refused.status_code == 429
        # Two identical Replicate submits and a different one, for the accounting.
        for prompt in ("a cat", "a cat", "a dog"):
            created = httpx.post(
                f"{url}/replicate/v1/models/google/veo-3/predictions",
                json={"input": {"prompt": prompt}},
                headers={"Authorization": f"Bearer {PROVIDERS['replicate'].fake_key}"},
                timeout=5,
            )
            assert created.status_code in (200, 201), created.text
    finally:
        proc.send_signal(signal.SIGINT)
        rest, _ = communicate_or_kill(proc, 20)  # reads the rest and closes the pipes
    assert proc.returncode == 0
    # On Ctrl+C it prints what it saw: the jobs, and the input submitted twice.
    summary = rest[rest.index("Accounting") :]
    assert "all            submitted 3:" in summary, summary
    assert "replicate/google/veo-3: submitted 3" in summary, summary
    repeats = (
        "identical inputs submitted more than once: 1 (again after a cancel or a failure: 0; "
        "duplicates, two live or succeeded: 1)"
    )
    assert repeats in summary, summary


def test_without_the_cli_extra_the_command_says_how_to_install_it() -> None:
    """With typer and rich missing, tarash still imports and the command prints the hint."""
    code = (
        "import sys\n"
        "sys.modules['typer'] = None\n"
        "sys.modules['rich'] = None\n"
        "import tarash.tarash_gateway\n"
        "from tarash.tarash_gateway.cli import main\n"
        "main(['providers'])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=50, check=False
    )
    assert done.returncode == 1
    assert done.stderr.strip() == f"error: {INSTALL_HINT}"


def test_ctrl_c_during_generate_cancels_the_job(
    emu: Emulator, subprocess_env: dict[str, str], tmp_path: Path
) -> None:
    """SIGINT while a job runs: exit 130, the job cancelled at the emulator, no file left."""
    emu.latency = Latency(queue_seconds=0.1, run_seconds=30)
    before = emu.stats()
    proc = subprocess.Popen(
        [*TARASH, "generate", "video", "--provider", "fal", "--model", "fal-ai/veo3",
         "--prompt", "x", "--out", str(tmp_path)],
        env=subprocess_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    _wait_for_submit(emu, before.submitted)
    proc.send_signal(signal.SIGINT)
    _, stderr = communicate_or_kill(proc, 40)
    assert proc.returncode == 130, stderr
    assert "interrupted" in stderr
    assert emu.stats().cancelled == before.cancelled + 1 and emu.stats().running == 0
    assert list(tmp_path.iterdir()) == []


def test_warnings_and_log_notes_are_one_line_each() -> None:
    """Under the command, a Python warning is one ``warning:`` line (no file:line noise)
    and a tarash log warning one ``note:`` line."""
    code = (
        "import logging, warnings\n"
        "from tarash.tarash_gateway.cli._output import install_diagnostics\n"
        "install_diagnostics()\n"
        "warnings.warn('dall-e-3 was retired;\\n use gpt-image-1', UserWarning)\n"
        "logging.getLogger('tarash.chain').warning('adapted %s', 'duration')\n"
        "logging.getLogger('tarash.chain').info('not shown')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=50, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines() == [
        "warning: dall-e-3 was retired; use gpt-image-1",
        "note: adapted duration",
    ]


def _wait_for_submit(emu: Emulator, before: int, count: int = 1) -> None:
    deadline = time.monotonic() + 30
    while emu.stats().submitted < before + count and time.monotonic() < deadline:
        time.sleep(0.05)
    assert emu.stats().submitted >= before + count


def test_sigterm_during_generate_cancels_the_job_and_names_it(
    emu: Emulator, subprocess_env: dict[str, str], tmp_path: Path
) -> None:
    """SIGTERM (docker stop) while a job runs: the job cancelled at the emulator, its id
    printed, exit 143 (128 + SIGTERM), no file left."""
    emu.latency = Latency(queue_seconds=0.1, run_seconds=30)
    before = emu.stats()
    proc = subprocess.Popen(
        [*TARASH, "generate", "video", "--provider", "fal", "--model", "fal-ai/veo3",
         "--prompt", "x", "--out", str(tmp_path)],
        env=subprocess_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    _wait_for_submit(emu, before.submitted)
    time.sleep(0.5)  # the first status poll, which tells the command the job's id
    proc.send_signal(signal.SIGTERM)
    _, stderr = communicate_or_kill(proc, 40)
    assert proc.returncode == 143, stderr
    job = emu.jobs("fal")[-1]
    assert job.state == "cancelled"
    assert f"interrupted: the remote job fal {job.id} was cancelled" in " ".join(stderr.split())
    assert emu.stats().cancelled == before.cancelled + 1 and emu.stats().running == 0
    assert list(tmp_path.iterdir()) == []


_SYNC_CHILD = """
import signal, sys
from tarash.tarash_gateway import VideoGenerationConfig, VideoGenerationRequest, generate_video
if sys.argv[3] == "own-handler":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(5))
config = VideoGenerationConfig(provider="fal", model="fal-ai/veo3", base_url=sys.argv[1],
                               api_key=sys.argv[2], poll_interval=0.05)
generate_video(config, VideoGenerationRequest(prompt="x"))
"""


@pytest.mark.parametrize(("mode", "status"), [("default", -signal.SIGTERM), ("own-handler", 5)])
def test_sigterm_during_a_sync_call_cancels_the_job(
    emu: Emulator, subprocess_env: dict[str, str], mode: str, status: int
) -> None:
    """A library program's sync call under SIGTERM: the job is cancelled at the emulator;
    the process still ends by the signal (or by the program's own handler, never replaced)."""
    emu.latency = Latency(queue_seconds=0.1, run_seconds=30)
    before = emu.stats()
    proc = subprocess.Popen(
        [sys.executable, "-c", _SYNC_CHILD, emu.base_url("fal"), emu.api_key("fal"), mode],
        env=subprocess_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    _wait_for_submit(emu, before.submitted)
    proc.send_signal(signal.SIGTERM)
    _, stderr = communicate_or_kill(proc, 40)
    assert proc.returncode == status, stderr
    assert emu.stats().cancelled == before.cancelled + 1 and emu.stats().running == 0
