"""A batch rerun's lookup of a row left ``intent``/``unknown`` (a crash between a submit and
the record of its reply), on Replicate over respx: the one job found is adopted; a complete
listing that shows none sends the request again (once, after the settle time); anything
less certain leaves the row flagged ``job_may_exist`` and sends nothing."""

from __future__ import annotations

import dataclasses
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import anyio
import anyio.lowlevel
import httpx
import pytest
import respx

from tarash.tarash_gateway import (
    LedgerState,
    MockConfig,
    SqliteLedger,
    TarashException,
    generate_videos_async,
)
from tarash.tarash_gateway.batch import _batch
from tarash.tarash_gateway.batch._batch_codec import dump_error, input_hash
from tarash.tarash_gateway.batch._batch_run import (
    FIND_SETTLE,
    FIND_SETTLE_VARIABLE,
    FIND_WINDOW_BEFORE,
    UNDECIDED,
    chain_account,
    find_settle,
    find_submitted,
    lists_every_job,
)
from tarash.tarash_gateway.batch._ledger import LedgerEntry, LedgerJob
from tarash.tarash_gateway.models import (
    VideoGenerationConfig,
    VideoGenerationRequest,
    VideoGenerationResponse,
)
from tarash.tarash_gateway.providers.replicate import FIND_PAGES
from tarash.tarash_gateway.routing._attempt import build_client, prepare_job

pytestmark = pytest.mark.anyio

BASE = "https://api.replicate.test"
LIST = f"{BASE}/v1/predictions"
CREATE = f"{BASE}/v1/models/google/veo-3/predictions"
TOKEN = "r8_canary-token-0123456789abcdef"
FAL_KEY = "fal-canary-key-0123456789abcdef"
VIDEO_URL = "https://replicate.delivery/xezq/abc/output.mp4"
CONFIG = VideoGenerationConfig(
    provider="replicate",
    model="google/veo-3",
    api_key=TOKEN,
    base_url=BASE,
    poll_interval=0.001,
)
REQUEST = VideoGenerationRequest(prompt="a cat surfing", duration_seconds=8)


def fal(**fields: Any) -> VideoGenerationConfig:
    return VideoGenerationConfig(
        provider="fal",
        model="fal-ai/veo3",
        api_key=FAL_KEY,
        base_url="https://queue.fal.test",
        **fields,
    )


def chained(*fallbacks: VideoGenerationConfig) -> VideoGenerationConfig:
    return CONFIG.model_copy(update={"fallback_configs": list(fallbacks)})


async def wire_input(config: VideoGenerationConfig = CONFIG) -> Any:
    """The ``input`` the batch's create (and its lookup) sends for REQUEST."""
    job = await prepare_job(build_client(config, deadline=None), config, REQUEST)
    return job.payload["input"]


def prediction(pid: str, wanted: Any, status: str = "starting", **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": pid,
        "model": "google/veo-3",
        "version": "hidden",
        "input": wanted,
        "logs": "",
        "output": None,
        "data_removed": False,
        "error": None,
        "status": status,
        "source": "api",
        "created_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "urls": {"get": f"{LIST}/{pid}", "cancel": f"{LIST}/{pid}/cancel"},
    }
    if status == "succeeded":
        body["output"] = VIDEO_URL
    body.update(fields)
    return body


def page(results: list[dict[str, Any]], next_url: str | None = None) -> dict[str, Any]:
    return {"next": next_url, "previous": None, "results": results}


class Replicate:
    """The mocked API: the listing answers from ``listings`` in turn (the last repeats);
    a create makes ``p-new``; every prediction polls ``succeeded``."""

    def __init__(self, router: respx.MockRouter, wanted: Any) -> None:
        self.wanted = wanted
        self.listings: list[list[dict[str, Any]]] = [[]]
        self.on_list: Callable[[], None] | None = None
        self.listed = 0
        self.listing = router.get(LIST).mock(side_effect=self._list)
        self.create = router.post(CREATE).respond(201, json=prediction("p-new", wanted))
        self.poll = router.get(url__regex=rf"^{LIST}/p-[a-z]+$").mock(side_effect=self._poll)

    def _list(self, request: httpx.Request) -> httpx.Response:
        if self.on_list is not None:
            self.on_list()
        results = self.listings[min(self.listed, len(self.listings) - 1)]
        self.listed += 1
        return httpx.Response(200, json=page(results))

    def _poll(self, request: httpx.Request) -> httpx.Response:
        pid = request.url.path.rsplit("/", 1)[-1]
        return httpx.Response(200, json=prediction(pid, self.wanted, "succeeded"))


