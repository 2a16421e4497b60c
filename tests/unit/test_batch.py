"""Batch fan-out on the toy provider: results as values, lazy input, stop and resume."""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import sqlite3
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

import anyio
import httpx
import pytest
import respx

from tarash.tarash_gateway import (
    BatchEvent,
    LedgerState,
    SqliteLedger,
    ValidationError,
    configure,
    generate_videos,
    generate_videos_async,
    register_provider,
    submit_video_async,
)
from tarash.tarash_gateway.batch._batch_codec import dump_handle, input_hash
from tarash.tarash_gateway.models import (
    VideoGenerationConfig,
    VideoGenerationRequest,
    VideoGenerationResponse,
)
from tarash.tarash_gateway.routing._prices import Price
from tests.unit.fake_provider import BASE, FAKE_KEY

pytestmark = pytest.mark.anyio

CONFIG = VideoGenerationConfig(
    provider="fake", model="t2v", api_key=FAKE_KEY, base_url=BASE, poll_interval=0.001
)


def request(prompt: str) -> VideoGenerationRequest:
    return VideoGenerationRequest(prompt=prompt, duration_seconds=4)


class FakeJobs:
    """The toy provider's jobs: a prompt starting with 'fail' fails, 'hold' never ends."""

    def __init__(self, router: respx.MockRouter) -> None:
        self.counter = itertools.count()
        self.prompts: dict[str, str] = {}
        self.cancelled: set[str] = set()
        self.holding = True
        # Status calls a 'hold' job answers 'running' to before it is done (None: while
        # `holding`).
        self.hold_polls: int | None = None
        self.polls: Counter[str] = Counter()
        # Set by a test: the submit waits for `gate` (after setting `entered`) before the
        # job is created and answered, so the test can stop the batch mid-submit.
        self.gate: anyio.Event | None = None
        self.entered: anyio.Event | None = None
        self.cancel_status = 200
        router.post(f"{BASE}/jobs").mock(side_effect=self.submit)
        router.post(url__regex=rf"{BASE}/jobs/j\d+/cancel$").mock(side_effect=self.cancel)
        router.get(url__regex=rf"{BASE}/jobs/j\d+$").mock(side_effect=self.status)

    async def submit(self, http: httpx.Request) -> httpx.Response:
        if self.gate is not None and self.entered is not None:
            self.entered.set()
            await self.gate.wait()
        job_id = f"j{next(self.counter)}"
        self.prompts[job_id] = json.loads(http.content)["prompt"]
        return httpx.Response(200, json={"id": job_id, "status": "queued"})

    def cancel(self, http: httpx.Request) -> httpx.Response:
        if self.cancel_status != 200:
            return httpx.Response(self.cancel_status, json={"message": "cancel refused"})
        self.cancelled.add(http.url.path.split("/")[-2])
        return httpx.Response(200, json={})

    def status(self, http: httpx.Request) -> httpx.Response:
        job_id = http.url.path.rsplit("/", 1)[-1]
        prompt = self.prompts[job_id]
        self.polls[job_id] += 1
        if job_id in self.cancelled:
            return httpx.Response(200, json={"status": "cancelled"})
        if prompt.startswith("fail"):
            return httpx.Response(200, json={"status": "failed", "error": f"bad {FAKE_KEY}"})
        still = self.holding if self.hold_polls is None else self.polls[job_id] <= self.hold_polls
        if prompt.startswith("hold") and still:
            return httpx.Response(200, json={"status": "running", "progress": 10})
        return httpx.Response(200, json={"status": "done", "url": f"https://cdn.test/{job_id}.mp4"})

    def submitted(self, prompt: str) -> int:
        return sum(1 for sent in self.prompts.values() if sent == prompt)


@pytest.fixture
def jobs() -> Iterator[FakeJobs]:
    with respx.mock(assert_all_called=False) as router:
        yield FakeJobs(router)


async def test_failures_are_values_tied_to_their_index_and_key(jobs: FakeJobs) -> None:
    """A failed request, a malformed item and successes all come back, each with its own
    index and key; nothing aborts the batch."""
    inputs = [("a", request("ok a")), ("b", request("fail b")), "junk", request("ok d")]
    async with generate_videos_async(CONFIG, inputs, concurrency=2) as results:
        by_index = {result.index: result async for result in results}
    assert sorted(by_index) == [0, 1, 2, 3]
    assert by_index[0].ok and by_index[0].key == "a"
    assert by_index[0].unwrap().video.startswith("https://cdn.test/")
    assert not by_index[1].ok and by_index[1].key == "b"
    assert FAKE_KEY not in str(by_index[1].error)
    assert isinstance(by_index[2].error, ValidationError)
    assert "requests[2]" in by_index[2].error.message
    assert by_index[3].ok and by_index[3].key is None
    assert jobs.submitted("fail b") == 1


