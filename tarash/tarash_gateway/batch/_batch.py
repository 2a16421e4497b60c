"""Batch fan-out: many requests through one config, results as they finish, resumable.

``generate_videos_async(config, requests)`` reads ``requests`` lazily (a bounded number
in flight), runs each down the config's chain and yields a :class:`BatchResult` per
request as it finishes, failures as values. With a ledger (a path or a
:class:`~tarash.tarash_gateway.batch._ledger.Ledger`), each request's progress is recorded
durably, so that a rerun after a crash waits on jobs already submitted, yields finished
ones again, and never submits a request twice (see ``_ledger`` for the states).

Each input item is a request or a ``(key, request)`` pair; its result carries its index
(its position in the input, from 0) and its key. The index is what the ledger goes by: a
rerun must give the same inputs in the same order (a changed input at an index is an
error, never a silent resubmit).
"""

from __future__ import annotations

import inspect
import os
from collections.abc import (
    AsyncIterable,
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
    Iterator,
)
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Any, Generic, Literal, TypeVar, cast

import anyio
from anyio.abc import TaskGroup
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
from pydantic import ValidationError as PydanticValidationError

from tarash.tarash_gateway._unions import Config, Request, Response
from tarash.tarash_gateway.batch._batch_codec import (
    chain_secrets,
    dump_error,
    dump_handle,
    dump_response,
    input_hash,
    load_error,
    load_handle,
    load_response,
)
from tarash.tarash_gateway.batch._batch_run import (
    FIND_SETTLE,
    Router,
    RunHooks,
    cancels_remotely,
    chain_account,
    check_router,
    find_settle,
    find_submitted,
    lists_every_job,
    resume_request,
    run_request,
    run_speech,
)
from tarash.tarash_gateway.batch._ledger import (
    JobOutcome,
    Ledger,
    LedgerEntry,
    LedgerState,
    open_ledger,
    unreadable_row,
)
from tarash.tarash_gateway.engine._completion import run_to_completion
from tarash.tarash_gateway.engine._sync import iterate_sync
from tarash.tarash_gateway.engine._task_groups import raising_the_first_error
from tarash.tarash_gateway.errors import (
    JobCancelledError,
    TarashException,
    ValidationError,
)
from tarash.tarash_gateway.models import (
    AttemptMetadata,
    ExecutionMetadata,
    ImageGenerationConfig,
    ImageGenerationRequest,
    ImageGenerationResponse,
    JobHandle,
    STSRequest,
    TTSRequest,
    VideoGenerationConfig,
    VideoGenerationRequest,
    VideoGenerationResponse,
)

__all__ = [
    "BatchEvent",
    "BatchEventCallback",
    "BatchEventKind",
    "BatchResult",
    "BatchRun",
    "generate_images",
    "generate_images_async",
    "generate_videos",
    "generate_videos_async",
]

R = TypeVar("R", VideoGenerationResponse, ImageGenerationResponse)

DEFAULT_CONCURRENCY = 8
"""Requests in flight at once unless ``concurrency=`` says otherwise."""
MAX_CONCURRENCY = 10_000

BatchEventKind = Literal["queued", "submitted", "running", "done", "failed", "spend"]
"""What a :class:`BatchEvent` reports."""


@dataclass(frozen=True, slots=True)
class BatchEvent:
    """Progress of one request of a batch, for progress displays and dashboards.

    Attributes:
        kind: ``"queued"`` (read from the input), ``"submitted"`` (a provider accepted its
            job), ``"running"`` (the job reported progress), ``"done"``, ``"failed"``, or
            ``"spend"`` (what a finished request is estimated to have cost).
        index: The request's position in the input, from 0.
        key: The request's key, if given.
        provider: The provider concerned, when known.
        model: The model concerned, when known.
        request_id: The provider's job id, when one exists.
        progress_percent: The job's progress (``"running"``), when the provider says.
        resumed: The request's outcome came from an earlier run (via the ledger).
        error: The failure (``"failed"``).
        cost: The estimated cost (``"spend"``), in :attr:`currency`.
        currency: The currency of :attr:`cost`.
    """

    kind: BatchEventKind
    index: int
    key: str | None
    provider: str | None = None
    model: str | None = None
    request_id: str | None = None
    progress_percent: int | None = None
    resumed: bool = False
    error: TarashException | None = None
    cost: float | None = None
    currency: str = "USD"


BatchEventCallback = Callable[[BatchEvent], Any]
"""``on_event``: a plain function or a coroutine function taking a :class:`BatchEvent`."""


