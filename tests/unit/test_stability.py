"""The Stability client on the wire (respx): endpoint per model, the multipart form, both
reply shapes, finish reasons, every error status, retries, lifecycle and secrets."""

from __future__ import annotations

import base64
import email.parser
import email.policy
import json
import warnings
from pathlib import Path
from typing import Any

import anyio
import anyio.lowlevel
import httpx
import pytest
import respx
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from tarash.tarash_gateway import generate_image, generate_image_async, generate_video_async
from tarash.tarash_gateway.errors import (
    AuthenticationError,
    ContentModerationError,
    GenerationFailedError,
    InsufficientCreditError,
    NotFoundError,
    ProviderServerError,
    RateLimitError,
    TarashException,
    ValidationError,
)
from tarash.tarash_gateway.models import (
    ImageGenerationConfig,
    ImageGenerationRequest,
    JobHandle,
    VideoGenerationConfig,
    VideoGenerationRequest,
)
from tarash.tarash_gateway.providers import _lifecycle, get_provider_class
from tarash.tarash_gateway.providers._base import ProviderSettings
from tarash.tarash_gateway.providers._lifecycle import ModelRetiredWarning
from tarash.tarash_gateway.providers.stability import StabilityClient
from tests._emulator import tiny_png

pytestmark = pytest.mark.anyio

BASE = "https://api.stability.test"
KEY = "sk-canary-stability-4471"
GENERATE = f"{BASE}/v2beta/stable-image/generate"
PNG = tiny_png()
PNG_URI = f"data:image/png;base64,{base64.b64encode(PNG).decode()}"


def config(model: str = "stable-image-core", **kwargs: Any) -> ImageGenerationConfig:
    return ImageGenerationConfig(
        provider="stability", model=model, api_key=KEY, base_url=BASE, **kwargs
    )


def request(**kwargs: Any) -> ImageGenerationRequest:
    return ImageGenerationRequest(prompt="a lighthouse", **kwargs)


def image_reply(
    finish_reason: str = "SUCCESS", content: bytes = PNG, content_type: str = "image/png"
) -> httpx.Response:
    return httpx.Response(
        200,
        content=content,
        headers={
            "content-type": content_type,
            "finish-reason": finish_reason,
            "seed": "343940597",
            "x-request-id": "a1b2c3d4e5f60718293a4b5c6d7e8f90",
        },
    )


def json_reply(finish_reason: str = "SUCCESS", image: bytes = PNG) -> httpx.Response:
    return httpx.Response(
        200,
        json={
            "image": base64.b64encode(image).decode(),
            "finish_reason": finish_reason,
            "seed": 343940597,
        },
        headers={"content-type": "application/json; type=image/png", "x-request-id": "r-1"},
    )


def error_reply(status: int, name: str, *errors: str, **headers: str) -> httpx.Response:
    body = {"id": "0123456789abcdef0123456789abcdef", "name": name, "errors": list(errors)}
    return httpx.Response(status, json=body, headers=headers)


def form_of(sent: httpx.Request) -> dict[str, tuple[str | None, bytes]]:
    """The multipart form a request carried: name -> (filename, content)."""
    content_type = sent.headers["content-type"]
    assert content_type.startswith("multipart/form-data; boundary=")
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + sent.content)
    found: dict[str, tuple[str | None, bytes]] = {}
    for part in message.iter_parts():
        payload = part.get_payload(decode=True)
        assert isinstance(payload, bytes)
        found[str(part.get_param("name", header="content-disposition"))] = (
            part.get_filename(),
            payload,
        )
    return found


def fields_of(sent: httpx.Request) -> dict[str, str]:
    return {name: value.decode() for name, (_, value) in form_of(sent).items()}


@pytest.fixture(autouse=True)
def _fresh_lifecycle_warnings() -> None:
    """Each test sees the once-per-process retirement warning afresh."""
    _lifecycle._warned.clear()


# -- registry and mapping ---------------------------------------------------------------


