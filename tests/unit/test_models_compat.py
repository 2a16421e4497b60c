"""The published models surface on ours (issue 7): plain-str keys kept secret, published
defaults, provider options as keywords, MediaContent inputs, failed statuses, bare updates,
and execution metadata as dataclasses whose durations come from their timestamps."""

from __future__ import annotations

import copy
import dataclasses
import json
import pickle
import warnings
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pydantic
import pytest
import respx
from pydantic import HttpUrl, SecretStr

from tarash.tarash_gateway import generate_video_async
from tarash.tarash_gateway.engine._polling import JobSnapshot, JobState
from tarash.tarash_gateway.errors import ValidationError
from tarash.tarash_gateway.media import load_local_media, media_reference
from tarash.tarash_gateway.models import (
    AttemptMetadata,
    ExecutionMetadata,
    ExtraParamsWarning,
    ImageGenerationConfig,
    ImageGenerationRequest,
    ImageGenerationResponse,
    ImageGenerationUpdate,
    KlingCameraControl,
    MediaContent,
    ProviderHandler,
    VideoGenerationConfig,
    VideoGenerationRequest,
    VideoGenerationResponse,
    VideoGenerationUpdate,
)
from tarash.tarash_gateway.providers._base import ModelCapabilities, ProviderSettings
from tarash.tarash_gateway.providers._spec import ModelSpec, map_request_inputs
from tarash.tarash_gateway.providers.fal import FalClient
from tarash.tarash_gateway.routing._chain import poll_schedule_for
from tarash.tarash_gateway.routing._metadata import MetadataCollector
from tests.unit.fake_provider import BASE, FAKE_KEY

SECRET = "sk-models-compat-canary-0042"
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d4944415478da63f8cfc0f01f0005000201a3a5e3f50000000049454e44ae426082"
)


def _config(**fields: Any) -> VideoGenerationConfig:
    return VideoGenerationConfig(provider="fal", model="fal-ai/veo3", **fields)


# -- keys ---------------------------------------------------------------------------------


def test_api_key_is_the_plain_string_given_with_a_masked_repr() -> None:
    """config.api_key equals the str given, formats as it, and masks only its own repr."""
    key = _config(api_key=SECRET).api_key
    assert isinstance(key, str)
    assert key == SECRET
    assert f"Bearer {key}" == f"Bearer {SECRET}"
    assert str(key) == SECRET
    assert SECRET not in repr(key)
    assert SECRET not in f"{key!r}"


def test_dumps_mask_the_key_even_when_it_skipped_validation() -> None:
    """Dumps write the mask; a key put in by model_copy(update=...) is masked in reprs too."""
    config = _config(api_key=SECRET)
    assert config.model_dump()["api_key"] == "**********"
    assert json.loads(config.model_dump_json())["api_key"] == "**********"
    assert _config().model_dump()["api_key"] is None
    sneaked = _config().model_copy(update={"api_key": SECRET})
    for text in (repr(sneaked), str(sneaked), sneaked.model_dump_json(), str(sneaked.model_dump())):
        assert SECRET not in text


def test_a_dumped_config_fed_back_has_no_key_like_a_pickled_one() -> None:
    """The mask a dump writes is never taken for a key: the config loads keyless (the
    environment's key is read), fallbacks included."""
    fallback = VideoGenerationConfig(provider="replicate", model="google/veo-3", api_key=SECRET)
    dumped = _config(api_key=SECRET, fallback_configs=[fallback]).model_dump()
    loaded = VideoGenerationConfig.model_validate(dumped)
    assert loaded.api_key is None
    assert loaded.fallback_configs is not None and loaded.fallback_configs[0].api_key is None
    assert _config(api_key=" ********** ").api_key is None


