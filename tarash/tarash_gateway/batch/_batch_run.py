"""One request of a batch: run it down its chain with ledger hooks, or resume its handle.

The only place the batch touches the generation pipeline, through the router's seam
(:meth:`~tarash.tarash_gateway.router.Router.run_async` with
:class:`~tarash.tarash_gateway.routing._attempt.AttemptHooks`): :func:`run_request` tells its
caller before each submit (the intent, written to the ledger first) and as soon as a
provider accepts a job (its handle); :func:`resume_request` waits on a stored handle. The
batch thereby goes through the router's limits, breakers, strategy and prices: the router
the batch was given (``generate_videos_async(router=...)``), else the default one, looked
up at each request as the module functions do.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from tarash.tarash_gateway._unions import (
    AnyConfig,
    AnyResponse,
    Config,
    ProgressCallback,
    Request,
    Response,
)
from tarash.tarash_gateway.errors import TarashException, ValidationError
from tarash.tarash_gateway.models import (
    AttemptMetadata,
    JobHandle,
    STSRequest,
    TTSRequest,
)
from tarash.tarash_gateway.providers import get_provider_entry, provider_key
from tarash.tarash_gateway.providers._base import ProviderClient
from tarash.tarash_gateway.router import Router, check_router, resolve_router
from tarash.tarash_gateway.routing._arguments import check_generation_arguments
from tarash.tarash_gateway.routing._attempt import (
    AttemptHooks,
    JobAbandoned,
    JobAccepted,
    SubmitIntent,
    build_client,
    prepare_job,
)
from tarash.tarash_gateway.routing._limits import account_fingerprint

__all__ = [
    "FIND_SETTLE",
    "FIND_SETTLE_VARIABLE",
    "FIND_WINDOW_AFTER",
    "FIND_WINDOW_BEFORE",
    "UNDECIDED",
    "Router",
    "RunHooks",
    "SubmitLookup",
    "cancels_remotely",
    "chain_account",
    "check_router",
    "find_settle",
    "find_submitted",
    "lists_every_job",
    "resume_request",
    "run_request",
    "run_speech",
]

logger = logging.getLogger("tarash.batch")

FIND_WINDOW_BEFORE = timedelta(minutes=5)
"""How long before a row's intent a job found by its request may have been created (the
provider's clock may run behind ours)."""
FIND_WINDOW_AFTER = timedelta(minutes=15)
"""How long after it at least (a submit's retries, the provider's clock running ahead);
the window runs to now (and the clock allowance after it) when that is later."""
FIND_SETTLE = timedelta(seconds=5)
"""How long after a run opens its ledger (so no earlier run can still be sending: it
holds the ledger's lock until it dies) a complete listing that shows no job is trusted:
a create already on the wire when that run died has reached the provider by then.
:data:`FIND_SETTLE_VARIABLE` overrides it (see :func:`find_settle`)."""
FIND_SETTLE_VARIABLE = "TARASH_FIND_SETTLE_SECONDS"
"""The environment variable that overrides :data:`FIND_SETTLE`, in seconds. It is there
for tests that rerun a crashed batch (in a child process, say) and would otherwise wait
out the default; a production run keeps the default."""


def find_settle(default: timedelta) -> timedelta:
    """The settle time a batch run waits: :data:`FIND_SETTLE_VARIABLE` if set, else ``default``.

    Read where the wait is decided, so a test sets it for the runs it starts. A value that
    is not a finite number of seconds >= 0 is ignored with a warning (the default is the
    safe side), never an error out of the batch.
    """
    raw = os.environ.get(FIND_SETTLE_VARIABLE)
    if raw is None:
        return default
    try:
        seconds = float(raw)
    except ValueError:
        seconds = math.nan
    if not math.isfinite(seconds) or seconds < 0:
        logger.warning(
            "%s=%r is not a number of seconds >= 0; the default %s s is used",
            FIND_SETTLE_VARIABLE,
            raw,
            default.total_seconds(),
        )
        return default
    return timedelta(seconds=seconds)


@dataclass(frozen=True, slots=True)
class RunHooks:
    """What a request tells the batch while it runs.

    Attributes:
        before_submit: Awaited with the attempt's number before each submit (``None``
            for a handler's call); nothing is sent until it returns (the ledger commits
            the intent there).
        on_accepted: Awaited with each job the provider accepted and its attempt's
            number, before it is waited on.
        on_progress: The job's progress updates.
        on_abandoned: Awaited with a job that a submit cancelled in flight created, and
            whether the provider accepted its remote cancel (the request is stopping).
        on_attempt_end: Awaited with each attempt's finished metadata (a race's racers
            and a chain's fallbacks each end on their own).
    """

    before_submit: Callable[[int | None], Awaitable[None]]
    on_accepted: Callable[[JobHandle, int], Awaitable[None]]
    on_progress: ProgressCallback | None = None
    on_abandoned: Callable[[JobHandle, bool], Awaitable[None]] | None = None
    on_attempt_end: Callable[[AttemptMetadata], Awaitable[None]] | None = None


