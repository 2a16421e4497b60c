"""Issue 7 item 8: field mappers and the register/get field-mapping door onto our registry."""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

import pytest
import respx

from tests.compat._fal import fal_config_kwargs, route_fal_job

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)
PNG_DATA_URI = "data:image/png;base64," + base64.b64encode(PNG).decode()
FRAME = "https://cdn.example/frame.png"
LAST = "https://cdn.example/last.png"
STYLE = "https://cdn.example/style.png"


def _fm() -> Any:
    from tarash.tarash_gateway.providers import field_mappers

    return field_mappers


def _video(**kwargs: Any) -> Any:
    from tarash.tarash_gateway.models import VideoGenerationRequest

    return VideoGenerationRequest(prompt="a cat", **kwargs)


def _image(**kwargs: Any) -> Any:
    from tarash.tarash_gateway.models import ImageGenerationRequest

    return ImageGenerationRequest(prompt="a cat", **kwargs)


def test_field_mapper_is_the_published_dataclass() -> None:
    """FieldMapper(source_field, converter, required=False), positional or by name."""
    fm = _fm()
    mapper = fm.FieldMapper("prompt", lambda request, value: value)
    assert (mapper.source_field, mapper.required) == ("prompt", False)
    assert fm.FieldMapper(source_field="seed", converter=lambda r, v: v, required=True).required


def test_apply_field_mappers_maps_and_drops_empty_values() -> None:
    """apply_field_mappers returns {api_name: value}, dropping None, [] and {} results."""
    fm = _fm()
    mappers = {
        "text": fm.passthrough_field_mapper("prompt", required=True),
        "seed": fm.passthrough_field_mapper("seed"),
        "images": fm.image_list_field_mapper(),
        "extras": fm.FieldMapper("extra_params", lambda request, value: {}),
    }
    assert fm.apply_field_mappers(mappers, _video()) == {"text": "a cat"}
    assert fm.apply_field_mappers(mappers, _video(seed=7))["seed"] == 7


def test_apply_field_mappers_names_a_missing_required_field() -> None:
    """A required field that is None is an error naming it."""
    from tarash.tarash_gateway import ValidationError

    fm = _fm()
    mappers = {"seed_value": fm.passthrough_field_mapper("seed", required=True)}
    with pytest.raises(ValidationError, match="seed"):
        fm.apply_field_mappers(mappers, _video())


def test_converter_receives_the_request_and_the_value() -> None:
    """A converter is called as converter(request, value)."""
    fm = _fm()
    seen: list[Any] = []

    def convert(request: Any, value: Any) -> Any:
        seen.append((request.prompt, value))
        return f"{value}!"

    assert fm.apply_field_mappers({"p": fm.FieldMapper("prompt", convert)}, _video()) == {
        "p": "a cat!"
    }
    assert seen == [("a cat", "a cat")]


@pytest.mark.parametrize(
    ("args", "kwargs", "expected"),
    [
        (("str",), {}, "5s"),
        (("str",), {"add_suffix": False}, "5"),
        (("int",), {}, 5),
        (("str", ["5s", "10s"]), {}, "5s"),
        (("int", [5, 10]), {}, 5),
    ],
)
def test_duration_field_mapper_formats_the_duration(
    args: tuple[Any, ...], kwargs: dict[str, Any], expected: Any
) -> None:
    """duration_field_mapper writes "5s", "5" or 5 from duration_seconds=5."""
    fm = _fm()
    mapper = fm.duration_field_mapper(*args, **kwargs)
    assert mapper.source_field == "duration_seconds"
    assert fm.apply_field_mappers({"duration": mapper}, _video(duration_seconds=5)) == {
        "duration": expected
    }


def test_duration_field_mapper_refuses_a_disallowed_value() -> None:
    """A duration outside allowed_values is a tarash ValidationError."""
    from tarash.tarash_gateway import ValidationError

    fm = _fm()
    mapper = fm.duration_field_mapper("str", ["6s", "10s"], "fal", "fal-ai/minimax")
    with pytest.raises(ValidationError):
        fm.apply_field_mappers({"duration": mapper}, _video(duration_seconds=5))


def test_single_image_field_mapper_picks_the_image_of_its_role() -> None:
    """single_image_field_mapper: one image of the type; reference also takes first_frame."""
    fm = _fm()
    frames = [{"image": FRAME, "type": "first_frame"}, {"image": LAST, "type": "last_frame"}]
    request = _video(image_list=frames)
    mappers = {
        "image_url": fm.single_image_field_mapper(),
        "tail_image_url": fm.single_image_field_mapper(image_type="last_frame"),
    }
    assert fm.apply_field_mappers(mappers, request) == {"image_url": FRAME, "tail_image_url": LAST}