def test_a_pickled_chain_holds_no_key_and_unpickles_keyless() -> None:
    """Neither the config's key nor a fallback's is written to a pickle."""
    fallback = VideoGenerationConfig(provider="replicate", model="google/veo-3", api_key=SECRET)
    config = _config(api_key=SECRET, fallback_configs=[fallback])
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        data = pickle.dumps(config, protocol=protocol)
        assert SECRET.encode() not in data
        loaded = pickle.loads(data)
        assert loaded.api_key is None
        assert loaded.fallback_configs[0].api_key is None
        assert loaded.model == "fal-ai/veo3"
    assert config.api_key == SECRET  # the original keeps its key


@pytest.mark.anyio
async def test_an_unpickled_config_runs_on_the_environments_key(
    respx_mock: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A config that crossed a pickle authenticates with the key in the environment."""
    monkeypatch.setenv("FAKE_PROVIDER_KEY", "env-key-after-pickle")
    submit = respx_mock.post(f"{BASE}/jobs").respond(200, json={"id": "j1", "status": "queued"})
    respx_mock.get(f"{BASE}/jobs/j1").respond(200, json={"status": "done", "url": "https://x/v"})
    config = VideoGenerationConfig(
        provider="fake", model="t2v", api_key=FAKE_KEY, base_url=BASE, poll_interval=0.001
    )
    await generate_video_async(
        pickle.loads(pickle.dumps(config)), VideoGenerationRequest(prompt="a")
    )
    assert submit.calls.last.request.headers["authorization"] == "Bearer env-key-after-pickle"


def test_copies_keep_the_key_and_mask_it() -> None:
    """copy.copy, copy.deepcopy and model_copy keep the key, and their reprs mask it."""
    config = _config(api_key=SECRET)
    for duplicate in (copy.copy(config), copy.deepcopy(config), config.model_copy()):
        assert duplicate.api_key == SECRET
        assert SECRET not in repr(duplicate)


def test_a_secret_str_key_is_still_accepted() -> None:
    """Code written for the earlier SecretStr field keeps working; the key is cleaned."""
    assert _config(api_key=SecretStr(f" {SECRET}\n")).api_key == SECRET


# -- published defaults -------------------------------------------------------------------


def test_configs_have_the_published_poll_defaults() -> None:
    """Video: 600 s, 120 polls, 5 s; image: 120 s, 60 polls, 2 s (None still means no cap)."""
    video = _config()
    image = ImageGenerationConfig(provider="fal", model="fal-ai/flux/dev")
    assert (video.timeout, video.max_poll_attempts, video.poll_interval) == (600, 120, 5)
    assert (image.timeout, image.max_poll_attempts, image.poll_interval) == (120, 60, 2)
    assert _config(max_poll_attempts=None).max_poll_attempts is None


@pytest.mark.parametrize(
    ("config", "covered"),
    [
        (_config(), 7 * 60),
        (ImageGenerationConfig(provider="fal", model="fal-ai/flux/dev"), 80),
    ],
)
def test_the_default_poll_caps_outlast_normal_jobs(
    config: VideoGenerationConfig | ImageGenerationConfig, covered: float
) -> None:
    """The default max_poll_attempts, polled on the adaptive schedule with the shortest
    jitter, spans over 7 minutes of a running video job (over 80 s for an image)."""
    schedule = poll_schedule_for(config.poll_interval)
    running = JobSnapshot(JobState.PROCESSING)
    assert config.max_poll_attempts is not None
    waited = sum(
        schedule.delay(n, running, random_unit=lambda: 0.0)
        for n in range(config.max_poll_attempts - 1)
    )
    assert waited > covered


# -- requests -----------------------------------------------------------------------------


def test_unknown_keywords_go_to_extra_params_with_a_warning_at_the_callers_line() -> None:
    """Provider options as keywords are sent in extra_params, one warning naming them all."""
    with pytest.warns(ExtraParamsWarning, match="'auto_fix', 'loop'") as caught:
        request = VideoGenerationRequest(prompt="a cat", auto_fix=True, loop=False)
    assert request.extra_params == {"auto_fix": True, "loop": False}
    assert issubclass(ExtraParamsWarning, UserWarning)
    assert [Path(record.filename).name for record in caught] == [Path(__file__).name]


def test_capture_leaves_the_callers_dict_alone_and_lets_keywords_win() -> None:
    """model_validate does not change the dict given; a keyword beats extra_params' entry."""
    data = {"prompt": "a cat", "mode": "pro", "extra_params": {"mode": "std", "cfg_scale": 1}}
    before = copy.deepcopy(data)
    with pytest.warns(ExtraParamsWarning, match="mode"):
        request = VideoGenerationRequest.model_validate(data)
    assert request.extra_params == {"mode": "pro", "cfg_scale": 1}
    assert data == before


@pytest.mark.parametrize("option", ["duration", "num_videos", "image_url", "mask_url", "steps"])
def test_provider_options_resembling_a_field_are_captured_not_refused(option: str) -> None:
    """Real provider option names that merely resemble a field are not taken for typos."""
    with pytest.warns(ExtraParamsWarning, match=option):
        request = ImageGenerationRequest(prompt="a cat", **{option: 1})
    assert request.extra_params == {option: 1}


@pytest.mark.parametrize(
    ("typo", "meant"), [("seeds", "seed"), ("negative_promt", "negative_prompt")]
)
def test_a_typo_of_a_field_is_an_error_and_warns_nothing(typo: str, meant: str) -> None:
    """A keyword one typo from a field is a ValidationError naming it; nothing is captured."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValidationError, match=f"did you mean '{meant}'"):
            VideoGenerationRequest(prompt="a cat", **{typo: 1})


def test_keywords_beside_a_non_dict_extra_params_leave_pydantic_to_refuse_it() -> None:
    """extra_params that is not a dict is still pydantic's type error, keywords or not."""
    with pytest.warns(ExtraParamsWarning), pytest.raises(pydantic.ValidationError):
        VideoGenerationRequest(prompt="a cat", extra_params=["x"], auto_fix=True)


def test_size_auto_and_n_none_are_accepted() -> None:
    """size="auto" is kept (other sizes still WIDTHxHEIGHT); n defaults to None, bounds hold."""
    assert ImageGenerationRequest(prompt="a", size="AUTO").size == "auto"
    assert ImageGenerationRequest(prompt="a").n is None
    with pytest.raises(ValidationError, match="1024x1024"):
        ImageGenerationRequest(prompt="a", size="big")
    with pytest.raises(pydantic.ValidationError):
        ImageGenerationRequest(prompt="a", n=0)


def test_n_none_asks_the_model_for_one_image() -> None:
    """n=None maps like n=1: no count field is sent; n=3 sends 3."""
    spec = ModelSpec(
        capabilities=ModelCapabilities(kind="image"),
        inputs={"prompt": "prompt", "count": "num_images"},
    )
    assert "num_images" not in map_request_inputs(spec, ImageGenerationRequest(prompt="a"))
    three = map_request_inputs(spec, ImageGenerationRequest(prompt="a", n=3))
    assert three["num_images"] == 3


# -- media inputs -------------------------------------------------------------------------


@pytest.mark.anyio
async def test_media_content_inputs_become_data_uris_before_mapping() -> None:
    """MediaContent in image_list, video and mask_image is loaded as a data: URI of its type."""
    media: MediaContent = {"content": PNG, "content_type": "image/png"}
    clip: MediaContent = {"content": b"\x00\x00\x00\x18ftypmp42", "content_type": "video/mp4"}
    video = await load_local_media(
        VideoGenerationRequest(
            prompt="a", image_list=[{"image": media, "type": "first_frame"}], video=clip
        )
    )
    image = await load_local_media(ImageGenerationRequest(prompt="a", mask_image=media))
    assert video.image_list[0]["image"] == media_reference(PNG)
    assert isinstance(video.video, str) and video.video.startswith("data:video/mp4;base64,")
    assert image.mask_image == media_reference(PNG)
    assert media_reference(media) == media_reference(PNG)


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("media", "message"),
    [
        ({"content": b"", "content_type": "image/png"}, "empty"),
        ({"content": PNG, "content_type": "image/png;base64,AAAA"}, "MIME type"),
        ({"content": PNG, "content_type": "png"}, "MIME type"),
    ],
)
async def test_bad_media_content_is_refused_naming_the_field(
    media: MediaContent, message: str
) -> None:
    """Empty content or a content type that would corrupt the data: URI is refused locally."""
    request = VideoGenerationRequest(prompt="a", image_list=[{"image": media, "type": "reference"}])
    with pytest.raises(ValidationError, match=rf"image_list\[0\] \(reference\).*{message}"):
        await load_local_media(request)
    with pytest.raises(ValidationError, match=message):
        media_reference(media)


