"""Jobs tarash gives up on but cannot stop keep their capacity slot until the provider
says they are over (or their maximum run time has passed)."""

from __future__ import annotations

from typing import Any, ClassVar

import anyio
import httpx
import pytest
import respx
from pydantic import SecretStr

from tarash.tarash_gateway.engine._polling import PollSchedule
from tarash.tarash_gateway.models import JobHandle, VideoGenerationConfig, VideoGenerationRequest
from tarash.tarash_gateway.providers import register_provider
from tarash.tarash_gateway.providers._base import ProviderSettings
from tarash.tarash_gateway.router import Router
from tarash.tarash_gateway.routing._limits import ProviderLimit
from tarash.tarash_gateway.routing._watch import JOB_WATCHER, JobWatcher
from tests._limit_rows import account_row
from tests.unit.fake_provider import BASE, FAKE_KEY, FakeClient

pytestmark = pytest.mark.anyio

REQUEST = VideoGenerationRequest(prompt="a cat", duration_seconds=4)
NO_CANCEL = "https://no-cancel.test"


class NoCancelClient(FakeClient):
    """The toy provider without a cancel in its protocol, as OpenAI's and Google's videos."""

    name = "fake_no_cancel"
    supports_cancel: ClassVar[bool] = False

    async def cancel(self, handle: JobHandle) -> bool:
        return False


register_provider("fake_no_cancel", NoCancelClient)


def config(base: str = BASE, provider: str = "fake", **kwargs: Any) -> VideoGenerationConfig:
    return VideoGenerationConfig(
        provider=provider,
        model="t2v",
        api_key=FAKE_KEY,
        base_url=base,
        poll_interval=0.001,
        **kwargs,
    )


class Job:
    """A job on the toy provider that runs until :meth:`finish`; a caller that put its
    scope in ``on_poll`` before its submit starts it anew and is cancelled at its first
    poll. Its cancel answers ``cancel``."""

    def __init__(self, mock: respx.MockRouter, base: str, job_id: str, *, cancel: int) -> None:
        self.done = False
        self.on_poll: list[anyio.CancelScope] = []
        self.armed = False
        self.submit = mock.post(f"{base}/jobs").mock(side_effect=self._submit)
        self.poll = mock.get(f"{base}/jobs/{job_id}").mock(side_effect=self._poll)
        self.cancel = mock.post(f"{base}/jobs/{job_id}/cancel").respond(cancel, json={})
        self.base = base
        self.job_id = job_id

    def _submit(self, request: httpx.Request) -> httpx.Response:
        if self.on_poll:  # a caller that will give up: the job runs anew until finished
            self.done, self.armed = False, True
        return httpx.Response(200, json={"id": self.job_id})

    def _poll(self, request: httpx.Request) -> httpx.Response:
        if self.armed and self.on_poll:
            self.armed = False
            self.on_poll.pop().cancel()  # the caller gives up while the job runs
        if self.done:
            return httpx.Response(200, json={"status": "done", "url": f"{self.base}/v.mp4"})
        return httpx.Response(200, json={"status": "running"})

    def finish(self) -> None:
        self.done = True


async def until(condition: Any) -> None:
    """Wait (1 ms steps, 5 s at most) for the watcher's thread to make ``condition`` true."""
    with anyio.fail_after(5):
        # The watcher's own thread changes it: there is no event of this loop to wait on.
        while not condition():  # noqa: ASYNC110
            await anyio.sleep(0.001)


async def give_up_on(router: Router, job: Job, chain: VideoGenerationConfig) -> None:
    """Run one request and cancel its caller at the job's first poll."""
    with anyio.CancelScope() as scope:
        job.on_poll.append(scope)
        await router.generate_video_async(chain, REQUEST)
    assert scope.cancelled_caught


@pytest.mark.parametrize("key", ["fake", "fake/t2v", "fake/*"])
async def test_for_every_limit_kind_the_cap_holds_when_a_job_cannot_be_stopped(
    respx_mock: respx.MockRouter, key: str
) -> None:
    """max_concurrent=1 on the provider, the model or each model: a job whose cancel
    failed keeps its slot, so the next call waits, submitting nothing, until the provider
    says the job is over."""
    job = Job(respx_mock, BASE, "j1", cancel=404)
    router = Router(limits={key: ProviderLimit(max_concurrent=1)})
    await give_up_on(router, job, config())
    assert job.cancel.called  # the cancel was tried, and refused
    state = account_row(router.snapshot().limits, "fake/t2v" if key != "fake" else "fake")
    assert state.in_flight == 1  # the job runs on at the provider: so does its slot

    results = []

    async def second_call() -> None:
        results.append(await router.generate_video_async(config(), REQUEST))

    async with anyio.create_task_group() as group:
        group.start_soon(second_call)
        await until(lambda: router.snapshot().limits[state.key].waiting == 1)
        assert job.submit.call_count == 1  # the cap held: nothing more was submitted
        polls = job.poll.call_count
        await until(lambda: job.poll.call_count > polls)  # the watcher follows the job
        job.finish()
    assert job.submit.call_count == 2
    assert results[0].video == f"{BASE}/v.mp4"
    assert router.snapshot().limits[state.key].in_flight == 0


