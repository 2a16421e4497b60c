"""Hedged races against a heavy tail: latency percentiles, jobs per request and spend.

Two providers on the emulator (fal's ``fal-ai/veo3``, then Replicate's ``google/veo-3``)
with the issue's heavy tail, scaled down ten times to keep the run short: 95% of the jobs
run 0.5 s and 5% run 6 s (the issue's 5 s and 60 s; the ratios are what matter), with
0.1 s of uniform jitter, each provider drawing its own slow jobs from one seed. The same
requests run four ways, each on a fresh emulator and router:

- ``single``: fal alone (a plain chain of one).
- ``chain``: fal with a deadline of three fast jobs (1.5 s), then Replicate: a slow fal
  job times out (cancelled at fal) and the chain falls back.
- ``hedge fixed``: ``HedgePolicy(after=1.0)``: Replicate starts beside a fal job not done
  after 1 s (two fast jobs); the first success wins, the loser is cancelled.
- ``hedge learned``: ``HedgePolicy(after="learned")``: the delay is the p90 of recent
  completion times of the provider/model (``initial_after=1.0`` until enough are known).

Per scenario: p50/p95/p99 latency (request start to response), jobs submitted per request
(the emulator's count), and the estimated spend: the router's (each attempt's
``estimated_cost``, a cancelled job at the full price, as the router bounds work billed
"elapsed") and the spend if cancelled jobs are billed for the share of their run they did
(from the emulator's timestamps). Prices are the benchmark's: $0.40 per second of video on
both providers, 8 s videos, so $3.20 a job.

Run: ``python -m benchmarks.bench_hedge [--requests 1000] [--concurrency 50] [--seed 1]``;
results go to ``benchmarks/results/bench_hedge.json`` and ``bench_hedge.md``.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio

from tarash.emulator import Emulator, Latency
from tarash.tarash_gateway import HedgePolicy, Price, Router
from tarash.tarash_gateway.models import (
    VideoGenerationConfig,
    VideoGenerationRequest,
    VideoGenerationResponse,
)

REQUEST = VideoGenerationRequest(prompt="a cat", duration_seconds=8)
FAL = ("fal", "fal-ai/veo3")
REPLICATE = ("replicate", "google/veo-3")
PER_SECOND = 0.40
PRICES = {
    f"{provider}/{model}": Price(per_second=PER_SECOND, cancelled="elapsed", source="benchmark")
    for provider, model in (FAL, REPLICATE)
}
RESULTS = Path(__file__).parent / "results"


@dataclass(frozen=True)
class Scenario:
    """The heavy tail's shape and the load, in seconds of the scaled-down run."""

    requests: int = 1000
    concurrency: int = 50
    fast_seconds: float = 0.5
    tail_seconds: float = 6.0
    tail_fraction: float = 0.05
    jitter_seconds: float = 0.1
    seed: int = 1

    @property
    def chain_timeout(self) -> float:
        """The chain's deadline on fal: three fast jobs."""
        return 3 * self.fast_seconds

    @property
    def hedge_after(self) -> float:
        """The fixed hedge delay (and the learned one's initial delay): two fast jobs."""
        return 2 * self.fast_seconds

    def latency(self) -> Latency:
        """The emulator's latency model for this scenario."""
        return Latency(
            queue_seconds=0.0,
            run_seconds=self.fast_seconds,
            jitter_seconds=self.jitter_seconds,
            tail_fraction=self.tail_fraction,
            tail_run_seconds=self.tail_seconds,
            seed=self.seed,
        )


Configure = Callable[[Emulator, Scenario], tuple[Router, VideoGenerationConfig]]


def _config(emu: Emulator, provider: str, model: str, **fields: Any) -> VideoGenerationConfig:
    settings: dict[str, Any] = {"poll_interval": 0.1, "timeout": 600, **fields}
    return VideoGenerationConfig(
        provider=provider,
        model=model,
        base_url=emu.base_url(provider),
        api_key=emu.api_key(provider),
        **settings,
    )


