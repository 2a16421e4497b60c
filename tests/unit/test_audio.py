"""Text-to-speech and speech-to-speech: the published models, handler providers down a
fallback chain, the refusal of providers without audio, and the mock's WAV."""

from __future__ import annotations

import base64
import io
import pickle
import uuid
import wave
from typing import Any

import anyio
import pytest
import respx

from tarash.tarash_gateway import (
    AudioGenerationConfig,
    AudioOutputFormat,
    GenerationFailedError,
    MockConfig,
    MockPollingConfig,
    MockResponse,
    STSRequest,
    STSResponse,
    STSUpdate,
    TarashException,
    TimeoutError,
    TTSRequest,
    TTSResponse,
    TTSUpdate,
    ValidationError,
    VideoGenerationConfig,
    format_to_content_type,
    generate_sts,
    generate_sts_async,
    generate_tts,
    generate_tts_async,
    register_provider,
    registry,
)
from tarash.tarash_gateway import models as models_module
from tarash.tarash_gateway.mock import handle_mock_request_async
from tarash.tarash_gateway.models import ExtraParamsWarning
from tarash.tarash_gateway.providers._mock_audio import MAX_MOCK_AUDIO_SECONDS, run_mock_audio

KEY = "sk-audio-unit-canary-4242"
NO_WAIT = MockPollingConfig(delay_between_updates=0)


def _name(prefix: str = "unit-tts") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _config(provider: str, **fields: Any) -> AudioGenerationConfig:
    return AudioGenerationConfig(provider=provider, model="voice-v1", **fields)


def _wav(data: bytes) -> tuple[int, int, int]:
    """(sample rate, frames, sample width) of a WAV file; raises if it is not one."""
    with wave.open(io.BytesIO(data)) as wav:
        return wav.getframerate(), wav.getnframes(), wav.getsampwidth()


class SpeechHandler:
    """A published-style audio handler: async TTS, sync STS; records what it was given."""

    def __init__(self, *, error: BaseException | None = None, updates: int = 0) -> None:
        self.error = error
        self.updates = updates
        self.calls: list[tuple[str, Any, Any]] = []

    async def generate_tts_async(
        self, config: Any, request: Any, on_progress: Any = None
    ) -> TTSResponse:
        self.calls.append(("tts", config, request))
        for number in range(self.updates):
            delivery = on_progress(
                TTSUpdate(request_id="t-1", status="processing", progress_percent=number)
            )
            await delivery
        if self.error is not None:
            raise self.error
        return TTSResponse(
            request_id="t-1",
            audio=b"spoken:" + request.text.encode(),
            content_type="audio/mpeg",
            raw_response={"auth": f"Bearer {config.api_key}" != "Bearer None"},
        )

    def generate_sts(self, config: Any, request: Any, on_progress: Any = None) -> STSResponse:
        self.calls.append(("sts", config, request))
        if on_progress is not None:
            on_progress(STSUpdate(request_id="s-1", status="processing", update={"step": 1}))
        if self.error is not None:
            raise self.error
        return STSResponse(request_id="s-1", audio="AAAA", content_type="audio/wav")


class TextOnly:
    """Implements text-to-speech only, the sync way."""

    def generate_tts(self, config: Any, request: Any, on_progress: Any = None) -> TTSResponse:
        return TTSResponse(request_id="only", audio="AAAA")


class NotYet:
    """Has the TTS method but raises NotImplementedError, as the protocol allows."""

    async def generate_tts_async(
        self, config: Any, request: Any, on_progress: Any = None
    ) -> TTSResponse:
        raise NotImplementedError("voices are coming")


def _registered(handler: object, prefix: str = "unit-tts") -> str:
    name = _name(prefix)
    register_provider(name, handler)
    return name


# -- models -------------------------------------------------------------------------------


