"""Scrubbing a secret out of anything a provider echoed back, before it reaches an error."""

from __future__ import annotations

from typing import Any

__all__ = ["REDACTED", "redact"]

REDACTED = "***"


def redact(value: Any, secret: str | None) -> Any:
    """Return ``value`` with every occurrence of ``secret`` replaced, in nested data too.

    Strings, and the strings inside dicts, lists and tuples, are rewritten; anything else is
    returned as is. Secrets shorter than 8 characters are left alone (scrubbing them would
    mangle ordinary text; real keys are far longer).
    """
    if not secret or len(secret) < 8:
        return value
    if isinstance(value, str):
        return value.replace(secret, REDACTED)
    if isinstance(value, dict):
        return {redact(key, secret): redact(item, secret) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(redact(item, secret) for item in value)
    return value