@dataclass(frozen=True, slots=True)
class BatchResult(Generic[R]):
    """The outcome of one request of a batch: its response or its error, never both.

    Attributes:
        index: The request's position in the input, from 0.
        key: The request's key (the first item of a ``(key, request)`` pair), if given.
        response: The response, when the request succeeded.
        error: Why it failed, when it did; ``error.job_may_exist`` marks a request that
            may have a (paid) job at the provider that the batch could not follow.
        resumed: The outcome was recorded by an earlier run and read from the ledger.
    """

    index: int
    key: str | None
    response: R | None = None
    error: TarashException | None = None
    resumed: bool = False

    @property
    def ok(self) -> bool:
        """Whether the request succeeded."""
        return self.error is None

    def unwrap(self) -> R:
        """Return the response, or raise the error.

        Raises:
            TarashException: The request failed.
        """
        if self.error is not None:
            raise self.error
        assert self.response is not None
        return self.response

    def __repr__(self) -> str:
        outcome = (
            f"error={type(self.error).__name__}({self.error.message!r})"
            if self.error is not None
            else f"request_id={getattr(self.response, 'request_id', None)!r}"
        )
        return f"BatchResult(index={self.index}, key={self.key!r}, {outcome})"


def _estimated_cost(metadata: ExecutionMetadata) -> float | None:
    """The summed cost estimate of the attempts, ``None`` when no attempt has one."""
    known = [
        attempt.estimated_cost
        for attempt in metadata.attempts
        if attempt.estimated_cost is not None
    ]
    return float(sum(known)) if known else None


def _invalid(message: str) -> ValidationError:
    return ValidationError(message, fallback_allowed=False)


class _Item:
    """One input item, parsed: its index, key and request (or why it is unusable)."""

    __slots__ = ("error", "index", "key", "request")

    def __init__(self, index: int, raw: object, request_class: type[Request]) -> None:
        self.index = index
        self.key: str | None = None
        self.request: Request | None = None
        self.error: TarashException | None = None
        candidate = raw
        if isinstance(raw, tuple):
            if len(raw) != 2 or not isinstance(raw[0], str):
                self.error = _invalid(
                    f"requests[{index}]: a pair must be (key: str, request), got a "
                    f"{len(raw)}-tuple starting with {type(raw[0]).__name__ if raw else '-'}"
                    "; nothing was submitted"
                )
                return
            self.key, candidate = raw
        if not isinstance(candidate, request_class):
            self.error = _invalid(
                f"requests[{index}] must be a {request_class.__name__} or a (key, "
                f"{request_class.__name__}) pair, got {type(candidate).__name__}; "
                "nothing was submitted"
            )
            return
        self.request = candidate


