"""Runway's API (real base ``https://api.dev.runwayml.com``), under ``/runway`` (clients are
given ``/runway`` as their base and add ``/v1/...``).

Routes, relative to the mount::

    POST   /v1/text_to_video    create -> {"id"}
    POST   /v1/image_to_video   create (``promptImage``) -> {"id"}
    POST   /v1/video_to_video   create (``videoUri``: gen4_aleph, aleph2) -> {"id"}
    POST   /v1/text_to_image    create -> {"id"}
    GET    /v1/tasks/{id}       the task
    DELETE /v1/tasks/{id}       cancel a running task, delete a finished one (204)

How tasks end on the wire: ``PENDING`` (``THROTTLED`` instead while queued when
:attr:`RunwayOptions.throttle` is set: over the account's concurrency) -> ``RUNNING`` with
``progress`` 0..1 -> ``SUCCEEDED`` with ``output[]`` (media URLs); a ``job_failure`` is
``FAILED`` with ``failureCode`` ``INTERNAL.BAD_OUTPUT.CODE01``, a ``content_refusal``
``FAILED`` with ``SAFETY.INPUT.TEXT``; a cancelled task is ``CANCELLED`` and, once
deleted, gone (404).

Every request needs ``Authorization: Bearer <key>`` and ``X-Runway-Version``; bodies are
checked as Runway checks them (model, ratio, duration per model) and refused with its
``{"error", "issues"}`` 400.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from tarash.emulator import _wire as wire
from tarash.emulator._faults import Operation
from tarash.emulator._jobs import Job, JobState
from tarash.emulator._media import MediaFile, MediaKind

NAME = "runway"
FAKE_KEY = "key_" + "0" * 128
API_VERSIONS = ("2024-11-06",)
RECORDED_HEADERS = ("x-runway-version", "user-agent", "content-type")

# Runway's contract as data, the emulator's own (not the client's ``runway_models``).
# Source: the official runwayml/sdk-python, generated from Runway's OpenAPI (commit c604e0e,
# 2026-07-27; checked 2026-12-07): ``X-Runway-Version`` 2024-11-06 (``_client.py``), and per
# model the ``ratio``/``duration`` literals of ``types/{text_to_video,image_to_video,
# text_to_image}_create_params.py``: gen4.5 2-10 s ("an integer from 2 to 10"), veo3 8 s,
# veo3.1 and veo3.1_fast 4/6/8 s; gen4_turbo's ``duration`` is a bare int there (2-10 is the
# emulator's reading of Runway's docs). The emulator is laxer than that contract in two
# ways: it takes every video model on both video endpoints (Runway takes gen4_turbo and
# veo3 on image_to_video only) and all six gen4 ratios on text_to_video (gen4.5's
# text-to-video takes 1280:720 and 720:1280 only). Narrowing them would refuse requests
# the library sends today (a text-only gen4_turbo goes to text_to_video): kept, reported.
_GEN4_RATIOS = ("1280:720", "720:1280", "1104:832", "832:1104", "960:960", "1584:672")
_VEO_RATIOS = ("1280:720", "720:1280", "1080:1920", "1920:1080")
_IMAGE_RATIOS = (
    "1024:1024", "1080:1080", "1168:880", "1360:768", "1440:1080", "1080:1440", "1808:768",
    "1920:1080", "1080:1920", "2112:912", "1280:720", "720:1280", "720:720", "960:720",
    "720:960", "1680:720",
)  # fmt: skip
VIDEO_MODELS: dict[str, tuple[tuple[str, ...], tuple[int, ...]]] = {
    "gen4.5": (_GEN4_RATIOS, tuple(range(2, 11))),
    "gen4_turbo": (_GEN4_RATIOS, tuple(range(2, 11))),
    "veo3": (_VEO_RATIOS, (8,)),
    "veo3.1": (_VEO_RATIOS, (4, 6, 8)),
    "veo3.1_fast": (_VEO_RATIOS, (4, 6, 8)),
    # Dropped from Runway's model list in 2026; served here so the seed's snippet runs.
    "gen3a_turbo": (("1280:768", "768:1280"), (5, 10)),
}
"""Video model -> (ratios, durations)."""
IMAGE_MODELS = ("gen4_image", "gen4_image_turbo")
FAILURES = {
    JobState.FAILED: ("An unexpected error occurred.", "INTERNAL.BAD_OUTPUT.CODE01"),
    JobState.EXPIRED: ("An unexpected error occurred.", "INTERNAL"),
    JobState.REFUSED: ("Some inputs did not pass content moderation.", "SAFETY.INPUT.TEXT"),
}


@dataclass(frozen=True, kw_only=True)
class RunwayOptions(wire.ProviderOptions):
    """How Runway is emulated.

    Attributes:
        throttle: Report queued tasks as ``THROTTLED`` (the account is over its
            concurrency: accepted, waiting for a slot) rather than ``PENDING``.
        credits_per_second: The ``cost.credits`` a video second costs (images: one unit).
    """

    provider: ClassVar[str] = "runway"

    throttle: bool = False
    credits_per_second: int = 5


def runway_error(
    status_code: int, message: str, issues: list[dict[str, Any]] | None = None
) -> Response:
    """Runway's error body: ``{"error"}`` plus ``issues`` for a validation failure."""
    body: dict[str, Any] = {"error": message}
    if issues is not None:
        body.update(issues=issues, docUrl="https://docs.dev.runwayml.com/api")
    return wire.json_response(body, status_code)


