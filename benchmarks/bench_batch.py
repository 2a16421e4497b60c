"""Batch memory: RSS while a batch of 1k or 100k requests runs, with and without a ledger.

The requests run on the mock provider (``MockConfig(enabled=True)``, no polling delay):
the whole pipeline (router, attempt, waiter, metadata, events) runs for each request
without network, so 100k requests take a couple of minutes and what grows, if anything,
is tarash's. The input is a generator (never a list) and each result is dropped once
seen, as a program writing results to disk would. RSS is sampled from ``/proc`` every
``--every`` results; flat memory means the last sample is about the first.

Run: ``python -m benchmarks.bench_batch [--requests 1000 100000] [--ledger]``
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import anyio

from tarash.tarash_gateway import MockConfig, generate_videos_async
from tarash.tarash_gateway.models import VideoGenerationConfig, VideoGenerationRequest

PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024


def rss_kb() -> int:
    """The process's resident set right now, in KB (Linux)."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * PAGE_KB


@dataclass
class Row:
    """One benchmark row."""

    requests: int
    ledger: bool
    concurrency: int
    wall_seconds: float
    requests_per_second: float
    rss_start_kb: int
    rss_after_first_kb: int
    rss_end_kb: int
    peak_rss_kb: int
    failures: int
    samples_kb: list[int] = field(default_factory=list)


def requests(count: int) -> Iterator[tuple[str, VideoGenerationRequest]]:
    """``count`` requests, made one at a time as the batch asks for them."""
    for number in range(count):
        yield f"r{number}", VideoGenerationRequest(prompt=f"shot {number}", duration_seconds=4)


async def run(count: int, *, ledger: bool, concurrency: int, every: int) -> Row:
    """Run one batch and sample its memory."""
    config = VideoGenerationConfig(
        provider="fal", model="fal-ai/veo3", mock=MockConfig(enabled=True)
    )
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "batch.sqlite" if ledger else None
        start_rss = rss_kb()
        samples: list[int] = []
        failures = seen = 0
        after_first = 0
        started = time.perf_counter()
        async with generate_videos_async(
            config, requests(count), concurrency=concurrency, ledger=path
        ) as results:
            async for result in results:
                seen += 1
                failures += not result.ok
                if seen == min(count, every):
                    after_first = rss_kb()
                if seen % every == 0:
                    samples.append(rss_kb())
        wall = time.perf_counter() - started
    return Row(
        requests=count,
        ledger=ledger,
        concurrency=concurrency,
        wall_seconds=round(wall, 2),
        requests_per_second=round(count / wall, 1),
        rss_start_kb=start_rss,
        rss_after_first_kb=after_first,
        rss_end_kb=rss_kb(),
        peak_rss_kb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        failures=failures,
        samples_kb=samples,
    )


def main() -> None:
    """Run the batches asked for and print (and save) one row each."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, nargs="+", default=[1_000, 100_000])
    parser.add_argument("--ledger", action="store_true", help="record every request in SQLite")
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--every", type=int, default=1_000, help="results between samples")
    args = parser.parse_args()
    rows = []
    for count in args.requests:
        row = anyio.run(
            lambda count=count: run(
                count, ledger=args.ledger, concurrency=args.concurrency, every=args.every
            )
        )
        rows.append(row)
        printable = {key: value for key, value in asdict(row).items() if key != "samples_kb"}
        print(json.dumps(printable), flush=True)
    out = Path(__file__).parent / "results" / f"bench_batch{'_ledger' if args.ledger else ''}.json"
    out.write_text(json.dumps([asdict(row) for row in rows], indent=1))


if __name__ == "__main__":
    main()