def _is_handler(config: Config) -> bool:
    """Whether a config is served by a published-style handler (one call, no job)."""
    if config.mock is not None and config.mock.enabled:
        return False
    try:
        entry = get_provider_entry(config.provider)
    except TarashException:
        return False  # refused before anything is sent
    return not (isinstance(entry, type) and issubclass(entry, ProviderClient))


def cancels_remotely(config: Config) -> bool:
    """Whether every provider of the chain cancels a job it was asked to (a job given up
    during its submit is then cancelled, and may be sent again)."""
    for member in config.chain():
        try:
            entry = get_provider_entry(member.provider)
        except TarashException:
            continue  # unknown: nothing can have been sent to it
        if member.mock is not None and member.mock.enabled:
            continue
        if not (isinstance(entry, type) and issubclass(entry, ProviderClient)):
            return False  # a handler's call cannot be cancelled remotely
        if not entry.supports_cancel:
            return False
    return True


def _attempt_hooks(hooks: RunHooks) -> AttemptHooks:
    async def before_submit(intent: SubmitIntent) -> None:
        await hooks.before_submit(intent.attempt_number)

    async def on_accepted(accepted: JobAccepted) -> None:
        await hooks.on_accepted(accepted.handle, accepted.attempt_number)

    async def on_attempt_end(meta: AttemptMetadata) -> None:
        if hooks.on_attempt_end is not None:
            await hooks.on_attempt_end(meta)

    async def on_abandoned(abandoned: JobAbandoned) -> None:
        if hooks.on_abandoned is not None:
            await hooks.on_abandoned(abandoned.handle, abandoned.cancelled)

    return AttemptHooks(
        before_submit=before_submit,
        on_accepted=on_accepted,
        on_abandoned=on_abandoned,
        on_attempt_end=on_attempt_end,
    )


async def run_request(
    config: Config, request: Request, hooks: RunHooks, *, router: Router | None = None
) -> Response:
    """Run ``request`` down ``config``'s chain on ``router`` (the default router when
    None), with ``hooks``.

    Raises:
        TarashException: Every attempt failed (the last error, with the chain's metadata);
            ``job_may_exist`` when its submit may have created a job.
    """
    if any(_is_handler(member) for member in config.chain()):
        # A handler's call announces no submit and returns no handle: the intent is
        # recorded before the whole request, so a crash during it is never resent.
        await hooks.before_submit(None)
    return await resolve_router(router, "batch").run_async(
        config, request, on_progress=hooks.on_progress, hooks=_attempt_hooks(hooks)
    )


async def run_speech(
    config: AnyConfig,
    request: TTSRequest | STSRequest,
    hooks: RunHooks,
    *,
    router: Router | None = None,
) -> AnyResponse:
    """Run a speech request down ``config``'s chain on ``router``, as ``generate_tts`` /
    ``generate_sts`` do (the ordered batch's audio items).

    Speech is a handler's call (or the mock's): no job, no handle, nothing to resume;
    the intent is announced once, before the whole request.

    Raises:
        ValidationError: The config or request is malformed (nothing was called).
        TarashException: Every attempt failed (the last error, with the chain's metadata).
    """
    if isinstance(request, TTSRequest):
        check_generation_arguments("generate_tts", "tts", config, request, hooks.on_progress)
    else:
        check_generation_arguments("generate_sts", "sts", config, request, hooks.on_progress)
    await hooks.before_submit(None)
    return await resolve_router(router, "batch").run_chain_async(config, request, hooks.on_progress)


def _member_for(config: Config, handle: JobHandle) -> Config:
    """The chain member a stored handle's job was submitted to: the same provider and
    model (on the handle's base URL, when two members share both)."""
    wanted = (provider_key(handle.provider), handle.model)
    members = [
        member
        for member in config.chain()
        if (provider_key(member.provider), member.model) == wanted
    ]
    if not members:
        raise ValidationError(
            f"the ledger's job is on {handle.provider}/{handle.model}, which is not in this "
            "batch's config chain any more",
            provider=handle.provider,
            model=handle.model,
            request_id=handle.request_id,
            fallback_allowed=False,
        )
    client_class = get_provider_entry(handle.provider)
    if (
        len(members) > 1
        and isinstance(client_class, type)
        and issubclass(client_class, ProviderClient)
    ):
        on_base = [
            member
            for member in members
            if client_class.resolve_base_url(member.base_url)
            == client_class.resolve_base_url(handle.base_url)
        ]
        members = on_base or members
    return members[0]