@pytest.fixture
async def replicate() -> Any:
    with respx.mock(assert_all_called=False) as router:
        yield Replicate(router, await wire_input())


@pytest.fixture(autouse=True)
def settled(monkeypatch: pytest.MonkeyPatch) -> None:
    """An empty listing is trusted at once (the settle-time test restores the wait)."""
    monkeypatch.setattr(_batch, "FIND_SETTLE", timedelta(0))


async def crashed_row(
    path: Path,
    config: VideoGenerationConfig = CONFIG,
    *,
    unknown: bool = False,
    timed: bool = True,
    account_of: VideoGenerationConfig | None = None,
) -> None:
    """Write the ledger of a run that died with request 0's submit in flight (with the
    accounts of ``account_of``'s chain, by default ``config``'s own)."""
    ledger = SqliteLedger(path)
    await ledger.open()
    try:
        account = chain_account(account_of or config)
        claimed = await ledger.claim(0, None, input_hash(config, REQUEST))
        row = claimed.intend(account=account)
        if not timed:  # as a ledger written before intents were timed
            row = dataclasses.replace(row, intended_at=None)
        if unknown:
            lost = TarashException("the create's reply was lost", job_may_exist=True)
            row = row.mark_unknown(dump_error(lost, []))
        await ledger.save(row)
    finally:
        await ledger.close()


async def rerun(path: Path, config: VideoGenerationConfig = CONFIG) -> Any:
    async with generate_videos_async(config, [REQUEST], ledger=path) as results:
        (outcome,) = [result async for result in results]
    return outcome


def stored(path: Path) -> LedgerEntry:
    (row,) = SqliteLedger(path).entries()
    return row


def assert_flagged(outcome: Any, replicate: Replicate, path: Path) -> None:
    assert outcome.error is not None and outcome.error.job_may_exist
    assert not replicate.create.called
    assert stored(path).state is LedgerState.UNKNOWN


# ---------------------------------------------------------------------------------------
# Through the batch
# ---------------------------------------------------------------------------------------


async def test_a_listed_job_is_adopted_and_waited_on(replicate: Replicate, tmp_path: Path) -> None:
    """(a) The listing shows the dead run's prediction: nothing is created, that job is
    polled to its result, and the row is done with it as its job."""
    path = tmp_path / "batch.sqlite"
    await crashed_row(path)
    replicate.listings = [[prediction("p-old", replicate.wanted)]]
    outcome = await rerun(path)
    assert outcome.ok, outcome.error
    response: VideoGenerationResponse = outcome.unwrap()
    assert response.video == VIDEO_URL and response.request_id == "p-old"
    assert not replicate.create.called
    assert [call.request.url.path for call in replicate.poll.calls] == ["/v1/predictions/p-old"]
    row = stored(path)
    assert row.state is LedgerState.DONE
    assert [job.request_id for job in row.jobs] == ["p-old"]
    assert row.attempts == 1


async def test_a_complete_empty_listing_sends_the_request_once(
    replicate: Replicate, tmp_path: Path
) -> None:
    """(b) Every listing page read (``next`` null) and none is the request's: its create
    never reached Replicate, so it is sent again, exactly once."""
    path = tmp_path / "batch.sqlite"
    await crashed_row(path)
    outcome = await rerun(path)
    assert outcome.ok, outcome.error
    assert outcome.unwrap().request_id == "p-new"
    assert replicate.create.call_count == 1
    assert replicate.listing.call_count == 1
    row = stored(path)
    assert row.state is LedgerState.DONE and row.attempts == 2
    assert TOKEN not in (row.result or "")


async def test_other_requests_in_the_listing_do_not_count(
    replicate: Replicate, tmp_path: Path
) -> None:
    """A listing of other inputs only is still "none of this request": sent once."""
    path = tmp_path / "batch.sqlite"
    await crashed_row(path)
    replicate.listings = [[prediction("p-other", {**replicate.wanted, "prompt": "a dog"})]]
    outcome = await rerun(path)
    assert outcome.ok and replicate.create.call_count == 1