async def test_a_generator_of_100k_requests_is_read_lazily(jobs: FakeJobs) -> None:
    """Only about `concurrency` items are read ahead of the results taken."""
    read = itertools.count()

    def endless() -> Iterator[VideoGenerationRequest]:
        for number in range(100_000):
            next(read)
            yield request(f"ok {number}")

    taken = 0
    async with generate_videos_async(CONFIG, endless(), concurrency=4) as results:
        async for _ in results:
            taken += 1
            if taken == 10:
                break
    assert next(read) <= taken + 4 + 1


async def test_leaving_early_cancels_every_job_in_flight_and_leaves_rows_resumable(
    jobs: FakeJobs, tmp_path: Path
) -> None:
    """Breaking out cancels the running jobs remotely; their rows keep their handles as
    'cancelled', and the rerun sends them again (the provider confirms they are over)."""
    path = tmp_path / "batch.sqlite"
    inputs = [request("ok 0"), request("hold 1"), request("hold 2")]
    async with generate_videos_async(CONFIG, inputs, concurrency=3, ledger=path) as results:
        async for first in results:
            assert first.index == 0
            break
    assert len(jobs.cancelled) == 2
    states = {row.index: row.state for row in SqliteLedger(path).entries()}
    assert states == {0: LedgerState.DONE, 1: LedgerState.CANCELLED, 2: LedgerState.CANCELLED}

    # The rerun, once held jobs may finish: the provider says the two are cancelled,
    # so they are sent again; the done one is read back.
    jobs.holding = False
    async with generate_videos_async(CONFIG, inputs, ledger=path) as results:
        outcomes = {result.index: result async for result in results}
    assert all(result.ok for result in outcomes.values())
    assert outcomes[0].resumed and not outcomes[1].resumed
    assert (jobs.submitted("ok 0"), jobs.submitted("hold 1"), jobs.submitted("hold 2")) == (
        1,
        2,
        2,
    )


async def test_a_changed_input_at_an_index_is_an_error_not_a_resubmit(
    jobs: FakeJobs, tmp_path: Path
) -> None:
    """A rerun whose request at an index differs from the recorded one is refused."""
    path = tmp_path / "batch.sqlite"
    async with generate_videos_async(CONFIG, [request("ok 0")], ledger=path) as results:
        assert [result.ok async for result in results] == [True]
    async with generate_videos_async(CONFIG, [request("ok zero")], ledger=path) as results:
        (outcome,) = [result async for result in results]
    assert isinstance(outcome.error, ValidationError)
    assert "input hash differs" in outcome.error.message
    assert jobs.submitted("ok zero") == 0


async def test_a_rerun_waits_on_submitted_jobs_and_never_resends(
    jobs: FakeJobs, tmp_path: Path
) -> None:
    """A row left 'submitted' is waited on by its handle, not submitted again; a done row
    is yielded from the ledger."""
    path = tmp_path / "batch.sqlite"
    inputs = [request("ok 0"), request("hold 1")]
    async with generate_videos_async(CONFIG, inputs, ledger=path) as results:
        async for _ in results:
            break
    # Simulate a crash while the job ran: the row says submitted, and the job finishes.
    ledger = SqliteLedger(path)
    await ledger.open()
    row = await ledger.get(1)
    assert row is not None and row.handle is not None
    import dataclasses

    await ledger.save(dataclasses.replace(row, state=LedgerState.SUBMITTED))
    await ledger.close()
    job_id = json.loads(row.handle)["request_id"]
    jobs.cancelled.discard(job_id)
    jobs.prompts[job_id] = "ok 1"
    async with generate_videos_async(CONFIG, inputs, ledger=path) as results:
        outcomes = {result.index: result async for result in results}
    assert outcomes[0].resumed and outcomes[1].ok
    assert outcomes[1].unwrap().request_id == job_id
    assert len(jobs.prompts) == 2  # nothing was submitted by the rerun


