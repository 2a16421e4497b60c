"""A 429 to one read holds back every read of that provider: the shared pause's state
machine on an injected clock, and the wire through the Replicate client (respx)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import respx
from pydantic import SecretStr

from tarash.tarash_gateway.engine import _http
from tarash.tarash_gateway.engine._read_pauses import ReadPauses
from tarash.tarash_gateway.models import VideoGenerationRequest
from tarash.tarash_gateway.providers._base import ProviderSettings
from tarash.tarash_gateway.providers.replicate import ReplicateClient

BASE = "https://api.replicate.test"
OTHER = "https://replicate.proxy.test"
ORIGIN = "https://api.replicate.test:443"


class FakeTime:
    """A clock that only the test moves, and a record of the sleeps asked of it."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)


@pytest.fixture
def time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def pauses(time: FakeTime, monkeypatch: pytest.MonkeyPatch) -> ReadPauses:
    shared = ReadPauses(clock=time.clock, sleep=time.sleep)
    monkeypatch.setattr(_http, "READ_PAUSES", shared)
    return shared


def test_a_pause_holds_until_it_ends_and_a_longer_one_is_kept(time: FakeTime) -> None:
    pauses = ReadPauses(clock=time.clock, sleep=time.sleep)
    assert pauses.remaining("replicate", ORIGIN) == 0.0
    pauses.pause("replicate", ORIGIN, 10)
    pauses.pause("replicate", ORIGIN, 3)  # a shorter pause never cuts a longer one short
    assert pauses.remaining("replicate", ORIGIN) == 10
    time.now += 4
    assert pauses.remaining("replicate", ORIGIN) == 6
    time.now += 6
    assert pauses.remaining("replicate", ORIGIN) == 0.0
    pauses.pause("replicate", ORIGIN, 0)  # nothing to hold back
    assert pauses.remaining("replicate", ORIGIN) == 0.0


def test_pauses_are_per_provider_and_origin(time: FakeTime) -> None:
    pauses = ReadPauses(clock=time.clock, sleep=time.sleep)
    pauses.pause("replicate", ORIGIN, 5)
    assert pauses.remaining("fal", ORIGIN) == 0.0
    assert pauses.remaining("replicate", "https://replicate.proxy.test:443") == 0.0


@pytest.mark.anyio
async def test_a_wait_ends_at_the_callers_deadline(time: FakeTime) -> None:
    pauses = ReadPauses(clock=time.clock, sleep=time.sleep)
    pauses.pause("replicate", ORIGIN, 30)
    assert await pauses.wait("replicate", ORIGIN, deadline_in=4) == 4
    assert await pauses.wait("replicate", ORIGIN, deadline_in=-1) == 0.0
    time.now += 4
    assert await pauses.wait("replicate", ORIGIN, deadline_in=None) == 26
    assert time.sleeps == [4, 26]
    time.now += 26
    assert await pauses.wait("replicate", ORIGIN, deadline_in=None) == 0.0


def replicate(base_url: str = BASE) -> ReplicateClient:
    return ReplicateClient(
        ProviderSettings(
            model="google/veo-3", base_url=base_url, api_key=SecretStr("r8_canary-0123456789")
        )
    )


def prediction(pid: str, base_url: str = BASE) -> dict[str, Any]:
    return {
        "id": pid,
        "model": "google/veo-3",
        "status": "processing",
        "input": {"prompt": "p"},
        "logs": "",
        "created_at": "2026-11-30T12:00:00.000Z",
        "urls": {
            "get": f"{base_url}/v1/predictions/{pid}",
            "cancel": f"{base_url}/v1/predictions/{pid}/cancel",
        },
    }


THROTTLED = httpx.Response(
    429, json={"detail": "Request was throttled.", "status": 429}, headers={"retry-after": "7"}
)


@pytest.mark.anyio
async def test_one_polls_429_holds_back_the_other_polls_of_the_provider(
    respx_mock: respx.MockRouter, time: FakeTime, pauses: ReadPauses
) -> None:
    """The poll that got the 429 retries after its Retry-After (stamina's testing mode
    adds no wait of its own, so the pause is the one wait); a later poll of another job of
    the same provider waits out what is left of it first, and its attempt's counters say
    how long. A poll of the same provider at another origin, and a cancel, do not wait."""
    respx_mock.get(f"{BASE}/v1/predictions/p1").mock(
        side_effect=[THROTTLED, httpx.Response(200, json=prediction("p1"))]
    )
    respx_mock.get(f"{BASE}/v1/predictions/p2").respond(200, json=prediction("p2"))
    respx_mock.post(f"{BASE}/v1/predictions/p2/cancel").respond(200, json=prediction("p2"))
    respx_mock.get(f"{OTHER}/v1/predictions/p3").respond(200, json=prediction("p3", OTHER))
    first, second, elsewhere = replicate(), replicate(), replicate(OTHER)

    await first.poll(first.new_handle("video", "p1"))
    assert time.sleeps == [7]
    assert pauses.remaining("replicate", ORIGIN) == 7

    time.now += 2
    await elsewhere.poll(elsewhere.new_handle("video", "p3"))
    await second.cancel(second.new_handle("video", "p2"))
    assert time.sleeps == [7]
    await second.poll(second.new_handle("video", "p2"))
    assert time.sleeps == [7, 5]
    assert second.request_context.counters.read_pause_seconds == 5
    assert first.request_context.counters.retries == 1


@pytest.mark.anyio
async def test_a_submits_429_sets_no_read_pause(
    respx_mock: respx.MockRouter, time: FakeTime, pauses: ReadPauses
) -> None:
    """Creates are learnt by the router's limiter, not here: a throttled create leaves
    polls alone."""
    respx_mock.post(f"{BASE}/v1/models/google/veo-3/predictions").mock(
        side_effect=[THROTTLED, httpx.Response(201, json=prediction("p1"))]
    )
    client = replicate()
    job = client.prepare_video(VideoGenerationRequest(prompt="p", duration_seconds=8))
    await client.submit(job, time_left=None)
    assert pauses.remaining("replicate", ORIGIN) == 0.0
