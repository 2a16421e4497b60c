"""fal.ai queue API (real base ``https://queue.fal.run``), served under ``/fal``.

Routes, relative to the mount (``{app}`` is ``owner/alias``, see :func:`queue_app`)::

    POST {model_id...}                          submit     -> 200 IN_QUEUE + x-fal-request-id
    GET  {app}/requests/{id}/status?logs=0|1    status     -> IN_QUEUE | IN_PROGRESS | COMPLETED
    GET  {app}/requests/{id}/status/stream      SSE status -> one ``data:`` event per change
    GET  {app}/requests/{id}                    result     -> model output, or the error + status
    PUT  {app}/requests/{id}/cancel             cancel     -> 202 / 400 / 404

How jobs end on the wire (fal has no FAILED status: the SDKs only know IN_QUEUE,
IN_PROGRESS and COMPLETED, so every end is ``COMPLETED``, with ``error``/``error_type`` when
it did not succeed, and the result fetch answers with the error's HTTP status):

- success: no ``error``; result 200 with the model output.
- ``job_failure``: ``error`` "Internal Server Error", ``error_type`` ``internal_server_error``;
  result 500 (or the fault's ``status_code``).
- ``content_refusal``: ``error`` "The content was flagged by a content checker.",
  ``error_type`` ``content_policy_violation``; result 422 with fal's ``detail`` list.
- client cancel: ``error`` "Request was cancelled", ``error_type`` ``request_cancelled``;
  result 400.
- ``X-Fal-Request-Timeout`` passed before the job started: ``error`` "Request timed out",
  ``error_type`` ``request_timeout``; result 504 (+ ``X-Fal-Request-Timeout-Type: user``).

The cancel row is an emulator choice (fal does not document it).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, ClassVar

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from tarash.emulator import _wire as wire
from tarash.emulator._contract import Issue, Leniency, check, load_contract, untolerated
from tarash.emulator._faults import Operation
from tarash.emulator._jobs import Job, JobState
from tarash.emulator._media import DEFAULT_MEDIA_KINDS, MediaFile, MediaKind

NAME = "fal"
FAKE_KEY = "emulator-key-id:emulator-key-secret"

#: One queue position per this many seconds of remaining queue time, so
#: ``queue_position`` counts down to 0 as the job nears the front.
QUEUE_SLOT_SECONDS = 0.25

#: Request headers recorded on the job (``emu.jobs()``), lower-cased.
RECORDED_HEADERS = (
    "x-fal-request-timeout",
    "x-fal-queue-priority",
    "x-fal-runner-hint",
    "x-fal-no-retry",
    "x-fal-object-lifecycle-preference",
    "user-agent",
)

# Namespaces whose queue app id keeps a third segment (fal-client: get_handle / _queue_url).
_NAMESPACES = ("workflows", "comfy")

# fal-ai/flux/dev ``image_size`` presets -> the (width, height) of the PNG served (any other
# value gets the default's). Source: fal's model API page for FLUX.1 [dev]
# (https://fal.ai/models/fal-ai/flux/dev/api, the ``ImageSize`` enum, default
# ``landscape_4_3``; checked 2026-12-07). Only the served image's size follows it: the
# emulator does not refuse other values.
_IMAGE_SIZES = {
    "square_hd": (1024, 1024),
    "square": (512, 512),
    "portrait_4_3": (768, 1024),
    "portrait_16_9": (576, 1024),
    "landscape_4_3": (1024, 768),
    "landscape_16_9": (1024, 576),
}

# fal's contract, the emulator's own (never the client's ``fal_models``): each served model's
# input schema, from the TypeScript types fal generates from its models' OpenAPI in fal's
# JavaScript client (``contracts/fal.json``; its ``source`` and ``read`` date are in the file).
CONTRACT = load_contract("fal")

#: What fal's models make: the shared markers plus fal image families whose ids do not say
#: so (``fal-ai/nano-banana``, ``fal-ai/hidream-i1-full``, ``fal-ai/qwen-image``).
MEDIA_KINDS = DEFAULT_MEDIA_KINDS.extend(image=("nano-banana", "hidream"))


#: The client's known fal wire bugs, by name (see ``FalOptions.lenient``).
KNOWN_CLIENT_BUGS: dict[str, Leniency] = {}


@dataclass(frozen=True, kw_only=True)
class FalOptions(wire.ProviderOptions):
    """How fal is emulated.

    Attributes:
        media_kinds: See :class:`ProviderOptions`. A model id given here is served even
            when ``contracts/fal.json`` does not know it (without a schema check).
        lenient: See :class:`ProviderOptions`; the names are :data:`KNOWN_CLIENT_BUGS`'.
    """

    provider: ClassVar[str] = "fal"
    known_client_bugs: ClassVar[Mapping[str, Leniency]] = MappingProxyType(KNOWN_CLIENT_BUGS)


_CONTENT_POLICY_MSG = "The content was flagged by a content checker."

# (status error, error_type, result HTTP status) per unsuccessful end.
_ERRORS: dict[JobState, tuple[str, str, int]] = {
    JobState.FAILED: ("Internal Server Error", "internal_server_error", 500),
    JobState.REFUSED: (_CONTENT_POLICY_MSG, "content_policy_violation", 422),
    JobState.CANCELLED: ("Request was cancelled", "request_cancelled", 400),
    JobState.EXPIRED: ("Request timed out", "request_timeout", 504),
}


def queue_app(model_id: str) -> str:
    """The ``owner/alias`` part of a model id that status/result/cancel URLs use.

    ``fal-ai/flux/dev`` -> ``fal-ai/flux``; ``workflows/me/flow/x`` -> ``workflows/me/flow``.
    """
    parts = [part for part in model_id.split("/") if part]
    keep = 3 if parts and parts[0] in _NAMESPACES else 2
    return "/".join(parts[:keep])


def validation_detail(issue: Issue) -> dict[str, Any]:
    """One entry of fal's 422 ``detail`` list, as pydantic (v1) words ``issue``."""
    loc: list[str | int] = ["body", *issue.loc]
    if issue.kind == "missing":
        return {"loc": loc, "msg": "field required", "type": "value_error.missing"}
    if issue.kind == "unknown":
        return {"loc": loc, "msg": "extra fields not permitted", "type": "value_error.extra"}
    if issue.kind == "enum":
        permitted = ", ".join(repr(value) for value in issue.expected)
        return {
            "loc": loc,
            "msg": f"unexpected value; permitted: {permitted}",
            "type": "value_error.const",
            "ctx": {"given": issue.value, "permitted": list(issue.expected)},
        }
    if issue.kind == "type":
        msg, kind = _TYPE_ERRORS.get(issue.expected, ("invalid value", "value_error"))
        return {"loc": loc, "msg": msg, "type": kind}
    ((bound, limit),) = issue.expected.items()
    words = {
        "minimum": ("greater than or equal to", "number.not_ge", "limit_value"),
        "maximum": ("less than or equal to", "number.not_le", "limit_value"),
        "minLength": ("at least", "any_str.min_length", "limit_value"),
        "maxLength": ("at most", "any_str.max_length", "limit_value"),
        "minItems": ("at least", "list.min_items", "limit_value"),
        "maxItems": ("at most", "list.max_items", "limit_value"),
    }[bound]
    unit = {"minLength": " characters", "maxLength": " characters"}.get(bound, "")
    unit = {"minItems": " items", "maxItems": " items"}.get(bound, unit)
    return {
        "loc": loc,
        "msg": f"ensure this value {'has ' if unit else 'is '}{words[0]} {limit}{unit}",
        "type": f"value_error.{words[1]}",
        "ctx": {words[2]: limit},
    }