async def test_an_intent_without_a_recorded_job_is_reported_not_resent(
    jobs: FakeJobs, tmp_path: Path
) -> None:
    """A row caught in 'intent' (crash between submit and record) is an error value with
    job_may_exist, and stays so; reset() is how the user sends it again."""
    path = tmp_path / "batch.sqlite"
    ledger = SqliteLedger(path)
    await ledger.open()
    row = await ledger.claim(0, None, input_hash(CONFIG, request("ok 0")))
    await ledger.save(row.intend())
    await ledger.close()
    for _ in range(2):
        async with generate_videos_async(CONFIG, [request("ok 0")], ledger=path) as results:
            (outcome,) = [result async for result in results]
        assert outcome.error is not None and outcome.error.job_may_exist
    assert jobs.prompts == {}
    await ledger.open()
    stored = await ledger.get(0)
    assert stored is not None and stored.state is LedgerState.UNKNOWN
    await ledger.save(stored.reset())
    await ledger.close()
    async with generate_videos_async(CONFIG, [request("ok 0")], ledger=path) as results:
        (outcome,) = [result async for result in results]
    assert outcome.ok and jobs.submitted("ok 0") == 1


async def test_no_key_reaches_the_ledger_file(jobs: FakeJobs, tmp_path: Path) -> None:
    """Neither the key nor a provider's echo of it is ever written to the ledger."""
    path = tmp_path / "batch.sqlite"
    inputs = [request("ok 0"), request("fail 1")]
    async with generate_videos_async(CONFIG, inputs, ledger=path) as results:
        assert len([result async for result in results]) == 2
    async for file in anyio.Path(tmp_path).iterdir():
        assert FAKE_KEY.encode() not in await file.read_bytes(), file.name


async def test_events_report_each_stage_and_a_raising_callback_stops_the_batch(
    jobs: FakeJobs,
) -> None:
    """on_event hears queued/submitted/running/done/failed; what it raises reaches the
    caller and the jobs in flight are cancelled."""
    events: list[BatchEvent] = []
    inputs = [request("ok 0"), request("fail 1")]
    async with generate_videos_async(CONFIG, inputs, on_event=events.append) as results:
        assert len([result async for result in results]) == 2
    assert {event.kind for event in events} >= {"queued", "submitted", "done", "failed"}

    def explode(event: BatchEvent) -> None:
        if event.kind == "submitted" and event.index == 1:
            raise KeyError("boom")

    async def run_all() -> None:
        async with generate_videos_async(
            CONFIG, [request("hold 0"), request("hold 1")], concurrency=2, on_event=explode
        ) as results:
            async for _ in results:
                pass

    with pytest.raises(KeyError, match="boom"):
        await run_all()
    assert len(jobs.cancelled) == 2


async def test_bad_arguments_are_refused_before_anything_runs() -> None:
    """config, concurrency, requests and on_event are checked up front, by name."""
    with pytest.raises(ValidationError, match="concurrency"):
        generate_videos_async(CONFIG, [], concurrency=0)
    with pytest.raises(ValidationError, match="VideoGenerationConfig"):
        generate_videos_async("fal", [])  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="iterable"):
        generate_videos_async(CONFIG, 3)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="on_event"):
        generate_videos_async(CONFIG, [], on_event=5)  # type: ignore[arg-type]


def test_the_sync_twin_iterates_and_closing_it_early_cancels(jobs: FakeJobs) -> None:
    """The sync iterator yields results; closing it cancels the jobs still running."""
    done = list(generate_videos(CONFIG, [request("ok 0"), request("ok 1")]))
    assert sorted(result.index for result in done) == [0, 1]
    inputs = [request("ok 0"), request("hold 1"), request("hold 2")]
    with contextlib.closing(generate_videos(CONFIG, inputs, concurrency=3)) as results:
        first = next(results)
        assert first.index == 0
    assert len(jobs.cancelled) == 2


async def test_an_exception_in_the_loop_body_cancels_the_jobs_and_propagates(
    jobs: FakeJobs, tmp_path: Path
) -> None:
    """The caller's own error inside `async with` reaches it unchanged, after every job
    in flight was cancelled and recorded as resumable."""
    path = tmp_path / "batch.sqlite"
    inputs = [request("ok 0"), request("hold 1"), request("hold 2")]

    async def consume() -> None:
        async with generate_videos_async(CONFIG, inputs, concurrency=3, ledger=path) as results:
            async for _ in results:
                raise LookupError("my bug")

    with pytest.raises(LookupError, match="my bug"):
        await consume()
    assert len(jobs.cancelled) == 2
    states = sorted(row.state.value for row in SqliteLedger(path).entries())
    assert states == ["cancelled", "cancelled", "done"]


