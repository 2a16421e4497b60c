"""Limits are account limits: each API key has its own counters, pauses and learning under
the router's configured limits, named by a one-way fingerprint, never the key."""

from __future__ import annotations

import logging

import anyio
import httpx
import pytest
import respx

from tarash.tarash_gateway.engine import _http
from tarash.tarash_gateway.engine._read_pauses import ReadPauses
from tarash.tarash_gateway.errors import RateLimitError
from tarash.tarash_gateway.models import VideoGenerationConfig, VideoGenerationRequest
from tarash.tarash_gateway.router import Router
from tarash.tarash_gateway.routing._attempt import account_of, build_client
from tarash.tarash_gateway.routing._limits import ProviderLimit, account_fingerprint
from tests._limit_rows import account_rows
from tests.unit.fake_provider import BASE

pytestmark = pytest.mark.anyio

KEY_A = "fake-key-of-account-a-canary"
KEY_B = "fake-key-of-account-b-canary"
REQUEST = VideoGenerationRequest(prompt="a cat", duration_seconds=4)


def config(key: str) -> VideoGenerationConfig:
    return VideoGenerationConfig(
        provider="fake", model="t2v", api_key=key, base_url=BASE, poll_interval=0.001
    )


def submits(mock: respx.MockRouter, key: str) -> respx.Route:
    """The create route of the account holding ``key``."""
    return mock.post(f"{BASE}/jobs", headers={"Authorization": f"Bearer {key}"})


def row_key(key: str) -> str:
    return f"fake@{account_fingerprint(key)}"


async def test_two_keys_on_one_provider_under_max_concurrent_1_run_at_once(
    respx_mock: respx.MockRouter,
) -> None:
    """max_concurrent=1 is per account: key B's job starts while key A's still runs."""
    a_running, b_done = anyio.Event(), anyio.Event()

    def poll_a(request: httpx.Request) -> httpx.Response:
        a_running.set()
        if b_done.is_set():
            return httpx.Response(200, json={"status": "done", "url": f"{BASE}/a.mp4"})
        return httpx.Response(200, json={"status": "running"})

    submits(respx_mock, KEY_A).respond(200, json={"id": "a", "status": "queued"})
    submits(respx_mock, KEY_B).respond(200, json={"id": "b", "status": "queued"})
    respx_mock.get(f"{BASE}/jobs/a").mock(side_effect=poll_a)
    respx_mock.get(f"{BASE}/jobs/b").respond(200, json={"status": "done", "url": f"{BASE}/b.mp4"})
    router = Router(limits={"fake": ProviderLimit(max_concurrent=1)})
    videos: list[str] = []

    async def run_a() -> None:
        videos.append(str((await router.generate_video_async(config(KEY_A), REQUEST)).video))

    with anyio.fail_after(10):  # shared counters would hold B behind A, and A behind B
        async with anyio.create_task_group() as group:
            group.start_soon(run_a)
            await a_running.wait()  # A holds its account's one slot
            response = await router.generate_video_async(config(KEY_B), REQUEST)
            limits = router.snapshot().limits
            assert limits[row_key(KEY_A)].in_flight == 1  # A still runs
            assert limits[row_key(KEY_B)].max_concurrent == 1
            meta = response.execution_metadata
            assert meta is not None and meta.attempts[0].capacity_wait_seconds < 1
            b_done.set()
    assert videos == [f"{BASE}/a.mp4"] and response.video == f"{BASE}/b.mp4"
    limits = router.snapshot().limits
    accounts = [account_fingerprint(KEY_A), account_fingerprint(KEY_B)]
    rows = [f"{key}@{fp}" for key in ("fake", "fake/t2v") for fp in accounts]
    assert sorted(limits) == sorted(rows)
    assert all(row.in_flight == 0 for row in limits.values())


async def test_a_429_retry_after_on_key_a_holds_as_creates_not_bs(
    respx_mock: respx.MockRouter,
) -> None:
    """Key A's create answered 429 Retry-After: 3600 pauses A's next create (sent nothing),
    while key B's create goes at once."""
    route_a = submits(respx_mock, KEY_A).respond(
        429, headers={"Retry-After": "3600"}, json={"message": "slow down"}
    )
    route_b = submits(respx_mock, KEY_B).respond(200, json={"id": "b", "status": "queued"})
    router = Router(limits={})
    with pytest.raises(RateLimitError) as first:
        await router.generate_video_async(config(KEY_A), REQUEST)
    assert first.value.status_code == 429
    handle = await router.submit_video_async(config(KEY_B), REQUEST)
    assert handle.request_id == "b" and route_b.call_count == 1
    with pytest.raises(RateLimitError) as held:
        await router.submit_video_async(config(KEY_A), REQUEST)
    assert route_a.call_count == 1  # A's second create was held here, not sent
    assert held.value.status_code is None and (held.value.retry_after or 0) > 3000
    limits = router.snapshot().limits
    assert limits[row_key(KEY_A)].paused_for_seconds > 3000
    assert limits[row_key(KEY_B)].paused_for_seconds == 0


