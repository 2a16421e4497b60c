"""Azure OpenAI (real base ``https://{resource}.openai.azure.com``), under
``/azure_openai`` (the "resource endpoint" clients are given).

Routes, relative to the mount::

    POST|GET|DELETE /openai/v1/videos[/{id}[/content|/remix]]   the OpenAI Videos API (v1)
    POST /openai/v1/images/{generations|edits}              the OpenAI Images API (v1)
    POST /openai/deployments/{deployment}/images/{generations|edits}?api-version=...
    POST   /openai/v1/video/generations/jobs?api-version=preview     Sora-1 create
    GET    /openai/v1/video/generations/jobs/{job_id}                the job
    DELETE /openai/v1/video/generations/jobs/{job_id}                cancel (204)
    GET    /openai/v1/video/generations/{generation_id}/content/video   the MP4

(the legacy paths are also served without ``/v1``). Auth is ``api-key: <key>`` or
``Authorization: Bearer <key or Entra token>``. ``model`` is the deployment name; any is
accepted. Errors are Azure's: ``{"error": {"code": "401", "message": ...}}``.

The legacy job's statuses follow its phase: ``preprocessing`` then ``queued`` while
queued, ``running`` then ``processing`` while it runs, then ``succeeded`` (one generation
per variant), ``failed`` (``failure_reason`` ``internal_error`` for ``job_failure``,
``input_moderation`` for ``content_refusal``) or ``cancelled``.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Any, ClassVar

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from tarash.emulator import _wire as wire
from tarash.emulator._faults import Operation
from tarash.emulator._jobs import Job, JobState
from tarash.emulator._media import make_mp4
from tarash.emulator.openai import RECORDED_HEADERS, OpenAIOptions, OpenAIRoutes

NAME = "azure_openai"
FAKE_KEY = "emulator0azure0key00000000000000"

# The Sora-1 jobs API's ``width``/``height``, the emulator's own. Source: Azure's OpenAI v1
# preview REST spec (Azure/azure-rest-api-specs, ``specification/ai/data-plane/OpenAI.v1/
# azure-v1-preview-generated.yaml``, as rendered in Microsoft Learn's REST reference; checked
# 2026-12-07): "480x480, 854x480, 720x720, 1280x720, 1080x1080 and 1920x1080 in both
# landscape and portrait orientations", ``n_seconds`` 1 to 20, ``n_variants`` 1 to 5
# ("smaller dimensions allow more variants"). Not in the spec, kept and reported: the 360p
# sizes and 10 s at most at 1080p (earlier Microsoft material lists them: an earlier PyRIT
# Sora target's docstring), and the variant limits (two, one at 1080p: no source at hand).
_LEGACY_LANDSCAPE = ((480, 480), (854, 480), (720, 720), (1280, 720), (1080, 1080), (1920, 1080))
LEGACY_SIZES = frozenset(
    {
        (360, 360),
        (640, 360),
        *_LEGACY_LANDSCAPE,
        *((height, width) for width, height in _LEGACY_LANDSCAPE),
    }
)
_FAILURE_REASONS = {
    JobState.FAILED: "internal_error",
    JobState.EXPIRED: "internal_error",
    JobState.REFUSED: "input_moderation",
}


@dataclass(frozen=True, kw_only=True)
class AzureOpenAIOptions(OpenAIOptions):
    """How Azure OpenAI is emulated (the v1 API's settings are OpenAI's)."""

    provider: ClassVar[str] = "azure_openai"


def azure_error(status_code: int, code: str, message: str, **extra: Any) -> Response:
    """Azure's error envelope (``code`` is often the status as a string)."""
    return wire.json_response({"error": {"code": code, "message": message, **extra}}, status_code)