async def test_two_listed_jobs_leave_the_row_flagged(replicate: Replicate, tmp_path: Path) -> None:
    """Two predictions of the request: which is the row's cannot be told; neither is
    adopted and nothing is sent."""
    path = tmp_path / "batch.sqlite"
    await crashed_row(path)
    replicate.listings = [
        [prediction("p-two", replicate.wanted), prediction("p-one", replicate.wanted)]
    ]
    assert_flagged(await rerun(path), replicate, path)
    assert not replicate.poll.called


@pytest.mark.parametrize("listing", ["capped", "refused"])
async def test_an_incomplete_or_failed_listing_leaves_the_row_flagged(
    replicate: Replicate, tmp_path: Path, listing: str
) -> None:
    """(c) A listing cut at the page cap, or refused: "none" cannot be concluded, so the
    row stays flagged and nothing is created; the key is in no part of the outcome."""
    path = tmp_path / "batch.sqlite"
    await crashed_row(path)
    other = prediction("p-other", {**replicate.wanted, "prompt": "a dog"})
    endless = httpx.Response(200, json=page([other], next_url=f"{LIST}?cursor=more"))
    refused = httpx.Response(401, json={"detail": "Invalid token."})
    replicate.listing.mock(
        side_effect=None, return_value=endless if listing == "capped" else refused
    )
    outcome = await rerun(path)
    assert_flagged(outcome, replicate, path)
    assert replicate.listing.call_count == (FIND_PAGES if listing == "capped" else 1)
    assert TOKEN not in str(outcome.error) and TOKEN not in repr(outcome.error)


async def test_a_row_from_before_intents_were_timed_is_never_resent(
    replicate: Replicate, tmp_path: Path
) -> None:
    """(d) A row without ``intended_at`` (an older ledger's): an empty listing proves
    nothing about when its submit went out, so it stays flagged."""
    path = tmp_path / "batch.sqlite"
    await crashed_row(path, timed=False)
    assert_flagged(await rerun(path), replicate, path)
    assert replicate.listing.call_count == 1


async def test_an_untimed_row_still_adopts_its_listed_job(
    replicate: Replicate, tmp_path: Path
) -> None:
    """Without ``intended_at`` the lookup still runs (around ``updated_at``): the one job
    found is adopted."""
    path = tmp_path / "batch.sqlite"
    await crashed_row(path, timed=False)
    replicate.listings = [[prediction("p-old", replicate.wanted)]]
    outcome = await rerun(path)
    assert outcome.ok and outcome.unwrap().request_id == "p-old"
    assert not replicate.create.called


async def test_a_chain_with_a_provider_that_cannot_list_is_never_resent(
    replicate: Replicate, tmp_path: Path
) -> None:
    """(e) Replicate → fal: fal cannot list its jobs, so the dead run's submit may have
    gone to fal; Replicate's empty listing leaves the row flagged, and fal is not called."""
    config = chained(fal())
    path = tmp_path / "batch.sqlite"
    await crashed_row(path, config)
    outcome = await rerun(path, config)
    assert_flagged(outcome, replicate, path)
    assert replicate.listing.call_count == 1
    assert FAL_KEY not in str(outcome.error)


async def test_a_chain_whose_other_member_is_a_mock_is_resent(
    replicate: Replicate, tmp_path: Path
) -> None:
    """Replicate → an enabled mock of fal: a mock creates nothing anyone pays for, so the
    complete empty Replicate listing is conclusive."""
    config = chained(fal(mock=MockConfig(enabled=True)))
    path = tmp_path / "batch.sqlite"
    await crashed_row(path, config)
    outcome = await rerun(path, config)
    assert outcome.ok, outcome.error
    assert replicate.create.call_count == 1


async def test_an_unknown_row_with_an_empty_listing_is_sent_once(
    replicate: Replicate, tmp_path: Path
) -> None:
    """(f) A row ``unknown`` (its create's reply was lost), timed, and a complete empty
    listing: the create never landed, so it is sent again once; a further rerun reads
    the result back and sends nothing."""
    path = tmp_path / "batch.sqlite"
    await crashed_row(path, unknown=True)
    assert stored(path).state is LedgerState.UNKNOWN
    outcome = await rerun(path)
    assert outcome.ok, outcome.error
    assert replicate.create.call_count == 1
    row = stored(path)
    assert row.state is LedgerState.DONE and row.error is None
    again = await rerun(path)
    assert again.ok and again.resumed
    assert replicate.create.call_count == 1