async def resume_request(
    config: Config,
    request: Request,
    handle: JobHandle,
    hooks: RunHooks,
    *,
    continue_chain: bool,
    router: Router | None = None,
) -> Response:
    """Wait on a job submitted by an earlier run, with a fresh deadline.

    The wait gets the member config's whole ``timeout`` from now: the handle's own
    deadline counted from its submit, and after an outage it may have passed while the
    job ran on, paid for; a job that finished meanwhile is read, never cancelled.

    With ``continue_chain``, a failure the chain would have fallen back on continues it
    from the config after the job's, as the original run would have (``hooks`` hear of
    those submits). The wait runs on ``router`` (the default router when None).

    Raises:
        ValidationError: The handle's provider and model are not in ``config``'s chain.
        TarashException: The job failed (and, continuing, so did the rest of the chain),
            or could not be waited on.
    """
    member = _member_for(config, handle)
    return await resolve_router(router, "batch").resume_async(
        handle,
        config=member,
        timeout=member.timeout,
        poll_interval=member.poll_interval,
        on_progress=hooks.on_progress,
        hooks=_attempt_hooks(hooks),
        chain=config if continue_chain else None,
        request=request if continue_chain else None,
    )


@dataclass(frozen=True, slots=True)
class SubmitLookup:
    """What the providers' listings say of an earlier run's submit of one request.

    Attributes:
        handle: The one job that submit created, when exactly one was found.
        none_exists: No job was found and the lookup was complete: every provider of the
            chain listed its jobs over the whole window, so the submit created none and
            the request may be sent again without paying twice.
    """

    handle: JobHandle | None = None
    none_exists: bool = False


UNDECIDED = SubmitLookup()
"""Nothing can be said (a lookup failed or could not be complete, or several jobs match):
the row stays flagged."""


def _lists_its_jobs(member: Config) -> bool:
    try:
        entry = get_provider_entry(member.provider)
    except TarashException:
        return False  # unknown here: its lookup says why
    return isinstance(entry, type) and issubclass(entry, ProviderClient) and entry.finds_jobs


def lists_every_job(config: Config) -> bool:
    """Whether every config of the chain that makes paid jobs (all but enabled mocks) is on
    a provider that can list its jobs by their input: only then can a lookup show that an
    earlier run's submit created nothing."""
    return all(
        _lists_its_jobs(member)
        for member in config.chain()
        if member.mock is None or not member.mock.enabled
    )


def chain_account(config: Config) -> str | None:
    """A one-way fingerprint of the accounts a chain's lookups would list: each config's
    provider, API host and key, in order (never a key itself).

    Kept with each intent (:attr:`LedgerEntry.intent_account`): a rerun whose lookups
    would read other accounts (another key, another host) cannot take their empty
    listings as proof that the earlier run's submit made no job. ``None`` when a key
    cannot be read now (missing), or the chain has a provider that cannot list its jobs
    (then nothing is ever concluded anyway).
    """
    if not lists_every_job(config):
        return None
    parts: list[str] = []
    for member in config.chain():
        if member.mock is not None and member.mock.enabled:
            continue
        try:
            client = build_client(member, deadline=None)
            key = client.api_key().get_secret_value()
        except TarashException:
            return None
        parts.append(f"{member.provider}\0{client.base_url}\0{key}")
    return account_fingerprint("\n".join(parts))


async def find_submitted(
    config: Config,
    request: Request,
    since: datetime,
    *,
    may_conclude_none: bool,
    router: Router | None = None,
) -> SubmitLookup:
    """The job an earlier run's submit of ``request`` created, looked up at the provider.

    For a row caught between its submit and the record of the reply (``intent``), or a
    submit whose reply was lost (``unknown``): each config of the chain whose provider
    can list its jobs by their input (:attr:`ProviderClient.finds_jobs`) is asked for
    jobs of its model created from just before ``since`` (the row's intent) to now.
    Exactly one found: its handle. Several, or a lookup that failed or could not cover
    the window: :data:`UNDECIDED`, and the row stays flagged; nothing is resent on a
    guess. None found, with ``may_conclude_none`` (the caller knows the intent's time and
    that no earlier run can still be sending), and every config of the chain listed:
    ``none_exists``. The listings' reads wait out ``router``'s read pauses (the default
    router's when None).
    """
    pauses = resolve_router(router, "batch").read_pauses
    found: list[JobHandle] = []
    complete = may_conclude_none
    created_before = max(since + FIND_WINDOW_AFTER, datetime.now(UTC) + FIND_WINDOW_BEFORE)
    for member in config.chain():
        if member.mock is not None and member.mock.enabled:
            continue  # a mock creates nothing anyone pays for
        try:
            if not _lists_its_jobs(member):
                complete = False  # a custom handler or a provider that cannot list its jobs
                continue
            client = build_client(member, deadline=None)
            client.request_context.read_pauses = pauses
            job = await prepare_job(client, member, request)
            handles = await client.find_jobs(
                job, created_after=since - FIND_WINDOW_BEFORE, created_before=created_before
            )
        except TarashException as exc:
            logger.warning(
                "could not look up %s/%s jobs for a request of an earlier run: %s",
                member.provider,
                member.model,
                exc.message,
            )
            return UNDECIDED
        found.extend(
            handle.model_copy(
                update={
                    "adaptations": list(job.adaptations),
                    "request_summary": {**job.summary, **handle.request_summary},
                }
            )
            for handle in handles
        )
    if len(found) == 1:
        return SubmitLookup(handle=found[0])
    return SubmitLookup(none_exists=complete and not found)
