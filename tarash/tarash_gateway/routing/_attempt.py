"""One staged attempt: prepare → acquire capacity → submit → wait → read, recorded once.

Every way tarash runs a job goes through :class:`Attempt`: ``generate_*`` (each config of
a chain, each racer of a hedge), ``submit_*`` (the first three stages) and ``wait`` (the
last two, on a handle: :meth:`Attempt.resume`). Whatever ends an attempt (success, a
provider error, a skip, a deadline, a lost race, the caller's cancellation, a hook or
progress callback that raised) is recorded by one context, :meth:`Attempt._recording`,
into the attempt's :class:`~tarash.tarash_gateway.models.AttemptMetadata`.

The stages and what each guarantees:

1. **prepare**: build the client, check the key, adapt and map the request (nothing sent;
   a refusal records the attempt ``skipped``); estimate the job's cost.
2. **acquire**: admission by the config's circuit breaker, then a slot of the provider's
   limits (concurrency and create rate), then the breaker once more (it may have opened
   while the call waited). Waiting counts against the attempt's deadline and is recorded
   in ``capacity_wait_seconds``; an open breaker or a spill-over records the attempt
   ``skipped`` with its ``skip_reason`` (:class:`AttemptSkipped`).
3. **submit**: reserve the estimate against the spend cap, announce the intent
   (``hooks.before_submit``), submit once (never cut off mid-flight:
   ``submit_prepared``), announce the job (``hooks.on_accepted``).
4. **wait** and **read**: :class:`~tarash.tarash_gateway.routing._jobs.JobWaiter`, which cancels
   the remote job on every give-up.

The capacity slot is held from before the submit until the job is terminal (or the
submit failed without creating one): a job given up on that its provider did not stop
(no cancel, or one refused or too late) runs on there, so its slot goes to the router's
:class:`~tarash.tarash_gateway.routing._watch.JobWatcher`, which releases it when the job ends. A
429 anywhere slows the whole provider down (``slow_down``), a create's the moment it is
seen, while the create waits to retry; the breaker learns from each outcome, the latency
tracker from each success; the spend reservation is settled with what the attempt is
estimated to cost: nothing for a job known never to have been made, the cancel's price for
one whose cancel was accepted, the full estimate for any other (one that ran, runs on, or
may exist after a create whose reply was lost).

Hooks (the seam for batch runs and their ledger): :class:`AttemptHooks` carries three
optional callables, sync or async, each called to completion even while the caller is
being cancelled:

- ``before_submit(SubmitIntent)``: nothing has been sent yet; a ledger records the intent
  here, so a crash between the provider accepting and the ledger hearing of it leaves a
  trace. Raising here stops the request with nothing submitted.
- ``on_accepted(JobAccepted)``: the provider accepted a job; ``event.handle`` is the
  serialisable :class:`~tarash.tarash_gateway.models.JobHandle`, known as early as
  possible (before the first poll). Raising here cancels that job remotely and stops the
  request.
- ``on_attempt_end(AttemptMetadata)``: the attempt is over (any status), its metadata
  complete; called for every attempt, skipped ones included.

An exception a hook raises reaches the caller unchanged (as a progress callback's does)
and never triggers a fallback.
"""

from __future__ import annotations

import contextlib
import inspect
import logging
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import anyio
from pydantic import SecretStr

from tarash.tarash_gateway._unions import Config, ProgressCallback, Request, Response
from tarash.tarash_gateway._validate import check_sendable
from tarash.tarash_gateway.engine._completion import run_to_completion, submit_to_completion
from tarash.tarash_gateway.engine._http import CallCounters
from tarash.tarash_gateway.engine._polling import JobState, PollSchedule
from tarash.tarash_gateway.engine._read_pauses import ReadPauses
from tarash.tarash_gateway.engine._tracing import log_fields, set_attributes, span
from tarash.tarash_gateway.errors import (
    JobCancelledError,
    RateLimitError,
    SpendCapExceededError,
    TarashException,
    ValidationError,
)
from tarash.tarash_gateway.errors import TimeoutError as TarashTimeoutError
from tarash.tarash_gateway.models import (
    AttemptMetadata,
    AttemptRole,
    AttemptStatus,
    JobHandle,
    VideoGenerationRequest,
)
from tarash.tarash_gateway.providers import (
    get_provider_class,
    get_provider_entry,
    provider_key,
)
from tarash.tarash_gateway.providers._adapt import adapt_image_request, adapt_video_request
from tarash.tarash_gateway.providers._base import (
    AnsweredSubmit,
    PreparedJob,
    ProviderClient,
    ProviderSettings,
    SubmittedJob,
)
from tarash.tarash_gateway.providers._media import load_local_media
from tarash.tarash_gateway.providers.mock import MockClient, is_mock_handle
from tarash.tarash_gateway.routing._breaker import Admission
from tarash.tarash_gateway.routing._jobs import (
    CallbackError,
    GiveUp,
    JobWaiter,
    cancel_remote_job,
    deadline_from_timeout,
)
from tarash.tarash_gateway.routing._limits import account_fingerprint
from tarash.tarash_gateway.routing._metadata import AttemptRecorder, failed_attempt_status
from tarash.tarash_gateway.routing._watch import max_run_seconds

