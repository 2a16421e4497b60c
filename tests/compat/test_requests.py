"""Issue 7 item 4: requests take provider options as kwargs, MediaContent inputs, size="auto"."""

from __future__ import annotations

import base64
import json

import pytest
import respx

from tests.compat._fal import fal_config_kwargs, route_fal_job

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)
PNG_DATA_URI = "data:image/png;base64," + base64.b64encode(PNG).decode()


def test_unknown_video_kwarg_goes_to_extra_params_with_a_warning() -> None:
    """VideoGenerationRequest(prompt=..., auto_fix=True) -> extra_params, warned by name."""
    from tarash.tarash_gateway.models import VideoGenerationRequest

    with pytest.warns(UserWarning, match="auto_fix"):
        request = VideoGenerationRequest(prompt="a cat", auto_fix=True)
    assert request.extra_params == {"auto_fix": True}


def test_unknown_image_kwarg_goes_to_extra_params_with_a_warning() -> None:
    """ImageGenerationRequest(prompt=..., num_inference_steps=30) -> extra_params, warned."""
    from tarash.tarash_gateway.models import ImageGenerationRequest

    with pytest.warns(UserWarning, match="num_inference_steps"):
        request = ImageGenerationRequest(prompt="a cat", num_inference_steps=30)
    assert request.extra_params == {"num_inference_steps": 30}


def test_unknown_kwargs_merge_with_explicit_extra_params() -> None:
    """Explicit extra_params and captured kwargs end up in one dict."""
    from tarash.tarash_gateway.models import VideoGenerationRequest

    with pytest.warns(UserWarning, match="cfg_scale"):
        request = VideoGenerationRequest(
            prompt="a cat", extra_params={"mode": "pro"}, cfg_scale=0.5
        )
    assert request.extra_params == {"mode": "pro", "cfg_scale": 0.5}


def test_model_validate_captures_unknown_keys_too() -> None:
    """A dict through model_validate is captured the same way (capture_extra_fields)."""
    from tarash.tarash_gateway.models import VideoGenerationRequest

    with pytest.warns(UserWarning, match="loop"):
        request = VideoGenerationRequest.model_validate({"prompt": "a cat", "loop": True})
    assert request.extra_params == {"loop": True}


@pytest.mark.parametrize(
    ("typo", "meant"),
    [("duraton_seconds", "duration_seconds"), ("aspect_ration", "aspect_ratio")],
)
def test_near_miss_of_a_real_field_is_still_an_error(typo: str, meant: str) -> None:
    """A kwarg one typo away from a real field is a tarash ValidationError naming that field."""
    from tarash.tarash_gateway import ValidationError
    from tarash.tarash_gateway.models import VideoGenerationRequest

    value = 5 if meant == "duration_seconds" else "16:9"
    with pytest.raises(ValidationError, match=meant):
        VideoGenerationRequest(prompt="a cat", **{typo: value})


def test_image_request_accepts_size_auto_and_n_none() -> None:
    """ImageGenerationRequest takes size="auto"; n defaults to None."""
    from tarash.tarash_gateway.models import ImageGenerationRequest

    request = ImageGenerationRequest(prompt="a cat", size="auto")
    assert request.size == "auto"
    assert request.n is None
    assert ImageGenerationRequest(prompt="a cat", n=None).n is None


def test_image_request_has_the_published_defaults() -> None:
    """Every optional image field defaults as published."""
    from tarash.tarash_gateway.models import ImageGenerationRequest

    request = ImageGenerationRequest(prompt="a cat")
    assert (request.negative_prompt, request.size, request.quality, request.style) == (
        None,
        None,
        None,
        None,
    )
    assert (request.n, request.mask_image, request.seed, request.aspect_ratio) == (
        None,
        None,
        None,
        None,
    )
    assert (request.image_list, request.extra_params) == ([], {})