class AzureOpenAIRoutes(OpenAIRoutes):
    """Azure's v1 routes (OpenAI's handlers) plus the deployment and legacy jobs routes."""

    name = NAME
    options_type: ClassVar[type[wire.ProviderOptions]] = AzureOpenAIOptions
    model_ids_checked: ClassVar[bool] = False

    def options(self) -> OpenAIOptions:
        """Azure's own options."""
        return self.ctx.options(AzureOpenAIOptions)

    def _key(self, request: Request) -> str:
        if key := request.headers.get("api-key", "").strip():
            return key
        return super()._key(request)

    def _auth_error(self, request: Request) -> Response | None:
        if self.ctx.key_accepted(self.name, self._key(request)):
            return None
        return azure_error(
            401,
            "401",
            "Access denied due to invalid subscription key or wrong API endpoint. Make sure "
            "to provide a valid key for an active subscription and use a correct regional "
            "API endpoint for your resource.",
            detail="unauthorized",
        )

    def _throttled_body(self, retry_after: float) -> Any:
        return {
            "error": {
                "code": "429",
                "message": "Requests to the Video Generation Operation under Azure OpenAI API "
                "have exceeded call rate limit of your current pricing tier. Please retry "
                f"after {retry_after:g} seconds.",
            },
            "detail": "rate_limited",
        }

    # -- the deployment images path -----------------------------------------------------

    async def deployment_images(self, request: Request) -> Response:
        """``POST /openai/deployments/{d}/images/{op}?api-version=...``."""
        if "api-version" not in request.query_params:
            return azure_error(
                404, "404", "Resource not found (the dated API needs ?api-version=...)"
            )
        operation = request.path_params["operation"]
        if operation not in ("generations", "edits"):
            return azure_error(404, "404", "Resource not found")
        edit = operation == "edits"
        return await self._images(request, edit=edit, model_hint=request.path_params["deployment"])

    # -- the legacy jobs API ------------------------------------------------------------

    def _find(self, request: Request) -> Job | None:
        if "job_id" in request.path_params:
            job = self.ctx.store.get(self.name, request.path_params["job_id"])
            return job if job is not None and job.extra.get("api") == "legacy" else None
        if "generation_id" in request.path_params:
            generation = request.path_params["generation_id"]
            job = self.ctx.store.get(self.name, "task_" + generation.removeprefix("gen_"))
            return job if job is not None and job.extra.get("api") == "legacy" else None
        return super()._find(request)

    def _forbidden(self) -> Response:
        return azure_error(
            403,
            "PermissionDenied",
            "Principal does not have access to API/Operation.",
        )

    def _not_found(self, operation: Operation) -> Response:
        return azure_error(404, "NotFound", "The requested resource was not found.")

    def _legacy_status(self, job: Job, now: float) -> str:
        state = job.state_at(now)
        if state is JobState.QUEUED:
            halfway = job.created + (job.starts_at - job.created) / 2
            return "preprocessing" if now < halfway else "queued"
        if state is JobState.RUNNING:
            return "running" if job.progress(now) < 0.8 else "processing"
        if state is JobState.SUCCEEDED:
            return "succeeded"
        if state is JobState.CANCELLED:
            return "cancelled"
        return "failed"

    def _render_job(self, job: Job, now: float) -> dict[str, Any]:
        status = self._legacy_status(job, now)
        spec = job.input
        ended = job.ended_at()
        finished = job.state_at(now).is_terminal and ended is not None
        generations = [
            {
                "object": "video.generation",
                "id": f"gen_{job.id.removeprefix('task_')}" + ("" if index == 0 else f"v{index}"),
                "job_id": job.id,
                "created_at": int(job.wall(ended).timestamp()) if ended else None,
                "width": spec["width"],
                "height": spec["height"],
                "n_seconds": spec["n_seconds"],
                "prompt": spec["prompt"],
            }
            for index in range(spec["n_variants"])
        ]
        return {
            "object": "video.generation.job",
            "id": job.id,
            "status": status,
            "created_at": int(job.created_wall.timestamp()),
            "finished_at": int(job.wall(ended).timestamp()) if finished and ended else None,
            "expires_at": int(job.wall(ended).timestamp()) + 86400
            if status == "succeeded" and ended
            else None,
            "generations": generations if status == "succeeded" else [],
            "prompt": spec["prompt"],
            "model": job.model,
            "n_variants": spec["n_variants"],
            "n_seconds": spec["n_seconds"],
            "height": spec["height"],
            "width": spec["width"],
            "failure_reason": _FAILURE_REASONS.get(job.state_at(now)),
        }

    @staticmethod
    def _number(value: Any) -> int | None:
        # Height and width are accepted as numbers or numeric strings.
        if isinstance(value, bool):
            return None
        if isinstance(value, int):
            return value
        if isinstance(value, str) and value.isdigit():
            return int(value)
        return None

    async def create_job(self, request: Request) -> Response:
        """``POST …/video/generations/jobs?api-version=preview``."""
        fault = await self._screen_submit(request, None)
        if isinstance(fault, Response):
            return fault
        if "api-version" not in request.query_params:
            return azure_error(400, "BadRequest", "Missing required query parameter 'api-version'.")
        parsed = await self._body(request)
        if isinstance(parsed, Response):
            return parsed
        fields, _ = parsed
        prompt = fields.get("prompt")
        model = fields.get("model")
        if not isinstance(prompt, str) or not prompt.strip() or not isinstance(model, str):
            return azure_error(400, "BadRequest", "'prompt' and 'model' are required.")
        width = self._number(fields.get("width", 480))
        height = self._number(fields.get("height", 480))
        seconds = self._number(fields.get("n_seconds", 5))
        variants = self._number(fields.get("n_variants", 1))
        if width is None or height is None or (width, height) not in LEGACY_SIZES:
            return azure_error(400, "BadRequest", f"Unsupported resolution {width}x{height}.")
        longest = 10 if max(width, height) >= 1080 else 20
        if seconds is None or not 1 <= seconds <= longest:
            return azure_error(400, "BadRequest", f"n_seconds must be 1 to {longest}.")
        if variants is None or not 1 <= variants <= (1 if max(width, height) >= 1080 else 2):
            return azure_error(400, "BadRequest", "n_variants is out of range for this size.")
        job = self.ctx.store.create(
            job_id=f"task_{secrets.token_hex(13)}",
            provider=self.name,
            model=model,
            input={
                "prompt": prompt,
                "width": width,
                "height": height,
                "n_seconds": seconds,
                "n_variants": variants,
            },
            headers=wire.recorded_headers(request, RECORDED_HEADERS),
            outcome=wire.job_outcome(self.ctx.job_fault(request, self.name, model)),
            extra={"api": "legacy"},
        )
        if fault is not None:
            return wire.DroppedConnectionResponse()
        return wire.json_response(self._render_job(job, time.monotonic()), 201)

    async def get_job(self, request: Request) -> Response:
        """``GET …/video/generations/jobs/{job_id}``."""
        job = self._requested_job(request, "status")
        if isinstance(job, Response):
            return job
        return wire.json_response(self._render_job(job, time.monotonic()))

    async def delete_job(self, request: Request) -> Response:
        """``DELETE …/video/generations/jobs/{job_id}``: cancels a job still running."""
        job = self._requested_job(request, "cancel")
        if isinstance(job, Response):
            return job
        self.ctx.store.cancel(job)
        return Response(status_code=204)

    async def generation_content(self, request: Request) -> Response:
        """``GET …/video/generations/{generation_id}/content/video``."""
        job = self._requested_job(request, "result")
        if isinstance(job, Response):
            return job
        if job.state_at(time.monotonic()) is not JobState.SUCCEEDED:
            return azure_error(400, "BadRequest", "The generation is not ready.")
        return Response(make_mp4(), media_type="video/mp4")


