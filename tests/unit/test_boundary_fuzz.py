"""Random input at the public boundary: only typed errors escape, and nothing is submitted
for input tarash refuses.

Requests, configs and handles are drawn at random (odd unicode, lone surrogates, values
JSON cannot carry, malformed media, URLs and keys) and sent through the public functions
to fal's wire protocol mocked with respx. Whatever is drawn, the outcome is a response,
tarash's :class:`TarashException` or pydantic's ``ValidationError``; a ValidationError
tarash raised itself means no request was made; and a key never shows in an error.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import pydantic
import pytest
import respx
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tarash.tarash_gateway import api
from tarash.tarash_gateway.errors import TarashException, ValidationError
from tarash.tarash_gateway.models import (
    ImageGenerationConfig,
    ImageGenerationRequest,
    JobHandle,
    VideoGenerationConfig,
    VideoGenerationRequest,
)

pytestmark = pytest.mark.anyio

BASE = "https://queue.fal.test"
MODEL = "acme/gen"  # unregistered: the generic spec maps every unified field
REQ = "5f0c1f8e-fuzz-4c1e-9d7a-000000000001"
ROOT = f"{BASE}/{MODEL}/requests/{REQ}"
KEY = "fal-id:fal-secret-canary-fuzz-9137"
CANARY = "canary-fuzz-9137"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16

FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@dataclass
class Fal:
    """The respx router standing in for fal, and its routes."""

    router: respx.MockRouter
    submit: respx.Route
    routes: dict[str, respx.Route] = field(default_factory=dict)

    @property
    def calls(self) -> int:
        return len(self.router.calls)


@contextmanager
def fal() -> Iterator[Fal]:
    """fal answering one job that is done at once; any other URL gets a 404."""
    with respx.mock(assert_all_called=False) as router:
        submit = router.post(f"{BASE}/{MODEL}").respond(
            200,
            json={
                "status": "IN_QUEUE",
                "request_id": REQ,
                "response_url": ROOT,
                "status_url": f"{ROOT}/status",
                "cancel_url": f"{ROOT}/cancel",
            },
        )
        router.get(f"{ROOT}/status").respond(200, json={"status": "COMPLETED"})
        router.get(ROOT).respond(
            200,
            json={
                "video": {"url": "https://v3.fal.media/v.mp4"},
                "images": [{"url": "https://v3.fal.media/i.png"}],
            },
        )
        router.put(f"{ROOT}/cancel").respond(202, json={"status": "CANCELLATION_REQUESTED"})
        router.route().respond(404, json={"detail": "not found"})
        yield Fal(router=router, submit=submit)


def video_config(**changes: Any) -> VideoGenerationConfig:
    fields: dict[str, Any] = {
        "provider": "fal",
        "model": MODEL,
        "base_url": BASE,
        "api_key": KEY,
        "poll_interval": 0.001,
        "provider_config": {"status_stream": False},
        **changes,
    }
    return VideoGenerationConfig.model_validate(fields)


def assert_clean(exc: BaseException) -> None:
    """The error is typed and shows no key."""
    event(f"raised {type(exc).__name__}")
    assert isinstance(exc, TarashException | pydantic.ValidationError), repr(exc)
    for text in (str(exc), repr(exc)):
        assert CANARY not in text
    if isinstance(exc, TarashException) and exc.execution_metadata is not None:
        assert CANARY not in exc.execution_metadata.model_dump_json()


def refused_locally(exc: BaseException) -> bool:
    """A ValidationError tarash raised itself (not a provider's 400/422 reply)."""
    return isinstance(exc, pydantic.ValidationError) or (
        isinstance(exc, ValidationError) and exc.status_code is None
    )


# -- strategies ---------------------------------------------------------------------------

odd_text = st.text(
    alphabet=st.one_of(
        st.characters(codec=None),
        st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF),  # lone surrogates
        st.sampled_from("\x00\t\n\r \u200b\u202e\ufeff²\u0661"),
    ),
    max_size=12,
)
json_leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=8),
)
bad_leaf = st.one_of(
    st.sets(st.integers(), max_size=2),
    st.datetimes(),
    st.binary(max_size=4),
    st.sampled_from([math.nan, math.inf, -math.inf, "bad \udc80"]),
    st.just(None).map(lambda _: 10**5000),  # built lazily: the strategy's repr cannot show it
)


