"""Router benchmarks: the pipeline's overhead per attempt, and throughput under a cap.

1. ``overhead``: N sequential ``generate_video_async`` calls on the in-memory mock provider
   (no HTTP), on a plain ``Router()`` and on one with a limit on the provider, so the
   difference is what acquiring and releasing a capacity slot costs per attempt.
2. ``cap``: N requests at once against the emulator (in this process, its own thread) on
   fal capped at ``--cap`` concurrent jobs of ``--job-seconds`` (5 s: the issue's typical
   video job); reports wall time, throughput against the cap's ideal (cap / job seconds),
   the emulator's peak concurrent jobs, the HTTP retries and the 429s the calls met, and
   the process's CPU time (client and emulator together). fal follows each job over its
   status stream (its default); ``--poll`` polls instead, every 0.1 s.

Run: ``python -m benchmarks.bench_router [--calls 2000] [--requests 2000] [--cap 50]``;
results go to ``benchmarks/results/bench_router.json`` and ``bench_router.md``.
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
JOB_SECONDS = 5.0


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


async def under_cap(requests: int, cap: int, job_seconds: float, poll: bool) -> dict[str, Any]:
    """Throughput of ``requests`` at once on fal capped at ``cap`` jobs."""
    with Emulator(latency=Latency(queue_seconds=0.0, run_seconds=job_seconds)) as emu:
        config = VideoGenerationConfig(
            provider="fal",
            model="fal-ai/veo3",
            base_url=emu.base_url("fal"),
            api_key=emu.api_key("fal"),
            poll_interval=0.1,
            timeout=600,
            provider_config={"status_stream": not poll},
        )
        router = Router(limits={"fal": ProviderLimit(max_concurrent=cap)})
        failures = retries = throttled = requests_sent = 0

        async def one() -> None:
            nonlocal failures, retries, throttled, requests_sent
            try:
                response = await router.generate_video_async(config, REQUEST)
            except Exception:
                failures += 1
                return
            for attempt in response.execution_metadata.attempts:
                retries += attempt.retries
                requests_sent += attempt.http_requests
                throttled += attempt.status_code == 429

        cpu = time.process_time()
        started = time.perf_counter()
        async with anyio.create_task_group() as group:
            for _ in range(requests):
                group.start_soon(one)
        wall = time.perf_counter() - started
        cpu = time.process_time() - cpu
        ideal = requests / cap * job_seconds
        stats = emu.stats("fal")
        return {
            "requests": requests,
            "cap": cap,
            "job_seconds": job_seconds,
            "follow": "poll every 0.1 s" if poll else "status stream",
            "wall_seconds": round(wall, 2),
            "ideal_seconds": round(ideal, 2),
            "throughput_vs_ideal": round(ideal / wall, 3),
            "peak_concurrent_jobs": emu.peak_concurrency("fal"),
            "submitted": stats.submitted,
            "completed": stats.completed,
            "failures": failures,
            "http_retries": retries,
            "http_429s": throttled,
            "http_requests_per_request": round(requests_sent / max(1, requests - failures), 2),
            "cpu_seconds": round(cpu, 1),
        }


def markdown(results: dict[str, Any]) -> str:
    """The results as the README's table."""
    over, cap = results["overhead"]["us_per_attempt"], results["cap"]
    rows = [
        ("one mock attempt, no limits", f"{over['no limits']} µs"),
        ("one mock attempt, limit on the provider", f"{over['limit on fal']} µs"),
        (
            f"{cap['requests']:,} requests, cap {cap['cap']}, {cap['job_seconds']:g} s jobs "
            f"({cap['follow']}): wall",
            f"{cap['wall_seconds']} s (ideal {cap['ideal_seconds']} s: "
            f"{cap['throughput_vs_ideal']:.1%} of the cap's throughput)",
        ),
        ("peak concurrent jobs at the emulator", str(cap["peak_concurrent_jobs"])),
        (
            "failures / HTTP retries / 429s",
            f"{cap['failures']} / {cap['http_retries']} / {cap['http_429s']}",
        ),
        ("HTTP requests per request", str(cap["http_requests_per_request"])),
        ("CPU (client and emulator, one process)", f"{cap['cpu_seconds']} s"),
    ]
    lines = ["| scenario | result |", "|---|---|"]
    lines += [f"| {name} | {value} |" for name, value in rows]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    """Run both benchmarks, print them and save them as JSON and Markdown."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--cap", type=int, default=50)
    parser.add_argument("--job-seconds", type=float, default=JOB_SECONDS)
    parser.add_argument("--poll", action="store_true", help="poll instead of fal's stream")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args(argv)
    results = {
        "overhead": anyio.run(overhead, args.calls),
        "cap": anyio.run(under_cap, args.requests, args.cap, args.job_seconds, args.poll),
    }
    print(json.dumps(results, indent=2))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "bench_router.json").write_text(json.dumps(results, indent=2) + "\n")
    (args.out / "bench_router.md").write_text("# bench_router\n\n" + markdown(results))


if __name__ == "__main__":
    main()
