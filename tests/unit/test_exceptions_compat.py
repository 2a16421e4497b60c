"""The published exceptions module and constructors: same classes, published argument order,
str() the message alone, is_retryable_error's table, handle_video_generation_errors."""

from __future__ import annotations

import builtins
import inspect
import logging
import pickle
from typing import Any

import pydantic
import pytest
from pydantic import SecretStr

import tarash.tarash_gateway as gateway
from tarash.tarash_gateway import errors, exceptions
from tarash.tarash_gateway.engine._polling import JobSnapshot, JobState, poll_until_done

KEY = "sk-decorator-canary-0123456789"

PUBLISHED = (
    "TarashException",
    "ValidationError",
    "ContentModerationError",
    "GenerationFailedError",
    "HTTPConnectionError",
    "HTTPError",
    "TimeoutError",
)
OURS = (
    "JobCancelledError",
    "AuthenticationError",
    "InsufficientCreditError",
    "NotFoundError",
    "RateLimitError",
    "ProviderServerError",
)
HTTP_CLASSES = (
    "HTTPError",
    "AuthenticationError",
    "InsufficientCreditError",
    "NotFoundError",
    "RateLimitError",
    "ProviderServerError",
)


@pytest.mark.parametrize("name", PUBLISHED + OURS)
def test_exceptions_module_reexports_the_same_class_objects(name: str) -> None:
    """exceptions.X is errors.X is the root's X, so any except clause catches what we raise."""
    assert getattr(exceptions, name) is getattr(errors, name) is getattr(gateway, name)


def test_exceptions_module_all_lists_what_it_defines() -> None:
    """exceptions.__all__ is sorted and each name in it is importable from the module."""
    assert exceptions.__all__ == sorted(exceptions.__all__)
    for name in exceptions.__all__:
        assert hasattr(exceptions, name)
    assert {*PUBLISHED, "is_retryable_error", "handle_video_generation_errors"} <= set(
        exceptions.__all__
    )


@pytest.mark.parametrize("name", PUBLISHED + OURS)
def test_first_five_parameters_are_the_published_ones_in_order(name: str) -> None:
    """Every class takes message, provider, model, request_id, raw_response positionally."""
    error = getattr(errors, name)("m", "fal", "fal-ai/veo3", "r-1", {"a": 1})
    assert (error.message, error.provider, error.model) == ("m", "fal", "fal-ai/veo3")
    assert (error.request_id, error.raw_response) == ("r-1", {"a": 1})
    parameters = list(inspect.signature(getattr(errors, name)).parameters.values())
    assert [p.name for p in parameters[:5]] == [
        "message",
        "provider",
        "model",
        "request_id",
        "raw_response",
    ]


@pytest.mark.parametrize("name", HTTP_CLASSES)
def test_http_classes_take_status_code_sixth(name: str) -> None:
    """HTTPError and its subclasses take status_code as the sixth positional argument."""
    error = getattr(errors, name)("m", "fal", "x", "r", None, 429)
    assert error.status_code == 429
    assert error.retry_after is None


def test_timeout_error_takes_timeout_seconds_sixth_and_stays_a_clean_builtin() -> None:
    """TimeoutError's sixth positional is timeout_seconds; OSError never reads the args."""
    error = errors.TimeoutError("too slow", "fal", "m", "r", None, 600)
    assert error.timeout_seconds == 600
    assert isinstance(error, builtins.TimeoutError)
    assert (error.errno, error.strerror, error.args) == (None, None, ("too slow",))
    assert str(error) == "too slow"


@pytest.mark.parametrize("name", PUBLISHED + OURS)
def test_our_parameters_after_the_published_ones_are_keyword_only(name: str) -> None:
    """retryable, fallback_allowed, job_may_exist (and status_code on the base) are by name."""
    signature = inspect.signature(getattr(errors, name))
    for option in ("retryable", "fallback_allowed", "job_may_exist"):
        assert signature.parameters[option].kind is inspect.Parameter.KEYWORD_ONLY
    if name not in HTTP_CLASSES:
        assert signature.parameters["status_code"].kind is inspect.Parameter.KEYWORD_ONLY
    if name != "TimeoutError" and name not in HTTP_CLASSES:
        with pytest.raises(TypeError):
            getattr(errors, name)("m", None, None, None, None, 400)


def test_http_error_keeps_retry_after_keyword_only() -> None:
    """retry_after is tarash's, after the published status_code, by name only."""
    error = errors.RateLimitError("slow", "fal", "m", None, None, 429, retry_after=3.0)
    assert (error.status_code, error.retry_after) == (429, 3.0)
    signature = inspect.signature(errors.HTTPError)
    assert signature.parameters["retry_after"].kind is inspect.Parameter.KEYWORD_ONLY


def test_connection_error_keeps_reached_server_keyword_only() -> None:
    """HTTPConnectionError's reached_server follows the published five, by name only."""
    error = errors.HTTPConnectionError("refused", "fal", reached_server=False)
    assert (error.provider, error.reached_server) == ("fal", False)


