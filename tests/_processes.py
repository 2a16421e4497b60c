"""Child processes a test starts: none outlives its test."""

from __future__ import annotations

import subprocess


def communicate_or_kill(proc: subprocess.Popen[str], timeout: float) -> tuple[str, str]:
    """``proc.communicate(timeout)``; past the timeout, kill and reap the child, then raise.

    A child left running past its test's failure (one that ignored the signal it was sent,
    say) went on loading the machine and touching the module's emulator, and its ``Popen``,
    collected during some later test, failed that test with a ResourceWarning ("subprocess
    is still running"): one failure became several, in unrelated places.
    """
    try:
        return proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise
