"""Bad input is a ValidationError naming the field, raised before anything is sent."""

from __future__ import annotations

import base64
import math
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pydantic
import pytest
import respx

from tarash.tarash_gateway import api
from tarash.tarash_gateway._validate import check_sendable
from tarash.tarash_gateway.errors import ValidationError
from tarash.tarash_gateway.media import load_local_media, media_reference, to_data_uri
from tarash.tarash_gateway.models import (
    ImageGenerationConfig,
    ImageGenerationRequest,
    JobHandle,
    VideoGenerationConfig,
    VideoGenerationRequest,
)
from tests.unit.fake_provider import BASE, FAKE_KEY

pytestmark = pytest.mark.anyio

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16
CANARY = "sk-canary-never-print-0042"
VIDEO_REQUEST = VideoGenerationRequest(prompt="x")
IMAGE_REQUEST = ImageGenerationRequest(prompt="x")


def video_config(**kwargs: Any) -> VideoGenerationConfig:
    return VideoGenerationConfig(
        provider="fake", model="t2v", api_key=FAKE_KEY, base_url=BASE, poll_interval=0.001, **kwargs
    )


def image_config(**kwargs: Any) -> ImageGenerationConfig:
    return ImageGenerationConfig(
        provider="fake", model="t2i", api_key=FAKE_KEY, base_url=BASE, poll_interval=0.001, **kwargs
    )


def handle(**changes: Any) -> JobHandle:
    fields: dict[str, Any] = {
        "kind": "video",
        "provider": "fake",
        "model": "t2v",
        "request_id": "j1",
        "base_url": BASE,
        "submitted_at": datetime.now(UTC),
        **changes,
    }
    return JobHandle.model_validate(fields)


@pytest.fixture
def provider() -> Iterator[dict[str, respx.Route]]:
    """The fake provider's routes, answering a job that finishes at once; none need be hit."""
    with respx.mock(assert_all_called=False) as mock:
        yield {
            "submit": mock.post(f"{BASE}/jobs").respond(200, json={"id": "j1"}),
            "poll": mock.get(f"{BASE}/jobs/j1").respond(
                200, json={"status": "done", "url": "https://cdn.test/v.mp4"}
            ),
            "cancel": mock.post(f"{BASE}/jobs/j1/cancel").respond(200, json={}),
        }


def assert_nothing_sent(routes: dict[str, respx.Route]) -> None:
    assert {name: route.call_count for name, route in routes.items()} == dict.fromkeys(routes, 0)


# -- defect 8: the kind of job is checked against the function and the config ----------


async def test_generate_video_refuses_an_image_request_before_submitting(
    provider: dict[str, respx.Route],
) -> None:
    """generate_video with an image request used to pay for an image job, then assert."""
    with pytest.raises(ValidationError, match=r"generate_video\(\).*request.*ImageGeneration"):
        await api.generate_video_async(video_config(), IMAGE_REQUEST)  # type: ignore[arg-type]
    assert_nothing_sent(provider)


MISMATCHES: list[tuple[str, Any, Any, str]] = [
    ("generate_image_async", video_config, IMAGE_REQUEST, "config"),
    ("generate_image_async", image_config, VIDEO_REQUEST, "request"),
    ("submit_video_async", image_config, VIDEO_REQUEST, "config"),
    ("submit_video_async", video_config, IMAGE_REQUEST, "request"),
    ("submit_image_async", video_config, IMAGE_REQUEST, "config"),
    ("submit_image_async", image_config, {"prompt": "x"}, "request"),
]


@pytest.mark.parametrize(
    ("function", "make_config", "request_", "argument"),
    MISMATCHES,
    ids=[f"{name}-{argument}-{type(req).__name__}" for name, _, req, argument in MISMATCHES],
)
async def test_every_kind_mismatch_is_refused_naming_the_argument(
    provider: dict[str, respx.Route], function: str, make_config: Any, request_: Any, argument: str
) -> None:
    """Every function refuses a config or request of the other kind, naming the argument."""
    with pytest.raises(ValidationError, match=f"as {argument}") as info:
        await getattr(api, function)(make_config(), request_)
    assert info.value.fallback_allowed is False
    assert_nothing_sent(provider)


async def test_a_progress_callback_that_cannot_be_called_is_refused(
    provider: dict[str, respx.Route],
) -> None:
    """A non-callable on_progress would raise TypeError only after the job was paid for."""
    with pytest.raises(ValidationError, match="as on_progress"):
        await api.generate_video_async(video_config(), VIDEO_REQUEST, on_progress="print")  # type: ignore[arg-type]
    assert_nothing_sent(provider)


async def test_a_fallback_config_of_the_wrong_kind_is_refused_before_the_first_submit(
    provider: dict[str, respx.Route],
) -> None:
    """An image config among a video config's fallbacks (model_copy skips pydantic) is
    refused up front, named by its place in the chain."""
    config = video_config().model_copy(update={"fallback_configs": [image_config()]})
    with pytest.raises(ValidationError, match=r"config\.fallback_configs\[0\]"):
        await api.generate_video_async(config, VideoGenerationRequest(prompt="x"))
    assert_nothing_sent(provider)


def test_no_assert_guards_the_public_api() -> None:
    """api.py has no assert statement (python -O would strip it, and it is no typed error)."""
    source = Path(api.__file__).read_text()
    assert "assert " not in source


# -- defect 9: unsendable values are refused, naming the field --------------------------

UNSENDABLE: list[tuple[object, str]] = [
    ({1, 2}, "set"),
    (datetime(2026, 1, 1), "datetime"),
    (b"raw", "bytes"),
    (math.nan, "nan"),
    (math.inf, "inf"),
    ("bad \udc80 text", "surrogate"),
    (10**5000, "too large"),
    ({"nested": [1, {"deeper": {3}}]}, "nested set"),
]


@pytest.mark.parametrize(("value", "why"), UNSENDABLE, ids=[why for _, why in UNSENDABLE])
async def test_unsendable_extra_params_are_a_validation_error_naming_the_field(
    provider: dict[str, respx.Route], value: object, why: str
) -> None:
    """A set, datetime, bytes, NaN/inf, lone surrogate or huge int in extra_params used to
    escape as TypeError/ValueError/UnicodeEncodeError; now the field is named."""
    request = VideoGenerationRequest(prompt="x", extra_params={"when": value})
    with pytest.raises(ValidationError, match=r"extra_params\['when'\]") as info:
        await api.generate_video_async(video_config(), request)
    assert why.split()[-1] in str(info.value)
    assert_nothing_sent(provider)


def test_the_failing_element_is_named_deep_in_the_payload() -> None:
    """The path reaches the element that fails, through dicts and lists."""
    with pytest.raises(ValidationError, match=r"payload\['input'\]\['refs'\]\[1\]"):
        check_sendable({"input": {"refs": ["ok", b"no"]}}, "payload")
    loop: dict[str, Any] = {}
    loop["self"] = loop
    with pytest.raises(ValidationError, match="circular"):
        check_sendable({"a": loop}, "extra_params")
    with pytest.raises(ValidationError, match=r"extra_params\['\\udc80'\].*key"):
        check_sendable({"\udc80": 1}, "extra_params")


@pytest.mark.parametrize("field", ["prompt", "negative_prompt"])
def test_a_lone_surrogate_in_the_prompt_is_refused_at_construction(field: str) -> None:
    """A prompt UTF-8 cannot encode (decoded with surrogateescape, say) is refused, named."""
    fields = {"prompt": "x", field: "caf\udce9"}
    with pytest.raises(ValidationError, match=field):
        VideoGenerationRequest.model_validate(fields)
    with pytest.raises(ValidationError, match=field):
        ImageGenerationRequest.model_validate(fields)


# -- defect 10 and the empty-image extra: media is decode-checked before submit ----------


