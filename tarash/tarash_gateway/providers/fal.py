"""fal.ai over its queue API (``https://queue.fal.run``): submit, status (SSE or poll),
result, cancel.

Wire facts (fal-client ``client.py``, fal docs "Queue"; see docs/providers/fal.md):

- ``POST {base}/{model_id}`` with the model's input JSON; the reply carries ``request_id``
  and the ``status_url``/``response_url``/``cancel_url`` to use afterwards.
- Status, result and cancel URLs use only ``owner/alias`` of the model id (``fal-ai/flux/dev``
  -> ``fal-ai/flux``); the ``workflows/`` and ``comfy/`` namespaces keep a third segment.
- Statuses are ``IN_QUEUE``, ``IN_PROGRESS`` and ``COMPLETED`` only: a failed or cancelled
  request is ``COMPLETED`` with ``error``/``error_type``, and its result fetch answers with
  the error's HTTP status.
- Errors are FastAPI-shaped: ``{"detail": "text"}`` or ``{"detail": [{loc, msg, type}]}``,
  plus ``error_type`` in the body or the ``X-Fal-Error-Type`` header.

This module makes the calls; reading what comes back (status bodies, the error
vocabulary, outputs) is :mod:`._fal_replies`.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from types import MappingProxyType
from typing import Any, ClassVar

import httpx

from tarash.tarash_gateway.engine._sse import open_json_event_stream
from tarash.tarash_gateway.providers import _kit as kit
from tarash.tarash_gateway.providers._fal_replies import (
    CONTENT_POLICY,
    content_type,
    detail_message,
    detail_types,
    dig,
    failed_snapshot,
    media_url,
    progress_from_logs,
    queued,
)
from tarash.tarash_gateway.providers.fal_models import (
    FAL_MODELS,
    GENERIC_IMAGE_SPEC,
    GENERIC_VIDEO_SPEC,
    IMAGE_SIZE_PRESETS,
)

# The published package's fal module imports these helpers at its top, so users' code and
# tests import them from here (`from ...providers.fal import FieldMapper`); they are the
# field_mappers objects themselves, re-exported, not copies.
from tarash.tarash_gateway.providers.field_mappers import (
    FieldMapper,
    apply_field_mappers,
    duration_field_mapper,
    extra_params_field_mapper,
    get_field_mappers_from_registry,
    image_list_field_mapper,
    passthrough_field_mapper,
    single_image_field_mapper,
    video_url_field_mapper,
)

__all__ = [
    "PROVIDER_CONFIG_KEYS",
    "FalClient",
    "FieldMapper",
    "apply_field_mappers",
    "duration_field_mapper",
    "extra_params_field_mapper",
    "get_field_mappers_from_registry",
    "image_list_field_mapper",
    "passthrough_field_mapper",
    "queue_app_path",
    "single_image_field_mapper",
    "video_url_field_mapper",
]

PROVIDER_CONFIG_KEYS = frozenset({"status_stream", "queue_priority", "webhook_url"})
"""Options accepted in ``provider_config`` (see :class:`FalClient`)."""

# Namespaces whose queue app id keeps a third segment (fal-client ``_queue_url``/``get_handle``).
_NAMESPACES = ("workflows", "comfy")


def queue_app_path(model_id: str) -> str:
    """Return the part of a model id that fal's status, result and cancel URLs use.

    ``fal-ai/flux/dev`` -> ``fal-ai/flux``; ``fal-ai/veo3`` -> ``fal-ai/veo3``;
    ``workflows/me/flow/run`` -> ``workflows/me/flow`` (fal-client keeps the namespace).

    Args:
        model_id: The full model id a job was submitted to.

    Returns:
        The ``owner/alias`` (or ``namespace/owner/alias``) path, without slashes around it.
    """
    parts = [part for part in model_id.split("/") if part]
    keep = 3 if parts and parts[0] in _NAMESPACES else 2
    return "/".join(parts[:keep])


def _parse_size(size: str) -> dict[str, int]:
    width, _, height = size.partition("x")
    return {"width": int(width), "height": int(height)}


class FalClient(kit.ProviderClient):
    """fal.ai's queue API.

    ``provider_config`` options:

    - ``status_stream`` (bool, default True): follow the job over fal's SSE status stream;
      ``False`` polls ``status_url`` instead.
    - ``queue_priority`` (``"normal"`` | ``"low"``): sent as ``X-Fal-Queue-Priority``.
    - ``webhook_url`` (str): fal POSTs the result there too (``?fal_webhook=``).

    The key is ``FAL_KEY`` (``key_id:key_secret``), else ``FAL_KEY_ID`` + ``FAL_KEY_SECRET``,
    as in fal-client.
    """

    name = "fal"
    default_base_url = "https://queue.fal.run"
    # fal's scheme is ``Authorization: Key <key>``, not Bearer.
    credentials = kit.ApiKey(
        ("FAL_KEY",),
        prefix="Key ",
        pair=("FAL_KEY_ID", "FAL_KEY_SECRET"),
        hint="FAL_KEY (or FAL_KEY_ID and FAL_KEY_SECRET)",
    )
    provider_config_options = PROVIDER_CONFIG_KEYS
    models: ClassVar[Mapping[str, kit.ModelSpec]] = FAL_MODELS
    generic_specs: ClassVar[Mapping[kit.JobKind, kit.ModelSpec]] = MappingProxyType(
        {"video": GENERIC_VIDEO_SPEC, "image": GENERIC_IMAGE_SPEC}
    )

    # -- mapping -----------------------------------------------------------------------

    def prepare_video(self, request: kit.VideoGenerationRequest) -> kit.PreparedJob:
        """Map a video request to the model's input JSON (sent as the body, unwrapped)."""
        return self.prepare_from_spec("video", request)

    def prepare_image(self, request: kit.ImageGenerationRequest) -> kit.PreparedJob:
        """Map an image request to the model's input JSON.

        ``image_size`` (flux family and unregistered models) is ``{"width", "height"}`` from
        ``request.size``, else the preset matching the aspect ratio.
        """
        spec = self.spec_for("image") or GENERIC_IMAGE_SPEC
        job = self.prepare_from_spec("image", request)
        payload = job.payload
        size_field = spec.inputs.get("size")
        ratio_field = spec.inputs.get("aspect_ratio")
        if "image_size" not in request.extra_params:
            if request.size == "auto" and size_field == "image_size":
                # fal's image_size has no "auto": leaving it out lets the model choose.
                payload.pop("image_size", None)
                job.adaptations.append(f"size: 'auto' not sent ({self.model} default used)")
            elif request.size is not None and size_field == "image_size":
                payload["image_size"] = _parse_size(request.size)
            elif request.aspect_ratio is not None and ratio_field == "image_size":
                preset = IMAGE_SIZE_PRESETS.get(request.aspect_ratio)
                if preset is None:
                    payload.pop("image_size", None)
                    job.adaptations.append(
                        f"aspect_ratio: {request.aspect_ratio!r} not sent "
                        f"(no image_size preset; {self.model} default used)"
                    )
                else:
                    payload["image_size"] = preset
        return job

    # -- URLs --------------------------------------------------------------------------

    def job_urls(self, job_id: str) -> kit.JobUrls:
        """``{base}/{owner/alias}/requests/{id}`` (the result), ``/status`` and ``/cancel``."""
        root = f"{self.base_url}/{queue_app_path(self.model)}/requests/{job_id}"
        return kit.JobUrls(status=f"{root}/status", result=root, cancel=f"{root}/cancel")

    # -- lifecycle ---------------------------------------------------------------------

    async def submit(self, job: kit.PreparedJob, *, time_left: float | None) -> kit.SubmittedJob:
        """``POST {base}/{model_id}`` and return a QUEUED handle.

        With a deadline, ``X-Fal-Request-Timeout`` tells fal to drop the request if it has
        not started by then, so an abandoned job dies even when our cancel cannot reach fal.
        """
        headers: dict[str, str] = {}
        if time_left is not None:
            # fal rejects values <= 1 s; a deadline that close still gets the shortest one.
            headers["X-Fal-Request-Timeout"] = str(max(2, math.floor(time_left)))
        config = self.settings.provider_config
        if priority := config.get("queue_priority"):
            headers["X-Fal-Queue-Priority"] = str(priority)
        params = {"fal_webhook": str(config["webhook_url"])} if config.get("webhook_url") else None
        accepted = await self._send_submit(
            f"{self.base_url}/{self.model.strip('/')}",
            id_field="request_id",
            headers=headers,
            json=job.payload,
            params=params,
        )
        body = accepted.body or {}
        handle = self.new_handle(
            job.kind,
            accepted.job_id,
            status_url=body.get("status_url"),
            result_url=body.get("response_url"),
            cancel_url=body.get("cancel_url"),
        )
        return kit.SubmittedJob(handle=handle, snapshot=queued(body))

    def job_id_from_headers(self, response: httpx.Response) -> str | None:
        """``x-fal-request-id``, which fal sets on its replies, else the ``Location``."""
        return response.headers.get("x-fal-request-id") or super().job_id_from_headers(response)

    def _snapshot(self, body: dict[str, Any], handle: kit.JobHandle) -> kit.JobSnapshot:
        """Map one status body (polled or streamed) to a snapshot; unknown status fails."""
        status = body.get("status")
        if status == "IN_QUEUE":
            return queued(body)
        if status == "IN_PROGRESS":
            return kit.JobSnapshot(
                kit.JobState.PROCESSING,
                body,
                progress_percent=progress_from_logs(body.get("logs")),
            )
        if status == "COMPLETED":
            if body.get("error") is None and body.get("error_type") is None:
                return kit.JobSnapshot(kit.JobState.COMPLETED, body, progress_percent=100)
            return failed_snapshot(body, self.error_origin(handle.request_id, body))
        return self.unknown_status(body, status, request_id=handle.request_id)

    async def poll(self, handle: kit.JobHandle) -> kit.JobSnapshot:
        """``GET status_url?logs=1`` (logs carry the progress some models print)."""
        body = await self.read_job(handle, "status", params={"logs": "1"})
        return self._snapshot(body, handle)

    def watch(self, handle: kit.JobHandle) -> AsyncIterator[kit.JobSnapshot] | None:
        """fal's SSE status stream, or ``None`` (poll) when disabled or no slot is free."""
        if not self.settings.provider_config.get("status_stream", True):
            return None
        events = open_json_event_stream(
            self.request_context,
            f"{self.job_url(handle, 'status')}/stream",
            headers=self.auth_headers(),
            request_id=handle.request_id,
            params={"logs": "1"},
        )
        if events is None:
            return None
        return self._follow(handle, events)

    async def _follow(
        self, handle: kit.JobHandle, events: AsyncGenerator[dict[str, Any], None]
    ) -> AsyncGenerator[kit.JobSnapshot, None]:
        terminal: kit.JobSnapshot | None = None
        async with contextlib.aclosing(events):
            async for body in events:
                snapshot = self._snapshot(body, handle)
                if snapshot.state.is_terminal:
                    terminal = snapshot
                    break
                yield snapshot
        # The stream (its connection and slot) is closed before the terminal snapshot is
        # handed over: the waiter stops iterating at it.
        if terminal is not None:
            yield terminal

    def _no_output(
        self, what: str, handle: kit.JobHandle, body: dict[str, Any]
    ) -> kit.TarashException:
        return kit.GenerationFailedError(
            f"fal finished without {what}", **self.error_origin(handle.request_id, body)
        )

    async def fetch_video(
        self, handle: kit.JobHandle, snapshot: kit.JobSnapshot
    ) -> kit.VideoOutput:
        """``GET response_url`` and read ``video.url`` (or ``videos[0].url``) from the output.

        Raises:
            GenerationFailedError: The output holds no video.
        """
        body = await self.read_job(handle, "result")
        candidates = [dig(body, "video"), dig(body, "videos.0"), dig(body, "output")]
        spec = self.spec_for("video") or GENERIC_VIDEO_SPEC
        if spec.output:
            candidates.insert(0, dig(body, spec.output.removesuffix(".url")))
        for item in candidates:
            url = media_url(item)
            if url is not None:
                return kit.VideoOutput(video=url, content_type=content_type(item), raw=body)
        raise self._no_output("a video", handle, body)

    async def fetch_image(
        self, handle: kit.JobHandle, snapshot: kit.JobSnapshot
    ) -> kit.ImageOutput:
        """``GET response_url`` and read ``images[].url`` (or ``image.url``) from the output.

        Raises:
            GenerationFailedError: The output holds no image.
        """
        body = await self.read_job(handle, "result")
        items = body.get("images")
        if not isinstance(items, list) or not items:
            single = body.get("image")
            items = [single] if single is not None else []
        urls = [url for url in (media_url(item) for item in items) if url is not None]
        if not urls:
            raise self._no_output("an image", handle, body)
        return kit.ImageOutput(images=list(urls), content_type=content_type(items[0]), raw=body)

    async def cancel(self, handle: kit.JobHandle) -> bool:
        """``PUT cancel_url``: True on ``CANCELLATION_REQUESTED`` (202), False when the
        request already finished (400 ``ALREADY_COMPLETED``) or is unknown (404)."""
        body = await self.request_cancel(handle, "PUT", not_cancellable=frozenset({400, 404}))
        return body is not None and body.get("status") not in ("ALREADY_COMPLETED", "NOT_FOUND")

    def parse_error(
        self, response: httpx.Response, call: kit.CallContext = kit.UNKNOWN_CALL
    ) -> kit.TarashException:
        """Map a non-2xx fal reply: ``detail`` -> message, ``error_type`` and
        ``X-Fal-Retryable`` refine the class and its retryability."""
        body = self.error_body(response)
        detail = body.fields.get("detail")
        message = (
            detail_message(detail)
            or str(body.fields.get("message") or body.fields.get("error") or "")
            or body.text
            or f"HTTP {response.status_code}"
        )
        types = detail_types(detail)
        error_type = (
            body.fields.get("error_type")
            or response.headers.get("x-fal-error-type")
            or (types[0] if types else None)
        )
        if error_type:
            message = f"{message} [{error_type}]"
        where = self.error_origin(
            response.headers.get("x-fal-request-id") or call.request_id, body.raw
        )
        retryable_header = response.headers.get("x-fal-retryable")
        if retryable_header is not None and retryable_header.strip().lower() in ("true", "false"):
            where["retryable"] = retryable_header.strip().lower() == "true"
        if error_type == CONTENT_POLICY or CONTENT_POLICY in types:
            return kit.ContentModerationError(message, status_code=response.status_code, **where)
        if (
            call.operation == "result"
            and response.status_code >= 500
            and "x-fal-request-id" in response.headers
        ):
            # A 5xx that carries x-fal-request-id is the app's own answer, not fal's edge
            # (fal-client retries only edge 5xx): the job itself failed. Reading it again
            # changes nothing, and fal does not bill 5xx failures, so a fallback may run.
            where.setdefault("retryable", False)
            return kit.GenerationFailedError(message, status_code=response.status_code, **where)
        error = kit.error_for_status(
            response.status_code, message, headers=response.headers, **where
        )
        if isinstance(error, kit.RateLimitError):
            # fal limits an account by requests running at once, never per minute (docs
            # "Concurrency limits"): a 429 from fal is a concurrency refusal.
            error.over_concurrency = True
        return error
