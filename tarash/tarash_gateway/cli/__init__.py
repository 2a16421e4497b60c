"""The ``tarash`` command: generate, batch, inspect providers, run the emulator, hold jobs.

It needs the ``cli`` extra (typer and rich): ``pip install "tarash-gateway[cli]"``.
Importing this package does not import them; :func:`main` does, and says how to install
them when they are missing.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

__all__ = ["INSTALL_HINT", "main"]

INSTALL_HINT = 'the tarash command needs the cli extra: pip install "tarash-gateway[cli]"'
"""What ``tarash`` prints when typer or rich is not installed."""


def main(argv: Sequence[str] | None = None) -> None:
    """Run the ``tarash`` command line.

    Args:
        argv: Arguments without the program name (defaults to ``sys.argv[1:]``).

    Raises:
        SystemExit: Always, with the command's exit code (see ``docs/cli.md``).
    """
    try:
        # Imported here: the command's modules need typer and rich (the cli extra); without
        # them `tarash` prints how to install it instead of a traceback.
        from tarash.tarash_gateway.cli._app import build_app
        from tarash.tarash_gateway.cli._output import install_diagnostics
        from tarash.tarash_gateway.cli._signals import EXIT_TERMINATED, sigterm_as_interrupt
    except ModuleNotFoundError as exc:
        if (exc.name or "").partition(".")[0] not in ("typer", "rich", "click"):
            raise
        print(f"error: {INSTALL_HINT}", file=sys.stderr)
        raise SystemExit(1) from None
    install_diagnostics()
    app = build_app()
    with sigterm_as_interrupt() as termination:
        try:
            app(args=list(argv) if argv is not None else None, prog_name="tarash")
        except SystemExit:
            # The command took its Ctrl-C path (jobs cancelled, ledger resumable); the
            # exit status still says SIGTERM ended it, as a supervisor expects.
            if termination.received:
                raise SystemExit(EXIT_TERMINATED) from None
            raise
