"""The shared HTTP layer: one pooled client per event loop, a limiter in front of its pool,
one retry policy, Retry-After handling, and translation of transport errors.

Provider modules call :func:`send` and never touch ``httpx`` exceptions themselves.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import os
import random
import ssl
import threading
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal, TypeVar
from urllib.parse import urlsplit

import anyio
import httpx
import stamina

from tarash.tarash_gateway._retry_after import parse_rate_limit_reset
from tarash.tarash_gateway.engine._read_pauses import READ_PAUSES, ReadPauses
from tarash.tarash_gateway.engine._redact import scrub_exception
from tarash.tarash_gateway.errors import (
    HTTPConnectionError,
    HTTPError,
    ProviderServerError,
    RateLimitError,
    TarashException,
    ValidationError,
)

__all__ = [
    "DEFAULT_MAX_ATTEMPTS",
    "MAX_CONNECTIONS_PER_LOOP",
    "MAX_LONG_CONNECTIONS_PER_LOOP",
    "MAX_RETRY_AFTER_DELAY",
    "UNKNOWN_CALL",
    "CallContext",
    "CallCounters",
    "ErrorParser",
    "Operation",
    "RequestContext",
    "backoff_delay",
    "mount_transports",
    "open_stream",
    "pick_connection",
    "refusal",
    "reply_object",
    "response_json",
    "same_origin",
    "send",
    "stream",
    "submit_may_have_created_job",
    "translate_transport_errors",
    "unpaused_reads",
    "url_origin",
]

logger = logging.getLogger("tarash.http")

_T = TypeVar("_T")

DEFAULT_MAX_ATTEMPTS = 4
"""Total tries of one idempotent call (1 + 3 retries) unless the config says otherwise."""
MAX_RETRY_AFTER_DELAY = 60.0
MAX_REDIRECTS = 20
"""Redirects a streamed read follows (httpx's own default)."""
"""The longest Retry-After we honour; a provider asking for more is treated as a failure."""
RETRY_WAIT_INITIAL = 0.2
RETRY_WAIT_MAX = 10.0
RETRY_WAIT_JITTER = 0.5
MAX_CONNECTIONS_PER_LOOP = int(os.environ.get("TARASH_MAX_CONNECTIONS", "64"))
"""Pooled connections for short calls (submit, status, result, cancel) per event loop.
Overridable with ``TARASH_MAX_CONNECTIONS``."""
CONNECTIONS_PER_SHARD = 8
"""httpcore re-scans every connection of a pool, quadratically, each time a request enters
or leaves it (httpcore issue 1035): a 64-connection pool costs ~2 ms of CPU per request.
So the connections are split over several small clients ("shards") of this size, each with
a limiter in front so its pool never queues; a request goes to the least busy shard."""
MAX_LONG_CONNECTIONS_PER_LOOP = int(os.environ.get("TARASH_MAX_LONG_CONNECTIONS", "576"))
"""Connections of the second pool, for long-lived requests (status streams, downloads), so
they never starve the short calls. Overridable with ``TARASH_MAX_LONG_CONNECTIONS``."""
KEEPALIVE_EXPIRY = 30.0
"""Seconds an idle pooled connection is kept. It must stay below the idle timeout of the
server end: a request sent on a connection the server is closing at that moment fails
without a reply, and for a submit that means "a job may exist" (never resent). The fronts
providers sit behind keep idle client connections longer: Cloudflare 400 s
(developers.cloudflare.com/fundamentals/reference/connection-limits), AWS load balancers
60 s by default. The emulator keeps them 75 s for the same reason (uvicorn's own 5 s
default raced this pool)."""
CONNECT_TIMEOUT = 10.0
READ_TIMEOUT = 60.0

Operation = Literal["submit", "status", "watch", "result", "cancel", "download", "upload"]
"""What a call is for. ``watch`` opens a status stream (SSE), which is never retried: the
job is polled instead when one breaks."""
# Idempotent operations may be retried on any transient fault. A submit may have created a
# paid job as soon as the request reached the server, so it is retried only when the server
# cannot have accepted it.
_SUBMIT_SAFE_STATUSES = frozenset({429, 503})
"""Replies to a submit that mean the provider turned it away: no job was created."""
_IDEMPOTENT_RETRY_STATUSES = frozenset({408, 409, 425, 429, 500, 502, 503, 504})
_PAUSED_READS: frozenset[Operation] = frozenset({"status", "result"})
"""Reads that a 429 to one of them holds back for every caller of the provider (a cancel
never waits: it runs when everything else gave up; downloads go to a CDN's own limits)."""


@dataclass(slots=True)
class CallCounters:
    """Counts of HTTP work done for one attempt, copied into its metadata."""

    requests: int = 0
    submits: int = 0
    polls: int = 0
    retries: int = 0
    requests_exhausted_for: float | None = None
    """Seconds until the provider's request budget resets, when a submit's reply said none
    is left (``x-ratelimit-*``): the router pauses the provider's creates that long."""
    read_pause_seconds: float = 0.0
    """Seconds reads waited out a pause a 429 to a read of the provider set
    (:mod:`~tarash.tarash_gateway.engine._read_pauses`)."""


@dataclass(frozen=True, slots=True)
class CallContext:
    """What one call is for: handed to the error parser with the reply it got.

    Passed explicitly, never kept on the shared :class:`RequestContext`: one client serves
    overlapping calls (a poll and a cancel, two downloads), and a field written by each
    would be read back by whichever parsed its reply last.

    Attributes:
        operation: The operation the reply answers; ``None`` when not known.
        request_id: The job (or request) the call concerns, when one was issued.
    """

    operation: Operation | None = None
    request_id: str | None = None


UNKNOWN_CALL = CallContext()
"""The context of a reply parsed outside any known call."""

ErrorParser = Callable[[httpx.Response, CallContext], TarashException]
"""Maps a non-success reply (of the call described) to the one error it means, with the
provider's body read."""


@dataclass(slots=True)
class RequestContext:
    """What :func:`send` needs to know about the caller: who it is and how to retry.

    Shared by every call of one provider client, so it holds nothing about any one call
    (that is the :class:`CallContext` each call builds): there is no ``request_id`` or
    ``operation`` here to read; pass ``request_id=`` to :func:`send` (or a client's
    ``_send``) and read ``call`` in ``parse_error``.
    """

    provider: str
    model: str
    parse_error: ErrorParser
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    deadline: float | None = None
    """Absolute time on ``anyio.current_time()`` after which no retry is started."""
    counters: CallCounters = field(default_factory=CallCounters)
    account: str | None = None
    """The fingerprint of the key the client sends (``_limits.account_fingerprint``), set
    by the routing layer that builds the client: a read's 429 pauses that account's reads
    only. ``None``: not known (one pause for every such client of the provider)."""
    read_pauses: ReadPauses | None = None
    """The read pauses of the router whose call built the client (``Router.read_pauses``),
    set by the routing layer: a read's 429 holds back that router's reads of the account.
    ``None``: a client outside any router, on the process's ``READ_PAUSES``."""
    on_create_throttled: Callable[[RateLimitError], None] | None = None
    """Told of a submit's 429 the moment it is seen, when the submit is about to wait out
    its ``Retry-After`` and try again: the router's limiter pauses every other create to
    the provider from then on (it would otherwise learn of the pause only once the retry
    was accepted, and let the others hit the provider meanwhile). A 429 that is not
    retried reaches the caller as the :class:`RateLimitError` instead."""


# ---------------------------------------------------------------------------------------
# One client per event loop, one SSL context per process
# ---------------------------------------------------------------------------------------

_ssl_lock = threading.Lock()
_ssl_context: tuple[tuple[str | None, str | None], ssl.SSLContext] | None = None
"""The shared context and the ``(SSL_CERT_FILE, SSL_CERT_DIR)`` it was built for."""


def _shared_ssl_context() -> ssl.SSLContext:
    """The SSL context every pooled client verifies servers with.

    ``SSL_CERT_FILE`` / ``SSL_CERT_DIR``, when set, name the CAs to trust instead of the
    system's, as httpx and the official SDKs read them (OpenSSL's own reading of them is
    skipped where Python loads the platform store, as on Windows). Built once per process,
    since loading a CA bundle costs ~20 ms of CPU (the published package paid it on every
    call), and again only when those variables change, so a test that points them at a
    local CA (the emulator's ``tls=True``) does not leak its trust into the next.

    Raises:
        ValidationError: If the variables name no readable CA certificates.
    """
    global _ssl_context
    trust = (os.environ.get("SSL_CERT_FILE") or None, os.environ.get("SSL_CERT_DIR") or None)
    with _ssl_lock:
        if _ssl_context is None or _ssl_context[0] != trust:
            cafile, capath = trust
            try:
                context = ssl.create_default_context(cafile=cafile, capath=capath)
            except (OSError, ssl.SSLError) as exc:
                raise ValidationError(
                    f"SSL_CERT_FILE/SSL_CERT_DIR name no usable CA certificates: {exc}"
                ) from exc
            _ssl_context = (trust, context)
        return _ssl_context[1]


@dataclass(slots=True)
class _Shard:
    client: httpx.AsyncClient
    limiter: anyio.CapacityLimiter

    @classmethod
    def create(cls, connections: int, mounts: Mapping[str, httpx.AsyncBaseTransport]) -> _Shard:
        return cls(_new_client(connections, mounts), anyio.CapacityLimiter(connections))


@dataclass(slots=True)
class _Pool:
    shards: list[_Shard]

    @classmethod
    def create(cls, connections: int, mounts: Mapping[str, httpx.AsyncBaseTransport]) -> _Pool:
        count = max(1, -(-connections // CONNECTIONS_PER_SHARD))
        return cls([_Shard.create(CONNECTIONS_PER_SHARD, mounts) for _ in range(count)])

    def least_busy(self) -> _Shard:
        return max(self.shards, key=lambda shard: shard.limiter.available_tokens)


@dataclass(slots=True)
class _LoopResources:
    short: _Pool
    long: _Pool
    ssl_context: ssl.SSLContext | None = None
    """The context its clients were built with; pools built for another are replaced."""
    mounts: Mapping[str, httpx.AsyncBaseTransport] = field(default_factory=dict)
    """The mounted transports its clients were built with; likewise replaced on a change."""

    @property
    def closed(self) -> bool:
        return self.short.shards[0].client.is_closed


_resources: weakref.WeakKeyDictionary[object, _LoopResources] = weakref.WeakKeyDictionary()
_resources_lock = threading.Lock()


def _current_loop_key() -> object:
    """An object that lives exactly as long as the running event loop."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        # Not asyncio, so trio (anyio's other backend); its root task lives as long as the run.
        import trio

        return trio.lowlevel.current_root_task()


def _loop_resources() -> _LoopResources:
    key = _current_loop_key()
    with _resources_lock:
        found = _resources.get(key)
        context = _shared_ssl_context()
        # Pools replaced for a new context are closed by their own closer at the loop's end.
        mounts = _mounted_transports
        if (
            found is None
            or found.closed
            or found.ssl_context is not context
            or found.mounts is not mounts
        ):
            found = _LoopResources(
                short=_Pool.create(MAX_CONNECTIONS_PER_LOOP, mounts),
                long=_Pool.create(MAX_LONG_CONNECTIONS_PER_LOOP, mounts),
                ssl_context=context,
                mounts=mounts,
            )
            _resources[key] = found
            _close_when_the_loop_ends(key, found)
        return found


async def _close_pools(resources: _LoopResources) -> None:
    for shard in [*resources.short.shards, *resources.long.shards]:
        await shard.client.aclose()


def _close_when_the_loop_ends(key: object, resources: _LoopResources) -> None:
    """Close the pools' sockets properly when the event loop's run ends.

    Both ``asyncio.run`` (and anyio's runner) and trio cancel the tasks still pending when
    the main task returns: a task that waits forever and closes the pools on cancellation
    spares users "unclosed socket" ResourceWarnings and the peer a reset.
    """
    if isinstance(key, asyncio.AbstractEventLoop):

        async def close_on_cancel() -> None:
            try:
                await asyncio.Event().wait()
            finally:
                await _close_pools(resources)

        task = key.create_task(close_on_cancel(), name="tarash-close-http-pools")
        _closers.add(task)
        task.add_done_callback(_closers.discard)
        return
    import trio

    async def close_at_run_end() -> None:
        try:
            await trio.sleep_forever()
        finally:
            with trio.CancelScope(shield=True):
                await _close_pools(resources)

    trio.lowlevel.spawn_system_task(close_at_run_end)


# Strong references to the asyncio closer tasks (the loop keeps only weak ones).
_closers: set[asyncio.Task[None]] = set()


_mounted_transports: Mapping[str, httpx.AsyncBaseTransport] = MappingProxyType({})
"""Transports the pooled clients send through instead of the network, by URL pattern."""


@contextlib.contextmanager
def mount_transports(mounts: Mapping[str, httpx.AsyncBaseTransport]) -> Iterator[None]:
    """Send the requests for some origins through other transports while inside (for tests).

    A test suite talks to an ASGI app in-process, with no socket and no server thread:
    ``with mount_transports({emulator.url: httpx.ASGITransport(app)}): ...``. The keys are
    httpx ``mounts=`` patterns (``"http://127.0.0.1:8787"``, ``"all://"``). Every event
    loop's pooled clients are rebuilt on their next use with these mounts (added to those
    already mounted), and again without them on leaving.

    Args:
        mounts: Transports by URL pattern.

    Yields:
        Nothing; the mounts hold until the block ends.
    """
    global _mounted_transports
    previous = _mounted_transports
    _mounted_transports = MappingProxyType({**previous, **mounts})
    try:
        yield
    finally:
        _mounted_transports = previous


def _new_client(
    connections: int, mounts: Mapping[str, httpx.AsyncBaseTransport]
) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        mounts=dict(mounts),
        verify=_shared_ssl_context(),
        timeout=httpx.Timeout(READ_TIMEOUT, connect=CONNECT_TIMEOUT),
        limits=httpx.Limits(
            max_connections=connections,
            max_keepalive_connections=connections,
            keepalive_expiry=KEEPALIVE_EXPIRY,
        ),
        follow_redirects=True,
    )


def pick_connection(*, long_lived: bool = False) -> tuple[httpx.AsyncClient, anyio.CapacityLimiter]:
    """Return the least busy pooled client of the running loop and the limiter guarding it.

    Acquire the limiter before sending through the client, so the client's own pool never
    queues. ``long_lived`` picks the pool for streams and downloads.
    """
    resources = _loop_resources()
    shard = (resources.long if long_lived else resources.short).least_busy()
    return shard.client, shard.limiter


async def close_client() -> None:
    """Close the running loop's client (at shutdown of the private sync loop, say)."""
    key = _current_loop_key()
    with _resources_lock:
        found = _resources.pop(key, None)
    if found is not None:
        await _close_pools(found)


# ---------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------


_SECRET_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "api-key",
        "x-api-key",
        "x-goog-api-key",
        "x-auth-token",
        "cookie",
    }
)
"""Request headers whose values are credentials, scrubbed from any text about the request."""


def _request_secrets(exc: httpx.RequestError) -> list[str]:
    """The credentials the failed request carried: secret header values and query values."""
    try:
        request = exc.request
    except RuntimeError:  # raised before httpx attached the request
        return []
    found = [
        value.decode("latin-1")
        for name, value in request.headers.raw
        if name.decode("latin-1").lower() in _SECRET_HEADERS
    ]
    found.extend(value for _, value in request.url.params.multi_items())
    if request.url.userinfo:
        found.append(request.url.userinfo.decode("latin-1"))
    return found


@contextlib.contextmanager
def translate_transport_errors(
    provider: str, model: str, *, request_id: str | None = None
) -> Iterator[None]:
    """Turn httpx request failures into :class:`HTTPConnectionError`.

    The message names the failure class and the URL without its query string or user
    info. httpx's own text is kept, but every credential the request carried (auth header
    values, query values) is scrubbed from it and from the exceptions it chains to: h11
    quotes a whole rejected header, key included. An unusable URL is a
    :class:`ValidationError` (nothing was sent).
    """
    try:
        yield
    except httpx.InvalidURL as exc:
        raise ValidationError(
            f"the URL for {provider} is not usable: {exc}",
            provider=provider,
            model=model,
            request_id=request_id,
        ) from exc
    except httpx.RequestError as exc:
        url = ""
        with contextlib.suppress(RuntimeError):
            url = str(exc.request.url.copy_with(query=None, fragment=None, userinfo=b""))
        error = HTTPConnectionError(
            f"{type(exc).__name__} talking to {url or provider}: {exc}".rstrip(": "),
            provider=provider,
            model=model,
            request_id=request_id,
            # Nothing left this process for these: the request cannot have reached a server.
            reached_server=not isinstance(
                exc,
                httpx.ConnectError
                | httpx.ConnectTimeout
                | httpx.PoolTimeout
                | httpx.UnsupportedProtocol,
            ),
        )
        error.__cause__ = exc
        raise scrub_exception(error, _request_secrets(exc)) from exc


# ---------------------------------------------------------------------------------------
# Sending with retries
# ---------------------------------------------------------------------------------------


class _RetryableReply(Exception):
    """Internal: a reply whose status the retry policy may retry."""

    def __init__(self, error: TarashException) -> None:
        super().__init__(str(error))
        self.error = error


class _UnreadableReply(_RetryableReply):
    """Internal: a success status whose body is not the JSON object the caller expects.

    A proxy that cuts the body short, or a garbled read, says nothing about the job: an
    idempotent call is retried as for any transient fault. A submit never is (a 2xx means a
    job was created); the caller learns the job's id another way (headers) or flags it.
    """


def _unreadable_body_error(
    ctx: RequestContext, call: CallContext, response: httpx.Response
) -> ProviderServerError:
    # The body itself stays out of the error: it is not what the provider meant to say,
    # and it is never quoted (a broken proxy could have mixed anything into it).
    return ProviderServerError(
        f"{ctx.provider} answered {call.operation or 'a request'} with HTTP "
        f"{response.status_code} but a body that is not a JSON object "
        f"({len(response.content)} bytes: cut short or garbled)",
        provider=ctx.provider,
        model=ctx.model,
        status_code=response.status_code,
        request_id=call.request_id,
    )


def backoff_delay(retry_number: int, *, random_unit: Callable[[], float] = random.random) -> float:
    """The wait before retry ``retry_number`` (from 1): exponential, capped, with jitter."""
    base: float = RETRY_WAIT_INITIAL * 2.0 ** (retry_number - 1)
    return min(RETRY_WAIT_MAX, base + RETRY_WAIT_JITTER * random_unit())


def submit_may_have_created_job(error: TarashException) -> bool:
    """Whether a failed submit may nonetheless have created a (paid) job at the provider.

    True for a request that may have reached the server and got no reply, and for a 5xx
    other than 503 (a gateway or server failure after the request arrived).
    """
    if isinstance(error, HTTPConnectionError):
        return error.reached_server
    status = error.status_code or 0
    return status >= 500 and status not in _SUBMIT_SAFE_STATUSES


def _origin_key(url: str) -> str:
    scheme, host, port = url_origin(url)
    return f"{scheme}://{host}:{port}"


def _retry_hook(
    operation: Operation, ctx: RequestContext, url: str
) -> Callable[[BaseException], bool | float]:
    idempotent = operation != "submit"
    retries_here = 0

    # Typed on BaseException: stamina 26.2 widened its hook to any exception, and a hook
    # taking the wider type also fits the older ``Callable[[Exception], ...]``.
    def decide(exc: BaseException) -> bool | float:
        nonlocal retries_here
        if isinstance(exc, HTTPConnectionError):
            retry = idempotent or not exc.reached_server
            delay: float | None = None
        elif isinstance(exc, _UnreadableReply):
            retry, delay = idempotent, None
        elif isinstance(exc, _RetryableReply):
            status = exc.error.status_code or 0
            retry = (
                status in _IDEMPOTENT_RETRY_STATUSES
                if idempotent
                else status in _SUBMIT_SAFE_STATUSES
            ) and exc.error.retryable
            delay = exc.error.retry_after if isinstance(exc.error, HTTPError) else None
            if delay is not None and delay > MAX_RETRY_AFTER_DELAY:
                retry = False
        else:
            return False
        if not retry:
            return False
        # The wait is computed here, not left to stamina, so that it can be checked against
        # the deadline: a retry that would start after it is not made.
        wait = delay if delay is not None else backoff_delay(retries_here + 1)
        # A cancel is usually sent because the deadline passed: it is bounded by its own
        # grace period (``_jobs.CANCEL_GRACE_SECONDS``), not by the job's deadline.
        if ctx.deadline is not None and operation != "cancel":
            remaining = ctx.deadline - anyio.current_time()
            if remaining <= wait:
                return False
        retries_here += 1
        ctx.counters.retries += 1
        if operation == "submit" and isinstance(exc, _RetryableReply):
            _tell_throttle(ctx, exc.error)
        elif (
            operation in _PAUSED_READS
            and isinstance(exc, _RetryableReply)
            and exc.error.status_code == 429
        ):
            # Every other read of the provider with this key would spend a call to learn
            # the same.
            _read_pauses_of(ctx).pause(ctx.provider, _origin_key(url), wait, account=ctx.account)
        logger.info(
            "retrying %s %s/%s after %s", operation, ctx.provider, ctx.model, type(exc).__name__
        )
        # stamina treats a float from the hook as the exact backoff to use.
        return wait

    return decide


def _tell_throttle(ctx: RequestContext, error: TarashException) -> None:
    """Tell the caller's limiter of a submit's 429 that is about to be retried, before
    the retry waits: the provider throttles the account, not just this create."""
    if not isinstance(error, RateLimitError) or error.status_code != 429:
        return
    if ctx.on_create_throttled is not None:
        ctx.on_create_throttled(error)


def _retry_attempts(
    ctx: RequestContext, operation: Operation, url: str
) -> AsyncIterator[stamina.Attempt]:
    """The tries of one call: the retry policy for ``operation``, within the context's budget."""
    return stamina.retry_context(
        on=_retry_hook(operation, ctx, url),
        attempts=max(1, ctx.max_attempts),
        timeout=None,
        wait_initial=RETRY_WAIT_INITIAL,
        wait_max=RETRY_WAIT_MAX,
        wait_jitter=RETRY_WAIT_JITTER,
    )


def _count_request(ctx: RequestContext, operation: Operation | None) -> None:
    ctx.counters.requests += 1
    if operation == "submit":
        ctx.counters.submits += 1
    elif operation == "status":
        ctx.counters.polls += 1


_UNPAUSED_READS: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "tarash_unpaused_reads", default=False
)


