"""OpenRouter's asynchronous video API (``https://openrouter.ai/api/v1``), over REST.

One key (``OPENROUTER_API_KEY``) reaches many video models (Veo, Seedance, Wan, Hailuo,
Sora, Grok Imagine...), named by slug: ``model="google/veo-3.1"``.

Wire facts (see docs/providers/openrouter.md):

- ``POST /videos`` with ``model``, ``prompt`` and optionally ``duration``, ``resolution``,
  ``aspect_ratio``, ``size``, ``seed``, ``generate_audio``, ``frame_images`` (``{"type":
  "image_url", "image_url": {"url"}, "frame_type": "first_frame" | "last_frame"}``),
  ``input_references`` (``{"type": "image_url", "image_url": {"url"}}``), ``callback_url``
  and ``provider.options``; it answers 202 ``{"id", "polling_url", "status": "pending"}``.
- ``GET /videos/{id}``: ``status`` ``pending`` -> ``in_progress`` -> ``completed`` (with
  ``unsigned_urls`` and ``usage.cost``) | ``failed`` (``error``: a message) |
  ``cancelled`` | ``expired``.
- ``GET /videos/{id}/content?index=0`` serves the MP4 and needs the key.
- ``GET /videos/models`` lists each model's capabilities and per-second prices: the
  catalog (:mod:`._openrouter_catalog`), which checks a request before it is paid for.
- **There is no cancel call**: a video tarash gives up on (a deadline, a lost race)
  runs on at OpenRouter and is billed. ``supports_cancel`` is False, so the router never
  hedges onto it unless ``HedgePolicy(refuse_billed_cancel=False)`` says so, and a
  give-up leaves the job watched, not cancelled.
- Every call carries ``Authorization: Bearer <key>``. Errors are ``{"error": {"code",
  "message", "metadata"}}``; 402 means the account is out of credits.

Sources (read 2026-12-07):
https://openrouter.ai/docs/api/api-reference/video-generation/create-videos (the submit),
https://openrouter.ai/docs/api/api-reference/video-generation/get-videos (the poll and its
status enum), https://openrouter.ai/docs/features/multimodal/video-generation (the
workflow, frame images, the models endpoint), https://openrouter.ai/docs/api/reference/errors
(the error body), https://skills.sh/openrouterteam/skills/openrouter-video (OpenRouterTeam's
skill: terminal states, ``/content?index=0``).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, ClassVar

import httpx

from tarash.tarash_gateway.errors import AuthenticationError
from tarash.tarash_gateway.providers import _kit as kit
from tarash.tarash_gateway.providers._openrouter_catalog import (
    CATALOGS,
    CatalogEntry,
    parse_catalog,
)

__all__ = ["OpenRouterClient"]

_MAX_MESSAGE = 500
_LISTED = 8
"""How many model ids a refusal for an unknown model names."""

_VIDEO_SPEC = kit.ModelSpec(
    capabilities=kit.ModelCapabilities(kind="video", max_outputs=1),
    inputs={
        "prompt": "prompt",
        "duration": "duration",
        "aspect_ratio": "aspect_ratio",
        "resolution": "resolution",
        "seed": "seed",
        "generate_audio": "generate_audio",
        "first_frame": "first_frame",
        "last_frame": "last_frame",
        "reference_images": "input_references",
    },
)
"""Every model's mapping; what each model takes comes from the catalog, not from here."""


def _image_url(value: object) -> dict[str, Any]:
    return {"type": "image_url", "image_url": {"url": value}}