class BatchRun(Generic[R]):
    """A running batch: an async iterator of :class:`BatchResult`, in finishing order.

    Use it as an async context manager, so that leaving the block early (``break``, an
    exception, the task cancelled) stops the batch: every job in flight is cancelled
    remotely, and the ledger is left ready for a rerun::

        async with generate_videos_async(config, requests, ledger="batch.sqlite") as results:
            async for result in results:
                ...

    Iterating it directly (``async for result in generate_videos_async(...)``) works too;
    stopping such a loop early leaves the jobs to finish until the iterator is closed
    (``await results.aclose()``, or ``contextlib.aclosing``).

    Created by :func:`generate_videos_async` and :func:`generate_images_async`.
    """

    def __init__(
        self,
        config: Config,
        requests: Iterable[Any] | AsyncIterable[Any],
        *,
        request_class: type[Request],
        concurrency: int,
        ledger: Ledger | str | os.PathLike[str] | None,
        on_event: BatchEventCallback | None,
        router: Router | None = None,
        on_update: Callable[[Any], Any] | None = None,
    ) -> None:
        self._config = config
        # Each request's own progress updates, as generate_video's on_progress gets them
        # (the ordered batch's on_item_progress); sync or async.
        self._on_update = on_update
        # None: each request runs on the default router as it is then (configure()).
        self._router = router
        self._requests = requests
        self._request_class = request_class
        self._concurrency = concurrency
        self._ledger = open_ledger(ledger)
        self._on_event = on_event
        self._secrets = chain_secrets(config)
        self._cancels_remotely = cancels_remotely(config)
        self._lists_every_job = lists_every_job(config)
        # The accounts this run's lookups read, kept with each intent (computed once, on
        # the first intent: reading a key may fail, and a batch with no ledger needs none).
        self._account: str | None = None
        self._account_known = False
        self._task_group: TaskGroup | None = None
        self._receive: MemoryObjectReceiveStream[BatchResult[R]] | None = None
        self._alone: AsyncIterator[BatchResult[R]] | None = None
        self._used = False
        # A KeyboardInterrupt or SystemExit raised in a request's task (by on_event, or by
        # the input's iterator), carried to the consumer: see _carrying.
        self._escaped: BaseException | None = None
        # When this run took the ledger's lock (anyio's clock): a lookup that would let a
        # row be resent waits until FIND_SETTLE after it.
        self._opened_at = 0.0

    def __repr__(self) -> str:
        return (
            f"BatchRun(provider={self._config.provider!r}, model={self._config.model!r}, "
            f"concurrency={self._concurrency}, ledger={self._ledger!r})"
        )

    # -- lifetime -----------------------------------------------------------------------

    async def __aenter__(self) -> BatchRun[R]:
        if self._used:
            raise _invalid("a batch runs once; call generate_*_async again for another run")
        self._used = True
        if self._ledger is not None:
            await self._ledger.open()
            self._opened_at = anyio.current_time()
        send, receive = anyio.create_memory_object_stream[BatchResult[R]](0)
        self._receive = receive
        task_group = anyio.create_task_group()
        await task_group.__aenter__()
        self._task_group = task_group
        task_group.start_soon(self._carrying, self._produce, task_group, send)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> bool | None:
        task_group, self._task_group = self._task_group, None
        try:
            if task_group is not None:
                # Left early (or failing): stop the work; each request cancels its job
                # and records a resumable state on its way out.
                task_group.cancel_scope.cancel()
                try:
                    with raising_the_first_error():
                        suppressed = await task_group.__aexit__(exc_type, exc, traceback)
                except Exception:
                    # A Ctrl-C carried from a task outranks an ordinary error another task
                    # raised meanwhile (an on_event callback failing as the batch stops):
                    # the user asked to stop, so a KeyboardInterrupt is what they get
                    # (the other error is its __context__).
                    if self._escaped is not None:
                        raise self._escaped  # noqa: B904
                    raise
                if self._escaped is not None:
                    raise self._escaped
                return suppressed
        finally:
            if self._receive is not None:
                self._receive.close()
            if self._ledger is not None:
                await run_to_completion(self._ledger.close)
        return None

    async def aclose(self) -> None:
        """Stop the batch (directly iterated), cancelling the jobs in flight."""
        if self._alone is not None:
            await cast("Any", self._alone).aclose()

    def __aiter__(self) -> AsyncIterator[BatchResult[R]]:
        if self._task_group is not None:
            return self
        if self._alone is None:
            self._alone = self._iterate_alone()
        return self._alone

    async def _iterate_alone(self) -> AsyncIterator[BatchResult[R]]:
        async with self:
            async for result in self:
                yield result

    async def __anext__(self) -> BatchResult[R]:
        if self._receive is None:
            raise StopAsyncIteration
        try:
            return await self._receive.receive()
        except (anyio.EndOfStream, anyio.ClosedResourceError):
            raise StopAsyncIteration from None

    # -- the work -----------------------------------------------------------------------

    async def _produce(
        self, task_group: TaskGroup, send: MemoryObjectSendStream[BatchResult[R]]
    ) -> None:
        """Read the input one item at a time, only when a slot is free."""
        slots = anyio.Semaphore(self._concurrency)
        requests = self._requests
        async with send:
            index = 0
            if isinstance(requests, AsyncIterable):
                iterator = aiter(requests)
                while True:
                    await slots.acquire()
                    try:
                        raw = await anext(iterator)
                    except StopAsyncIteration:
                        break
                    task_group.start_soon(
                        self._carrying, self._one, index, raw, send.clone(), slots
                    )
                    index += 1
            else:
                for raw in requests:
                    # Taken before the next item is read: at most `concurrency` are read
                    # and not yet delivered.
                    await slots.acquire()
                    task_group.start_soon(
                        self._carrying, self._one, index, raw, send.clone(), slots
                    )
                    index += 1

    async def _one(
        self,
        index: int,
        raw: object,
        send: MemoryObjectSendStream[BatchResult[R]],
        slots: anyio.Semaphore,
    ) -> None:
        try:
            async with send:
                item = _Item(index, raw, self._request_class)
                result = await self._outcome(item)
                await send.send(result)
        finally:
            slots.release()

    async def _carrying(self, work: Callable[..., Awaitable[None]], *args: Any) -> None:
        """Run ``work`` as a task of the batch, carrying a KeyboardInterrupt or SystemExit
        to the consumer: raised in a task of its own, asyncio would let it stop the event
        loop itself (tarash's private loop, under the sync twins) and every job with it."""
        try:
            await work(*args)
        except (KeyboardInterrupt, SystemExit) as exc:
            self._stop(exc)

    def account(self) -> str | None:
        """The fingerprint of the accounts this run's lookups read (see ``chain_account``)."""
        if not self._account_known:
            self._account = chain_account(self._config)
            self._account_known = True
        return self._account

    def _stop(self, exc: KeyboardInterrupt | SystemExit) -> None:
        """Keep the first Ctrl-C (or exit) for the consumer and stop every request."""
        if self._escaped is None:
            self._escaped = exc
        if self._task_group is not None:
            self._task_group.cancel_scope.cancel()

    async def _emit(self, event: BatchEvent) -> None:
        if self._on_event is None:
            return
        try:
            returned = self._on_event(event)
            if inspect.isawaitable(returned):
                await returned
        except (KeyboardInterrupt, SystemExit) as exc:
            # Kept at once: on its way out of the request's task it passes clean-ups
            # (the remote cancel of the job just announced) that the batch's stop may
            # cancel, and a cancellation raised there would take its place.
            self._stop(exc)
            raise

    async def _outcome(self, item: _Item) -> BatchResult[R]:
        """Run (or resume, or read back) one request; its failure becomes its result."""
        if item.error is not None or item.request is None:
            assert item.error is not None
            return await self._failed(item, item.error)
        await self._emit(BatchEvent("queued", item.index, item.key))
        request = item.request
        entry: LedgerEntry | None = None
        if self._ledger is not None:
            digest = input_hash(self._config, request)
            try:
                entry = await self._ledger.claim(item.index, item.key, digest)
            except ValidationError as exc:
                # A key given twice, or a row this version cannot read (a later version's
                # state, a column that is not JSON): that request's error, its row left
                # as it is, nothing sent; the other rows run on.
                return await self._failed(item, exc)
            if entry.input_hash != digest:
                return await self._failed(
                    item,
                    _invalid(
                        f"requests[{item.index}] is not the request the ledger "
                        f"{self._ledger!r} recorded at that index (its input hash differs); "
                        "nothing was submitted. Rerun with the same requests in the same "
                        "order, or start a new ledger"
                    ),
                )
            unreadable = self._unreadable_handles(entry)
            if unreadable is not None:
                return await self._failed(item, unreadable)
            entry = await self._reconciled(item, request, entry)
            recorded = await self._recorded(item, entry)
            if recorded is not None:
                return recorded
        tracker = _Tracker(self, item, entry)
        try:
            response = await tracker.run(request)
        except TarashException as exc:
            await tracker.settle_failure(exc)
            return await self._failed(
                item, exc, others_cost=tracker.others_cost(exc.execution_metadata)
            )
        except BaseException:
            await run_to_completion(tracker.settle_stopped)
            raise
        await tracker.settle_success(response)
        return await self._succeeded(
            item,
            cast("R", response),
            others_cost=tracker.others_cost(response.execution_metadata),
        )

    async def _reconciled(self, item: _Item, request: Request, entry: LedgerEntry) -> LedgerEntry:
        """A row left ``intent`` or ``unknown`` is looked up at its providers: the job its
        submit created (found by its request, around the row's intent) is waited on; a
        complete listing that shows none sends the request again; else it stays flagged."""
        if entry.state not in (LedgerState.INTENT, LedgerState.UNKNOWN):
            return entry
        assert self._ledger is not None
        # A row written before intents were timed, or with jobs recorded (a race's, waited
        # on first), is never concluded to have created nothing.
        may_conclude_none = (
            self._lists_every_job
            and entry.intended_at is not None
            and not entry.jobs
            and entry.intent_account is not None
            and entry.intent_account == self.account()
        )
        since = datetime.fromisoformat(entry.intended_at or entry.updated_at)
        lookup = await find_submitted(
            self._config,
            request,
            since,
            may_conclude_none=may_conclude_none,
            router=self._router,
        )
        settled_at = self._opened_at + find_settle(FIND_SETTLE).total_seconds()
        if lookup.none_exists and anyio.current_time() < settled_at:
            # Too soon after the earlier run died to trust an empty listing: look again
            # once a create it had on the wire has surely reached the provider.
            await anyio.sleep(settled_at - anyio.current_time())
            lookup = await find_submitted(
                self._config,
                request,
                since,
                may_conclude_none=may_conclude_none,
                router=self._router,
            )
        if lookup.none_exists:
            released = entry.never_created()
            await self._ledger.save(released)
            return released
        if lookup.handle is None:
            return entry
        handle = lookup.handle
        recovered = entry.recover(dump_handle(handle, self._secrets))
        await self._ledger.save(recovered)
        await self._emit(
            BatchEvent(
                "submitted",
                item.index,
                item.key,
                provider=handle.provider,
                model=handle.model,
                request_id=handle.request_id,
                resumed=True,
            )
        )
        return recovered

    def _unreadable(self, entry: LedgerEntry, column: str, exc: Exception) -> ValidationError:
        """The error of a row whose ``column`` the codec could not read (``exc``)."""
        if isinstance(exc, PydanticValidationError):
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"])
            why = f"{where}: {first['msg']}" if where else first["msg"]
        else:
            why = " ".join(str(exc).split()) or type(exc).__name__
        return unreadable_row(
            repr(self._ledger),
            entry.index,
            entry.key,
            column,
            f"is not what this version of tarash writes there ({why})",
        )

    def _unreadable_handles(self, entry: LedgerEntry) -> ValidationError | None:
        """Why the row's job handles cannot be read, if they cannot: checked before
        anything acts on the row, which a run failing on it midway would overwrite with
        its failure (and a rerun of that could pay for its job twice). A finished row's
        handles are not read again: its recorded outcome is all a run uses."""
        if entry.state in (LedgerState.DONE, LedgerState.FAILED):
            return None
        stored = [("handle", entry.handle), *(("jobs", job.handle) for job in entry.jobs)]
        for column, text in stored:
            if text is None:
                continue
            try:
                load_handle(text)
            except ValueError as exc:  # not JSON, or not a handle (pydantic's error)
                return self._unreadable(entry, column, exc)
        return None

    async def _recorded(self, item: _Item, entry: LedgerEntry) -> BatchResult[R] | None:
        """The outcome an earlier run recorded, or ``None`` when the request must run.

        A recorded outcome this version cannot read is that request's error (the row is
        left as it is); the other rows' outcomes are read as ever.
        """
        if entry.state is LedgerState.DONE and entry.result is not None:
            try:
                response = cast("R", load_response(entry.result))
            except _UNREADABLE as exc:
                return await self._failed(item, self._unreadable(entry, "result", exc))
            return await self._succeeded(item, response, resumed=True)
        if entry.state in (LedgerState.FAILED, LedgerState.UNKNOWN) and entry.error is not None:
            try:
                recorded = load_error(entry.error)
            except _UNREADABLE as exc:
                return await self._failed(item, self._unreadable(entry, "error", exc))
            return await self._failed(item, recorded, resumed=True)
        if entry.state is LedgerState.INTENT and not entry.live_jobs():
            # An earlier run stopped between recording the intent and hearing the
            # provider's answer: a job may exist (and be billed). Never resent. (A row
            # with jobs recorded beside the intent, a race's, is waited on first.)
            error = _caught_in_intent(item.index)
            assert self._ledger is not None
            await self._ledger.save(entry.mark_unknown(dump_error(error, self._secrets)))
            return await self._failed(item, error, resumed=True)
        return None

    async def _succeeded(
        self, item: _Item, response: R, *, resumed: bool = False, others_cost: float | None = None
    ) -> BatchResult[R]:
        await self._emit(
            BatchEvent(
                "done",
                item.index,
                item.key,
                provider=response.provider,
                model=response.model,
                request_id=response.request_id,
                resumed=resumed,
            )
        )
        if not resumed:  # a resumed outcome's spend was reported by its own run
            await self._spent(
                item, response.execution_metadata, response.provider, response.model, others_cost
            )
        return BatchResult(item.index, item.key, response=response, resumed=resumed)

    async def _spent(
        self,
        item: _Item,
        metadata: ExecutionMetadata | None,
        provider: str | None,
        model: str | None,
        others_cost: float | None = None,
    ) -> None:
        """Report what a finished request's attempts are estimated to have cost, with
        ``others_cost``: its other jobs' (a rerun's cancelled racers), not in ``metadata``."""
        cost = None if metadata is None else _estimated_cost(metadata)
        if others_cost is not None:
            cost = others_cost + (cost or 0.0)
        if cost is not None:
            await self._emit(
                BatchEvent("spend", item.index, item.key, provider=provider, model=model, cost=cost)
            )

    async def _failed(
        self,
        item: _Item,
        error: TarashException,
        *,
        resumed: bool = False,
        others_cost: float | None = None,
    ) -> BatchResult[R]:
        await self._emit(
            BatchEvent(
                "failed",
                item.index,
                item.key,
                provider=error.provider,
                model=error.model,
                request_id=error.request_id,
                resumed=resumed,
                error=error,
            )
        )
        if not resumed:  # a failed job may be billed too (a refused output, say)
            await self._spent(
                item, error.execution_metadata, error.provider, error.model, others_cost
            )
        return BatchResult(item.index, item.key, error=error, resumed=resumed)


