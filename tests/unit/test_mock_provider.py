"""The mock provider: a client behind the provider protocol, offline, keyless, real media."""

from __future__ import annotations

import base64
import json
import os
import random
import struct
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from tarash.tarash_gateway import (
    GenerationFailedError,
    ImageGenerationConfig,
    ImageGenerationRequest,
    ImageGenerationResponse,
    JobCancelledError,
    JobHandle,
    NotFoundError,
    TarashException,
    TimeoutError,
    ValidationError,
    VideoGenerationConfig,
    VideoGenerationRequest,
    VideoGenerationResponse,
    cancel,
    generate_image,
    generate_video,
    generate_video_async,
    status,
    submit_video,
    wait,
)
from tarash.tarash_gateway.engine._polling import JobState, poll_until_done
from tarash.tarash_gateway.mock import (
    MOCK_VIDEO_LIBRARY,
    MockConfig,
    MockPollingConfig,
    MockProviderHandler,
    MockResponse,
    find_best_matching_video,
    handle_mock_request_async,
    handle_mock_request_sync,
    select_mock_response,
)
from tarash.tarash_gateway.models import MockConfig as MockConfigFromModels
from tarash.tarash_gateway.providers._base import ProviderSettings
from tarash.tarash_gateway.providers.mock import MOCK_BASE_URL, MockClient

SECRET = "sk-mock-canary-5f2a9c"


@pytest.fixture
def no_http() -> Iterator[respx.MockRouter]:
    """A respx router with no routes: any HTTP request fails the test."""
    with respx.mock(assert_all_called=False) as router:
        yield router


def _video(mock: MockConfig, **kwargs: Any) -> VideoGenerationConfig:
    return VideoGenerationConfig(provider="fal", model="fal-ai/veo3", mock=mock, **kwargs)


def _request(**kwargs: Any) -> VideoGenerationRequest:
    return VideoGenerationRequest(prompt="a cat playing piano", **kwargs)


def _boxes(data: bytes) -> dict[bytes, bytes]:
    """The top-level ISO BMFF boxes of a file, by type."""
    boxes: dict[bytes, bytes] = {}
    offset = 0
    while offset < len(data):
        size, kind = struct.unpack(">I4s", data[offset : offset + 8])
        assert size >= 8, "a box of less than its header"
        boxes[kind] = data[offset + 8 : offset + size]
        offset += size
    assert offset == len(data), "the boxes do not add up to the file"
    return boxes


def _mp4_seconds(data: bytes) -> float:
    """The movie duration an MP4's mvhd box states."""
    moov = _boxes(data)[b"moov"]
    mvhd = _boxes(moov)[b"mvhd"]
    timescale, duration = struct.unpack(">II", mvhd[12:20])
    return float(duration / timescale)


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    return int(width), int(height)


def _data(uri: str | bytes) -> bytes:
    assert isinstance(uri, str) and uri.startswith("data:")
    return base64.b64decode(uri.split(",", 1)[1])


# --- media -------------------------------------------------------------------------------


def test_sample_video_is_a_real_mp4_of_the_matched_duration(
    tmp_path: Path, no_http: respx.MockRouter
) -> None:
    """The default sample is an MP4 (ftyp, moov, mdat) lasting the matched spec's seconds."""
    response = generate_video(_video(MockConfig(enabled=True)), _request(duration_seconds=8))

    assert response.aspect_ratio == "9:16" and response.duration == 8.0
    saved = response.save(tmp_path / "clip.mp4")
    data = saved.read_bytes()
    assert data == _data(response.video)
    assert set(_boxes(data)) == {b"ftyp", b"moov", b"mdat"}
    assert _mp4_seconds(data) == 8.0
    assert response.raw_response["matched_spec"]["duration"] == 8.0
    assert no_http.calls.call_count == 0


