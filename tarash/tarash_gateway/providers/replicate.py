"""Replicate's predictions API (``https://api.replicate.com/v1``).

A model id is ``owner/name`` (an official model: ``POST /v1/models/{owner}/{name}/predictions``
with ``{"input"}``), ``owner/name:<version>`` or a bare 64-hex version (``POST
/v1/predictions`` with ``{"version", "input"}``). The create reply is the prediction
itself; ``GET urls.get`` polls it until ``succeeded``, ``failed``, ``canceled`` or
``aborted``, and the output (URLs or data URIs) is read from the terminal prediction.

Two create headers do server-side work for us: ``Cancel-After`` makes Replicate stop the
prediction if we vanish past our deadline, and ``Prefer: wait=N`` holds the create until
the prediction is done (or N s pass), so a fast image job needs no poll at all.

This module makes the calls; reading the predictions they return (times, progress,
failures, outputs) is :mod:`._replicate_replies`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

import httpx
from pydantic import SecretStr

from tarash.tarash_gateway.engine._http import reply_object
from tarash.tarash_gateway.providers import _kit as kit
from tarash.tarash_gateway.providers._replicate_replies import (
    MODERATION,
    expires_at,
    failure_error,
    guess_content_type,
    of_kind,
    output_references,
    parse_time,
    progress_from_logs,
)
from tarash.tarash_gateway.providers.replicate_models import GENERIC_SPECS, REPLICATE_MODELS

__all__ = ["ReplicateClient"]

DEFAULT_PREFER_WAIT: dict[kit.JobKind, int] = {"image": 10, "video": 0}
"""Seconds a create is held by default: image jobs often finish within it, videos never do."""
MAX_PREFER_WAIT = 60
"""Replicate holds a ``Prefer: wait`` create at most 60 s."""
HOLD_READ_MARGIN = 10.0
"""Read timeout of a held create beyond the hold itself."""
FIND_PAGES = 20
"""Pages of ``GET /v1/predictions`` (100 each) :meth:`ReplicateClient.find_jobs` reads at
most: a lookup stays bounded on an account with a long history."""

_PROVIDER_OPTIONS = frozenset({"prefer_wait"})

_NAME = r"[A-Za-z0-9][\w.-]*"
_VERSION_ID = re.compile(r"^[0-9a-f]{64}$")
_MODEL_ID = re.compile(rf"^(?P<model>{_NAME}/{_NAME})(?::(?P<version>[0-9a-f]{{64}}))?$")


@dataclass(frozen=True, slots=True)
class _ModelRef:
    """A parsed model id: the ``owner/name`` (when given) and the pinned version (if any)."""

    name: str | None
    version: str | None


def _parse_model_id(model: str) -> _ModelRef | None:
    if _VERSION_ID.match(model):
        return _ModelRef(name=None, version=model)
    match = _MODEL_ID.match(model)
    if match is None:
        return None
    return _ModelRef(name=match["model"], version=match["version"])


class ReplicateClient(kit.ProviderClient):
    """Replicate predictions: official models, pinned versions, ``Prefer: wait``, ``Cancel-After``.

    ``provider_config`` options:
        prefer_wait: Seconds (1-60) to hold the create until the prediction is done; 0
            turns the hold off. Defaults to 10 for images and 0 for videos.
    """

    name: ClassVar[str] = "replicate"
    display_name: ClassVar[str] = "Replicate"
    job_noun: ClassVar[str] = "prediction"
    finds_jobs: ClassVar[bool] = True
    default_base_url: ClassVar[str] = "https://api.replicate.com"
    key_env_vars: ClassVar[tuple[str, ...]] = ("REPLICATE_API_TOKEN",)
    provider_config_options: ClassVar[frozenset[str]] = _PROVIDER_OPTIONS
    models = REPLICATE_MODELS
    generic_specs = GENERIC_SPECS

    # -- credentials -------------------------------------------------------------------

    def auth_headers(self) -> dict[str, str]:
        """``Authorization: Bearer <token>`` (Replicate's current scheme)."""
        return {"Authorization": f"Bearer {self.api_key().get_secret_value()}"}

    def download_headers(self, url: str) -> dict[str, SecretStr]:
        """The token for ``replicate.delivery`` (over https) and the API's own host only.

        Replicate's docs ask for the Authorization header on output file URLs; any other
        host is a third party and never sees the token.
        """
        scheme, host, _ = kit.url_origin(url)
        delivery = scheme == "https" and (
            host == "replicate.delivery" or host.endswith(".replicate.delivery")
        )
        if not (delivery or kit.same_origin(url, self.base_url)):
            return {}
        return {"Authorization": SecretStr(f"Bearer {self.api_key().get_secret_value()}")}

    # -- mapping -----------------------------------------------------------------------

    def registry_id(self) -> str | None:
        """The ``owner/name`` of the model id (a pinned version is looked up by its name;
        a bare version, by nothing)."""
        ref = _parse_model_id(self.model)
        return ref.name if ref is not None else None

    def _model_ref(self) -> _ModelRef:
        ref = _parse_model_id(self.model)
        if ref is None:
            raise self.refusal(
                f"{self.model!r} is not a Replicate model id: use 'owner/name', "
                "'owner/name:<64-hex version>' or a bare 64-hex version"
            )
        return ref

    def _prefer_wait_option(self) -> int | None:
        value = self.settings.provider_config.get("prefer_wait")
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise self.refusal(
                f"provider_config['prefer_wait'] must be whole seconds >= 0, got {value!r}"
            )
        return value

    def _prepare(
        self, kind: kit.JobKind, request: kit.VideoGenerationRequest | kit.ImageGenerationRequest
    ) -> kit.PreparedJob:
        ref = self._model_ref()
        self._prefer_wait_option()
        job = self.prepare_from_spec(kind, request)
        # Official models are addressed by name and take no version; a pinned version
        # goes in the body of the generic create.
        pinned = {} if ref.version is None else {"version": ref.version}
        job.payload = {**pinned, "input": job.payload}
        return job

    def prepare_video(self, request: kit.VideoGenerationRequest) -> kit.PreparedJob:
        """Map a video request to ``{"input": {...}}`` (plus ``version`` when pinned).

        Raises:
            ValidationError: The model id or a ``provider_config`` option is malformed.
        """
        return self._prepare("video", request)

    def prepare_image(self, request: kit.ImageGenerationRequest) -> kit.PreparedJob:
        """Map an image request to ``{"input": {...}}`` (plus ``version`` when pinned).

        Raises:
            ValidationError: The model id or a ``provider_config`` option is malformed.
        """
        return self._prepare("image", request)

    # -- lifecycle ---------------------------------------------------------------------

    def job_urls(self, job_id: str) -> kit.JobUrls:
        """``{base}/v1/predictions/{id}`` (status and output) and its ``/cancel``."""
        prediction = f"{self.base_url}/v1/predictions/{job_id}"
        return kit.JobUrls(status=prediction, cancel=f"{prediction}/cancel")

    def _prefer_wait(self, kind: kit.JobKind, time_left: float | None) -> int:
        configured = self._prefer_wait_option()
        seconds = DEFAULT_PREFER_WAIT[kind] if configured is None else configured
        if seconds <= 0:
            return 0
        seconds = min(MAX_PREFER_WAIT, max(1, seconds))
        if time_left is not None:
            seconds = min(seconds, int(time_left))
        return max(0, seconds)

    def _create_url(self) -> str:
        ref = self._model_ref()
        if ref.version is None and ref.name is not None:
            return f"{self.base_url}/v1/models/{ref.name}/predictions"
        return f"{self.base_url}/v1/predictions"

    async def submit(self, job: kit.PreparedJob, *, time_left: float | None) -> kit.SubmittedJob:
        """Create the prediction; its reply is the first snapshot (terminal after a hold).

        Should the reply's body be unreadable, the prediction's id is taken from its
        ``Location`` header (on the API's origin), where one is sent.

        Raises:
            TarashException: The create was refused (mapped by :meth:`parse_error`).
        """
        headers: dict[str, str] = {}
        if time_left is not None:
            # Replicate stops the prediction at this deadline even if we never come back:
            # "aborted" (not billed) when it had not started, "canceled" while running.
            # Rounded up so our own deadline (and remote cancel) comes first.
            headers["Cancel-After"] = f"{max(1, math.ceil(time_left))}s"
        wait = self._prefer_wait(job.kind, time_left)
        read_timeout: float | None = None
        if wait:
            headers["Prefer"] = f"wait={wait}"
            read_timeout = wait + HOLD_READ_MARGIN
        accepted = await self._send_submit(
            self._create_url(),
            id_field="id",
            headers=headers,
            json=job.payload,
            read_timeout=read_timeout,
            held=read_timeout is not None,
        )
        body = accepted.body or {}
        urls: dict[str, Any] = body["urls"] if isinstance(body.get("urls"), dict) else {}
        handle = self.new_handle(
            job.kind, accepted.job_id, status_url=urls.get("get"), cancel_url=urls.get("cancel")
        )
        # A reply whose body could not be read says nothing of the prediction's state: the
        # waiter asks for it.
        snapshot = self._snapshot(accepted.body) if accepted.body is not None else None
        return kit.SubmittedJob(handle=handle, snapshot=snapshot)

    async def find_jobs(
        self, job: kit.PreparedJob, *, created_after: datetime, created_before: datetime
    ) -> list[kit.JobHandle]:
        """Predictions of this model created in the window with exactly ``job``'s input.

        Replicate lists an account's predictions newest first (``GET /v1/predictions``,
        cursor pages, each with its ``input``, ``model``/``version`` and ``created_at``);
        the pages are read back to ``created_after``, at most :data:`FIND_PAGES` of them.

        Raises:
            TarashException: The listing failed after retries, or it stopped before the
                window's start (the pages ran out, or a cursor left the API's origin), or a
                prediction of the model in the window no longer shows its input
                (``data_removed``, an hour after it), so the lookup could not be complete.
        """
        ref = self._model_ref()
        wanted_input = job.payload.get("input")
        found: list[kit.JobHandle] = []
        url: str | None = f"{self.base_url}/v1/predictions"
        for _ in range(FIND_PAGES):
            if url is None:
                return found  # the account's first prediction was read
            if not kit.same_origin(url, self.base_url):
                break  # a cursor off the API's origin would receive the key
            body = reply_object(await self._send("status", "GET", url, expect_object=True))
            results = body.get("results")
            for prediction in results if isinstance(results, list) else []:
                if not isinstance(prediction, dict):
                    continue
                created = parse_time(prediction.get("created_at"))
                if created is None or created > created_before:
                    continue
                if created < created_after:
                    return found  # newest first: the rest are older still
                same_model = (
                    prediction.get("version") == ref.version
                    if ref.version is not None
                    else prediction.get("model") == ref.name
                )
                if same_model and (
                    prediction.get("data_removed") or not isinstance(prediction.get("input"), dict)
                ):
                    # An hour after it, Replicate removes a prediction's input: it may be
                    # this request's, and "none found" would resend it (paying twice).
                    raise kit.TarashException(
                        f"replicate: a {self.model} prediction in the window "
                        f"({prediction.get('id')}) no longer shows its input (Replicate "
                        "removes it an hour after the prediction): whether one is this "
                        "request's cannot be told",
                        provider=self.name,
                        model=self.model,
                        fallback_allowed=False,
                    )
                if same_model and prediction.get("input") == wanted_input:
                    urls = prediction.get("urls")
                    urls = urls if isinstance(urls, dict) else {}
                    found.append(
                        self.new_handle(
                            job.kind,
                            str(prediction["id"]),
                            status_url=urls.get("get"),
                            cancel_url=urls.get("cancel"),
                        )
                    )
            following = body.get("next")
            url = following if isinstance(following, str) else None
        if url is None:
            return found
        raise kit.TarashException(
            f"replicate: the lookup of {self.model} predictions stopped before "
            f"{created_after.isoformat()} (more than {FIND_PAGES} pages newer, or a page "
            "cursor off the API's origin): it could not be complete",
            provider=self.name,
            model=self.model,
            fallback_allowed=False,
        )

    async def poll(self, handle: kit.JobHandle) -> kit.JobSnapshot:
        """``GET`` the prediction and map its status.

        Raises:
            TarashException: The status call failed after retries.
        """
        return self._snapshot(await self.read_job(handle, "status"))

    def _snapshot(self, body: dict[str, Any]) -> kit.JobSnapshot:
        status = body.get("status")
        request_id = body.get("id") if isinstance(body.get("id"), str) else None
        origin = self.error_origin(request_id, body)
        match status:
            case "starting":
                # Cold boot or queue: Replicate gives no queue position.
                return kit.JobSnapshot(kit.JobState.QUEUED, body)
            case "processing":
                return kit.JobSnapshot(
                    kit.JobState.PROCESSING,
                    body,
                    progress_percent=progress_from_logs(body.get("logs")),
                )
            case "succeeded":
                return kit.JobSnapshot(kit.JobState.COMPLETED, body, progress_percent=100)
            case "failed":
                return kit.JobSnapshot(kit.JobState.FAILED, body, error=failure_error(body, origin))
            case "canceled":
                return kit.JobSnapshot(
                    kit.JobState.CANCELLED,
                    body,
                    error=kit.JobCancelledError("the prediction was canceled", **origin),
                )
            case "aborted":
                return kit.JobSnapshot(
                    kit.JobState.CANCELLED,
                    body,
                    error=kit.JobCancelledError(
                        "the prediction was aborted: its Cancel-After deadline passed before "
                        "it started, not billed",
                        **origin,
                    ),
                )
            case _:
                return self.unknown_status(body, status, request_id=request_id)

    async def _finished_prediction(
        self, handle: kit.JobHandle, snapshot: kit.JobSnapshot
    ) -> dict[str, Any]:
        body = snapshot.raw
        if body.get("output") is None and not body.get("data_removed"):
            # The output normally rides on the terminal prediction; read it once if not.
            body = await self.read_job(handle, "result", at="status")
        return body

    async def fetch_video(
        self, handle: kit.JobHandle, snapshot: kit.JobSnapshot
    ) -> kit.VideoOutput:
        """The first video URL (or data URI) of the output.

        Raises:
            GenerationFailedError: The output is empty or was removed (1 h retention).
        """
        body = await self._finished_prediction(handle, snapshot)
        origin = self.error_origin(handle.request_id, body)
        video = of_kind(output_references(body, origin), "video/")[0]
        return kit.VideoOutput(
            video=video,
            content_type=guess_content_type(video),
            expires_at=expires_at(body, video),
            raw=body,
        )

    async def fetch_image(
        self, handle: kit.JobHandle, snapshot: kit.JobSnapshot
    ) -> kit.ImageOutput:
        """Every image URL (or data URI) of the output.

        Raises:
            GenerationFailedError: The output is empty or was removed (1 h retention).
        """
        body = await self._finished_prediction(handle, snapshot)
        origin = self.error_origin(handle.request_id, body)
        images = of_kind(output_references(body, origin), "image/")
        return kit.ImageOutput(
            images=list(images),
            content_type=guess_content_type(images[0]),
            expires_at=expires_at(body, images[0]),
            raw=body,
        )

    async def cancel(self, handle: kit.JobHandle) -> bool:
        """``POST .../cancel``; True when Replicate reports the prediction ``canceled``.

        A prediction that is unknown (404) or already finished is not cancelled: False.
        """
        body = await self.request_cancel(handle)
        return body is not None and body.get("status") == "canceled"

    # -- errors ------------------------------------------------------------------------

    def parse_error(
        self, response: httpx.Response, call: kit.CallContext = kit.UNKNOWN_CALL
    ) -> kit.TarashException:
        """Map Replicate's problem body (``title``, ``detail``, ``invalid_fields``) to an error.

        402 is insufficient credit, 422 a validation error listing the invalid fields, 429
        a rate limit carrying ``Retry-After``; a refusal worded as moderation becomes
        :class:`ContentModerationError`.
        """
        body = self.error_body(response)
        status = response.status_code
        title = str(body.fields.get("title") or "").strip()
        detail = str(body.fields.get("detail") or "").strip()
        invalid = body.fields.get("invalid_fields")
        if isinstance(invalid, list) and invalid:
            listed = "; ".join(
                f"{item.get('field', '?')}: {item.get('description', item.get('type', '?'))}"
                for item in invalid
                if isinstance(item, dict)
            )
            detail = f"invalid fields: {listed}" if listed else detail
        message = (
            ": ".join(part for part in (title, detail) if part)
            or body.text
            or f"HTTP {status} from Replicate"
        )
        origin = self.error_origin(call.request_id, body.raw)
        if status in (400, 422) and MODERATION.search(message):
            return kit.ContentModerationError(message, status_code=status, **origin)
        return kit.error_for_status(status, message, headers=response.headers, **origin)
