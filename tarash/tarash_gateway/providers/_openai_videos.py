"""OpenAI's (and Azure OpenAI's v1) Videos API: Sora jobs on the wire.

Wire facts (openai-openapi spec, openai-python ``resources/videos.py``; see
docs/providers/openai.md): ``POST /videos`` (JSON, or a multipart form when the first frame
is a file: ``input_reference``) answers with the video object, ``status`` ``queued``;
``GET /videos/{id}`` reads it (``queued`` -> ``in_progress`` with ``progress`` 0-100 ->
``completed`` | ``failed`` with ``error{code,message}``), and the response header
``openai-poll-after-ms`` says when to ask again. The MP4 is ``GET /videos/{id}/content``,
with the key. ``GET /videos?order=desc&limit=100`` lists the project's videos, newest
first, with their model, prompt, seconds and size. There is no cancel.

``POST /videos/{id}/remix`` (openai-openapi ``CreateVideoRemix``, body
``CreateVideoRemixBody``: ``prompt`` only) makes a new video from a *completed* one, with
its model, seconds and size; the new video names it in ``remixed_from_video_id``.

The first frame (``input_reference``) must be exactly the video's ``size`` in pixels: any
other is the 400 "Inpaint image must match the requested width and height", after the
create. :func:`fit_first_frame` fits it before anything is sent, per the
``provider_config["image_fit"]`` policy (:data:`~tarash.tarash_gateway.providers._media.FitPolicy`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tarash.tarash_gateway.engine._form import encode_form
from tarash.tarash_gateway.providers import _kit as kit
from tarash.tarash_gateway.providers._media import (
    IMAGES_EXTRA,
    FitPolicy,
    ImagesExtraMissing,
    decode_data_uri,
    fit_image,
    image_dimensions,
    to_data_uri,
)
from tarash.tarash_gateway.providers._openai_errors import MAX_MESSAGE, MODERATION_CODES
from tarash.tarash_gateway.providers._openai_images import form_file

__all__ = [
    "FIND_PAGES",
    "FIND_PAGE_SIZE",
    "POLL_AFTER_HEADER",
    "REMIX_FIELD",
    "VIDEO_DEFAULTS",
    "ListedPage",
    "fit_first_frame",
    "listed_videos",
    "remix_source_id",
    "video_output",
    "video_request",
    "video_snapshot",
]

POLL_AFTER_HEADER = "openai-poll-after-ms"
FIND_PAGES = 10
"""Pages of ``GET /videos`` (:data:`FIND_PAGE_SIZE` each) ``find_jobs`` reads at most: a
lookup stays bounded on a project with a long history."""
FIND_PAGE_SIZE = 100
"""The list's largest ``limit``."""
VIDEO_DEFAULTS = {"seconds": "4", "size": "720x1280"}
"""What the API takes for a create field left out (the listed video shows the value)."""
REMIX_FIELD = "video_id"
"""The ``extra_params`` key (the published package's) naming the video a request remixes."""
_VIDEO_ID = re.compile(r"[A-Za-z0-9_-]{1,200}")


def remix_source_id(value: str) -> bool:
    """Whether ``value`` can be a video id (it goes into the remix URL's path)."""
    return _VIDEO_ID.fullmatch(value) is not None


def _unix_time(value: object) -> datetime | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        return None
    return datetime.fromtimestamp(value, UTC)