def test_http_url_objects_are_kept_as_text() -> None:
    """A pydantic HttpUrl input is stored as its text, the one URL form past validation."""
    request = VideoGenerationRequest(
        prompt="a", video=HttpUrl("https://example.com/clip.mp4"), image_list=[]
    )
    assert request.video == "https://example.com/clip.mp4"


# -- responses and updates ----------------------------------------------------------------


@pytest.mark.anyio
async def test_a_media_content_video_is_saved_as_its_bytes(tmp_path: Path) -> None:
    """save() writes a MediaContent video's bytes, no network involved."""
    clip = b"\x00\x00\x00\x18ftypmp42rest"
    response = VideoGenerationResponse(
        request_id="r", video={"content": clip, "content_type": "video/mp4"}, status="completed"
    )
    target = await response.save_async(tmp_path / "v.mp4")
    assert target.read_bytes() == clip


def test_failed_status_png_default_and_bare_updates() -> None:
    """status="failed" is valid; image content_type defaults to image/png; updates need no
    provider/model and bound progress to 0..100."""
    image = ImageGenerationResponse(request_id="r", images=[], status="failed")
    assert (image.status, image.content_type) == ("failed", "image/png")
    for update_class in (VideoGenerationUpdate, ImageGenerationUpdate):
        bare = update_class(request_id="r", status="failed", error="boom")
        assert (bare.provider, bare.model, bare.result, bare.error) == (None, None, None, "boom")
        with pytest.raises(pydantic.ValidationError):
            update_class(request_id="r", status="processing", progress_percent=-1)


