"""The staged attempt's hooks (the batch seam) and resuming a stored handle."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import respx

from tarash.tarash_gateway.errors import GenerationFailedError, ProviderServerError
from tarash.tarash_gateway.models import (
    AttemptMetadata,
    JobHandle,
    VideoGenerationConfig,
    VideoGenerationRequest,
)
from tarash.tarash_gateway.router import Router
from tarash.tarash_gateway.routing._attempt import AttemptHooks, JobAccepted, SubmitIntent
from tests.unit.fake_provider import BASE, FAKE_KEY

pytestmark = pytest.mark.anyio

OTHER = "https://other.test"
REQUEST = VideoGenerationRequest(prompt="a cat", duration_seconds=4)


def config(base: str = BASE, **kwargs: Any) -> VideoGenerationConfig:
    return VideoGenerationConfig(
        provider="fake", model="t2v", api_key=FAKE_KEY, base_url=base, poll_interval=0.001, **kwargs
    )


class Journal:
    """Hooks that write what they are told, as a ledger would."""

    def __init__(self) -> None:
        self.events: list[tuple[str, object]] = []

    def hooks(self) -> AttemptHooks:
        async def on_accepted(event: JobAccepted) -> None:
            self.events.append(("accepted", event))

        return AttemptHooks(
            before_submit=lambda event: self.events.append(("intent", event)),
            on_accepted=on_accepted,
            on_attempt_end=lambda meta: self.events.append(("end", meta)),
        )


def done_job(mock: respx.MockRouter, base: str = BASE, job: str = "j1") -> respx.Route:
    mock.get(f"{base}/jobs/{job}").respond(200, json={"status": "done", "url": "https://cdn/v"})
    return mock.post(f"{base}/jobs").respond(200, json={"id": job, "status": "queued"})


async def test_hooks_hear_intent_then_job_then_end_of_each_attempt(
    respx_mock: respx.MockRouter,
) -> None:
    """A failed primary and a fallback: intent, accepted handle and end for each, in order."""
    respx_mock.post(f"{BASE}/jobs").respond(500, json={"message": "down"})
    done_job(respx_mock, OTHER, "j2")
    journal = Journal()
    chained = config(max_retries=0, fallback_configs=[config(OTHER)])
    response = await Router().run_async(chained, REQUEST, hooks=journal.hooks())
    assert response.request_id == "j2"
    kinds = [kind for kind, _ in journal.events]
    assert kinds == ["intent", "end", "intent", "accepted", "end"]
    first_intent, first_end = journal.events[0][1], journal.events[1][1]
    assert isinstance(first_intent, SubmitIntent) and first_intent.role == "primary"
    assert isinstance(first_end, AttemptMetadata) and first_end.status == "failed"
    accepted = journal.events[3][1]
    assert isinstance(accepted, JobAccepted) and accepted.role == "fallback"
    assert accepted.handle.request_id == "j2" and accepted.attempt_number == 2
    # The handle is stored as JSON by a ledger and comes back equal.
    assert JobHandle.model_validate_json(accepted.handle.model_dump_json()) == accepted.handle
    last = journal.events[4][1]
    assert isinstance(last, AttemptMetadata) and last.status == "success"


async def test_a_raising_intent_hook_submits_nothing(respx_mock: respx.MockRouter) -> None:
    """before_submit raising stops the request before the submit; the error is the hook's."""
    submit = respx_mock.post(f"{BASE}/jobs").respond(200, json={"id": "j1", "status": "queued"})

    def refuse(event: SubmitIntent) -> None:
        raise OSError("ledger disk full")

    with pytest.raises(OSError, match="ledger disk full"):
        await Router().run_async(
            config(fallback_configs=[config(OTHER)]), REQUEST, hooks=AttemptHooks(refuse)
        )
    assert submit.call_count == 0


async def test_a_raising_accepted_hook_cancels_the_job(respx_mock: respx.MockRouter) -> None:
    """on_accepted raising cancels the accepted job remotely and never falls back."""
    # Still running when it is given up on (a finished one would be left alone).
    respx_mock.get(f"{BASE}/jobs/j1").respond(200, json={"status": "running"})
    respx_mock.post(f"{BASE}/jobs").respond(200, json={"id": "j1", "status": "queued"})
    cancel = respx_mock.post(f"{BASE}/jobs/j1/cancel").respond(200, json={})
    other = respx_mock.post(f"{OTHER}/jobs").respond(200, json={"id": "x", "status": "queued"})
    ended: list[AttemptMetadata] = []

    def refuse(event: JobAccepted) -> None:
        raise OSError("ledger gone")

    hooks = AttemptHooks(on_accepted=refuse, on_attempt_end=ended.append)
    with pytest.raises(OSError, match="ledger gone"):
        await Router().run_async(config(fallback_configs=[config(OTHER)]), REQUEST, hooks=hooks)
    assert cancel.call_count == 1 and other.call_count == 0
    assert [meta.status for meta in ended] == ["cancelled"]


async def test_resume_waits_on_a_stored_handle_as_one_attempt(
    respx_mock: respx.MockRouter,
) -> None:
    """resume_async reads a stored job without submitting; its end hook sees one attempt."""
    submit = done_job(respx_mock)
    handle = await Router().submit_video_async(config(), REQUEST)
    stored = handle.model_dump_json()
    ended: list[AttemptMetadata] = []
    response = await Router().resume_async(
        JobHandle.model_validate_json(stored),
        config=config(),
        hooks=AttemptHooks(on_attempt_end=ended.append),
    )
    assert submit.call_count == 1
    assert response.request_id == "j1"
    meta = response.execution_metadata
    assert (meta.total_attempts, meta.successful_attempt) == (1, 1)
    assert [attempt.status for attempt in ended] == ["success"]


async def test_resume_raises_the_jobs_failure_with_metadata(respx_mock: respx.MockRouter) -> None:
    """A stored job that failed is raised (never resubmitted), with its one attempt."""
    submit = respx_mock.post(f"{BASE}/jobs").respond(200, json={"id": "j9", "status": "queued"})
    respx_mock.get(f"{BASE}/jobs/j9").respond(200, json={"status": "failed", "error": "boom"})
    handle = await Router().submit_video_async(config(), REQUEST)
    with pytest.raises(GenerationFailedError) as caught:
        await Router().resume_async(handle, config=config())
    assert submit.call_count == 1
    meta = caught.value.execution_metadata
    assert meta is not None and meta.attempts[0].status == "failed"


async def test_a_failed_submit_carries_its_attempt(respx_mock: respx.MockRouter) -> None:
    """submit_* failing raises with the attempt's metadata (it had none before)."""
    respx_mock.post(f"{BASE}/jobs").mock(return_value=httpx.Response(500, json={"message": "x"}))
    with pytest.raises(ProviderServerError) as caught:
        await Router().submit_video_async(config(max_retries=0), REQUEST)
    meta = caught.value.execution_metadata
    assert meta is not None and meta.attempts[0].status == "failed"
