"""The provider kit: what every provider client gets from the base and the spec mapping."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from datetime import UTC, date, datetime
from types import MappingProxyType
from typing import Any

import anyio
import httpx
import pytest
import respx
from pydantic import SecretStr

from tarash.tarash_gateway.api import generate_video_async
from tarash.tarash_gateway.engine import _sse
from tarash.tarash_gateway.engine._http import CallContext
from tarash.tarash_gateway.engine._polling import JobState
from tarash.tarash_gateway.errors import (
    GenerationFailedError,
    HTTPConnectionError,
    NotFoundError,
    ProviderServerError,
    ValidationError,
)
from tarash.tarash_gateway.models import JobHandle, VideoGenerationConfig, VideoGenerationRequest
from tarash.tarash_gateway.providers import _lifecycle
from tarash.tarash_gateway.providers._base import ProviderSettings
from tarash.tarash_gateway.providers._lifecycle import (
    ModelDeprecatedWarning,
    ModelRetiredWarning,
    Retirement,
)
from tarash.tarash_gateway.providers._spec import (
    Composed,
    ModelCapabilities,
    ModelSpec,
    map_request,
    pixel_size,
    value_table,
)
from tarash.tarash_gateway.providers.fal import FalClient
from tarash.tarash_gateway.providers.replicate import ReplicateClient
from tests.unit.fake_provider import BASE as FAKE_BASE
from tests.unit.fake_provider import FAKE_KEY

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


# ---------------------------------------------------------------------------------------
# Handles and unknown statuses, built once in the base
# ---------------------------------------------------------------------------------------


def test_new_handle_keeps_only_urls_on_the_api_origin() -> None:
    """Reply URLs off the API's origin give way to the provider's built ones."""
    fal = FalClient(ProviderSettings(model="fal-ai/veo3/fast", base_url=FAL, api_version="v9"))
    handle = fal.new_handle(
        "video",
        "job-a",
        status_url=f"{FAL}/fal-ai/veo3/requests/job-a/status?x=1",
        result_url="https://evil.test/steal",
        cancel_url=None,
    )
    root = f"{FAL}/fal-ai/veo3/requests/job-a"
    assert handle.status_url == f"{root}/status?x=1"
    assert handle.result_url == root
    assert handle.cancel_url == f"{root}/cancel"
    assert (handle.provider, handle.model, handle.request_id) == (
        "fal",
        "fal-ai/veo3/fast",
        "job-a",
    )
    assert handle.api_version == "v9"
    assert handle.submitted_at.tzinfo is not None


def test_job_url_rechecks_an_edited_handle() -> None:
    """A resumed handle whose URL was edited off the API's origin is not followed."""
    replicate = ReplicateClient(ProviderSettings(model="google/veo-3", base_url=REPLICATE))
    edited = replicate_handle("job-a").model_copy(
        update={"status_url": "https://evil.test/v1/predictions/job-a"}
    )
    assert replicate.job_url(edited, "status") == f"{REPLICATE}/v1/predictions/job-a"
    assert replicate.job_url(edited, "cancel") == f"{REPLICATE}/v1/predictions/job-a/cancel"


@pytest.mark.parametrize(
    ("client", "words"),
    [
        (FalClient(ProviderSettings(model="fal-ai/veo3", base_url=FAL)), "fal reported"),
        (
            ReplicateClient(ProviderSettings(model="google/veo-3", base_url=REPLICATE)),
            "Replicate reported an unknown prediction status 'exploded'",
        ),
    ],
)
def test_unknown_status_is_a_failure_not_understood(client: Any, words: str) -> None:
    """Every provider maps a status it does not know to FAILED, understood=False."""
    snapshot = client.unknown_status({"status": "exploded"}, "exploded", request_id="job-a")
    assert snapshot.state is JobState.FAILED
    assert not snapshot.understood
    assert type(snapshot.error) is GenerationFailedError
    assert words in str(snapshot.error)
    assert snapshot.error.request_id == "job-a"


async def test_the_fake_provider_cancels_a_job_with_an_unknown_status(
    router: respx.MockRouter,
) -> None:
    """An unknown status ends the wait and stops the remote job (the fake forgot to)."""
    router.post(f"{FAKE_BASE}/jobs").respond(200, json={"id": "j1", "status": "queued"})
    router.get(f"{FAKE_BASE}/jobs/j1").respond(200, json={"status": "exploded"})
    cancel = router.post(f"{FAKE_BASE}/jobs/j1/cancel").respond(200, json={})
    config = VideoGenerationConfig(
        provider="fake", model="t2v", api_key=FAKE_KEY, base_url=FAKE_BASE, poll_interval=0.01
    )
    with pytest.raises(GenerationFailedError, match="unknown job status 'exploded'"):
        await generate_video_async(config, VideoGenerationRequest(prompt="a cat"))
    assert cancel.call_count == 1


