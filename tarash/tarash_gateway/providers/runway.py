"""Runway's API (``https://api.dev.runwayml.com``): video and image tasks.

Wire facts (runwayml/sdk-python and docs.dev.runwayml.com; see docs/providers/runway.md):

- Every generation is a task. ``POST /v1/text_to_video``, ``/v1/image_to_video``,
  ``/v1/video_to_video`` (gen4_aleph, aleph2: a ``videoUri``) or ``/v1/text_to_image``
  (camelCase JSON) answers ``{"id"}``; ``GET /v1/tasks/{id}`` reads it:
  ``PENDING`` | ``THROTTLED`` (over the account's concurrency: accepted and waiting, not
  failed) -> ``RUNNING`` with ``progress`` 0..1 -> ``SUCCEEDED`` with ``output[]`` (signed
  URLs that expire in 24-48 h) | ``FAILED`` with ``failure`` and ``failureCode`` |
  ``CANCELLED``. ``DELETE /v1/tasks/{id}`` cancels a task (or deletes a finished one).
- Every call carries ``Authorization: Bearer <RUNWAYML_API_SECRET>`` and
  ``X-Runway-Version`` (``2024-11-06``; ``api_version`` in the config overrides it).
- Runway asks clients not to poll faster than every 5 s: :attr:`min_poll_interval`.
- ``failureCode`` ``SAFETY.*`` is a moderation refusal (no retry helps); ``INTERNAL.*`` a
  system rejection that a retry may fix. HTTP errors are ``{"error", "issues"?}``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import httpx

from tarash.tarash_gateway._validate import check_url
from tarash.tarash_gateway.providers import _kit as kit
from tarash.tarash_gateway.providers.runway_models import (
    GENERIC_SPECS,
    IMAGE_ENDPOINT,
    MODERATED,
    RUNWAY_SPECS,
    VIDEO_ENDPOINTS,
    VIDEO_TO_VIDEO_ENDPOINT,
    WIRE_IDS,
)

__all__ = ["API_VERSION", "RunwayClient"]

API_VERSION = "2024-11-06"
"""The ``X-Runway-Version`` sent unless the config's ``api_version`` says otherwise."""
OUTPUT_LIFETIME = timedelta(hours=24)
"""How long Runway's output URLs are good for, at the least (24-48 h)."""
MODERATION_THRESHOLDS = frozenset({"auto", "low"})

_OFFICIAL_HOST = "api.dev.runwayml.com"
_CAMEL = {"public_figure_threshold": "publicFigureThreshold"}
_MAX_MESSAGE = 500
_MAX_ISSUES = 5