def test_library_entries_are_local_mp4_data_uris() -> None:
    """MOCK_VIDEO_LIBRARY holds the published ten specs, each a playable MP4 data: URI."""
    assert len(MOCK_VIDEO_LIBRARY) == 10
    for spec in MOCK_VIDEO_LIBRARY:
        data = _data(spec.url)
        assert data[4:8] == b"ftyp"
        assert _mp4_seconds(data) == spec.duration
    assert "url" not in repr(MOCK_VIDEO_LIBRARY[0])  # kilobytes of base64 stay out of reprs


def test_matching_scores_as_published_and_takes_our_resolutions() -> None:
    """16:9/1080p/4 s picks that spec, 16:9/4k/8 s the 4k one; 540p (ours only) works."""
    best = find_best_matching_video(_request(aspect_ratio="16:9", resolution="1080p"))
    assert (best.aspect_ratio, best.resolution, best.duration) == ("16:9", "1080p", 4.0)
    best = find_best_matching_video(
        _request(aspect_ratio="16:9", resolution="4k", duration_seconds=8)
    )
    assert (best.resolution, best.duration) == ("4k", 8.0)
    assert find_best_matching_video(_request(resolution="540p")).aspect_ratio == "9:16"
    assert find_best_matching_video(_request()).resolution == "720p"


def test_images_are_generated_pngs_of_the_requested_size(
    tmp_path: Path, no_http: respx.MockRouter
) -> None:
    """An image mock returns n PNGs of the requested size; save() writes one offline."""
    config = ImageGenerationConfig(
        provider="fal", model="fal-ai/flux/dev", mock=MockConfig(enabled=True)
    )
    response = generate_image(config, ImageGenerationRequest(prompt="a cat", size="320x200", n=2))

    assert response.is_mock is True and len(response.images) == 2
    assert _png_size(_data(response.images[1])) == (320, 200)
    assert _png_size(response.save(tmp_path / "cat.png", index=1).read_bytes()) == (320, 200)
    wide = generate_image(config, ImageGenerationRequest(prompt="a cat", aspect_ratio="16:9"))
    assert _png_size(_data(wide.images[0])) == (1024, 576)
    assert no_http.calls.call_count == 0


def test_output_image_and_canned_image_response_are_returned() -> None:
    """output_image (ours; bytes given come back as a data: URI, the published type) and an
    ImageGenerationResponse as mock_response serve image configs."""
    png = _data(generate_image(_image_config(MockConfig(enabled=True)), _image()).images[0])
    given = MockConfig(enabled=True, responses=[MockResponse(output_image=png)])
    images = generate_image(_image_config(given), _image()).images
    assert images == [f"data:image/png;base64,{base64.b64encode(png).decode()}"]
    canned = ImageGenerationResponse(request_id="c", images=["https://example.com/a.png"])
    pool = MockConfig(enabled=True, responses=[MockResponse(mock_response=canned)])
    response = generate_image(_image_config(pool), _image())
    assert response.images == ["https://example.com/a.png"] and response.request_id != "c"


def _image_config(mock: MockConfig) -> ImageGenerationConfig:
    return ImageGenerationConfig(provider="fal", model="fal-ai/flux/dev", mock=mock)


def _image() -> ImageGenerationRequest:
    return ImageGenerationRequest(prompt="a cat", size="16x16")


def test_output_video_forms_become_what_a_response_holds(tmp_path: Path) -> None:
    """A path and a MediaContent dict come back as bytes; base64 text decodes for "content"."""
    clip = _data(MOCK_VIDEO_LIBRARY[0].url)
    path = tmp_path / "mine.mp4"
    path.write_bytes(clip)
    for given, kind in (
        (path, "url"),
        ({"content": clip, "content_type": "video/mp4"}, "url"),
        (base64.b64encode(clip).decode(), "content"),
    ):
        mock = MockConfig(
            enabled=True, responses=[MockResponse(output_video=given, output_video_type=kind)]
        )
        response = generate_video(_video(mock), _request())
        assert response.video == clip, given
        assert response.content_type == "video/mp4"


def test_unreadable_output_video_is_a_validation_error(tmp_path: Path) -> None:
    """A missing file as output_video is a tarash ValidationError naming it."""
    mock = MockConfig(enabled=True, responses=[MockResponse(output_video=tmp_path / "gone.mp4")])
    with pytest.raises(ValidationError, match="output_video"):
        generate_video(_video(mock), _request())


