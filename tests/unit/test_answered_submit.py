"""A submit answered in its request (OpenAI and Google images, Stability) is the whole
answer: the attempt takes its output, and never polls, fetches, looks at or cancels a job
that does not exist, nor hands one to the watcher."""

from __future__ import annotations

import base64
from typing import Any

import anyio
import httpx
import pytest
import respx
from pydantic import SecretStr

from tarash.tarash_gateway.engine._polling import JobSnapshot, JobState
from tarash.tarash_gateway.errors import GenerationFailedError, ValidationError
from tarash.tarash_gateway.models import (
    AttemptMetadata,
    ImageGenerationConfig,
    ImageGenerationRequest,
    ImageGenerationUpdate,
    JobHandle,
)
from tarash.tarash_gateway.providers import get_provider_class
from tarash.tarash_gateway.providers._base import (
    AnsweredSubmit,
    ImageOutput,
    ProviderClient,
    ProviderSettings,
    SubmittedJob,
)
from tarash.tarash_gateway.router import Router
from tarash.tarash_gateway.routing._attempt import AttemptHooks, JobAbandoned, JobAccepted
from tarash.tarash_gateway.routing._limits import ProviderLimit
from tarash.tarash_gateway.routing._watch import JOB_WATCHER
from tests._emulator import tiny_png
from tests._limit_rows import account_row

pytestmark = pytest.mark.anyio

PNG = tiny_png()
PNG_URI = f"data:image/png;base64,{base64.b64encode(PNG).decode()}"
STABILITY = "https://api.stability.test"
OPENAI = "https://api.openai.test/v1"
REQUEST = ImageGenerationRequest(prompt="a lighthouse")


def stability_config(**kwargs: Any) -> ImageGenerationConfig:
    return ImageGenerationConfig(
        provider="stability",
        model="stable-image-core",
        api_key="sk-stability-answer-1",
        base_url=STABILITY,
        **kwargs,
    )


def stability_reply(finish_reason: str = "SUCCESS") -> httpx.Response:
    return httpx.Response(
        200,
        content=PNG,
        headers={"content-type": "image/png", "finish-reason": finish_reason, "x-request-id": "r1"},
    )


def handle() -> JobHandle:
    return JobHandle(
        kind="image",
        provider="stability",
        model="stable-image-core",
        request_id="r1",
        base_url=STABILITY,
        submitted_at="2026-01-01T00:00:00Z",  # type: ignore[arg-type]
    )


def test_an_answer_is_terminal_and_a_completed_one_carries_its_output() -> None:
    """AnsweredSubmit is a SubmittedJob whose snapshot is terminal; COMPLETED needs output."""
    done = AnsweredSubmit.completed(handle(), {"a": 1}, ImageOutput(images=[PNG]))
    assert isinstance(done, SubmittedJob)
    assert done.snapshot.state is JobState.COMPLETED
    failed = AnsweredSubmit.failed(handle(), {}, GenerationFailedError("no"))
    assert (failed.snapshot.state, failed.output) == (JobState.FAILED, None)
    with pytest.raises(ValueError, match="output"):
        AnsweredSubmit(handle(), JobSnapshot(JobState.COMPLETED, {}))
    with pytest.raises(ValueError, match="terminal"):
        AnsweredSubmit(handle(), JobSnapshot(JobState.PROCESSING, {}))


@pytest.mark.parametrize(
    ("provider", "reply_route", "reply"),
    [
        ("stability", f"{STABILITY}/v2beta/stable-image/generate/core", stability_reply()),
        (
            "openai",
            f"{OPENAI}/images/generations",
            httpx.Response(200, json={"data": [{"b64_json": base64.b64encode(PNG).decode()}]}),
        ),
    ],
)
async def test_the_client_keeps_nothing_between_the_submit_and_the_result(
    respx_mock: respx.MockRouter, provider: str, reply_route: str, reply: httpx.Response
) -> None:
    """The submit returns the image itself: the client holds no per-job state afterwards."""
    respx_mock.post(reply_route).mock(return_value=reply)
    base = STABILITY if provider == "stability" else OPENAI
    model = "stable-image-core" if provider == "stability" else "gpt-image-1"
    client: ProviderClient = get_provider_class(provider)(
        ProviderSettings(model=model, base_url=base, api_key=SecretStr("sk-answer-2"))
    )
    before = dict(vars(client))
    job = client.prepare_image(REQUEST)
    submitted = await client.submit(job, time_left=None)
    assert isinstance(submitted, AnsweredSubmit)
    assert isinstance(submitted.output, ImageOutput)
    assert submitted.output.images == [PNG_URI]
    assert vars(client).keys() == before.keys()
    with pytest.raises(ValidationError):
        await client.fetch_image(submitted.handle, submitted.snapshot)


