"""The router's shared state behind one small interface, and its in-memory store.

Every policy of a :class:`~tarash.tarash_gateway.router.Router` that more than one call
shares (limits, create and read pauses, breakers, learned latencies, spend) keeps what it
counts in a few primitives, listed here as :class:`RouterState`:

- **slots with a lease**: :meth:`~RouterState.acquire_slot` takes one of ``limit`` slots of
  a key atomically, for ``lease_seconds``; :meth:`~RouterState.renew_slot` extends it and
  :meth:`~RouterState.release_slot` gives it back. A lease not renewed expires, so the
  slots of a process that died come back on their own;
- **counters in a time window** (create rates): :meth:`~RouterState.take_in_window` counts
  one event when fewer than ``limit`` happened in the last ``window_seconds``, else says
  how long until one may;
- **a pause until a time** (a 429's ``Retry-After`` on creates or on reads): the longest
  pause asked for holds;
- **a reservation that settles** (spend): hold an estimate against a cap, then settle it
  to the actual cost or release it;
- **breaker state**: a breaker's record (closed, open or half-open, its streak, when it
  opened, its probe out, its recent calls), read and then replaced only if no one else
  replaced it meanwhile (:meth:`~RouterState.swap_breaker`, a compare-and-set on its
  version: Redis's ``WATCH``, PostgreSQL's ``UPDATE ... WHERE version = ...``), so the
  breaker's rules stay in ``_breaker`` and the store needs no knowledge of them;
- **samples** (learned latencies): the last ``keep`` values of a key.

Keys are the limits' keys (:func:`~tarash.tarash_gateway.routing._limits.limit_key`):
``provider[/model][@account]``, where the account is the one-way fingerprint of the key
(``_limits.account_fingerprint``), never the key itself, so a store shared across
processes (Redis, PostgreSQL) holds nothing secret.

Every method is async because a shared store does I/O. Times given are durations in
seconds; times returned (``Lease.expires_at``) are on the store's own clock, which
:meth:`RouterState.clock` reads: one clock for every process that shares the store (the
breaker board's record holds times of the board's clock). :class:`MemoryState` is the
default: one process's dictionaries behind a :class:`threading.Lock` (calls from the sync
shims' loop and users' loops share it), on an injected monotonic clock. Its methods never
wait, so a cancellation cannot cut one in half, and the policies' sync methods (a
breaker's admission, a snapshot) read it at once
(``engine._read_pauses.answer_at_once``); a store that does I/O will need those call
sites made async first.
"""

from __future__ import annotations

import itertools
import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Protocol

from tarash.tarash_gateway.engine._read_pauses import MemoryPauses
from tarash.tarash_gateway.routing._snapshot import BreakerState

__all__ = [
    "BreakerRecord",
    "Hold",
    "Lease",
    "MemoryState",
    "RouterState",
    "SpendFigures",
]

Clock = Callable[[], float]


@dataclass(frozen=True, slots=True)
class Lease:
    """One slot of a key, held until released or until ``expires_at`` (the store's clock).

    Attributes:
        key: The key the slot counts against.
        token: Tells this holder's slot from every other's.
        expires_at: When the slot comes back unless renewed.
    """

    key: str
    token: str
    expires_at: float


@dataclass(frozen=True, slots=True)
class Hold:
    """An amount held against a key's cap until settled or released.

    Attributes:
        key: The spend key (a router's, or a batch's).
        token: Tells this hold from every other's.
        amount: What is held (never negative).
    """

    key: str
    token: str
    amount: float


@dataclass(frozen=True, slots=True)
class SpendFigures:
    """What a spend key has settled and what its open holds keep back, in dollars."""

    spent: float = 0.0
    reserved: float = 0.0


@dataclass(frozen=True, slots=True)
class BreakerRecord:
    """One breaker's state, as the breaker board reads and replaces it whole.

    Attributes:
        state: ``closed`` (calls go), ``open`` (refused) or ``half_open`` (one probe).
        consecutive: Transient failures in a row.
        opened_at: When it last opened (the board's clock).
        probe_at: When the half-open breaker's probe went out; None: no probe out.
        reason: Why it last opened.
        calls: Recent calls, oldest first: ``(when, failed)``, for the failure rate.
        version: Bumped by the store at each replacement (:meth:`RouterState.swap_breaker`).
    """

    state: BreakerState = "closed"
    consecutive: int = 0
    opened_at: float = -math.inf
    probe_at: float | None = None
    reason: str | None = None
    calls: tuple[tuple[float, bool], ...] = ()
    version: int = 0