# ---------------------------------------------------------------------------------------
# A request field the model has no input for: noted by every provider, refused when strict
# ---------------------------------------------------------------------------------------

KLING = "fal-ai/kling-video/v2.1/standard/image-to-video"
FRAME = "https://cdn.test/frame.png"


def fal_config(**fields: Any) -> VideoGenerationConfig:
    return VideoGenerationConfig(
        provider="fal",
        model=KLING,
        base_url=FAL,
        api_key="id:secret",
        provider_config={"status_stream": False},
        **fields,
    )


def replicate_config(**fields: Any) -> VideoGenerationConfig:
    return VideoGenerationConfig(
        provider="replicate", model="google/veo-3", base_url=REPLICATE, api_key="r8_x", **fields
    )


@pytest.mark.parametrize(
    ("client", "model"),
    [
        (FalClient(ProviderSettings(model=KLING, base_url=FAL)), KLING),
        (
            ReplicateClient(ProviderSettings(model="google/veo-3", base_url=REPLICATE)),
            "google/veo-3",
        ),
    ],
)
def test_every_provider_notes_what_the_model_has_no_input_for(client: Any, model: str) -> None:
    """enhance_prompt=True on a model without that input is noted as not sent, alike."""
    request = VideoGenerationRequest(
        prompt="a cat",
        enhance_prompt=True,
        image_list=[{"image": FRAME, "type": "first_frame"}],
    )
    job = client.prepare_video(request)
    assert f"enhance_prompt: True not sent ({model} has no input for it)" in job.adaptations
    assert "enhance_prompt" not in str(job.payload)


@pytest.mark.parametrize(("config", "seconds"), [(fal_config, 10), (replicate_config, 8)])
async def test_strict_parameters_refuses_a_field_the_model_has_no_input_for(
    respx_mock: respx.MockRouter, config: Any, seconds: int
) -> None:
    """Under strict_parameters, a value that would not be sent is refused before any call."""
    request = VideoGenerationRequest(
        prompt="a cat",
        enhance_prompt=True,
        duration_seconds=seconds,
        image_list=[{"image": FRAME, "type": "first_frame"}],
    )
    with pytest.raises(ValidationError, match="enhance_prompt: True not sent"):
        await generate_video_async(config(strict_parameters=True), request)
    assert not respx_mock.calls


def test_a_model_that_takes_no_prompt_is_no_reason_for_a_note() -> None:
    """The prompt every request carries is not noted when a model has no input for it."""
    spec = ModelSpec(capabilities=ModelCapabilities(kind="video"), inputs={"seed": "seed"})
    mapped = map_request(spec, VideoGenerationRequest(prompt="a cat", seed=1), model="m")
    assert mapped.payload == {"seed": 1}
    assert mapped.notes == []


def test_media_not_sent_are_noted_without_quoting_them() -> None:
    """An image the model has no input for is noted by its role, its URL not quoted."""
    spec = ModelSpec(capabilities=ModelCapabilities(kind="video"), inputs={"prompt": "prompt"})
    request = VideoGenerationRequest(
        prompt="a cat",
        duration_seconds=5,
        image_list=[{"image": f"{FRAME}?token=secret", "type": "last_frame"}],
    )
    mapped = map_request(spec, request, model="m")
    assert mapped.notes == [
        "duration_seconds: 5 not sent (m has no input for it)",
        "image_list (last_frame): not sent (m has no input for it)",
    ]
    assert mapped.summary == {"duration_seconds": None}
    assert "token" not in str(mapped.notes)


# ---------------------------------------------------------------------------------------
# ModelSpec: composed wire values and per-model endpoints
# ---------------------------------------------------------------------------------------

SIZED = ModelSpec(
    capabilities=ModelCapabilities(kind="video"),
    inputs={"prompt": "prompt"},
    composed=(Composed("size", ("aspect_ratio", "resolution"), pixel_size("x")),),
)


@pytest.mark.parametrize(
    ("ratio", "resolution", "size"),
    [
        ("16:9", "720p", "1280x720"),
        ("9:16", "720p", "720x1280"),
        ("16:9", None, "1280x720"),
        (None, "1080p", "1920x1080"),
        ("1:1", "4k", "2160x2160"),
        ("21:9", "1080p", "2520x1080"),
    ],
)
def test_pixel_size_builds_width_by_height(
    ratio: str | None, resolution: str | None, size: str
) -> None:
    """aspect_ratio + resolution become one "WxH" field (the resolution is the short side)."""
    request = VideoGenerationRequest(prompt="a cat", aspect_ratio=ratio, resolution=resolution)
    mapped = map_request(SIZED, request, model="m")
    assert mapped.payload == {"prompt": "a cat", "size": size}
    assert mapped.notes == []


