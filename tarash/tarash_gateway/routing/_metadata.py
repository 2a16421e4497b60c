"""Recording what each attempt did, and assembling :class:`ExecutionMetadata` from it.

The metadata's durations (``elapsed_seconds``, ``total_elapsed_seconds``) are computed from
its timestamps, as published. The timestamps are therefore read from one
:class:`Timeline`: one wall-clock reading plus the monotonic clock's progress since, so the
durations are as exact as ``time.perf_counter`` and never negative, whatever the system
clock does meanwhile (an NTP step, a DST change on a naive clock).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from tarash.tarash_gateway._unions import AnyResponse
from tarash.tarash_gateway.engine._redact import redact, scrub_exception
from tarash.tarash_gateway.errors import TarashException
from tarash.tarash_gateway.errors import TimeoutError as TarashTimeoutError
from tarash.tarash_gateway.models import (
    AttemptMetadata,
    AttemptRole,
    AttemptStatus,
    ExecutionMetadata,
    GenerationCost,
)
from tarash.tarash_gateway.providers._base import ProviderClient

__all__ = [
    "AttemptRecorder",
    "MetadataCollector",
    "Timeline",
    "attach_metadata",
    "cost_of",
    "failed_attempt_status",
]


@dataclass(frozen=True, slots=True)
class Timeline:
    """Timezone-aware UTC times measured on the monotonic clock from one wall-clock reading."""

    origin: datetime = field(default_factory=lambda: datetime.now(UTC))
    origin_counter: float = field(default_factory=time.perf_counter)

    def now(self) -> datetime:
        """The current time on this timeline."""
        return self.origin + timedelta(seconds=time.perf_counter() - self.origin_counter)


@dataclass(slots=True)
class AttemptRecorder:
    """Fills in one attempt's metadata as it runs."""

    metadata: AttemptMetadata
    timeline: Timeline = field(default_factory=Timeline)

    def finish(
        self,
        status: AttemptStatus,
        client: ProviderClient | None,
        error: BaseException | None = None,
    ) -> AttemptMetadata:
        """Close the attempt: times, HTTP counters from the client, and the error if any.

        A tarash ``error`` is scrubbed of the client's key in place first, so neither the
        metadata nor the error raised on carries it.
        """
        meta = self.metadata
        meta.status = status
        meta.ended_at = self.timeline.now()
        if client is not None:
            counters = client.request_context.counters
            meta.http_requests = counters.requests
            meta.submit_count = counters.submits
            meta.poll_count = counters.polls
            meta.retries = counters.retries
            meta.read_pause_seconds = round(counters.read_pause_seconds, 3)
        if error is not None:
            secrets = client.secrets() if client is not None else []
            if isinstance(error, TarashException):
                # The error goes on to the caller, the fallback log and this metadata:
                # errors made outside the HTTP layer (from a status body, say) are
                # scrubbed here, whatever their origin.
                scrub_exception(error, secrets)
            meta.error_type = type(error).__name__
            meta.error_message = redact(str(error), secrets)
            if isinstance(error, TarashException):
                meta.is_retryable = error.retryable
                meta.status_code = error.status_code
                meta.request_id = meta.request_id or error.request_id
        return meta


@dataclass(slots=True)
class MetadataCollector:
    """Collects the attempts of one generation (or one wait) into ExecutionMetadata."""

    configs_in_chain: int = 1
    attempts: list[AttemptMetadata] = field(default_factory=list)
    timeline: Timeline = field(default_factory=Timeline)

    def new_attempt(
        self, provider: str, model: str, role: AttemptRole | None = None
    ) -> AttemptRecorder:
        """Start recording the next attempt (numbered from 1, in the order started).

        Without a ``role`` the first attempt is the primary and every later one a fallback,
        as in a chain run one attempt after another.
        """
        if role is None:
            role = "fallback" if self.attempts else "primary"
        recorder = AttemptRecorder(
            AttemptMetadata(
                provider=provider,
                model=model,
                attempt_number=len(self.attempts) + 1,
                started_at=self.timeline.now(),
                ended_at=None,
                status="skipped",
                role=role,
            ),
            self.timeline,
        )
        self.attempts.append(recorder.metadata)
        return recorder

    def build(self, successful_attempt: int | None) -> ExecutionMetadata:
        """The metadata as it stands now.

        ``successful_attempt`` is the winner's number (attempts are numbered in the order
        they started, so with overlapping attempts it need not be the last).
        ``fallback_triggered`` says a fallback was started, or a config other than the
        primary served the request (a hedge that won); a hedge that lost is not a fallback.
        """
        winner = None if successful_attempt is None else self.attempts[successful_attempt - 1]
        for attempt in self.attempts:
            # The published repository's names for the estimates (attempt.cost and
            # total_cost_usd), read from estimated_cost as it stands now that the
            # attempts are over; a cost some handler set itself is kept.
            if attempt.estimated_cost is not None or attempt.cost is None:
                attempt.cost = cost_of(attempt.estimated_cost, attempt.cost_currency)
        known = [
            attempt.cost.amount_usd
            for attempt in self.attempts
            if attempt.cost is not None and attempt.cost.amount_usd is not None
        ]
        fallback_triggered = any(attempt.role == "fallback" for attempt in self.attempts) or (
            winner is not None and winner.role != "primary"
        )
        return ExecutionMetadata(
            total_attempts=len(self.attempts),
            successful_attempt=successful_attempt,
            attempts=list(self.attempts),
            fallback_triggered=fallback_triggered,
            configs_in_chain=self.configs_in_chain,
            started_at=self.timeline.origin,
            ended_at=self.timeline.now(),
            total_cost_usd=float(sum(known)) if known else None,
        )


def failed_attempt_status(
    error: TarashException, client: ProviderClient | None, submitted: bool
) -> AttemptStatus:
    """How an attempt that raised ``error`` ended: skipped, cancelled or failed."""
    if client is None or (not submitted and client.request_context.counters.submits == 0):
        return "skipped"  # refused before anything was sent: nothing paid for
    if submitted and isinstance(error, TarashTimeoutError):
        return "cancelled"  # the deadline passed and the remote job was cancelled
    return "failed"


def cost_of(amount: float | None, currency: str = "USD") -> GenerationCost | None:
    """An estimate in ``currency`` as a :class:`GenerationCost` (``amount_usd`` only when
    the currency is USD); ``None`` when the estimate is unknown."""
    if amount is None:
        return None
    return GenerationCost(
        amount_usd=amount if currency == "USD" else None, raw_amount=amount, raw_unit=currency
    )


_R = TypeVar("_R", bound=AnyResponse)


def attach_metadata(response: _R, metadata: ExecutionMetadata) -> _R:
    """Put a generation's metadata on its response, with ``response.cost`` (the winning
    attempt's) unless the response came with a cost of its own."""
    response.execution_metadata = metadata
    if response.cost is None and metadata.successful_attempt is not None:
        response.cost = metadata.attempts[metadata.successful_attempt - 1].cost
    return response
