"""The public functions: generate, or submit and later wait, status or cancel.

Every function is async; its sync twin (same name without ``_async``) is a one-line shim
that runs it on tarash's private event loop.
"""

from __future__ import annotations

from typing import cast

from pydantic import SecretStr

from tarash.tarash_gateway._arguments import (
    check_generation_arguments,
    check_handle_arguments,
    check_wait_arguments,
)
from tarash.tarash_gateway._chain import (
    build_client,
    poll_schedule_for,
    prepare_job,
    run_chain,
    secret_key_of,
    submit_prepared,
)
from tarash.tarash_gateway._jobs import (
    CallbackError,
    JobWaiter,
    deadline_from_handle,
    deadline_from_timeout,
    snapshot_to_update,
)
from tarash.tarash_gateway._metadata import MetadataCollector, failed_attempt_status
from tarash.tarash_gateway._sync import run_sync
from tarash.tarash_gateway.errors import TarashException, ValidationError
from tarash.tarash_gateway.models import (
    AudioGenerationConfig,
    ImageGenerationConfig,
    ImageGenerationRequest,
    ImageGenerationResponse,
    ImageGenerationUpdate,
    ImageProgressCallback,
    JobHandle,
    ProgressCallback,
    STSProgressCallback,
    STSRequest,
    STSResponse,
    TTSProgressCallback,
    TTSRequest,
    TTSResponse,
    VideoGenerationConfig,
    VideoGenerationRequest,
    VideoGenerationResponse,
    VideoGenerationUpdate,
)
from tarash.tarash_gateway.providers import get_provider_class, provider_key, register_provider
from tarash.tarash_gateway.providers._base import ProviderClient, ProviderSettings
from tarash.tarash_gateway.providers.field_mappers import (
    get_provider_field_mapping,
    register_provider_field_mapping,
)
from tarash.tarash_gateway.providers.mock import MockClient, is_mock_handle

__all__ = [
    "cancel",
    "cancel_async",
    "generate_image",
    "generate_image_async",
    "generate_sts",
    "generate_sts_async",
    "generate_tts",
    "generate_tts_async",
    "generate_video",
    "generate_video_async",
    "get_provider_field_mapping",
    "register_provider",
    "register_provider_field_mapping",
    "status",
    "status_async",
    "submit_image",
    "submit_image_async",
    "submit_video",
    "submit_video_async",
    "wait",
    "wait_async",
]


async def generate_video_async(
    config: VideoGenerationConfig,
    request: VideoGenerationRequest,
    on_progress: ProgressCallback | None = None,
) -> VideoGenerationResponse:
    """Generate a video, falling back along ``config.fallback_configs`` on failure.

    Args:
        config: Provider, model, credentials, deadline and fallbacks.
        request: What to generate.
        on_progress: Called with each :class:`VideoGenerationUpdate`; sync or async.

    Returns:
        The video, with ``execution_metadata`` describing every attempt.

    Raises:
        ValidationError: The request cannot be served (raised before any job is paid for).
        TarashException: Every attempt failed; ``error.execution_metadata`` tells how.
    """
    check_generation_arguments("generate_video", "video", config, request, on_progress)
    response = await run_chain(config, request, on_progress)
    # A video request to video configs only (checked above) yields a video response.
    return cast("VideoGenerationResponse", response)


def generate_video(
    config: VideoGenerationConfig,
    request: VideoGenerationRequest,
    on_progress: ProgressCallback | None = None,
) -> VideoGenerationResponse:
    """Sync twin of :func:`generate_video_async`."""
    return run_sync(generate_video_async, config, request, on_progress)


async def generate_image_async(
    config: ImageGenerationConfig,
    request: ImageGenerationRequest,
    on_progress: ImageProgressCallback | None = None,
) -> ImageGenerationResponse:
    """Generate image(s), falling back along ``config.fallback_configs`` on failure.

    Args:
        config: Provider, model, credentials, deadline and fallbacks.
        request: What to generate.
        on_progress: Called with each :class:`ImageGenerationUpdate`; sync or async.

    Returns:
        The images, with ``execution_metadata`` describing every attempt.

    Raises:
        ValidationError: The request cannot be served (raised before any job is paid for).
        TarashException: Every attempt failed; ``error.execution_metadata`` tells how.
    """
    check_generation_arguments("generate_image", "image", config, request, on_progress)
    response = await run_chain(config, request, on_progress)
    # An image request to image configs only (checked above) yields an image response.
    return cast("ImageGenerationResponse", response)


def generate_image(
    config: ImageGenerationConfig,
    request: ImageGenerationRequest,
    on_progress: ImageProgressCallback | None = None,
) -> ImageGenerationResponse:
    """Sync twin of :func:`generate_image_async`."""
    return run_sync(generate_image_async, config, request, on_progress)


