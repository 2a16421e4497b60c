"""A generation across a fallback chain, with one :class:`AttemptMetadata` per attempt.

Each config of the chain gets one attempt: adapt and validate the request for its model,
submit once, wait under that config's deadline, read the result. An attempt's failure
moves on to the next config when :func:`~tarash.tarash_gateway.errors.falls_back` says so
under that config's ``fallback_on`` policy (see :func:`fallback_policies`). When every
attempt fails, the last error is raised with the whole chain's metadata attached.
"""

from __future__ import annotations

import logging

import anyio
from pydantic import SecretStr

from tarash.tarash_gateway._adapt import adapt_image_request, adapt_video_request
from tarash.tarash_gateway._completion import submit_to_completion
from tarash.tarash_gateway._jobs import (
    CallbackError,
    JobWaiter,
    ProgressCallback,
    Response,
    cancel_remote_job,
    deadline_from_timeout,
)
from tarash.tarash_gateway._metadata import (
    AttemptRecorder,
    MetadataCollector,
    failed_attempt_status,
)
from tarash.tarash_gateway._polling import PollSchedule
from tarash.tarash_gateway._validate import check_sendable
from tarash.tarash_gateway.errors import (
    FallbackPolicy,
    TarashException,
    ValidationError,
    falls_back,
)
from tarash.tarash_gateway.media import load_local_media
from tarash.tarash_gateway.models import (
    AudioGenerationConfig,
    ImageGenerationConfig,
    ImageGenerationRequest,
    STSRequest,
    STSResponse,
    TTSRequest,
    TTSResponse,
    VideoGenerationConfig,
    VideoGenerationRequest,
)
from tarash.tarash_gateway.providers import get_provider_class, get_provider_entry
from tarash.tarash_gateway.providers._base import (
    PreparedJob,
    ProviderClient,
    ProviderSettings,
    SubmittedJob,
)
from tarash.tarash_gateway.providers._handler import handler_for, run_handler_attempt
from tarash.tarash_gateway.providers.mock import MockClient

__all__ = [
    "build_client",
    "fallback_policies",
    "poll_schedule_for",
    "prepare_job",
    "run_chain",
    "secret_key_of",
    "submit_prepared",
]

logger = logging.getLogger("tarash")

Config = VideoGenerationConfig | ImageGenerationConfig
Request = VideoGenerationRequest | ImageGenerationRequest
# A chain also runs audio: there every config is a handler's (tarash has no audio client),
# so audio never reaches the job path of _run_attempt.
ChainConfig = Config | AudioGenerationConfig
ChainRequest = Request | TTSRequest | STSRequest
ChainResponse = Response | TTSResponse | STSResponse


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
    return get_provider_class(config.provider)(settings)


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
    client: ProviderClient, job: PreparedJob, *, deadline: float | None
) -> SubmittedJob:
    """Submit a prepared job once and stamp its handle with the adaptations made.

    The submit is not cut off when the caller is cancelled while it is in flight (by
    anyio, trio or asyncio's own cancellation): a request that reached the provider may
    have created a paid job, so its reply is awaited, the job it names is cancelled
    remotely, and then the cancellation travels on. Nor is it cut by the deadline; its
    retries stop there, and a job submitted late is cancelled by the waiter at once.
    """
    time_left = None if deadline is None else max(0.0, deadline - anyio.current_time())

    async def cancel_abandoned(abandoned: SubmittedJob) -> bool:
        return await cancel_remote_job(client, abandoned.handle)

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