# -- metadata -----------------------------------------------------------------------------

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _attempt(number: int, start: float, end: float | None) -> AttemptMetadata:
    return AttemptMetadata(
        "fal",
        "fal-ai/veo3",
        number,
        T0 + timedelta(seconds=start),
        None if end is None else T0 + timedelta(seconds=end),
        "failed",
        "GenerationFailedError",
        "busy",
        True,
        "job-1",
    )


def test_metadata_are_dataclasses_built_positionally_in_the_published_order() -> None:
    """The ten and five published fields come first, in order; ours follow with defaults."""
    attempt = _attempt(1, 0, 2)
    assert [field.name for field in dataclasses.fields(attempt)][:10] == [
        "provider",
        "model",
        "attempt_number",
        "started_at",
        "ended_at",
        "status",
        "error_type",
        "error_message",
        "is_retryable",
        "request_id",
    ]
    meta = ExecutionMetadata(1, None, [attempt], False, 1)
    assert (meta.total_attempts, meta.configs_in_chain, attempt.poll_count) == (1, 1, 0)
    assert dataclasses.asdict(meta)["attempts"][0]["request_id"] == "job-1"
    assert dataclasses.replace(attempt, status="success").status == "success"
    with pytest.raises(pydantic.ValidationError):
        dataclasses.replace(attempt, status="exploded")