def test_content_of_a_url_is_downloaded_through_the_shared_sender() -> None:
    """output_video_type="content" of an http URL downloads it (the mock's only request)."""
    with respx.mock(assert_all_called=True) as router:
        route = router.get("https://cdn.example/v.mp4").mock(
            return_value=httpx.Response(200, content=b"clip", headers={"content-type": "video/mp4"})
        )
        mock = MockConfig(
            enabled=True,
            responses=[
                MockResponse(output_video="https://cdn.example/v.mp4", output_video_type="content")
            ],
        )
        assert generate_video(_video(mock), _request()).video == b"clip"
    assert route.call_count == 1


# --- the pipeline ------------------------------------------------------------------------


def test_mock_metadata_counts_the_simulated_submit_and_polls() -> None:
    """Metadata: one submit, one poll per later step, no HTTP request; the attempt succeeded."""
    mock = MockConfig(enabled=True, polling=MockPollingConfig(delay_between_updates=0))
    response = generate_video(_video(mock), _request())
    attempt = response.execution_metadata.attempts[0]
    assert (attempt.status, attempt.submit_count, attempt.poll_count) == ("success", 1, 2)
    assert attempt.http_requests == 0
    assert attempt.request_id == response.request_id and response.request_id.startswith("mock_")


@pytest.mark.anyio
async def test_updates_are_paced_by_the_waiters_sleep() -> None:
    """Each snapshot asks the waiter to wait delay_between_updates; none after the last."""
    mock = MockConfig(enabled=True, polling=MockPollingConfig(delay_between_updates=7.5))
    client = MockClient(ProviderSettings(model="m"), mock=mock, provider="fal")
    job = client.prepare_video(_request())
    submitted = await client.submit(job, time_left=None)
    slept: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        slept.append(seconds)

    last = await poll_until_done(
        lambda: client.poll(submitted.handle),
        deadline=None,
        first_snapshot=submitted.snapshot,
        sleep=fake_sleep,
    )
    assert last.state is JobState.COMPLETED
    assert slept == [7.5, 7.5]


def test_polling_sequence_ends_at_its_first_terminal_status() -> None:
    """A "completed" mid-sequence ends the job; a failing response's last update is failed."""
    updates: list[Any] = []
    polling = MockPollingConfig(
        status_sequence=["queued", "completed", "processing"], delay_between_updates=0
    )
    generate_video(_video(MockConfig(enabled=True, polling=polling)), _request(), updates.append)
    assert [(u.status, u.progress_percent) for u in updates] == [("queued", 0), ("completed", 100)]

    updates.clear()
    failing = MockConfig(
        enabled=True,
        responses=[MockResponse(error=GenerationFailedError("gpu"))],
        polling=MockPollingConfig(progress_percentages=[1, 2, 3], delay_between_updates=0),
    )
    with pytest.raises(GenerationFailedError):
        generate_video(_video(failing), _request(), updates.append)
    assert [(u.status, u.progress_percent) for u in updates] == [
        ("queued", 1),
        ("processing", 2),
        ("failed", 3),
    ]


def test_disabled_polling_reports_nothing() -> None:
    """MockPollingConfig(enabled=False) reports no update, like polling=None."""
    updates: list[Any] = []
    mock = MockConfig(enabled=True, polling=MockPollingConfig(enabled=False))
    generate_video(_video(mock), _request(), on_progress=updates.append)
    assert updates == []


def test_failing_mock_falls_back_to_a_real_provider_shaped_mock() -> None:
    """A failing mock primary and a mock fallback: two attempts, the second one wins."""
    failing = MockConfig(enabled=True, responses=[MockResponse(error=GenerationFailedError("x"))])
    fallback = VideoGenerationConfig(
        provider="replicate", model="google/veo-3", mock=MockConfig(enabled=True)
    )
    response = generate_video(_video(failing, fallback_configs=[fallback]), _request())
    meta = response.execution_metadata
    assert [a.status for a in meta.attempts] == ["failed", "success"]
    assert (response.provider, response.model) == ("replicate", "google/veo-3")


