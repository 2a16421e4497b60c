"""Field mappers and register_provider_field_mapping: the published helpers' semantics,
with tarash ValidationErrors, and the hook by which fal and Replicate models use them."""

from __future__ import annotations

import base64
import uuid
from typing import Any

import httpx
import pytest
import respx

from tarash.tarash_gateway import (
    ValidationError,
    generate_video_async,
    get_provider_field_mapping,
    register_provider_field_mapping,
)
from tarash.tarash_gateway.models import (
    ImageGenerationConfig,
    ImageGenerationRequest,
    VideoGenerationConfig,
    VideoGenerationRequest,
)
from tarash.tarash_gateway.providers._base import ProviderSettings
from tarash.tarash_gateway.providers.fal import FalClient
from tarash.tarash_gateway.providers.field_mappers import (
    FieldMapper,
    ImageInputFormat,
    apply_field_mappers,
    duration_field_mapper,
    extra_params_field_mapper,
    get_field_mappers_from_registry,
    image_input_field_mapper,
    image_list_field_mapper,
    mask_image_field_mapper,
    n_images_field_mapper,
    passthrough_field_mapper,
    single_image_field_mapper,
    size_field_mapper,
)
from tarash.tarash_gateway.providers.replicate import ReplicateClient
from tarash.tarash_gateway.routing._chain import prepare_job

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)
PNG_URI = "data:image/png;base64," + base64.b64encode(PNG).decode()
URL = "https://cdn.example/frame.png"
FAL_BASE = "https://queue.fal.test"


def _video(**kwargs: Any) -> VideoGenerationRequest:
    return VideoGenerationRequest(prompt="a cat", **kwargs)


def _image(**kwargs: Any) -> ImageGenerationRequest:
    return ImageGenerationRequest(prompt="a cat", **kwargs)


def _unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


# -- apply_field_mappers ---------------------------------------------------------------


def test_a_missing_required_field_is_a_validation_error_naming_it() -> None:
    """Required and None: a tarash ValidationError naming the source field and the
    parameter it feeds (the published helpers raise a bare ValueError)."""
    with pytest.raises(ValidationError, match=r"'seed' is missing.*'seed_value'"):
        apply_field_mappers({"seed_value": passthrough_field_mapper("seed", True)}, _video())


def test_a_required_field_converted_to_none_is_refused() -> None:
    """A required mapper whose converter returns None names the parameter."""
    mapper = FieldMapper("prompt", lambda _r, _v: None, required=True)
    with pytest.raises(ValidationError, match="'text' cannot be None after conversion"):
        apply_field_mappers({"text": mapper}, _video())


def test_a_converter_error_becomes_a_validation_error_chained_to_it() -> None:
    """A user converter raising ValueError surfaces as a ValidationError naming the
    parameter, with the ValueError as its cause (only tarash errors escape)."""

    def convert(_request: Any, value: Any) -> Any:
        raise ValueError(f"cannot use {value!r}")

    with pytest.raises(ValidationError, match=r"words \(from prompt\): cannot use") as info:
        apply_field_mappers({"words": FieldMapper("prompt", convert)}, _video())
    assert isinstance(info.value.__cause__, ValueError)


def test_empty_results_are_left_out_and_missing_attributes_read_as_none() -> None:
    """None, [] and {} results are not sent; an attribute the request lacks is None."""
    mappers = {
        "a": FieldMapper("prompt", lambda _r, _v: []),
        "b": FieldMapper("prompt", lambda _r, _v: {}),
        "c": FieldMapper("no_such_field", lambda _r, v: v),
        "d": FieldMapper("prompt", lambda _r, _v: 0),
    }
    assert apply_field_mappers(mappers, _video()) == {"d": 0}


# -- helpers ---------------------------------------------------------------------------


def test_duration_refusal_names_provider_model_and_allowed_values() -> None:
    """'5s'/'10s' allowed: 7 is refused with the published message."""
    mapper = duration_field_mapper("str", ["5s", "10s"], "fal", "fal-ai/x")
    with pytest.raises(
        ValidationError,
        match=r"Invalid duration for fal \(fal-ai/x\): 7 seconds. Allowed values: 5, 10",
    ):
        apply_field_mappers({"duration": mapper}, _video(duration_seconds=7))


