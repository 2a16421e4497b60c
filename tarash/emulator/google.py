"""Google's Gemini API (real base ``https://generativelanguage.googleapis.com/v1beta``),
under ``/google`` (clients are given ``/google/v1beta`` as their base); Vertex AI's routes
share the mount (see :mod:`tarash.emulator.google_vertex`).

Routes, relative to the mount::

    POST /v1beta/models/{model}:predictLongRunning   Veo -> {"name": ".../operations/{id}"}
    GET  /v1beta/models/{model}/operations/{id}      the operation (``done`` when ended)
    GET  /v1beta/files/{id}:download?alt=media       302 to the MP4 (as the real API does)
    POST /v1beta/models/{model}:generateContent      Gemini image: inline image parts
    POST /v1beta/models/{model}:predict              Imagen: predictions[].bytesBase64Encoded
    POST /v1beta/interactions, GET /v1beta/interactions/{id}   Gemini Omni Flash (see
                                                     :mod:`tarash.emulator.google_interactions`)

How jobs end on the wire:

- Veo: no ``done`` while queued or running; ``done`` with
  ``response.generateVideoResponse.generatedSamples[].video.uri`` on success; a
  ``content_refusal`` is ``done`` with ``raiMediaFilteredCount``/``raiMediaFilteredReasons``
  and no samples (what the real API does); a ``job_failure`` ``done`` with ``error
  {code: 13}``. There is no cancel.
- images (held until the job ends): success is the reply with the images inline; a
  ``content_refusal`` is HTTP 200 with ``promptFeedback.blockReason`` and no candidates; a
  ``job_failure`` a 500 ``INTERNAL``.

A Veo body (and a Gemini API ``generateContent`` body) is checked against the fields the
API takes (``contracts/google.json``; a snake_case name counts as its lowerCamelCase field,
as Google's JSON parser reads both): an unknown field is a 400 ``INVALID_ARGUMENT``
worded as Google's protobuf JSON parser words it (``Unknown name "seed" at 'parameters':
Cannot find field.``), every issue in a ``BadRequest`` detail.

Protocol checks kept: ``durationSeconds`` must be a JSON number (a string is the real
API's 400), one of 4, 6, 8 for Veo 3.x; the key is ``x-goog-api-key`` (or ``?key=``). A
``rate_limit`` fault is a 429 ``RESOURCE_EXHAUSTED`` whose wait is in ``RetryInfo`` (no
Retry-After header, as Google sends none).
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, ClassVar

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from tarash.emulator import _wire as wire
from tarash.emulator._contract import Issue, Leniency, check, load_contract, untolerated
from tarash.emulator._faults import Fault, Operation
from tarash.emulator._jobs import Job, JobState
from tarash.emulator._media import MediaFile, MediaKind

NAME = "google"
FAKE_KEY = "AIza-emulator-00000000000000000000000000000"
RECORDED_HEADERS = ("user-agent", "content-type", "x-goog-api-client")
# Veo 3 and 3.1's ``durationSeconds`` (a JSON number). Source: the Gemini API's video guide
# (https://ai.google.dev/gemini-api/docs/video, the Veo parameters table; checked
# 2026-12-07). Other Veo models' durations are not checked here.
VEO_3_DURATIONS = (4, 6, 8)
RAI_REASON = (
    "Your current safety settings for person generation prevented one or more videos from "
    "being generated."
)
# Google's contract, the emulator's own (never the client's ``google_models``):
# ``contracts/google.json``, the Veo ``predictLongRunning`` body of each API (the REST
# reference types ``instances``/``parameters`` as any JSON value, so the fields are read
# from where the official google-genai SDK writes them for the Gemini API and for Vertex
# AI; its ``source`` and ``read`` date are in the file).
CONTRACT = load_contract("google")
#: The client's known Google wire bugs, by name (see ``GoogleOptions.lenient``).
KNOWN_CLIENT_BUGS: dict[str, Leniency] = {}

#: Models served only by the Interactions API (:mod:`tarash.emulator.google_interactions`):
#: any ``models/{model}:{method}`` call on them is the real API's 400.
INTERACTIONS_ONLY_MODELS = frozenset({"gemini-omni-flash-preview"})

_GRPC = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 404: "NOT_FOUND", 500: "INTERNAL"}


@dataclass(frozen=True, kw_only=True)
class GoogleOptions(wire.ProviderOptions):
    """How the Gemini API is emulated.

    Attributes:
        max_hold_seconds: The longest an image request is held on a job that does not end
            (a ``stuck`` fault): the job is then ended (counted cancelled) and answered 500.
        media_kinds: See :class:`ProviderOptions` (the method fixes the kind here).
        vertex_storage_uri: A ``gs://bucket/prefix/`` Vertex AI writes every Veo result to
            (as if each request named it in ``storageUri``); ``None``: only requests that
            name one get a ``gcsUri``, the others their video inline as base64.
    """

    provider: ClassVar[str] = "google"
    known_client_bugs: ClassVar[Mapping[str, Leniency]] = MappingProxyType(KNOWN_CLIENT_BUGS)

    max_hold_seconds: float = 300.0
    vertex_storage_uri: str | None = None
    file_uri_base: str | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.max_hold_seconds > 0:
            raise ValueError(f"max_hold_seconds must be > 0, got {self.max_hold_seconds!r}")
        storage = self.vertex_storage_uri
        if storage is not None and not (storage.startswith("gs://") and len(storage) > 5):
            raise ValueError(f"vertex_storage_uri must be a gs:// URI, got {storage!r}")


def proto_names(value: Any) -> Any:
    """``value`` with every key in lowerCamelCase, for the contract check: Google's JSON
    parser takes a proto field by its lowerCamelCase JSON name or its snake_case name."""
    if isinstance(value, dict):
        return {_camel(key): proto_names(item) for key, item in value.items()}
    if isinstance(value, list):
        return [proto_names(item) for item in value]
    return value


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def contract_error(issues: list[Issue]) -> Response:
    """Google's 400 ``INVALID_ARGUMENT`` for a body that breaks its contract: the first
    issue in the message (as the protobuf JSON parser words an unknown name), every one in
    a ``BadRequest`` detail's ``fieldViolations``."""
    violations = [
        {"field": _field_path(issue), "description": _describe(issue)} for issue in issues
    ]
    return google_error(
        400,
        violations[0]["description"],
        {"@type": "type.googleapis.com/google.rpc.BadRequest", "fieldViolations": violations},
        status="INVALID_ARGUMENT",
    )


