"""The public functions: generate, or submit and later wait, status or cancel.

Every function is async; its sync twin (same name without ``_async``) is a one-line shim
that runs it on tarash's private event loop.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import cast

import anyio

from tarash.tarash_gateway._unions import Config
from tarash.tarash_gateway.engine._sync import run_sync
from tarash.tarash_gateway.errors import ValidationError
from tarash.tarash_gateway.models import (
    AudioGenerationConfig,
    CostEstimate,
    HealthCheckResult,
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
from tarash.tarash_gateway.providers import register_provider
from tarash.tarash_gateway.providers.field_mappers import (
    get_provider_field_mapping,
    register_provider_field_mapping,
)
from tarash.tarash_gateway.router import Router, default_router, resolve_router
from tarash.tarash_gateway.routing._arguments import check_generation_arguments
from tarash.tarash_gateway.routing._health import DEFAULT_HEALTH_TIMEOUT, check_health

__all__ = [
    "cancel",
    "cancel_async",
    "estimate_cost",
    "generate_image",
    "generate_image_async",
    "generate_sts",
    "generate_sts_async",
    "generate_tts",
    "generate_tts_async",
    "generate_video",
    "generate_video_async",
    "get_provider_field_mapping",
    "health_check",
    "health_check_async",
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
    return await default_router().generate_video_async(config, request, on_progress)


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
    return await default_router().generate_image_async(config, request, on_progress)


def generate_image(
    config: ImageGenerationConfig,
    request: ImageGenerationRequest,
    on_progress: ImageProgressCallback | None = None,
) -> ImageGenerationResponse:
    """Sync twin of :func:`generate_image_async`."""
    return run_sync(generate_image_async, config, request, on_progress)


async def submit_video_async(
    config: VideoGenerationConfig, request: VideoGenerationRequest
) -> JobHandle:
    """Submit a video job to ``config``'s provider (no fallback) and return its handle.

    The handle serialises to JSON, so another process can :func:`wait_async` on it.

    Raises:
        ValidationError: The request cannot be served (nothing was submitted).
        TarashException: The provider refused the submit.
    """
    return await default_router().submit_video_async(config, request)


def submit_video(config: VideoGenerationConfig, request: VideoGenerationRequest) -> JobHandle:
    """Sync twin of :func:`submit_video_async`."""
    return run_sync(submit_video_async, config, request)


async def submit_image_async(
    config: ImageGenerationConfig, request: ImageGenerationRequest
) -> JobHandle:
    """Submit an image job to ``config``'s provider (no fallback) and return its handle."""
    return await default_router().submit_image_async(config, request)


def submit_image(config: ImageGenerationConfig, request: ImageGenerationRequest) -> JobHandle:
    """Sync twin of :func:`submit_image_async`."""
    return run_sync(submit_image_async, config, request)


