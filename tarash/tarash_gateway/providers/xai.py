"""xAI's video and image APIs (``https://api.x.ai/v1``), over REST (no SDK).

Wire facts (docs.x.ai and xai-org/xai-sdk-python's protos; see docs/providers/xai.md):

- Videos are deferred requests. ``POST /videos/generations`` (text, or a first frame as
  ``image: {url}``), ``/videos/edits`` (``video: {url}``) or ``/videos/extensions``
  (``video: {url}`` and the seconds to add) answers ``{"request_id"}``; ``GET
  /videos/{request_id}`` reads it: ``pending`` -> ``done`` with ``video {url, duration,
  respect_moderation}`` | ``failed`` with ``error {code, message}`` | ``expired``. Success
  and failure both answer HTTP 200. A ``done`` video whose ``respect_moderation`` is false
  carries no URL: the output was moderated.
- There is no cancel: a video tarash gives up on runs on and is billed; its handle rides on
  the error and no fallback follows (another provider would be paid as well).
- Images are answered in the request: ``POST /images/generations`` (JSON, OpenAI's shape)
  or ``/images/edits`` (JSON only: ``image: {url}`` or ``images: [{url}]``) returns
  ``data[]`` of ``url`` (the default) or ``b64_json``. The reply is the job's first
  snapshot, already terminal.
- Every call carries ``Authorization: Bearer <XAI_API_KEY>``. Errors are ``{"code",
  "error"}`` (an incorrect key is a 400, not a 401); a body that does not deserialize is a
  422 in plain text.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import httpx

from tarash.tarash_gateway.errors import AuthenticationError
from tarash.tarash_gateway.providers import _kit as kit
from tarash.tarash_gateway.providers._openai_images import image_answer
from tarash.tarash_gateway.providers._spec import map_request
from tarash.tarash_gateway.providers.xai_models import (
    GENERIC_SPECS,
    IMAGE_RESOLUTIONS,
    VIDEO_OPERATION_SPECS,
    XAI_SPECS,
    VideoOperation,
)

__all__ = ["EXTEND_PARAM", "XaiClient"]

EXTEND_PARAM = "extend"
"""``extra_params={"extend": True}`` on a request with a ``video`` asks for an extension
(``/videos/extensions``) rather than an edit; tarash's own key, never sent."""
IMAGE_READ_TIMEOUT = 600.0
"""An image request is the generation; wait as long as OpenAI's SDK does for its own."""
LATE_IMAGE_MARGIN = 30.0
"""How much longer than the job's time left an image reply is awaited: it is paid for."""

_MAX_MESSAGE = 500
_AUTH_WORDS = ("api key", "authorization", "authentication")


@dataclass(slots=True)
class _VideoJob(kit.PreparedJob):
    """A prepared video request and the endpoint it goes to."""

    operation: VideoOperation = "generations"


def _as_media(value: object) -> object:
    """``{"url": ...}`` for a reference (URL or data URI); anything else as given."""
    return {"url": value} if isinstance(value, str) else value


def _image_content_type(url: str) -> str:
    """xAI serves JPEGs (``.jpeg`` URLs); PNG, the published package's type, otherwise."""
    path = url.split("?", 1)[0].lower()
    return "image/jpeg" if path.endswith((".jpg", ".jpeg")) else "image/png"