def test_single_image_reference_takes_a_first_frame_and_bytes_become_a_data_uri() -> None:
    """The 'reference' mapper accepts a first_frame image; bytes go as a data: URI."""
    request = _video(image_list=[{"image": PNG, "type": "first_frame"}])
    assert apply_field_mappers({"image_url": single_image_field_mapper()}, request) == {
        "image_url": PNG_URI
    }


def test_accepted_formats_refuse_what_needs_a_download_or_an_upload() -> None:
    """URL-only refuses bytes; base64-only refuses a URL (the published package would
    download it, blocking); bare base64 text is sent as a data: URI."""
    url_only = {"i": image_input_field_mapper(accepted_formats=[ImageInputFormat.URL])}
    with pytest.raises(ValidationError, match="takes image URLs only"):
        apply_field_mappers(url_only, _image(image_list=[{"image": PNG, "type": "reference"}]))
    b64_only = {
        "i": image_input_field_mapper(accepted_formats=[ImageInputFormat.BASE64], provider="p")
    }
    with pytest.raises(ValidationError, match="p does not take image URLs"):
        apply_field_mappers(b64_only, _image(image_list=[{"image": URL, "type": "reference"}]))
    bare = base64.b64encode(PNG).decode()
    mapped = apply_field_mappers(b64_only, _image(image_list=[{"image": bare, "type": "style"}]))
    assert mapped == {"i": PNG_URI}


def test_image_list_and_mask_and_n_and_size() -> None:
    """Image list keeps order; mask bytes -> data URI; n and size bounds refused."""
    request = _image(
        image_list=[{"image": URL, "type": "reference"}, {"image": PNG, "type": "asset"}],
        mask_image=PNG,
        n=3,
        size="1024x1024",
    )
    mappers = {
        "images": image_list_field_mapper(),
        "mask": mask_image_field_mapper(),
        "n": n_images_field_mapper(1, 4),
        "size": size_field_mapper(["1024x1024"], "p", "m"),
    }
    assert apply_field_mappers(mappers, request) == {
        "images": [URL, PNG_URI],
        "mask": PNG_URI,
        "n": 3,
        "size": "1024x1024",
    }
    with pytest.raises(ValidationError, match="n must be between 1 and 2"):
        apply_field_mappers({"n": n_images_field_mapper(1, 2)}, request)
    with pytest.raises(ValidationError, match="invalid size '1024x1024' for m"):
        apply_field_mappers({"s": size_field_mapper(["512x512"], "p", "m")}, request)


def test_registry_lookup_is_a_plain_string_prefix() -> None:
    """As published: 'fal-ai/veo3' covers 'fal-ai/veo3.1/fast' when nothing longer is
    registered (not path-aware)."""
    short = {"a": passthrough_field_mapper("prompt")}
    assert get_field_mappers_from_registry("fal-ai/veo3.1/fast", {"fal-ai/veo3": short}, {}) is (
        short
    )


# -- registration ----------------------------------------------------------------------


def test_registrations_merge_and_read_back_under_any_spelling() -> None:
    """A second registration adds its models; 'My-Prov' and 'my_prov' are one provider;
    the returned dict is a copy (editing it registers nothing)."""
    provider = _unique("My-Prov")
    first = {"prompt": passthrough_field_mapper("prompt")}
    second = {"text": passthrough_field_mapper("prompt")}
    register_provider_field_mapping(provider, {"m/one": first})
    register_provider_field_mapping(provider.lower().replace("-", "_"), {"m/two": second})
    found = get_provider_field_mapping(provider)
    assert found == {"m/one": first, "m/two": second}
    found.clear()
    assert get_provider_field_mapping(provider) == {"m/one": first, "m/two": second}


@pytest.mark.parametrize(
    "mappings",
    [
        ["not", "a", "dict"],
        {"": {"p": passthrough_field_mapper("prompt")}},
        {"m": {"p": "not a mapper"}},
        {"m": "not a dict"},
    ],
)
def test_malformed_registrations_are_refused_and_register_nothing(mappings: Any) -> None:
    """A malformed mapping is a ValidationError; nothing of it is registered."""
    provider = _unique("bad-prov")
    with pytest.raises(ValidationError):
        register_provider_field_mapping(provider, mappings)
    assert get_provider_field_mapping(provider) is None


# -- the fal and Replicate hook --------------------------------------------------------


def _fal(model: str) -> FalClient:
    return FalClient(ProviderSettings(model=model, base_url=FAL_BASE))


