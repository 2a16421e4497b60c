"""Structured log records: provider, model and job id as ``extra`` fields, never a key."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest
import respx

from tarash.tarash_gateway.errors import RateLimitError
from tarash.tarash_gateway.models import VideoGenerationConfig, VideoGenerationRequest
from tarash.tarash_gateway.router import Router
from tests.unit.fake_provider import BASE, FAKE_KEY

pytestmark = pytest.mark.anyio

OTHER = "https://other.test"
REQUEST = VideoGenerationRequest(prompt="a cat", duration_seconds=4)


def config(base: str = BASE, **kwargs: Any) -> VideoGenerationConfig:
    return VideoGenerationConfig(
        provider="fake",
        model="t2v",
        api_key=FAKE_KEY,
        base_url=base,
        poll_interval=0.001,
        **kwargs,
    )


def field(record: logging.LogRecord, name: str) -> object:
    return record.__dict__.get(name)


async def test_attempt_chain_and_job_records_carry_the_same_fields_and_no_key(
    respx_mock: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    """A failed primary and a winning fallback: the attempt records (accepted, ended), the
    chain's fallback record and the job's records name provider, model and job id as
    extras; no record's message or fields hold the key."""
    respx_mock.post(f"{BASE}/jobs").respond(200, json={"id": "j1", "status": "queued"})
    respx_mock.get(f"{BASE}/jobs/j1").mock(
        return_value=httpx.Response(200, json={"status": "failed", "error": f"echo {FAKE_KEY}"})
    )
    respx_mock.post(f"{OTHER}/jobs").respond(200, json={"id": "j2", "status": "queued"})
    respx_mock.get(f"{OTHER}/jobs/j2").respond(200, json={"status": "done", "url": "https://x/v"})
    with caplog.at_level(logging.DEBUG, logger="tarash"):
        await Router().generate_video_async(config(fallback_configs=[config(OTHER)]), REQUEST)

    ended = [
        r for r in caplog.records if r.name == "tarash.attempt" and field(r, "status") is not None
    ]
    assert [(field(r, "job_id"), field(r, "role"), field(r, "status")) for r in ended] == [
        ("j1", "primary", "failed"),
        ("j2", "fallback", "success"),
    ]
    assert all((field(r, "provider"), field(r, "model")) == ("fake", "t2v") for r in ended)
    assert ended[0].levelno == logging.WARNING and ended[1].levelno == logging.INFO
    assert field(ended[0], "error_type") == "GenerationFailedError"

    accepted = [r for r in caplog.records if r.name == "tarash.attempt" and "accepted" in r.message]
    assert [field(r, "job_id") for r in accepted] == ["j1", "j2"]

    (fallback,) = [r for r in caplog.records if r.name == "tarash.chain"]
    assert (field(fallback, "provider"), field(fallback, "job_id")) == ("fake", "j1")
    assert field(fallback, "status") == "failed"
    assert field(fallback, "next_provider") == "fake"

    for record in caplog.records:
        assert FAKE_KEY not in record.getMessage()
        assert FAKE_KEY not in repr(record.__dict__)


async def test_a_skipped_attempt_records_why(
    respx_mock: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    """A call the provider's pause refuses is an INFO record ``skipped`` with its reason."""
    submit = respx_mock.post(f"{BASE}/jobs").respond(
        429, headers={"Retry-After": "3600"}, json={"message": "later"}
    )
    router = Router(limits={})
    with pytest.raises(RateLimitError):
        await router.generate_video_async(config(), REQUEST)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="tarash"), pytest.raises(RateLimitError):
        await router.generate_video_async(config(), REQUEST)
    assert submit.call_count == 1
    (ended,) = [r for r in caplog.records if r.name == "tarash.attempt"]
    assert field(ended, "status") == "skipped" and ended.levelno == logging.INFO
    assert "Retry-After" in str(field(ended, "skip_reason"))
