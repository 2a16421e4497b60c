"""Reading a provider's "wait this long" hint from reply headers."""

from __future__ import annotations

import email.utils
import re
import time
from collections.abc import Mapping

__all__ = ["parse_rate_limit_reset", "parse_retry_after"]

# OpenAI's reset durations: "1s", "6m0s", "20ms", "1h2m3.5s".
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")
_UNIT_SECONDS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}


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


def parse_rate_limit_reset(headers: Mapping[str, str]) -> float | None:
    """Seconds until the request budget resets, when a reply says none is left.

    OpenAI (and Azure OpenAI) report the account's request budget on every reply:
    ``x-ratelimit-remaining-requests`` and ``x-ratelimit-reset-requests`` (a duration such as
    ``6m0s``). A remaining count of 0 means the next create would be refused until the
    reset; Azure sends -1 where it does not count, which is not 0.

    Returns:
        The seconds to the reset, or ``None`` when requests remain, the headers are absent
        or unreadable.
    """
    lowered = {key.lower(): value for key, value in headers.items()}
    remaining = lowered.get("x-ratelimit-remaining-requests")
    reset = lowered.get("x-ratelimit-reset-requests")
    if remaining is None or reset is None:
        return None
    try:
        if int(remaining.strip()) != 0:
            return None
    except ValueError:
        return None
    text = reset.strip()
    try:
        seconds = float(text)
    except ValueError:
        parts = _DURATION_PART.findall(text)
        if not parts or "".join(number + unit for number, unit in parts) != text:
            return None
        seconds = sum(float(number) * _UNIT_SECONDS[unit] for number, unit in parts)
    return seconds if seconds > 0 else None
