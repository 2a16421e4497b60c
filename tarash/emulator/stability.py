"""Stability AI v2beta Stable Image generate API (real base ``https://api.stability.ai``),
under ``/stability``.

Routes, relative to the mount::

    POST /v2beta/stable-image/generate/ultra   multipart form -> the image (held)
    POST /v2beta/stable-image/generate/core    multipart form -> the image (held)
    POST /v2beta/stable-image/generate/sd3     multipart form (+ ``model``) -> the image

The API answers in the request: each create makes a job (latency, faults and accounting
apply) and the reply is held on it (``hold_reply``) until it ends. ``accept: image/*`` (or
none, or ``*/*``) gets the image's bytes with ``finish-reason`` and ``seed`` headers;
``accept: application/json`` gets ``{"image": <base64>, "finish_reason", "seed"}`` as
``application/json; type=image/png``. Every reply carries ``x-request-id`` (the job id).
Forms are parsed as sent (curl ``-F``, httpx ``files=``/``data=``, a browser), with
Stability's checks: ``prompt`` required, the ``aspect_ratio``, ``output_format``,
``style_preset`` and SD 3.5 ``model``/``mode`` enums, ``seed`` range, ``strength`` required
with an ``image``; a failed check is a 400 ``bad_request`` listing every problem.

How jobs end on the wire:

- success: 200, ``finish_reason`` ``SUCCESS``.
- ``content_refusal``: 403 ``content_moderation`` (not charged), or, with
  ``StabilityOptions(refusal="content_filtered")``, 200 with ``finish_reason``
  ``CONTENT_FILTERED`` and a (would-be blurred) image.
- ``job_failure``: 500 ``internal_error`` (or the fault's ``status_code``).
- ``stuck``: the reply is held until the client goes away (the job is then cancelled, so
  nothing stays running) or :attr:`StabilityOptions.max_hold_seconds` pass (500).

Errors are Stability's ``{"id", "name", "errors": [...]}``; 401 without a ``Bearer`` key.
The image is always a real PNG sized to the aspect ratio (about 1 MP); for
``output_format=jpeg|webp`` those PNG bytes are served labelled ``image/jpeg``/``image/webp``
(an emulator shortcut: no JPEG/WebP encoder is bundled).
"""

from __future__ import annotations

import base64
import math
import random
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from tarash.emulator import _wire as wire
from tarash.emulator._faults import Fault, Operation
from tarash.emulator._forms import Form, parse_form
from tarash.emulator._jobs import Job, JobState
from tarash.emulator._media import PNG_CONTENT_TYPE, MediaKind, MediaKinds, make_png

NAME = "stability"
FAKE_KEY = "sk-emulator0000000000000000000000000000000000000000"

#: Request headers recorded on the job (``emu.jobs()``), lower-cased.
RECORDED_HEADERS = (
    "accept",
    "stability-client-id",
    "stability-client-user-id",
    "stability-client-version",
    "user-agent",
)