class XaiClient(kit.ProviderClient):
    """xAI's Grok Imagine video (``grok-imagine-video``) and image models.

    The key is ``XAI_API_KEY``; the base URL ``TARASH_XAI_BASE_URL`` when the config sets
    none.
    """

    name: ClassVar[str] = "xai"
    display_name: ClassVar[str] = "xAI"
    job_noun: ClassVar[str] = "video request"
    models: ClassVar[Mapping[str, kit.ModelSpec]] = XAI_SPECS
    generic_specs: ClassVar[Mapping[kit.JobKind, kit.ModelSpec]] = GENERIC_SPECS
    default_base_url: ClassVar[str] = "https://api.x.ai/v1"
    credentials = kit.ApiKey(("XAI_API_KEY",))
    # xAI has no cancel for a deferred video request.
    supports_cancel: ClassVar[bool] = False
    answers_in_request: ClassVar[frozenset[kit.JobKind]] = frozenset({"image"})

    # -- mapping -----------------------------------------------------------------------

    def prepare_video(self, request: kit.VideoGenerationRequest) -> kit.PreparedJob:
        """Map a video request to a generation (``prompt``, ``duration``,
        ``aspect_ratio``, ``resolution``, the first frame as ``image.url``), or, when it
        carries a ``video``, to an edit (an extension with ``extra_params={"extend":
        True}``: ``duration`` is then the seconds added).

        Raises:
            ValidationError: The model makes images, or ``extend`` is set without a video.
        """
        extend = request.extra_params.get(EXTEND_PARAM)
        if extend is not None and not isinstance(extend, bool):
            raise self.refusal(f"extra_params[{EXTEND_PARAM!r}] must be True or False")
        operation: VideoOperation = "generations"
        if request.video is not None:
            operation = "extensions" if extend else "edits"
        elif extend:
            raise self.refusal(
                f"extra_params[{EXTEND_PARAM!r}] extends a video: set request.video to the "
                "video to continue"
            )
        spec = self.spec_for("video")
        if spec is None:
            raise self.refusal(f"{self.label} has no video mapping for {self.model}")
        if spec.field_mappers is None:  # a user's field mapping maps every operation itself
            spec = VIDEO_OPERATION_SPECS[operation]
        self.warn_lifecycle()
        mapped = map_request(spec, request, model=self.model)
        payload = mapped.payload
        payload.pop(EXTEND_PARAM, None)
        for field in ("image", "video"):
            if field in payload:
                payload[field] = _as_media(payload[field])
        payload.setdefault("model", self.model)
        return _VideoJob(
            kind="video",
            model=self.model,
            payload=payload,
            adaptations=mapped.notes,
            summary=mapped.summary,
            operation=operation,
        )

    def prepare_image(self, request: kit.ImageGenerationRequest) -> kit.PreparedJob:
        """Map an image request: ``prompt``, ``n``, ``aspect_ratio``, the published
        ``extra_params["resolution"]`` (``1k`` or ``2k``), and the input images (an edit:
        one as ``image.url``, several as ``images[].url``).

        Raises:
            ValidationError: The model makes videos, or ``extra_params["resolution"]`` is
                not ``1k`` or ``2k`` (named, before anything is sent).
        """
        job = self.prepare_from_spec("image", request)
        payload = job.payload
        resolution = payload.get("resolution")
        if resolution is not None and resolution not in IMAGE_RESOLUTIONS:
            raise self.refusal(
                f"extra_params['resolution'] must be one of {list(IMAGE_RESOLUTIONS)}, got "
                f"{resolution!r}"
            )
        images = payload.get("images")
        if isinstance(images, list):
            if len(images) == 1:
                del payload["images"]
                payload["image"] = _as_media(images[0])
            else:
                payload["images"] = [_as_media(item) for item in images]
        payload.setdefault("model", self.model)
        return job

    # -- lifecycle ---------------------------------------------------------------------

    def job_urls(self, job_id: str) -> kit.JobUrls:
        """``/videos/{request_id}`` for status and result; no cancel URL (there is none)."""
        url = f"{self.base_url}/videos/{job_id}"
        return kit.JobUrls(status=url, result=url)

    async def submit(self, job: kit.PreparedJob, *, time_left: float | None) -> kit.SubmittedJob:
        """Start the video request at its operation's endpoint, or generate the images
        (the reply is the result).

        Raises:
            TarashException: The create was refused (mapped by :meth:`parse_error`).
        """
        if job.kind == "image":
            return await self._generate_images(job, time_left)
        operation = job.operation if isinstance(job, _VideoJob) else "generations"
        accepted = await self._send_submit(
            f"{self.base_url}/videos/{operation}", id_field="request_id", json=job.payload
        )
        handle = self.new_handle("video", accepted.job_id, provider_state={"operation": operation})
        # The create names only the id: the request is pending.
        pending = kit.JobSnapshot(kit.JobState.QUEUED, {"status": "pending"})
        return kit.SubmittedJob(handle=handle, snapshot=pending)

    async def _generate_images(
        self, job: kit.PreparedJob, time_left: float | None
    ) -> kit.AnsweredSubmit:
        edit = "image" in job.payload or "images" in job.payload
        url = f"{self.base_url}/images/{'edits' if edit else 'generations'}"
        timeout = IMAGE_READ_TIMEOUT if time_left is None else time_left + LATE_IMAGE_MARGIN
        reply = await self._send(
            "submit",
            "POST",
            url,
            json=job.payload,
            read_timeout=max(1.0, min(IMAGE_READ_TIMEOUT, timeout)),
            held=True,
        )
        # xAI's reply names no id: the handle gets one of tarash's own.
        job_id = f"img_{uuid.uuid4().hex}"
        handle = self.new_handle("image", job_id, provider_state={"operation": "images"})
        return self._image_answer(reply, handle)

    def _image_answer(self, reply: httpx.Response, handle: kit.JobHandle) -> kit.AnsweredSubmit:
        """The images of a create reply (the answer: xAI keeps no image job), read as
        OpenAI's images reply is (xAI's images API speaks its shape): JPEG base64, each
        URL's type from its name, items xAI's moderation withheld left out, and no revised
        prompt (xAI sends an empty one)."""
        return image_answer(
            self,
            reply,
            handle,
            base64_type="image/jpeg",
            url_type=_image_content_type,
            moderated=True,
            revised_prompts=False,
        )

    async def poll(self, handle: kit.JobHandle) -> kit.JobSnapshot:
        """``GET /videos/{request_id}``.

        Raises:
            ValidationError: The handle is an image job's (its result came with the create).
            TarashException: The status call failed after retries.
        """
        if handle.kind == "image":
            raise self.no_job_to_read(handle)
        return self._snapshot(await self.read_job(handle, "status"), handle.request_id)

    def _snapshot(self, body: dict[str, Any], request_id: str) -> kit.JobSnapshot:
        status = body.get("status")
        origin = self.error_origin(request_id, body)
        match status:
            case "pending":
                progress = body.get("progress")
                percent = (
                    max(0, min(99, progress))
                    if isinstance(progress, int) and not isinstance(progress, bool)
                    else None
                )
                return kit.JobSnapshot(kit.JobState.PROCESSING, body, progress_percent=percent)
            case "done":
                video = body.get("video")
                if isinstance(video, dict) and video.get("respect_moderation") is False:
                    return kit.JobSnapshot(
                        kit.JobState.FAILED,
                        body,
                        error=kit.ContentModerationError(
                            f"{self.label} withheld the video: it did not pass content moderation",
                            **origin,
                        ),
                    )
                return kit.JobSnapshot(kit.JobState.COMPLETED, body, progress_percent=100)
            case "failed":
                return kit.JobSnapshot(
                    kit.JobState.FAILED, body, error=self._failure(body, request_id)
                )
            case "expired":
                return kit.JobSnapshot(
                    kit.JobState.FAILED,
                    body,
                    error=kit.GenerationFailedError(
                        f"the {self.label} video request expired before it completed", **origin
                    ),
                )
            case _:
                return self.unknown_status(body, status, request_id=request_id)

    def _failure(self, body: dict[str, Any], request_id: str) -> kit.TarashException:
        found = body.get("error")
        error: dict[str, Any] = found if isinstance(found, dict) else {}
        code = str(error.get("code") or "").strip()
        message = str(error.get("message") or "").strip()[:_MAX_MESSAGE]
        text = ": ".join(part for part in (code, message) if part) or "the video failed"
        origin = self.error_origin(request_id, body)
        if "moderation" in code.lower():
            return kit.ContentModerationError(text, **origin)
        return kit.GenerationFailedError(text, **origin)

    async def fetch_video(
        self, handle: kit.JobHandle, snapshot: kit.JobSnapshot
    ) -> kit.VideoOutput:
        """The finished video's URL.

        Raises:
            GenerationFailedError: The result names no URL.
        """
        body = snapshot.raw
        video = body.get("video")
        url = video.get("url") if isinstance(video, dict) else None
        if not isinstance(url, str) or not url:
            raise kit.GenerationFailedError(
                f"{self.label} reported the video done with no URL",
                **self.error_origin(handle.request_id, body),
            )
        seconds = video.get("duration") if isinstance(video, dict) else None
        duration = (
            float(seconds)
            if isinstance(seconds, int | float) and not isinstance(seconds, bool) and seconds > 0
            else None
        )
        return kit.VideoOutput(video=url, content_type="video/mp4", duration=duration, raw=body)

    async def fetch_image(
        self, handle: kit.JobHandle, snapshot: kit.JobSnapshot
    ) -> kit.ImageOutput:
        """Refused, sending nothing: the images came with the create's reply
        (:class:`~tarash.tarash_gateway.providers._base.AnsweredSubmit`), and xAI keeps
        nothing to read later.

        Raises:
            ValidationError: Always.
        """
        raise self.no_job_to_read(handle)

    async def cancel(self, handle: kit.JobHandle) -> bool:
        """Always ``False``, sending nothing: xAI cannot stop a deferred video request, and
        an image is done when its handle exists."""
        return False

    # -- errors ------------------------------------------------------------------------

    def parse_error(
        self, response: httpx.Response, call: kit.CallContext = kit.UNKNOWN_CALL
    ) -> kit.TarashException:
        """Map ``{"code", "error"}`` (or a 422's plain text): an incorrect key (a 400 that
        names the API key) is an :class:`AuthenticationError`, a moderation refusal a
        :class:`ContentModerationError`, a team out of credits an
        :class:`InsufficientCreditError`, an unknown model (404 on a create) a
        :class:`NotFoundError` naming a retired model's successor, the rest by status."""
        read = self.error_body(response)
        status = response.status_code
        error = read.fields.get("error")
        code = str(read.fields.get("code") or "").strip()
        message = (str(error).strip() if error is not None else read.text)[:_MAX_MESSAGE]
        message = message or f"HTTP {status} from {self.label}"
        lowered = message.lower()
        origin = {
            "provider": self.name,
            "model": self.model,
            "request_id": call.request_id,
            "raw_response": read.raw,
        }
        if status == 400 and any(word in lowered for word in _AUTH_WORDS):
            # xAI answers an incorrect key with a 400 (docs.x.ai, Debugging Errors).
            return AuthenticationError(message, status_code=status, **origin)
        if "moderation" in lowered:
            return kit.ContentModerationError(message, status_code=status, **origin)
        if "credits" in lowered and status in (402, 403):
            # A team without credits or licenses is refused with a 403 (docs.x.ai,
            # Debugging Errors): no retry or other key of the team helps.
            return kit.InsufficientCreditError(message, status_code=status, **origin)
        if code:
            message = f"{message} ({code})"
        if status == 404 and call.operation == "submit":
            return kit.NotFoundError(
                f"{message}{self.retired_hint()}", status_code=status, **origin
            )
        return kit.error_for_status(status, message, headers=dict(response.headers), **origin)