__all__ = [
    "NO_HOOKS",
    "Attempt",
    "AttemptHooks",
    "AttemptServices",
    "AttemptSkipped",
    "JobAbandoned",
    "JobAccepted",
    "SubmitIntent",
    "account_of",
    "build_client",
    "call_hook",
    "client_for_handle",
    "poll_schedule_for",
    "prepare_job",
    "secret_key_of",
    "submit_prepared",
]

logger = logging.getLogger("tarash.attempt")

E = TypeVar("E")


def secret_key_of(config: Config) -> SecretStr | None:
    """The config's key as the SecretStr clients hold; ``None`` when it has none.

    ``config.api_key`` is the plain str given (as published); a SecretStr is taken as well,
    as put there by ``model_copy(update=...)`` (which skips validation) in code written for
    tarash's earlier SecretStr field.
    """
    key: object = config.api_key
    if isinstance(key, SecretStr):
        return key
    return SecretStr(key) if isinstance(key, str) and key else None


def account_of(client: ProviderClient) -> str | None:
    """The account a client's calls count against, as the limits key it: a one-way
    :func:`~tarash.tarash_gateway.routing._limits.account_fingerprint`, never the key.

    The key the client sends (from the config or the environment, without surrounding
    whitespace: ``" k "`` and ``"k"`` are one account). Vertex AI with a project counts
    quota per project and region, and its access tokens (given, or minted from
    Application Default Credentials) change every hour: the project and region are its
    account. ``None`` when the client sends no key (a mock without one).

    Raises:
        AuthenticationError: No key was given or found.
        ValidationError: The key is malformed.
    """
    key = client.api_key().get_secret_value().strip()
    # Where the provider counts quota otherwise (Vertex AI: per project and region), the
    # client's credentials strategy names the account.
    account = client.key_strategy().account or key
    return account_fingerprint(account) if account else None


def _counted_per_account(client: ProviderClient) -> ProviderClient:
    """The client, its calls told their account (a read's 429 pauses that key's reads).

    A key that cannot be read yet (missing, malformed) leaves it unknown: the client's
    first call fails on it anyway, and an attempt's prepare raises it before that.
    """
    try:
        client.request_context.account = account_of(client)
    except TarashException:
        client.request_context.account = None
    return client


def build_client(config: Config, *, deadline: float | None) -> ProviderClient:
    """Instantiate the provider client a config names (the mock's when ``config.mock`` is on).

    Raises:
        ValidationError: The provider is unknown (mocked or not: a chain that could not
            run for real fails in a mock run too), or the config is one it refuses.
    """
    settings = ProviderSettings(
        model=config.model,
        base_url=config.base_url,
        api_key=secret_key_of(config),
        api_version=config.api_version,
        provider_config=dict(config.provider_config),
        max_attempts=config.max_retries + 1,
        deadline=deadline,
    )
    mock = config.mock
    if mock is not None and mock.enabled:
        # Any registered name, a custom handler's included; a client class also checks
        # the config as the real run would.
        entry = get_provider_entry(config.provider)
        real = entry if isinstance(entry, type) and issubclass(entry, ProviderClient) else None
        return MockClient(settings, mock=mock, provider=config.provider, real=real)
    return _counted_per_account(get_provider_class(config.provider)(settings))


def poll_schedule_for(poll_interval: float) -> PollSchedule:
    """The poll schedule for a ``poll_interval``: fast at first, that long at most."""
    cap = poll_interval
    return PollSchedule(first=min(0.25, cap), cap=cap, queued_cap=max(cap, 2 * cap))


async def prepare_job(client: ProviderClient, config: Config, request: Request) -> PreparedJob:
    """Load local media, adapt the request to the model and map it to the wire.

    Raises:
        ValidationError: The request cannot be served by this model, or a value in it
            cannot be sent (nothing was sent); the error names the field.
    """
    strict = config.strict_parameters
    # Named as the user wrote it; the mapped body is checked below, under the wire names.
    check_sendable(request.extra_params, "extra_params")
    if isinstance(request, VideoGenerationRequest):
        video, notes = adapt_video_request(
            await load_local_media(request),
            client.capabilities("video"),
            strict=strict,
            provider=client.name,
            model=client.model,
        )
        job = client.prepare_video(video)
        job.summary.setdefault("duration_seconds", video.duration_seconds)
        job.summary.setdefault("resolution", video.resolution)
        job.summary.setdefault("aspect_ratio", video.aspect_ratio)
    else:
        image, notes = adapt_image_request(
            await load_local_media(request),
            client.capabilities("image"),
            strict=strict,
            provider=client.name,
            model=client.model,
        )
        job = client.prepare_image(image)
    await client.finish_prepared(job)
    if strict and job.adaptations:
        # The provider dropped or rewrote something while mapping (a field the model has
        # no input for): in strict mode that is refused like any other adaptation.
        raise ValidationError("; ".join(job.adaptations), provider=client.name, model=client.model)
    # Encoded now, as the submit will: a value JSON cannot carry is a ValidationError here,
    # not a TypeError from inside the HTTP client.
    check_sendable(job.payload, "payload")
    job.adaptations[:0] = notes
    return job


