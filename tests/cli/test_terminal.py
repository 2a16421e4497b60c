"""The live displays in a real terminal (tmux): they render while jobs run and end cleanly.

Skipped where tmux is not installed.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tarash.emulator import Emulator, Latency

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
]


@pytest.fixture
def tmux(tmp_path: Path) -> Iterator[Callable[..., str]]:
    """A private tmux server (its own socket); yields ``run(*args) -> stdout``."""
    # The process id too: two test runs at once (same test names) must not share a server.
    socket = f"tarash-cli-test-{os.getpid()}-{tmp_path.name}"

    def run(*args: str) -> str:
        done = subprocess.run(
            ["tmux", "-L", socket, *args], capture_output=True, text=True, timeout=20, check=True
        )
        return done.stdout

    yield run
    subprocess.run(["tmux", "-L", socket, "kill-server"], capture_output=True, check=False)


def _start(tmux: Callable[..., str], env: dict[str, str], arguments: list[str]) -> None:
    exports = " ".join(f"{name}={shlex.quote(value)}" for name, value in env.items())
    command = " ".join(shlex.quote(part) for part in arguments)
    script = f"env {exports} {command}; echo EXIT=$?; sleep 60"
    tmux("new-session", "-d", "-s", "t", "-x", "150", "-y", "40", script)


def _wait_for(tmux: Callable[..., str], found: Callable[[str], bool], seconds: float) -> str:
    deadline = time.monotonic() + seconds
    screen = ""
    while time.monotonic() < deadline:
        screen = tmux("capture-pane", "-p", "-t", "t")
        if found(screen):
            return screen
        time.sleep(0.1)
    raise AssertionError(f"not seen in {seconds} s; the screen:\n{screen}")


def _environment(emu: Emulator) -> dict[str, str]:
    return {
        "TARASH_FAL_BASE_URL": emu.base_url("fal"),
        "FAL_KEY": emu.api_key("fal"),
        "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
        "TERM": "xterm-256color",
    }


def test_batch_progress_renders_and_ends_cleanly(
    emu: Emulator, tmux: Callable[..., str], tmp_path: Path
) -> None:
    """The progress bar shows running jobs mid-run, then 6/6 and the summary, exit 0."""
    emu.latency = Latency(queue_seconds=0.3, run_seconds=1.5)
    jobs = tmp_path / "jobs.jsonl"
    jobs.write_text("".join(json.dumps({"prompt": f"p{n}"}) + "\n" for n in range(6)))
    _start(
        tmux,
        _environment(emu),
        [sys.executable, "-m", "tarash.tarash_gateway.cli", "batch", str(jobs),
         "--out", str(tmp_path / "out"), "--provider", "fal", "--model", "fal-ai/veo3",
         "--concurrency", "3"],
    )  # fmt: skip
    mid = _wait_for(tmux, lambda screen: "running 3" in screen, 30)
    assert "batch" in mid and "━" in mid
    end = _wait_for(tmux, lambda screen: "EXIT=" in screen, 40)
    assert "EXIT=0" in end
    assert "6/6" in end and "6 done, 0 failed" in end
    assert "Traceback" not in end


def test_generate_status_line_renders_and_is_cleared(
    emu: Emulator, tmux: Callable[..., str], tmp_path: Path
) -> None:
    """The live status line names provider, state and elapsed time, then gives way to
    the summary and the metadata table."""
    emu.latency = Latency(queue_seconds=1.0, run_seconds=1.5)
    _start(
        tmux,
        _environment(emu),
        [sys.executable, "-m", "tarash.tarash_gateway.cli", "generate", "video",
         "--provider", "fal", "--model", "fal-ai/veo3", "--prompt", "a cat",
         "--duration", "5", "--out", str(tmp_path)],
    )  # fmt: skip
    live = _wait_for(tmux, lambda screen: "fal fal-ai/veo3 ·" in screen, 30)
    assert any(state in live for state in ("queued", "processing", "submitting"))
    end = _wait_for(tmux, lambda screen: "EXIT=" in screen, 40)
    assert "EXIT=0" in end and "done fal fal-ai/veo3" in end
    assert "execution metadata" in end
    assert "fal fal-ai/veo3 ·" not in end  # the transient line is gone
    # The adaptation note, logged while the status line is live, has a line of its own.
    notes = [line for line in end.splitlines() if "note: adapted request" in line]
    assert len(notes) == 1 and notes[0].startswith("note: "), end