def test_single_image_field_mapper_strictness() -> None:
    """Two images of the role: an error naming it when strict, dropped when strict=False."""
    from tarash.tarash_gateway import ValidationError

    fm = _fm()
    two = _video(
        image_list=[{"image": FRAME, "type": "reference"}, {"image": STYLE, "type": "reference"}]
    )
    with pytest.raises(ValidationError, match="reference"):
        fm.apply_field_mappers({"image_url": fm.single_image_field_mapper()}, two)
    lenient = {"image_url": fm.single_image_field_mapper(strict=False)}
    assert fm.apply_field_mappers(lenient, two) == {}


def test_single_image_field_mapper_sends_media_content_as_a_data_uri() -> None:
    """A MediaContent image becomes a data: URI with its content type."""
    fm = _fm()
    media = {"content": PNG, "content_type": "image/png"}
    request = _video(image_list=[{"image": media, "type": "first_frame"}])
    mapped = fm.apply_field_mappers({"image_url": fm.single_image_field_mapper()}, request)
    assert mapped == {"image_url": PNG_DATA_URI}


def test_image_list_field_mapper_filters_by_type() -> None:
    """image_list_field_mapper lists the URLs of all images, or of one type."""
    fm = _fm()
    request = _video(
        image_list=[{"image": FRAME, "type": "reference"}, {"image": STYLE, "type": "style"}]
    )
    mappers = {
        "all": fm.image_list_field_mapper(),
        "styles": fm.image_list_field_mapper(image_type="style"),
    }
    assert fm.apply_field_mappers(mappers, request) == {"all": [FRAME, STYLE], "styles": [STYLE]}


def test_extra_params_field_mapper_reads_one_key() -> None:
    """extra_params_field_mapper("cfg_scale") sends extra_params["cfg_scale"] when present."""
    fm = _fm()
    mappers = {"cfg_scale": fm.extra_params_field_mapper("cfg_scale")}
    request = _video(extra_params={"cfg_scale": 0.5})
    assert fm.apply_field_mappers(mappers, request) == {"cfg_scale": 0.5}
    assert fm.apply_field_mappers(mappers, _video()) == {}


def test_video_url_field_mapper_handles_urls_and_media_content() -> None:
    """video_url_field_mapper: a URL as is, MediaContent as a data: URI."""
    fm = _fm()
    mappers = {"video_url": fm.video_url_field_mapper()}
    url_request = _video(video="https://cdn.example/in.mp4")
    assert fm.apply_field_mappers(mappers, url_request) == {
        "video_url": "https://cdn.example/in.mp4"
    }
    clip = {"content": b"\x00\x00\x00\x18ftypmp42", "content_type": "video/mp4"}
    mapped = fm.apply_field_mappers(mappers, _video(video=clip))
    assert mapped["video_url"].startswith("data:video/mp4;base64,")


def test_image_field_mappers_check_allowed_values() -> None:
    """size/quality/style/n mappers pass allowed values and refuse others (ValidationError)."""
    from tarash.tarash_gateway import ValidationError

    fm = _fm()
    mappers = {
        "size": fm.size_field_mapper(["1024x1024", "1792x1024"]),
        "quality": fm.quality_field_mapper(["standard", "hd"]),
        "style": fm.style_field_mapper(["vivid", "natural"]),
        "n": fm.n_images_field_mapper(1, 4),
    }
    good = _image(size="1024x1024", quality="hd", style="vivid", n=2)
    assert fm.apply_field_mappers(mappers, good) == {
        "size": "1024x1024",
        "quality": "hd",
        "style": "vivid",
        "n": 2,
    }
    for bad in (
        _image(size="512x512"),
        _image(quality="ultra"),
        _image(style="noir"),
        _image(n=5),
    ):
        with pytest.raises(ValidationError):
            fm.apply_field_mappers(mappers, bad)


def test_image_input_and_mask_mappers() -> None:
    """image_input_field_mapper takes the first image; mask_image_field_mapper the mask."""
    fm = _fm()
    mask = {"content": PNG, "content_type": "image/png"}
    request = _image(
        image_list=[{"image": FRAME, "type": "reference"}, {"image": STYLE, "type": "style"}],
        mask_image=mask,
    )
    mappers = {"image": fm.image_input_field_mapper(), "mask": fm.mask_image_field_mapper()}
    assert fm.apply_field_mappers(mappers, request) == {"image": FRAME, "mask": PNG_DATA_URI}


def test_registry_lookup_exact_then_longest_prefix_then_fallback() -> None:
    """get_field_mappers_from_registry: exact match, else longest prefix, else the fallback."""
    fm = _fm()
    short = {"a": fm.passthrough_field_mapper("prompt")}
    long = {"b": fm.passthrough_field_mapper("prompt")}
    generic = {"c": fm.passthrough_field_mapper("prompt")}
    registry = {"fal-ai/veo3": short, "fal-ai/veo3.1": long}
    lookup = fm.get_field_mappers_from_registry
    assert lookup("fal-ai/veo3", registry, generic) is short
    assert lookup("fal-ai/veo3.1/fast", registry, generic) is long
    assert lookup("fal-ai/veo3/fast", registry, generic) is short
    assert lookup("fal-ai/unknown", registry, generic) is generic


