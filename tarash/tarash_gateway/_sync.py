"""The private event loop behind the sync shims.

One asyncio loop runs in one daemon thread, started on the first sync call and closed at
interpreter exit. Every sync call from any thread runs its coroutine there, so the HTTP
connection pool is shared across calls, nothing calls ``asyncio.run`` per call, and a sync
call made from inside a running loop (a Jupyter cell) does not deadlock: it blocks only
its own thread while the private loop does the work.
"""

from __future__ import annotations

import atexit
import concurrent.futures
import contextlib
import threading
from collections.abc import Awaitable, Callable, Generator
from typing import ParamSpec, TypeVar

from anyio.from_thread import BlockingPortal, start_blocking_portal

__all__ = ["run_sync", "shutdown"]

P = ParamSpec("P")
T = TypeVar("T")

# Long enough for a shielded remote cancel (bounded at 10 s in _jobs) to finish after a
# KeyboardInterrupt, so Ctrl-C does not orphan a paid job.
_CLEANUP_WAIT_SECONDS = 15.0

_WAKE_INTERVAL_SECONDS = 0.2

_lock = threading.Lock()
_portal: BlockingPortal | None = None
_portal_cm: contextlib.AbstractContextManager[BlockingPortal] | None = None
_portal_thread_id: int | None = None


def _get_portal() -> BlockingPortal:
    global _portal, _portal_cm
    with _lock:
        if _portal is None:
            cm = start_blocking_portal(backend="asyncio", name="tarash-sync-loop")
            portal = cm.__enter__()
            _portal, _portal_cm = portal, cm
            _remember_thread(portal)
            atexit.register(shutdown)
        return _portal


def _remember_thread(portal: BlockingPortal) -> None:
    global _portal_thread_id
    _portal_thread_id = portal.call(threading.get_ident)


def shutdown() -> None:
    """Close the private loop and its HTTP client; later sync calls start a new one."""
    global _portal, _portal_cm, _portal_thread_id
    with _lock:
        portal, cm = _portal, _portal_cm
        _portal = _portal_cm = _portal_thread_id = None
    if portal is None or cm is None:
        return
    from tarash.tarash_gateway._http import close_client

    with contextlib.suppress(Exception):
        portal.call(close_client)
    cm.__exit__(None, None, None)


@contextlib.contextmanager
def _signal_when_done(event: threading.Event) -> Generator[None, None, None]:
    try:
        yield
    finally:
        event.set()


def run_sync(func: Callable[P, Awaitable[T]], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run an async function on the private loop and return its result.

    On KeyboardInterrupt (or any exception raised into the waiting thread) the task is
    cancelled, which cancels its remote job, and the wait continues briefly so that the
    cleanup finishes before the interrupt propagates.

    Raises:
        RuntimeError: Called from the private loop itself (from a progress callback of a
            sync call, say), which would deadlock; await the async twin there instead.
    """
    portal = _get_portal()
    if threading.get_ident() == _portal_thread_id:
        raise RuntimeError(
            "a tarash sync function was called from tarash's own event loop thread; "
            "use the *_async function there"
        )
    finished = threading.Event()

    async def call() -> T:
        with _signal_when_done(finished):
            return await func(*args, **kwargs)

    future = portal.start_task_soon(call)
    try:
        while True:
            # Short waits keep the calling thread responsive to KeyboardInterrupt and to
            # exceptions raised into it from other threads.
            try:
                return future.result(timeout=_WAKE_INTERVAL_SECONDS)
            except concurrent.futures.TimeoutError:
                continue
    except BaseException:
        if not future.done():
            future.cancel()
            finished.wait(_CLEANUP_WAIT_SECONDS)
        raise


def portal_thread_running() -> bool:
    """Whether the private loop is running (for tests and diagnostics)."""
    return _portal is not None