async def test_an_unknown_row_whose_job_is_listed_adopts_it(
    replicate: Replicate, tmp_path: Path
) -> None:
    path = tmp_path / "batch.sqlite"
    await crashed_row(path, unknown=True)
    replicate.listings = [[prediction("p-old", replicate.wanted)]]
    outcome = await rerun(path)
    assert outcome.ok and outcome.unwrap().request_id == "p-old"
    assert not replicate.create.called


# ---------------------------------------------------------------------------------------
# The settle time: an empty listing taken too soon after the dead run is taken again
# ---------------------------------------------------------------------------------------


class Clock:
    """anyio as ``_batch`` sees it, on a clock the test moves: ``sleep`` advances it at
    once (after a checkpoint), so the wait is observed, not spent."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(anyio, name)

    def current_time(self) -> float:
        return self.now

    async def sleep(self, delay: float) -> None:
        self.slept.append(delay)
        self.now += delay
        await anyio.lowlevel.checkpoint()


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(_batch, "FIND_SETTLE", FIND_SETTLE)
    monkeypatch.setattr(_batch, "anyio", clock)
    return clock


async def test_an_early_empty_listing_is_taken_again_after_the_settle_time(
    replicate: Replicate, clock: Clock, tmp_path: Path
) -> None:
    """The first empty listing came right after the ledger was opened: the batch waits
    until FIND_SETTLE after the opening and lists again before sending."""
    path = tmp_path / "batch.sqlite"
    await crashed_row(path)
    outcome = await rerun(path)
    assert outcome.ok, outcome.error
    assert replicate.listing.call_count == 2
    assert clock.slept == [FIND_SETTLE.total_seconds()]
    assert replicate.create.call_count == 1


async def test_a_job_that_lands_during_the_settle_time_is_adopted(
    replicate: Replicate, clock: Clock, tmp_path: Path
) -> None:
    """The dead run's create was still on the wire at the first listing; the second one
    shows it: it is adopted, and nothing is sent (paid) twice."""
    path = tmp_path / "batch.sqlite"
    await crashed_row(path)
    replicate.listings = [[], [prediction("p-old", replicate.wanted)]]
    outcome = await rerun(path)
    assert outcome.ok and outcome.unwrap().request_id == "p-old"
    assert replicate.listing.call_count == 2
    assert not replicate.create.called


async def test_a_listing_after_the_settle_time_is_trusted_at_once(
    replicate: Replicate, clock: Clock, tmp_path: Path
) -> None:
    """An empty listing that came back later than FIND_SETTLE after the opening needs no
    second look: one listing, no wait, one create."""
    path = tmp_path / "batch.sqlite"
    await crashed_row(path)

    def slow_listing() -> None:
        clock.now += FIND_SETTLE.total_seconds() + 1

    replicate.on_list = slow_listing
    outcome = await rerun(path)
    assert outcome.ok, outcome.error
    assert replicate.listing.call_count == 1
    assert clock.slept == []
    assert replicate.create.call_count == 1


async def test_a_listing_that_is_not_conclusive_is_not_taken_again(
    replicate: Replicate, clock: Clock, tmp_path: Path
) -> None:
    """Only a conclusive "none" waits for the settle time: an untimed row's empty listing
    is taken once and the row flagged."""
    path = tmp_path / "batch.sqlite"
    await crashed_row(path, timed=False)
    assert_flagged(await rerun(path), replicate, path)
    assert replicate.listing.call_count == 1
    assert clock.slept == []


# ---------------------------------------------------------------------------------------
# find_submitted itself
# ---------------------------------------------------------------------------------------


async def test_find_submitted_concludes_none_only_when_told_it_may(replicate: Replicate) -> None:
    since = datetime.now(UTC)
    found = await find_submitted(CONFIG, REQUEST, since, may_conclude_none=True)
    assert found.none_exists and found.handle is None
    assert await find_submitted(CONFIG, REQUEST, since, may_conclude_none=False) == UNDECIDED


async def test_find_submitted_never_concludes_none_past_a_member_that_cannot_list(
    replicate: Replicate,
) -> None:
    """Even when the caller allows it, a chain member that cannot list (fal) makes an
    empty listing inconclusive."""
    since = datetime.now(UTC)
    found = await find_submitted(chained(fal()), REQUEST, since, may_conclude_none=True)
    assert found == UNDECIDED
    assert replicate.listing.call_count == 1


async def test_find_submitted_looks_up_to_now_for_an_old_intent(replicate: Replicate) -> None:
    """A row intended two hours ago whose job was created just now (the submit retried
    for long, or the provider's clock runs ahead): the window runs to now, it is found;
    one from before the window's start is not."""
    since = datetime.now(UTC) - timedelta(hours=2)
    early = (since - FIND_WINDOW_BEFORE - timedelta(seconds=1)).isoformat()
    replicate.listings = [
        [
            prediction("p-now", replicate.wanted),
            prediction("p-early", replicate.wanted, created_at=early),
        ]
    ]
    found = await find_submitted(CONFIG, REQUEST, since, may_conclude_none=True)
    assert found.handle is not None and found.handle.request_id == "p-now"
    assert not found.none_exists
    assert found.handle.status_url == f"{LIST}/p-now"


# ---------------------------------------------------------------------------------------
# The ledger and the chain check
# ---------------------------------------------------------------------------------------


def test_never_created_sends_a_row_again_without_its_error() -> None:
    row = LedgerEntry(index=3, key="k", input_hash="h").intend()
    released = row.never_created()
    assert released.state is LedgerState.PENDING
    assert (released.handle, released.error, released.jobs) == (None, None, ())
    assert released.attempts == row.attempts
    unknown = row.mark_unknown('{"message": "lost"}').never_created()
    assert unknown.state is LedgerState.PENDING and unknown.error is None


def test_never_created_refuses_a_row_with_jobs() -> None:
    """A row with a job recorded (a race's) is waited on, never resent."""
    row = LedgerEntry(index=3, key=None, input_hash="h").intend()
    raced = dataclasses.replace(row, jobs=(LedgerJob("p1", '{"request_id": "p1"}', "accepted"),))
    with pytest.raises(TarashException, match="row 3 has jobs recorded"):
        raced.never_created()


def test_never_created_refuses_a_row_not_left_in_flight() -> None:
    done = LedgerEntry(index=0, key=None, input_hash="h").intend().finish("{}")
    with pytest.raises(TarashException, match="cannot go from done to pending"):
        done.never_created()


def test_intend_times_the_intent() -> None:
    row = LedgerEntry(index=0, key=None, input_hash="h")
    assert row.intended_at is None
    intended = row.intend()
    assert intended.intended_at is not None
    assert datetime.fromisoformat(intended.intended_at).tzinfo is not None


# The requests table as ledgers wrote it before intended_at (the jobs column was there).
_OLD_SCHEMA = """
CREATE TABLE requests (
    idx INTEGER PRIMARY KEY,
    user_key TEXT,
    input_hash TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    handle TEXT,
    result TEXT,
    error TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    jobs TEXT
)
"""


async def test_a_ledger_without_the_intended_at_column_gains_it(tmp_path: Path) -> None:
    """(g) An older ledger file opens, gains the column, and reads its rows with
    ``intended_at=None``; a new intent is timed and kept."""
    path = tmp_path / "old.sqlite"
    connection = sqlite3.connect(path)
    with connection:
        connection.execute(_OLD_SCHEMA)
        connection.execute(
            "INSERT INTO requests VALUES (0, 'a', 'h0', 'intent', 1, NULL, NULL, NULL, "
            "'2026-03-01T12:00:00+00:00', '2026-03-01T12:00:01+00:00', NULL)"
        )
    connection.close()
    ledger = SqliteLedger(path)
    await ledger.open()
    try:
        old = await ledger.get(0)
        assert old is not None
        assert (old.state, old.key, old.attempts, old.intended_at) == (
            LedgerState.INTENT,
            "a",
            1,
            None,
        )
        fresh = (await ledger.claim(1, None, "h1")).intend()
        await ledger.save(fresh)
        reread = await ledger.get(1)
        assert reread is not None and reread.intended_at == fresh.intended_at is not None
    finally:
        await ledger.close()
    connection = sqlite3.connect(path)
    columns = [row[1] for row in connection.execute("PRAGMA table_info(requests)")]
    connection.close()
    assert columns[-2:] == ["intended_at", "intent_account"]
    assert columns.count("intended_at") == 1 and columns.count("intent_account") == 1
    # Opened again: the column is not added twice.
    ledger = SqliteLedger(path)
    await ledger.open()
    await ledger.close()


def test_lists_every_job() -> None:
    """Only a chain whose every paid member can list its jobs may conclude "none"."""
    openai = VideoGenerationConfig(provider="openai", model="sora-2", api_key="sk-test")
    assert lists_every_job(CONFIG)
    assert lists_every_job(openai)
    assert lists_every_job(chained(openai))
    assert not lists_every_job(chained(fal()))
    assert not lists_every_job(fal())
    assert lists_every_job(chained(fal(mock=MockConfig(enabled=True))))
    assert not lists_every_job(chained(fal(mock=MockConfig(enabled=False))))
    assert not lists_every_job(chained(openai, fal()))


async def test_an_empty_listing_of_other_accounts_proves_nothing(
    replicate: Replicate, tmp_path: Path
) -> None:
    """The earlier run's intent was made with another key (another account, or a rotated
    key: it cannot be told which) or against another host: this run's listing reads
    other accounts, so its empty answer does not show that the submit made no job. The
    row stays flagged and nothing is sent."""
    for earlier in (
        CONFIG.model_copy(update={"api_key": "r8_another-account-0123456789abcd"}),
        CONFIG.model_copy(update={"base_url": "https://replicate.proxy.test"}),
    ):
        path = tmp_path / f"batch-{replicate.listing.call_count}.sqlite"
        await crashed_row(path, account_of=earlier)
        outcome = await rerun(path)
        assert outcome.error is not None and outcome.error.job_may_exist
    assert replicate.create.call_count == 0


def test_the_accounts_fingerprint_holds_no_key_and_tells_keys_and_hosts_apart(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    mine = chain_account(CONFIG)
    assert mine is not None and TOKEN not in mine and len(mine) == 12
    assert chain_account(CONFIG) == mine  # stable across runs
    assert chain_account(CONFIG.model_copy(update={"api_key": TOKEN + "x"})) != mine
    assert chain_account(CONFIG.model_copy(update={"base_url": BASE + ":8443"})) != mine
    # A chain that cannot be listed whole, or a key that cannot be read, has none.
    assert chain_account(chained(fal())) is None
    monkeypatch.delenv("REPLICATE_API_TOKEN", raising=False)
    assert chain_account(CONFIG.model_copy(update={"api_key": None})) is None


def test_the_settle_time_is_five_seconds_unless_the_environment_says_otherwise(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """FIND_SETTLE is 5 s; TARASH_FIND_SETTLE_SECONDS (what tests that rerun a killed batch
    set) overrides it, and a value that is no number of seconds >= 0 leaves the default,
    with a warning."""
    assert timedelta(seconds=5) == FIND_SETTLE
    monkeypatch.delenv(FIND_SETTLE_VARIABLE, raising=False)
    assert find_settle(FIND_SETTLE) == FIND_SETTLE
    monkeypatch.setenv(FIND_SETTLE_VARIABLE, "0.25")
    assert find_settle(FIND_SETTLE) == timedelta(seconds=0.25)
    for wrong in ("soon", "-1", "nan", "inf"):
        monkeypatch.setenv(FIND_SETTLE_VARIABLE, wrong)
        caplog.clear()
        assert find_settle(FIND_SETTLE) == FIND_SETTLE
        assert FIND_SETTLE_VARIABLE in caplog.text


async def test_the_settle_time_from_the_environment_is_the_one_waited(
    replicate: Replicate, clock: Clock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch run waits the settle time TARASH_FIND_SETTLE_SECONDS gives before it lists
    again and sends."""
    monkeypatch.setenv(FIND_SETTLE_VARIABLE, "0.5")
    path = tmp_path / "batch.sqlite"
    await crashed_row(path)
    outcome = await rerun(path)
    assert outcome.ok, outcome.error
    assert replicate.listing.call_count == 2
    assert clock.slept == [0.5]
    assert replicate.create.call_count == 1
