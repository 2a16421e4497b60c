"""The contract every emulated provider keeps, run over a table of providers.

Each row is a :class:`WireDriver`: how to authenticate, submit, read a job's state in the
provider's words, fetch its outputs and cancel it, over raw HTTP. The tests are written
once against that table: auth refused, the status sequence of a real job, outputs that
download as valid media, cancel, every fault knob, and the job accounting. A new provider
adds a row (a driver); what is particular to one provider stays in its own test module.
"""

from __future__ import annotations

import abc
import base64
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import quote

import httpx
import pytest

from tarash.emulator import FAULT_HEADER, Emulator, EmulatorStats, Fault, Latency
from tarash.tarash_gateway.media import sniff_mime

from ._calls import fal_auth, replicate_auth

#: States a driver reports, whatever the provider calls them.
QUEUED, RUNNING, SUCCEEDED, FAILED, REFUSED, CANCELLED = (
    "queued",
    "running",
    "succeeded",
    "failed",
    "refused",
    "cancelled",
)
TERMINAL = frozenset({SUCCEEDED, FAILED, REFUSED, CANCELLED})


@dataclass(frozen=True)
class Job:
    """A submitted job as the driver addresses it."""

    id: str
    body: dict[str, Any]


class WireDriver(abc.ABC):
    """One provider's protocol, reduced to the steps the contract needs."""

    name: ClassVar[str]
    video_model: ClassVar[str]
    """The model most cases submit: a video model, where the provider has one."""
    image_model: ClassVar[str]
    synchronous: ClassVar[bool] = False
    """The API answers in the request (Stability generate): no status read, cancel or job
    URL exists, so those cases are skipped, and a job's outcome is its submit's reply."""
    cancellable: ClassVar[bool] = True
    """The protocol can stop a running job (OpenAI's Sora cannot: its cases are skipped,
    and a stuck job is shown to stay running)."""
    kinds: ClassVar[tuple[str, ...]] = ("video", "image")
    """What the driver's endpoint makes (OpenAI's videos and images are two APIs)."""
    refusal_fragment: ClassVar[str] = "flagged"
    """Words a ``content_refusal``'s error text carries."""
    label: ClassVar[str | None] = None
    """The row's test id when one provider has several rows (its APIs)."""
    #: Authorization headers the provider must refuse (with one of :attr:`auth_statuses`).
    bad_auth: ClassVar[tuple[dict[str, str], ...]]
    #: A well-formed key that is not the one required.
    wrong_key: ClassVar[str]
    auth_statuses: ClassVar[frozenset[int]] = frozenset({401})
    """How the provider refuses a missing or malformed credential (Google's Gemini API: 403
    PERMISSION_DENIED)."""
    wrong_key_status: ClassVar[int] = 401
    """How it refuses a well-formed key that is not the one (Google: 400 API_KEY_INVALID)."""
    life: ClassVar[tuple[str, ...]] = (QUEUED, RUNNING, SUCCEEDED)
    """The states a job reads, in order (a Google operation says nothing before it is done:
    running from the start)."""
    cancel_refused_status: ClassVar[int] = 400
    """What a cancel of a job the protocol cannot stop gets (Google has no cancel route: 404)."""

    @abc.abstractmethod
    def auth(self, key: str) -> dict[str, str]:
        """The auth header for ``key``."""

    @abc.abstractmethod
    def submit_url(self, emu: Emulator, model: str) -> str:
        """Where a submit/create for ``model`` goes."""

    @abc.abstractmethod
    def submit_body(self) -> dict[str, Any]:
        """A minimal valid submit body."""

    def submit(
        self, client: httpx.Client, emu: Emulator, model: str, headers: dict[str, str]
    ) -> httpx.Response:
        """Send a submit for ``model`` with the emulator's key and extra ``headers``."""
        return client.post(
            self.submit_url(emu, model),
            json=self.submit_body(),
            headers={**self.auth(emu.api_key(self.name)), **headers},
        )

    @abc.abstractmethod
    def accepted(self, response: httpx.Response) -> Job:
        """The job a successful submit created (asserting the success status)."""

    @abc.abstractmethod
    def read(self, client: httpx.Client, emu: Emulator, job: Job) -> httpx.Response:
        """One status read of ``job`` (the request faults with ``operation="status"`` hit)."""

    @abc.abstractmethod
    def state(self, body: dict[str, Any]) -> str:
        """The neutral state a status body says."""

    @abc.abstractmethod
    def outputs(self, client: httpx.Client, emu: Emulator, job: Job) -> list[str]:
        """The media URLs of a succeeded job."""

    @abc.abstractmethod
    def error(self, body: dict[str, Any]) -> str:
        """The error text of a status body that did not succeed."""

    def inline_outputs(self, body: dict[str, Any]) -> list[bytes] | None:
        """The media a succeeded job's status body holds inline (Gemini Omni's
        interaction), or ``None`` when its outputs are URLs (:meth:`outputs`)."""
        return None

    def media_headers(self, emu: Emulator) -> dict[str, str]:
        """What an output download needs: nothing for a media host; the key for outputs
        served by the API itself (OpenAI's ``/videos/{id}/content``)."""
        return {}

    def error_detail(self, body: dict[str, Any]) -> str:
        """The message of the provider's error body (a 401, a 429)."""
        return str(body["detail"])

    def retry_wait(self, response: httpx.Response) -> str | None:
        """The wait a 429 asks for, in seconds, as sent: ``Retry-After`` by default."""
        return response.headers.get("retry-after")

    @abc.abstractmethod
    def cancel(self, client: httpx.Client, emu: Emulator, job: Job) -> httpx.Response:
        """Cancel ``job``."""

    @abc.abstractmethod
    def unknown_job_requests(self, client: httpx.Client, emu: Emulator) -> list[httpx.Response]:
        """Status, result and cancel requests naming a job that does not exist."""

    # -- built on the steps --------------------------------------------------------------

    def status(self, client: httpx.Client, emu: Emulator, job: Job) -> dict[str, Any]:
        """The job's status body."""
        response = self.read(client, emu, job)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def wait(self, client: httpx.Client, emu: Emulator, job: Job, limit: float = 10) -> list[str]:
        """Poll every 10 ms until terminal; the distinct states seen, in order."""
        seen: list[str] = []
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            state = self.state(self.status(client, emu, job))
            if not seen or seen[-1] != state:
                seen.append(state)
            if state in TERMINAL:
                return seen
            time.sleep(0.01)
        raise AssertionError(f"{self.name} job {job.id} did not finish: {seen}")


