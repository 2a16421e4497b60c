"""The shared read pause at its bounds: a pause longer than the job's deadline or cut
by the caller's trio scope ends the wait there, cancels the job remotely (the cancel never
waits) and still says how long it held the read; a Retry-After past
``MAX_RETRY_AFTER_DELAY`` sets no pause; one pause holds reads on every loop and thread.

Trio's ``MockClock`` runs the pause on virtual time (no real sleeps): the pause is given
the loop's clock and ``anyio.sleep``, so a 50 s pause passes at once and exactly.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import anyio
import httpx
import pytest
import respx
import trio
import trio.testing
from pydantic import SecretStr

from tarash.tarash_gateway.engine import _http
from tarash.tarash_gateway.engine._polling import PollSchedule
from tarash.tarash_gateway.engine._read_pauses import ReadPauses
from tarash.tarash_gateway.errors import RateLimitError, TimeoutError
from tarash.tarash_gateway.providers._base import ProviderSettings
from tarash.tarash_gateway.providers.replicate import ReplicateClient
from tarash.tarash_gateway.routing._jobs import JobWaiter

BASE = "https://api.replicate.test"
ORIGIN = "https://api.replicate.test:443"
POLL = f"{BASE}/v1/predictions/p1"
CANCEL = f"{BASE}/v1/predictions/p1/cancel"


def prediction(pid: str = "p1", status: str = "processing") -> dict[str, Any]:
    return {
        "id": pid,
        "model": "google/veo-3",
        "status": status,
        "input": {"prompt": "p"},
        "logs": "",
        "created_at": "2026-11-30T12:00:00.000Z",
        "urls": {
            "get": f"{BASE}/v1/predictions/{pid}",
            "cancel": f"{BASE}/v1/predictions/{pid}/cancel",
        },
    }


def replicate() -> ReplicateClient:
    return ReplicateClient(
        ProviderSettings(
            model="google/veo-3", base_url=BASE, api_key=SecretStr("r8_canary-0123456789")
        )
    )


@pytest.fixture
def anyio_backend() -> tuple[str, dict[str, object]]:
    return ("trio", {"clock": trio.testing.MockClock(autojump_threshold=0)})


@pytest.fixture
def virtual_pauses(monkeypatch: pytest.MonkeyPatch) -> ReadPauses:
    """The shared pause on the test loop's (virtual) clock, really sleeping on it."""
    pauses = ReadPauses(clock=anyio.current_time, sleep=anyio.sleep)
    monkeypatch.setattr(_http, "READ_PAUSES", pauses)
    return pauses


def with_deadline(client: ReplicateClient, seconds: float) -> float:
    deadline = anyio.current_time() + seconds
    client.request_context.deadline = deadline
    return deadline


@pytest.mark.anyio
async def test_a_pause_past_the_deadline_ends_the_wait_there_and_cancels_the_job(
    respx_mock: respx.MockRouter, virtual_pauses: ReadPauses
) -> None:
    polls = respx_mock.get(POLL).respond(200, json=prediction())
    cancels = respx_mock.post(CANCEL).respond(200, json=prediction(status="canceled"))
    client = replicate()
    virtual_pauses.pause("replicate", ORIGIN, 50)  # another caller's 429
    started = anyio.current_time()
    deadline = with_deadline(client, 5)
    waiter = JobWaiter(client, client.new_handle("video", "p1"), PollSchedule())

    with pytest.raises(TimeoutError):
        await waiter.run(None, deadline)

    assert anyio.current_time() - started == pytest.approx(5)  # not the pause's 50 s
    # No poll waited out the pause; the give-up's one look (is it finished?) and the
    # cancel did not wait for it either.
    assert (polls.call_count, cancels.call_count) == (1, 1)
    assert client.request_context.counters.read_pause_seconds == pytest.approx(5)


@pytest.mark.anyio
async def test_a_callers_trio_scope_cutting_a_paused_read_cancels_the_job(
    respx_mock: respx.MockRouter, virtual_pauses: ReadPauses
) -> None:
    polls = respx_mock.get(POLL).respond(200, json=prediction())
    cancels = respx_mock.post(CANCEL).respond(200, json=prediction(status="canceled"))
    client = replicate()
    virtual_pauses.pause("replicate", ORIGIN, 50)
    waiter = JobWaiter(client, client.new_handle("video", "p1"), PollSchedule())

    with trio.move_on_after(3) as scope:
        await waiter.run(None, None)

    assert scope.cancelled_caught
    # The give-up's look did not wait out the 47 s left of the pause (that would have
    # used up the cancel's grace and left the job running): it read, then cancelled.
    assert (polls.call_count, cancels.call_count) == (1, 1)
    assert client.request_context.counters.read_pause_seconds == pytest.approx(3)
    assert virtual_pauses.remaining("replicate", ORIGIN) == pytest.approx(47)