def test_registry_resolves_the_client() -> None:
    """ "stability" is this client, keyed by STABILITY_API_KEY, with no remote cancel."""
    assert get_provider_class("stability") is StabilityClient
    assert StabilityClient.key_env_vars == ("STABILITY_API_KEY",)
    assert StabilityClient.supports_cancel is False


@pytest.mark.parametrize(
    ("model", "endpoint", "model_field"),
    [
        ("stable-image-ultra", "ultra", None),
        ("stable-image-core", "core", None),
        ("sd3.5-large", "sd3", "sd3.5-large"),
        ("sd3.5-large-turbo", "sd3", "sd3.5-large-turbo"),
        ("sd3.5-medium", "sd3", "sd3.5-medium"),
        ("sd3.5-flash", "sd3", "sd3.5-flash"),
        ("sd3.7-future", "sd3", "sd3.7-future"),
    ],
)
async def test_each_model_posts_to_its_endpoint(
    respx_mock: respx.MockRouter, model: str, endpoint: str, model_field: str | None
) -> None:
    """Ultra and Core have their own endpoints; SD 3.5 ids share sd3 and name themselves in
    its model field; the form carries the mapped fields and the Bearer key."""
    route = respx_mock.post(f"{GENERATE}/{endpoint}").mock(return_value=image_reply())
    await generate_image_async(
        config(model),
        request(negative_prompt="fog", seed=42, aspect_ratio="16:9", style="cinematic"),
    )
    sent = route.calls.last.request
    assert sent.headers["authorization"] == f"Bearer {KEY}"
    assert sent.headers["accept"] == "image/*"
    expected = {
        "prompt": "a lighthouse",
        "negative_prompt": "fog",
        "seed": "42",
        "aspect_ratio": "16:9",
        "style_preset": "cinematic",
    }
    if model_field is not None:
        expected["model"] = model_field
    assert fields_of(sent) == expected


async def test_extra_params_are_form_fields(respx_mock: respx.MockRouter) -> None:
    """Provider options (output_format, cfg_scale) go in the form as text."""
    route = respx_mock.post(f"{GENERATE}/sd3").mock(
        return_value=image_reply(content_type="image/jpeg")
    )
    response = await generate_image_async(
        config("sd3.5-large"), request(extra_params={"output_format": "jpeg", "cfg_scale": 4.5})
    )
    assert fields_of(route.calls.last.request)["output_format"] == "jpeg"
    assert fields_of(route.calls.last.request)["cfg_scale"] == "4.5"
    assert response.content_type == "image/jpeg"


async def test_unsupported_values_are_adapted_and_noted(respx_mock: respx.MockRouter) -> None:
    """4:3 becomes the nearest offered ratio, n is capped at one, size is not sent: each
    change is recorded; strict_parameters refuses them before sending."""
    route = respx_mock.post(f"{GENERATE}/core").mock(return_value=image_reply())
    response = await generate_image_async(
        config(), request(aspect_ratio="4:3", n=2, size="1024x768")
    )
    assert fields_of(route.calls.last.request)["aspect_ratio"] == "5:4"
    notes = " | ".join(response.execution_metadata.attempts[0].adaptations)
    assert "aspect_ratio" in notes
    assert "n" in notes
    assert "size: '1024x768' not sent" in notes
    with pytest.raises(ValidationError):
        await generate_image_async(config(strict_parameters=True), request(size="1024x768"))
    assert route.call_count == 1


async def test_image_to_image_uploads_the_file(respx_mock: respx.MockRouter) -> None:
    """An input image is the form's image file with strength; SD 3.5 switches mode to
    image-to-image and leaves the aspect ratio out (noted)."""
    route = respx_mock.post(f"{GENERATE}/sd3").mock(return_value=image_reply())
    response = await generate_image_async(
        config("sd3.5-medium"),
        request(
            image_list=[{"image": PNG, "type": "reference"}],
            aspect_ratio="16:9",
            extra_params={"strength": 0.6},
        ),
    )
    form = form_of(route.calls.last.request)
    assert form["image"] == ("image.png", PNG)
    assert form["strength"] == (None, b"0.6")
    assert form["mode"] == (None, b"image-to-image")
    assert "aspect_ratio" not in form
    assert any(
        "aspect_ratio" in note for note in response.execution_metadata.attempts[0].adaptations
    )


