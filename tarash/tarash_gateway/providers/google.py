"""Google's Gemini API (``https://generativelanguage.googleapis.com/v1beta``) and Vertex AI:
Veo videos, Gemini image models and Imagen.

Wire facts (googleapis/python-genai ``models.py``, ``operations.py``; ai.google.dev; see
docs/providers/google.md):

- Veo is a long-running operation: ``POST /models/{model}:predictLongRunning`` with
  ``instances[{prompt, image, lastFrame, referenceImages}]`` (images inline as
  ``{bytesBase64Encoded, mimeType}``) and ``parameters``; the reply is ``{"name":
  "models/{model}/operations/{id}"}``. ``GET /{name}`` reads it: no ``done`` (or
  ``false``) while running; ``done`` with ``error`` (a ``google.rpc.Status``) when it
  failed, or with ``response.generateVideoResponse``: ``generatedSamples[].video.uri``
  (downloaded with the key), or no samples and ``raiMediaFilteredCount`` /
  ``raiMediaFilteredReasons`` when the safety filters removed the video.
- The Gemini API has no cancel for an operation: a Veo job tarash gives up on runs on.
- Gemini image models answer in the request: ``POST /models/{model}:generateContent``;
  the images are ``inlineData`` parts of ``candidates[0].content.parts``; a blocked prompt
  is HTTP 200 with ``promptFeedback.blockReason`` (or a candidate whose ``finishReason`` is
  ``IMAGE_SAFETY`` and that holds no image). Imagen (``:predict``) also answers in the
  request; Google shut it on the Gemini API on 2026-08-17.
- Errors are ``{"error": {"code", "message", "status", "details"}}``; a 429
  ``RESOURCE_EXHAUSTED`` says how long to wait in a ``google.rpc.RetryInfo`` detail
  (``retryDelay: "42s"``), which is honoured as Retry-After.

Vertex AI (``provider_config={"vertexai": True, "project": ..., "location": ...}``, or the
SDK's ``GOOGLE_GENAI_USE_VERTEXAI``/``GOOGLE_CLOUD_PROJECT``/``GOOGLE_CLOUD_LOCATION``; see
``_google_vertex``) takes the same bodies at
``{root}/projects/{p}/locations/{l}/publishers/google/models/{m}:{method}`` (express mode:
``{root}/publishers/google/models/{m}``), authenticated by ``Authorization: Bearer`` (or
``x-goog-api-key`` in express mode). A Veo operation is read with ``POST
:fetchPredictOperation {"operationName": name}``; a finished one holds
``response.videos[]`` (``gcsUri`` or inline ``bytesBase64Encoded``) or, filtered,
``raiMediaFilteredCount``/``raiMediaFilteredReasons``. Vertex offers no cancel for it
either (python-genai has none; the LRO cancel is undocumented for publisher models).
"""

from __future__ import annotations

import base64
import binascii
import importlib.util
import mimetypes
import os
import re
import uuid
from collections.abc import Mapping
from typing import Any, ClassVar
from urllib.parse import urlsplit

import anyio.to_thread
import httpx
from pydantic import SecretStr

from tarash.tarash_gateway.engine._http import Operation, reply_object
from tarash.tarash_gateway.errors import AuthenticationError
from tarash.tarash_gateway.providers import _kit as kit
from tarash.tarash_gateway.providers._google_vertex import (
    OFFICIAL_STORAGE,
    TOKEN_ENV_VAR,
    VertexTarget,
    storage_download_url,
    token_source,
    vertex_requested,
)
from tarash.tarash_gateway.providers._lifecycle import Retirement
from tarash.tarash_gateway.providers._media import decode_data_uri, sniff_mime
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

IMAGE_READ_TIMEOUT = 600.0
"""An image request is the generation; the reply can take minutes at high resolution."""
LATE_IMAGE_MARGIN = 30.0
"""How much longer than the job's time left an image reply is awaited: it is paid for."""

