"""Each router owns its shared state: two routers do not share read pauses or limits, and
a batch, a status read or a wait given a router runs on that router's."""

from __future__ import annotations

import httpx
import pytest
import respx

from tarash.tarash_gateway import (
    BreakerPolicy,
    ProviderLimit,
    Router,
    SpendCapExceededError,
    ValidationError,
    generate_tts_async,
    generate_videos_async,
    status_async,
    wait_async,
)
from tarash.tarash_gateway.engine._read_pauses import READ_PAUSES
from tarash.tarash_gateway.models import (
    AudioGenerationConfig,
    MockConfig,
    TTSRequest,
    VideoGenerationConfig,
    VideoGenerationRequest,
)
from tarash.tarash_gateway.router import default_router
from tarash.tarash_gateway.routing._limits import account_fingerprint
from tarash.tarash_gateway.routing._prices import Price
from tarash.tarash_gateway.routing._state import SpendFigures
from tests._limit_rows import account_row, account_rows
from tests.unit.fake_provider import BASE, FAKE_KEY

pytestmark = pytest.mark.anyio

CONFIG = VideoGenerationConfig(
    provider="fake", model="t2v", api_key=FAKE_KEY, base_url=BASE, poll_interval=0.001
)
ORIGIN = f"{BASE}:443"
ACCOUNT = account_fingerprint(FAKE_KEY)


def request(prompt: str) -> VideoGenerationRequest:
    return VideoGenerationRequest(prompt=prompt, duration_seconds=4)


class Jobs:
    """The toy provider's jobs j0, j1, ...: each done at its second poll (``first_poll``
    answers the very first poll of all, when given); counts the jobs running at once."""

    def __init__(self, mock: respx.MockRouter, *, first_poll: httpx.Response | None = None):
        self.created = 0
        self.polls: dict[str, int] = {}
        self.running: set[str] = set()
        self.most_at_once = 0
        self.replies = [first_poll] if first_poll is not None else []
        mock.post(f"{BASE}/jobs").mock(side_effect=self.submit)
        mock.get(url__regex=rf"{BASE}/jobs/j\d+$").mock(side_effect=self.status)

    def submit(self, _: httpx.Request) -> httpx.Response:
        job_id = f"j{self.created}"
        self.created += 1
        self.running.add(job_id)
        self.most_at_once = max(self.most_at_once, len(self.running))
        return httpx.Response(200, json={"id": job_id})

    def status(self, http: httpx.Request) -> httpx.Response:
        if self.replies:
            return self.replies.pop(0)
        job_id = http.url.path.rsplit("/", 1)[-1]
        self.polls[job_id] = self.polls.get(job_id, 0) + 1
        if self.polls[job_id] < 2:
            return httpx.Response(200, json={"status": "running"})
        self.running.discard(job_id)
        return httpx.Response(200, json={"status": "done", "url": "https://cdn.test/v.mp4"})


async def test_a_429_to_a_read_pauses_that_routers_reads_only(
    respx_mock: respx.MockRouter,
) -> None:
    """A status read on router A answered 429 (Retry-After: 30) holds A's reads of the
    account back; router B's and the process's are not held."""
    Jobs(
        respx_mock,
        first_poll=httpx.Response(429, headers={"Retry-After": "30"}, json={"message": "slow"}),
    )
    a, b = Router(), Router()
    handle = await a.submit_video_async(CONFIG, request("a cat"))

    update = await status_async(handle, config=CONFIG, router=a)

    assert update.status == "processing"
    assert 0 < a.read_pauses.remaining("fake", ORIGIN, account=ACCOUNT) <= 30
    assert b.read_pauses.remaining("fake", ORIGIN, account=ACCOUNT) == 0
    assert READ_PAUSES.remaining("fake", ORIGIN, account=ACCOUNT) == 0
    assert default_router().read_pauses.remaining("fake", ORIGIN, account=ACCOUNT) == 0


async def test_two_routers_do_not_share_limits_or_create_pauses() -> None:
    """Router A's one slot held and its creates paused (in A's state) leave router B's free
    to go."""
    limits = {"fake": ProviderLimit(max_concurrent=1)}
    a, b = Router(limits=limits), Router(limits=limits)
    held = await a.board.acquire("fake", "t2v", account=ACCOUNT)
    a.board.pause_creates("fake", "t2v", 60, account=ACCOUNT)

    free = await b.board.acquire("fake", "t2v", account=ACCOUNT)

    assert free.waited_seconds == 0.0
    assert account_row(a.snapshot().limits, "fake").in_flight == 1
    assert account_row(a.snapshot().limits, "fake").paused_for_seconds > 0
    assert account_row(b.snapshot().limits, "fake").paused_for_seconds == 0
    # The job in flight is a slot in A's state, and the create pause a pause there, keyed
    # by the account's fingerprint (the provider's key and the model's).
    assert await a.state.slots_held(f"slot fake@{ACCOUNT}") == 1
    assert await a.state.slots_held(f"slot fake/t2v@{ACCOUNT}") == 1
    assert await b.state.slots_held(f"slot fake@{ACCOUNT}") == 1  # B's own slot
    assert 0 < await a.state.paused_for(f"create fake@{ACCOUNT}") <= 60
    assert await b.state.paused_for(f"create fake@{ACCOUNT}") == 0
    a.read_pauses.clear()  # forgets A's read pauses only: its create pause stays
    assert await a.state.paused_for(f"create fake@{ACCOUNT}") > 0
    held.release()
    free.release()
    assert await a.state.slots_held(f"slot fake@{ACCOUNT}") == 0
    assert await b.state.slots_held(f"slot fake@{ACCOUNT}") == 0


