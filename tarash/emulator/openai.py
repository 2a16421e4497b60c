"""OpenAI's Videos (Sora) and Images APIs (real base ``https://api.openai.com/v1``), under
``/openai`` (clients are given ``/openai/v1`` as their base).

Routes, relative to the mount::

    POST   /v1/videos                       create (JSON or multipart) -> the video, queued
    GET    /v1/videos                       list (``order``, ``limit``, ``after`` cursor)
    GET    /v1/videos/{id}                  the video (+ ``openai-poll-after-ms``)
    GET    /v1/videos/{id}/content          the MP4 (``?variant=thumbnail``: a PNG)
    DELETE /v1/videos/{id}                  remove a finished video (a running one: 400)
    POST   /v1/videos/{id}/remix            ``{"prompt"}`` -> a new video from a completed one
    POST   /v1/images/generations           JSON -> ``data[].b64_json`` (held until done)
    POST   /v1/images/edits                 multipart (``image``/``image[]``, ``mask``) or
                                            JSON ``images[{image_url}]``, same reply

How jobs end on the wire:

- videos: ``queued`` -> ``in_progress`` (``progress`` 0-99) -> ``completed``; a
  ``job_failure`` is ``failed`` with ``error {"code": "internal_error"}``, a
  ``content_refusal`` ``failed`` with ``error {"code": "moderation_blocked"}``. There is no
  cancel (a ``stuck`` video runs until the emulator stops).
- images: the create is held until its job ends (at most
  :attr:`OpenAIOptions.max_hold_seconds`, after which it is ended and answered 500):
  success is the images response, ``job_failure`` a 500 ``server_error``,
  ``content_refusal`` a 400 ``moderation_blocked`` with ``moderation_details``.

Every create and image body is checked against OpenAI's own contract
(``contracts/openai.json``, from its OpenAPI description): an unknown field is the 400
``unknown_parameter`` (with ``param``), a wrong type ``invalid_type``, a value outside its
enum ``invalid_value``, out of range ``integer_above_max_value`` and the like, an unknown
model id ``invalid_value`` on ``model``. The protocol checks of the real API are kept too:
``seconds`` must be the *string* ``"4"``,
``"8"`` or ``"12"``; ``size`` one of the model's; a first frame must match the ``size``
(:attr:`OpenAIOptions.check_reference_size`); GPT image models refuse
``response_format``. Every response carries ``x-request-id``.
"""

from __future__ import annotations

import base64
import json
import math
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from tarash.emulator import _wire as wire
from tarash.emulator._contract import Issue, check, load_contract, untolerated
from tarash.emulator._faults import Fault, Operation
from tarash.emulator._forms import parse_form
from tarash.emulator._jobs import Job, JobState
from tarash.emulator._media import MediaFile, MediaKind, image_dimensions, make_mp4, make_png

NAME = "openai"
FAKE_KEY = "sk-emulator-0000000000000000000000000000000000000000"

# OpenAI's contract, the emulator's own (never the client's ``openai_models``):
# ``contracts/openai.json``, extracted from OpenAI's OpenAPI description (its ``source`` and
# ``read`` date are in the file). The request bodies are checked field by field against it;
# the per-model rules the description states only in prose (which sizes sora-2 takes, the
# image sizes per model) are copied into its ``rules``. ``size`` also lets gpt-image-2 take
# any ``WIDTHxHEIGHT`` (sides divisible by 16, ratio 1:3 to 3:1, at most 3840x2160), which
# the emulator refuses: the library sends the standard sizes only (reported, not emulated).
CONTRACT = load_contract("openai")
_BODIES: Mapping[str, Any] = CONTRACT["bodies"]
_RULES: Mapping[str, Any] = CONTRACT["rules"]
VIDEO_MODELS: tuple[str, ...] = tuple(_RULES["video_models"])
SECONDS: tuple[str, ...] = tuple(_BODIES["videos.json"]["properties"]["seconds"]["enum"])
SIZES: tuple[str, ...] = tuple(_RULES["video_sizes"]["sora-2"])
PRO_SIZES: tuple[str, ...] = tuple(_BODIES["videos.json"]["properties"]["size"]["enum"])
GPT_IMAGE_SIZES: tuple[str, ...] = tuple(_RULES["image_sizes"]["gpt-image"])
DALL_E_SIZES: dict[str, tuple[str, ...]] = {
    model: tuple(sizes) for model, sizes in _RULES["image_sizes"].items() if model != "gpt-image"
}
#: The image model ids the description lists (generations and edits).
IMAGE_MODELS: frozenset[str] = frozenset(
    _BODIES["images.generations"]["properties"]["model"]["known"]
    + _BODIES["images.edits.multipart"]["properties"]["model"]["known"]
)
RECORDED_HEADERS = ("user-agent", "content-type", "openai-organization", "openai-project")