@pytest.mark.parametrize(
    ("image", "message"),
    [
        ("data:image/png;base64,***not-base64***", "invalid base64"),
        ("data:image/png;base64,iVBORw0KGgo", "invalid base64"),  # bad padding
        ("data:image/png;base64,", "no data"),
        ("data:text/plain,hello", "only base64"),
        (b"", "empty"),
        ("", "empty"),
    ],
)
async def test_bad_or_empty_images_are_refused_naming_the_field(
    provider: dict[str, respx.Route], image: str | bytes, message: str
) -> None:
    """A data: URI that is not valid base64 used to be submitted, and empty bytes were sent
    as an empty data URI; both are refused, naming the field and its role."""
    request = ImageGenerationRequest(
        prompt="x",
        image_list=[
            {"image": PNG, "type": "reference"},
            {"image": image, "type": "reference"},
        ],
    )
    with pytest.raises(ValidationError, match=message) as info:
        await api.generate_image_async(image_config(), request)
    assert r"image_list[1] (reference)" in str(info.value)
    assert_nothing_sent(provider)


async def test_empty_files_and_other_media_fields_are_named(tmp_path: Path) -> None:
    """An empty file, video or mask is refused under its own field name."""
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    with pytest.raises(ValidationError, match=r"mask_image.*empty"):
        await load_local_media(ImageGenerationRequest(prompt="x", mask_image=empty))
    with pytest.raises(ValidationError, match=r"video.*invalid base64"):
        await load_local_media(VideoGenerationRequest(prompt="x", video="data:video/mp4;base64,@"))


def test_media_reference_and_to_data_uri_refuse_empty_and_bad_input() -> None:
    """The mapping helpers refuse empty bytes and undecodable data URIs too."""
    with pytest.raises(ValidationError, match="empty"):
        to_data_uri(b"")
    with pytest.raises(ValidationError, match="mask_image is empty"):
        media_reference(b"", field="mask_image")
    with pytest.raises(ValidationError, match="invalid base64"):
        media_reference("data:image/png;base64,%%%")
    good = to_data_uri(PNG)
    assert media_reference(good) == good
    assert media_reference(base64.b64encode(PNG).decode()) == good


# -- defect 11: config values are validated at the model boundary -----------------------


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"timeout": math.inf}, "timeout"),
        ({"timeout": 1e15}, "timeout"),
        ({"poll_interval": math.inf}, "poll_interval"),
        ({"poll_interval": 1e-9}, "poll_interval"),
        ({"base_url": "http://127.0.0.1:99999/fal"}, "base_url.*port"),
        ({"base_url": "http://127.0.0.1:0/fal"}, "base_url.*port"),
        ({"base_url": "https://api.test/\nx"}, "base_url.*whitespace"),
        ({"base_url": "https://[api.test/"}, "base_url"),
        ({"base_url": "ftp://api.test/"}, "base_url.*scheme"),
        ({"base_url": "api.test"}, "base_url"),
        ({"base_url": "http:///path"}, "base_url.*host"),
        ({"model": "fal-ai/veo3\nX-Injected: 1"}, "model"),
        ({"model": "fal-ai/veo 3"}, "model"),
        ({"model": "fal-ai/veo3?x=1"}, "model"),
        ({"provider": "fal\x00"}, "provider"),
        ({"provider": "fal/../x"}, "provider"),
        ({"api_version": "v1\r\n"}, "api_version"),
    ],
)
def test_config_values_pydantic_accepts_but_that_crash_later_are_refused(
    fields: dict[str, Any], named: str
) -> None:
    """inf/1e15 timeouts (OverflowError), port 99999, a newline in base_url or model
    (httpx.InvalidURL) are tarash ValidationErrors naming the field."""
    for config_class in (VideoGenerationConfig, ImageGenerationConfig):
        values = {"provider": "fal", "model": "fal-ai/veo3", **fields}
        with pytest.raises(ValidationError, match=named):
            config_class.model_validate(values)


def test_out_of_range_numbers_stay_pydantic_errors() -> None:
    """0, negative and NaN timeouts are out of range for pydantic, as documented."""
    for timeout in (0, -1, math.nan):
        with pytest.raises(pydantic.ValidationError):
            VideoGenerationConfig(provider="fal", model="m", timeout=timeout)


