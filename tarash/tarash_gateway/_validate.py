"""Value checks shared by the models, the public functions and the submit path.

Each check raises tarash's :class:`ValidationError` naming the field, so bad input fails
before anything is sent, with an error the one ``except TarashException`` clause catches.
Messages never quote a key.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any, TypeGuard
from urllib.parse import urlsplit

import httpx

from tarash.tarash_gateway.errors import ValidationError

__all__ = [
    "MAX_SECONDS",
    "MIN_POLL_INTERVAL",
    "check_identifier",
    "check_provider_name",
    "check_seconds",
    "check_sendable",
    "check_text",
    "check_url",
    "clean_api_key",
    "is_well_formed_url",
    "provider_key",
]

MAX_SECONDS = 30 * 24 * 3600.0
"""The longest timeout or poll interval accepted (30 days): beyond it, deadline arithmetic
on wall-clock datetimes overflows, and no provider keeps a job that long."""
MIN_POLL_INTERVAL = 0.001
"""The shortest poll interval accepted; anything shorter is a busy loop of status calls."""

_PROVIDER_NAME = re.compile(r"[a-z][a-z0-9_]*")
# Other spellings of a provider's registry key.
_ALIASES: dict[str, str] = {"fal_ai": "fal", "falai": "fal"}
_PRINTABLE_ASCII = re.compile(r"[\x21-\x7e]*")


def _invalid(message: str) -> ValidationError:
    # The input itself is wrong, so no other provider would take it either.
    return ValidationError(message, fallback_allowed=False)


def check_seconds(value: object, name: str, *, minimum: float = 0.0) -> float:
    """Return ``value`` as seconds if it is a finite number in ``(minimum, MAX_SECONDS]``.

    ``minimum`` itself is accepted when it is above zero.

    Raises:
        ValidationError: ``value`` is not a number, not finite, too small or too large.
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _invalid(f"{name} must be a number of seconds, got {type(value).__name__}")
    seconds = float(value)
    too_small = seconds < minimum if minimum > 0 else seconds <= 0
    if not math.isfinite(seconds) or too_small or seconds > MAX_SECONDS:
        low = f"at least {minimum:g}" if minimum > 0 else "above 0"
        raise _invalid(
            f"{name} must be a finite number of seconds, {low} and at most "
            f"{MAX_SECONDS:.0f} (30 days); got {value!r}"
        )
    return seconds


def _url_problem(url: str) -> str | None:
    """Why ``url`` is not a usable http(s) URL, or ``None`` when it is."""
    if not url:
        return "it is empty"
    if not url.isprintable() or any(char.isspace() for char in url):
        # urllib silently drops tabs and newlines, httpx refuses them: refuse them here.
        return "it contains whitespace or control characters"
    # Both parsers are used on these URLs (httpx to send, urllib to compare origins), and
    # each lets through something the other refuses (an unclosed '[', port 99999).
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, ValueError, TypeError):
        return "it cannot be parsed"
    if parsed.scheme not in ("http", "https"):
        return "its scheme is not http or https"
    if parsed.port is not None and not 1 <= parsed.port <= 65535:
        return "its port is not between 1 and 65535"
    try:
        split = urlsplit(url)
        host, _ = split.hostname, split.port
    except ValueError:
        return "it cannot be parsed"
    if not parsed.host or not host or "%" in parsed.host:
        return "it has no valid host"
    return None


def _shown(url: str) -> str:
    """``url`` fit for an error message: no query, fragment or user info (they may hold a
    token), non-printable characters escaped, cut short."""
    bare = re.sub(r"//[^/?#@]*@", "//***@", re.split(r"[?#]", url, maxsplit=1)[0])
    return ascii(bare[:100])


def is_well_formed_url(url: object) -> TypeGuard[str]:
    """Whether ``url`` is a string :func:`check_url` accepts."""
    return isinstance(url, str) and _url_problem(url) is None


def check_url(url: str, name: str) -> str:
    """Return ``url`` if it is a well-formed http(s) URL with a host and a valid port.

    Raises:
        ValidationError: Naming ``name`` and what is wrong with the URL.
    """
    problem = _url_problem(url)
    if problem is not None:
        raise _invalid(f"{name} must be an http(s) URL with a host; {problem}: {_shown(url)}")
    return url


