"""The provider kit: what every provider client gets from the base and the spec mapping."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import anyio
import httpx
import pytest
import respx
from pydantic import SecretStr

from tarash.tarash_gateway import _sse
from tarash.tarash_gateway._http import CallContext
from tarash.tarash_gateway._polling import JobState
from tarash.tarash_gateway.errors import (
    GenerationFailedError,
    HTTPConnectionError,
    ProviderServerError,
)
from tarash.tarash_gateway.models import JobHandle
from tarash.tarash_gateway.providers._base import ProviderSettings
from tarash.tarash_gateway.providers.fal import FalClient
from tarash.tarash_gateway.providers.replicate import ReplicateClient

pytestmark = pytest.mark.anyio

FAL = "https://queue.fal.test"
REPLICATE = "https://api.replicate.test"


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    """A respx router where every route must be called."""
    with respx.mock(assert_all_called=True) as mock:
        yield mock


def fal_handle(request_id: str) -> JobHandle:
    root = f"{FAL}/fal-ai/veo3/requests/{request_id}"
    return JobHandle(
        kind="video",
        provider="fal",
        model="fal-ai/veo3",
        request_id=request_id,
        base_url=FAL,
        status_url=f"{root}/status",
        result_url=root,
        cancel_url=f"{root}/cancel",
        submitted_at=datetime.now(UTC),
    )


def replicate_handle(request_id: str) -> JobHandle:
    return JobHandle(
        kind="video",
        provider="replicate",
        model="google/veo-3",
        request_id=request_id,
        base_url=REPLICATE,
        submitted_at=datetime.now(UTC),
    )


class Overlap:
    """Two replies answered in an order that interleaves their calls: the first call's
    reply comes only once the second call is on the wire."""

    def __init__(self) -> None:
        self.second_sent = anyio.Event()
        self.first_answered = anyio.Event()

    async def first(self, reply: httpx.Response) -> httpx.Response:
        await self.second_sent.wait()
        self.first_answered.set()
        return reply

    async def second(self, reply: httpx.Response) -> httpx.Response:
        self.second_sent.set()
        await self.first_answered.wait()
        return reply


# ---------------------------------------------------------------------------------------
# parse_error gets each call's own operation and job (no shared mutable state)
# ---------------------------------------------------------------------------------------


async def test_overlapping_calls_parse_errors_with_their_own_operation(
    router: respx.MockRouter,
) -> None:
    """A result's 5xx read while a poll is in flight on the same client is still a result's."""
    fal = FalClient(
        ProviderSettings(
            model="fal-ai/veo3", base_url=FAL, api_key=SecretStr("id:secret"), max_attempts=1
        )
    )
    overlap = Overlap()
    app_failure = httpx.Response(
        500, json={"detail": "the app crashed"}, headers={"x-fal-request-id": "job-a"}
    )
    router.get(f"{FAL}/fal-ai/veo3/requests/job-a").mock(
        side_effect=lambda request: overlap.first(app_failure)
    )
    router.get(f"{FAL}/fal-ai/veo3/requests/job-b/status").mock(
        side_effect=lambda request: overlap.second(
            httpx.Response(200, json={"status": "IN_PROGRESS"})
        )
    )
    errors: list[BaseException] = []

    async def fetch() -> None:
        try:
            await fal.fetch_video(fal_handle("job-a"), None)  # type: ignore[arg-type]
        except Exception as exc:
            errors.append(exc)

    async with anyio.create_task_group() as group:
        group.start_soon(fetch)
        group.start_soon(fal.poll, fal_handle("job-b"))
    # The app's own 5xx on a result read is the job's failure, not a retryable edge fault.
    assert len(errors) == 1
    assert type(errors[0]) is GenerationFailedError
    assert not errors[0].retryable


async def test_overlapping_calls_parse_errors_with_their_own_request_id(
    router: respx.MockRouter,
) -> None:
    """A poll's error names its own job even when a cancel for another job overlaps it."""
    replicate = ReplicateClient(
        ProviderSettings(
            model="google/veo-3", base_url=REPLICATE, api_key=SecretStr("r8_x"), max_attempts=1
        )
    )
    overlap = Overlap()
    router.get(f"{REPLICATE}/v1/predictions/job-a").mock(
        side_effect=lambda request: overlap.first(
            httpx.Response(500, json={"title": "Internal", "detail": "boom"})
        )
    )
    router.post(f"{REPLICATE}/v1/predictions/job-b/cancel").mock(
        side_effect=lambda request: overlap.second(
            httpx.Response(200, json={"id": "job-b", "status": "canceled"})
        )
    )
    errors: list[BaseException] = []

    async def poll() -> None:
        try:
            await replicate.poll(replicate_handle("job-a"))
        except Exception as exc:
            errors.append(exc)

    async with anyio.create_task_group() as group:
        group.start_soon(poll)
        group.start_soon(replicate.cancel, replicate_handle("job-b"))
    assert len(errors) == 1
    assert isinstance(errors[0], ProviderServerError)
    assert errors[0].request_id == "job-a"


def test_a_one_argument_parse_error_still_works() -> None:
    """A client written to the earlier parse_error(response) protocol is still called."""

    class OldStyle(FalClient):
        def parse_error(self, response: httpx.Response) -> Any:  # type: ignore[override]
            return GenerationFailedError(f"old style {response.status_code}")

    client = OldStyle(ProviderSettings(model="fal-ai/veo3", base_url=FAL))
    reply = httpx.Response(418, request=httpx.Request("GET", FAL))
    error = client.request_context.parse_error(reply, CallContext("status", "job"))
    assert str(error) == "old style 418"


async def test_a_stream_event_that_is_not_an_object_breaks_the_stream(
    router: respx.MockRouter,
) -> None:
    """An SSE event that is JSON but no object ends the stream as broken (the job is polled)."""
    fal = FalClient(ProviderSettings(model="fal-ai/veo3", base_url=FAL, api_key=SecretStr("i:s")))
    router.get(f"{FAL}/fal-ai/veo3/requests/job-a/status/stream").respond(
        200, content=b'data: {"status": "IN_QUEUE"}\n\ndata: [1, 2]\n\n'
    )
    events = fal.watch(fal_handle("job-a"))
    assert events is not None
    seen: list[JobState] = []

    async def follow() -> None:
        async for snapshot in events:
            seen.append(snapshot.state)

    with pytest.raises(HTTPConnectionError, match="not a JSON object"):
        await follow()
    assert seen == [JobState.QUEUED]
    assert _sse.stream_limiter().borrowed_tokens == 0
