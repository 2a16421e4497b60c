"""The batch ledger: its state machine, SQLite persistence, the run lock and the codec."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import anyio
import pytest

from tarash.tarash_gateway import (
    Ledger,
    LedgerEntry,
    LedgerState,
    SqliteLedger,
    TarashException,
    ValidationError,
)
from tarash.tarash_gateway.batch._batch_codec import (
    dump_error,
    dump_response,
    input_hash,
    load_error,
    load_response,
)
from tarash.tarash_gateway.batch._ledger import open_ledger
from tarash.tarash_gateway.errors import RateLimitError
from tarash.tarash_gateway.errors import TimeoutError as TarashTimeoutError
from tarash.tarash_gateway.models import (
    ImageGenerationResponse,
    VideoGenerationConfig,
    VideoGenerationRequest,
    VideoGenerationResponse,
)

pytestmark = pytest.mark.anyio

SECRET = "sk-ledger-canary-0123456789"
CONFIG = VideoGenerationConfig(provider="fal", model="fal-ai/veo3", api_key=SECRET)
REQUEST = VideoGenerationRequest(prompt="a cat", duration_seconds=4)


def entry(state: LedgerState = LedgerState.PENDING) -> LedgerEntry:
    return LedgerEntry(index=0, key="k", input_hash="h", state=state)


def test_the_happy_path_moves_pending_intent_submitted_done() -> None:
    """A request's row goes pending → intent (attempt counted) → submitted → done."""
    row = entry().intend()
    assert (row.state, row.attempts) == (LedgerState.INTENT, 1)
    row = row.accept('{"h": 1}')
    assert (row.state, row.handle) == (LedgerState.SUBMITTED, '{"h": 1}')
    row = row.finish('{"r": 1}')
    assert (row.state, row.result, row.handle) == (LedgerState.DONE, '{"r": 1}', '{"h": 1}')


def test_a_stopped_batch_leaves_rows_resumable() -> None:
    """Stopped before a job could exist the row is pending again; stopped while its job
    ran it is cancelled with the handle kept, and may be sent again (a new intent)."""
    assert entry().intend().release().state is LedgerState.PENDING
    cancelled = entry().intend().accept("{}").cancel()
    assert (cancelled.state, cancelled.handle) == (LedgerState.CANCELLED, "{}")
    again = cancelled.intend()
    assert (again.state, again.attempts) == (LedgerState.INTENT, 2)


@pytest.mark.parametrize(
    ("state", "move"),
    [
        (LedgerState.PENDING, "accept"),
        (LedgerState.PENDING, "finish"),
        (LedgerState.DONE, "intend"),
        (LedgerState.DONE, "fail"),
        (LedgerState.UNKNOWN, "intend"),
        (LedgerState.FAILED, "intend"),
        (LedgerState.SUBMITTED, "release"),
        (LedgerState.SUBMITTED, "mark_unknown"),
    ],
)
def test_moves_the_state_machine_does_not_allow_are_refused(state: LedgerState, move: str) -> None:
    """A finished row is never sent again, a submitted one never forgets its job."""
    method = getattr(entry(state), move)
    with pytest.raises(TarashException, match=f"cannot go from {state.value}"):
        method() if move in ("intend", "release", "cancel") else method("{}")


@pytest.mark.parametrize("state", [LedgerState.INTENT, LedgerState.UNKNOWN, LedgerState.FAILED])
def test_reset_is_the_users_way_to_send_a_row_again(state: LedgerState) -> None:
    """Only reset() takes an intent or unknown row back to pending (the user decided)."""
    row = entry(state).reset()
    assert (row.state, row.handle, row.error) == (LedgerState.PENDING, None, None)