class FalDriver(WireDriver):
    name = "fal"
    video_model = "fal-ai/veo3"
    image_model = "fal-ai/flux/dev"
    bad_auth = (
        {},
        {"Authorization": "Bearer abc"},
        {"Authorization": "Key"},
        {"Authorization": "abc"},
    )
    wrong_key = "someone:else"

    _STATES: ClassVar[dict[str, str]] = {
        "internal_server_error": FAILED,
        "content_policy_violation": REFUSED,
        "request_cancelled": CANCELLED,
    }

    def auth(self, key: str) -> dict[str, str]:
        return {"Authorization": f"Key {key}"}

    def submit_url(self, emu: Emulator, model: str) -> str:
        return f"{emu.base_url('fal')}/{model}"

    def submit_body(self) -> dict[str, Any]:
        return {"prompt": "a cat"}

    def accepted(self, response: httpx.Response) -> Job:
        assert response.status_code == 200, response.text
        body = response.json()
        return Job(body["request_id"], body)

    def read(self, client: httpx.Client, emu: Emulator, job: Job) -> httpx.Response:
        return client.get(job.body["status_url"], headers=fal_auth(emu))

    def state(self, body: dict[str, Any]) -> str:
        status = body["status"]
        if status == "COMPLETED":
            return self._STATES[body["error_type"]] if "error_type" in body else SUCCEEDED
        return {"IN_QUEUE": QUEUED, "IN_PROGRESS": RUNNING}[status]

    def outputs(self, client: httpx.Client, emu: Emulator, job: Job) -> list[str]:
        result = client.get(job.body["response_url"], headers=fal_auth(emu))
        assert result.status_code == 200, result.text
        body = result.json()
        if "video" in body:
            return [body["video"]["url"]]
        return [image["url"] for image in body["images"]]

    def error(self, body: dict[str, Any]) -> str:
        return str(body["error"])

    def cancel(self, client: httpx.Client, emu: Emulator, job: Job) -> httpx.Response:
        return client.put(job.body["cancel_url"], headers=fal_auth(emu))

    def unknown_job_requests(self, client: httpx.Client, emu: Emulator) -> list[httpx.Response]:
        base = f"{emu.base_url('fal')}/fal-ai/veo3/requests/00000000-0000-0000-0000-000000000000"
        return [
            client.get(f"{base}/status", headers=fal_auth(emu)),
            client.get(base, headers=fal_auth(emu)),
            client.put(f"{base}/cancel", headers=fal_auth(emu)),
        ]