# pydantic v1's message and type for a value of the wrong type, by the expected type.
_TYPE_ERRORS = {
    "string": ("str type expected", "type_error.str"),
    "integer": ("value is not a valid integer", "type_error.integer"),
    "number": ("value is not a valid float", "type_error.float"),
    "boolean": ("value could not be parsed to a boolean", "type_error.bool"),
    "array": ("value is not a valid list", "type_error.list"),
    "object": ("value is not a valid dict", "type_error.dict"),
    "file": ("str type expected", "type_error.str"),
}


def _error(detail: Any, status_code: int, **headers: str) -> Response:
    return wire.json_response({"detail": detail}, status_code, headers)


class _FalRoutes(wire.ProviderRoutes):
    """The handlers, bound to one emulator's context."""

    name = NAME
    options_type = FalOptions
    media_kinds = MEDIA_KINDS

    # -- shared pieces ------------------------------------------------------------------

    def _not_found(self, operation: Operation) -> Response:
        if operation == "cancel":
            return wire.json_response({"status": "NOT_FOUND"}, 404)
        return _error("Request not found", 404)

    def _throttled_body(self, retry_after: float) -> Any:
        # fal documents no 429 body; FastAPI's ``detail`` shape is what its edge returns.
        return {"detail": "Rate limit exceeded. Please try again later."}

    def _server_error(self, status_code: int) -> Response:
        # No x-fal-request-id: an edge failure, which fal-client retries on 502/503/504.
        return wire.json_response({"detail": "Internal Server Error"}, status_code)

    def _auth_error(self, request: Request) -> Response | None:
        scheme, _, key = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "key" or not key.strip():
            return _error("Missing or invalid authorization header: expected 'Key <FAL_KEY>'", 401)
        if not self.ctx.key_accepted(NAME, key.strip()):
            return _error("No user found for Key ID and Secret", 401)
        return None

    def _urls(self, request: Request, job: Job) -> dict[str, str]:
        base = f"{self.ctx.origin(request)}/{NAME}/{job.extra['app']}/requests/{job.id}"
        return {
            "response_url": base,
            "status_url": f"{base}/status",
            "cancel_url": f"{base}/cancel",
        }

    def _find(self, request: Request) -> Job | None:
        job = self.ctx.store.get(NAME, request.path_params["request_id"])
        app = request.path_params["app"].strip("/")
        # Real clients use the owner/alias URL; the full model id is accepted too.
        if job is None or app not in (job.extra["app"], job.model):
            return None
        return job

    def _logs(self, job: Job, now: float) -> list[dict[str, str]]:
        def entry(message: str, at: float, level: str = "INFO") -> dict[str, str]:
            return {
                "message": message,
                "level": level,
                "source": "USER",
                "timestamp": wire.iso(job.wall(at)),
            }

        started = job.started_at(now)
        if started is None:
            return []
        logs = [entry(f"Starting generation with {job.model}", started)]
        state = job.state_at(now)
        if state is JobState.RUNNING:
            logs.append(entry(f"Generating: {min(99, round(job.progress(now) * 100))}%", now))
        elif state is JobState.SUCCEEDED:
            logs.append(entry("Generation complete", job.ended_at() or now))
        elif state in _ERRORS:
            logs.append(entry(_ERRORS[state][0], job.ended_at() or now, "ERROR"))
        return logs

    def _status_body(
        self, request: Request, job: Job, now: float, with_logs: bool
    ) -> dict[str, Any]:
        state = job.state_at(now)
        body: dict[str, Any] = {"status": "", "request_id": job.id, **self._urls(request, job)}
        # fal-client reads ``logs`` unconditionally for IN_PROGRESS/COMPLETED: always send it.
        body["logs"] = self._logs(job, now) if with_logs else None
        if state is JobState.QUEUED:
            body["status"] = "IN_QUEUE"
            body["queue_position"] = _queue_position(job, now)
        elif state is JobState.RUNNING:
            body["status"] = "IN_PROGRESS"
        else:
            body["status"] = "COMPLETED"
            started, ended = job.started_at(now), job.ended_at() or now
            body["metrics"] = (
                {} if started is None else {"inference_time": round(ended - started, 3)}
            )
            if state in _ERRORS:
                body["error"], body["error_type"], _ = _ERRORS[state]
        return body

    def _output(self, request: Request, job: Job) -> dict[str, Any]:
        run_seconds = round(job.ends_at - job.starts_at, 3)
        inline = job.input.get("sync_mode") is True  # flux: data URIs instead of URLs
        if self.media_kind(job.model) is MediaKind.VIDEO:
            video = MediaFile(f"{job.id}-0", MediaKind.VIDEO)
            return {
                "video": {
                    "url": video.data_uri() if inline else self.ctx.media_url(request, video),
                    "content_type": video.content_type,
                    "file_name": "output.mp4",
                    "file_size": len(video.content()),
                }
            }
        width, height = _image_size(job.input.get("image_size"))
        count = job.input.get("num_images", 1)
        count = max(1, min(4, count)) if isinstance(count, int) else 1
        images = []
        for index in range(count):
            image = MediaFile(f"{job.id}-{index}", MediaKind.IMAGE, width, height)
            url = image.data_uri() if inline else self.ctx.media_url(request, image)
            images.append(
                {"url": url, "width": width, "height": height, "content_type": image.content_type}
            )
        seed = job.input.get("seed")
        return {
            "images": images,
            "timings": {"inference": run_seconds},
            "seed": seed if isinstance(seed, int) else uuid.UUID(job.id).int % 2**31,
            "has_nsfw_concepts": [False] * count,
            "prompt": job.input.get("prompt", ""),
        }

    def _contract_error(self, model_id: str, payload: dict[str, Any]) -> Response | None:
        """fal's answer to a submit its model's contract refuses, or None.

        A model id neither in ``contracts/fal.json`` nor declared in the options'
        ``media_kinds`` (nor a ``workflows/``/``comfy/`` app) is fal's 404; a body that
        breaks the model's schema is the 422 pydantic's validation gives, with every issue
        in ``detail``.
        """
        options = self.ctx.options(FalOptions)
        schema = CONTRACT["models"].get(model_id)
        if schema is None:
            if model_id in options.media_kinds or model_id.split("/", 1)[0] in _NAMESPACES:
                # Declared by the user, or a user's own workflow/ComfyUI app (fal publishes
                # no schema for those): served without a contract.
                return None
            return _error(f"Application '{queue_app(model_id)}' not found", 404)
        issues = check(schema, payload, optional_null=True)
        issues = untolerated(issues, model_id, options.leniencies())
        if not issues:
            return None
        return _error([validation_detail(issue) for issue in issues], 422)

    # -- handlers -----------------------------------------------------------------------

    async def submit(self, request: Request) -> Response:
        """``POST /fal/{model_id}``: queue a job."""
        model_id = request.path_params["model_id"].strip("/")
        fault = await self._screen_submit(request, model_id)
        if isinstance(fault, Response):
            return fault
        try:
            payload = await wire.read_json(request)
        except ValueError:
            return _error(
                [{"loc": ["body"], "msg": "Invalid JSON body", "type": "value_error.jsondecode"}],
                422,
            )
        if payload is None:
            payload = {}
        if not isinstance(payload, dict):
            return _error(
                [{"loc": ["body"], "msg": "value is not a valid dict", "type": "type_error.dict"}],
                422,
            )
        if refused := self._contract_error(model_id, payload):
            return refused
        start_timeout: float | None = None
        if (raw_timeout := request.headers.get("x-fal-request-timeout")) is not None:
            try:
                start_timeout = float(raw_timeout)
            except ValueError:
                start_timeout = -1.0
            # fal requires > 1 s; the emulator takes any positive value so tests stay fast.
            if not start_timeout > 0:
                return _error("X-Fal-Request-Timeout must be a positive number of seconds", 400)
        job_fault = self.ctx.job_fault(request, NAME, model_id)
        job = self.ctx.store.create(
            job_id=str(uuid.uuid4()),
            provider=NAME,
            model=model_id,
            input=payload,
            headers=wire.recorded_headers(request, RECORDED_HEADERS),
            outcome=wire.job_outcome(job_fault),
            start_timeout=start_timeout,
            extra={
                "app": queue_app(model_id),
                "webhook": request.query_params.get("fal_webhook"),
                "failure_status": job_fault.status_code if job_fault else None,
            },
        )
        if fault is not None:  # drop_after_create: the job exists, the client never hears
            return wire.DroppedConnectionResponse()
        body = {
            "status": "IN_QUEUE",
            "request_id": job.id,
            **self._urls(request, job),
            "queue_position": _queue_position(job, time.monotonic()),
        }
        return wire.json_response(body, headers={"x-fal-request-id": job.id})

    async def status(self, request: Request) -> Response:
        """``GET .../requests/{id}/status``."""
        job = self._requested_job(request, "status")
        if isinstance(job, Response):
            return job
        body = self._status_body(request, job, time.monotonic(), _wants_logs(request))
        return wire.json_response(body, headers={"x-fal-request-id": job.id})

    async def status_stream(self, request: Request) -> Response:
        """``GET .../requests/{id}/status/stream``: SSE, one event per state change."""
        job = self._requested_job(request, "status")
        if isinstance(job, Response):
            return job
        return StreamingResponse(
            self._events(request, job, _wants_logs(request)),
            media_type="text/event-stream",
            headers={"cache-control": "no-cache", "x-fal-request-id": job.id},
        )

    async def _events(self, request: Request, job: Job, with_logs: bool) -> AsyncIterator[str]:
        last: str | None = None
        while True:
            now = time.monotonic()
            state = job.state_at(now)
            if state.value != last:
                last = state.value
                body = self._status_body(request, job, now, with_logs)
                yield f"data: {json.dumps(body, separators=(',', ':'))}\n\n"
            if state.is_terminal:
                return
            await job.wait_for_change(60.0)

    async def result(self, request: Request) -> Response:
        """``GET .../requests/{id}``: the model output, or its error."""
        job = self._requested_job(request, "result")
        if isinstance(job, Response):
            return job
        state = job.state_at(time.monotonic())
        headers = {"x-fal-request-id": job.id}
        if not state.is_terminal:
            return _error("Request is still in progress", 400, **headers)
        if state is JobState.SUCCEEDED:
            return wire.json_response(self._output(request, job), headers=headers)
        message, error_type, status_code = _ERRORS[state]
        headers["x-fal-error-type"] = error_type
        if state is JobState.REFUSED:
            detail: Any = [
                {
                    "loc": ["body", "prompt"],
                    "msg": message,
                    "type": error_type,
                    "url": "https://docs.fal.ai/errors#content_policy_violation",
                    "input": job.input.get("prompt", ""),
                    "categories": ["sexual"],
                }
            ]
            return _error(detail, status_code, **headers)
        if state is JobState.FAILED:
            status_code = job.extra["failure_status"] or status_code
        if state is JobState.EXPIRED:
            headers["x-fal-request-timeout-type"] = "user"
        return wire.json_response(
            {"detail": message, "error_type": error_type}, status_code, headers
        )

    async def cancel(self, request: Request) -> Response:
        """``PUT .../requests/{id}/cancel``."""
        job = self._requested_job(request, "cancel")
        if isinstance(job, Response):
            return job
        if not self.ctx.store.cancel(job):
            return wire.json_response({"status": "ALREADY_COMPLETED"}, 400)
        return wire.json_response({"status": "CANCELLATION_REQUESTED"}, 202)


