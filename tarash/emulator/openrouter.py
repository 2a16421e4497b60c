"""OpenRouter's asynchronous video API (real base ``https://openrouter.ai/api/v1``), under
``/openrouter`` (clients are given ``/openrouter/api/v1`` as their base).

Routes, relative to the mount::

    POST /api/v1/videos                  create a video job -> 202 {id, polling_url, status}
    GET  /api/v1/videos/models           the video models, their capabilities and prices
    GET  /api/v1/videos/{job_id}         the job: pending | in_progress | completed | failed
                                         | cancelled | expired
    GET  /api/v1/videos/{job_id}/content the finished MP4 (``?index=0``), with the key

How jobs end on the wire: ``completed`` names ``unsigned_urls`` (this emulator's
``/content`` URL) and ``usage.cost`` (the model's per-second price times the seconds); a
``job_failure`` is ``failed`` with ``error`` (a string); a ``content_refusal`` is
``failed`` with an error naming content moderation. There is no cancel route (OpenRouter
has none): a ``stuck`` job stays ``in_progress``, and only the emulator's own bookkeeping
ends one as ``cancelled``.

Bodies are checked against OpenRouter's contract, kept as data in
``contracts/openrouter.json`` with its sources and the date it was read (the client's code
is never the source): a wrong field, type or enum is a 400, as is a model the catalog does
not list or a value outside the model's own sets (``supported_durations``...). Errors are
OpenRouter's ``{"error": {"code", "message", "metadata"}}``. A request without the
emulator's key is a 401; the models endpoint, public at OpenRouter, needs none.
"""

from __future__ import annotations

import functools
import math
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from tarash.emulator import _wire as wire
from tarash.emulator._contract import check, load_contract
from tarash.emulator._faults import Operation
from tarash.emulator._jobs import Job, JobState
from tarash.emulator._media import MediaFile, MediaKind

__all__ = ["PROVIDER", "OpenRouterOptions", "check_body", "openrouter_error"]

NAME = "openrouter"
FAKE_KEY = "sk-or-v1-emulator" + "0" * 48
RECORDED_HEADERS = ("user-agent", "content-type")
DEFAULT_SECONDS = 8
"""What a request without ``duration`` makes (the emulator's choice)."""
FAILURE = "Video generation failed at the upstream provider."
MODERATION = "The request was flagged by content moderation."


@functools.cache
def _contract() -> Mapping[str, Any]:
    return load_contract(NAME)


def models() -> Mapping[str, Mapping[str, Any]]:
    """The catalog the emulator serves, by id (from ``contracts/openrouter.json``)."""
    return {model["id"]: model for model in _contract()["models"]}


@dataclass(frozen=True, kw_only=True)
class OpenRouterOptions(wire.ProviderOptions):
    """How OpenRouter is emulated.

    Attributes:
        expire_unstarted_after: A job still queued this many seconds after its create is
            ``expired``; ``None``: never.
    """

    provider: ClassVar[str] = "openrouter"
    expire_unstarted_after: float | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.expire_unstarted_after is not None and not self.expire_unstarted_after >= 0:
            raise ValueError(
                f"expire_unstarted_after must be >= 0, got {self.expire_unstarted_after!r}"
            )