def build_routes(ctx: wire.EmulatorContext) -> list[BaseRoute]:
    """The Azure routes, relative to the ``/azure_openai`` mount."""
    handlers = AzureOpenAIRoutes(ctx)
    legacy: list[BaseRoute] = []
    for prefix in ("/openai/v1", "/openai"):
        legacy += [
            Route(f"{prefix}/video/generations/jobs", handlers.create_job, methods=["POST"]),
            Route(f"{prefix}/video/generations/jobs/{{job_id}}", handlers.get_job, methods=["GET"]),
            Route(
                f"{prefix}/video/generations/jobs/{{job_id}}",
                handlers.delete_job,
                methods=["DELETE"],
            ),
            Route(
                f"{prefix}/video/generations/{{generation_id}}/content/video",
                handlers.generation_content,
                methods=["GET"],
            ),
        ]
    return [
        *handlers.video_routes("/openai/v1"),
        *handlers.image_routes("/openai/v1"),
        Route(
            "/openai/deployments/{deployment}/images/{operation:str}",
            handlers.deployment_images,
            methods=["POST"],
        ),
        *legacy,
    ]


PROVIDER = wire.Provider(
    name=NAME, fake_key=FAKE_KEY, build_routes=build_routes, options=AzureOpenAIOptions
)