def is_bad(value: Any) -> bool:
    """Whether ``value`` holds something a JSON body cannot carry (the test's own oracle)."""
    if isinstance(value, dict):
        return any(is_bad(key) or is_bad(item) for key, item in value.items())
    if isinstance(value, list | tuple):
        return any(is_bad(item) for item in value)
    if isinstance(value, str):
        return any("\ud800" <= char <= "\udfff" for char in value)
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, bool) or value is None:
        return False
    if isinstance(value, int):
        return abs(value) >= 10**4300
    return True


extra_params = st.dictionaries(
    st.text(max_size=6) | st.sampled_from(["\udc80"]),
    st.recursive(
        json_leaf | bad_leaf,
        lambda children: (
            st.lists(children, max_size=3)
            | st.dictionaries(st.text(max_size=4), children, max_size=3)
        ),
        max_leaves=6,
    ),
    max_size=3,
)
media = st.one_of(
    st.just(PNG),
    st.binary(max_size=16),
    st.text(max_size=16),
    st.builds(lambda body: f"data:image/png;base64,{body}", st.text(max_size=12)),
    st.sampled_from(["", b"", "data:image/png;base64,", "https://example.test/a.png"]),
)
roles = st.sampled_from(["first_frame", "last_frame", "reference", "asset", "style"])


# -- requests -----------------------------------------------------------------------------


@FUZZ
@given(
    kind=st.sampled_from(["video", "image"]),
    prompt=odd_text,
    negative=st.none() | odd_text,
    extra=extra_params,
    images=st.lists(st.fixed_dictionaries({"image": media, "type": roles}), max_size=2),
    size=st.none() | odd_text | st.sampled_from(["1024x768", "²x²", "0x0"]),
)
async def test_random_requests_raise_only_typed_errors_and_submit_nothing_invalid(
    kind: str,
    prompt: str,
    negative: str | None,
    extra: dict[str, Any],
    images: list[dict[str, Any]],
    size: str | None,
) -> None:
    """Any request either runs, or fails with a typed error; refused input sends nothing,
    and a request holding an unsendable value is always refused."""
    fields: dict[str, Any] = {
        "prompt": prompt,
        "negative_prompt": negative,
        "extra_params": extra,
        "image_list": images,
    }
    with fal() as provider:
        try:
            if kind == "video":
                request: Any = VideoGenerationRequest.model_validate(fields)
                config: Any = video_config()
                call: Any = api.generate_video_async
            else:
                request = ImageGenerationRequest.model_validate({**fields, "size": size})
                config = ImageGenerationConfig.model_validate(video_config().model_dump())
                call = api.generate_image_async
            await call(config, request)
        except Exception as exc:
            assert_clean(exc)
            if refused_locally(exc):
                assert provider.calls == 0
            return
        # Sent: so it was sendable, as strict JSON, once.
        event("generated")
        assert not is_bad(extra)
        assert provider.submit.call_count == 1
        json.loads(provider.submit.calls.last.request.content.decode("utf-8"))


# -- configs ------------------------------------------------------------------------------

seconds = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -1.0, 1e-12, 1e15, 1e308, 2_592_000.0, 0.5]),
)
urls = st.one_of(
    st.just(BASE),
    st.builds(lambda port: f"https://queue.fal.test:{port}", st.integers(-5, 100_000)),
    st.builds(lambda text: f"https://queue.fal.test/{text}", odd_text),
    st.builds(lambda text: f"https://{text}", odd_text),
    odd_text,
    st.sampled_from(["https://[queue.fal.test", "ftp://queue.fal.test", "http:///x"]),
)
models = st.one_of(odd_text, st.builds(lambda text: f"acme/{text}", odd_text))
padding = st.sampled_from(["", "\n", "\r\n", " ", "\t", " \r\n"])
keys = st.builds(
    lambda before, inner, after: f"{before}{KEY}{inner}{after}",
    padding,
    st.just("") | odd_text,
    padding,
)
config_changes = st.lists(
    st.one_of(
        st.tuples(st.just("timeout"), seconds),
        st.tuples(st.just("poll_interval"), seconds),
        st.tuples(st.just("base_url"), urls),
        st.tuples(st.just("model"), models),
        st.tuples(st.just("api_version"), odd_text),
        st.tuples(st.just("provider"), st.sampled_from(["FAL", "fal\x00", "fa l", "replicate"])),
    ),
    max_size=2,
)