@pytest.mark.parametrize("name", PUBLISHED + OURS)
def test_str_is_the_message_and_repr_keeps_the_context(name: str) -> None:
    """str(e) and e.args are the message alone; repr shows provider, model, status, id."""
    error = getattr(errors, name)("went wrong", "fal", "fal-ai/veo3", "req-9", status_code=502)
    assert str(error) == "went wrong"
    assert error.args == ("went wrong",)
    text = repr(error)
    for part in ("went wrong", "'fal'", "fal-ai/veo3", "req-9", "502"):
        assert part in text


@pytest.mark.parametrize("name", PUBLISHED + OURS)
def test_errors_pickle_with_their_attributes(name: str) -> None:
    """An error survives pickling (worker processes) with its published attributes."""
    error = getattr(errors, name)("m", "fal", "x", "r", {"b": 2})
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error)
    assert (copy.message, copy.provider, copy.model, copy.request_id, copy.raw_response) == (
        "m",
        "fal",
        "x",
        "r",
        {"b": 2},
    )


def test_timeout_seconds_and_status_code_survive_pickling() -> None:
    """The sixth published attribute of TimeoutError and HTTPError survives pickling."""
    timeout = pickle.loads(pickle.dumps(errors.TimeoutError("t", timeout_seconds=12.5)))
    http = pickle.loads(pickle.dumps(errors.HTTPError("h", status_code=503, retry_after=2.0)))
    assert timeout.timeout_seconds == 12.5
    assert (http.status_code, http.retry_after) == (503, 2.0)


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (errors.GenerationFailedError("x"), True),
        (errors.JobCancelledError("x"), True),
        (errors.TimeoutError("x"), True),
        (errors.HTTPConnectionError("x"), True),
        *((errors.HTTPError("x", status_code=s), True) for s in (429, 500, 502, 503, 504)),
        # A CDN's 520-524 or an overloaded 529 is an outage like a 502.
        *((errors.HTTPError("x", status_code=s), True) for s in (520, 529)),
        (errors.RateLimitError("x", status_code=429), True),
        (errors.ProviderServerError("x", status_code=503), True),
        # A body that could not be read (status 200) is still the provider's own fault.
        (errors.ProviderServerError("garbled", status_code=200), True),
        *(
            (errors.HTTPError("x", status_code=s), False)
            for s in (400, 401, 402, 403, 404, 408, 409, 418, 422, 425)
        ),
        (errors.HTTPError("x"), False),
        (errors.AuthenticationError("x", status_code=401), False),
        (errors.InsufficientCreditError("x", status_code=402), False),
        (errors.NotFoundError("x", status_code=404), False),
        (errors.ValidationError("x"), False),
        (errors.ValidationError("x", status_code=422), False),
        (errors.ContentModerationError("x"), False),
        (errors.TarashException("x"), False),
        (RuntimeError("x"), False),
        (KeyboardInterrupt(), False),
    ],
)
def test_is_retryable_error_is_the_published_table(error: BaseException, expected: bool) -> None:
    """is_retryable_error answers the published table, our subclasses by their status."""
    assert exceptions.is_retryable_error(error) is expected
    assert errors.falls_back(error) is expected


@pytest.mark.parametrize(
    "error",
    [
        # A finished job whose result could not be read: the next provider would be paid again.
        errors.HTTPConnectionError("result read dropped", fallback_allowed=False),
        # An accepted submit whose job id was never learnt.
        errors.ProviderServerError("no job id", status_code=200, fallback_allowed=False),
        errors.GenerationFailedError("x", fallback_allowed=False),
    ],
)
def test_an_error_that_forbids_a_fallback_is_never_retryable(error: BaseException) -> None:
    """fallback_allowed=False (never pay twice) wins over the table under every policy."""
    assert exceptions.is_retryable_error(error) is False
    assert errors.falls_back(error, "provider_specific") is False


@pytest.mark.parametrize(
    "error",
    [
        errors.AuthenticationError("key refused", status_code=401),
        errors.InsufficientCreditError("no credit", status_code=402),
        errors.NotFoundError("no such model", status_code=404),
        errors.ContentModerationError("flagged"),
        errors.ValidationError("duration 5 not offered by this model"),
        errors.ValidationError("rejected by the provider", status_code=422),
        errors.HTTPError("conflict", status_code=409, retryable=True),
    ],
)
def test_provider_specific_errors_fall_back_only_under_the_opt_in_policy(
    error: errors.TarashException,
) -> None:
    """A refused key, credit, moderation, unknown model or model refusal needs the opt-in."""
    assert errors.falls_back(error, "transient") is False
    assert errors.falls_back(error, "provider_specific") is True


@pytest.mark.parametrize(
    "error",
    [
        errors.ValidationError("prompt must not be empty", fallback_allowed=False),
        errors.TarashException("an error tarash cannot classify"),
        ValueError("not ours"),
    ],
)
def test_request_errors_and_unclassified_ones_never_fall_back(error: BaseException) -> None:
    """The request's own fault, or an unclassifiable error, falls back under no policy."""
    assert errors.falls_back(error, "provider_specific") is False


