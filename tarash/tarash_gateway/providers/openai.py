"""OpenAI's Videos (Sora) and Images APIs (``https://api.openai.com/v1``).

Wire facts (openai-openapi spec, openai-python ``resources/videos.py`` and ``images.py``;
see docs/providers/openai.md):

- Videos are jobs. ``POST /videos`` (JSON, or a multipart form when the first frame is a
  file: ``input_reference``) answers with the video object, ``status`` ``queued``; ``GET
  /videos/{id}`` reads it (``queued`` -> ``in_progress`` with ``progress`` 0-100 ->
  ``completed`` | ``failed`` with ``error{code,message}``), and the response header
  ``openai-poll-after-ms`` says when to ask again. The MP4 is ``GET
  /videos/{id}/content``, with the key.
- There is no cancel: ``DELETE /videos/{id}`` removes a *finished* video. A job tarash
  gives up on (deadline, cancellation) runs on and is billed; its handle rides on the
  error, and no fallback follows (another provider would be paid as well).
- Images are answered in the request: ``POST /images/generations`` (JSON) or
  ``/images/edits`` (multipart with the input image, or JSON ``images[{image_url}]``)
  returns ``data[]`` of ``b64_json`` (GPT image models always; dall-e on request) or
  ``url``. The reply is the job's first snapshot, already terminal.
- Errors are ``{"error": {"message", "type", "param", "code"}}``: ``moderation_blocked``
  (and older ``content_policy_violation``) is a moderation refusal, ``insufficient_quota``
  a 429 that no retry fixes, ``model_not_found`` an unknown model. 429s carry
  ``retry-after(-ms)`` and ``x-ratelimit-reset-*``; ``x-should-retry`` overrides.

Model ids are accepted bare (``sora-2``) and prefixed (``openai/sora-2``); the API gets
the bare id. Azure OpenAI (:mod:`.azure_openai`) speaks the same protocol and subclasses
this client, replacing only its endpoints, auth and model naming.
"""

from __future__ import annotations

import base64
import binascii
import math
import os
import re
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar

import httpx
from pydantic import SecretStr

from tarash.tarash_gateway._validate import check_url
from tarash.tarash_gateway.engine._form import FormFile, encode_form
from tarash.tarash_gateway.engine._http import reply_object
from tarash.tarash_gateway.providers import _kit as kit
from tarash.tarash_gateway.providers._lifecycle import Retirement
from tarash.tarash_gateway.providers._media import decode_data_uri, sniff_mime
from tarash.tarash_gateway.providers.openai_models import (
    GENERIC_IMAGE,
    GENERIC_SPECS,
    GENERIC_VIDEO,
    OPENAI_SPECS,
    OpenAIModel,
    bare_model_id,
    find_model,
)

__all__ = ["MODERATION_CODES", "OpenAIClient"]

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
POLL_AFTER_HEADER = "openai-poll-after-ms"
IMAGE_READ_TIMEOUT = 600.0
"""An image request is the generation (10-60 s, more at high quality); the SDK waits 600 s."""
LATE_IMAGE_MARGIN = 30.0
"""How much longer than the job's time left an image reply is awaited: it is paid for."""
FIND_PAGES = 10
"""Pages of ``GET /videos`` (:data:`FIND_PAGE_SIZE` each) :meth:`OpenAIClient.find_jobs`
reads at most: a lookup stays bounded on a project with a long history."""
FIND_PAGE_SIZE = 100
"""The list's largest ``limit``."""
VIDEO_DEFAULTS = {"seconds": "4", "size": "720x1280"}
"""What the API takes for a create field left out (the listed video shows the value)."""

_OFFICIAL_HOST = "api.openai.com"
_REQUEST_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$")
_RATE_RESET = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")
_RATE_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
_MAX_MESSAGE = 500


def _reset_seconds(value: str) -> float | None:
    """``x-ratelimit-reset-requests`` (``"12ms"``, ``"6m0s"``, ``"1.5s"``) in seconds."""
    text = value.strip()
    if not text or _RATE_RESET.sub("", text):
        return None
    return sum(float(number) * _RATE_UNITS[unit] for number, unit in _RATE_RESET.findall(text))


def _unix_time(value: object) -> datetime | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        return None
    return datetime.fromtimestamp(value, UTC)