async def test_ultra_takes_an_image_from_a_path(
    respx_mock: respx.MockRouter, tmp_path: Path
) -> None:
    """A local file is read and uploaded; Ultra takes no mode field."""
    route = respx_mock.post(f"{GENERATE}/ultra").mock(return_value=image_reply())
    source = tmp_path / "in.png"
    source.write_bytes(PNG)
    await generate_image_async(
        config("stable-image-ultra"),
        request(image_list=[{"image": source, "type": "reference"}], extra_params={"strength": 1}),
    )
    form = form_of(route.calls.last.request)
    assert form["image"][1] == PNG
    assert "mode" not in form


@pytest.mark.parametrize(
    ("model", "image", "extra", "fragment"),
    [
        ("stable-image-ultra", PNG, {}, "strength"),
        ("sd3.5-large", "https://cdn.test/in.png", {"strength": 0.5}, "upload"),
        ("stable-image-core", PNG, {"strength": 0.5}, "takes no input image"),
    ],
)
async def test_image_inputs_it_cannot_send_are_refused_before_sending(
    respx_mock: respx.MockRouter, model: str, image: Any, extra: dict[str, Any], fragment: str
) -> None:
    """No strength, a URL (Stability takes uploads) or Core's no-image rule: refused locally."""
    route = respx_mock.post(url__startswith=GENERATE).mock(return_value=image_reply())
    with pytest.raises(ValidationError, match=fragment) as caught:
        await generate_image_async(
            config(model),
            request(image_list=[{"image": image, "type": "reference"}], extra_params=extra),
        )
    assert caught.value.status_code is None
    assert route.call_count == 0


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        ({"cfg_scale": {"min": 1}}, "payload['cfg_scale']"),
        ({"tags": [1, None]}, "payload['tags'][1]"),
    ],
)
async def test_values_a_form_cannot_carry_are_refused_before_sending(
    respx_mock: respx.MockRouter, extra: dict[str, Any], named: str
) -> None:
    """JSON-fine values a multipart form cannot carry (a dict, None in a list) are a
    ValidationError naming the field, and nothing is sent."""
    route = respx_mock.post(url__startswith=GENERATE).mock(return_value=image_reply())
    with pytest.raises(ValidationError) as caught:
        await generate_image_async(config(), request(extra_params=extra))
    assert named in caught.value.message
    assert route.call_count == 0


async def test_bad_model_seed_and_options_are_refused_locally(respx_mock: respx.MockRouter) -> None:
    """An unknown model, an out-of-range seed, a bad accept option and video: no request."""
    route = respx_mock.post(url__startswith=GENERATE).mock(return_value=image_reply())
    with pytest.raises(ValidationError, match="unknown Stability model"):
        await generate_image_async(config("dall-e-3"), request())
    with pytest.raises(ValidationError, match="seed"):
        await generate_image_async(config(), request(seed=2**32))
    with pytest.raises(ValidationError, match="accept"):
        await generate_image_async(config(provider_config={"accept": "text/html"}), request())
    video = VideoGenerationConfig(provider="stability", model="stable-image-core", api_key=KEY)
    with pytest.raises(ValidationError, match="not videos"):
        await generate_video_async(video, VideoGenerationRequest(prompt="a cat"))
    assert route.call_count == 0


async def test_a_retired_id_warns_once_and_is_still_sent(respx_mock: respx.MockRouter) -> None:
    """sd3-large (re-routed by Stability since 2025-04-17) warns once naming sd3.5-large and
    goes out as written."""
    route = respx_mock.post(f"{GENERATE}/sd3").mock(return_value=image_reply())
    with pytest.warns(ModelRetiredWarning, match="sd3.5-large"):
        await generate_image_async(config("sd3-large"), request())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        await generate_image_async(config("sd3-large"), request())
    assert fields_of(route.calls.last.request)["model"] == "sd3-large"


