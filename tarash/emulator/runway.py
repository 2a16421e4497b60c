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
checked against Runway's own contract (``contracts/runway.json``: per endpoint, the models
it takes and each model's fields, types, values and ranges) and refused with its 400
``{"error": "Validation of body failed", "issues": [...]}``, every issue in zod's words
(``unrecognized_keys``, ``invalid_type``, ``invalid_value``, ``too_big``/``too_small``).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, ClassVar

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from tarash.emulator import _wire as wire
from tarash.emulator._contract import Issue, Leniency, check, load_contract, untolerated
from tarash.emulator._faults import Operation
from tarash.emulator._jobs import Job, JobState
from tarash.emulator._media import MediaFile, MediaKind

NAME = "runway"
FAKE_KEY = "key_" + "0" * 128
RECORDED_HEADERS = ("x-runway-version", "user-agent", "content-type")

# Runway's contract, the emulator's own (never the client's ``runway_models``):
# ``contracts/runway.json``, the create bodies per endpoint and model, extracted from the
# TypedDicts Stainless generates from Runway's OpenAPI in runwayml/sdk-python (its ``source``
# and ``read`` date are in the file), with ``X-Runway-Version`` from its client.
CONTRACT = load_contract("runway")
API_VERSIONS: tuple[str, ...] = tuple(CONTRACT["api_versions"])
ENDPOINT_MODELS: Mapping[str, Mapping[str, Any]] = CONTRACT["endpoints"]
#: Every video model, on either video endpoint.
VIDEO_MODELS: tuple[str, ...] = tuple(
    sorted({*ENDPOINT_MODELS["text_to_video"], *ENDPOINT_MODELS["image_to_video"]})
)
IMAGE_MODELS: tuple[str, ...] = tuple(sorted(ENDPOINT_MODELS["text_to_image"]))
#: The client's known Runway wire bugs, by name (see ``RunwayOptions.lenient``).
KNOWN_CLIENT_BUGS: dict[str, Leniency] = {
    "gen3a-turbo-retired": Leniency(
        models=("gen3a_turbo",),
        fields=("model",),
        note="The client still sends the retired gen3a_turbo (with a ModelRetiredWarning); "
        "Runway's model lists no longer have it. Let through unchecked.",
    ),
}

