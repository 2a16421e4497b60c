"""Stability AI's v2beta Stable Image generate API (``https://api.stability.ai``).

``POST /v2beta/stable-image/generate/{ultra|core|sd3}`` takes a ``multipart/form-data``
form (the SD 3.5 models share ``sd3`` and name themselves in its ``model`` field) and
answers **in the request**: the 200 is the finished image, as its bytes (``accept:
image/*``, with ``finish-reason`` and ``seed`` headers) or as JSON (``accept:
application/json``: base64 ``image``, ``finish_reason``, ``seed``). There is no job to poll
or cancel, so the submit's reply is the whole answer (an ``AnsweredSubmit``): the attempt
takes the image from it and never polls, reads or cancels anything.

A ``finish_reason`` of ``CONTENT_FILTERED`` is a 200 carrying a blurred image: a moderation
outcome, raised as :class:`ContentModerationError`, not a success.

Deadlines and cancellation: the create *is* the generation, it cannot be cancelled and is
not idempotent (each POST is a new, billed image). Like every submit it runs to its reply
whatever cancels the caller (``_completion.submit_to_completion``; the HTTP request is
shielded in ``_http.send``) and is never resent once it may have reached Stability. It is
not cut at the job's deadline either: a generation finishing just late is kept rather than
paid for and thrown away. Its read timeout is the time left plus as much again (at most
:data:`LATE_REPLY_GRACE` more); a reply later than that is abandoned as a transport error
flagged ``job_may_exist`` (the image may have been made and billed). A caller cancelled
meanwhile gets its cancellation once the reply is in; the image is dropped (nothing can be
cancelled remotely).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from typing import Any, ClassVar, Literal, cast

import httpx

from tarash.tarash_gateway.engine._form import FormFile, check_form, encode_form
from tarash.tarash_gateway.providers import _kit as kit
from tarash.tarash_gateway.providers._lifecycle import successor_hint, warn_if_retired
from tarash.tarash_gateway.providers._media import (
    base64_data_uri,
    decode_data_uri,
    sniff_mime,
    to_data_uri,
)
from tarash.tarash_gateway.providers.stability_models import (
    MAX_SEED,
    RETIRED,
    STABILITY_MODELS,
    sd3_spec,
)

__all__ = ["StabilityClient"]

Accept = Literal["image/*", "application/json"]

LATE_REPLY_GRACE = 30.0
"""The longest wait for a generation's reply beyond the job's deadline, in seconds."""
MIN_READ_TIMEOUT = 1.0
RATE_LIMIT_LOCKOUT = 60.0
"""Stability's lock-out after 150 requests in 10 s, when the reply names no delay."""

_PROVIDER_OPTIONS = frozenset({"accept"})
_ACCEPTS: tuple[Accept, ...] = ("image/*", "application/json")
# "... and have been timed out for 60 seconds." (the 429's errors[0]).
_LOCKOUT = re.compile(r"timed out for (\d+(?:\.\d+)?) seconds?", re.IGNORECASE)
# 422 names that refuse the content itself rather than a parameter.
_MODERATION_NAMES = frozenset({"content_moderation", "public_figure"})
_REQUEST_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$")


def _read_timeout(time_left: float | None) -> float:
    left = LATE_REPLY_GRACE if time_left is None else max(MIN_READ_TIMEOUT, time_left)
    return left + min(LATE_REPLY_GRACE, left)


