"""Issue 7 item 2: exceptions built, printed and classified as the published reference says."""

from __future__ import annotations

from typing import Any

import pytest

SIMPLE_CLASSES = (
    "TarashException",
    "ValidationError",
    "ContentModerationError",
    "GenerationFailedError",
    "HTTPConnectionError",
)


def _exc(name: str) -> Any:
    # From the root, which the published package also exports them from: the exceptions
    # module's own existence is pinned in test_modules.
    import tarash.tarash_gateway as gateway

    return getattr(gateway, name)


@pytest.mark.parametrize("name", SIMPLE_CLASSES)
def test_constructor_takes_the_published_positional_arguments(name: str) -> None:
    """Each class takes (message, provider, model, request_id, raw_response) positionally."""
    error = _exc(name)("went wrong", "fal", "fal-ai/veo3", "req-1", {"detail": "x"})
    assert (error.message, error.provider, error.model) == ("went wrong", "fal", "fal-ai/veo3")
    assert (error.request_id, error.raw_response) == ("req-1", {"detail": "x"})


@pytest.mark.parametrize("name", SIMPLE_CLASSES)
def test_constructor_takes_the_published_keyword_arguments(name: str) -> None:
    """Each class takes message first and provider/model/request_id/raw_response by name."""
    error = _exc(name)(
        "went wrong", provider="fal", model="fal-ai/veo3", request_id="r", raw_response={"a": 1}
    )
    assert (error.provider, error.model, error.request_id) == ("fal", "fal-ai/veo3", "r")
    assert error.raw_response == {"a": 1}


@pytest.mark.parametrize("name", SIMPLE_CLASSES)
def test_message_only_leaves_the_context_none(name: str) -> None:
    """Only the message is required; the other published attributes default to None."""
    error = _exc(name)("just a message")
    assert (error.provider, error.model, error.request_id, error.raw_response) == (
        None,
        None,
        None,
        None,
    )


@pytest.mark.parametrize("name", [*SIMPLE_CLASSES, "HTTPError", "TimeoutError"])
def test_str_is_the_message_alone(name: str) -> None:
    """str(e) is the message as given; provider/model/request_id stay in attributes."""
    error = _exc(name)("went wrong", provider="fal", model="fal-ai/veo3", request_id="req-9")
    assert str(error) == "went wrong"
    assert error.args[0] == "went wrong"


@pytest.mark.parametrize("name", [*SIMPLE_CLASSES, "HTTPError", "TimeoutError"])
def test_repr_keeps_the_provider_context(name: str) -> None:
    """repr(e) still shows the provider and model (the context moved out of str)."""
    error = _exc(name)("went wrong", provider="fal", model="fal-ai/veo3")
    assert "fal-ai/veo3" in repr(error)
    assert "went wrong" in repr(error)


def test_http_error_takes_status_code_sixth_or_by_name() -> None:
    """HTTPError(message, provider, model, request_id, raw_response, status_code)."""
    http_error = _exc("HTTPError")
    positional = http_error("rate limited", "fal", "fal-ai/veo3", "r", {"detail": "slow"}, 429)
    assert positional.status_code == 429
    assert positional.raw_response == {"detail": "slow"}
    assert http_error("boom", status_code=503).status_code == 503
    assert http_error("boom").status_code is None


def test_timeout_error_takes_timeout_seconds_sixth_or_by_name() -> None:
    """TimeoutError(message, provider, model, request_id, raw_response, timeout_seconds)."""
    timeout_error = _exc("TimeoutError")
    positional = timeout_error("too slow", "fal", "fal-ai/veo3", "r", None, 600)
    assert positional.timeout_seconds == 600
    assert timeout_error("too slow", timeout_seconds=12.5).timeout_seconds == 12.5
    assert timeout_error("too slow").timeout_seconds is None


def test_hierarchy_is_the_published_one() -> None:
    """All six are TarashException subclasses and TarashException is an Exception."""
    root = _exc("TarashException")
    assert issubclass(root, Exception)
    for name in (*SIMPLE_CLASSES[1:], "HTTPError", "TimeoutError"):
        assert issubclass(_exc(name), root)


def test_our_extra_attributes_remain() -> None:
    """retryable, fallback_allowed, execution_metadata, job_handle and retry_after stay."""
    error = _exc("HTTPError")("rate limited", provider="fal", status_code=429)
    assert isinstance(error.retryable, bool)
    assert isinstance(error.fallback_allowed, bool)
    assert error.execution_metadata is None
    assert error.job_handle is None
    assert error.retry_after is None


