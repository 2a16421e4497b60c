"""Capacity board overhead: acquire/release cost uncontended, under contention, across loops.

Prints microseconds per acquire+release for: a provider with no limit (the fast path), a
capped provider with room, a burst filling a 600-a-minute window, 2,000 tasks on one loop
against a cap of 50, and two asyncio loops plus a trio loop in three threads sharing a cap
of 50.

Run: ``python -m benchmarks.bench_limits``
"""

from __future__ import annotations

import asyncio
import json
import threading
import time

import anyio
import trio

from tarash.tarash_gateway.routing._limits import CapacityBoard, ProviderLimit


async def _sequential(board: CapacityBoard, rounds: int) -> float:
    started = time.perf_counter()
    for _ in range(rounds):
        (await board.acquire("fal", "m")).release()
    return (time.perf_counter() - started) / rounds * 1e6


async def _contended(board: CapacityBoard, tasks: int) -> tuple[float, int]:
    holding = peak = 0

    async def job() -> None:
        nonlocal holding, peak
        slot = await board.acquire("fal", "m")
        holding += 1
        peak = max(peak, holding)
        await anyio.lowlevel.checkpoint()
        holding -= 1
        slot.release()

    started = time.perf_counter()
    async with anyio.create_task_group() as group:
        for _ in range(tasks):
            group.start_soon(job)
    return (time.perf_counter() - started) / tasks * 1e6, peak


def _threads(tasks_per_loop: int) -> float:
    board = CapacityBoard({"fal": ProviderLimit(max_concurrent=50)})

    async def main() -> None:
        async def job() -> None:
            slot = await board.acquire("fal", "m")
            await anyio.lowlevel.checkpoint()
            slot.release()

        async with anyio.create_task_group() as group:
            for _ in range(tasks_per_loop):
                group.start_soon(job)

    runners = [lambda: asyncio.run(main()), lambda: asyncio.run(main()), lambda: trio.run(main)]
    threads = [threading.Thread(target=runner) for runner in runners]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return (time.perf_counter() - started) / (3 * tasks_per_loop) * 1e6


def main() -> None:
    """Run every scenario and print one JSON object of microseconds per acquire+release."""
    results: dict[str, float | int] = {}
    results["unlimited_us"] = asyncio.run(_sequential(CapacityBoard(), 20_000))
    capped = CapacityBoard({"fal": ProviderLimit(max_concurrent=50, creates_per_minute=1e9)})
    results["capped_with_room_us"] = asyncio.run(_sequential(capped, 20_000))
    # A burst that fills a 600-a-minute window: each create checks the window's oldest.
    windowed = CapacityBoard({"fal": ProviderLimit(creates_per_minute=600)})
    results["window_burst_600_of_600_per_min_us"] = asyncio.run(_sequential(windowed, 600))
    contended = CapacityBoard({"fal": ProviderLimit(max_concurrent=50)})
    per_task, peak = asyncio.run(_contended(contended, 2_000))
    results["contended_2000_tasks_cap_50_us"] = per_task
    results["contended_peak_in_flight"] = peak
    results["three_loops_three_threads_cap_50_us"] = _threads(1_000)
    print(json.dumps({key: round(value, 1) for key, value in results.items()}, indent=2))


if __name__ == "__main__":
    main()
