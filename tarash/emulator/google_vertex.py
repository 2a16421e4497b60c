"""Google's Vertex AI protocol (real hosts ``{location}-aiplatform.googleapis.com``), under
the same ``/google`` mount as the Gemini API; the Cloud Storage media download beside it.

Routes, relative to the mount (``{version}`` is ``v1`` or ``v1beta1``; python-genai speaks
``v1beta1``, Google's samples ``v1``; ``v1beta`` too, see :data:`VERSIONS`)::

    POST /{version}/projects/{p}/locations/{l}/publishers/google/models/{model}:{method}
    POST /{version}/publishers/google/models/{model}:{method}        express mode (API key)
        method: predictLongRunning (Veo), fetchPredictOperation {"operationName"},
                generateContent (Gemini image), predict (Imagen)
    GET  /download/storage/v1/b/{bucket}/o/{object}?alt=media         a gs:// result
    GET  /storage/v1/b/{bucket}/o/{object}?alt=media                  the same

Auth: ``Authorization: Bearer <token>`` (the emulator's key stands for a token) on every
route; ``x-goog-api-key`` on the express-mode routes only. A missing credential is 401
``UNAUTHENTICATED``, a wrong token 401, a wrong express key 400 ``API_KEY_INVALID`` (as
Google answers them).

A finished Veo operation holds ``response.videos[]``: ``bytesBase64Encoded`` inline, or a
``gcsUri`` when the request's ``parameters.storageUri`` (or :attr:`GoogleOptions.
vertex_storage_uri`) names a bucket; the object is then served by the storage routes with
the same token. A ``content_refusal`` is ``raiMediaFilteredCount`` with reasons and no
videos; a ``job_failure`` a ``done`` with ``error {code: 13}``. There is no cancel.
"""

from __future__ import annotations

import base64
import secrets
import time
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, ClassVar

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from tarash.emulator import _wire as wire
from tarash.emulator import google, google_interactions
from tarash.emulator._jobs import Job, JobState
from tarash.emulator._media import MediaFile, MediaKind
from tarash.emulator.google import (
    RAI_REASON,
    RECORDED_HEADERS,
    GoogleOptions,
    GoogleRoutes,
    google_error,
)

# v1beta is the Gemini API's version, not Vertex's: accepted so that the emulator's one
# Google base (``/google/v1beta``, what ``TARASH_GOOGLE_BASE_URL`` is set to) serves both
# backends; the two protocols' paths never collide (``projects/``/``publishers/`` vs
# ``models/``).
VERSIONS = frozenset({"v1", "v1beta1", "v1beta"})
_SAMPLE = "sample_0.mp4"