# -- replies ------------------------------------------------------------------------------


async def test_bytes_reply_is_the_image_as_a_data_uri(
    respx_mock: respx.MockRouter, tmp_path: Path
) -> None:
    """accept image/*: the body's bytes are images[0] as the published data: URI, save()
    writes them, the finish reason and seed are in raw_response, no status call is made."""
    respx_mock.post(f"{GENERATE}/core").mock(return_value=image_reply())
    response = await generate_image_async(config(), request())
    assert response.images == [PNG_URI]
    assert response.request_id == "a1b2c3d4e5f60718293a4b5c6d7e8f90"
    assert response.raw_response == {
        "finish_reason": "SUCCESS",
        "seed": 343940597,
        "content_type": "image/png",
    }
    assert (await response.save_async(tmp_path / "out.png")).read_bytes() == PNG
    attempt = response.execution_metadata.attempts[0]
    assert (attempt.poll_count, attempt.http_requests) == (0, 1)


def test_json_reply_decodes_to_the_same_media_object(respx_mock: respx.MockRouter) -> None:
    """accept application/json: the base64 image becomes the same data: URI as the bytes
    reply, and raw_response keeps no second copy of the base64 text (sync API)."""
    route = respx_mock.post(f"{GENERATE}/core").mock(return_value=json_reply())
    response = generate_image(config(provider_config={"accept": "application/json"}), request())
    assert route.calls.last.request.headers["accept"] == "application/json"
    assert response.images == [PNG_URI]
    assert response.content_type == "image/png"
    assert "image" not in response.raw_response
    assert response.raw_response["seed"] == 343940597


@pytest.mark.parametrize("reply", [image_reply("CONTENT_FILTERED"), json_reply("CONTENT_FILTERED")])
async def test_content_filtered_is_moderation_not_success(
    respx_mock: respx.MockRouter, reply: httpx.Response
) -> None:
    """A 200 with finish_reason CONTENT_FILTERED (a blurred image) is ContentModerationError."""
    route = respx_mock.post(f"{GENERATE}/core").mock(return_value=reply)
    accept = (
        "application/json" if reply.headers["content-type"].startswith("application") else "image/*"
    )
    with pytest.raises(ContentModerationError, match="CONTENT_FILTERED") as caught:
        await generate_image_async(config(provider_config={"accept": accept}), request())
    assert caught.value.execution_metadata is not None
    assert route.call_count == 1


@pytest.mark.parametrize(
    ("reply", "error", "fallback"),
    [
        (image_reply("ERROR"), GenerationFailedError, True),
        (image_reply("SOMETHING_NEW"), GenerationFailedError, True),
        (
            httpx.Response(
                200, content=b'{"image": "abc', headers={"content-type": "application/json"}
            ),
            ProviderServerError,
            False,
        ),
        (httpx.Response(200, json={"image": "%%%"}), ProviderServerError, False),
        (
            httpx.Response(200, content=b"", headers={"content-type": "image/png"}),
            ProviderServerError,
            False,
        ),
        (
            httpx.Response(200, content=b"<html>", headers={"content-type": "text/html"}),
            ProviderServerError,
            False,
        ),
    ],
)
async def test_odd_success_replies(
    respx_mock: respx.MockRouter,
    reply: httpx.Response,
    error: type[TarashException],
    fallback: bool,
) -> None:
    """A failed or unknown finish reason is a generation failure; a 200 whose image cannot be
    read is a billed image lost: no fallback, never resent."""
    route = respx_mock.post(f"{GENERATE}/core").mock(return_value=reply)
    with pytest.raises(error) as caught:
        await generate_image_async(config(), request())
    assert type(caught.value) is error
    assert caught.value.fallback_allowed is fallback
    assert route.call_count == 1


