"""Google's image generation: Gemini image models and Imagen, answered in the request.

Wire facts (googleapis/python-genai ``models.py``; ai.google.dev; see
docs/providers/google.md): a Gemini image model is ``POST /models/{model}:generateContent``
with a text part and the input images as ``inlineData`` (Vertex: ``fileData`` for a
``gs://`` URI) parts; the images come back as ``inlineData`` parts of
``candidates[0].content.parts``. A blocked prompt is HTTP 200 with
``promptFeedback.blockReason`` (or a candidate whose ``finishReason`` is ``IMAGE_SAFETY``
and that holds no image). Imagen (``:predict``) takes ``instances[{prompt}]`` and answers
``predictions[].bytesBase64Encoded`` (or ``raiFilteredReason``). Either reply is the
whole answer: there is no image job to poll, read or cancel later.

Request images (a Veo first frame as well) travel inline, as ``{bytesBase64Encoded,
mimeType}``; Vertex also takes a ``gs://`` URI.
"""

from __future__ import annotations

import base64
import mimetypes
from typing import Any

import httpx

from tarash.tarash_gateway.providers import _kit as kit
from tarash.tarash_gateway.providers._google_errors import MAX_MESSAGE
from tarash.tarash_gateway.providers._media import base64_data_uri, decode_data_uri, sniff_mime

__all__ = [
    "IMAGE_READ_TIMEOUT",
    "LATE_IMAGE_MARGIN",
    "generate_content_body",
    "image_answer",
    "image_read_timeout",
    "inline_image",
]

IMAGE_READ_TIMEOUT = 600.0
"""An image request is the generation; the reply can take minutes at high resolution."""
LATE_IMAGE_MARGIN = 30.0
"""How much longer than the job's time left an image reply is awaited: it is paid for."""

_MODERATION_FINISH = frozenset(
    {"SAFETY", "IMAGE_SAFETY", "PROHIBITED_CONTENT", "BLOCKLIST", "SPII", "RECITATION"}
)


def inline_image(reference: str, field: str, *, vertex: bool = False) -> dict[str, str]:
    """A request image as the ``{bytesBase64Encoded, mimeType}`` object the API takes (on
    Vertex, a ``gs://`` URI as ``{gcsUri, mimeType}``)."""
    if vertex and reference.startswith("gs://"):
        guessed = mimetypes.guess_type(reference)[0]
        return {"gcsUri": reference, "mimeType": guessed or "image/png"}
    if not reference.startswith("data:"):
        where = (
            "Vertex AI takes images inline or as gs:// URIs"
            if vertex
            else ("the Gemini API takes images inline only")
        )
        raise kit.ValidationError(
            f"{field}: {where}; pass bytes, a local file or a data: URI (URLs are not fetched)",
            provider="google",
            fallback_allowed=False,
        )
    data, mime = decode_data_uri(reference, field=field)
    return {
        "bytesBase64Encoded": base64.b64encode(data).decode(),
        "mimeType": mime or sniff_mime(data, "image/png"),
    }


def generate_content_body(mapped: dict[str, Any], *, vertex: bool) -> dict[str, Any]:
    """A Gemini image model's ``:generateContent`` body from the mapped fields: the prompt
    as a text part, the input images as parts, ``imageConfig``; anything else
    (``extra_params``) at the top level, where the user put it.

    Raises:
        ValidationError: An input image is a URL (or, off Vertex, a ``gs://`` URI).
    """
    parts: list[dict[str, Any]] = []
    if isinstance(mapped.get("prompt"), str):
        parts.append({"text": mapped.pop("prompt")})
    for item in mapped.pop("images", None) or []:
        image = inline_image(str(item), "images", vertex=vertex)
        if "gcsUri" in image:
            parts.append({"fileData": {"mimeType": image["mimeType"], "fileUri": image["gcsUri"]}})
            continue
        parts.append(
            {"inlineData": {"mimeType": image["mimeType"], "data": image["bytesBase64Encoded"]}}
        )
    config: dict[str, Any] = {"responseModalities": ["TEXT", "IMAGE"]}
    image_config = {key: mapped.pop(key) for key in ("aspectRatio", "imageSize") if key in mapped}
    if image_config:
        config["imageConfig"] = image_config
    body: dict[str, Any] = {"contents": [{"role": "user", "parts": parts}]}
    body["generationConfig"] = config
    # Anything else (extra_params) goes where the user put it: top level.
    body.update(mapped)
    return body