@contextlib.contextmanager
def unpaused_reads() -> Iterator[None]:
    """Reads sent inside do not wait out the provider's shared read pause.

    For the one status read a give-up makes before it cancels (``_jobs.look_then_cancel``):
    it must fit in the cancel's grace period, and waiting out another caller's 429 pause
    there (up to ``MAX_RETRY_AFTER_DELAY``) would use up that grace and leave the job
    running uncancelled. One read may earn a 429; an orphaned job costs far more.
    """
    token = _UNPAUSED_READS.set(True)
    try:
        yield
    finally:
        _UNPAUSED_READS.reset(token)


def _read_pauses_of(ctx: RequestContext) -> ReadPauses:
    """The pauses the client's reads share: its router's, else the process's."""
    return ctx.read_pauses if ctx.read_pauses is not None else READ_PAUSES


async def _wait_out_read_pause(ctx: RequestContext, url: str) -> None:
    started = anyio.current_time()
    deadline_in = None if ctx.deadline is None else ctx.deadline - started
    try:
        waited = await _read_pauses_of(ctx).wait(
            ctx.provider, _origin_key(url), deadline_in=deadline_in, account=ctx.account
        )
    except BaseException:
        # Cut short (the job's deadline scope, the caller's cancellation): the time it held
        # the read still counts, or a timed-out attempt would show no reason for sending
        # no poll at all.
        cut = anyio.current_time() - started
        if deadline_in is not None:
            cut = min(cut, max(0.0, deadline_in))
        ctx.counters.read_pause_seconds += cut
        raise
    ctx.counters.read_pause_seconds += waited