FAILURE = {"code": "internal_error", "message": "Video generation failed due to an internal error."}
REFUSAL = {
    "code": "moderation_blocked",
    "message": "Your request was blocked by our moderation system.",
}
IMAGE_REFUSAL = {
    "message": "Your request was rejected by the safety system.",
    "type": "image_generation_user_error",
    "param": None,
    "code": "moderation_blocked",
    "moderation_details": {"moderation_stage": "input", "categories": ["violence"]},
}


@dataclass(frozen=True, kw_only=True)
class OpenAIOptions(wire.ProviderOptions):
    """How OpenAI (and Azure's v1 API, which shares this emulation) is emulated.

    Attributes:
        check_reference_size: Refuse an ``input_reference`` image (PNG, JPEG or WebP,
            uploaded or as a data URI) whose pixel size differs from the requested
            ``size`` (default ``720x1280``) with the real API's 400, as OpenAI does.
        max_hold_seconds: The longest an image request is held on a job that does not end
            (a ``stuck`` fault): the job is then ended (counted cancelled) and answered 500.
        poll_after_ms: The ``openai-poll-after-ms`` hint's ceiling; the emulator sends the
            time to the job's next change, at least 10 ms, at most this.
        media_kinds: See :class:`ProviderOptions` (the endpoint fixes the kind here).
    """

    provider: ClassVar[str] = "openai"

    check_reference_size: bool = True
    max_hold_seconds: float = 300.0
    poll_after_ms: int = 1000

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.max_hold_seconds > 0:
            raise ValueError(f"max_hold_seconds must be > 0, got {self.max_hold_seconds!r}")
        if self.poll_after_ms < 10:
            raise ValueError(f"poll_after_ms must be >= 10, got {self.poll_after_ms!r}")


