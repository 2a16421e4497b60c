"""The error hierarchy: one class per status, retry and fallback flags, no secrets."""

from __future__ import annotations

import builtins

import pytest

from tarash.tarash_gateway import errors
from tarash.tarash_gateway._retry_after import parse_retry_after


@pytest.mark.parametrize(
    ("status", "expected", "retryable"),
    [
        (400, errors.ValidationError, False),
        (401, errors.AuthenticationError, False),
        (402, errors.InsufficientCreditError, False),
        (403, errors.AuthenticationError, False),
        (404, errors.NotFoundError, False),
        (408, errors.HTTPError, True),
        (425, errors.HTTPError, True),
        (422, errors.ValidationError, False),
        (429, errors.RateLimitError, True),
        (500, errors.ProviderServerError, True),
        (503, errors.ProviderServerError, True),
        (418, errors.HTTPError, False),
    ],
)
def test_status_maps_to_one_class(
    status: int, expected: type[errors.TarashException], retryable: bool
) -> None:
    """Each HTTP status maps to exactly one error class with the right retry flag."""
    error = errors.error_for_status(status, "boom", provider="fal", model="m")
    assert type(error) is expected
    assert error.retryable is retryable
    assert error.status_code == status
    assert error.fallback_allowed is True


def test_rate_limit_reads_retry_after() -> None:
    """A 429's Retry-After is on the error."""
    error = errors.error_for_status(429, "slow down", headers={"Retry-After": "7"})
    assert isinstance(error, errors.RateLimitError)
    assert error.retry_after == 7.0


def test_server_error_keeps_retry_after() -> None:
    """A 503's Retry-After is kept too, so the retry waits as asked."""
    error = errors.error_for_status(503, "busy", headers={"Retry-After": "2"})
    assert isinstance(error, errors.ProviderServerError)
    assert error.retry_after == 2.0


def test_timeout_error_is_also_the_builtin() -> None:
    """`except TimeoutError` (builtin) catches tarash's TimeoutError."""
    assert issubclass(errors.TimeoutError, builtins.TimeoutError)
    assert issubclass(errors.TimeoutError, errors.TarashException)


def test_str_is_the_message_and_repr_names_provider_model_status_and_request_id() -> None:
    """str(error) is the message alone (as published); repr says where it came from."""
    error = errors.HTTPError("bad", provider="fal", model="m", status_code=418, request_id="r1")
    assert str(error) == "bad"
    assert repr(error) == (
        "HTTPError('bad', provider='fal', model='m', status_code=418, request_id='r1', "
        "retryable=False, fallback_allowed=True)"
    )


def test_instance_flags_override_class_defaults() -> None:
    """An instance can say it is retryable even if its class is not."""
    error = errors.GenerationFailedError("x", retryable=True, fallback_allowed=False)
    assert error.retryable and not error.fallback_allowed
    assert errors.GenerationFailedError.retryable is False


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"retry-after-ms": "1500"}, 1.5),
        ({"Retry-After": "3"}, 3.0),
        ({"Retry-After": "Wed, 25 Nov 2026 12:00:10 GMT"}, 10.0),
        ({"Retry-After": "soon"}, None),
        ({"Retry-After": "-1"}, None),
        ({}, None),
    ],
)
def test_parse_retry_after(headers: dict[str, str], expected: float | None) -> None:
    """Retry-After is read as milliseconds, seconds or an HTTP date."""
    now = 1795608000.0  # 2026-11-25T12:00:00Z
    assert parse_retry_after(headers, now=now) == expected