# -- errors -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reply", "error", "fragment"),
    [
        (
            error_reply(400, "bad_request", "prompt: is required", "seed: too big"),
            ValidationError,
            "prompt: is required; seed: too big",
        ),
        (
            error_reply(401, "unauthorized", "authorization: invalid"),
            AuthenticationError,
            "invalid",
        ),
        (
            error_reply(402, "payment_required", "insufficient credits"),
            InsufficientCreditError,
            "credits",
        ),
        (
            error_reply(403, "content_moderation", "Your request was flagged"),
            ContentModerationError,
            "flagged",
        ),
        (error_reply(404, "not_found", "model not found"), NotFoundError, "not found"),
        (
            error_reply(413, "payload_too_large", "body: payloads cannot be larger than 10MiB"),
            ValidationError,
            "10MiB",
        ),
        (error_reply(422, "public_figure", "public figures"), ContentModerationError, "public"),
        (error_reply(422, "invalid_language", "English only"), ValidationError, "English"),
        (
            error_reply(500, "internal_error", "An unexpected server error"),
            ProviderServerError,
            "unexpected",
        ),
        (httpx.Response(502, text="<html>bad gateway</html>"), ProviderServerError, "bad gateway"),
    ],
)
async def test_error_statuses_map_to_one_error(
    respx_mock: respx.MockRouter, reply: httpx.Response, error: type[TarashException], fragment: str
) -> None:
    """Each status (and Stability's error name) maps to exactly one class, with the message
    from errors[]; the create is never resent after it may have reached Stability."""
    route = respx_mock.post(f"{GENERATE}/core").mock(return_value=reply)
    with pytest.raises(error, match=fragment.replace("[", ".")) as caught:
        await generate_image_async(config(), request())
    assert type(caught.value) is error
    assert caught.value.status_code == reply.status_code
    assert route.call_count == 1
    if reply.status_code >= 500:
        assert caught.value.job_may_exist


async def test_rate_limit_lockout_is_honoured_then_retried(respx_mock: respx.MockRouter) -> None:
    """429 rate_limit_exceeded with no Retry-After waits the lock-out its message names, then
    the create is resent (nothing was made): one image, two creates."""
    limited = error_reply(
        429,
        "rate_limit_exceeded",
        "You have exceeded the rate limit of 150 requests within a 10 second period, and "
        "have been timed out for 60 seconds.",
    )
    route = respx_mock.post(f"{GENERATE}/core").mock(side_effect=[limited, image_reply()])
    response = await generate_image_async(config(), request())
    assert response.images == [PNG_URI]
    assert route.call_count == 2
    client = StabilityClient(ProviderSettings(model="stable-image-core", api_key=SecretStr(KEY)))
    error = client.parse_error(limited)
    assert isinstance(error, RateLimitError)
    assert error.retry_after == 60
    no_text = client.parse_error(error_reply(429, "rate_limit_exceeded"))
    assert isinstance(no_text, RateLimitError)
    assert no_text.retry_after == 60
    with_header = client.parse_error(
        error_reply(429, "rate_limit_exceeded", **{"retry-after": "7"})
    )
    assert isinstance(with_header, RateLimitError)
    assert with_header.retry_after == 7


async def test_a_lockout_past_the_deadline_is_not_waited(respx_mock: respx.MockRouter) -> None:
    """A 60 s lock-out with less time left fails at once as a RateLimitError (no resend)."""
    route = respx_mock.post(f"{GENERATE}/core").mock(
        return_value=error_reply(429, "rate_limit_exceeded", "timed out for 60 seconds")
    )
    with pytest.raises(RateLimitError):
        await generate_image_async(config(timeout=5), request())
    assert route.call_count == 1


async def test_a_retired_id_refused_names_its_successor(respx_mock: respx.MockRouter) -> None:
    """Stability's refusal of a retired id repeats the successor."""
    respx_mock.post(f"{GENERATE}/sd3").mock(
        return_value=error_reply(404, "not_found", "model: unknown")
    )
    with pytest.warns(ModelRetiredWarning), pytest.raises(NotFoundError, match=r"sd3\.5-medium"):
        await generate_image_async(config("sd3-medium"), request())


