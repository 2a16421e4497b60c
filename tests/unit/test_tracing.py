"""OpenTelemetry spans: one per request and one per attempt, with no key in any of them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import respx

from tarash.tarash_gateway.engine import _tracing
from tarash.tarash_gateway.errors import ProviderServerError
from tarash.tarash_gateway.models import VideoGenerationConfig, VideoGenerationRequest
from tarash.tarash_gateway.router import Router
from tests.unit.fake_provider import BASE, FAKE_KEY

# Skipped where the SDK (a dev dependency) is not installed; tarash needs neither.
pytest.importorskip("opentelemetry.sdk.trace")

from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
    InMemorySpanExporter,
)
from opentelemetry.trace import StatusCode

pytestmark = pytest.mark.anyio

OTHER = "https://other.test"
REQUEST = VideoGenerationRequest(prompt="a secret prompt", duration_seconds=4)
_EXPORTER = InMemorySpanExporter()


def config(base: str = BASE, **kwargs: Any) -> VideoGenerationConfig:
    return VideoGenerationConfig(
        provider="fake",
        model="t2v",
        api_key=FAKE_KEY,
        base_url=base,
        poll_interval=0.001,
        **kwargs,
    )


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    """The process's tracer provider is the SDK's, exporting to memory (set once)."""
    if not isinstance(trace.get_tracer_provider(), TracerProvider):
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(_EXPORTER))
        trace.set_tracer_provider(provider)
    _EXPORTER.clear()
    yield _EXPORTER
    _EXPORTER.clear()


def ok_job(mock: respx.MockRouter, base: str, job: str) -> None:
    mock.post(f"{base}/jobs").respond(200, json={"id": job, "status": "queued"})
    mock.get(f"{base}/jobs/{job}").respond(200, json={"status": "done", "url": "https://x/v"})


def by_name(exporter: InMemorySpanExporter, name: str) -> list[ReadableSpan]:
    return [span for span in exporter.get_finished_spans() if span.name == name]


def no_secret_in(span: ReadableSpan) -> None:
    text = repr(dict(span.attributes or {})) + repr(span.status.description)
    text += repr([event.attributes for event in span.events])
    assert FAKE_KEY not in text and "secret prompt" not in text


async def test_a_fallback_chain_is_one_request_span_over_its_attempt_spans(
    respx_mock: respx.MockRouter, spans: InMemorySpanExporter
) -> None:
    """The primary fails, the fallback wins: a generate span, two attempt children with
    provider, model, role, job id, status and capacity wait; the failed one ends in error."""
    respx_mock.post(f"{BASE}/jobs").respond(503, json={"message": f"echo {FAKE_KEY}"})
    ok_job(respx_mock, OTHER, "j2")
    response = await Router().generate_video_async(
        config(fallback_configs=[config(OTHER)]), REQUEST
    )
    assert response.request_id == "j2"
    (request,) = by_name(spans, "tarash.generate")
    attempts = by_name(spans, "tarash.attempt")
    assert [span.parent.span_id for span in attempts if span.parent] == [
        request.context.span_id
    ] * 2
    first, second = sorted(attempts, key=lambda span: span.start_time or 0)
    assert first.attributes is not None and second.attributes is not None
    assert first.attributes["tarash.role"] == "primary"
    assert first.attributes["tarash.status"] == "failed"
    assert first.attributes["tarash.error_type"] == "ProviderServerError"
    assert first.status.status_code is StatusCode.ERROR
    assert second.attributes["tarash.role"] == "fallback"
    assert second.attributes["tarash.status"] == "success"
    assert second.attributes["tarash.job_id"] == "j2"
    assert second.attributes["tarash.provider"] == "fake"
    assert second.attributes["tarash.model"] == "t2v"
    assert second.attributes["tarash.capacity_wait_seconds"] == pytest.approx(0, abs=1)
    assert second.status.status_code is not StatusCode.ERROR
    assert request.attributes is not None
    assert request.attributes["tarash.strategy"] == "chain"
    assert request.attributes["tarash.successful_attempt"] == 2
    assert request.attributes["tarash.job_id"] == "j2"
    assert request.attributes["tarash.fallback_triggered"] is True
    for span in [request, *attempts]:
        no_secret_in(span)


async def test_a_failed_request_ends_its_span_in_error_by_class_name_only(
    respx_mock: respx.MockRouter, spans: InMemorySpanExporter
) -> None:
    """A request whose every attempt failed is an error span named by the error's class;
    the message (which may echo what was sent) is on no span."""
    respx_mock.post(f"{BASE}/jobs").mock(
        return_value=httpx.Response(503, json={"message": f"echo {FAKE_KEY} a secret prompt"})
    )
    with pytest.raises(ProviderServerError):
        await Router().generate_video_async(config(), REQUEST)
    (request,) = by_name(spans, "tarash.generate")
    assert request.status.status_code is StatusCode.ERROR
    assert request.status.description == "ProviderServerError"
    assert request.attributes is not None and request.attributes["tarash.attempts"] == 1
    for span in spans.get_finished_spans():
        no_secret_in(span)


async def test_without_opentelemetry_spans_are_no_ops(
    respx_mock: respx.MockRouter,
    spans: InMemorySpanExporter,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With the API absent (as without the otel extra) a request runs and makes no span."""
    monkeypatch.setattr(_tracing, "_trace", None)
    assert not _tracing.tracing_enabled()
    ok_job(respx_mock, BASE, "j1")
    response = await Router().generate_video_async(config(), REQUEST)
    assert response.request_id == "j1"
    assert spans.get_finished_spans() == ()
