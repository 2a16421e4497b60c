"""The batch ledger: one durable row per request, so a batch survives a crash.

Each request of a batch moves through these states (:class:`LedgerState`)::

    pending ──> intent ──> submitted ──> done | failed
       ^          │  │         │  ^
       │          │  │         v  │ (resumed: resubmit, or the next fallback)
       └──────────┘  │     cancelled
      (cancelled      │
       before a job   └──> unknown  (the submit may have created a job; never resent)
       could exist)

``intent`` is written (and committed) before a submit is sent, ``submitted`` with the
provider's :class:`~tarash.tarash_gateway.models.JobHandle` as soon as the provider
accepts the job. A crash between the two leaves ``intent``: the job may exist and be
paid for, so a rerun never resends it but reports it (``job_may_exist``); the user
decides, and :meth:`LedgerEntry.reset` puts it back to ``pending``; where the provider
can find the job by its request, a rerun records its handle instead
(:meth:`LedgerEntry.recover`: ``intent``/``unknown`` -> ``submitted``). ``cancelled`` keeps
the handle of a job the batch cancelled when it was stopped: a rerun asks the provider
where it stands, reads it if it finished anyway, and resubmits only if it is over.

A request may hold several jobs: a hedged race's racers, and a chain's fallbacks. Each
accepted job is kept in the row's ``jobs`` (with how it ended, once known), so that a
rerun after a crash waits on every job that may still succeed, cancels the others
remotely, and never resubmits while one may: an orphaned job would be paid for and
never followed. A row stays ``intent`` while any of its submits is in flight.

A row this version cannot read (a state or job outcome a later version wrote, a column
that is not JSON) is never guessed at: reading it raises a ``ValidationError`` naming the
ledger, the row and the column, and the batch reports it as that request's error, leaving
the row as it is and sending nothing for it (it may have a paid job).

The ledger stores the index, the user's key, a hash of the input (never the input), the
handle, and the result or error as JSON. Never a key: the batch scrubs what it writes.

:class:`Ledger` is the interface (a shared database can back it when batches span
machines); :class:`SqliteLedger` is the embedded default (stdlib ``sqlite3`` in WAL mode,
its calls on a worker thread, concurrent writes committed together).
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import json
import os
import sqlite3
import stat
import sys
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, Protocol, TypeVar, get_args, runtime_checkable

import anyio
import anyio.to_thread

from tarash.tarash_gateway.errors import TarashException, ValidationError

__all__ = ["Ledger", "LedgerEntry", "LedgerJob", "LedgerState", "SqliteLedger", "open_ledger"]

T = TypeVar("T")


class LedgerState(enum.StrEnum):
    """Where one request of a batch stands in the ledger."""

    PENDING = "pending"
    """Not sent; a run sends it."""
    INTENT = "intent"
    """About to be sent (or sent, its reply not recorded): a run never resends it."""
    SUBMITTED = "submitted"
    """Accepted by the provider; the row holds the job's handle, a run waits on it."""
    CANCELLED = "cancelled"
    """Cancelled by a stopped batch; the handle is kept, a run reads it or resends."""
    DONE = "done"
    """Finished; the row holds the result, a run yields it again."""
    FAILED = "failed"
    """Failed for good; the row holds the error, a run yields it again."""
    UNKNOWN = "unknown"
    """The submit failed in a way that may have created a job: never resent."""

    @property
    def is_final(self) -> bool:
        """Whether a run only reports the row (it sends nothing for it)."""
        return self in (LedgerState.DONE, LedgerState.FAILED, LedgerState.UNKNOWN)


# state -> the states it may move to; anything else is a bug or a ledger edited by hand.
_TRANSITIONS: dict[LedgerState, frozenset[LedgerState]] = {
    LedgerState.PENDING: frozenset({LedgerState.INTENT, LedgerState.FAILED}),
    LedgerState.INTENT: frozenset(
        {
            LedgerState.INTENT,  # the next config of a chain whose first submit sent nothing
            LedgerState.SUBMITTED,
            LedgerState.PENDING,
            LedgerState.UNKNOWN,
            LedgerState.DONE,
            LedgerState.FAILED,
        }
    ),
    LedgerState.SUBMITTED: frozenset(
        {
            LedgerState.SUBMITTED,  # another job of the request accepted (a race, a fallback)
            LedgerState.CANCELLED,
            LedgerState.INTENT,
            LedgerState.DONE,
            LedgerState.FAILED,
        }
    ),
    LedgerState.CANCELLED: frozenset(
        {LedgerState.SUBMITTED, LedgerState.INTENT, LedgerState.DONE, LedgerState.FAILED}
    ),
    LedgerState.DONE: frozenset(),
    LedgerState.FAILED: frozenset({LedgerState.PENDING}),
    # SUBMITTED: the job was found at the provider by its request (LedgerEntry.recover).
    LedgerState.UNKNOWN: frozenset({LedgerState.PENDING, LedgerState.SUBMITTED}),
}