def test_a_composed_field_is_left_out_when_neither_concept_is_set() -> None:
    """No aspect ratio and no resolution: no size is sent, nothing is noted."""
    mapped = map_request(SIZED, VideoGenerationRequest(prompt="a cat"), model="m")
    assert mapped.payload == {"prompt": "a cat"}
    assert mapped.notes == []


def test_pixel_size_takes_the_separator_runway_uses() -> None:
    """Runway's ratio is "1280:720": the same builder with ':'."""
    assert pixel_size(":")(aspect_ratio="9:16", resolution="720p") == "720:1280"
    assert pixel_size()(aspect_ratio="auto", resolution="720p") is None


def test_value_table_looks_up_every_concept_and_notes_what_it_lacks() -> None:
    """A table builder maps known pairs; a pair not in it is noted as not sent."""
    spec = ModelSpec(
        capabilities=ModelCapabilities(kind="video"),
        inputs={"prompt": "prompt"},
        composed=(
            Composed(
                "ratio",
                ("aspect_ratio", "resolution"),
                value_table({("16:9", "720p"): "1280:720", ("16:9", None): "1280:720"}),
            ),
        ),
    )
    known = map_request(
        spec, VideoGenerationRequest(prompt="a", aspect_ratio="16:9", resolution="720p"), model="m"
    )
    assert known.payload["ratio"] == "1280:720"
    alone = map_request(spec, VideoGenerationRequest(prompt="a", aspect_ratio="16:9"), model="m")
    assert alone.payload["ratio"] == "1280:720"
    unknown = map_request(
        spec, VideoGenerationRequest(prompt="a", aspect_ratio="1:1", resolution="720p"), model="m"
    )
    assert "ratio" not in unknown.payload
    assert unknown.notes == [
        "aspect_ratio: '1:1' not sent (m has no input for it)",
        "resolution: '720p' not sent (m has no input for it)",
    ]
    assert unknown.summary == {"aspect_ratio": None, "resolution": None}


def test_composed_concepts_are_spelt_by_values_first() -> None:
    """A composed builder sees each concept as the model's values table spells it."""
    seen: dict[str, Any] = {}

    def build(**values: Any) -> str:
        seen.update(values)
        return "ok"

    spec = ModelSpec(
        capabilities=ModelCapabilities(kind="video"),
        inputs={"prompt": "prompt"},
        values={"resolution": {"720p": "HD"}},
        composed=(Composed("size", ("aspect_ratio", "resolution"), build),),
    )
    map_request(spec, VideoGenerationRequest(prompt="a", resolution="720p"), model="m")
    assert seen == {"aspect_ratio": None, "resolution": "HD"}


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"composed": (Composed("size", ("colour",), pixel_size()),)}, "unknown concepts"),
        (
            {
                "inputs": {"aspect_ratio": "aspect_ratio"},
                "composed": (Composed("size", ("aspect_ratio",), pixel_size()),),
            },
            "both alone and composed",
        ),
        ({"endpoint": "v2beta/generate"}, "start it with /"),
    ],
)
def test_a_malformed_spec_is_refused_when_written(fields: dict[str, Any], words: str) -> None:
    """Registry mistakes (unknown concept, a concept mapped twice, a relative endpoint) fail
    at import, not on a user's request."""
    values: dict[str, Any] = {"inputs": {"prompt": "prompt"}, **fields}
    with pytest.raises(ValueError, match=words):
        ModelSpec(capabilities=ModelCapabilities(kind="image"), **values)


def test_an_endpoint_rides_on_the_spec() -> None:
    """A model's endpoint is registry data the provider reads (Stability's per-model path)."""
    spec = ModelSpec(
        capabilities=ModelCapabilities(kind="image"),
        inputs={"prompt": "prompt"},
        endpoint="/v2beta/stable-image/generate/ultra",
    )
    assert spec.endpoint == "/v2beta/stable-image/generate/ultra"
    assert SIZED.endpoint == ""


# ---------------------------------------------------------------------------------------
# Model lifecycle: a retired model warns once, is still sent, and its refusal names the
# successor
# ---------------------------------------------------------------------------------------

OLD = "acme/old-video"