def _wants_logs(request: Request) -> bool:
    return request.query_params.get("logs", "0").lower() in ("1", "true")


def _queue_position(job: Job, now: float) -> int:
    return max(0, int((job.starts_at - now) / QUEUE_SLOT_SECONDS))


def _image_size(value: Any) -> tuple[int, int]:
    if isinstance(value, dict):
        width, height = value.get("width"), value.get("height")
        if isinstance(width, int) and isinstance(height, int) and width > 0 and height > 0:
            return width, height
    if isinstance(value, str) and value in _IMAGE_SIZES:
        return _IMAGE_SIZES[value]
    return _IMAGE_SIZES["landscape_4_3"]  # flux/dev default


def build_routes(ctx: wire.EmulatorContext) -> list[BaseRoute]:
    """The fal queue routes, relative to the ``/fal`` mount."""
    handlers = _FalRoutes(ctx)
    requests = "/{app:path}/requests/{request_id}"
    return [
        Route(f"{requests}/status/stream", handlers.status_stream, methods=["GET"]),
        Route(f"{requests}/status", handlers.status, methods=["GET"]),
        Route(f"{requests}/cancel", handlers.cancel, methods=["PUT"]),
        Route(requests, handlers.result, methods=["GET"]),
        Route("/{model_id:path}", handlers.submit, methods=["POST"]),
    ]


PROVIDER = wire.Provider(
    name=NAME, fake_key=FAKE_KEY, build_routes=build_routes, options=FalOptions
)
