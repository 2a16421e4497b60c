"""fal model registry: each registered model's wire mapping, the generic spec, adaptation."""

from __future__ import annotations

import typing

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tarash.tarash_gateway.errors import ValidationError
from tarash.tarash_gateway.models import (
    AspectRatio,
    ImageGenerationRequest,
    Resolution,
    VideoGenerationRequest,
)
from tarash.tarash_gateway.providers._adapt import adapt_image_request, adapt_video_request
from tarash.tarash_gateway.providers._base import PreparedJob, ProviderSettings
from tarash.tarash_gateway.providers.fal import FalClient, queue_app_path
from tarash.tarash_gateway.providers.fal_models import FAL_MODELS, IMAGE_SIZE_PRESETS

ALLOWED_DURATIONS = {
    "fal-ai/veo3": {"4s", "6s", "8s"},
    "fal-ai/veo3/fast": {"4s", "6s", "8s"},
    "fal-ai/veo3/image-to-video": {"4s", "6s", "8s"},
    "fal-ai/kling-video/v2.1/standard/image-to-video": {"5", "10"},
    "fal-ai/kling-video/v2.1/pro/image-to-video": {"5", "10"},
}
# The models this file pins; every other registry entry is pinned in
# test_registry_coverage.py, which also checks that no entry goes untested.
VIDEO_MODELS = sorted(ALLOWED_DURATIONS)
IMAGE_URL = "https://example.test/cat.png"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16


def client_for(model: str) -> FalClient:
    return FalClient(ProviderSettings(model=model, api_key=None))


def prepare_video(model: str, request: VideoGenerationRequest) -> PreparedJob:
    """Adapt then map, as the chain does (without loading local files)."""
    client = client_for(model)
    adapted, notes = adapt_video_request(
        request, client.capabilities("video"), strict=False, provider="fal", model=model
    )
    job = client.prepare_video(adapted)
    job.adaptations[:0] = notes
    return job


def prepare_image(model: str, request: ImageGenerationRequest) -> PreparedJob:
    client = client_for(model)
    adapted, notes = adapt_image_request(
        request, client.capabilities("image"), strict=False, provider="fal", model=model
    )
    job = client.prepare_image(adapted)
    job.adaptations[:0] = notes
    return job


def video_request(model: str, **fields: typing.Any) -> VideoGenerationRequest:
    if FAL_MODELS[model].capabilities.requires_image:
        fields.setdefault("image_list", [{"image": IMAGE_URL, "type": "first_frame"}])
    return VideoGenerationRequest(prompt="a cat", **fields)


def test_every_video_model_has_its_allowed_durations_listed() -> None:
    """Each model in the test table is registered as a video model with those durations."""
    for model, durations in ALLOWED_DURATIONS.items():
        capabilities = FAL_MODELS[model].capabilities
        assert capabilities.kind == "video"
        assert capabilities.durations is not None
        assert {str(d) for d in capabilities.durations} == {d.removesuffix("s") for d in durations}


@pytest.mark.parametrize(
    ("model_id", "app"),
    [
        ("fal-ai/veo3", "fal-ai/veo3"),
        ("fal-ai/veo3/fast", "fal-ai/veo3"),
        ("fal-ai/flux/dev", "fal-ai/flux"),
        ("fal-ai/kling-video/v2.1/standard/image-to-video", "fal-ai/kling-video"),
        ("/fal-ai/flux/dev/", "fal-ai/flux"),
        ("workflows/me/my-flow/run", "workflows/me/my-flow"),
        ("comfy/me/graph", "comfy/me/graph"),
        ("solo-app", "solo-app"),
    ],
)
def test_queue_app_path_keeps_owner_and_alias(model_id: str, app: str) -> None:
    """Status/result/cancel URLs use owner/alias only; workflows/comfy keep their namespace."""
    assert queue_app_path(model_id) == app


@given(duration=st.integers(min_value=1, max_value=20), model=st.sampled_from(VIDEO_MODELS))
def test_any_duration_maps_to_an_allowed_string(duration: int, model: str) -> None:
    """Every duration 1..20 s becomes one of the model's duration strings, noted if changed."""
    job = prepare_video(model, video_request(model, duration_seconds=duration))
    assert job.payload["duration"] in ALLOWED_DURATIONS[model]
    sent = int(job.payload["duration"].removesuffix("s"))
    if sent != duration:
        assert any(note.startswith("duration_seconds:") for note in job.adaptations)
    else:
        assert not any(note.startswith("duration_seconds:") for note in job.adaptations)