class VertexRoutes(GoogleRoutes):
    """The Vertex AI handlers: Google's envelope, faults and image holds, Vertex's paths,
    auth and result shape."""

    video_body: ClassVar[str] = "vertex.predictLongRunning"
    # Vertex's image methods are not under a contract yet.
    image_bodies: ClassVar[Mapping[str, str]] = MappingProxyType({})

    def _auth_error(self, request: Request) -> Response | None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            if self.ctx.key_accepted(self.name, token.strip()):
                return None
            return google_error(
                401,
                "Request had invalid authentication credentials. Expected OAuth 2 access "
                "token, login cookie or other valid authentication credential.",
                status="UNAUTHENTICATED",
            )
        express = "project" not in request.path_params and "bucket" not in request.path_params
        if express and request.headers.get("x-goog-api-key"):
            return super()._auth_error(request)
        return google_error(
            401,
            "Request is missing required authentication credential. Expected OAuth 2 access "
            "token, login cookie or other valid authentication credential.",
            status="UNAUTHENTICATED",
        )

    def _find(self, request: Request) -> Job | None:
        job_id = request.state.operation_id
        job = self.ctx.store.get(self.name, job_id) if job_id else None
        if job is None or job.model != request.path_params["model"]:
            return None
        if job.extra.get("resource") != self._resource(request):
            return None
        return job

    @staticmethod
    def _resource(request: Request) -> str:
        params = request.path_params
        publisher = f"publishers/google/models/{params['model']}"
        if "project" in params:
            return f"projects/{params['project']}/locations/{params['location']}/{publisher}"
        return publisher

    async def vertex_method(self, request: Request) -> Response:
        """``POST /{version}/[projects/{p}/locations/{l}/]publishers/google/models/{m}:{x}``."""
        if request.path_params["version"] not in VERSIONS:
            return google_error(404, "The requested URL was not found on this server.")
        model, _, method = request.path_params["target"].rpartition(":")
        request.path_params["model"] = model
        if method == "predictLongRunning":
            return await self._start_vertex_video(request, model)
        if method == "fetchPredictOperation":
            return await self._fetch_operation(request)
        if method in ("generateContent", "predict"):
            return await self._images(request, model, method)
        return google_error(404, f"Method {method!r} not found.")

    async def _start_vertex_video(self, request: Request, model: str) -> Response:
        screened = await self._video_input(request, model)
        if isinstance(screened, Response):
            return screened
        fault, job_input = screened
        storage = job_input["parameters"].get("storageUri")
        if storage is None:
            storage = self.ctx.options(GoogleOptions).vertex_storage_uri
        if storage is not None and not (
            isinstance(storage, str) and storage.startswith("gs://") and len(storage) > 5
        ):
            return google_error(400, "storageUri must be a gs:// URI.")
        resource = self._resource(request)
        job = self.ctx.store.create(
            job_id=secrets.token_hex(8),
            provider=self.name,
            model=model,
            input=job_input,
            headers=wire.recorded_headers(request, RECORDED_HEADERS),
            outcome=wire.job_outcome(self.ctx.job_fault(request, self.name, model)),
            extra={"api": "vertex", "resource": resource, "storage": storage},
        )
        if fault is not None:  # drop_after_create
            return wire.DroppedConnectionResponse()
        return wire.json_response({"name": f"{resource}/operations/{job.id}"})

    async def _fetch_operation(self, request: Request) -> Response:
        if denied := self._auth_error(request):
            return denied
        payload = await self._json(request)
        if isinstance(payload, Response):
            return payload
        name = payload.get("operationName")
        if not isinstance(name, str) or "/operations/" not in name:
            return google_error(400, "operationName is required.")
        request.state.operation_id = name.rpartition("/operations/")[2]
        job = self._requested_job(request, "status")
        if isinstance(job, Response):
            return job
        return wire.json_response(self._render_vertex(job))

    def _render_vertex(self, job: Job) -> dict[str, Any]:
        state = job.state_at(time.monotonic())
        body: dict[str, Any] = {"name": f"{job.extra['resource']}/operations/{job.id}"}
        if not state.is_terminal:
            return body
        body["done"] = True
        kind = "type.googleapis.com/cloud.ai.large_models.vision.GenerateVideoResponse"
        if state is JobState.SUCCEEDED:
            storage = job.extra.get("storage")
            if storage:
                video = {"gcsUri": f"{storage.rstrip('/')}/{job.id}/{_SAMPLE}"}
            else:
                content = MediaFile(f"{job.id}-0", MediaKind.VIDEO).content()
                video = {"bytesBase64Encoded": base64.b64encode(content).decode("ascii")}
            video["mimeType"] = "video/mp4"
            body["response"] = {"@type": kind, "raiMediaFilteredCount": 0, "videos": [video]}
        elif state is JobState.REFUSED:
            body["response"] = {
                "@type": kind,
                "raiMediaFilteredCount": 1,
                "raiMediaFilteredReasons": [RAI_REASON],
            }
        else:
            body["error"] = {"code": 13, "message": "Video generation failed: internal error."}
        return body

    async def storage_object(self, request: Request) -> Response:
        """``GET .../b/{bucket}/o/{object}?alt=media``: a Veo result's bytes."""
        if denied := self._auth_error(request):
            return denied
        name = request.path_params["object"]
        parts = name.split("/")
        job = self.ctx.store.get(self.name, parts[-2]) if len(parts) >= 2 else None
        if fault := self.ctx.request_fault(
            request, self.name, "result", job.model if job else None
        ):
            return self._fault_response(fault)
        storage = job.extra.get("storage") if job is not None else None
        expected = f"gs://{request.path_params['bucket']}/{name}"
        if (
            job is None
            or not storage
            or expected != f"{storage.rstrip('/')}/{job.id}/{_SAMPLE}"
            or job.state_at(time.monotonic()) is not JobState.SUCCEEDED
        ):
            return google_error(404, "No such object.")
        if request.query_params.get("alt") != "media":
            return wire.json_response(
                {"kind": "storage#object", "bucket": request.path_params["bucket"], "name": name}
            )
        media = MediaFile(f"{job.id}-0", MediaKind.VIDEO)
        return Response(media.content(), media_type=media.content_type)


def build_routes(ctx: wire.EmulatorContext) -> list[BaseRoute]:
    """The Vertex AI and storage routes, relative to the ``/google`` mount."""
    handlers = VertexRoutes(ctx)
    models = "publishers/google/models/{target}"
    storage = "storage/v1/b/{bucket}/o/{object:path}"
    return [
        Route(
            f"/{{version}}/projects/{{project}}/locations/{{location}}/{models}",
            handlers.vertex_method,
            methods=["POST"],
        ),
        Route(f"/{{version}}/{models}", handlers.vertex_method, methods=["POST"]),
        Route(f"/download/{storage}", handlers.storage_object, methods=["GET"]),
        Route(f"/{storage}", handlers.storage_object, methods=["GET"]),
    ]


def build_mount_routes(ctx: wire.EmulatorContext) -> list[BaseRoute]:
    """Every route of the ``/google`` mount: the Gemini API's (its Interactions API too)
    and Vertex AI's."""
    return google.build_routes(ctx) + google_interactions.build_routes(ctx) + build_routes(ctx)


# Google's provider entry is here, not in google.py: this module builds on google.py's
# handlers, so only here are both protocols' routes known without an import cycle.
PROVIDER = wire.Provider(
    name=google.NAME,
    fake_key=google.FAKE_KEY,
    build_routes=build_mount_routes,
    options=GoogleOptions,
    base_path="/v1beta",
)