def test_a_foreign_error_is_wrapped_and_does_not_fall_back() -> None:
    """MockResponse(error=ValueError) raises a TarashException chained to it; no fallback."""
    original = ValueError("boom")
    mock = MockConfig(enabled=True, responses=[MockResponse(error=original)])
    fallback = VideoGenerationConfig(
        provider="replicate", model="google/veo-3", mock=MockConfig(enabled=True)
    )
    with pytest.raises(TarashException) as info:
        generate_video(_video(mock, fallback_configs=[fallback]), _request())
    assert info.value.__cause__ is original
    assert info.value.message == "boom"
    assert info.value.execution_metadata is not None
    assert info.value.execution_metadata.total_attempts == 1


def test_one_configured_error_fails_many_requests_independently() -> None:
    """Each failure raises a fresh copy: the configured error is left as the user made it."""
    configured = GenerationFailedError("unlucky")
    mock = MockConfig(enabled=True, responses=[MockResponse(error=configured)])
    raised = []
    for _ in range(2):
        with pytest.raises(GenerationFailedError) as info:
            generate_video(_video(mock), _request())
        raised.append(info.value)
    assert raised[0] is not raised[1]
    assert raised[0].job_handle is not None and raised[1].job_handle is not None
    assert raised[0].job_handle.request_id != raised[1].job_handle.request_id
    assert (configured.job_handle, configured.execution_metadata) == (None, None)
    assert configured.__traceback__ is None


def test_a_configured_key_never_shows_in_a_mock_error() -> None:
    """A key on a mock config is never sent and is scrubbed from what the mock raises."""
    mock = MockConfig(
        enabled=True, responses=[MockResponse(error=GenerationFailedError(f"bad {SECRET}"))]
    )
    with pytest.raises(GenerationFailedError) as info:
        generate_video(_video(mock, api_key=SECRET), _request())
    meta = info.value.execution_metadata
    assert meta is not None
    assert SECRET not in str(info.value) and SECRET not in repr(info.value)
    assert SECRET not in repr(meta)
    assert "bad" in (meta.attempts[0].error_message or "")


def test_unknown_provider_fails_under_mock_too() -> None:
    """A provider name no client serves is refused before any mock job is made."""
    config = VideoGenerationConfig(provider="nope", model="m", mock=MockConfig(enabled=True))
    with pytest.raises(ValidationError, match="unknown provider"):
        generate_video(config, _request())


def test_real_providers_config_checks_apply_under_mock() -> None:
    """A provider_config option the real provider refuses is refused in a mock run as well."""
    config = _video(MockConfig(enabled=True), provider_config={"no_such_option": 1})
    with pytest.raises(ValidationError, match="provider_config"):
        generate_video(config, _request())


def test_canned_response_of_the_other_kind_is_refused_unsubmitted() -> None:
    """An ImageGenerationResponse as a video config's mock_response: ValidationError, skipped."""
    canned = ImageGenerationResponse(request_id="c", images=["https://example.com/a.png"])
    mock = MockConfig(enabled=True, responses=[MockResponse(mock_response=canned)])
    with pytest.raises(ValidationError, match="mock_response") as info:
        generate_video(_video(mock), _request())
    assert info.value.execution_metadata is not None
    assert info.value.execution_metadata.attempts[0].status == "skipped"


# --- handles -----------------------------------------------------------------------------


def test_submit_and_wait_on_a_mock_handle(no_http: respx.MockRouter) -> None:
    """submit_video gives a mock handle (JSON round trip included) that wait() completes."""
    mock = MockConfig(enabled=True, polling=MockPollingConfig(delay_between_updates=0))
    handle = submit_video(_video(mock), _request())
    assert (handle.provider, handle.base_url) == ("fal", MOCK_BASE_URL)

    again = JobHandle.model_validate_json(handle.model_dump_json())
    assert status(again).status == "processing"
    updates: list[Any] = []
    response = wait(again, on_progress=updates.append)
    assert isinstance(response, VideoGenerationResponse) and response.is_mock is True
    assert response.request_id == handle.request_id
    assert [update.status for update in updates] == ["completed"]
    assert no_http.calls.call_count == 0