async def test_sqlite_ledger_keeps_rows_across_opens(tmp_path: Path) -> None:
    """Claim creates a pending row once; saved states are read back by the next run."""
    path = tmp_path / "batch.sqlite"
    ledger = SqliteLedger(path)
    assert isinstance(ledger, Ledger)
    await ledger.open()
    first = await ledger.claim(3, "k3", "hash3")
    assert first.state is LedgerState.PENDING
    await ledger.save(first.intend().accept('{"id": "j3"}'))
    await ledger.close()

    again = SqliteLedger(path)
    await again.open()
    try:
        row = await again.claim(3, "other", "other-hash")  # the stored row wins
        assert (row.key, row.input_hash, row.state) == ("k3", "hash3", LedgerState.SUBMITTED)
        assert row.handle == '{"id": "j3"}'
        assert await again.get(4) is None
        counts = await again.counts()
        assert counts[LedgerState.SUBMITTED] == 1 and counts[LedgerState.DONE] == 0
    finally:
        await again.close()
    assert [row.index for row in again.entries()] == [3]


async def test_concurrent_writes_are_committed_together_and_all_land(tmp_path: Path) -> None:
    """Many writes at once (one commit per round) all reach the file."""
    import anyio

    ledger = SqliteLedger(tmp_path / "batch.sqlite")
    await ledger.open()
    try:
        async with anyio.create_task_group() as group:
            for index in range(200):

                async def write(index: int = index) -> None:
                    row = await ledger.claim(index, None, f"h{index}")
                    await ledger.save(row.intend())

                group.start_soon(write)
        counts = await ledger.counts()
    finally:
        await ledger.close()
    assert counts[LedgerState.INTENT] == 200


async def test_a_second_run_on_the_same_ledger_is_refused(tmp_path: Path) -> None:
    """Two runs never work one ledger at once (they could both send a request)."""
    path = tmp_path / "batch.sqlite"
    first, second = SqliteLedger(path), SqliteLedger(path)
    await first.open()
    try:
        with pytest.raises(ValidationError, match="in use by another run"):
            await second.open()
    finally:
        await first.close()
    await second.open()  # free again once the first run closed it
    await second.close()


on_linux = pytest.mark.skipif(
    not sys.platform.startswith("linux"),
    reason="the lock is on the database file itself where flock is its own lock family",
)


async def refused(spelling: Path) -> None:
    other = SqliteLedger(spelling)
    with pytest.raises(ValidationError, match="in use by another run") as caught:
        await other.open()
    assert str(spelling) in caught.value.message  # the error names the ledger it refused
    await other.close()


@on_linux
async def test_a_second_run_by_a_hard_link_or_after_a_rename_is_refused(tmp_path: Path) -> None:
    """The lock is the database file's, not its name's: a hard link to the ledger, and the
    ledger renamed while a run works, meet it (either run would otherwise send every
    request again); a symlink does too; the file is free again once the run closes."""
    path = tmp_path / "batch.sqlite"
    holder = SqliteLedger(path)
    await holder.open()
    try:
        await holder.save(await holder.claim(0, "k", "h"))
        os.link(path, tmp_path / "hard.sqlite")
        (tmp_path / "soft.sqlite").symlink_to(path)
        for spelling in (path, tmp_path / "hard.sqlite", tmp_path / "soft.sqlite"):
            await refused(spelling)
        path.rename(tmp_path / "renamed.sqlite")
        await refused(tmp_path / "renamed.sqlite")
        await refused(tmp_path / "hard.sqlite")
        # The run still works on its file, and a refused open dropped none of its locks.
        await holder.save((await holder.get(0)).intend())  # type: ignore[union-attr]
    finally:
        await holder.close()
    again = SqliteLedger(tmp_path / "hard.sqlite")
    await again.open()
    try:
        assert (await again.get(0)).state is LedgerState.INTENT  # type: ignore[union-attr]
    finally:
        await again.close()
    assert not (tmp_path / "batch.sqlite.lock").exists()  # no lock file left beside it


HOLDER = """
import sys

import anyio

from tarash.tarash_gateway import SqliteLedger


async def main() -> None:
    ledger = SqliteLedger(sys.argv[1])
    await ledger.open()
    print("held", flush=True)
    await anyio.to_thread.run_sync(sys.stdin.read)  # held until killed


anyio.run(main)
"""