class RouterState(Protocol):
    """Where a router's policies keep what they share (see the module docstring).

    An implementation makes each method atomic: two processes acquiring the last slot,
    taking the last create of a window or reserving the last dollars cannot both succeed.
    """

    def clock(self) -> float:
        """Now, on the clock the store's times are on (seconds)."""

    async def acquire_slot(self, key: str, *, limit: int, lease_seconds: float) -> Lease | None:
        """Take one of ``limit`` slots of ``key`` for ``lease_seconds``; None when all are
        held (expired leases do not count)."""

    async def renew_slot(self, lease: Lease, *, lease_seconds: float) -> Lease | None:
        """Extend a held slot to ``lease_seconds`` from now; None when it was lost (it
        expired and may have been taken)."""

    async def release_slot(self, lease: Lease) -> None:
        """Give a slot back; releasing one already released or expired does nothing."""

    async def slots_held(self, key: str) -> int:
        """How many of ``key``'s slots are held now (live leases)."""

    async def take_in_window(self, key: str, *, limit: int, window_seconds: float) -> float:
        """Count one event of ``key`` if fewer than ``limit`` happened in the last
        ``window_seconds``: 0.0. Otherwise nothing is counted and the seconds until the
        oldest of them leaves the window are returned."""

    async def count_in_window(self, key: str, *, window_seconds: float) -> int:
        """How many events of ``key`` happened in the last ``window_seconds``."""

    async def pause(self, key: str, seconds: float) -> float:
        """Hold ``key`` back ``seconds`` from now (a longer pause already set is kept);
        returns the seconds the pause now holds (0 for a pause of no length)."""

    async def paused_for(self, key: str) -> float:
        """Seconds until ``key``'s pause ends (0: not paused)."""

    async def clear_pauses(self, prefix: str = "") -> None:
        """Forget every pause whose key starts with ``prefix`` (all by default: tests)."""

    async def reserve(self, key: str, amount: float, *, cap: float | None) -> Hold | None:
        """Hold ``amount`` against ``key``'s ``cap``; None (nothing held) when spent plus
        held plus ``amount`` would pass it. ``cap=None`` holds without a limit."""

    async def settle(self, hold: Hold, cost: float) -> None:
        """Turn a hold into spend of ``cost``; once only (a second settle, or a settle
        after a release, does nothing)."""

    async def release(self, hold: Hold) -> None:
        """Give a hold back unspent; once only, as :meth:`settle`."""

    async def spend(self, key: str) -> SpendFigures:
        """What ``key`` has spent and holds now."""

    async def breaker(self, key: str) -> BreakerRecord:
        """``key``'s breaker record (a closed one with nothing recorded when unknown)."""

    async def swap_breaker(self, key: str, expected: BreakerRecord, new: BreakerRecord) -> bool:
        """Replace ``key``'s record by ``new`` if it is still ``expected`` (same version):
        True; False when another caller replaced it first (read it again and retry)."""

    async def breaker_keys(self) -> list[str]:
        """The keys of every breaker recorded, sorted."""

    async def add_sample(self, key: str, value: float, *, keep: int) -> None:
        """Remember ``value`` among ``key``'s last ``keep`` samples."""

    async def samples(self, key: str) -> list[float]:
        """``key``'s samples, oldest first."""