def openai_error(
    status_code: int,
    message: str,
    *,
    type_: str = "invalid_request_error",
    code: str | None = None,
    param: str | None = None,
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> Response:
    """OpenAI's error envelope."""
    body = {"error": {"message": message, "type": type_, "param": param, "code": code, **extra}}
    return wire.json_response(body, status_code, headers)


def missing_parameter(param: str) -> Response:
    """The 400 for a required field left out."""
    return openai_error(
        400,
        f"Missing required parameter: '{param}'.",
        param=param,
        code="missing_required_parameter",
    )


def invalid_value(param: str, value: object, allowed: tuple[str, ...]) -> Response:
    """The 400 for a value outside its enum, worded as OpenAI words it."""
    listed = ", ".join(repr(item) for item in allowed)
    return openai_error(
        400,
        f"Invalid value: '{value}'. Supported values are: {listed}.",
        param=param,
        code="invalid_value",
    )


def contract_error(issue: Issue) -> Response:
    """The 400 OpenAI gives a body that breaks its contract at ``issue``, in its words."""
    param = issue.field
    if issue.kind == "unknown":
        return openai_error(
            400, f"Unknown parameter: '{param}'.", param=param, code="unknown_parameter"
        )
    if issue.kind == "missing":
        return missing_parameter(param)
    if issue.kind == "enum":
        return invalid_value(param, issue.value, tuple(issue.expected))
    if issue.kind == "type":
        return openai_error(
            400,
            f"Invalid type for '{param}': expected {_a(issue.expected)}, but got "
            f"{_a(_json_type(issue.value))} instead.",
            param=param,
            code="invalid_type",
        )
    ((bound, limit),) = issue.expected.items()
    noun, measured = _measured(issue.value)
    side = "below_min" if bound.startswith("min") else "above_max"
    if noun in ("integer", "decimal"):
        message = (
            f"Invalid '{param}': {noun} {side.replace('_', ' ')}imum value. Expected a value "
            f"{'>=' if side == 'below_min' else '<='} {limit}, but got {measured} instead."
        )
        code = f"{noun}_{side}_value"
    else:
        message = (
            f"Invalid '{param}': {noun} too {'short' if side == 'below_min' else 'long'}. "
            f"Expected {_a(noun)} with {side[-3:]}imum length {limit}, but got {_a(noun)} "
            f"with length {measured} instead."
        )
        code = f"{noun}_{side}_length"
    return openai_error(400, message, param=param, code=code)


def _a(noun: str) -> str:
    return f"an {noun}" if noun[:1] in "aeiou" else f"a {noun}"


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "decimal"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, bytes):
        return "file"
    return "null"