def test_a_user_mapping_overrides_a_built_in_family_and_adapts_nothing() -> None:
    """A model of the built-in veo3.1 family, mapped by the user, is sent exactly what the
    mappers build (extra_params merged last), with "anything goes" capabilities."""
    model = _unique("fal-ai/veo3.1/unit")
    assert _fal(model).capabilities("video").durations is not None  # ours, before
    register_provider_field_mapping(
        "fal",
        {
            model: {
                "text": passthrough_field_mapper("prompt", required=True),
                "secs": duration_field_mapper("int"),
                "frame": single_image_field_mapper(image_type="last_frame"),
            }
        },
    )
    client = _fal(model)
    assert client.capabilities("video").durations is None
    assert client.capabilities("image").kind == "image"
    request = _video(
        duration_seconds=7,
        image_list=[{"image": URL, "type": "last_frame"}],
        extra_params={"secs": 9, "extra": True},
    )
    job = client.prepare_video(request)
    assert job.payload == {"text": "a cat", "secs": 9, "frame": URL, "extra": True}
    assert job.adaptations == []


@pytest.mark.anyio
async def test_strict_mode_sees_no_adaptation_on_a_user_mapped_model() -> None:
    """strict_parameters with a user-mapped id: the duration goes through unchanged."""
    model = _unique("fal-ai/veo3.1/strict")
    register_provider_field_mapping("fal", {model: {"d": duration_field_mapper("str")}})
    config = VideoGenerationConfig(provider="fal", model=model, strict_parameters=True)
    job = await prepare_job(_fal(model), config, _video(duration_seconds=13))
    assert job.payload == {"d": "13s"}


def test_an_image_job_on_a_user_mapped_fal_model_skips_our_image_size_handling() -> None:
    """fal's image_size preset logic belongs to our mapping: a user-mapped model gets the
    size its mapper builds."""
    model = _unique("fal-ai/img-unit")
    register_provider_field_mapping("fal", {model: {"image_size": size_field_mapper()}})
    job = _fal(model).prepare_image(_image(size="640x480", aspect_ratio="16:9"))
    assert job.payload == {"image_size": "640x480"}


def test_replicate_models_take_the_user_mapping_inside_input() -> None:
    """A Replicate owner/name mapped by the user: {"input": <mapped>}, version kept."""
    name = _unique("unit-owner/model")
    register_provider_field_mapping(
        "replicate", {name: {"caption": passthrough_field_mapper("prompt")}}
    )
    client = ReplicateClient(ProviderSettings(model=name, base_url="https://r.test"))
    assert client.prepare_video(_video(seed=3)).payload == {"input": {"caption": "a cat"}}
    version = "a" * 64
    pinned = ReplicateClient(ProviderSettings(model=f"{name}:{version}", base_url="https://r.test"))
    assert pinned.prepare_image(_image()).payload == {
        "version": version,
        "input": {"caption": "a cat"},
    }


def test_a_mapping_registered_for_another_provider_does_not_reach_fal() -> None:
    """Mappings are per provider: one registered for 'my-prov' leaves fal's mapping alone."""
    model = _unique("fal-ai/other-prov")
    register_provider_field_mapping(_unique("my-prov"), {model: {}})
    assert _fal(model).prepare_video(_video()).payload["prompt"] == "a cat"


@pytest.mark.anyio
async def test_a_mapper_refusal_sends_nothing() -> None:
    """A required field missing on a user-mapped fal model: ValidationError, no request."""
    model = _unique("fal-ai/refuse")
    register_provider_field_mapping(
        "fal", {model: {"video_url": extra_params_field_mapper("video_url", required=True)}}
    )
    config = VideoGenerationConfig(
        provider="fal", model=model, base_url=FAL_BASE, api_key="fal-unit-key-123456"
    )
    with respx.mock(assert_all_called=False) as router:
        submit = router.post(f"{FAL_BASE}/{model}").mock(return_value=httpx.Response(500))
        with pytest.raises(ValidationError, match="video_url"):
            await generate_video_async(config, _video())
    assert not submit.called


def test_image_config_maps_through_the_same_registration() -> None:
    """The registration serves image and video jobs of the id alike."""
    model = _unique("fal-ai/both")
    register_provider_field_mapping("fal", {model: {"p": passthrough_field_mapper("prompt")}})
    ImageGenerationConfig(provider="fal", model=model)  # a valid config for the id
    assert _fal(model).prepare_image(_image()).payload == {"p": "a cat"}