async def wait_async(
    handle: JobHandle,
    *,
    config: Config | None = None,
    api_key: str | None = None,
    timeout: float | None = None,
    poll_interval: float = 5.0,
    on_progress: ProgressCallback | ImageProgressCallback | None = None,
    router: Router | None = None,
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
        router: The :class:`Router` whose limits, breakers, pauses and spend the wait
            counts against; the default router when None.

    Returns:
        The response (its metadata describes this wait as one attempt).

    Raises:
        TimeoutError: The deadline passed; the remote job was cancelled.
        TarashException: The job failed.
        ValidationError: An argument is malformed (nothing was sent, nothing cancelled).
    """
    return await resolve_router(router, "wait").wait_async(
        handle,
        config=config,
        api_key=api_key,
        timeout=timeout,
        poll_interval=poll_interval,
        on_progress=on_progress,
    )


def wait(
    handle: JobHandle,
    *,
    config: Config | None = None,
    api_key: str | None = None,
    timeout: float | None = None,
    poll_interval: float = 5.0,
    on_progress: ProgressCallback | ImageProgressCallback | None = None,
    router: Router | None = None,
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
        router=router,
    )


async def status_async(
    handle: JobHandle,
    *,
    config: Config | None = None,
    api_key: str | None = None,
    router: Router | None = None,
) -> VideoGenerationUpdate | ImageGenerationUpdate:
    """Ask the provider once where a job stands (``config``, ``api_key`` and ``router`` as
    for ``wait``: the read waits out that router's read pause)."""
    return await resolve_router(router, "status").status_async(
        handle, config=config, api_key=api_key
    )


def status(
    handle: JobHandle,
    *,
    config: Config | None = None,
    api_key: str | None = None,
    router: Router | None = None,
) -> VideoGenerationUpdate | ImageGenerationUpdate:
    """Sync twin of :func:`status_async`."""
    return run_sync(status_async, handle, config=config, api_key=api_key, router=router)


async def cancel_async(
    handle: JobHandle,
    *,
    config: Config | None = None,
    api_key: str | None = None,
    router: Router | None = None,
) -> bool:
    """Ask the provider to cancel a job; return whether it accepted.

    Where the provider's cancel also deletes a finished job and its output (Runway), the
    job's status is read first and a finished job is left alone (``False``). ``config``,
    ``api_key`` and ``router`` are as for ``wait``.

    Raises:
        TarashException: The provider could not be asked (auth, network, unknown job).
    """
    return await resolve_router(router, "cancel").cancel_async(
        handle, config=config, api_key=api_key
    )


def cancel(
    handle: JobHandle,
    *,
    config: Config | None = None,
    api_key: str | None = None,
    router: Router | None = None,
) -> bool:
    """Sync twin of :func:`cancel_async`."""
    return run_sync(cancel_async, handle, config=config, api_key=api_key, router=router)


async def generate_tts_async(
    config: AudioGenerationConfig,
    request: TTSRequest,
    on_progress: TTSProgressCallback | None = None,
    *,
    router: Router | None = None,
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
        router: The :class:`Router` whose breakers the chain runs on; the default
            router when None.

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
    response = await resolve_router(router, "generate_tts").run_chain_async(
        config, request, on_progress
    )
    # A TTS request to audio configs only (checked above) yields a TTS response.
    return cast("TTSResponse", response)


def generate_tts(
    config: AudioGenerationConfig,
    request: TTSRequest,
    on_progress: TTSProgressCallback | None = None,
    *,
    router: Router | None = None,
) -> TTSResponse:
    """Sync twin of :func:`generate_tts_async`."""
    return run_sync(generate_tts_async, config, request, on_progress, router=router)


async def generate_sts_async(
    config: AudioGenerationConfig,
    request: STSRequest,
    on_progress: STSProgressCallback | None = None,
    *,
    router: Router | None = None,
) -> STSResponse:
    """Say ``request.audio`` again in another voice, falling back on failure.

    As :func:`generate_tts_async`, with handlers implementing ``generate_sts_async`` or
    ``generate_sts``.

    Args:
        config: Provider, model, credentials, deadline and fallbacks.
        request: The input speech, the voice and the audio format.
        on_progress: Called with each :class:`STSUpdate` the handler reports; sync or async.
        router: As for :func:`generate_tts_async`.

    Returns:
        The speech (base64 in ``audio``), with ``execution_metadata`` describing every
        attempt.

    Raises:
        ValidationError: An argument is malformed or a provider is unknown (nothing is
            called), or a provider has no speech-to-speech.
        TarashException: Every attempt failed; ``error.execution_metadata`` tells how.
    """
    check_generation_arguments("generate_sts", "sts", config, request, on_progress)
    response = await resolve_router(router, "generate_sts").run_chain_async(
        config, request, on_progress
    )
    # An STS request to audio configs only (checked above) yields an STS response.
    return cast("STSResponse", response)


def generate_sts(
    config: AudioGenerationConfig,
    request: STSRequest,
    on_progress: STSProgressCallback | None = None,
    *,
    router: Router | None = None,
) -> STSResponse:
    """Sync twin of :func:`generate_sts_async`."""
    return run_sync(generate_sts_async, config, request, on_progress, router=router)


def estimate_cost(
    config: VideoGenerationConfig | ImageGenerationConfig, *, router: Router | None = None
) -> CostEstimate | None:
    """Estimate what one generation on ``config``'s provider and model costs, before paying.

    Read from the router's price table (``configure(prices=...)`` rows over tarash's
    defaults, see docs/routing.md): the range runs from the model's shortest duration at
    its cheapest per-second rate to its longest at its dearest (one image, for an image
    model). The fallbacks are not included: each is priced on its own config.

    Args:
        config: The provider and model to price.
        router: Whose price table to read; ``None``: the default router's.

    Returns:
        A :class:`CostEstimate` in US dollars; ``None`` when no price is known for the
        provider and model (an unknown provider included, as published), or the model is
        priced by the second and its durations are not known.

    Raises:
        ValidationError: ``config`` is not a video or image config.
    """
    if not isinstance(config, VideoGenerationConfig | ImageGenerationConfig):
        raise ValidationError(
            "estimate_cost() takes a VideoGenerationConfig or an ImageGenerationConfig, got "
            f"{type(config).__name__}",
            fallback_allowed=False,
        )
    prices = (router or default_router()).prices
    found = prices.cost_range(config.provider, config.model)
    if found is None:
        return None
    low, high = found
    # Rounded to a millionth of a dollar: the products of float rates carry noise.
    return CostEstimate(
        min_usd=round(low, 6), max_usd=round(high, 6), model=config.model, provider=config.provider
    )


async def health_check_async(
    configs: Mapping[str, Config] | Sequence[Config] | Config,
    timeout: float = DEFAULT_HEALTH_TIMEOUT,
) -> dict[str, HealthCheckResult]:
    """Check, without paying for anything, that each config's provider can be reached now.

    For each config: the provider is known and accepts the config, a key is given or in
    its environment variable, and its API answers one ``GET`` of its base URL (sent
    without the key: nothing is submitted, nothing billed; a wrong key is not detected).
    A mocked config is ok without a probe, and so is a registered handler (calling it
    would be a generation). The checks run concurrently; fallbacks are not followed.

    Args:
        configs: ``{name: config}`` as published (results under the same names), or a
            list of configs (or one), whose results are keyed by provider as written (a
            later config of a provider replacing an earlier one's).
        timeout: Seconds each provider's API has to answer.

    Returns:
        A :class:`HealthCheckResult` dict per config: ``status`` (``"ok"``/``"error"``),
        ``latency_ms``, ``provider``, ``model``, and on an error ``error`` and
        ``error_type``.

    Raises:
        ValidationError: ``configs`` holds something other than a config, or ``timeout``
            is not a positive number.
    """
    kinds = (VideoGenerationConfig, ImageGenerationConfig, AudioGenerationConfig)
    named: list[tuple[str, Config]]
    if isinstance(configs, Mapping):
        named = [(str(name), config) for name, config in configs.items()]
    else:
        listed: list[Config] = [configs] if isinstance(configs, kinds) else list(configs)
        named = [(getattr(config, "provider", ""), config) for config in listed]
    for name, config in named:
        if not isinstance(config, kinds):
            raise ValidationError(
                f"health_check(): the config for {name!r} is a {type(config).__name__}, not "
                "a config",
                fallback_allowed=False,
            )
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not timeout > 0:
        raise ValidationError(
            f"health_check(timeout=...) must be a positive number of seconds, got {timeout!r}",
            fallback_allowed=False,
        )
    results: list[HealthCheckResult | None] = [None] * len(named)

    async def check(index: int, config: Config) -> None:
        results[index] = await check_health(config, timeout=float(timeout))

    async with anyio.create_task_group() as group:
        for index, (_, config) in enumerate(named):
            group.start_soon(check, index, config)
    return {
        name: result for (name, _), result in zip(named, results, strict=True) if result is not None
    }


def health_check(
    configs: Mapping[str, Config] | Sequence[Config] | Config,
    timeout: float = DEFAULT_HEALTH_TIMEOUT,
) -> dict[str, HealthCheckResult]:
    """Sync twin of :func:`health_check_async`."""
    return run_sync(health_check_async, configs, timeout)