async def test_progress_and_hooks_hear_of_the_answer(respx_mock: respx.MockRouter) -> None:
    """The answer is announced (on_accepted, with its request id) and reported once as the
    completed update carrying the response; no status call is made."""
    route = respx_mock.post(f"{STABILITY}/v2beta/stable-image/generate/core").mock(
        return_value=stability_reply()
    )
    accepted: list[JobAccepted] = []
    updates: list[ImageGenerationUpdate] = []
    response = await Router().run_async(
        stability_config(),
        REQUEST,
        on_progress=updates.append,
        hooks=AttemptHooks(on_accepted=accepted.append),
    )
    assert [event.handle.request_id for event in accepted] == ["r1"]
    assert [(update.status, update.result is response) for update in updates] == [
        ("completed", True)
    ]
    assert response.images == [PNG_URI]
    assert route.call_count == 1


async def test_an_unknown_verdict_leaves_nothing_running(respx_mock: respx.MockRouter) -> None:
    """An unknown finish_reason fails the request, which is over: no give-up, no job handed
    to the watcher, the slot is free at once (a status call would be refused anyway)."""
    respx_mock.post(f"{STABILITY}/v2beta/stable-image/generate/core").mock(
        return_value=stability_reply("SOMETHING_NEW")
    )
    router = Router(limits={"stability": ProviderLimit(max_concurrent=1)})
    with pytest.raises(GenerationFailedError, match="SOMETHING_NEW"):
        await router.generate_image_async(stability_config(), REQUEST)
    assert account_row(router.snapshot().limits, "stability").in_flight == 0
    assert JOB_WATCHER.watching == 0


async def test_a_hook_that_refuses_the_answer_cancels_nothing(
    respx_mock: respx.MockRouter,
) -> None:
    """on_accepted raising stops the request; with no job there, nothing is looked at or
    cancelled, nothing runs on, and the answer is billed in full."""
    respx_mock.post(f"{STABILITY}/v2beta/stable-image/generate/core").mock(
        return_value=stability_reply()
    )
    ended: list[AttemptMetadata] = []

    def refuse(event: JobAccepted) -> None:
        raise RuntimeError("the ledger is gone")

    router = Router(limits={"stability": ProviderLimit(max_concurrent=1)})
    with pytest.raises(RuntimeError, match="ledger"):
        await router.run_async(
            stability_config(),
            REQUEST,
            hooks=AttemptHooks(on_accepted=refuse, on_attempt_end=ended.append),
        )
    assert len(respx_mock.calls) == 1  # the create only
    assert account_row(router.snapshot().limits, "stability").in_flight == 0
    assert JOB_WATCHER.watching == 0
    assert [meta.request_id for meta in ended] == ["r1"]


async def test_an_answer_to_a_cancelled_caller_is_over_not_left_running(
    respx_mock: respx.MockRouter,
) -> None:
    """The caller is cancelled while the create is on the wire: the reply is awaited, no
    cancel is sent (there is no job), the hook hears of a request not cancelled (billed),
    and no job is handed to the watcher: the slot is free at once."""
    scope = anyio.CancelScope()

    def create(request: httpx.Request) -> httpx.Response:
        scope.cancel()  # the caller gives up while the reply is on its way
        return stability_reply()

    respx_mock.post(f"{STABILITY}/v2beta/stable-image/generate/core").mock(side_effect=create)
    abandoned: list[JobAbandoned] = []
    router = Router(limits={"stability": ProviderLimit(max_concurrent=1)})
    with scope:
        await router.run_async(
            stability_config(), REQUEST, hooks=AttemptHooks(on_abandoned=abandoned.append)
        )
    assert scope.cancelled_caught
    assert [(event.handle.request_id, event.cancelled) for event in abandoned] == [("r1", False)]
    assert len(respx_mock.calls) == 1
    assert account_row(router.snapshot().limits, "stability").in_flight == 0
    assert JOB_WATCHER.watching == 0


async def test_an_answer_without_an_image_is_a_failed_answer(respx_mock: respx.MockRouter) -> None:
    """A create answered 200 with no image is the provider's verdict (GenerationFailedError,
    a fallback may follow), reported as a failed update; nothing more is sent."""
    route = respx_mock.post(f"{OPENAI}/images/generations").respond(200, json={"data": []})
    updates: list[ImageGenerationUpdate] = []
    config = ImageGenerationConfig(
        provider="openai", model="gpt-image-1", api_key="sk-answer-3", base_url=OPENAI
    )
    with pytest.raises(GenerationFailedError, match="returned no image") as caught:
        await Router().run_async(config, REQUEST, on_progress=updates.append)
    assert caught.value.fallback_allowed is True
    assert [update.status for update in updates] == ["failed"]
    assert route.call_count == 1 and len(respx_mock.calls) == 1