@on_linux
def test_another_process_holding_the_ledger_refuses_every_name_until_it_dies(
    tmp_path: Path,
) -> None:
    """A run in another process holds the ledger: this one is refused by its path, a hard
    link, a symlink and its new name after a rename; killed with SIGKILL, it leaves no
    stale lock behind."""
    path = tmp_path / "batch.sqlite"
    with subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    ) as child:
        try:
            assert child.stdout is not None
            assert child.stdout.readline() == "held\n"
            os.link(path, tmp_path / "hard.sqlite")
            (tmp_path / "soft.sqlite").symlink_to(path)
            for spelling in (path, tmp_path / "hard.sqlite", tmp_path / "soft.sqlite"):
                anyio.run(refused, spelling)
            path.rename(tmp_path / "renamed.sqlite")
            anyio.run(refused, tmp_path / "renamed.sqlite")
        finally:
            child.kill()
            child.wait()
    assert child.returncode == -signal.SIGKILL
    again = SqliteLedger(tmp_path / "renamed.sqlite")
    anyio.run(again.open)  # the kernel dropped the dead run's lock
    anyio.run(again.close)


async def test_a_file_that_is_not_a_ledger_is_a_clear_error(tmp_path: Path) -> None:
    """Pointing ledger= at some other file fails before any request runs."""
    path = tmp_path / "notes.txt"
    path.write_bytes(b"not a database, just some text that is long enough" * 20)
    with pytest.raises(ValidationError, match="not a tarash ledger"):
        await SqliteLedger(path).open()


@pytest.mark.timeout(20)  # the other reads of the commit used to wait for good
async def test_a_row_that_cannot_be_read_fails_only_its_own_read(tmp_path: Path) -> None:
    """A row in a state a later version wrote is refused (a ValidationError naming the
    ledger, the row, its key and the column) by the read that meets it; the reads
    committed with it get their rows, and the ledger goes on working."""
    path = tmp_path / "batch.sqlite"
    ledger = SqliteLedger(path)
    await ledger.open()
    for index in range(5):
        await ledger.claim(index, f"k{index}", "h")
    await ledger.close()
    with sqlite3.connect(path) as connection:
        connection.execute("UPDATE requests SET state = 'archived' WHERE idx = 2")
    read: dict[int, LedgerEntry | None] = {}
    refused: list[ValidationError] = []

    async def claim(index: int) -> None:
        try:
            read[index] = await ledger.claim(index, f"k{index}", "h")
        except ValidationError as exc:
            refused.append(exc)

    await ledger.open()
    try:
        async with anyio.create_task_group() as group:  # one commit round for them all
            for index in range(5):
                group.start_soon(claim, index)
        assert sorted(read) == [0, 1, 3, 4]
        (error,) = refused
        for named in (str(path), "requests[2]", "'k2'", "its state column", "'archived'"):
            assert named in error.message, (named, error.message)
        assert error.job_may_exist
        with pytest.raises(ValidationError, match="'archived'"):
            await ledger.counts()
        await ledger.save((await ledger.get(0)).intend())  # type: ignore[union-attr]
        assert (await ledger.get(0)).state is LedgerState.INTENT  # type: ignore[union-attr]
    finally:
        await ledger.close()


def test_open_ledger_takes_a_path_a_ledger_or_none(tmp_path: Path) -> None:
    """A path becomes a SqliteLedger; anything else is refused by name."""
    assert open_ledger(None) is None
    assert isinstance(open_ledger(str(tmp_path / "a.sqlite")), SqliteLedger)
    ledger = SqliteLedger(tmp_path / "b.sqlite")
    assert open_ledger(ledger) is ledger
    with pytest.raises(ValidationError, match="ledger must be a path or a Ledger"):
        open_ledger(42)  # type: ignore[arg-type]


def test_the_input_hash_ignores_the_key_and_sees_every_other_change() -> None:
    """Moving the key to the environment is the same input; a changed prompt is not."""
    same = input_hash(CONFIG.model_copy(update={"api_key": None}), REQUEST)
    assert input_hash(CONFIG, REQUEST) == same
    assert SECRET not in same
    other = VideoGenerationRequest(prompt="a dog", duration_seconds=4)
    assert input_hash(CONFIG, other) != same
    assert input_hash(CONFIG.model_copy(update={"model": "fal-ai/kling"}), REQUEST) != same


