"""``python -m tarash.emulator`` (or ``tarash-emulator``): run the emulator in the foreground."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import math
import threading
from collections.abc import Callable, Iterable, Sequence

from tarash.emulator._app import PROVIDERS
from tarash.emulator._jobs import Latency
from tarash.emulator._server import Emulator

__all__ = ["add_tail_arguments", "main", "serve", "with_tail"]


def with_tail(
    latency: Latency | None,
    *,
    tail_fraction: float | None = None,
    tail_seconds: float | None = None,
    seed: int | None = None,
) -> Latency | None:
    """``latency`` (the default one when ``None``) with the heavy-tail options set.

    The ``--tail-fraction``, ``--tail-seconds`` and ``--seed`` of ``tarash-emulator`` and
    ``tarash emulator``, checked here for both; with none of them given, ``latency`` is
    returned as it is.

    Args:
        latency: The latency the other options built, or ``None`` for the default.
        tail_fraction: Share of the jobs (0 to 1) that run ``tail_seconds``.
        tail_seconds: How long a slow job runs (seconds).
        seed: Seed of the per-provider draws, for a reproducible tail.

    Returns:
        The latency to serve with (``None``: the emulator's default).

    Raises:
        ValueError: A value is out of range, or ``tail_fraction`` and ``tail_seconds``
            are not given together; the message names the option.
    """
    if tail_fraction is None and tail_seconds is None and seed is None:
        return latency
    if tail_fraction is not None and (
        not math.isfinite(tail_fraction) or not 0 <= tail_fraction <= 1
    ):
        raise ValueError(f"--tail-fraction must be between 0 and 1, got {tail_fraction!r}")
    if tail_seconds is not None and (not math.isfinite(tail_seconds) or tail_seconds < 0):
        raise ValueError(f"--tail-seconds must be a finite number >= 0, got {tail_seconds!r}")
    # Either alone would be silently ignored (no slow jobs) or refused by Latency with a
    # message naming its attribute, not the option.
    if (tail_fraction is None) != (tail_seconds is None):
        raise ValueError("--tail-fraction and --tail-seconds go together: give both")
    base = latency if latency is not None else Latency()
    return dataclasses.replace(
        base,
        tail_fraction=base.tail_fraction if tail_fraction is None else tail_fraction,
        tail_run_seconds=base.tail_run_seconds if tail_seconds is None else tail_seconds,
        seed=base.seed if seed is None else seed,
    )


def add_tail_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--tail-fraction``, ``--tail-seconds`` and ``--seed`` (see :func:`with_tail`)."""
    parser.add_argument(
        "--tail-fraction",
        type=float,
        default=None,
        help="share of the jobs (0 to 1) that run --tail-seconds instead (a heavy tail)",
    )
    parser.add_argument("--tail-seconds", type=float, default=None, help="how long a slow job runs")
    parser.add_argument(
        "--seed", type=int, default=None, help="seed the draws: the same jobs are slow each run"
    )


def main(argv: Sequence[str] | None = None) -> None:
    """Start the emulator, print each provider's base URL and key, serve until Ctrl+C.

    Args:
        argv: Command-line arguments (defaults to ``sys.argv[1:]``).
    """
    parser = argparse.ArgumentParser(prog="tarash-emulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind")
    parser.add_argument("--port", type=int, default=8787, help="port (0 picks a free one)")
    parser.add_argument("--queue-seconds", type=float, default=Latency.queue_seconds)
    parser.add_argument("--run-seconds", type=float, default=Latency.run_seconds)
    parser.add_argument("--jitter-seconds", type=float, default=Latency.jitter_seconds)
    add_tail_arguments(parser)
    parser.add_argument("--tls", action="store_true", help="serve HTTPS with a generated CA")
    parser.add_argument(
        "--any-key",
        action="store_true",
        help="accept any non-empty API key (by default only the printed keys)",
    )
    args = parser.parse_args(argv)
    try:
        latency = with_tail(
            Latency(args.queue_seconds, args.run_seconds, args.jitter_seconds),
            tail_fraction=args.tail_fraction,
            tail_seconds=args.tail_seconds,
            seed=args.seed,
        )
    except ValueError as exc:
        parser.error(str(exc))
    serve(Emulator(args.host, args.port, latency=latency, tls=args.tls, any_key=args.any_key))


def serve(
    emulator: Emulator, *, describe: Callable[[Emulator], Iterable[str]] | None = None
) -> None:
    """Start ``emulator``, print each provider's base URL and key, serve until Ctrl+C.

    Shared by ``tarash-emulator`` and ``tarash emulator``.

    Args:
        emulator: A stopped emulator, configured as wanted.
        describe: More lines to print once it serves (``tarash emulator``'s how-to).
    """
    # Ctrl+C is a clean stop from the start: one that lands between a print and the wait
    # (a script that signals as soon as it reads "Ctrl+C to stop.") is no traceback.
    with contextlib.suppress(KeyboardInterrupt), emulator as emu:
        print(f"tarash emulator serving on {emu.url} ({emu.latency})", flush=True)
        if emu.tls:
            print(f"  CA bundle: {emu.ca_path}  (export SSL_CERT_FILE={emu.ca_path})", flush=True)
        for name in PROVIDERS:
            line = f"  {name:<10} base_url={emu.base_url(name)}  key={emu.api_key(name)}"
            print(line, flush=True)
        for line in describe(emu) if describe is not None else ():
            print(line, flush=True)
        print("Ctrl+C to stop.", flush=True)
        threading.Event().wait()


if __name__ == "__main__":
    main()