# Stability's contract as data, the emulator's own: none of it is taken from the client's
# tables (``providers/stability_models.py``), so a wrong value there is refused here as
# Stability would refuse it. Source: Stability's v2beta OpenAPI description
# (https://api.stability.ai/v2alpha/openapi, as bundled in the generated tryAGI/StabilityAI
# SDK's ``openapi.yaml``; checked 2026-12-07), the multipart request schemas of
# ``/v2beta/stable-image/generate/{ultra,core,sd3}``: the ``aspect_ratio``, ``style_preset``
# and ``output_format`` enums are the same on all three endpoints.
ENDPOINTS = frozenset({"ultra", "core", "sd3"})
ENDPOINT_MODELS = {"ultra": "stable-image-ultra", "core": "stable-image-core"}
"""The model id a job of the ``ultra`` and ``core`` endpoints is recorded under."""
# The sd3 ``model`` enum lists the first three (default ``sd3.5-large``); its description
# also names ``sd3.5-flash`` and the SD 3.0 ids below.
SD3_MODELS = frozenset(
    {
        "sd3.5-large",
        "sd3.5-large-turbo",
        "sd3.5-medium",
        "sd3.5-flash",
        # Re-routed to their 3.5 equivalents since 2025-04-17, still accepted.
        "sd3-large",
        "sd3-large-turbo",
        "sd3-medium",
    }
)
OUTPUT_FORMATS = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp"}
"""The ``output_format`` enum (default ``png``) -> the reply's content type."""
ASPECT_RATIOS = ("21:9", "16:9", "3:2", "5:4", "1:1", "4:5", "2:3", "9:16", "9:21")
"""The ``aspect_ratio`` enum (default ``1:1``; on ``sd3`` for text-to-image only), wide to
tall: the order a 400 lists them in."""
STYLE_PRESETS = frozenset(
    {
        "3d-model",
        "analog-film",
        "anime",
        "cinematic",
        "comic-book",
        "digital-art",
        "enhance",
        "fantasy-art",
        "isometric",
        "line-art",
        "low-poly",
        "modeling-compound",
        "neon-punk",
        "origami",
        "photographic",
        "pixel-art",
        "tile-texture",
    }
)
"""The ``style_preset`` enum (no default: omitted means no preset)."""
MAX_SEED = 4_294_967_294
"""``seed`` is ``0`` (a random seed) to 4294967294 (``minimum: 0, maximum: 4294967294``)."""
#: Characters ``prompt`` and ``negative_prompt`` may have (Stability's documented limit, also
#: in Amazon Bedrock's Stable Image Ultra parameter reference).
MAX_PROMPT = 10_000
#: Bytes a request body may have (Stability's 413 ``payload_too_large``).
MAX_BODY_BYTES = 10 * 1024 * 1024

#: Every Stability model is an image model.
MEDIA_KINDS = MediaKinds(default=MediaKind.IMAGE)

MODERATION_MESSAGE = (
    "Your request was flagged by our content moderation system, as a result your request "
    "was denied and you were not charged."
)
RATE_LIMIT_MESSAGE = (
    "You have exceeded the rate limit of 150 requests within a 10 second period, and have "
    "been timed out for {seconds:g} seconds."
)
INTERNAL_MESSAGE = "An unexpected server error has occurred, please try again later."

# (width, height) of the ~1 MP image per aspect ratio, as the Ultra/SD 3.5 endpoints size it.
_SIZES = {
    "21:9": (1536, 640),
    "16:9": (1344, 768),
    "3:2": (1216, 832),
    "5:4": (1152, 896),
    "1:1": (1024, 1024),
    "4:5": (896, 1152),
    "2:3": (832, 1216),
    "9:16": (768, 1344),
    "9:21": (640, 1536),
}


@dataclass(frozen=True, kw_only=True)
class StabilityOptions(wire.ProviderOptions):
    """How Stability is emulated.

    Attributes:
        refusal: How a ``content_refusal`` ends: ``"content_moderation"`` (403, the
            request denied) or ``"content_filtered"`` (200 with ``finish_reason``
            ``CONTENT_FILTERED``, the image blurred).
        max_hold_seconds: The longest a reply is held on a job that does not end (a
            ``stuck`` job); then the job is cancelled and the reply is a 500.
        media_kinds: See :class:`ProviderOptions` (every Stability model is an image
            model anyway).
    """

    provider: ClassVar[str] = NAME

    refusal: Literal["content_moderation", "content_filtered"] = "content_moderation"
    max_hold_seconds: float = 300.0

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.refusal not in ("content_moderation", "content_filtered"):
            raise ValueError(
                f"refusal must be 'content_moderation' or 'content_filtered', got {self.refusal!r}"
            )
        if not self.max_hold_seconds > 0:
            raise ValueError(f"max_hold_seconds must be > 0, got {self.max_hold_seconds!r}")


def _error(
    status_code: int, name: str, *errors: str, headers: Mapping[str, str] | None = None
) -> Response:
    return wire.json_response(
        {"id": secrets.token_hex(16), "name": name, "errors": list(errors)}, status_code, headers
    )