def _field_path(issue: Issue) -> str:
    out = ""
    for part in issue.loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _describe(issue: Issue) -> str:
    parent = _field_path(Issue(issue.loc[:-1], issue.kind, None, None))
    at = f" at '{parent}'" if parent else ""
    name = issue.loc[-1] if issue.loc else ""
    if issue.kind == "unknown":
        return f'Invalid JSON payload received. Unknown name "{name}"{at}: Cannot find field.'
    if issue.kind == "missing":
        return f"{_field_path(issue)} is required."
    if issue.kind == "type":
        return (
            f"Invalid value at '{_field_path(issue)}' ({issue.expected}), {json.dumps(issue.value)}"
        )
    if issue.kind == "enum":
        return f"Invalid value at '{_field_path(issue)}', {json.dumps(issue.value)}"
    return f"{_field_path(issue)} is out of range: {json.dumps(issue.value)}"


def google_error(status_code: int, message: str, *details: Any, status: str = "") -> Response:
    """Google's error envelope ``{"error": {code, message, status, details}}``."""
    body: dict[str, Any] = {
        "error": {
            "code": status_code,
            "message": message,
            "status": status or _GRPC.get(status_code, "UNKNOWN"),
        }
    }
    if details:
        body["error"]["details"] = list(details)
    return wire.json_response(body, status_code)


