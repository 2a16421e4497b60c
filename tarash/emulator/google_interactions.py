"""The Gemini API's Interactions API, as Gemini Omni Flash (``gemini-omni-flash-preview``)
uses it, on the ``/google`` mount beside the Gemini API's other routes.

Routes, relative to the mount::

    POST /v1beta/interactions                        -> {"id", "status": "in_progress", ...}
    GET  /v1beta/interactions/{id}                   the interaction (``status``, ``steps``)
    POST /v1beta/interactions/{id}/cancel            a running one ``cancelled``

Wire facts (``contracts/google_interactions.json``, read 2026-12-07: the Gemini API's video
guide and the live-API notes it cites): the body is checked strictly against the contract
(snake_case, as the Interactions API writes it; an unknown field is a 400
``INVALID_ARGUMENT``); only the models in :data:`~tarash.emulator.google.INTERACTIONS_ONLY_MODELS`
are served (another is a 400), with ``response_modalities`` ``["video"]``. A finished
interaction is ``completed`` with the video inline as base64 in a ``model_output`` step; a
``content_refusal`` is ``failed`` with a safety message, a ``job_failure`` ``failed`` with
an internal error; a cancelled one ``cancelled``.
"""

from __future__ import annotations

import base64
import secrets
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from tarash.emulator import _wire as wire
from tarash.emulator._contract import check, load_contract, untolerated
from tarash.emulator._jobs import Job, JobState
from tarash.emulator._media import MediaFile, MediaKind
from tarash.emulator.google import (
    INTERACTIONS_ONLY_MODELS,
    RECORDED_HEADERS,
    GoogleOptions,
    GoogleRoutes,
    contract_error,
    google_error,
)

CONTRACT = load_contract("google_interactions")
SAFETY_MESSAGE = "The request was blocked by the safety filters."

_STATUS = {
    JobState.QUEUED: "in_progress",
    JobState.RUNNING: "in_progress",
    JobState.SUCCEEDED: "completed",
    JobState.REFUSED: "failed",
    JobState.FAILED: "failed",
    JobState.CANCELLED: "cancelled",
}


class InteractionRoutes(GoogleRoutes):
    """The Interactions API's handlers (auth, faults and errors as the Gemini API's)."""

    def _find(self, request: Request) -> Job | None:
        return self.ctx.store.get(self.name, request.path_params["interaction"])

    async def create(self, request: Request) -> Response:
        """``POST /v1beta/interactions``."""
        fault = await self._screen_submit(request, None)
        if isinstance(fault, Response):
            return fault
        payload = await self._json(request)
        if isinstance(payload, Response):
            return payload
        issues = check(CONTRACT["bodies"]["interactions.create"], payload)
        model = str(payload.get("model") or "")
        issues = untolerated(issues, model, self.ctx.options(GoogleOptions).leniencies())
        if issues:
            return contract_error(issues)
        if model.removeprefix("models/") not in INTERACTIONS_ONLY_MODELS:
            return google_error(400, f"Model {model!r} is not served by the Interactions API.")
        model = model.removeprefix("models/")
        if payload.get("response_modalities") != ["video"]:
            return google_error(400, f"{model} answers response_modalities ['video'] only.")
        text = payload["input"]
        if not isinstance(text, str):
            text = " ".join(str(item.get("text") or "") for item in text)
        if not text.strip():
            return google_error(400, "input must hold a text prompt.")
        job = self.ctx.store.create(
            job_id=f"v1_{secrets.token_hex(8)}",
            provider=self.name,
            model=model,
            input={"prompt": text, "payload": payload},
            headers=wire.recorded_headers(request, RECORDED_HEADERS),
            outcome=wire.job_outcome(self.ctx.job_fault(request, self.name, model)),
        )
        if fault is not None:  # drop_after_create
            return wire.DroppedConnectionResponse()
        return wire.json_response(self._interaction(job))

    def _interaction(self, job: Job) -> dict[str, Any]:
        state = job.state_at(time.monotonic())
        body: dict[str, Any] = {
            "id": job.id,
            "object": "interaction",
            "model": job.model,
            "status": _STATUS[state],
        }
        if state is JobState.SUCCEEDED:
            content = MediaFile(f"{job.id}-0", MediaKind.VIDEO).content()
            video = {
                "type": "video",
                "mime_type": "video/mp4",
                "data": base64.b64encode(content).decode("ascii"),
            }
            body["usage"] = {"output_tokens_by_modality": [{"modality": "video", "tokens": 57920}]}
            body["steps"] = [
                {"type": "user_input", "content": [{"type": "text", "text": job.input["prompt"]}]},
                {"type": "model_output", "content": [video]},
            ]
        elif state is JobState.REFUSED:
            body["error"] = {"message": SAFETY_MESSAGE}
        elif state is JobState.FAILED:
            body["error"] = {"message": "Video generation failed: internal error."}
        return body

    async def get(self, request: Request) -> Response:
        """``GET /v1beta/interactions/{id}``."""
        job = self._requested_job(request, "status")
        if isinstance(job, Response):
            return job
        return wire.json_response(self._interaction(job))

    async def cancel(self, request: Request) -> Response:
        """``POST /v1beta/interactions/{id}/cancel``: a running interaction is cancelled;
        an ended one is answered as it is."""
        job = self._requested_job(request, "cancel")
        if isinstance(job, Response):
            return job
        self.ctx.store.cancel(job)
        return wire.json_response(self._interaction(job))


def build_routes(ctx: wire.EmulatorContext) -> list[BaseRoute]:
    """The Interactions API routes, relative to the ``/google`` mount."""
    handlers = InteractionRoutes(ctx)
    return [
        Route("/v1beta/interactions", handlers.create, methods=["POST"]),
        Route("/v1beta/interactions/{interaction}", handlers.get, methods=["GET"]),
        Route("/v1beta/interactions/{interaction}/cancel", handlers.cancel, methods=["POST"]),
    ]