async def test_a_provider_without_cancel_runs_one_job_at_a_time_under_max_concurrent_1(
    respx_mock: respx.MockRouter,
) -> None:
    """The issue's case: three requests given up on under max_concurrent=1 on a provider
    that cannot cancel; only one job runs at a time, each next one once the last ended."""
    job = Job(respx_mock, NO_CANCEL, "j1", cancel=200)
    router = Router(limits={"fake_no_cancel": ProviderLimit(max_concurrent=1)})
    no_cancel = config(NO_CANCEL, provider="fake_no_cancel")
    await give_up_on(router, job, no_cancel)
    assert not job.cancel.called  # the protocol has none
    for submitted in (2, 3):
        async with anyio.create_task_group() as group:
            group.start_soon(give_up_on, router, job, no_cancel)
            await until(
                lambda: account_row(router.snapshot().limits, "fake_no_cancel").waiting == 1
            )
            assert job.submit.call_count == submitted - 1
            job.finish()  # the job before ends: the next one may start
        assert job.submit.call_count == submitted
        assert account_row(router.snapshot().limits, "fake_no_cancel").in_flight == 1
    job.finish()
    await until(lambda: account_row(router.snapshot().limits, "fake_no_cancel").in_flight == 0)


async def test_a_job_stopped_by_its_cancel_releases_its_slot_at_once(
    respx_mock: respx.MockRouter,
) -> None:
    """A cancel the provider accepted ends the job: nothing is left to watch."""
    job = Job(respx_mock, BASE, "j1", cancel=200)
    router = Router(limits={"fake": ProviderLimit(max_concurrent=1)})
    await give_up_on(router, job, config())
    assert account_row(router.snapshot().limits, "fake").in_flight == 0
    assert JOB_WATCHER.watching == 0


async def test_a_job_that_cannot_be_stopped_is_followed_until_its_maximum_run_time() -> None:
    """A job that never ends (the provider keeps saying running) holds its slot until its
    maximum run time has passed, then it is released, once."""
    now = [0.0]

    async def sleep(seconds: float) -> None:
        now[0] += seconds
        await anyio.lowlevel.checkpoint()

    watcher = JobWatcher(clock=lambda: now[0], sleep=sleep)
    released: list[float] = []
    with respx.mock(assert_all_called=True) as mock:
        mock.get(f"{BASE}/jobs/j1").respond(200, json={"status": "running"})
        client = _client()
        handle = client.new_handle("video", "j1")
        watcher.follow(
            client,
            handle,
            lambda: released.append(now[0]),
            schedule=PollSchedule(first=1.0, cap=60.0),
            run_for=600.0,
        )
        try:
            assert watcher.wait_idle(5.0)
        finally:
            watcher.stop()
    assert len(released) == 1 and released[0] >= 600.0


@pytest.mark.parametrize(
    ("reply", "outcome"),
    [
        (httpx.Response(404, json={"message": "no such job"}), "unknown to the provider"),
        (httpx.Response(200, json={"status": "failed", "error": "x"}), "failed"),
        (httpx.Response(200, json={"status": "cancelled"}), "cancelled"),
    ],
)
def test_a_job_the_provider_says_is_over_releases_its_slot(
    reply: httpx.Response, outcome: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Failed, cancelled or unknown to the provider (404): the job is over, its slot free."""
    watcher = JobWatcher()
    released: list[bool] = []
    with respx.mock() as mock, caplog.at_level("INFO", logger="tarash.watch"):
        mock.get(f"{BASE}/jobs/j1").mock(return_value=reply)
        client = _client()
        watcher.follow(
            client,
            client.new_handle("video", "j1"),
            lambda: released.append(True),
            schedule=PollSchedule(first=0.001),
            run_for=600.0,
        )
        try:
            assert watcher.wait_idle(5.0)
        finally:
            watcher.stop()
    assert released == [True]
    assert any(outcome in record.getMessage() for record in caplog.records)


def test_stopping_the_watcher_releases_every_slot_and_waits_for_no_job() -> None:
    """At exit (or stop()) a watch is cancelled, its slot released: nothing hangs."""
    watcher = JobWatcher()
    released: list[bool] = []
    with respx.mock(assert_all_called=False) as mock:
        mock.get(f"{BASE}/jobs/j1").respond(200, json={"status": "running"})
        client = _client()
        watcher.follow(
            client,
            client.new_handle("video", "j1"),
            lambda: released.append(True),
            schedule=PollSchedule(first=0.001, cap=0.001),
            run_for=3600.0,
        )
        assert watcher.watching == 1
        watcher.stop()
    assert released == [True]
    assert watcher.watching == 0


def _client() -> FakeClient:
    return FakeClient(ProviderSettings(model="t2v", base_url=BASE, api_key=SecretStr(FAKE_KEY)))
