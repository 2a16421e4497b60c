"""The SIGKILL window of a batch: kill -9 while many submits are in flight, rerun, count.

A child process runs ``generate_videos`` against the emulator (concurrency 16, a ledger)
and is killed with SIGKILL as soon as the emulator has accepted ``--kill-at`` jobs; the
same batch is then rerun to the end. Per provider, over ``--kills`` kills:

- ``may_exist``: results of the rerun flagged ``job_may_exist`` (a row caught between a
  submit and the record of its reply that the rerun could not resolve);
- ``recovered``: rows caught so, whose job the rerun found at the provider by its request
  (providers that list their jobs: Replicate) and waited on;
- ``resent``: rows caught so whose create never reached the provider (the kill came first),
  which the rerun's complete listing showed to have no job, and sent once;
- ``duplicates``: requests with more than one job at the emulator (must be 0);
- ``orphans``: jobs at the emulator that no result names and no flagged result covers
  (must be 0).

Run: ``python -m benchmarks.bench_batch_kill [--kills 5] [--kill-at 15]``
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from tarash.emulator import Emulator, Latency

REQUESTS = 48
CONCURRENCY = 16
MODELS = {"fal": "fal-ai/veo3", "replicate": "google/veo-3"}

CHILD = r"""
import json, sys
from tarash.tarash_gateway import generate_videos
from tarash.tarash_gateway.models import VideoGenerationConfig, VideoGenerationRequest

provider, model, base_url, key, path, count, concurrency = sys.argv[1:8]
config = VideoGenerationConfig(
    provider=provider, model=model, base_url=base_url, api_key=key, poll_interval=0.05
)
requests = (VideoGenerationRequest(prompt=f"prompt {i}", duration_seconds=4)
            for i in range(int(count)))
for result in generate_videos(config, requests, concurrency=int(concurrency), ledger=path):
    print(json.dumps({
        "index": result.index,
        "ok": result.ok,
        "request_id": result.response.request_id if result.ok else None,
        "job_may_exist": bool(result.error is not None and result.error.job_may_exist),
    }), flush=True)
"""


def child(emu: Emulator, provider: str, folder: Path) -> subprocess.Popen[str]:
    script = folder / "child.py"
    script.write_text(CHILD)
    return subprocess.Popen(
        [
            sys.executable,
            str(script),
            provider,
            MODELS[provider],
            emu.base_url(provider),
            emu.api_key(provider),
            str(folder / "batch.sqlite"),
            str(REQUESTS),
            str(CONCURRENCY),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
    )


def intent_rows(path: Path) -> set[int]:
    import sqlite3

    with sqlite3.connect(path, timeout=5) as connection:
        rows = connection.execute("SELECT idx FROM requests WHERE state = 'intent'").fetchall()
    return {int(index) for (index,) in rows}


def one_kill(provider: str, kill_at: int) -> dict[str, int]:
    with (
        tempfile.TemporaryDirectory() as folder,
        Emulator(latency=Latency(queue_seconds=0.2, run_seconds=1.0)) as emu,
    ):
        path = Path(folder)
        running = child(emu, provider, path)
        deadline = time.monotonic() + 60
        while emu.stats(provider).submitted < kill_at and time.monotonic() < deadline:
            time.sleep(0.001)
        running.send_signal(signal.SIGKILL)
        running.communicate(timeout=60)
        caught_rows = intent_rows(path / "batch.sqlite")
        caught = len(caught_rows)
        # What the provider held when the child died: a caught row whose prompt is not
        # among these had no job, so its request could only be resent.
        existed = {str(job.input.get("prompt")) for job in emu.jobs(provider)}
        out, _ = child(emu, provider, path).communicate(timeout=120)
        final: list[dict[str, Any]] = [json.loads(line) for line in out.splitlines() if line]
        per_prompt = Counter(str(job.input.get("prompt")) for job in emu.jobs(provider))
        named = {result["request_id"] for result in final if result["ok"]}
        flagged = {f"prompt {r['index']}" for r in final if r["job_may_exist"]}
        orphans = [
            job
            for job in emu.jobs(provider)
            if job.id not in named and str(job.input.get("prompt")) not in flagged
        ]
        may_exist = len(flagged)
        resent = sum(
            1
            for result in final
            if result["ok"]
            and result["index"] in caught_rows
            and f"prompt {result['index']}" not in existed
        )
        return {
            "caught_in_intent": caught,
            "recovered": caught - may_exist - resent,
            "resent": resent,
            "may_exist": may_exist,
            "duplicates": sum(1 for count in per_prompt.values() if count > 1),
            "orphans": len(orphans),
            "results": len(final),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=5)
    parser.add_argument("--kill-at", type=int, default=15)
    parser.add_argument("--providers", nargs="+", default=list(MODELS))
    arguments = parser.parse_args()
    report: dict[str, Any] = {}
    for provider in arguments.providers:
        runs = [one_kill(provider, arguments.kill_at) for _ in range(arguments.kills)]
        totals = {name: sum(run[name] for run in runs) for name in runs[0]}
        report[provider] = {"kills": len(runs), "totals": totals, "runs": runs}
        print(provider, json.dumps(report[provider]["totals"]), flush=True)
    out = Path(__file__).parent / "results" / "bench_batch_kill.json"
    out.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