@pytest.mark.parametrize(
    ("name", "kwargs", "expected"),
    [
        ("GenerationFailedError", {}, True),
        ("TimeoutError", {}, True),
        ("HTTPConnectionError", {}, True),
        ("HTTPError", {"status_code": 429}, True),
        ("HTTPError", {"status_code": 500}, True),
        ("HTTPError", {"status_code": 502}, True),
        ("HTTPError", {"status_code": 503}, True),
        ("HTTPError", {"status_code": 504}, True),
        ("HTTPError", {"status_code": 400}, False),
        ("HTTPError", {"status_code": 401}, False),
        ("HTTPError", {"status_code": 403}, False),
        ("HTTPError", {"status_code": 404}, False),
        ("ValidationError", {}, False),
        ("ContentModerationError", {}, False),
        ("TarashException", {}, False),
    ],
)
def test_is_retryable_error_follows_the_published_table(
    name: str, kwargs: dict[str, Any], expected: bool
) -> None:
    """is_retryable_error(e) says whether e falls back, per the published table."""
    from tarash.tarash_gateway.exceptions import is_retryable_error

    assert is_retryable_error(_exc(name)("x", **kwargs)) is expected


def test_is_retryable_error_is_false_for_foreign_exceptions() -> None:
    """Exceptions that are not tarash's never trigger a fallback."""
    from tarash.tarash_gateway.exceptions import is_retryable_error

    assert is_retryable_error(RuntimeError("x")) is False


def test_is_retryable_error_reads_our_http_subclasses_by_status() -> None:
    """Our finer HTTP classes classify as their status does in the published table."""
    from tarash.tarash_gateway.errors import (
        AuthenticationError,
        NotFoundError,
        ProviderServerError,
        RateLimitError,
    )
    from tarash.tarash_gateway.exceptions import is_retryable_error

    assert is_retryable_error(RateLimitError("slow", status_code=429)) is True
    assert is_retryable_error(ProviderServerError("down", status_code=502)) is True
    assert is_retryable_error(AuthenticationError("key", status_code=401)) is False
    assert is_retryable_error(NotFoundError("gone", status_code=404)) is False


class _Config:
    provider = "my-provider"
    model = "my-model"


def _decorated_handler(failure: BaseException) -> Any:
    from tarash.tarash_gateway.exceptions import handle_video_generation_errors

    class Handler:
        @handle_video_generation_errors
        def generate_video(self, config: Any, request: Any, on_progress: Any = None) -> Any:
            raise failure

        @handle_video_generation_errors
        async def generate_video_async(
            self, config: Any, request: Any, on_progress: Any = None
        ) -> Any:
            raise failure

    return Handler()


def _call_sync(handler: Any) -> None:
    handler.generate_video(_Config(), None)


def test_decorator_wraps_unknown_errors_with_the_traceback() -> None:
    """handle_video_generation_errors turns a foreign error into a TarashException."""
    from tarash.tarash_gateway import TarashException

    with pytest.raises(TarashException) as info:
        _call_sync(_decorated_handler(KeyError("missing")))
    assert info.value.provider == "my-provider"
    assert info.value.model == "my-model"
    assert isinstance(info.value.raw_response, dict)
    assert info.value.raw_response["error_type"] == "KeyError"
    assert "Traceback" in info.value.raw_response["traceback"]


@pytest.mark.anyio
async def test_decorator_wraps_async_methods_too() -> None:
    """The decorator works on async methods: a foreign error becomes a TarashException."""
    from tarash.tarash_gateway import TarashException

    with pytest.raises(TarashException) as info:
        await _decorated_handler(ValueError("bad")).generate_video_async(_Config(), None)
    assert info.value.raw_response["error_type"] == "ValueError"


def test_decorator_lets_tarash_and_pydantic_errors_through() -> None:
    """Tarash errors and pydantic ValidationErrors pass through the decorator unchanged."""
    import pydantic

    from tarash.tarash_gateway import GenerationFailedError

    failure = GenerationFailedError("provider failed", provider="fal")
    with pytest.raises(GenerationFailedError) as info:
        _call_sync(_decorated_handler(failure))
    assert info.value is failure

    try:
        pydantic.TypeAdapter(int).validate_python("not an int")
    except pydantic.ValidationError as exc:
        pydantic_error = exc
    with pytest.raises(pydantic.ValidationError):
        _call_sync(_decorated_handler(pydantic_error))