class ReplicateDriver(WireDriver):
    name = "replicate"
    video_model = "google/veo-3"
    image_model = "black-forest-labs/flux-schnell"
    bad_auth = ({}, {"Authorization": "Key abc"}, {"Authorization": "Bearer"})
    wrong_key = "r8_someone_else"

    _STATES: ClassVar[dict[str, str]] = {
        "starting": QUEUED,
        "processing": RUNNING,
        "succeeded": SUCCEEDED,
        "canceled": CANCELLED,
    }

    def auth(self, key: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {key}"}

    def submit_url(self, emu: Emulator, model: str) -> str:
        return f"{emu.base_url('replicate')}/v1/models/{model}/predictions"

    def submit_body(self) -> dict[str, Any]:
        return {"input": {"prompt": "a cat"}}

    def accepted(self, response: httpx.Response) -> Job:
        assert response.status_code == 201, response.text
        body = response.json()
        return Job(body["id"], body)

    def read(self, client: httpx.Client, emu: Emulator, job: Job) -> httpx.Response:
        return client.get(job.body["urls"]["get"], headers=replicate_auth(emu))

    def state(self, body: dict[str, Any]) -> str:
        if body["status"] == "failed":
            return REFUSED if body["error"].startswith("E005") else FAILED
        return self._STATES[body["status"]]

    def outputs(self, client: httpx.Client, emu: Emulator, job: Job) -> list[str]:
        output = self.status(client, emu, job)["output"]
        return output if isinstance(output, list) else [output]

    def error(self, body: dict[str, Any]) -> str:
        return str(body["error"])

    def cancel(self, client: httpx.Client, emu: Emulator, job: Job) -> httpx.Response:
        return client.post(job.body["urls"]["cancel"], headers=replicate_auth(emu))

    def unknown_job_requests(self, client: httpx.Client, emu: Emulator) -> list[httpx.Response]:
        base = f"{emu.base_url('replicate')}/v1/predictions/nope"
        return [
            client.get(base, headers=replicate_auth(emu)),
            client.post(f"{base}/cancel", headers=replicate_auth(emu)),
        ]


class StabilityDriver(WireDriver):
    """Stability generate: one multipart create answers with the outcome (held until the
    job ends), so a job's "status" is what that reply said."""

    name = "stability"
    video_model = "stable-image-core"  # image models only
    image_model = "sd3.5-large"
    synchronous = True
    bad_auth = ({}, {"authorization": "Key abc"}, {"authorization": "Bearer"})
    wrong_key = "sk-someone-else"

    def auth(self, key: str) -> dict[str, str]:
        return {"authorization": f"Bearer {key}"}

    def submit_url(self, emu: Emulator, model: str) -> str:
        endpoint = {"stable-image-ultra": "ultra", "stable-image-core": "core"}.get(model, "sd3")
        return f"{emu.base_url('stability')}/v2beta/stable-image/generate/{endpoint}"

    def submit_body(self) -> dict[str, Any]:
        return {"prompt": "a cat"}

    def submit(
        self, client: httpx.Client, emu: Emulator, model: str, headers: dict[str, str]
    ) -> httpx.Response:
        data = {**self.submit_body(), **({} if model.startswith("stable-") else {"model": model})}
        return client.post(
            self.submit_url(emu, model),
            files={"none": ""},
            data=data,
            headers={**self.auth(emu.api_key(self.name)), "accept": "image/*", **headers},
        )

    def accepted(self, response: httpx.Response) -> Job:
        if response.status_code == 200:
            filtered = response.headers["finish-reason"] == "CONTENT_FILTERED"
            state, error = (REFUSED, "CONTENT_FILTERED") if filtered else (SUCCEEDED, "")
        elif response.status_code == 403:
            state, error = REFUSED, self.error_detail(response.json())
        else:
            assert response.status_code == 500, response.text
            state, error = FAILED, self.error_detail(response.json())
        return Job(response.headers["x-request-id"], {"state": state, "error": error})

    def read(self, client: httpx.Client, emu: Emulator, job: Job) -> httpx.Response:
        raise AssertionError("Stability generate has no status to read")

    def status(self, client: httpx.Client, emu: Emulator, job: Job) -> dict[str, Any]:
        return job.body

    def wait(self, client: httpx.Client, emu: Emulator, job: Job, limit: float = 10) -> list[str]:
        return [str(job.body["state"])]

    def state(self, body: dict[str, Any]) -> str:
        return str(body["state"])

    def outputs(self, client: httpx.Client, emu: Emulator, job: Job) -> list[str]:
        raise AssertionError("Stability generate returns the image itself, not URLs")

    def error(self, body: dict[str, Any]) -> str:
        return str(body["error"])

    def error_detail(self, body: dict[str, Any]) -> str:
        return "; ".join(body["errors"])

    def cancel(self, client: httpx.Client, emu: Emulator, job: Job) -> httpx.Response:
        raise AssertionError("Stability generate has nothing to cancel")

    def unknown_job_requests(self, client: httpx.Client, emu: Emulator) -> list[httpx.Response]:
        return []


class OpenAIVideosDriver(WireDriver):
    """OpenAI's Videos API (Sora): a job, no cancel."""

    name = "openai"
    label = "openai-videos"
    video_model = "sora-2"
    image_model = "sora-2"  # the Videos API makes videos only
    kinds = ("video",)
    cancellable = False
    refusal_fragment = "moderation_blocked"
    bad_auth = ({}, {"Authorization": "Key abc"}, {"Authorization": "Bearer"})
    wrong_key = "sk-someone-else"

    _STATES: ClassVar[dict[str, str]] = {
        "queued": QUEUED,
        "in_progress": RUNNING,
        "completed": SUCCEEDED,
    }

    def auth(self, key: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {key}"}

    def base(self, emu: Emulator) -> str:
        return emu.base_url(self.name)

    def submit_url(self, emu: Emulator, model: str) -> str:
        return f"{self.base(emu)}/videos"

    def submit_body(self) -> dict[str, Any]:
        return {"model": self.video_model, "prompt": "a cat", "seconds": "4"}

    def accepted(self, response: httpx.Response) -> Job:
        assert response.status_code == 200, response.text
        body = response.json()
        return Job(body["id"], body)

    def read(self, client: httpx.Client, emu: Emulator, job: Job) -> httpx.Response:
        return client.get(f"{self.base(emu)}/videos/{job.id}", headers=self.key(emu))

    def key(self, emu: Emulator) -> dict[str, str]:
        return self.auth(emu.api_key(self.name))

    def state(self, body: dict[str, Any]) -> str:
        if body["status"] == "failed":
            return REFUSED if body["error"]["code"] == "moderation_blocked" else FAILED
        return self._STATES[body["status"]]

    def outputs(self, client: httpx.Client, emu: Emulator, job: Job) -> list[str]:
        return [f"{self.base(emu)}/videos/{job.id}/content"]

    def media_headers(self, emu: Emulator) -> dict[str, str]:
        return self.key(emu)

    def error(self, body: dict[str, Any]) -> str:
        return f"{body['error']['code']}: {body['error']['message']}"

    def error_detail(self, body: dict[str, Any]) -> str:
        return str(body["error"]["message"])

    def cancel(self, client: httpx.Client, emu: Emulator, job: Job) -> httpx.Response:
        return client.delete(f"{self.base(emu)}/videos/{job.id}", headers=self.key(emu))

    def unknown_job_requests(self, client: httpx.Client, emu: Emulator) -> list[httpx.Response]:
        base = f"{self.base(emu)}/videos/video_nope"
        return [
            client.get(base, headers=self.key(emu)),
            client.get(f"{base}/content", headers=self.key(emu)),
            client.delete(base, headers=self.key(emu)),
        ]


class AzureV1VideosDriver(OpenAIVideosDriver):
    """Azure's v1 Videos API: OpenAI's protocol, the ``api-key`` header, a deployment."""

    name = "azure_openai"
    label = "azure-v1-videos"
    video_model = "my-sora-deployment"
    image_model = "my-sora-deployment"
    bad_auth = ({}, {"api-key": ""}, {"Authorization": "Key abc"})
    wrong_key = "someone-elses-key"

    def auth(self, key: str) -> dict[str, str]:
        return {"api-key": key}

    def base(self, emu: Emulator) -> str:
        return f"{emu.base_url(self.name)}/openai/v1"

    def error_detail(self, body: dict[str, Any]) -> str:
        return str(body["error"]["message"])


class AzureLegacyJobsDriver(WireDriver):
    """Azure's Sora-1 jobs API (legacy): a job, cancelled by DELETE."""

    name = "azure_openai"
    label = "azure-legacy-jobs"
    video_model = "my-sora-1"
    image_model = "my-sora-1"
    kinds = ("video",)
    refusal_fragment = "input_moderation"
    bad_auth = ({}, {"api-key": ""}, {"Authorization": "Key abc"})
    wrong_key = "someone-elses-key"
    _QUERY: ClassVar[dict[str, str]] = {"api-version": "preview"}
    _STATES: ClassVar[dict[str, str]] = {
        "preprocessing": QUEUED,
        "queued": QUEUED,
        "running": RUNNING,
        "processing": RUNNING,
        "succeeded": SUCCEEDED,
        "cancelled": CANCELLED,
    }

    def auth(self, key: str) -> dict[str, str]:
        return {"api-key": key}

    def jobs(self, emu: Emulator) -> str:
        return f"{emu.base_url(self.name)}/openai/v1/video/generations/jobs"

    def submit_url(self, emu: Emulator, model: str) -> str:
        return f"{self.jobs(emu)}?api-version=preview"

    def submit_body(self) -> dict[str, Any]:
        return {"model": self.video_model, "prompt": "a cat", "width": 480, "height": 480}

    def accepted(self, response: httpx.Response) -> Job:
        assert response.status_code == 201, response.text
        body = response.json()
        return Job(body["id"], body)

    def key(self, emu: Emulator) -> dict[str, str]:
        return self.auth(emu.api_key(self.name))

    def read(self, client: httpx.Client, emu: Emulator, job: Job) -> httpx.Response:
        url = f"{self.jobs(emu)}/{job.id}"
        return client.get(url, params=self._QUERY, headers=self.key(emu))

    def state(self, body: dict[str, Any]) -> str:
        if body["status"] == "failed":
            return REFUSED if body["failure_reason"].endswith("moderation") else FAILED
        return self._STATES[body["status"]]

    def outputs(self, client: httpx.Client, emu: Emulator, job: Job) -> list[str]:
        body = self.status(client, emu, job)
        root = f"{emu.base_url(self.name)}/openai/v1/video/generations"
        return [f"{root}/{item['id']}/content/video" for item in body["generations"]]

    def media_headers(self, emu: Emulator) -> dict[str, str]:
        return self.key(emu)

    def error(self, body: dict[str, Any]) -> str:
        return str(body["failure_reason"])

    def error_detail(self, body: dict[str, Any]) -> str:
        return str(body["error"]["message"])

    def cancel(self, client: httpx.Client, emu: Emulator, job: Job) -> httpx.Response:
        url = f"{self.jobs(emu)}/{job.id}"
        return client.delete(url, params=self._QUERY, headers=self.key(emu))

    def unknown_job_requests(self, client: httpx.Client, emu: Emulator) -> list[httpx.Response]:
        url = f"{self.jobs(emu)}/task_nope"
        content = f"{emu.base_url(self.name)}/openai/v1/video/generations/gen_nope/content/video"
        return [
            client.get(url, params=self._QUERY, headers=self.key(emu)),
            client.delete(url, params=self._QUERY, headers=self.key(emu)),
            client.get(content, params=self._QUERY, headers=self.key(emu)),
        ]


class OpenAIImagesDriver(WireDriver):
    """OpenAI's Images API: the create is held and answers with the images (base64)."""

    name = "openai"
    label = "openai-images"
    video_model = "gpt-image-1"  # image models only
    image_model = "gpt-image-1"
    synchronous = True
    refusal_fragment = "moderation_blocked"
    bad_auth = ({}, {"Authorization": "Key abc"}, {"Authorization": "Bearer"})
    wrong_key = "sk-someone-else"

    def auth(self, key: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {key}"}

    def submit_url(self, emu: Emulator, model: str) -> str:
        return f"{emu.base_url(self.name)}/images/generations"

    def submit_body(self) -> dict[str, Any]:
        return {"model": self.image_model, "prompt": "a cat"}

    def submit_stuck(self, client: httpx.Client, emu: Emulator) -> None:
        with pytest.raises(httpx.ReadTimeout):
            client.post(
                self.submit_url(emu, self.image_model),
                json=self.submit_body(),
                headers={**self.auth(emu.api_key(self.name)), FAULT_HEADER: "stuck"},
                timeout=0.3,
            )

    def accepted(self, response: httpx.Response) -> Job:
        body = response.json()
        if response.status_code == 200:
            assert body["data"][0]["b64_json"]
            state, error = SUCCEEDED, ""
        elif response.status_code == 400:
            state, error = REFUSED, f"{body['error']['code']}: {body['error']['message']}"
        else:
            assert response.status_code == 500, response.text
            state, error = FAILED, str(body["error"]["message"])
        return Job(response.headers["x-request-id"], {"state": state, "error": error})

    def read(self, client: httpx.Client, emu: Emulator, job: Job) -> httpx.Response:
        raise AssertionError("the Images API has no status to read")

    def status(self, client: httpx.Client, emu: Emulator, job: Job) -> dict[str, Any]:
        return job.body

    def wait(self, client: httpx.Client, emu: Emulator, job: Job, limit: float = 10) -> list[str]:
        return [str(job.body["state"])]

    def state(self, body: dict[str, Any]) -> str:
        return str(body["state"])

    def outputs(self, client: httpx.Client, emu: Emulator, job: Job) -> list[str]:
        raise AssertionError("the Images API returns base64, not URLs")

    def error(self, body: dict[str, Any]) -> str:
        return str(body["error"])

    def error_detail(self, body: dict[str, Any]) -> str:
        return str(body["error"]["message"])

    def cancel(self, client: httpx.Client, emu: Emulator, job: Job) -> httpx.Response:
        raise AssertionError("the Images API has nothing to cancel")

    def unknown_job_requests(self, client: httpx.Client, emu: Emulator) -> list[httpx.Response]:
        return []


class AzureDeploymentImagesDriver(OpenAIImagesDriver):
    """Azure's dated image deployment path."""

    name = "azure_openai"
    label = "azure-deployment-images"
    video_model = "my-image-deployment"
    image_model = "my-image-deployment"
    bad_auth = ({}, {"api-key": ""}, {"Authorization": "Key abc"})
    wrong_key = "someone-elses-key"

    def auth(self, key: str) -> dict[str, str]:
        return {"api-key": key}

    def submit_url(self, emu: Emulator, model: str) -> str:
        return (
            f"{emu.base_url(self.name)}/openai/deployments/{model}/images/generations"
            "?api-version=2025-04-01-preview"
        )

    def submit_body(self) -> dict[str, Any]:
        return {"prompt": "a cat"}


class RunwayDriver(WireDriver):
    """Runway's tasks: a create per endpoint, ``GET``/``DELETE /v1/tasks/{id}``."""

    name = "runway"
    video_model = "gen4.5"  # text_to_video's (gen4_turbo is image_to_video's only)
    image_model = "gen4_image"
    refusal_fragment = "content moderation"
    bad_auth = (
        {"X-Runway-Version": "2024-11-06"},
        {"Authorization": "Key abc", "X-Runway-Version": "2024-11-06"},
        {"Authorization": "Bearer", "X-Runway-Version": "2024-11-06"},
    )
    wrong_key = "key_" + "f" * 128

    _STATES: ClassVar[dict[str, str]] = {
        "PENDING": QUEUED,
        "THROTTLED": QUEUED,
        "RUNNING": RUNNING,
        "SUCCEEDED": SUCCEEDED,
        "CANCELLED": CANCELLED,
    }

    def auth(self, key: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {key}", "X-Runway-Version": "2024-11-06"}

    def key(self, emu: Emulator) -> dict[str, str]:
        return self.auth(emu.api_key(self.name))

    def submit_url(self, emu: Emulator, model: str) -> str:
        endpoint = "text_to_image" if model.startswith("gen4_image") else "text_to_video"
        return f"{emu.base_url(self.name)}/v1/{endpoint}"

    def submit_body(self) -> dict[str, Any]:
        return {
            "model": self.video_model,
            "promptText": "a cat",
            "duration": 5,
            "ratio": "1280:720",
        }

    def submit(
        self, client: httpx.Client, emu: Emulator, model: str, headers: dict[str, str]
    ) -> httpx.Response:
        body: dict[str, Any] = {"model": model, "promptText": "a cat"}
        video = {"duration": 5, "ratio": "1280:720"}
        body.update({"ratio": "1024:1024"} if model.startswith("gen4_image") else video)
        return client.post(
            self.submit_url(emu, model), json=body, headers={**self.key(emu), **headers}
        )

    def accepted(self, response: httpx.Response) -> Job:
        assert response.status_code == 200, response.text
        body = response.json()
        return Job(body["id"], body)

    def read(self, client: httpx.Client, emu: Emulator, job: Job) -> httpx.Response:
        return client.get(f"{emu.base_url(self.name)}/v1/tasks/{job.id}", headers=self.key(emu))

    def state(self, body: dict[str, Any]) -> str:
        if body["status"] == "FAILED":
            return REFUSED if body["failureCode"].startswith("SAFETY") else FAILED
        return self._STATES[body["status"]]

    def outputs(self, client: httpx.Client, emu: Emulator, job: Job) -> list[str]:
        return list(self.status(client, emu, job)["output"])

    def error(self, body: dict[str, Any]) -> str:
        return f"{body['failureCode']}: {body['failure']}"

    def error_detail(self, body: dict[str, Any]) -> str:
        return str(body["error"])

    def cancel(self, client: httpx.Client, emu: Emulator, job: Job) -> httpx.Response:
        return client.delete(f"{emu.base_url(self.name)}/v1/tasks/{job.id}", headers=self.key(emu))

    def unknown_job_requests(self, client: httpx.Client, emu: Emulator) -> list[httpx.Response]:
        url = f"{emu.base_url(self.name)}/v1/tasks/00000000-0000-0000-0000-000000000000"
        return [client.get(url, headers=self.key(emu)), client.delete(url, headers=self.key(emu))]


class GeminiDriver(WireDriver):
    """Google's Gemini API: Veo operations (``GET /v1beta/{name}``), no queued state, no
    cancel; a file URI that redirects to the bytes."""

    name = "google"
    label = "google-gemini"
    video_model = "veo-3.1-generate-preview"
    image_model = "gemini-3.1-flash-image"
    # Gemini image and Imagen answer in the request: the table's job cases are Veo's.
    kinds = ("video",)
    cancellable = False
    refusal_fragment = "safety settings"
    bad_auth = ({}, {"Authorization": "Bearer abc"}, {"x-goog-api-key": ""})
    wrong_key = "AIza-someone-else-000000000000000000000"
    auth_statuses = frozenset({403})
    wrong_key_status = 400
    life = (RUNNING, SUCCEEDED)
    cancel_refused_status = 404

    def auth(self, key: str) -> dict[str, str]:
        return {"x-goog-api-key": key}

    def key(self, emu: Emulator) -> dict[str, str]:
        return self.auth(emu.api_key(self.name))

    def base(self, emu: Emulator) -> str:
        return emu.base_url(self.name)

    def submit_url(self, emu: Emulator, model: str) -> str:
        return f"{self.base(emu)}/models/{model}:predictLongRunning"

    def submit_body(self) -> dict[str, Any]:
        return {"instances": [{"prompt": "a cat"}], "parameters": {"durationSeconds": 8}}

    def accepted(self, response: httpx.Response) -> Job:
        assert response.status_code == 200, response.text
        body = response.json()
        return Job(body["name"].rpartition("/operations/")[2], body)

    def read(self, client: httpx.Client, emu: Emulator, job: Job) -> httpx.Response:
        return client.get(f"{self.base(emu)}/{job.body['name']}", headers=self.key(emu))

    def result(self, body: dict[str, Any]) -> dict[str, Any]:
        found: dict[str, Any] = body["response"]["generateVideoResponse"]
        return found

    def state(self, body: dict[str, Any]) -> str:
        if not body.get("done"):
            return RUNNING
        if "error" in body:
            return FAILED
        return REFUSED if self.result(body).get("raiMediaFilteredCount") else SUCCEEDED

    def outputs(self, client: httpx.Client, emu: Emulator, job: Job) -> list[str]:
        urls = []
        for sample in self.result(self.status(client, emu, job))["generatedSamples"]:
            redirect = client.get(sample["video"]["uri"], headers=self.key(emu))
            assert redirect.status_code == 302, redirect.text
            urls.append(redirect.headers["location"])
        return urls

    def error(self, body: dict[str, Any]) -> str:
        if "error" in body:
            return str(body["error"]["message"])
        return "; ".join(self.result(body)["raiMediaFilteredReasons"])

    def error_detail(self, body: dict[str, Any]) -> str:
        return str(body["error"]["message"])

    def retry_wait(self, response: httpx.Response) -> str | None:
        # Google sends no Retry-After: the wait is a RetryInfo detail of the body.
        assert "retry-after" not in response.headers
        for detail in response.json()["error"]["details"]:
            if detail["@type"].endswith("RetryInfo"):
                return str(detail["retryDelay"]).removesuffix("s")
        return None

    def cancel(self, client: httpx.Client, emu: Emulator, job: Job) -> httpx.Response:
        return client.post(f"{self.base(emu)}/{job.body['name']}:cancel", headers=self.key(emu))

    def unknown_job_requests(self, client: httpx.Client, emu: Emulator) -> list[httpx.Response]:
        base = self.base(emu)
        return [
            client.get(f"{base}/models/{self.video_model}/operations/0000", headers=self.key(emu)),
            client.get(f"{base}/files/ffff0000:download?alt=media", headers=self.key(emu)),
        ]


class VertexDriver(GeminiDriver):
    """Google's Vertex AI: Bearer tokens, ``POST :fetchPredictOperation``, results written
    to Cloud Storage (``storageUri``) and read through the storage JSON API."""

    label = "google-vertex"
    video_model = "veo-3.1-generate-001"
    bad_auth = (
        {},
        {"Authorization": "Key abc"},
        {"Authorization": "Bearer"},
        {"x-goog-api-key": "k"},
    )
    wrong_key = "ya29.someone-else"
    auth_statuses = frozenset({401})
    wrong_key_status = 401
    _PROJECT = "projects/my-project/locations/us-central1"

    def auth(self, key: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {key}"}

    def root(self, emu: Emulator) -> str:
        return f"{emu.url}/google/v1beta1"

    def base(self, emu: Emulator) -> str:
        return f"{self.root(emu)}/{self._PROJECT}/publishers/google"

    def submit_body(self) -> dict[str, Any]:
        parameters = {"durationSeconds": 8, "storageUri": "gs://contract-bucket/out/"}
        return {"instances": [{"prompt": "a cat"}], "parameters": parameters}

    def fetch(self, client: httpx.Client, emu: Emulator, name: str) -> httpx.Response:
        # As python-genai: the model resource is the name before /operations/.
        resource = name.rpartition("/operations/")[0]
        return client.post(
            f"{self.root(emu)}/{resource}:fetchPredictOperation",
            json={"operationName": name},
            headers=self.key(emu),
        )

    def read(self, client: httpx.Client, emu: Emulator, job: Job) -> httpx.Response:
        return self.fetch(client, emu, job.body["name"])

    def result(self, body: dict[str, Any]) -> dict[str, Any]:
        found: dict[str, Any] = body["response"]
        return found

    def outputs(self, client: httpx.Client, emu: Emulator, job: Job) -> list[str]:
        urls = []
        for video in self.result(self.status(client, emu, job))["videos"]:
            bucket, _, name = video["gcsUri"].removeprefix("gs://").partition("/")
            urls.append(
                f"{emu.url}/google/download/storage/v1/b/{bucket}/o/{quote(name, safe='')}"
                "?alt=media"
            )
        return urls

    def media_headers(self, emu: Emulator) -> dict[str, str]:
        return self.key(emu)

    def cancel(self, client: httpx.Client, emu: Emulator, job: Job) -> httpx.Response:
        return client.post(f"{self.root(emu)}/{job.body['name']}:cancel", headers=self.key(emu))

    def unknown_job_requests(self, client: httpx.Client, emu: Emulator) -> list[httpx.Response]:
        name = f"{self._PROJECT}/publishers/google/models/{self.video_model}/operations/0000"
        storage = (
            f"{emu.url}/google/download/storage/v1/b/contract-bucket/o/out%2F0000%2Fsample_0.mp4"
        )
        return [
            self.fetch(client, emu, name),
            client.get(storage, params={"alt": "media"}, headers=self.key(emu)),
        ]


class OmniDriver(GeminiDriver):
    """Gemini Omni Flash on the Gemini API's Interactions API: ``POST /interactions``,
    ``GET /interactions/{id}`` (``in_progress``, no queued word), the video inline as
    base64 in a ``model_output`` step; ``POST /interactions/{id}/cancel`` stops it."""

    label = "google-omni"
    video_model = "gemini-omni-flash-preview"
    cancellable = True
    refusal_fragment = "safety filters"

    def submit_url(self, emu: Emulator, model: str) -> str:
        return f"{self.base(emu)}/interactions"

    def submit_body(self) -> dict[str, Any]:
        return {
            "model": self.video_model,
            "input": "a cat",
            "response_modalities": ["video"],
            "background": True,
        }

    def accepted(self, response: httpx.Response) -> Job:
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["status"] == "in_progress"
        return Job(body["id"], body)

    def read(self, client: httpx.Client, emu: Emulator, job: Job) -> httpx.Response:
        return client.get(f"{self.base(emu)}/interactions/{job.id}", headers=self.key(emu))

    def state(self, body: dict[str, Any]) -> str:
        status = body["status"]
        if status == "failed":
            return REFUSED if "safety" in body["error"]["message"] else FAILED
        return {"in_progress": RUNNING, "completed": SUCCEEDED, "cancelled": CANCELLED}[status]

    def inline_outputs(self, body: dict[str, Any]) -> list[bytes] | None:
        return [
            base64.b64decode(item["data"])
            for step in body["steps"]
            if step["type"] == "model_output"
            for item in step["content"]
            if item["type"] == "video"
        ]

    def outputs(self, client: httpx.Client, emu: Emulator, job: Job) -> list[str]:
        raise AssertionError("an interaction holds its video inline, not as a URL")

    def error(self, body: dict[str, Any]) -> str:
        return str(body["error"]["message"])

    def cancel(self, client: httpx.Client, emu: Emulator, job: Job) -> httpx.Response:
        url = f"{self.base(emu)}/interactions/{job.id}/cancel"
        return client.post(url, headers=self.key(emu))

    def unknown_job_requests(self, client: httpx.Client, emu: Emulator) -> list[httpx.Response]:
        url = f"{self.base(emu)}/interactions/v1_0000"
        return [
            client.get(url, headers=self.key(emu)),
            client.post(f"{url}/cancel", headers=self.key(emu)),
        ]


class XaiVideosDriver(WireDriver):
    """xAI's deferred video requests: ``pending`` (no queued word) until ``done`` or
    ``failed`` (both HTTP 200), moderation as ``respect_moderation: false``, no cancel."""

    name = "xai"
    label = "xai-videos"
    video_model = "grok-imagine-video"
    image_model = "grok-imagine-video"  # the video endpoints make videos only
    kinds = ("video",)
    cancellable = False
    refusal_fragment = "moderation"
    bad_auth = ({}, {"Authorization": "Key abc"}, {"Authorization": "Bearer"})
    wrong_key = "xai-someone-else"
    # No key is a 401; a key xAI does not take (or no Bearer scheme) is its 400.
    auth_statuses = frozenset({400, 401})
    wrong_key_status = 400
    life = (RUNNING, SUCCEEDED)
    # The request's URL takes GET only: a DELETE is not allowed there.
    cancel_refused_status = 405

    def auth(self, key: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {key}"}

    def key(self, emu: Emulator) -> dict[str, str]:
        return self.auth(emu.api_key(self.name))

    def submit_url(self, emu: Emulator, model: str) -> str:
        return f"{emu.base_url(self.name)}/videos/generations"

    def submit_body(self) -> dict[str, Any]:
        return {"model": self.video_model, "prompt": "a cat", "duration": 5}

    def accepted(self, response: httpx.Response) -> Job:
        assert response.status_code == 200, response.text
        body = response.json()
        return Job(body["request_id"], body)

    def read(self, client: httpx.Client, emu: Emulator, job: Job) -> httpx.Response:
        return client.get(f"{emu.base_url(self.name)}/videos/{job.id}", headers=self.key(emu))

    def state(self, body: dict[str, Any]) -> str:
        status = body["status"]
        if status == "done":
            return REFUSED if body["video"]["respect_moderation"] is False else SUCCEEDED
        return {"pending": RUNNING, "failed": FAILED, "expired": FAILED}[status]

    def outputs(self, client: httpx.Client, emu: Emulator, job: Job) -> list[str]:
        return [self.status(client, emu, job)["video"]["url"]]

    def error(self, body: dict[str, Any]) -> str:
        if body["status"] == "done":
            return "withheld by content moderation (respect_moderation: false)"
        return f"{body['error']['code']}: {body['error']['message']}"

    def error_detail(self, body: dict[str, Any]) -> str:
        return str(body["error"])

    def cancel(self, client: httpx.Client, emu: Emulator, job: Job) -> httpx.Response:
        return client.delete(f"{emu.base_url(self.name)}/videos/{job.id}", headers=self.key(emu))

    def unknown_job_requests(self, client: httpx.Client, emu: Emulator) -> list[httpx.Response]:
        return [client.get(f"{emu.base_url(self.name)}/videos/nope", headers=self.key(emu))]


class XaiImagesDriver(OpenAIImagesDriver):
    """xAI's images: OpenAI's request shape, held like OpenAI's, answered with URLs and
    xAI's ``{"code", "error"}`` errors."""

    name = "xai"
    label = "xai-images"
    video_model = "grok-imagine-image"
    image_model = "grok-imagine-image"
    refusal_fragment = "content moderation"
    wrong_key = "xai-someone-else"
    auth_statuses = frozenset({400, 401})
    wrong_key_status = 400

    def submit_url(self, emu: Emulator, model: str) -> str:
        return f"{emu.base_url(self.name)}/images/generations"

    def accepted(self, response: httpx.Response) -> Job:
        body = response.json()
        if response.status_code == 200:
            assert body["data"][0]["url"]
            state, error = SUCCEEDED, ""
        elif response.status_code == 400:
            state, error = REFUSED, str(body["error"])
        else:
            assert response.status_code == 500, response.text
            state, error = FAILED, str(body["error"])
        # xAI's images reply names no id.
        return Job(f"img-{time.monotonic_ns()}", {"state": state, "error": error})

    def error_detail(self, body: dict[str, Any]) -> str:
        return str(body["error"])


#: The provider table: one driver per emulated provider API.
DRIVERS: tuple[WireDriver, ...] = (
    FalDriver(),
    ReplicateDriver(),
    StabilityDriver(),
    OpenAIVideosDriver(),
    OpenAIImagesDriver(),
    AzureV1VideosDriver(),
    AzureLegacyJobsDriver(),
    AzureDeploymentImagesDriver(),
    RunwayDriver(),
    GeminiDriver(),
    OmniDriver(),
    VertexDriver(),
    XaiVideosDriver(),
    XaiImagesDriver(),
)


@pytest.fixture(params=DRIVERS, ids=lambda driver: driver.label or driver.name)
def driver(request: pytest.FixtureRequest) -> WireDriver:
    """Each provider of the table in turn."""
    found: WireDriver = request.param
    return found


@pytest.fixture
def fresh(fresh_emu: Emulator) -> Iterator[Emulator]:
    """A private emulator whose totals are this test's, checked to end with nothing running."""
    yield fresh_emu
    deadline = time.monotonic() + 5
    while fresh_emu.stats().running and time.monotonic() < deadline:
        time.sleep(0.02)
    assert fresh_emu.stats().running == 0, fresh_emu.jobs()


def skip_if_synchronous(driver: WireDriver) -> None:
    """Skip a case about status reads or cancels for an API that answers in the request."""
    if driver.synchronous:
        pytest.skip(f"{driver.name} answers in the request: no status read or cancel")


def skip_unless_cancellable(driver: WireDriver) -> None:
    """Skip a case about cancelling for a protocol that cannot stop a running job."""
    skip_if_synchronous(driver)
    if not driver.cancellable:
        pytest.skip(f"{driver.label or driver.name} cannot stop a running job")


def wait_until_idle(emu: Emulator) -> None:
    """Wait (5 s at most) until no job of ``emu`` is running."""
    deadline = time.monotonic() + 5
    while emu.stats().running and time.monotonic() < deadline:
        time.sleep(0.02)


def submit_stuck(driver: WireDriver, client: httpx.Client, emu: Emulator) -> Job | None:
    """Submit a job that never ends; a synchronous API's held reply is given up (the
    emulator then cancels the job), and there is no job to address (None)."""
    if not driver.synchronous:
        return submit(driver, client, emu, **{FAULT_HEADER: "stuck"})
    if isinstance(driver, OpenAIImagesDriver):
        driver.submit_stuck(client, emu)
        return None
    with pytest.raises(httpx.ReadTimeout):
        client.post(
            driver.submit_url(emu, driver.video_model),
            files={"none": ""},
            data=driver.submit_body(),
            headers={**driver.auth(emu.api_key(driver.name)), FAULT_HEADER: "stuck"},
            timeout=0.3,
        )
    return None


def submit(driver: WireDriver, client: httpx.Client, emu: Emulator, **headers: str) -> Job:
    """Submit the driver's video model and return the accepted job."""
    return driver.accepted(driver.submit(client, emu, driver.video_model, headers))


def assert_valid_media(
    client: httpx.Client, url: str, content_type: str, headers: dict[str, str] | None = None
) -> None:
    """The URL downloads a file of that type whose bytes really are one."""
    response = client.get(url, headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"] == content_type
    assert sniff_mime(response.content) == content_type


# -- auth -----------------------------------------------------------------------------------


def test_auth_is_refused(driver: WireDriver, fresh: Emulator, client: httpx.Client) -> None:
    """Missing, wrong-scheme and empty credentials are refused (401, or the provider's own
    status) on submit and status; no job."""
    url = driver.submit_url(fresh, driver.video_model)
    for headers in driver.bad_auth:
        response = client.post(url, json=driver.submit_body(), headers=headers)
        assert response.status_code in driver.auth_statuses, headers
        assert driver.error_detail(response.json())
    assert fresh.stats().submitted == 0
    skip_if_synchronous(driver)
    job = submit(driver, client, fresh)
    read = driver.read(client, fresh, job).request
    # The same read (method, URL, body), without the key.
    status = client.request(read.method, read.url, content=read.content)
    assert status.status_code in driver.auth_statuses


def test_required_key_is_enforced(driver: WireDriver, client: httpx.Client) -> None:
    """With required_keys, another well-formed key is 401 and api_key() hands out the one."""
    with Emulator(required_keys={driver.name: "the-only:key"}) as emu:
        assert emu.api_key(driver.name) == "the-only:key"
        url = driver.submit_url(emu, driver.video_model)
        body = driver.submit_body()
        refused = client.post(url, json=body, headers=driver.auth(driver.wrong_key))
        assert refused.status_code == driver.wrong_key_status
        assert emu.stats().submitted == 0
        submit(driver, client, emu)
        assert emu.stats().submitted == 1


def test_only_the_printed_key_is_taken_by_default(driver: WireDriver, client: httpx.Client) -> None:
    """Without required_keys the emulator takes only the key it hands out (and prints), as
    a provider takes only its own keys; a well-formed stranger's key is refused, no job."""
    with Emulator() as emu:
        url = driver.submit_url(emu, driver.video_model)
        refused = client.post(url, json=driver.submit_body(), headers=driver.auth(driver.wrong_key))
        assert refused.status_code == driver.wrong_key_status
        assert emu.stats().submitted == 0
        submit(driver, client, emu)
        assert emu.stats().submitted == 1


def test_any_key_takes_a_strangers_key(driver: WireDriver, client: httpx.Client) -> None:
    """Emulator(any_key=True) is the lenient emulator: any well-formed key goes."""
    with Emulator(any_key=True) as emu:
        # The driver's own submit (its body, its encoding), signed with the stranger's key.
        submit(driver, client, emu, **driver.auth(driver.wrong_key))
        assert emu.stats().submitted == 1


# -- a job's life ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model_kind", "content_type"), [("video", "video/mp4"), ("image", "image/png")]
)
def test_status_sequence_then_valid_media(
    driver: WireDriver, fresh: Emulator, client: httpx.Client, model_kind: str, content_type: str
) -> None:
    """A job reads queued, running, succeeded in that order (as far as the protocol tells
    them apart); its outputs download as valid media of the model's kind, from the
    emulator's own origin."""
    skip_if_synchronous(driver)
    if model_kind not in driver.kinds:
        pytest.skip(f"{driver.label or driver.name} makes no {model_kind}s")
    fresh.latency = Latency(queue_seconds=0.15, run_seconds=0.15)
    model = driver.video_model if model_kind == "video" else driver.image_model
    job = driver.accepted(driver.submit(client, fresh, model, {}))
    assert driver.wait(client, fresh, job) == list(driver.life)
    inline = driver.inline_outputs(driver.status(client, fresh, job))
    if inline is not None:
        assert inline
        assert [sniff_mime(content) for content in inline] == [content_type] * len(inline)
        [snapshot] = fresh.jobs(driver.name)
        assert (snapshot.id, snapshot.model, snapshot.state) == (job.id, model, "succeeded")
        assert fresh.stats() == EmulatorStats(submitted=1, completed=1)
        return
    urls = driver.outputs(client, fresh, job)
    assert urls
    for url in urls:
        assert url.startswith(fresh.url + "/")
        assert_valid_media(client, url, content_type, driver.media_headers(fresh))
    [snapshot] = fresh.jobs(driver.name)
    assert (snapshot.id, snapshot.model, snapshot.state) == (job.id, model, "succeeded")
    assert fresh.stats() == EmulatorStats(submitted=1, completed=1)


@pytest.mark.parametrize("phase", ["queued", "running"])
def test_cancel(driver: WireDriver, fresh: Emulator, client: httpx.Client, phase: str) -> None:
    """Cancelling a queued or running job ends it cancelled, counted cancelled, not running."""
    skip_unless_cancellable(driver)
    if phase == QUEUED and QUEUED not in driver.life:
        pytest.skip(f"{driver.label or driver.name} has no queued state")
    fresh.latency = Latency(queue_seconds=5 if phase == "queued" else 0, run_seconds=5)
    job = submit(driver, client, fresh)
    assert driver.state(driver.status(client, fresh, job)) == phase
    assert driver.cancel(client, fresh, job).status_code in (200, 202, 204)
    assert driver.state(driver.status(client, fresh, job)) == CANCELLED
    assert fresh.stats() == EmulatorStats(submitted=1, cancelled=1)


def test_unknown_job_is_404(driver: WireDriver, emu: Emulator, client: httpx.Client) -> None:
    """Every request naming a job that does not exist is a 404."""
    skip_if_synchronous(driver)
    codes = [response.status_code for response in driver.unknown_job_requests(client, emu)]
    assert codes == [404] * len(codes)


# -- faults ---------------------------------------------------------------------------------


def test_rate_limit_has_retry_after(
    driver: WireDriver, fresh: Emulator, client: httpx.Client
) -> None:
    """rate_limit is one 429 saying how long to wait (Retry-After, or where the provider
    says it) and a throttling body; the retry gets in."""
    fresh.inject(Fault("rate_limit", provider=driver.name, operation="submit", retry_after=3))
    limited = driver.submit(client, fresh, driver.video_model, {})
    assert limited.status_code == 429
    assert driver.retry_wait(limited) == "3"
    assert driver.error_detail(limited.json())
    assert fresh.stats().submitted == 0
    submit(driver, client, fresh)
    assert fresh.stats().submitted == 1


def test_server_error_creates_no_job(
    driver: WireDriver, fresh: Emulator, client: httpx.Client
) -> None:
    """server_error answers its 5xx (default 500) and creates no job."""
    fresh.inject(Fault("server_error", provider=driver.name, status_code=503))
    fresh.inject(Fault("server_error", provider=driver.name))
    assert driver.submit(client, fresh, driver.video_model, {}).status_code == 503
    assert driver.submit(client, fresh, driver.video_model, {}).status_code == 500
    assert fresh.stats().submitted == 0


@pytest.mark.parametrize("kind", ["unauthorized", "forbidden", "not_found"])
def test_refusal_faults_answer_the_providers_own_refusal(
    driver: WireDriver, fresh: Emulator, client: httpx.Client, kind: str
) -> None:
    """unauthorized, forbidden and not_found answer the provider's own 401 (its answer to a
    request with no key), 403 and 404, in its error envelope, with the right key sent; no
    job; the next submit goes through."""
    fresh.inject(Fault(kind, provider=driver.name))  # type: ignore[arg-type]
    refused = driver.submit(client, fresh, driver.video_model, {})
    expected = {"unauthorized": driver.auth_statuses, "forbidden": {403}, "not_found": {404}}
    assert refused.status_code in expected[kind], refused.text
    assert driver.error_detail(refused.json())
    assert fresh.stats().submitted == 0
    submit(driver, client, fresh)
    assert fresh.stats().submitted == 1


def test_server_error_on_status_then_recovers(
    driver: WireDriver, fresh: Emulator, client: httpx.Client
) -> None:
    """A status-only fault hits the status read, not the submit; the next read is fine."""
    skip_if_synchronous(driver)
    fresh.inject(Fault("server_error", provider=driver.name, operation="status"))
    job = submit(driver, client, fresh)
    assert driver.read(client, fresh, job).status_code == 500
    assert driver.wait(client, fresh, job)[-1] == SUCCEEDED


def test_drop_connection_on_submit(
    driver: WireDriver, fresh: Emulator, client: httpx.Client
) -> None:
    """drop_connection is a transport error for the client and no job server-side."""
    fresh.inject(Fault("drop_connection", provider=driver.name, operation="submit"))
    with pytest.raises(httpx.RemoteProtocolError):
        driver.submit(client, fresh, driver.video_model, {})
    assert fresh.stats().submitted == 0


def test_drop_connection_on_status(
    driver: WireDriver, fresh: Emulator, client: httpx.Client
) -> None:
    """A dropped status read is a transport error; the job is unaffected."""
    skip_if_synchronous(driver)
    job = submit(driver, client, fresh)
    fresh.inject(Fault("drop_connection", provider=driver.name, operation="status"))
    with pytest.raises(httpx.RemoteProtocolError):
        driver.read(client, fresh, job)
    assert driver.wait(client, fresh, job)[-1] == SUCCEEDED


def test_drop_after_create_leaves_the_job(
    driver: WireDriver, fresh: Emulator, client: httpx.Client
) -> None:
    """drop_after_create drops the reply but the job exists and runs to completion."""
    fresh.inject(Fault("drop_after_create", provider=driver.name))
    with pytest.raises(httpx.RemoteProtocolError):
        driver.submit(client, fresh, driver.video_model, {})
    [job] = fresh.jobs(driver.name)
    assert job.state in ("queued", "running")


@pytest.mark.parametrize("operation", ["submit", "status"])
def test_malformed_json(
    driver: WireDriver, fresh: Emulator, client: httpx.Client, operation: str
) -> None:
    """malformed_json is a 200 whose body does not parse (on submit: no job is made)."""
    if operation == "status":
        skip_if_synchronous(driver)
    job = submit(driver, client, fresh) if operation == "status" else None
    fresh.inject(Fault("malformed_json", provider=driver.name, operation=operation))  # type: ignore[arg-type]
    if job is None:
        response = driver.submit(client, fresh, driver.video_model, {})
    else:
        response = driver.read(client, fresh, job)
    assert response.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        response.json()
    assert fresh.stats().submitted == (0 if job is None else 1)


@pytest.mark.parametrize(("kind", "state"), [("job_failure", FAILED), ("content_refusal", REFUSED)])
def test_job_level_faults_end_the_job(
    driver: WireDriver, fresh: Emulator, client: httpx.Client, kind: str, state: str
) -> None:
    """job_failure and content_refusal let the job run, then end it failed / refused with an
    error text, and no output."""
    fresh.inject(Fault(kind, provider=driver.name))  # type: ignore[arg-type]
    job = submit(driver, client, fresh)
    assert driver.wait(client, fresh, job)[-1] == state
    error = driver.error(driver.status(client, fresh, job))
    assert error
    assert kind == "job_failure" or driver.refusal_fragment in error
    assert fresh.stats() == EmulatorStats(submitted=1, failed=1)


def test_stuck_runs_until_cancelled(
    driver: WireDriver, fresh: Emulator, client: httpx.Client
) -> None:
    """stuck never finishes on its own; cancelling it (for a synchronous API: giving up its
    held reply) leaves nothing running."""
    fresh.latency = Latency(queue_seconds=0, run_seconds=0.05)
    if driver.synchronous:
        submit_stuck(driver, client, fresh)
        wait_until_idle(fresh)
        assert fresh.stats() == EmulatorStats(submitted=1, cancelled=1)
        return
    if not driver.cancellable:
        # Nothing can stop it (a DELETE is refused): it runs until its emulator stops.
        with Emulator(latency=Latency(queue_seconds=0, run_seconds=0.05)) as private:
            job = submit(driver, client, private, **{FAULT_HEADER: "stuck"})
            time.sleep(0.2)
            assert driver.state(driver.status(client, private, job)) == RUNNING
            assert driver.cancel(client, private, job).status_code == driver.cancel_refused_status
            assert private.stats() == EmulatorStats(submitted=1, running=1)
        return
    fresh.inject(Fault("stuck", provider=driver.name))
    job = submit(driver, client, fresh)
    time.sleep(0.2)
    assert driver.state(driver.status(client, fresh, job)) == RUNNING
    assert fresh.stats().running == 1
    driver.cancel(client, fresh, job)
    assert fresh.stats() == EmulatorStats(submitted=1, cancelled=1)


def test_fault_header_applies_to_one_request(
    driver: WireDriver, fresh: Emulator, client: httpx.Client
) -> None:
    """X-Emulator-Fault applies a kind (and status) to that request, or to its job."""
    header = {FAULT_HEADER: "server_error=502"}
    assert driver.submit(client, fresh, driver.video_model, header).status_code == 502
    limited = driver.submit(client, fresh, driver.video_model, {FAULT_HEADER: "rate_limit"})
    assert limited.status_code == 429
    job = submit(driver, client, fresh, **{FAULT_HEADER: "content_refusal"})
    assert driver.wait(client, fresh, job)[-1] == REFUSED


# -- accounting -----------------------------------------------------------------------------


def test_job_accounting(driver: WireDriver, fresh: Emulator, client: httpx.Client) -> None:
    """Totals add up across outcomes: one each of success, failure, refusal, cancel."""
    # Long enough that the four submits land before the first job ends on a loaded machine.
    fresh.latency = Latency(queue_seconds=0, run_seconds=0.5)
    done = submit(driver, client, fresh)
    failing = submit(driver, client, fresh, **{FAULT_HEADER: "job_failure"})
    refused = submit(driver, client, fresh, **{FAULT_HEADER: "content_refusal"})
    # A job nothing can stop is left out: it would keep running (the stuck case shows it).
    stuck = submit_stuck(driver, client, fresh) if driver.cancellable else None
    if stuck is not None:
        assert fresh.stats().running == 4
        driver.cancel(client, fresh, stuck)
    wait_until_idle(fresh)
    for job in (done, failing, refused):
        driver.wait(client, fresh, job)
    cancelled = 1 if driver.cancellable else 0
    assert fresh.stats() == EmulatorStats(
        submitted=3 + cancelled, completed=1, failed=2, cancelled=cancelled
    )
    assert fresh.stats(driver.name) == fresh.stats()
    assert [job.state for job in fresh.jobs(driver.name)] == [
        "succeeded",
        "failed",
        "refused",
        *(["cancelled"] * cancelled),
    ]