# What the codec raises on a stored response or error it cannot read: not JSON, or JSON
# not shaped as it writes (pydantic's ValidationError is a ValueError).
_UNREADABLE = (ValueError, KeyError, TypeError, AttributeError)


def _caught_in_intent(index: int) -> TarashException:
    return TarashException(
        f"requests[{index}] was being submitted when an earlier run stopped: the provider "
        "may have accepted it (and may bill it), so it is not sent again. Check the "
        "provider's dashboard; to send it anyway, reset its ledger row (LedgerEntry.reset)",
        job_may_exist=True,
    )


_OUTCOMES: dict[str, JobOutcome] = {"success": "done", "failed": "failed", "cancelled": "cancelled"}


class _Tracker:
    """One request's run, keeping its ledger row in step with what is known of its jobs.

    A hedged race has several submits in flight at once: the row stays ``intent`` until
    the last one has been answered, and records every job accepted (see ``_ledger``).
    """

    def __init__(self, batch: BatchRun[Any], item: _Item, entry: LedgerEntry | None) -> None:
        self.batch = batch
        self.item = item
        self.entry = entry
        self.ledger = batch._ledger
        self.secrets = batch._secrets
        # The job of a submit stopped in flight, whose remote cancel failed: it runs on.
        self.left_running = False
        # Attempts whose intent is recorded and whose submit has not been answered.
        self.pending: set[int] = set()
        # A submit of this run failed after it may have created a job.
        self.may_exist = False
        # The row was left 'intent' by an earlier run: whatever happens, it stays flagged
        # until one of its jobs succeeds (that submit's job may exist).
        self.inherited_intent = entry is not None and entry.state is LedgerState.INTENT
        # The estimated cost of each job whose attempt ended in this run, by job id: a
        # rerun waiting on a row's several jobs ends each in an attempt of its own, and
        # only the winner's (or the raised error's) is in the outcome's metadata.
        self.job_costs: dict[str, float] = {}

    def others_cost(self, metadata: ExecutionMetadata | None) -> float | None:
        """What this run's jobs that ``metadata`` leaves out are estimated to cost (the
        losers a rerun cancelled, racers that failed); ``None`` when there are none."""
        counted = set() if metadata is None else {a.request_id for a in metadata.attempts}
        costs = [cost for job, cost in self.job_costs.items() if job not in counted]
        return float(sum(costs)) if costs else None

    async def _save(self, entry: LedgerEntry) -> None:
        self.entry = entry
        if self.ledger is not None:
            await self.ledger.save(entry)

    async def _before_submit(self, attempt_number: int | None) -> None:
        if attempt_number is not None:
            self.pending.add(attempt_number)
        if self.entry is not None:
            await self._save(self.entry.intend(account=self.batch.account()))

    async def _on_accepted(self, handle: JobHandle, attempt_number: int) -> None:
        self.pending.discard(attempt_number)
        if self.entry is not None:
            settled = not self.pending and not self.inherited_intent
            await self._save(self.entry.accept(dump_handle(handle, self.secrets), settled=settled))
        await self.batch._emit(
            BatchEvent(
                "submitted",
                self.item.index,
                self.item.key,
                provider=handle.provider,
                model=handle.model,
                request_id=handle.request_id,
            )
        )

    async def _on_abandoned(self, handle: JobHandle, cancelled: bool) -> None:
        """A submit stopped in flight created a job: its handle is recorded, so that the
        rerun asks the provider about it instead of guessing."""
        if self.entry is None:
            return
        # The abandoning attempt is still pending (its end comes next): any other one
        # keeps the row 'intent'.
        settled = len(self.pending) <= 1 and not self.inherited_intent
        accepted = self.entry.accept(
            dump_handle(handle, self.secrets),
            settled=settled,
            outcome="cancelled" if cancelled else "accepted",
        )
        if not cancelled:
            # Still running (and billed): the rerun waits on it, never sends it again.
            self.left_running = True
            await self._save(accepted)
        elif settled and not any(job.outcome == "accepted" for job in accepted.jobs):
            # The provider took the cancel and no other job runs: the rerun reads the job
            # if it finished anyway, and sends the request again only once it is over.
            await self._save(accepted.cancel())
        else:
            await self._save(accepted)

    async def _on_attempt_end(self, meta: AttemptMetadata) -> None:
        """Record how the attempt's job ended; the last submit in flight answered without
        a job (a clean failure) settles an 'intent' row whose other jobs are recorded."""
        if meta.attempt_number in self.pending:
            self.pending.discard(meta.attempt_number)
            self.may_exist = self.may_exist or meta.job_may_exist
        if (
            meta.request_id is not None
            and meta.estimated_cost is not None
            and not (meta.status == "failed" and meta.error_type == JobCancelledError.__name__)
        ):
            # A job read back cancelled was cancelled by the run that stopped (which
            # reports no spend for a stopped request): its estimate here is its full
            # price, not what its cancel is billed, so it is left out (docs/batch.md).
            self.job_costs[meta.request_id] = meta.estimated_cost
        entry = self.entry
        if entry is None:
            return
        changed = False
        outcome = _OUTCOMES.get(meta.status)
        known = meta.request_id is not None and outcome is not None
        if known and any(job.request_id == meta.request_id for job in entry.jobs):
            assert meta.request_id is not None and outcome is not None
            entry = entry.job_ended(meta.request_id, outcome)
            changed = len(entry.jobs) > 1
        if (
            entry.state is LedgerState.INTENT
            and not self.pending
            and not self.may_exist
            and not self.inherited_intent
            and any(job.outcome == "accepted" for job in entry.jobs)
        ):
            entry, changed = entry.settle(), True
        if changed:
            await self._save(entry)
        else:
            # Kept in memory: the row's next write (its outcome, as a rule) carries it,
            # so a one-job request pays no extra commit.
            self.entry = entry

    async def _on_progress(self, update: Any) -> None:
        if self.batch._on_update is not None:
            returned = self.batch._on_update(update)
            if inspect.isawaitable(returned):
                await returned
        if getattr(update, "status", None) == "processing":
            await self.batch._emit(
                BatchEvent(
                    "running",
                    self.item.index,
                    self.item.key,
                    provider=update.provider,
                    model=update.model,
                    request_id=update.request_id,
                    progress_percent=update.progress_percent,
                )
            )

    async def run(self, request: Request) -> Response:
        config = self.batch._config
        hooks = RunHooks(
            self._before_submit,
            self._on_accepted,
            self._on_progress,
            self._on_abandoned,
            self._on_attempt_end,
        )
        speech: object = request
        if isinstance(speech, TTSRequest | STSRequest):
            # The ordered batch's speech items (generate_tts_batch): a handler's call, no
            # job to record or resume (that batch keeps no ledger).
            spoken = await run_speech(config, speech, hooks, router=self.batch._router)
            return cast("Response", spoken)
        entry = self.entry
        live = () if entry is None else entry.live_jobs()
        if entry is not None and (len(live) > 1 or (live and entry.state is LedgerState.INTENT)):
            return await self._resume_all(request, hooks, entry, [job.handle for job in live])
        if entry is not None and entry.handle is not None:
            handle = load_handle(entry.handle)
            try:
                # A job this batch cancelled when stopped is not a failure to fall back
                # on: if it is over, the request is sent again from the chain's start.
                return await resume_request(
                    config,
                    request,
                    handle,
                    hooks,
                    continue_chain=entry.state is not LedgerState.CANCELLED,
                    router=self.batch._router,
                )
            except JobCancelledError:
                if entry.state is not LedgerState.CANCELLED:
                    raise
                # This batch cancelled the job when it was stopped, and the provider
                # confirms it is over: nothing to read, nothing paid twice by resending.
        return await run_request(config, request, hooks, router=self.batch._router)

    async def _resume_all(
        self, request: Request, hooks: RunHooks, entry: LedgerEntry, handles: list[str]
    ) -> Response:
        """Wait on every job of a row that may still succeed (a crashed race's racers):
        the first success wins, the others are cancelled remotely (their waiters cancel
        on being given up) and recorded; nothing is submitted while one may succeed."""
        config = self.batch._config
        winner: list[Response] = []
        errors: list[TarashException] = []

        async def one(handle: JobHandle, scope: anyio.CancelScope) -> None:
            try:
                response = await resume_request(
                    config, request, handle, hooks, continue_chain=False, router=self.batch._router
                )
            except TarashException as exc:
                errors.append(exc)
                return
            if not winner:
                winner.append(response)
                scope.cancel()

        async with anyio.create_task_group() as group:
            for text in handles:
                group.start_soon(one, load_handle(text), group.cancel_scope)
        if winner:
            return winner[0]
        if self.inherited_intent:
            # An earlier run's submit may have created a job nobody recorded.
            raise _caught_in_intent(self.item.index)
        if entry.state is LedgerState.CANCELLED and all(
            isinstance(error, JobCancelledError) for error in errors
        ):
            # This batch cancelled them when stopped, and the provider confirms they are
            # over: nothing to read, nothing paid twice by sending it again.
            return await run_request(config, request, hooks, router=self.batch._router)
        raise errors[0]

    async def settle_success(self, response: Response) -> None:
        if self.entry is not None:
            await self._save(self.entry.finish(dump_response(response, self.secrets)))

    async def settle_failure(self, error: TarashException) -> None:
        if self.entry is None:
            return
        text = dump_error(error, self.secrets)
        if self.entry.state is LedgerState.INTENT and error.job_may_exist:
            await self._save(self.entry.mark_unknown(text))
        else:
            await self._save(self.entry.fail(text))

    async def settle_stopped(self) -> None:
        """The batch was stopped while this request ran: leave its row resumable."""
        entry = self.entry
        if entry is None:
            return
        if entry.state is LedgerState.INTENT and self.inherited_intent:
            return  # an earlier run's submit may have made a job: the row stays flagged
        if (
            entry.state is LedgerState.INTENT
            and entry.jobs
            and not self.may_exist
            and not self.pending
        ):
            # Every submit in flight was answered (or cancelled with its job recorded):
            # the recorded jobs were cancelled remotely, the rerun asks about them.
            entry = entry.settle()
        if entry.state is LedgerState.INTENT:
            if self.batch._cancels_remotely and not self.may_exist:
                # No job came back from the submit (one that did was recorded by
                # _on_abandoned, with its cancel's outcome): nothing to pay twice.
                await self._save(entry.release())
            else:
                error = TarashException(
                    f"requests[{self.item.index}] was stopped during its submit, "
                    + (
                        "whose reply was lost after it reached the provider"
                        if self.may_exist
                        else "on a provider that cannot cancel jobs"
                    )
                    + ": a job may exist, so it is not sent again (reset its ledger row to "
                    "send it anyway)",
                    job_may_exist=True,
                )
                await self._save(entry.mark_unknown(dump_error(error, self.secrets)))
        elif entry.state is LedgerState.SUBMITTED and not self.left_running:
            # Its job was cancelled remotely (where the provider can): the rerun asks.
            await self._save(entry.cancel())


