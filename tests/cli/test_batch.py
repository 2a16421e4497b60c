"""``tarash batch``: bad lines reported by number while the rest run, resume by rerunning,
and Ctrl-C leaving no running job at the emulator."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tarash.emulator import Emulator, Latency
from tarash.tarash_gateway.cli._app import build_app

pytestmark = pytest.mark.integration

FAL = ["--provider", "fal", "--model", "fal-ai/veo3"]


def _write(path: Path, rows: list[object]) -> Path:
    path.write_text(
        "".join((row if isinstance(row, str) else json.dumps(row)) + "\n" for row in rows)
    )
    return path


def _results(out: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]


def test_bad_lines_get_one_line_errors_and_the_rest_run(
    runner: CliRunner,
    cli_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    emu: Emulator,
    tmp_path: Path,
) -> None:
    """Malformed JSON, an unknown provider, a bad field and a missing key fail their own
    line (numbered); every other line runs; a rerun resumes without submitting again."""
    monkeypatch.delenv("REPLICATE_API_TOKEN")
    jobs = _write(
        tmp_path / "jobs.jsonl",
        [
            {"prompt": "a cat", "key": "cat"},
            "{not json",
            {"prompt": "x", "provider": "nope"},
            {"prompt": "x", "duration_seconds": -1},
            {"prompt": "x", "provider": "replicate", "model": "google/veo-3"},
            {"prompt": "a dog", "key": "dog"},
        ],
    )
    out = tmp_path / "out"
    before = emu.stats().submitted
    result = runner.invoke(
        build_app(), ["batch", str(jobs), "--out", str(out), *FAL], env={"COLUMNS": "200"}
    )
    assert result.exit_code == 12, result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("line ")]
    assert [line.split(":")[0] for line in errors] == ["line 2", "line 3", "line 4", "line 5"]
    assert "not JSON" in errors[0] and "unknown provider 'nope'" in errors[1]
    assert "duration_seconds" in errors[2] and "REPLICATE_API_TOKEN" in errors[3]
    rows = {row["line"]: row for row in _results(out)}
    assert sorted(rows) == [1, 2, 3, 4, 5, 6]
    assert rows[1]["ok"] and rows[6]["ok"] and rows[1]["key"] == "cat"
    assert (out / str(rows[1]["files"][0])).stat().st_size > 0  # type: ignore[index]
    assert emu.stats().submitted == before + 2
    assert "2 done, 4 failed" in result.stdout
    # No duration asked, so the price table cannot price them: said, not shown as $0.
    assert "(estimated from the price table; 2 lines without an estimate)" in result.stdout

    again = runner.invoke(build_app(), ["batch", str(jobs), "--out", str(out), *FAL])
    assert again.exit_code == 12, again.output
    assert emu.stats().submitted == before + 2  # finished lines are read back, not resent
    assert len(_results(out)) == 6  # and not appended twice


def test_keys_reach_neither_results_nor_ledger(
    runner: CliRunner,
    cli_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """The provider key is in no file the batch writes, nor in its output."""
    secret = "r8_" + "B4tchS3cret" * 3
    monkeypatch.setenv("REPLICATE_API_TOKEN", secret)
    jobs = _write(tmp_path / "jobs.jsonl", [{"prompt": f"p{n}"} for n in range(3)])
    out = tmp_path / "out"
    result = runner.invoke(
        build_app(),
        ["batch", str(jobs), "--out", str(out), "--provider", "replicate",
         "--model", "google/veo-3"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert secret not in result.output
    written = [path for path in out.rglob("*") if path.is_file()]
    assert any(path.suffix == ".sqlite" for path in written)
    for path in written:
        assert secret.encode() not in path.read_bytes(), path
        assert b"B4tchS3cret" not in path.read_bytes(), path


def test_routing_config_gives_the_route(
    runner: CliRunner, cli_env: dict[str, str], tmp_path: Path
) -> None:
    """Lines without a provider take the [route] of --config, fallbacks included."""
    config = tmp_path / "routing.toml"
    config.write_text(
        '[route]\nprovider = "fal"\nmodel = "fal-ai/flux/dev"\nkind = "image"\n'
        'fallbacks = ["replicate:black-forest-labs/flux-schnell"]\n\n'
        "[limits.fal]\nmax_concurrent = 2\n"
    )
    jobs = _write(tmp_path / "jobs.jsonl", [{"prompt": "a fox"}, {"prompt": "a owl"}])
    out = tmp_path / "out"
    try:
        result = runner.invoke(
            build_app(), ["batch", str(jobs), "--out", str(out), "--config", str(config)]
        )
    finally:
        from tarash.tarash_gateway import configure

        configure()  # the default router back as other tests expect it
    assert result.exit_code == 0, result.output
    rows = _results(out)
    assert {row["model"] for row in rows} == {"fal-ai/flux/dev"}
    assert all(str(row["files"][0]).endswith(".png") for row in rows)  # type: ignore[index]


def test_routing_config_prices_and_spend_cap_bound_the_batch(
    runner: CliRunner, cli_env: dict[str, str], emu: Emulator, tmp_path: Path
) -> None:
    """A [prices] row and a spend_cap from --config: at $0.40/s a 6 s job is estimated at
    $2.40, so a $5 cap lets two of five lines run; the rest are refused before any submit
    (their lines fail, nothing reaches the emulator for them)."""
    config = tmp_path / "routing.toml"
    config.write_text(
        'spend_cap = 5\n\n[route]\nprovider = "fal"\nmodel = "fal-ai/veo3"\n\n'
        '[prices."fal/fal-ai/veo3"]\nper_second = 0.4\n'
    )
    lines = [{"prompt": f"a cat {n}", "duration_seconds": 6} for n in range(5)]
    jobs = _write(tmp_path / "jobs.jsonl", lines)
    out = tmp_path / "out"
    before = emu.stats().submitted
    try:
        result = runner.invoke(
            build_app(),
            ["batch", str(jobs), "--out", str(out), "--config", str(config), "--concurrency", "1"],
            env={"COLUMNS": "200"},
        )
    finally:
        from tarash.tarash_gateway import configure

        configure()
    assert result.exit_code == 12, result.output
    rows = _results(out)
    assert sorted(bool(row["ok"]) for row in rows) == [False, False, False, True, True]
    refused = [row for row in rows if not row["ok"]]
    assert all("SpendCapExceeded" in json.dumps(row["error"]) for row in refused), refused
    assert emu.stats().submitted == before + 2
    assert "spend $4.80 this run (estimated from the price table);" in result.stdout


def test_sigint_cancels_running_jobs_and_the_rerun_resumes(
    emu: Emulator, subprocess_env: dict[str, str], tmp_path: Path
) -> None:
    """Ctrl-C mid-batch: exit 130, zero running jobs at the emulator, a hint to resume;
    the rerun finishes every line with exactly one completed job each."""
    emu.latency = Latency(queue_seconds=0.2, run_seconds=30)
    prompts = [f"prompt {n}" for n in range(6)]
    jobs = _write(tmp_path / "jobs.jsonl", [{"prompt": p, "key": f"k{n}"} for n, p in
                                           enumerate(prompts)])  # fmt: skip
    out = tmp_path / "out"
    command = [sys.executable, "-m", "tarash.tarash_gateway.cli", "batch", str(jobs),
               "--out", str(out), *FAL, "--concurrency", "3"]  # fmt: skip
    before = emu.stats().submitted
    proc = subprocess.Popen(
        command, env=subprocess_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 30
    while emu.stats().submitted < before + 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert emu.stats().running >= 3
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=40)
    assert proc.returncode == 130, stderr
    assert "rerun the same command to resume" in stderr
    assert emu.stats().running == 0

    emu.latency = Latency(queue_seconds=0.0, run_seconds=0.1)
    rerun = subprocess.run(
        command, env=subprocess_env, capture_output=True, text=True, timeout=50, check=False
    )
    assert rerun.returncode == 0, rerun.stderr
    rows = _results(out)
    assert sorted(row["line"] for row in rows if row["ok"]) == [1, 2, 3, 4, 5, 6]
    completed = Counter(job.input["prompt"] for job in emu.jobs("fal") if job.state == "succeeded")
    assert [completed[prompt] for prompt in prompts] == [1] * len(prompts)
    assert emu.stats().running == 0


@pytest.mark.timeout(40)  # the rerun used to hang for good on such a row
@pytest.mark.parametrize(
    ("column", "change"),
    [
        ("state", "state = 'archived'"),
        ("jobs", "jobs = '{not json'"),
        ("result", "result = '{not json'"),
    ],
    ids=["a later version's state", "jobs not JSON", "result not JSON"],
)
def test_a_ledger_row_that_cannot_be_read_fails_its_line_and_the_rest_are_written(
    runner: CliRunner,
    cli_env: dict[str, str],
    emu: Emulator,
    tmp_path: Path,
    column: str,
    change: str,
) -> None:
    """A ledger row the rerun cannot read fails its own line (one line naming the column,
    its key kept in results.jsonl), nothing is sent for it; every other line's result is
    read back from the ledger into results.jsonl."""
    jobs = _write(tmp_path / "jobs.jsonl", [{"prompt": f"p{n}", "key": f"k{n}"} for n in range(3)])
    out = tmp_path / "out"
    first = runner.invoke(build_app(), ["batch", str(jobs), "--out", str(out), *FAL])
    assert first.exit_code == 0, first.output
    (ledger,) = (out / ".ledger").glob("*.sqlite")
    with sqlite3.connect(ledger) as connection:
        connection.execute(f"UPDATE requests SET {change} WHERE idx = 1")
    (out / "results.jsonl").unlink()  # so the rerun must write every line's result itself
    before = emu.stats().submitted
    again = runner.invoke(
        build_app(), ["batch", str(jobs), "--out", str(out), *FAL], env={"COLUMNS": "200"}
    )
    assert again.exit_code != 0, again.output
    (failed,) = [line for line in again.stderr.splitlines() if line.startswith("line ")]
    assert failed.startswith("line 2: ValidationError") and f"its {column} column" in failed
    rows = {row["line"]: row for row in _results(out)}
    assert sorted(rows) == [1, 2, 3]
    assert rows[1]["ok"] and rows[3]["ok"] and rows[1]["resumed"] and rows[3]["resumed"]
    assert not rows[2]["ok"] and rows[2]["key"] == "k1"
    assert f"its {column} column" in json.dumps(rows[2]["error"])
    assert emu.stats().submitted == before  # nothing sent again
