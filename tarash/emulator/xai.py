"""xAI's video and image APIs (real base ``https://api.x.ai/v1``), under ``/xai`` (clients
are given ``/xai/v1`` as their base, the way the OpenAI SDK is given ``https://api.x.ai/v1``).

Routes, relative to the mount::

    POST /v1/videos/generations   text or image (``image.url``) to video -> {"request_id"}
    POST /v1/videos/edits         ``video.url`` edited by the prompt -> {"request_id"}
    POST /v1/videos/extensions    ``video.url`` continued for ``duration`` s -> {"request_id"}
    GET  /v1/videos/{request_id}  the deferred result
    POST /v1/images/generations   JSON -> ``data[].url`` (or ``b64_json``), held until done
    POST /v1/images/edits         JSON ``image`` or ``images[]`` -> the same reply

How jobs end on the wire: a video reads ``{"status": "pending"}`` (with ``progress``) until
it is ``done`` with ``video {url, duration, respect_moderation}``; both a ``job_failure``
(``failed`` with ``error {code, message}``) and success answer HTTP 200. A
``content_refusal`` is ``done`` with ``respect_moderation: false`` and no URL, as xAI's SDK
reads it. A video that has not started within :attr:`XaiOptions.expire_unstarted_after`
seconds is ``expired``. xAI has no cancel: a ``stuck`` video stays ``pending``. An image
request is held on its job: success is the images response, a ``content_refusal`` a 400
naming content moderation, a ``job_failure`` a 500.

Bodies are checked against xAI's contract, kept as data in ``contracts/xai.json`` (JSON
schemas in the small subset the emulator's contracts use) with its sources and the date it
was read (the client's registry is never the source): an unknown
field, a wrong type or a missing required field is xAI's 422 plain-text deserialization
error; a value outside its enum or range a 400 ``{"code", "error"}``; an unknown model a
404. A request without a key is a 401; a wrong key a 400 (xAI answers an incorrect key so).
"""

from __future__ import annotations

import base64
import functools
import json
import math
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any, ClassVar

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from tarash.emulator import _wire as wire
from tarash.emulator._faults import Operation
from tarash.emulator._jobs import Job, JobState
from tarash.emulator._media import MediaFile, MediaKind

__all__ = ["PROVIDER", "Contract", "XaiOptions", "contract", "xai_error"]

NAME = "xai"
FAKE_KEY = "xai-emulator-" + "0" * 64
RECORDED_HEADERS = ("user-agent", "content-type")

INVALID_ARGUMENT = "Client specified an invalid argument"
NOT_FOUND = "Some requested entity was not found"
EXHAUSTED = "Some resource has been exhausted"
UNAUTHENTICATED = "The request does not have valid authentication credentials"
INTERNAL = "Internal error"
DESERIALIZE = "Failed to deserialize the JSON body into the target type: "
IMAGE_REFUSAL = "Generated image rejected by content moderation."
VIDEO_FAILURE = {
    "code": "internal_error",
    "message": "Video generation failed due to an internal error.",
}
DEFAULT_DURATION = 8
"""What a generation without ``duration`` makes (the reference's default)."""
EDIT_SECONDS = 8
"""How long the emulator takes an input video to be (it never reads the file)."""
TICKS_PER_USD = 10_000_000_000
"""``usage.cost_in_usd_ticks``: xAI counts cost in 1e-10 dollars."""


@dataclass(frozen=True)
class Contract:
    """xAI's request contract as the emulator enforces it (from ``contracts/xai.json``).

    Attributes:
        read: When the sources were read (ISO date).
        sources: Where each fact was read (the REST reference first).
        video_models: Model ids the video endpoints serve.
        image_models: Model ids the image endpoints serve.
        bodies: Endpoint (``videos.generations``, ``images.edits``, ...) -> the schema of
            its JSON body, in the subset the emulator's contracts use (``type``, ``enum``,
            ``minimum``/``maximum``, ``maxItems``, ``properties``, ``required``, ``items``,
            ``nullable``; an object refuses a field it does not list).
        one_of: Endpoint -> fields of which exactly one must be given.
    """

    read: str
    sources: tuple[str, ...]
    video_models: tuple[str, ...]
    image_models: tuple[str, ...]
    bodies: Mapping[str, Mapping[str, Any]]
    one_of: Mapping[str, tuple[str, ...]]