def _now() -> str:
    return datetime.now(UTC).isoformat()


JobOutcome = Literal["accepted", "cancelled", "done", "failed"]
_JOB_OUTCOMES: frozenset[str] = frozenset(get_args(JobOutcome))


@dataclasses.dataclass(frozen=True, slots=True)
class LedgerJob:
    """One job a request's submits created, and how it ended as far as the row knows.

    Attributes:
        request_id: The provider's job id.
        handle: The job's handle as JSON.
        outcome: ``"accepted"`` (running, or its end not recorded), ``"cancelled"``,
            ``"done"`` or ``"failed"``.
    """

    request_id: str
    handle: str
    outcome: JobOutcome = "accepted"

    @property
    def may_succeed(self) -> bool:
        """Whether a rerun waits on it: anything but a recorded failure (a cancelled job
        may have finished before its cancel arrived; a done one is read again)."""
        return self.outcome != "failed"


def _request_id(handle: str) -> str:
    try:
        value = json.loads(handle).get("request_id")
    except (ValueError, AttributeError):
        value = None
    return str(value) if value is not None else handle


def _dump_jobs(jobs: tuple[LedgerJob, ...]) -> str | None:
    if not jobs:
        return None
    return json.dumps(
        [{"request_id": j.request_id, "handle": j.handle, "outcome": j.outcome} for j in jobs]
    )


def _load_jobs(text: str | None, handle: str | None) -> tuple[LedgerJob, ...]:
    """The row's jobs; a row written before the column existed has its one handle.

    Raises:
        ValueError: ``text`` is not the list of jobs :func:`_dump_jobs` writes (the
            message says how, to follow "the jobs column").
    """
    if text is None:
        return () if handle is None else (LedgerJob(_request_id(handle), handle),)
    try:
        items = json.loads(text)
    except ValueError as exc:
        raise ValueError(f"is not JSON ({exc})") from exc
    if not isinstance(items, list):
        raise ValueError(f"is a JSON {type(items).__name__}, not a list of jobs")
    jobs: list[LedgerJob] = []
    for item in items:
        fields = item if isinstance(item, dict) else {}
        request_id, job_handle, outcome = (
            fields.get(name) for name in ("request_id", "handle", "outcome")
        )
        if not (isinstance(request_id, str) and isinstance(job_handle, str)):
            raise ValueError("holds a job without its request_id and handle")
        if outcome not in _JOB_OUTCOMES:
            raise ValueError(
                f"holds a job whose outcome {_shown(outcome)} this version of tarash does not know"
            )
        jobs.append(LedgerJob(request_id, job_handle, outcome))
    return tuple(jobs)


def _shown(value: object) -> str:
    """A stored value for a message: short (a hostile row may hold anything)."""
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:57]}..."


def unreadable_row(
    ledger: str, index: int, key: str | None, column: str, reason: str
) -> ValidationError:
    """The error of a ledger row this version cannot read (a later version's, or one
    edited by hand): it names the ledger, the row and the column; the row is left as it
    is and its request not sent (``job_may_exist``: it may have a paid job).

    Args:
        ledger: The ledger, as its messages show it.
        index: The row's index.
        key: The row's key.
        column: The column that cannot be read.
        reason: How it cannot, following "its <column> column".
    """
    return ValidationError(
        f"the ledger {ledger} has a row this version of tarash cannot read: requests[{index}] "
        f"(key {key!r}), its {column} column {reason}. The row is left as it is and its "
        "request is not sent (a job may exist, paid for): finish it with the tarash version "
        "that wrote it, or start a new ledger",
        fallback_allowed=False,
        job_may_exist=True,
    )