def test_published_names_are_importable_from_models_and_the_root() -> None:
    """The audio names exist in models (the published module) and are the root's objects."""
    for name in (
        "AudioGenerationConfig",
        "AudioOutputFormat",
        "TTSRequest",
        "TTSResponse",
        "TTSUpdate",
        "STSRequest",
        "STSResponse",
        "STSUpdate",
        "format_to_content_type",
        "TTSProgressCallback",
        "SyncSTSProgressCallback",
        "AsyncTTSProgressCallback",
    ):
        assert name in models_module.__all__
    assert models_module.TTSRequest is TTSRequest


def test_requests_have_the_published_defaults() -> None:
    """Output defaults to MP3 at 44.1 kHz / 128 kbps; the optional fields are None."""
    request = TTSRequest(text="hello")
    assert request.output_format == AudioOutputFormat(format="mp3", sample_rate=44100, bitrate=128)
    assert (request.voice_id, request.language_code, request.voice_settings) == (None, None, None)
    assert request.extra_params == {}
    sts = STSRequest(audio="https://cdn.example/in.wav", voice_id="v")
    assert sts.output_format.format == "mp3"
    assert sts.audio == "https://cdn.example/in.wav"


def test_unknown_request_keywords_go_to_extra_params_with_a_warning() -> None:
    """capture_extra_fields: a provider option passed as a keyword is kept, and named."""
    with pytest.warns(ExtraParamsWarning, match="'speed'"):
        request = TTSRequest(text="hi", speed=1.2, extra_params={"pitch": 2})
    assert request.extra_params == {"pitch": 2, "speed": 1.2}
    with pytest.warns(ExtraParamsWarning, match="'similarity'"):
        sts = STSRequest(audio=b"x", voice_id="v", similarity=0.5)
    assert sts.extra_params == {"similarity": 0.5}


def test_a_near_miss_of_a_request_field_is_an_error_naming_it() -> None:
    """'voice_idd' is a typo of voice_id, not a provider option: refused, field named."""
    with pytest.raises(ValidationError, match="did you mean 'voice_id'"):
        TTSRequest(text="hi", voice_idd="rachel")
    with pytest.raises(ValidationError, match="did you mean 'output_format'"):
        STSRequest(audio=b"x", voice_id="v", output_formats={"format": "wav"})


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: TTSRequest(text="   "), "text"),
        (lambda: TTSRequest(text="\ud800"), "text"),
        (lambda: TTSRequest(text="hi", voice_id=""), "voice_id"),
        (lambda: STSRequest(audio=b"", voice_id="v"), "audio"),
        (
            lambda: STSRequest(audio={"content": b"", "content_type": "audio/wav"}, voice_id="v"),
            "audio",
        ),
        (lambda: AudioOutputFormat(format=""), "format"),
        (lambda: AudioOutputFormat(format="wav", sample_rate=0), "sample_rate"),
        (lambda: AudioOutputFormat(format="wav", sample_rate=10**9), "sample_rate"),
        (lambda: AudioOutputFormat(format="wav", bitrate=-1), "bitrate"),
        (lambda: AudioOutputFormat(format="wav", samplerate=8000), "sample_rate"),
    ],
)
def test_bad_audio_input_is_a_tarash_validation_error_naming_the_field(
    build: Any, field: str
) -> None:
    """Empty text/audio, an unsendable text, a bad rate or format: refused, field named."""
    with pytest.raises(ValidationError, match=field):
        build()


def test_format_to_content_type_follows_the_published_table() -> None:
    """Each published format maps to its MIME type; anything else is MP3's, as published."""
    assert format_to_content_type("mp3") == "audio/mpeg"
    assert format_to_content_type("wav") == "audio/wav"
    assert format_to_content_type("pcm") == format_to_content_type("linear16") == "audio/pcm"
    assert format_to_content_type("ulaw") == "audio/basic"
    assert format_to_content_type("aac") == "audio/aac"
    assert format_to_content_type("whatever") == "audio/mpeg"


def test_a_response_given_bytes_holds_them_as_base64() -> None:
    """audio is base64 text (published); raw bytes from a handler are encoded, not decoded."""
    response = TTSResponse(request_id="r", audio=b"\xff\xfe\x00")
    assert response.audio == base64.b64encode(b"\xff\xfe\x00").decode()
    assert response.audio_bytes() == b"\xff\xfe\x00"
    assert response.status == "completed"
    with pytest.raises(ValidationError, match="not base64"):
        STSResponse(request_id="r", audio="https://cdn.example/out.mp3").audio_bytes()