async def test_an_account_is_named_by_its_fingerprint_and_no_output_holds_the_key(
    respx_mock: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    """The fingerprint never contains the key; the snapshot and every log record of a
    throttled account carry the fingerprint and never the key."""
    submits(respx_mock, KEY_A).respond(
        429, headers={"Retry-After": "3600"}, json={"message": "slow down"}
    )
    router = Router(limits={"fake": ProviderLimit(max_concurrent=2)})
    caplog.set_level(logging.DEBUG, logger="tarash")
    with pytest.raises(RateLimitError) as caught:
        await router.generate_video_async(config(KEY_A), REQUEST)
    fingerprint = account_fingerprint(KEY_A)
    assert KEY_A not in fingerprint and len(fingerprint) == 12
    dump = router.snapshot().model_dump_json()
    assert fingerprint in dump and KEY_A not in dump
    throttled = [r for r in caplog.records if r.name == "tarash.limits"]
    assert throttled and all(getattr(r, "account", None) == fingerprint for r in throttled)
    for record in caplog.records:
        assert KEY_A not in record.getMessage()
        assert KEY_A not in repr(vars(record))
    assert KEY_A not in str(caught.value) and KEY_A not in repr(caught.value)


async def test_a_key_spelt_with_surrounding_whitespace_is_the_same_account(
    respx_mock: respx.MockRouter,
) -> None:
    """`` key `` and ``key`` are one account: one row, one pause."""
    route = submits(respx_mock, KEY_A).respond(
        429, headers={"Retry-After": "3600"}, json={"message": "slow down"}
    )
    router = Router(limits={})
    with pytest.raises(RateLimitError):
        await router.generate_video_async(config(f"  {KEY_A}\n"), REQUEST)
    with pytest.raises(RateLimitError) as held:
        await router.submit_video_async(config(KEY_A), REQUEST)
    assert route.call_count == 1 and held.value.status_code is None
    assert [row.key for row in account_rows(router.snapshot().limits, "fake")] == [row_key(KEY_A)]


def test_a_vertex_project_is_one_account_whatever_its_access_token() -> None:
    """Vertex AI counts quota per project and region, and its tokens change hourly: two
    tokens of one project share an account; another project or region is another."""

    def vertex(token: str, project: str = "p1", location: str = "us-central1") -> str | None:
        settings = VideoGenerationConfig(
            provider="google",
            model="veo-3.1-generate-preview",
            api_key=token,
            provider_config={"vertexai": True, "project": project, "location": location},
        )
        return account_of(build_client(settings, deadline=None))

    first = vertex("token-one")
    assert first is not None and first == vertex("token-two")
    assert first != vertex("token-one", project="p2")
    assert first != vertex("token-one", location="europe-west4")
    assert "token-one" not in first


class Sleeps:
    """A clock that stands still but for the sleeps it is asked for, which it records."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


async def test_a_429_to_key_as_read_pauses_as_reads_not_bs(
    respx_mock: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The shared read pause is per account too: a poll of key A's job answered 429
    Retry-After: 30 holds A's next read 30 s, while key B's read goes at once."""
    sleeps = Sleeps()
    pauses = ReadPauses(clock=sleeps.clock, sleep=sleeps.sleep)
    monkeypatch.setattr(_http, "READ_PAUSES", pauses)
    respx_mock.get(f"{BASE}/jobs/a").mock(
        side_effect=[
            httpx.Response(429, headers={"Retry-After": "30"}, json={"message": "slow"}),
            httpx.Response(200, json={"status": "running"}),
            httpx.Response(200, json={"status": "running"}),
        ]
    )
    respx_mock.get(f"{BASE}/jobs/b").respond(200, json={"status": "running"})
    client_a = build_client(config(KEY_A), deadline=None)
    client_b = build_client(config(KEY_B), deadline=None)
    await client_a.poll(client_a.new_handle("video", "a"))  # its retry waits the 30 s
    assert sleeps.slept == [30.0]
    sleeps.now -= 30  # as if that retry had not waited: the pause holds 30 s more
    await client_b.poll(client_b.new_handle("video", "b"))
    assert sleeps.slept == [30.0]  # B's read was not held
    assert client_b.request_context.counters.read_pause_seconds == 0
    await client_a.poll(client_a.new_handle("video", "a"))
    assert sleeps.slept == [30.0, 30.0]  # A's next read was
    origin = f"{BASE}:443"
    assert pauses.remaining("fake", origin, account=account_fingerprint(KEY_B)) == 0