class _Config:
    provider = "my-provider"
    model = "my-model"

    def __init__(self, api_key: Any = None) -> None:
        self.api_key = api_key


def _handler(failure: BaseException) -> Any:
    class Handler:
        @exceptions.handle_video_generation_errors
        def generate_video(self, config: Any, request: Any, on_progress: Any = None) -> Any:
            """Sync handler method."""
            raise failure

        @exceptions.handle_video_generation_errors
        async def generate_video_async(
            self, config: Any, request: Any, on_progress: Any = None
        ) -> Any:
            raise failure

    return Handler()


def test_decorator_wraps_a_foreign_error_chained_from_it() -> None:
    """A foreign error becomes a TarashException from it, with type, text and traceback."""
    original = KeyError("missing")
    with pytest.raises(errors.TarashException) as info:
        _handler(original).generate_video(_Config(), None)
    error = info.value
    assert type(error) is errors.TarashException
    assert error.__cause__ is original
    assert (error.provider, error.model) == ("my-provider", "my-model")
    assert error.message == "Unknown error while generating video: 'missing'"
    assert error.raw_response["error"] == "'missing'"
    assert error.raw_response["error_type"] == "KeyError"
    assert "Traceback" in error.raw_response["traceback"]
    assert "KeyError" in error.raw_response["traceback"]
    assert errors.falls_back(error, "provider_specific") is False


@pytest.mark.anyio
async def test_decorator_wraps_async_methods_and_keeps_them_coroutines() -> None:
    """On an async method the wrapper is a coroutine function and wraps the same way."""
    handler = _handler(ValueError("bad"))
    assert inspect.iscoroutinefunction(type(handler).generate_video_async)
    with pytest.raises(errors.TarashException) as info:
        await handler.generate_video_async(_Config(), None)
    assert info.value.raw_response["error_type"] == "ValueError"
    assert isinstance(info.value.__cause__, ValueError)


def test_decorator_keeps_the_method_name_and_docstring() -> None:
    """functools.wraps: the decorated method keeps its name and docstring."""
    method = type(_handler(ValueError())).generate_video
    assert (method.__name__, method.__doc__) == ("generate_video", "Sync handler method.")


def test_decorator_lets_tarash_and_pydantic_errors_through_unchanged() -> None:
    """Tarash errors and pydantic ValidationErrors pass through as the same objects."""
    failure = errors.RateLimitError("slow", "fal", status_code=429)
    with pytest.raises(errors.RateLimitError) as info:
        _handler(failure).generate_video(_Config(), None)
    assert info.value is failure
    try:
        pydantic.TypeAdapter(int).validate_python("nope")
    except pydantic.ValidationError as exc:
        pydantic_error = exc
    with pytest.raises(pydantic.ValidationError) as caught:
        _handler(pydantic_error).generate_video(_Config(), None)
    assert caught.value is pydantic_error


@pytest.mark.parametrize("api_key", [KEY, SecretStr(KEY)], ids=["str", "SecretStr"])
def test_decorator_scrubs_the_configs_key_everywhere(
    api_key: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """The key in a foreign error's text reaches no message, traceback, cause or log."""
    caplog.set_level(logging.DEBUG)
    with pytest.raises(errors.TarashException) as info:
        _handler(RuntimeError(f"401 for Authorization: Bearer {KEY}")).generate_video(
            _Config(api_key), None
        )
    error = info.value
    texts = [
        str(error),
        repr(error),
        repr(error.raw_response),
        str(error.__cause__),
        repr(error.__cause__),
        caplog.text,
    ]
    assert all(KEY not in text for text in texts)
    assert "***" in error.message and "***" in error.raw_response["traceback"]
    assert "my-provider" in caplog.text


@pytest.mark.anyio
async def test_poll_deadline_reports_the_timeout_it_stands_for() -> None:
    """The TimeoutError at a polling deadline carries timeout_seconds as passed in."""
    now = [0.0]

    async def sleep(seconds: float) -> None:
        now[0] += seconds

    async def poll() -> JobSnapshot:
        return JobSnapshot(JobState.PROCESSING)

    with pytest.raises(errors.TimeoutError) as info:
        await poll_until_done(
            poll, deadline=30.0, sleep=sleep, clock=lambda: now[0], timeout_seconds=30.0
        )
    assert info.value.timeout_seconds == 30.0


@pytest.mark.anyio
async def test_max_polls_reports_the_time_spent_polling() -> None:
    """The TimeoutError at max_poll_attempts carries the seconds spent before giving up."""
    now = [100.0]

    async def sleep(seconds: float) -> None:
        now[0] += 2.0

    async def poll() -> JobSnapshot:
        return JobSnapshot(JobState.PROCESSING, poll_after=2.0)

    with pytest.raises(errors.TimeoutError, match="max_poll_attempts=3") as info:
        await poll_until_done(poll, deadline=None, max_polls=3, sleep=sleep, clock=lambda: now[0])
    assert info.value.timeout_seconds == 6.0