def test_the_config_key_reads_back_plain_and_never_shows() -> None:
    """api_key is the str given; repr, dumps, JSON and pickles do not carry it."""
    config = _config("my-tts", api_key=KEY, fallback_configs=[_config("other", api_key=KEY)])
    assert config.api_key == KEY
    assert f"Bearer {config.api_key}" == f"Bearer {KEY}"
    for shown in (repr(config), str(config), str(config.model_dump()), config.model_dump_json()):
        assert KEY not in shown
    assert KEY.encode() not in pickle.dumps(config)
    assert pickle.loads(pickle.dumps(config)).api_key is None
    assert config.timeout == 240.0  # the published default


@pytest.mark.parametrize(
    "fields",
    [
        {"timeout": float("inf")},
        {"timeout": 1e300},
        {"provider": "my tts"},
        {"model": "  "},
        {"api_key": "sk-with\nnewline"},
        {"timeot": 5},
    ],
)
def test_config_boundary_checks_match_the_other_configs(fields: dict[str, Any]) -> None:
    """Timeout finite, provider and model sane, key printable, no unknown field."""
    values: dict[str, Any] = {"provider": "my-tts", "model": "v1", **fields}
    with pytest.raises(ValidationError) as caught:
        AudioGenerationConfig(**values)
    assert "sk-with" not in str(caught.value)  # a refused key is never quoted


def test_provider_reads_back_as_written() -> None:
    """'My-TTS' stays as written; only the lookup normalises it."""
    handler = SpeechHandler()
    name = _registered(handler, "Unit-TTS")
    response = generate_tts(_config(name.upper()), TTSRequest(text="hi"))
    assert response.provider == name.upper()
    assert handler.calls


# -- handler providers --------------------------------------------------------------------


@pytest.mark.anyio
async def test_a_registered_handler_speaks_with_metadata() -> None:
    """generate_tts_async calls the handler's TTS method with the plain key; metadata filled."""
    handler = SpeechHandler()
    name = _registered(handler)
    response = await generate_tts_async(_config(name, api_key=KEY), TTSRequest(text="hello"))
    assert base64.b64decode(response.audio) == b"spoken:hello"
    assert (response.provider, response.model, response.is_mock) == (name, "voice-v1", False)
    assert response.raw_response == {"auth": True}
    ((kind, config, _),) = handler.calls
    assert kind == "tts" and config.api_key == KEY
    meta = response.execution_metadata
    assert (meta.total_attempts, meta.successful_attempt, meta.fallback_triggered) == (1, 1, False)
    (attempt,) = meta.attempts
    assert (attempt.provider, attempt.status, attempt.request_id) == (name, "success", "t-1")
    assert attempt.elapsed_seconds is not None and attempt.elapsed_seconds >= 0


def test_a_sync_handler_converts_speech_and_its_updates_reach_the_callback() -> None:
    """generate_sts runs a sync-only handler in a thread; its update arrives, filled in."""
    handler = SpeechHandler()
    name = _registered(handler)
    seen: list[Any] = []
    response = generate_sts(
        _config(name), STSRequest(audio=b"RIFF", voice_id="alto"), on_progress=seen.append
    )
    assert isinstance(response, STSResponse)
    assert response.request_id == "s-1"
    (update,) = seen
    assert isinstance(update, STSUpdate)
    assert (update.provider, update.model, update.attempt_number) == (name, "voice-v1", 1)
    assert update.update == {"step": 1}


@pytest.mark.anyio
async def test_async_updates_are_delivered_in_order_to_an_async_callback() -> None:
    """Each awaited update reaches an async on_progress before the handler goes on."""
    handler = SpeechHandler(updates=3)
    name = _registered(handler)
    seen: list[int | None] = []

    async def on_progress(update: TTSUpdate) -> None:
        seen.append(update.progress_percent)

    await generate_tts_async(_config(name), TTSRequest(text="hi"), on_progress)
    assert seen == [0, 1, 2]


