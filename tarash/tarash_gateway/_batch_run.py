"""One request of a batch: run it down its chain with ledger hooks, or resume its handle.

The only place the batch touches the generation pipeline, through the router's seam
(:meth:`~tarash.tarash_gateway.router.Router.run_async` with
:class:`~tarash.tarash_gateway._attempt.AttemptHooks`): :func:`run_request` tells its
caller before each submit (the intent, written to the ledger first) and as soon as a
provider accepts a job (its handle); :func:`resume_request` waits on a stored handle. The
batch thereby goes through the router's limits, breakers, strategy and prices.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from tarash.tarash_gateway._attempt import AttemptHooks, JobAccepted, SubmitIntent
from tarash.tarash_gateway.errors import TarashException, ValidationError
from tarash.tarash_gateway.models import (
    ImageGenerationConfig,
    ImageGenerationRequest,
    ImageGenerationResponse,
    JobHandle,
    VideoGenerationConfig,
    VideoGenerationRequest,
    VideoGenerationResponse,
)
from tarash.tarash_gateway.providers import get_provider_entry, provider_key
from tarash.tarash_gateway.providers._base import ProviderClient
from tarash.tarash_gateway.router import default_router

__all__ = ["RunHooks", "cancels_remotely", "resume_request", "run_request"]

Config = VideoGenerationConfig | ImageGenerationConfig
Request = VideoGenerationRequest | ImageGenerationRequest
Response = VideoGenerationResponse | ImageGenerationResponse
ProgressCallback = Callable[[Any], Any]


@dataclass(frozen=True, slots=True)
class RunHooks:
    """What a request tells the batch while it runs.

    Attributes:
        before_submit: Awaited before each submit; nothing is sent until it returns (the
            ledger commits the intent there).
        on_accepted: Awaited with each job the provider accepted, before it is waited on.
        on_progress: The job's progress updates.
    """

    before_submit: Callable[[], Awaitable[None]]
    on_accepted: Callable[[JobHandle], Awaitable[None]]
    on_progress: ProgressCallback | None = None


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


async def run_request(config: Config, request: Request, hooks: RunHooks) -> Response:
    """Run ``request`` down ``config``'s chain on the default router, with ``hooks``.

    Raises:
        TarashException: Every attempt failed (the last error, with the chain's metadata);
            ``job_may_exist`` when its submit may have created a job.
    """
    if any(_is_handler(member) for member in config.chain()):
        # A handler's call announces no submit and returns no handle: the intent is
        # recorded before the whole request, so a crash during it is never resent.
        await hooks.before_submit()

    async def before_submit(intent: SubmitIntent) -> None:
        await hooks.before_submit()

    async def on_accepted(accepted: JobAccepted) -> None:
        await hooks.on_accepted(accepted.handle)

    return await default_router().run_async(
        config,
        request,
        on_progress=hooks.on_progress,
        hooks=AttemptHooks(before_submit=before_submit, on_accepted=on_accepted),
    )


def _member_for(config: Config, handle: JobHandle) -> Config:
    members: list[Config] = list(config.chain())
    for member in members:
        if (provider_key(member.provider), member.model) == (
            provider_key(handle.provider),
            handle.model,
        ):
            return member
    raise ValidationError(
        f"the ledger's job is on {handle.provider}/{handle.model}, which is not in this "
        "batch's config chain any more",
        provider=handle.provider,
        model=handle.model,
        request_id=handle.request_id,
        fallback_allowed=False,
    )


async def resume_request(
    config: Config, handle: JobHandle, on_progress: ProgressCallback | None
) -> Response:
    """Wait on a job submitted by an earlier run (its failure is raised, not fallen back on).

    Raises:
        ValidationError: The handle's provider and model are not in ``config``'s chain.
        TarashException: The job failed, or could not be waited on.
    """
    member = _member_for(config, handle)
    return await default_router().resume_async(
        handle, config=member, poll_interval=member.poll_interval, on_progress=on_progress
    )