@dataclasses.dataclass(frozen=True, slots=True)
class LedgerEntry:
    """One request's row: what was asked (as a hash), where it stands, what came of it.

    Entries are immutable; each transition returns the next entry (and refuses a move the
    state machine does not allow), which the batch then saves.

    Attributes:
        index: The request's position in the batch's input, from 0.
        key: The user's key for the request, if one was given.
        input_hash: SHA-256 of the canonical JSON of the config (without keys) and request.
        state: Where the request stands.
        attempts: Submits started for it (intents recorded), across runs.
        handle: The provider job's handle as JSON, once one was accepted (the latest).
        result: The response as JSON, when done.
        error: The error as JSON, when failed or unknown.
        created_at: When the row was first written (ISO 8601, UTC).
        updated_at: When it last changed (ISO 8601, UTC).
        jobs: Every job the request's submits created, in the order they were accepted.
        intended_at: When its latest submit was announced (ISO 8601, UTC): where a rerun
            looks for a job that submit may have created. ``None`` in a row written
            before the column existed.
        intent_account: A one-way fingerprint of the keys and API hosts the chain used
            when that submit was announced (never a key): a rerun concludes that the
            submit made no job only by listing the same accounts. ``None`` when unknown.
    """

    index: int
    key: str | None
    input_hash: str
    state: LedgerState = LedgerState.PENDING
    attempts: int = 0
    handle: str | None = None
    result: str | None = None
    error: str | None = None
    created_at: str = dataclasses.field(default_factory=_now)
    updated_at: str = dataclasses.field(default_factory=_now)
    jobs: tuple[LedgerJob, ...] = ()
    intended_at: str | None = None
    intent_account: str | None = None

    def __repr__(self) -> str:
        return (
            f"LedgerEntry(index={self.index}, key={self.key!r}, state={self.state.value!r}, "
            f"attempts={self.attempts}, jobs={len(self.jobs)})"
        )

    def _move(self, state: LedgerState, **changes: Any) -> LedgerEntry:
        if state not in _TRANSITIONS[self.state]:
            raise TarashException(
                f"ledger row {self.index} cannot go from {self.state.value} to {state.value} "
                "(was the ledger changed by another run or by hand?)"
            )
        return dataclasses.replace(self, state=state, updated_at=_now(), **changes)

    def intend(self, *, account: str | None = None) -> LedgerEntry:
        """A submit is about to be sent (committed before it is).

        Args:
            account: The chain's accounts' fingerprint (:attr:`intent_account`), if known.
        """
        return self._move(
            LedgerState.INTENT,
            attempts=self.attempts + 1,
            intended_at=_now(),
            intent_account=account,
        )

    def _with_job(self, handle: str, outcome: JobOutcome) -> tuple[LedgerJob, ...]:
        request_id = _request_id(handle)
        kept = tuple(job for job in self.jobs if job.request_id != request_id)
        return (*kept, LedgerJob(request_id, handle, outcome))

    def accept(
        self, handle: str, *, settled: bool = True, outcome: JobOutcome = "accepted"
    ) -> LedgerEntry:
        """The provider accepted a job: keep its handle (JSON) beside the request's others.

        Args:
            handle: The job's handle as JSON.
            settled: No other submit of the request is in flight; if one is, the row stays
                ``intent`` (a crash now may leave a job nobody recorded).
            outcome: How the job stands (``"cancelled"``: a stopped submit's job).
        """
        state = LedgerState.SUBMITTED if settled else LedgerState.INTENT
        return self._move(state, handle=handle, jobs=self._with_job(handle, outcome))

    def settle(self) -> LedgerEntry:
        """The last submit in flight ended without a job: an ``intent`` row whose other
        jobs are recorded is ``submitted``."""
        return self._move(LedgerState.SUBMITTED)

    def job_ended(self, request_id: str, outcome: JobOutcome) -> LedgerEntry:
        """Record how one of the row's jobs ended (the row's state is unchanged)."""
        jobs = tuple(
            dataclasses.replace(job, outcome=outcome) if job.request_id == request_id else job
            for job in self.jobs
        )
        return dataclasses.replace(self, jobs=jobs, updated_at=_now())

    def live_jobs(self) -> tuple[LedgerJob, ...]:
        """The jobs a rerun waits on (every one not recorded failed)."""
        return tuple(job for job in self.jobs if job.may_succeed)

    def recover(self, handle: str) -> LedgerEntry:
        """The job of a row left ``intent`` or ``unknown`` was found at the provider (by
        its request): keep its handle (JSON), as if its submit's reply had been heard."""
        return self._move(
            LedgerState.SUBMITTED,
            handle=handle,
            error=None,
            jobs=self._with_job(handle, "accepted"),
        )

    def never_created(self) -> LedgerEntry:
        """A row left ``intent`` or ``unknown`` with no job recorded, whose provider's
        complete listing shows its submit created none: back to pending, sent again."""
        if self.jobs:
            raise TarashException(
                f"ledger row {self.index} has jobs recorded: it is waited on, not resent"
            )
        return self._move(LedgerState.PENDING, handle=None, error=None)

    def release(self) -> LedgerEntry:
        """Stopped before any job could exist: back to pending."""
        return self._move(LedgerState.PENDING, handle=None, jobs=())

    def cancel(self) -> LedgerEntry:
        """The batch stopped and cancelled the job; its handle is kept for the rerun."""
        return self._move(LedgerState.CANCELLED)

    def finish(self, result: str) -> LedgerEntry:
        """The request succeeded: keep the response (JSON)."""
        return self._move(LedgerState.DONE, result=result, error=None)

    def fail(self, error: str) -> LedgerEntry:
        """The request failed for good: keep the error (JSON)."""
        return self._move(LedgerState.FAILED, error=error)

    def mark_unknown(self, error: str) -> LedgerEntry:
        """The submit failed after it may have created a job: keep the error (JSON)."""
        return self._move(LedgerState.UNKNOWN, error=error)

    def reset(self) -> LedgerEntry:
        """Send the request again on the next run (the user's decision, for a row in
        ``intent``, ``unknown`` or ``failed``: a job may exist and be paid twice)."""
        return self._move(LedgerState.PENDING, handle=None, error=None, jobs=())


