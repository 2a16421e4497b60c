"""Google's Veo: a long-running operation, on the Gemini API and on Vertex AI.

Wire facts (googleapis/python-genai ``models.py``, ``operations.py``; see
docs/providers/google.md): ``POST /models/{model}:predictLongRunning`` with
``instances[{prompt, image, lastFrame, referenceImages}]`` (images inline) and
``parameters``; the reply is ``{"name": "models/{model}/operations/{id}"}``. ``GET /{name}``
(Vertex: ``POST :fetchPredictOperation {"operationName": name}``) reads it: no ``done`` (or
``false``) while running; ``done`` with ``error`` (a ``google.rpc.Status``) when it failed,
or with its result: ``response.generateVideoResponse.generatedSamples[].video`` (Gemini
API: a file ``uri`` downloaded with the key) or ``response.videos[]`` (Vertex: ``gcsUri``
or inline ``bytesBase64Encoded``); no samples and ``raiMediaFilteredCount`` /
``raiMediaFilteredReasons`` when the safety filters removed the video. Neither backend can
cancel an operation.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from tarash.tarash_gateway.providers import _kit as kit
from tarash.tarash_gateway.providers._google_errors import MAX_MESSAGE
from tarash.tarash_gateway.providers._google_images import inline_image

__all__ = [
    "OPERATION_ID",
    "OPERATION_NAME",
    "operation_snapshot",
    "predict_body",
    "samples",
    "video_result",
    "without_inline_videos",
]

OPERATION_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")
"""An operation's id, as it goes into the status URL."""
OPERATION_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,511}$")
"""A Vertex operation's full name, as ``fetchPredictOperation`` takes it."""

_INSTANCE_FIELDS = frozenset({"prompt", "image", "lastFrame", "referenceImages", "video"})
# The SDK refuses these on the Gemini API (Vertex only): sending them is a 400.
_VERTEX_ONLY = ("seed", "generateAudio")


def predict_body(mapped: dict[str, Any], notes: list[str], *, vertex: bool) -> dict[str, Any]:
    """``{"instances": [instance], "parameters": ...}`` from the mapped fields: the prompt
    and images (inline) in the instance, the rest as parameters; a Vertex-only field on the
    Gemini API is dropped with a note in ``notes``.

    Raises:
        ValidationError: An image is a URL (or, off Vertex, a ``gs://`` URI).
    """
    instance: dict[str, Any] = {}
    parameters: dict[str, Any] = {}
    for key, value in mapped.items():
        if key in ("image", "lastFrame") and isinstance(value, str):
            instance[key] = inline_image(value, key, vertex=vertex)
        elif key == "referenceImages" and isinstance(value, list):
            instance[key] = [
                item
                if isinstance(item, dict)
                else {
                    "image": inline_image(str(item), key, vertex=vertex),
                    "referenceType": "asset",
                }
                for item in value
            ]
        elif key in _INSTANCE_FIELDS:
            instance[key] = value
        elif key in _VERTEX_ONLY and not vertex:
            notes.append(f"{key} not sent: the Gemini API refuses it (Vertex AI only)")
        else:
            parameters[key] = value
    return {"instances": [instance], "parameters": parameters}


def video_result(body: Mapping[str, Any]) -> dict[str, Any]:
    """The finished operation's result: ``generateVideoResponse`` on the Gemini API,
    the ``response`` itself on Vertex; ``{}`` when there is none."""
    response = body.get("response")
    if not isinstance(response, dict):
        return {}
    found = response.get("generateVideoResponse", response)
    return found if isinstance(found, dict) else {}


def samples(result: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The result's videos: ``generatedSamples[].video`` (Gemini API) or ``videos[]``
    (Vertex)."""
    found: list[dict[str, Any]] = []
    for sample in result.get("generatedSamples") or []:
        video = sample.get("video") if isinstance(sample, dict) else None
        if isinstance(video, dict):
            found.append(video)
    found.extend(item for item in result.get("videos") or [] if isinstance(item, dict))
    return found


_INLINE_VIDEO_KEYS = frozenset({"encodedVideo", "bytesBase64Encoded"})


def without_inline_videos(body: Any) -> Any:
    """A copy of an operation's body with each inline video's base64 replaced by a note:
    the response holds the video's bytes, so ``raw_response`` keeps no second copy."""
    if isinstance(body, dict):
        return {
            key: f"<{len(value)} base64 chars: the video>"
            if key in _INLINE_VIDEO_KEYS and isinstance(value, str)
            else without_inline_videos(value)
            for key, value in body.items()
        }
    if isinstance(body, list):
        return [without_inline_videos(item) for item in body]
    return body


def operation_snapshot(
    client: kit.ProviderClient, body: dict[str, Any], job_id: str
) -> kit.JobSnapshot:
    """A Veo operation as a snapshot: running until ``done``; then its error, its videos,
    or the safety filters' verdict."""
    if body.get("done") is not True:
        # A missing ``done`` means running (google.longrunning.Operation).
        return kit.JobSnapshot(kit.JobState.PROCESSING, body)
    error = body.get("error")
    if isinstance(error, dict):
        message = str(error.get("message") or "").strip()[:MAX_MESSAGE]
        text = f"the video failed: {message or 'no reason given'} (code {error.get('code')})"
        return kit.JobSnapshot(
            kit.JobState.FAILED,
            body,
            error=kit.GenerationFailedError(text, **client.error_origin(job_id, body)),
        )
    result = video_result(body)
    if samples(result):
        return kit.JobSnapshot(kit.JobState.COMPLETED, body, progress_percent=100)
    filtered = result.get("raiMediaFilteredCount")
    raw_reasons = result.get("raiMediaFilteredReasons")
    reasons = [str(item)[:MAX_MESSAGE] for item in raw_reasons or [] if item]
    if filtered or reasons:
        why = "; ".join(reasons) or "no reason given"
        return kit.JobSnapshot(
            kit.JobState.FAILED,
            body,
            error=kit.ContentModerationError(
                f"{client.label}'s safety filters removed the video "
                f"({filtered or len(reasons)} filtered): {why}",
                **client.error_origin(job_id, body),
            ),
        )
    return kit.JobSnapshot(
        kit.JobState.FAILED,
        body,
        error=kit.GenerationFailedError(
            f"{client.label} finished the operation with no video",
            **client.error_origin(job_id, body),
        ),
    )
