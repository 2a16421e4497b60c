"""One request of a batch: run it down its chain with ledger hooks, or resume its handle.

The only place the batch touches the generation pipeline: :func:`run_request` tells its
caller before each submit (the intent, written to the ledger first) and as soon as a
provider accepts a job (its handle), and :func:`resume_request` waits on a stored handle.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, cast

from tarash.tarash_gateway._chain import build_client, fallback_policies
from tarash.tarash_gateway.api import (
    generate_image_async,
    generate_video_async,
    submit_image_async,
    submit_video_async,
    wait_async,
)
from tarash.tarash_gateway.errors import TarashException, ValidationError, falls_back
from tarash.tarash_gateway.models import (
    AttemptMetadata,
    ExecutionMetadata,
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

__all__ = ["RunHooks", "cancels_remotely", "resume_request", "run_request"]

Config = VideoGenerationConfig | ImageGenerationConfig
Request = VideoGenerationRequest | ImageGenerationRequest
Response = VideoGenerationResponse | ImageGenerationResponse
ProgressCallback = Callable[[Any], Any]


@dataclass(frozen=True, slots=True)
class RunHooks:
    """What a request tells the batch while it runs.

    Attributes:
        before_submit: Awaited before each submit, with the config about to be used;
            nothing is sent until it returns (the ledger commits the intent there).
        on_accepted: Awaited with each job the provider accepted, before it is waited on.
        on_progress: The job's progress updates.
    """

    before_submit: Callable[[Config], Awaitable[None]]
    on_accepted: Callable[[JobHandle], Awaitable[None]]
    on_progress: ProgressCallback | None = None


def _holds_jobs(config: Config) -> bool:
    """Whether a config's runs have a job to hold: a client class whose replies are not
    the result itself (a custom handler's, OpenAI's images and Stability's are)."""
    entry = get_provider_entry(config.provider)
    if not (isinstance(entry, type) and issubclass(entry, ProviderClient)):
        return False
    kind = "video" if isinstance(config, VideoGenerationConfig) else "image"
    return kind not in build_client(config, deadline=None).answers_in_request


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


def _alone(config: Config) -> Config:
    return config.model_copy(update={"fallback_configs": None})


def _metadata(attempts: list[AttemptMetadata], chain: int, success: bool) -> ExecutionMetadata:
    for number, attempt in enumerate(attempts, start=1):
        attempt.attempt_number = number
    return ExecutionMetadata(
        total_attempts=len(attempts),
        successful_attempt=len(attempts) if success and attempts else None,
        attempts=attempts,
        fallback_triggered=len(attempts) > 1,
        configs_in_chain=chain,
        started_at=attempts[0].started_at if attempts else None,
        ended_at=attempts[-1].ended_at if attempts else None,
    )


async def _run_member(config: Config, request: Request, hooks: RunHooks) -> Response:
    await hooks.before_submit(config)
    if not _holds_jobs(config):
        if isinstance(request, VideoGenerationRequest):
            return await generate_video_async(
                cast("VideoGenerationConfig", _alone(config)), request, hooks.on_progress
            )
        return await generate_image_async(
            cast("ImageGenerationConfig", _alone(config)), request, hooks.on_progress
        )
    if isinstance(request, VideoGenerationRequest):
        handle = await submit_video_async(cast("VideoGenerationConfig", config), request)
    else:
        handle = await submit_image_async(cast("ImageGenerationConfig", config), request)
    await hooks.on_accepted(handle)
    return await wait_async(
        handle, config=config, poll_interval=config.poll_interval, on_progress=hooks.on_progress
    )


async def run_request(config: Config, request: Request, hooks: RunHooks) -> Response:
    """Run ``request`` down ``config``'s fallback chain, one submit per config at most.

    Raises:
        TarashException: Every attempt failed (the last error, with the chain's metadata);
            ``job_may_exist`` when its submit may have created a job.
    """
    chain: list[Config] = list(config.chain())
    policies = fallback_policies(config)
    attempts: list[AttemptMetadata] = []
    for number, member in enumerate(chain, start=1):
        try:
            response = await _run_member(member, request, hooks)
        except TarashException as exc:
            if exc.execution_metadata is not None:
                attempts.extend(exc.execution_metadata.attempts)
            if number < len(chain) and falls_back(exc, policies[id(member)]):
                continue
            exc.execution_metadata = _metadata(attempts, len(chain), success=False)
            raise
        attempts.extend(response.execution_metadata.attempts)
        response.execution_metadata = _metadata(attempts, len(chain), success=True)
        return response
    raise AssertionError("a chain has at least one config")  # pragma: no cover


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
    return await wait_async(
        handle, config=member, poll_interval=member.poll_interval, on_progress=on_progress
    )