async def test_iterating_directly_and_closing_stops_the_batch(jobs: FakeJobs) -> None:
    """A BatchRun iterated without `async with` runs, and aclose() cancels its jobs."""
    run = generate_videos_async(CONFIG, [request("ok 0"), request("hold 1")], concurrency=2)
    async for first in run:
        assert first.index == 0
        break
    await run.aclose()
    assert len(jobs.cancelled) == 1


class RecordingHandler:
    """A published-style handler that looks at the ledger while it is being called."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.states_seen: list[str] = []

    async def generate_video_async(
        self, config: VideoGenerationConfig, request: VideoGenerationRequest, on_progress: object
    ) -> VideoGenerationResponse:
        self.states_seen.extend(row.state.value for row in SqliteLedger(self.path).entries())
        return VideoGenerationResponse(request_id="h-1", video="https://cdn.test/h.mp4")

    def generate_video(self, *args: object) -> VideoGenerationResponse:
        raise NotImplementedError


async def test_a_handlers_call_is_announced_as_an_intent_before_it_runs(tmp_path: Path) -> None:
    """A custom handler announces no submit: the intent is committed before its call, so a
    crash during the call could never lead to a second, paid call."""
    path = tmp_path / "batch.sqlite"
    handler = RecordingHandler(path)
    name = f"batch-handler-{uuid.uuid4().hex[:8]}"
    register_provider(name, handler)
    config = VideoGenerationConfig(provider=name, model="m-1", api_key="handler-key-123456")
    async with generate_videos_async(config, [request("ok")], ledger=path) as results:
        (outcome,) = [result async for result in results]
    assert outcome.ok and outcome.unwrap().request_id == "h-1"
    assert handler.states_seen == ["intent"]
    (row,) = SqliteLedger(path).entries()
    assert (row.state, row.attempts) == (LedgerState.DONE, 1)


FALLBACK = VideoGenerationConfig(
    provider="fake", model="t2v-b", api_key=FAKE_KEY, base_url=BASE, poll_interval=0.001
)
CHAIN = CONFIG.model_copy(update={"fallback_configs": [FALLBACK]})


async def submitted_row(path: Path, config: VideoGenerationConfig, handle: object) -> None:
    """Write the ledger row of a crashed run: request 0 submitted, with ``handle``."""
    ledger = SqliteLedger(path)
    await ledger.open()
    try:
        row = await ledger.claim(0, None, input_hash(config, request("ok 0")))
        await ledger.save(row.intend().accept(dump_handle(handle, [])))  # type: ignore[arg-type]
    finally:
        await ledger.close()


async def test_a_resumed_job_that_fails_continues_the_chain_from_the_next_config(
    jobs: FakeJobs, tmp_path: Path
) -> None:
    """The job a crashed run left submitted on the primary fails: the rerun goes on to the
    fallback (as the original run would have), not back to the primary, and records it."""
    path = tmp_path / "batch.sqlite"
    handle = await submit_video_async(CONFIG, request("ok 0"))
    jobs.prompts[handle.request_id] = "fail on the primary"
    await submitted_row(path, CHAIN, handle)
    async with generate_videos_async(CHAIN, [request("ok 0")], ledger=path) as results:
        (outcome,) = [result async for result in results]
    response = outcome.unwrap()
    assert response.request_id != handle.request_id
    assert response.model == "t2v-b"
    metadata = response.execution_metadata
    assert metadata is not None
    assert [(a.model, a.status) for a in metadata.attempts] == [
        ("t2v", "failed"),
        ("t2v-b", "success"),
    ]
    assert metadata.successful_attempt == 2 and metadata.fallback_triggered
    assert len(jobs.prompts) == 2  # the primary was not sent again
    (row,) = SqliteLedger(path).entries()
    assert row.state is LedgerState.DONE and row.attempts == 2


async def test_a_resumed_job_on_the_last_config_that_fails_is_recorded_failed(
    jobs: FakeJobs, tmp_path: Path
) -> None:
    """With no config left after the resumed job's, its failure is the result."""
    path = tmp_path / "batch.sqlite"
    handle = await submit_video_async(FALLBACK, request("ok 0"))
    jobs.prompts[handle.request_id] = "fail on the fallback"
    await submitted_row(path, CHAIN, handle)
    async with generate_videos_async(CHAIN, [request("ok 0")], ledger=path) as results:
        (outcome,) = [result async for result in results]
    assert outcome.error is not None and outcome.error.request_id == handle.request_id
    assert len(jobs.prompts) == 1
    (row,) = SqliteLedger(path).entries()
    assert row.state is LedgerState.FAILED


