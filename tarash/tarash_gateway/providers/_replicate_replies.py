"""Reading a Replicate prediction: its times, progress, failure and output.

:mod:`.replicate` makes the calls; this module reads the prediction objects they return,
with no I/O (Replicate's HTTP API reference, "Predictions"):

- ``created_at`` / ``completed_at`` are ISO 8601 times; ``logs`` is the model's text
  output, whose last ``NN%|bar|`` line the Python SDK reads as progress;
- a failed prediction says why in ``error``, in words (a safety refusal among them);
- ``output`` is whatever the model returns: a URL, a data URI, or lists and objects of
  them; Replicate removes it an hour after the prediction (``data_removed``).
"""

from __future__ import annotations

import mimetypes
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from tarash.tarash_gateway.providers import _kit as kit

__all__ = [
    "MODERATION",
    "OUTPUT_RETENTION",
    "expires_at",
    "failure_error",
    "guess_content_type",
    "of_kind",
    "output_references",
    "parse_time",
    "progress_from_logs",
]

OUTPUT_RETENTION = timedelta(hours=1)
"""Replicate removes API inputs and outputs an hour after the prediction (``data_removed``)."""

MODERATION = re.compile(r"\bE005\b|flagged as sensitive|\bNSFW\b|safety", re.IGNORECASE)
"""How Replicate and the models it hosts word a safety refusal in ``error``."""

# The Python SDK reads progress from the last "NN%|bar| cur/total" line of ``logs``.
_PROGRESS = re.compile(r"(?P<percent>\d{1,3}(?:\.\d+)?)%\s*\|")
_MEDIA_TYPES = {
    ".mp4": "video/mp4",
    ".mov": "video/quicktime",
    ".webm": "video/webm",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".webp": "image/webp",
    ".gif": "image/gif",
}


def parse_time(value: object) -> datetime | None:
    """An ISO 8601 time (UTC when it names no zone), or ``None`` when it is not one."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def progress_from_logs(logs: object) -> int | None:
    """The percentage of the last progress bar in ``logs``, if any."""
    if not isinstance(logs, str):
        return None
    for line in reversed(logs.splitlines()):
        if match := _PROGRESS.search(line):
            return max(0, min(100, int(float(match["percent"]))))
    return None


def failure_error(body: dict[str, Any], origin: dict[str, Any]) -> kit.TarashException:
    """The error of a ``failed`` prediction: moderation when ``error`` words it so."""
    error = body.get("error")
    message = str(error).strip() if error else "the prediction failed without a message"
    if MODERATION.search(message):
        return kit.ContentModerationError(message, **origin)
    return kit.GenerationFailedError(message, **origin)


def guess_content_type(reference: str) -> str | None:
    """The media type of a data URI, or of a URL by its path's suffix."""
    if reference.startswith("data:"):
        mime = reference[5:].split(";", 1)[0].split(",", 1)[0]
        return mime or None
    path = urlsplit(reference).path.lower()
    for suffix, mime in _MEDIA_TYPES.items():
        if path.endswith(suffix):
            return mime
    return mimetypes.guess_type(path)[0]


def _media_references(output: object) -> list[str]:
    """Every URL or data URI in a model's output, in order (strings, lists or dicts)."""
    if isinstance(output, str):
        return [output] if output.startswith(("https://", "http://", "data:")) else []
    if isinstance(output, list):
        return [found for item in output for found in _media_references(item)]
    if isinstance(output, dict):
        return [found for item in output.values() for found in _media_references(item)]
    return []


def of_kind(references: list[str], prefix: str) -> list[str]:
    """The references whose media type starts with ``prefix``; all of them when none does."""
    typed = [ref for ref in references if (guess_content_type(ref) or "").startswith(prefix)]
    return typed or references


def output_references(body: dict[str, Any], origin: dict[str, Any]) -> list[str]:
    """Every URL or data URI in a succeeded prediction's output, in order.

    Raises:
        GenerationFailedError: The output is gone (removed after an hour) or holds none.
    """
    output = body.get("output")
    if output is None:
        why = (
            "Replicate removed it (data_removed: outputs are kept for 1 hour after the "
            "prediction; read results promptly)"
            if body.get("data_removed")
            else "the output is null (Replicate keeps outputs for 1 hour only)"
        )
        raise kit.GenerationFailedError(
            f"the prediction succeeded but has no output: {why}", **origin
        )
    references = _media_references(output)
    if not references:
        raise kit.GenerationFailedError(
            "the prediction succeeded but its output holds no URL or data URI", **origin
        )
    return references


def expires_at(body: dict[str, Any], reference: str) -> datetime | None:
    """When Replicate removes an output URL (an hour after the prediction); a data URI
    never expires."""
    if reference.startswith("data:"):
        return None
    finished = parse_time(body.get("completed_at")) or parse_time(body.get("created_at"))
    return None if finished is None else finished + OUTPUT_RETENTION