@functools.cache
def contract() -> Contract:
    """The contract, read once from the package's ``contracts/xai.json``."""
    text = resources.files("tarash.emulator").joinpath("contracts", "xai.json").read_text()
    data = json.loads(text)
    rules = data["rules"]
    return Contract(
        read=data["read"],
        sources=(data["source"], *data["sources"]),
        video_models=tuple(rules["video_models"]),
        image_models=tuple(rules["image_models"]),
        bodies=data["bodies"],
        one_of={name: tuple(fields) for name, fields in rules["one_of"].items()},
    )


@dataclass(frozen=True, kw_only=True)
class XaiOptions(wire.ProviderOptions):
    """How xAI is emulated.

    Attributes:
        expire_unstarted_after: A video still queued this many seconds after its create
            is ``expired`` (xAI's deferred requests expire); ``None``: never.
        max_hold_seconds: The longest an image request is held on a job that does not end
            (a ``stuck`` fault): the job is then ended and answered 500.
        usd_per_video_second: What ``usage.cost_in_usd_ticks`` charges a video second.
        usd_per_image: What it charges an image.
    """

    provider: ClassVar[str] = "xai"

    expire_unstarted_after: float | None = None
    max_hold_seconds: float = 300.0
    usd_per_video_second: float = 0.05
    usd_per_image: float = 0.02

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.expire_unstarted_after is not None and not self.expire_unstarted_after >= 0:
            raise ValueError(
                f"expire_unstarted_after must be >= 0, got {self.expire_unstarted_after!r}"
            )
        if not self.max_hold_seconds > 0:
            raise ValueError(f"max_hold_seconds must be > 0, got {self.max_hold_seconds!r}")


