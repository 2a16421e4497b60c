"""Polls a provider's read throttling costs: with the shared read pause, and without.

200 Replicate jobs run at once against the emulator (3 s each, polled every 0.5 s at most).
One second in, every status read is answered 429 with ``Retry-After: 2`` for two seconds
(a read-rate window, as Replicate enforces per account). Each job's poller retries its
429 after the wait it was given. Without the shared pause, every other poller spends its
next poll to earn a 429 of its own; with it (the default), the first 429 holds back every
read of the provider until the wait ends.

Prints, per mode: the 429s served (the retries the attempts record), all polls sent, the
jobs that succeeded, and wall seconds. Measured (2 cores, two runs): without the shared
pause 200 429s and 850-925 polls; with it 18-34 429s (polls already on the wire when the
first 429 came back) and 750-775 polls; all 200 jobs succeed either way.

Run: ``python -m benchmarks.bench_read_pauses``
"""

from __future__ import annotations

import json
import logging
import threading
import time
from pathlib import Path
from typing import Any

import anyio

from tarash.emulator import Emulator, Fault, Latency
from tarash.tarash_gateway import generate_videos_async
from tarash.tarash_gateway.engine import _http
from tarash.tarash_gateway.engine._read_pauses import ReadPauses
from tarash.tarash_gateway.models import VideoGenerationConfig, VideoGenerationRequest
from tarash.tarash_gateway.router import configure

JOBS = 200
THROTTLE_STARTS = 1.0
THROTTLE_SECONDS = 2.0


class NoSharedPause(ReadPauses):
    """What tarash did before: each poller learns of a throttle on its own."""

    def pause(self, provider: str, origin: str, seconds: float) -> None:
        return None


def throttle(emu: Emulator) -> None:
    time.sleep(THROTTLE_STARTS)
    emu.inject(
        Fault(
            "rate_limit",
            provider="replicate",
            operation="status",
            times=None,
            retry_after=THROTTLE_SECONDS,
        )
    )
    time.sleep(THROTTLE_SECONDS)
    emu.clear_faults()


async def one_mode(shared: bool) -> dict[str, Any]:
    _http.READ_PAUSES = ReadPauses() if shared else NoSharedPause()
    with Emulator(latency=Latency(queue_seconds=0.2, run_seconds=3.0)) as emu:
        config = VideoGenerationConfig(
            provider="replicate",
            model="google/veo-3",
            base_url=emu.base_url("replicate"),
            api_key=emu.api_key("replicate"),
            poll_interval=0.5,
            max_retries=8,
        )
        requests = (VideoGenerationRequest(prompt=f"p{i}", duration_seconds=8) for i in range(JOBS))
        thrower = threading.Thread(target=throttle, args=(emu,), daemon=True)
        started = time.perf_counter()
        thrower.start()
        polls = retries = ok = 0
        async with generate_videos_async(config, requests, concurrency=JOBS) as results:
            async for result in results:
                metadata = (
                    result.response.execution_metadata
                    if result.response is not None
                    else result.error.execution_metadata
                    if result.error is not None
                    else None
                )
                for attempt in metadata.attempts if metadata is not None else []:
                    polls += attempt.poll_count
                    retries += attempt.retries
                ok += result.ok
        thrower.join()
        return {
            "shared_pause": shared,
            "throttled_polls_429": retries,
            "polls": polls,
            "succeeded": ok,
            "wall_seconds": round(time.perf_counter() - started, 2),
        }


async def main() -> None:
    logging.getLogger("stamina").setLevel(logging.ERROR)  # 200 "retry scheduled" lines
    # The create rate is not what is measured here: no create limits.
    configure(limits={})
    report = [await one_mode(shared=False), await one_mode(shared=True)]
    for row in report:
        print(json.dumps(row), flush=True)
    out = Path(__file__).parent / "results" / "bench_read_pauses.json"
    out.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    anyio.run(main)
