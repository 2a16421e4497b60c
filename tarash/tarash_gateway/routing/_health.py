"""Health checks: can a config's provider be reached now, without paying for anything?

One check per config (the published repository's ``health_check``): the provider is known
and takes the config as it stands, a key is at hand, and the provider's API answers one
``GET`` of its base URL, sent without the key (any HTTP status counts as an answer: the
base URL of most APIs answers 401 or 404). No job is submitted, nothing is billed, and the
key is never sent, so a wrong key is not detected here (a real call refuses it with an
``AuthenticationError``). A mocked config and a custom handler are not probed.
``latency_ms`` is how long the check took, whatever its outcome.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import anyio

from tarash.tarash_gateway._unions import Config
from tarash.tarash_gateway.engine._http import send
from tarash.tarash_gateway.errors import TarashException
from tarash.tarash_gateway.errors import TimeoutError as TarashTimeoutError
from tarash.tarash_gateway.models import HealthCheckResult
from tarash.tarash_gateway.providers import get_provider_entry
from tarash.tarash_gateway.routing._attempt import build_client

__all__ = ["DEFAULT_HEALTH_TIMEOUT", "check_health"]

DEFAULT_HEALTH_TIMEOUT = 10.0
"""Seconds a provider's API has to answer a health check."""

# Every status is an answer: the check asks whether the API is reachable, not what it says.
_ANY_STATUS = frozenset(range(100, 600))


def _elapsed_ms(started: float) -> int:
    return round((anyio.current_time() - started) * 1000)


async def _probe(config: Config, timeout: float) -> None:
    """Raise the tarash error that keeps ``config`` from reaching its provider, if any."""
    if config.mock is not None and config.mock.enabled:
        return
    entry = get_provider_entry(config.provider)
    if not isinstance(entry, type):
        # A published-style handler: nothing of tarash's to probe, and calling it would
        # be a generation.
        return
    client = build_client(config, deadline=None)
    client.api_key()  # no key given or found: an AuthenticationError, before any I/O
    parts = urlsplit(client.base_url)
    origin = f"{parts.scheme}://{parts.netloc}/"
    try:
        with anyio.fail_after(timeout):
            await send(client.request_context, "status", "GET", origin, ok_statuses=_ANY_STATUS)
    except TimeoutError:
        raise TarashTimeoutError(
            f"{config.provider}'s API did not answer within {timeout} s",
            provider=config.provider,
            model=config.model,
            timeout_seconds=timeout,
        ) from None


async def check_health(config: Config, *, timeout: float) -> HealthCheckResult:
    """Check one config's provider (see the module docstring); never raises a tarash error.

    Args:
        config: The config to check (its fallbacks are not followed).
        timeout: Seconds the API has to answer.

    Returns:
        The :class:`HealthCheckResult`: ``status`` ``"ok"``, or ``"error"`` with the error.
    """
    started = anyio.current_time()
    try:
        await _probe(config, timeout)
    except TarashException as error:
        return HealthCheckResult(
            status="error",
            latency_ms=_elapsed_ms(started),
            provider=config.provider,
            model=config.model,
            error=error.message,
            error_type=type(error).__name__,
        )
    return HealthCheckResult(
        status="ok", latency_ms=_elapsed_ms(started), provider=config.provider, model=config.model
    )
