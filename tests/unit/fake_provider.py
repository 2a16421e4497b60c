"""A minimal provider speaking a toy JSON protocol, to test the provider-neutral core.

Routes (under BASE): ``POST /jobs`` -> ``{"id", "status"}``; ``GET /jobs/{id}`` ->
``{"status": queued|running|done|failed|cancelled|<other>, "progress", "url", "error"}``;
``POST /jobs/{id}/cancel``.
"""

from __future__ import annotations

import httpx

from tarash.tarash_gateway.engine._http import (
    UNKNOWN_CALL,
    CallContext,
    reply_object,
    response_json,
)
from tarash.tarash_gateway.engine._polling import JobSnapshot, JobState
from tarash.tarash_gateway.errors import (
    GenerationFailedError,
    JobCancelledError,
    TarashException,
    error_for_status,
)
from tarash.tarash_gateway.models import (
    ImageGenerationRequest,
    JobHandle,
    VideoGenerationRequest,
)
from tarash.tarash_gateway.providers import register_provider
from tarash.tarash_gateway.providers._base import (
    ImageOutput,
    JobKind,
    ModelCapabilities,
    PreparedJob,
    ProviderClient,
    SubmittedJob,
    VideoOutput,
)

BASE = "https://fake.test"
FAKE_KEY = "fake-secret-key-canary-123"


class FakeClient(ProviderClient):
    """Toy provider used by the core's unit tests."""

    name = "fake"
    default_base_url = BASE
    key_env_vars = ("FAKE_PROVIDER_KEY",)

    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key().get_secret_value()}"}

    def capabilities(self, kind: JobKind) -> ModelCapabilities:
        if self.model == "i2v":
            return ModelCapabilities(kind="video", requires_image=True, durations=(5, 10))
        return ModelCapabilities(kind=kind, durations=(4, 6, 8), aspect_ratios=("16:9", "9:16"))

    def prepare_video(self, request: VideoGenerationRequest) -> PreparedJob:
        payload = {"prompt": request.prompt, "duration": request.duration_seconds}
        return PreparedJob(kind="video", model=self.model, payload=payload)

    def prepare_image(self, request: ImageGenerationRequest) -> PreparedJob:
        return PreparedJob(kind="image", model=self.model, payload={"prompt": request.prompt})

    async def submit(self, job: PreparedJob, *, time_left: float | None) -> SubmittedJob:
        accepted = await self._send_submit(f"{self.base_url}/jobs", id_field="id", json=job.payload)
        return SubmittedJob(handle=self.new_handle(job.kind, accepted.job_id))

    async def poll(self, handle: JobHandle) -> JobSnapshot:
        reply = await self._send(
            "status",
            "GET",
            f"{self.base_url}/jobs/{handle.request_id}",
            request_id=handle.request_id,
            expect_object=True,
        )
        body = reply_object(reply)
        status = body.get("status")
        if status == "queued":
            return JobSnapshot(JobState.QUEUED, body, queue_position=body.get("position"))
        if status == "running":
            return JobSnapshot(JobState.PROCESSING, body, progress_percent=body.get("progress"))
        if status == "done":
            return JobSnapshot(JobState.COMPLETED, body)
        if status == "failed":
            return JobSnapshot(JobState.FAILED, body, error=GenerationFailedError(body["error"]))
        if status == "cancelled":
            return JobSnapshot(JobState.CANCELLED, body, error=JobCancelledError("cancelled"))
        return self.unknown_status(body, status, request_id=handle.request_id)

    async def fetch_video(self, handle: JobHandle, snapshot: JobSnapshot) -> VideoOutput:
        url = snapshot.raw.get("url")
        if not url:
            raise GenerationFailedError("finished without a video")
        return VideoOutput(video=url, content_type="video/mp4", raw=snapshot.raw)

    async def fetch_image(self, handle: JobHandle, snapshot: JobSnapshot) -> ImageOutput:
        return ImageOutput(images=[snapshot.raw["url"]], raw=snapshot.raw)

    async def cancel(self, handle: JobHandle) -> bool:
        await self._send("cancel", "POST", f"{self.base_url}/jobs/{handle.request_id}/cancel")
        return True

    def parse_error(
        self, response: httpx.Response, call: CallContext = UNKNOWN_CALL
    ) -> TarashException:
        body = response_json(response)
        message = body.get("message", "error") if isinstance(body, dict) else response.text
        return error_for_status(
            response.status_code,
            message,
            headers=response.headers,
            provider=self.name,
            model=self.model,
            request_id=call.request_id,
            raw_response=body,
        )


register_provider("fake", FakeClient)