@pytest.mark.parametrize(
    "size", ["²x²", "\u0661\u0660x\u0661\u0660", "0x10", "10x", " 10x10", "1e3x1e3"]
)
def test_image_size_takes_ascii_digits_only(size: str) -> None:
    """'²x²' passed str.isdigit() and then crashed int(); only ASCII WIDTHxHEIGHT passes."""
    with pytest.raises(ValidationError, match="size"):
        ImageGenerationRequest(prompt="x", size=size)


@pytest.mark.parametrize("padding", ["\n", "\r\n", "\t", " ", " \r\n"])
def test_surrounding_whitespace_is_stripped_from_keys(padding: str) -> None:
    """A key read from a file or a CRLF .env loses its trailing newline, not its value."""
    config = VideoGenerationConfig(provider="fal", model="m", api_key=f"{padding}{CANARY}{padding}")
    assert config.api_key == CANARY


@pytest.mark.parametrize("bad", [f"{CANARY}\n{CANARY}", f"{CANARY} x", f"{CANARY}é", "k\x00ey"])
def test_keys_with_inner_odd_characters_are_refused_without_quoting_them(bad: str) -> None:
    """A key with inner whitespace, control or non-ASCII characters is refused up front, and
    the message shows none of it."""
    with pytest.raises(ValidationError, match="api_key") as info:
        VideoGenerationConfig(provider="fal", model="m", api_key=bad)
    for text in (str(info.value), repr(info.value)):
        assert CANARY not in text
        assert "k\x00ey" not in text


async def test_a_stripped_key_is_what_gets_sent() -> None:
    """The header carries the key without its newline (httpx used to refuse the header and
    quote it in full in its error)."""
    with respx.mock() as mock:
        submit = mock.post(f"{BASE}/jobs").respond(200, json={"id": "j1"})
        config = VideoGenerationConfig(
            provider="fake", model="t2v", base_url=BASE, api_key=f"{FAKE_KEY}\r\n"
        )
        await api.submit_video_async(config, VideoGenerationRequest(prompt="x"))
    assert submit.calls.last.request.headers["authorization"] == f"Bearer {FAKE_KEY}"


# -- defect 12: handles are untrusted input, validated on load --------------------------


@pytest.mark.parametrize(
    ("field", "url"),
    [
        ("base_url", "https://fake.test\t"),
        ("status_url", "https://fake.test/jobs/j1\n"),
        ("result_url", "https://[fake.test/jobs/j1"),
        ("cancel_url", "https://fake.test:99999/jobs/j1/cancel"),
        ("status_url", "javascript:alert(1)"),
    ],
)
def test_handle_urls_are_checked_on_load(field: str, url: str) -> None:
    """A stored handle with a tab, newline, unclosed '[' or bad port in a URL is refused
    on load, naming the field (it used to crash wait/status/cancel with InvalidURL)."""
    text = handle().model_dump_json()
    tampered = text.replace(f'"{field}":null', f'"{field}":"{url}"').replace(
        f'"{field}":"{BASE}"', f'"{field}":"{url}"'
    )
    assert tampered != text
    with pytest.raises(ValidationError, match=field):
        JobHandle.model_validate_json(tampered.replace("\t", "\\t").replace("\n", "\\n"))


@pytest.mark.parametrize("field", ["request_id", "model"])
def test_handle_ids_with_control_characters_are_refused(field: str) -> None:
    """An id that would break the URL it is put in is refused on load."""
    with pytest.raises(ValidationError, match=field):
        handle(**{field: "j1\r\nX: y"})


async def test_a_naive_deadline_from_a_database_is_taken_as_utc(
    provider: dict[str, respx.Route],
) -> None:
    """SQL DATETIME columns return naive times: they mean UTC, and wait() uses them (it
    used to raise TypeError comparing naive and aware datetimes)."""
    deadline = (datetime.now(UTC) + timedelta(minutes=5)).replace(tzinfo=None)
    stored = handle(
        submitted_at=datetime.now(UTC).replace(tzinfo=None).isoformat(), deadline_at=deadline
    )
    assert stored.deadline_at is not None and stored.deadline_at.tzinfo is UTC
    assert stored.submitted_at.tzinfo is UTC
    response = await api.wait_async(stored, api_key=FAKE_KEY)
    assert response.request_id == "j1"


# -- defect 13: the functions' own arguments are checked like config fields --------------


