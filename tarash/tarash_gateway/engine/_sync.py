"""The private event loop behind the sync shims.

One asyncio loop runs in one daemon thread, started on the first sync call and closed at
interpreter exit. Every sync call from any thread runs its coroutine there, so the HTTP
connection pool is shared across calls, nothing calls ``asyncio.run`` per call, and a sync
call made from inside a running loop (a Jupyter cell) does not deadlock: it blocks only
its own thread while the private loop does the work.

SIGTERM (``docker stop``, systemd, ``timeout``) while a sync call waits in the main thread
cancels the call's remote jobs, as Ctrl-C does, before the process ends by that signal as
it would have: the shim installs a handler for the wait only, and only where SIGTERM still
has its default action (a handler of the program's own, or an ignored SIGTERM, is left
alone), restoring the default afterwards.
"""

from __future__ import annotations

import atexit
import concurrent.futures
import contextlib
import signal
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any, NoReturn, ParamSpec, TypeVar

import anyio
from anyio.from_thread import BlockingPortal, start_blocking_portal

from tarash.tarash_gateway.engine._http import close_client

__all__ = ["iterate_sync", "run_sync", "shutdown"]

P = ParamSpec("P")
T = TypeVar("T")

# Long enough for a shielded remote cancel (bounded at 10 s in _jobs) to finish after a
# KeyboardInterrupt, so Ctrl-C does not orphan a paid job.
_CLEANUP_WAIT_SECONDS = 15.0

_WAKE_INTERVAL_SECONDS = 0.2

_lock = threading.Lock()
_active_lock = threading.Lock()
_active: set[_TaskControl] = set()
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
    # Calls still running (from other threads, at interpreter exit) will never be
    # collected: cancel them, which cancels their remote jobs, and let that cleanup finish
    # on open connections before the clients are closed.
    with _active_lock:
        running = list(_active)
    for control in running:
        with contextlib.suppress(Exception):
            portal.call(control.cancel)
    for control in running:
        control.finished.wait(_CLEANUP_WAIT_SECONDS)
    with contextlib.suppress(Exception):
        portal.call(close_client)
    cm.__exit__(None, None, None)


class _Terminated(BaseException):
    """Raised into the waiting main thread by the SIGTERM handler of :func:`_sigterm_raises`.

    A ``BaseException`` so that it runs the same cleanup as KeyboardInterrupt and is not
    caught by an ``except Exception``; it never leaves this module (:func:`_end_by_sigterm`
    delivers the signal again instead).
    """


