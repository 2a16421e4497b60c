"""Server-sent event streams of JSON status bodies, shared by providers that push status.

A stream holds one pooled connection for the whole life of a job, so streams are capped
per event loop (:data:`MAX_STREAMS_PER_LOOP`): when no slot is free at once,
:func:`open_json_event_stream` returns ``None`` and the caller polls instead. A stream that
cannot be opened, goes silent for :data:`STREAM_IDLE_TIMEOUT` seconds, or carries a body
that is not a JSON object raises :class:`HTTPConnectionError`, on which the job falls back to
polling (``_jobs.JobWaiter``); polling then reports the provider's real error, if any,
under the usual retry policy.

Why not httpx-sse (0.4.3, the latest release, checked 2026-12): it would replace
:func:`parse_event_lines` only. The rest is not in it: its ``aconnect_sse`` is
``client.stream`` with two headers (no slot cap, no idle timer, no reconnection or
``Last-Event-ID``), while ours goes through ``_http.open_stream`` (the pooled client, the
call count, transport errors translated) and drains the stream. And where the two parsers
differ, ours is the one the status stream needs:

- httpx-sse dispatches an event with empty data on a blank line after an ``event:`` or
  ``retry:`` field alone, and, as it keeps the last ``id:`` for the stream, on every blank
  line after any ``id:`` (so a keep-alive comment becomes an event); WHATWG HTML 9.2.6
  dispatches nothing while the data buffer is empty. Each such event is not JSON and would
  drop a healthy stream to polling.
- It raises ``SSEError`` for a reply whose ``Content-Type`` is not ``text/event-stream``;
  ours reads the body all the same.
- It drops an event that the end of the stream cuts before its blank line, as the
  standard says; ours yields it, so a terminal event whose blank line never came still
  ends the wait without a poll (``test_fal`` pins this).
"""

from __future__ import annotations

import json
import logging
import os
import threading
import weakref
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from typing import Any

import anyio
import httpx

from tarash.tarash_gateway.engine._http import (
    CONNECT_TIMEOUT,
    CallContext,
    RequestContext,
    _current_loop_key,
    open_stream,
    refusal,
)
from tarash.tarash_gateway.errors import HTTPConnectionError

__all__ = [
    "MAX_STREAMS_PER_LOOP",
    "STREAM_IDLE_TIMEOUT",
    "open_json_event_stream",
    "parse_event_lines",
    "stream_limiter",
]

logger = logging.getLogger("tarash.sse")

MAX_STREAMS_PER_LOOP = int(os.environ.get("TARASH_MAX_STREAMS", "512"))
"""Concurrent event streams one event loop holds open; more jobs than this are polled.

Each stream pins a connection of the long-lived pool (``_http.MAX_LONG_CONNECTIONS_PER_LOOP``)
until its job ends; the cap leaves room in that pool for downloads.
"""
STREAM_DRAIN_SECONDS = 0.25
"""How long a stream we are done with may take to end by itself before we drop it."""
STREAM_IDLE_TIMEOUT = 15.0
"""Seconds without an event after which a stream counts as broken (fal's JS client uses 15 s)."""

_limiters: weakref.WeakKeyDictionary[object, anyio.CapacityLimiter] = weakref.WeakKeyDictionary()
_limiters_lock = threading.Lock()


def stream_limiter() -> anyio.CapacityLimiter:
    """Return the running event loop's limiter of concurrent event streams."""
    key = _current_loop_key()
    with _limiters_lock:
        found = _limiters.get(key)
        if found is None:
            found = anyio.CapacityLimiter(MAX_STREAMS_PER_LOOP)
            _limiters[key] = found
        return found


class _Borrower:
    """A token that holds limiter slots independently of the task running the stream.

    A stream abandoned mid-way is closed by the event loop's async-generator finaliser,
    which runs in another task; a per-task borrower could not release its slots there.
    """


async def parse_event_lines(lines: AsyncIterator[str]) -> AsyncGenerator[str, None]:
    """Yield the ``data`` of each event of a ``text/event-stream``, lines joined by ``\\n``.

    Comments (``:``-lines), ``event``, ``id`` and ``retry`` fields are skipped: the streams we
    read carry one JSON body per event and need nothing else (WHATWG HTML, section 9.2.6).
    """
    data: list[str] = []
    async for raw_line in lines:
        line = raw_line.rstrip("\r\n")
        if not line:
            if data:
                yield "\n".join(data)
                data = []
            continue
        if line.startswith(":"):
            continue
        field, _, value = line.partition(":")
        if field == "data":
            data.append(value.removeprefix(" "))
    if data:
        yield "\n".join(data)