def _progress(value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return max(0, min(100, round(value * 100)))


def _issues_text(issues: object) -> str:
    """``"duration: Too big ...; model: invalid_value"`` from a 400's ``issues``."""
    if not isinstance(issues, list):
        return ""
    parts = []
    for issue in issues[:_MAX_ISSUES]:
        if not isinstance(issue, dict):
            continue
        path = issue.get("path")
        where = ".".join(str(part) for part in path) if isinstance(path, list) else ""
        what = str(issue.get("message") or issue.get("code") or "").strip()
        parts.append(f"{where}: {what}" if where else what)
    return "; ".join(part for part in parts if part)


class RunwayClient(kit.ProviderClient):
    """Runway's video (gen4.5, gen4_turbo, veo3, veo3.1; gen4_aleph and aleph2 video-to-video)
    and image (gen4_image) tasks.

    ``provider_config`` options:
        public_figure_threshold: ``"auto"`` or ``"low"``, sent as
            ``contentModeration.publicFigureThreshold`` (gen4 models).

    The key is ``RUNWAYML_API_SECRET``; the base URL ``RUNWAYML_BASE_URL`` when the config
    sets none, as in the official SDK.
    """

    name: ClassVar[str] = "runway"
    display_name: ClassVar[str] = "Runway"
    job_noun: ClassVar[str] = "task"
    models: ClassVar[Mapping[str, kit.ModelSpec]] = RUNWAY_SPECS
    generic_specs: ClassVar[Mapping[kit.JobKind, kit.ModelSpec]] = GENERIC_SPECS
    default_base_url: ClassVar[str] = f"https://{_OFFICIAL_HOST}"
    credentials = kit.ApiKey(("RUNWAYML_API_SECRET",))
    base_url_env_var: ClassVar[str] = "RUNWAYML_BASE_URL"
    min_poll_interval: ClassVar[float] = 5.0
    # DELETE /v1/tasks/{id} cancels a pending or running task but deletes a finished one,
    # output included (docs.dev.runwayml.com, "Cancel or delete a task").
    cancel_deletes_finished: ClassVar[bool] = True
    provider_config_options: ClassVar[frozenset[str]] = frozenset({"public_figure_threshold"})

    @classmethod
    def resolve_base_url(cls, explicit: str | None = None) -> str:
        """``explicit``, else ``TARASH_RUNWAY_BASE_URL``, else ``RUNWAYML_BASE_URL``, else
        the default.

        Raises:
            ValidationError: An environment variable holds a malformed URL.
        """
        if not explicit:
            from_sdk_env = os.environ.get(cls.base_url_env_var)
            if from_sdk_env and not os.environ.get("TARASH_RUNWAY_BASE_URL"):
                return check_url(from_sdk_env, cls.base_url_env_var).rstrip("/")
        return super().resolve_base_url(explicit)

    def poll_floor(self) -> float:
        """5 s against Runway itself; a compatible endpoint (the emulator) sets its own pace."""
        return self.min_poll_interval if self._official() else 0.0

    def _official(self) -> bool:
        return self.base_url.startswith(f"https://{_OFFICIAL_HOST}")

    def auth_headers(self) -> dict[str, str]:
        """``Authorization: Bearer <key>`` and ``X-Runway-Version``."""
        return {
            **super().auth_headers(),
            "X-Runway-Version": self.settings.api_version or API_VERSION,
        }

    # -- mapping -----------------------------------------------------------------------

    def _moderation(self) -> dict[str, Any] | None:
        threshold = self.settings.provider_config.get("public_figure_threshold")
        if threshold is None:
            return None
        if threshold not in MODERATION_THRESHOLDS:
            raise self.refusal(
                "provider_config['public_figure_threshold'] must be one of "
                f"{sorted(MODERATION_THRESHOLDS)}"
            )
        return {"publicFigureThreshold": threshold}

    def _finish(self, job: kit.PreparedJob) -> kit.PreparedJob:
        job.payload.setdefault("model", WIRE_IDS.get(self.model, self.model))
        published = job.payload.pop("content_moderation", None)
        if isinstance(published, dict):
            # The published package's spelling (the SDK's snake case): Runway's is camelCase.
            job.payload.setdefault(
                "contentModeration",
                {_CAMEL.get(key, key): value for key, value in published.items()},
            )
        elif published is not None:
            raise self.refusal(
                "extra_params content_moderation must be an object such as "
                '{"public_figure_threshold": "low"}'
            )
        moderation = self._moderation()
        if moderation is not None:
            job.payload.setdefault("contentModeration", moderation)
        # A registered model without the field (Veo): the published package drops it there
        # too, and Runway would refuse the body.
        unmoderated = self.model in RUNWAY_SPECS and self.model not in MODERATED
        if unmoderated and job.payload.pop("contentModeration", None) is not None:
            job.adaptations.append(
                f"contentModeration: not sent ({self.model} has no input for it)"
            )
        return job

    def prepare_video(self, request: kit.VideoGenerationRequest) -> kit.PreparedJob:
        """Map a video request: ``promptText``, ``ratio`` (Runway's pixel string from the
        aspect ratio and resolution), ``duration``, ``seed`` and the frames as
        ``promptImage`` (one reference, or ``[{uri, position}]`` with a last frame). A
        video-to-video model takes the request's ``video`` as ``videoUri`` and its images
        as ``references`` (``[{"type": "image", "uri"}]``).

        Raises:
            ValidationError: The model makes images, or needs an input the request lacks.
        """
        job = self.prepare_from_spec("video", request)
        payload = job.payload
        references = payload.get("references")
        if "videoUri" in payload and isinstance(references, list):
            payload["references"] = [
                item if isinstance(item, dict) else {"type": "image", "uri": item}
                for item in references
            ]
        last = payload.pop("lastFrame", None)
        if isinstance(last, str):
            first = payload.get("promptImage")
            frames = [{"uri": first, "position": "first"}] if isinstance(first, str) else []
            payload["promptImage"] = [*frames, {"uri": last, "position": "last"}]
        return self._finish(job)

    def prepare_image(self, request: kit.ImageGenerationRequest) -> kit.PreparedJob:
        """Map an image request: ``promptText``, ``ratio``, ``seed`` and the reference
        images as ``referenceImages[{uri, tag}]`` (tagged ``ref1``, ``ref2``, ... for
        ``@ref1`` in the prompt).

        Raises:
            ValidationError: The model makes videos, or needs references the request lacks.
        """
        job = self.prepare_from_spec("image", request)
        references = job.payload.get("referenceImages")
        if isinstance(references, list):
            job.payload["referenceImages"] = [
                item if isinstance(item, dict) else {"uri": item, "tag": f"ref{index}"}
                for index, item in enumerate(references, start=1)
            ]
        return self._finish(job)

    # -- lifecycle ---------------------------------------------------------------------

    def job_urls(self, job_id: str) -> kit.JobUrls:
        """``/v1/tasks/{id}`` for status, result and cancel alike."""
        url = f"{self.base_url}/v1/tasks/{job_id}"
        return kit.JobUrls(status=url, result=url, cancel=url)

    async def submit(self, job: kit.PreparedJob, *, time_left: float | None) -> kit.SubmittedJob:
        """Create the task at the endpoint of its kind (video-to-video when it has a
        ``videoUri``, image-to-video when it has a ``promptImage``).

        Raises:
            TarashException: The create was refused (mapped by :meth:`parse_error`).
        """
        if job.kind == "image":
            path = IMAGE_ENDPOINT
        elif "videoUri" in job.payload:
            path = VIDEO_TO_VIDEO_ENDPOINT
        else:
            path = VIDEO_ENDPOINTS[1] if "promptImage" in job.payload else VIDEO_ENDPOINTS[0]
        accepted = await self._send_submit(
            f"{self.base_url}{path}", id_field="id", json=job.payload
        )
        handle = self.new_handle(job.kind, accepted.job_id, provider_state={"endpoint": path})
        # The create names only the id: the task is pending, and the first status call waits
        # one interval like the rest.
        pending = kit.JobSnapshot(kit.JobState.QUEUED, {"id": accepted.job_id, "status": "PENDING"})
        return kit.SubmittedJob(handle=handle, snapshot=pending)

    async def poll(self, handle: kit.JobHandle) -> kit.JobSnapshot:
        """``GET /v1/tasks/{id}``.

        Raises:
            TarashException: The status call failed after retries.
        """
        return self._snapshot(await self.read_job(handle, "status"), handle.request_id)

    def _snapshot(self, body: dict[str, Any], task_id: str) -> kit.JobSnapshot:
        status = body.get("status")
        origin = self.error_origin(task_id, body)
        match status:
            case "PENDING":
                return kit.JobSnapshot(kit.JobState.QUEUED, body)
            case "THROTTLED":
                # Over the account's concurrency; the task waits for a slot. Flagged so the
                # router lowers its cap on Runway rather than submit more to wait here.
                return kit.JobSnapshot(kit.JobState.QUEUED, body, throttled=True)
            case "RUNNING":
                return kit.JobSnapshot(
                    kit.JobState.PROCESSING, body, progress_percent=_progress(body.get("progress"))
                )
            case "SUCCEEDED":
                return kit.JobSnapshot(kit.JobState.COMPLETED, body, progress_percent=100)
            case "FAILED":
                return kit.JobSnapshot(
                    kit.JobState.FAILED, body, error=self._failure(body, task_id)
                )
            case "CANCELLED":
                return kit.JobSnapshot(
                    kit.JobState.CANCELLED,
                    body,
                    error=kit.JobCancelledError("the task was cancelled", **origin),
                )
            case _:
                return self.unknown_status(body, status, request_id=task_id)

    def _failure(self, body: dict[str, Any], task_id: str) -> kit.TarashException:
        code = str(body.get("failureCode") or "").strip()
        message = str(body.get("failure") or "").strip()[:_MAX_MESSAGE] or "the task failed"
        text = f"{message} ({code})" if code else message
        origin = self.error_origin(task_id, body)
        if code.startswith("SAFETY"):
            return kit.ContentModerationError(text, **origin)
        if code.startswith("INTERNAL"):
            # A system rejection (often an overlay in the input image): a new task may pass.
            return kit.GenerationFailedError(text, retryable=True, **origin)
        return kit.GenerationFailedError(text, **origin)

    def _outputs(self, handle: kit.JobHandle, snapshot: kit.JobSnapshot) -> list[str]:
        output = snapshot.raw.get("output")
        urls = (
            [item for item in output if isinstance(item, str) and item]
            if isinstance(output, list)
            else []
        )
        if not urls:
            raise kit.GenerationFailedError(
                f"{self.label} reported the task succeeded with no output",
                **self.error_origin(handle.request_id, snapshot.raw),
            )
        return urls

    @staticmethod
    def _expires_at() -> datetime:
        return datetime.now(UTC) + OUTPUT_LIFETIME

    async def fetch_video(
        self, handle: kit.JobHandle, snapshot: kit.JobSnapshot
    ) -> kit.VideoOutput:
        """The task's first output URL (signed; expires in 24-48 h).

        Raises:
            GenerationFailedError: The task names no output.
        """
        urls = self._outputs(handle, snapshot)
        return kit.VideoOutput(
            video=urls[0], content_type="video/mp4", expires_at=self._expires_at(), raw=snapshot.raw
        )

    async def fetch_image(
        self, handle: kit.JobHandle, snapshot: kit.JobSnapshot
    ) -> kit.ImageOutput:
        """The task's output URLs (signed; expire in 24-48 h).

        Raises:
            GenerationFailedError: The task names no output.
        """
        urls = list(self._outputs(handle, snapshot))
        return kit.ImageOutput(
            images=urls, content_type="image/png", expires_at=self._expires_at(), raw=snapshot.raw
        )

    async def cancel(self, handle: kit.JobHandle) -> bool:
        """``DELETE /v1/tasks/{id}``: ``True`` when Runway took it, ``False`` for an unknown
        (already deleted) task.

        Raises:
            TarashException: The cancel failed after retries.
        """
        reply = await self._send(
            "cancel",
            "DELETE",
            self.job_url(handle, "cancel"),
            request_id=handle.request_id,
            headers={"Accept": "*/*"},
            ok_statuses=frozenset({404}),
        )
        return reply.status_code != 404

    # -- errors ------------------------------------------------------------------------

    def parse_error(
        self, response: httpx.Response, call: kit.CallContext = kit.UNKNOWN_CALL
    ) -> kit.TarashException:
        """Map ``{"error", "issues"?}``: a 400 names the fields its issues point at, a
        credit refusal is an :class:`InsufficientCreditError`, the rest by status."""
        read = self.error_body(response)
        status = response.status_code
        error = read.fields.get("error")
        message = (str(error).strip() if error is not None else read.text)[:_MAX_MESSAGE]
        message = message or f"HTTP {status} from {self.label}"
        issues = _issues_text(read.fields.get("issues"))
        if issues:
            message = f"{message}: {issues}"[: 2 * _MAX_MESSAGE]
        origin = {
            "provider": self.name,
            "model": self.model,
            "request_id": call.request_id,
            "raw_response": read.raw,
        }
        if "credits" in message.lower() and status in (400, 402, 403):
            return kit.InsufficientCreditError(message, status_code=status, **origin)
        if status == 400 and "model" in issues.split(":", 1)[0] and self.retired_hint():
            return kit.NotFoundError(
                f"{message}{self.retired_hint()}", status_code=status, **origin
            )
        return kit.error_for_status(status, message, headers=dict(response.headers), **origin)