async def send(
    ctx: RequestContext,
    operation: Operation,
    method: str,
    url: str,
    *,
    request_id: str | None = None,
    headers: Mapping[str, str] | None = None,
    json: Any = None,
    content: bytes | None = None,
    params: Mapping[str, str] | None = None,
    read_timeout: float | None = None,
    held: bool = False,
    ok_statuses: frozenset[int] = frozenset(),
    expect_object: bool = False,
) -> httpx.Response:
    """Send one request with the shared client, retrying what is safe to retry.

    A submit is retried only when the server cannot have created a job: the connection was
    never made, or the reply was 429 or 503. Everything else (status, result, cancel,
    download) is idempotent and retried on transient faults, honouring Retry-After up to
    :data:`MAX_RETRY_AFTER_DELAY` and never past the context's deadline. A success whose
    body is not the JSON object asked for (``expect_object``) is such a fault too.

    Args:
        ctx: Who is calling, how to read their errors, and the retry budget.
        operation: What the call is for; decides the retry rules and the counters.
        method: HTTP method.
        url: Absolute URL.
        request_id: The job the call concerns, for its errors (and ``ctx.parse_error``).
        headers: Request headers, auth included (they are never logged).
        json: JSON body.
        content: Raw body.
        params: Query parameters.
        read_timeout: Read timeout for this call (e.g. longer for a held ``Prefer: wait``).
        held: The server holds the reply for a while (``Prefer: wait``): the call goes
            through the long-lived pool so it does not tie up the short calls' connections.
        ok_statuses: Extra non-2xx statuses to hand back instead of raising.
        expect_object: A 2xx reply must carry a JSON object (read it with
            :func:`reply_object`); an idempotent call whose body is not one (cut short,
            garbled) is retried, then fails with a retryable :class:`ProviderServerError`.
            Not for submits, which are never resent once answered with a 2xx.

    Returns:
        The successful reply, body read.

    Raises:
        TarashException: The mapped error of the last failure.
    """
    call = CallContext(operation, request_id)
    request_timeout = (
        httpx.Timeout(read_timeout, connect=CONNECT_TIMEOUT) if read_timeout is not None else None
    )
    try:
        async for attempt in _retry_attempts(ctx, operation, url):
            with attempt:
                if operation in _PAUSED_READS and not _UNPAUSED_READS.get():
                    await _wait_out_read_pause(ctx, url)
                _count_request(ctx, operation)
                client, limiter = pick_connection(long_lived=held)
                async with limiter:
                    with translate_transport_errors(ctx.provider, ctx.model, request_id=request_id):
                        # A submit in flight may already have created a paid job: the
                        # caller's cancellation waits for its reply (bounded by the HTTP
                        # timeouts) so the job's id is learnt and the job cancelled, not
                        # orphaned. Retry waits stay cancellable.
                        with anyio.CancelScope(shield=operation == "submit"):
                            response = await client.request(
                                method,
                                url,
                                headers=headers,
                                json=json,
                                content=content,
                                params=params,
                                timeout=(
                                    request_timeout
                                    if request_timeout is not None
                                    else httpx.USE_CLIENT_DEFAULT
                                ),
                            )
                logger.debug("%s %s -> %s", method, url.split("?")[0], response.status_code)
                if response.is_success:
                    if operation == "submit":
                        ctx.counters.requests_exhausted_for = parse_rate_limit_reset(
                            response.headers
                        )
                    if expect_object and not isinstance(response_json(response), dict):
                        raise _UnreadableReply(_unreadable_body_error(ctx, call, response))
                    return response
                if response.status_code in ok_statuses:
                    return response
                raise _RetryableReply(ctx.parse_error(response, call))
    except _RetryableReply as reply:
        raise reply.error from None
    raise AssertionError("unreachable: stamina always raises or returns")  # pragma: no cover