@runtime_checkable
class Ledger(Protocol):
    """Where a batch keeps one durable row per request (see :class:`LedgerEntry`).

    Implement it over a shared database to resume batches across machines; every method
    must have committed durably when it returns (a crash right after may not lose it), and
    must not block the event loop. :class:`SqliteLedger` is the embedded default.
    """

    async def open(self) -> None:
        """Prepare the store (create tables, take the lock); called once per run."""
        ...

    async def close(self) -> None:
        """Release what :meth:`open` took; called once per run, however it ended."""
        ...

    async def claim(self, index: int, key: str | None, input_hash: str) -> LedgerEntry:
        """Return the row at ``index``, creating it (``pending``) if there is none.

        Raises:
            ValidationError: ``key`` is another index's key already (a ledger that can
                tell cheaply refuses it; the request is then not sent).
        """
        ...

    async def get(self, index: int) -> LedgerEntry | None:
        """Return the row at ``index``, if there is one."""
        ...

    async def save(self, entry: LedgerEntry) -> None:
        """Write ``entry`` over the row of its index, durably."""
        ...

    async def counts(self) -> dict[LedgerState, int]:
        """How many rows are in each state."""
        ...


_SCHEMA = """
CREATE TABLE IF NOT EXISTS requests (
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
    jobs TEXT,
    intended_at TEXT,
    intent_account TEXT
)
"""
# Added after the first release: a ledger written before them gains the columns (jobs
# NULL: the row's one handle is its only job; intended_at or intent_account NULL:
# unknown, so a lookup of its job can adopt one but never conclude that none exists).
_ADDED_COLUMNS = {
    "jobs": "ALTER TABLE requests ADD COLUMN jobs TEXT",
    "intended_at": "ALTER TABLE requests ADD COLUMN intended_at TEXT",
    "intent_account": "ALTER TABLE requests ADD COLUMN intent_account TEXT",
}
# Keys are looked up on every claim (a key given twice is refused): indexed, so a claim
# stays one B-tree probe however long the batch.
_KEY_INDEX = "CREATE INDEX IF NOT EXISTS requests_user_key ON requests (user_key)"
_COLUMNS = (
    "idx, user_key, input_hash, state, attempts, handle, result, error, created_at, "
    "updated_at, jobs, intended_at, intent_account"
)
_PLACEHOLDERS = ",".join("?" * len(_COLUMNS.split(",")))


def _is_timestamp(value: object) -> bool:
    """Whether ``value`` is an ISO 8601 time with its zone, as :func:`_now` writes."""
    if not isinstance(value, str):
        return False
    try:
        return datetime.fromisoformat(value).tzinfo is not None
    except ValueError:
        return False