def open_json_event_stream(
    ctx: RequestContext,
    url: str,
    *,
    headers: Mapping[str, str],
    request_id: str | None = None,
    params: Mapping[str, str] | None = None,
    idle_timeout: float = STREAM_IDLE_TIMEOUT,
) -> AsyncGenerator[dict[str, Any], None] | None:
    """Reserve a stream slot and return an iterator of the stream's JSON events.

    Must be called from inside the event loop. A slot is held from the first ``anext``
    until the iterator ends or is closed (``aclose()``); close it as soon as the event you
    wait for arrives.

    Args:
        ctx: Who is calling; one request is counted when the stream opens.
        url: The stream's absolute URL.
        headers: Request headers, auth included (never logged).
        request_id: The job whose status is streamed, for errors.
        params: Query parameters.
        idle_timeout: Seconds without an event before the stream counts as broken.

    Returns:
        An async generator of the events, each a JSON object, or ``None`` when every
        stream slot of this event loop is taken (the caller should poll instead).
    """
    limiter = stream_limiter()
    if limiter.available_tokens < 1:
        logger.debug("all %d event-stream slots taken; polling", MAX_STREAMS_PER_LOOP)
        return None
    # The slot is taken when iteration starts, so an iterator that is never started holds
    # nothing. Nothing awaits between this check and a caller's first ``anext``, so the
    # slot seen free here is still free then (else the stream raises and the job is polled).
    call = CallContext("watch", request_id)
    return _json_events(ctx, call, url, headers, params, idle_timeout, limiter)


async def _json_events(
    ctx: RequestContext,
    call: CallContext,
    url: str,
    headers: Mapping[str, str],
    params: Mapping[str, str] | None,
    idle_timeout: float,
    limiter: anyio.CapacityLimiter,
) -> AsyncGenerator[dict[str, Any], None]:
    def broken(why: str, status_code: int | None = None) -> HTTPConnectionError:
        return HTTPConnectionError(
            why,
            provider=ctx.provider,
            model=ctx.model,
            status_code=status_code,
            request_id=call.request_id,
        )

    borrower = _Borrower()
    try:
        limiter.acquire_on_behalf_of_nowait(borrower)
    except anyio.WouldBlock:
        raise broken("no event-stream slot is free") from None
    try:
        # The read timeout is only a backstop: the idle timer below is what detects silence.
        timeout = httpx.Timeout(idle_timeout * 2, connect=CONNECT_TIMEOUT)
        async with open_stream(
            ctx,
            call,
            url,
            headers={**headers, "Accept": "text/event-stream"},
            params=params,
            timeout=timeout,
        ) as response:
            if not response.is_success:
                reason = await refusal(ctx, call, response)
                raise broken(
                    f"the status stream could not be opened: {reason.message}",
                    response.status_code,
                ) from reason
            events = parse_event_lines(response.aiter_lines())
            try:
                while True:
                    data: str | None = None
                    ended = False
                    # The wait sits in its own cancel scope, never across the yield.
                    with anyio.move_on_after(idle_timeout) as idle:
                        try:
                            data = await anext(events)
                        except StopAsyncIteration:
                            ended = True
                    if idle.cancelled_caught:
                        raise broken(f"the status stream sent nothing for {idle_timeout:g} s")
                    if ended or data is None:
                        return
                    try:
                        event = json.loads(data)
                    except ValueError as exc:
                        raise broken("the status stream sent an event that is not JSON") from exc
                    if not isinstance(event, dict):
                        # Says nothing about the job, which may well be running: polling
                        # takes over, as for any broken stream.
                        raise broken("the status stream sent an event that is not a JSON object")
                    yield event
            finally:
                # The provider ends its stream after the terminal event: read that end
                # (briefly) so httpx's chain of line and byte generators is exhausted
                # rather than left for the garbage collector (trio warns about those).
                with anyio.move_on_after(STREAM_DRAIN_SECONDS):
                    async for _ in events:
                        pass
                await events.aclose()
    finally:
        limiter.release_on_behalf_of(borrower)