class StabilityClient(kit.ProviderClient):
    """Stability AI's Stable Image generate endpoints: Ultra, Core and SD 3.5.

    ``provider_config`` options:
        accept: ``"image/*"`` (the default: the image's bytes, the smaller reply) or
            ``"application/json"`` (base64 in JSON).
    """

    name: ClassVar[str] = "stability"
    default_base_url: ClassVar[str] = "https://api.stability.ai"
    credentials = kit.ApiKey(("STABILITY_API_KEY",), header="authorization")
    supports_cancel: ClassVar[bool] = False
    answers_in_request: ClassVar[frozenset[kit.JobKind]] = frozenset({"image", "video"})
    provider_config_options: ClassVar[frozenset[str]] = _PROVIDER_OPTIONS
    models: ClassVar[Mapping[str, kit.ModelSpec]] = STABILITY_MODELS

    # -- mapping -----------------------------------------------------------------------

    def _refuse(self, message: str) -> kit.ValidationError:
        return kit.ValidationError(
            message, provider=self.name, model=self.model, fallback_allowed=False
        )

    def registered_spec(self) -> kit.ModelSpec | None:
        """The model's entry; a newer ``sd3``-prefixed id gets the ``sd3`` endpoint."""
        found = super().registered_spec()
        if found is None and self.model.startswith("sd3"):
            return sd3_spec(self.model)
        return found

    def _endpoint(self) -> str:
        # From the registry even when the user mapped the model's fields themselves: the
        # endpoint is where the model lives, not how its input is written.
        spec = self.registered_spec()
        if spec is None:
            known = ", ".join(sorted(STABILITY_MODELS))
            raise self._refuse(f"unknown Stability model {self.model!r}; known: {known}")
        return spec.endpoint

    def _accept(self) -> Accept:
        value = self.settings.provider_config.get("accept", "image/*")
        if value not in _ACCEPTS:
            raise self._refuse(
                f"provider_config['accept'] must be one of {list(_ACCEPTS)}, got {value!r}"
            )
        return cast("Accept", value)

    def prepare_video(self, request: kit.VideoGenerationRequest) -> kit.PreparedJob:
        """Refused: Stability's generate API makes no video.

        Raises:
            ValidationError: Always.
        """
        raise self._refuse(f"{self.model} generates images, not videos")

    def prepare_image(self, request: kit.ImageGenerationRequest) -> kit.PreparedJob:
        """Map an image request to the endpoint's form fields.

        An input image (``image_list``, as bytes, a path or a data URI) becomes the
        ``image`` file with ``strength`` from ``extra_params`` (Stability requires it); for
        SD 3.5 the ``mode`` becomes ``image-to-image``, which takes no ``aspect_ratio``.

        Raises:
            ValidationError: The model is unknown, the input image is a URL (Stability takes
                an upload), ``strength`` is missing for it, ``seed`` is out of range, or a
                field cannot be sent in a form.
        """
        warn_if_retired(self.name, self.model, RETIRED)
        self._accept()
        endpoint = self._endpoint()
        job = self.prepare_from_spec("image", request)
        fields = job.payload
        seed = fields.get("seed")
        if isinstance(seed, int) and not isinstance(seed, bool) and not 0 <= seed <= MAX_SEED:
            raise self._refuse(f"seed must be 0 to {MAX_SEED} for Stability, got {seed}")
        image = fields.get("image")
        if image is not None:
            if not (isinstance(image, str) and image.startswith("data:")):
                raise self._refuse(
                    "Stability takes the input image as an upload: give image_list bytes, a "
                    "path or a data: URI, not a URL"
                )
            if fields.get("strength") is None:
                raise self._refuse(
                    "an input image needs extra_params={'strength': 0.0-1.0} on Stability "
                    "(how far the result may depart from the image)"
                )
            if endpoint.endswith("/sd3"):
                fields.setdefault("mode", "image-to-image")
                if fields.pop("aspect_ratio", None) is not None:
                    job.adaptations.append(
                        "aspect_ratio: not sent (SD 3.5 image-to-image follows the image)"
                    )
                    job.summary["aspect_ratio"] = None
        # The form the submit will encode, checked now: a value a form cannot carry is a
        # ValidationError naming it, before anything is sent.
        check_form({key: value for key, value in fields.items() if key != "image"})
        job.summary.setdefault("aspect_ratio", fields.get("aspect_ratio"))
        return job

    # -- lifecycle ---------------------------------------------------------------------

    def _url(self) -> str:
        return f"{self.base_url}{self._endpoint()}"

    def _form(self, payload: dict[str, Any]) -> tuple[str, bytes]:
        fields = dict(payload)
        files: dict[str, FormFile] = {}
        image = fields.pop("image", None)
        if isinstance(image, str):
            data, mime = decode_data_uri(image, field="image_list[0]")
            kind = mime or sniff_mime(data, "image/png")
            extension = kind.rpartition("/")[2] or "png"
            files["image"] = FormFile(data, kind, f"image.{extension}")
        return encode_form(fields, files)

    async def submit(self, job: kit.PreparedJob, *, time_left: float | None) -> kit.SubmittedJob:
        """``POST`` the form; the reply is the whole answer: the image, or why there is none.

        Raises:
            TarashException: The create was refused (mapped by :meth:`parse_error`), or no
                reply came (flagged ``job_may_exist`` when it may have reached Stability).
        """
        content_type, body = self._form(job.payload)
        reply = await self._send(
            "submit",
            "POST",
            self._url(),
            headers={"content-type": content_type, "accept": self._accept()},
            content=body,
            read_timeout=_read_timeout(time_left),
            held=True,
        )
        header_id = reply.headers.get("x-request-id", "")
        # Stability's request id names the generation in its support and logs; a reply
        # without one still carries the image, under a local id.
        request_id = header_id if _REQUEST_ID.match(header_id) else f"local-{uuid.uuid4().hex}"
        return self._answer(reply, self.new_handle("image", request_id))

    def _unreadable(
        self, reply: httpx.Response, handle: kit.JobHandle, why: str
    ) -> kit.AnsweredSubmit:
        # The generation ran and is billed; only its reply could not be read. Not a verdict
        # on the job, so no fallback (another provider would be paid too) and no resend.
        error = kit.ProviderServerError(
            f"Stability answered HTTP {reply.status_code} but {why}: the image was made "
            "(and billed) and cannot be read",
            status_code=reply.status_code,
            retryable=False,
            fallback_allowed=False,
            **self.error_origin(handle.request_id, None),
        )
        return kit.AnsweredSubmit.failed(handle, {}, error)

    def _answer(self, reply: httpx.Response, handle: kit.JobHandle) -> kit.AnsweredSubmit:
        """The create's reply as the whole answer: the image as the published ``data:``
        URI (JSON's base64 text reused as it is), or why there is none."""
        media_type = reply.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if media_type == "application/json":
            body = kit.response_json(reply)
            if not isinstance(body, dict) or not isinstance(body.get("image"), str):
                return self._unreadable(reply, handle, "its JSON holds no image")
            declared = re.search(r"type=([\w.+-]+/[\w.+-]+)", reply.headers["content-type"])
            found = base64_data_uri(body["image"], declared[1] if declared else "image/png")
            if found is None:
                return self._unreadable(reply, handle, "its image is not valid base64")
            image, sniffed = found
            raw = {key: value for key, value in body.items() if key != "image"}
            content_type = declared[1] if declared else sniffed
        else:
            content_type = media_type or sniff_mime(reply.content, "image/png")
            # Published answers with a data: URI of the bytes (the reply's copy is dropped
            # with the reply).
            image = to_data_uri(reply.content, content_type) if reply.content else ""
            raw = {
                "finish_reason": reply.headers.get("finish-reason"),
                "seed": _seed(reply.headers.get("seed")),
            }
        if not image or not content_type.startswith("image/"):
            return self._unreadable(reply, handle, "its body is not an image")
        raw["content_type"] = content_type
        origin = self.error_origin(handle.request_id, raw)
        match raw.get("finish_reason"):
            case "SUCCESS" | None:
                # No finish reason at all (a proxy stripped the headers): the image is there.
                output = kit.ImageOutput(images=[image], content_type=content_type, raw=dict(raw))
                return kit.AnsweredSubmit.completed(handle, raw, output)
            case "CONTENT_FILTERED":
                return kit.AnsweredSubmit.failed(
                    handle,
                    raw,
                    kit.ContentModerationError(
                        "Stability's content filter blurred the image (finish_reason "
                        "CONTENT_FILTERED)",
                        **origin,
                    ),
                )
            case "ERROR":
                # v1's artifacts used it; kept for a v2beta reply that says so.
                return kit.AnsweredSubmit.failed(
                    handle,
                    raw,
                    kit.GenerationFailedError(
                        "Stability reports the generation failed (finish_reason ERROR)",
                        **origin,
                    ),
                )
            case other:
                # An unknown verdict, on a request that is over either way: nothing runs
                # on to stop or follow.
                return kit.AnsweredSubmit.failed(
                    handle,
                    raw,
                    kit.GenerationFailedError(
                        f"Stability reported an unknown finish_reason {other!r}", **origin
                    ),
                )

    async def poll(self, handle: kit.JobHandle) -> kit.JobSnapshot:
        """Refused: a generate call has no status to read later.

        Raises:
            ValidationError: Always (nothing is sent).
        """
        raise kit.ValidationError(
            "Stability's generate endpoints answer in the request: a job has no status to "
            "read later and its image is not kept; use generate_image",
            provider=self.name,
            model=self.model,
            request_id=handle.request_id,
            fallback_allowed=False,
        )

    async def fetch_video(
        self, handle: kit.JobHandle, snapshot: kit.JobSnapshot
    ) -> kit.VideoOutput:
        """Refused: Stability makes no video here.

        Raises:
            ValidationError: Always.
        """
        raise self._refuse(f"{self.model} generates images, not videos")

    async def fetch_image(
        self, handle: kit.JobHandle, snapshot: kit.JobSnapshot
    ) -> kit.ImageOutput:
        """Refused, sending nothing: the image came with the create's reply
        (:class:`~tarash.tarash_gateway.providers._base.AnsweredSubmit`) and Stability
        keeps nothing to read later.

        Raises:
            ValidationError: Always.
        """
        raise kit.ValidationError(
            "this Stability image was returned by its create and is not kept (it is read "
            "once, from the create's reply)",
            provider=self.name,
            model=self.model,
            request_id=handle.request_id,
            fallback_allowed=False,
        )

    async def cancel(self, handle: kit.JobHandle) -> bool:
        """Nothing to cancel: the create is the whole generation. Returns False."""
        return False

    # -- errors ------------------------------------------------------------------------

    def parse_error(
        self, response: httpx.Response, call: kit.CallContext = kit.UNKNOWN_CALL
    ) -> kit.TarashException:
        """Map Stability's error body (``id``, ``name``, ``errors``) to an error.

        403 ``content_moderation`` (and 422 ``public_figure``) are
        :class:`ContentModerationError`; 402 is insufficient credit; 429
        ``rate_limit_exceeded`` carries the lock-out (its ``Retry-After``, else the seconds
        its message names, else 60 s) as ``retry_after``; a refusal of a retired model id
        names its successor.
        """
        body = kit.response_json(response)
        status = response.status_code
        name = ""
        message = ""
        request_id = response.headers.get("x-request-id") or call.request_id
        if isinstance(body, dict):
            name = str(body.get("name") or "").strip()
            errors = body.get("errors")
            if isinstance(errors, list):
                message = "; ".join(str(item).strip() for item in errors if str(item).strip())
            elif isinstance(errors, str):
                message = errors.strip()
            message = message or str(body.get("message") or "").strip()
            if isinstance(body.get("id"), str) and _REQUEST_ID.match(body["id"]):
                request_id = request_id or body["id"]
        else:
            message = response.text.strip()[:500]
        message = ": ".join(part for part in (name, message) if part)
        message = message or f"HTTP {status} from Stability"
        if status in (400, 404):
            message += successor_hint(self.model, RETIRED)
        origin = self.error_origin(request_id, body)
        if name in _MODERATION_NAMES and status in (400, 403, 422):
            return kit.ContentModerationError(message, status_code=status, **origin)
        error = kit.error_for_status(status, message, headers=response.headers, **origin)
        if status == 429 and isinstance(error, kit.HTTPError) and error.retry_after is None:
            lockout = _LOCKOUT.search(message)
            error.retry_after = float(lockout[1]) if lockout else RATE_LIMIT_LOCKOUT
        return error


def _seed(value: str | None) -> int | None:
    return int(value) if value is not None and value.isdigit() else None