async def test_a_resumed_job_past_its_deadline_gets_a_fresh_one(
    jobs: FakeJobs, tmp_path: Path
) -> None:
    """After an outage longer than the timeout, the still-running job is waited on for a
    whole timeout from the resume, and read: never cancelled as late."""
    path = tmp_path / "batch.sqlite"
    handle = await submit_video_async(CONFIG, request("hold 0"))
    stale = handle.model_copy(update={"deadline_at": datetime.now(UTC) - timedelta(hours=1)})
    jobs.hold_polls = 3
    await submitted_row(path, CONFIG, stale)
    async with generate_videos_async(CONFIG, [request("ok 0")], ledger=path) as results:
        (outcome,) = [result async for result in results]
    assert outcome.unwrap().request_id == handle.request_id
    assert jobs.cancelled == set()
    assert jobs.polls[handle.request_id] == 4


async def stop_mid_submit(jobs: FakeJobs, path: Path) -> None:
    """Run a one-request batch and stop it while its submit is in flight; the provider
    creates the job and answers only after the stop."""
    jobs.gate, jobs.entered = anyio.Event(), anyio.Event()

    async def run_batch(scope: anyio.CancelScope) -> None:
        with scope:
            async with generate_videos_async(CONFIG, [request("hold 0")], ledger=path) as results:
                async for _ in results:
                    pass

    scope = anyio.CancelScope()
    async with anyio.create_task_group() as group:
        group.start_soon(run_batch, scope)
        await jobs.entered.wait()
        scope.cancel()
        jobs.gate.set()
    jobs.gate = jobs.entered = None


@pytest.mark.parametrize("cancel_works", [True, False])
async def test_a_job_created_by_a_submit_stopped_in_flight_is_recorded_with_its_cancel(
    jobs: FakeJobs, tmp_path: Path, cancel_works: bool
) -> None:
    """Stopped mid-submit: the job the provider created anyway is recorded by its handle,
    with the cancel's outcome ('cancelled', or 'submitted' when the cancel failed); the
    rerun asks about that job and pays for no second one while it may still run."""
    path = tmp_path / "batch.sqlite"
    jobs.cancel_status = 200 if cancel_works else 503
    await stop_mid_submit(jobs, path)
    (row,) = SqliteLedger(path).entries()
    assert row.handle is not None
    job_id = json.loads(row.handle)["request_id"]
    assert list(jobs.prompts) == [job_id]
    assert row.state is (LedgerState.CANCELLED if cancel_works else LedgerState.SUBMITTED)
    assert (job_id in jobs.cancelled) is cancel_works

    jobs.holding = False
    jobs.cancel_status = 200
    async with generate_videos_async(CONFIG, [request("hold 0")], ledger=path) as results:
        (outcome,) = [result async for result in results]
    assert outcome.ok
    if cancel_works:
        # The provider says it is over: sent again, once.
        assert jobs.submitted("hold 0") == 2 and outcome.unwrap().request_id != job_id
    else:
        # It ran on: read, never sent again.
        assert jobs.submitted("hold 0") == 1 and outcome.unwrap().request_id == job_id


async def test_a_key_given_twice_is_refused_with_a_ledger(jobs: FakeJobs, tmp_path: Path) -> None:
    """With a ledger, the second request under a key already used is an error value
    naming both indexes, and is not sent; the rerun says the same, and sends nothing."""
    path = tmp_path / "batch.sqlite"
    inputs = [("shot", request("ok 0")), ("other", request("ok 1")), ("shot", request("ok 2"))]
    for run in range(2):
        async with generate_videos_async(CONFIG, inputs, concurrency=1, ledger=path) as results:
            outcomes = {result.index: result async for result in results}
        assert outcomes[0].ok and outcomes[1].ok
        error = outcomes[2].error
        assert isinstance(error, ValidationError)
        assert "requests[2]" in error.message and "requests[0]" in error.message
        assert outcomes[0].resumed is (run == 1)
    assert jobs.submitted("ok 2") == 0
    assert [row.index for row in SqliteLedger(path).entries()] == [0, 1]