def test_cancelled_mock_job_reports_cancelled() -> None:
    """cancel() stops a running mock job (True), after which wait raises JobCancelledError."""
    mock = MockConfig(enabled=True, polling=MockPollingConfig(delay_between_updates=0))
    handle = submit_video(_video(mock), _request())
    assert cancel(handle) is True
    with pytest.raises(JobCancelledError):
        wait(handle)
    assert cancel(handle) is False


def test_giving_up_on_a_mock_job_cancels_it() -> None:
    """max_poll_attempts exhausted: TimeoutError, and the mock job was cancelled remotely."""
    mock = MockConfig(
        enabled=True,
        polling=MockPollingConfig(
            status_sequence=["queued", "processing", "processing", "completed"],
            delay_between_updates=0,
        ),
    )
    with pytest.raises(TimeoutError) as info:
        generate_video(_video(mock, max_poll_attempts=1), _request())
    handle = info.value.job_handle
    assert handle is not None
    with pytest.raises(JobCancelledError):
        wait(handle)


def test_a_mock_handle_from_elsewhere_is_not_found(no_http: respx.MockRouter) -> None:
    """A mock handle this process never submitted: NotFoundError, and nothing is sent."""
    handle = submit_video(_video(MockConfig(enabled=True)), _request())
    forged = handle.model_copy(update={"request_id": "mock_unknown"})
    with pytest.raises(NotFoundError, match="mock job"):
        wait(forged)
    assert no_http.calls.call_count == 0


# --- the published helpers and models ----------------------------------------------------


def test_handle_mock_request_and_the_handler_serve_videos_and_images() -> None:
    """handle_mock_request_sync/async and MockProviderHandler (with images) return mocks."""
    mock = MockConfig(enabled=True)
    assert handle_mock_request_sync(mock, _request()).is_mock is True
    handler = MockProviderHandler()
    image = handler.generate_image(_image_config(mock), _image())
    assert image.is_mock is True and len(image.images) == 1
    with pytest.raises(ValidationError, match="MockConfig"):
        handler.generate_video(VideoGenerationConfig(provider="fal", model="m"), _request())


@pytest.mark.anyio
async def test_handle_mock_request_async_reports_progress() -> None:
    """handle_mock_request_async runs the polling sequence through an async callback."""
    seen: list[str] = []

    async def record(update: Any) -> None:
        seen.append(update.status)

    mock = MockConfig(enabled=True, polling=MockPollingConfig(delay_between_updates=0))
    response = await handle_mock_request_async(mock, _request(), record)
    assert response.is_mock is True and seen == ["queued", "processing", "completed"]
    assert (await generate_video_async(_video(mock), _request())).is_mock is True


def test_weights_are_honoured_and_seedable() -> None:
    """select_mock_response picks by weight through random: 3:1 weights, seeded, ~75 %."""
    heavy, light = MockResponse(weight=3), MockResponse(weight=1, output_video="data:,x")
    random.seed(7)
    picks = [select_mock_response([heavy, light]) for _ in range(400)]
    assert 0.65 < picks.count(heavy) / 400 < 0.85
    random.seed(7)
    assert [select_mock_response([heavy, light]) for _ in range(400)] == picks
    with pytest.raises(ValidationError):
        select_mock_response([])