def _progress(value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return max(0, min(100, int(value)))


def _form_file(reference: str, field: str) -> FormFile | None:
    """A data URI as the file part of a form; ``None`` for a URL (sent as JSON instead)."""
    if not reference.startswith("data:"):
        return None
    data, mime = decode_data_uri(reference, field=field)
    kind = mime or sniff_mime(data, "image/png")
    extension = kind.rpartition("/")[2] or "png"
    return FormFile(content=data, content_type=kind, file_name=f"{field}.{extension}")


class OpenAIClient(kit.ProviderClient):
    """OpenAI's Videos (Sora) and Images APIs.

    ``provider_config`` options:
        organization: Sent as ``OpenAI-Organization`` (default ``OPENAI_ORG_ID``).
        project: Sent as ``OpenAI-Project`` (default ``OPENAI_PROJECT_ID``).

    The key is ``OPENAI_API_KEY``; the base URL ``OPENAI_BASE_URL`` when the config sets
    none (an OpenAI-compatible gateway), as in the official SDK.
    """

    name: ClassVar[str] = "openai"
    display_name: ClassVar[str] = "OpenAI"
    job_noun: ClassVar[str] = "video"
    models: ClassVar[Mapping[str, kit.ModelSpec]] = OPENAI_SPECS
    generic_specs: ClassVar[Mapping[kit.JobKind, kit.ModelSpec]] = GENERIC_SPECS
    default_base_url: ClassVar[str] = "https://api.openai.com/v1"
    key_env_vars: ClassVar[tuple[str, ...]] = ("OPENAI_API_KEY",)
    base_url_env_var: ClassVar[str | None] = "OPENAI_BASE_URL"
    """The official SDK's base-URL variable, read after ``TARASH_<NAME>_BASE_URL``."""
    # DELETE removes finished videos only: a running Sora job cannot be stopped.
    supports_cancel: ClassVar[bool] = False
    # GET /videos lists the project's videos with their model, prompt, seconds and size.
    finds_jobs: ClassVar[bool] = True
    answers_in_request: ClassVar[frozenset[kit.JobKind]] = frozenset({"image"})
    provider_config_options: ClassVar[frozenset[str]] = frozenset({"organization", "project"})

    def __init__(self, settings: kit.ProviderSettings) -> None:
        super().__init__(settings)
        # Images decoded from a create reply, by job id: held here (one copy, as bytes)
        # from the submit that received them to the result read, not in the snapshot.
        self._inline_images: dict[str, list[str | bytes]] = {}

    @classmethod
    def resolve_base_url(cls, explicit: str | None = None) -> str:
        """``explicit``, else ``TARASH_<NAME>_BASE_URL``, else the SDK's variable, else the
        default.

        Raises:
            ValidationError: An environment variable holds a malformed URL.
        """
        if not explicit and cls.base_url_env_var:
            from_sdk_env = os.environ.get(cls.base_url_env_var)
            if from_sdk_env and not os.environ.get(f"TARASH_{cls.name.upper()}_BASE_URL"):
                return check_url(from_sdk_env, cls.base_url_env_var).rstrip("/")
        return super().resolve_base_url(explicit)

    # -- credentials -------------------------------------------------------------------

    def auth_headers(self) -> dict[str, str]:
        """``Authorization: Bearer <key>``, plus the organization and project when set."""
        headers = {"Authorization": f"Bearer {self.api_key().get_secret_value()}"}
        config = self.settings.provider_config
        organization = config.get("organization") or os.environ.get("OPENAI_ORG_ID")
        project = config.get("project") or os.environ.get("OPENAI_PROJECT_ID")
        if isinstance(organization, str) and organization:
            headers["OpenAI-Organization"] = organization
        if isinstance(project, str) and project:
            headers["OpenAI-Project"] = project
        return headers

    def download_headers(self, url: str) -> dict[str, SecretStr]:
        """The key, for the API's own origin only (``/videos/{id}/content`` needs it; an
        image URL on a storage host never sees it)."""
        if not kit.same_origin(url, self.base_url):
            return {}
        return {name: SecretStr(value) for name, value in self.auth_headers().items()}

    # -- endpoints and naming (Azure replaces these) --------------------------------------

    def wire_model(self) -> str:
        """The ``model`` field sent: OpenAI's bare id."""
        return bare_model_id(self.model)

    def entry(self, kind: kit.JobKind) -> OpenAIModel:
        """The registry entry of the model, or the generic one of ``kind``."""
        found = find_model(self.model)
        if found is not None:
            return found
        return GENERIC_VIDEO if kind == "video" else GENERIC_IMAGE

    def videos_url(self, *parts: str) -> str:
        """``{base}/videos[/part...]``."""
        return "/".join([f"{self.base_url}/videos", *parts])

    def images_url(self, operation: str) -> str:
        """``{base}/images/{generations|edits}``."""
        return f"{self.base_url}/images/{operation}"

    def query(self) -> dict[str, str] | None:
        """Query parameters every call carries (Azure's ``api-version``)."""
        return None

    def provider_state(self, kind: kit.JobKind) -> dict[str, Any]:
        """What a handle records of the API that serves the job."""
        return {"api": self.entry(kind).api}

    def lifecycle(self) -> Retirement | None:
        """The model's retirement on OpenAI's own endpoint only: a compatible endpoint (a
        gateway, the emulator) decides what it serves, so nothing is warned there."""
        if not self.base_url.startswith(f"https://{_OFFICIAL_HOST}"):
            return None
        return super().lifecycle()

    # -- mapping -----------------------------------------------------------------------

    def registry_id(self) -> str | None:
        """OpenAI's bare id (``openai/sora-2`` is looked up as ``sora-2``)."""
        return bare_model_id(self.model)

    def _finish(self, job: kit.PreparedJob, kind: kit.JobKind) -> kit.PreparedJob:
        """What every create carries besides the mapped fields: the model (and, for the
        dall-e models, the base64 response format)."""
        job.payload.setdefault("model", self.wire_model())
        spec = self.spec_for(kind)
        mapped_by_us = spec is not None and spec.field_mappers is None
        if kind == "image" and mapped_by_us and self.entry("image").b64_response_format:
            job.payload.setdefault("response_format", "b64_json")
        return job

    def prepare_video(self, request: kit.VideoGenerationRequest) -> kit.PreparedJob:
        """Map a video request to the create's fields: ``model``, ``prompt``, ``seconds``
        (a string), ``size`` (from the aspect ratio and resolution) and the first frame as
        ``input_reference``.

        Raises:
            ValidationError: The model makes images.
        """
        return self._finish(self.prepare_from_spec("video", request), "video")

    def prepare_image(self, request: kit.ImageGenerationRequest) -> kit.PreparedJob:
        """Map an image request to ``/images/generations``, or ``/images/edits`` when it
        carries input images (all of ``image_list``, any role) or a mask.

        Raises:
            ValidationError: The model makes videos.
        """
        job = self._finish(self.prepare_from_spec("image", request), "image")
        payload = job.payload
        # The edit inputs, mapped as references, in the JSON form; the submit turns them
        # into file parts when they are data.
        if isinstance(payload.get("images"), list):
            payload["images"] = [
                item if isinstance(item, dict) else {"image_url": item}
                for item in payload["images"]
            ]
        if isinstance(payload.get("mask"), str):
            payload["mask"] = {"image_url": payload["mask"]}
        return job

    # -- wire bodies -------------------------------------------------------------------

    def _video_body(self, payload: dict[str, Any]) -> dict[str, Any]:
        """``_send`` arguments for a create: a multipart form when the first frame is a
        file (the form every SDK sends), else JSON (``input_reference`` as ``image_url``)."""
        reference = payload.get("input_reference")
        if isinstance(reference, str):
            file = _form_file(reference, "input_reference")
            if file is not None:
                fields = {key: value for key, value in payload.items() if key != "input_reference"}
                content_type, body = encode_form(fields, {"input_reference": file})
                return {"content": body, "headers": {"Content-Type": content_type}}
            return {"json": {**payload, "input_reference": {"image_url": reference}}}
        return {"json": payload}

    def _image_body(self, payload: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """The endpoint and ``_send`` arguments of an image job."""
        images = payload.get("images")
        mask = payload.get("mask")
        if not images and not mask:
            return self.images_url("generations"), {"json": payload}
        url = self.images_url("edits")
        references = [item["image_url"] for item in images or [] if isinstance(item, dict)]
        mask_reference = mask.get("image_url") if isinstance(mask, dict) else None
        files: dict[str, FormFile] = {}
        if len(references) == 1:
            file = _form_file(references[0], "image")
            if file is not None:
                files[self.entry("image").edit_image_field] = file
        if mask_reference is not None and (mask_file := _form_file(mask_reference, "mask")):
            files["mask"] = mask_file
        if files and len(files) == len(references) + (mask_reference is not None):
            # Every input is a file: the multipart form (what the SDK and Azure take).
            fields = {key: value for key, value in payload.items() if key not in ("images", "mask")}
            content_type, body = encode_form(fields, files)
            return url, {"content": body, "headers": {"Content-Type": content_type}}
        # URLs, or several images: the JSON form (``images[{image_url}]``).
        return url, {"json": payload}

    # -- lifecycle ---------------------------------------------------------------------

    def job_urls(self, job_id: str) -> kit.JobUrls:
        """``/videos/{id}`` and its ``/content``; no cancel URL (there is none)."""
        return kit.JobUrls(
            status=self.videos_url(job_id), result=self.videos_url(job_id, "content")
        )

    async def submit(self, job: kit.PreparedJob, *, time_left: float | None) -> kit.SubmittedJob:
        """Create the video job, or generate the images (the reply is the result).

        Raises:
            TarashException: The create was refused (mapped by :meth:`parse_error`).
        """
        if job.kind == "image":
            return await self._generate_images(job, time_left)
        accepted = await self._send_submit(
            self.videos_url(), id_field="id", params=self.query(), **self._video_body(job.payload)
        )
        video_id = accepted.job_id
        handle = self.new_handle("video", video_id, provider_state=self.provider_state("video"))
        snapshot = None if accepted.body is None else self._video_snapshot(accepted.body, None)
        return kit.SubmittedJob(handle=handle, snapshot=snapshot)

    async def find_jobs(
        self, job: kit.PreparedJob, *, created_after: datetime, created_before: datetime
    ) -> list[kit.JobHandle]:
        """Videos created in the window from ``job``'s create: same ``model``, ``seconds``
        and ``size``, and the same ``prompt`` (the list may leave it out: then any).

        ``GET /videos?order=desc&limit=100`` pages back (``after`` = the previous page's
        ``last_id``, while ``has_more``) to ``created_after``, at most :data:`FIND_PAGES`
        pages. ``created_at`` is whole seconds, so the window's start is taken to its
        second. A first frame is not listed: two creates differing only by it both match
        (and the batch then adopts neither).

        Raises:
            TarashException: The listing failed after retries, or the pages ran out
                before the window's start (the lookup could not be complete), or the job
                is an image's (answered in its request, listed nowhere: whether one was
                made cannot be told).
        """
        if job.kind != "video":
            raise kit.TarashException(
                f"{self.label} answers an image in its request and lists none: whether an "
                "earlier run's request made one cannot be told",
                provider=self.name,
                model=self.model,
                fallback_allowed=False,
            )
        payload = job.payload
        wanted = {
            "model": payload.get("model", self.wire_model()),
            **{
                field: str(payload.get(field, default)) for field, default in VIDEO_DEFAULTS.items()
            },
        }
        prompt = payload.get("prompt")
        start = math.floor(created_after.timestamp())
        end = created_before.timestamp()
        found: list[kit.JobHandle] = []
        after: str | None = None
        for _ in range(FIND_PAGES):
            params = {**(self.query() or {}), "order": "desc", "limit": str(FIND_PAGE_SIZE)}
            if after is not None:
                params["after"] = after
            body = reply_object(
                await self._send(
                    "status", "GET", self.videos_url(), params=params, expect_object=True
                )
            )
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
                    return found  # newest first: the rest are older still
                listed_prompt = video.get("prompt")
                if all(str(video.get(field)) == value for field, value in wanted.items()) and (
                    listed_prompt is None or listed_prompt == prompt
                ):
                    found.append(
                        self.new_handle(
                            "video", video["id"], provider_state=self.provider_state("video")
                        )
                    )
            last_id = body.get("last_id")
            if body.get("has_more") is not True or not isinstance(last_id, str) or not last_id:
                return found
            after = last_id
        raise kit.TarashException(
            f"{self.label} lists more than {FIND_PAGES * FIND_PAGE_SIZE} videos newer than "
            f"{created_after.isoformat()}: the lookup stopped before the window's start",
            provider=self.name,
            model=self.model,
            fallback_allowed=False,
        )

    async def _generate_images(
        self, job: kit.PreparedJob, time_left: float | None
    ) -> kit.SubmittedJob:
        url, body = self._image_body(job.payload)
        timeout = IMAGE_READ_TIMEOUT if time_left is None else time_left + LATE_IMAGE_MARGIN
        reply = await self._send(
            "submit",
            "POST",
            url,
            params=self.query(),
            read_timeout=max(1.0, min(IMAGE_READ_TIMEOUT, timeout)),
            held=True,
            **body,
        )
        header_id = reply.headers.get("x-request-id", "")
        job_id = header_id if _REQUEST_ID.match(header_id) else f"img_{uuid.uuid4().hex}"
        handle = self.new_handle("image", job_id, provider_state=self.provider_state("image"))
        return kit.SubmittedJob(handle=handle, snapshot=self._image_snapshot(reply, job_id))

    def _image_snapshot(self, reply: httpx.Response, job_id: str) -> kit.JobSnapshot:
        """The images of a create reply, decoded once; the snapshot's raw body keeps a
        note of each in place of its base64 (one copy in memory, as bytes)."""
        body = kit.response_json(reply)
        if not isinstance(body, dict) or not isinstance(body.get("data"), list):
            # The images were generated and billed, and cannot be read: another provider
            # would be paid again for what this reply lost.
            error = kit.ProviderServerError(
                f"{self.label} answered the image request with HTTP {reply.status_code} but a "
                "body that is not an images response (cut short or garbled); the images were "
                "probably made and billed",
                **self.error_origin(job_id, None),
                status_code=reply.status_code,
                fallback_allowed=False,
            )
            return kit.JobSnapshot(kit.JobState.FAILED, {}, error=error)
        images: list[str | bytes] = []
        items: list[Any] = []
        for index, item in enumerate(body["data"]):
            if not isinstance(item, dict):
                continue
            encoded, url = item.get("b64_json"), item.get("url")
            if isinstance(encoded, str) and encoded:
                try:
                    images.append(base64.b64decode(encoded, validate=True))
                except (binascii.Error, ValueError):
                    continue
                item = {**item, "b64_json": f"<{len(encoded)} base64 chars: images[{index}]>"}
            elif isinstance(url, str) and url:
                images.append(url)
            items.append(item)
        self._inline_images[job_id] = images
        return kit.JobSnapshot(
            kit.JobState.COMPLETED, {**body, "data": items}, progress_percent=100
        )

    async def poll(self, handle: kit.JobHandle) -> kit.JobSnapshot:
        """``GET /videos/{id}``, with the server's ``openai-poll-after-ms`` as the hint.

        Raises:
            ValidationError: The handle is an image job's (its result came with the create).
            TarashException: The status call failed after retries.
        """
        if handle.kind == "image":
            raise self.refusal(
                f"{self.label} images are returned by the create itself: an image job's "
                "handle has nothing left to wait for",
                request_id=handle.request_id,
            )
        url = self.job_url(handle, "status")
        reply = await self._send(
            "status",
            "GET",
            url,
            request_id=handle.request_id,
            params=self.query(),
            expect_object=True,
        )
        return self._video_snapshot(kit.response_json(reply), reply.headers.get(POLL_AFTER_HEADER))

    def _video_snapshot(self, body: Any, poll_after_ms: str | None) -> kit.JobSnapshot:
        if not isinstance(body, dict):
            raise kit.ProviderServerError(
                f"{self.label} answered with something that is not a video object",
                **self.error_origin(None, body),
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
                    kit.JobState.FAILED, body, error=self._video_failure(body, video_id)
                )
            case _:
                return self.unknown_status(body, status, request_id=video_id)

    def _video_failure(self, body: dict[str, Any], video_id: str | None) -> kit.TarashException:
        found = body.get("error")
        error: dict[str, Any] = found if isinstance(found, dict) else {}
        code = str(error.get("code") or "").strip()
        message = str(error.get("message") or "").strip()[:_MAX_MESSAGE]
        text = ": ".join(part for part in (code, message) if part) or "the video failed"
        if code in MODERATION_CODES:
            return kit.ContentModerationError(text, **self.error_origin(video_id, body))
        return kit.GenerationFailedError(text, **self.error_origin(video_id, body))

    async def fetch_video(
        self, handle: kit.JobHandle, snapshot: kit.JobSnapshot
    ) -> kit.VideoOutput:
        """The video's content URL (downloaded with the key by ``save()``).

        Raises:
            GenerationFailedError: The video object names no content (it expired).
        """
        body = snapshot.raw
        expires_at = _unix_time(body.get("expires_at"))
        if expires_at is not None and expires_at <= datetime.now(UTC):
            raise kit.GenerationFailedError(
                f"the video expired at {expires_at.isoformat()} (OpenAI keeps content for a "
                "limited time)",
                **self.error_origin(handle.request_id, body),
            )
        seconds = body.get("seconds")
        duration = float(seconds) if isinstance(seconds, str) and seconds.isdigit() else None
        return kit.VideoOutput(
            video=self.job_url(handle, "result"),
            content_type="video/mp4",
            duration=duration,
            expires_at=expires_at,
            raw=body,
        )

    async def fetch_image(
        self, handle: kit.JobHandle, snapshot: kit.JobSnapshot
    ) -> kit.ImageOutput:
        """The images the create returned (bytes for ``b64_json``, else the URLs).

        Raises:
            GenerationFailedError: The reply held no image.
        """
        images = self._inline_images.pop(handle.request_id, [])
        if not images:
            raise kit.GenerationFailedError(
                f"{self.label} returned no image",
                **self.error_origin(handle.request_id, snapshot.raw),
            )
        output_format = snapshot.raw.get("output_format")
        first = images[0]
        content_type = (
            sniff_mime(first, "image/png")
            if isinstance(first, bytes)
            else f"image/{output_format}"
            if isinstance(output_format, str)
            else None
        )
        revised = next(
            (
                item["revised_prompt"]
                for item in snapshot.raw.get("data", [])
                if isinstance(item, dict) and isinstance(item.get("revised_prompt"), str)
            ),
            None,
        )
        return kit.ImageOutput(
            images=images, content_type=content_type, revised_prompt=revised, raw=snapshot.raw
        )

    async def cancel(self, handle: kit.JobHandle) -> bool:
        """Always ``False``, sending nothing: OpenAI cannot stop a running video (``DELETE``
        removes finished ones), and an image is done when its handle exists."""
        return False

    # -- errors ------------------------------------------------------------------------

    def parse_error(
        self, response: httpx.Response, call: kit.CallContext = kit.UNKNOWN_CALL
    ) -> kit.TarashException:
        """Map ``{"error": {"message", "type", "param", "code"}}`` to an error.

        ``moderation_blocked`` (and the other refusal codes) is a
        :class:`ContentModerationError`, ``insufficient_quota`` an
        :class:`InsufficientCreditError`, ``model_not_found`` (or a 404) a
        :class:`NotFoundError` naming a retired model's successor. A 429 without
        ``retry-after`` waits for ``x-ratelimit-reset-*``.
        """
        read = self.error_body(response)
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
        message = message[:_MAX_MESSAGE] or f"HTTP {status} from {self.label}"
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
                and (seconds := _reset_seconds(value)) is not None
            ]
            if resets:
                headers["retry-after-ms"] = str(int(max(resets) * 1000))
        origin = {
            "provider": self.name,
            "model": self.model,
            "request_id": call.request_id,
            "raw_response": body,
        }
        if code in MODERATION_CODES or "ResponsibleAIPolicyViolation" in code:
            return kit.ContentModerationError(message, status_code=status, **origin)
        if code == "insufficient_quota":
            return kit.InsufficientCreditError(message, status_code=status, **origin)
        if code in ("model_not_found", "DeploymentNotFound") or (
            status == 404 and call.operation == "submit"
        ):
            return kit.NotFoundError(
                f"{message}{self.retired_hint()}", status_code=status, **origin
            )
        return kit.error_for_status(status, message, headers=headers, **origin)