def _row_to_entry(row: tuple[Any, ...], ledger: str) -> LedgerEntry:
    """The row as an entry.

    Every column a run decides by is checked here, so that a row this version cannot read
    is refused as that row's error before anything acts on it; a state from a later
    version in particular is never guessed at (its row is left untouched, its request
    never sent: it may have a paid job).

    Raises:
        ValidationError: A column cannot be read (:func:`unreadable_row`).
    """
    index, key = row[0], row[1]
    try:
        state = LedgerState(row[3])
    except ValueError:
        raise unreadable_row(
            ledger,
            index,
            key,
            "state",
            f"is {_shown(row[3])}, a state this version of tarash does not know (was it "
            "written by a later version?)",
        ) from None
    if isinstance(row[4], bool) or not isinstance(row[4], int):
        raise unreadable_row(ledger, index, key, "attempts", f"is {_shown(row[4])}, not a count")
    try:
        jobs = _load_jobs(row[10], row[5])
    except ValueError as exc:
        raise unreadable_row(ledger, index, key, "jobs", str(exc)) from exc
    # A row left intent or unknown is looked for at its provider from its intent's time
    # (its last update's, in a row written before intents were timed).
    times = [("intended_at", row[11])]
    if row[11] is None and state in (LedgerState.INTENT, LedgerState.UNKNOWN):
        times.append(("updated_at", row[9]))
    for column, value in times:
        if value is not None and not _is_timestamp(value):
            raise unreadable_row(
                ledger, index, key, column, f"is {_shown(value)}, not a time with its zone"
            )
    return LedgerEntry(
        index=index,
        key=key,
        input_hash=row[2],
        state=state,
        attempts=row[4],
        handle=row[5],
        result=row[6],
        error=row[7],
        created_at=row[8],
        updated_at=row[9],
        jobs=jobs,
        intended_at=row[11],
        intent_account=row[12],
    )


def _entry_to_row(entry: LedgerEntry) -> tuple[Any, ...]:
    return (
        entry.index,
        entry.key,
        entry.input_hash,
        entry.state.value,
        entry.attempts,
        entry.handle,
        entry.result,
        entry.error,
        entry.created_at,
        entry.updated_at,
        _dump_jobs(entry.jobs),
        entry.intended_at,
        entry.intent_account,
    )


@dataclasses.dataclass(slots=True)
class _Operation:
    """One read or write waiting for the next commit."""

    run: Callable[[sqlite3.Connection], Any]
    done: anyio.Event = dataclasses.field(default_factory=anyio.Event)
    value: Any = None
    error: BaseException | None = None


