"""Replicate predictions API (real base ``https://api.replicate.com``), under ``/replicate``.

Routes, relative to the mount::

    POST /v1/models/{owner}/{name}/predictions       create (official model) -> 201
    POST /v1/deployments/{owner}/{name}/predictions  create (deployment)     -> 201
    POST /v1/predictions                             create by ``version``   -> 201
    GET  /v1/predictions                             list, cursor pages
    GET  /v1/predictions/{id}                        poll
    POST /v1/predictions/{id}/cancel                 cancel -> the prediction
    GET  /v1/predictions/{id}/stream                 SSE: ``output``/``error`` then ``done``
    GET  /p/{id}                                     the ``urls.web`` link (prediction JSON)

How jobs end on the wire:

- success: ``succeeded``; ``output`` is a URL (video models) or a list of URLs (image).
- ``job_failure``: ``failed``, ``error`` "Prediction failed: the model raised an error
  (CUDA out of memory)".
- ``content_refusal``: ``failed``, ``error`` "E005: The input or output was flagged as
  sensitive. Please try again with different inputs."
- client cancel, or ``Cancel-After`` passing while it runs: ``canceled``.
- ``Cancel-After`` passing before it started: ``aborted`` (not billed on Replicate).

``ReplicateOptions(output="data_uri")`` puts ``data:`` URIs in ``output`` instead of URLs:
the Python SDK wraps only ``https:`` and ``data:`` strings in ``FileOutput`` (so over plain
http, use that mode or ``Emulator(tls=True)``).
"""

from __future__ import annotations

import base64
import json
import math
import re
import secrets
import string
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from tarash.emulator import _wire as wire
from tarash.emulator._faults import Operation
from tarash.emulator._jobs import Job, JobState, hold_reply
from tarash.emulator._media import DEFAULT_MEDIA_KINDS, MediaFile, MediaKind

NAME = "replicate"
FAKE_KEY = "r8_emulator0000000000000000000000000000"

#: ``Prefer: wait`` holds a create at most this long (Replicate's documented cap).
MAX_WAIT_SECONDS = 60

#: Predictions per ``GET /v1/predictions`` page.
PAGE_SIZE = 100

#: Model reported for a create by a bare 64-hex version the emulator cannot resolve.
UNKNOWN_MODEL = "emulator/unknown"

RECORDED_HEADERS = ("cancel-after", "prefer", "user-agent")

FAILURE_MESSAGE = "Prediction failed: the model raised an error (CUDA out of memory)"
REFUSAL_MESSAGE = (
    "E005: The input or output was flagged as sensitive. Please try again with different inputs."
)

_STATUSES = {
    JobState.QUEUED: "starting",
    JobState.RUNNING: "processing",
    JobState.SUCCEEDED: "succeeded",
    JobState.FAILED: "failed",
    JobState.REFUSED: "failed",
    JobState.CANCELLED: "canceled",
    JobState.EXPIRED: "aborted",
}
_ERRORS = {JobState.FAILED: FAILURE_MESSAGE, JobState.REFUSED: REFUSAL_MESSAGE}

#: What Replicate's models make: the shared markers plus the image-only owners (``owner/``)
#: and families whose names do not say so. "video" is still checked first, so
#: ``stability-ai/stable-video-diffusion`` stays video.
MEDIA_KINDS = DEFAULT_MEDIA_KINDS.extend(
    image=(
        "stability-ai/",
        "black-forest-labs/",
        "ideogram-ai/",
        "recraft-ai/",
        "bytedance/seedream",
        "google/nano-banana",
        "qwen/qwen-image",
    )
)

ReplicateOutput = Literal["url", "data_uri"]


@dataclass(frozen=True, kw_only=True)
class ReplicateOptions(wire.ProviderOptions):
    """How Replicate is emulated.

    Attributes:
        output: ``"url"`` (default): outputs are URLs of files the emulator serves;
            ``"data_uri"``: ``data:`` URIs (no download, nothing expires).
        media_kinds: See :class:`ProviderOptions`.
    """

    provider: ClassVar[str] = "replicate"

    output: ReplicateOutput = "url"

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.output not in ("url", "data_uri"):
            raise ValueError(
                f"ReplicateOptions.output must be 'url' or 'data_uri', got {self.output!r}"
            )


_ID_ALPHABET = string.ascii_lowercase + string.digits
_MODEL = r"[A-Za-z0-9][\w.-]*/[\w.-]+"
_VERSION_HEX = re.compile(r"^[0-9a-f]{64}$")
_MODEL_AND_VERSION = re.compile(rf"^(?P<model>{_MODEL}):(?P<version>[0-9a-f]{{64}})$")
_MODEL_ONLY = re.compile(rf"^(?P<model>{_MODEL})$")
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|us|µs|ns|h|m|s)")
_DURATION_UNITS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}