def test_get_provider_field_mapping_returns_what_is_registered() -> None:
    """register_provider_field_mapping then get_provider_field_mapping gives it back."""
    from tarash.tarash_gateway import get_provider_field_mapping, register_provider_field_mapping

    fm = _fm()
    provider = f"my-provider-{uuid.uuid4().hex[:8]}"
    assert get_provider_field_mapping(provider) is None
    mappers = {"prompt": fm.passthrough_field_mapper("prompt", required=True)}
    register_provider_field_mapping(provider, {f"{provider}/model-v1": mappers})

    registered = get_provider_field_mapping(provider)
    assert registered is not None
    assert registered[f"{provider}/model-v1"] is mappers


def test_api_module_functions_share_the_root_registry() -> None:
    """The api module's register/get field-mapping functions are the root's."""
    import tarash.tarash_gateway as gateway
    from tarash.tarash_gateway import api

    assert api.register_provider_field_mapping is gateway.register_provider_field_mapping
    assert api.get_provider_field_mapping is gateway.get_provider_field_mapping


def _register_fal(model_mappings: dict[str, Any]) -> None:
    from tarash.tarash_gateway import register_provider_field_mapping

    register_provider_field_mapping("fal", model_mappings)


@pytest.mark.anyio
async def test_registered_mapping_drives_an_unregistered_fal_model(
    fal_router: respx.MockRouter,
) -> None:
    """A mapping registered for a new fal model id is what that model is sent."""
    from tarash.tarash_gateway import generate_video_async
    from tarash.tarash_gateway.models import VideoGenerationConfig

    fm = _fm()
    model = f"fal-ai/compat-new-{uuid.uuid4().hex[:8]}"
    _register_fal(
        {
            model: {
                "text": fm.passthrough_field_mapper("prompt", required=True),
                "secs": fm.duration_field_mapper("int"),
            }
        }
    )
    submit = route_fal_job(fal_router, model)

    await generate_video_async(
        VideoGenerationConfig(**fal_config_kwargs(model)), _video(duration_seconds=5)
    )

    assert json.loads(submit.calls.last.request.content) == {"text": "a cat", "secs": 5}


@pytest.mark.anyio
async def test_longest_registered_prefix_wins_for_fal(fal_router: respx.MockRouter) -> None:
    """Of two registered prefixes of a model id, the longer one's mapping is used."""
    from tarash.tarash_gateway import generate_video_async
    from tarash.tarash_gateway.models import VideoGenerationConfig

    fm = _fm()
    family = f"fal-ai/compat-family-{uuid.uuid4().hex[:8]}"
    _register_fal(
        {
            family: {"short_prompt": fm.passthrough_field_mapper("prompt")},
            f"{family}/pro": {"long_prompt": fm.passthrough_field_mapper("prompt")},
        }
    )
    model = f"{family}/pro/text-to-video"
    submit = route_fal_job(fal_router, model)

    await generate_video_async(VideoGenerationConfig(**fal_config_kwargs(model)), _video())

    assert json.loads(submit.calls.last.request.content) == {"long_prompt": "a cat"}


@pytest.mark.anyio
async def test_registered_mapping_drives_an_unregistered_replicate_model(
    replicate_router: respx.MockRouter,
) -> None:
    """A mapping registered for a new Replicate model is what goes into its input object."""
    from tarash.tarash_gateway import generate_video_async, register_provider_field_mapping
    from tarash.tarash_gateway.models import VideoGenerationConfig

    fm = _fm()
    base = "https://api.replicate.test"
    model = f"compat-owner/new-model-{uuid.uuid4().hex[:8]}"
    register_provider_field_mapping(
        "replicate",
        {model: {"caption": fm.passthrough_field_mapper("prompt", required=True)}},
    )
    prediction = {
        "id": "p1",
        "status": "succeeded",
        "output": "https://replicate.delivery/compat/out.mp4",
        "urls": {"get": f"{base}/v1/predictions/p1", "cancel": f"{base}/v1/predictions/p1/cancel"},
    }
    create = replicate_router.post(f"{base}/v1/models/{model}/predictions").respond(
        201, json=prediction
    )
    replicate_router.get(f"{base}/v1/predictions/p1").respond(200, json=prediction)
    config = VideoGenerationConfig(
        provider="replicate", model=model, api_key="r8_compat", base_url=base, poll_interval=0.01
    )

    await generate_video_async(config, _video())

    assert json.loads(create.calls.last.request.content)["input"] == {"caption": "a cat"}