_OFFICIAL_HOST = "generativelanguage.googleapis.com"
_INSTANCE_FIELDS = frozenset({"prompt", "image", "lastFrame", "referenceImages", "video"})
# The SDK refuses these on the Gemini API (Vertex only): sending them is a 400.
_VERTEX_ONLY = ("seed", "generateAudio")
_OPERATION_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)s\s*$")
_MODERATION_FINISH = frozenset(
    {"SAFETY", "IMAGE_SAFETY", "PROHIBITED_CONTENT", "BLOCKLIST", "SPII", "RECITATION"}
)
_MAX_MESSAGE = 500
_VERTEX_OPTIONS = ("vertexai", "project", "location", "credentials")
_OPERATION_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,511}$")
_FILE_ID = re.compile(r"/files/([a-z0-9]+)")
_STORAGE_PATHS = ("/download/storage/", "/storage/v1/")


def retry_delay_seconds(body: object) -> float | None:
    """The ``retryDelay`` of a ``google.rpc.RetryInfo`` in an error envelope, in seconds.

    Args:
        body: The parsed error reply.

    Returns:
        The delay (``"42s"`` -> 42.0), or ``None`` when the reply names none.
    """
    error = body.get("error") if isinstance(body, dict) else None
    details = error.get("details") if isinstance(error, dict) else None
    if not isinstance(details, list):
        return None
    for detail in details:
        if not isinstance(detail, dict) or not str(detail.get("@type", "")).endswith("RetryInfo"):
            continue
        delay = detail.get("retryDelay")
        if isinstance(delay, dict):
            seconds = delay.get("seconds", 0)
            nanos = delay.get("nanos", 0)
            if isinstance(seconds, int | float | str) and isinstance(nanos, int | float):
                try:
                    return max(0.0, float(seconds) + float(nanos) / 1e9)
                except ValueError:
                    return None
        if isinstance(delay, str) and (match := _DURATION.match(delay)):
            return float(match.group(1))
    return None


def _reasons(body: object) -> set[str]:
    """The ``google.rpc.ErrorInfo`` reasons of an error envelope."""
    error = body.get("error") if isinstance(body, dict) else None
    details = error.get("details") if isinstance(error, dict) else None
    return {
        str(detail.get("reason"))
        for detail in details or []
        if isinstance(detail, dict) and detail.get("reason")
    }