def test_a_transient_failure_falls_back_to_the_next_handler() -> None:
    """A GenerationFailedError moves on; the key is scrubbed from the recorded error."""
    failing = SpeechHandler(error=GenerationFailedError(f"voice farm down for {KEY}"))
    good = SpeechHandler()
    first, second = _registered(failing), _registered(good)
    config = _config(first, api_key=KEY, fallback_configs=[_config(second)])
    response = generate_tts(config, TTSRequest(text="hi"))
    assert good.calls and failing.calls
    meta = response.execution_metadata
    assert (meta.total_attempts, meta.successful_attempt, meta.fallback_triggered) == (2, 2, True)
    assert [a.status for a in meta.attempts] == ["failed", "success"]
    assert meta.attempts[0].error_type == "GenerationFailedError"
    assert KEY not in str(meta.attempts[0].error_message)


def test_a_validation_error_does_not_fall_back_by_default() -> None:
    """As for video: a ValidationError raises at once; the next handler is never called."""
    refusing = SpeechHandler(error=ValidationError("voice_id unknown"))
    untouched = SpeechHandler()
    config = _config(_registered(refusing), fallback_configs=[_config(_registered(untouched))])
    with pytest.raises(ValidationError, match="voice_id unknown") as caught:
        generate_tts(config, TTSRequest(text="hi"))
    assert untouched.calls == []
    assert caught.value.execution_metadata is not None
    assert caught.value.execution_metadata.total_attempts == 1


def test_a_foreign_exception_becomes_a_tarash_error_without_fallback() -> None:
    """A handler's own RuntimeError is wrapped (chained) and, maybe paid, not retried."""
    broken = SpeechHandler(error=RuntimeError(f"socket closed {KEY}"))
    untouched = SpeechHandler()
    config = _config(
        _registered(broken), api_key=KEY, fallback_configs=[_config(_registered(untouched))]
    )
    with pytest.raises(TarashException) as caught:
        generate_tts(config, TTSRequest(text="hi"))
    assert isinstance(caught.value.__cause__, RuntimeError)
    assert KEY not in str(caught.value)
    assert untouched.calls == []


def test_not_implemented_is_a_clear_validation_error() -> None:
    """A handler raising NotImplementedError: '<provider> does not support text-to-speech'."""
    name = _registered(NotYet())
    with pytest.raises(ValidationError, match=f"{name} does not support text-to-speech") as caught:
        generate_tts(_config(name), TTSRequest(text="hi"))
    assert "voices are coming" in str(caught.value)
    assert caught.value.execution_metadata is not None
    assert caught.value.execution_metadata.attempts[0].status == "skipped"


def test_a_handler_without_the_method_is_refused_and_the_opt_in_policy_falls_back() -> None:
    """No generate_sts: refused; with fallback_on='provider_specific' the next one serves."""
    text_only = _registered(TextOnly())
    with pytest.raises(ValidationError, match=f"{text_only} does not support speech-to-speech"):
        generate_sts(_config(text_only), STSRequest(audio=b"x", voice_id="v"))
    good = SpeechHandler()
    config = _config(
        text_only, fallback_on="provider_specific", fallback_configs=[_config(_registered(good))]
    )
    response = generate_sts(config, STSRequest(audio=b"x", voice_id="v"))
    assert response.request_id == "s-1"
    assert [a.status for a in response.execution_metadata.attempts] == ["skipped", "success"]


@respx.mock(assert_all_mocked=True)
@pytest.mark.parametrize("provider", ["fal", "replicate", "fake"])
def test_a_built_in_provider_is_refused_before_anything_is_sent(provider: str) -> None:
    """Built-ins have no audio: a clear ValidationError and no HTTP request at all."""
    config = _config(provider, api_key=KEY)
    with pytest.raises(ValidationError, match=f"{provider} does not support text-to-speech"):
        generate_tts(config, TTSRequest(text="hi"))
    with pytest.raises(ValidationError, match="register a handler") as caught:
        generate_sts(config, STSRequest(audio=b"x", voice_id="v"))
    assert caught.value.execution_metadata is not None
    assert caught.value.execution_metadata.attempts[0].status == "skipped"
    assert len(respx.calls) == 0


