"""The public helpers for users' tests: instant waits, and a reset of the shared state."""

from __future__ import annotations

from pathlib import Path

import anyio
import stamina

import tarash.tarash_gateway as package
from tarash.tarash_gateway import testing
from tarash.tarash_gateway.engine._read_pauses import READ_PAUSES
from tarash.tarash_gateway.router import default_router


def test_set_testing_skips_retry_and_read_pause_waits_and_turns_them_back_on() -> None:
    READ_PAUSES.pause("fal", "https://queue.fal.run:443", 3600)

    async def wait() -> float:
        return await READ_PAUSES.wait("fal", "https://queue.fal.run:443", deadline_in=None)

    testing.set_testing(True)
    assert stamina.is_testing()
    assert anyio.run(wait) == 0.0  # an hour's pause, not waited for nor counted

    testing.set_testing(False)
    assert not stamina.is_testing()
    assert not READ_PAUSES.skip_waits
    testing.set_testing(True)  # as the suite's fixture left it


def test_reset_clears_the_read_pauses_and_gives_a_fresh_default_router() -> None:
    READ_PAUSES.pause("replicate", "https://api.replicate.com:443", 60)
    before = default_router()

    testing.reset()

    assert READ_PAUSES.remaining("replicate", "https://api.replicate.com:443") == 0.0
    assert default_router() is not before


def test_no_production_module_reads_stamina_testing_flag() -> None:
    """Only the public testing helper sets it; nothing in the package decides by it."""
    root = Path(package.__file__).parent
    readers = [
        path.relative_to(root).as_posix()
        for path in root.rglob("*.py")
        if "is_testing" in path.read_text(encoding="utf-8")
    ]
    assert readers == []