def single(emu: Emulator, scenario: Scenario) -> tuple[Router, VideoGenerationConfig]:
    """fal alone."""
    return Router(prices=PRICES), _config(emu, *FAL)


def chain(emu: Emulator, scenario: Scenario) -> tuple[Router, VideoGenerationConfig]:
    """fal with a short deadline, falling back to Replicate."""
    config = _config(
        emu, *FAL, timeout=scenario.chain_timeout, fallback_configs=[_config(emu, *REPLICATE)]
    )
    return Router(prices=PRICES), config


def hedge_fixed(emu: Emulator, scenario: Scenario) -> tuple[Router, VideoGenerationConfig]:
    """A race onto Replicate after a fixed delay."""
    router = Router(strategy="hedge", hedge=HedgePolicy(after=scenario.hedge_after), prices=PRICES)
    return router, _config(emu, *FAL, fallback_configs=[_config(emu, *REPLICATE)])


def hedge_learned(emu: Emulator, scenario: Scenario) -> tuple[Router, VideoGenerationConfig]:
    """A race onto Replicate after the learned p90 of fal's completion times."""
    policy = HedgePolicy(after="learned", initial_after=scenario.hedge_after)
    router = Router(strategy="hedge", hedge=policy, prices=PRICES)
    return router, _config(emu, *FAL, fallback_configs=[_config(emu, *REPLICATE)])


SCENARIOS: dict[str, Configure] = {
    "single": single,
    "chain": chain,
    "hedge fixed": hedge_fixed,
    "hedge learned": hedge_learned,
}


def percentile(ordered: list[float], q: float) -> float:
    """The ``q`` quantile of sorted values, interpolated (as numpy's default)."""
    position = q * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _elapsed_billed(emu: Emulator) -> float:
    """Spend if a cancelled job is billed for the share of its run it did."""
    job_price = PER_SECOND * (REQUEST.duration_seconds or 0)
    # A cancelled job's progress stopped at the cancel: the share of its run it did.
    return sum(
        job_price * (job.progress if job.state == "cancelled" else 1.0)
        for provider, _ in (FAL, REPLICATE)
        for job in emu.jobs(provider)
    )


async def run_scenario(name: str, configure: Configure, scenario: Scenario) -> dict[str, Any]:
    """Run ``scenario.requests`` requests, ``scenario.concurrency`` at a time."""
    with Emulator(latency=scenario.latency()) as emu:
        router, config = configure(emu, scenario)
        latencies: list[float] = []
        hedge_delays: list[float] = []
        spend = 0.0
        failures = 0
        winners: dict[str, int] = {}
        limiter = anyio.CapacityLimiter(scenario.concurrency)

        def account(response: VideoGenerationResponse, seconds: float) -> None:
            nonlocal spend
            latencies.append(seconds)
            attempts = response.execution_metadata.attempts
            spend += sum(attempt.estimated_cost or 0.0 for attempt in attempts)
            winner = response.provider or "?"
            winners[winner] = winners.get(winner, 0) + 1
            primary = attempts[0].started_at
            hedge_delays.extend(
                (attempt.started_at - primary).total_seconds()
                for attempt in attempts
                if attempt.role == "hedge" and attempt.request_id is not None
            )

        async def one() -> None:
            nonlocal failures
            async with limiter:
                started = time.perf_counter()
                try:
                    response = await router.generate_video_async(config, REQUEST)
                except Exception:
                    failures += 1
                    return
                account(response, time.perf_counter() - started)

        started = time.perf_counter()
        async with anyio.create_task_group() as group:
            for _ in range(scenario.requests):
                group.start_soon(one)
        wall = time.perf_counter() - started
        # A loser's cancel is sent before its race returns; give the last ones a moment.
        await anyio.sleep(0.2)
        stats = {provider: emu.stats(provider) for provider, _ in (FAL, REPLICATE)}
        submitted = sum(item.submitted for item in stats.values())
        ordered = sorted(latencies)
        learned = router.snapshot().latency
        return {
            "scenario": name,
            "requests": scenario.requests,
            "failures": failures,
            "wall_seconds": round(wall, 2),
            "p50_s": round(percentile(ordered, 0.50), 3),
            "p95_s": round(percentile(ordered, 0.95), 3),
            "p99_s": round(percentile(ordered, 0.99), 3),
            "max_s": round(ordered[-1], 3),
            "jobs_per_request": round(submitted / scenario.requests, 4),
            "submitted": {provider: item.submitted for provider, item in stats.items()},
            "cancelled": {provider: item.cancelled for provider, item in stats.items()},
            "running_after": sum(item.running for item in stats.values()),
            "winners": winners,
            "hedges_submitted": len(hedge_delays),
            "mean_hedge_delay_s": (
                round(sum(hedge_delays) / len(hedge_delays), 3) if hedge_delays else None
            ),
            "learned_p90_s": {
                key: None if row.p90 is None else round(row.p90, 3) for key, row in learned.items()
            },
            "spend_estimated_usd": round(spend, 2),
            "spend_elapsed_billed_usd": round(_elapsed_billed(emu), 2),
        }


def markdown(scenario: Scenario, rows: list[dict[str, Any]]) -> str:
    """The results table, with each row's p99 cut and extra jobs against ``single``."""
    base = rows[0]
    lines = [
        f"Heavy tail: {1 - scenario.tail_fraction:.0%} of jobs {scenario.fast_seconds} s, "
        f"{scenario.tail_fraction:.0%} {scenario.tail_seconds} s (+ up to "
        f"{scenario.jitter_seconds} s jitter), seed {scenario.seed}; {scenario.requests} "
        f"requests, {scenario.concurrency} in flight; $3.20 a job.",
        "",
        "| scenario | p50 s | p95 s | p99 s | p99 cut | jobs/request | extra jobs "
        "| spend (router) $ | spend (elapsed billed) $ | failures |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        cut = base["p99_s"] / row["p99_s"]
        extra = row["jobs_per_request"] / base["jobs_per_request"] - 1
        lines.append(
            f"| {row['scenario']} | {row['p50_s']:.2f} | {row['p95_s']:.2f} "
            f"| {row['p99_s']:.2f} | {cut:.1f}x | {row['jobs_per_request']:.3f} "
            f"| {extra:+.1%} | {row['spend_estimated_usd']:,.2f} "
            f"| {row['spend_elapsed_billed_usd']:,.2f} | {row['failures']} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    """Run every scenario, print the table and save JSON and Markdown."""
    parser = argparse.ArgumentParser()
    defaults = Scenario()
    parser.add_argument("--requests", type=int, default=defaults.requests)
    parser.add_argument("--concurrency", type=int, default=defaults.concurrency)
    parser.add_argument("--fast", type=float, default=defaults.fast_seconds)
    parser.add_argument("--tail", type=float, default=defaults.tail_seconds)
    parser.add_argument("--jitter", type=float, default=defaults.jitter_seconds)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    scenario = Scenario(
        requests=args.requests,
        concurrency=args.concurrency,
        fast_seconds=args.fast,
        tail_seconds=args.tail,
        jitter_seconds=args.jitter,
        seed=args.seed,
    )
    rows = [
        anyio.run(run_scenario, name, configure, scenario) for name, configure in SCENARIOS.items()
    ]
    table = markdown(scenario, rows)
    print(table)
    args.out.mkdir(parents=True, exist_ok=True)
    payload = {"scenario": scenario.__dict__, "rows": rows}
    (args.out / "bench_hedge.json").write_text(json.dumps(payload, indent=2) + "\n")
    (args.out / "bench_hedge.md").write_text("# bench_hedge\n\n" + table)


if __name__ == "__main__":
    # The chain's fallbacks and the adapted durations are logged as warnings, one a request
    # (set here, not in main(), which tests call in a process whose logging they check).
    logging.getLogger("tarash").setLevel(logging.ERROR)
    main()
