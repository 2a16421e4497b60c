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

Times are :func:`time.monotonic` seconds, so one pause is shared by every event loop
of the process (the sync shims' private loop and users' own loops alike).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Awaitable, Callable

import anyio

__all__ = ["READ_PAUSES", "ReadPauses"]


class ReadPauses:
    """When each provider's throttled reads may go on, shared by every caller.

    Args:
        clock: Seconds, monotonic (injected in tests).
        sleep: How a read waits (injected in tests). By default ``anyio.sleep``.

    Attributes:
        skip_waits: Reads do not wait out a pause, nor count it as waited: for tests, whose
            retries do not wait either (``tarash.tarash_gateway.testing.set_testing``
            sets both), so that one test's 429 costs no real seconds.
    """

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] | None = None,
    ) -> None:
        self._clock = clock
        self._sleep = sleep
        self._until: dict[tuple[str, str, str | None], float] = {}
        self._lock = threading.Lock()
        self.skip_waits = False

    def pause(
        self, provider: str, origin: str, seconds: float, *, account: str | None = None
    ) -> None:
        """A read of ``provider`` at ``origin`` with ``account``'s key was answered 429:
        hold every read of it back ``seconds`` from now (a longer pause already set is
        kept)."""
        if seconds <= 0:
            return
        until = self._clock() + seconds
        with self._lock:
            key = (provider, origin, account)
            self._until[key] = max(until, self._until.get(key, until))

    def remaining(self, provider: str, origin: str, *, account: str | None = None) -> float:
        """Seconds until reads of ``provider`` at ``origin`` with ``account``'s key may go
        on (0: now)."""
        key = (provider, origin, account)
        with self._lock:
            until = self._until.get(key)
            if until is None:
                return 0.0
            left = until - self._clock()
            if left <= 0:
                del self._until[key]  # ended: the table holds only pauses in force
                return 0.0
            return left

    def clear(self) -> None:
        """Forget every pause (``tarash.tarash_gateway.testing.reset``)."""
        with self._lock:
            self._until.clear()

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
        left = self.remaining(provider, origin, account=account)
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
"""The process's shared pauses, used by every provider client's reads."""
