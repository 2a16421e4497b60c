"""What tarash tells observers: OpenTelemetry spans and the fields of its log records.

Spans exist only when ``opentelemetry-api`` is installed (``pip install
"tarash-gateway[otel]"``); without it every span here is a no-op and nothing is imported.
With it, tarash asks the global tracer provider for a tracer named ``tarash`` on each
span, so an SDK configured at any time (before or after tarash is imported) gets them:

- ``tarash.generate``: one request, from the first attempt to the last (a chain or a
  race); attributes ``tarash.strategy``, ``tarash.kind``, ``tarash.configs_in_chain`` and,
  when it ends, ``tarash.attempts``, ``tarash.successful_attempt``, ``tarash.provider``
  and ``tarash.model`` of the winner, ``tarash.fallback_triggered``.
- ``tarash.attempt``: one attempt, a child of its request's span; ``tarash.provider``,
  ``tarash.model``, ``tarash.role``, ``tarash.attempt_number`` and, when it ends,
  ``tarash.job_id``, ``tarash.status``, ``tarash.estimated_cost``,
  ``tarash.capacity_wait_seconds``, ``tarash.skip_reason``, ``tarash.error_type``.

A span never carries a key, a prompt or an error's message (a provider may echo what it
was sent): an error is named by its class, and the span's status description is that name.
A failed attempt or request ends its span in error; a skipped or cancelled attempt (a lost
race) does not.

Log records use :func:`log_fields` for their ``extra``: the same names on every record of
the router, the attempt, the chain and the jobs (``record.provider``, ``record.model``,
``record.job_id``, ...).

Spans per HTTP request are not made here, on purpose: opentelemetry-instrumentation-httpx
(its 0.66 source, read 2026-12; 0.66b2 is the latest release) makes them for the whole
process once the application calls ``HTTPXClientInstrumentor().instrument()``, since it
wraps ``httpx.AsyncHTTPTransport.handle_async_request``, the transport of tarash's pooled
clients. Its ``url.full`` drops a URL's user and password and the values of the signature
query parameters it knows (``AWSAccessKeyId``, ``Signature``, ``sig``,
``X-Goog-Signature``); tarash sends every key in a header, which it records only when the
application names that header in ``OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_CLIENT_REQUEST``.
tarash neither depends on it nor turns it on: instrumenting is process-wide (the
application's own clients too), and spans of our own per request would duplicate the
application's. What this module makes, no HTTP instrumentation can: a request's and its
attempts' spans, with the router's outcome on them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from typing import Any, Protocol

try:
    from opentelemetry import trace as _trace  # type: ignore[import-not-found,unused-ignore]
except ImportError:  # pragma: no cover - the otel extra is not installed
    _trace = None  # type: ignore[assignment,unused-ignore]

__all__ = [
    "TRACER_NAME",
    "SpanLike",
    "log_fields",
    "set_attributes",
    "span",
    "tracing_enabled",
]

TRACER_NAME = "tarash"
"""The instrumentation scope name of tarash's spans."""

AttributeValue = str | bool | int | float


class SpanLike(Protocol):
    """What tarash does with a span (an OpenTelemetry span, or the no-op one)."""

    def set_attribute(self, key: str, value: AttributeValue) -> None:
        """Set one attribute."""

    def mark_failed(self, error_type: str) -> None:
        """End the span in error, named by the error's class only."""


class _NoSpan:
    __slots__ = ()

    def set_attribute(self, key: str, value: AttributeValue) -> None:
        return

    def mark_failed(self, error_type: str) -> None:
        return


class _OtelSpan:
    __slots__ = ("_span",)

    def __init__(self, span: Any) -> None:
        self._span = span

    def set_attribute(self, key: str, value: AttributeValue) -> None:
        self._span.set_attribute(key, value)

    def mark_failed(self, error_type: str) -> None:
        assert _trace is not None
        self._span.set_attribute("tarash.error_type", error_type)
        self._span.set_status(_trace.Status(_trace.StatusCode.ERROR, error_type))


_NO_SPAN = _NoSpan()


def tracing_enabled() -> bool:
    """Whether ``opentelemetry-api`` is installed (spans are made)."""
    return _trace is not None


def _clean(attributes: Mapping[str, AttributeValue | None]) -> dict[str, AttributeValue]:
    return {key: value for key, value in attributes.items() if value is not None}


@contextlib.contextmanager
def span(name: str, attributes: Mapping[str, AttributeValue | None]) -> Iterator[SpanLike]:
    """A span named ``name``, current inside the block; a no-op without OpenTelemetry.

    ``None`` attributes are left out. An exception leaving the block does not mark the
    span failed by itself (a lost race or a skip ends an attempt normally): the caller
    says what failed, with :meth:`SpanLike.mark_failed`.
    """
    if _trace is None:
        yield _NO_SPAN
        return
    tracer = _trace.get_tracer(TRACER_NAME)
    # Exceptions are not recorded by OpenTelemetry itself: its event would carry the
    # message, which may echo what the provider was sent.
    with tracer.start_as_current_span(
        name,
        attributes=_clean(attributes),
        record_exception=False,
        set_status_on_exception=False,
    ) as otel_span:
        yield _OtelSpan(otel_span)


def set_attributes(target: SpanLike, attributes: Mapping[str, AttributeValue | None]) -> None:
    """Set each attribute that is not ``None``."""
    for key, value in _clean(attributes).items():
        target.set_attribute(key, value)


def log_fields(
    provider: str | None,
    model: str | None,
    job_id: str | None = None,
    **more: object,
) -> dict[str, object]:
    """The ``extra`` of a log record about a provider, a model and maybe a job.

    Never pass a key or a prompt here: every handler the application installs sees them.
    """
    return {"provider": provider, "model": model, "job_id": job_id, **more}
