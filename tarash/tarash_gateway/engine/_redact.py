"""Scrubbing secrets out of anything copied from a lower layer, before it reaches an error.

A secret leaks in more spellings than its own: httpx and h11 quote a rejected header as a
bytes repr (``b'Bearer r8_abc\\n'``), JSON bodies escape it, URLs percent-encode it, a
header carries it behind ``Bearer``/``Key``, a fal key is ``key_id:key_secret`` and either
half is secret, and a provider message cut at a length limit may end in the first part of
it. :func:`secret_forms` spells each of these out once; :func:`redact` and
:func:`scrub_exception` replace them all.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from typing import Any, TypeVar
from urllib.parse import quote, quote_plus

from tarash.tarash_gateway.errors import TarashException

__all__ = ["MIN_SECRET_LENGTH", "REDACTED", "Secrets", "redact", "scrub_exception", "secret_forms"]

REDACTED = "***"
MIN_SECRET_LENGTH = 8
"""Shorter values are never scrubbed: that would mangle ordinary text (real keys are longer)."""

_E = TypeVar("_E", bound=BaseException)

Secrets = str | Iterable[str | None] | None
"""One secret, several, or none."""

# Where a header value or a compound key splits into parts that are secret on their own.
_SEPARATORS = re.compile(r"[\s:]+")


def _spellings(piece: str) -> Iterator[str]:
    yield piece
    yield repr(piece)[1:-1]  # Python's str repr: \n, \t, \x01 and \u escapes
    yield repr(piece.encode("utf-8", "surrogatepass"))[2:-1]  # bytes repr, as h11 quotes a header
    yield json.dumps(piece)[1:-1]
    yield json.dumps(piece, ensure_ascii=False)[1:-1]
    yield quote(piece, safe="")
    yield quote_plus(piece)


def _as_list(secrets: Secrets) -> list[str]:
    if secrets is None:
        return []
    if isinstance(secrets, str):
        return [secrets]
    return [secret for secret in secrets if secret]


def secret_forms(secrets: Secrets) -> tuple[str, ...]:
    """Every spelling of ``secrets`` that text may carry, longest first.

    For each secret: the value as given and without surrounding whitespace, each part of
    it between whitespace or ``:`` (the token of ``Bearer <token>``, each half of
    ``key_id:key_secret``), each in its repr, bytes-repr, JSON and percent-encoded form.
    Forms shorter than :data:`MIN_SECRET_LENGTH` are left out.
    """
    pieces: set[str] = set()
    for secret in _as_list(secrets):
        core = secret.strip()
        pieces.update((secret, core, *_SEPARATORS.split(core)))
    forms = {
        form
        for piece in pieces
        if len(piece.strip()) >= MIN_SECRET_LENGTH
        for form in _spellings(piece)
        if len(form) >= MIN_SECRET_LENGTH
    }
    return tuple(sorted(forms, key=lambda form: (-len(form), form)))


def _scrub_text(text: str, forms: tuple[str, ...]) -> str:
    for form in forms:
        if form in text:
            text = text.replace(form, REDACTED)
    # A message cut at a length limit may end part-way through a secret.
    for form in forms:
        for length in range(len(form) - 1, MIN_SECRET_LENGTH - 1, -1):
            if text.endswith(form[:length]):
                return text[:-length] + REDACTED
    return text


def _redact_with(value: Any, forms: tuple[str, ...]) -> Any:
    if isinstance(value, str):
        return _scrub_text(value, forms)
    if isinstance(value, dict):
        return {_redact_with(key, forms): _redact_with(item, forms) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_redact_with(item, forms) for item in value)
    return value


def redact(value: Any, secrets: Secrets) -> Any:
    """Return ``value`` with every form of every secret replaced, in nested data too.

    Strings, and the strings inside dicts, lists and tuples, are rewritten; anything else is
    returned as is. Secrets shorter than :data:`MIN_SECRET_LENGTH` are left alone.

    Args:
        value: Text or parsed JSON (a provider's body, say).
        secrets: The secret, or several (a key as given and as resolved, header values).

    Returns:
        The scrubbed copy (``value`` itself when there is nothing to scrub).
    """
    forms = secret_forms(secrets)
    return _redact_with(value, forms) if forms else value


def _scrub_args(exc: BaseException, forms: tuple[str, ...]) -> None:
    scrubbed = tuple(_redact_with(arg, forms) for arg in exc.args)
    # Compared by identity: args may hold objects whose == is costly or raises.
    if any(new is not old for new, old in zip(scrubbed, exc.args, strict=True)):
        exc.args = scrubbed
    notes = getattr(exc, "__notes__", None)
    if isinstance(notes, list):
        notes[:] = [_redact_with(note, forms) for note in notes]


def scrub_exception(error: _E, secrets: Secrets) -> _E:
    """Scrub ``secrets`` from an exception in place, and from every exception it chains to.

    On a tarash error the message, the args, the provider's body (``raw_response``) and the
    attempts' messages in ``execution_metadata`` are rewritten. The exceptions it was raised
    from (httpx's, say, whose text may quote a whole header) are scrubbed too, so a
    traceback shows no secret either.

    Args:
        error: The exception to scrub.
        secrets: What must not appear in it.

    Returns:
        ``error``, for ``raise scrub_exception(...)``.
    """
    forms = secret_forms(secrets)
    if not forms:
        return error
    seen: set[int] = set()
    pending: list[BaseException] = [error]
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        _scrub_args(current, forms)
        if isinstance(current, TarashException):
            current.message = _scrub_text(current.message, forms)
            current.raw_response = _redact_with(current.raw_response, forms)
            metadata = current.execution_metadata
            for attempt in metadata.attempts if metadata is not None else []:
                if attempt.error_message is not None:
                    attempt.error_message = _scrub_text(attempt.error_message, forms)
        pending.extend(arg for arg in current.args if isinstance(arg, BaseException))
        pending.extend(
            linked for linked in (current.__cause__, current.__context__) if linked is not None
        )
        if isinstance(current, BaseExceptionGroup):
            pending.extend(current.exceptions)
    return error