@FUZZ
@given(changes=config_changes, key=keys)
async def test_random_configs_raise_only_typed_errors_and_never_show_the_key(
    changes: list[tuple[str, Any]], key: str
) -> None:
    """Any config is refused with a typed error not quoting the key, or runs to a response
    or a typed error (no OverflowError, InvalidURL, UnicodeEncodeError, ExceptionGroup)."""
    fields: dict[str, Any] = {
        "provider": "fal",
        "model": MODEL,
        "base_url": BASE,
        "api_key": key,
        "max_retries": 0,
        "provider_config": {"status_stream": False},
        **dict(changes),
    }
    with fal() as fake:
        try:
            config = VideoGenerationConfig.model_validate(fields)
        except Exception as exc:
            assert_clean(exc)
            assert fake.calls == 0
            return
        # Checked above; polling fast keeps the test fast.
        config = config.model_copy(update={"poll_interval": 0.001})
        try:
            await api.generate_video_async(config, VideoGenerationRequest(prompt="a cat"))
        except Exception as exc:
            assert_clean(exc)
            if refused_locally(exc):
                assert fake.submit.call_count == 0
            return
        event("generated")
        assert fake.submit.calls.last.request.headers["authorization"] == f"Key {key.strip()}"


# -- handles ------------------------------------------------------------------------------

json_values = st.one_of(json_leaf, odd_text, urls, st.lists(json_leaf, max_size=2))
times = st.one_of(
    st.datetimes().map(lambda moment: moment.isoformat()),
    st.datetimes(timezones=st.just(UTC)).map(lambda moment: moment.isoformat()),
    odd_text,
)
HANDLE_FIELDS = (
    "kind",
    "provider",
    "model",
    "request_id",
    "base_url",
    "status_url",
    "result_url",
    "cancel_url",
    "api_version",
    "request_summary",
    "provider_state",
    "adaptations",
)


@FUZZ
@given(
    changes=st.dictionaries(st.sampled_from(HANDLE_FIELDS), json_values, max_size=3),
    submitted_at=times,
    deadline_at=st.none() | times,
    timeout=st.none() | seconds,
    poll_interval=st.just(5.0) | seconds,
)
async def test_random_handles_raise_only_typed_errors_and_send_nothing_when_refused(
    changes: dict[str, Any],
    submitted_at: str,
    deadline_at: str | None,
    timeout: float | None,
    poll_interval: float,
) -> None:
    """A stored or edited handle (any JSON) is refused on load or by wait/status/cancel
    with a typed error before any request, or is waited on normally."""
    fields: dict[str, Any] = {
        "kind": "video",
        "provider": "fal",
        "model": MODEL,
        "request_id": REQ,
        "base_url": BASE,
        "status_url": f"{ROOT}/status",
        "result_url": ROOT,
        "cancel_url": f"{ROOT}/cancel",
        "submitted_at": submitted_at,
        "deadline_at": deadline_at,
        **changes,
    }
    try:
        text = json.dumps(fields)
    except (TypeError, ValueError, UnicodeEncodeError):
        return  # not JSON: no store could have held it
    with fal() as fake:
        try:
            handle = JobHandle.model_validate_json(text)
        except Exception as exc:
            assert_clean(exc)
            return
        calls: list[tuple[Any, dict[str, Any]]] = [
            (api.status_async, {}),
            (api.cancel_async, {}),
            (api.wait_async, {"timeout": timeout, "poll_interval": poll_interval}),
        ]
        for function, kwargs in calls:
            before = fake.calls
            try:
                await function(handle, config=video_config(), **kwargs)
                event(f"{function.__name__} returned")
            except Exception as exc:
                assert_clean(exc)
                if refused_locally(exc):
                    assert fake.calls == before
            if fake.calls == before:
                continue
            # Anything sent went to fal's API only (the key never leaves it).
            for call in fake.router.calls:
                assert call.request.url.host == httpx.URL(BASE).host


def test_the_oracle_flags_what_json_cannot_carry() -> None:
    """The fuzz test's own notion of unsendable agrees with strict JSON on a few cases."""
    assert is_bad({"a": {1}}) and is_bad([math.nan]) and is_bad({"\udc80": 1})
    assert is_bad(datetime.now(UTC)) and is_bad(b"")
    assert not is_bad({"a": [1, "x", None, 2.5, {"b": True}]})