class SqliteLedger:
    """The embedded ledger: one SQLite file (WAL, ``synchronous=FULL``), one row per request.

    Its calls run on a worker thread, one at a time on one connection. Operations that
    arrive while a commit is in progress are committed together in the next transaction,
    so a batch of many concurrent requests pays one fsync per round, not one per write.
    A lock on the database file itself (``flock``, held for the run) keeps two runs from
    working on the same ledger at once, whatever name each reaches the file by (a hard
    link, a symlink, the file renamed while a run works); the operating system drops it
    when the process dies. (Where flock would meet SQLite's own locks, on the BSDs and
    macOS, the lock is a file beside the database, ``<path>.lock``, which a hard link or
    a rename does not meet; Windows takes no lock.)

    Args:
        path: The database file; created if missing.

    Example:
        ``generate_videos_async(config, requests, ledger=SqliteLedger("batch.sqlite"))``,
        or just ``ledger="batch.sqlite"``.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._connection: sqlite3.Connection | None = None
        self._lock: _RunLock | None = None
        self._queue: list[_Operation] = []
        self._committing = False
        self._thread_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"SqliteLedger({str(self.path)!r})"

    @property
    def _shown(self) -> str:
        """The ledger as its messages name it."""
        return repr(str(self.path))

    async def open(self) -> None:
        """Open (or create) the database and take the run's lock.

        Raises:
            ValidationError: The path is not a file that SQLite can open, or another run
                holds the ledger (under any name of its file).
        """
        if self._connection is not None:
            return
        await anyio.to_thread.run_sync(self._open_blocking)

    def _open_blocking(self) -> None:
        lock = _lock(self.path)
        try:
            connection = sqlite3.connect(
                self.path, check_same_thread=False, isolation_level=None, timeout=30.0
            )
        except sqlite3.Error as exc:
            _unlock(lock)
            raise ValidationError(
                f"cannot open the ledger {str(self.path)!r}: {exc}", fallback_allowed=False
            ) from exc
        try:
            connection.execute("PRAGMA journal_mode=WAL")
            # FULL: the intent row must be on disk before the submit it announces goes out,
            # or a power cut could lose it and a rerun would pay for the job twice.
            connection.execute("PRAGMA synchronous=FULL")
            connection.execute(_SCHEMA)
            columns = {row[1] for row in connection.execute("PRAGMA table_info(requests)")}
            for column, statement in _ADDED_COLUMNS.items():
                if column not in columns:
                    connection.execute(statement)
            connection.execute(_KEY_INDEX)
        except sqlite3.DatabaseError as exc:
            connection.close()
            _unlock(lock)
            raise ValidationError(
                f"{str(self.path)!r} is not a tarash ledger: {exc}", fallback_allowed=False
            ) from exc
        if lock is not None and lock.inode is not None and not _still_locked(self.path, lock):
            # SQLite opened the file by its name, after the lock was taken: another file
            # moved onto that name in between would be worked on unlocked.
            connection.close()
            _unlock(lock)
            raise ValidationError(
                f"the ledger {str(self.path)!r} was replaced by another file while it was "
                "being opened; run again",
                fallback_allowed=False,
            )
        self._connection, self._lock = connection, lock

    async def close(self) -> None:
        """Close the database and drop the lock."""
        connection, lock = self._connection, self._lock
        self._connection, self._lock = None, None
        if connection is None:
            return

        def close_blocking() -> None:
            with self._thread_lock:
                # Copy the WAL into the database file before closing. SQLite does so on
                # the last close itself, except when the file was renamed meanwhile: its
                # WAL keeps the old name, so the rows written since would be lost to the
                # file's new name (a rerun there would send their requests again).
                # PASSIVE never waits on a reader (a user's inspection of the file).
                with contextlib.suppress(sqlite3.Error):
                    connection.execute("PRAGMA wal_checkpoint(PASSIVE)")
                connection.close()
            _unlock(lock)

        await anyio.to_thread.run_sync(close_blocking)

    async def claim(self, index: int, key: str | None, input_hash: str) -> LedgerEntry:
        """Return the row at ``index``, creating it (``pending``) if there is none.

        Raises:
            ValidationError: ``key`` is the key of another index's row.
        """
        fresh = LedgerEntry(index=index, key=key, input_hash=input_hash)

        def claim_blocking(connection: sqlite3.Connection) -> LedgerEntry:
            row = connection.execute(
                f"SELECT {_COLUMNS} FROM requests WHERE idx = ?", (index,)
            ).fetchone()
            if row is not None:
                return _row_to_entry(row, self._shown)
            if key is not None:
                holder = connection.execute(
                    "SELECT idx FROM requests WHERE user_key = ? LIMIT 1", (key,)
                ).fetchone()
                if holder is not None:
                    raise ValidationError(
                        f"requests[{index}] has the key {key!r} of requests[{holder[0]}]: "
                        "a key names one request of a batch, so this one is not sent; "
                        "give it a key of its own",
                        fallback_allowed=False,
                    )
            connection.execute(
                f"INSERT INTO requests ({_COLUMNS}) VALUES ({_PLACEHOLDERS})",
                _entry_to_row(fresh),
            )
            return fresh

        entry: LedgerEntry = await self._submit(claim_blocking)
        return entry

    async def get(self, index: int) -> LedgerEntry | None:
        """Return the row at ``index``, if there is one."""

        def get_blocking(connection: sqlite3.Connection) -> LedgerEntry | None:
            row = connection.execute(
                f"SELECT {_COLUMNS} FROM requests WHERE idx = ?", (index,)
            ).fetchone()
            return None if row is None else _row_to_entry(row, self._shown)

        entry: LedgerEntry | None = await self._submit(get_blocking)
        return entry

    async def save(self, entry: LedgerEntry) -> None:
        """Write ``entry`` over its index's row, committed to disk before returning."""

        def save_blocking(connection: sqlite3.Connection) -> None:
            connection.execute(
                f"INSERT OR REPLACE INTO requests ({_COLUMNS}) VALUES ({_PLACEHOLDERS})",
                _entry_to_row(entry),
            )

        await self._submit(save_blocking)

    async def counts(self) -> dict[LedgerState, int]:
        """How many rows are in each state."""

        def count_blocking(connection: sqlite3.Connection) -> dict[LedgerState, int]:
            counts = dict.fromkeys(LedgerState, 0)
            for state, count in connection.execute(
                "SELECT state, COUNT(*) FROM requests GROUP BY state"
            ):
                try:
                    counts[LedgerState(state)] = count
                except ValueError:
                    raise ValidationError(
                        f"the ledger {self._shown} has {count} rows in the state "
                        f"{_shown(state)}, which this version of tarash does not know "
                        "(was it written by a later version?)",
                        fallback_allowed=False,
                    ) from None
            return counts

        counts: dict[LedgerState, int] = await self._submit(count_blocking)
        return counts

    def entries(self) -> Iterator[LedgerEntry]:
        """Every row in index order, read directly (blocking; for inspection and tests)."""
        with contextlib.closing(sqlite3.connect(self.path)) as connection:
            yield from (
                _row_to_entry(row, self._shown)
                for row in connection.execute(f"SELECT {_COLUMNS} FROM requests ORDER BY idx")
            )

    async def _submit(self, run: Callable[[sqlite3.Connection], T]) -> T:
        """Queue ``run`` for the next commit and wait for it.

        The first caller with nothing being committed becomes the committer and commits
        rounds until the queue is empty; the others just wait. The wait is shielded: a
        batch records a cancelled job's state while being cancelled itself, and a write
        is a local, bounded operation.
        """
        if self._connection is None:
            raise TarashException(f"the ledger {str(self.path)!r} is not open")
        operation = _Operation(run)
        self._queue.append(operation)
        with anyio.CancelScope(shield=True):
            if not self._committing:
                self._committing = True
                try:
                    while self._queue:
                        batch, self._queue = self._queue, []
                        try:
                            await anyio.to_thread.run_sync(self._commit_blocking, batch)
                        except BaseException as exc:  # the commit broke: its operations fail
                            self._fail(batch, exc)
                            if not isinstance(exc, Exception):
                                raise
                        finally:
                            # Every waiter is woken, whatever happened: its wait is
                            # shielded, so one never woken would hang its batch for good.
                            for done in batch:
                                done.done.set()
                finally:
                    self._committing = False
                    # Left by a BaseException with operations queued meanwhile: they fail
                    # rather than wait for a committer that is gone.
                    left, self._queue = self._queue, []
                    self._fail(left, TarashException(f"the ledger {self._shown} was stopped"))
                    for done in left:
                        done.done.set()
            await operation.done.wait()
        if operation.error is not None:
            raise operation.error
        value: T = operation.value
        return value

    def _fail(self, operations: list[_Operation], exc: BaseException) -> None:
        """Give each of ``operations`` not yet answered ``exc`` as a tarash error."""
        for operation in operations:
            if operation.error is None and isinstance(exc, TarashException):
                operation.error = exc
            elif operation.error is None:
                error = TarashException(f"the ledger {self._shown} failed: {exc!r}")
                error.__cause__ = exc
                operation.error = error

    def _commit_blocking(self, batch: list[_Operation]) -> None:
        connection = self._connection
        if connection is None:  # closed while the batch waited
            for operation in batch:
                operation.error = TarashException(f"the ledger {str(self.path)!r} is closed")
            return
        with self._thread_lock:
            try:
                connection.execute("BEGIN IMMEDIATE")
                for operation in batch:
                    try:
                        operation.value = operation.run(connection)
                    except TarashException as exc:  # refused before it wrote: its own error
                        operation.error = exc
                    except sqlite3.Error:
                        raise  # the transaction's: every operation of it fails
                    except Exception as exc:
                        # One operation's bug is its own error, not the others' (nor an
                        # open transaction left behind).
                        self._fail([operation], exc)
                connection.execute("COMMIT")
            except sqlite3.Error as exc:
                with contextlib.suppress(sqlite3.Error):
                    connection.execute("ROLLBACK")
                error = TarashException(
                    f"the ledger {str(self.path)!r} could not be written: {exc}"
                )
                for operation in batch:
                    operation.error = error