class MemoryState:
    """The in-process :class:`RouterState`: what one process's router shares, in memory.

    Args:
        clock: Seconds, monotonic (injected in tests: leases expire and windows move on it).
    """

    def __init__(self, *, clock: Clock = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._tokens = itertools.count(1)
        self._slots: dict[str, dict[str, float]] = {}
        # Per key, the soonest a lease of it may expire: no scan before then (a job's slot
        # held without expiry is never scanned for).
        self._soonest: dict[str, float] = {}
        self._events: dict[str, deque[float]] = {}
        self._pauses = MemoryPauses(clock=clock)
        self._holds: dict[str, Hold] = {}
        self._spend: dict[str, SpendFigures] = {}
        self._breakers: dict[str, BreakerRecord] = {}
        self._samples: dict[str, deque[float]] = {}

    def __repr__(self) -> str:
        with self._lock:
            held = sum(len(leases) for leases in self._slots.values())
            return f"MemoryState(slots_held={held}, holds={len(self._holds)})"

    def clock(self) -> float:
        """Now, on the injected clock."""
        return self._clock()

    def _token(self) -> str:
        return str(next(self._tokens))

    def _live_slots(self, key: str, now: float) -> dict[str, float]:
        leases = self._slots.setdefault(key, {})
        if now < self._soonest.get(key, math.inf):
            return leases
        for token in [token for token, until in leases.items() if until <= now]:
            del leases[token]  # a dead holder's slot comes back
        self._soonest[key] = min(leases.values(), default=math.inf)
        return leases

    def _hold(self, lease: Lease) -> None:
        self._slots[lease.key][lease.token] = lease.expires_at
        self._soonest[lease.key] = min(self._soonest.get(lease.key, math.inf), lease.expires_at)

    # -- slots ----------------------------------------------------------------------------
    async def acquire_slot(self, key: str, *, limit: int, lease_seconds: float) -> Lease | None:
        """See :meth:`RouterState.acquire_slot`."""
        with self._lock:
            now = self._clock()
            leases = self._live_slots(key, now)
            if len(leases) >= limit:
                return None
            lease = Lease(key, self._token(), now + lease_seconds)
            self._hold(lease)
            return lease

    async def renew_slot(self, lease: Lease, *, lease_seconds: float) -> Lease | None:
        """See :meth:`RouterState.renew_slot`."""
        with self._lock:
            now = self._clock()
            leases = self._live_slots(lease.key, now)
            if lease.token not in leases:
                return None
            renewed = Lease(lease.key, lease.token, now + lease_seconds)
            self._hold(renewed)
            return renewed

    async def release_slot(self, lease: Lease) -> None:
        """See :meth:`RouterState.release_slot`."""
        with self._lock:
            self._slots.get(lease.key, {}).pop(lease.token, None)

    async def slots_held(self, key: str) -> int:
        """See :meth:`RouterState.slots_held`."""
        with self._lock:
            return len(self._live_slots(key, self._clock()))

    # -- windows --------------------------------------------------------------------------
    def _window(self, key: str, now: float, window_seconds: float) -> deque[float]:
        events = self._events.setdefault(key, deque())
        while events and events[0] <= now - window_seconds:
            events.popleft()
        return events

    async def take_in_window(self, key: str, *, limit: int, window_seconds: float) -> float:
        """See :meth:`RouterState.take_in_window`."""
        with self._lock:
            now = self._clock()
            events = self._window(key, now, window_seconds)
            if len(events) < limit:
                events.append(now)
                return 0.0
            # The oldest event that must leave before one more fits.
            return max(0.0, events[len(events) - limit] + window_seconds - now)

    async def count_in_window(self, key: str, *, window_seconds: float) -> int:
        """See :meth:`RouterState.count_in_window`."""
        with self._lock:
            return len(self._window(key, self._clock(), window_seconds))

    # -- pauses (the engine's in-memory table, which read pauses use outside a router) --
    async def pause(self, key: str, seconds: float) -> float:
        """See :meth:`RouterState.pause`."""
        return await self._pauses.pause(key, seconds)

    async def paused_for(self, key: str) -> float:
        """See :meth:`RouterState.paused_for`."""
        return await self._pauses.paused_for(key)

    async def clear_pauses(self, prefix: str = "") -> None:
        """See :meth:`RouterState.clear_pauses`."""
        await self._pauses.clear_pauses(prefix)

    # -- spend ----------------------------------------------------------------------------
    async def reserve(self, key: str, amount: float, *, cap: float | None) -> Hold | None:
        """See :meth:`RouterState.reserve`."""
        amount = max(0.0, amount)
        with self._lock:
            figures = self._spend.get(key, SpendFigures())
            # A cent's billionth of slack: 0.1 + 0.2 dollars fit a 0.3 cap.
            if cap is not None and figures.spent + figures.reserved + amount > cap + 1e-9:
                return None
            hold = Hold(key, self._token(), amount)
            self._holds[hold.token] = hold
            self._spend[key] = SpendFigures(figures.spent, figures.reserved + amount)
            return hold

    def _finish(self, hold: Hold, cost: float) -> None:
        with self._lock:
            if self._holds.pop(hold.token, None) is None:
                return
            figures = self._spend[hold.key]
            self._spend[hold.key] = SpendFigures(
                figures.spent + max(0.0, cost), max(0.0, figures.reserved - hold.amount)
            )

    async def settle(self, hold: Hold, cost: float) -> None:
        """See :meth:`RouterState.settle`."""
        self._finish(hold, cost)

    async def release(self, hold: Hold) -> None:
        """See :meth:`RouterState.release`."""
        self._finish(hold, 0.0)

    async def spend(self, key: str) -> SpendFigures:
        """See :meth:`RouterState.spend`."""
        with self._lock:
            return self._spend.get(key, SpendFigures())

    # -- breakers -------------------------------------------------------------------------
    async def breaker(self, key: str) -> BreakerRecord:
        """See :meth:`RouterState.breaker`."""
        with self._lock:
            return self._breakers.get(key, BreakerRecord())

    async def swap_breaker(self, key: str, expected: BreakerRecord, new: BreakerRecord) -> bool:
        """See :meth:`RouterState.swap_breaker`."""
        with self._lock:
            if self._breakers.get(key, BreakerRecord()).version != expected.version:
                return False
            self._breakers[key] = replace(new, version=expected.version + 1)
            return True

    async def breaker_keys(self) -> list[str]:
        """See :meth:`RouterState.breaker_keys`."""
        with self._lock:
            return sorted(self._breakers)

    # -- samples --------------------------------------------------------------------------
    async def add_sample(self, key: str, value: float, *, keep: int) -> None:
        """See :meth:`RouterState.add_sample`."""
        with self._lock:
            samples = self._samples.get(key)
            if samples is None or samples.maxlen != keep:
                samples = self._samples[key] = deque(samples or (), maxlen=keep)
            samples.append(value)

    async def samples(self, key: str) -> list[float]:
        """See :meth:`RouterState.samples`."""
        with self._lock:
            return list(self._samples.get(key, ()))
