"""SIGTERM under the ``tarash`` command: the same path as Ctrl-C, then exit 143.

``docker stop``, systemd and ``timeout`` send SIGTERM, whose default action ends the
process on the spot: the jobs in flight would keep running (and billing) at the provider,
their ids never printed, a batch's ledger left mid-write. Under the command SIGTERM
raises KeyboardInterrupt instead, so every command's Ctrl-C path runs (the remote jobs
cancelled, the job id printed, the ledger left resumable), and :func:`main` then exits
with 143 (128 + SIGTERM, as shells report it) rather than Ctrl-C's 130.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from dataclasses import dataclass

__all__ = ["EXIT_TERMINATED", "Termination", "sigterm_as_interrupt"]

EXIT_TERMINATED = 128 + signal.SIGTERM
"""Exit code after SIGTERM (143, as shells report a process ended by it)."""


@dataclass
class Termination:
    """Whether SIGTERM arrived while :func:`sigterm_as_interrupt` was in force."""

    received: bool = False


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[Termination]:
    """Make SIGTERM raise KeyboardInterrupt in the main thread while the body runs.

    Installed only over SIGTERM's default action: an ignored SIGTERM (``nohup``-style
    launchers) stays ignored. The previous action is restored when the body ends.

    Yields:
        A :class:`Termination` that says whether the signal arrived.
    """
    termination = Termination()
    if threading.current_thread() is not threading.main_thread():
        yield termination
        return
    previous = signal.getsignal(signal.SIGTERM)
    if previous is not signal.SIG_DFL:
        yield termination
        return

    def interrupt(signum: int, frame: object) -> None:
        del signum, frame
        termination.received = True
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)
    try:
        yield termination
    finally:
        signal.signal(signal.SIGTERM, previous)
