"""A batch on OpenAI videos killed (SIGKILL) after the provider accepted a job but before
the ledger recorded it: the rerun finds the job in ``GET /videos`` by its request and
adopts it, so nothing is flagged and nothing is created twice (the Replicate crash test's
shape, in tests/integration/test_batch_emulator.py, on OpenAI's list)."""

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

from tarash.emulator import Emulator, Latency

pytestmark = pytest.mark.integration

N = 12
PROVIDER = "openai"
MODEL = "sora-2"
CHILD = r'''
import json, os, signal, sys
from tarash.tarash_gateway import LedgerState, SqliteLedger, generate_videos
from tarash.tarash_gateway.models import VideoGenerationConfig, VideoGenerationRequest

base_url, key, path, count, point, provider, model = sys.argv[1:8]
count, point = int(count), int(point)


class CrashingLedger(SqliteLedger):
    """Dies by SIGKILL when the point-th accepted job is about to be recorded."""

    seen = 0

    async def save(self, entry):
        if point and entry.state is LedgerState.SUBMITTED:
            CrashingLedger.seen += 1
            if CrashingLedger.seen == point:
                os.kill(os.getpid(), signal.SIGKILL)  # the job exists, the ledger never hears
        await super().save(entry)


config = VideoGenerationConfig(
    provider=provider, model=model, base_url=base_url, api_key=key, poll_interval=0.05
)
requests = ((f"k{i}", VideoGenerationRequest(prompt=f"prompt {i}", duration_seconds=4))
            for i in range(count))
for result in generate_videos(config, requests, concurrency=4, ledger=CrashingLedger(path)):
    print(json.dumps({
        "index": result.index,
        "ok": result.ok,
        "request_id": result.response.request_id if result.ok else None,
        "job_may_exist": bool(result.error is not None and result.error.job_may_exist),
    }), flush=True)
'''


def run_child(emu: Emulator, tmp_path: Path, point: int = 0) -> subprocess.Popen[str]:
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    # The child's stderr (a killed child's retries, say) is kept out of the test output.
    with (tmp_path / f"child-{point}-{time.monotonic_ns()}.err").open("w") as errors:
        return subprocess.Popen(
            [
                sys.executable,
                str(script),
                emu.base_url(PROVIDER),
                emu.api_key(PROVIDER),
                str(tmp_path / "batch.sqlite"),
                str(N),
                str(point),
                PROVIDER,
                MODEL,
            ],
            stdout=subprocess.PIPE,
            stderr=errors,
            text=True,
            env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
        )


def outcomes(child: subprocess.Popen[str]) -> list[dict[str, Any]]:
    out, _ = child.communicate(timeout=50)
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def ledger_states(path: Path) -> Counter[str]:
    if not path.exists():
        return Counter()
    with sqlite3.connect(path, timeout=5) as connection:
        rows = connection.execute("SELECT state FROM requests").fetchall()
    return Counter(state for (state,) in rows)


@pytest.mark.parametrize("seed", [21, 22])
def test_sigkill_after_accept_on_openai_recovers_the_unrecorded_videos(
    tmp_path: Path, seed: int
) -> None:
    """Every row caught in 'intent' by kill -9 after OpenAI accepted its video is found
    by its request on the rerun and waited on: every request succeeds with the video the
    emulator made for its prompt, none is flagged job_may_exist, none was created twice."""
    with Emulator(latency=Latency(queue_seconds=0.05, run_seconds=0.2)) as emu:
        point = random.Random(seed).randint(1, N)
        crashed = run_child(emu, tmp_path, point)
        crashed.communicate(timeout=50)
        assert crashed.returncode == -signal.SIGKILL
        assert ledger_states(tmp_path / "batch.sqlite")["intent"] >= 1
        final = outcomes(run_child(emu, tmp_path))
        assert sorted(result["index"] for result in final) == list(range(N))
        assert all(result["ok"] and not result["job_may_exist"] for result in final), final
        per_prompt = Counter(str(job.input.get("prompt")) for job in emu.jobs(PROVIDER))
        assert set(per_prompt.values()) == {1} and len(per_prompt) == N
        ids = {job.input.get("prompt"): job.id for job in emu.jobs(PROVIDER)}
        assert all(result["request_id"] == ids[f"prompt {result['index']}"] for result in final)
        assert ledger_states(tmp_path / "batch.sqlite") == Counter({"done": N})