# Whether flock() is a lock family of its own, apart from the POSIX byte-range locks
# (fcntl F_SETLK) that SQLite takes on the database file. On Linux it is (flock(2): "no
# interaction between the types of lock placed by flock() and fcntl()"), so the run's
# lock can be taken on the database file itself, and any name of the file (a hard link,
# a symlink, the file renamed while the run works) meets it. On the BSDs and macOS the
# two families share one lock table: an exclusive flock on the database would refuse
# SQLite's own locks, so there the lock stays a file beside the database's real path.
# (On NFS, Linux emulates flock with a whole-file byte-range lock, which SQLite's locks
# would then meet; SQLite's WAL mode does not work over a network file system anyway.)
_FLOCK_IS_ITS_OWN_FAMILY = sys.platform.startswith("linux")

# The database files this process's ledgers hold, by (device, inode). Closing any
# descriptor of a file drops every POSIX lock the process holds on it, SQLite's included
# (a live run's connection): a second run in this process on a held file is refused
# before it opens a descriptor of it, and a descriptor opened in a race with a rename is
# kept open (parked here) until the holder lets go.
_held: dict[tuple[int, int], list[int]] = {}
_held_guard = threading.Lock()


@dataclasses.dataclass(frozen=True, slots=True)
class _RunLock:
    """A run's hold on its ledger: the locked descriptor, and the database file's
    (device, inode) when the lock is on the database itself."""

    descriptor: int
    inode: tuple[int, int] | None = None


