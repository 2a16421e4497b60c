"""Router benchmarks: the pipeline's overhead per attempt, and throughput under a cap.

1. ``overhead``: N sequential ``generate_video_async`` calls on the in-memory mock provider
   (no HTTP), on a plain ``Router()`` and on one with a limit on the provider, so the
   difference is what acquiring and releasing a capacity slot costs per attempt.
2. ``cap``: N requests at once against the emulator (in this process, its own thread) on
   fal capped at ``--cap`` concurrent jobs; reports wall time, throughput against the cap's
   ideal (cap / job seconds), the emulator's peak concurrent jobs and the HTTP retries
   (429s included) the calls made.

Run: ``python -m benchmarks.bench_router [--calls 2000] [--requests 500] [--cap 50]``;
results go to ``benchmarks/results/bench_router.json``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import anyio

from tarash.emulator import Emulator, Latency
from tarash.tarash_gateway import ProviderLimit, Router
from tarash.tarash_gateway.mock import MockConfig
from tarash.tarash_gateway.models import VideoGenerationConfig, VideoGenerationRequest

REQUEST = VideoGenerationRequest(prompt="a cat", duration_seconds=4)
JOB_SECONDS = 2.0


async def overhead(calls: int) -> dict[str, Any]:
    """Microseconds per mock attempt, without and with a limit on the provider."""
    config = VideoGenerationConfig(
        provider="fal", model="fal-ai/veo3", mock=MockConfig(enabled=True), api_key="k"
    )
    rows: dict[str, Any] = {}
    for name, router in (
        ("no limits", Router()),
        ("limit on fal", Router(limits={"fal": ProviderLimit(max_concurrent=8)})),
    ):
        for _ in range(50):  # warm up imports, caches and the mock
            await router.generate_video_async(config, REQUEST)
        started = time.perf_counter()
        for _ in range(calls):
            await router.generate_video_async(config, REQUEST)
        rows[name] = round((time.perf_counter() - started) / calls * 1e6, 1)
    rows["slot cost"] = round(rows["limit on fal"] - rows["no limits"], 1)
    return {"calls": calls, "us_per_attempt": rows}


async def under_cap(requests: int, cap: int) -> dict[str, Any]:
    """Throughput of ``requests`` at once on fal capped at ``cap`` jobs."""
    with Emulator(latency=Latency(queue_seconds=0.0, run_seconds=JOB_SECONDS)) as emu:
        config = VideoGenerationConfig(
            provider="fal",
            model="fal-ai/veo3",
            base_url=emu.base_url("fal"),
            api_key=emu.api_key("fal"),
            poll_interval=0.1,
            timeout=600,
            provider_config={"status_stream": False},
        )
        router = Router(limits={"fal": ProviderLimit(max_concurrent=cap)})
        failures = retries = 0

        async def one() -> None:
            nonlocal failures, retries
            try:
                response = await router.generate_video_async(config, REQUEST)
            except Exception:
                failures += 1
                return
            retries += sum(attempt.retries for attempt in response.execution_metadata.attempts)

        started = time.perf_counter()
        async with anyio.create_task_group() as group:
            for _ in range(requests):
                group.start_soon(one)
        wall = time.perf_counter() - started
        ideal = requests / cap * JOB_SECONDS
        stats = emu.stats("fal")
        return {
            "requests": requests,
            "cap": cap,
            "job_seconds": JOB_SECONDS,
            "wall_seconds": round(wall, 2),
            "ideal_seconds": round(ideal, 2),
            "throughput_vs_ideal": round(ideal / wall, 3),
            "peak_concurrent_jobs": emu.peak_concurrency("fal"),
            "submitted": stats.submitted,
            "failures": failures,
            "http_retries": retries,
        }


def main() -> None:
    """Run both benchmarks, print them and save them as JSON."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--cap", type=int, default=50)
    args = parser.parse_args()
    results = {
        "overhead": anyio.run(overhead, args.calls),
        "cap": anyio.run(under_cap, args.requests, args.cap),
    }
    print(json.dumps(results, indent=2))
    out = Path(__file__).parent / "results" / "bench_router.json"
    out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
