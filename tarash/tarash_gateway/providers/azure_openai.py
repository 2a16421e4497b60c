"""Azure OpenAI: Sora and image deployments on a resource endpoint.

Azure serves OpenAI's protocols on ``https://{resource}.openai.azure.com`` (see
docs/providers/azure_openai.md); this client is :class:`OpenAIClient` with Azure's
endpoints, auth and naming, plus the one protocol OpenAI never had:

- **v1** (default): ``{endpoint}/openai/v1/videos`` and ``/openai/v1/images/*``, the
  OpenAI protocol itself, with the deployment name as ``model``.
- **legacy** (``provider_config={"api": "legacy"}``): the Sora-1 preview jobs API,
  ``POST {endpoint}/openai/v1/video/generations/jobs?api-version=preview`` (``width``,
  ``height``, ``n_seconds``, ``n_variants``), states ``preprocessing``, ``queued``,
  ``running``, ``processing`` -> ``succeeded`` | ``failed`` (``failure_reason``) |
  ``cancelled``, the MP4 at ``…/video/generations/{generation id}/content/video``, and a
  ``DELETE`` of the job (unconfirmed). For images, the dated deployment path
  ``{endpoint}/openai/deployments/{deployment}/images/generations?api-version=…``.

``model`` is the user's *deployment* name and is never parsed for the model behind it:
``provider_config["family"]`` says which model a deployment serves when the mapping
depends on it (``"sora-2-pro"``, ``"dall-e-3"``); by default a video deployment is taken
as ``sora-2`` (``sora`` on the legacy API) and an image deployment as ``gpt-image-1``.

Auth is ``api-key: <key>`` (``AZURE_OPENAI_API_KEY``), or a Microsoft Entra token as
``Authorization: Bearer`` (``provider_config={"auth": "entra"}`` with the token as the
config's ``api_key``, or ``AZURE_OPENAI_AD_TOKEN`` when no key is set). The endpoint is
``base_url`` or ``AZURE_OPENAI_ENDPOINT``; the dated API's version ``api_version`` or
``OPENAI_API_VERSION``.

Cancellation: the v1 protocol has none (as on OpenAI) and the legacy ``DELETE`` is
unconfirmed, so tarash never sends one on give-up (``supports_cancel`` is False): the job
runs on, its handle rides on the error and no fallback follows. ``cancel(handle)`` on a
legacy job does send the ``DELETE``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, ClassVar, Literal
from urllib.parse import quote

from tarash.tarash_gateway.providers import _kit as kit
from tarash.tarash_gateway.providers._lifecycle import Retirement
from tarash.tarash_gateway.providers.openai import OpenAIClient
from tarash.tarash_gateway.providers.openai_models import OPENAI_MODELS, OpenAIModel, sized

__all__ = ["DEFAULT_IMAGE_API_VERSION", "LEGACY_API_VERSION", "SORA_1", "AzureOpenAIClient"]

Api = Literal["v1", "legacy"]

LEGACY_API_VERSION = "preview"
"""The ``api-version`` of the Sora-1 jobs API (a preview that never got a dated version)."""
DEFAULT_IMAGE_API_VERSION = "2025-04-01-preview"
"""The dated API version for image deployments (gpt-image-1 needs at least this one)."""

_OPTIONS = frozenset({"api", "family", "auth", "image_fit"})
_FAMILY = {"video": "sora-2", "image": "gpt-image-1"}
_LEGACY_FAMILY = "sora"
_MODERATION_REASONS = frozenset({"input_moderation", "output_moderation"})

_SORA_1_SIZES = {
    ("16:9", "360p"): (640, 360),
    ("16:9", "480p"): (854, 480),
    ("16:9", "720p"): (1280, 720),
    ("16:9", "1080p"): (1920, 1080),
    ("1:1", "360p"): (360, 360),
    ("1:1", "480p"): (480, 480),
    ("1:1", "720p"): (720, 720),
    ("1:1", "1080p"): (1080, 1080),
}


def _sora_1_side(index: int) -> kit.Composed:
    side = {pair: size[index] for pair, size in _SORA_1_SIZES.items()}
    return kit.Composed(
        ("width", "height")[index],
        ("aspect_ratio", "resolution"),
        sized(side, default_resolution="480p"),
    )


SORA_1 = OpenAIModel(
    spec=kit.ModelSpec(
        # Sora-1 (legacy jobs API): 1-20 s (10 s at most at 1080p), one or two variants,
        # landscape or square. Image inputs went through an unconfirmed multipart
        # ``inpaint_items``: image-to-video runs on the v1 API.
        capabilities=kit.ModelCapabilities(
            kind="video",
            durations=tuple(range(1, 21)),
            aspect_ratios=("16:9", "1:1"),
            resolutions=("360p", "480p", "720p", "1080p"),
            accepts_image=False,
            accepts_last_frame=False,
            accepts_audio_flag=False,
            max_outputs=2,
        ),
        inputs={"prompt": "prompt", "duration": "n_seconds", "count": "n_variants"},
        composed=(_sora_1_side(0), _sora_1_side(1)),
    ),
    api="videos",
)
"""The legacy jobs API's model (``family="sora"``)."""