@contextlib.contextmanager
def _sigterm_raises() -> Iterator[None]:
    """While the body waits, SIGTERM raises :class:`_Terminated` in it (see :func:`_end`).

    Without it, SIGTERM's default action kills the process at once and the jobs it paid
    for keep running (and billing) at the provider, their ids lost. A handler is installed
    only from the main thread (Python allows no other) and only over the default action:
    a program's own handler decides for itself, and an ignored SIGTERM stays ignored. The
    previous action is restored when the body ends, so between calls SIGTERM is the
    program's again.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGTERM)
    if previous is not signal.SIG_DFL:
        yield
        return

    def terminate(signum: int, frame: object) -> None:
        del signum, frame
        raise _Terminated

    signal.signal(signal.SIGTERM, terminate)
    try:
        yield
    finally:
        if signal.getsignal(signal.SIGTERM) is terminate:
            signal.signal(signal.SIGTERM, previous)


def _end_by_sigterm() -> NoReturn:
    """End the process by SIGTERM, as the sender asked, once the jobs were cancelled.

    The default action is restored and the signal delivered again, so the process ends
    as it would have without tarash (status 143, ``-15`` to a parent).
    """
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.raise_signal(signal.SIGTERM)
    # Only reached if the default action did not end the process (it does on POSIX): end
    # it with the status a shell reports for SIGTERM.
    raise SystemExit(128 + signal.SIGTERM)


class _EscapedBaseException(Exception):
    """Carries a non-Exception raised by user code from the loop to the calling thread."""

    def __init__(self, original: BaseException) -> None:
        super().__init__(type(original).__name__)
        self.original = original


def _start(
    portal: BlockingPortal, call: Callable[[], Awaitable[T]]
) -> tuple[BlockingPortal, concurrent.futures.Future[T]]:
    """Spawn ``call`` on the private loop, starting a new loop if the old one died."""
    try:
        return portal, portal.start_task_soon(call)
    except RuntimeError:
        # The loop stopped under us (whatever stopped it): discard it and start afresh,
        # so that one bad call does not break every later one in the process.
        _discard_portal(portal)
        portal = _get_portal()
        return portal, portal.start_task_soon(call)


def _discard_portal(dead: BlockingPortal) -> None:
    global _portal, _portal_cm, _portal_thread_id
    with _lock:
        if _portal is not dead:
            return
        cm = _portal_cm
        _portal = _portal_cm = _portal_thread_id = None
    if cm is not None:
        with contextlib.suppress(BaseException):
            cm.__exit__(None, None, None)


class _TaskControl:
    """Lets the calling thread cancel its task on the private loop, whenever it is hit.

    A KeyboardInterrupt can land while the task is still being spawned, before any future
    exists to cancel, so cancellation goes through this object instead: the task checks
    ``cancel_requested`` when it starts and registers its cancel scope for later.
    """

    def __init__(self) -> None:
        self.cancel_requested = False
        self.started = False
        self.finished = threading.Event()
        self.scope: anyio.CancelScope | None = None

    def cancel(self) -> None:
        """Cancel the task; runs on the private loop's thread."""
        self.cancel_requested = True
        if self.scope is not None:
            self.scope.cancel()