Requests = Iterable[Any] | AsyncIterable[Any]


def _checked(
    function: str,
    config: object,
    config_class: type[Config],
    concurrency: object,
    requests: object,
    on_event: object,
    router: object,
) -> int:
    """The batch's concurrency, once every argument of ``function`` is checked.

    Raises:
        ValidationError: An argument is malformed (nothing was submitted).
    """
    if not isinstance(config, config_class):
        raise _invalid(
            f"{function}() takes a {config_class.__name__} as config, got "
            f"{type(config).__name__}; nothing was submitted"
        )
    if (
        isinstance(concurrency, bool)
        or not isinstance(concurrency, int)
        or not 1 <= concurrency <= MAX_CONCURRENCY
    ):
        raise _invalid(
            f"{function}(concurrency=...) must be an int from 1 to {MAX_CONCURRENCY}, got "
            f"{concurrency!r}"
        )
    _check_requests(function, requests)
    _check_on_event(function, on_event)
    check_router(router, function)
    return concurrency


def _check_requests(function: str, requests: object) -> None:
    if isinstance(requests, str | bytes) or not isinstance(requests, Iterable | AsyncIterable):
        raise _invalid(
            f"{function}() takes an iterable (or async iterable) of requests, got "
            f"{type(requests).__name__}"
        )