def test_video_request_has_the_published_defaults() -> None:
    """Every optional video field defaults as published."""
    from tarash.tarash_gateway.models import VideoGenerationRequest

    request = VideoGenerationRequest(prompt="a cat")
    assert request.number_of_videos == 1
    assert (request.duration_seconds, request.resolution, request.aspect_ratio) == (
        None,
        None,
        None,
    )
    assert (request.generate_audio, request.video, request.seed) == (None, None, None)
    assert (request.negative_prompt, request.enhance_prompt) == (None, None)
    assert (request.image_list, request.extra_params) == ([], {})


def test_media_content_is_accepted_as_an_image_input() -> None:
    """image_list items may hold a MediaContent dict {"content": bytes, "content_type": str}."""
    from tarash.tarash_gateway.models import ImageGenerationRequest, VideoGenerationRequest

    media = {"content": PNG, "content_type": "image/png"}
    video = VideoGenerationRequest(
        prompt="a cat", image_list=[{"image": media, "type": "first_frame"}]
    )
    image = ImageGenerationRequest(
        prompt="a cat", image_list=[{"image": media, "type": "reference"}]
    )
    assert video.image_list[0]["image"] == media
    assert image.image_list[0]["image"] == media


def test_media_content_is_accepted_as_video_and_mask() -> None:
    """request.video and request.mask_image accept MediaContent dicts."""
    from tarash.tarash_gateway.models import ImageGenerationRequest, VideoGenerationRequest

    clip = {"content": b"\x00\x00\x00\x18ftypmp42", "content_type": "video/mp4"}
    mask = {"content": PNG, "content_type": "image/png"}
    assert VideoGenerationRequest(prompt="extend", video=clip).video == clip
    assert ImageGenerationRequest(prompt="inpaint", mask_image=mask).mask_image == mask


def test_http_url_objects_are_accepted_as_media() -> None:
    """A pydantic HttpUrl is an accepted image input, as in the published MediaType."""
    from pydantic import HttpUrl

    from tarash.tarash_gateway.models import VideoGenerationRequest

    url = HttpUrl("https://example.com/frame.png")
    request = VideoGenerationRequest(
        prompt="a cat", image_list=[{"image": url, "type": "reference"}]
    )
    assert str(request.image_list[0]["image"]) == "https://example.com/frame.png"


@pytest.mark.anyio
async def test_captured_kwargs_reach_the_provider(fal_router: respx.MockRouter) -> None:
    """A provider option passed as a kwarg is sent to fal with the mapped fields."""
    from tarash.tarash_gateway import generate_video_async
    from tarash.tarash_gateway.models import VideoGenerationConfig, VideoGenerationRequest

    model = "fal-ai/compat-generic-video"
    submit = route_fal_job(fal_router, model)
    with pytest.warns(UserWarning, match="auto_fix"):
        request = VideoGenerationRequest(prompt="a cat", auto_fix=True)

    await generate_video_async(VideoGenerationConfig(**fal_config_kwargs(model)), request)

    sent = json.loads(submit.calls.last.request.content)
    assert sent["prompt"] == "a cat"
    assert sent["auto_fix"] is True


@pytest.mark.anyio
async def test_media_content_reaches_the_provider_as_a_data_uri(
    fal_router: respx.MockRouter,
) -> None:
    """A MediaContent first frame is sent as a data: URI with its own content type."""
    from tarash.tarash_gateway import generate_video_async
    from tarash.tarash_gateway.models import VideoGenerationConfig, VideoGenerationRequest

    model = "fal-ai/compat-generic-i2v"
    submit = route_fal_job(fal_router, model)
    media = {"content": PNG, "content_type": "image/png"}
    request = VideoGenerationRequest(
        prompt="a cat", image_list=[{"image": media, "type": "first_frame"}]
    )

    await generate_video_async(VideoGenerationConfig(**fal_config_kwargs(model)), request)

    sent = json.loads(submit.calls.last.request.content)
    assert PNG_DATA_URI in sent.values()