def parse_duration(value: str) -> float | None:
    """Parse a ``Cancel-After`` duration (Go syntax: ``30s``, ``1m``, ``1m30s``, ``500ms``).

    A bare number is taken as seconds.

    Returns:
        Seconds, or None when the value is not a duration.
    """
    text = value.strip()
    if re.fullmatch(r"\d+(?:\.\d+)?", text):
        return float(text)
    if not text or _DURATION_PART.sub("", text):
        return None
    return sum(float(n) * _DURATION_UNITS[unit] for n, unit in _DURATION_PART.findall(text))


def parse_prefer_wait(value: str | None) -> float | None:
    """Seconds to hold a create for ``Prefer: wait`` / ``Prefer: wait=N`` (capped at 60)."""
    for token in (value or "").split(","):
        name, _, amount = token.strip().partition("=")
        if name.strip().lower() != "wait":
            continue
        if not amount.strip():
            return float(MAX_WAIT_SECONDS)
        try:
            return max(0.0, min(float(amount), MAX_WAIT_SECONDS))
        except ValueError:
            return float(MAX_WAIT_SECONDS)
    return None


def _problem(title: str, detail: str, status_code: int, **extra: Any) -> Response:
    return wire.json_response(
        {"title": title, "detail": detail, "status": status_code, **extra}, status_code
    )


def _invalid_input(field: str, description: str, kind: str = "required") -> Response:
    return _problem(
        "Input validation failed",
        f"- {field}: {description}\n",
        422,
        invalid_fields=[{"type": kind, "field": field, "description": description}],
    )