def invalid(path: str, message: str, **detail: Any) -> Response:
    """The 400 Runway gives a body whose ``path`` is wrong."""
    issue = {"code": detail.pop("code", "custom"), "message": message, "path": [path], **detail}
    return runway_error(400, "Validation of body failed", [issue])


class RunwayRoutes(wire.ProviderRoutes):
    """The handlers, bound to one emulator's context."""

    name = NAME
    options_type: ClassVar[type[wire.ProviderOptions]] = RunwayOptions

    def options(self) -> RunwayOptions:
        """This provider's options."""
        return self.ctx.options(RunwayOptions)

    def _auth_error(self, request: Request) -> Response | None:
        scheme, _, key = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not self.ctx.key_accepted(self.name, key.strip()):
            return runway_error(401, "Unauthorized: the API key is missing or invalid.")
        version = request.headers.get("x-runway-version")
        if version is None:
            return runway_error(400, "The X-Runway-Version header is required.")
        if version not in API_VERSIONS:
            return runway_error(400, f"Invalid X-Runway-Version {version!r}.")
        return None

    def _find(self, request: Request) -> Job | None:
        job = self.ctx.store.get(self.name, request.path_params["task_id"])
        return None if job is None or job.extra.get("deleted") else job

    def _not_found(self, operation: Operation) -> Response:
        return runway_error(404, "Task not found.")

    def _throttled_body(self, retry_after: float) -> Any:
        return {"error": "You have exceeded the rate limit. Please try again later."}

    def _server_error(self, status_code: int) -> Response:
        return runway_error(status_code, "An unexpected error occurred.")

    # -- create ---------------------------------------------------------------------------

    def _check(self, endpoint: str, body: dict[str, Any]) -> Response | None:
        """The 400 Runway gives ``body`` at ``endpoint``, or None."""
        model = body.get("model")
        image = endpoint == "text_to_image"
        models = IMAGE_MODELS if image else tuple(VIDEO_MODELS)
        if model not in models:
            return invalid("model", "Invalid option", code="invalid_value", values=list(models))
        prompt = body.get("promptText")
        if prompt is not None and (not isinstance(prompt, str) or len(prompt) > 1000):
            return invalid("promptText", "Expected a string of at most 1000 characters")
        if endpoint != "image_to_video" and not prompt:
            return invalid("promptText", "Required", code="invalid_type")
        if endpoint == "image_to_video":
            frames = body.get("promptImage")
            if not (isinstance(frames, str) and frames) and not (
                isinstance(frames, list) and frames and all(isinstance(f, dict) for f in frames)
            ):
                return invalid("promptImage", "Required", code="invalid_type")
        ratio = body.get("ratio")
        if image:
            if model == "gen4_image_turbo" and not body.get("referenceImages"):
                return invalid("referenceImages", "Required", code="invalid_type")
            if ratio not in _IMAGE_RATIOS:
                return invalid(
                    "ratio", "Invalid option", code="invalid_value", values=list(_IMAGE_RATIOS)
                )
            return None
        ratios, durations = VIDEO_MODELS[str(model)]
        if ratio is not None and ratio not in ratios:
            return invalid("ratio", "Invalid option", code="invalid_value", values=list(ratios))
        duration = body.get("duration", durations[-1] if len(durations) == 1 else 5)
        if isinstance(duration, bool) or not isinstance(duration, int) or duration not in durations:
            return invalid("duration", f"Expected one of {list(durations)}", code="invalid_value")
        return None

    async def _create(
        self,
        request: Request,
        endpoint: str,
        check: Callable[[dict[str, Any]], Response | None] | None = None,
    ) -> Response:
        fault = await self._screen_submit(request, None)
        if isinstance(fault, Response):
            return fault
        try:
            body = await wire.read_json(request)
        except ValueError:
            return runway_error(400, "Invalid JSON body.")
        if not isinstance(body, dict):
            return runway_error(400, "The request body must be a JSON object.")
        refused = self._check(endpoint, body) if check is None else check(body)
        if refused is not None:
            return refused
        model = str(body["model"])
        job = self.ctx.store.create(
            job_id=str(uuid.uuid4()),
            provider=self.name,
            model=model,
            input={**body, "endpoint": endpoint},
            headers=wire.recorded_headers(request, RECORDED_HEADERS),
            outcome=wire.job_outcome(self.ctx.job_fault(request, self.name, model)),
        )
        if fault is not None:  # drop_after_create: the task exists, the client never hears
            return wire.DroppedConnectionResponse()
        return wire.json_response({"id": job.id})

    async def text_to_video(self, request: Request) -> Response:
        """``POST /v1/text_to_video``."""
        return await self._create(request, "text_to_video")

    async def image_to_video(self, request: Request) -> Response:
        """``POST /v1/image_to_video``."""
        return await self._create(request, "image_to_video")

    async def text_to_image(self, request: Request) -> Response:
        """``POST /v1/text_to_image``."""
        return await self._create(request, "text_to_image")

    async def video_to_video(self, request: Request) -> Response:
        """``POST /v1/video_to_video``: gen4_aleph and aleph2, checked against their own
        fields (an unknown one is refused, as Runway's validation does)."""
        # The contract: runwayml/sdk-python ``types/video_to_video_create_params.py``:
        # ``Gen4Aleph`` at commit 6fbc91a (2026-06-05, the last SDK with it), ``Variant0``
        # (aleph2) at c604e0e (2026-07-27); read 2026-12-08. Field -> required.
        accepted = {
            "gen4_aleph": {
                "model": True,
                "promptText": True,
                "videoUri": True,
                "contentModeration": False,
                "ratio": False,
                "references": False,
                "seed": False,
            },
            "aleph2": {
                "model": True,
                "videoUri": True,
                "promptText": False,
                "contentModeration": False,
                "keyframes": False,
                "ratio": False,
                "seed": False,
                "targetAspectRatio": False,
            },
        }
        gen4_ratios = (*_GEN4_RATIOS, "848:480", "640:480")

        def check(body: dict[str, Any]) -> Response | None:
            model = body.get("model")
            fields = accepted.get(str(model))
            if fields is None:
                return invalid("model", "Invalid option", code="invalid_value", values=[*accepted])
            unknown = sorted(set(body) - set(fields))
            if unknown:
                return invalid(unknown[0], "Unrecognized key", code="unrecognized_keys")
            for name, required in fields.items():
                if required and body.get(name) in (None, ""):
                    return invalid(name, "Required", code="invalid_type")
            prompt = body.get("promptText")
            if prompt is not None and (not isinstance(prompt, str) or not 0 < len(prompt) <= 1000):
                return invalid(
                    "promptText", "Expected a non-empty string of at most 1000 characters"
                )
            uri = body["videoUri"]
            if not isinstance(uri, str) or not uri.startswith(
                ("https://", "http://", "data:video/")
            ):
                return invalid("videoUri", "Expected an HTTPS URL or a video data URI")
            seed = body.get("seed")
            if seed is not None and (
                isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= 4294967295
            ):
                return invalid("seed", "Expected an integer from 0 to 4294967295")
            if model == "gen4_aleph" and body.get("ratio") not in (None, *gen4_ratios):
                return invalid(
                    "ratio", "Invalid option", code="invalid_value", values=list(gen4_ratios)
                )
            references = body.get("references")
            if references is not None and not (
                isinstance(references, list)
                and len(references) <= 1
                and all(
                    isinstance(item, dict)
                    and item.get("type") == "image"
                    and isinstance(item.get("uri"), str)
                    for item in references
                )
            ):
                return invalid("references", "Expected at most one {type: 'image', uri}")
            moderation = body.get("contentModeration")
            if moderation is not None and (
                not isinstance(moderation, dict)
                or set(moderation) - {"publicFigureThreshold"}
                or moderation.get("publicFigureThreshold", "auto") not in ("auto", "low")
            ):
                return invalid("contentModeration", "Expected {publicFigureThreshold: auto|low}")
            return None

        return await self._create(request, "video_to_video", check)

    # -- read / cancel ----------------------------------------------------------------------

    def _cost(self, job: Job) -> dict[str, int]:
        if job.input.get("endpoint") == "text_to_image":
            return {"credits": 1}
        duration = job.input.get("duration")
        seconds = duration if isinstance(duration, int) else 5
        return {"credits": seconds * self.options().credits_per_second}

    def _render(self, request: Request, job: Job) -> dict[str, Any]:
        now = time.monotonic()
        state = job.state_at(now)
        body: dict[str, Any] = {"id": job.id, "createdAt": job.created_wall.isoformat()}
        cost = self._cost(job)
        if state is JobState.QUEUED:
            status = "THROTTLED" if self.options().throttle else "PENDING"
            return {**body, "status": status, "estimatedCost": cost}
        if state is JobState.RUNNING:
            progress = round(min(job.progress(now), 0.99), 2)
            return {**body, "status": "RUNNING", "progress": progress, "estimatedCost": cost}
        if state is JobState.SUCCEEDED:
            return {
                **body,
                "status": "SUCCEEDED",
                "cost": cost,
                "output": self._output(request, job),
            }
        if state is JobState.CANCELLED:
            return {**body, "status": "CANCELLED", "cost": {"credits": 0}}
        failure, code = FAILURES.get(state, FAILURES[JobState.FAILED])
        return {
            **body,
            "status": "FAILED",
            "cost": {"credits": 0},
            "failure": failure,
            "failureCode": code,
        }

    def _output(self, request: Request, job: Job) -> list[str]:
        if job.input.get("endpoint") == "text_to_image":
            width, _, height = str(job.input.get("ratio", "1024:1024")).partition(":")
            media = MediaFile(job.id, MediaKind.IMAGE, int(width), int(height))
        else:
            media = MediaFile(job.id, MediaKind.VIDEO)
        return [self.ctx.media_url(request, media)]

    async def get_task(self, request: Request) -> Response:
        """``GET /v1/tasks/{id}``."""
        job = self._requested_job(request, "status")
        if isinstance(job, Response):
            return job
        return wire.json_response(self._render(request, job))

    async def delete_task(self, request: Request) -> Response:
        """``DELETE /v1/tasks/{id}``: cancels a running task; a finished one is deleted."""
        job = self._requested_job(request, "cancel")
        if isinstance(job, Response):
            return job
        if not self.ctx.store.cancel(job):
            job.extra["deleted"] = True  # finished: deleted, never fetched again
        return Response(status_code=204)


def build_routes(ctx: wire.EmulatorContext) -> list[BaseRoute]:
    """The Runway routes, relative to the ``/runway`` mount."""
    handlers = RunwayRoutes(ctx)
    return [
        Route("/v1/text_to_video", handlers.text_to_video, methods=["POST"]),
        Route("/v1/image_to_video", handlers.image_to_video, methods=["POST"]),
        Route("/v1/video_to_video", handlers.video_to_video, methods=["POST"]),
        Route("/v1/text_to_image", handlers.text_to_image, methods=["POST"]),
        Route("/v1/tasks/{task_id}", handlers.get_task, methods=["GET"]),
        Route("/v1/tasks/{task_id}", handlers.delete_task, methods=["DELETE"]),
    ]


PROVIDER = wire.Provider(
    name=NAME,
    fake_key=FAKE_KEY,
    build_routes=build_routes,
    options=RunwayOptions,
)
