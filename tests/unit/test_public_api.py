"""The public surface stays exactly what users import."""

from __future__ import annotations

import inspect

import tarash.tarash_gateway as gateway
from tarash.tarash_gateway import models

EXPECTED = {
    "DEFAULT_LIMITS",
    "ExtraParamsWarning",
    "ModelDeprecatedWarning",
    "ModelRetiredWarning",
    "AspectRatio",
    "AttemptMetadata",
    "AudioGenerationConfig",
    "AudioOutputFormat",
    "AuthenticationError",
    "CircuitOpenError",
    "BreakerPolicy",
    "Price",
    "PriceTable",
    "ProviderLimit",
    "SpendCapExceededError",
    "BatchEvent",
    "BatchResult",
    "BatchRun",
    "ContentModerationError",
    "ExecutionMetadata",
    "FallbackPolicy",
    "GenerationFailedError",
    "HTTPConnectionError",
    "HTTPError",
    "HedgePolicy",
    "ImageGenerationConfig",
    "ImageGenerationRequest",
    "ImageGenerationResponse",
    "ImageGenerationUpdate",
    "ImageType",
    "InsufficientCreditError",
    "JobCancelledError",
    "JobHandle",
    "Ledger",
    "LedgerEntry",
    "LedgerJob",
    "LedgerState",
    "MockConfig",
    "MockPollingConfig",
    "MockResponse",
    "NotFoundError",
    "ProviderServerError",
    "RateLimitError",
    "Resolution",
    "Router",
    "STSRequest",
    "STSResponse",
    "STSUpdate",
    "SqliteLedger",
    "TTSRequest",
    "TTSResponse",
    "TTSUpdate",
    "TarashException",
    "TimeoutError",
    "ValidationError",
    "VideoGenerationConfig",
    "VideoGenerationRequest",
    "VideoGenerationResponse",
    "VideoGenerationUpdate",
    "available_providers",
    "cancel",
    "cancel_async",
    "configure",
    "format_to_content_type",
    "generate_image",
    "generate_image_async",
    "generate_images",
    "generate_images_async",
    "generate_sts",
    "generate_sts_async",
    "generate_tts",
    "generate_tts_async",
    "generate_video",
    "generate_video_async",
    "generate_videos",
    "generate_videos_async",
    "get_provider_field_mapping",
    "is_retryable_error",
    "register_provider",
    "register_provider_field_mapping",
    "status",
    "status_async",
    "submit_image",
    "submit_image_async",
    "submit_video",
    "submit_video_async",
    "wait",
    "wait_async",
}


def _isort_style(name: str) -> tuple[int, str]:
    """ruff's (RUF022) order: CONSTANTS, then Classes, then functions, each sorted."""
    if name.isupper():
        return 0, name
    return (1 if name[0].isupper() else 2), name


def test_all_is_sorted_and_exactly_the_public_names() -> None:
    """__all__ is sorted and matches the documented surface (update both together)."""
    assert gateway.__all__ == sorted(gateway.__all__, key=_isort_style)
    assert set(gateway.__all__) == EXPECTED
    for name in gateway.__all__:
        assert getattr(gateway, name) is not None


def test_published_import_paths_work() -> None:
    """The import lines of the published package keep working."""
    from tarash.tarash_gateway import generate_video, generate_video_async  # noqa: F401
    from tarash.tarash_gateway.models import (  # noqa: F401
        VideoGenerationConfig,
        VideoGenerationRequest,
    )

    assert models.__all__ == sorted(models.__all__)


def test_every_public_name_has_a_docstring() -> None:
    """Each public function and class documents itself (type aliases such as Resolution, a
    typing.Literal, cannot carry a docstring of their own)."""
    for name in gateway.__all__:
        value = getattr(gateway, name)
        if inspect.isclass(value) or inspect.isfunction(value):
            assert value.__doc__, name
