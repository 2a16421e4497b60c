"""A generation across a fallback chain, with one :class:`AttemptMetadata` per attempt.

Each config of the chain gets one attempt: adapt and validate the request for its model,
submit once, wait under that config's deadline, read the result. An attempt's failure
moves on to the next config when :func:`~tarash.tarash_gateway.errors.falls_back` says so
under that config's ``fallback_on`` policy (see :func:`fallback_policies`). When every
attempt fails, the last error is raised with the whole chain's metadata attached.
"""

from __future__ import annotations

import logging

from tarash.tarash_gateway._unions import (
    AnyConfig,
    AnyRequest,
    AnyResponse,
    ProgressCallback,
)
from tarash.tarash_gateway.compat._handler import handler_for, run_handler_attempt
from tarash.tarash_gateway.engine._tracing import log_fields
from tarash.tarash_gateway.errors import (
    CircuitOpenError,
    FallbackPolicy,
    TarashException,
    ValidationError,
    falls_back,
)
from tarash.tarash_gateway.models import (
    AudioGenerationConfig,
    STSRequest,
    TTSRequest,
)
from tarash.tarash_gateway.routing._attempt import (
    NO_HOOKS,
    Attempt,
    AttemptHooks,
    AttemptServices,
    AttemptSkipped,
    build_client,
    call_hook,
    poll_schedule_for,
    prepare_job,
    secret_key_of,
    submit_prepared,
)
from tarash.tarash_gateway.routing._jobs import CallbackError
from tarash.tarash_gateway.routing._metadata import (
    AttemptRecorder,
    MetadataCollector,
    attach_metadata,
)

__all__ = [
    "build_client",
    "check_chain",
    "fallback_policies",
    "poll_schedule_for",
    "prepare_job",
    "run_chain",
    "run_config",
    "secret_key_of",
    "submit_prepared",
]

logger = logging.getLogger("tarash.chain")

# A chain also runs audio (AnyConfig): there every config is a handler's (tarash has no
# audio client), so audio never reaches the staged attempt.


async def run_config(
    config: AnyConfig,
    request: AnyRequest,
    recorder: AttemptRecorder,
    on_progress: ProgressCallback | None,
    *,
    services: AttemptServices,
    hooks: AttemptHooks,
    spill: bool,
) -> AnyResponse:
    """Run one config as one attempt: a published-style handler's call, or the staged
    :class:`~tarash.tarash_gateway.routing._attempt.Attempt` of a client.

    Raises:
        AttemptSkipped: Nothing was sent (open breaker, spill-over).
        CallbackError: A progress callback or hook raised.
        TarashException: The attempt failed.
    """
    handler = handler_for(config)
    if handler is not None:
        # A published-style handler does the whole job in one call: no client, no job,
        # nothing to hold a capacity slot for or to cancel remotely.
        try:
            return await run_handler_attempt(handler, config, request, recorder, on_progress)
        finally:
            await call_hook(hooks.on_attempt_end, recorder.metadata)
    if isinstance(config, AudioGenerationConfig) or isinstance(request, TTSRequest | STSRequest):
        # Not reached: handler_for serves every audio config.
        error = ValidationError(
            f"{config.provider} has no audio; audio runs on registered handlers",
            provider=config.provider,
            model=config.model,
        )
        recorder.finish("skipped", None, error)
        raise error
    attempt = Attempt(
        config,
        request,
        recorder,
        on_progress=on_progress,
        hooks=hooks,
        services=services,
        spill=spill,
    )
    return await attempt.run()


def fallback_policies(config: AnyConfig) -> dict[int, FallbackPolicy]:
    """The fallback policy of each config in ``config``'s chain, keyed by ``id()``.

    A config's ``fallback_on`` covers it and, recursively, its ``fallback_configs``: set on
    the config passed to ``generate_*``, it governs the whole chain. A fallback config may
    widen it for itself and its own fallbacks, never narrow it.
    """
    widened: set[int] = set()
    visited: set[tuple[int, bool]] = set()

    def visit(current: AnyConfig, inherited: bool) -> None:
        wide = inherited or current.fallback_on == "provider_specific"
        if (id(current), wide) in visited:
            return
        visited.add((id(current), wide))
        if wide:
            widened.add(id(current))
        for fallback in current.fallback_configs or []:
            visit(fallback, wide)

    visit(config, False)
    return {
        id(member): "provider_specific" if id(member) in widened else "transient"
        for member in config.chain()
    }