def test_an_unknown_provider_anywhere_fails_before_the_first_handler_runs() -> None:
    """A misspelt fallback provider is found before the first (paid) call is made."""
    handler = SpeechHandler()
    config = _config(_registered(handler), fallback_configs=[_config("no-such-voice-co")])
    with pytest.raises(ValidationError, match="unknown provider 'no-such-voice-co'"):
        generate_tts(config, TTSRequest(text="hi"))
    assert handler.calls == []


def test_wrong_kinds_of_config_or_request_are_refused_before_any_call() -> None:
    """A video config, a video fallback (via model_copy) or an STS request to TTS: refused."""
    handler = SpeechHandler()
    name = _registered(handler)
    with pytest.raises(ValidationError, match="AudioGenerationConfig"):
        generate_tts(VideoGenerationConfig(provider=name, model="v"), TTSRequest(text="hi"))  # type: ignore[arg-type]
    sneaky = _config(name).model_copy(
        update={"fallback_configs": [VideoGenerationConfig(provider=name, model="v")]}
    )
    with pytest.raises(ValidationError, match=r"fallback_configs\[0\]"):
        generate_tts(sneaky, TTSRequest(text="hi"))
    with pytest.raises(ValidationError, match="TTSRequest"):
        generate_tts(_config(name), STSRequest(audio=b"x", voice_id="v"))  # type: ignore[arg-type]
    assert handler.calls == []


@pytest.mark.anyio
async def test_the_deadline_stops_an_audio_handler() -> None:
    """A handler still running at config.timeout is stopped: a tarash TimeoutError."""

    class Stuck:
        async def generate_tts_async(
            self, config: Any, request: Any, on_progress: Any = None
        ) -> Any:
            await anyio.Event().wait()

    with pytest.raises(TimeoutError, match="did not finish"):
        await generate_tts_async(_config(_registered(Stuck()), timeout=0.05), TTSRequest(text="hi"))


def test_an_audio_only_handler_registers_and_the_registry_door_sees_it() -> None:
    """register_provider takes a handler with only audio methods; get_handler returns it."""
    handler = TextOnly()
    name = _registered(handler)
    assert registry.get_handler(_config(name)) is handler


def test_the_registry_door_of_a_built_in_raises_not_implemented_for_audio() -> None:
    """get_handler(fal audio config).generate_tts raises NotImplementedError, per protocol."""
    built_in = registry.get_handler(_config("fal"))
    with pytest.raises(NotImplementedError, match="fal has no text-to-speech"):
        built_in.generate_tts(_config("fal"), TTSRequest(text="hi"))  # type: ignore[attr-defined]


# -- the mock -----------------------------------------------------------------------------


def test_the_mock_speaks_a_parseable_wav_with_paced_updates() -> None:
    """mock enabled: a real WAV at the asked rate, is_mock, mock_ id, three updates."""
    handler = SpeechHandler()
    name = _registered(handler)
    config = _config(name, mock=MockConfig(enabled=True, polling=NO_WAIT))
    request = TTSRequest(
        text="a" * 30, output_format=AudioOutputFormat(format="wav", sample_rate=16000)
    )
    seen: list[TTSUpdate] = []
    response = generate_tts(config, request, on_progress=seen.append)
    assert handler.calls == []  # the mock answered in the handler's place
    rate, frames, width = _wav(response.audio_bytes())
    assert (rate, width) == (16000, 2)
    assert frames / rate == pytest.approx(2.0) == response.duration
    assert (response.content_type, response.is_mock) == ("audio/wav", True)
    assert response.request_id.startswith("mock_")
    assert [u.status for u in seen] == ["queued", "processing", "completed"]
    assert [u.progress_percent for u in seen] == [0, 50, 100]
    assert all(isinstance(u, TTSUpdate) and u.provider == name for u in seen)
    assert seen[-1].result is not None and seen[-1].result.request_id == response.request_id
    assert response.execution_metadata.attempts[0].status == "success"