def test_model_checks_and_serialisation() -> None:
    """Bad weights/lengths/delays are refused; a config with an error dumps to JSON."""
    import pydantic

    for bad in (
        {"weight": float("nan")},
        {"mock_response": VideoGenerationResponse(request_id="r", video="v"), "output_video": "v"},
        {"output_video": {"content": "not bytes"}},
    ):
        with pytest.raises(pydantic.ValidationError):
            MockResponse(**bad)
    for bad_polling in ({"delay_between_updates": -1}, {"progress_percentages": [0, 50, 101]}):
        with pytest.raises(pydantic.ValidationError):
            MockPollingConfig(**bad_polling)
    mock = MockConfig(enabled=True, responses=[MockResponse(error=GenerationFailedError("x"))])
    assert json.loads(mock.model_dump_json())["responses"][0]["error"] == "GenerationFailedError: x"
    raw: dict[str, Any] = {"enabled": True}
    assert MockConfig.model_validate(raw).responses == [MockResponse()]
    assert raw == {"enabled": True}  # the caller's dict is not filled in
    assert MockConfig(enabled=False).responses is None
    assert MockConfigFromModels is MockConfig
    assert _video(MockConfig(enabled=True)).mock == MockConfig(enabled=True)


def test_mock_runs_on_the_bare_install(tmp_path: Path) -> None:
    """With the emulator and its extras unimportable and HOME empty, a mock run works and
    creates nothing at import (the published mock made ~/.tarash/mock_cache)."""
    script = (
        "import sys\n"
        "for name in ('tarash.emulator', 'starlette', 'uvicorn'):\n"
        "    sys.modules[name] = None  # any import of them now fails\n"
        "from tarash.tarash_gateway import generate_image, generate_video\n"
        "from tarash.tarash_gateway.mock import MockConfig\n"
        "from tarash.tarash_gateway.models import (ImageGenerationConfig,\n"
        "    ImageGenerationRequest, VideoGenerationConfig, VideoGenerationRequest)\n"
        "mock = MockConfig(enabled=True)\n"
        "video = generate_video(VideoGenerationConfig(provider='fal', model='fal-ai/veo3',"
        " mock=mock), VideoGenerationRequest(prompt='a cat'))\n"
        f"video.save({str(tmp_path / 'bare.mp4')!r})\n"
        "image = generate_image(ImageGenerationConfig(provider='fal', model='fal-ai/flux/dev',"
        " mock=mock), ImageGenerationRequest(prompt='a cat'))\n"
        f"image.save({str(tmp_path / 'bare.png')!r})\n"
    )
    home = tmp_path / "home"
    home.mkdir()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.endswith(("_KEY", "_TOKEN", "_SECRET"))
    }
    env["HOME"] = str(home)
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=60
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert (tmp_path / "bare.mp4").read_bytes()[4:8] == b"ftyp"
    assert (tmp_path / "bare.png").read_bytes()[:4] == b"\x89PNG"
    assert list(home.iterdir()) == []


# --- updates every provider emits (published fields) ---------------------------------------


def test_a_real_providers_updates_carry_result_and_error_text() -> None:
    """The final completed update holds the response; a failed one the error's message,
    without the key a provider echoed."""
    from tests.unit.fake_provider import BASE, FAKE_KEY

    config = VideoGenerationConfig(
        provider="fake", model="t2v", api_key=FAKE_KEY, base_url=BASE, poll_interval=0.001
    )
    updates: list[Any] = []
    with respx.mock(assert_all_called=True) as router:
        router.post(f"{BASE}/jobs").respond(200, json={"id": "j1", "status": "queued"})
        router.get(f"{BASE}/jobs/j1").mock(
            side_effect=[
                httpx.Response(200, json={"status": "running", "progress": 50}),
                httpx.Response(200, json={"status": "done", "url": "https://cdn.test/v.mp4"}),
            ]
        )
        response = generate_video(config, _request(), on_progress=updates.append)
    assert [update.status for update in updates] == ["processing", "completed"]
    assert updates[-1].result is response and updates[0].result is None

    updates.clear()
    with respx.mock(assert_all_called=True) as router:
        router.post(f"{BASE}/jobs").respond(200, json={"id": "j2", "status": "queued"})
        router.get(f"{BASE}/jobs/j2").respond(
            200, json={"status": "failed", "error": f"gpu fell over for {FAKE_KEY}"}
        )
        with pytest.raises(GenerationFailedError):
            generate_video(config, _request(), on_progress=updates.append)
    assert [update.status for update in updates] == ["failed"]
    assert "gpu fell over" in updates[0].error and FAKE_KEY not in updates[0].error
