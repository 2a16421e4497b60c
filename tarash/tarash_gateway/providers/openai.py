"""OpenAI's Videos (Sora) and Images APIs (``https://api.openai.com/v1``): the client.

Wire facts (openai-openapi spec, openai-python ``resources/videos.py`` and ``images.py``;
see docs/providers/openai.md), one private module per concept:

- :mod:`._openai_videos`: videos are jobs (``POST /videos``, ``GET /videos/{id}``, the MP4
  at ``/videos/{id}/content`` with the key, ``GET /videos`` to find an earlier run's). A
  request with ``extra_params={"video_id": ...}`` is a remix of that completed video
  (``POST /videos/{id}/remix``, body ``{"prompt"}``), as the published package sends it.
- There is no cancel: ``DELETE /videos/{id}`` removes a *finished* video. A job tarash
  gives up on (deadline, cancellation) runs on and is billed; its handle rides on the
  error, and no fallback follows (another provider would be paid as well).
- :mod:`._openai_images`: images are answered in the request (``/images/generations`` or
  ``/images/edits``): the reply is the whole answer (an ``AnsweredSubmit``), no job to poll.
- :mod:`._openai_errors`: the ``{"error": {...}}`` envelope, refusal codes, rate-limit
  resets.

Model ids are accepted bare (``sora-2``) and prefixed (``openai/sora-2``); the API gets
the bare id. Azure OpenAI (:mod:`.azure_openai`) speaks the same protocol and subclasses
this client, replacing only its endpoints, auth and model naming.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from datetime import datetime
from typing import Any, ClassVar

import anyio
import httpx
from pydantic import SecretStr

from tarash.tarash_gateway._validate import check_url
from tarash.tarash_gateway.engine._http import reply_object
from tarash.tarash_gateway.providers import _kit as kit
from tarash.tarash_gateway.providers._lifecycle import Retirement
from tarash.tarash_gateway.providers._media import FIT_POLICIES, FitPolicy
from tarash.tarash_gateway.providers._openai_errors import MODERATION_CODES, openai_error
from tarash.tarash_gateway.providers._openai_images import (
    image_answer,
    image_read_timeout,
    image_request,
    image_request_id,
)
from tarash.tarash_gateway.providers._openai_videos import (
    FIND_PAGE_SIZE,
    FIND_PAGES,
    POLL_AFTER_HEADER,
    REMIX_FIELD,
    fit_first_frame,
    listed_videos,
    remix_source_id,
    video_output,
    video_request,
    video_snapshot,
)
from tarash.tarash_gateway.providers.openai_models import (
    GENERIC_IMAGE,
    GENERIC_SPECS,
    GENERIC_VIDEO,
    OPENAI_SPECS,
    OpenAIModel,
    bare_model_id,
    find_model,
)

__all__ = ["FIND_PAGES", "MODERATION_CODES", "OpenAIClient"]

_OFFICIAL_HOST = "api.openai.com"


class OpenAIClient(kit.ProviderClient):
    """OpenAI's Videos (Sora) and Images APIs.

    ``provider_config`` options:
        organization: Sent as ``OpenAI-Organization`` (default ``OPENAI_ORG_ID``).
        project: Sent as ``OpenAI-Project`` (default ``OPENAI_PROJECT_ID``).
        image_fit: How a Sora first frame of another size than the video's is fitted to
            it before the create (Sora takes exactly that size): ``"pad"`` (default: the
            whole image, with black bars), ``"crop"`` (full frame, edges cut) or
            ``"refuse"`` (a ``ValidationError``, nothing sent). Fitting needs Pillow
            (``pip install "tarash-gateway[images]"``).

    The key is ``OPENAI_API_KEY``; the base URL ``OPENAI_BASE_URL`` when the config sets
    none (an OpenAI-compatible gateway), as in the official SDK.
    """

    name: ClassVar[str] = "openai"
    display_name: ClassVar[str] = "OpenAI"
    job_noun: ClassVar[str] = "video"
    models: ClassVar[Mapping[str, kit.ModelSpec]] = OPENAI_SPECS
    generic_specs: ClassVar[Mapping[kit.JobKind, kit.ModelSpec]] = GENERIC_SPECS
    default_base_url: ClassVar[str] = "https://api.openai.com/v1"
    credentials = kit.ApiKey(("OPENAI_API_KEY",))
    base_url_env_var: ClassVar[str | None] = "OPENAI_BASE_URL"
    """The official SDK's base-URL variable, read after ``TARASH_<NAME>_BASE_URL``."""
    # DELETE removes finished videos only: a running Sora job cannot be stopped.
    supports_cancel: ClassVar[bool] = False
    # GET /videos lists the project's videos with their model, prompt, seconds and size.
    finds_jobs: ClassVar[bool] = True
    answers_in_request: ClassVar[frozenset[kit.JobKind]] = frozenset({"image"})
    provider_config_options: ClassVar[frozenset[str]] = frozenset(
        {"organization", "project", "image_fit"}
    )

    def __init__(self, settings: kit.ProviderSettings) -> None:
        super().__init__(settings)
        fit = settings.provider_config.get("image_fit", "pad")
        if fit not in FIT_POLICIES:
            raise self.refusal(
                f"provider_config['image_fit'] must be one of {list(FIT_POLICIES)}, got {fit!r}"
            )
        # Pad by default: the first frame keeps all of the user's image (a crop could cut
        # the subject out of it unseen), and the bars show what was done.
        self.image_fit: FitPolicy = fit

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
        headers = super().auth_headers()
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
        return self.keyed_download_headers()

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
        """What every create carries besides the mapped fields: the model. No
        ``response_format``, as published: dall-e answers with URLs (a user's
        ``extra_params`` may ask for ``b64_json``, then returned as data URIs)."""
        job.payload.setdefault("model", self.wire_model())
        return job

    def prepare_video(self, request: kit.VideoGenerationRequest) -> kit.PreparedJob:
        """Map a video request to the create's fields: ``model``, ``prompt``, ``seconds``
        (a string), ``size`` (from the aspect ratio and resolution) and the first frame as
        ``input_reference`` (fitted to the size by :meth:`finish_prepared`).

        Raises:
            ValidationError: The model makes images.
        """
        job = self._finish(self.prepare_from_spec("video", request), "video")
        if REMIX_FIELD in job.payload:
            return self._prepare_remix(job)
        return job

    async def finish_prepared(self, job: kit.PreparedJob) -> None:
        """A first frame of another size than the video's, fitted to it by
        ``provider_config["image_fit"]`` in a worker thread (decoding and resizing a
        photo takes a few hundred milliseconds, which would stall every other job on the
        loop).

        Raises:
            ValidationError: The policy refuses the frame, or fitting it needs Pillow,
                which is not installed.
        """
        if job.kind == "video":
            await anyio.to_thread.run_sync(fit_first_frame, self, job, self.image_fit)

    def supports_remix(self) -> bool:
        """Whether the API serving this client has ``POST /videos/{id}/remix``."""
        return True

    def _prepare_remix(self, job: kit.PreparedJob) -> kit.PreparedJob:
        """A remix of ``extra_params["video_id"]``: the body is the prompt (and any other
        extra the user passed, for the API to judge); the model, length and size are the
        source video's, so what the request asked of them is not sent (noted).

        Raises:
            ValidationError: The API has no remix, the id is malformed (it goes into the
                URL path), or the request has a first frame (a remix takes none).
        """
        payload = job.payload
        source = payload[REMIX_FIELD]
        if not self.supports_remix():
            raise self.refusal(
                f"{self.label}'s API for this deployment has no remix: extra_params "
                "video_id needs the v1 Videos API"
            )
        if not isinstance(source, str) or not remix_source_id(source):
            raise self.refusal(
                "extra_params video_id must be the id of a completed video (video_...)"
            )
        if "input_reference" in payload:
            raise self.refusal(
                "a remix (extra_params video_id) takes a prompt only: its frames are the "
                "remixed video's; drop the image"
            )
        dropped = [field for field in ("seconds", "size") if field in payload]
        if dropped:
            job.adaptations.append(
                f"{' and '.join(dropped)} not sent: a remix keeps the length and size of "
                f"the video it remixes ({source})"
            )
        job.payload = {
            key: value for key, value in payload.items() if key not in ("model", "seconds", "size")
        }
        return job

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

    # -- lifecycle ---------------------------------------------------------------------

    def job_urls(self, job_id: str) -> kit.JobUrls:
        """``/videos/{id}`` and its ``/content``; no cancel URL (there is none)."""
        return kit.JobUrls(
            status=self.videos_url(job_id), result=self.videos_url(job_id, "content")
        )

    async def submit(self, job: kit.PreparedJob, *, time_left: float | None) -> kit.SubmittedJob:
        """Create the video job (or the remix), or generate the images (the reply is the
        result).

        Raises:
            TarashException: The create was refused (mapped by :meth:`parse_error`).
        """
        if job.kind == "image":
            return await self._generate_images(job, time_left)
        source = job.payload.get(REMIX_FIELD)
        if isinstance(source, str):
            # The id travels in the path; the body is the rest (the prompt).
            body = {key: value for key, value in job.payload.items() if key != REMIX_FIELD}
            accepted = await self._send_submit(
                self.videos_url(source, "remix"), id_field="id", params=self.query(), json=body
            )
        else:
            accepted = await self._send_submit(
                self.videos_url(), id_field="id", params=self.query(), **video_request(job.payload)
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
        start = math.floor(created_after.timestamp())
        found: list[kit.JobHandle] = []
        after: str | None = None
        for _ in range(FIND_PAGES):
            params = {**(self.query() or {}), "order": "desc", "limit": str(FIND_PAGE_SIZE)}
            if after is not None:
                params["after"] = after
            reply = await self._send(
                "status", "GET", self.videos_url(), params=params, expect_object=True
            )
            page = listed_videos(
                reply_object(reply),
                job.payload,
                self.wire_model(),
                start=start,
                end=created_before.timestamp(),
            )
            state = self.provider_state("video")
            found += [self.new_handle("video", video, provider_state=state) for video in page.ids]
            if page.past_start or page.after is None:
                return found
            after = page.after
        raise kit.TarashException(
            f"{self.label} lists more than {FIND_PAGES * FIND_PAGE_SIZE} videos newer than "
            f"{created_after.isoformat()}: the lookup stopped before the window's start",
            provider=self.name,
            model=self.model,
            fallback_allowed=False,
        )

    async def _generate_images(
        self, job: kit.PreparedJob, time_left: float | None
    ) -> kit.AnsweredSubmit:
        url, body = image_request(
            job.payload,
            self.images_url("generations"),
            self.images_url("edits"),
            self.entry("image").edit_image_field,
        )
        reply = await self._send(
            "submit",
            "POST",
            url,
            params=self.query(),
            read_timeout=image_read_timeout(time_left),
            held=True,
            **body,
        )
        handle = self.new_handle(
            "image", image_request_id(reply), provider_state=self.provider_state("image")
        )
        return image_answer(self, reply, handle)

    async def poll(self, handle: kit.JobHandle) -> kit.JobSnapshot:
        """``GET /videos/{id}``, with the server's ``openai-poll-after-ms`` as the hint.

        Raises:
            ValidationError: The handle is an image job's (its result came with the create).
            TarashException: The status call failed after retries.
        """
        if handle.kind == "image":
            raise self.no_job_to_read(handle)
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
        return video_snapshot(self, body, poll_after_ms)

    async def fetch_video(
        self, handle: kit.JobHandle, snapshot: kit.JobSnapshot
    ) -> kit.VideoOutput:
        """The video's content, downloaded with the key into a :class:`MediaContent`
        dict (as published).

        Raises:
            GenerationFailedError: The video has expired.
            TarashException: The download failed after retries.
        """
        return await video_output(self, handle, snapshot, self.job_url(handle, "result"))

    async def fetch_image(
        self, handle: kit.JobHandle, snapshot: kit.JobSnapshot
    ) -> kit.ImageOutput:
        """Refused, sending nothing: the images came with the create's reply
        (:class:`~tarash.tarash_gateway.providers._base.AnsweredSubmit`), and OpenAI keeps
        nothing to read later.

        Raises:
            ValidationError: Always.
        """
        raise self.no_job_to_read(handle)

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
        return openai_error(self, response, call)
