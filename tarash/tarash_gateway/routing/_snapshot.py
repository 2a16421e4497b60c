"""What the router's state looks like at one instant, as plain pydantic models.

Each component builds its own part (:meth:`CapacityBoard.snapshot`,
:meth:`BreakerBoard.snapshot`, :meth:`LatencyTracker.snapshot`, :meth:`SpendTracker.snapshot`);
the router puts them together in one :class:`RouterSnapshot`. Keys are ``"provider"`` or
``"provider/model"``, with ``"@<fingerprint>"`` appended for a per-API-key limit (every
row of a router's, whose limits are per account): a short hash of the key, never the key.
Times are seconds from the snapshot, never a clock reading, so a snapshot means the same
thing in every process and thread.

Usage::

    snapshot = RouterSnapshot(
        limits=board.snapshot(),
        breakers=breakers.snapshot(),
        latency=latency.snapshot(),
        spend=spend.snapshot(),
    )
    print(snapshot.model_dump_json(indent=2))
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "BreakerSnapshot",
    "BreakerState",
    "LatencySnapshot",
    "LimitSnapshot",
    "RouterSnapshot",
    "SpendSnapshot",
]

BreakerState = Literal["closed", "open", "half_open"]
"""A circuit breaker's state: calls flow, calls are refused, or one probe decides."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class LimitSnapshot(_Frozen):
    """One capacity key's state: how many jobs run and wait, and the limits in force."""

    key: str = Field(description='"provider", "provider/model", each maybe with "@<fingerprint>".')
    in_flight: int = Field(description="Jobs holding a slot: submitted (or submitting), not done.")
    waiting: int = Field(description="Calls waiting for a slot or a create token on this key.")
    max_concurrent: int | None = Field(description="The configured concurrency cap, if any.")
    effective_max_concurrent: int | None = Field(
        description="The cap in force: the configured one, lowered after over-concurrency signals."
    )
    creates_per_minute: float | None = Field(description="The configured create rate, if any.")
    effective_creates_per_minute: float | None = Field(
        description="The create rate in force: lowered after 429s, recovering gradually."
    )
    paused_for_seconds: float = Field(
        description="No create starts on this key for this long (a Retry-After), else 0."
    )


class BreakerSnapshot(_Frozen):
    """One provider/model circuit breaker."""

    key: str
    state: BreakerState
    consecutive_failures: int
    recent_calls: int = Field(description="Calls recorded within the failure-rate window.")
    recent_failure_rate: float | None = Field(description="Transient failures / calls in window.")
    probe_in_seconds: float | None = Field(
        description="While open: seconds until a probe is admitted."
    )
    reason: str | None = Field(description="Why the breaker last opened.")


class LatencySnapshot(_Frozen):
    """Recent completion times of one provider/model, in seconds."""

    key: str
    samples: int
    p50: float | None
    p90: float | None
    p99: float | None


class SpendSnapshot(_Frozen):
    """What a spend cap has let through so far, in the price table's currency (USD)."""

    cap: float | None
    spent: float = Field(description="Settled: attempts that finished, at their estimate.")
    reserved: float = Field(description="Held by attempts still running.")
    remaining: float | None


class RouterSnapshot(_Frozen):
    """The whole router at one instant: limits, breakers, learned latency and spend."""

    limits: dict[str, LimitSnapshot] = Field(default_factory=dict)
    breakers: dict[str, BreakerSnapshot] = Field(default_factory=dict)
    latency: dict[str, LatencySnapshot] = Field(default_factory=dict)
    spend: SpendSnapshot | None = None

    @property
    def open_breakers(self) -> list[str]:
        """Keys whose breaker refuses calls now (open, or half-open with its probe out)."""
        return sorted(key for key, breaker in self.breakers.items() if breaker.state != "closed")