@pytest.mark.parametrize(("cancelled", "loser_cost"), [("full", 2.0), ("nothing", 0.0)])
async def test_a_rerun_of_a_raced_row_reports_the_cancelled_losers_spend_too(
    jobs: FakeJobs, tmp_path: Path, cancelled: Literal["full", "nothing"], loser_cost: float
) -> None:
    """A crashed race left a row with two jobs; the rerun waits on both, the one that
    finishes wins and the other is cancelled: the request's one spend event is the
    winner's estimate plus what the loser's cancel is billed (4 s at $0.5/s each)."""
    configure(prices={"fake/t2v": Price(per_second=0.5, cancelled=cancelled)})
    path = tmp_path / "batch.sqlite"
    winner = await submit_video_async(CONFIG, request("hold 0"))
    loser = await submit_video_async(CONFIG, request("hold 0"))
    jobs.prompts[winner.request_id] = "ok 0"
    ledger = SqliteLedger(path)
    await ledger.open()
    row = await ledger.claim(0, None, input_hash(CONFIG, request("hold 0")))
    raced = row.intend().accept(dump_handle(winner, []), settled=False)
    await ledger.save(raced.accept(dump_handle(loser, [])))
    await ledger.close()

    events: list[BatchEvent] = []
    async with generate_videos_async(
        CONFIG, [request("hold 0")], ledger=path, on_event=events.append
    ) as results:
        (outcome,) = [result async for result in results]
    assert outcome.unwrap().request_id == winner.request_id
    assert jobs.cancelled == {loser.request_id}
    assert len(jobs.prompts) == 2  # nothing sent again
    (spend,) = [event for event in events if event.kind == "spend"]
    assert spend.cost == pytest.approx(2.0 + loser_cost)


async def test_a_rerun_counts_no_spend_for_a_job_the_stopped_run_cancelled(
    jobs: FakeJobs, tmp_path: Path
) -> None:
    """Ctrl-C cancelled the job (the stopped run reports no spend for it); the rerun reads
    it back cancelled and sends the request again: its spend is the new job's alone, never
    the cancelled job's full price on top."""
    configure(prices={"fake/t2v": Price(per_second=0.5, cancelled="nothing")})
    path = tmp_path / "batch.sqlite"
    await stop_mid_submit(jobs, path)
    (row,) = SqliteLedger(path).entries()
    assert row.state is LedgerState.CANCELLED
    jobs.holding = False
    events: list[BatchEvent] = []
    async with generate_videos_async(
        CONFIG, [request("hold 0")], ledger=path, on_event=events.append
    ) as results:
        (outcome,) = [result async for result in results]
    assert outcome.ok and jobs.submitted("hold 0") == 2
    (spend,) = [event for event in events if event.kind == "spend"]
    assert spend.cost == pytest.approx(2.0)