def _check_on_event(function: str, on_event: object) -> None:
    if on_event is not None and not callable(on_event):
        raise _invalid(f"{function}(on_event=...) must be callable, got {type(on_event).__name__}")


def generate_videos_async(
    config: VideoGenerationConfig,
    requests: Iterable[VideoGenerationRequest | tuple[str, VideoGenerationRequest]]
    | AsyncIterable[VideoGenerationRequest | tuple[str, VideoGenerationRequest]],
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    ledger: Ledger | str | os.PathLike[str] | None = None,
    on_event: BatchEventCallback | None = None,
    router: Router | None = None,
) -> BatchRun[VideoGenerationResponse]:
    """Generate many videos through ``config``, yielding each result as it finishes.

    ``requests`` is read lazily, one item when a slot is free, so a generator of any
    length works in constant memory; results are handed over as they finish, not held.
    A sync iterable is read on the event loop (keep it cheap: a list, a file's lines);
    use an async iterable for slow sources.

    Args:
        config: The provider, model and fallbacks every request runs with.
        requests: Requests, or ``(key, request)`` pairs (the key is carried to the
            result and the ledger).
        concurrency: Requests in flight at once (1 to 10,000).
        ledger: A path (an SQLite ledger is created there) or a :class:`Ledger`: record
            each request's progress so that a rerun with the same requests resumes.
        on_event: Called with each :class:`BatchEvent`; sync or async. What it raises
            stops the batch (its jobs are cancelled) and reaches the caller.
        router: The :class:`Router` every request runs on (its limits, breakers,
            pauses, strategy, prices and spend cap); None (default): the default router
            (:func:`configure`), looked up as each request starts.

    Returns:
        A :class:`BatchRun`: ``async with ... as results: async for result in results``.
        Each :class:`BatchResult` holds a response or an error (never raised).

    Raises:
        ValidationError: ``config``, ``concurrency``, ``ledger``, ``on_event`` or
            ``router`` is malformed (nothing was submitted). A malformed request is its
            result's error.
    """
    function = "generate_videos_async"
    count = _checked(
        function, config, VideoGenerationConfig, concurrency, requests, on_event, router
    )
    return BatchRun(
        config,
        requests,
        request_class=VideoGenerationRequest,
        concurrency=count,
        ledger=ledger,
        on_event=on_event,
        router=router,
    )