async def _submit(
    config: VideoGenerationConfig | ImageGenerationConfig,
    request: VideoGenerationRequest | ImageGenerationRequest,
) -> JobHandle:
    deadline, _ = deadline_from_timeout(config.timeout)
    client = build_client(config, deadline=deadline)
    kind = "video" if isinstance(request, VideoGenerationRequest) else "image"
    if kind in client.answers_in_request:
        # The create's reply is the result: a handle could never read it again, so the
        # paid image would be thrown away.
        raise ValidationError(
            f"{config.provider} answers {kind} requests in the request itself, so there is "
            f"no job to hold and wait on; use generate_{kind} instead (nothing was submitted)",
            provider=config.provider,
            model=config.model,
            fallback_allowed=False,
        )
    client.api_key()
    job = await prepare_job(client, config, request)
    # Cancelled while the submit was in flight, the caller never gets the handle, so
    # nobody could ever cancel the job: submit_prepared cancels it then.
    submitted = await submit_prepared(client, job, deadline=deadline)
    return submitted.handle


async def submit_video_async(
    config: VideoGenerationConfig, request: VideoGenerationRequest
) -> JobHandle:
    """Submit a video job to ``config``'s provider (no fallback) and return its handle.

    The handle serialises to JSON, so another process can :func:`wait_async` on it.

    Raises:
        ValidationError: The request cannot be served (nothing was submitted).
        TarashException: The provider refused the submit.
    """
    check_generation_arguments("submit_video", "video", config, request)
    return await _submit(config, request)


def submit_video(config: VideoGenerationConfig, request: VideoGenerationRequest) -> JobHandle:
    """Sync twin of :func:`submit_video_async`."""
    return run_sync(submit_video_async, config, request)


async def submit_image_async(
    config: ImageGenerationConfig, request: ImageGenerationRequest
) -> JobHandle:
    """Submit an image job to ``config``'s provider (no fallback) and return its handle."""
    check_generation_arguments("submit_image", "image", config, request)
    return await _submit(config, request)


def submit_image(config: ImageGenerationConfig, request: ImageGenerationRequest) -> JobHandle:
    """Sync twin of :func:`submit_image_async`."""
    return run_sync(submit_image_async, config, request)


HandleConfig = VideoGenerationConfig | ImageGenerationConfig