@given(
    ratio=st.sampled_from(typing.get_args(AspectRatio)),
    resolution=st.sampled_from(typing.get_args(Resolution)),
    model=st.sampled_from(["fal-ai/veo3", "fal-ai/veo3/fast", "fal-ai/veo3/image-to-video"]),
)
def test_veo3_ratio_and_resolution_always_valid(ratio: str, resolution: str, model: str) -> None:
    """Any aspect ratio and resolution is sent as a value veo3 accepts, with a note if changed."""
    job = prepare_video(
        model,
        video_request(model, aspect_ratio=ratio, resolution=resolution),
    )
    capabilities = FAL_MODELS[model].capabilities
    assert capabilities.aspect_ratios is not None and capabilities.resolutions is not None
    assert job.payload["aspect_ratio"] in capabilities.aspect_ratios
    assert job.payload["resolution"] in capabilities.resolutions
    if job.payload["aspect_ratio"] != ratio:
        assert any(note.startswith("aspect_ratio:") for note in job.adaptations)
    if job.payload["resolution"] != resolution:
        assert any(note.startswith("resolution:") for note in job.adaptations)


def test_veo3_text_to_video_payload() -> None:
    """veo3 gets every unified field under its own name, duration as "Ns"."""
    job = prepare_video(
        "fal-ai/veo3",
        VideoGenerationRequest(
            prompt="a cat",
            duration_seconds=5,
            aspect_ratio="9:16",
            resolution="1080p",
            generate_audio=False,
            negative_prompt="blur",
            seed=7,
            enhance_prompt=True,
            extra_params={"auto_fix": True},
        ),
    )
    assert job.payload == {
        "prompt": "a cat",
        "duration": "6s",
        "aspect_ratio": "9:16",
        "resolution": "1080p",
        "generate_audio": False,
        "negative_prompt": "blur",
        "seed": 7,
        "enhance_prompt": True,
        "auto_fix": True,
    }
    assert job.adaptations == ["duration_seconds: 5 -> 6 (fal-ai/veo3 offers 4s, 6s, 8s)"]


def test_veo3_text_to_video_rejects_an_image() -> None:
    """A text-to-video model refuses image_list before anything is sent."""
    with pytest.raises(ValidationError, match="image-to-video"):
        prepare_video(
            "fal-ai/veo3",
            VideoGenerationRequest(
                prompt="a cat", image_list=[{"image": IMAGE_URL, "type": "first_frame"}]
            ),
        )


def test_veo3_image_to_video_sends_image_url_and_auto_ratio() -> None:
    """veo3 i2v takes the first frame as image_url (bytes become a data URI) and 'auto'."""
    job = prepare_video(
        "fal-ai/veo3/image-to-video",
        VideoGenerationRequest(
            prompt="a cat",
            aspect_ratio="auto",
            image_list=[{"image": PNG, "type": "first_frame"}],
        ),
    )
    assert job.payload["image_url"].startswith("data:image/png;base64,")
    assert job.payload["aspect_ratio"] == "auto"
    assert job.adaptations == []


def test_veo3_image_to_video_requires_an_image() -> None:
    """An image-to-video model without an image is a ValidationError."""
    with pytest.raises(ValidationError, match="first_frame"):
        prepare_video("fal-ai/veo3/image-to-video", VideoGenerationRequest(prompt="a cat"))


def test_kling_standard_payload_drops_unsupported_fields_with_notes() -> None:
    """Kling gets duration "5"/"10" and image_url; ratio/resolution are not sent, but noted."""
    model = "fal-ai/kling-video/v2.1/standard/image-to-video"
    job = prepare_video(
        model,
        video_request(
            model,
            duration_seconds=8,
            aspect_ratio="16:9",
            resolution="1080p",
            generate_audio=True,
            seed=3,
            negative_prompt="blur",
            extra_params={"cfg_scale": 0.7},
        ),
    )
    assert job.payload == {
        "prompt": "a cat",
        "negative_prompt": "blur",
        "duration": "10",
        "image_url": IMAGE_URL,
        "cfg_scale": 0.7,
    }
    notes = "\n".join(job.adaptations)
    assert "duration_seconds: 8 -> 10" in notes
    assert "generate_audio" in notes
    assert "aspect_ratio: '16:9' not sent" in notes
    assert "resolution: '1080p' not sent" in notes
    assert "seed: 3 not sent" in notes
    assert job.summary == {"aspect_ratio": None, "resolution": None}


