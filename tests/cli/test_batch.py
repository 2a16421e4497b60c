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
from tests._emulator import FAST
from tests._processes import communicate_or_kill

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
    jobs = _write(tmp_path / "jobs.jsonl", [{"prompt": f"p{n}"} for n in range(3)])
    out = tmp_path / "out"
    # An emulator that takes this key (it refuses any key but its own, as Replicate does).
    with Emulator(latency=FAST, required_keys={"replicate": secret}) as own:
        monkeypatch.setenv("TARASH_REPLICATE_BASE_URL", own.base_url("replicate"))
        monkeypatch.setenv("REPLICATE_API_TOKEN", secret)
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


def _wait_until_unfinished(emu: Emulator, prompts: list[str], count: int) -> None:
    """Until ``count`` jobs of these prompts are unfinished at the emulator: the command's
    own jobs, whatever an earlier test left running on the module's emulator."""

    def unfinished() -> int:
        return sum(
            1
            for job in emu.jobs("fal")
            if job.input.get("prompt") in prompts and job.state in ("queued", "running")
        )

    deadline = time.monotonic() + 30
    while unfinished() < count and time.monotonic() < deadline:
        time.sleep(0.05)
    assert unfinished() >= count


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
    proc = subprocess.Popen(
        command, env=subprocess_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    _wait_until_unfinished(emu, prompts, 3)
    proc.send_signal(signal.SIGINT)
    _, stderr = communicate_or_kill(proc, 40)
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


def _write_bytes(path: Path, lines: list[bytes]) -> Path:
    path.write_bytes(b"".join(line + b"\n" for line in lines))
    return path


def _line(row: dict[str, object]) -> bytes:
    return json.dumps(row).encode()


# One defect per case: the line's bytes, what its one-line error says, the key its error
# row keeps (None where the line gives none that can be read).
_BAD_LINES = {
    "misspelled field": (
        _line({"prompt": "x", "durration_seconds": 5, "key": "typo"}),
        "did you mean 'duration_seconds'",
        "typo",
    ),
    "empty prompt": (_line({"prompt": "", "key": "empty"}), "prompt must not be empty", "empty"),
    "not UTF-8": (b'{"prompt": "caf\xe9", "key": "latin-1"}', "not UTF-8", "latin-1"),
    "provider without model": (
        _line({"prompt": "x", "provider": "replicate", "key": "elsewhere"}),
        "names provider 'replicate' but no model",
        "elsewhere",
    ),
    "kind without model": (
        _line({"prompt": "x", "kind": "image", "key": "still"}),
        "names kind 'image' but no model",
        "still",
    ),
    "not JSON": (b"{not json", "not JSON", None),
    "not an object": (b"[1, 2]", "must be a JSON object", None),
    "key not a string": (_line({"prompt": "x", "key": [1]}), "key must be a string", None),
    "key with a line break": (
        _line({"prompt": "x", "key": "a\nb"}),
        "key must not hold control characters",
        None,
    ),
    "lone surrogate": (
        b'{"prompt": "\\ud800", "key": "surrogate"}',
        "lone surrogate",
        "surrogate",
    ),
    "integer too long": (b'{"prompt": "x", "seed": ' + b"9" * 5000 + b"}", "digits", None),
    "nested too deeply": (b"[" * 100_000, "nested too deeply", None),
    "image path too long": (
        _line({"prompt": "x", "image": "a" * 300, "key": "picture"}),
        "not a usable path",
        "picture",
    ),
    "image_list not a list": (
        _line({"prompt": "x", "image": "https://e.com/a.png", "image_list": 5, "key": "il"}),
        "image_list must be a list",
        "il",
    ),
    "model id the config refuses": (
        _line({"prompt": "x", "model": "fal-ai/veo3?x=1", "key": "query"}),
        "model must not contain",
        "query",
    ),
    "unknown provider": (
        _line({"prompt": "x", "provider": "nope", "model": "m", "key": "nope"}),
        "unknown provider 'nope'",
        "nope",
    ),
}


@pytest.mark.parametrize("defect", sorted(_BAD_LINES))
def test_a_bad_line_fails_alone_and_the_other_lines_run(
    defect: str, runner: CliRunner, cli_env: dict[str, str], emu: Emulator, tmp_path: Path
) -> None:
    """Whatever is wrong with a line, that line alone fails (one line on stderr naming it
    from 1, an error row keeping its key, nothing submitted for it); the others run."""
    bad, said, key = _BAD_LINES[defect]
    jobs = _write_bytes(
        tmp_path / "jobs.jsonl",
        [_line({"prompt": "a cat", "key": "first"}), bad, _line({"prompt": "a dog"})],
    )
    out = tmp_path / "out"
    before = emu.stats().submitted
    result = runner.invoke(
        build_app(), ["batch", str(jobs), "--out", str(out), *FAL], env={"COLUMNS": "300"}
    )
    assert result.exit_code == 12, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    errors = [line for line in result.stderr.splitlines() if line.startswith("line ")]
    assert len(errors) == 1 and errors[0].startswith("line 2: "), result.stderr
    assert said in errors[0]
    rows = {row["line"]: row for row in _results(out)}
    assert sorted(rows) == [1, 2, 3]
    assert rows[1]["ok"] and rows[3]["ok"] and not rows[2]["ok"]
    assert rows[1]["key"] == "first" and rows[2]["key"] == key and rows[3]["key"] is None
    assert emu.stats().submitted == before + 2

    again = runner.invoke(build_app(), ["batch", str(jobs), "--out", str(out), *FAL])
    assert again.exit_code == 12, again.output  # the rerun too: the line alone fails
    assert emu.stats().submitted == before + 2
    assert len(_results(out)) == 3


def test_a_long_key_runs_once_and_names_a_bounded_file(
    runner: CliRunner, cli_env: dict[str, str], emu: Emulator, tmp_path: Path
) -> None:
    """A 300-character key runs (and is paid) once, its file name cut to a size every file
    system takes; the row keeps the whole key, and a rerun reads it back."""
    key = "k" * 300
    jobs = _write(tmp_path / "jobs.jsonl", [{"prompt": "a cat", "key": key}])
    out = tmp_path / "out"
    before = emu.stats().submitted
    result = runner.invoke(build_app(), ["batch", str(jobs), "--out", str(out), *FAL])
    assert result.exit_code == 0, result.output
    [row] = _results(out)
    assert row["ok"] and row["key"] == key
    assert row["files"] == ["00001-" + "k" * 100 + ".mp4"]
    assert (out / str(row["files"][0])).stat().st_size > 0  # type: ignore[index]
    again = runner.invoke(build_app(), ["batch", str(jobs), "--out", str(out), *FAL])
    assert again.exit_code == 0, again.output
    assert emu.stats().submitted == before + 1


def test_a_result_that_cannot_be_saved_fails_its_line_and_the_rerun_saves_it(
    runner: CliRunner, cli_env: dict[str, str], emu: Emulator, tmp_path: Path
) -> None:
    """A paid result whose file cannot be written fails its own line (request id in the
    row), never the batch; the rerun reads it back from the ledger and saves it, unpaid."""
    jobs = _write(tmp_path / "jobs.jsonl", [{"prompt": "a cat", "key": "cat"}, {"prompt": "a dog"}])
    out = tmp_path / "out"
    (out / "00001-cat.mp4").mkdir(parents=True)  # a folder where the file goes
    before = emu.stats().submitted
    result = runner.invoke(
        build_app(), ["batch", str(jobs), "--out", str(out), *FAL], env={"COLUMNS": "300"}
    )
    assert result.exit_code == 12, result.output
    assert "line 1: the result was made (request " in result.stderr
    assert "rerun the same command to save it again" in result.stderr
    rows = {row["line"]: row for row in _results(out)}
    assert not rows[1]["ok"] and rows[1]["key"] == "cat" and rows[1]["request_id"]
    assert rows[2]["ok"]

    (out / "00001-cat.mp4").rmdir()
    again = runner.invoke(build_app(), ["batch", str(jobs), "--out", str(out), *FAL])
    assert again.exit_code == 0, again.output
    saved = [row for row in _results(out) if row["line"] == 1 and row["ok"]]
    assert len(saved) == 1 and saved[0]["resumed"]
    assert saved[0]["request_id"] == rows[1]["request_id"]
    assert (out / "00001-cat.mp4").stat().st_size > 0
    assert emu.stats().submitted == before + 2  # nothing paid twice


def test_a_line_naming_the_commands_provider_in_another_spelling_keeps_its_model(
    runner: CliRunner, cli_env: dict[str, str], tmp_path: Path
) -> None:
    """A line that names the command's own provider (spelt as the registry takes it)
    and no model takes the command's model: nothing to refuse."""
    jobs = _write(tmp_path / "jobs.jsonl", [{"prompt": "a cat", "provider": "FAL"}])
    out = tmp_path / "out"
    result = runner.invoke(build_app(), ["batch", str(jobs), "--out", str(out), *FAL])
    assert result.exit_code == 0, result.output
    assert [row["model"] for row in _results(out)] == ["fal-ai/veo3"]


@pytest.mark.parametrize("keyed_first", [True, False], ids=["keyed-first", "keyless-first"])
def test_a_key_spelt_like_line_n_leaves_line_n_alone(
    keyed_first: bool, runner: CliRunner, cli_env: dict[str, str], tmp_path: Path
) -> None:
    """A line without a key goes without one, so a user's key "line-N" (before or after
    line N) takes nothing from line N: both run, each row with its own key."""
    rows: list[object] = (
        [{"prompt": "a cat", "key": "line-2"}, {"prompt": "a dog"}]
        if keyed_first
        else [{"prompt": "a cat"}, {"prompt": "a dog", "key": "line-1"}]
    )
    jobs = _write(tmp_path / "jobs.jsonl", rows)
    out = tmp_path / "out"
    result = runner.invoke(
        build_app(), ["batch", str(jobs), "--out", str(out), *FAL, "--concurrency", "1"]
    )
    assert result.exit_code == 0, result.output
    keys = {row["line"]: row["key"] for row in _results(out)}
    assert keys == ({1: "line-2", 2: None} if keyed_first else {1: None, 2: "line-1"})


def test_messages_about_lines_count_from_one(
    runner: CliRunner, cli_env: dict[str, str], emu: Emulator, tmp_path: Path
) -> None:
    """What the ledger refuses (a key given twice, a line changed before a rerun) is said
    of lines counted from 1, never of the library's requests[i]; every row keeps its key."""
    lines = [{"prompt": "a cat", "key": "cat"}, {"prompt": "a dog", "key": "dog"},
             {"prompt": "a cow", "key": "cat"}]  # fmt: skip
    jobs = _write(tmp_path / "jobs.jsonl", lines)
    out = tmp_path / "out"
    run = ["batch", str(jobs), "--out", str(out), *FAL, "--concurrency", "1"]
    result = runner.invoke(build_app(), run, env={"COLUMNS": "300"})
    assert result.exit_code == 12, result.output
    assert "requests[" not in result.stderr
    [error] = [line for line in result.stderr.splitlines() if line.startswith("line ")]
    assert error.startswith("line 3: ") and "this line has the key 'cat' of line 1" in error
    assert {row["line"]: row["key"] for row in _results(out)} == {1: "cat", 2: "dog", 3: "cat"}

    lines[1]["prompt"] = "a dog, changed"
    _write(jobs, lines)
    again = runner.invoke(build_app(), run, env={"COLUMNS": "300"})
    assert again.exit_code == 12, again.output
    assert "requests[" not in again.stderr
    assert "line 2: ValidationError: this line is not the request the ledger" in again.stderr
    changed = [row for row in _results(out) if row["line"] == 2 and not row["ok"]]
    assert [row["key"] for row in changed] == ["dog"]


def test_a_long_model_id_gets_a_ledger_of_its_own(
    runner: CliRunner, cli_env: dict[str, str], tmp_path: Path
) -> None:
    """A model id longer than a file name still gets its ledger (its name cut, a digest
    of the whole target keeping it apart), so the other lines are not stopped by it."""
    long_model = "fal-ai/" + "m" * 300
    jobs = _write(
        tmp_path / "jobs.jsonl",
        [{"prompt": "a cat"}, {"prompt": "a dog", "model": long_model}],
    )
    out = tmp_path / "out"
    result = runner.invoke(build_app(), ["batch", str(jobs), "--out", str(out), *FAL])
    rows = {row["line"]: row for row in _results(out)}
    assert sorted(rows) == [1, 2] and rows[1]["ok"], result.output
    ledgers = sorted(path.name for path in (out / ".ledger").glob("*.sqlite"))
    assert len(ledgers) == 2 and all(len(name) <= 210 for name in ledgers)


def test_sigterm_cancels_running_jobs_and_the_rerun_resumes(
    emu: Emulator, subprocess_env: dict[str, str], tmp_path: Path
) -> None:
    """SIGTERM mid-batch (docker stop) is Ctrl-C: the running jobs cancelled at the emulator,
    exit 143, the ledger resumable: the rerun finishes every line once."""
    emu.latency = Latency(queue_seconds=0.2, run_seconds=30)
    prompts = [f"terminated {n}" for n in range(4)]
    jobs = _write(tmp_path / "jobs.jsonl", [{"prompt": p, "key": f"k{n}"} for n, p in
                                           enumerate(prompts)])  # fmt: skip
    out = tmp_path / "out"
    command = [sys.executable, "-m", "tarash.tarash_gateway.cli", "batch", str(jobs),
               "--out", str(out), *FAL, "--concurrency", "2"]  # fmt: skip
    before = emu.stats()
    proc = subprocess.Popen(
        command, env=subprocess_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    _wait_until_unfinished(emu, prompts, 2)
    proc.send_signal(signal.SIGTERM)
    _, stderr = communicate_or_kill(proc, 40)
    assert proc.returncode == 143, stderr
    assert "rerun the same command to resume" in stderr
    assert emu.stats().running == 0
    assert emu.stats().cancelled == before.cancelled + 2

    emu.latency = Latency(queue_seconds=0.0, run_seconds=0.1)
    rerun = subprocess.run(
        command, env=subprocess_env, capture_output=True, text=True, timeout=50, check=False
    )
    assert rerun.returncode == 0, rerun.stderr
    rows = _results(out)
    assert sorted(row["line"] for row in rows if row["ok"]) == [1, 2, 3, 4]
    completed = Counter(job.input["prompt"] for job in emu.jobs("fal") if job.state == "succeeded")
    assert [completed[prompt] for prompt in prompts] == [1] * len(prompts)


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
