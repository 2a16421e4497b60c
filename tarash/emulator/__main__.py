"""``python -m tarash.emulator`` (or ``tarash-emulator``): run the emulator in the foreground."""

from __future__ import annotations

import argparse
import contextlib
import threading
from collections.abc import Callable, Iterable, Sequence

from tarash.emulator._app import PROVIDERS
from tarash.emulator._jobs import Latency
from tarash.emulator._server import Emulator


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
    parser.add_argument("--tls", action="store_true", help="serve HTTPS with a generated CA")
    args = parser.parse_args(argv)
    latency = Latency(args.queue_seconds, args.run_seconds, args.jitter_seconds)
    serve(Emulator(args.host, args.port, latency=latency, tls=args.tls))


def serve(
    emulator: Emulator, *, describe: Callable[[Emulator], Iterable[str]] | None = None
) -> None:
    """Start ``emulator``, print each provider's base URL and key, serve until Ctrl+C.

    Shared by ``tarash-emulator`` and ``tarash emulator``.

    Args:
        emulator: A stopped emulator, configured as wanted.
        describe: More lines to print once it serves (``tarash emulator``'s how-to).
    """
    with emulator as emu:
        print(f"tarash emulator serving on {emu.url} ({emu.latency})", flush=True)
        if emu.tls:
            print(f"  CA bundle: {emu.ca_path}  (export SSL_CERT_FILE={emu.ca_path})", flush=True)
        for name in PROVIDERS:
            line = f"  {name:<10} base_url={emu.base_url(name)}  key={emu.api_key(name)}"
            print(line, flush=True)
        for line in describe(emu) if describe is not None else ():
            print(line, flush=True)
        print("Ctrl+C to stop.", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()


if __name__ == "__main__":
    main()
