"""A provider's 429 to one read holds back every read of it, not just the one call.

A batch of a thousand jobs polls a provider a thousand ways at once. When the provider
answers one poll 429 (Replicate caps its reads per minute, fal and Runway throttle status
calls), the call that got it waits its ``Retry-After`` and tries again (``_http``); the
others, left alone, would each spend a call to learn the same thing and each get a 429
of their own. So the pause is shared: :class:`ReadPauses` keeps, per provider, API origin
and account (the :func:`~tarash.tarash_gateway.routing._limits.account_fingerprint` of the key the
reads send: providers throttle reads per key, so one customer's 429 holds only that key's
reads), when the latest throttled read may be tried again, and every read of that
provider with that key waits for it first. Creates have their own learning (the router's
``CapacityBoard.slow_down``); cancels never wait here (they run on a grace period when
everything else has given up).

The pauses belong to a router: each :class:`~tarash.tarash_gateway.router.Router` keeps its
own :class:`ReadPauses` over its state (``routing/_state``: the pause lives in the
router's store, a :class:`PauseStore`), and the clients its calls build carry it
(``RequestContext.read_pauses``); two routers do not hold each other's reads back. A
client used outside any router (built by hand) shares the process's :data:`READ_PAUSES`.
The in-memory store (:class:`MemoryPauses`) counts :func:`time.monotonic` seconds, so one
pause is shared by every event loop of the process (the sync shims' private loop and
users' own loops alike).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Protocol, TypeVar

import anyio

__all__ = [
    "READ_PAUSES",
    "MemoryPauses",
    "PauseStore",
    "ReadPauses",
    "answer_at_once",
    "skip_read_pause_waits",
]

T = TypeVar("T")


class PauseStore(Protocol):
    """Where pauses are kept: the pause part of the router's state
    (``routing._state.RouterState``), keyed by strings."""

    async def pause(self, key: str, seconds: float) -> float:
        """Hold ``key`` back ``seconds`` from now (a longer pause already set is kept);
        returns the seconds the pause now holds."""

    async def paused_for(self, key: str) -> float:
        """Seconds until ``key``'s pause ends (0: not paused)."""

    async def clear_pauses(self, prefix: str = "") -> None:
        """Forget every pause whose key starts with ``prefix`` (all by default)."""


class MemoryPauses:
    """An in-process :class:`PauseStore`: until when each key is paused, behind a lock.

    Its methods never wait (nothing in them suspends), so a cancellation cannot cut one in
    half, and :class:`ReadPauses`' sync methods can read it at once.

    Args:
        clock: Seconds, monotonic (injected in tests).
    """

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._until: dict[str, float] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"MemoryPauses(keys={len(self._until)})"

    async def pause(self, key: str, seconds: float) -> float:
        """See :meth:`PauseStore.pause`."""
        with self._lock:
            now = self._clock()
            if seconds > 0 and math.isfinite(seconds):
                self._until[key] = max(now + seconds, self._until.get(key, -math.inf))
            return self._left(key, now)

    def _left(self, key: str, now: float) -> float:
        until = self._until.get(key)
        if until is None:
            return 0.0
        if until <= now:
            del self._until[key]  # ended: the table holds only pauses in force
            return 0.0
        return until - now

    async def paused_for(self, key: str) -> float:
        """See :meth:`PauseStore.paused_for`."""
        with self._lock:
            return self._left(key, self._clock())

    async def clear_pauses(self, prefix: str = "") -> None:
        """See :meth:`PauseStore.clear_pauses`."""
        with self._lock:
            for key in [key for key in self._until if key.startswith(prefix)]:
                del self._until[key]


def answer_at_once(call: Coroutine[Any, Any, T]) -> T:
    """The result of a store call that completes without waiting (the in-memory stores'
    never wait): for sync methods over a store (a sync retry hook pauses reads, a sync
    snapshot reads the spend). A store that does I/O needs the async methods instead."""
    try:
        call.send(None)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
    call.close()
    raise RuntimeError(  # pragma: no cover - only a store that does I/O gets here
        "this store waits (does I/O): use the async methods, not the sync ones"
    )