def _client_for(
    handle: JobHandle,
    config: HandleConfig | None,
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
    return client_class(
        ProviderSettings(
            model=handle.model,
            base_url=handle.base_url,
            api_key=key,
            api_version=handle.api_version,
            provider_config=dict(config.provider_config) if config is not None else {},
            deadline=deadline,
        )
    )


async def wait_async(
    handle: JobHandle,
    *,
    config: HandleConfig | None = None,
    api_key: str | None = None,
    timeout: float | None = None,
    poll_interval: float = 5.0,
    on_progress: ProgressCallback | ImageProgressCallback | None = None,
) -> VideoGenerationResponse | ImageGenerationResponse:
    """Wait for a submitted job and return its result.

    Args:
        handle: From a ``submit_*`` call, possibly rebuilt from JSON in another process.
        config: The config the job was submitted with (its key, ``base_url`` and
            ``provider_config`` are used); needed when the handle points at a base URL
            other than the provider's API, such as the emulator.
        api_key: The provider key; defaults to the config's, then the environment's.
        timeout: Seconds to wait; defaults to what is left of the submit's deadline.
        poll_interval: Longest wait between polls.
        on_progress: Called with each update; sync or async.

    Returns:
        The response (its metadata describes this wait as one attempt).

    Raises:
        TimeoutError: The deadline passed; the remote job was cancelled.
        TarashException: The job failed.
        ValidationError: An argument is malformed (nothing was sent, nothing cancelled).
    """
    api_key = check_wait_arguments(
        "wait", handle, config, api_key, timeout, poll_interval, on_progress
    )
    deadline = deadline_from_handle(handle, timeout)
    client = _client_for(handle, config, api_key, deadline)
    waiter = JobWaiter(
        client, handle, schedule=poll_schedule_for(poll_interval), on_progress=on_progress
    )
    collector = MetadataCollector()
    recorder = collector.new_attempt(handle.provider, handle.model)
    recorder.metadata.request_id = handle.request_id
    recorder.metadata.adaptations = list(handle.adaptations)
    try:
        # One status call comes before the deadline applies (a job that finished while
        # nobody waited is read, not cancelled as late); the waiter makes it, so that
        # giving up during it cancels the job too.
        response = await waiter.run(None, deadline, poll_first=True)
    except CallbackError as exc:
        recorder.finish("cancelled", client, exc.original)
        raise exc.original from None
    except TarashException as exc:
        recorder.finish(failed_attempt_status(exc, client, submitted=True), client, exc)
        exc.execution_metadata = collector.build(None)
        raise
    except BaseException as exc:
        recorder.finish("cancelled", client, exc)
        raise
    recorder.finish("success", client)
    response.execution_metadata = collector.build(1)
    return response


def wait(
    handle: JobHandle,
    *,
    config: HandleConfig | None = None,
    api_key: str | None = None,
    timeout: float | None = None,
    poll_interval: float = 5.0,
    on_progress: ProgressCallback | ImageProgressCallback | None = None,
) -> VideoGenerationResponse | ImageGenerationResponse:
    """Sync twin of :func:`wait_async`."""
    return run_sync(
        wait_async,
        handle,
        config=config,
        api_key=api_key,
        timeout=timeout,
        poll_interval=poll_interval,
        on_progress=on_progress,
    )


async def status_async(
    handle: JobHandle, *, config: HandleConfig | None = None, api_key: str | None = None
) -> VideoGenerationUpdate | ImageGenerationUpdate:
    """Ask the provider once where a job stands (``config`` and ``api_key`` as for ``wait``)."""
    api_key = check_handle_arguments("status", handle, config, api_key)
    client = _client_for(handle, config, api_key, None)
    return snapshot_to_update(await client.poll(handle), handle)


def status(
    handle: JobHandle, *, config: HandleConfig | None = None, api_key: str | None = None
) -> VideoGenerationUpdate | ImageGenerationUpdate:
    """Sync twin of :func:`status_async`."""
    return run_sync(status_async, handle, config=config, api_key=api_key)


async def cancel_async(
    handle: JobHandle, *, config: HandleConfig | None = None, api_key: str | None = None
) -> bool:
    """Ask the provider to cancel a job; return whether it accepted.

    Raises:
        TarashException: The provider could not be asked (auth, network, unknown job).
    """
    api_key = check_handle_arguments("cancel", handle, config, api_key)
    client = _client_for(handle, config, api_key, None)
    return await client.cancel(handle)


def cancel(
    handle: JobHandle, *, config: HandleConfig | None = None, api_key: str | None = None
) -> bool:
    """Sync twin of :func:`cancel_async`."""
    return run_sync(cancel_async, handle, config=config, api_key=api_key)


async def generate_tts_async(
    config: AudioGenerationConfig,
    request: TTSRequest,
    on_progress: TTSProgressCallback | None = None,
) -> TTSResponse:
    """Speak ``request.text``, falling back along ``config.fallback_configs`` on failure.

    tarash has no built-in audio provider: each config names a provider registered with
    :func:`register_provider` whose handler implements ``generate_tts_async`` or
    ``generate_tts``, or enables the mock (``mock=MockConfig(enabled=True)``, which
    answers with a WAV tone). Each config is one call of its handler, stopped at its
    ``timeout``; the chain moves on by the same rule as video (``fallback_on``).

    Args:
        config: Provider, model, credentials, deadline and fallbacks.
        request: What to say, the voice and the audio format.
        on_progress: Called with each :class:`TTSUpdate` the handler reports; sync or async.

    Returns:
        The speech (base64 in ``audio``), with ``execution_metadata`` describing every
        attempt.

    Raises:
        ValidationError: An argument is malformed or a provider is unknown (nothing is
            called), or a provider has no text-to-speech (a built-in, or a handler without
            the method or raising ``NotImplementedError``; it is not called, or made
            nothing).
        TarashException: Every attempt failed; ``error.execution_metadata`` tells how.
    """
    check_generation_arguments("generate_tts", "tts", config, request, on_progress)
    response = await run_chain(config, request, on_progress)
    # A TTS request to audio configs only (checked above) yields a TTS response.
    return cast("TTSResponse", response)


def generate_tts(
    config: AudioGenerationConfig,
    request: TTSRequest,
    on_progress: TTSProgressCallback | None = None,
) -> TTSResponse:
    """Sync twin of :func:`generate_tts_async`."""
    return run_sync(generate_tts_async, config, request, on_progress)


async def generate_sts_async(
    config: AudioGenerationConfig,
    request: STSRequest,
    on_progress: STSProgressCallback | None = None,
) -> STSResponse:
    """Say ``request.audio`` again in another voice, falling back on failure.

    As :func:`generate_tts_async`, with handlers implementing ``generate_sts_async`` or
    ``generate_sts``.

    Args:
        config: Provider, model, credentials, deadline and fallbacks.
        request: The input speech, the voice and the audio format.
        on_progress: Called with each :class:`STSUpdate` the handler reports; sync or async.

    Returns:
        The speech (base64 in ``audio``), with ``execution_metadata`` describing every
        attempt.

    Raises:
        ValidationError: An argument is malformed or a provider is unknown (nothing is
            called), or a provider has no speech-to-speech.
        TarashException: Every attempt failed; ``error.execution_metadata`` tells how.
    """
    check_generation_arguments("generate_sts", "sts", config, request, on_progress)
    response = await run_chain(config, request, on_progress)
    # An STS request to audio configs only (checked above) yields an STS response.
    return cast("STSResponse", response)


def generate_sts(
    config: AudioGenerationConfig,
    request: STSRequest,
    on_progress: STSProgressCallback | None = None,
) -> STSResponse:
    """Sync twin of :func:`generate_sts_async`."""
    return run_sync(generate_sts_async, config, request, on_progress)
