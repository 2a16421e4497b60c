"""Scale benchmark: N concurrent video jobs through the emulator, one client process.

For 1, 100 and 1,000 jobs in flight it reports, per job: client CPU milliseconds, HTTP
requests, detection lag (how long after the emulated job finished the client returned, its
result read), and the client's peak memory growth. The emulator runs in a separate
process so only the client's work is measured.

Run: ``python -m benchmarks.concurrent_jobs [--jobs 1 100 1000] [--mode poll stream]``
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import anyio

from benchmarks._emulator_process import BENCH_KEY
from tarash.tarash_gateway import generate_video_async
from tarash.tarash_gateway.models import VideoGenerationConfig, VideoGenerationRequest

QUEUE_SECONDS = 0.5
RUN_SECONDS = 4.5
JOB_SECONDS = QUEUE_SECONDS + RUN_SECONDS


@dataclass
class Result:
    """One benchmark row."""

    provider: str
    mode: str
    jobs: int
    wall_seconds: float
    cpu_ms_per_job: float
    requests_per_job: float
    lag_mean_s: float
    lag_p95_s: float
    lag_max_s: float
    rss_growth_kb_per_job: float
    failures: int


def _rss_kb() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


MODELS = {"fal": "fal-ai/veo3", "replicate": "google/veo-3"}


async def run_batch(base_url: str, jobs: int, mode: str, provider: str = "fal") -> Result:
    """Run ``jobs`` generations at once and measure them."""
    config = VideoGenerationConfig(
        provider=provider,
        model=MODELS[provider],
        base_url=f"{base_url}/{provider}",
        api_key=BENCH_KEY,
        timeout=120,
        provider_config={"status_stream": mode == "stream"} if provider == "fal" else {},
    )
    request = VideoGenerationRequest(prompt="benchmark", duration_seconds=4)
    lags: list[float] = []
    requests: list[int] = []
    failures = 0

    async def one() -> None:
        nonlocal failures
        # The first update arrives with the submit reply: the emulated job's clock starts
        # there, so queueing to submit under load is not counted as detection lag.
        accepted_at: list[float] = []

        def on_progress(update: object) -> None:
            if not accepted_at:
                accepted_at.append(time.perf_counter())

        try:
            response = await generate_video_async(config, request, on_progress=on_progress)
        except Exception:
            failures += 1
            return
        lags.append(time.perf_counter() - accepted_at[0] - JOB_SECONDS)
        requests.append(response.execution_metadata.attempts[0].http_requests)

    rss_before = _rss_kb()
    cpu_before = time.process_time()
    wall_before = time.perf_counter()
    async with anyio.create_task_group() as group:
        for _ in range(jobs):
            group.start_soon(one)
    wall = time.perf_counter() - wall_before
    cpu = time.process_time() - cpu_before
    ordered = sorted(lags) or [0.0]
    return Result(
        provider=provider,
        mode=mode,
        jobs=jobs,
        wall_seconds=round(wall, 2),
        cpu_ms_per_job=round(cpu * 1000 / jobs, 2),
        requests_per_job=round(statistics.mean(requests or [0]), 2),
        lag_mean_s=round(statistics.mean(ordered), 3),
        lag_p95_s=round(ordered[int(0.95 * (len(ordered) - 1))], 3),
        lag_max_s=round(ordered[-1], 3),
        rss_growth_kb_per_job=round((_rss_kb() - rss_before) / jobs, 1),
        failures=failures,
    )


def main() -> None:
    """Start the emulator process, run every batch, print a table and save JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 100, 1000])
    parser.add_argument("--mode", nargs="+", default=["poll", "stream"])
    parser.add_argument("--provider", choices=sorted(MODELS), default="fal")
    parser.add_argument("--out", type=Path, default=None, help="JSON results file")
    args = parser.parse_args()

    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "benchmarks._emulator_process",
            str(QUEUE_SECONDS),
            str(RUN_SECONDS),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        line = server.stdout.readline().split()
        if not line or line[0] != "READY":
            raise SystemExit("the emulator did not start")
        base_url = f"http://127.0.0.1:{line[1]}"
        results = []
        # Warm up imports, pydantic schemas and the SSL context, which every process pays
        # once and which would otherwise be charged to the first batch.
        anyio.run(run_batch, base_url, 2, "poll", args.provider)
        for mode in args.mode:
            for jobs in args.jobs:
                result = anyio.run(run_batch, base_url, jobs, mode, args.provider)
                results.append(result)
                print(json.dumps(asdict(result)), flush=True)
    finally:
        if server.stdin is not None:
            server.stdin.close()
        server.wait(timeout=10)

    header = (
        "| provider | mode | jobs | wall s | CPU ms/job | requests/job | lag mean s | lag p95 s | "
        "lag max s | RSS KB/job | failures |"
    )
    print("\n" + header)
    print("|" + "---|" * 11)
    for r in results:
        print(
            f"| {r.provider} | {r.mode} | {r.jobs} | {r.wall_seconds} | {r.cpu_ms_per_job} | "
            f"{r.requests_per_job} | {r.lag_mean_s} | {r.lag_p95_s} | {r.lag_max_s} | "
            f"{r.rss_growth_kb_per_job} | {r.failures} |"
        )
    out = args.out or Path(f"benchmarks/results/concurrent_jobs_{args.provider}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps([asdict(r) for r in results], indent=2) + "\n")


if __name__ == "__main__":
    main()