def xai_error(
    status_code: int,
    message: str,
    code: str = INVALID_ARGUMENT,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """xAI's error body: ``{"code": <gRPC-style status text>, "error": <message>}``."""
    return wire.json_response({"code": code, "error": message}, status_code, headers)


def deserialize_error(detail: str) -> Response:
    """The 422 of a body that does not fit the request type (plain text, as xAI sends it)."""
    return Response(f"{DESERIALIZE}{detail}", status_code=422, media_type="text/plain")


# -- the contract's checks ---------------------------------------------------------------
# xAI's own walker, not the shared ``_contract.check``: xAI deserializes with serde, which
# refuses ``5.0`` for an integer and calls a required ``null`` missing, where the shared
# JSON-schema check (pydantic's, zod's, OpenAI's) takes them. The contract file is shared.

# How serde, whose wording xAI's 422 bodies carry, names each schema type.
_EXPECTED = {
    "string": "a string",
    "integer": "i32",
    "boolean": "a boolean",
    "array": "a sequence",
    "object": "a map",
}


@dataclass(frozen=True)
class _Issue:
    """One way a body breaks the contract: ``deserialize`` issues (an unknown or missing
    field, a wrong type) are xAI's 422, ``invalid`` ones (enum, range) its 400."""

    deserialize: bool
    message: str


def _kind_of(value: object) -> str:
    """How serde names a JSON value it did not expect."""
    if isinstance(value, bool):
        return f"boolean `{str(value).lower()}`"
    if isinstance(value, int):
        return f"integer `{value}`"
    if isinstance(value, float):
        return f"floating point `{value}`"
    if isinstance(value, str):
        return f"string {json.dumps(value)}"
    if isinstance(value, list):
        return "sequence"
    return "map"


def _is(kind: str, value: object) -> bool:
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    python = {"string": str, "boolean": bool, "array": list, "object": dict}[kind]
    return isinstance(value, python)


def _at(path: str, message: str) -> str:
    return f"{path}: {message}" if path else message


def _issues(schema: Mapping[str, Any], value: object, path: str = "") -> list[_Issue]:
    """Every way ``value`` breaks ``schema``, in the body's order."""
    if value is None and schema.get("nullable"):
        return []
    kind = schema["type"]
    if not _is(kind, value):
        return [
            _Issue(True, _at(path, f"invalid type: {_kind_of(value)}, expected {_EXPECTED[kind]}"))
        ]
    if "enum" in schema and value not in schema["enum"]:
        allowed = ", ".join(schema["enum"])
        return [_Issue(False, f"Invalid {path} {value!r}: supported values are {allowed}.")]
    low, high = schema.get("minimum", -math.inf), schema.get("maximum", math.inf)
    if isinstance(value, int) and not isinstance(value, bool) and not low <= value <= high:
        return [_Issue(False, f"Invalid {path} {value}: it must be between {low} and {high}.")]
    found: list[_Issue] = []
    if isinstance(value, list):
        if len(value) > schema.get("maxItems", math.inf):
            found.append(_Issue(False, f"{path}: at most {schema['maxItems']} items are allowed"))
        for index, item in enumerate(value):
            found += _issues(schema["items"], item, f"{path}[{index}]")
    if isinstance(value, dict):
        properties: Mapping[str, Any] = schema.get("properties", {})
        expected = ", ".join(f"`{name}`" for name in properties)
        for name in schema.get("required", ()):
            if value.get(name) is None:
                found.append(_Issue(True, _at(path, f"missing field `{name}`")))
        for name, item in value.items():
            where = f"{path}.{name}" if path else name
            if name not in properties:
                message = f"unknown field `{name}`, expected one of {expected}"
                found.append(_Issue(True, _at(path, message)))
            else:
                found += _issues(properties[name], item, where)
    return found


def _media_refusal(body: Mapping[str, Any]) -> Response | None:
    """A media object (``image``, ``video``, ``images[i]``) names neither ``url`` nor
    ``file_id``: xAI's 400."""
    for name, value in body.items():
        items = value if isinstance(value, list) else [value]
        for index, item in enumerate(items):
            if (
                isinstance(item, dict)
                and name != "output"
                and not (item.get("url") or item.get("file_id"))
            ):
                where = f"{name}[{index}]" if isinstance(value, list) else name
                return xai_error(400, f"{where}: one of url or file_id must be set")
    return None


def check_body(endpoint: str, body: object, models: tuple[str, ...]) -> Response | None:
    """The answer xAI gives ``body`` at ``endpoint``, or None when it is valid.

    A body that does not deserialize (an unknown field, a missing one, a wrong type) is
    the 422 first, as xAI's server reads the body before it validates values; then the
    first value outside its enum or range, an empty prompt, the endpoint's one-of rule and
    an unknown model.

    Args:
        endpoint: The path (``/v1/videos/generations``).
        body: The parsed JSON.
        models: The model ids the endpoint serves.
    """
    name = endpoint.removeprefix("/v1/").replace("/", ".")
    schema = contract().bodies[name]
    if not isinstance(body, dict):
        return deserialize_error(
            f"invalid type: {_kind_of(body)}, expected a request object at line 1 column 1"
        )
    # sorted() is stable: the first 422 issue in the body's order, else the first 400 one.
    issues = sorted(_issues(schema, body), key=lambda found: not found.deserialize)
    if issues and issues[0].deserialize:
        return deserialize_error(f"{issues[0].message} at line 1 column 1")
    if issues:
        return xai_error(400, issues[0].message)
    if (refused := _media_refusal(body)) is not None:
        return refused
    if not str(body["prompt"]).strip():
        return xai_error(400, "prompt must not be empty.")
    one_of = contract().one_of.get(name, ())
    given = [field for field in one_of if body.get(field)]
    if one_of and len(given) != 1:
        return xai_error(400, f"Exactly one of {' or '.join(one_of)} must be provided.")
    model = body.get("model")
    if model is not None and model not in models:
        return xai_error(
            404,
            f"The model {model} does not exist or your team does not have access to it.",
            NOT_FOUND,
        )
    return None


def _image_size(aspect_ratio: object, resolution: object) -> tuple[int, int]:
    """The pixels an image is made at: its long side 1024 (``1k``) or 2048 (``2k``)."""
    long_side = 2048 if resolution == "2k" else 1024
    wide, _, tall = str(aspect_ratio or "1:1").partition(":")
    try:
        ratio = float(wide) / float(tall)
    except (ValueError, ZeroDivisionError):  # "auto": square
        ratio = 1.0
    if ratio >= 1:
        return long_side, max(1, round(long_side / ratio))
    return max(1, round(long_side * ratio)), long_side


class XaiRoutes(wire.ProviderRoutes):
    """The handlers, bound to one emulator's context."""

    name = NAME
    options_type: ClassVar[type[wire.ProviderOptions]] = XaiOptions

    def options(self) -> XaiOptions:
        """This provider's options."""
        return self.ctx.options(XaiOptions)

    # -- auth and the base's hooks ------------------------------------------------------

    def _auth_error(self, request: Request) -> Response | None:
        header = request.headers.get("authorization", "")
        if not header.strip():
            return xai_error(401, "No authorization header was provided.", UNAUTHENTICATED)
        scheme, _, key = header.partition(" ")
        if scheme.lower() == "bearer" and self.ctx.key_accepted(self.name, key.strip()):
            return None
        # xAI answers an incorrect key with a 400, not a 401 (docs.x.ai, Debugging Errors).
        return xai_error(
            400,
            "Incorrect API key provided: ***. You can obtain an API key from https://console.x.ai.",
        )

    def _find(self, request: Request) -> Job | None:
        job = self.ctx.store.get(self.name, request.path_params["request_id"])
        return job if job is not None and job.extra.get("api") == "videos" else None

    def _not_found(self, operation: Operation) -> Response:
        return xai_error(404, "The requested deferred request was not found.", NOT_FOUND)

    def _throttled_body(self, retry_after: float) -> Any:
        return {
            "code": EXHAUSTED,
            "error": f"Your team has reached its rate limit; try again in {retry_after:g} seconds.",
        }

    def _forbidden(self) -> Response:
        return xai_error(
            403,
            "The caller does not have permission to execute the specified operation.",
            "Forbidden",
        )

    def _server_error(self, status_code: int) -> Response:
        return xai_error(status_code, "The service encountered an internal error.", INTERNAL)

    async def _json_body(self, request: Request) -> Any:
        try:
            return await wire.read_json(request)
        except ValueError as exc:
            return deserialize_error(
                f"expected value at line 1 column 1 ({exc.__class__.__name__})"
            )

    # -- videos -------------------------------------------------------------------------

    async def _create_video(self, request: Request, operation: str) -> Response:
        fault = await self._screen_submit(request, None)
        if isinstance(fault, Response):
            return fault
        body = await self._json_body(request)
        if isinstance(body, Response):
            return body
        endpoint = f"/v1/videos/{operation}"
        refused = check_body(endpoint, body, contract().video_models)
        if refused is not None:
            return refused
        model = str(body.get("model") or contract().video_models[0])
        job = self.ctx.store.create(
            job_id=str(uuid.uuid4()),
            provider=self.name,
            model=model,
            input={**body, "endpoint": endpoint},
            headers=wire.recorded_headers(request, RECORDED_HEADERS),
            outcome=wire.job_outcome(self.ctx.job_fault(request, self.name, model)),
            start_timeout=self.options().expire_unstarted_after,
            extra={"api": "videos"},
        )
        if fault is not None:  # drop_after_create: the job exists, the client never hears
            return wire.DroppedConnectionResponse()
        return wire.json_response({"request_id": job.id})

    async def generate_video(self, request: Request) -> Response:
        """``POST /v1/videos/generations``."""
        return await self._create_video(request, "generations")

    async def edit_video(self, request: Request) -> Response:
        """``POST /v1/videos/edits``."""
        return await self._create_video(request, "edits")

    async def extend_video(self, request: Request) -> Response:
        """``POST /v1/videos/extensions``."""
        return await self._create_video(request, "extensions")

    @staticmethod
    def _seconds(job: Job) -> int:
        endpoint = job.input.get("endpoint")
        duration = job.input.get("duration")
        asked = duration if isinstance(duration, int) else DEFAULT_DURATION
        if endpoint == "/v1/videos/edits":
            return EDIT_SECONDS
        if endpoint == "/v1/videos/extensions":
            return EDIT_SECONDS + asked
        return asked

    def _render(self, request: Request, job: Job) -> dict[str, Any]:
        now = time.monotonic()
        state = job.state_at(now)
        if state in (JobState.QUEUED, JobState.RUNNING):
            return {"status": "pending", "progress": round(min(job.progress(now), 0.99) * 100)}
        if state is JobState.SUCCEEDED:
            seconds = self._seconds(job)
            media = MediaFile(job.id, MediaKind.VIDEO)
            ticks = round(seconds * self.options().usd_per_video_second * TICKS_PER_USD)
            return {
                "status": "done",
                "video": {
                    "url": self.ctx.media_url(request, media),
                    "duration": seconds,
                    "respect_moderation": True,
                },
                "model": job.model,
                "usage": {"cost_in_usd_ticks": ticks},
                "progress": 100,
            }
        if state is JobState.REFUSED:
            # Made and moderated after the fact: done, with no URL to hand out.
            return {
                "status": "done",
                "video": {"url": "", "duration": 0, "respect_moderation": False},
                "model": job.model,
                "progress": 100,
            }
        if state is JobState.FAILED:
            return {
                "status": "failed",
                "video": {"duration": 0, "respect_moderation": True},
                "model": "",
                "error": dict(VIDEO_FAILURE),
            }
        # EXPIRED (never started in time), or CANCELLED (xAI has no cancel: only the
        # emulator's own bookkeeping ends a job so): the deferred request is gone.
        return {"status": "expired"}

    async def get_video(self, request: Request) -> Response:
        """``GET /v1/videos/{request_id}``."""
        job = self._requested_job(request, "status")
        if isinstance(job, Response):
            return job
        return wire.json_response(self._render(request, job))

    # -- images -------------------------------------------------------------------------

    async def _images(self, request: Request, operation: str) -> Response:
        fault = await self._screen_submit(request, None)
        if isinstance(fault, Response):
            return fault
        body = await self._json_body(request)
        if isinstance(body, Response):
            return body
        endpoint = f"/v1/images/{operation}"
        refused = check_body(endpoint, body, contract().image_models)
        if refused is not None:
            return refused
        model = str(body.get("model") or contract().image_models[0])
        width, height = _image_size(body.get("aspect_ratio"), body.get("resolution"))
        job = self.ctx.store.create(
            job_id=str(uuid.uuid4()),
            provider=self.name,
            model=model,
            input={**body, "endpoint": endpoint, "width": width, "height": height},
            headers=wire.recorded_headers(request, RECORDED_HEADERS),
            outcome=wire.job_outcome(self.ctx.job_fault(request, self.name, model)),
            extra={"api": "images"},
        )
        if fault is not None:  # drop_after_create: the images are made, nobody hears
            return wire.DroppedConnectionResponse()
        state = await self.hold_for_client(request, job, self.options().max_hold_seconds)
        if state is None:  # the client left; nobody reads this
            return Response(status_code=499)
        if state is JobState.REFUSED:
            return xai_error(400, IMAGE_REFUSAL)
        if state is not JobState.SUCCEEDED:
            return self._server_error(500)
        return wire.json_response(self._image_result(request, job))

    def _image_result(self, request: Request, job: Job) -> dict[str, Any]:
        spec = job.input
        count = spec.get("n") or 1
        data: list[dict[str, Any]] = []
        for index in range(count):
            media = MediaFile(f"{job.id}-{index}", MediaKind.IMAGE, spec["width"], spec["height"])
            if spec.get("response_format") == "b64_json":
                item = {"b64_json": base64.b64encode(media.content()).decode("ascii")}
            else:
                item = {"url": self.ctx.media_url(request, media)}
            data.append({**item, "revised_prompt": "", "respect_moderation": True})
        ticks = round(count * self.options().usd_per_image * TICKS_PER_USD)
        return {"data": data, "model": job.model, "usage": {"cost_in_usd_ticks": ticks}}

    async def generate_images(self, request: Request) -> Response:
        """``POST /v1/images/generations``."""
        return await self._images(request, "generations")

    async def edit_images(self, request: Request) -> Response:
        """``POST /v1/images/edits`` (JSON only, as xAI takes it)."""
        return await self._images(request, "edits")


def build_routes(ctx: wire.EmulatorContext) -> list[BaseRoute]:
    """The xAI routes, relative to the ``/xai`` mount."""
    handlers = XaiRoutes(ctx)
    return [
        Route("/v1/videos/generations", handlers.generate_video, methods=["POST"]),
        Route("/v1/videos/edits", handlers.edit_video, methods=["POST"]),
        Route("/v1/videos/extensions", handlers.extend_video, methods=["POST"]),
        Route("/v1/videos/{request_id}", handlers.get_video, methods=["GET"]),
        Route("/v1/images/generations", handlers.generate_images, methods=["POST"]),
        Route("/v1/images/edits", handlers.edit_images, methods=["POST"]),
    ]


PROVIDER = wire.Provider(
    name=NAME,
    fake_key=FAKE_KEY,
    build_routes=build_routes,
    options=XaiOptions,
    base_path="/v1",
)