@contextlib.asynccontextmanager
async def open_stream(
    ctx: RequestContext,
    call: CallContext,
    url: str,
    *,
    headers: Mapping[str, str] | None = None,
    params: Mapping[str, str] | None = None,
    timeout: httpx.Timeout | None = None,
) -> AsyncIterator[httpx.Response]:
    """Open one ``GET`` whose body is read as it arrives: the piece every long read shares.

    The connection comes from the long-lived pool (so streams and downloads never starve
    the short calls), its slot is held for as long as the reply is open, and the request
    is counted. httpx failures, while opening and while the body is read in the block, come
    out as :class:`HTTPConnectionError` with the request's credentials scrubbed (see
    :func:`translate_transport_errors`). Nothing is retried here: :func:`stream` retries
    whole downloads, and a broken status stream is replaced by polling.

    The slot is held for a token of this call, not for the task, so a reply opened in an
    async generator may be closed by whichever task finalises it.

    Args:
        ctx: Who is calling; one request is counted.
        call: The operation and job this read is for.
        url: Absolute URL.
        headers: Request headers, auth included (never logged).
        params: Query parameters.
        timeout: This read's timeouts (the pool's default otherwise).

    Yields:
        The open reply, whatever its status: read a failure with :func:`refusal`.
    """
    client, connections = pick_connection(long_lived=True)
    holder = object()
    await connections.acquire_on_behalf_of(holder)
    try:
        _count_request(ctx, call.operation)
        with translate_transport_errors(ctx.provider, ctx.model, request_id=call.request_id):
            reply = await _send_following_redirects(
                client,
                client.build_request(
                    "GET",
                    url,
                    headers=headers,
                    params=params,
                    timeout=timeout if timeout is not None else httpx.USE_CLIENT_DEFAULT,
                ),
                secret_headers=tuple(headers or ()),
            )
            try:
                logger.debug("GET %s -> %s", url.split("?")[0], reply.status_code)
                yield reply
            finally:
                await reply.aclose()
    finally:
        connections.release_on_behalf_of(holder)


