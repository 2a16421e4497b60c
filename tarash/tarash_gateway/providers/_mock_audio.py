"""The mock's audio: a mocked TTS or STS request answered from memory.

Audio has no job protocol in tarash (every audio provider is a handler, one call per
result), so a mocked TTS or STS request is answered by :func:`run_mock_audio`, which the
mock's handler runs: the same outcomes, steps and pacing as a mock job
(:mod:`.mock`), with a WAV tone (or raw PCM) made here as the result.
"""

from __future__ import annotations

import inspect
import io
import wave
from collections.abc import Awaitable, Callable
from typing import Any

import anyio

from tarash.tarash_gateway._sample_media import make_pcm16, make_wav
from tarash.tarash_gateway.errors import TarashException, ValidationError
from tarash.tarash_gateway.models import (
    MockConfig,
    MockResponse,
    STSRequest,
    STSResponse,
    STSUpdate,
    TTSRequest,
    TTSResponse,
    TTSUpdate,
    format_to_content_type,
)
from tarash.tarash_gateway.providers import _kit as kit
from tarash.tarash_gateway.providers._mock_jobs import Step, mock_steps, raisable_error
from tarash.tarash_gateway.providers._mock_library import (
    generate_mock_request_id,
    select_mock_response,
)
from tarash.tarash_gateway.providers.mock import MockClient

__all__ = ["MAX_MOCK_AUDIO_SECONDS", "run_mock_audio"]

MAX_MOCK_AUDIO_SECONDS = 10.0
"""The longest tone the mock speaks (the text's reading time is capped there)."""
# About a reader's pace, so that longer text gives longer audio.
_CHARACTERS_PER_SECOND = 15.0
_DEFAULT_SAMPLE_RATE = 24_000
_PCM_FORMATS = frozenset({"pcm", "linear16"})


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
    steps = mock_steps(mock, outcome)  # never empty: the last step is the outcome

    async def report(
        step: Step, result: TTSResponse | STSResponse | None, error: TarashException | None
    ) -> None:
        if not reports or on_progress is None:
            return
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

    *before, last = steps
    for step in before:
        await report(step, None, None)
        await sleep(delay)
    if outcome.error is not None:
        error = raisable_error(outcome.error, provider, model)
        await report(last, None, error)
        raise error
    result = await _mock_audio_response(
        outcome, request, response_class, request_id, provider, model
    )
    await report(last, result, None)
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
        data, content_type = await reader.read_media(
            outcome.output_audio, "output_audio", content=True
        )
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