def test_responses_and_errors_round_trip_without_the_key() -> None:
    """What the ledger stores reads back as the same response / error class, keyless."""
    response = VideoGenerationResponse(
        request_id="j1",
        video=b"\x00\x01mp4",
        content_type="video/mp4",
        provider="fal",
        model="fal-ai/veo3",
        raw_response={"echo": f"Key {SECRET}"},
    )
    text = dump_response(response, [SECRET])
    assert SECRET not in text
    restored = load_response(text)
    assert isinstance(restored, VideoGenerationResponse)
    assert restored.video == "data:video/mp4;base64,AAFtcDQ="
    error = RateLimitError(f"slow down {SECRET}", "fal", "fal-ai/veo3", status_code=429)
    error.retry_after = 3.0
    stored = dump_error(error, [SECRET])
    assert SECRET not in stored
    back = load_error(stored)
    assert isinstance(back, RateLimitError)
    assert (back.status_code, back.retry_after, back.provider) == (429, 3.0, "fal")
    timeout = load_error(dump_error(TarashTimeoutError("late", timeout_seconds=5.0), []))
    assert isinstance(timeout, TarashTimeoutError) and timeout.timeout_seconds == 5.0


def test_the_published_result_shapes_round_trip() -> None:
    """A MediaContent video reads back as the same dict (bytes and type), data: URI images
    as themselves, and both still save their bytes' shape."""
    content = {"content": b"\x00\x00\x00\x18ftypmp42", "content_type": "video/mp4"}
    video = VideoGenerationResponse(request_id="v", video=content, content_type="video/mp4")
    restored = load_response(dump_response(video, []))
    assert isinstance(restored, VideoGenerationResponse)
    assert restored.video == content
    uri = "data:image/png;base64,iVBORw0KGgo="
    images = ImageGenerationResponse(request_id="i", images=[uri, "https://cdn.test/a.png"])
    back = load_response(dump_response(images, []))
    assert isinstance(back, ImageGenerationResponse)
    assert back.images == [uri, "https://cdn.test/a.png"]


def test_a_row_keeps_every_job_accepted_and_stays_intent_while_a_submit_is_in_flight() -> None:
    """Two racers: the first job accepted while the second submit is in flight leaves the
    row 'intent' with one job; the second settles it 'submitted' with both."""
    row = entry().intend().intend()
    first = row.accept('{"request_id": "a"}', settled=False)
    assert first.state is LedgerState.INTENT
    assert [job.request_id for job in first.jobs] == ["a"]
    both = first.accept('{"request_id": "b"}')
    assert both.state is LedgerState.SUBMITTED
    assert [(job.request_id, job.outcome) for job in both.jobs] == [
        ("a", "accepted"),
        ("b", "accepted"),
    ]
    ended = both.job_ended("a", "cancelled").job_ended("b", "failed")
    assert [job.request_id for job in ended.live_jobs()] == ["a"]  # a cancel may lose
    assert ended.fail("{}").reset().jobs == ()  # the user resends: a fresh start


async def test_an_older_ledger_without_a_jobs_column_gains_it_and_keeps_its_handle(
    tmp_path: Path,
) -> None:
    """A ledger written before the jobs column: opening it adds the column, and each row's
    one handle reads back as its one job."""

    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as connection:
        connection.execute(
            "CREATE TABLE requests (idx INTEGER PRIMARY KEY, user_key TEXT, input_hash TEXT "
            "NOT NULL, state TEXT NOT NULL, attempts INTEGER NOT NULL, handle TEXT, result "
            "TEXT, error TEXT, created_at TEXT NOT NULL, updated_at TEXT NOT NULL)"
        )
        connection.execute(
            "INSERT INTO requests VALUES (0, 'k', 'h', 'submitted', 1, "
            "'{\"request_id\": \"old-job\"}', NULL, NULL, 't', 't')"
        )
    ledger = SqliteLedger(path)
    await ledger.open()
    try:
        row = await ledger.get(0)
        assert row is not None and row.state is LedgerState.SUBMITTED
        assert [(job.request_id, job.outcome) for job in row.jobs] == [("old-job", "accepted")]
        await ledger.save(row.accept('{"request_id": "new-job"}'))
        saved = await ledger.get(0)
        assert saved is not None
        assert [job.request_id for job in saved.jobs] == ["old-job", "new-job"]
    finally:
        await ledger.close()