def _check_form(endpoint: str, form: Form) -> list[str]:
    """Every problem Stability's validation would list for this form (empty when valid)."""
    problems: list[str] = []
    fields = form.fields
    prompt = fields.get("prompt", "")
    if not prompt.strip():
        problems.append("prompt: is required")
    elif len(prompt) > MAX_PROMPT:
        problems.append(f"prompt: must be at most {MAX_PROMPT} characters")
    if len(fields.get("negative_prompt", "")) > MAX_PROMPT:
        problems.append(f"negative_prompt: must be at most {MAX_PROMPT} characters")
    if (ratio := fields.get("aspect_ratio")) is not None and ratio not in ASPECT_RATIOS:
        problems.append(f"aspect_ratio: must be one of {', '.join(ASPECT_RATIOS)}")
    if (fmt := fields.get("output_format")) is not None and fmt not in OUTPUT_FORMATS:
        problems.append("output_format: must be one of png, jpeg, webp")
    if (style := fields.get("style_preset")) is not None and style not in STYLE_PRESETS:
        problems.append(f"style_preset: {style!r} is not a style preset")
    if (seed := fields.get("seed")) is not None and not (
        seed.isdigit() and 0 <= int(seed) <= MAX_SEED
    ):
        problems.append(f"seed: must be an integer from 0 to {MAX_SEED}")
    image = form.files.get("image")
    if image is None and "image" in fields:
        problems.append("image: must be a file")
    if endpoint == "core" and image is not None:
        problems.append("image: is not accepted by this endpoint")
    if endpoint == "sd3":
        model = fields.get("model", "sd3.5-large")
        if model not in SD3_MODELS:
            problems.append(f"model: must be one of {', '.join(sorted(SD3_MODELS))}")
        mode = fields.get("mode", "text-to-image")
        if mode not in ("text-to-image", "image-to-image"):
            problems.append("mode: must be text-to-image or image-to-image")
        if mode == "image-to-image":
            if image is None:
                problems.append("image: is required for image-to-image")
            if "aspect_ratio" in fields:
                problems.append("aspect_ratio: is only valid for text-to-image")
        elif image is not None:
            problems.append("image: is only valid for image-to-image (set mode)")
        if (cfg := fields.get("cfg_scale")) is not None and not _in_range(cfg, 1, 10):
            problems.append("cfg_scale: must be a number from 1 to 10")
    if image is not None:
        if not image.content:
            problems.append("image: is empty")
        strength = fields.get("strength")
        if strength is None:
            problems.append("strength: is required when image is provided")
        elif not _in_range(strength, 0, 1):
            problems.append("strength: must be a number from 0 to 1")
    return problems


def _in_range(text: str, low: float, high: float) -> bool:
    try:
        value = float(text)
    except ValueError:
        return False
    return math.isfinite(value) and low <= value <= high