def openrouter_error(
    status_code: int,
    message: str,
    metadata: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """OpenRouter's error body: ``{"error": {"code": <status>, "message", "metadata"}}``."""
    error: dict[str, Any] = {"code": status_code, "message": message}
    if metadata is not None:
        error["metadata"] = dict(metadata)
    return wire.json_response({"error": error}, status_code, headers)


def check_body(body: object) -> Response | None:
    """The 400 OpenRouter gives ``body`` at ``POST /videos``, or None when it is valid:
    the contract first, then the model (listed in the catalog) and its own sets."""
    if not isinstance(body, dict):
        return openrouter_error(400, "Request body must be a JSON object")
    issues = check(_contract()["bodies"]["videos"], body)
    if issues:
        first = issues[0]
        return openrouter_error(
            400,
            f"Invalid request: {first.field or 'body'} is {first.kind} "
            f"(expected {first.expected!r}, got {first.value!r})",
            {"issues": [{"path": issue.field, "kind": issue.kind} for issue in issues]},
        )
    if not str(body["prompt"]).strip():
        return openrouter_error(400, "Invalid request: prompt must not be empty")
    model = models().get(body["model"])
    if model is None:
        return openrouter_error(400, f"{body['model']} is not a valid video model ID")
    for field, listed in (
        ("duration", "supported_durations"),
        ("resolution", "supported_resolutions"),
        ("aspect_ratio", "supported_aspect_ratios"),
        ("size", "supported_sizes"),
    ):
        allowed = model.get(listed)
        if field in body and allowed is not None and body[field] not in allowed:
            return openrouter_error(
                400,
                f"{field} {body[field]!r} is not supported by {model['id']}; supported: {allowed}",
            )
    frames = model.get("supported_frame_images", [])
    for frame in body.get("frame_images", []):
        if frame["frame_type"] not in frames:
            return openrouter_error(
                400, f"frame_type {frame['frame_type']!r} is not supported by {model['id']}"
            )
    for flag in ("generate_audio", "seed"):
        if flag in body and model.get(flag) is False:
            return openrouter_error(400, f"{flag} is not supported by {model['id']}")
    return None


def _seconds(job: Job) -> int:
    duration = job.input.get("duration")
    return duration if isinstance(duration, int) else DEFAULT_SECONDS


def _cost(job: Job) -> float:
    skus = models().get(job.model, {}).get("pricing_skus", {})
    per_second = float(skus.get("per-video-second", 0))
    return round(per_second * _seconds(job), 6) if math.isfinite(per_second) else 0.0


class OpenRouterRoutes(wire.ProviderRoutes):
    """The handlers, bound to one emulator's context."""

    name = NAME
    options_type: ClassVar[type[wire.ProviderOptions]] = OpenRouterOptions

    def options(self) -> OpenRouterOptions:
        """This provider's options."""
        return self.ctx.options(OpenRouterOptions)

    # -- auth and the base's hooks ------------------------------------------------------

    def _auth_error(self, request: Request) -> Response | None:
        scheme, _, key = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and self.ctx.key_accepted(self.name, key.strip()):
            return None
        return openrouter_error(401, "No auth credentials found")

    def _find(self, request: Request) -> Job | None:
        return self.ctx.store.get(self.name, request.path_params["job_id"])

    def _not_found(self, operation: Operation) -> Response:
        return openrouter_error(404, "Video generation job not found")

    def _throttled_body(self, retry_after: float) -> Any:
        return {"error": {"code": 429, "message": "Rate limit exceeded"}}

    def _forbidden(self) -> Response:
        return openrouter_error(403, "This key may not use this model")

    def _server_error(self, status_code: int) -> Response:
        return openrouter_error(status_code, "Internal Server Error")

    # -- routes -------------------------------------------------------------------------

    async def create(self, request: Request) -> Response:
        """``POST /api/v1/videos``."""
        fault = await self._screen_submit(request, None)
        if isinstance(fault, Response):
            return fault
        try:
            body = await wire.read_json(request)
        except ValueError:
            return openrouter_error(400, "Request body is not valid JSON")
        refused = check_body(body)
        if refused is not None:
            return refused
        model = str(body["model"])
        job = self.ctx.store.create(
            job_id=f"vgen_{uuid.uuid4().hex}",
            provider=self.name,
            model=model,
            input=body,
            headers=wire.recorded_headers(request, RECORDED_HEADERS),
            outcome=wire.job_outcome(self.ctx.job_fault(request, self.name, model)),
            start_timeout=self.options().expire_unstarted_after,
        )
        if fault is not None:  # drop_after_create: the job exists, the client never hears
            return wire.DroppedConnectionResponse()
        polling_url = f"{self._base(request)}/videos/{job.id}"
        return wire.json_response(
            {"id": job.id, "polling_url": polling_url, "status": "pending"}, 202
        )

    def _base(self, request: Request) -> str:
        return f"{self.ctx.origin(request)}/{NAME}/api/v1"

    async def list_models(self, request: Request) -> Response:
        """``GET /api/v1/videos/models`` (public: no key needed)."""
        return wire.json_response({"data": list(models().values())})

    def _render(self, request: Request, job: Job) -> dict[str, Any]:
        state = job.state_at(time.monotonic())
        body: dict[str, Any] = {
            "id": job.id,
            "polling_url": f"{self._base(request)}/videos/{job.id}",
        }
        if state is JobState.QUEUED:
            return {**body, "status": "pending"}
        if state is JobState.RUNNING:
            return {**body, "status": "in_progress"}
        if state is JobState.SUCCEEDED:
            return {
                **body,
                "status": "completed",
                "generation_id": f"gen-{job.id}",
                "unsigned_urls": [f"{body['polling_url']}/content?index=0"],
                "usage": {"cost": _cost(job), "is_byok": False},
            }
        if state is JobState.REFUSED:
            return {**body, "status": "failed", "error": MODERATION}
        if state is JobState.FAILED:
            return {**body, "status": "failed", "error": FAILURE}
        if state is JobState.EXPIRED:
            return {**body, "status": "expired"}
        return {**body, "status": "cancelled"}

    async def get_job(self, request: Request) -> Response:
        """``GET /api/v1/videos/{job_id}``."""
        job = self._requested_job(request, "status")
        if isinstance(job, Response):
            return job
        return wire.json_response(self._render(request, job))

    async def content(self, request: Request) -> Response:
        """``GET /api/v1/videos/{job_id}/content?index=0``: the MP4 of a completed job."""
        job = self._requested_job(request, "result")
        if isinstance(job, Response):
            return job
        if job.state_at(time.monotonic()) is not JobState.SUCCEEDED:
            return openrouter_error(400, "Video generation is not completed")
        if request.query_params.get("index", "0") != "0":
            return openrouter_error(404, "No video at that index")
        media = MediaFile(job.id, MediaKind.VIDEO)
        return Response(media.content(), media_type=media.content_type)


def build_routes(ctx: wire.EmulatorContext) -> list[BaseRoute]:
    """The OpenRouter routes, relative to the ``/openrouter`` mount."""
    handlers = OpenRouterRoutes(ctx)
    return [
        Route("/api/v1/videos", handlers.create, methods=["POST"]),
        Route("/api/v1/videos/models", handlers.list_models, methods=["GET"]),
        Route("/api/v1/videos/{job_id}", handlers.get_job, methods=["GET"]),
        Route("/api/v1/videos/{job_id}/content", handlers.content, methods=["GET"]),
    ]


PROVIDER = wire.Provider(
    name=NAME,
    fake_key=FAKE_KEY,
    build_routes=build_routes,
    options=OpenRouterOptions,
    base_path="/api/v1",
)