def test_kling_pro_sends_tail_image_for_last_frame() -> None:
    """Kling pro maps last_frame to tail_image_url."""
    model = "fal-ai/kling-video/v2.1/pro/image-to-video"
    job = prepare_video(
        model,
        VideoGenerationRequest(
            prompt="a cat",
            image_list=[
                {"image": IMAGE_URL, "type": "first_frame"},
                {"image": "https://example.test/end.png", "type": "last_frame"},
            ],
        ),
    )
    assert job.payload["image_url"] == IMAGE_URL
    assert job.payload["tail_image_url"] == "https://example.test/end.png"


def test_kling_standard_refuses_a_last_frame() -> None:
    """Kling standard has no tail image: a last_frame is refused, not dropped."""
    with pytest.raises(ValidationError, match="last_frame"):
        prepare_video(
            "fal-ai/kling-video/v2.1/standard/image-to-video",
            VideoGenerationRequest(
                prompt="a cat",
                image_list=[
                    {"image": IMAGE_URL, "type": "first_frame"},
                    {"image": IMAGE_URL, "type": "last_frame"},
                ],
            ),
        )


@pytest.mark.parametrize("model", ["fal-ai/flux/dev", "fal-ai/flux/schnell"])
@pytest.mark.parametrize(("ratio", "preset"), sorted(IMAGE_SIZE_PRESETS.items()))
def test_flux_image_size_preset_from_aspect_ratio(model: str, ratio: str, preset: str) -> None:
    """flux gets the image_size enum matching the aspect ratio."""
    job = prepare_image(model, ImageGenerationRequest(prompt="a cat", aspect_ratio=ratio))
    assert job.payload == {"prompt": "a cat", "image_size": preset}


def test_flux_size_becomes_width_and_height_and_count_is_capped() -> None:
    """request.size wins as {"width","height"}; n above 4 is adapted to num_images=4."""
    job = prepare_image(
        "fal-ai/flux/dev",
        ImageGenerationRequest(prompt="a cat", size="1280x720", aspect_ratio="1:1", n=6, seed=9),
    )
    assert job.payload == {
        "prompt": "a cat",
        "image_size": {"width": 1280, "height": 720},
        "num_images": 4,
        "seed": 9,
    }
    assert job.adaptations == ["n: 6 -> 4 (fal-ai/flux/dev makes at most 4 a job)"]


def test_flux_unlisted_ratio_is_adapted_to_nearest_preset() -> None:
    """21:9 is not a flux preset: it becomes 16:9 (landscape_16_9), noted."""
    job = prepare_image("fal-ai/flux/dev", ImageGenerationRequest(prompt="x", aspect_ratio="21:9"))
    assert job.payload["image_size"] == "landscape_16_9"
    assert job.adaptations[0].startswith("aspect_ratio: '21:9' -> '16:9'")


def test_flux_extra_params_image_size_wins() -> None:
    """An explicit extra_params image_size is sent as given."""
    job = prepare_image(
        "fal-ai/flux/dev",
        ImageGenerationRequest(
            prompt="x", aspect_ratio="1:1", extra_params={"image_size": "square"}
        ),
    )
    assert job.payload["image_size"] == "square"


def test_generic_video_model_passes_common_fields_and_extra_params() -> None:
    """An unregistered id gets common field names, int duration, nothing adapted."""
    model = "fal-ai/some-lab/new-video-model"
    client = client_for(model)
    capabilities = client.capabilities("video")
    assert capabilities.durations is None and capabilities.aspect_ratios is None
    job = prepare_video(
        model,
        VideoGenerationRequest(
            prompt="a cat",
            duration_seconds=7,
            aspect_ratio="21:9",
            resolution="480p",
            seed=1,
            image_list=[{"image": IMAGE_URL, "type": "first_frame"}],
            extra_params={"motion_bucket": 3, "duration": "7s"},
        ),
    )
    assert job.adaptations == []
    assert job.payload == {
        "prompt": "a cat",
        "duration": "7s",
        "aspect_ratio": "21:9",
        "resolution": "480p",
        "seed": 1,
        "image_url": IMAGE_URL,
        "motion_bucket": 3,
    }


def test_generic_image_model_maps_size_and_count() -> None:
    """An unregistered image id gets aspect_ratio, image_size {w,h} and num_images."""
    job = prepare_image(
        "fal-ai/imagen4/preview",
        ImageGenerationRequest(prompt="x", aspect_ratio="3:4", size="768x1024", n=2),
    )
    assert job.payload == {
        "prompt": "x",
        "aspect_ratio": "3:4",
        "image_size": {"width": 768, "height": 1024},
        "num_images": 2,
    }


def test_registered_video_model_refuses_image_jobs() -> None:
    """Asking a video model for an image is a ValidationError before submit."""
    with pytest.raises(ValidationError, match="not images"):
        prepare_image("fal-ai/veo3", ImageGenerationRequest(prompt="x"))