def _inline_image(reference: str, field: str, *, vertex: bool = False) -> dict[str, str]:
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
    key_env_vars: ClassVar[tuple[str, ...]] = ("GEMINI_API_KEY", "GOOGLE_API_KEY")
    # Neither backend can cancel a Veo operation.
    supports_cancel: ClassVar[bool] = False
    answers_in_request: ClassVar[frozenset[kit.JobKind]] = frozenset({"image"})
    provider_config_options: ClassVar[frozenset[str]] = frozenset(_VERTEX_OPTIONS)

    def __init__(self, settings: kit.ProviderSettings) -> None:
        super().__init__(settings)
        # Images decoded from a generate reply, by job id, until the result read.
        self._inline_images: dict[str, list[str | bytes]] = {}
        config = settings.provider_config
        self.vertex: VertexTarget | None = None
        if vertex_requested(config):
            self.vertex = VertexTarget.from_settings(config, has_key=settings.api_key is not None)
        elif any(config.get(option) is not None for option in _VERTEX_OPTIONS[1:]):
            # As the SDK: project, location and credentials mean Vertex.
            raise self.refusal(
                "provider_config project, location and credentials are Vertex AI options: "
                "add vertexai=True (or set GOOGLE_GENAI_USE_VERTEXAI=true)"
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
        self._minted: SecretStr | None = None

    @property
    def label(self) -> str:
        """``Google Vertex AI`` or ``Google Gemini API``."""
        return "Google Vertex AI" if self.vertex is not None else self.display_name

    # -- credentials and naming ------------------------------------------------------------

    def api_key(self) -> SecretStr:
        """The credential sent: the Gemini or express-mode API key, the access token, or
        (Application Default Credentials) the last token minted.

        Raises:
            AuthenticationError: None is given or found (before any request); for ADC,
                google-auth is not installed.
        """
        if self.vertex is not None and self.vertex.auth == "adc":
            if self._minted is not None:
                return self._minted
            if importlib.util.find_spec("google.auth") is None:
                raise AuthenticationError(
                    "Vertex AI with Application Default Credentials needs google-auth: "
                    'pip install "tarash-gateway[vertex]", or pass an access token as '
                    f"api_key (or {TOKEN_ENV_VAR}), or use express mode (an API key, no "
                    "project)",
                    provider=self.name,
                    model=self.model,
                    retryable=False,
                )
            # Minted before the first request (see _send): nothing to send yet.
            return SecretStr("")
        return super().api_key()

    def _key_from_environment(self) -> SecretStr | None:
        if self.vertex is not None and self.vertex.auth == "token":
            value = os.environ.get(TOKEN_ENV_VAR, "")
            return (
                self._clean_key(value, f"the token in {TOKEN_ENV_VAR}") if value.strip() else None
            )
        return super()._key_from_environment()

    def _key_variables_hint(self) -> str:
        if self.vertex is not None and self.vertex.auth == "token":
            return TOKEN_ENV_VAR
        return super()._key_variables_hint()

    def secrets(self) -> list[str]:
        """The keys (see the base), the token in ``GOOGLE_OAUTH_ACCESS_TOKEN`` and any
        token minted from credentials."""
        found = super().secrets()
        found.append(os.environ.get(TOKEN_ENV_VAR, ""))
        if self._minted is not None:
            found.append(self._minted.get_secret_value())
        return [secret for secret in found if secret]

    def auth_headers(self) -> dict[str, str]:
        """``x-goog-api-key: <key>`` (Gemini API, express mode) or ``Authorization: Bearer
        <token>`` (Vertex AI with a project)."""
        if self.vertex is not None and self.vertex.auth != "express":
            return {"authorization": f"Bearer {self.api_key().get_secret_value()}"}
        return {"x-goog-api-key": self.api_key().get_secret_value()}

    async def _send(
        self,
        operation: Operation,
        method: str,
        url: str,
        *,
        request_id: str | None = None,
        headers: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        """The base's send, after minting (or reusing) the ADC token when Vertex uses one."""
        await self._ensure_token()
        return await super()._send(
            operation, method, url, request_id=request_id, headers=headers, **kwargs
        )

    async def _ensure_token(self) -> None:
        if self.vertex is None or self.vertex.auth != "adc" or self.vertex.credentials is None:
            return
        source = await anyio.to_thread.run_sync(token_source, self.vertex.credentials)
        try:
            self._minted = await source.token()
        except AuthenticationError as exc:
            exc.model = self.model
            raise

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
        return {name: SecretStr(value) for name, value in self.auth_headers().items()}

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
        job = self.prepare_from_spec("video", request)
        vertex = self.vertex is not None
        instance: dict[str, Any] = {}
        parameters: dict[str, Any] = {}
        for key, value in job.payload.items():
            if key in ("image", "lastFrame") and isinstance(value, str):
                instance[key] = _inline_image(value, key, vertex=vertex)
            elif key == "referenceImages" and isinstance(value, list):
                instance[key] = [
                    item
                    if isinstance(item, dict)
                    else {
                        "image": _inline_image(str(item), key, vertex=vertex),
                        "referenceType": "asset",
                    }
                    for item in value
                ]
            elif key in _INSTANCE_FIELDS:
                instance[key] = value
            elif key in _VERTEX_ONLY and not vertex:
                job.adaptations.append(
                    f"{key} not sent: the Gemini API refuses it (Vertex AI only)"
                )
            else:
                parameters[key] = value
        job.payload = {"instances": [instance], "parameters": parameters}
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
        parts: list[dict[str, Any]] = []
        if isinstance(mapped.get("prompt"), str):
            parts.append({"text": mapped.pop("prompt")})
        for item in mapped.pop("images", None) or []:
            image = _inline_image(str(item), "images", vertex=self.vertex is not None)
            if "gcsUri" in image:
                parts.append(
                    {"fileData": {"mimeType": image["mimeType"], "fileUri": image["gcsUri"]}}
                )
                continue
            parts.append(
                {"inlineData": {"mimeType": image["mimeType"], "data": image["bytesBase64Encoded"]}}
            )
        config: dict[str, Any] = {"responseModalities": ["TEXT", "IMAGE"]}
        image_config = {
            key: mapped.pop(key) for key in ("aspectRatio", "imageSize") if key in mapped
        }
        if image_config:
            config["imageConfig"] = image_config
        body: dict[str, Any] = {"contents": [{"role": "user", "parts": parts}]}
        body["generationConfig"] = config
        # Anything else (extra_params) goes where the user put it: top level.
        body.update(mapped)
        job.payload = body
        return job

    # -- lifecycle -----------------------------------------------------------------------

    def job_urls(self, job_id: str) -> kit.JobUrls:
        """``{base}/models/{model}/operations/{id}`` (Vertex: the model's
        ``:fetchPredictOperation``); no cancel URL (there is none)."""
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
        reply = await self._send(
            "submit", "POST", self.model_url("predictLongRunning"), json=job.payload
        )
        body = kit.response_json(reply)
        name = body.get("name") if isinstance(body, dict) else None
        operation = name.rpartition("/operations/")[2] if isinstance(name, str) else ""
        if not _OPERATION_ID.match(operation):
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
            full = name if isinstance(name, str) and _OPERATION_NAME.match(name) else ""
            state = {
                "backend": "vertex",
                "operation": full or f"{self.model_path()}/operations/{operation}",
            }
        handle = self.new_handle("video", operation, provider_state=state)
        return kit.SubmittedJob(handle=handle)

    async def _generate_images(
        self, job: kit.PreparedJob, time_left: float | None
    ) -> kit.SubmittedJob:
        method = self.entry("image").method
        timeout = IMAGE_READ_TIMEOUT if time_left is None else time_left + LATE_IMAGE_MARGIN
        reply = await self._send(
            "submit",
            "POST",
            self.model_url(method),
            json=job.payload,
            read_timeout=max(1.0, min(IMAGE_READ_TIMEOUT, timeout)),
            held=True,
        )
        job_id = f"img_{uuid.uuid4().hex}"
        handle = self.new_handle("image", job_id)
        return kit.SubmittedJob(handle=handle, snapshot=self._image_snapshot(reply, job_id))

    def _image_snapshot(self, reply: httpx.Response, job_id: str) -> kit.JobSnapshot:
        """The images of a generate reply, decoded once (the snapshot keeps a note of
        each in place of its base64), or the refusal it carries."""
        body = kit.response_json(reply)
        if not isinstance(body, dict):
            error = kit.ProviderServerError(
                f"{self.label} answered the image request with HTTP {reply.status_code} but a "
                "body that is not a generate response; the images were probably made and billed",
                **self.error_origin(job_id, None),
                status_code=reply.status_code,
                fallback_allowed=False,
            )
            return kit.JobSnapshot(kit.JobState.FAILED, {}, error=error)
        images: list[str | bytes] = []
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
                str(item["raiFilteredReason"])[:_MAX_MESSAGE]
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
                try:
                    images.append(base64.b64decode(encoded, validate=True))
                except (binascii.Error, ValueError):
                    continue
                note = f"<{len(encoded)} base64 chars: image {len(images) - 1}>"
                if wrapper:
                    items[index] = {**item, wrapper: {**inline, "data": note}}
                else:
                    items[index] = {**inline, "bytesBase64Encoded": note}
        if not images and reasons:
            refused = kit.ContentModerationError(
                f"{self.label} refused the image: {'; '.join(reasons)}",
                **self.error_origin(job_id, body),
            )
            return kit.JobSnapshot(kit.JobState.FAILED, body, error=refused)
        self._inline_images[job_id] = images
        return kit.JobSnapshot(kit.JobState.COMPLETED, body, progress_percent=100)

    async def poll(self, handle: kit.JobHandle) -> kit.JobSnapshot:
        """``GET /{operation name}``.

        Raises:
            ValidationError: The handle is an image job's (its result came with the request).
            TarashException: The status call failed after retries.
        """
        if handle.kind == "image":
            raise self.refusal(
                f"{self.label} images are returned by the request itself: an image job's "
                "handle has nothing left to wait for",
                request_id=handle.request_id,
            )
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
            return self._operation_snapshot(body, handle.request_id)
        reply = await self._send(
            "status",
            "POST",
            self.model_url("fetchPredictOperation"),
            request_id=handle.request_id,
            json={"operationName": self._operation_name(handle)},
            expect_object=True,
        )
        return self._operation_snapshot(reply_object(reply), handle.request_id)

    def _operation_name(self, handle: kit.JobHandle) -> str:
        """The Vertex operation's full name: the one the submit's reply gave, when it is
        this model's operation of this id (a handle may have been edited), else built."""
        given = handle.provider_state.get("operation")
        suffix = f"/operations/{handle.request_id}"
        model_tail = f"/publishers/google/models/{self.wire_model()}{suffix}"
        if (
            isinstance(given, str)
            and _OPERATION_NAME.match(given)
            and ".." not in given
            and (given.endswith(model_tail) or given == f"{self.model_path()}{suffix}")
        ):
            return given
        return f"{self.model_path()}{suffix}"

    @staticmethod
    def _video_result(body: Mapping[str, Any]) -> dict[str, Any]:
        """The finished operation's result: ``generateVideoResponse`` on the Gemini API,
        the ``response`` itself on Vertex; ``{}`` when there is none."""
        response = body.get("response")
        if not isinstance(response, dict):
            return {}
        found = response.get("generateVideoResponse", response)
        return found if isinstance(found, dict) else {}

    @staticmethod
    def _samples(result: Mapping[str, Any]) -> list[dict[str, Any]]:
        """The result's videos: ``generatedSamples[].video`` (Gemini API) or ``videos[]``
        (Vertex)."""
        found: list[dict[str, Any]] = []
        for sample in result.get("generatedSamples") or []:
            video = sample.get("video") if isinstance(sample, dict) else None
            if isinstance(video, dict):
                found.append(video)
        found.extend(item for item in result.get("videos") or [] if isinstance(item, dict))
        return found

    def _operation_snapshot(self, body: dict[str, Any], job_id: str) -> kit.JobSnapshot:
        if body.get("done") is not True:
            # A missing ``done`` means running (google.longrunning.Operation).
            return kit.JobSnapshot(kit.JobState.PROCESSING, body)
        error = body.get("error")
        if isinstance(error, dict):
            message = str(error.get("message") or "").strip()[:_MAX_MESSAGE]
            text = f"the video failed: {message or 'no reason given'} (code {error.get('code')})"
            return kit.JobSnapshot(
                kit.JobState.FAILED,
                body,
                error=kit.GenerationFailedError(text, **self.error_origin(job_id, body)),
            )
        result = self._video_result(body)
        if self._samples(result):
            return kit.JobSnapshot(kit.JobState.COMPLETED, body, progress_percent=100)
        filtered = result.get("raiMediaFilteredCount")
        raw_reasons = result.get("raiMediaFilteredReasons")
        reasons = [str(item)[:_MAX_MESSAGE] for item in raw_reasons or [] if item]
        if filtered or reasons:
            why = "; ".join(reasons) or "no reason given"
            return kit.JobSnapshot(
                kit.JobState.FAILED,
                body,
                error=kit.ContentModerationError(
                    f"{self.label}'s safety filters removed the video "
                    f"({filtered or len(reasons)} filtered): {why}",
                    **self.error_origin(job_id, body),
                ),
            )
        return kit.JobSnapshot(
            kit.JobState.FAILED,
            body,
            error=kit.GenerationFailedError(
                f"{self.label} finished the operation with no video",
                **self.error_origin(job_id, body),
            ),
        )

    async def fetch_video(
        self, handle: kit.JobHandle, snapshot: kit.JobSnapshot
    ) -> kit.VideoOutput:
        """The first sample: its file URI (downloaded with the key by ``save()``), its Cloud
        Storage object (read through the storage JSON API with the token), or its inline
        bytes.

        Raises:
            GenerationFailedError: The sample names neither.
        """
        for video in self._samples(self._video_result(snapshot.raw)):
            mime = video.get("mimeType") or video.get("encoding") or "video/mp4"
            encoded = video.get("encodedVideo") or video.get("bytesBase64Encoded")
            if isinstance(encoded, str) and encoded:
                try:
                    data = base64.b64decode(encoded, validate=True)
                except (binascii.Error, ValueError):
                    continue
                return kit.VideoOutput(video=data, content_type=str(mime), raw=snapshot.raw)
            uri = video.get("uri") or video.get("gcsUri")
            if isinstance(uri, str) and uri.startswith("gs://"):
                url = storage_download_url(uri, self.storage_base)
                if url is not None:
                    # The token may be minted again for the download (save() comes later).
                    await self._ensure_token()
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

    async def fetch_image(
        self, handle: kit.JobHandle, snapshot: kit.JobSnapshot
    ) -> kit.ImageOutput:
        """The images the request returned, as bytes.

        Raises:
            GenerationFailedError: The reply held no image.
        """
        images = self._inline_images.pop(handle.request_id, [])
        if not images:
            raise kit.GenerationFailedError(
                f"{self.label} returned no image",
                **self.error_origin(handle.request_id, snapshot.raw),
            )
        first = images[0]
        content_type = sniff_mime(first, "image/png") if isinstance(first, bytes) else None
        return kit.ImageOutput(images=images, content_type=content_type, raw=snapshot.raw)

    async def cancel(self, handle: kit.JobHandle) -> bool:
        """Always ``False``, sending nothing: the Gemini API cannot stop a Veo operation,
        and an image is done when its handle exists."""
        return False

    # -- errors --------------------------------------------------------------------------

    def parse_error(
        self, response: httpx.Response, call: kit.CallContext = kit.UNKNOWN_CALL
    ) -> kit.TarashException:
        """Map ``{"error": {"code", "message", "status", "details"}}`` to an error.

        A 429's ``RetryInfo.retryDelay`` is its Retry-After; ``NOT_FOUND`` on a submit is a
        :class:`NotFoundError` naming a retired model's successor.
        """
        read = self.error_body(response)
        status = response.status_code
        error = read.fields.get("error")
        grpc_status = ""
        if isinstance(error, dict):
            message = str(error.get("message") or "").strip()
            grpc_status = str(error.get("status") or "").strip()
        else:
            message = read.text
        message = message[:_MAX_MESSAGE] or f"HTTP {status} from {self.label}"
        if grpc_status:
            message = f"{message} ({grpc_status})"
        headers = dict(response.headers)
        lowered = {name.lower() for name in headers}
        delay = retry_delay_seconds(read.raw)
        if delay is not None and not {"retry-after", "retry-after-ms"} & lowered:
            headers["retry-after-ms"] = str(int(delay * 1000))
        origin = self.error_origin(call.request_id, read.raw)
        if "API_KEY_INVALID" in _reasons(read.raw):
            # Google answers a wrong key with 400 INVALID_ARGUMENT; it is an auth failure.
            return AuthenticationError(message, status_code=status, **origin)
        if status == 404 and call.operation == "submit":
            return kit.NotFoundError(
                f"{message}{self.retired_hint()}", status_code=status, **origin
            )
        return kit.error_for_status(status, message, headers=headers, **origin)