async def _run_attempt(
    config: ChainConfig,
    request: ChainRequest,
    recorder: AttemptRecorder,
    on_progress: ProgressCallback | None,
) -> ChainResponse:
    handler = handler_for(config)
    if handler is not None:
        # A published-style handler does the whole job in one call: no client, no job.
        return await run_handler_attempt(handler, config, request, recorder, on_progress)
    if isinstance(config, AudioGenerationConfig) or isinstance(request, TTSRequest | STSRequest):
        # Not reached: handler_for serves every audio config.
        raise ValidationError(
            f"{config.provider} has no audio; audio runs on registered handlers",
            provider=config.provider,
            model=config.model,
        )
    client: ProviderClient | None = None
    submitted: SubmittedJob | None = None
    try:
        deadline, _ = deadline_from_timeout(config.timeout)
        client = build_client(config, deadline=deadline)
        client.api_key()  # a missing key fails here, before anything is sent
        job = await prepare_job(client, config, request)
        recorder.metadata.adaptations = list(job.adaptations)
        # The submit is not cut short by the deadline: a request cut mid-flight may still
        # create a paid job whose id we would never learn. Its retries stop at the deadline,
        # and a job submitted late is cancelled by the waiter straight away.
        submitted = await submit_prepared(client, job, deadline=deadline)
        recorder.metadata.request_id = submitted.handle.request_id
        waiter = JobWaiter(
            client,
            submitted.handle,
            schedule=poll_schedule_for(config.poll_interval),
            max_polls=config.max_poll_attempts,
            on_progress=on_progress,
            attempt_number=recorder.metadata.attempt_number,
            timeout_seconds=config.timeout,
        )
        response = await waiter.run(submitted.snapshot, deadline)
    except CallbackError as exc:
        recorder.finish("cancelled", client, exc.original)
        raise
    except TarashException as exc:
        recorder.finish(failed_attempt_status(exc, client, submitted is not None), client, exc)
        # Set (and warned about) by the provider's submit: it failed after it may have
        # created a job whose id tarash never learnt.
        recorder.metadata.job_may_exist = submitted is None and exc.job_may_exist
        raise
    except BaseException as exc:
        recorder.finish("cancelled", client, exc)
        raise
    recorder.finish("success", client)
    return response


def fallback_policies(config: ChainConfig) -> dict[int, FallbackPolicy]:
    """The fallback policy of each config in ``config``'s chain, keyed by ``id()``.

    A config's ``fallback_on`` covers it and, recursively, its ``fallback_configs``: set on
    the config passed to ``generate_*``, it governs the whole chain. A fallback config may
    widen it for itself and its own fallbacks, never narrow it.
    """
    widened: set[int] = set()
    visited: set[tuple[int, bool]] = set()

    def visit(current: ChainConfig, inherited: bool) -> None:
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


async def run_chain(
    config: ChainConfig,
    request: ChainRequest,
    on_progress: ProgressCallback | None,
) -> ChainResponse:
    """Run a generation down ``config``'s fallback chain and return the first success.

    Raises:
        TarashException: The last attempt's error, with ``execution_metadata`` of all.
        Exception: Whatever the user's progress callback raised, unchanged.
    """
    chain: list[ChainConfig] = list(config.chain())
    for candidate in chain:
        # An unknown provider or a misspelt provider_config option anywhere in the chain
        # fails before the first job is paid for, not when its turn comes (handler_for
        # itself refuses an audio config's unknown provider).
        handler = handler_for(candidate)
        if handler is None and not isinstance(candidate, AudioGenerationConfig):
            build_client(candidate, deadline=None)
    policies = fallback_policies(config)
    collector = MetadataCollector(configs_in_chain=len(chain))

    last_error: TarashException | None = None
    for number, candidate in enumerate(chain, start=1):
        recorder = collector.new_attempt(candidate.provider, candidate.model)
        try:
            response = await _run_attempt(candidate, request, recorder, on_progress)
        except CallbackError as exc:
            raise exc.original from None
        except TarashException as exc:
            last_error = exc
            more = number < len(chain)
            if more and falls_back(exc, policies[id(candidate)]):
                # str(exc) is the message alone: the context the log needs is spelt out.
                status = "" if exc.status_code is None else f" HTTP {exc.status_code}"
                logger.warning(
                    "%s/%s failed (%s%s: %s); falling back to %s/%s",
                    candidate.provider,
                    candidate.model,
                    type(exc).__name__,
                    status,
                    exc.message,
                    chain[number].provider,
                    chain[number].model,
                )
                continue
            break
        response.execution_metadata = collector.build(number)
        return response
    assert last_error is not None
    last_error.execution_metadata = collector.build(None)
    raise last_error