class _ReplicateRoutes(wire.ProviderRoutes):
    """The handlers, bound to one emulator's context."""

    name = NAME
    options_type = ReplicateOptions
    media_kinds = MEDIA_KINDS

    def _auth_error(self, request: Request) -> Response | None:
        scheme, _, key = request.headers.get("authorization", "").partition(" ")
        # Bearer is current; the legacy "Token" scheme is still accepted.
        if scheme.lower() not in ("bearer", "token") or not self.ctx.key_accepted(
            NAME, key.strip()
        ):
            return _problem("Unauthenticated", "You did not pass a valid authentication token", 401)
        return None

    def _find(self, request: Request) -> Job | None:
        return self.ctx.store.get(NAME, request.path_params["prediction_id"])

    def _not_found(self, operation: Operation) -> Response:
        return _problem("Not found", "Not found.", 404)

    def _throttled_body(self, retry_after: float) -> Any:
        return {
            "detail": f"Request was throttled. Your rate limit resets in ~{retry_after:g}s.",
            "status": 429,
        }

    def _forbidden(self) -> Response:
        return _problem("Forbidden", "You do not have permission to perform this action.", 403)

    def _server_error(self, status_code: int) -> Response:
        return _problem("Internal Server Error", "An unexpected error occurred.", status_code)

    def _output(self, request: Request, job: Job) -> Any:
        inline = self.ctx.options(ReplicateOptions).output == "data_uri"

        def location(media: MediaFile) -> str:
            return media.data_uri() if inline else self.ctx.media_url(request, media)

        if self.media_kind(job.model) is MediaKind.VIDEO:
            return location(MediaFile(f"{job.id}-0", MediaKind.VIDEO))
        count = job.input.get("num_outputs", 1)
        count = max(1, min(4, count)) if isinstance(count, int) else 1
        width, height = _image_size(job.input.get("aspect_ratio"))
        return [
            location(MediaFile(f"{job.id}-{i}", MediaKind.IMAGE, width, height))
            for i in range(count)
        ]

    def _logs(self, job: Job, now: float) -> str:
        if job.started_at(now) is None:
            return ""
        state = job.state_at(now)
        percent = round(job.progress(now) * 100)
        if state is JobState.RUNNING:
            percent = min(percent, 99)
        bar = "#" * (percent // 10)
        # The SDK's Prediction.progress parses the last "NN%|bar| cur/total" line.
        lines = ["Starting generation", f"{percent:4d}%|{bar:<10}| {percent}/100"]
        if state is JobState.SUCCEEDED:
            lines.append("Generation complete")
        elif state in _ERRORS:
            lines.append(_ERRORS[state])
        return "\n".join(lines)

    def _render(
        self, request: Request, job: Job, now: float, *, held: bool = False
    ) -> dict[str, Any]:
        state = job.state_at(now)
        status = _STATUSES[state]
        if held and not state.is_terminal:
            # replicate-python's run() takes any status but "starting" as final after a
            # Prefer: wait create, so a hold that times out must say "starting".
            status = "starting"
        started, ended = job.started_at(now), job.ended_at()
        base = f"{self.ctx.origin(request)}/{NAME}"
        body: dict[str, Any] = {
            "id": job.id,
            "model": job.model,
            "version": job.extra["version"],
            "input": job.input,
            "logs": self._logs(job, now),
            "output": self._output(request, job) if state is JobState.SUCCEEDED else None,
            "data_removed": False,
            "error": _ERRORS.get(state),
            "status": status,
            "source": "api",
            "created_at": wire.iso(job.created_wall),
            "started_at": None if started is None else wire.iso(job.wall(started)),
            "completed_at": wire.iso(job.wall(ended)) if state.is_terminal and ended else None,
            "urls": {
                "get": f"{base}/v1/predictions/{job.id}",
                "cancel": f"{base}/v1/predictions/{job.id}/cancel",
                "stream": f"{base}/v1/predictions/{job.id}/stream",
                "web": f"{base}/p/{job.id}",
            },
        }
        if state.is_terminal and started is not None and ended is not None:
            body["metrics"] = {
                "predict_time": round(ended - started, 3),
                "total_time": round(ended - job.created, 3),
            }
        if job.deadline is not None:
            body["deadline"] = wire.iso(job.wall(job.deadline))
        if job.extra.get("deployment"):
            body["deployment"] = job.extra["deployment"]
        return body

    # -- create -------------------------------------------------------------------------

    async def create_for_model(self, request: Request) -> Response:
        """``POST /v1/models/{owner}/{name}/predictions``."""
        model = f"{request.path_params['owner']}/{request.path_params['name']}"
        return await self._create(request, model, "hidden", None)

    async def create_for_deployment(self, request: Request) -> Response:
        """``POST /v1/deployments/{owner}/{name}/predictions``."""
        model = f"{request.path_params['owner']}/{request.path_params['name']}"
        return await self._create(request, model, "hidden", model)

    async def create(self, request: Request) -> Response:
        """``POST /v1/predictions`` with a ``version``."""
        return await self._create(request, None, None, None)

    async def _create(
        self, request: Request, model: str | None, version: str | None, deployment: str | None
    ) -> Response:
        fault = await self._screen_submit(request, model)
        if isinstance(fault, Response):
            return fault
        try:
            payload = await wire.read_json(request)
        except ValueError:
            return _problem("Invalid JSON", "The request body is not valid JSON.", 400)
        if not isinstance(payload, dict):
            return _invalid_input("(root)", "Invalid type. Expected: object", "invalid_type")
        if model is None or version is None:
            raw_version = payload.get("version")
            if not isinstance(raw_version, str):
                return _invalid_input("(root)", "version is required")
            resolved = _resolve_version(raw_version)
            if resolved is None:
                return _problem(
                    "Invalid version or not permitted",
                    "The specified version does not exist (or perhaps you don't have "
                    "permission to use it?)",
                    422,
                )
            model, version = resolved
        model_input = payload.get("input")
        if model_input is None:
            return _invalid_input("(root)", "input is required")
        if not isinstance(model_input, dict):
            return _invalid_input("input", "Invalid type. Expected: object", "invalid_type")
        deadline_after: float | None = None
        if (cancel_after := request.headers.get("cancel-after")) is not None:
            deadline_after = parse_duration(cancel_after)
            if deadline_after is None:
                return _problem(
                    "Invalid Cancel-After header",
                    f"Cancel-After must be a duration such as 30s or 1m, got {cancel_after!r}",
                    400,
                )
        job_fault = self.ctx.job_fault(request, NAME, model)
        job = self.ctx.store.create(
            job_id="".join(secrets.choice(_ID_ALPHABET) for _ in range(26)),
            provider=NAME,
            model=model,
            input=model_input,
            headers=wire.recorded_headers(request, RECORDED_HEADERS),
            outcome=wire.job_outcome(job_fault),
            deadline_after=deadline_after,
            extra={"version": version, "deployment": deployment, "webhook": payload.get("webhook")},
        )
        if fault is not None:  # drop_after_create: the job exists, the client never hears
            return wire.DroppedConnectionResponse()
        wait = parse_prefer_wait(request.headers.get("prefer"))
        if wait is not None:
            await hold_reply(job, wait)
        body = self._render(request, job, time.monotonic(), held=wait is not None)
        return wire.json_response(body, 201)

    # -- read / cancel ------------------------------------------------------------------

    async def get(self, request: Request) -> Response:
        """``GET /v1/predictions/{id}``."""
        job = self._requested_job(request, "status")
        if isinstance(job, Response):
            return job
        return wire.json_response(self._render(request, job, time.monotonic()))

    async def web(self, request: Request) -> Response:
        """``GET /p/{id}``: stands in for the replicate.com page of a prediction."""
        job = self._find(request)
        if job is None:
            return _problem("Not found", "Not found.", 404)
        return wire.json_response(self._render(request, job, time.monotonic()))

    async def cancel(self, request: Request) -> Response:
        """``POST /v1/predictions/{id}/cancel``: returns the prediction."""
        job = self._requested_job(request, "cancel")
        if isinstance(job, Response):
            return job
        self.ctx.store.cancel(job)  # a finished prediction is returned unchanged
        return wire.json_response(self._render(request, job, time.monotonic()))

    async def list(self, request: Request) -> Response:
        """``GET /v1/predictions``: newest first, ``{"next", "previous", "results"}``."""
        if denied := self._auth_error(request):
            return denied
        if fault := self.ctx.request_fault(request, NAME, "status", None):
            return self._fault_response(fault)
        offset = _decode_cursor(request.query_params.get("cursor"))
        jobs = list(reversed(self.ctx.store.all(NAME)))
        page = jobs[offset : offset + PAGE_SIZE]
        now = time.monotonic()
        url = f"{self.ctx.origin(request)}/{NAME}/v1/predictions"
        body = {
            "next": f"{url}?cursor={_encode_cursor(offset + PAGE_SIZE)}"
            if offset + PAGE_SIZE < len(jobs)
            else None,
            "previous": f"{url}?cursor={_encode_cursor(max(0, offset - PAGE_SIZE))}"
            if offset
            else None,
            "results": [self._render(request, job, now) for job in page],
        }
        return wire.json_response(body)

    async def stream(self, request: Request) -> Response:
        """``GET /v1/predictions/{id}/stream``: SSE ``output``/``error`` events, then ``done``."""
        job = self._find(request)
        if job is None:
            return _problem("Not found", "Not found.", 404)
        return StreamingResponse(
            self._events(request, job),
            media_type="text/event-stream",
            headers={"cache-control": "no-cache"},
        )

    async def _events(self, request: Request, job: Job) -> AsyncIterator[str]:
        state = await hold_reply(job, math.inf)
        if state is JobState.SUCCEEDED:
            output = self._output(request, job)
            for item in output if isinstance(output, list) else [output]:
                yield f"event: output\nid: {job.id}:{item[:16]}\ndata: {item}\n\n"
        elif state in _ERRORS:
            yield f"event: error\ndata: {json.dumps({'detail': _ERRORS[state]})}\n\n"
        done = (
            {} if state is JobState.SUCCEEDED or state in _ERRORS else {"reason": _STATUSES[state]}
        )
        yield f"event: done\ndata: {json.dumps(done)}\n\n"


def _resolve_version(value: str) -> tuple[str, str] | None:
    """``(model, version)`` from a 64-hex id, ``owner/name:hex`` or ``owner/name``."""
    if _VERSION_HEX.match(value):
        return UNKNOWN_MODEL, value
    if match := _MODEL_AND_VERSION.match(value):
        return match["model"], match["version"]
    if match := _MODEL_ONLY.match(value):
        return match["model"], "hidden"
    return None


def _image_size(aspect_ratio: Any) -> tuple[int, int]:
    if isinstance(aspect_ratio, str) and (match := re.fullmatch(r"(\d+):(\d+)", aspect_ratio)):
        width, height = int(match[1]), int(match[2])
        if width and height:
            return (
                (1024, max(1, 1024 * height // width))
                if width >= height
                else (max(1, 1024 * width // height), 1024)
            )
    return 1024, 1024


def _encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o:{offset}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        return max(0, int(text.removeprefix("o:")))
    except ValueError:
        return 0


def build_routes(ctx: wire.EmulatorContext) -> list[BaseRoute]:
    """The Replicate routes, relative to the ``/replicate`` mount."""
    handlers = _ReplicateRoutes(ctx)
    return [
        Route("/v1/models/{owner}/{name}/predictions", handlers.create_for_model, methods=["POST"]),
        Route(
            "/v1/deployments/{owner}/{name}/predictions",
            handlers.create_for_deployment,
            methods=["POST"],
        ),
        Route("/v1/predictions", handlers.create, methods=["POST"]),
        Route("/v1/predictions", handlers.list, methods=["GET"]),
        Route("/v1/predictions/{prediction_id}", handlers.get, methods=["GET"]),
        Route("/v1/predictions/{prediction_id}/cancel", handlers.cancel, methods=["POST"]),
        Route("/v1/predictions/{prediction_id}/stream", handlers.stream, methods=["GET"]),
        Route("/p/{prediction_id}", handlers.web, methods=["GET"]),
    ]


PROVIDER = wire.Provider(
    name=NAME, fake_key=FAKE_KEY, build_routes=build_routes, options=ReplicateOptions
)