def _measured(value: Any) -> tuple[str, Any]:
    """What a range issue measured: the value's noun and the number compared."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return ("integer" if isinstance(value, int) else "decimal"), value
    if isinstance(value, list):
        return "array", len(value)
    return "string", len(value)


def _request_id() -> str:
    return f"req_{secrets.token_hex(16)}"


class OpenAIRoutes(wire.ProviderRoutes):
    """The handlers, bound to one emulator's context (Azure's v1 API subclasses them)."""

    name = NAME
    options_type: ClassVar[type[wire.ProviderOptions]] = OpenAIOptions
    #: Whether ``model`` must be an OpenAI id (Azure's is a deployment name: any goes).
    model_ids_checked: ClassVar[bool] = True

    # -- auth and the base's hooks ------------------------------------------------------

    def _key(self, request: Request) -> str:
        scheme, _, key = request.headers.get("authorization", "").partition(" ")
        return key.strip() if scheme.lower() == "bearer" else ""

    def _auth_error(self, request: Request) -> Response | None:
        if self.ctx.key_accepted(self.name, self._key(request)):
            return None
        return openai_error(
            401,
            "Incorrect API key provided. You can find your API key at "
            "https://platform.openai.com/account/api-keys.",
            code="invalid_api_key",
            detail="invalid_api_key",
        )

    def _find(self, request: Request) -> Job | None:
        job = self.ctx.store.get(self.name, request.path_params["video_id"])
        if job is None or job.extra.get("deleted") or job.extra.get("api") is not None:
            return None  # unknown, deleted, or not a video (an image request, a legacy job)
        return job

    def _not_found(self, operation: Operation) -> Response:
        return openai_error(404, "Video not found", code="not_found", detail="not_found")

    def _throttled_body(self, retry_after: float) -> Any:
        return {
            "error": {
                "message": "Rate limit reached for requests. Please try again in "
                f"{retry_after:g}s.",
                "type": "requests",
                "param": None,
                "code": "rate_limit_exceeded",
            },
            "detail": "rate_limit_exceeded",
        }

    def _forbidden(self) -> Response:
        return openai_error(
            403,
            "Your organization must be verified to use this model.",
            type_="invalid_request_error",
        )

    def _server_error(self, status_code: int) -> Response:
        return openai_error(
            status_code,
            "The server had an error while processing your request. Sorry about that!",
            type_="server_error",
            detail="server_error",
        )

    def _fault_response(self, fault: Fault) -> Response:
        response = super()._fault_response(fault)
        if fault.kind == "rate_limit":
            wait = fault.retry_after if fault.retry_after is not None else 1
            response.headers["x-ratelimit-remaining-requests"] = "0"
            response.headers["x-ratelimit-reset-requests"] = f"{wait:g}s"
        return response

    def options(self) -> OpenAIOptions:
        """This provider's options (Azure's v1 shares OpenAI's)."""
        return self.ctx.options(OpenAIOptions)

    # -- request bodies -----------------------------------------------------------------

    async def _body(self, request: Request) -> tuple[dict[str, Any], dict[str, bytes]] | Response:
        """The fields and files of a JSON or multipart body, or the 400 that answers."""
        content_type = request.headers.get("content-type", "")
        raw = await request.body()
        if content_type.lower().startswith("multipart/form-data"):
            try:
                form = parse_form(content_type, raw)
            except ValueError as exc:
                return openai_error(400, f"Could not parse multipart form: {exc}")
            files = {name: part.content for name, part in form.files.items()}
            return dict(form.fields), files
        try:
            payload = json.loads(raw) if raw.strip() else None
        except ValueError:
            return openai_error(400, "We could not parse the JSON body of your request.")
        if not isinstance(payload, dict):
            return openai_error(400, "The request body must be a JSON object.")
        return payload, {}

    # -- videos -------------------------------------------------------------------------

    def _render(self, job: Job, now: float) -> dict[str, Any]:
        state = job.state_at(now)
        status = {
            JobState.QUEUED: "queued",
            JobState.RUNNING: "in_progress",
            JobState.SUCCEEDED: "completed",
        }.get(state, "failed")
        progress = round(job.progress(now) * 100)
        ended = job.ended_at()
        error: dict[str, str] | None = None
        if state is JobState.REFUSED:
            error = dict(REFUSAL)
        elif state in (JobState.FAILED, JobState.CANCELLED, JobState.EXPIRED):
            error = dict(FAILURE)
        return {
            "id": job.id,
            "object": "video",
            "model": job.model,
            "status": status,
            "progress": 100 if status == "completed" else min(progress, 99),
            "created_at": int(job.created_wall.timestamp()),
            "completed_at": int(job.wall(ended).timestamp())
            if state.is_terminal and ended is not None
            else None,
            "expires_at": int(job.wall(ended).timestamp()) + 3600
            if state is JobState.SUCCEEDED and ended is not None
            else None,
            "prompt": job.input.get("prompt"),
            "size": job.input.get("size", "720x1280"),
            "seconds": job.input.get("seconds", "4"),
            "remixed_from_video_id": job.input.get("remixed_from_video_id"),
            "error": error,
        }

    def _poll_headers(self, job: Job, now: float) -> dict[str, str]:
        headers = {"x-request-id": _request_id()}
        if not job.state_at(now).is_terminal:
            wait = (job.next_change_after(now) - now) * 1000
            ceiling = self.options().poll_after_ms
            headers["openai-poll-after-ms"] = str(
                ceiling if math.isinf(wait) else int(max(10, min(ceiling, wait)))
            )
        return headers

    def _contract_error(
        self, body: str, fields: dict[str, Any], files: dict[str, bytes], model: str
    ) -> Response | None:
        """The 400 for the first way the body breaks ``contracts/openai.json``'s ``body``."""
        values: dict[str, Any] = {**fields}
        for name, content in files.items():
            values[name.removesuffix("[]")] = content
        issues = check(_BODIES[body], values, form=body.endswith("multipart"))
        issues = untolerated(issues, model, self.options().leniencies())
        return contract_error(issues[0]) if issues else None

    def _check_video(
        self, fields: dict[str, Any], files: dict[str, bytes], form: bool = False
    ) -> tuple[dict[str, Any], Response | None]:
        """The job input of a create, or the 400 the real API gives it."""
        prompt = fields.get("prompt")
        if not isinstance(prompt, str) or not prompt.strip():
            return {}, missing_parameter("prompt")
        model = fields.get("model", "sora-2")
        if not isinstance(model, str) or (self.model_ids_checked and model not in VIDEO_MODELS):
            return {}, invalid_value("model", model, VIDEO_MODELS)
        seconds = fields.get("seconds", "4")
        if not isinstance(seconds, str):
            return {}, openai_error(
                400,
                "Invalid type for 'seconds': expected one of '4', '8', or '12', but got an "
                f"{type(seconds).__name__.replace('int', 'integer')} instead.",
                param="seconds",
                code="invalid_type",
            )
        if seconds not in SECONDS:
            return {}, openai_error(
                400,
                f"Invalid value: '{seconds}'. Supported values are: '4', '8', and '12'.",
                param="seconds",
                code="invalid_value",
            )
        size = fields.get("size", "720x1280")
        allowed = PRO_SIZES if "pro" in model or not self.model_ids_checked else SIZES
        if size not in allowed:
            return {}, invalid_value("size", size, allowed)
        body = "videos.multipart" if form else "videos.json"
        if refused := self._contract_error(body, fields, files, model):
            return {}, refused
        job_input: dict[str, Any] = {
            "prompt": prompt,
            "model": model,
            "seconds": seconds,
            "size": size,
        }
        reference = fields.get("input_reference")
        image = files.get("input_reference")
        if reference is not None and image is None:
            if not isinstance(reference, dict) or not (
                isinstance(reference.get("image_url"), str)
                or isinstance(reference.get("file_id"), str)
            ):
                return {}, openai_error(
                    400,
                    "Invalid type for 'input_reference': expected a file, but got a string "
                    "instead.",
                    param="input_reference",
                    code="invalid_type",
                )
            url = reference.get("image_url")
            if isinstance(url, str) and url.startswith("data:"):
                try:
                    image = base64.b64decode(url.split(",", 1)[1], validate=True)
                except (IndexError, ValueError):
                    return {}, openai_error(
                        400, "Invalid image_url: not a base64 data URL.", param="input_reference"
                    )
            job_input["input_reference"] = {"image_url": url[:64] if isinstance(url, str) else None}
        if image is not None:
            dimensions = image_dimensions(image)
            width, _, height = size.partition("x")
            if (
                self.options().check_reference_size
                and dimensions is not None
                and dimensions != (int(width), int(height))
            ):
                # OpenAI's wording, type and null param/code as developers quote the 400
                # (help.apiyi.com and aifreeapi.com's "Inpaint image must match" guides,
                # read 2026-12-08): the check is on pixels, whatever the format.
                return {}, openai_error(
                    400, "Inpaint image must match the requested width and height", param=None
                )
            job_input["input_reference"] = {"bytes": len(image), "size": dimensions}
        return job_input, None

    async def create_video(self, request: Request) -> Response:
        """``POST /v1/videos``."""
        fault = await self._screen_submit(request, None)
        if isinstance(fault, Response):
            return fault
        parsed = await self._body(request)
        if isinstance(parsed, Response):
            return parsed
        form = request.headers.get("content-type", "").lower().startswith("multipart/")
        job_input, refused = self._check_video(*parsed, form=form)
        if refused is not None:
            return refused
        model = job_input["model"]
        job = self.ctx.store.create(
            job_id=f"video_{secrets.token_hex(24)}",
            provider=self.name,
            model=model,
            input=job_input,
            headers=wire.recorded_headers(request, RECORDED_HEADERS),
            outcome=wire.job_outcome(self.ctx.job_fault(request, self.name, model)),
        )
        if fault is not None:  # drop_after_create: the job exists, the client never hears
            return wire.DroppedConnectionResponse()
        now = time.monotonic()
        return wire.json_response(self._render(job, now), 200, self._poll_headers(job, now))

    async def remix_video(self, request: Request) -> Response:
        """``POST /v1/videos/{id}/remix``: a new video from a *completed* one and a prompt,
        with the source's model, seconds and size (the body takes nothing else)."""
        # The remix body's contract: openai/openai-openapi ``CreateVideoRemixBody``
        # (``prompt`` only, required, 1-32000 characters; read 2026-12-08).
        remix_fields = {"prompt": str}
        fault = await self._screen_submit(request, None)
        if isinstance(fault, Response):
            return fault
        source = self._find(request)
        if source is None:
            return self._not_found("submit")
        parsed = await self._body(request)
        if isinstance(parsed, Response):
            return parsed
        fields, files = parsed
        unknown = sorted(set(fields) - set(remix_fields)) or sorted(files)
        if unknown:
            return openai_error(
                400,
                f"Unknown parameter: '{unknown[0]}'.",
                param=unknown[0],
                code="unknown_parameter",
            )
        prompt = fields.get("prompt")
        if not isinstance(prompt, str) or not prompt.strip():
            return missing_parameter("prompt")
        if source.state_at(time.monotonic()) is not JobState.SUCCEEDED:
            return openai_error(
                400,
                "Only completed videos can be remixed.",
                param="video_id",
                code="invalid_value",
            )
        job = self.ctx.store.create(
            job_id=f"video_{secrets.token_hex(24)}",
            provider=self.name,
            model=source.model,
            input={
                "prompt": prompt,
                "model": source.model,
                "seconds": source.input.get("seconds", "4"),
                "size": source.input.get("size", "720x1280"),
                "remixed_from_video_id": source.id,
            },
            headers=wire.recorded_headers(request, RECORDED_HEADERS),
            outcome=wire.job_outcome(self.ctx.job_fault(request, self.name, source.model)),
        )
        if fault is not None:  # drop_after_create: the job exists, the client never hears
            return wire.DroppedConnectionResponse()
        now = time.monotonic()
        return wire.json_response(self._render(job, now), 200, self._poll_headers(job, now))

    async def get_video(self, request: Request) -> Response:
        """``GET /v1/videos/{id}``."""
        job = self._requested_job(request, "status")
        if isinstance(job, Response):
            return job
        now = time.monotonic()
        return wire.json_response(self._render(job, now), 200, self._poll_headers(job, now))

    async def video_content(self, request: Request) -> Response:
        """``GET /v1/videos/{id}/content``: the MP4 once completed."""
        job = self._requested_job(request, "result")
        if isinstance(job, Response):
            return job
        if job.state_at(time.monotonic()) is not JobState.SUCCEEDED:
            return openai_error(
                400,
                "Video is not ready yet: its status is not 'completed'.",
                code="video_not_ready",
            )
        variant = request.query_params.get("variant", "video")
        headers = {"x-request-id": _request_id()}
        if variant == "video":
            return Response(make_mp4(), media_type="video/mp4", headers=headers)
        if variant in ("thumbnail", "spritesheet"):
            return Response(make_png(64, 48), media_type="image/png", headers=headers)
        return openai_error(
            400, f"Invalid value: '{variant}'.", param="variant", code="invalid_value"
        )

    async def delete_video(self, request: Request) -> Response:
        """``DELETE /v1/videos/{id}``: a finished video is removed; a running one stays."""
        job = self._requested_job(request, "cancel")
        if isinstance(job, Response):
            return job
        if not job.state_at(time.monotonic()).is_terminal:
            # OpenAI documents DELETE for finished videos only; a running job runs on.
            return openai_error(
                400,
                "Video is still being generated and cannot be deleted yet.",
                code="video_not_finished",
            )
        job.extra["deleted"] = True
        return wire.json_response({"id": job.id, "object": "video.deleted", "deleted": True})

    async def list_videos(self, request: Request) -> Response:
        """``GET /v1/videos``: ``order`` (``desc``, newest first, by default, or ``asc``),
        ``limit`` (default 20, at most 100) and the ``after`` cursor (the previous page's
        ``last_id``), as the SDK's cursor page reads them."""
        if denied := self._auth_error(request):
            return denied
        query = request.query_params
        try:
            limit = max(0, min(100, int(query.get("limit", "20"))))
        except ValueError:
            return openai_error(400, "Invalid value for 'limit'.", param="limit")
        order = query.get("order", "desc")
        if order not in ("asc", "desc"):
            return invalid_value("order", order, ("asc", "desc"))
        now = time.monotonic()
        jobs = [
            job
            for job in self.ctx.store.all(self.name)
            if not job.extra.get("deleted") and job.extra.get("api") is None
        ]
        if order == "desc":
            jobs.reverse()
        after = query.get("after")
        if after is not None:
            ids = [job.id for job in jobs]
            if after not in ids:
                return openai_error(
                    400, f"Invalid value for 'after': no video {after!r}.", param="after"
                )
            jobs = jobs[ids.index(after) + 1 :]
        page = [self._render(job, now) for job in jobs[:limit]]
        return wire.json_response(
            {
                "object": "list",
                "data": page,
                "first_id": page[0]["id"] if page else None,
                "last_id": page[-1]["id"] if page else None,
                "has_more": len(jobs) > limit,
            }
        )

    # -- images -------------------------------------------------------------------------

    def _image_fields(
        self, request: Request, fields: dict[str, Any], files: dict[str, bytes], edit: bool
    ) -> tuple[dict[str, Any], Response | None]:
        prompt = fields.get("prompt")
        if not isinstance(prompt, str) or not prompt.strip():
            return {}, missing_parameter("prompt")
        model = str(fields.get("model") or ("gpt-image-1.5" if edit else "dall-e-2"))
        if self.model_ids_checked and model not in IMAGE_MODELS:
            return {}, invalid_value("model", model, tuple(sorted(IMAGE_MODELS)))
        gpt = not model.startswith("dall-e")
        form = request.headers.get("content-type", "").lower().startswith("multipart/")
        body = "images.generations"
        if edit:
            body = "images.edits.multipart" if form else "images.edits.json"
        if refused := self._contract_error(body, fields, files, model):
            return {}, refused
        try:
            count = int(fields.get("n") or 1)
        except (TypeError, ValueError):
            return {}, openai_error(
                400, "Invalid type for 'n': expected an integer.", param="n", code="invalid_type"
            )
        if count > _RULES["image_max_n"].get(model, count):
            return {}, openai_error(
                400, f"Invalid value for 'n': {count}.", param="n", code="invalid_value"
            )
        size = str(fields.get("size") or ("auto" if gpt else "1024x1024"))
        allowed = GPT_IMAGE_SIZES if gpt else DALL_E_SIZES.get(model, ("1024x1024",))
        if size not in allowed:
            return {}, invalid_value("size", size, allowed)
        response_format = fields.get("response_format")
        if gpt and response_format is not None:
            return {}, openai_error(
                400,
                "Unknown parameter: 'response_format'.",
                param="response_format",
                code="unknown_parameter",
            )
        if edit:
            images = [name for name in files if name in ("image", "image[]")]
            listed = fields.get("images")
            if not images and not (isinstance(listed, list) and listed):
                return {}, missing_parameter("image")
        width, height = (1024, 1024) if size == "auto" else tuple(int(p) for p in size.split("x"))
        return {
            "prompt": prompt,
            "model": model,
            "n": count,
            "size": size,
            "width": width,
            "height": height,
            "response_format": response_format or ("b64_json" if gpt else "url"),
            "output_format": fields.get("output_format", "png"),
            "edit": edit,
        }, None

    async def _images(
        self, request: Request, edit: bool, model_hint: str | None = None
    ) -> Response:
        fault = await self._screen_submit(request, model_hint)
        if isinstance(fault, Response):
            return fault
        parsed = await self._body(request)
        if isinstance(parsed, Response):
            return parsed
        fields, files = parsed
        if model_hint is not None:
            fields = {**fields, "model": model_hint}
        job_input, refused = self._image_fields(request, fields, files, edit)
        if refused is not None:
            return refused
        model = job_input["model"]
        job = self.ctx.store.create(
            job_id=_request_id(),
            provider=self.name,
            model=model,
            input=job_input,
            headers=wire.recorded_headers(request, RECORDED_HEADERS),
            outcome=wire.job_outcome(self.ctx.job_fault(request, self.name, model)),
            extra={"api": "images"},
        )
        if fault is not None:  # drop_after_create: the image is made, the client never hears
            return wire.DroppedConnectionResponse()
        state = await self.hold_for_client(request, job, self.options().max_hold_seconds)
        headers = {"x-request-id": job.id}
        if state is None:  # the client left; nobody reads this
            return Response(status_code=499)
        if state is JobState.CANCELLED:  # held past max_hold_seconds
            return self._server_error(500)
        if state is JobState.REFUSED:
            return wire.json_response({"error": IMAGE_REFUSAL}, 400, headers)
        if state is not JobState.SUCCEEDED:
            response = self._server_error(500)
            response.headers["x-request-id"] = job.id
            return response
        return wire.json_response(self._image_result(request, job), 200, headers)

    def _image_result(self, request: Request, job: Job) -> dict[str, Any]:
        spec = job.input
        data: list[dict[str, Any]] = []
        for index in range(spec["n"]):
            media = MediaFile(f"{job.id}-{index}", MediaKind.IMAGE, spec["width"], spec["height"])
            if spec["response_format"] == "url":
                data.append({"url": self.ctx.media_url(request, media)})
            else:
                data.append({"b64_json": base64.b64encode(media.content()).decode("ascii")})
            if spec["model"] == "dall-e-3":
                data[-1]["revised_prompt"] = f"{spec['prompt']}, in a detailed style"
        body: dict[str, Any] = {"created": int(job.created_wall.timestamp()), "data": data}
        if not spec["model"].startswith("dall-e"):
            body.update(
                background="opaque",
                output_format=spec["output_format"],
                size=f"{spec['width']}x{spec['height']}",
                quality="high",
                usage={"total_tokens": 4210, "input_tokens": 50, "output_tokens": 4160},
            )
        return body

    async def generate_images(self, request: Request) -> Response:
        """``POST /v1/images/generations``."""
        return await self._images(request, edit=False)

    async def edit_images(self, request: Request) -> Response:
        """``POST /v1/images/edits``."""
        return await self._images(request, edit=True)

    def video_routes(self, prefix: str) -> list[BaseRoute]:
        """The Videos API routes under ``prefix`` (``/v1``, Azure's ``/openai/v1``)."""
        return [
            Route(f"{prefix}/videos", self.create_video, methods=["POST"]),
            Route(f"{prefix}/videos", self.list_videos, methods=["GET"]),
            Route(f"{prefix}/videos/{{video_id}}", self.get_video, methods=["GET"]),
            Route(f"{prefix}/videos/{{video_id}}", self.delete_video, methods=["DELETE"]),
            Route(f"{prefix}/videos/{{video_id}}/content", self.video_content, methods=["GET"]),
            Route(f"{prefix}/videos/{{video_id}}/remix", self.remix_video, methods=["POST"]),
        ]

    def image_routes(self, prefix: str) -> list[BaseRoute]:
        """The Images API routes under ``prefix``."""
        return [
            Route(f"{prefix}/images/generations", self.generate_images, methods=["POST"]),
            Route(f"{prefix}/images/edits", self.edit_images, methods=["POST"]),
        ]


def build_routes(ctx: wire.EmulatorContext) -> list[BaseRoute]:
    """The OpenAI routes, relative to the ``/openai`` mount."""
    handlers = OpenAIRoutes(ctx)
    return [*handlers.video_routes("/v1"), *handlers.image_routes("/v1")]


PROVIDER = wire.Provider(
    name=NAME,
    fake_key=FAKE_KEY,
    build_routes=build_routes,
    options=OpenAIOptions,
    base_path="/v1",
)
