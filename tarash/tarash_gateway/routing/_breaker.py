"""Circuit breakers per provider/model: stop sending to what keeps failing, then probe.

A breaker is closed (calls go) until its provider/model fails with transient errors
``failures`` times in a row, or (when ``failure_rate`` is set) at that rate over the last
``window`` seconds with at least ``min_calls`` calls. It then opens: calls are refused
(the chain records the config as skipped and moves on) for ``cooldown`` seconds. After
that it is half-open: exactly one call, the probe, is admitted; its success closes the
breaker, its transient failure opens it for another cooldown. Errors that say nothing about
the provider's health (bad input, content moderation: ``transient=False``) do not count.

Usage (the router's attempt pipeline)::

    breakers = BreakerBoard(BreakerPolicy(failures=5, cooldown=30.0))
    admission = breakers.admit("fal", "fal-ai/veo3")
    if not admission.allowed:
        ...  # record the attempt as skipped with admission.reason; next config
    ...  # wait for capacity, then, right before the submit, ask again:
    admission = breakers.readmit("fal", "fal-ai/veo3", admission)
    if not admission.allowed:
        ...  # opened while this call waited: skipped, as above
    try:
        result = await run_attempt()
    except TarashException as error:
        breakers.record_failure("fal", "fal-ai/veo3", transient=is_transient(error))
        raise
    except BaseException:
        breakers.record_cancelled("fal", "fal-ai/veo3")  # a lost race says nothing
        raise
    breakers.record_success("fal", "fal-ai/veo3")

A probe that never reports back (its task died without a verdict) stops counting as out
after ``probe_timeout`` seconds, so a breaker cannot stay half-open forever.

Each breaker's state is a :class:`~tarash.tarash_gateway.routing._state.BreakerRecord` in a
router state (the router's own, by default an in-memory one): each change reads the
record, works out the next one here and swaps it in only if no other caller changed it
meanwhile (else it reads again), so calls from the sync shims' thread and from users'
loops (and, with a shared store, other processes) never lose each other's outcomes.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from typing import TypeVar

from tarash.tarash_gateway.engine._read_pauses import answer_at_once
from tarash.tarash_gateway.errors import ValidationError
from tarash.tarash_gateway.routing._limits import limit_key
from tarash.tarash_gateway.routing._snapshot import BreakerSnapshot
from tarash.tarash_gateway.routing._state import BreakerRecord, MemoryState, RouterState

__all__ = ["Admission", "BreakerBoard", "BreakerPolicy"]

logger = logging.getLogger("tarash.breaker")

Clock = Callable[[], float]
T = TypeVar("T")

# A window of calls per key is pruned by age; this bounds it under a flood all the same.
_MAX_WINDOW_CALLS = 10_000


@dataclass(frozen=True, slots=True)
class BreakerPolicy:
    """When a provider/model's breaker opens, and for how long.

    Args:
        failures: Consecutive transient failures that open the breaker.
        cooldown: Seconds the breaker stays open before one probe is admitted.
        failure_rate: Also open when transient failures make up at least this fraction
            (0 < rate <= 1) of the calls in the last ``window`` seconds. None: only the
            consecutive count opens it.
        window: Seconds of history the failure rate is computed over.
        min_calls: Calls the window must hold before the failure rate may open it.
        probe_timeout: Seconds after which an admitted probe that never reported back
            no longer blocks the next one.

    Raises:
        ValidationError: A value is not positive and finite (``failures`` and
            ``min_calls`` whole numbers, ``failure_rate`` at most 1); the message names
            the field.
    """

    failures: int = 5
    cooldown: float = 30.0
    failure_rate: float | None = None
    window: float = 60.0
    min_calls: int = 10
    probe_timeout: float = 600.0

    def __post_init__(self) -> None:
        for field in fields(self):
            value = getattr(self, field.name)
            if value is None and field.name == "failure_rate":
                continue
            name = f"BreakerPolicy.{field.name}"
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValidationError(f"{name} must be a number, got {value!r}")
            if field.name in ("failures", "min_calls") and not isinstance(value, int):
                raise ValidationError(f"{name} must be a whole number, got {value!r}")
            if not math.isfinite(value) or value <= 0:
                raise ValidationError(f"{name} must be positive and finite, got {value!r}")
            if field.name == "failure_rate" and value > 1:
                raise ValidationError(f"{name} must be at most 1, got {value!r}")


@dataclass(frozen=True, slots=True)
class Admission:
    """Whether a call may go to a provider/model now.

    Attributes:
        allowed: The call may go.
        probe: The call is the half-open breaker's one probe: its outcome decides.
        reason: Why the call was refused (for the skipped attempt's metadata).
    """

    allowed: bool
    probe: bool = False
    reason: str | None = None


def _pruned(record: BreakerRecord, now: float, window: float) -> BreakerRecord:
    """The record without the calls older than the failure-rate window."""
    calls = record.calls
    start = 0
    while start < len(calls) and now - calls[start][0] > window:
        start += 1
    return record if start == 0 else replace(record, calls=calls[start:])


def _with_call(record: BreakerRecord, now: float, failed: bool, window: float) -> BreakerRecord:
    """The record with one more call, the window pruned and bounded."""
    pruned = _pruned(record, now, window)
    return replace(pruned, calls=(*pruned.calls, (now, failed))[-_MAX_WINDOW_CALLS:])


def _failure_rate(record: BreakerRecord) -> float | None:
    if not record.calls:
        return None
    return sum(1 for _, failed in record.calls if failed) / len(record.calls)


class BreakerBoard:
    """One circuit breaker per provider/model, under one policy.

    Args:
        policy: When breakers open and for how long.
        clock: Seconds on one monotonic clock for every loop and thread.
        state: Where the breakers' records are kept (the router's state); by default an
            in-memory state of the board's own.
    """

    def __init__(
        self,
        policy: BreakerPolicy | None = None,
        *,
        clock: Clock = time.monotonic,
        state: RouterState | None = None,
    ) -> None:
        self.policy = policy or BreakerPolicy()
        self._clock = clock
        self._state: RouterState = state if state is not None else MemoryState(clock=clock)

    def __repr__(self) -> str:
        return f"BreakerBoard(policy={self.policy!r})"

    def _change(
        self, key: str, step: Callable[[BreakerRecord, float], tuple[BreakerRecord, T]]
    ) -> T:
        """Apply ``step`` to ``key``'s record atomically: read, work out, swap; again when
        another caller swapped first."""
        while True:
            record = answer_at_once(self._state.breaker(key))
            new, result = step(record, self._clock())
            # A step that changes nothing returns the record it was given (identity: no
            # comparison of the calls). It is stored all the same the first time: the
            # snapshot lists every breaker seen, asked or told.
            unchanged = new is record and record.version > 0
            if unchanged or answer_at_once(self._state.swap_breaker(key, record, new)):
                return result

    def _settle(self, record: BreakerRecord, now: float) -> BreakerRecord:
        """Move an open breaker whose cooldown passed to half-open; expire a lost probe."""
        if record.state == "open" and now >= record.opened_at + self.policy.cooldown:
            return replace(record, state="half_open", probe_at=None)
        if (
            record.state == "half_open"
            and record.probe_at is not None
            and now - record.probe_at >= self.policy.probe_timeout
        ):
            return replace(record, probe_at=None)
        return record

    def admit(self, provider: str, model: str) -> Admission:
        """Whether a call to ``provider``/``model`` may go now.

        Returns:
            Allowed while closed; refused while open, with the reason; while half-open,
            allowed as the probe for exactly one caller and refused for the others.
        """
        return self._decide(provider, model, holds_probe=False)

    def readmit(self, provider: str, model: str, first: Admission) -> Admission:
        """Whether a call admitted earlier (``first``) may still go, right before it sends.

        A call waits between its admission and its submit (for a concurrency slot, a
        create window, a provider's pause), and the calls that went first may open the
        breaker meanwhile: admitted while closed, a call must not send into an open
        breaker, or every call queued behind a small ``max_concurrent`` would be paid
        for after the breaker opened.

        Returns:
            Allowed while closed. Refused while open, with the reason. While half-open:
            the probe admitted earlier goes on as the probe; another call becomes the
            probe when none is out, and is refused when one is.
        """
        return self._decide(provider, model, holds_probe=first.probe)

    def _decide(self, provider: str, model: str, *, holds_probe: bool) -> Admission:
        """Admission now; ``holds_probe``: the caller is the half-open breaker's probe."""

        def step(record: BreakerRecord, now: float) -> tuple[BreakerRecord, tuple[Admission, bool]]:
            record = self._settle(record, now)
            if record.state == "closed":
                return record, (Admission(True), False)
            if record.state == "open":
                return record, (self._refusal(record, now), False)
            if holds_probe and record.probe_at is not None:
                return record, (Admission(True, probe=True), False)
            if record.probe_at is not None:
                refused = Admission(False, reason="circuit half-open: a probe call is deciding")
                return record, (refused, False)
            return replace(record, probe_at=now), (Admission(True, probe=True), True)

        admission, new_probe = self._change(limit_key(provider, model), step)
        if new_probe:
            self._probe_admitted(provider, model)
        return admission

    def _refusal(self, record: BreakerRecord, now: float) -> Admission:
        left = record.opened_at + self.policy.cooldown - now
        return Admission(False, reason=f"circuit open ({record.reason}); probe in {left:.0f} s")

    def _probe_admitted(self, provider: str, model: str) -> None:
        logger.info(
            "circuit half-open: admitting one probe",
            extra={"provider": provider, "model": model, "breaker": "half_open"},
        )

    def record_success(self, provider: str, model: str) -> None:
        """A call finished well: the streak ends, and a half-open breaker closes."""

        def step(record: BreakerRecord, now: float) -> tuple[BreakerRecord, bool]:
            record = self._settle(record, now)
            record = replace(_with_call(record, now, False, self.policy.window), consecutive=0)
            if record.state == "closed":
                return record, False
            closed = replace(record, state="closed", probe_at=None, reason=None, calls=())
            return closed, True

        if self._change(limit_key(provider, model), step):
            logger.info(
                "circuit closed: the probe succeeded",
                extra={"provider": provider, "model": model, "breaker": "closed"},
            )

    def record_failure(self, provider: str, model: str, *, transient: bool) -> None:
        """A call failed.

        Args:
            provider: The provider called.
            model: The model called.
            transient: Whether the failure speaks of the provider's health (a 5xx, a
                timeout, a failed job). A rejected input or a moderation refusal does
                not: it counts for nothing, and a probe ending so leaves the next call to
                probe.
        """

        def step(record: BreakerRecord, now: float) -> tuple[BreakerRecord, str | None]:
            record = self._settle(record, now)
            if not transient:
                if record.state == "half_open":
                    record = replace(record, probe_at=None)
                return record, None
            record = _with_call(record, now, True, self.policy.window)
            record = replace(record, consecutive=record.consecutive + 1)
            reason = self._reason_to_open(record)
            if reason is None:
                return record, None
            opened = replace(record, state="open", opened_at=now, probe_at=None, reason=reason)
            return opened, reason

        reason = self._change(limit_key(provider, model), step)
        if reason is None:
            return
        logger.warning(
            "circuit opened: %s",
            reason,
            extra={
                "provider": provider,
                "model": model,
                "breaker": "open",
                "cooldown": self.policy.cooldown,
            },
        )

    def _reason_to_open(self, record: BreakerRecord) -> str | None:
        if record.state == "half_open":
            return "the probe failed"
        if record.state == "open":
            return None
        if record.consecutive >= self.policy.failures:
            return f"{record.consecutive} consecutive transient failures"
        rate = _failure_rate(record)
        if (
            self.policy.failure_rate is not None
            and rate is not None
            and len(record.calls) >= self.policy.min_calls
            and rate >= self.policy.failure_rate
        ):
            return f"{rate:.0%} of {len(record.calls)} calls failed in {self.policy.window:g} s"
        return None

    def record_cancelled(self, provider: str, model: str) -> None:
        """A call ended without a verdict (a lost race, a caller's cancel): a probe it
        carried is returned, so the next call probes."""

        def step(record: BreakerRecord, now: float) -> tuple[BreakerRecord, None]:
            if record.state == "half_open":
                return replace(record, probe_at=None), None
            return record, None

        self._change(limit_key(provider, model), step)

    def snapshot(self) -> dict[str, BreakerSnapshot]:
        """Every breaker seen so far: state, streak, recent failure rate, time to probe."""
        result: dict[str, BreakerSnapshot] = {}
        for key in answer_at_once(self._state.breaker_keys()):
            now = self._clock()
            record = answer_at_once(self._state.breaker(key))
            record = _pruned(self._settle(record, now), now, self.policy.window)
            result[key] = BreakerSnapshot(
                key=key,
                state=record.state,
                consecutive_failures=record.consecutive,
                recent_calls=len(record.calls),
                recent_failure_rate=_failure_rate(record),
                probe_in_seconds=(
                    record.opened_at + self.policy.cooldown - now
                    if record.state == "open"
                    else None
                ),
                reason=record.reason,
            )
        return result


# Its published module, where users import it from (and where a pickle finds it).
BreakerPolicy.__module__ = "tarash.tarash_gateway"