AZURE_RETIRED: Mapping[str, Retirement] = MappingProxyType(
    {
        _LEGACY_FAMILY: Retirement(
            successor="a sora-2 deployment on the v1 API (provider_config={'api': 'v1'})",
            since=None,
            note="the Azure video generation jobs API; reported answering 404",
            verified=False,
        )
    }
)


class AzureOpenAIClient(OpenAIClient):
    """Azure OpenAI's v1 and legacy APIs for Sora and image deployments.

    ``provider_config`` options:
        api: ``"v1"`` (default) or ``"legacy"`` (the Sora-1 jobs API for videos, the dated
            deployment path for images).
        family: The model the deployment serves (an OpenAI id such as ``"sora-2-pro"``,
            ``"gpt-image-1.5"``, ``"dall-e-3"``, or ``"sora"`` on the legacy API).
        auth: ``"api-key"`` (default: the ``api-key`` header) or ``"entra"`` (the key is a
            Microsoft Entra token, sent as ``Authorization: Bearer``).
        image_fit: v1 image-to-video: how a first frame of another size than the video's
            is fitted to it (``"pad"``, default, ``"crop"`` or ``"refuse"``), as on OpenAI.
    """

    name: ClassVar[str] = "azure_openai"
    display_name: ClassVar[str] = "Azure OpenAI"
    default_base_url: ClassVar[str] = ""
    credentials = kit.AzureKeyOrEntra()
    base_url_env_var: ClassVar[str | None] = "AZURE_OPENAI_ENDPOINT"
    supports_cancel: ClassVar[bool] = False
    # The legacy DELETE is the v1 protocol's DELETE too, which removes a finished video
    # (as OpenAI's does): ``cancel(handle)`` must not be sent to a finished job.
    cancel_deletes_finished: ClassVar[bool] = True
    # Azure documents no GET /openai/v1/videos list, and what its items would name as
    # ``model`` (the deployment or the model behind it) is unknown: no lookup by request.
    finds_jobs: ClassVar[bool] = False
    provider_config_options: ClassVar[frozenset[str]] = _OPTIONS

    def __init__(self, settings: kit.ProviderSettings) -> None:
        super().__init__(settings)
        config = settings.provider_config
        self.api: Api = self._option("api", ("v1", "legacy"), "v1")  # type: ignore[assignment]
        self.auth = self._option("auth", ("api-key", "entra"), "api-key")
        family = config.get("family")
        known = (*OPENAI_MODELS, _LEGACY_FAMILY)
        if family is not None and family not in known:
            raise self.refusal(
                f"provider_config['family'] must be one of {sorted(known)}, got {family!r}"
            )
        self.family: str | None = family
        self._legacy_video = False

    def _option(self, name: str, allowed: tuple[str, ...], default: str) -> str:
        value = self.settings.provider_config.get(name, default)
        if value not in allowed:
            raise self.refusal(
                f"provider_config[{name!r}] must be one of {list(allowed)}, got {value!r}"
            )
        return str(value)

    @classmethod
    def resolve_base_url(cls, explicit: str | None = None) -> str:
        """The resource endpoint: ``base_url``, ``TARASH_AZURE_OPENAI_BASE_URL`` or
        ``AZURE_OPENAI_ENDPOINT``, without a trailing ``/openai/v1`` (the form the OpenAI
        SDK's ``base_url`` takes).

        Raises:
            ValidationError: None of them is set, or one is malformed.
        """
        endpoint = super().resolve_base_url(explicit)
        for suffix in ("/openai/v1", "/openai"):
            endpoint = endpoint.removesuffix(suffix)
        if not endpoint:
            raise kit.ValidationError(
                "azure_openai needs the resource endpoint: set base_url (e.g. "
                "'https://my-resource.openai.azure.com') or AZURE_OPENAI_ENDPOINT",
                provider=cls.name,
            )
        return endpoint

    # -- credentials -------------------------------------------------------------------

    def auth_headers(self) -> dict[str, str]:
        """``api-key: <key>``, or ``Authorization: Bearer <Entra token>`` (see
        :class:`~tarash.tarash_gateway.providers._credentials.AzureKeyOrEntra`); not
        OpenAI's organization and project headers."""
        return self.key_strategy().headers(self)

    # -- endpoints and naming ----------------------------------------------------------

    def wire_model(self) -> str:
        """The deployment name, as the user wrote it."""
        return self.model

    def entry(self, kind: kit.JobKind) -> OpenAIModel:
        """The family's entry: ``provider_config["family"]``, else the API's default."""
        if kind == "video" and self.api == "legacy":
            return SORA_1
        family = self.family if self.family in OPENAI_MODELS else None
        return OPENAI_MODELS[family or _FAMILY[kind]]

    def registry_id(self) -> str | None:
        """The family, never the deployment name (which says nothing sure of the model)."""
        return self.family if self.family in OPENAI_MODELS else None

    def spec_for(self, kind: kit.JobKind) -> kit.ModelSpec | None:
        """A user mapping, else the family's spec, else the API's default family's."""
        found = super().spec_for(kind)
        if found is not None and found.field_mappers is not None:
            return found
        if self.registry_id() is None or (kind == "video" and self.api == "legacy"):
            return self.entry(kind).spec
        return found

    def _api_version(self, default: str) -> str:
        return self.settings.api_version or os.environ.get("OPENAI_API_VERSION") or default

    def query(self) -> dict[str, str] | None:
        """``api-version`` on the dated APIs; on v1 only when the config sets one."""
        if self.api == "legacy":
            return {"api-version": self._api_version(DEFAULT_IMAGE_API_VERSION)}
        return {"api-version": self.settings.api_version} if self.settings.api_version else None

    def videos_url(self, *parts: str) -> str:
        """``{endpoint}/openai/v1/videos[/part...]``."""
        return "/".join([f"{self.base_url}/openai/v1/videos", *parts])

    def images_url(self, operation: str) -> str:
        """``/openai/v1/images/{op}``, or the deployment's dated path on the legacy API."""
        if self.api == "legacy":
            deployment = quote(self.model, safe="")
            return f"{self.base_url}/openai/deployments/{deployment}/images/{operation}"
        return f"{self.base_url}/openai/v1/images/{operation}"

    def _jobs_url(self, *parts: str) -> str:
        return "/".join([f"{self.base_url}/openai/v1/video/generations/jobs", *parts])

    def job_urls(self, job_id: str) -> kit.JobUrls:
        """Legacy: the job's URL (read and ``DELETE``d); v1: OpenAI's video URLs."""
        if self.api == "legacy":
            return kit.JobUrls(status=self._jobs_url(job_id), cancel=self._jobs_url(job_id))
        return super().job_urls(job_id)

    def _legacy_query(self, handle: kit.JobHandle | None = None) -> dict[str, str]:
        version = handle.api_version if handle is not None and handle.api_version else None
        return {"api-version": version or self._api_version(LEGACY_API_VERSION)}

    def provider_state(self, kind: kit.JobKind) -> dict[str, Any]:
        """``{"api": "v1" | "legacy"}``: how to read the job later."""
        return {"api": self.api}

    def supports_remix(self) -> bool:
        """v1 remixes (``POST /openai/v1/videos/{id}/remix``); the legacy jobs API cannot."""
        return self.api != "legacy"

    def lifecycle(self) -> Retirement | None:
        """The legacy jobs API's (reported) retirement, for a video prepared for it; Azure
        runs its own schedule for OpenAI's models, so nothing else is warned."""
        return AZURE_RETIRED[_LEGACY_FAMILY] if self._legacy_video else None

    # -- the legacy jobs API -----------------------------------------------------------

    def prepare_video(self, request: kit.VideoGenerationRequest) -> kit.PreparedJob:
        """v1: the OpenAI create. Legacy: ``{model, prompt, width, height, n_seconds,
        n_variants}`` (the size from the aspect ratio and resolution).

        Raises:
            ValidationError: The deployment's family makes images.
        """
        # The retirement (warned once by the kit) concerns the jobs API, not its images.
        self._legacy_video = self.api == "legacy"
        return super().prepare_video(request)

    async def submit(self, job: kit.PreparedJob, *, time_left: float | None) -> kit.SubmittedJob:
        """The OpenAI create on v1; ``POST …/video/generations/jobs`` on the legacy API.

        Raises:
            TarashException: The create was refused (mapped by :meth:`parse_error`).
        """
        if job.kind != "video" or self.api != "legacy":
            return await super().submit(job, time_left=time_left)
        accepted = await self._send_submit(
            self._jobs_url(), id_field="id", params=self._legacy_query(), json=job.payload
        )
        handle = self.new_handle(
            "video", accepted.job_id, provider_state=self.provider_state("video")
        ).model_copy(update={"api_version": self._legacy_query()["api-version"]})
        snapshot = None if accepted.body is None else self._job_snapshot(accepted.body)
        return kit.SubmittedJob(handle=handle, snapshot=snapshot)

    @staticmethod
    def _is_legacy(handle: kit.JobHandle) -> bool:
        return handle.kind == "video" and handle.provider_state.get("api") == "legacy"

    async def poll(self, handle: kit.JobHandle) -> kit.JobSnapshot:
        """``GET`` the video (v1) or the job (legacy).

        Raises:
            TarashException: The status call failed after retries.
        """
        if not self._is_legacy(handle):
            return await super().poll(handle)
        body = await self.read_job(handle, "status", params=self._legacy_query(handle))
        return self._job_snapshot(body)

    def _job_snapshot(self, body: Any) -> kit.JobSnapshot:
        if not isinstance(body, dict):
            raise kit.ProviderServerError(
                "Azure answered with something that is not a video generation job",
                **self.error_origin(None, body),
            )
        job_id = body.get("id") if isinstance(body.get("id"), str) else None
        origin = self.error_origin(job_id, body)
        status = body.get("status")
        match status:
            case "preprocessing" | "queued":
                return kit.JobSnapshot(kit.JobState.QUEUED, body)
            case "running" | "processing":
                return kit.JobSnapshot(kit.JobState.PROCESSING, body)
            case "succeeded":
                return kit.JobSnapshot(kit.JobState.COMPLETED, body, progress_percent=100)
            case "failed":
                reason = str(body.get("failure_reason") or "").strip()
                message = f"the video generation job failed: {reason or 'no reason given'}"
                error: kit.TarashException = (
                    kit.ContentModerationError(message, **origin)
                    if reason in _MODERATION_REASONS
                    else kit.GenerationFailedError(message, **origin)
                )
                return kit.JobSnapshot(kit.JobState.FAILED, body, error=error)
            case "cancelled":
                return kit.JobSnapshot(
                    kit.JobState.CANCELLED,
                    body,
                    error=kit.JobCancelledError("the video generation job was cancelled", **origin),
                )
            case _:
                return self.unknown_status(body, status, request_id=job_id)

    async def fetch_video(
        self, handle: kit.JobHandle, snapshot: kit.JobSnapshot
    ) -> kit.VideoOutput:
        """The video downloaded with the key into a :class:`MediaContent` dict, as
        published: v1's content URL, or legacy's first generation's ``content/video``.

        Raises:
            GenerationFailedError: The job succeeded with no generation, or (v1) the
                video expired.
            TarashException: The download failed after retries.
        """
        if not self._is_legacy(handle):
            return await super().fetch_video(handle, snapshot)
        body = snapshot.raw
        generations = body.get("generations")
        first = generations[0] if isinstance(generations, list) and generations else None
        generation_id = first.get("id") if isinstance(first, dict) else None
        if not isinstance(generation_id, str) or not generation_id or "/" in generation_id:
            raise kit.GenerationFailedError(
                "the video generation job succeeded but names no generation",
                **self.error_origin(handle.request_id, body),
            )
        version = self._legacy_query(handle)["api-version"]
        url = (
            f"{self.base_url}/openai/v1/video/generations/{quote(generation_id, safe='')}"
            f"/content/video?api-version={quote(version, safe='')}"
        )
        seconds = body.get("n_seconds")
        expires = body.get("expires_at")
        video = await self.download_content(
            url, request_id=handle.request_id, default_type="video/mp4"
        )
        return kit.VideoOutput(
            video=video,
            content_type=video["content_type"],
            duration=float(seconds) if isinstance(seconds, int) else None,
            resolution=None,
            expires_at=datetime.fromtimestamp(expires, UTC)
            if isinstance(expires, int) and expires > 0
            else None,
            raw=body,
        )

    async def cancel(self, handle: kit.JobHandle) -> bool:
        """Legacy: ``DELETE`` the job (True on a 2xx; unconfirmed on Azure). v1: False,
        sending nothing (the protocol has no cancel)."""
        if not self._is_legacy(handle):
            return False
        reply = await self._send(
            "cancel",
            "DELETE",
            self.job_url(handle, "cancel"),
            request_id=handle.request_id,
            params=self._legacy_query(handle),
            ok_statuses=frozenset({404, 409}),
        )
        return reply.is_success