async def test_a_batch_given_a_router_runs_on_its_limits(respx_mock: respx.MockRouter) -> None:
    """Two requests at concurrency 2 on a router allowing one job at a time run one after
    the other, counted on that router; the default router (no such limit) saw nothing and
    runs the same batch two at once."""
    jobs = Jobs(respx_mock)
    router = Router(limits={"fake": ProviderLimit(max_concurrent=1)})

    async with generate_videos_async(
        CONFIG, [request("a"), request("b")], concurrency=2, router=router
    ) as results:
        outcomes = [result async for result in results]

    assert [result.ok for result in outcomes] == [True, True]
    assert jobs.most_at_once == 1
    row = account_row(router.snapshot().limits, "fake")
    assert (row.max_concurrent, row.in_flight) == (1, 0)
    assert account_rows(default_router().snapshot().limits, "fake") == []
    async with generate_videos_async(CONFIG, [request("a"), request("b")], concurrency=2) as rerun:
        assert [result.ok async for result in rerun] == [True, True]
    assert jobs.most_at_once == 2


async def test_a_wait_given_a_router_counts_on_it(respx_mock: respx.MockRouter) -> None:
    """A job submitted and waited on through router A holds and frees A's slot; the
    default router's limits never saw it."""
    Jobs(respx_mock)
    router = Router(limits={"fake": ProviderLimit(max_concurrent=1)})
    handle = await router.submit_video_async(CONFIG, request("a cat"))

    response = await wait_async(handle, config=CONFIG, router=router)

    assert response.video == "https://cdn.test/v.mp4"
    assert account_row(router.snapshot().limits, "fake").in_flight == 0
    assert account_rows(default_router().snapshot().limits, "fake") == []


async def test_a_router_that_is_not_one_is_refused_before_anything_runs() -> None:
    """``router=`` takes a Router: anything else is a ValidationError naming the function."""
    tts = AudioGenerationConfig(provider="fake", model="m", mock=MockConfig(enabled=True))
    with pytest.raises(ValidationError, match=r"generate_tts\(router=...\) takes a Router"):
        await generate_tts_async(tts, TTSRequest(text="hi"), router="default")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match=r"generate_videos_async\(router=...\)"):
        generate_videos_async(CONFIG, [], router=object())  # type: ignore[arg-type]


async def test_the_spend_and_latencies_are_kept_in_the_routers_state(
    respx_mock: respx.MockRouter,
) -> None:
    """A job's estimate ($2/s for 4 s) is settled in router A's state, where its snapshot
    reads it, and its completion time is one of A's latency samples; router B has nothing
    spent nor learnt."""
    Jobs(respx_mock)
    prices = {"fake/t2v": Price(per_second=2.0)}
    a, b = Router(prices=prices, spend_cap=10.0), Router(prices=prices, spend_cap=10.0)

    await a.generate_video_async(CONFIG, request("a cat"))

    assert await a.state.spend("spend") == SpendFigures(spent=8.0, reserved=0.0)
    spend = a.snapshot().spend
    assert spend is not None and (spend.spent, spend.remaining) == (8.0, 2.0)
    assert await b.state.spend("spend") == SpendFigures()
    assert len(await a.state.samples("fake/t2v")) == 1
    assert a.snapshot().latency["fake/t2v"].samples == 1
    assert await b.state.samples("fake/t2v") == []
    with pytest.raises(SpendCapExceededError):
        await a.generate_video_async(CONFIG, request("a dog"))  # $8 + $8 > $10
    assert (await b.generate_video_async(CONFIG, request("a dog"))).video


async def test_a_routers_breakers_are_records_in_its_state() -> None:
    """A failure opening router A's breaker is a record in A's state; router B, with the
    same policy, still admits the call."""
    a, b = Router(breakers=BreakerPolicy(failures=1)), Router(breakers=BreakerPolicy(failures=1))
    assert a.breakers is not None and b.breakers is not None

    a.breakers.record_failure("fake", "t2v", transient=True)

    assert (await a.state.breaker("fake/t2v")).state == "open"
    assert not a.breakers.admit("fake", "t2v").allowed
    assert b.breakers.admit("fake", "t2v").allowed
    assert (await b.state.breaker("fake/t2v")).state == "closed"
