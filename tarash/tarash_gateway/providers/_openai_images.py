"""OpenAI's (and Azure OpenAI's) Images API: the request's form, and its reply as the answer.

Wire facts (openai-openapi spec, openai-python ``resources/images.py``; see
docs/providers/openai.md): ``POST /images/generations`` (JSON) or ``/images/edits``
(multipart with the input image and mask, or JSON ``images[{image_url}]``) returns
``data[]`` of ``b64_json`` (GPT image models always; dall-e on request) or ``url`` (dall-e
by default, which tarash leaves as published does). The reply is the whole answer: there
is no image job to poll, read or cancel later.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from typing import Any

import httpx

from tarash.tarash_gateway.engine._form import FormFile, encode_form
from tarash.tarash_gateway.providers import _kit as kit
from tarash.tarash_gateway.providers._media import base64_data_uri, decode_data_uri, sniff_mime

__all__ = [
    "IMAGE_READ_TIMEOUT",
    "LATE_IMAGE_MARGIN",
    "form_file",
    "image_answer",
    "image_read_timeout",
    "image_request",
    "image_request_id",
]

IMAGE_READ_TIMEOUT = 600.0
"""An image request is the generation (10-60 s, more at high quality); the SDK waits 600 s."""
LATE_IMAGE_MARGIN = 30.0
"""How much longer than the job's time left an image reply is awaited: it is paid for."""

_REQUEST_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$")


def form_file(reference: str, field: str) -> FormFile | None:
    """A data URI as the file part of a form; ``None`` for a URL (sent as JSON instead)."""
    if not reference.startswith("data:"):
        return None
    data, mime = decode_data_uri(reference, field=field)
    kind = mime or sniff_mime(data, "image/png")
    extension = kind.rpartition("/")[2] or "png"
    return FormFile(content=data, content_type=kind, file_name=f"{field}.{extension}")


def image_request(
    payload: dict[str, Any], images_url: str, edits_url: str, edit_image_field: str
) -> tuple[str, dict[str, Any]]:
    """The endpoint and ``_send`` arguments of an image job.

    Args:
        payload: The prepared body (edit inputs as ``images[{image_url}]`` and ``mask``).
        images_url: The generations endpoint, for a request without inputs.
        edits_url: The edits endpoint.
        edit_image_field: The form field of a single input image (``image`` or
            ``image[]``, per model family).
    """
    images = payload.get("images")
    mask = payload.get("mask")
    if not images and not mask:
        return images_url, {"json": payload}
    references = [item["image_url"] for item in images or [] if isinstance(item, dict)]
    mask_reference = mask.get("image_url") if isinstance(mask, dict) else None
    files: dict[str, FormFile] = {}
    if len(references) == 1:
        file = form_file(references[0], "image")
        if file is not None:
            files[edit_image_field] = file
    if mask_reference is not None and (mask_file := form_file(mask_reference, "mask")):
        files["mask"] = mask_file
    if files and len(files) == len(references) + (mask_reference is not None):
        # Every input is a file: the multipart form (what the SDK and Azure take).
        fields = {key: value for key, value in payload.items() if key not in ("images", "mask")}
        content_type, body = encode_form(fields, files)
        return edits_url, {"content": body, "headers": {"Content-Type": content_type}}
    # URLs, or several images: the JSON form (``images[{image_url}]``).
    return edits_url, {"json": payload}


def image_read_timeout(time_left: float | None) -> float:
    """How long the reply is awaited: the job's time left and a margin (it is paid for),
    1 s to :data:`IMAGE_READ_TIMEOUT`."""
    timeout = IMAGE_READ_TIMEOUT if time_left is None else time_left + LATE_IMAGE_MARGIN
    return max(1.0, min(IMAGE_READ_TIMEOUT, timeout))


def image_request_id(reply: httpx.Response) -> str:
    """The reply's ``x-request-id`` (it names the generation in OpenAI's support), else a
    local id."""
    header_id = reply.headers.get("x-request-id", "")
    return header_id if _REQUEST_ID.match(header_id) else f"img_{uuid.uuid4().hex}"


def image_answer(
    client: kit.ProviderClient,
    reply: httpx.Response,
    handle: kit.JobHandle,
    *,
    base64_type: str = "image/png",
    url_type: Callable[[str], str] | None = None,
    moderated: bool = False,
    revised_prompts: bool = True,
) -> kit.AnsweredSubmit:
    """The images of a create reply, as published: a ``data:`` URI for each ``b64_json``
    (the reply's text, checked, not decoded), else the URL; the raw body keeps a note of
    each in place of its base64 (one copy in memory). A body that is not an images
    response is a billed answer lost: no fallback.

    OpenAI's shape, which xAI's images API speaks too; the keywords are where they differ.

    Args:
        client: The client whose reply it is (its label and error origin).
        reply: The create's reply.
        handle: Names the request.
        base64_type: The type of a ``b64_json`` image whose bytes say none and whose body
            declares no ``output_format``.
        url_type: The type of a URL image, read off its URL (``None``: the declared
            ``output_format``'s, if any).
        moderated: An item with ``respect_moderation: false`` was withheld (xAI); when no
            image is left, the answer is a :class:`ContentModerationError`.
        revised_prompts: The reply's ``revised_prompt`` is the output's.
    """
    job_id = handle.request_id
    body = kit.response_json(reply)
    if not isinstance(body, dict) or not isinstance(body.get("data"), list):
        # The images were generated and billed, and cannot be read: another provider
        # would be paid again for what this reply lost.
        error = kit.ProviderServerError(
            f"{client.label} answered the image request with HTTP {reply.status_code} but a "
            "body that is not an images response (cut short or garbled); the images were "
            "probably made and billed",
            **client.error_origin(job_id, None),
            status_code=reply.status_code,
            fallback_allowed=False,
        )
        return kit.AnsweredSubmit.failed(handle, {}, error)
    images: list[str] = []
    types: list[str] = []
    items: list[Any] = []
    withheld = 0
    output_format = body.get("output_format")
    declared = f"image/{output_format}" if isinstance(output_format, str) else None
    for index, item in enumerate(body["data"]):
        if not isinstance(item, dict):
            continue
        if moderated and item.get("respect_moderation") is False:
            withheld += 1
            items.append(item)
            continue
        encoded, url = item.get("b64_json"), item.get("url")
        if isinstance(encoded, str) and encoded:
            found = base64_data_uri(encoded, declared or base64_type)
            if found is None:
                continue
            images.append(found[0])
            types.append(found[1])
            item = {**item, "b64_json": f"<{len(encoded)} base64 chars: images[{index}]>"}
        elif isinstance(url, str) and url:
            images.append(url)
            if url_type is not None:
                types.append(url_type(url))
        items.append(item)
    raw = {**body, "data": items}
    if withheld and not images:
        refused = kit.ContentModerationError(
            f"{client.label} withheld the image: it did not pass content moderation",
            **client.error_origin(job_id, raw),
        )
        return kit.AnsweredSubmit.failed(handle, raw, refused)
    if not images:
        empty = kit.GenerationFailedError(
            f"{client.label} returned no image", **client.error_origin(job_id, raw)
        )
        return kit.AnsweredSubmit.failed(handle, raw, empty)
    content_type = types[0] if types else declared
    revised = next(
        (
            item["revised_prompt"]
            for item in items
            if isinstance(item, dict) and isinstance(item.get("revised_prompt"), str)
        ),
        None,
    )
    output = kit.ImageOutput(
        images=images,
        content_type=content_type,
        revised_prompt=revised if revised_prompts else None,
        raw=raw,
    )
    return kit.AnsweredSubmit.completed(handle, raw, output)