def generate_images_async(
    config: ImageGenerationConfig,
    requests: Iterable[ImageGenerationRequest | tuple[str, ImageGenerationRequest]]
    | AsyncIterable[ImageGenerationRequest | tuple[str, ImageGenerationRequest]],
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    ledger: Ledger | str | os.PathLike[str] | None = None,
    on_event: BatchEventCallback | None = None,
    router: Router | None = None,
) -> BatchRun[ImageGenerationResponse]:
    """Generate many images through ``config``, yielding each result as it finishes.

    As :func:`generate_videos_async`, for image requests.

    Raises:
        ValidationError: ``config``, ``concurrency``, ``ledger``, ``on_event`` or
            ``router`` is malformed (nothing was submitted). A malformed request is its
            result's error.
    """
    function = "generate_images_async"
    count = _checked(
        function, config, ImageGenerationConfig, concurrency, requests, on_event, router
    )
    return BatchRun(
        config,
        requests,
        request_class=ImageGenerationRequest,
        concurrency=count,
        ledger=ledger,
        on_event=on_event,
        router=router,
    )


def generate_videos(
    config: VideoGenerationConfig,
    requests: Iterable[VideoGenerationRequest | tuple[str, VideoGenerationRequest]]
    | AsyncIterable[VideoGenerationRequest | tuple[str, VideoGenerationRequest]],
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    ledger: Ledger | str | os.PathLike[str] | None = None,
    on_event: BatchEventCallback | None = None,
    router: Router | None = None,
) -> Iterator[BatchResult[VideoGenerationResponse]]:
    """Sync twin of :func:`generate_videos_async`: a plain iterator of results.

    The batch runs on tarash's private event loop (``requests`` is read and ``on_event``
    called there). Closing the iterator early (``with contextlib.closing(...)``, or
    ``close()``) or Ctrl-C cancels every job in flight and leaves the ledger resumable.
    """
    run = generate_videos_async(
        config,
        requests,
        concurrency=concurrency,
        ledger=ledger,
        on_event=on_event,
        router=router,
    )
    return iterate_sync(run.__aiter__)


def generate_images(
    config: ImageGenerationConfig,
    requests: Iterable[ImageGenerationRequest | tuple[str, ImageGenerationRequest]]
    | AsyncIterable[ImageGenerationRequest | tuple[str, ImageGenerationRequest]],
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    ledger: Ledger | str | os.PathLike[str] | None = None,
    on_event: BatchEventCallback | None = None,
    router: Router | None = None,
) -> Iterator[BatchResult[ImageGenerationResponse]]:
    """Sync twin of :func:`generate_images_async`: a plain iterator of results."""
    run = generate_images_async(
        config,
        requests,
        concurrency=concurrency,
        ledger=ledger,
        on_event=on_event,
        router=router,
    )
    return iterate_sync(run.__aiter__)


# Their published module, where users import them from (and where a pickle finds them).
for _published in (
    BatchEvent,
    BatchResult,
    BatchRun,
    generate_images,
    generate_images_async,
    generate_videos,
    generate_videos_async,
):
    _published.__module__ = "tarash.tarash_gateway"
del _published
