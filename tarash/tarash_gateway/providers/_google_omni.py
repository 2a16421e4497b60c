"""Gemini Omni Flash (``gemini-omni-flash-preview``): a background interaction on the
Gemini API's Interactions API, not a Veo operation.

Wire facts (read 2026-12-07: ai.google.dev/gemini-api/docs/video, "use Gemini Omni Flash as
your default model for video generation"; the live-API notes in TanStack/ai issue #871,
verified 2026-07-01; see docs/providers/google.md): ``generateContent`` answers 400 "This
model only supports Interactions API" and the model is not a ``predictLongRunning`` one.
``POST /v1beta/interactions`` with ``model``, ``input`` (a prompt string, or structured
content: ``[{"type": "text", "text"}, {"type": "image", "data", "mime_type"}]``),
``response_modalities: ["video"]`` and ``background: true`` answers an interaction ``id``
with ``status: "in_progress"``. ``GET /v1beta/interactions/{id}`` reads it until
``completed`` (``failed``, ``cancelled``, ``incomplete`` and ``requires_action`` end it
otherwise); the video comes
back inline as base64 in ``steps[]`` (``{"type": "model_output", "content": [{"type":
"video", "mime_type", "data"}]}``). Clips are 3-10 s at 720p, 16:9 or 9:16, with audio.
The official SDKs expose ``interactions.cancel`` for a background interaction; tarash's
Google client declares no cancel (``supports_cancel`` is one flag for the whole client,
and Veo has none), so a given-up interaction runs on.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tarash.tarash_gateway.providers import _kit as kit
from tarash.tarash_gateway.providers._google_errors import MAX_MESSAGE
from tarash.tarash_gateway.providers._google_images import inline_image

__all__ = [
    "INTERACTION_STATES",
    "interaction_body",
    "interaction_snapshot",
    "interaction_video",
    "without_inline_video",
]

INTERACTION_STATES: Mapping[str, kit.JobState] = {
    "in_progress": kit.JobState.PROCESSING,
    # Waits for a tool result the client would send: tarash sends no tools, so it would
    # wait forever; an end, not a wait.
    "requires_action": kit.JobState.FAILED,
    "completed": kit.JobState.COMPLETED,
    "failed": kit.JobState.FAILED,
    "incomplete": kit.JobState.FAILED,
    "cancelled": kit.JobState.CANCELLED,
}
"""An interaction's ``status`` -> the job's state; any other status is an error."""

_IMAGE_FIELDS = ("image", "referenceImages")


def interaction_body(model: str, mapped: Mapping[str, Any]) -> dict[str, Any]:
    """The ``POST /interactions`` body: the prompt alone as ``input`` when there is no
    image, else structured content (the text, then each image inline); a video output,
    in the background. Anything else (``extra_params``, e.g. ``previous_interaction_id``
    or ``webhook_config``) goes at the top level, where the user put it.

    Raises:
        ValidationError: An image is a URL (the Gemini API takes images inline only).
    """
    prompt = mapped.get("prompt")
    images: list[str] = []
    for field in _IMAGE_FIELDS:
        value = mapped.get(field)
        if isinstance(value, str):
            images.append(value)
        elif isinstance(value, list):
            images.extend(str(item) for item in value)
    extra = {key: value for key, value in mapped.items() if key not in ("prompt", *_IMAGE_FIELDS)}
    content: str | list[dict[str, str]]
    if images:
        content = [{"type": "text", "text": str(prompt or "")}] if prompt else []
        for image in images:
            inline = inline_image(image, "image")
            data, mime = inline["bytesBase64Encoded"], inline["mimeType"]
            content.append({"type": "image", "data": data, "mime_type": mime})
    else:
        content = str(prompt or "")
    return {
        **extra,
        "model": model,
        "input": content,
        "response_modalities": ["video"],
        "background": True,
    }


def interaction_video(body: Mapping[str, Any]) -> dict[str, Any] | None:
    """The first video of the interaction's ``model_output`` steps (``outputs`` too, the
    earlier shape of the same reply), or ``None``."""
    items: list[Any] = []
    for step in body.get("steps") or []:
        if isinstance(step, dict) and step.get("type") == "model_output":
            items.extend(step.get("content") or [])
    items.extend(body.get("outputs") or [])
    for item in items:
        if isinstance(item, dict) and item.get("type") == "video":
            return item
    return None


def without_inline_video(body: Any) -> Any:
    """A copy of an interaction's body with each video's base64 replaced by a note: the
    response holds the bytes, so ``raw_response`` keeps no second copy."""
    if isinstance(body, dict):
        if body.get("type") == "video" and isinstance(body.get("data"), str):
            return {**body, "data": f"<{len(body['data'])} base64 chars: the video>"}
        return {key: without_inline_video(value) for key, value in body.items()}
    if isinstance(body, list):
        return [without_inline_video(item) for item in body]
    return body


def interaction_snapshot(
    client: kit.ProviderClient, body: dict[str, Any], job_id: str
) -> kit.JobSnapshot:
    """An interaction as a snapshot: its ``status`` mapped; a completed one without a
    video, or a failed one, carries the error.

    Raises:
        ProviderServerError: The status is not one the Interactions API documents.
    """
    status = body.get("status")
    state = INTERACTION_STATES.get(status) if isinstance(status, str) else None
    if state is None:
        raise kit.ProviderServerError(
            f"{client.label} answered an interaction status tarash does not know: "
            f"{str(status)[:MAX_MESSAGE]!r}",
            **client.error_origin(job_id, without_inline_video(body)),
        )
    if state is kit.JobState.COMPLETED:
        if interaction_video(body) is not None:
            return kit.JobSnapshot(state, body, progress_percent=100)
        return kit.JobSnapshot(
            kit.JobState.FAILED,
            body,
            error=kit.GenerationFailedError(
                f"{client.label} completed the interaction with no video",
                **client.error_origin(job_id, without_inline_video(body)),
            ),
        )
    if state is kit.JobState.FAILED:
        error = body.get("error")
        found = error.get("message") if isinstance(error, dict) else None
        message = str(found or "").strip()[:MAX_MESSAGE] or "no reason given"
        return kit.JobSnapshot(
            state,
            body,
            error=kit.GenerationFailedError(
                f"the video failed ({status}): {message}",
                **client.error_origin(job_id, without_inline_video(body)),
            ),
        )
    return kit.JobSnapshot(state, body)