def _in_use(path: Path) -> ValidationError:
    return ValidationError(
        f"the ledger {str(path)!r} is in use by another run (under this name or another "
        "one of its file: a hard link, a symlink, the file renamed); wait for it to finish",
        fallback_allowed=False,
    )


def _cannot_open(path: Path, exc: OSError) -> ValidationError:
    return ValidationError(f"cannot open the ledger {str(path)!r}: {exc}", fallback_allowed=False)


def _lock(path: Path) -> _RunLock | None:
    """Take the run's exclusive lock on the ledger (POSIX; on Windows no lock is taken).

    Raises:
        ValidationError: Another run holds it, or the file cannot be opened.
    """
    if sys.platform == "win32":  # no flock: one run at a time is then the user's to ensure
        return None
    if _FLOCK_IS_ITS_OWN_FAMILY:
        return _lock_database(path)
    return _lock_beside(path)


def _lock_database(path: Path) -> _RunLock:
    """flock() the database file itself, on a descriptor held for the run: the lock is
    the file's, whatever name it is reached by, and the kernel drops it when the
    process dies (a kill -9 leaves no stale lock)."""
    import fcntl

    with _held_guard:
        try:
            found = os.stat(path)
        except FileNotFoundError:
            found = None
        except OSError as exc:
            raise _cannot_open(path, exc) from exc
        if found is not None:
            if (found.st_dev, found.st_ino) in _held:
                raise _in_use(path)
            if not stat.S_ISREG(found.st_mode):
                # A directory, a FIFO (whose open would block): no database either way.
                raise ValidationError(
                    f"cannot open the ledger {str(path)!r}: not a regular file",
                    fallback_allowed=False,
                )
        try:
            # Created as SQLite would create it (0644 before the umask): SQLite takes an
            # empty file for an empty database.
            descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise _cannot_open(path, exc) from exc
        opened = os.fstat(descriptor)
        inode = (opened.st_dev, opened.st_ino)
        if inode in _held:  # the name was moved onto a held ledger since the stat
            _held[inode].append(descriptor)
            raise _in_use(path)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            # No ledger of this process holds the file (checked above): closing this
            # descriptor drops no lock a run of ours depends on.
            os.close(descriptor)
            raise _in_use(path) from exc
        except OSError as exc:
            os.close(descriptor)
            raise ValidationError(
                f"cannot lock the ledger {str(path)!r}: {exc}", fallback_allowed=False
            ) from exc
        _held[inode] = []
    return _RunLock(descriptor, inode)


def _lock_beside(path: Path) -> _RunLock:
    """flock() ``<path>.lock`` beside the database's real file (where flock would meet
    SQLite's own locks on the database): every spelling of the path and a symlink to it
    meet this lock; a hard link or a rename does not."""
    import fcntl

    try:
        lock_path = f"{path.resolve()}.lock"
    except (OSError, RuntimeError):  # a symlink loop: SQLite cannot open it either
        lock_path = f"{path}.lock"
    try:
        descriptor = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise _cannot_open(path, exc) from exc
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        os.close(descriptor)
        raise _in_use(path) from exc
    return _RunLock(descriptor)


def _still_locked(path: Path, lock: _RunLock) -> bool:
    """Whether ``path`` still names the file ``lock`` holds."""
    try:
        found = os.stat(path)
    except OSError:
        return False
    return (found.st_dev, found.st_ino) == lock.inode


def _unlock(lock: _RunLock | None) -> None:
    """Drop the run's lock (after its connection is closed: closing the descriptor drops
    this process's SQLite locks on the file too)."""
    if lock is None:
        return
    parked: list[int] = []
    with _held_guard:
        if lock.inode is not None:
            parked = _held.pop(lock.inode, [])
    for descriptor in (*parked, lock.descriptor):
        os.close(descriptor)  # closing the descriptor drops its flock


def open_ledger(ledger: Ledger | str | os.PathLike[str] | None) -> Ledger | None:
    """The ledger a batch was given: a :class:`Ledger`, or a path for a :class:`SqliteLedger`.

    Raises:
        ValidationError: ``ledger`` is neither.
    """
    if ledger is None or isinstance(ledger, Ledger):
        return ledger
    if isinstance(ledger, str | os.PathLike) and str(ledger):
        return SqliteLedger(ledger)
    raise ValidationError(
        f"ledger must be a path or a Ledger, got {type(ledger).__name__}",
        fallback_allowed=False,
    )


# Their published module, where users import them from (and where a pickle finds them).
for _published in (
    Ledger,
    LedgerEntry,
    LedgerJob,
    LedgerState,
    SqliteLedger,
):
    _published.__module__ = "tarash.tarash_gateway"
del _published