@pytest.mark.anyio
async def test_a_429_whose_wait_the_deadline_cuts_is_not_retried_and_sets_no_pause(
    respx_mock: respx.MockRouter, virtual_pauses: ReadPauses
) -> None:
    respx_mock.get(POLL).respond(429, json={"detail": "throttled"}, headers={"retry-after": "9"})
    client = replicate()
    with_deadline(client, 5)
    with pytest.raises(RateLimitError):
        await client.poll(client.new_handle("video", "p1"))
    assert virtual_pauses.remaining("replicate", ORIGIN) == 0.0


@pytest.mark.parametrize(
    ("retry_after", "paused"), [(_http.MAX_RETRY_AFTER_DELAY, 60.0), (3600, 0.0)]
)
@pytest.mark.anyio
async def test_no_pause_holds_reads_longer_than_the_longest_retry_after_honoured(
    respx_mock: respx.MockRouter, virtual_pauses: ReadPauses, retry_after: float, paused: float
) -> None:
    """A Retry-After past ``MAX_RETRY_AFTER_DELAY`` is not waited for (the poll fails as
    a rate limit, for the waiter to absorb), so it holds back no other read either."""
    respx_mock.get(POLL).mock(
        side_effect=[
            httpx.Response(
                429, json={"detail": "throttled"}, headers={"retry-after": str(int(retry_after))}
            ),
            httpx.Response(200, json=prediction()),
        ]
    )
    client = replicate()
    observed: list[float] = []

    async def poll() -> None:
        await client.poll(client.new_handle("video", "p1"))

    if paused:
        async with anyio.create_task_group() as tg:
            tg.start_soon(poll)
            await anyio.sleep(1)  # the poll is waiting out the pause its 429 set
            observed.append(virtual_pauses.remaining("replicate", ORIGIN))
        assert observed == [pytest.approx(paused - 1)]
    else:
        with pytest.raises(RateLimitError):
            await poll()
        assert virtual_pauses.remaining("replicate", ORIGIN) == 0.0


class RecordedSleeps:
    """A sleep that only notes what it was asked, from whichever thread or loop."""

    def __init__(self) -> None:
        self.seconds: list[float] = []
        self.now = 500.0
        self._lock = threading.Lock()

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        with self._lock:
            self.seconds.append(seconds)


def test_one_pause_holds_reads_on_every_loop_and_thread(
    respx_mock: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 429 read on a thread's asyncio loop holds back reads on another thread's trio
    loop and on the caller's own asyncio loop: the pause is the process's, not a loop's."""
    sleeps = RecordedSleeps()
    pauses = ReadPauses(clock=sleeps.clock, sleep=sleeps.sleep)
    monkeypatch.setattr(_http, "READ_PAUSES", pauses)
    respx_mock.get(POLL).mock(
        side_effect=[
            httpx.Response(429, json={"detail": "throttled"}, headers={"retry-after": "8"}),
            httpx.Response(200, json=prediction()),
            httpx.Response(200, json=prediction()),
            httpx.Response(200, json=prediction()),
        ]
    )
    failures: list[BaseException] = []

    def poll_on(backend: str) -> None:
        async def poll() -> None:
            client = replicate()
            await client.poll(client.new_handle("video", "p1"))

        try:
            anyio.run(poll, backend=backend)
        except BaseException as exc:  # reported below, on the test's thread
            failures.append(exc)

    def in_a_thread(backend: str) -> None:
        thread = threading.Thread(target=poll_on, args=(backend,))
        thread.start()
        thread.join(timeout=30)

    in_a_thread("asyncio")  # the 429, then its retry after the pause it set
    sleeps.now += 3
    in_a_thread("trio")
    sleeps.now += 1
    asyncio.run(replicate().poll(replicate().new_handle("video", "p1")))

    assert failures == []
    assert sleeps.seconds == [8, 5, 4]