class OpenRouterClient(kit.ProviderClient):
    """OpenRouter's video models, by slug (``google/veo-3.1``, ``bytedance/seedance-2.0``).

    The key is ``OPENROUTER_API_KEY``; the base URL ``TARASH_OPENROUTER_BASE_URL`` when
    the config sets none. There is no cancel call: a job given up on is billed.
    """

    name: ClassVar[str] = "openrouter"
    display_name: ClassVar[str] = "OpenRouter"
    job_noun: ClassVar[str] = "video job"
    # The catalog comes from the models endpoint: no model is registered by hand.
    models: ClassVar[Mapping[str, kit.ModelSpec]] = MappingProxyType({})
    generic_specs: ClassVar[Mapping[kit.JobKind, kit.ModelSpec]] = MappingProxyType(
        {"video": _VIDEO_SPEC}
    )
    default_base_url: ClassVar[str] = "https://openrouter.ai/api/v1"
    credentials = kit.ApiKey(("OPENROUTER_API_KEY",))
    # OpenRouter's video API has no cancel: a give-up cannot stop billing.
    supports_cancel: ClassVar[bool] = False

    # -- catalog -----------------------------------------------------------------------

    async def catalog(self) -> Mapping[str, CatalogEntry]:
        """The video models ``GET /videos/models`` lists, by id (cached per base URL).

        Raises:
            TarashException: The read failed after retries, or its body is not a model
                list (a retryable :class:`ProviderServerError`).
        """

        async def read() -> Mapping[str, CatalogEntry]:
            url = f"{self.base_url}/videos/models"
            reply = await self._send("status", "GET", url, expect_object=True)
            return parse_catalog(kit.response_json(reply), source=url)

        return await CATALOGS.get(self.base_url, read)

    # -- mapping -----------------------------------------------------------------------

    def prepare_video(self, request: kit.VideoGenerationRequest) -> kit.PreparedJob:
        """Map a video request: ``prompt``, ``duration``, ``resolution``,
        ``aspect_ratio``, ``seed``, ``generate_audio``, first/last frames as
        ``frame_images`` and references as ``input_references``; ``extra_params`` go
        as they are (``provider``, ``size``, ``callback_url``).

        Raises:
            ValidationError: The request carries a video (no edit here).
        """
        if request.video is not None:
            raise self.refusal(f"{self.label} generates videos: it takes no input video")
        job = self.prepare_from_spec("video", request)
        payload = job.payload
        frames = [
            {**_image_url(payload.pop(kind)), "frame_type": kind}
            for kind in ("first_frame", "last_frame")
            if kind in payload
        ]
        if frames:
            payload["frame_images"] = frames
        references = payload.get("input_references")
        if references is not None:
            items = references if isinstance(references, list) else [references]
            payload["input_references"] = [_image_url(item) for item in items]
        payload.setdefault("model", self.model)
        return job

    def prepare_image(self, request: kit.ImageGenerationRequest) -> kit.PreparedJob:
        """Refused: tarash reaches OpenRouter's video API only.

        Raises:
            ValidationError: Always, before anything is sent.
        """
        raise self.refusal(f"{self.label} is reached for videos only (POST /videos)")

    async def finish_prepared(self, job: kit.PreparedJob) -> None:
        """Check the job against the model's catalog entry before anything is paid for.

        Raises:
            ValidationError: The catalog lists no such model, or a value (duration,
                resolution, aspect ratio, frame image, audio, seed) is one it does not
                take (the field and the values it takes are named).
            TarashException: The catalog could not be read (typed, from :meth:`catalog`).
        """
        catalog = await self.catalog()
        entry = catalog.get(self.model)
        if entry is None:
            listed = ", ".join(sorted(catalog)[:_LISTED])
            raise self.refusal(
                f"{self.label} lists no video model {self.model!r} (GET /videos/models)"
                + (
                    f"; it lists {listed}{', ...' if len(catalog) > _LISTED else ''}"
                    if listed
                    else ""
                )
            )
        payload = job.payload
        checks: tuple[tuple[str, object, tuple[Any, ...] | None], ...] = (
            ("duration", payload.get("duration"), entry.durations),
            ("resolution", payload.get("resolution"), entry.resolutions),
            ("aspect_ratio", payload.get("aspect_ratio"), entry.aspect_ratios),
        )
        for field, value, allowed in checks:
            if value is not None and allowed is not None and value not in allowed:
                raise self.refusal(
                    f"{self.model} takes {field} in {list(allowed)} (OpenRouter's catalog), "
                    f"got {value!r}"
                )
        for frame in payload.get("frame_images") or ():
            kind = frame.get("frame_type") if isinstance(frame, dict) else None
            if entry.frame_types is not None and kind not in entry.frame_types:
                raise self.refusal(
                    f"{self.model} takes frame images {list(entry.frame_types)} "
                    f"(OpenRouter's catalog), not {kind!r}"
                )
        for flag, takes in (("generate_audio", entry.generate_audio), ("seed", entry.seed)):
            if flag in payload and takes is False:
                raise self.refusal(f"{self.model} takes no {flag} (OpenRouter's catalog)")

    # -- lifecycle ---------------------------------------------------------------------

    def job_urls(self, job_id: str) -> kit.JobUrls:
        """``/videos/{id}`` for status and result; no cancel URL (there is none)."""
        url = f"{self.base_url}/videos/{job_id}"
        return kit.JobUrls(status=url, result=url)

    async def submit(self, job: kit.PreparedJob, *, time_left: float | None) -> kit.SubmittedJob:
        """``POST /videos``.

        Raises:
            TarashException: The create was refused (mapped by :meth:`parse_error`).
        """
        accepted = await self._send_submit(
            f"{self.base_url}/videos", id_field="id", json=job.payload
        )
        body = accepted.body or {}
        handle = self.new_handle("video", accepted.job_id, status_url=body.get("polling_url"))
        return kit.SubmittedJob(handle=handle, snapshot=kit.JobSnapshot(kit.JobState.QUEUED, body))

    async def poll(self, handle: kit.JobHandle) -> kit.JobSnapshot:
        """``GET /videos/{id}``.

        Raises:
            TarashException: The status call failed after retries.
        """
        return self._snapshot(await self.read_job(handle, "status"), handle.request_id)

    def _snapshot(self, body: dict[str, Any], job_id: str) -> kit.JobSnapshot:
        status = body.get("status")
        origin = self.error_origin(job_id, body)
        match status:
            case "pending":
                return kit.JobSnapshot(kit.JobState.QUEUED, body)
            case "in_progress":
                return kit.JobSnapshot(kit.JobState.PROCESSING, body)
            case "completed":
                return kit.JobSnapshot(kit.JobState.COMPLETED, body, progress_percent=100)
            case "failed":
                message = str(body.get("error") or "").strip()[:_MAX_MESSAGE]
                text = message or "the video failed"
                error: kit.TarashException = (
                    kit.ContentModerationError(text, **origin)
                    if "moderation" in text.lower()
                    else kit.GenerationFailedError(text, **origin)
                )
                return kit.JobSnapshot(kit.JobState.FAILED, body, error=error)
            case "cancelled" | "expired":
                return kit.JobSnapshot(
                    kit.JobState.FAILED,
                    body,
                    error=kit.GenerationFailedError(
                        f"the {self.label} video job was {status} before it completed", **origin
                    ),
                )
            case _:
                return self.unknown_status(body, status, request_id=job_id)

    async def fetch_video(
        self, handle: kit.JobHandle, snapshot: kit.JobSnapshot
    ) -> kit.VideoOutput:
        """The finished video, downloaded with the key (``/content?index=0``, or the
        first of ``unsigned_urls`` when it is on the API's origin).

        Raises:
            TarashException: The download failed after retries (the job is finished and
                paid: no fallback).
        """
        body = snapshot.raw
        urls = body.get("unsigned_urls")
        given = urls[0] if isinstance(urls, list) and urls else None
        built = f"{self.base_url}/videos/{handle.request_id}/content?index=0"
        video = await self.download_content(
            self.trusted_url(given, built), request_id=handle.request_id, default_type="video/mp4"
        )
        return kit.VideoOutput(video=video, content_type=video["content_type"], raw=body)

    async def fetch_image(
        self, handle: kit.JobHandle, snapshot: kit.JobSnapshot
    ) -> kit.ImageOutput:
        """Refused: OpenRouter is reached for videos only.

        Raises:
            ValidationError: Always.
        """
        raise self.refusal(f"{self.label} is reached for videos only", request_id=handle.request_id)

    async def cancel(self, handle: kit.JobHandle) -> bool:
        """Always ``False``, sending nothing: OpenRouter's video API has no cancel call, so
        the job runs on and is billed."""
        return False

    # -- errors ------------------------------------------------------------------------

    def parse_error(
        self, response: httpx.Response, call: kit.CallContext = kit.UNKNOWN_CALL
    ) -> kit.TarashException:
        """Map ``{"error": {"code", "message", "metadata"}}``: 401 an
        :class:`AuthenticationError`, 402 an :class:`InsufficientCreditError`, a moderation
        refusal (403 or a message naming it) a :class:`ContentModerationError`, a 404 on
        a create a :class:`NotFoundError`, the rest by status."""
        read = self.error_body(response)
        status = response.status_code
        found = read.fields.get("error")
        error: dict[str, Any] = found if isinstance(found, dict) else {}
        message = str(error.get("message") or (found if isinstance(found, str) else "") or "")
        message = (message.strip() or read.text)[
            :_MAX_MESSAGE
        ] or f"HTTP {status} from {self.label}"
        origin = {
            "provider": self.name,
            "model": self.model,
            "request_id": call.request_id,
            "raw_response": read.raw,
        }
        if status == 401:
            return AuthenticationError(message, status_code=status, **origin)
        if status == 402:
            return kit.InsufficientCreditError(message, status_code=status, **origin)
        if "moderation" in message.lower() or (status == 403 and "flagged" in message.lower()):
            return kit.ContentModerationError(message, status_code=status, **origin)
        if status == 404 and call.operation == "submit":
            return kit.NotFoundError(message, status_code=status, **origin)
        return kit.error_for_status(status, message, headers=dict(response.headers), **origin)