def check_identifier(value: str, name: str, *, forbidden: str = "") -> str:
    """Return ``value`` if it is printable, has no whitespace and none of ``forbidden``.

    Model ids, versions and job ids go into URL paths and headers, where a newline or a
    control character breaks the request (or changes what is requested).

    Raises:
        ValidationError: Naming ``name``.
    """
    # str.isprintable() is False for control, format and surrogate characters.
    bad = [char for char in value if not char.isprintable() or char.isspace() or char in forbidden]
    if bad:
        extra = f" or any of {forbidden!r}" if forbidden else ""
        raise _invalid(
            f"{name} must not contain whitespace, control characters{extra}; got {value!a}"
        )
    return value


def check_provider_name(value: str) -> str:
    """Return a normalised provider name if it looks like one (``fal``, ``azure_openai``).

    Raises:
        ValidationError: The name has characters no provider name has.
    """
    if not _PROVIDER_NAME.fullmatch(value):
        raise _invalid(
            "provider must be a provider name such as 'fal' or 'replicate' (letters, "
            f"digits, '_' or '-'); got {value!a}"
        )
    return value


def provider_key(name: str) -> str:
    """The registry key of a provider name: stripped, lower-cased, ``-`` read as ``_``.

    Only lookups use it (the provider registry's, the field mappers' and the router's
    tables); the name itself is kept as written everywhere else.
    """
    key = name.strip().lower().replace("-", "_")
    return _ALIASES.get(key, key)


def clean_api_key(key: str, name: str = "api_key") -> str:
    """Return ``key`` without surrounding whitespace, refusing any other odd character.

    Keys read from a file or a CRLF ``.env`` end in a newline; HTTP refuses it in a header
    and its error message quotes the whole header, key included.

    Raises:
        ValidationError: The key holds whitespace, control or non-ASCII characters inside;
            the message does not quote it.
    """
    stripped = key.strip()
    if not _PRINTABLE_ASCII.fullmatch(stripped):
        position = next(
            index for index, char in enumerate(stripped) if not "\x21" <= char <= "\x7e"
        )
        raise _invalid(
            f"{name} contains a whitespace, control or non-ASCII character (at position "
            f"{position} of {len(stripped)}); keys are printable ASCII"
        )
    return stripped


def check_text(value: str, name: str) -> str:
    """Return ``value`` if it can be sent as UTF-8 (no lone surrogate, as from bad decoding).

    Raises:
        ValidationError: Naming ``name`` and the position of the first bad character.
    """
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise _invalid(
            f"{name} holds a character that cannot be sent (a lone surrogate "
            f"{value[exc.start]!a} at position {exc.start}); it usually comes from "
            "decoding bytes with errors='surrogateescape'"
        ) from None
    return value


def _encode(value: Any) -> None:
    # Exactly what httpx does with ``json=``: strict JSON, no NaN, UTF-8.
    json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8")


def _find_unsendable(value: Any, path: str, seen: set[int]) -> tuple[str, str]:
    """The path of the first value that cannot be encoded, and why."""
    if isinstance(value, dict | list | tuple):
        if id(value) in seen:
            return path, "it contains itself (a circular reference)"
        seen.add(id(value))
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in items:
            child = f"{path}[{key!r}]" if isinstance(value, dict) else f"{path}[{key}]"
            if isinstance(value, dict):
                if not isinstance(key, str | int | float | bool) and key is not None:
                    return child, f"its key is a {type(key).__name__}, not a string"
                try:
                    _encode({key: None})
                except (TypeError, ValueError):
                    return child, "its key cannot be sent (NaN, or a lone surrogate)"
            try:
                _encode(item)
            except (TypeError, ValueError, RecursionError):
                return _find_unsendable(item, child, seen)
        return path, "it is nested too deeply"
    if isinstance(value, float):
        return path, f"{value!r} is not a JSON number"
    if isinstance(value, str):
        return path, "it holds a lone surrogate, which UTF-8 cannot encode"
    if isinstance(value, int):
        return path, "the integer is too large to send"
    return path, f"a {type(value).__name__} is not JSON (send str, numbers, lists or dicts)"


def check_sendable(value: Any, name: str) -> None:
    """Check that ``value`` encodes as the JSON body httpx will send.

    Args:
        value: The body, or a part of it.
        name: How to name ``value`` in the error (``extra_params``, say); the failing
            element is named below it, e.g. ``extra_params['when']``.

    Raises:
        ValidationError: Naming the first element that cannot be sent (a set, a datetime,
            bytes, NaN or infinity, a lone surrogate, a circular reference) and why.
    """
    try:
        _encode(value)
    except (TypeError, ValueError, RecursionError):
        try:
            path, why = _find_unsendable(value, name, set())
        except RecursionError:
            path, why = name, "it is nested too deeply"
        raise _invalid(f"{path} cannot be sent as JSON: {why}") from None