class RetiringFal(FalClient):
    """fal with one registered model that its provider retired."""

    models = MappingProxyType(
        {
            OLD: ModelSpec(
                capabilities=ModelCapabilities(kind="video"),
                inputs={"prompt": "prompt"},
                lifecycle=Retirement(successor="acme/new-video", since=date(2026, 1, 2)),
            ),
            "acme/soon-gone": ModelSpec(
                capabilities=ModelCapabilities(kind="video"),
                inputs={"prompt": "prompt"},
                lifecycle=Retirement(successor="acme/new-video", since=date(2999, 1, 1)),
            ),
        }
    )


@pytest.fixture
def fresh_warnings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Forget which models were warned about (once per process otherwise)."""
    monkeypatch.setattr(_lifecycle, "_warned", set())


@pytest.mark.usefixtures("fresh_warnings")
def test_a_retired_model_warns_once_naming_its_successor() -> None:
    """The first request for a retired model warns with the successor; later ones do not."""
    client = RetiringFal(ProviderSettings(model=OLD, base_url=FAL))
    with pytest.warns(ModelRetiredWarning, match="was retired on 2026-01-02; use acme/new-video"):
        job = client.prepare_video(VideoGenerationRequest(prompt="a cat"))
    assert job.payload == {"prompt": "a cat"}
    again = RetiringFal(ProviderSettings(model=OLD, base_url=FAL))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        again.prepare_video(VideoGenerationRequest(prompt="a cat"))


@pytest.mark.usefixtures("fresh_warnings")
def test_a_model_announced_for_retirement_is_deprecated_until_then() -> None:
    """Before its date a model warns as deprecated (a ModelDeprecatedWarning), not retired."""
    client = RetiringFal(ProviderSettings(model="acme/soon-gone", base_url=FAL))
    with pytest.warns(ModelDeprecatedWarning, match="will be retired on 2999-01-01") as seen:
        client.prepare_video(VideoGenerationRequest(prompt="a cat"))
    assert not any(isinstance(item.message, ModelRetiredWarning) for item in seen)


@pytest.mark.usefixtures("fresh_warnings")
async def test_the_providers_refusal_of_a_retired_model_names_the_successor(
    router: respx.MockRouter,
) -> None:
    """The request still goes out; a 404 for it is a NotFoundError repeating the successor."""
    client = RetiringFal(ProviderSettings(model=OLD, base_url=FAL, api_key=SecretStr("i:s")))
    with pytest.warns(ModelRetiredWarning):
        job = client.prepare_video(VideoGenerationRequest(prompt="a cat"))
    submit = router.post(f"{FAL}/{OLD}").respond(404, json={"detail": "Application not found"})
    with pytest.raises(NotFoundError, match=r"not found.*use acme/new-video") as info:
        await client.submit(job, time_left=None)
    assert submit.call_count == 1
    assert info.value.status_code == 404


def test_an_active_models_refusal_is_left_as_it_is() -> None:
    """A model with no lifecycle entry gets the provider's own error, unchanged."""
    client = FalClient(ProviderSettings(model="fal-ai/veo3", base_url=FAL))
    error = NotFoundError("Application not found", provider="fal", status_code=404)
    assert client.retired_model_error(error) is error


# ---------------------------------------------------------------------------------------
# Error bodies, read once for every provider's error mapping
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reply", "fields", "text", "raw"),
    [
        (httpx.Response(500, json={"detail": "boom"}), {"detail": "boom"}, "", {"detail": "boom"}),
        (
            httpx.Response(502, text="  <html>bad gateway</html> "),
            {},
            "<html>bad gateway</html>",
            "<html>bad gateway</html>",
        ),
        (httpx.Response(500, json=["a"]), {}, '["a"]', ["a"]),
        (httpx.Response(500, text="x" * 2000), {}, "x" * 500, "x" * 500),
    ],
)
def test_error_body_reads_a_failed_reply_once(
    reply: httpx.Response, fields: dict[str, Any], text: str, raw: Any
) -> None:
    """Fields of a JSON object, else the (cut) text for the message and raw_response."""
    body = FalClient.error_body(reply)
    assert (body.fields, body.text, body.raw) == (fields, text, raw)


def test_a_replicate_html_error_keeps_its_text() -> None:
    """A proxy's HTML error page is the message and the raw response (it was dropped)."""
    client = ReplicateClient(ProviderSettings(model="google/veo-3", base_url=REPLICATE))
    error = client.parse_error(httpx.Response(503, text="<h1>upstream down</h1>"))
    assert isinstance(error, ProviderServerError)
    assert str(error) == "<h1>upstream down</h1>"
    assert error.raw_response == "<h1>upstream down</h1>"
