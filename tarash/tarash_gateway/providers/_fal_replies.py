"""Reading fal's replies: status bodies, the error vocabulary, and where outputs keep media.

:mod:`.fal` makes the calls; this module reads what comes back, with no I/O (fal docs
"Queue", "Request errors", "Model errors"; fal-client ``client.py``):

- a status body is ``IN_QUEUE`` (with ``queue_position``), ``IN_PROGRESS`` (with ``logs``,
  where some models print a percentage) or ``COMPLETED``; a request that did not succeed
  is ``COMPLETED`` with ``error`` and ``error_type``, classified by :func:`failed_snapshot`;
- an error's ``detail`` is FastAPI's: a string or a list of ``{loc, msg, type}``;
- an output keeps a video at ``video.url`` (or ``videos[0]``), images in ``images[].url``;
  an item is a URL or a ``{"url", "content_type"}`` object.
"""

from __future__ import annotations

import re
from typing import Any

from tarash.tarash_gateway.providers import _kit as kit

__all__ = [
    "CONTENT_POLICY",
    "content_type",
    "detail_message",
    "detail_types",
    "dig",
    "failed_snapshot",
    "media_url",
    "progress_from_logs",
    "queued",
]

CONTENT_POLICY = "content_policy_violation"
"""fal's ``error_type`` of a request its content checker refused."""

_CANCELLED_TYPES = frozenset({"request_cancelled", "request_canceled", "cancelled", "canceled"})
# Infrastructure failures (fal docs "Request errors"): nothing wrong with the input, a new
# attempt may well succeed, and fal does not bill them.
_INFRA_TYPES = frozenset(
    {
        "request_timeout",
        "startup_timeout",
        "runner_scheduling_failure",
        "runner_connection_timeout",
        "runner_disconnected",
        "runner_connection_refused",
        "runner_connection_error",
        "runner_server_error",
        "internal_server_error",
    }
)
# Model-side rejections of the input (fal docs "Model errors"; FastAPI's value_error.* and
# type_error.* families).
_INPUT_TYPES = frozenset(
    {"image_too_large", "image_too_small", "file_download_error", "image_load_error"}
)
_PERCENT = re.compile(r"(\d{1,3}(?:\.\d+)?)\s*%")


def detail_message(detail: Any) -> str:
    """A readable message from FastAPI's ``detail``: a string or a list of ``{loc,msg,type}``."""
    if isinstance(detail, str):
        return detail
    if isinstance(detail, list):
        parts = []
        for item in detail[:5]:
            if not isinstance(item, dict):
                parts.append(str(item))
                continue
            location = ".".join(str(part) for part in item.get("loc") or [] if part != "body")
            message = str(item.get("msg") or item.get("type") or "invalid")
            parts.append(f"{location}: {message}" if location else message)
        if len(detail) > 5:
            parts.append(f"and {len(detail) - 5} more")
        return "; ".join(parts)
    if isinstance(detail, dict):
        return str(detail.get("msg") or detail.get("message") or "")
    return ""


def detail_types(detail: Any) -> list[str]:
    """The ``type`` of each item of a list-shaped ``detail``, in order."""
    if isinstance(detail, list):
        return [str(item["type"]) for item in detail if isinstance(item, dict) and "type" in item]
    return []


def progress_from_logs(logs: Any) -> int | None:
    """The latest percentage a model printed in its logs (``"Generating: 42%"``), if any."""
    if not isinstance(logs, list):
        return None
    for entry in reversed(logs):
        message = entry.get("message") if isinstance(entry, dict) else None
        if not isinstance(message, str):
            continue
        found = _PERCENT.findall(message)
        if found:
            return max(0, min(100, round(float(found[-1]))))
    return None


def dig(body: Any, path: str) -> Any:
    """``body["a"]["b"]`` for ``path="a.b"``; a numeric part indexes a list."""
    value = body
    for part in path.split("."):
        if isinstance(value, dict):
            value = value.get(part)
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return None
    return value


def media_url(item: Any) -> str | None:
    """The URL of an output item: the item itself, or its ``url``."""
    if isinstance(item, str) and item:
        return item
    if isinstance(item, dict):
        url = item.get("url")
        if isinstance(url, str) and url:
            return url
    return None


def content_type(item: Any) -> str | None:
    """The ``content_type`` an output item declares, if any."""
    if isinstance(item, dict) and isinstance(item.get("content_type"), str):
        return str(item["content_type"])
    return None


def queued(body: dict[str, Any]) -> kit.JobSnapshot:
    """A queued job's snapshot, with its ``queue_position`` when fal gives one."""
    position = body.get("queue_position")
    return kit.JobSnapshot(
        kit.JobState.QUEUED, body, queue_position=position if isinstance(position, int) else None
    )


def failed_snapshot(body: dict[str, Any], where: dict[str, Any]) -> kit.JobSnapshot:
    """``COMPLETED`` with ``error``: fal's only way of saying a request did not succeed.

    Args:
        body: The status body.
        where: The error's origin (provider, model, request id, raw reply).

    Returns:
        A cancelled snapshot for a cancelled request, else a failed one whose error says
        why: moderation, the input (a :class:`ValidationError`), fal's infrastructure
        (retryable: fal does not bill it), or the generation itself.
    """
    error_type = str(body.get("error_type") or "")
    message = detail_message(body.get("error")) or str(body.get("error") or error_type)
    if error_type in _CANCELLED_TYPES:
        return kit.JobSnapshot(
            kit.JobState.CANCELLED,
            body,
            error=kit.JobCancelledError(message or "cancelled", **where),
        )
    error: kit.TarashException
    if error_type == CONTENT_POLICY:
        error = kit.ContentModerationError(message, **where)
    elif error_type in _INPUT_TYPES or error_type.startswith(("value_error", "type_error")):
        error = kit.ValidationError(f"{message} ({error_type})", **where)
    elif error_type in _INFRA_TYPES:
        error = kit.GenerationFailedError(f"{message} ({error_type})", retryable=True, **where)
    else:
        suffix = f" ({error_type})" if error_type else ""
        error = kit.GenerationFailedError(f"{message or 'the request failed'}{suffix}", **where)
    return kit.JobSnapshot(kit.JobState.FAILED, body, error=error)