def run_sync(func: Callable[P, Awaitable[T]], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run an async function on the private loop and return its result.

    On KeyboardInterrupt (or any exception raised into the waiting thread) the task is
    cancelled, which cancels its remote job, and the wait continues briefly so that the
    cleanup finishes before the interrupt propagates. SIGTERM does the same in the main
    thread when no handler of the program's own is installed, then ends the process.

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
    control = _TaskControl()

    async def call() -> T:
        with _active_lock:
            _active.add(control)
        try:
            with anyio.CancelScope() as scope:
                control.scope = scope
                control.started = True
                if not control.cancel_requested:
                    return await func(*args, **kwargs)
            raise anyio.get_cancelled_exc_class()()
        except anyio.get_cancelled_exc_class():
            raise
        except Exception:
            raise
        except BaseException as exc:
            # SystemExit, KeyboardInterrupt or GeneratorExit from user code (a progress
            # callback): raised on the loop's thread it would stop the loop for every
            # later call. It is carried to the calling thread and raised there instead.
            raise _EscapedBaseException(exc) from exc
        finally:
            with _active_lock:
                _active.discard(control)
            control.finished.set()

    try:
        with _sigterm_raises():
            return _wait_sync(portal, call, control)
    except _Terminated:
        _end_by_sigterm()


def _wait_sync(
    portal: BlockingPortal, call: Callable[[], Awaitable[T]], control: _TaskControl
) -> T:
    """Start ``call`` and wait for it; cancel it and wait for its cleanup if interrupted."""
    try:
        portal, future = _start(portal, call)
        _wait_done(future)
        try:
            return future.result()
        except _EscapedBaseException as escaped:
            raise escaped.original from None
    except BaseException:
        control.cancel_requested = True
        with contextlib.suppress(Exception):
            # Runs after the spawn (if it happened) on the loop's FIFO queue, so by then
            # the task either exists and gets cancelled, or will see cancel_requested.
            portal.call(control.cancel)
        if control.started:
            control.finished.wait(_CLEANUP_WAIT_SECONDS)
        raise


def _wait_done(future: concurrent.futures.Future[Any]) -> None:
    """Block until ``future`` is done, in waits a KeyboardInterrupt can cut at any point.

    Short waits keep the calling thread responsive to KeyboardInterrupt and to exceptions
    raised into it from other threads. A signal handler's exception lands between any two
    bytecodes of this thread, so no lock the loop's thread needs may be held across Python
    code here: ``concurrent.futures.wait`` takes the future's own lock in Python code, and a
    Ctrl-C landing just after it did left that lock taken for good; the loop's thread then
    hung completing the future, and every later sync call in the process with it. The only
    lock here is this wait's own, which the loop's thread only ever releases (that never
    blocks). The wait is told the future is done by its callback, never by an exception: a
    result that is itself a TimeoutError (tarash's subclasses the builtin, which is also
    ``concurrent.futures.TimeoutError``) must not read as "not done yet".
    """
    done = threading.Lock()
    done.acquire()
    future.add_done_callback(lambda _: done.release())
    while not done.acquire(timeout=_WAKE_INTERVAL_SECONDS):
        pass


def _wait_for(future: concurrent.futures.Future[T]) -> T:
    _wait_done(future)
    return future.result()


def iterate_sync(
    func: Callable[P, AsyncIterator[T]], *args: P.args, **kwargs: P.kwargs
) -> Iterator[T]:
    """Iterate an async iterator on the private loop, one item at a time, from this thread.

    ``func(*args, **kwargs)`` is iterated by one task on the loop, which hands each item
    over through an unbuffered stream: it waits for each ``next()`` before going on.
    Closing the returned generator early (``close()``, a ``with contextlib.closing(...)``,
    garbage collection), a KeyboardInterrupt (or SIGTERM, as in :func:`run_sync`) while it
    waits, and interpreter exit all cancel that task, which cancels its remote jobs, and
    wait briefly for that cleanup, as :func:`run_sync` does.

    Raises:
        RuntimeError: Called from the private loop itself (it would deadlock).
    """
    portal = _get_portal()
    if threading.get_ident() == _portal_thread_id:
        raise RuntimeError(
            "a tarash sync function was called from tarash's own event loop thread; "
            "use the *_async function there"
        )
    control = _TaskControl()
    send, receive = anyio.create_memory_object_stream[T](0)

    async def feed() -> None:
        with _active_lock:
            _active.add(control)
        try:
            async with send:
                with anyio.CancelScope() as scope:
                    control.scope = scope
                    control.started = True
                    if control.cancel_requested:
                        return
                    iterator = func(*args, **kwargs)
                    try:
                        async for item in iterator:
                            await send.send(item)
                    finally:
                        aclose = getattr(iterator, "aclose", None)
                        if aclose is not None:
                            await aclose()
        except anyio.get_cancelled_exc_class():
            raise
        except Exception:
            raise
        except BaseException as exc:
            raise _EscapedBaseException(exc) from exc
        finally:
            with _active_lock:
                _active.discard(control)
            control.finished.set()

    taking: concurrent.futures.Future[T] | None = None
    try:
        portal, task = _start(portal, feed)
        while True:
            taking = portal.start_task_soon(receive.receive)
            try:
                with _sigterm_raises():
                    item = _wait_for(taking)
            except (anyio.EndOfStream, anyio.ClosedResourceError):
                break
            taking = None
            yield item
        try:
            with _sigterm_raises():
                _wait_for(task)
        except _EscapedBaseException as escaped:
            raise escaped.original from None
    except BaseException as exc:
        # Early close (GeneratorExit), KeyboardInterrupt, SIGTERM, or the task's own error.
        control.cancel_requested = True
        if taking is not None:
            taking.cancel()
        with contextlib.suppress(Exception):
            portal.call(control.cancel)
        if control.started:
            control.finished.wait(_CLEANUP_WAIT_SECONDS)
        if isinstance(exc, _Terminated):
            _end_by_sigterm()
        raise
    finally:
        with contextlib.suppress(Exception):
            portal.call(receive.close)


def portal_thread_running() -> bool:
    """Whether the private loop is running (for tests and diagnostics)."""
    return _portal is not None