async def test_the_key_never_shows(respx_mock: respx.MockRouter) -> None:
    """A provider echoing the key in its error body never shows it in the error."""
    respx_mock.post(f"{GENERATE}/core").mock(
        return_value=error_reply(401, "unauthorized", f"bad key {KEY}")
    )
    with pytest.raises(AuthenticationError) as caught:
        await generate_image_async(config(), request())
    assert KEY not in str(caught.value)
    assert KEY not in repr(caught.value)
    assert caught.value.execution_metadata is not None
    assert KEY not in caught.value.execution_metadata.model_dump_json()
    assert KEY not in json.dumps(caught.value.raw_response)


# -- no job to follow -----------------------------------------------------------------------


async def test_there_is_no_status_to_poll_nor_job_to_cancel() -> None:
    """poll refuses (nothing sent) and cancel says False: the create was the whole job."""
    client = StabilityClient(ProviderSettings(model="stable-image-core", api_key=SecretStr(KEY)))
    handle = JobHandle(
        kind="image",
        provider="stability",
        model="stable-image-core",
        request_id="r-1",
        base_url=BASE,
        submitted_at="2026-01-01T00:00:00Z",  # type: ignore[arg-type]
    )
    with pytest.raises(ValidationError, match="answer in the request"):
        await client.poll(handle)
    assert await client.cancel(handle) is False


async def test_a_caller_cancelled_mid_create_waits_for_the_reply(
    respx_mock: respx.MockRouter,
) -> None:
    """Cancelled while the create is in flight, the request still runs to its reply (it may
    have made a billed image) and is never resent; then the cancellation travels on."""
    arrived, release = anyio.Event(), anyio.Event()
    answered: list[bool] = []

    async def slow_reply(sent: httpx.Request) -> httpx.Response:
        arrived.set()
        await release.wait()
        answered.append(True)
        return image_reply()

    route = respx_mock.post(f"{GENERATE}/core").mock(side_effect=slow_reply)
    finished = False
    async with anyio.create_task_group() as group:

        async def run() -> None:
            nonlocal finished
            with anyio.CancelScope() as scope:
                group.start_soon(cancel_when_arrived, scope)
                await generate_image_async(config(), request())
                finished = True

        async def cancel_when_arrived(scope: anyio.CancelScope) -> None:
            await arrived.wait()
            scope.cancel()
            await anyio.lowlevel.checkpoint()
            release.set()

        group.start_soon(run)
    assert answered == [True]
    assert not finished
    assert route.call_count == 1


_leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=6),
    st.binary(max_size=3),
    st.just("bad \udc80"),
    st.just(None).map(lambda _: 10**5000),  # built lazily: the strategy's repr cannot show it
)


@settings(max_examples=60, deadline=None)
@given(
    extra=st.dictionaries(
        st.text(max_size=5) | st.just("\udc80"),
        st.recursive(
            _leaf,
            lambda kids: (
                st.lists(kids, max_size=2) | st.dictionaries(st.text(max_size=3), kids, max_size=2)
            ),
            max_leaves=4,
        ),
        max_size=3,
    )
)
def test_random_extra_params_send_a_form_or_nothing(extra: dict[str, Any]) -> None:
    """Whatever extra_params hold, the create either sends a well-formed form once or is
    refused locally (a typed ValidationError) with nothing sent: the boundary fuzz rule."""
    with respx.mock(assert_all_called=False) as router:
        route = router.post(f"{GENERATE}/core").mock(return_value=image_reply())
        refused: ValidationError | None = None
        try:
            generate_image(config(), request(extra_params=extra))
        except ValidationError as exc:
            refused = exc
        if refused is not None:
            assert refused.status_code is None
            assert route.call_count == 0
            return
        assert route.call_count == 1
        assert fields_of(route.calls.last.request)["prompt"] == "a lighthouse"