@pytest.mark.anyio
async def test_the_mock_answers_speech_to_speech_as_long_as_the_input() -> None:
    """STS on the mock: a WAV lasting as long as the input WAV; an STSResponse."""
    source = io.BytesIO()
    with wave.open(source, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(8000)
        wav.writeframes(b"\0\0" * 12000)
    config = _config(_registered(SpeechHandler()), mock=MockConfig(enabled=True))
    request = STSRequest(
        audio={"content": source.getvalue(), "content_type": "audio/wav"}, voice_id="alto"
    )
    response = await generate_sts_async(config, request)
    assert isinstance(response, STSResponse)
    rate, frames, _ = _wav(response.audio_bytes())
    assert frames / rate == pytest.approx(1.5) == response.duration


def test_formats_the_mock_cannot_encode_come_back_as_wav_under_wavs_type() -> None:
    """mp3 asked: WAV bytes, content type audio/wav, raw_response says what was served."""
    config = _config(_registered(SpeechHandler()), mock=MockConfig(enabled=True))
    response = generate_tts(config, TTSRequest(text="hi"))  # the default: mp3
    _wav(response.audio_bytes())
    assert response.content_type == "audio/wav"
    assert response.raw_response["format"] == "wav"
    assert response.raw_response["format_requested"] == "mp3"


def test_pcm_is_served_as_raw_samples() -> None:
    """pcm asked: raw 16-bit mono samples (no header), audio/pcm, as many as the duration."""
    config = _config(_registered(SpeechHandler()), mock=MockConfig(enabled=True))
    request = TTSRequest(
        text="x" * 15, output_format=AudioOutputFormat(format="pcm", sample_rate=8000)
    )
    response = generate_tts(config, request)
    data = response.audio_bytes()
    assert not data.startswith(b"RIFF")
    assert response.content_type == "audio/pcm"
    assert len(data) == 2 * 8000  # 15 characters read in one second


def test_the_mock_caps_long_text() -> None:
    """A long text does not make a huge file: the tone stops at MAX_MOCK_AUDIO_SECONDS."""
    config = _config(_registered(SpeechHandler()), mock=MockConfig(enabled=True))
    response = generate_tts(config, TTSRequest(text="word " * 10_000))
    assert response.duration == MAX_MOCK_AUDIO_SECONDS


def test_a_mock_error_drives_fallback_like_a_real_one() -> None:
    """MockResponse(error=TimeoutError) on the first config: the next (mocked) one serves."""
    name = _registered(SpeechHandler())
    failing = MockConfig(enabled=True, responses=[MockResponse(error=TimeoutError("slow"))])
    config = _config(
        name, mock=failing, fallback_configs=[_config(name, mock=MockConfig(enabled=True))]
    )
    response = generate_tts(config, TTSRequest(text="hi"))
    assert response.is_mock
    meta = response.execution_metadata
    assert [(a.status, a.error_type) for a in meta.attempts] == [
        ("failed", "TimeoutError"),
        ("success", None),
    ]


def test_a_mock_failure_reports_a_failed_update_and_raises_the_configured_error() -> None:
    """The last update is 'failed' with the error's text; that error is raised."""
    mock = MockConfig(
        enabled=True,
        polling=NO_WAIT,
        responses=[MockResponse(error=GenerationFailedError("no voice"))],
    )
    seen: list[TTSUpdate] = []
    with pytest.raises(GenerationFailedError, match="no voice"):
        generate_tts(
            _config(_registered(SpeechHandler()), mock=mock),
            TTSRequest(text="hi"),
            on_progress=seen.append,
        )
    assert [u.status for u in seen] == ["queued", "processing", "failed"]
    assert seen[-1].error == "no voice"


def test_the_mock_refuses_what_the_real_run_would() -> None:
    """A mocked built-in or a handler without the method: refused as unmocked."""
    mock = MockConfig(enabled=True)
    with pytest.raises(ValidationError, match="fal does not support text-to-speech"):
        generate_tts(_config("fal", mock=mock), TTSRequest(text="hi"))
    text_only = _registered(TextOnly())
    with pytest.raises(ValidationError, match="does not support speech-to-speech"):
        generate_sts(_config(text_only, mock=mock), STSRequest(audio=b"x", voice_id="v"))
    with pytest.raises(ValidationError, match="unknown provider"):
        generate_tts(_config("no-such-voice-co", mock=mock), TTSRequest(text="hi"))


def test_output_audio_is_served_as_given() -> None:
    """MockResponse(output_audio=...) is the audio returned (bytes, base64 in the response)."""
    canned = {"content": b"ID3-not-really-mp3", "content_type": "audio/mpeg"}
    mock = MockConfig(enabled=True, responses=[MockResponse(output_audio=canned)])
    response = generate_tts(_config(_registered(SpeechHandler()), mock=mock), TTSRequest(text="hi"))
    assert response.audio_bytes() == b"ID3-not-really-mp3"
    assert response.content_type == "audio/mpeg"
    with pytest.raises(Exception, match="success or an error"):
        MockResponse(output_audio=b"x", error=GenerationFailedError("x"))


@pytest.mark.anyio
async def test_mock_updates_are_paced_by_delay_between_updates() -> None:
    """One update per status, delay_between_updates apart (none after the last)."""
    slept: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        slept.append(seconds)

    seen: list[Any] = []
    mock = MockConfig(enabled=True, polling=MockPollingConfig(delay_between_updates=7.5))
    response = await run_mock_audio(
        mock, TTSRequest(text="hi"), seen.append, provider="p", model="m", sleep=fake_sleep
    )
    assert slept == [7.5, 7.5]
    assert len(seen) == 3
    assert response.is_mock


@pytest.mark.anyio
async def test_without_polling_the_mock_reports_no_updates() -> None:
    """polling=None: the audio, and no progress update at all."""
    seen: list[Any] = []
    response = await handle_mock_request_async(
        MockConfig(enabled=True), TTSRequest(text="hi"), seen.append
    )
    assert isinstance(response, TTSResponse)
    assert seen == []


def test_a_video_mock_response_is_refused_for_audio() -> None:
    """A canned VideoGenerationResponse cannot answer a TTS request: a clear error."""
    from tarash.tarash_gateway.models import VideoGenerationResponse

    canned = VideoGenerationResponse(request_id="v", video="https://cdn.example/v.mp4")
    mock = MockConfig(enabled=True, responses=[MockResponse(mock_response=canned)])
    with pytest.raises(ValidationError, match="output_audio"):
        generate_tts(_config(_registered(SpeechHandler()), mock=mock), TTSRequest(text="hi"))


def test_handle_audio_generation_errors_wraps_a_handlers_foreign_error() -> None:
    """The published audio decorator: a RuntimeError becomes a scrubbed TarashException."""
    from tarash.tarash_gateway.exceptions import handle_audio_generation_errors

    class Wrapped:
        @handle_audio_generation_errors
        async def generate_tts_async(
            self, config: Any, request: Any, on_progress: Any = None
        ) -> TTSResponse:
            raise RuntimeError(f"bad header Bearer {config.api_key}")

        @handle_audio_generation_errors
        def generate_sts(self, config: Any, request: Any, on_progress: Any = None) -> STSResponse:
            raise ValidationError("voice_id refused")

    name = _registered(Wrapped())
    with pytest.raises(TarashException, match="Unknown error while generating audio") as caught:
        generate_tts(_config(name, api_key=KEY), TTSRequest(text="hi"))
    assert KEY not in str(caught.value)
    assert caught.value.provider == name
    assert isinstance(caught.value.__cause__, RuntimeError)
    assert KEY not in str(caught.value.__cause__)
    with pytest.raises(ValidationError, match="voice_id refused"):
        generate_sts(_config(name), STSRequest(audio=b"x", voice_id="v"))
