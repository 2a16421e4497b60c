"""Google's error envelope (the Gemini API's and Vertex AI's) mapped to tarash's errors.

Errors are ``{"error": {"code", "message", "status", "details"}}`` (a ``google.rpc.Status``);
a 429 ``RESOURCE_EXHAUSTED`` says how long to wait in a ``google.rpc.RetryInfo`` detail
(``retryDelay: "42s"``), which is honoured as Retry-After; a wrong key is a 400
``INVALID_ARGUMENT`` whose ``ErrorInfo`` reason is ``API_KEY_INVALID``.
"""

from __future__ import annotations

import re

import httpx

from tarash.tarash_gateway.errors import AuthenticationError
from tarash.tarash_gateway.providers import _kit as kit

__all__ = ["MAX_MESSAGE", "google_error", "retry_delay_seconds"]

MAX_MESSAGE = 500
"""How much of a provider's message an error keeps."""

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)s\s*$")


def retry_delay_seconds(body: object) -> float | None:
    """The ``retryDelay`` of a ``google.rpc.RetryInfo`` in an error envelope, in seconds.

    Args:
        body: The parsed error reply.

    Returns:
        The delay (``"42s"`` -> 42.0), or ``None`` when the reply names none.
    """
    error = body.get("error") if isinstance(body, dict) else None
    details = error.get("details") if isinstance(error, dict) else None
    if not isinstance(details, list):
        return None
    for detail in details:
        if not isinstance(detail, dict) or not str(detail.get("@type", "")).endswith("RetryInfo"):
            continue
        delay = detail.get("retryDelay")
        if isinstance(delay, dict):
            seconds = delay.get("seconds", 0)
            nanos = delay.get("nanos", 0)
            if isinstance(seconds, int | float | str) and isinstance(nanos, int | float):
                try:
                    return max(0.0, float(seconds) + float(nanos) / 1e9)
                except ValueError:
                    return None
        if isinstance(delay, str) and (match := _DURATION.match(delay)):
            return float(match.group(1))
    return None


def _reasons(body: object) -> set[str]:
    """The ``google.rpc.ErrorInfo`` reasons of an error envelope."""
    error = body.get("error") if isinstance(body, dict) else None
    details = error.get("details") if isinstance(error, dict) else None
    return {
        str(detail.get("reason"))
        for detail in details or []
        if isinstance(detail, dict) and detail.get("reason")
    }


def google_error(
    client: kit.ProviderClient, response: httpx.Response, call: kit.CallContext
) -> kit.TarashException:
    """Map ``{"error": {"code", "message", "status", "details"}}`` to one error.

    A 429's ``RetryInfo.retryDelay`` is its Retry-After; ``NOT_FOUND`` on a submit is a
    :class:`NotFoundError` naming a retired model's successor; ``API_KEY_INVALID`` an
    :class:`AuthenticationError`.

    Args:
        client: The client the reply answers (names the provider, model and successor).
        response: The reply, body read.
        call: The operation and job it answers.
    """
    read = client.error_body(response)
    status = response.status_code
    error = read.fields.get("error")
    grpc_status = ""
    if isinstance(error, dict):
        message = str(error.get("message") or "").strip()
        grpc_status = str(error.get("status") or "").strip()
    else:
        message = read.text
    message = message[:MAX_MESSAGE] or f"HTTP {status} from {client.label}"
    if grpc_status:
        message = f"{message} ({grpc_status})"
    headers = dict(response.headers)
    lowered = {name.lower() for name in headers}
    delay = retry_delay_seconds(read.raw)
    if delay is not None and not {"retry-after", "retry-after-ms"} & lowered:
        headers["retry-after-ms"] = str(int(delay * 1000))
    origin = client.error_origin(call.request_id, read.raw)
    if "API_KEY_INVALID" in _reasons(read.raw):
        # Google answers a wrong key with 400 INVALID_ARGUMENT; it is an auth failure.
        return AuthenticationError(message, status_code=status, **origin)
    if status == 404 and call.operation == "submit":
        return kit.NotFoundError(f"{message}{client.retired_hint()}", status_code=status, **origin)
    return kit.error_for_status(status, message, headers=headers, **origin)
