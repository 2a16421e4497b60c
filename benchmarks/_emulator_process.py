"""Run the emulator in its own process, so its CPU is not counted as the client's.

Prints ``READY <port>`` once serving; stops when its standard input closes. It takes
:data:`BENCH_KEY` as every provider's key (an emulator takes only the keys it is given).
"""

from __future__ import annotations

import sys

from tarash.emulator import Emulator, Latency

BENCH_KEY = "bench:fake-key"
"""The key the benchmarks send, and the only one this emulator takes."""


def main() -> None:
    """Serve with the queue and run seconds given as the first two arguments."""
    queue_seconds, run_seconds = float(sys.argv[1]), float(sys.argv[2])
    latency = Latency(queue_seconds=queue_seconds, run_seconds=run_seconds)
    keys = {"fal": BENCH_KEY, "replicate": BENCH_KEY}
    with Emulator(latency=latency, required_keys=keys) as emu:
        port = emu.base_url("fal").split(":")[2].split("/")[0]
        print(f"READY {port}", flush=True)
        sys.stdin.read()


if __name__ == "__main__":
    main()
