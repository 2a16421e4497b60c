"""Shared fixtures: hermetic settings for every test."""

from __future__ import annotations

import signal
from collections.abc import Iterator

import pytest

from tarash.tarash_gateway import testing


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
def _tarash_for_tests() -> Iterator[None]:
    """Through the public helpers a user's own tests use: retries and read pauses happen
    without waiting, so no test sleeps for real; and each test starts from tarash's shared
    state afresh: a default router of its own (a pause one test's 429 taught the limiter,
    a Retry-After of an hour, say, never holds another), no read pause, and no job watched
    past its test (polled against a mock router or an emulator that is gone)."""
    testing.reset()
    testing.set_testing(True)
    yield
    testing.set_testing(False)
    testing.reset()


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
        "XAI_API_KEY",
        "TARASH_EMULATOR_URL",
    ):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def anyio_backend() -> str:
    """Async tests run on asyncio unless they ask for trio."""
    return "asyncio"