async def test_a_rerun_logs_a_job_the_stopped_run_cancelled_at_info_not_warning(
    jobs: FakeJobs, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Leaving early cancelled two jobs; the rerun reads them back cancelled and resends
    them. That is expected: the attempt's end record says so at INFO, and no attempt's
    record is a warning."""
    path = tmp_path / "batch.sqlite"
    inputs = [request("ok 0"), request("hold 1"), request("hold 2")]
    async with generate_videos_async(CONFIG, inputs, concurrency=3, ledger=path) as results:
        async for _ in results:
            break
    assert len(jobs.cancelled) == 2
    jobs.holding = False
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="tarash.attempt"):
        async with generate_videos_async(CONFIG, inputs, ledger=path) as results:
            assert all([result.ok async for result in results])
    attempts = [record for record in caplog.records if record.name == "tarash.attempt"]
    found = [record for record in attempts if "found cancelled" in record.getMessage()]
    assert len(found) == 2
    assert all(record.levelno == logging.INFO for record in found)
    assert [record for record in attempts if record.levelno >= logging.WARNING] == []


# -- a ledger row this version cannot read ------------------------------------------------

# (what the row is made to be, by SQL over a finished run's row 1, "fail 1", failed; the
# others done): a later version's state and job outcome, columns that are not JSON or not
# shaped as tarash writes them, a time without its zone.
UNREADABLE_ROWS = {
    "a later version's state": ("state", "state = 'archived'"),
    "jobs not JSON": ("jobs", "jobs = '{not json'"),
    "jobs not a list": ("jobs", 'jobs = \'{"request_id": "j1"}\''),
    "a later version's job outcome": (
        "jobs",
        'jobs = \'[{"request_id": "j1", "handle": "{}", "outcome": "paused"}]\'',
    ),
    "attempts not a count": ("attempts", "attempts = 'many'"),
    "a done row's result not JSON": ("result", "state = 'done', result = '{not json'"),
    "a done row's result not a response": ("result", "state = 'done', result = '{\"k\": 1}'"),
    "a failed row's error not JSON": ("error", "error = '{not json'"),
    "a failed row's error not an error": ("error", "error = '[1, 2]'"),
    "a submitted row's handle not JSON": (
        "handle",
        "state = 'submitted', handle = '{not json', jobs = NULL",
    ),
    "a submitted row's job handle not a handle": (
        "jobs",
        "state = 'submitted', "
        'jobs = \'[{"request_id": "j1", "handle": "{}", "outcome": "accepted"}]\'',
    ),
    "an intent row's time without its zone": (
        "intended_at",
        "state = 'intent', intended_at = 'yesterday', jobs = NULL, handle = NULL",
    ),
}


@pytest.mark.timeout(20)  # the rerun used to hang for good (shielded ledger waits)
@pytest.mark.parametrize("made", UNREADABLE_ROWS.values(), ids=UNREADABLE_ROWS.keys())
async def test_a_row_this_version_cannot_read_is_its_error_and_the_rest_are_read_back(
    jobs: FakeJobs, tmp_path: Path, made: tuple[str, str]
) -> None:
    """A ledger row that cannot be read (a later version's, one edited by hand) is that
    request's ValidationError naming the ledger, its key and the column, job_may_exist;
    its row is left as it is and nothing is sent; every other row's result is read back."""
    column, change = made
    path = tmp_path / "batch.sqlite"
    inputs = [("k0", request("ok 0")), ("k1", request("fail 1")), ("k2", request("ok 2"))]
    async with generate_videos_async(CONFIG, inputs, ledger=path) as results:
        assert sorted(result.ok for result in [r async for r in results]) == [False, True, True]
    with contextlib.closing(sqlite3.connect(path)) as connection, connection:
        connection.execute(f"UPDATE requests SET {change} WHERE idx = 1")
    before = _rows(path)
    for _ in range(2):  # and again: the row was left as it was
        with anyio.fail_after(10):
            async with generate_videos_async(CONFIG, inputs, ledger=path) as results:
                outcomes = {result.index: result async for result in results}
        assert outcomes[0].resumed and outcomes[0].ok and outcomes[2].resumed and outcomes[2].ok
        error = outcomes[1].error
        assert isinstance(error, ValidationError) and error.job_may_exist, repr(error)
        assert outcomes[1].key == "k1"
        for named in (str(path), "requests[1]", "'k1'", f"its {column} column"):
            assert named in error.message, (named, error.message)
        assert _rows(path) == before
    assert len(jobs.prompts) == 3  # nothing was sent by the reruns


def _rows(path: Path) -> list[tuple[object, ...]]:
    with contextlib.closing(sqlite3.connect(path)) as connection:
        return connection.execute("SELECT * FROM requests ORDER BY idx").fetchall()


async def test_a_finished_rows_unreadable_handle_does_not_hide_its_result(
    jobs: FakeJobs, tmp_path: Path
) -> None:
    """A done row is read back by its result alone: a handle it no longer needs, unreadable,
    does not turn its paid result into an error."""
    path = tmp_path / "batch.sqlite"
    inputs = [("k0", request("ok 0"))]
    async with generate_videos_async(CONFIG, inputs, ledger=path) as results:
        (first,) = [result async for result in results]
    with contextlib.closing(sqlite3.connect(path)) as connection, connection:
        connection.execute("UPDATE requests SET handle = '{not json', jobs = '[]' WHERE idx = 0")
    async with generate_videos_async(CONFIG, inputs, ledger=path) as results:
        (again,) = [result async for result in results]
    assert again.resumed and again.unwrap().request_id == first.unwrap().request_id