def image_read_timeout(time_left: float | None) -> float:
    """How long the reply is awaited: the job's time left and a margin (it is paid for),
    1 s to :data:`IMAGE_READ_TIMEOUT`."""
    timeout = IMAGE_READ_TIMEOUT if time_left is None else time_left + LATE_IMAGE_MARGIN
    return max(1.0, min(IMAGE_READ_TIMEOUT, timeout))


def image_answer(
    client: kit.ProviderClient, reply: httpx.Response, handle: kit.JobHandle
) -> kit.AnsweredSubmit:
    """The images of a generate reply as ``data:`` URIs, as published (the reply's
    text, checked, not decoded; the raw body keeps a note of each in place of its
    base64), or the refusal it carries."""
    job_id = handle.request_id
    body = kit.response_json(reply)
    if not isinstance(body, dict):
        error = kit.ProviderServerError(
            f"{client.label} answered the image request with HTTP {reply.status_code} but a "
            "body that is not a generate response; the images were probably made and billed",
            **client.error_origin(job_id, None),
            status_code=reply.status_code,
            fallback_allowed=False,
        )
        return kit.AnsweredSubmit.failed(handle, {}, error)
    images: list[str] = []
    types: list[str] = []
    reasons: list[str] = []
    feedback = body.get("promptFeedback")
    if isinstance(feedback, dict) and feedback.get("blockReason"):
        reasons.append(f"prompt blocked: {feedback['blockReason']}")
    holders: list[tuple[list[Any], str]] = []
    for index, candidate in enumerate(body.get("candidates") or []):
        if not isinstance(candidate, dict):
            continue
        content = candidate.get("content")
        parts = content.get("parts") if isinstance(content, dict) else None
        if isinstance(parts, list):
            holders.append((parts, "inlineData"))
        finish = candidate.get("finishReason")
        if finish in _MODERATION_FINISH:
            reasons.append(f"candidate {index} finished with {finish}")
    predictions = body.get("predictions")
    if isinstance(predictions, list):
        holders.append((predictions, ""))
        reasons.extend(
            str(item["raiFilteredReason"])[:MAX_MESSAGE]
            for item in predictions
            if isinstance(item, dict) and item.get("raiFilteredReason")
        )
    for items, wrapper in holders:
        for index, item in enumerate(items):
            inline = item.get(wrapper) if wrapper and isinstance(item, dict) else item
            if not isinstance(inline, dict):
                continue
            encoded = inline.get("data" if wrapper else "bytesBase64Encoded")
            if not isinstance(encoded, str) or not encoded:
                continue
            found = base64_data_uri(encoded, str(inline.get("mimeType") or "image/png"))
            if found is None:
                continue
            images.append(found[0])
            types.append(found[1])
            note = f"<{len(encoded)} base64 chars: image {len(images) - 1}>"
            if wrapper:
                items[index] = {**item, wrapper: {**inline, "data": note}}
            else:
                items[index] = {**inline, "bytesBase64Encoded": note}
    if not images and reasons:
        refused = kit.ContentModerationError(
            f"{client.label} refused the image: {'; '.join(reasons)}",
            **client.error_origin(job_id, body),
        )
        return kit.AnsweredSubmit.failed(handle, body, refused)
    if not images:
        empty = kit.GenerationFailedError(
            f"{client.label} returned no image", **client.error_origin(job_id, body)
        )
        return kit.AnsweredSubmit.failed(handle, body, empty)
    output = kit.ImageOutput(images=images, content_type=types[0], raw=body)
    return kit.AnsweredSubmit.completed(handle, body, output)
