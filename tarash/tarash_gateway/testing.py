"""Helpers for your own tests of code that calls tarash.

tarash keeps some state across calls in one process, on purpose: the default router's
limits and what it learnt (a 429's pause on creates or on reads, a lowered cap), the read
pauses of clients used outside any router, and the jobs it follows in the background to
hold their slots. Between tests that state should not carry over, and a test should not
wait out a retry's backoff or a ``Retry-After`` for real::

    import pytest
    from tarash.tarash_gateway import testing

    @pytest.fixture(autouse=True)
    def _tarash_for_tests():
        testing.set_testing(True)
        yield
        testing.set_testing(False)
        testing.reset()
"""

from __future__ import annotations

import stamina

from tarash.tarash_gateway.engine._read_pauses import READ_PAUSES, skip_read_pause_waits
from tarash.tarash_gateway.router import configure
from tarash.tarash_gateway.routing._watch import JOB_WATCHER

__all__ = ["reset", "set_testing"]


def set_testing(testing: bool = True, *, attempts: int = 10) -> None:
    """Make tarash's waits instant (for tests), or real again.

    With ``testing=True`` a retried HTTP call does not wait its backoff or ``Retry-After``
    (stamina's testing mode, at most ``attempts`` tries), and a read held back by another
    call's 429 pause does not wait either, nor counts the pause as waited (on every
    router, yours included). Polling and
    deadlines are unchanged: point tests at the emulator with a short latency for those.

    Args:
        testing: Whether waits are skipped.
        attempts: The most tries of one call while testing (stamina's ``attempts``).
    """
    if testing:
        stamina.set_testing(True, attempts=attempts, cap=True)
    else:
        stamina.set_testing(False)
    skip_read_pause_waits(testing)


def reset() -> None:
    """Forget what tarash holds across calls in this process.

    The read pauses of clients outside any router are cleared, the jobs followed in the
    background for their slots are let go (their slots released; nothing is waited for),
    and the module functions get a fresh default router with the package's defaults
    (:func:`~tarash.tarash_gateway.router.configure`), whose state (limits, pauses,
    breakers, spend) starts empty. Calls still running finish on the router they started
    on; a :class:`~tarash.tarash_gateway.router.Router` of your own keeps its state
    (build a new one per test).
    """
    READ_PAUSES.clear()
    JOB_WATCHER.stop()
    configure()