#: The leniencies the client's integration tests need today (every known bug above).
CLIENT_TEST_LENIENCY = frozenset(KNOWN_CLIENT_BUGS)
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
        lenient: See :class:`ProviderOptions`; the names are :data:`KNOWN_CLIENT_BUGS`'.
    """

    provider: ClassVar[str] = "runway"
    known_client_bugs: ClassVar[Mapping[str, Leniency]] = MappingProxyType(KNOWN_CLIENT_BUGS)

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


def _elsewhere(model: str) -> dict[str, Any] | None:
    """``model``'s schema on another video endpoint, its image not required (for a model a
    known client bug posts to the wrong one), or None when no endpoint lists it."""
    for endpoint in ("image_to_video", "text_to_video"):
        found = ENDPOINT_MODELS[endpoint].get(model)
        if found is not None:
            required = [name for name in found.get("required", ()) if name != "promptImage"]
            return {**found, "required": required}
    return None


def zod_issue(issue: Issue) -> dict[str, Any]:
    """One of Runway's validation ``issues``, as zod (v4) words ``issue``."""
    path = list(issue.loc)
    if issue.kind == "unknown":
        return {
            "code": "unrecognized_keys",
            "keys": [path[-1]],
            "path": path[:-1],
            "message": f'Unrecognized key: "{path[-1]}"',
        }
    if issue.kind == "missing":
        return {
            "code": "invalid_type",
            "expected": "nonoptional",
            "path": path,
            "message": "Invalid input: expected nonoptional, received undefined",
        }
    if issue.kind == "type":
        received = "array" if isinstance(issue.value, list) else type(issue.value).__name__
        received = {"str": "string", "int": "number", "float": "number", "dict": "object"}.get(
            received, received
        )
        expected = "number" if issue.expected == "integer" else issue.expected
        return {
            "code": "invalid_type",
            "expected": expected,
            "path": path,
            "message": f"Invalid input: expected {expected}, received {received}",
        }
    if issue.kind == "enum":
        listed = "|".join(json.dumps(value) for value in issue.expected)
        return {
            "code": "invalid_value",
            "values": list(issue.expected),
            "path": path,
            "message": f"Invalid option: expected one of {listed}",
        }
    ((bound, limit),) = issue.expected.items()
    big = bound.startswith("max")
    origin = {"Length": "string", "Items": "array"}.get(bound[3:], "number")
    sign = "<=" if big else ">="
    return {
        "code": "too_big" if big else "too_small",
        "origin": origin,
        ("maximum" if big else "minimum"): limit,
        "inclusive": True,
        "path": path,
        "message": f"Too {'big' if big else 'small'}: expected {origin} to "
        f"{'have ' if origin != 'number' else 'be '}{sign}{limit}"
        f"{' characters' if origin == 'string' else ' items' if origin == 'array' else ''}",
    }


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

    def _forbidden(self) -> Response:
        return runway_error(403, "You do not have access to this resource.")

    def _server_error(self, status_code: int) -> Response:
        return runway_error(status_code, "An unexpected error occurred.")

    # -- create ---------------------------------------------------------------------------

    def _check(self, endpoint: str, body: dict[str, Any]) -> Response | None:
        """The 400 Runway gives ``body`` at ``endpoint``, or None.

        The model picks the schema (Runway's bodies are a union discriminated by
        ``model``); an unknown model is an ``invalid_value`` on ``model``, listing the
        endpoint's models. Otherwise every issue is listed, worded as zod (v4) words it.
        """
        models = ENDPOINT_MODELS[endpoint]
        model = body.get("model")
        leniencies = self.options().leniencies()
        schema = models.get(model) if isinstance(model, str) else None
        if schema is None:
            wrong = Issue(("model",), "enum", tuple(models), model)
            if untolerated([wrong], str(model), leniencies):
                return runway_error(400, "Validation of body failed", [zod_issue(wrong)])
            schema = _elsewhere(str(model))  # a known client bug, let through
            if schema is None:
                return None
        issues = untolerated(check(schema, body), str(model), leniencies)
        if not issues:
            return None
        return runway_error(400, "Validation of body failed", [zod_issue(i) for i in issues])

    async def _create(
        self,
        request: Request,
        endpoint: str,
        refuse: Callable[[dict[str, Any]], Response | None] | None = None,
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
        refused = self._check(endpoint, body) if refuse is None else refuse(body)
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
        """``POST /v1/video_to_video``: gen4_aleph and aleph2, checked as the other creates
        are (zod's issues), against schemas local to this route."""
        # The contract: runwayml/sdk-python ``types/video_to_video_create_params.py``:
        # ``Gen4Aleph`` at commit 6fbc91a (2026-06-05, the last SDK with it), ``Variant0``
        # (aleph2) at c604e0e (2026-07-27); read 2026-12-08. Runway's docs take a data URI
        # wherever a URI goes (5 MB images, 16 MB videos).
        moderation = {
            "type": "object",
            "properties": {"publicFigureThreshold": {"type": "string", "enum": ["auto", "low"]}},
        }
        seed = {"type": "integer", "minimum": 0, "maximum": 4294967295}
        gen4_ratios: tuple[str, ...] = ("1280:720", "720:1280", "1104:832", "960:960")
        gen4_ratios += ("832:1104", "1584:672", "848:480", "640:480")
        schemas: dict[str, dict[str, Any]] = {
            "gen4_aleph": {
                "type": "object",
                "properties": {
                    "model": {"type": "string", "enum": ["gen4_aleph"]},
                    "promptText": {"type": "string", "minLength": 1, "maxLength": 1000},
                    "videoUri": {"type": "string", "minLength": 1},
                    "contentModeration": moderation,
                    "ratio": {"type": "string", "enum": list(gen4_ratios)},
                    "references": {
                        "type": "array",
                        "maxItems": 1,
                        "items": {
                            "type": "object",
                            "properties": {
                                "type": {"type": "string", "enum": ["image"]},
                                "uri": {"type": "string"},
                            },
                            "required": ["type", "uri"],
                        },
                    },
                    "seed": seed,
                },
                "required": ["model", "promptText", "videoUri"],
            },
            "aleph2": {
                "type": "object",
                "properties": {
                    "model": {"type": "string", "enum": ["aleph2"]},
                    "videoUri": {"type": "string", "minLength": 1},
                    "promptText": {"type": "string", "minLength": 1},
                    "contentModeration": moderation,
                    "keyframes": {"type": "array", "maxItems": 5, "items": {"type": "object"}},
                    "ratio": {"type": "string"},
                    "seed": seed,
                    "targetAspectRatio": {
                        "type": "string",
                        "enum": ["16:9", "4:3", "3:2", "1:1", "2:3", "3:4", "9:16", "21:9"],
                    },
                },
                "required": ["model", "videoUri"],
            },
        }

        def refuse(body: dict[str, Any]) -> Response | None:
            model = body.get("model")
            schema = schemas.get(model) if isinstance(model, str) else None
            if schema is None:
                issues = [Issue(("model",), "enum", tuple(schemas), model)]
            else:
                issues = check(schema, body)
            if not issues:
                return None
            return runway_error(400, "Validation of body failed", [zod_issue(i) for i in issues])

        return await self._create(request, "video_to_video", refuse)

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