def test_durations_are_computed_from_the_timestamps_and_dumped() -> None:
    """elapsed_seconds and total_elapsed_seconds follow the timestamps and appear in JSON."""
    meta = ExecutionMetadata(2, None, [_attempt(1, 0, 2), _attempt(2, 3, 7.5)], True, 2)
    assert meta.attempts[1].elapsed_seconds == 4.5
    assert meta.total_elapsed_seconds == 7.5
    assert _attempt(1, 0, None).elapsed_seconds is None
    assert ExecutionMetadata().total_elapsed_seconds == 0.0
    dumped = json.loads(meta.model_dump_json())
    assert dumped["total_elapsed_seconds"] == 7.5
    assert dumped["attempts"][0]["elapsed_seconds"] == 2.0
    response = VideoGenerationResponse(request_id="r", video="https://x/v", execution_metadata=meta)
    assert VideoGenerationResponse.model_validate_json(response.model_dump_json()) == response


def test_the_collector_stamps_aware_utc_times_on_one_monotonic_timeline() -> None:
    """Attempts start and end in order on aware UTC times; durations are never negative."""
    collector = MetadataCollector(configs_in_chain=2)
    first = collector.new_attempt("fal", "a").finish("failed", None)
    second = collector.new_attempt("fal", "b").finish("success", None)
    meta = collector.build(successful_attempt=2)
    assert first.ended_at is not None and second.ended_at is not None
    assert first.started_at.tzinfo is UTC
    assert first.started_at <= first.ended_at <= second.started_at <= second.ended_at
    assert meta.started_at is not None and meta.ended_at is not None
    assert meta.started_at <= first.started_at and second.ended_at <= meta.ended_at
    assert meta.total_elapsed_seconds == (second.ended_at - first.started_at).total_seconds()


# -- published types ----------------------------------------------------------------------


def test_provider_handler_is_a_runtime_checkable_protocol() -> None:
    """An object with the four generate methods is a ProviderHandler; one lacking them is not."""

    class Handler:
        async def generate_video_async(
            self, config: Any, request: Any, on_progress: Any = None
        ) -> Any: ...
        def generate_video(self, config: Any, request: Any, on_progress: Any = None) -> Any: ...
        async def generate_image_async(
            self, config: Any, request: Any, on_progress: Any = None
        ) -> Any: ...
        def generate_image(self, config: Any, request: Any, on_progress: Any = None) -> Any: ...

    assert isinstance(Handler(), ProviderHandler)
    assert not isinstance(object(), ProviderHandler)


def test_kling_camera_control_refuses_unknown_types() -> None:
    """KlingCameraControl takes the five published move types only."""
    assert KlingCameraControl(type="down_back").config is None
    with pytest.raises(pydantic.ValidationError):
        KlingCameraControl(type="spin")  # type: ignore[arg-type]


def test_size_auto_on_a_fal_image_model_leaves_image_size_out() -> None:
    """fal's image_size has no 'auto': the field is left out (the model's default) and the
    adaptation recorded, instead of failing on a size that is not WIDTHxHEIGHT."""
    client = FalClient(ProviderSettings(model="fal-ai/flux/dev"))
    job = client.prepare_image(ImageGenerationRequest(prompt="a", size="auto"))
    assert "image_size" not in job.payload
    assert any("'auto' not sent" in note for note in job.adaptations)
    sized = client.prepare_image(ImageGenerationRequest(prompt="a", size="512x256"))
    assert sized.payload["image_size"] == {"width": 512, "height": 256}


@pytest.mark.anyio
async def test_a_secret_str_key_put_in_by_model_copy_still_authenticates(
    respx_mock: respx.MockRouter,
) -> None:
    """model_copy(update={"api_key": SecretStr(...)}) skips validation; the key still works."""
    submit = respx_mock.post(f"{BASE}/jobs").respond(200, json={"id": "j1", "status": "queued"})
    respx_mock.get(f"{BASE}/jobs/j1").respond(200, json={"status": "done", "url": "https://x/v"})
    config = VideoGenerationConfig(
        provider="fake", model="t2v", base_url=BASE, poll_interval=0.001
    ).model_copy(update={"api_key": SecretStr(FAKE_KEY)})
    await generate_video_async(config, VideoGenerationRequest(prompt="a"))
    assert submit.calls.last.request.headers["authorization"] == f"Bearer {FAKE_KEY}"