def check_chain(config: AnyConfig) -> list[AnyConfig]:
    """The chain's configs, each checked before the first job is paid for.

    Raises:
        ValidationError: An unknown provider or a misspelt ``provider_config`` option
            anywhere in the chain (not when its turn comes; handler_for itself refuses an
            audio config's unknown provider).
    """
    chain: list[AnyConfig] = list(config.chain())
    for candidate in chain:
        handler = handler_for(candidate)
        if handler is None and not isinstance(candidate, AudioGenerationConfig):
            build_client(candidate, deadline=None)
    return chain


def log_fallback(
    failed: AnyConfig, error: TarashException | AttemptSkipped, following: AnyConfig
) -> None:
    """Log why the chain moves from ``failed`` on to ``following``."""
    fields = {"next_provider": following.provider, "next_model": following.model}
    if isinstance(error, AttemptSkipped):
        logger.warning(
            "%s/%s skipped (%s); falling back to %s/%s",
            failed.provider,
            failed.model,
            error.reason,
            following.provider,
            following.model,
            extra=log_fields(
                failed.provider, failed.model, status="skipped", skip_reason=error.reason, **fields
            ),
        )
        return
    # str(exc) is the message alone: the context the log needs is spelt out.
    status = "" if error.status_code is None else f" HTTP {error.status_code}"
    logger.warning(
        "%s/%s failed (%s%s: %s); falling back to %s/%s",
        failed.provider,
        failed.model,
        type(error).__name__,
        status,
        error.message,
        following.provider,
        following.model,
        extra=log_fields(
            failed.provider,
            failed.model,
            error.request_id,
            status="failed",
            error_type=type(error).__name__,
            status_code=error.status_code,
            **fields,
        ),
    )


def skipped_error(config: AnyConfig, skip: AttemptSkipped) -> CircuitOpenError:
    """The error for a chain whose last config was skipped (its breaker is open)."""
    return CircuitOpenError(
        f"{config.provider}/{config.model} was skipped ({skip.reason}) and no config of "
        "the chain is left to try (nothing was submitted to it)",
        provider=config.provider,
        model=config.model,
    )


async def run_chain(
    config: AnyConfig,
    request: AnyRequest,
    on_progress: ProgressCallback | None,
    *,
    services: AttemptServices | None = None,
    hooks: AttemptHooks = NO_HOOKS,
    first: int = 0,
    collector: MetadataCollector | None = None,
) -> AnyResponse:
    """Run a generation down ``config``'s fallback chain and return the first success.

    Each config gets one attempt, one after another. A config whose breaker is open is
    recorded ``skipped`` and the chain goes on; so is one whose wait for capacity spilt
    over (every config but the last may spill; the last waits until its deadline).

    ``first`` and ``collector`` continue a chain whose earlier configs already had their
    attempts (a resumed job that failed: ``Router.resume_async``): the run starts at the
    chain's config number ``first`` (from 0) and adds its attempts to ``collector``.

    Raises:
        TarashException: The last attempt's error, with ``execution_metadata`` of all
            (:class:`CircuitOpenError` when the last config was skipped).
        Exception: Whatever the user's progress callback or a hook raised, unchanged.
    """
    chain = check_chain(config)
    policies = fallback_policies(config)
    services = services or AttemptServices()
    collector = collector or MetadataCollector(configs_in_chain=len(chain))

    last_error: TarashException | None = None
    for number, candidate in enumerate(chain, start=1):
        if number <= first:
            continue
        recorder = collector.new_attempt(candidate.provider, candidate.model)
        more = number < len(chain)
        try:
            response = await run_config(
                candidate,
                request,
                recorder,
                on_progress,
                services=services,
                hooks=hooks,
                spill=more,
            )
        except CallbackError as exc:
            raise exc.original from None
        except AttemptSkipped as skip:
            if more:
                log_fallback(candidate, skip, chain[number])
                continue
            last_error = skipped_error(candidate, skip)
            break
        except TarashException as exc:
            last_error = exc
            if more and falls_back(exc, policies[id(candidate)]):
                log_fallback(candidate, exc, chain[number])
                continue
            break
        # The winner is the attempt just made (the last one recorded, a chain's earlier
        # attempts included when it was continued).
        return attach_metadata(response, collector.build(len(collector.attempts)))
    assert last_error is not None
    last_error.execution_metadata = collector.build(None)
    raise last_error
