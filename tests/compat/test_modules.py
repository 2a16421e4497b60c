"""Issue 7 item 1: every module and name the published documentation imports exists on ours."""

from __future__ import annotations

import importlib
import inspect
from typing import get_args, get_type_hints

import pytest

PUBLISHED_ROOT_ALL_VIDEO_IMAGE = {
    "generate_video",
    "generate_video_async",
    "generate_image",
    "generate_image_async",
    "register_provider",
    "register_provider_field_mapping",
    "get_provider_field_mapping",
    "VideoGenerationConfig",
    "VideoGenerationRequest",
    "VideoGenerationResponse",
    "VideoGenerationUpdate",
    "ImageGenerationConfig",
    "ImageGenerationRequest",
    "ImageGenerationResponse",
    "Resolution",
    "AspectRatio",
    "ImageType",
    "TarashException",
    "ValidationError",
    "ContentModerationError",
    "HTTPError",
    "HTTPConnectionError",
    "TimeoutError",
    "GenerationFailedError",
}
"""The published root ``__all__`` minus its audio (TTS/STS) names."""

PUBLISHED_ROOT_ALL_AUDIO = {
    "generate_tts",
    "generate_tts_async",
    "generate_sts",
    "generate_sts_async",
    "AudioGenerationConfig",
    "TTSRequest",
    "TTSResponse",
    "TTSUpdate",
    "STSRequest",
    "STSResponse",
    "STSUpdate",
    "AudioOutputFormat",
    "format_to_content_type",
}
"""The audio names of the published root ``__all__`` (outside issue 7's video/image scope)."""

PUBLISHED_MODELS_NAMES = (
    "VideoGenerationConfig",
    "VideoGenerationRequest",
    "VideoGenerationResponse",
    "VideoGenerationUpdate",
    "ImageGenerationConfig",
    "ImageGenerationRequest",
    "ImageGenerationResponse",
    "ImageGenerationUpdate",
    "AttemptMetadata",
    "ExecutionMetadata",
    "MediaContent",
    "MediaType",
    "ImageType",
    "Resolution",
    "AspectRatio",
    "StatusType",
    "Base64",
    "ProgressCallback",
    "SyncProgressCallback",
    "AsyncProgressCallback",
    "ImageProgressCallback",
    "SyncImageProgressCallback",
    "AsyncImageProgressCallback",
    "ProviderHandler",
    "BaseVideoParams",
    "KlingCameraConfig",
    "KlingCameraControl",
    "KlingVideoParams",
)

PUBLISHED_EXCEPTION_NAMES = (
    "TarashException",
    "ValidationError",
    "ContentModerationError",
    "HTTPError",
    "HTTPConnectionError",
    "TimeoutError",
    "GenerationFailedError",
    "is_retryable_error",
    "handle_video_generation_errors",
)

PUBLISHED_MOCK_NAMES = (
    "MockConfig",
    "MockResponse",
    "MockPollingConfig",
    "MockProviderHandler",
    "MockVideoSpec",
    "MOCK_VIDEO_LIBRARY",
    "find_best_matching_video",
    "generate_mock_request_id",
    "select_mock_response",
    "handle_mock_request_sync",
    "handle_mock_request_async",
)

PUBLISHED_FIELD_MAPPER_NAMES = (
    "FieldMapper",
    "apply_field_mappers",
    "passthrough_field_mapper",
    "duration_field_mapper",
    "single_image_field_mapper",
    "image_list_field_mapper",
    "extra_params_field_mapper",
    "video_url_field_mapper",
    "size_field_mapper",
    "quality_field_mapper",
    "style_field_mapper",
    "n_images_field_mapper",
    "image_input_field_mapper",
    "mask_image_field_mapper",
    "get_field_mappers_from_registry",
)


def _missing(module_name: str, names: tuple[str, ...] | set[str]) -> list[str]:
    module = importlib.import_module(module_name)
    return sorted(name for name in names if not hasattr(module, name))


def test_root_all_covers_the_published_video_and_image_names() -> None:
    """The root __all__ lists every published video/image/exception/registration name."""
    import tarash.tarash_gateway as gateway

    assert sorted(PUBLISHED_ROOT_ALL_VIDEO_IMAGE - set(gateway.__all__)) == []
    assert _missing("tarash.tarash_gateway", PUBLISHED_ROOT_ALL_VIDEO_IMAGE) == []


def test_root_all_covers_the_published_audio_names() -> None:
    """The root __all__ also lists the published audio names (superset of the published one)."""
    import tarash.tarash_gateway as gateway

    assert sorted(PUBLISHED_ROOT_ALL_AUDIO - set(gateway.__all__)) == []


def test_root_exports_the_published_literals() -> None:
    """Resolution, AspectRatio and ImageType import from the package root, as in the docs."""
    from tarash.tarash_gateway import AspectRatio, ImageType, Resolution

    assert {"360p", "480p", "720p", "1080p", "4k"} <= set(get_args(Resolution))
    assert {"16:9", "9:16", "1:1", "4:3", "21:9"} <= set(get_args(AspectRatio))
    assert set(ImageType.__annotations__) == {"image", "type"}
    roles = get_args(get_type_hints(ImageType)["type"])
    assert {"reference", "first_frame", "last_frame", "asset", "style"} <= set(roles)


def test_models_module_has_every_published_name() -> None:
    """tarash.tarash_gateway.models re-exports every name the published models module has."""
    assert _missing("tarash.tarash_gateway.models", PUBLISHED_MODELS_NAMES) == []