async def _send_following_redirects(
    client: httpx.AsyncClient, request: httpx.Request, *, secret_headers: tuple[str, ...]
) -> httpx.Response:
    """Send a streamed ``GET``, following redirects by hand: the caller's headers (a key in
    ``x-goog-api-key``, say) go to the first URL's origin only. httpx itself drops only
    ``Authorization`` when a redirect leaves the origin, and a provider's file URI
    redirects to a storage host that must never see the key."""
    first = str(request.url)
    for _ in range(MAX_REDIRECTS):
        reply = await client.send(request, stream=True, follow_redirects=False)
        following = reply.next_request
        if following is None:
            return reply
        await reply.aclose()
        if not same_origin(str(following.url), first):
            for name in secret_headers:
                following.headers.pop(name, None)
        request = following
    raise httpx.TooManyRedirects("too many redirects", request=request)


async def refusal(ctx: RequestContext, call: CallContext, reply: httpx.Response) -> TarashException:
    """The error a non-success streamed reply means: its (short) body read, then parsed."""
    await reply.aread()
    return ctx.parse_error(reply, call)


async def stream(
    ctx: RequestContext,
    operation: Operation,
    url: str,
    consume: Callable[[httpx.Response], Awaitable[_T]],
    *,
    request_id: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> _T:
    """``GET`` a long body through the long-lived pool and hand the open reply to ``consume``.

    The body is never held in memory: ``consume`` reads it (``reply.aiter_bytes()``). The
    whole exchange is retried under :func:`send`'s rules for ``operation``: a connection
    refused or dropped part-way through the body, or a 408/429/5xx reply, starts it again
    from the beginning after the backoff (or the reply's Retry-After), up to the context's
    attempt budget. So ``consume`` must start its output afresh on each call.

    Args:
        ctx: Who is calling, how to read their errors, and the retry budget.
        operation: What the call is for (``"download"``); decides the retry rules.
        url: Absolute URL.
        consume: Reads a successful reply; its result is returned. Anything but an httpx
            error raised in it (a disk error, say) ends the call without a retry.
        request_id: The job the body belongs to, for its errors.
        headers: Request headers, auth included (they are never logged).

    Returns:
        What ``consume`` returned for the attempt that succeeded.

    Raises:
        TarashException: The mapped error of the last failure.
    """
    call = CallContext(operation, request_id)
    try:
        async for attempt in _retry_attempts(ctx, operation, url):
            with attempt:
                async with open_stream(ctx, call, url, headers=headers) as reply:
                    if not reply.is_success:
                        raise _RetryableReply(await refusal(ctx, call, reply))
                    return await consume(reply)
    except _RetryableReply as reply:
        raise reply.error from None
    raise AssertionError("unreachable: stamina always raises or returns")  # pragma: no cover


_DEFAULT_PORTS = {"http": 80, "https": 443}


def url_origin(url: str) -> tuple[str, str, int | None]:
    """``(scheme, host, port)`` of a URL, lower-cased, with the scheme's default port."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    return scheme, (parts.hostname or "").lower(), port or _DEFAULT_PORTS.get(scheme)


def same_origin(url: object, base_url: str) -> bool:
    """Whether ``url`` is a non-empty string on exactly ``base_url``'s scheme, host and port.

    Provider replies carry absolute URLs that the next calls send credentials to; only those
    on the configured origin are trusted.
    """
    return isinstance(url, str) and bool(url) and url_origin(url) == url_origin(base_url)


def response_json(response: httpx.Response) -> Any:
    """Parse a reply body as JSON, or return ``None`` when it is not JSON."""
    try:
        return response.json()
    except ValueError:
        return None


def reply_object(response: httpx.Response) -> dict[str, Any]:
    """The JSON object of a reply, or ``{}`` when its body is not one.

    After ``send(..., expect_object=True)`` a 2xx reply's body always is one.
    """
    body = response_json(response)
    return body if isinstance(body, dict) else {}
