"""OpenAI's (and Azure OpenAI's) error envelope mapped to tarash's errors.

Errors are ``{"error": {"message", "type", "param", "code"}}`` (Azure may put the code in
``inner_error``): ``moderation_blocked`` (and older ``content_policy_violation``) is a
moderation refusal, ``insufficient_quota`` a 429 that no retry fixes, ``model_not_found``
an unknown model. 429s carry ``retry-after(-ms)`` and ``x-ratelimit-reset-*``;
``x-should-retry`` overrides (read by ``_http``).
"""

from __future__ import annotations

import re

import httpx

from tarash.tarash_gateway.providers import _kit as kit

__all__ = ["MAX_MESSAGE", "MODERATION_CODES", "openai_error", "reset_seconds"]

MODERATION_CODES = frozenset(
    {
        "moderation_blocked",
        "content_policy_violation",
        "content_filter",
        "sentinel_block",
        "input_moderation",
        "output_moderation",
    }
)
"""``error.code`` values (HTTP errors and failed videos) that mean a safety refusal."""
MAX_MESSAGE = 500
"""How much of a provider's message an error keeps."""

_RATE_RESET = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")
_RATE_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def reset_seconds(value: str) -> float | None:
    """``x-ratelimit-reset-requests`` (``"12ms"``, ``"6m0s"``, ``"1.5s"``) in seconds."""
    text = value.strip()
    if not text or _RATE_RESET.sub("", text):
        return None
    return sum(float(number) * _RATE_UNITS[unit] for number, unit in _RATE_RESET.findall(text))


def openai_error(
    client: kit.ProviderClient, response: httpx.Response, call: kit.CallContext
) -> kit.TarashException:
    """Map ``{"error": {"message", "type", "param", "code"}}`` to one error.

    ``moderation_blocked`` (and the other refusal codes) is a
    :class:`ContentModerationError`, ``insufficient_quota`` an
    :class:`InsufficientCreditError`, ``model_not_found`` (or a 404 to a submit) a
    :class:`NotFoundError` naming a retired model's successor. A 429 without
    ``retry-after`` waits for ``x-ratelimit-reset-*``.

    Args:
        client: The client the reply answers (names the provider, model and successor).
        response: The reply, body read.
        call: The operation and job it answers.
    """
    read = client.error_body(response)
    body = read.raw
    status = response.status_code
    error = read.fields.get("error")
    code = ""
    if isinstance(error, dict):
        message = str(error.get("message") or "").strip()
        code = str(error.get("code") or "").strip()
        inner = error.get("inner_error")
        if not code and isinstance(inner, dict):
            code = str(inner.get("code") or "")
    elif isinstance(error, str):
        message = error.strip()
    else:
        message = read.text
    message = message[:MAX_MESSAGE] or f"HTTP {status} from {client.label}"
    if code:
        message = f"{message} ({code})"
    reply_id = response.headers.get("x-request-id") or response.headers.get("apim-request-id")
    if reply_id:
        message = f"{message} [x-request-id {reply_id[:80]}]"
    headers = dict(response.headers)
    if status == 429 and not {"retry-after", "retry-after-ms"} & {h.lower() for h in headers}:
        resets = [
            seconds
            for name in ("x-ratelimit-reset-requests", "x-ratelimit-reset-tokens")
            if (value := response.headers.get(name))
            and (seconds := reset_seconds(value)) is not None
        ]
        if resets:
            headers["retry-after-ms"] = str(int(max(resets) * 1000))
    origin = client.error_origin(call.request_id, body)
    if code in MODERATION_CODES or "ResponsibleAIPolicyViolation" in code:
        return kit.ContentModerationError(message, status_code=status, **origin)
    if code == "insufficient_quota":
        return kit.InsufficientCreditError(message, status_code=status, **origin)
    if code in ("model_not_found", "DeploymentNotFound") or (
        status == 404 and call.operation == "submit"
    ):
        return kit.NotFoundError(f"{message}{client.retired_hint()}", status_code=status, **origin)
    return kit.error_for_status(status, message, headers=headers, **origin)
