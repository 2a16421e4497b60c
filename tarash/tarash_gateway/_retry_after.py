"""Reading a provider's "wait this long" hint from reply headers."""

from __future__ import annotations

import email.utils
import time
from collections.abc import Mapping

__all__ = ["parse_retry_after"]


def parse_retry_after(headers: Mapping[str, str], *, now: float | None = None) -> float | None:
    """Return the delay a reply asks for, in seconds, or ``None`` when it asks for none.

    Reads, in order, ``retry-after-ms`` (OpenAI's millisecond form), then ``Retry-After`` as
    seconds or as an HTTP date (RFC 9110 §10.2.3). Negative or unreadable values are ignored.

    Args:
        headers: The reply headers (any case).
        now: The current Unix time, for HTTP dates; defaults to the system clock.

    Returns:
        The delay in seconds, or ``None``.
    """
    lowered = {key.lower(): value for key, value in headers.items()}
    millis = lowered.get("retry-after-ms")
    if millis is not None:
        try:
            value = float(millis) / 1000.0
        except ValueError:
            value = -1.0
        if value >= 0:
            return value
    raw = lowered.get("retry-after")
    if raw is None:
        return None
    raw = raw.strip()
    try:
        seconds = float(raw)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(raw)
        except (TypeError, ValueError):
            return None
        current = time.time() if now is None else now
        return max(0.0, when.timestamp() - current)
    return seconds if seconds >= 0 else None
