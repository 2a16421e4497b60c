"""Google's Gemini API (``https://generativelanguage.googleapis.com/v1beta``) and Vertex AI:
Veo videos, Gemini image models and Imagen. The client.

Wire facts (googleapis/python-genai ``models.py``, ``operations.py``; ai.google.dev; see
docs/providers/google.md), one private module per concept:

- :mod:`._google_veo`: Veo is a long-running operation (``:predictLongRunning``, read by
  its name); neither backend can cancel it, so a Veo job tarash gives up on runs on.
- :mod:`._google_images`: Gemini image models (``:generateContent``) and Imagen
  (``:predict``) answer in the request: the reply is the whole answer (an
  ``AnsweredSubmit``). Google shut Imagen on the Gemini API on 2026-08-17.
- :mod:`._google_omni`: Gemini Omni Flash (``gemini-omni-flash-preview``) is a background
  interaction (``POST /interactions``, read at ``/interactions/{id}``), its video inline;
  Gemini API only. The SDKs can cancel an interaction; this client (one ``supports_cancel``
  for all its models) does not, so a given-up interaction runs on.
- :mod:`._google_errors`: the ``google.rpc.Status`` envelope, ``RetryInfo`` as Retry-After.
- :mod:`._google_vertex`: Vertex AI (``provider_config={"vertexai": True, "project": ...,
  "location": ...}``, or the SDK's ``GOOGLE_GENAI_USE_VERTEXAI``/``GOOGLE_CLOUD_PROJECT``/
  ``GOOGLE_CLOUD_LOCATION``) takes the same bodies at
  ``{root}/projects/{p}/locations/{l}/publishers/google/models/{m}:{method}`` (express
  mode: ``{root}/publishers/google/models/{m}``); how each backend authenticates (an API
  key as ``x-goog-api-key``, an access token given or minted from ADC as ``Authorization:
  Bearer``); results in Cloud Storage.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import uuid
from collections.abc import Mapping
from typing import Any, ClassVar
from urllib.parse import urlsplit

import httpx
from pydantic import SecretStr

from tarash.tarash_gateway.engine._http import reply_object
from tarash.tarash_gateway.models import MediaContent
from tarash.tarash_gateway.providers import _kit as kit
from tarash.tarash_gateway.providers._google_errors import google_error, retry_delay_seconds
from tarash.tarash_gateway.providers._google_images import (
    generate_content_body,
    image_answer,
    image_read_timeout,
)
from tarash.tarash_gateway.providers._google_omni import (
    interaction_body,
    interaction_snapshot,
    interaction_video,
    without_inline_video,
)
from tarash.tarash_gateway.providers._google_veo import (
    OPERATION_ID,
    OPERATION_NAME,
    operation_snapshot,
    predict_body,
    samples,
    video_result,
    without_inline_videos,
)
from tarash.tarash_gateway.providers._google_vertex import (
    GEMINI_KEY,
    OFFICIAL_STORAGE,
    PUBLISHED_DEFAULT_LOCATION,
    PUBLISHED_VERTEX_OPTIONS,
    TOKEN_ENV_VAR,
    VertexTarget,
    google_credentials,
    published_vertex,
    storage_download_url,
    vertex_requested,
)
from tarash.tarash_gateway.providers._lifecycle import Retirement
from tarash.tarash_gateway.providers.google_models import (
    BACKEND_RETIREMENTS,
    GENERIC_IMAGE,
    GENERIC_SPECS,
    GENERIC_VIDEO,
    GOOGLE_SPECS,
    Backend,
    GoogleModel,
    bare_model_id,
    find_model,
)

__all__ = ["GoogleClient", "retry_delay_seconds"]

_OFFICIAL_HOST = "generativelanguage.googleapis.com"
_VERTEX_OPTIONS = ("vertexai", *PUBLISHED_VERTEX_OPTIONS)
_FILE_ID = re.compile(r"/files/([a-z0-9]+)")
_STORAGE_PATHS = ("/download/storage/", "/storage/v1/")


class GoogleClient(kit.ProviderClient):
    """Google's Gemini API (the default) and Vertex AI: Veo, Gemini image models and Imagen.

    On the Gemini API the key is ``GEMINI_API_KEY`` (or ``GOOGLE_API_KEY``), sent as
    ``x-goog-api-key``. On Vertex AI (``provider_config`` ``vertexai``) with a project, the
    config's ``api_key`` (or ``GOOGLE_OAUTH_ACCESS_TOKEN``) is an OAuth access token sent as
    ``Authorization: Bearer``, else Application Default Credentials mint one (the ``vertex``
    extra); without a project it is express mode, and ``api_key`` is an API key.
    """

    name: ClassVar[str] = "google"
    display_name: ClassVar[str] = "Google Gemini API"
    job_noun: ClassVar[str] = "operation"
    models: ClassVar[Mapping[str, kit.ModelSpec]] = GOOGLE_SPECS
    generic_specs: ClassVar[Mapping[kit.JobKind, kit.ModelSpec]] = GENERIC_SPECS
    default_base_url: ClassVar[str] = f"https://{_OFFICIAL_HOST}/v1beta"
    credentials: kit.Credentials | None = GEMINI_KEY
    """The Gemini API's; a Vertex client's is its target's (``google_credentials``)."""
    # Neither backend can cancel a Veo operation.
    supports_cancel: ClassVar[bool] = False
    answers_in_request: ClassVar[frozenset[kit.JobKind]] = frozenset({"image"})
    provider_config_options: ClassVar[frozenset[str]] = frozenset(_VERTEX_OPTIONS)

    def __init__(self, settings: kit.ProviderSettings) -> None:
        super().__init__(settings)
        config = settings.provider_config
        self.vertex: VertexTarget | None = None
        has_key = settings.api_key is not None
        if vertex_requested(config, has_key=has_key):
            # Selected the published way (neither vertexai nor the SDK's variable, no key):
            # the published package's documented location.
            published = not vertex_requested(config)
            self.vertex = VertexTarget.from_settings(
                config,
                has_key=has_key,
                default_location=PUBLISHED_DEFAULT_LOCATION if published else "global",
            )
            self.credentials = google_credentials(self.vertex)
        elif published_vertex(config):
            # As the SDK: project, location and credentials mean Vertex.
            raise self.refusal(
                "provider_config project, location and credentials are Vertex AI options: "
                "add vertexai=True (or set GOOGLE_GENAI_USE_VERTEXAI=true), or pass "
                "api_key=None as the published package does"
            )
        # The handle keeps the configured base (so that it is trusted when resumed); on
        # Vertex's own hosts the requests go to the target's regional root instead.
        self.official = self.base_url == self.default_base_url.rstrip("/")
        if self.vertex is not None and self.official:
            self.api_root = self.vertex.official_root()
            self.storage_base = OFFICIAL_STORAGE
        else:
            self.api_root = self.base_url
            # A compatible endpoint serves the storage API beside its versioned root.
            parent = self.base_url.rsplit("/", 1)[0]
            self.storage_base = parent if urlsplit(parent).path else self.base_url

    @property
    def label(self) -> str:
        """``Google Vertex AI`` or ``Google Gemini API``."""
        return "Google Vertex AI" if self.vertex is not None else self.display_name

    # -- credentials and naming ------------------------------------------------------------

    def download_headers(self, url: str) -> dict[str, SecretStr]:
        """The credential, for the API's own origin (a Gemini file URI needs the key) and,
        on Vertex with a token, for Cloud Storage; never for another host (a file URI's
        redirect target, a storage object on the Gemini API)."""
        storage = urlsplit(url).path.startswith(_STORAGE_PATHS)
        if self.vertex is None:
            if storage:
                # Only a Vertex result lives there (a pickled response, resolved again).
                token = os.environ.get(TOKEN_ENV_VAR, "").strip()
                if token and kit.same_origin(url, self.base_url):
                    return {"authorization": SecretStr(f"Bearer {token}")}
                return {}
            if not kit.same_origin(url, self.base_url):
                return {}
        elif storage:
            if self.vertex.auth == "express" or not kit.same_origin(url, self.storage_base):
                return {}
        elif not kit.same_origin(url, self.api_root):
            return {}
        return self.keyed_download_headers()

    def registry_id(self) -> str | None:
        """Google's bare id (``models/veo-...`` and ``google/veo-...`` are looked up bare)."""
        return bare_model_id(self.model)

    def wire_model(self) -> str:
        """The model as the URL names it."""
        return bare_model_id(self.model)

    def entry(self, kind: kit.JobKind) -> GoogleModel:
        """The registry entry of the model, or the generic one of ``kind``."""
        found = find_model(self.model)
        if found is not None:
            return found
        return GENERIC_VIDEO if kind == "video" else GENERIC_IMAGE

    def interactions(self) -> bool:
        """Whether the model is served by the Interactions API (Gemini Omni Flash)."""
        return self.entry("video").method == "interactions"

    def model_path(self) -> str:
        """``models/{m}`` (Gemini API) or the Vertex resource name of the model."""
        if self.vertex is not None:
            return self.vertex.model_path(self.wire_model())
        return f"models/{self.wire_model()}"

    def model_url(self, method: str) -> str:
        """``{root}/{model path}:{method}``."""
        return f"{self.api_root}/{self.model_path()}:{method}"

    def lifecycle(self) -> Retirement | None:
        """The model's retirement on the backend used (Imagen's on the Gemini API, Veo
        3.0's on Vertex AI, the Gemini image previews' on both), on Google's own hosts;
        a compatible endpoint decides what it serves, so nothing is warned there."""
        if not self.official:
            return None
        backend: Backend = "vertex" if self.vertex is not None else "gemini"
        return BACKEND_RETIREMENTS.get((backend, self.wire_model())) or super().lifecycle()

    # -- mapping -------------------------------------------------------------------------

    def prepare_video(self, request: kit.VideoGenerationRequest) -> kit.PreparedJob:
        """Map a video request to ``instances[0]`` (prompt and images, inline) and
        ``parameters`` (``durationSeconds`` a number, aspect ratio, resolution, negative
        prompt, person generation via ``extra_params``).

        Raises:
            ValidationError: The model makes images, or an image is a URL.
        """
        if self.interactions():
            if self.vertex is not None:
                raise self.refusal(
                    f"{self.wire_model()} is served by the Gemini API's Interactions API: "
                    "tarash sends it there only (drop provider_config vertexai)"
                )
            job = self.prepare_from_spec("video", request)
            job.payload = interaction_body(self.wire_model(), job.payload)
            return job
        job = self.prepare_from_spec("video", request)
        job.payload = predict_body(job.payload, job.adaptations, vertex=self.vertex is not None)
        return job

    def prepare_image(self, request: kit.ImageGenerationRequest) -> kit.PreparedJob:
        """Map an image request to ``:generateContent`` (a text part, the input images as
        ``inlineData`` parts, ``imageConfig``) or, for Imagen, ``:predict``.

        Raises:
            ValidationError: The model makes videos, or an image is a URL.
        """
        job = self.prepare_from_spec("image", request)
        mapped = job.payload
        if self.entry("image").method == "predict":
            prompt = mapped.pop("prompt", None)
            job.payload = {"instances": [{"prompt": prompt}], "parameters": mapped}
            return job
        job.payload = generate_content_body(mapped, vertex=self.vertex is not None)
        return job

    # -- lifecycle -----------------------------------------------------------------------

    def job_urls(self, job_id: str) -> kit.JobUrls:
        """``{base}/models/{model}/operations/{id}`` (Vertex: the model's
        ``:fetchPredictOperation``; Omni: ``{base}/interactions/{id}``); no cancel URL."""
        if self.interactions():
            return kit.JobUrls(status=f"{self.base_url}/interactions/{job_id}")
        if self.vertex is not None:
            return kit.JobUrls(status=self.model_url("fetchPredictOperation"))
        return kit.JobUrls(status=f"{self.base_url}/models/{self.wire_model()}/operations/{job_id}")

    async def submit(self, job: kit.PreparedJob, *, time_left: float | None) -> kit.SubmittedJob:
        """Start the Veo operation, or generate the images (the reply is the result).

        Raises:
            TarashException: The request was refused (mapped by :meth:`parse_error`).
        """
        if job.kind == "image":
            return await self._generate_images(job, time_left)
        if self.interactions():
            accepted = await self._send_submit(
                f"{self.base_url}/interactions", id_field="id", json=job.payload
            )
            return kit.SubmittedJob(handle=self.new_handle("video", accepted.job_id))
        reply = await self._send(
            "submit", "POST", self.model_url("predictLongRunning"), json=job.payload
        )
        body = kit.response_json(reply)
        name = body.get("name") if isinstance(body, dict) else None
        operation = name.rpartition("/operations/")[2] if isinstance(name, str) else ""
        if not OPERATION_ID.match(operation):
            error = kit.ProviderServerError(
                f"{self.label} accepted the video (HTTP {reply.status_code}) but its reply "
                "names no operation (body cut short or garbled): the job may be running",
                **self.error_origin(None, body),
                status_code=reply.status_code,
                retryable=False,
                fallback_allowed=False,
            )
            self._flag_untracked_job(error)
            raise error
        state: dict[str, Any] = {}
        if self.vertex is not None:
            # fetchPredictOperation takes the name as Vertex wrote it (a project number).
            full = name if isinstance(name, str) and OPERATION_NAME.match(name) else ""
            state = {
                "backend": "vertex",
                "operation": full or f"{self.model_path()}/operations/{operation}",
            }
        handle = self.new_handle("video", operation, provider_state=state)
        return kit.SubmittedJob(handle=handle)

    async def _generate_images(
        self, job: kit.PreparedJob, time_left: float | None
    ) -> kit.AnsweredSubmit:
        method = self.entry("image").method
        reply = await self._send(
            "submit",
            "POST",
            self.model_url(method),
            json=job.payload,
            read_timeout=image_read_timeout(time_left),
            held=True,
        )
        handle = self.new_handle("image", f"img_{uuid.uuid4().hex}")
        return image_answer(self, reply, handle)

    async def poll(self, handle: kit.JobHandle) -> kit.JobSnapshot:
        """``GET /{operation name}``.

        Raises:
            ValidationError: The handle is an image job's (its result came with the request).
            TarashException: The status call failed after retries.
        """
        if handle.kind == "image":
            raise self.no_job_to_read(handle)
        on_vertex = handle.provider_state.get("backend") == "vertex"
        if on_vertex != (self.vertex is not None):
            backend = "Vertex AI" if on_vertex else "the Gemini API"
            raise self.refusal(
                f"the handle is for an operation on {backend} but this config uses "
                f"{self.label}: pass the config the job was submitted "
                "with (its provider_config vertexai, project and location)",
                request_id=handle.request_id,
            )
        if self.vertex is None:
            body = await self.read_job(handle, "status")
            if self.interactions():
                return interaction_snapshot(self, body, handle.request_id)
            return operation_snapshot(self, body, handle.request_id)
        reply = await self._send(
            "status",
            "POST",
            self.model_url("fetchPredictOperation"),
            request_id=handle.request_id,
            json={"operationName": self._operation_name(handle)},
            expect_object=True,
        )
        return operation_snapshot(self, reply_object(reply), handle.request_id)

    def _operation_name(self, handle: kit.JobHandle) -> str:
        """The Vertex operation's full name: the one the submit's reply gave, when it is
        this model's operation of this id (a handle may have been edited), else built."""
        given = handle.provider_state.get("operation")
        suffix = f"/operations/{handle.request_id}"
        model_tail = f"/publishers/google/models/{self.wire_model()}{suffix}"
        if (
            isinstance(given, str)
            and OPERATION_NAME.match(given)
            and ".." not in given
            and (given.endswith(model_tail) or given == f"{self.model_path()}{suffix}")
        ):
            return given
        return f"{self.model_path()}{suffix}"

    async def fetch_video(
        self, handle: kit.JobHandle, snapshot: kit.JobSnapshot
    ) -> kit.VideoOutput:
        """The first sample: its file URI (downloaded with the key by ``save()``), its Cloud
        Storage object (read through the storage JSON API with the token), or its inline
        bytes as a :class:`MediaContent` dict (as published).

        Raises:
            GenerationFailedError: The sample names neither.
        """
        if self.interactions():
            return self._interaction_output(handle, snapshot)
        for video in samples(video_result(snapshot.raw)):
            mime = video.get("mimeType") or video.get("encoding") or "video/mp4"
            encoded = video.get("encodedVideo") or video.get("bytesBase64Encoded")
            if isinstance(encoded, str) and encoded:
                try:
                    data = base64.b64decode(encoded, validate=True)
                except (binascii.Error, ValueError):
                    continue
                # Published gives inline bytes as MediaContent; the raw body keeps a note
                # in place of their base64 (one copy in memory).
                media: MediaContent = {"content": data, "content_type": str(mime)}
                raw = without_inline_videos(snapshot.raw)
                return kit.VideoOutput(video=media, content_type=str(mime), raw=raw)
            uri = video.get("uri") or video.get("gcsUri")
            if isinstance(uri, str) and uri.startswith("gs://"):
                url = storage_download_url(uri, self.storage_base)
                if url is not None:
                    # The token may be minted again for the download (save() comes later).
                    await self.key_strategy().refresh(self)
                    return kit.VideoOutput(video=url, content_type=str(mime), raw=snapshot.raw)
            elif isinstance(uri, str) and uri.startswith(("https://", "http://")):
                if not kit.same_origin(uri, self.base_url) and (found := _FILE_ID.search(uri)):
                    # As the SDK's files.download: the file's id under our own base (a
                    # proxy or emulator may name Google's host; the key is never sent off
                    # the configured origin).
                    uri = f"{self.base_url}/files/{found.group(1)}:download?alt=media"
                return kit.VideoOutput(video=uri, content_type=str(mime), raw=snapshot.raw)
        raise kit.GenerationFailedError(
            f"{self.label}'s finished operation names no video it can read",
            **self.error_origin(handle.request_id, snapshot.raw),
        )

    def _interaction_output(
        self, handle: kit.JobHandle, snapshot: kit.JobSnapshot
    ) -> kit.VideoOutput:
        video = interaction_video(snapshot.raw)
        encoded = video.get("data") if video is not None else None
        if video is not None and isinstance(encoded, str) and encoded:
            try:
                data = base64.b64decode(encoded, validate=True)
            except (binascii.Error, ValueError):
                data = b""
            if data:
                mime = str(video.get("mime_type") or "video/mp4")
                # As inline Veo: published MediaContent, the raw body without the base64.
                media: MediaContent = {"content": data, "content_type": mime}
                raw = without_inline_video(snapshot.raw)
                return kit.VideoOutput(video=media, content_type=mime, raw=raw)
        raise kit.GenerationFailedError(
            f"{self.label}'s completed interaction holds no video it can read",
            **self.error_origin(handle.request_id, without_inline_video(snapshot.raw)),
        )

    async def fetch_image(
        self, handle: kit.JobHandle, snapshot: kit.JobSnapshot
    ) -> kit.ImageOutput:
        """Refused, sending nothing: the images came with the request's reply
        (:class:`~tarash.tarash_gateway.providers._base.AnsweredSubmit`), and Google keeps
        nothing to read later.

        Raises:
            ValidationError: Always.
        """
        raise self.no_job_to_read(handle)

    async def cancel(self, handle: kit.JobHandle) -> bool:
        """Always ``False``, sending nothing: the Gemini API cannot stop a Veo operation,
        an image is done when its handle exists, and this client declares no cancel for
        Omni's interactions either (``supports_cancel`` is one flag per client)."""
        return False

    # -- errors --------------------------------------------------------------------------

    def parse_error(
        self, response: httpx.Response, call: kit.CallContext = kit.UNKNOWN_CALL
    ) -> kit.TarashException:
        """Map ``{"error": {"code", "message", "status", "details"}}`` to an error.

        A 429's ``RetryInfo.retryDelay`` is its Retry-After; ``NOT_FOUND`` on a submit is a
        :class:`NotFoundError` naming a retired model's successor.
        """
        return google_error(self, response, call)