class _StabilityRoutes(wire.ProviderRoutes):
    """The handlers, bound to one emulator's context."""

    name = NAME
    options_type = StabilityOptions
    media_kinds = MEDIA_KINDS

    def _auth_error(self, request: Request) -> Response | None:
        scheme, _, key = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not self.ctx.key_accepted(NAME, key.strip()):
            return _error(401, "unauthorized", "authorization: missing or invalid API key")
        return None

    def _find(self, request: Request) -> Job | None:
        return None  # no route names a job: the create is the whole exchange

    def _not_found(self, operation: Operation) -> Response:
        return _error(404, "not_found", "the requested resource was not found")

    def _throttled_body(self, retry_after: float) -> Any:
        return {
            "id": "rate_limit_exceeded",
            "name": "rate_limit_exceeded",
            "errors": [RATE_LIMIT_MESSAGE.format(seconds=retry_after)],
        }

    def _forbidden(self) -> Response:
        return _error(403, "forbidden", "You do not have access to this resource.")

    def _server_error(self, status_code: int) -> Response:
        return _error(status_code, "internal_error", INTERNAL_MESSAGE)

    async def generate(self, request: Request) -> Response:
        """``POST /v2beta/stable-image/generate/{ultra|core|sd3}``."""
        endpoint = request.path_params["endpoint"]
        if endpoint not in ENDPOINTS:
            return _error(404, "not_found", f"/v2beta/stable-image/generate/{endpoint}: not found")
        if denied := self._auth_error(request):
            return denied
        body = await request.body()
        if len(body) > MAX_BODY_BYTES:
            return _error(
                413, "payload_too_large", "body: payloads cannot be larger than 10MiB in size"
            )
        try:
            form = parse_form(request.headers.get("content-type", ""), body)
        except ValueError as exc:
            return _error(400, "bad_request", str(exc))
        model = ENDPOINT_MODELS.get(endpoint) or form.fields.get("model", "sd3.5-large")
        fault = await self._screen_submit(request, model)
        if isinstance(fault, Response):
            return fault
        accept = request.headers.get("accept", "image/*").split(",", 1)[0].strip().lower()
        if accept not in ("image/*", "*/*", "application/json", ""):
            return _error(400, "bad_request", "accept: must be image/* or application/json")
        if problems := _check_form(endpoint, form):
            return _error(400, "bad_request", *problems)
        seed_text = form.fields.get("seed", "0")
        seed = int(seed_text) or random.randint(1, MAX_SEED)  # 0 means random
        job_fault = self.ctx.job_fault(request, NAME, model)
        job = self.ctx.store.create(
            job_id=secrets.token_hex(16),
            provider=NAME,
            model=model,
            input={
                **form.fields,
                **{
                    name: {"file_name": file.file_name, "bytes": len(file.content)}
                    for name, file in form.files.items()
                },
            },
            headers=wire.recorded_headers(request, RECORDED_HEADERS),
            outcome=wire.job_outcome(job_fault),
            extra={"endpoint": endpoint, "seed": seed},
        )
        if fault is not None:  # drop_after_create: the job exists, the client never hears
            return wire.DroppedConnectionResponse()
        bound = self.ctx.options(StabilityOptions).max_hold_seconds
        state = await self.hold_for_client(request, job, bound)
        if state is None:  # nobody to answer
            return Response(status_code=499)
        return self._answer(job, state, form, accept, job_fault)

    def _answer(
        self, job: Job, state: JobState, form: Form, accept: str, job_fault: Fault | None
    ) -> Response:
        headers = {"x-request-id": job.id}
        options = self.ctx.options(StabilityOptions)
        if state is JobState.REFUSED and options.refusal == "content_moderation":
            return _error(403, "content_moderation", MODERATION_MESSAGE, headers=headers)
        if state is JobState.FAILED:
            status = job_fault.status_code if job_fault and job_fault.status_code else 500
            return _error(status, "internal_error", INTERNAL_MESSAGE, headers=headers)
        if state is not JobState.SUCCEEDED and state is not JobState.REFUSED:
            return _error(500, "internal_error", INTERNAL_MESSAGE, headers=headers)
        finish_reason = "SUCCESS" if state is JobState.SUCCEEDED else "CONTENT_FILTERED"
        width, height = _SIZES.get(form.fields.get("aspect_ratio", "1:1"), (1024, 1024))
        image = make_png(width, height)
        media_type = OUTPUT_FORMATS.get(form.fields.get("output_format", "png"), PNG_CONTENT_TYPE)
        seed = job.extra["seed"]
        if accept == "application/json":
            return wire.json_response(
                {
                    "image": base64.b64encode(image).decode("ascii"),
                    "finish_reason": finish_reason,
                    "seed": seed,
                },
                headers={**headers, "content-type": f"application/json; type={media_type}"},
            )
        return Response(
            image,
            media_type=media_type,
            headers={**headers, "finish-reason": finish_reason, "seed": str(seed)},
        )


def build_routes(ctx: wire.EmulatorContext) -> list[BaseRoute]:
    """The Stability routes, relative to the ``/stability`` mount."""
    handlers = _StabilityRoutes(ctx)
    return [
        Route(
            "/v2beta/stable-image/generate/{endpoint:str}",
            handlers.generate,
            methods=["POST"],
        )
    ]


PROVIDER = wire.Provider(
    name=NAME, fake_key=FAKE_KEY, build_routes=build_routes, options=StabilityOptions
)
