"""Capacity limits shared by every call in the process: concurrency caps and create rates.

A :class:`ProviderLimit` caps the jobs a provider (``"fal"``) or one of its models
(``"fal/fal-ai/veo3"``) runs at once, and how fast new jobs are created. A model's own limit
applies in addition to its provider's. Limits are account limits: each API key gets its
own counters, pauses and learning under the same configured limit, as the caller passes
``account=`` (a :func:`account_fingerprint`, never the key; the router's attempt passes the
fingerprint of the key its client sends, ``_attempt.account_of``).

Usage (the router's attempt pipeline)::

    board = CapacityBoard({"fal": ProviderLimit(max_concurrent=10, spill_after=5.0)})
    try:
        slot = await board.acquire("fal", "fal-ai/veo3", deadline=deadline)
    except CapacitySpill:
        ...  # not submitted: move on to the chain's next config
    try:
        slot.waited_seconds  # recorded in the attempt's metadata
        ...  # submit and wait; on a 429 / Retry-After / THROTTLED:
        board.slow_down("fal", "fal-ai/veo3", retry_after=error.retry_after)
    finally:
        slot.release()  # idempotent

Why not aiolimiter: one board serves the sync shims' private asyncio loop (its own thread,
see ``_sync.py``) and every loop users run, asyncio or trio, at the same time.
``aiolimiter.AsyncLimiter`` keeps its waiters as futures of the loop that first used it,
reads that loop's clock, is not thread-safe and does not run on trio; and it limits rate
only, while a job's slot here must be held until the job ends and released from anywhere.
So the state is a rolling window of create times and counters per key behind a
:class:`threading.Lock`, and a waiter is woken through its own loop's thread-safe call
(asyncio's ``call_soon_threadsafe``, trio's ``TrioToken.run_sync_soon``; sniffio says which).

Waiters are served first come, first served per key: a call never overtakes an earlier one
waiting on the same key, but is not held up by a waiter blocked on a key it does not use.
Times are read from the board's injected ``clock`` (one clock for every loop; deadlines
given on ``anyio.current_time()`` are converted on entry) and waited for with its injected
``sleep``, so tests drive both.

Learning (AIMD): :meth:`CapacityBoard.slow_down` halves the provider's effective create
rate (at most once per :data:`SLOW_DOWN_DEBOUNCE_SECONDS`, since one burst of 429s is one
signal) and pauses creates until the ``Retry-After`` passes; with ``over_concurrency=True``
(Runway's THROTTLED, fal's concurrency refusals) it lowers the provider's concurrency cap
below what was running instead of its rate. Both recover additively while no new signal
arrives. A provider with no configured rate learns too: its ``Retry-After`` pauses every
call, and a 429 without one slows it from the rate it was observed creating at (when
that was 12 a minute or more: twice the lowest documented limit). A call
that a pause would hold past its deadline (or past its ``spill_after``) does not wait for
it: it spills over to the chain's next config, or on the last one fails at once with a
:class:`RateLimitError` (nothing is submitted).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import math
import sys
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, fields
from types import MappingProxyType
from typing import Any

import anyio
import anyio.lowlevel
import sniffio

from tarash.tarash_gateway.engine._read_pauses import answer_at_once
from tarash.tarash_gateway.errors import (
    RateLimitError,
    TarashException,
    TimeoutError,
    ValidationError,
)
from tarash.tarash_gateway.providers import normalise_table, provider_key
from tarash.tarash_gateway.routing._snapshot import LimitSnapshot
from tarash.tarash_gateway.routing._state import Lease, MemoryState, RouterState

__all__ = [
    "DEFAULT_LIMITS",
    "MIN_RATE_FACTOR",
    "RATE_RECOVERY_PER_SECOND",
    "SLOW_DOWN_DEBOUNCE_SECONDS",
    "CapacityBoard",
    "CapacitySlot",
    "CapacitySpill",
    "ProviderLimit",
    "account_fingerprint",
    "limit_key",
    "merge_limits",
]

logger = logging.getLogger("tarash.limits")

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]

#: One burst of 429s from many jobs in flight is one signal, not many halvings.
SLOW_DOWN_DEBOUNCE_SECONDS = 1.0
#: The create rate never falls below this fraction of its starting point.
MIN_RATE_FACTOR = 1 / 64
#: The fraction of the full rate regained per second without a new signal: from half the
#: rate back to all of it in 50 s, a minute-scale recovery for per-minute limits.
RATE_RECOVERY_PER_SECOND = 0.01
#: A concurrency cap lowered by an over-concurrency signal regains one slot this often.
CONCURRENCY_RECOVERY_SECONDS = 30.0
#: The window over which an unconfigured provider's create rate is observed.
_OBSERVE_SECONDS = 60.0
#: The lowest documented account limit (per second): Replicate's 6 creates/min for
#: low-credit accounts. An unconfigured provider learns a rate from a 429 only when it was
#: seen creating at twice this or more, so that the halved rate stays at or above it: a
#: 429 met at a slower pace is not about creates per minute, and slowing further would
#: hold every later call back (10 s and more) for nothing.
_MIN_LEARNED_RATE = 6 / 60
_MAX_OBSERVED = 4096


@dataclass(frozen=True, slots=True)
class ProviderLimit:
    """Limits on one provider (or one model) for one account.

    Args:
        max_concurrent: Jobs submitted and not finished at once (the provider's own
            notion of a running job). None: no cap.
        creates_per_minute: New jobs per minute, counted as providers count them: in any
            rolling ``window_seconds`` at most ``creates_per_minute * window_seconds / 60``
            creates start (at least one). With the default one-minute window ``10`` lets
            10 creates go at once and the 11th when the first is a minute old. None: no
            rate limit.
        spill_after: Seconds a call waits for capacity before it moves on to the chain's
            next config instead (never on the last one). None: it waits, within its
            deadline.
        window_seconds: The rolling window the provider counts creates over: 60 for the
            usual "N per minute"; ``10`` with ``creates_per_minute=600`` allows 100 in any
            10 s (a provider that refuses bursts over a shorter window).

    Raises:
        ValidationError: A value is not a positive, finite number (an integer for
            ``max_concurrent``); the message names the field.
    """

    max_concurrent: int | None = None
    creates_per_minute: float | None = None
    spill_after: float | None = None
    window_seconds: float = 60.0

    def __post_init__(self) -> None:
        for field in fields(self):
            value = getattr(self, field.name)
            if value is None:
                continue
            name = f"ProviderLimit.{field.name}"
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValidationError(f"{name} must be a number or None, got {value!r}")
            if field.name == "max_concurrent" and not isinstance(value, int):
                raise ValidationError(f"{name} must be a whole number, got {value!r}")
            if not math.isfinite(value) or value <= 0:
                raise ValidationError(f"{name} must be positive and finite, got {value!r}")


#: The limits every router applies unless told otherwise (``Router(limits=None)``, the
#: default router): safe for a new account on each provider, from the limits it documents
#: (or that are reported for its lowest tier); the sources, with the date they were
#: checked, are in docs/routing-reference.md. ``"provider/*"`` gives each model of the
#: provider its own counters under that limit.
#:
#: Only create rates are here, the limits whose excess is refused with a 429. No
#: concurrency cap is: where a provider caps jobs at once it queues the excess itself (fal
#: holds it ``IN_QUEUE``, Runway ``THROTTLED``), so a cap set here for its lowest tier
#: would only slow every larger account down; the limiter learns a lower cap from
#: Runway's ``THROTTLED`` and fal's 429s instead (:meth:`CapacityBoard.slow_down`), as it
#: learns a rate from any provider's 429.
DEFAULT_LIMITS: Mapping[str, ProviderLimit] = MappingProxyType(
    {
        # Replicate: 600 prediction creates per minute (less when credit is low: learnt).
        "replicate": ProviderLimit(creates_per_minute=600),
        # OpenAI: Tier 1 allows 25 requests/min on sora-2 and 10 on sora-2-pro.
        "openai/sora-2": ProviderLimit(creates_per_minute=25),
        "openai/sora-2-pro": ProviderLimit(creates_per_minute=10),
        # Google: Veo preview models allow 10 requests/min per project, counted per model.
        "google/*": ProviderLimit(creates_per_minute=10),
        # Stability: 150 requests per 10 s (then a 60 s timeout), counted over 10 s: 100
        # in any 10 s, a third left for the rest.
        "stability": ProviderLimit(creates_per_minute=600, window_seconds=10),
    }
)


def merge_limits(
    limits: Mapping[str, ProviderLimit | Mapping[str, Any]] | None,
) -> dict[str, ProviderLimit | Mapping[str, Any]]:
    """The limits a router applies: ``limits`` over :data:`DEFAULT_LIMITS`, key by key.

    Args:
        limits: None for the defaults alone; ``{}`` for no limits at all; otherwise each
            key given replaces that key's default whole (its other fields are not kept),
            and the defaults of the keys not given stay.

    Returns:
        A new mapping, for :class:`CapacityBoard`, keyed by
        :func:`~tarash.tarash_gateway.providers.table_key`.

    Raises:
        ValidationError: Two keys name the same provider (``"fal"`` and ``"FAL"``).
    """
    if limits is None:
        return dict(DEFAULT_LIMITS)
    if not limits:
        return {}
    # Keyed as the defaults are: a user's "Replicate" replaces the default "replicate".
    return {**DEFAULT_LIMITS, **normalise_table(limits, "limits")}


def limit_key(provider: str, model: str | None = None, account: str | None = None) -> str:
    """The key a limit and its counters live under: ``provider[/model][@account]``.

    The provider is named as the registry looks it up (:func:`provider_key`): a config's
    ``"FAL"`` or ``"fal-ai"`` shares ``"fal"``'s limits, breaker and learned latency.
    """
    provider = provider_key(provider)
    key = provider if model is None else f"{provider}/{model}"
    return key if account is None else f"{key}@{account}"


def account_fingerprint(api_key: str) -> str:
    """A short, stable, one-way name for an API key, safe to log and show.

    Args:
        api_key: The secret.

    Returns:
        12 hex digits of the key's BLAKE2b hash: enough to tell accounts apart, useless for
        recovering the key.
    """
    return hashlib.blake2b(api_key.encode(), digest_size=6, person=b"tarash-acct").hexdigest()


def _parse_limits(
    limits: Mapping[str, ProviderLimit | Mapping[str, Any]] | None,
) -> dict[str, ProviderLimit]:
    parsed: dict[str, ProviderLimit] = {}
    for key, value in normalise_table(limits or {}, "limits").items():
        if "@" in key:
            raise ValidationError(f"limits keys are 'provider' or 'provider/model', got {key!r}")
        if isinstance(value, ProviderLimit):
            parsed[key] = value
        elif isinstance(value, Mapping):
            unknown = set(value) - {field.name for field in fields(ProviderLimit)}
            if unknown:
                raise ValidationError(
                    f"limits[{key!r}] has unknown field(s) {sorted(unknown)}; "
                    "expected max_concurrent, creates_per_minute, spill_after, window_seconds"
                )
            parsed[key] = ProviderLimit(**value)
        else:
            raise ValidationError(f"limits[{key!r}] must be a ProviderLimit, got {value!r}")
    return parsed


class CapacitySpill(TarashException):
    """Internal signal: a call waited ``spill_after`` for capacity and should move on.

    Nothing was submitted. The chain catches it and tries its next config; it is a tarash
    error only so that, should it ever escape, it is still one.
    """

    fallback_allowed = True


class _KeyState:
    """Counters, create window and learned slow-down of one key; guarded by the board's lock.

    Its create pause (a ``Retry-After``, a spent request budget) is kept in the router's
    state as a pause of ``"create <key>"``, and its jobs in flight as slots of
    ``"slot <key>"`` (held until released: a lease that lets a dead process's slots come
    back needs the renewal a shared store will bring), read and written at once (an
    in-memory state). Its create window and learned slow-down stay here.
    """

    __slots__ = (
        "_clock",
        "_store",
        "created",
        "factor",
        "factor_at",
        "held_until",
        "key",
        "learned_base_rate",
        "learned_cap",
        "learned_cap_at",
        "limit",
        "slowed_at",
        "waiting",
    )

    def __init__(
        self,
        key: str,
        limit: ProviderLimit | None,
        now: float,
        *,
        store: RouterState,
        clock: Clock,
    ) -> None:
        self.key = key
        self._store = store
        self._clock = clock
        self.limit = limit
        self.waiting = 0
        self.factor = 1.0
        self.factor_at = now
        self.learned_base_rate: float | None = None
        self.learned_cap: int | None = None
        self.learned_cap_at = now
        self.slowed_at = -math.inf
        # After a halving without a Retry-After, the next create waits one interval of the
        # new rate (the provider's window holds more than ours shows: other clients).
        self.held_until = -math.inf
        # Every create's time, oldest first: the rolling window, and the observed rate of
        # a provider with none configured. Trimmed to what either can still need.
        self.created: deque[float] = deque()

    # -- slots and pause --------------------------------------------------------------
    @property
    def in_flight(self) -> int:
        """Jobs holding a slot of this key."""
        return answer_at_once(self._store.slots_held(f"slot {self.key}"))

    @property
    def paused_until(self) -> float:
        """When creates may start again (on the board's clock; ``-inf``: not paused)."""
        left = answer_at_once(self._store.paused_for(f"create {self.key}"))
        return self._clock() + left if left > 0 else -math.inf

    def pause_until(self, until: float, now: float) -> None:
        """No create starts before ``until`` (a longer pause already set is kept)."""
        answer_at_once(self._store.pause(f"create {self.key}", until - now))

    # -- rate -------------------------------------------------------------------------
    def _factor(self, now: float) -> float:
        factor = min(1.0, self.factor + RATE_RECOVERY_PER_SECOND * max(0.0, now - self.factor_at))
        if factor >= 1.0 and self.learned_base_rate is not None:
            # Recovered to the rate it was throttled at: an unconfigured provider is
            # unlimited again until the next signal.
            self.learned_base_rate = None
        return factor

    def base_rate(self) -> float | None:
        if self.limit is not None and self.limit.creates_per_minute is not None:
            return self.limit.creates_per_minute / 60.0
        return self.learned_base_rate

    def rate(self, now: float) -> float | None:
        factor = self._factor(now)
        base = self.base_rate()
        return None if base is None else base * factor

    def _base_window(self) -> float:
        return self.limit.window_seconds if self.limit is not None else _OBSERVE_SECONDS

    def window(self, now: float) -> tuple[int, float] | None:
        """``(n, seconds)``: at most n creates in any rolling ``seconds``; None: no rate.

        A slowed rate is a smaller n over the same window; one too slow for even one create
        per window stretches the window instead, so the average never exceeds the rate.
        """
        rate = self.rate(now)
        if rate is None:
            return None
        seconds = self._base_window()
        allowed = math.floor(rate * seconds + 1e-9)
        if allowed >= 1:
            return allowed, seconds
        return 1, 1.0 / rate

    def _trim(self, now: float) -> None:
        base = self.base_rate()
        keep = _MAX_OBSERVED
        horizon = _OBSERVE_SECONDS
        if base is not None:
            # The longest window the slowest factor could stretch to, and the most creates
            # the full rate allows in one: older or more entries cannot matter.
            keep = max(keep, math.floor(base * self._base_window() + 1e-9))
            horizon = max(horizon, self._base_window(), 1.0 / (base * MIN_RATE_FACTOR))
        created = self.created
        while created and (len(created) > keep or created[0] <= now - horizon):
            created.popleft()

    # -- concurrency ------------------------------------------------------------------
    def cap(self, now: float) -> int | None:
        configured = self.limit.max_concurrent if self.limit is not None else None
        if self.learned_cap is None:
            return configured
        regained = int(max(0.0, now - self.learned_cap_at) // CONCURRENCY_RECOVERY_SECONDS)
        learned = self.learned_cap + regained
        if configured is not None and learned >= configured:
            self.learned_cap = None
            return configured
        return learned

    # -- decisions --------------------------------------------------------------------
    def blocked_until(self, now: float) -> float | None:
        """None when a call may take a slot and start a create now; else when to look again
        (``inf``: when a slot is released)."""
        cap = self.cap(now)
        if cap is not None and self.in_flight >= cap:
            return math.inf
        if now < self.paused_until:
            return self.paused_until
        window = self.window(now)
        if window is None:
            return None
        if now < self.held_until:
            return self.held_until
        allowed, seconds = window
        created = self.created
        if len(created) < allowed:
            return None
        # The create that must leave the window before one more may start: the
        # ``allowed``-th newest (a create at t counts until t + seconds).
        leaves_at = created[len(created) - allowed] + seconds
        return None if leaves_at <= now else leaves_at

    def take(self, now: float) -> Lease:
        """Hold a slot and count a create (the caller checked :meth:`blocked_until`)."""
        lease = answer_at_once(
            self._store.acquire_slot(f"slot {self.key}", limit=sys.maxsize, lease_seconds=math.inf)
        )
        assert lease is not None  # no limit was asked of the store: the board decided
        self.created.append(now)
        self._trim(now)
        return lease

    def observed_rate(self, now: float) -> float:
        recent = sum(1 for at in self.created if now - at <= _OBSERVE_SECONDS)
        return recent / _OBSERVE_SECONDS

    def slow_down(self, now: float, retry_after: float | None, over_concurrency: bool) -> bool:
        """Apply one throttling signal; True when it lowered the rate (not debounced)."""
        if retry_after is not None and retry_after > 0:
            self.pause_until(now + retry_after, now)
        if over_concurrency:
            current = self.cap(now)
            lowered = max(1, self.in_flight - 1)
            if current is None or lowered < current:
                self.learned_cap, self.learned_cap_at = lowered, now
            # About jobs at once, not creates per minute: the rate stays as it was.
            return False
        if self.base_rate() is None and (
            retry_after is not None or self.observed_rate(now) < 2 * _MIN_LEARNED_RATE
        ):
            # A provider with no known rate that says when to come back is taken at its
            # word: the pause is the slow-down. A rate is learnt only when it gives none,
            # and only from a pace some account limit could have refused.
            return False
        if now - self.slowed_at < SLOW_DOWN_DEBOUNCE_SECONDS:
            return False
        self.slowed_at = now
        factor = self._factor(now)
        learned = None
        if self.base_rate() is None:
            learned, factor = self.observed_rate(now), 1.0
        # The factor first: recovering to 1.0 is what drops a learned base rate.
        self.factor, self.factor_at = max(MIN_RATE_FACTOR, factor / 2), now
        if learned is not None:
            self.learned_base_rate = learned
        rate = self.rate(now)
        if now >= self.paused_until and rate is not None:
            # No pause given: the next create waits one interval of the halved rate, then
            # the smaller window applies. With a pause, the pause is the wait.
            self.held_until = max(self.held_until, now + 1.0 / rate)
        return True

    def snapshot(self, now: float) -> LimitSnapshot:
        rate = self.rate(now)
        limit = self.limit or ProviderLimit()
        return LimitSnapshot(
            key=self.key,
            in_flight=self.in_flight,
            waiting=self.waiting,
            max_concurrent=limit.max_concurrent,
            effective_max_concurrent=self.cap(now),
            creates_per_minute=limit.creates_per_minute,
            effective_creates_per_minute=None if rate is None else rate * 60.0,
            paused_for_seconds=max(0.0, self.paused_until - now),
        )


def _waker(event: anyio.Event) -> Callable[[], None]:
    """A function that sets ``event`` on its own loop, callable from any thread."""
    library = sniffio.current_async_library()
    if library == "trio":
        import trio

        token = trio.lowlevel.current_trio_token()

        def wake_trio() -> None:
            with contextlib.suppress(trio.RunFinishedError):
                token.run_sync_soon(event.set)

        return wake_trio
    loop = asyncio.get_running_loop()

    def wake_asyncio() -> None:
        # A loop that has closed has no waiter left to wake.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(event.set)

    return wake_asyncio


class _Waiter:
    __slots__ = (
        "armed_until",
        "event",
        "keys",
        "may_spill",
        "model",
        "provider",
        "slot",
        "started",
        "wake",
    )

    def __init__(
        self, keys: tuple[str, ...], provider: str, model: str, started: float, may_spill: bool
    ) -> None:
        self.keys = keys
        self.provider = provider
        self.model = model
        self.started = started
        self.may_spill = may_spill
        # When its own timer will look again; a dispatch that finds a create due sooner
        # wakes it to re-arm (it may have become the first in line for that key).
        self.armed_until = math.inf
        self.slot: CapacitySlot | None = None
        self.event = anyio.Event()
        self.wake = _waker(self.event)

    def rearm(self) -> None:
        self.event = anyio.Event()
        self.wake = _waker(self.event)


class CapacitySlot:
    """One job's hold on its keys' capacity, from before its submit until it ends.

    Attributes:
        provider: The provider the slot is for.
        model: The model the slot is for.
        waited_seconds: How long the call waited for capacity (0 when there was room).
    """

    __slots__ = (
        "_board",
        "_keys",
        "_leases",
        "_released",
        "model",
        "provider",
        "waited_seconds",
    )

    def __init__(
        self,
        board: CapacityBoard,
        keys: tuple[str, ...],
        provider: str,
        model: str,
        waited_seconds: float,
        leases: tuple[Lease, ...] = (),
    ) -> None:
        self._board = board
        self._keys = keys
        self._leases = leases
        self._released = False
        self.provider = provider
        self.model = model
        self.waited_seconds = waited_seconds

    @property
    def released(self) -> bool:
        """Whether :meth:`release` has run."""
        return self._released

    def release(self) -> None:
        """Give the capacity back, waking the next waiter; a second call does nothing."""
        self._board._release(self)

    def __enter__(self) -> CapacitySlot:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release()

    def __repr__(self) -> str:
        state = "released" if self._released else "held"
        return (
            f"CapacitySlot(provider={self.provider!r}, model={self.model!r}, {state}, "
            f"waited_seconds={self.waited_seconds:.3f})"
        )


class CapacityBoard:
    """Concurrency slots and create windows per key, shared by every thread and event loop.

    Args:
        limits: ``{"provider": ProviderLimit(...), "provider/model": ...}``; a mapping of
            field names is accepted in place of a ProviderLimit (as read from TOML).
            Providers without a limit are unlimited until a :meth:`slow_down`. A key's
            provider is read as the registry reads it (``"FAL"`` is ``"fal"``).
        clock: Seconds on one monotonic clock for every loop and thread.
        sleep: How a waiter waits for the next create or its deadline.
        state: Where the jobs' slots and the create pauses are kept (the router's state,
            on the same clock); by default an in-memory state of the board's own on
            ``clock``.

    Raises:
        ValidationError: A key or a limit is malformed, or two keys name the same
            provider (``"fal"`` and ``"FAL"``).
    """

    def __init__(
        self,
        limits: Mapping[str, ProviderLimit | Mapping[str, Any]] | None = None,
        *,
        clock: Clock = time.monotonic,
        sleep: Sleep = anyio.sleep,
        state: RouterState | None = None,
    ) -> None:
        self._limits = _parse_limits(limits)
        self._clock = clock
        self._sleep = sleep
        self._store: RouterState = state if state is not None else MemoryState(clock=clock)
        self._lock = threading.Lock()
        self._states: dict[str, _KeyState] = {}
        self._waiters: deque[_Waiter] = deque()

    @property
    def limits(self) -> Mapping[str, ProviderLimit]:
        """The configured limits, by key."""
        return dict(self._limits)

    def _keys(self, provider: str, model: str, account: str | None) -> tuple[str, ...]:
        return (limit_key(provider, None, account), limit_key(provider, model, account))

    def _state(self, key: str, now: float) -> _KeyState:
        state = self._states.get(key)
        if state is None:
            state = self._states[key] = _KeyState(
                key, self._limit_for(key), now, store=self._store, clock=self._clock
            )
        return state

    def _limit_for(self, key: str) -> ProviderLimit | None:
        configured = key.split("@", 1)[0]
        limit = self._limits.get(configured)
        if limit is None and "/" in configured:
            limit = self._limits.get(configured.split("/", 1)[0] + "/*")
        return limit

    def spill_after(self, provider: str, model: str) -> float | None:
        """The shortest ``spill_after`` among the limits on ``provider`` and its ``model``."""
        values = [
            limit.spill_after
            for key in (limit_key(provider), limit_key(provider, model))
            if (limit := self._limit_for(key)) is not None and limit.spill_after is not None
        ]
        return min(values, default=None)

    async def acquire(
        self,
        provider: str,
        model: str,
        *,
        deadline: float | None = None,
        account: str | None = None,
        may_spill: bool = True,
    ) -> CapacitySlot:
        """Wait for a concurrency slot and room to create on the provider and the model.

        Args:
            provider: The provider about to be submitted to.
            model: The model about to be submitted to.
            deadline: On ``anyio.current_time()``'s clock (the job's deadline): the wait
                counts against it. None waits as long as it takes.
            account: :func:`account_fingerprint` of the API key, for per-key counters.
            may_spill: False on the chain's last config: wait rather than spill.

        Returns:
            The slot; release it when the job ends (or its submit fails).

        Raises:
            CapacitySpill: The limit's ``spill_after`` passed first, or a pause of the
                provider (its ``Retry-After``) outlasts the deadline or the spill-over;
                nothing is held.
            RateLimitError: ``may_spill`` is False and the provider's pause outlasts the
                deadline (its ``retry_after`` is what is left of it); nothing is held.
            TimeoutError: The deadline passed first; nothing is held.
        """
        await anyio.lowlevel.checkpoint_if_cancelled()
        keys = self._keys(provider, model, account)
        started = self._clock()
        give_up_at = None
        if deadline is not None:
            give_up_at = started + (deadline - anyio.current_time())
        spill_after = self.spill_after(provider, model) if may_spill else None
        spill_at = None if spill_after is None else started + spill_after
        waiter: _Waiter | None = None
        with self._lock:
            states = [self._state(key, started) for key in keys]
            if not any(state.waiting for state in states) and all(
                state.blocked_until(started) is None for state in states
            ):
                leases = tuple(state.take(started) for state in states)
                return CapacitySlot(self, keys, provider, model, 0.0, leases)
            waiter = _Waiter(keys, provider, model, started, may_spill)
            self._enqueue(waiter)
            # Queued behind waiters on a shared key, it may still go now if those wait
            # on a key it does not use.
            self._dispatch(started)
            if waiter.slot is not None:
                return waiter.slot
        try:
            return await self._wait(waiter, provider, model, started, give_up_at, spill_at)
        except BaseException:
            with self._lock:
                self._abandon(waiter)
            raise

    async def _wait(
        self,
        waiter: _Waiter,
        provider: str,
        model: str,
        started: float,
        give_up_at: float | None,
        spill_at: float | None,
    ) -> CapacitySlot:
        while True:
            with self._lock:
                if waiter.slot is not None:
                    # Granted by a release: no need to look at the other waiters.
                    return waiter.slot
                now = self._clock()
                wake_at = self._dispatch(now).get(id(waiter))
                if waiter.slot is not None:
                    return waiter.slot
                if give_up_at is not None and now >= give_up_at:
                    raise self._timeout(provider, model, now - started)
                self._refuse_if_paused_past(waiter, now, give_up_at, spill_at)
                if spill_at is not None and now >= spill_at:
                    logger.info(
                        "spilling after %.1f s waiting for capacity",
                        now - started,
                        extra={"provider": provider, "model": model, "waited": now - started},
                    )
                    raise CapacitySpill(
                        f"no capacity on {provider}/{model} after {now - started:.1f} s",
                        provider,
                        model,
                    )
                waiter.rearm()
                event = waiter.event
                until = min(
                    (at for at in (wake_at, give_up_at, spill_at) if at is not None),
                    default=math.inf,
                )
                waiter.armed_until = until
            await self._wait_event(event, until - now)

    async def _wait_event(self, event: anyio.Event, delay: float) -> None:
        if math.isinf(delay):
            await event.wait()
            return
        async with anyio.create_task_group() as group:

            async def sleep_then_stop() -> None:
                await self._sleep(max(0.0, delay))
                group.cancel_scope.cancel()

            group.start_soon(sleep_then_stop)
            await event.wait()
            group.cancel_scope.cancel()

    def _refuse_if_paused_past(
        self, waiter: _Waiter, now: float, give_up_at: float | None, spill_at: float | None
    ) -> None:
        """Give up now on a wait that a provider's pause would carry past its deadline or
        its spill-over: waiting for it could only end in a timeout."""
        paused_until = max(self._states[key].paused_until for key in waiter.keys)
        if paused_until <= now:
            return
        limits = [at for at in (give_up_at, spill_at) if at is not None]
        if not limits or paused_until < min(limits):
            return
        left = paused_until - now
        provider, model = waiter.provider, waiter.model
        if waiter.may_spill:
            logger.info(
                "spilling: %s is paused for %.1f s by its Retry-After",
                provider,
                left,
                extra={"provider": provider, "model": model, "paused_for": left},
            )
            raise CapacitySpill(
                f"{provider} asked for no new jobs for another {left:.0f} s (Retry-After)",
                provider,
                model,
            )
        raise RateLimitError(
            f"{provider} asked for no new jobs for another {left:.0f} s (Retry-After), "
            "longer than this call's deadline; nothing was submitted",
            provider,
            model,
            retry_after=left,
        )

    def _timeout(self, provider: str, model: str, waited: float) -> TimeoutError:
        return TimeoutError(
            f"deadline passed after waiting {waited:.1f} s for capacity on {provider}/{model}; "
            "nothing was submitted",
            provider,
            model,
            timeout_seconds=waited,
        )

    # -- under the lock ---------------------------------------------------------------
    def _enqueue(self, waiter: _Waiter) -> None:
        self._waiters.append(waiter)
        for key in waiter.keys:
            self._states[key].waiting += 1

    def _dequeue(self, waiter: _Waiter) -> None:
        self._waiters.remove(waiter)
        for key in waiter.keys:
            self._states[key].waiting -= 1

    def _abandon(self, waiter: _Waiter) -> None:
        """A waiter gave up (cancelled, timed out, spilled): it holds nothing afterwards."""
        if waiter in self._waiters:
            self._dequeue(waiter)
        elif waiter.slot is not None:
            self._release_locked(waiter.slot)
        self._dispatch(self._clock())

    def _dispatch(self, now: float) -> dict[int, float]:
        """Grant capacity to waiters in arrival order; returns, per still-blocked waiter,
        when a create is due (absent: it waits for a release)."""
        retry_at: dict[int, float] = {}
        blocked: set[str] = set()
        # Every waiter waits on its provider's key: once all of those are blocked, no
        # later waiter can go, and the scan stops (it would be quadratic otherwise).
        providers = {waiter.keys[0] for waiter in self._waiters}
        for waiter in list(self._waiters):
            if providers <= blocked:
                break
            if blocked.intersection(waiter.keys):
                continue
            states = [self._states[key] for key in waiter.keys]
            waits = [(state, state.blocked_until(now)) for state in states]
            failing = [(state, at) for state, at in waits if at is not None]
            if not failing:
                leases = tuple(state.take(now) for state in states)
                self._dequeue(waiter)
                waiter.slot = CapacitySlot(
                    self, waiter.keys, waiter.provider, waiter.model, now - waiter.started, leases
                )
                waiter.wake()
                continue
            blocked.update(state.key for state, _ in failing)
            due = max(at for _, at in failing)
            if not math.isinf(due):
                retry_at[id(waiter)] = due
                if due < waiter.armed_until - 1e-6:
                    waiter.wake()
        return retry_at

    def _release(self, slot: CapacitySlot) -> None:
        with self._lock:
            self._release_locked(slot)
            self._dispatch(self._clock())

    def _release_locked(self, slot: CapacitySlot) -> None:
        if slot._released:
            return
        slot._released = True
        for lease in slot._leases:
            answer_at_once(self._store.release_slot(lease))

    # -- learning ---------------------------------------------------------------------
    def slow_down(
        self,
        provider: str,
        model: str | None = None,
        retry_after: float | None = None,
        *,
        account: str | None = None,
        over_concurrency: bool = False,
    ) -> None:
        """Tell the board the provider throttled a call: every call to it slows down.

        Args:
            provider: The provider that answered 429, RESOURCE_EXHAUSTED or THROTTLED.
            model: The model called (for the log record; the whole provider slows).
            retry_after: The provider's hint in seconds: no create starts before it passes.
            account: The key's fingerprint, when limits are per key.
            over_concurrency: The signal was about jobs running at once (Runway's
                THROTTLED, fal's concurrency refusal): the provider's cap is lowered below
                what runs now. Call it before releasing the throttled job's slot.
        """
        with self._lock:
            now = self._clock()
            state = self._state(limit_key(provider, None, account), now)
            halved = state.slow_down(now, retry_after, over_concurrency)
            rate = state.rate(now)
            cap = state.cap(now)
            self._dispatch(now)
            if retry_after is not None and retry_after > 0:
                # Each waiter on the provider looks again: one the pause would hold past
                # its deadline gives up now rather than at the deadline.
                for waiter in self._waiters:
                    if waiter.keys[0] == state.key:
                        waiter.wake()
        logger.warning(
            "provider throttled: slowing down",
            extra={
                "provider": provider,
                "model": model,
                "account": account,
                "retry_after": retry_after,
                "rate_halved": halved,
                "effective_creates_per_minute": None if rate is None else rate * 60.0,
                "effective_max_concurrent": cap,
            },
        )

    def pause_creates(
        self, provider: str, model: str | None, seconds: float, *, account: str | None = None
    ) -> None:
        """The provider said its request budget is spent until ``seconds`` from now
        (``x-ratelimit-remaining-requests: 0``): no create to it starts before then.

        Unlike :meth:`slow_down` this is not a refusal: the rate is not halved, the pause
        is the whole lesson.
        """
        if not (seconds > 0 and math.isfinite(seconds)):
            return
        with self._lock:
            now = self._clock()
            state = self._state(limit_key(provider, None, account), now)
            state.pause_until(now + seconds, now)
            self._dispatch(now)
            for waiter in self._waiters:
                if waiter.keys[0] == state.key:
                    waiter.wake()
        logger.info(
            "provider's request budget spent: pausing creates",
            extra={"provider": provider, "model": model, "account": account, "pause": seconds},
        )

    def snapshot(self) -> dict[str, LimitSnapshot]:
        """Every key seen so far: in flight, waiting, limits and the learned slow-down."""
        with self._lock:
            now = self._clock()
            return {key: state.snapshot(now) for key, state in sorted(self._states.items())}


# Its published module, where users import it from (and where a pickle finds it).
ProviderLimit.__module__ = "tarash.tarash_gateway"