@pytest.mark.parametrize(
    "arguments",
    [
        {"timeout": math.nan},
        {"timeout": math.inf},
        {"timeout": 0},
        {"timeout": -5},
        {"timeout": 1e15},
        {"timeout": "10"},
        {"poll_interval": 0},
        {"poll_interval": -1},
        {"poll_interval": math.nan},
        {"poll_interval": math.inf},
        {"on_progress": 42},
    ],
)
async def test_wait_arguments_are_checked_before_any_request(
    provider: dict[str, respx.Route], arguments: dict[str, Any]
) -> None:
    """wait(timeout=NaN) used to raise ValueError after cancelling the job, and
    wait(poll_interval=0) sent hundreds of status calls a second; both are refused first."""
    with pytest.raises(ValidationError, match=next(iter(arguments))):
        await api.wait_async(handle(), api_key=FAKE_KEY, **arguments)
    assert_nothing_sent(provider)


@pytest.mark.parametrize("function", [api.wait_async, api.status_async, api.cancel_async])
async def test_handle_functions_check_their_arguments(
    provider: dict[str, respx.Route], function: Any
) -> None:
    """A dict for a handle, a non-config for config, a malformed key are named, not sent."""
    with pytest.raises(ValidationError, match="as handle"):
        await function(handle().model_dump(mode="json"), api_key=FAKE_KEY)
    with pytest.raises(ValidationError, match="as config"):
        await function(handle(), config={"provider": "fake"}, api_key=FAKE_KEY)
    with pytest.raises(ValidationError, match="api_key") as info:
        await function(handle(), api_key=f"{CANARY}\n{CANARY}")
    assert CANARY not in str(info.value)
    assert_nothing_sent(provider)


async def test_a_key_passed_to_wait_is_stripped(provider: dict[str, respx.Route]) -> None:
    """wait/status/cancel strip a key's surrounding whitespace as configs do."""
    await api.status_async(handle(), api_key=f" {FAKE_KEY}\r\n")
    assert provider["poll"].calls.last.request.headers["authorization"] == f"Bearer {FAKE_KEY}"


async def test_a_malformed_url_in_a_submit_reply_is_not_trusted() -> None:
    """A status URL with a tab in fal's reply is replaced by the built one: trusting it
    would fail the handle's validation after the job was paid for (or httpx later)."""
    base, model, job = "https://queue.fal.test", "acme/gen", "r1"
    root = f"{base}/{model}/requests/{job}"
    with respx.mock() as mock:
        mock.post(f"{base}/{model}").respond(
            200,
            json={
                "request_id": job,
                "status_url": f"{root}/status\t",
                "response_url": f"https://[{root}",
                "cancel_url": f"{root}/cancel",
            },
        )
        mock.get(f"{root}/status").respond(200, json={"status": "COMPLETED"})
        mock.get(root).respond(200, json={"video": {"url": "https://v3.fal.media/v.mp4"}})
        config = VideoGenerationConfig(
            provider="fal",
            model=model,
            base_url=base,
            api_key="fal-id:fal-secret",
            poll_interval=0.001,
            provider_config={"status_stream": False},
        )
        response = await api.generate_video_async(config, VideoGenerationRequest(prompt="x"))
    assert response.video == "https://v3.fal.media/v.mp4"


async def test_a_malformed_base_url_in_the_environment_is_named(
    provider: dict[str, respx.Route], monkeypatch: pytest.MonkeyPatch
) -> None:
    """TARASH_<PROVIDER>_BASE_URL is checked like a config's base_url (it used to reach
    httpx, which raised InvalidURL)."""
    monkeypatch.setenv("TARASH_FAKE_BASE_URL", f"{BASE}\n")
    config = VideoGenerationConfig(provider="fake", model="t2v", api_key=FAKE_KEY)
    with pytest.raises(ValidationError, match="TARASH_FAKE_BASE_URL"):
        await api.generate_video_async(config, VIDEO_REQUEST)
    with pytest.raises(ValidationError, match="TARASH_FAKE_BASE_URL"):
        await api.status_async(handle(), api_key=FAKE_KEY)
    assert_nothing_sent(provider)