async def submit_prepared(
    client: ProviderClient,
    job: PreparedJob,
    *,
    deadline: float | None,
    on_abandoned: Callable[[SubmittedJob, bool], Awaitable[object]] | None = None,
) -> SubmittedJob:
    """Submit a prepared job once and stamp its handle with the adaptations made.

    The submit is not cut off when the caller is cancelled while it is in flight (by
    anyio, trio or asyncio's own cancellation): a request that reached the provider may
    have created a paid job, so its reply is awaited, the job it names is cancelled
    remotely, and then the cancellation travels on (``on_abandoned`` is told of that job
    and whether the cancel was accepted). A reply that was the whole answer
    (:class:`AnsweredSubmit`) left no job to cancel: none is sent. Nor is the submit cut
    by the deadline; its retries stop there, and a job submitted late is cancelled by the
    waiter at once.
    """
    time_left = None if deadline is None else max(0.0, deadline - anyio.current_time())

    async def cancel_abandoned(abandoned: SubmittedJob) -> bool:
        cancelled = not isinstance(abandoned, AnsweredSubmit) and await cancel_remote_job(
            client, abandoned.handle
        )
        if on_abandoned is not None:
            await on_abandoned(abandoned, cancelled)
        return cancelled

    submitted = await submit_to_completion(
        lambda: client.submit(job, time_left=time_left), on_abandoned=cancel_abandoned
    )
    _, wall_deadline = deadline_from_timeout(time_left)
    submitted.handle = submitted.handle.model_copy(
        update={
            "adaptations": list(job.adaptations),
            "request_summary": {**job.summary, **submitted.handle.request_summary},
            "deadline_at": wall_deadline,
        }
    )
    return submitted


def client_for_handle(
    handle: JobHandle,
    config: Config | None,
    api_key: str | None,
    deadline: float | None,
) -> ProviderClient:
    """A client for a (possibly resumed) handle, refusing to send a key off its API.

    A handle is data that may have been stored and edited: its ``base_url`` is used only
    when it is the provider's API (default or ``TARASH_<NAME>_BASE_URL``) or the
    ``base_url`` of the config passed alongside it.

    Raises:
        ValidationError: The handle and config disagree, or the handle points elsewhere.
    """
    if config is not None and (provider_key(config.provider), config.model) != (
        provider_key(handle.provider),
        handle.model,
    ):
        raise ValidationError(
            f"the config is for {config.provider}/{config.model}, the handle for "
            f"{handle.provider}/{handle.model}",
            provider=handle.provider,
            model=handle.model,
            request_id=handle.request_id,
        )
    if is_mock_handle(handle):
        # A mock job lives in this process's memory; nothing is sent, so no URL to trust.
        return MockClient.for_handle(
            handle, ProviderSettings(model=handle.model, deadline=deadline)
        )
    client_class = get_provider_class(handle.provider)
    trusted = {client_class.resolve_base_url()}
    if config is not None and config.base_url:
        trusted.add(client_class.resolve_base_url(config.base_url))
    if client_class.resolve_base_url(handle.base_url) not in trusted:
        raise ValidationError(
            f"the handle points at {handle.base_url}, which is neither {handle.provider}'s "
            "API nor a base_url you configured; pass config=... with that base_url to "
            "trust it (your key would be sent there)",
            provider=handle.provider,
            model=handle.model,
            request_id=handle.request_id,
        )
    if api_key:
        key: SecretStr | None = SecretStr(api_key)
    else:
        key = secret_key_of(config) if config is not None else None
    return _counted_per_account(
        client_class(
            ProviderSettings(
                model=handle.model,
                base_url=handle.base_url,
                api_key=key,
                api_version=handle.api_version,
                provider_config=dict(config.provider_config) if config is not None else {},
                deadline=deadline,
            )
        )
    )


@dataclass(frozen=True, slots=True)
class SubmitIntent:
    """What an attempt is about to submit (``hooks.before_submit``'s argument).

    Attributes:
        provider: The config's provider.
        model: The config's model.
        attempt_number: The attempt's number in its request's metadata (from 1).
        role: Why the attempt runs (primary, fallback, hedge).
        estimated_cost: The job's estimated cost, ``None`` when unknown.
        request_summary: Duration, resolution and the like of the mapped request.
    """

    provider: str
    model: str
    attempt_number: int
    role: AttemptRole
    estimated_cost: float | None
    request_summary: Mapping[str, object]


@dataclass(frozen=True, slots=True)
class JobAccepted:
    """A job the provider accepted (``hooks.on_accepted``'s argument).

    Attributes:
        handle: The job, serialisable (``handle.model_dump_json()``) and resumable with
            ``Router.resume_async(handle)``.
        attempt_number: The attempt's number in its request's metadata.
        role: Why the attempt runs.
    """

    handle: JobHandle
    attempt_number: int
    role: AttemptRole


@dataclass(frozen=True, slots=True)
class JobAbandoned:
    """A job accepted by a submit the caller gave up on (``hooks.on_abandoned``).

    Attributes:
        handle: The job, as :class:`JobAccepted` would have carried it.
        cancelled: Whether the provider accepted its remote cancel (False: it may run
            on, and be billed).
    """

    handle: JobHandle
    cancelled: bool


