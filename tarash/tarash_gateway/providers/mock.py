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

Audio has no job protocol in tarash (every audio provider is a handler, one call per
result), so a mocked TTS or STS request is answered by :func:`run_mock_audio`, which the
mock's handler runs: the same outcomes, steps and pacing as a mock job, with a WAV tone (or
raw PCM) made here as the result.
"""

from __future__ import annotations

import base64
import binascii
import copy
import dataclasses
import inspect
import io
import re
import threading
import wave
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

import anyio
import httpx
from pydantic import SecretStr

from tarash.tarash_gateway._sample_media import (
    MAX_IMAGE_SIDE,
    PNG_CONTENT_TYPE,
    make_pcm16,
    make_png,
    make_wav,
)
from tarash.tarash_gateway.engine._http import UNKNOWN_CALL, CallContext
from tarash.tarash_gateway.engine._polling import JobSnapshot, JobState
from tarash.tarash_gateway.errors import (
    GenerationFailedError,
    JobCancelledError,
    NotFoundError,
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
    STSRequest,
    STSResponse,
    STSUpdate,
    TTSRequest,
    TTSResponse,
    TTSUpdate,
    VideoGenerationRequest,
    VideoGenerationResponse,
    format_to_content_type,
)
from tarash.tarash_gateway.providers import _kit as kit
from tarash.tarash_gateway.providers._media import decode_data_uri, sniff_mime
from tarash.tarash_gateway.providers._mock_library import (
    best_matching_spec,
    generate_mock_request_id,
    select_mock_response,
)

__all__ = [
    "MAX_MOCK_AUDIO_SECONDS",
    "MAX_MOCK_JOBS",
    "MOCK_BASE_URL",
    "MockClient",
    "is_mock_handle",
    "run_mock_audio",
]

MOCK_BASE_URL = "http://mock.invalid"
"""The ``base_url`` of mock handles: ``.invalid`` never resolves (RFC 2606), and the mock
sends nothing anyway."""
MAX_MOCK_JOBS = 4096
"""Mock jobs remembered for ``wait``/``status``/``cancel``; the oldest are forgotten."""

_STATE_OF: dict[str, JobState] = {
    "queued": JobState.QUEUED,
    "processing": JobState.PROCESSING,
    "completed": JobState.COMPLETED,
    "failed": JobState.FAILED,
}
_DEFAULT_PROGRESS: dict[str, int | None] = {
    "queued": 0,
    "processing": 50,
    "completed": 100,
    "failed": None,
}
_DEFAULT_IMAGE_SIDE = 1024
MAX_MOCK_AUDIO_SECONDS = 10.0
"""The longest tone the mock speaks (the text's reading time is capped there)."""
# About a reader's pace, so that longer text gives longer audio.
_CHARACTERS_PER_SECOND = 15.0
_DEFAULT_SAMPLE_RATE = 24_000
_PCM_FORMATS = frozenset({"pcm", "linear16"})


@dataclass(frozen=True, slots=True)
class _Step:
    status: str
    progress: int | None
    update: dict[str, Any]


@dataclass(slots=True)
class _MockJob:
    """A submitted mock job: its outcome, and how far along its steps it is."""

    kind: kit.JobKind
    mock: MockConfig
    outcome: MockResponse
    payload: dict[str, Any]
    steps: list[_Step]
    delay: float
    position: int = 0
    cancelled: bool = False
    provider: str = "mock"
    model: str = "mock"

    @property
    def finished(self) -> bool:
        return self.cancelled or _STATE_OF[self.steps[self.position].status].is_terminal


_jobs: OrderedDict[str, _MockJob] = OrderedDict()
_jobs_lock = threading.Lock()


def _remember(request_id: str, job: _MockJob) -> None:
    with _jobs_lock:
        _jobs[request_id] = job
        while len(_jobs) > MAX_MOCK_JOBS:
            _jobs.popitem(last=False)


def is_mock_handle(handle: JobHandle) -> bool:
    """Whether a handle is a mock job's (as its submit marked it)."""
    return handle.provider_state.get("mock") is True


def _steps(mock: MockConfig, outcome: MockResponse) -> list[_Step]:
    """The statuses a job goes through; the last is its outcome.

    Without polling, one silent terminal step. With polling, the sequence up to its first
    terminal status, the last step replaced by the outcome ("failed" for an error, as
    published; "completed" for a success).
    """
    final = "failed" if outcome.error is not None else "completed"
    polling = mock.polling
    if polling is None or not polling.enabled or not polling.status_sequence:
        return [_Step(final, _DEFAULT_PROGRESS[final], {})]
    steps: list[_Step] = []
    for index, status in enumerate(polling.status_sequence):
        progress = (
            polling.progress_percentages[index]
            if polling.progress_percentages
            else _DEFAULT_PROGRESS[status]
        )
        update = dict(polling.custom_updates[index]) if polling.custom_updates else {}
        steps.append(_Step(status, progress, update))
        if _STATE_OF[status].is_terminal:
            break
    last = steps[-1]
    if last.status != final:
        progress = last.progress if polling.progress_percentages else _DEFAULT_PROGRESS[final]
        steps[-1] = _Step(final, progress, last.update)
    return steps


def _raisable(error: Exception, provider: str, model: str) -> TarashException:
    """The error a failing mock job raises: a fresh copy of the configured one.

    A copy, because the chain writes to what it raises (the job handle, the metadata) and
    one MockResponse may fail many requests. A non-tarash exception is wrapped, chained to
    it, with no fallback (like an unexpected error in a provider's own code).
    """
    if isinstance(error, TarashException):
        try:
            fresh = copy.copy(error)
        except Exception:  # an exception class that cannot be rebuilt: use it as is
            fresh = error
        fresh.provider = fresh.provider or provider
        fresh.model = fresh.model or model
        return fresh
    wrapped = TarashException(
        str(error) or type(error).__name__,
        provider=provider,
        model=model,
        retryable=False,
        fallback_allowed=False,
    )
    wrapped.__cause__ = error
    return wrapped


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
    key_env_vars: ClassVar[tuple[str, ...]] = ()
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
        job = _job_of(handle)
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

    # -- credentials: none -------------------------------------------------------------

    def api_key(self) -> SecretStr:
        """The configured key, unused; no key is needed, so none is ever missing."""
        return self.settings.api_key or SecretStr("")

    def secrets(self) -> list[str]:
        """The configured key, if any: never sent, and still never shown."""
        key = self.settings.api_key
        return [key.get_secret_value()] if key is not None and key.get_secret_value() else []

    def auth_headers(self) -> dict[str, str]:
        """None: nothing is authenticated."""
        return {}

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
        mock_job = _MockJob(
            kind=job.kind,
            mock=self.mock,
            outcome=outcome,
            payload=dict(job.payload),
            steps=_steps(self.mock, outcome),
            delay=polling.delay_between_updates if polling is not None else 0.0,
            provider=self.provider,
            model=self.model,
        )
        request_id = generate_mock_request_id()
        _remember(request_id, mock_job)
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
        return kit.SubmittedJob(handle=handle, snapshot=_snapshot(mock_job))

    async def poll(self, handle: JobHandle) -> JobSnapshot:
        """Move the job one step on (none once it is over) and report that step.

        Raises:
            NotFoundError: This process has no such mock job.
        """
        job = _job_of(handle)
        self.request_context.counters.polls += 1
        with _jobs_lock:
            if not job.finished:
                job.position += 1
        return _snapshot(job)

    async def fetch_video(self, handle: JobHandle, snapshot: JobSnapshot) -> kit.VideoOutput:
        """The picked outcome's video, or a sample matching the request.

        Raises:
            NotFoundError: This process has no such mock job.
            ValidationError: ``output_video`` cannot be read (a missing file, bad base64).
            HTTPError: ``output_video_type="content"`` of a URL that could not be
                downloaded.
        """
        job = _job_of(handle)
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
            video, content_type = await self._media(
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
        job = _job_of(handle)
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
            image, content_type = await self._media(
                outcome.output_image, "output_image", content=False
            )
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
        job = _job_of(handle)
        with _jobs_lock:
            if job.finished:
                return False
            job.cancelled = True
        return True

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

    async def _media(
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


def _job_of(handle: JobHandle) -> _MockJob:
    with _jobs_lock:
        job = _jobs.get(handle.request_id)
    if job is None:
        raise NotFoundError(
            f"no mock job {handle.request_id} in this process: mock jobs live in the memory "
            "of the process that submitted them",
            provider=handle.provider,
            model=handle.model,
            request_id=handle.request_id,
            status_code=404,
        )
    return job


def _snapshot(job: _MockJob) -> JobSnapshot:
    if job.cancelled:
        return JobSnapshot(
            state=JobState.CANCELLED,
            error=JobCancelledError(
                "the mock job was cancelled", provider=job.provider, model=job.model
            ),
        )
    step = job.steps[job.position]
    state = _STATE_OF[step.status]
    error: TarashException | None = None
    if state is JobState.FAILED:
        configured = job.outcome.error
        error = (
            _raisable(configured, job.provider, job.model)
            if configured is not None
            else GenerationFailedError(
                "the mock job failed", provider=job.provider, model=job.model
            )
        )
    return JobSnapshot(
        state=state,
        raw=dict(step.update),
        progress_percent=step.progress,
        poll_after=None if state.is_terminal else job.delay,
        error=error,
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


# ---------------------------------------------------------------------------------------
# Audio
# ---------------------------------------------------------------------------------------


def _wav_seconds(data: bytes) -> float | None:
    """The length of a WAV file, or ``None`` when ``data`` is not one."""
    try:
        with wave.open(io.BytesIO(data)) as wav:
            frames: int = wav.getnframes()
            rate: int = wav.getframerate()
    except (wave.Error, EOFError):
        return None
    return frames / rate if rate else None


def _spoken_seconds(request: TTSRequest | STSRequest) -> float:
    """How long the mock's tone lasts: the text's reading time, or the input speech's."""
    if isinstance(request, TTSRequest):
        seconds = len(request.text) / _CHARACTERS_PER_SECOND
    else:
        audio = request.audio
        data = audio["content"] if isinstance(audio, dict) else audio
        seconds = (_wav_seconds(data) if isinstance(data, bytes) else None) or 1.0
    return round(min(max(seconds, 0.5), MAX_MOCK_AUDIO_SECONDS), 3)


def _tone(request: TTSRequest | STSRequest) -> tuple[bytes, str, float, dict[str, Any]]:
    """The mock's audio for a request: its bytes, MIME type, length and raw response.

    WAV for ``wav``, raw 16-bit PCM for ``pcm``/``linear16``; any other format (MP3, Opus,
    FLAC, ...) is answered with WAV too, under WAV's content type: the mock has no encoder.
    """
    wanted = request.output_format.format
    rate = request.output_format.sample_rate or _DEFAULT_SAMPLE_RATE
    seconds = _spoken_seconds(request)
    if wanted in _PCM_FORMATS:
        served, data = wanted, make_pcm16(seconds, rate)
    else:
        served, data = "wav", make_wav(seconds, rate)
    content_type = format_to_content_type(served)
    raw: dict[str, Any] = {
        "mock": True,
        "format": served,
        "format_requested": wanted,
        "sample_rate": rate,
        "channels": 1,
        "sample_width_bits": 16,
        "duration": seconds,
    }
    return data, content_type, seconds, raw


async def run_mock_audio(
    mock: MockConfig,
    request: TTSRequest | STSRequest,
    on_progress: Callable[[Any], object] | None = None,
    *,
    provider: str = "mock",
    model: str = "mock",
    sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
) -> TTSResponse | STSResponse:
    """Answer one TTS or STS request as the mock: pick an outcome, report its steps, answer.

    The steps are a mock job's (:class:`~tarash.tarash_gateway.mock.MockPollingConfig`):
    one :class:`TTSUpdate` (or :class:`STSUpdate`) per status, ``delay_between_updates``
    seconds apart (``sleep`` waits them), the last carrying the result or the error's
    text; with no polling, none.

    Args:
        mock: The outcomes and polling to simulate.
        request: What to answer.
        on_progress: Called with each update; sync or async.
        provider: The provider the response and updates name.
        model: The model they name.
        sleep: How to wait between two updates (tests pass a fake).

    Returns:
        The audio (base64), ``is_mock=True``: the outcome's ``output_audio``, or a tone.

    Raises:
        ValidationError: The picked outcome's ``mock_response`` is a video or image
            response, or its ``output_audio`` cannot be read.
        TarashException: The picked outcome's error (a fresh copy, as a mock job's).
    """
    outcome = select_mock_response(mock.responses or [MockResponse()])
    if outcome.mock_response is not None:
        raise ValidationError(
            f"the mock's mock_response is a {type(outcome.mock_response).__name__}; a TTS or "
            "STS request takes output_audio (or error) instead",
            provider=provider,
            model=model,
            fallback_allowed=False,
        )
    is_tts = isinstance(request, TTSRequest)
    response_class: type[TTSResponse | STSResponse] = TTSResponse if is_tts else STSResponse
    update_class: type[TTSUpdate | STSUpdate] = TTSUpdate if is_tts else STSUpdate
    request_id = generate_mock_request_id()
    polling = mock.polling
    reports = polling is not None and polling.enabled and bool(polling.status_sequence)
    delay = polling.delay_between_updates if polling is not None else 0.0
    steps = _steps(mock, outcome)
    result: TTSResponse | STSResponse | None = None
    error: TarashException | None = None
    for index, step in enumerate(steps):
        if index:
            await sleep(delay)
        if index == len(steps) - 1:
            if outcome.error is not None:
                error = _raisable(outcome.error, provider, model)
            else:
                result = await _mock_audio_response(
                    outcome, request, response_class, request_id, provider, model
                )
        if reports and on_progress is not None:
            delivered = on_progress(
                update_class(
                    request_id=request_id,
                    status=step.status,
                    progress_percent=step.progress,
                    provider=provider,
                    model=model,
                    update=dict(step.update),
                    result=result if step.status == "completed" else None,
                    error=str(error) if error is not None else None,
                )
            )
            if inspect.isawaitable(delivered):
                await delivered
    if error is not None:
        raise error
    assert result is not None  # the last step made it
    return result


async def _mock_audio_response(
    outcome: MockResponse,
    request: TTSRequest | STSRequest,
    response_class: type[TTSResponse | STSResponse],
    request_id: str,
    provider: str,
    model: str,
) -> TTSResponse | STSResponse:
    if outcome.output_audio is not None:
        # Read as a mock job reads output_video (a URL downloaded, a path read, ...).
        reader = MockClient(
            kit.ProviderSettings(model=model), mock=MockConfig(enabled=True), provider=provider
        )
        data, content_type = await reader._media(outcome.output_audio, "output_audio", content=True)
        assert isinstance(data, bytes)  # content=True always gives the bytes
        seconds = _wav_seconds(data)
        if content_type is None and seconds is not None:
            content_type = format_to_content_type("wav")
        return response_class(
            request_id=request_id,
            audio=data,
            content_type=content_type,
            duration=seconds,
            is_mock=True,
            provider=provider,
            model=model,
            raw_response={"mock": True, "output_audio_provided": True},
        )
    data, content_type, seconds, raw = _tone(request)
    return response_class(
        request_id=request_id,
        audio=data,
        content_type=content_type,
        duration=seconds,
        is_mock=True,
        provider=provider,
        model=model,
        raw_response=raw,
    )
