"""Batches against the emulator: N requests, failures as values, and real crashes.

The crash tests run the batch in a child process and kill it with SIGKILL at a chosen
point (right after an intent is committed, right after a provider accepted a job but
before the ledger heard of it, or at a seeded moment while jobs run), rerun it, and check
through the emulator's job accounting that no request was ever submitted twice, every
request has exactly one outcome, and no job is left running.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tarash.emulator import Emulator, Fault, Latency
from tarash.tarash_gateway import BatchEvent, generate_videos_async
from tarash.tarash_gateway.models import VideoGenerationRequest
from tests._emulator import emulated_video_config
from tests._processes import communicate_or_kill

pytestmark = [pytest.mark.integration, pytest.mark.anyio]

N = 12
CHILD = r'''
import json, os, signal, sys
from tarash.tarash_gateway import LedgerState, SqliteLedger, generate_videos
from tarash.tarash_gateway.models import VideoGenerationConfig, VideoGenerationRequest

base_url, key, path, count, mode, point, provider, model = sys.argv[1:9]
count, point = int(count), int(point)


class CrashingLedger(SqliteLedger):
    """Dies by SIGKILL at one point of the ledger protocol."""

    seen = 0

    async def save(self, entry):
        if mode == "after-submit" and entry.state is LedgerState.SUBMITTED:
            CrashingLedger.seen += 1
            if CrashingLedger.seen == point:
                os.kill(os.getpid(), signal.SIGKILL)  # the job exists, the ledger never hears
        await super().save(entry)
        if mode == "after-intent" and entry.state is LedgerState.INTENT:
            CrashingLedger.seen += 1
            if CrashingLedger.seen == point:
                os.kill(os.getpid(), signal.SIGKILL)  # the intent is on disk, nothing sent


config = VideoGenerationConfig(
    provider=provider, model=model, base_url=base_url, api_key=key, poll_interval=0.05
)
requests = ((f"k{i}", VideoGenerationRequest(prompt=f"prompt {i}", duration_seconds=4))
            for i in range(count))
for result in generate_videos(config, requests, concurrency=4, ledger=CrashingLedger(path)):
    print(json.dumps({
        "index": result.index,
        "key": result.key,
        "ok": result.ok,
        "request_id": result.response.request_id if result.ok else None,
        "job_may_exist": bool(result.error is not None and result.error.job_may_exist),
        "resumed": result.resumed,
    }), flush=True)
'''


def run_child(
    emu: Emulator,
    tmp_path: Path,
    mode: str = "none",
    point: int = 0,
    provider: str = "fal",
    model: str = "fal-ai/veo3",
) -> subprocess.Popen[str]:
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    # The child's stderr (a killed child's retries, say) is kept out of the test output.
    with (tmp_path / f"child-{mode}-{time.monotonic_ns()}.err").open("w") as errors:
        return subprocess.Popen(
            [
                sys.executable,
                str(script),
                emu.base_url(provider),
                emu.api_key(provider),
                str(tmp_path / "batch.sqlite"),
                str(N),
                mode,
                str(point),
                provider,
                model,
            ],
            stdout=subprocess.PIPE,
            stderr=errors,
            text=True,
            env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
        )


def outcomes(child: subprocess.Popen[str]) -> list[dict[str, Any]]:
    out, _ = communicate_or_kill(child, 50)
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def ledger_states(path: Path) -> Counter[str]:
    if not path.exists():
        return Counter()
    try:
        with sqlite3.connect(path, timeout=5) as connection:
            rows = connection.execute("SELECT state FROM requests").fetchall()
    except sqlite3.OperationalError:  # created, its table not yet
        return Counter()
    return Counter(state for (state,) in rows)


def jobs_per_prompt(emu: Emulator, provider: str = "fal") -> Counter[str]:
    return Counter(str(job.input.get("prompt")) for job in emu.jobs(provider))


def wait_until_idle(emu: Emulator) -> None:
    for _ in range(200):
        if emu.stats("fal").running == 0:
            return
        time.sleep(0.05)


def check_exactly_once(emu: Emulator, final: list[dict[str, Any]]) -> None:
    """Every request has one outcome; none was submitted twice; none is left running."""
    assert sorted(result["index"] for result in final) == list(range(N))
    per_prompt = jobs_per_prompt(emu)
    assert max(per_prompt.values(), default=0) <= 1, per_prompt
    ids = {job.input.get("prompt"): job.id for job in emu.jobs("fal")}
    for result in final:
        prompt = f"prompt {result['index']}"
        if result["ok"]:
            assert result["request_id"] == ids[prompt]
        else:
            # The one legitimate failure: caught between intent and record, never resent.
            assert result["job_may_exist"], result
    wait_until_idle(emu)
    assert emu.stats("fal").running == 0


async def test_a_batch_of_n_yields_each_result_with_failures_as_values(emu: Emulator) -> None:
    """N requests, one refused by the provider's safety system: N results, each tied to
    its key, the refused one an error value; N jobs at the emulator, none running."""
    config = emulated_video_config(emu, "fal", "fal-ai/veo3")
    emu.inject(Fault("content_refusal", provider="fal", times=1))
    requests = [
        (f"k{i}", VideoGenerationRequest(prompt=f"batch {i}", duration_seconds=4)) for i in range(N)
    ]
    events: list[BatchEvent] = []
    async with generate_videos_async(
        config, requests, concurrency=5, on_event=events.append
    ) as results:
        collected = [result async for result in results]
    assert sorted(result.key or "" for result in collected) == sorted(key for key, _ in requests)
    failed = [result for result in collected if not result.ok]
    assert len(failed) == 1 and not failed[0].error.job_may_exist  # type: ignore[union-attr]
    assert emu.stats("fal").submitted == N
    assert emu.stats("fal").running == 0


async def test_a_submit_that_may_have_created_a_job_is_never_resent(
    emu: Emulator, tmp_path: Path
) -> None:
    """The connection drops after the emulator created the job: the result is an error
    flagged job_may_exist, recorded as such; the rerun reports it again and sends nothing."""
    config = emulated_video_config(emu, "fal", "fal-ai/veo3")
    emu.inject(Fault("drop_after_create", provider="fal", operation="submit", times=1))
    path = tmp_path / "batch.sqlite"
    requests = [VideoGenerationRequest(prompt="dropped", duration_seconds=4)]
    for run in range(2):
        async with generate_videos_async(config, requests, ledger=path) as results:
            (result,) = [result async for result in results]
        assert result.error is not None and result.error.job_may_exist
        assert result.resumed is (run == 1)
    assert jobs_per_prompt(emu)["dropped"] == 1
    assert ledger_states(path) == Counter({"unknown": 1})


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("mode", ["after-intent", "after-submit"])
def test_sigkill_at_a_ledger_point_then_rerun_submits_nothing_twice(
    tmp_path: Path, mode: str, seed: int
) -> None:
    """kill -9 right after an intent is committed, or right after the provider accepted a
    job the ledger never recorded; the rerun finishes the rest, resends nothing, and
    reports the caught request as job_may_exist."""
    with Emulator(latency=Latency(queue_seconds=0.05, run_seconds=0.2)) as emu:
        point = random.Random(seed).randint(1, N)
        crashed = run_child(emu, tmp_path, mode, point)
        communicate_or_kill(crashed, 50)
        assert crashed.returncode == -signal.SIGKILL
        caught_at_crash = ledger_states(tmp_path / "batch.sqlite")["intent"]
        assert caught_at_crash >= 1
        final = outcomes(run_child(emu, tmp_path))
        check_exactly_once(emu, final)
        # Every row caught in 'intent' (concurrent submits commit their intents together)
        # is reported, none resent; the others finished.
        caught = [result for result in final if not result["ok"]]
        assert len(caught) == caught_at_crash
        assert all(result["job_may_exist"] for result in caught)
        if mode == "after-submit":
            # The job the ledger never heard of exists, once (it ran to its end).
            assert sum(jobs_per_prompt(emu)[f"prompt {r['index']}"] for r in caught) >= 1


@pytest.mark.parametrize(
    ("provider", "model", "seed"),
    [
        ("replicate", "google/veo-3", 4),
        ("replicate", "google/veo-3", 5),
        ("openai", "sora-2", 21),
        ("openai", "sora-2", 22),
    ],
)
def test_sigkill_after_accept_on_a_provider_that_lists_jobs_recovers_them(
    tmp_path: Path, provider: str, model: str, seed: int
) -> None:
    """On a provider that lists its jobs with their request (Replicate's predictions with
    their input; OpenAI's ``GET /videos`` with model, seconds, size and prompt), a row
    caught in 'intent' by kill -9 after the provider accepted its job is recovered on the
    rerun: the job is found by its request and waited on. A row whose intent was committed
    beside it but whose create had not reached the provider (concurrent submits) is shown
    by the complete listing to have no job, and is sent once. So every request succeeds
    with the job the emulator made for its prompt, none is flagged job_may_exist and none
    was created twice."""
    with Emulator(latency=Latency(queue_seconds=0.05, run_seconds=0.2)) as emu:
        point = random.Random(seed).randint(1, N)
        crashed = run_child(emu, tmp_path, "after-submit", point, provider, model)
        communicate_or_kill(crashed, 50)
        assert crashed.returncode == -signal.SIGKILL
        assert ledger_states(tmp_path / "batch.sqlite")["intent"] >= 1
        final = outcomes(run_child(emu, tmp_path, provider=provider, model=model))
        assert sorted(result["index"] for result in final) == list(range(N))
        assert all(result["ok"] and not result["job_may_exist"] for result in final), final
        per_prompt = jobs_per_prompt(emu, provider)
        assert set(per_prompt.values()) == {1} and len(per_prompt) == N
        ids = {job.input.get("prompt"): job.id for job in emu.jobs(provider)}
        assert all(r["request_id"] == ids[f"prompt {r['index']}"] for r in final)
        assert ledger_states(tmp_path / "batch.sqlite") == Counter({"done": N})


@pytest.mark.parametrize("seed", [11, 12, 13])
def test_sigkill_mid_wait_then_rerun_waits_on_the_stored_handles(tmp_path: Path, seed: int) -> None:
    """kill -9 at a seeded moment while jobs run: the rerun waits on submitted jobs by
    their handles and yields finished ones from the ledger; nothing is submitted twice."""
    with Emulator(latency=Latency(queue_seconds=0.1, run_seconds=0.6)) as emu:
        child = run_child(emu, tmp_path)
        path = tmp_path / "batch.sqlite"
        deadline = time.monotonic() + 30
        while ledger_states(path)["submitted"] < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(random.Random(seed).uniform(0.0, 0.8))
        child.send_signal(signal.SIGKILL)
        communicate_or_kill(child, 50)
        before = ledger_states(path)
        final = outcomes(run_child(emu, tmp_path))
        check_exactly_once(emu, final)
        resumed = sum(1 for result in final if result["resumed"])
        assert resumed >= before["done"]


def test_sigint_cancels_every_running_job_and_leaves_the_ledger_resumable(
    tmp_path: Path,
) -> None:
    """Ctrl-C in the sync twin: zero jobs left running at the emulator, no row failed
    (cancelled rows keep their handles); the rerun completes every request."""
    with Emulator(latency=Latency(queue_seconds=0.05, run_seconds=30.0)) as emu:
        child = run_child(emu, tmp_path)
        path = tmp_path / "batch.sqlite"
        deadline = time.monotonic() + 30
        while ledger_states(path)["submitted"] < 4 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert ledger_states(path)["submitted"] >= 4
        child.send_signal(signal.SIGINT)
        communicate_or_kill(child, 50)
        assert child.returncode != 0
        assert emu.stats("fal").running == 0
        assert emu.stats("fal").cancelled >= 4
        states = ledger_states(path)
        assert states["failed"] == 0 and states["unknown"] == 0 and states["intent"] == 0
        assert states["cancelled"] >= 4
        emu.latency = Latency(queue_seconds=0.05, run_seconds=0.1)
        final = outcomes(run_child(emu, tmp_path))
        assert sorted(result["index"] for result in final) == list(range(N))
        assert all(result["ok"] for result in final)
        succeeded = Counter(
            str(job.input.get("prompt")) for job in emu.jobs("fal") if job.state == "succeeded"
        )
        assert set(succeeded.values()) == {1} and len(succeeded) == N


@pytest.mark.parametrize("anyio_backend", ["trio"])
async def test_a_batch_with_a_ledger_runs_under_trio(
    emu: Emulator, tmp_path: Path, anyio_backend: str
) -> None:
    """The batch, its ledger's worker thread and its resume work on trio too."""
    config = emulated_video_config(emu, "fal", "fal-ai/veo3")
    path = tmp_path / "batch.sqlite"
    requests = [VideoGenerationRequest(prompt=f"trio {i}", duration_seconds=4) for i in range(4)]
    for run in range(2):
        async with generate_videos_async(config, requests, concurrency=2, ledger=path) as results:
            collected = [result async for result in results]
        assert all(result.ok and result.resumed is (run == 1) for result in collected)
    assert sum(jobs_per_prompt(emu)[f"trio {i}"] for i in range(4)) == 4