@dataclass(frozen=True, slots=True)
class AttemptHooks:
    """Optional callables (sync or async) told of each attempt's progress; see the module
    docstring for when each is called and what raising from it does. ``on_abandoned``
    hears of a job created by a submit cancelled in flight, after its remote cancel (what
    it raises is dropped: the cancellation is what travels on)."""

    before_submit: Callable[[SubmitIntent], object] | None = None
    on_accepted: Callable[[JobAccepted], object] | None = None
    on_attempt_end: Callable[[AttemptMetadata], object] | None = None
    on_abandoned: Callable[[JobAbandoned], object] | None = None


NO_HOOKS = AttemptHooks()


def _breaker_refusal(admission: Admission) -> str:
    """The skip reason of an attempt the breaker refused."""
    return f"circuit breaker open: {admission.reason or 'recent failures'}"


class AttemptSkipped(Exception):
    """Internal: the attempt sent nothing and the chain should move on (open breaker,
    spill-over after waiting for capacity, refused hedge). Carries the reason."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class CapacitySlotLike(Protocol):
    """A held slot of the provider's limits (``_limits.CapacitySlot``)."""

    @property
    def waited_seconds(self) -> float:
        """Seconds spent waiting for it."""

    def release(self) -> None:
        """Give it back (idempotent)."""


class CapacityLike(Protocol):
    """The limits board an attempt needs (``_limits.CapacityBoard``)."""

    async def acquire(
        self,
        provider: str,
        model: str,
        *,
        deadline: float | None,
        spill: bool,
        account: str | None = None,
    ) -> CapacitySlotLike:
        """Wait for a slot of the account's counters; raise :class:`AttemptSkipped` on a
        spill-over."""

    def slow_down(
        self,
        provider: str,
        model: str,
        retry_after: float | None,
        *,
        account: str | None = None,
        over_concurrency: bool = False,
    ) -> None:
        """Learn that the provider is throttling the account (``over_concurrency``: jobs
        at once)."""

    def pause_creates(
        self, provider: str, model: str, seconds: float, *, account: str | None = None
    ) -> None:
        """Hold every create of the account to the provider back for ``seconds`` (its
        budget is spent)."""


class BreakersLike(Protocol):
    """The circuit breakers an attempt needs (``_breaker.BreakerBoard``)."""

    def admit(self, provider: str, model: str) -> Admission:
        """Whether the config may run now (asked before the wait for capacity)."""

    def readmit(self, provider: str, model: str, first: Admission) -> Admission:
        """Whether a call admitted as ``first`` may still send (asked right before it)."""

    def record(self, provider: str, model: str, outcome: str, transient: bool) -> None:
        """Learn an attempt's outcome: ``success``, ``failure`` or ``none``."""


class CostsLike(Protocol):
    """Prices, the spend cap and latency learning an attempt needs."""

    def estimate(self, provider: str, model: str, summary: Mapping[str, Any]) -> float | None:
        """The job's estimated cost, ``None`` when unknown."""

    def cancelled_cost(self, provider: str, model: str, estimate: float | None) -> float | None:
        """What a cancelled job of that estimate is billed."""

    async def reserve(
        self, amount: float | None, provider: str, model: str
    ) -> Callable[[float | None], Awaitable[None]]:
        """Reserve ``amount`` against the spend cap (in the router's state); returns the
        settle function."""

    def record_latency(self, provider: str, model: str, seconds: float) -> None:
        """Learn a successful job's completion time."""


class WatcherLike(Protocol):
    """What follows a job given up on but not stopped (``_watch.JobWatcher``)."""

    def follow(
        self,
        client: ProviderClient,
        handle: JobHandle,
        release: Callable[[], None],
        *,
        schedule: PollSchedule,
        run_for: float,
    ) -> None:
        """Poll the job until it ends (or ``run_for`` seconds pass), then ``release``."""


@dataclass(frozen=True, slots=True)
class AttemptServices:
    """The router's shared state an attempt consults; each part optional."""

    capacity: CapacityLike | None = None
    breakers: BreakersLike | None = None
    costs: CostsLike | None = None
    watcher: WatcherLike | None = None
    read_pauses: ReadPauses | None = None

    def adopt(self, client: ProviderClient) -> ProviderClient:
        """The client, its reads held by this router's read pauses (when it has its own;
        else the process's)."""
        if self.read_pauses is not None:
            client.request_context.read_pauses = self.read_pauses
        return client


async def call_hook(hook: Callable[[E], object] | None, event: E) -> None:
    """Call a sync or async hook to completion, even under cancellation.

    Raises:
        CallbackError: The hook raised (carries the original).
    """
    if hook is None:
        return

    async def call() -> None:
        try:
            result = hook(event)
            if inspect.isawaitable(result):
                await result
        except Exception as exc:
            raise CallbackError(exc) from exc

    await run_to_completion(call)


