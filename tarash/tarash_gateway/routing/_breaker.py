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
after ``probe_timeout`` seconds, so a breaker cannot stay half-open forever. One lock
guards every breaker: calls from the sync shims' thread and from users' loops share them.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, fields

from tarash.tarash_gateway.errors import ValidationError
from tarash.tarash_gateway.routing._limits import limit_key
from tarash.tarash_gateway.routing._snapshot import BreakerSnapshot, BreakerState

__all__ = ["Admission", "BreakerBoard", "BreakerPolicy"]

logger = logging.getLogger("tarash.breaker")

Clock = Callable[[], float]

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


class _Breaker:
    __slots__ = (
        "calls",
        "consecutive",
        "key",
        "opened_at",
        "probe_at",
        "reason",
        "state",
    )

    def __init__(self, key: str) -> None:
        self.key = key
        self.state: BreakerState = "closed"
        self.consecutive = 0
        self.opened_at = -math.inf
        self.probe_at: float | None = None
        self.reason: str | None = None
        self.calls: deque[tuple[float, bool]] = deque(maxlen=_MAX_WINDOW_CALLS)

    def prune(self, now: float, window: float) -> None:
        while self.calls and now - self.calls[0][0] > window:
            self.calls.popleft()

    def failure_rate(self) -> float | None:
        if not self.calls:
            return None
        return sum(1 for _, failed in self.calls if failed) / len(self.calls)


class BreakerBoard:
    """One circuit breaker per provider/model, under one policy.

    Args:
        policy: When breakers open and for how long.
        clock: Seconds on one monotonic clock for every loop and thread.
    """

    def __init__(
        self, policy: BreakerPolicy | None = None, *, clock: Clock = time.monotonic
    ) -> None:
        self.policy = policy or BreakerPolicy()
        self._clock = clock
        self._lock = threading.Lock()
        self._breakers: dict[str, _Breaker] = {}

    def _breaker(self, provider: str, model: str) -> _Breaker:
        key = limit_key(provider, model)
        breaker = self._breakers.get(key)
        if breaker is None:
            breaker = self._breakers[key] = _Breaker(key)
        return breaker

    def _settle(self, breaker: _Breaker, now: float) -> None:
        """Move an open breaker whose cooldown passed to half-open; expire a lost probe."""
        if breaker.state == "open" and now >= breaker.opened_at + self.policy.cooldown:
            breaker.state, breaker.probe_at = "half_open", None
        elif (
            breaker.state == "half_open"
            and breaker.probe_at is not None
            and now - breaker.probe_at >= self.policy.probe_timeout
        ):
            breaker.probe_at = None

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
        with self._lock:
            now = self._clock()
            breaker = self._breaker(provider, model)
            self._settle(breaker, now)
            if breaker.state == "closed":
                return Admission(True)
            if breaker.state == "open":
                return self._refusal(breaker, now)
            if holds_probe and breaker.probe_at is not None:
                return Admission(True, probe=True)
            if breaker.probe_at is not None:
                return Admission(False, reason="circuit half-open: a probe call is deciding")
            breaker.probe_at = now
        return self._probe_admitted(provider, model)

    def _refusal(self, breaker: _Breaker, now: float) -> Admission:
        left = breaker.opened_at + self.policy.cooldown - now
        return Admission(False, reason=f"circuit open ({breaker.reason}); probe in {left:.0f} s")

    def _probe_admitted(self, provider: str, model: str) -> Admission:
        logger.info(
            "circuit half-open: admitting one probe",
            extra={"provider": provider, "model": model, "breaker": "half_open"},
        )
        return Admission(True, probe=True)

    def record_success(self, provider: str, model: str) -> None:
        """A call finished well: the streak ends, and a half-open breaker closes."""
        with self._lock:
            now = self._clock()
            breaker = self._breaker(provider, model)
            self._settle(breaker, now)
            breaker.calls.append((now, False))
            breaker.prune(now, self.policy.window)
            breaker.consecutive = 0
            closing = breaker.state != "closed"
            if closing:
                breaker.state, breaker.probe_at, breaker.reason = "closed", None, None
                breaker.calls.clear()
        if closing:
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
        with self._lock:
            now = self._clock()
            breaker = self._breaker(provider, model)
            self._settle(breaker, now)
            if not transient:
                if breaker.state == "half_open":
                    breaker.probe_at = None
                return
            breaker.calls.append((now, True))
            breaker.prune(now, self.policy.window)
            breaker.consecutive += 1
            reason = self._reason_to_open(breaker)
            if reason is None:
                return
            breaker.state, breaker.opened_at, breaker.probe_at = "open", now, None
            breaker.reason = reason
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

    def _reason_to_open(self, breaker: _Breaker) -> str | None:
        if breaker.state == "half_open":
            return "the probe failed"
        if breaker.state == "open":
            return None
        if breaker.consecutive >= self.policy.failures:
            return f"{breaker.consecutive} consecutive transient failures"
        rate = breaker.failure_rate()
        if (
            self.policy.failure_rate is not None
            and rate is not None
            and len(breaker.calls) >= self.policy.min_calls
            and rate >= self.policy.failure_rate
        ):
            return f"{rate:.0%} of {len(breaker.calls)} calls failed in {self.policy.window:g} s"
        return None

    def record_cancelled(self, provider: str, model: str) -> None:
        """A call ended without a verdict (a lost race, a caller's cancel): a probe it
        carried is returned, so the next call probes."""
        with self._lock:
            breaker = self._breaker(provider, model)
            if breaker.state == "half_open":
                breaker.probe_at = None

    def snapshot(self) -> dict[str, BreakerSnapshot]:
        """Every breaker seen so far: state, streak, recent failure rate, time to probe."""
        with self._lock:
            now = self._clock()
            result: dict[str, BreakerSnapshot] = {}
            for key, breaker in sorted(self._breakers.items()):
                self._settle(breaker, now)
                breaker.prune(now, self.policy.window)
                result[key] = BreakerSnapshot(
                    key=key,
                    state=breaker.state,
                    consecutive_failures=breaker.consecutive,
                    recent_calls=len(breaker.calls),
                    recent_failure_rate=breaker.failure_rate(),
                    probe_in_seconds=(
                        breaker.opened_at + self.policy.cooldown - now
                        if breaker.state == "open"
                        else None
                    ),
                    reason=breaker.reason,
                )
            return result


# Its published module, where users import it from (and where a pickle finds it).
BreakerPolicy.__module__ = "tarash.tarash_gateway"
