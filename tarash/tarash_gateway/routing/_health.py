"""Health checks: can a config's provider be reached now, without paying for anything?

One check per config (the published repository's ``health_check``): the provider is known
and takes the config as it stands, a key is at hand, and the provider's API answers one
``GET`` of its base URL, sent without the key (any HTTP status counts as an answer: the
base URL of most APIs answers 401 or 404). No job is submitted, nothing is billed, and the
key is never sent, so a wrong key is not detected here (a real call refuses it with an
``AuthenticationError``). A mocked config and a custom handler are not probed.
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


def _failed(config: Config, error: TarashException) -> HealthCheckResult:
    return HealthCheckResult(
        provider=config.provider,
        model=config.model,
        healthy=False,
        error=error.message,
        error_type=type(error).__name__,
    )


async def check_health(config: Config, *, timeout: float) -> HealthCheckResult:
    """Check one config's provider (see the module docstring); never raises a tarash error.

    Args:
        config: The config to check (its fallbacks are not followed).
        timeout: Seconds the API has to answer.

    Returns:
        The :class:`HealthCheckResult`; a failure is ``healthy=False`` with its error.
    """
    if config.mock is not None and config.mock.enabled:
        return HealthCheckResult(provider=config.provider, model=config.model, healthy=True)
    try:
        entry = get_provider_entry(config.provider)
        if not isinstance(entry, type):
            # A published-style handler: nothing of tarash's to probe, and calling it
            # would be a generation.
            return HealthCheckResult(provider=config.provider, model=config.model, healthy=True)
        client = build_client(config, deadline=None)
        client.api_key()  # no key given or found: an AuthenticationError, before any I/O
        parts = urlsplit(client.base_url)
        origin = f"{parts.scheme}://{parts.netloc}/"
        started = anyio.current_time()
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
        latency_ms = round((anyio.current_time() - started) * 1000, 1)
    except TarashException as error:
        return _failed(config, error)
    return HealthCheckResult(
        provider=config.provider, model=config.model, healthy=True, latency_ms=latency_ms
    )