class _Testing:
    """The process's testing switch (``tarash.tarash_gateway.testing.set_testing``)."""

    skip_waits = False


_TESTING = _Testing()


def skip_read_pause_waits(skip: bool) -> None:
    """Make every router's read pauses (and :data:`READ_PAUSES`) skip their waits, or not."""
    _TESTING.skip_waits = skip


_READ = "read "


def _key(provider: str, origin: str, account: str | None) -> str:
    # Keyed as the limits are (``provider@<fingerprint>``, never the key), then the origin;
    # ``read `` first, so that clear() forgets these and not a router's create pauses.
    who = provider if account is None else f"{provider}@{account}"
    return f"{_READ}{who} {origin}"


class ReadPauses:
    """When each provider's throttled reads may go on, shared by every caller of a router.

    Args:
        clock: Seconds, monotonic (injected in tests), for the store made when none is
            given.
        sleep: How a read waits (injected in tests). By default ``anyio.sleep``.
        store: Where the pauses live (a router passes its state); by default a
            :class:`MemoryPauses` of its own on ``clock``.

    Attributes:
        skip_waits: Reads do not wait out a pause, nor count it as waited: for tests, whose
            retries do not wait either (``tarash.tarash_gateway.testing.set_testing``
            sets both, for every router's pauses at once), so that one test's 429 costs no
            real seconds.
    """

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] | None = None,
        store: PauseStore | None = None,
    ) -> None:
        self._sleep = sleep
        self._store: PauseStore = store if store is not None else MemoryPauses(clock=clock)

    def __repr__(self) -> str:
        return f"ReadPauses(store={self._store!r})"

    @property
    def skip_waits(self) -> bool:
        """See the class's attributes (one switch for the process)."""
        return _TESTING.skip_waits

    @skip_waits.setter
    def skip_waits(self, skip: bool) -> None:
        _TESTING.skip_waits = skip

    def pause(
        self, provider: str, origin: str, seconds: float, *, account: str | None = None
    ) -> None:
        """A read of ``provider`` at ``origin`` with ``account``'s key was answered 429:
        hold every read of it back ``seconds`` from now (a longer pause already set is
        kept)."""
        if seconds <= 0:
            return
        answer_at_once(self._store.pause(_key(provider, origin, account), seconds))

    def remaining(self, provider: str, origin: str, *, account: str | None = None) -> float:
        """Seconds until reads of ``provider`` at ``origin`` with ``account``'s key may go
        on (0: now)."""
        return answer_at_once(self._store.paused_for(_key(provider, origin, account)))

    def clear(self) -> None:
        """Forget every read pause of the store (``tarash.tarash_gateway.testing.reset``);
        a router's create pauses, in the same store, stay."""
        answer_at_once(self._store.clear_pauses(_READ))

    async def wait(
        self,
        provider: str,
        origin: str,
        *,
        deadline_in: float | None,
        account: str | None = None,
    ) -> float:
        """Wait out the pause on ``provider``'s reads at ``origin``, if one holds.

        Args:
            provider: The provider's name.
            origin: The API's origin (scheme, host and port) the read goes to.
            account: The fingerprint of the key the read sends (``None``: not known).
            deadline_in: Seconds left before the caller's deadline, if it has one: the wait
                ends there (the caller then sees its deadline), never after.

        Returns:
            The seconds waited (0 when no pause held).
        """
        left = await self._store.paused_for(_key(provider, origin, account))
        if deadline_in is not None:
            left = min(left, max(0.0, deadline_in))
        if left <= 0:
            return 0.0
        if self._sleep is not None:
            await self._sleep(left)
        elif self.skip_waits:
            return 0.0  # a test's 429 would otherwise cost real seconds
        else:
            await anyio.sleep(left)
        return left


READ_PAUSES = ReadPauses()
"""The pauses of reads made outside any router (a client built by hand); a router's calls
use the router's own (``Router.read_pauses``)."""