@dataclass(slots=True)
class Attempt:
    """One attempt of one config, through the stages of the module docstring.

    Attributes:
        config: The config this attempt runs (its fallbacks are not this attempt's);
            ``None`` for :meth:`resume`, which needs none.
        request: What to generate.
        recorder: Where the attempt's metadata goes.
        on_progress: The user's progress callback.
        hooks: The batch seam's callables.
        services: Limits, breakers, prices, spend.
        spill: Whether a wait for capacity may spill over to the next config (the last
            config of a chain waits until its deadline instead).
    """

    config: Config | None
    request: Request | None
    recorder: AttemptRecorder
    on_progress: ProgressCallback | None = None
    hooks: AttemptHooks = NO_HOOKS
    services: AttemptServices = field(default_factory=AttemptServices)
    spill: bool = False
    client: ProviderClient | None = None
    handle: JobHandle | None = None
    deadline: float | None = None
    estimate: float | None = None
    _slot: CapacitySlotLike | None = None
    _settle: Callable[[float | None], Awaitable[None]] | None = None
    # A job made by a submit cancelled in flight, and whether its cancel was accepted
    # (None: the reply was the whole answer, over and paid, nothing runs on).
    _abandoned: tuple[JobHandle, bool | None] | None = None
    _submitted_at: float | None = None
    _admission: Admission | None = None
    # The account_of the client: the limits' counters, pauses and learning are per key.
    _account: str | None = None
    # How giving up left the job (JobWaiter.stopped): None, never given up on while it
    # ran; True, its remote cancel was accepted; False, it may run on and is billed.
    _stopped: bool | None = None
    _waiter: JobWaiter | None = None

    @property
    def job_config(self) -> Config:
        """The config (only a resumed attempt has none, and never asks)."""
        assert self.config is not None
        return self.config

    @property
    def job_request(self) -> Request:
        """The request (only a resumed attempt has none, and never asks)."""
        assert self.request is not None
        return self.request

    @property
    def metadata(self) -> AttemptMetadata:
        """The attempt's metadata (complete once it has ended)."""
        return self.recorder.metadata

    async def run(self) -> Response:
        """Run every stage and return the response.

        Raises:
            AttemptSkipped: The attempt sent nothing, for the reason carried.
            CallbackError: A progress callback or a hook raised (the job was cancelled).
            TarashException: The attempt failed (recorded; the job was cancelled if it
                was still running).
        """
        with self._observed():
            try:
                with self._recording():
                    self.deadline, _ = deadline_from_timeout(self.job_config.timeout)
                    job = await self.prepare()
                    await self.acquire()
                    submitted = await self.submit(job)
                    response = await self.wait(submitted)
            finally:
                await self._close()
        return response

    async def submit_only(self) -> JobHandle:
        """Prepare, acquire and submit; return the handle without waiting.

        The capacity slot is released once the submit is over: nothing in this process
        follows the job afterwards (a later ``wait`` runs without a slot).

        Raises:
            As :meth:`run`, before the wait.
        """
        with self._observed():
            try:
                with self._recording():
                    self.deadline, _ = deadline_from_timeout(self.job_config.timeout)
                    job = await self.prepare()
                    kind = job.kind
                    assert self.client is not None
                    if kind in self.client.answers_in_request:
                        # The create's reply is the result: a handle could never read it
                        # again, so the paid image would be thrown away.
                        raise ValidationError(
                            f"{self.job_config.provider} answers {kind} requests in the "
                            "request itself, so there is no job to hold and wait on; use "
                            f"generate_{kind} instead (nothing was submitted)",
                            provider=self.job_config.provider,
                            model=self.job_config.model,
                            fallback_allowed=False,
                        )
                    await self.acquire()
                    await self.submit(job)
            finally:
                await self._close(ended=False)
        assert self.handle is not None
        return self.handle

    async def resume(
        self, client: ProviderClient, handle: JobHandle, *, deadline: float, poll_interval: float
    ) -> Response:
        """Wait on a job submitted earlier (maybe by another process) and read it.

        One status call comes before the deadline applies (a job that finished while
        nobody waited is read, not cancelled as late); giving up during it cancels the job.

        Raises:
            As :meth:`run`'s wait.
        """
        self.client, self.handle, self.deadline = client, handle, deadline
        self.metadata.request_id = handle.request_id
        self.metadata.adaptations = list(handle.adaptations)
        costs = self.services.costs
        if costs is not None:
            # The handle carries what its submit summarised of the request: the job costs
            # what it would have from the start, or a rerun's spend would leave it out.
            self.estimate = costs.estimate(handle.provider, handle.model, handle.request_summary)
            self.metadata.estimated_cost = self.estimate
        with self._observed():
            try:
                with self._recording():
                    waiter = JobWaiter(
                        client,
                        handle,
                        schedule=poll_schedule_for(poll_interval),
                        on_progress=self.on_progress,
                        attempt_number=self.metadata.attempt_number,
                    )
                    self._waiter = waiter
                    self._submitted_at = anyio.current_time()
                    try:
                        response = await waiter.run(None, deadline, poll_first=True)
                    finally:
                        self._stopped = waiter.stopped
            finally:
                await self._close()
        return response

    # -- stages ---------------------------------------------------------------------------

    async def prepare(self) -> PreparedJob:
        """Build the client, check the key, map the request; estimate its cost."""
        self.client = client = self.services.adopt(
            build_client(self.job_config, deadline=self.deadline)
        )
        client.request_context.on_create_throttled = self._create_throttled
        # A missing key fails here, before anything is sent.
        self._account = account_of(client)
        job = await prepare_job(client, self.job_config, self.job_request)
        self.metadata.adaptations = list(job.adaptations)
        costs = self.services.costs
        if costs is not None:
            self.estimate = costs.estimate(
                self.job_config.provider, self.job_config.model, job.summary
            )
        return job

    async def acquire(self) -> None:
        """Admission by the breaker, a slot of the provider's limits, then the breaker
        again: a call admitted before it waited sends only if the breaker still lets it.

        Raises:
            AttemptSkipped: The breaker is open (before or after the wait), or the wait
                spilt over.
            TimeoutError: The deadline passed while waiting for capacity.
            RateLimitError: The provider asked for a pause that outlasts the deadline.
        """
        provider, model = self.job_config.provider, self.job_config.model
        breakers = self.services.breakers
        if breakers is not None:
            # Breakers stay per provider/model, not per account: they judge the provider's
            # health (5xx, timeouts, failed jobs), which every key shares, and a breaker
            # per key would have each key relearn an outage; a key's own throttling is
            # the limits' lesson, and those are per account.
            admission = breakers.admit(provider, model)
            if not admission.allowed:
                raise AttemptSkipped(_breaker_refusal(admission))
            self._admission = admission
        capacity = self.services.capacity
        if capacity is None:
            return
        started = anyio.current_time()
        try:
            self._slot = await capacity.acquire(
                provider, model, deadline=self.deadline, spill=self.spill, account=self._account
            )
        except TarashTimeoutError:
            self.metadata.skip_reason = "no capacity before the deadline (nothing was submitted)"
            raise
        except RateLimitError as exc:
            # The provider's pause outlasts the deadline: refused here, not by the provider.
            self.metadata.skip_reason = exc.message
            raise
        finally:
            self.metadata.capacity_wait_seconds = max(0.0, anyio.current_time() - started)
        self._readmit()

    def _readmit(self) -> None:
        """Ask the breaker once more, after every wait of this stage and right before the
        submit: the calls that held the slots may have opened it meanwhile.

        Raises:
            AttemptSkipped: It opened: nothing is sent, and the chain moves on as from a
                refusal at the start (the slot is released when the attempt closes).
        """
        breakers, first = self.services.breakers, self._admission
        if breakers is None or first is None:
            return
        admission = breakers.readmit(self.job_config.provider, self.job_config.model, first)
        if not admission.allowed:
            # Refused, this call is no verdict and holds no probe: the breaker hears
            # nothing of it.
            self._admission = None
            raise AttemptSkipped(_breaker_refusal(admission))
        self._admission = admission

    async def submit(self, job: PreparedJob) -> SubmittedJob:
        """Reserve the spend, announce, submit once, announce the job.

        Returns:
            What the submit returned: the handle and what its reply said of the job (the
            whole answer, for a provider that answers in the request).
        """
        client = self.client
        assert client is not None
        meta = self.metadata
        costs = self.services.costs
        if costs is not None:
            try:
                self._settle = await costs.reserve(
                    self.estimate, self.job_config.provider, self.job_config.model
                )
            except SpendCapExceededError as exc:
                # Before anything is announced or sent: the attempt is a skip.
                meta.skip_reason = exc.message
                raise
        await call_hook(
            self.hooks.before_submit,
            SubmitIntent(
                provider=self.job_config.provider,
                model=self.job_config.model,
                attempt_number=meta.attempt_number,
                role=meta.role,
                estimated_cost=self.estimate,
                request_summary=dict(job.summary),
            ),
        )

        async def abandoned(submitted: SubmittedJob, cancelled: bool) -> None:
            # A job exists although the submit never returned: it is billed (as cancelled,
            # or in full when its cancel failed), so _close must not count it as nothing.
            # One answered in the request is over and paid: nothing runs on to follow.
            handle = submitted.handle
            answered = isinstance(submitted, AnsweredSubmit)
            self._abandoned = (handle, None if answered else cancelled)
            meta.request_id = handle.request_id
            await call_hook(self.hooks.on_abandoned, JobAbandoned(handle, cancelled))

        submitted = await submit_prepared(
            client, job, deadline=self.deadline, on_abandoned=abandoned
        )
        self.handle = submitted.handle
        self._submitted_at = anyio.current_time()
        self._learn_from_submit(client.request_context.counters)
        meta.request_id = submitted.handle.request_id
        meta.estimated_cost = self.estimate
        logger.info(
            "%s accepted job %s (attempt %d, %s)",
            meta.provider,
            meta.request_id,
            meta.attempt_number,
            meta.role,
            extra=log_fields(
                meta.provider,
                meta.model,
                meta.request_id,
                role=meta.role,
                attempt_number=meta.attempt_number,
                estimated_cost=self.estimate,
            ),
        )
        try:
            await call_hook(
                self.hooks.on_accepted,
                JobAccepted(submitted.handle, meta.attempt_number, meta.role),
            )
        except BaseException:
            # Nobody was told of the job, and nobody will follow it: stop it (an answer
            # in the request left none).
            if not isinstance(submitted, AnsweredSubmit):
                await cancel_remote_job(client, submitted.handle, on_result=self._record_stop)
            raise
        return submitted

    def _record_stop(self, outcome: GiveUp) -> None:
        self._stopped = outcome.left_job

    def _create_throttled(self, error: RateLimitError) -> None:
        """The submit was answered 429 and is about to wait out its ``Retry-After`` and
        retry: the account is throttled, not just this create, so every call to the
        provider learns it now (as from a final 429), and the pause holds the provider's
        other creates while this one waits, not from when its retry is accepted.

        Told while this attempt's slot is held: a concurrency cap is lowered below it.
        """
        capacity = self.services.capacity
        if capacity is not None:
            capacity.slow_down(
                self.job_config.provider,
                self.job_config.model,
                error.retry_after,
                account=self._account,
                over_concurrency=error.over_concurrency,
            )

    def _learn_from_submit(self, counters: CallCounters) -> None:
        """What the accepted submit's reply said of the account's limits, told to the
        limiter that every call to the provider shares (its 429s were told as they came:
        :meth:`_create_throttled`)."""
        capacity = self.services.capacity
        if capacity is not None and counters.requests_exhausted_for is not None:
            # This create spent the account's last request until the reset: the next one
            # waits for it here instead of being refused with a 429 there.
            capacity.pause_creates(
                self.job_config.provider,
                self.job_config.model,
                counters.requests_exhausted_for,
                account=self._account,
            )

    async def wait(self, submitted: SubmittedJob) -> Response:
        """Wait for the job and read its result (the waiter cancels it on any give-up);
        take the answer of one the provider answered in the request (nothing to wait on)."""
        assert self.client is not None and self.handle is not None
        waiter = JobWaiter(
            self.client,
            self.handle,
            schedule=poll_schedule_for(self.job_config.poll_interval),
            max_polls=self.job_config.max_poll_attempts,
            on_progress=self.on_progress,
            attempt_number=self.metadata.attempt_number,
            timeout_seconds=self.job_config.timeout,
            on_throttled=self._throttled,
        )
        self._waiter = waiter
        if isinstance(submitted, AnsweredSubmit):
            return await waiter.take_answer(submitted)
        try:
            return await waiter.run(submitted.snapshot, self.deadline)
        finally:
            self._stopped = waiter.stopped

    def _throttled(self) -> None:
        """The provider holds this job back for the account's concurrency (Runway's
        THROTTLED): every call to the provider learns a lower cap."""
        capacity = self.services.capacity
        if capacity is not None and self._slot is not None:
            # Only while this job holds a slot: the cap is lowered below what runs,
            # this job included (a resumed job is not counted, and is not told).
            capacity.slow_down(
                self.job_config.provider,
                self.job_config.model,
                None,
                account=self._account,
                over_concurrency=True,
            )

    # -- recording ------------------------------------------------------------------------

    @contextlib.contextmanager
    def _observed(self) -> Iterator[None]:
        """The attempt's span, and its log record once it has ended (metadata complete)."""
        meta = self.metadata
        with span(
            "tarash.attempt",
            {
                "tarash.provider": meta.provider,
                "tarash.model": meta.model,
                "tarash.role": meta.role,
                "tarash.attempt_number": meta.attempt_number,
            },
        ) as current:
            try:
                yield
            finally:
                fields = {
                    "job_id": meta.request_id,
                    "status": meta.status,
                    "estimated_cost": meta.estimated_cost,
                    "capacity_wait_seconds": meta.capacity_wait_seconds,
                    "skip_reason": meta.skip_reason,
                    "error_type": meta.error_type,
                }
                set_attributes(current, {f"tarash.{key}": value for key, value in fields.items()})
                if meta.status == "failed":
                    current.mark_failed(meta.error_type or "error")
                # A resumed job read back cancelled was cancelled by someone else (the
                # batch run that was stopped, as a rule): expected, not a warning.
                found_cancelled = (
                    self.config is None and meta.error_type == JobCancelledError.__name__
                )
                logger.log(
                    logging.WARNING
                    if meta.status == "failed" and not found_cancelled
                    else logging.INFO,
                    "attempt %d on %s/%s (%s) ended %s"
                    + (
                        ": its resumed job was found cancelled, not failed"
                        if found_cancelled
                        else ""
                    ),
                    meta.attempt_number,
                    meta.provider,
                    meta.model,
                    meta.role,
                    meta.status,
                    extra=log_fields(
                        meta.provider,
                        meta.model,
                        meta.request_id,
                        role=meta.role,
                        attempt_number=meta.attempt_number,
                        status=meta.status,
                        estimated_cost=meta.estimated_cost,
                        capacity_wait_seconds=meta.capacity_wait_seconds,
                        skip_reason=meta.skip_reason,
                        error_type=meta.error_type,
                    ),
                )

    @contextlib.contextmanager
    def _recording(self) -> Iterator[None]:
        """Record how the stages inside ended, whatever ended them, and learn from it."""
        recorder, meta = self.recorder, self.metadata
        provider, model = meta.provider, meta.model
        submitted = False
        try:
            yield
        except AttemptSkipped as exc:
            meta.skip_reason = exc.reason
            recorder.finish("skipped", self.client)
            self._learn("none", False)
            raise
        except CallbackError as exc:
            recorder.finish(self._given_up_status(), self.client, exc.original)
            self._learn("none", False)
            raise
        except TarashException as exc:
            submitted = self.handle is not None
            recorder.finish(failed_attempt_status(exc, self.client, submitted), self.client, exc)
            # Set (and warned about) by the provider's submit: it failed after it may have
            # created a job whose id tarash never learnt.
            meta.job_may_exist = not submitted and exc.job_may_exist
            capacity = self.services.capacity
            if isinstance(exc, RateLimitError) and exc.status_code == 429 and capacity is not None:
                # The provider throttles the account, not just this call (a refusal the
                # limiter raised itself, with no status, was learnt from already). Told
                # while this job's slot is held: a concurrency cap is lowered below it.
                capacity.slow_down(
                    provider,
                    model,
                    exc.retry_after,
                    account=self._account,
                    over_concurrency=exc.over_concurrency,
                )
            # A job that outlived its deadline speaks of the provider's health too.
            late = submitted and isinstance(exc, TarashTimeoutError)
            failed = meta.status == "failed" or late
            self._learn("failure" if failed else "none", exc.retryable or late)
            raise
        except BaseException as exc:
            # Cancelled while a submit was on the wire whose reply was then lost: the job
            # it may have made must stay known (submit_to_completion chains its error).
            lost = exc.__cause__
            meta.job_may_exist = (
                self.handle is None and isinstance(lost, TarashException) and lost.job_may_exist
            )
            recorder.finish(self._given_up_status(), self.client, exc)
            self._learn("none", False)
            raise
        else:
            recorder.finish("success", self.client)
            self._learn("success", False)

    def _given_up_status(self) -> AttemptStatus:
        """How an attempt given up on by its caller (cancelled, a lost race, a callback
        that raised) ended: ``success`` when its job had already succeeded (it was not
        cancelled, and is billed in full), else ``cancelled``."""
        waiter = self._waiter
        if waiter is not None and waiter.last_state is JobState.COMPLETED:
            return "success"
        return "cancelled"

    def _learn(self, outcome: str, transient: bool) -> None:
        """Tell the breaker (when it admitted this attempt) and the latency tracker."""
        breakers, costs = self.services.breakers, self.services.costs
        provider, model = self.metadata.provider, self.metadata.model
        if breakers is not None and self._admission is not None:
            breakers.record(provider, model, outcome, transient)
        if outcome == "success" and costs is not None and self._submitted_at is not None:
            costs.record_latency(provider, model, anyio.current_time() - self._submitted_at)

    async def _close(self, *, ended: bool = True) -> None:
        """Release the slot (or hand it to the watcher with a job that runs on), settle
        the spend, tell ``on_attempt_end``."""
        meta = self.metadata
        running = self._left_running()
        if self._slot is not None:
            slot, self._slot = self._slot, None
            if running is None or not self._hand_over(running, slot):
                slot.release()
        estimate, costs = self.estimate, self.services.costs
        stopped_in_time = (
            self._stopped is True
            if self.handle is not None
            else self._abandoned is not None and self._abandoned[1] is True
        )
        if stopped_in_time:
            meta.estimated_cost = (
                estimate
                if costs is None
                else costs.cancelled_cost(meta.provider, meta.model, estimate)
            )
        elif self.handle is not None or self._abandoned is not None or meta.job_may_exist:
            # It ran (or runs on: not stopped, or stopped after it finished), or a submit
            # whose reply was lost may have made it: billed in full until proven otherwise.
            meta.estimated_cost = estimate
        else:
            # Known never to have been made.
            meta.estimated_cost = 0.0 if estimate is not None else None
        if self._settle is not None:
            settle, self._settle = self._settle, None
            # Settled whatever cancels the caller: a hold left open would keep the cap's
            # dollars back for good (a shared store's settle is I/O, a checkpoint).
            with anyio.CancelScope(shield=True):
                await settle(meta.estimated_cost or 0.0)
        await call_hook(self.hooks.on_attempt_end, meta)

    def _left_running(self) -> JobHandle | None:
        """The job this attempt gave up on without stopping it, if any."""
        if self.handle is not None:
            return self.handle if self._stopped is False else None
        if self._abandoned is not None and self._abandoned[1] is False:
            return self._abandoned[0]
        return None

    def _hand_over(self, handle: JobHandle, slot: CapacitySlotLike) -> bool:
        """Give the slot of a job that runs on to the watcher, which releases it when the
        job ends: the provider counts it against the account until then, and so must the
        limits. False when there is no watcher (the caller releases the slot)."""
        watcher, client = self.services.watcher, self.client
        if watcher is None or client is None:
            return False
        age = 0.0 if self._submitted_at is None else anyio.current_time() - self._submitted_at
        poll_interval = self.config.poll_interval if self.config is not None else 5.0
        watcher.follow(
            client,
            handle,
            slot.release,
            schedule=poll_schedule_for(poll_interval),
            run_for=max_run_seconds(handle.provider, handle.model) - age,
        )
        return True
