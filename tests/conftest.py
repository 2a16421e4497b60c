"""Shared fixtures: hermetic settings for every test."""

from __future__ import annotations

import signal
from collections.abc import Iterator

import pytest
import stamina

from tarash.tarash_gateway.router import configure
from tarash.tarash_gateway.routing._watch import JOB_WATCHER


@pytest.fixture(autouse=True, scope="session")
def _ctrl_c_reaches_the_suite() -> Iterator[None]:
    """Ctrl-C reaches the suite and the processes it starts, however it was started.

    A shell without job control starts a background command (``pytest ... &``, a CI step
    sent to the background) with SIGINT ignored; Python then installs no KeyboardInterrupt
    handler, and every child a test starts inherits the ignore. The tests that send SIGINT
    (to a sync call, a batch, the ``tarash`` command, the emulator) then saw nothing happen:
    the call ran to its end, the command exited 0 instead of 130, the emulator never
    stopped. Python's own handler is put back for the session (a child then starts with
    the default action, as from a terminal) and the ignore restored after.
    """
    if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:
        yield
        return
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)


@pytest.fixture(autouse=True)
def _no_retry_sleeps() -> Iterator[None]:
    """Retries happen, but without waiting, so no test sleeps for real."""
    stamina.set_testing(True, attempts=10, cap=True)
    yield
    stamina.set_testing(False)


@pytest.fixture(autouse=True)
def _fresh_default_router() -> Iterator[None]:
    """Each test runs on a default router of its own, with the package's defaults: a pause
    one test's 429 taught the limiter (a Retry-After of an hour, say) never holds another."""
    configure()
    yield
    configure()


@pytest.fixture(autouse=True)
def _no_job_watched_past_its_test() -> Iterator[None]:
    """A job one test gave up on without stopping it is not polled during the next
    (against a mock router or an emulator that is gone): its watch ends with the test."""
    yield
    JOB_WATCHER.stop()


@pytest.fixture(autouse=True)
def _no_provider_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """Real keys in the developer's environment never leak into a test."""
    for name in (
        "FAL_KEY",
        "FAL_KEY_ID",
        "FAL_KEY_SECRET",
        "REPLICATE_API_TOKEN",
        "OPENAI_API_KEY",
        "AZURE_OPENAI_API_KEY",
        "RUNWAYML_API_SECRET",
        "GEMINI_API_KEY",
        "GOOGLE_API_KEY",
        "STABILITY_API_KEY",
        "TARASH_EMULATOR_URL",
    ):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def anyio_backend() -> str:
    """Async tests run on asyncio unless they ask for trio."""
    return "asyncio"