class GoogleRoutes(wire.ProviderRoutes):
    """The handlers, bound to one emulator's context."""

    name = NAME
    options_type: ClassVar[type[wire.ProviderOptions]] = GoogleOptions
    #: The contract's Veo body this API takes (Vertex's routes name their own).
    video_body: ClassVar[str] = "gemini.predictLongRunning"
    #: The contract's body per image method (Imagen ``predict`` has none yet: the SDK
    #: writes it for Vertex AI only).
    image_bodies: ClassVar[Mapping[str, str]] = MappingProxyType(
        {"generateContent": "gemini.generateContent"}
    )

    def _auth_error(self, request: Request) -> Response | None:
        key = request.headers.get("x-goog-api-key") or request.query_params.get("key") or ""
        if self.ctx.key_accepted(self.name, key.strip()):
            return None
        if not key:
            return google_error(
                403,
                "Method doesn't allow unregistered callers (callers without established "
                "identity). Please use API Key or other form of API consumer identity to call "
                "this API.",
                status="PERMISSION_DENIED",
            )
        # A wrong key is a 400 on Google's APIs, told apart by its ErrorInfo reason.
        return google_error(
            400,
            "API key not valid. Please pass a valid API key.",
            {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID"},
            status="INVALID_ARGUMENT",
        )

    def _find(self, request: Request) -> Job | None:
        job = self.ctx.store.get(self.name, request.path_params["operation"])
        if job is None or job.model != request.path_params["model"]:
            return None
        return job

    def _not_found(self, operation: Operation) -> Response:
        return google_error(404, "Requested entity was not found.")

    def _throttled_body(self, retry_after: float) -> Any:
        return {
            "error": {
                "code": 429,
                "message": "You exceeded your current quota, please check your plan and "
                "billing details.",
                "status": "RESOURCE_EXHAUSTED",
                "details": [
                    {
                        "@type": "type.googleapis.com/google.rpc.QuotaFailure",
                        "violations": [{"quotaId": "GenerateRequestsPerMinutePerProjectPerModel"}],
                    },
                    {
                        "@type": "type.googleapis.com/google.rpc.RetryInfo",
                        "retryDelay": f"{retry_after:g}s",
                    },
                ],
            }
        }

    def _forbidden(self) -> Response:
        return google_error(
            403,
            "Permission denied: Consumer does not have access to the requested resource.",
            status="PERMISSION_DENIED",
        )

    def _server_error(self, status_code: int) -> Response:
        return google_error(
            status_code,
            "An internal error has occurred. Please retry or report in "
            "https://developers.generativeai.google/guide/troubleshooting",
            status="INTERNAL" if status_code == 500 else "UNAVAILABLE",
        )

    def _fault_response(self, fault: Fault) -> Response:
        response = super()._fault_response(fault)
        if fault.kind == "rate_limit":
            # Google sends the wait in the body only.
            del response.headers["retry-after"]
        return response

    async def _json(self, request: Request) -> dict[str, Any] | Response:
        try:
            payload = json.loads(await request.body() or b"null")
        except ValueError:
            return google_error(400, "Invalid JSON payload received.")
        if not isinstance(payload, dict):
            return google_error(400, "Invalid JSON payload received. Expected an object.")
        return payload

    async def model_method(self, request: Request) -> Response:
        """``POST /v1beta/models/{model}:{method}``."""
        model, _, method = request.path_params["target"].rpartition(":")
        if model in INTERACTIONS_ONLY_MODELS:
            if denied := self._auth_error(request):
                return denied
            return google_error(400, "This model only supports Interactions API.")
        if method == "predictLongRunning":
            return await self._start_video(request, model)
        if method in ("generateContent", "predict"):
            return await self._images(request, model, method)
        return google_error(404, f"Method {method!r} not found.")

    # -- Veo ------------------------------------------------------------------------------

    def _check_video(self, model: str, payload: dict[str, Any]) -> dict[str, Any] | Response:
        issues = check(CONTRACT["bodies"][self.video_body], proto_names(payload))
        issues = untolerated(issues, model, self.ctx.options(GoogleOptions).leniencies())
        if issues:
            return contract_error(issues)
        instances = payload.get("instances")
        instance = instances[0] if isinstance(instances, list) and instances else None
        if not isinstance(instance, dict) or not str(instance.get("prompt") or "").strip():
            return google_error(400, "A prompt is required: instances[0].prompt.")
        parameters = payload.get("parameters") or {}
        if not isinstance(parameters, dict):
            return google_error(400, "parameters must be an object.")
        duration = parameters.get("durationSeconds", 8)
        if isinstance(duration, bool) or not isinstance(duration, int | float):
            return google_error(400, "The value type for durationSeconds needs to be a number.")
        if model.startswith("veo-3") and duration not in VEO_3_DURATIONS:
            return google_error(
                400, f"durationSeconds must be one of 4, 6, 8 for {model}; got {duration}."
            )
        frames: dict[str, int] = {}
        for field in ("image", "lastFrame"):
            image = instance.get(field)
            if image is None:
                continue
            encoded = (
                image.get("bytesBase64Encoded") or (image.get("inlineData") or {}).get("data")
                if isinstance(image, dict)
                else None
            )
            try:
                frames[field] = len(base64.b64decode(str(encoded), validate=True))
            except ValueError:
                return google_error(400, f"instances[0].{field} must hold base64 image bytes.")
        return {
            "prompt": instance["prompt"],
            "frames": frames,
            "parameters": parameters,
        }

    async def _video_input(
        self, request: Request, model: str
    ) -> tuple[Fault | None, dict[str, Any]] | Response:
        """A Veo create screened for faults, read and checked (both APIs): the fault still
        to play once the job exists (``drop_after_create``) and the job's input, or the
        answer to send instead."""
        fault = await self._screen_submit(request, model)
        if isinstance(fault, Response):
            return fault
        payload = await self._json(request)
        if isinstance(payload, Response):
            return payload
        job_input = self._check_video(model, payload)
        if isinstance(job_input, Response):
            return job_input
        return fault, job_input

    async def _start_video(self, request: Request, model: str) -> Response:
        screened = await self._video_input(request, model)
        if isinstance(screened, Response):
            return screened
        fault, job_input = screened
        job = self.ctx.store.create(
            job_id=secrets.token_hex(6),
            provider=self.name,
            model=model,
            input=job_input,
            headers=wire.recorded_headers(request, RECORDED_HEADERS),
            outcome=wire.job_outcome(self.ctx.job_fault(request, self.name, model)),
        )
        if fault is not None:  # drop_after_create
            return wire.DroppedConnectionResponse()
        return wire.json_response({"name": f"models/{model}/operations/{job.id}"})

    def _render(self, request: Request, job: Job) -> dict[str, Any]:
        state = job.state_at(time.monotonic())
        body: dict[str, Any] = {"name": f"models/{job.model}/operations/{job.id}"}
        if not state.is_terminal:
            return body
        body["done"] = True
        if state is JobState.SUCCEEDED:
            base = self.ctx.options(GoogleOptions).file_uri_base
            if base is None:
                base = f"{self.ctx.origin(request)}/{NAME}"
            uri = f"{base}/v1beta/files/{job.id}:download?alt=media"
            body["response"] = {
                "@type": "type.googleapis.com/google.ai.generativelanguage.v1beta."
                "PredictLongRunningResponse",
                "generateVideoResponse": {"generatedSamples": [{"video": {"uri": uri}}]},
            }
        elif state is JobState.REFUSED:
            body["response"] = {
                "generateVideoResponse": {
                    "raiMediaFilteredCount": 1,
                    "raiMediaFilteredReasons": [RAI_REASON],
                }
            }
        else:
            body["error"] = {"code": 13, "message": "Video generation failed: internal error."}
        return body

    async def get_operation(self, request: Request) -> Response:
        """``GET /v1beta/models/{model}/operations/{id}``."""
        job = self._requested_job(request, "status")
        if isinstance(job, Response):
            return job
        return wire.json_response(self._render(request, job))

    async def no_cancel(self, request: Request) -> Response:
        """``POST /v1beta/models/{model}/operations/{id}:cancel``: the API has no such
        method (a Veo operation cannot be stopped); Google's 404."""
        return google_error(404, "Method not found.")

    async def download(self, request: Request) -> Response:
        """``GET /v1beta/files/{id}:download``: a 302 to the bytes, as the real API does."""
        if denied := self._auth_error(request):
            return denied
        file_id = request.path_params["target"].partition(":")[0]
        job = self.ctx.store.get(self.name, file_id)
        if fault := self.ctx.request_fault(
            request, self.name, "result", job.model if job else None
        ):
            return self._fault_response(fault)
        if job is None or job.state_at(time.monotonic()) is not JobState.SUCCEEDED:
            return self._not_found("result")
        url = self.ctx.media_url(request, MediaFile(f"{job.id}-0", MediaKind.VIDEO))
        return RedirectResponse(url, status_code=302)

    # -- images ---------------------------------------------------------------------------

    async def _images(self, request: Request, model: str, method: str) -> Response:
        fault = await self._screen_submit(request, model)
        if isinstance(fault, Response):
            return fault
        payload = await self._json(request)
        if isinstance(payload, Response):
            return payload
        body = self.image_bodies.get(method)
        if body is not None:
            issues = check(CONTRACT["bodies"][body], proto_names(payload))
            issues = untolerated(issues, model, self.ctx.options(GoogleOptions).leniencies())
            if issues:
                return contract_error(issues)
        if method == "generateContent":
            contents = payload.get("contents")
            if not isinstance(contents, list) or not contents:
                return google_error(
                    400, "* GenerateContentRequest.contents: contents is not specified"
                )
            job_input: dict[str, Any] = {"method": method, "contents": len(contents)}
        else:
            instances = payload.get("instances")
            if not isinstance(instances, list) or not instances:
                return google_error(400, "instances is required.")
            count = (payload.get("parameters") or {}).get("sampleCount", 1)
            job_input = {"method": method, "count": count if isinstance(count, int) else 1}
        job = self.ctx.store.create(
            job_id=f"img{secrets.token_hex(8)}",
            provider=self.name,
            model=model,
            input=job_input,
            headers=wire.recorded_headers(request, RECORDED_HEADERS),
            outcome=wire.job_outcome(self.ctx.job_fault(request, self.name, model)),
            extra={"api": "images"},
        )
        if fault is not None:  # drop_after_create
            return wire.DroppedConnectionResponse()
        state = await self.hold_for_client(
            request, job, self.ctx.options(GoogleOptions).max_hold_seconds
        )
        if state is None:
            return Response(status_code=499)
        if state is JobState.REFUSED:
            if method == "predict":
                return wire.json_response({"predictions": [{"raiFilteredReason": RAI_REASON}]})
            return wire.json_response(
                {"promptFeedback": {"blockReason": "PROHIBITED_CONTENT"}, "usageMetadata": {}}
            )
        if state is not JobState.SUCCEEDED:
            return self._server_error(500)
        return wire.json_response(self._image_result(job))

    def _image_result(self, job: Job) -> dict[str, Any]:
        count = int(job.input.get("count", 1))
        images = [
            base64.b64encode(
                MediaFile(f"{job.id}-{index}", MediaKind.IMAGE, 64, 64).content()
            ).decode("ascii")
            for index in range(max(1, min(4, count)))
        ]
        if job.input["method"] == "predict":
            return {
                "predictions": [
                    {"bytesBase64Encoded": data, "mimeType": "image/png"} for data in images
                ]
            }
        return {
            "candidates": [
                {
                    "content": {
                        "role": "model",
                        "parts": [
                            {"text": "Here is your image."},
                            {"inlineData": {"mimeType": "image/png", "data": images[0]}},
                        ],
                    },
                    "finishReason": "STOP",
                }
            ],
            "usageMetadata": {"promptTokenCount": 12, "candidatesTokenCount": 1290},
            "modelVersion": job.model,
        }


def build_routes(ctx: wire.EmulatorContext) -> list[BaseRoute]:
    """The Gemini API routes (``v1beta``, and ``v1``: google-genai 3.x's default), relative
    to the ``/google`` mount (whose :data:`~tarash.emulator.google_vertex.PROVIDER` adds
    the Vertex AI ones)."""
    handlers = GoogleRoutes(ctx)
    routes: list[BaseRoute] = []
    for version in ("v1beta", "v1"):
        routes += [
            Route(
                f"/{version}/models/{{model}}/operations/{{operation}}",
                handlers.get_operation,
                methods=["GET"],
            ),
            Route(
                f"/{version}/models/{{model}}/operations/{{operation}}",
                handlers.no_cancel,
                methods=["POST"],
            ),
            Route(f"/{version}/models/{{target}}", handlers.model_method, methods=["POST"]),
            Route(f"/{version}/files/{{target}}", handlers.download, methods=["GET"]),
        ]
    return routes