def _progress(value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return max(0, min(100, int(value)))


def _pixels(size: object) -> tuple[int, int] | None:
    width, _, height = str(size).partition("x")
    return (int(width), int(height)) if width.isdigit() and height.isdigit() else None


def fit_first_frame(client: kit.ProviderClient, job: kit.PreparedJob, policy: FitPolicy) -> None:
    """Bring the create's first frame to the video's ``size`` (default ``720x1280``) by
    ``policy``, noting the fit as an adaptation; a frame of the right size, one whose size
    its header does not tell, and a URL (the API fetches it; tarash does not) go as given.

    Raises:
        ValidationError: The sizes differ and ``policy`` is ``refuse`` (the error names
            both), or fitting needs Pillow, which is not installed (the error names the
            size and the ``images`` extra). Either may fall back under
            ``fallback_on="provider_specific"``: another model takes the image as it is.
    """
    reference = job.payload.get("input_reference")
    wanted = _pixels(job.payload.get("size", VIDEO_DEFAULTS["size"]))
    if not isinstance(reference, str) or not reference.startswith("data:") or wanted is None:
        return
    data, _ = decode_data_uri(reference, field="first_frame")
    found = image_dimensions(data)
    if found is None or found == wanted:
        return
    have, need = f"{found[0]}x{found[1]}", f"{wanted[0]}x{wanted[1]}"
    if policy == "refuse":
        raise kit.ValidationError(
            f"the first frame is {have} but {client.label} takes it at exactly the video's "
            f"size, {need} (provider_config image_fit='refuse'): pass a {need} image, or "
            "set image_fit to 'pad' or 'crop'",
            **client.error_origin(),
        )
    try:
        fitted, kind = fit_image(data, wanted, policy)
    except ImagesExtraMissing:
        raise kit.ValidationError(
            f"the first frame is {have} but {client.label} takes it at exactly {need}: "
            f"fitting it needs Pillow ({IMAGES_EXTRA}), or pass a {need} image",
            **client.error_origin(),
        ) from None
    job.payload["input_reference"] = to_data_uri(fitted, kind)
    done = "padded" if policy == "pad" else "cropped"
    job.adaptations.append(
        f"first_frame: {have} -> {need} ({done}, provider_config image_fit={policy!r}); "
        "the model takes a first frame of exactly the video's size"
    )


def video_request(payload: dict[str, Any]) -> dict[str, Any]:
    """``_send`` arguments for a create: a multipart form when the first frame is a file
    (the form every SDK sends), else JSON (``input_reference`` as ``image_url``)."""
    reference = payload.get("input_reference")
    if isinstance(reference, str):
        file = form_file(reference, "input_reference")
        if file is not None:
            fields = {key: value for key, value in payload.items() if key != "input_reference"}
            content_type, body = encode_form(fields, {"input_reference": file})
            return {"content": body, "headers": {"Content-Type": content_type}}
        return {"json": {**payload, "input_reference": {"image_url": reference}}}
    return {"json": payload}


def video_snapshot(
    client: kit.ProviderClient, body: Any, poll_after_ms: str | None
) -> kit.JobSnapshot:
    """A video object as a snapshot, with the server's ``openai-poll-after-ms`` as the hint.

    Raises:
        ProviderServerError: ``body`` is not a video object.
    """
    if not isinstance(body, dict):
        raise kit.ProviderServerError(
            f"{client.label} answered with something that is not a video object",
            **client.error_origin(None, body),
        )
    poll_after: float | None = None
    try:
        poll_after = max(0.0, float(poll_after_ms) / 1000.0) if poll_after_ms else None
    except ValueError:
        poll_after = None
    video_id = body.get("id") if isinstance(body.get("id"), str) else None
    progress = _progress(body.get("progress"))
    status = body.get("status")
    match status:
        case "queued":
            return kit.JobSnapshot(
                kit.JobState.QUEUED, body, progress_percent=progress, poll_after=poll_after
            )
        case "in_progress":
            return kit.JobSnapshot(
                kit.JobState.PROCESSING, body, progress_percent=progress, poll_after=poll_after
            )
        case "completed":
            return kit.JobSnapshot(kit.JobState.COMPLETED, body, progress_percent=100)
        case "failed":
            return kit.JobSnapshot(
                kit.JobState.FAILED, body, error=_video_failure(client, body, video_id)
            )
        case _:
            return client.unknown_status(body, status, request_id=video_id)


def _video_failure(
    client: kit.ProviderClient, body: dict[str, Any], video_id: str | None
) -> kit.TarashException:
    found = body.get("error")
    error: dict[str, Any] = found if isinstance(found, dict) else {}
    code = str(error.get("code") or "").strip()
    message = str(error.get("message") or "").strip()[:MAX_MESSAGE]
    text = ": ".join(part for part in (code, message) if part) or "the video failed"
    if code in MODERATION_CODES:
        return kit.ContentModerationError(text, **client.error_origin(video_id, body))
    return kit.GenerationFailedError(text, **client.error_origin(video_id, body))


async def video_output(
    client: kit.ProviderClient, handle: kit.JobHandle, snapshot: kit.JobSnapshot, content: str
) -> kit.VideoOutput:
    """A completed video's output, as published: its ``content`` downloaded (the URL
    needs the key, which a user's download would not have) into a :class:`MediaContent`
    dict, with its duration and expiry.

    Raises:
        GenerationFailedError: The video has expired (OpenAI keeps content for a while).
        TarashException: The download failed after retries (the job is finished and
            paid: no fallback; ``wait(error.job_handle)`` reads it again).
    """
    body = snapshot.raw
    expires_at = _unix_time(body.get("expires_at"))
    if expires_at is not None and expires_at <= datetime.now(UTC):
        raise kit.GenerationFailedError(
            f"the video expired at {expires_at.isoformat()} (OpenAI keeps content for a "
            "limited time)",
            **client.error_origin(handle.request_id, body),
        )
    seconds = body.get("seconds")
    duration = float(seconds) if isinstance(seconds, str) and seconds.isdigit() else None
    video = await client.download_content(
        content, request_id=handle.request_id, default_type="video/mp4"
    )
    return kit.VideoOutput(
        video=video,
        content_type=video["content_type"],
        duration=duration,
        expires_at=expires_at,
        raw=body,
    )


@dataclass(frozen=True, slots=True)
class ListedPage:
    """What one page of ``GET /videos`` holds of the videos a create made.

    Attributes:
        ids: The ids of the page's videos created in the window that match the create.
        past_start: Whether the page reached videos older than the window (newest first:
            no later page can match).
        after: The cursor of the next page (``last_id``), or ``None`` when there is none.
    """

    ids: list[str]
    past_start: bool
    after: str | None


def listed_videos(
    body: dict[str, Any],
    payload: dict[str, Any],
    model: str,
    *,
    start: float,
    end: float,
) -> ListedPage:
    """The videos of a listed page created between ``start`` and ``end`` (Unix seconds)
    from ``payload``'s create: same ``model``, ``seconds`` and ``size`` (a remix's: the same
    ``remixed_from_video_id``), and the same ``prompt`` (the list may leave it out: then
    any)."""
    source = payload.get(REMIX_FIELD)
    wanted = (
        {"remixed_from_video_id": str(source)}
        if source is not None
        else {
            "model": payload.get("model", model),
            **{
                field: str(payload.get(field, default)) for field, default in VIDEO_DEFAULTS.items()
            },
        }
    )
    prompt = payload.get("prompt")
    ids: list[str] = []
    data = body.get("data")
    for video in data if isinstance(data, list) else []:
        if not isinstance(video, dict) or not isinstance(video.get("id"), str):
            continue
        created = video.get("created_at")
        if isinstance(created, bool) or not isinstance(created, int | float):
            continue
        if created > end:
            continue
        if created < start:
            return ListedPage(ids, True, None)  # newest first: the rest are older still
        listed_prompt = video.get("prompt")
        if all(str(video.get(field)) == value for field, value in wanted.items()) and (
            listed_prompt is None or listed_prompt == prompt
        ):
            ids.append(video["id"])
    last_id = body.get("last_id")
    more = body.get("has_more") is True and isinstance(last_id, str) and bool(last_id)
    return ListedPage(ids, False, last_id if more and isinstance(last_id, str) else None)