def test_status_type_has_the_published_values() -> None:
    """StatusType is the published Literal of update statuses."""
    from tarash.tarash_gateway.models import StatusType

    assert set(get_args(StatusType)) == {"queued", "processing", "completed", "failed"}


def test_media_content_is_the_published_typed_dict() -> None:
    """MediaContent is a TypedDict {"content": bytes, "content_type": str}."""
    from tarash.tarash_gateway.models import MediaContent

    item: MediaContent = {"content": b"\x89PNG", "content_type": "image/png"}
    assert set(MediaContent.__annotations__) == {"content", "content_type"}
    assert item["content_type"] == "image/png"


def test_kling_camera_types_validate_as_published() -> None:
    """KlingCameraControl/KlingCameraConfig: -10..10 ranges, unknown keys refused."""
    import pydantic

    from tarash.tarash_gateway.models import KlingCameraConfig, KlingCameraControl

    control = KlingCameraControl(type="simple", config=KlingCameraConfig(zoom=5.0))
    assert control.config is not None and control.config.zoom == 5.0
    with pytest.raises(pydantic.ValidationError):
        KlingCameraConfig(zoom=11.0)
    with pytest.raises(pydantic.ValidationError):
        KlingCameraConfig.model_validate({"zoom": 1.0, "spin": 2.0})


def test_provider_handler_protocol_has_the_four_methods() -> None:
    """ProviderHandler declares generate_video[_async] and generate_image[_async]."""
    from tarash.tarash_gateway.models import ProviderHandler

    for name in (
        "generate_video",
        "generate_video_async",
        "generate_image",
        "generate_image_async",
    ):
        method = getattr(ProviderHandler, name)
        assert list(inspect.signature(method).parameters) == [
            "self",
            "config",
            "request",
            "on_progress",
        ]


def test_exceptions_module_has_every_published_name() -> None:
    """tarash.tarash_gateway.exceptions holds the seven classes and both helpers."""
    assert _missing("tarash.tarash_gateway.exceptions", PUBLISHED_EXCEPTION_NAMES) == []


def test_exceptions_are_the_same_classes_everywhere() -> None:
    """The classes from exceptions, errors and the root are one and the same."""
    import tarash.tarash_gateway as gateway
    from tarash.tarash_gateway import errors, exceptions

    for name in PUBLISHED_EXCEPTION_NAMES[:7]:
        assert getattr(exceptions, name) is getattr(errors, name) is getattr(gateway, name)


def test_mock_module_has_every_published_name() -> None:
    """tarash.tarash_gateway.mock holds MockConfig, MockResponse, MockPollingConfig and the rest."""
    assert _missing("tarash.tarash_gateway.mock", PUBLISHED_MOCK_NAMES) == []


def test_registry_module_has_register_provider_and_get_handler() -> None:
    """tarash.tarash_gateway.registry exposes register_provider and get_handler."""
    assert _missing("tarash.tarash_gateway.registry", ("register_provider", "get_handler")) == []


def test_field_mappers_module_has_every_published_name() -> None:
    """tarash.tarash_gateway.providers.field_mappers holds FieldMapper and every helper."""
    missing = _missing(
        "tarash.tarash_gateway.providers.field_mappers", PUBLISHED_FIELD_MAPPER_NAMES
    )
    assert missing == []


@pytest.mark.parametrize("module_name", ["tarash.tarash_gateway", "tarash.tarash_gateway.api"])
def test_registration_functions_import_from_root_and_api(module_name: str) -> None:
    """register_provider, register_provider_field_mapping, get_provider_field_mapping import."""
    names = ("register_provider", "register_provider_field_mapping", "get_provider_field_mapping")
    assert _missing(module_name, names) == []


@pytest.mark.parametrize(
    ("module_name", "function_name", "parameters"),
    [
        ("tarash.tarash_gateway", "register_provider", ["provider", "handler"]),
        ("tarash.tarash_gateway.registry", "register_provider", ["provider", "handler"]),
        ("tarash.tarash_gateway.registry", "get_handler", ["config"]),
        (
            "tarash.tarash_gateway",
            "register_provider_field_mapping",
            ["provider", "model_mappings"],
        ),
        ("tarash.tarash_gateway", "get_provider_field_mapping", ["provider"]),
        ("tarash.tarash_gateway.exceptions", "is_retryable_error", ["error"]),
        ("tarash.tarash_gateway", "generate_video", ["config", "request", "on_progress"]),
        ("tarash.tarash_gateway", "generate_video_async", ["config", "request", "on_progress"]),
        ("tarash.tarash_gateway", "generate_image", ["config", "request", "on_progress"]),
        ("tarash.tarash_gateway", "generate_image_async", ["config", "request", "on_progress"]),
    ],
)
def test_public_functions_take_the_published_parameter_names(
    module_name: str, function_name: str, parameters: list[str]
) -> None:
    """Public functions take the published parameters, in order, positionally or by name."""
    function = getattr(importlib.import_module(module_name), function_name)
    signature = inspect.signature(function)
    assert list(signature.parameters)[: len(parameters)] == parameters
    for name in parameters:
        assert signature.parameters[name].kind == inspect.Parameter.POSITIONAL_OR_KEYWORD
    if "on_progress" in parameters:
        assert signature.parameters["on_progress"].default is None
