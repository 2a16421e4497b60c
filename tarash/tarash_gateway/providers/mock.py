"""The mock provider's client: the provider protocol, answered from memory.

``build_client`` picks it for a config whose ``mock`` is enabled, so a mock job runs
through the same submit, wait, result, fallback and metadata code as a real one. Nothing is
sent anywhere and no key is needed: a submit picks one of the config's
:class:`~tarash.tarash_gateway.mock.MockResponse` by weight and records the job here; each
poll moves it one step along its :class:`~tarash.tarash_gateway.mock.MockPollingConfig`
(the waiter sleeps ``delay_between_updates`` between two, as told by the snapshot's
``poll_after``); the result is made when it is read.

Mock jobs live in this process's memory: a handle of one can be waited on, polled and
cancelled here (the most recent :data:`MAX_MOCK_JOBS` are kept), not in another process.

A mocked TTS or STS request is answered by :mod:`._mock_audio` (audio has no job protocol),
on the same outcomes and steps as a mock job.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import ClassVar, Literal, overload

import anyio
import httpx

from tarash.tarash_gateway._sample_media import (
    MAX_IMAGE_SIDE,
    PNG_CONTENT_TYPE,
    make_png,
)
from tarash.tarash_gateway.engine._http import UNKNOWN_CALL, CallContext
from tarash.tarash_gateway.engine._polling import JobSnapshot
from tarash.tarash_gateway.errors import (
    TarashException,
    ValidationError,
    error_for_status,
)
from tarash.tarash_gateway.models import (
    ImageGenerationRequest,
    ImageGenerationResponse,
    JobHandle,
    MockConfig,
    MockResponse,
    VideoGenerationRequest,
    VideoGenerationResponse,
)
from tarash.tarash_gateway.providers import _kit as kit
from tarash.tarash_gateway.providers._media import decode_data_uri, sniff_mime, to_data_uri
from tarash.tarash_gateway.providers._mock_jobs import (
    MAX_MOCK_JOBS,
    MockJob,
    is_mock_handle,
    job_of,
    job_snapshot,
    mock_steps,
    remember,
)
from tarash.tarash_gateway.providers._mock_library import (
    best_matching_spec,
    generate_mock_request_id,
    select_mock_response,
)

__all__ = [
    "MAX_MOCK_JOBS",
    "MOCK_BASE_URL",
    "MockClient",
    "is_mock_handle",
]

MOCK_BASE_URL = "http://mock.invalid"
"""The ``base_url`` of mock handles: ``.invalid`` never resolves (RFC 2606), and the mock
sends nothing anyway."""

_DEFAULT_IMAGE_SIDE = 1024


class MockClient(kit.ProviderClient):
    """The provider protocol with no provider behind it (see the module docstring).

    Args:
        settings: As any client gets them; the key, if any, is never used.
        mock: The config's mock.
        provider: The config's provider, which the handle and response carry.
        real: The real provider's client class: the config is checked by it (its
            ``provider_config`` options, say) as the real run would, so a mock run catches
            what the real one would refuse before submitting.
    """

    name: ClassVar[str] = "mock"
    default_base_url: ClassVar[str] = MOCK_BASE_URL
    credentials = kit.NoKey()
    is_mock: ClassVar[bool] = True

    def __init__(
        self,
        settings: kit.ProviderSettings,
        *,
        mock: MockConfig,
        provider: str = "mock",
        real: type[kit.ProviderClient] | None = None,
    ) -> None:
        if real is not None:
            real(settings)
        # The options were the real provider's to check; the mock takes none of its own.
        super().__init__(dataclasses.replace(settings, provider_config={}))
        self.mock = mock
        self.provider = provider

    @classmethod
    def for_handle(cls, handle: JobHandle, settings: kit.ProviderSettings) -> MockClient:
        """A client for a mock job's handle.

        Raises:
            NotFoundError: This process has no such mock job (another process made it, or
                it was long forgotten).
        """
        job = job_of(handle)
        return cls(settings, mock=job.mock, provider=handle.provider)

    @classmethod
    def resolve_base_url(cls, explicit: str | None = None) -> str:
        """Always :data:`MOCK_BASE_URL`: the mock has no API to point at."""
        return MOCK_BASE_URL

    @property
    def reports_progress(self) -> bool:
        """Only when the mock simulates polling: with ``polling=None`` no update is sent."""
        polling = self.mock.polling
        return polling is not None and polling.enabled and bool(polling.status_sequence)

    # -- mapping -----------------------------------------------------------------------

    def capabilities(self, kind: kit.JobKind) -> kit.ModelCapabilities:
        """Anything goes: the mock answers whatever it is asked, unadapted."""
        return kit.ModelCapabilities(kind=kind)

    def prepare_video(self, request: VideoGenerationRequest) -> kit.PreparedJob:
        """Keep what a sample is matched on."""
        payload = {
            "prompt": request.prompt,
            "duration_seconds": request.duration_seconds,
            "resolution": request.resolution,
            "aspect_ratio": request.aspect_ratio,
        }
        return kit.PreparedJob(kind="video", model=self.model, payload=payload)

    def prepare_image(self, request: ImageGenerationRequest) -> kit.PreparedJob:
        """Keep how many images, and of what size, to make."""
        payload = {
            "prompt": request.prompt,
            "n": getattr(request, "n", None) or 1,
            "size": request.size,
            "aspect_ratio": request.aspect_ratio,
        }
        return kit.PreparedJob(kind="image", model=self.model, payload=payload)

    # -- lifecycle ---------------------------------------------------------------------

    async def submit(self, job: kit.PreparedJob, *, time_left: float | None) -> kit.SubmittedJob:
        """Pick the outcome by weight and start the job at its first step.

        Raises:
            ValidationError: The picked ``mock_response`` is of the other kind (an image
                response for a video config, say); nothing was submitted.
        """
        outcome = select_mock_response(self.mock.responses or [MockResponse()])
        expected = VideoGenerationResponse if job.kind == "video" else ImageGenerationResponse
        if outcome.mock_response is not None and not isinstance(outcome.mock_response, expected):
            raise ValidationError(
                f"the mock's mock_response is a {type(outcome.mock_response).__name__}; a "
                f"{job.kind} config needs a {expected.__name__}",
                provider=self.provider,
                model=self.model,
                fallback_allowed=False,
            )
        polling = self.mock.polling
        mock_job = MockJob(
            kind=job.kind,
            mock=self.mock,
            outcome=outcome,
            payload=dict(job.payload),
            steps=mock_steps(self.mock, outcome),
            delay=polling.delay_between_updates if polling is not None else 0.0,
            provider=self.provider,
            model=self.model,
        )
        request_id = generate_mock_request_id()
        remember(request_id, mock_job)
        self.request_context.counters.submits += 1
        handle = JobHandle(
            kind=job.kind,
            provider=self.provider,
            model=self.model,
            request_id=request_id,
            base_url=MOCK_BASE_URL,
            submitted_at=datetime.now(UTC),
            provider_state={"mock": True},
        )
        return kit.SubmittedJob(handle=handle, snapshot=job_snapshot(mock_job))

    async def poll(self, handle: JobHandle) -> JobSnapshot:
        """Move the job one step on (none once it is over) and report that step.

        Raises:
            NotFoundError: This process has no such mock job.
        """
        job = job_of(handle)
        self.request_context.counters.polls += 1
        job.advance()
        return job_snapshot(job)

    async def fetch_video(self, handle: JobHandle, snapshot: JobSnapshot) -> kit.VideoOutput:
        """The picked outcome's video, or a sample matching the request.

        Raises:
            NotFoundError: This process has no such mock job.
            ValidationError: ``output_video`` cannot be read (a missing file, bad base64).
            HTTPError: ``output_video_type="content"`` of a URL that could not be
                downloaded.
        """
        job = job_of(handle)
        outcome = job.outcome
        canned = outcome.mock_response
        if isinstance(canned, VideoGenerationResponse):
            video = canned.video
            return kit.VideoOutput(
                video=video["content"] if isinstance(video, dict) else video,
                content_type=canned.content_type,
                audio_url=canned.audio_url,
                duration=canned.duration,
                resolution=canned.resolution,
                aspect_ratio=canned.aspect_ratio,
                expires_at=canned.expires_at,
                raw=dict(canned.raw_response),
            )
        if outcome.output_video is not None:
            video, content_type = await self.read_media(
                outcome.output_video, "output_video", content=outcome.output_video_type == "content"
            )
            return kit.VideoOutput(
                video=video,
                content_type=content_type or "video/mp4",
                raw={"mock": True, "output_video_provided": True},
            )
        payload = job.payload
        spec = best_matching_spec(
            payload.get("aspect_ratio"), payload.get("resolution"), payload.get("duration_seconds")
        )
        matched = {
            "aspect_ratio": spec.aspect_ratio,
            "resolution": spec.resolution,
            "duration": spec.duration,
            "url": spec.url,
        }
        sample: str | bytes = spec.url
        if outcome.output_video_type == "content":
            sample, _ = decode_data_uri(spec.url)
        return kit.VideoOutput(
            video=sample,
            content_type="video/mp4",
            duration=spec.duration,
            resolution=spec.resolution,
            aspect_ratio=spec.aspect_ratio,
            raw={"mock": True, "matched_spec": matched},
        )

    async def fetch_image(self, handle: JobHandle, snapshot: JobSnapshot) -> kit.ImageOutput:
        """The picked outcome's image(s), or ``n`` generated PNGs of the requested size.

        Raises:
            NotFoundError: This process has no such mock job.
            ValidationError: ``output_image`` cannot be read.
        """
        job = job_of(handle)
        outcome = job.outcome
        canned = outcome.mock_response
        if isinstance(canned, ImageGenerationResponse):
            return kit.ImageOutput(
                images=list(canned.images),
                content_type=canned.content_type,
                revised_prompt=canned.revised_prompt,
                expires_at=canned.expires_at,
                raw=dict(canned.raw_response),
            )
        count = int(job.payload.get("n") or 1)
        if outcome.output_image is not None:
            image, content_type = await self.read_media(
                outcome.output_image, "output_image", content=False
            )
            if isinstance(image, bytes):
                # Published images are text: the bytes given travel as a data: URI.
                content_type = content_type or sniff_mime(image, "image/png")
                image = to_data_uri(image, content_type)
            return kit.ImageOutput(
                images=[image] * count,
                content_type=content_type,
                raw={"mock": True, "output_image_provided": True},
            )
        width, height = _image_size(job.payload.get("size"), job.payload.get("aspect_ratio"))
        png = make_png(width, height)
        uri = f"data:{PNG_CONTENT_TYPE};base64,{base64.b64encode(png).decode('ascii')}"
        return kit.ImageOutput(
            images=[uri] * count,
            content_type=PNG_CONTENT_TYPE,
            raw={"mock": True, "width": width, "height": height},
        )

    async def cancel(self, handle: JobHandle) -> bool:
        """Stop the job; False when it was already over.

        Raises:
            NotFoundError: This process has no such mock job.
        """
        job = job_of(handle)
        return job.cancel()

    def parse_error(
        self, response: httpx.Response, call: CallContext = UNKNOWN_CALL
    ) -> TarashException:
        """Map a failed download of ``output_video`` (the mock's only request)."""
        return error_for_status(
            response.status_code,
            f"the mock could not download its output_video (HTTP {response.status_code})",
            headers=response.headers,
            provider=self.provider,
            model=self.model,
        )

    # -- media -------------------------------------------------------------------------

    @overload
    async def read_media(
        self, value: object, name: str, *, content: Literal[True]
    ) -> tuple[bytes, str | None]: ...

    @overload
    async def read_media(
        self, value: object, name: str, *, content: bool
    ) -> tuple[str | bytes, str | None]: ...

    async def read_media(
        self, value: object, name: str, *, content: bool
    ) -> tuple[str | bytes, str | None]:
        """A configured output as the response holds it, and its type when known.

        As given, except what a response cannot hold (a path, a content dict: their
        bytes); with ``content``, always bytes (a URL is downloaded, base64 decoded).
        """
        if isinstance(value, dict):
            data: bytes = value["content"]
            return data, value.get("content_type") or sniff_mime(data, "") or None
        if isinstance(value, bytes):
            return value, sniff_mime(value, "") or None
        if isinstance(value, Path):
            try:
                data = await anyio.Path(value).read_bytes()
            except OSError as exc:
                raise self._bad_media(name, f"the file cannot be read ({exc.strerror})") from None
            return data, sniff_mime(data, "") or None
        text = str(value)
        if not content:
            return text, None
        if text.startswith("data:"):
            data, mime = decode_data_uri(text, field=name)
            return data, mime
        if re.match(r"^https?://", text, re.I):
            reply = await self._send("download", "GET", text)
            return reply.content, reply.headers.get("content-type")
        try:
            data = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raise self._bad_media(name, "it is neither a URL, a data: URI nor base64") from None
        return data, sniff_mime(data, "") or None

    def _bad_media(self, name: str, why: str) -> ValidationError:
        return ValidationError(
            f"the mock's {name} cannot be used: {why}",
            provider=self.provider,
            model=self.model,
            fallback_allowed=False,
        )


_SIZE = re.compile(r"^([0-9]{1,6})x([0-9]{1,6})$")


def _image_size(size: object, aspect_ratio: object) -> tuple[int, int]:
    """``size`` when it is ``WxH``, else 1024 on the long side of ``aspect_ratio``."""
    if isinstance(size, str) and (match := _SIZE.match(size)):
        return min(int(match[1]), MAX_IMAGE_SIDE), min(int(match[2]), MAX_IMAGE_SIDE)
    if isinstance(aspect_ratio, str) and ":" in aspect_ratio:
        across, down = (float(part) for part in aspect_ratio.split(":", 1))
        if across >= down:
            return _DEFAULT_IMAGE_SIDE, max(1, round(_DEFAULT_IMAGE_SIDE * down / across))
        return max(1, round(_DEFAULT_IMAGE_SIDE * across / down)), _DEFAULT_IMAGE_SIDE
    return _DEFAULT_IMAGE_SIDE, _DEFAULT_IMAGE_SIDE
