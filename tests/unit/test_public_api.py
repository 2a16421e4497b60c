"""The public surface stays exactly what users import."""

from __future__ import annotations

import importlib
import inspect
import pickle
import re

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
    # The published repository's newer surface (issue 17).
    "STSBatchCompletionUpdate",
    "STSBatchItem",
    "STSBatchItemResult",
    "STSBatchResponse",
    "TTSBatchCompletionUpdate",
    "TTSBatchItem",
    "TTSBatchItemResult",
    "TTSBatchResponse",
    "generate_sts_batch",
    "generate_sts_batch_async",
    "generate_tts_batch",
    "generate_tts_batch_async",
    "BatchCompletionUpdate",
    "BatchItem",
    "BatchItemResult",
    "BatchResponse",
    "CostEstimate",
    "GenerationCost",
    "HealthCheckResult",
    "ImageBatchCompletionUpdate",
    "ImageBatchItem",
    "ImageBatchItemResult",
    "ImageBatchResponse",
    "VideoBatchCompletionUpdate",
    "VideoBatchItem",
    "VideoBatchItemResult",
    "VideoBatchResponse",
    "estimate_cost",
    "generate_image_batch",
    "generate_image_batch_async",
    "generate_video_batch",
    "generate_video_batch_async",
    "health_check",
    "health_check_async",
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


def test_public_names_report_a_public_module() -> None:
    """No name of __all__ shows a private module (``tarash.tarash_gateway._x`` or a room's
    ``_x``) as its __module__, in reprs, tracebacks and pickles; each is found there."""
    private = {}
    for name in gateway.__all__:
        module = getattr(getattr(gateway, name), "__module__", None)
        if module is None or module == "typing":
            continue
        if any(part.startswith("_") for part in module.split(".")):
            private[name] = module
        else:
            assert getattr(importlib.import_module(module), name) is getattr(gateway, name)
    assert private == {}


def test_public_values_of_moved_classes_pickle() -> None:
    """A price, a limit, a breaker policy and a ledger state pickle and load by their
    published names."""
    values = [
        gateway.Price(per_second=0.4),
        gateway.ProviderLimit(max_concurrent=4),
        gateway.BreakerPolicy(),
        gateway.LedgerState.PENDING,
    ]
    for value in values:
        data = pickle.dumps(value)
        assert set(re.findall(rb"tarash\.tarash_gateway[\w.]*", data)) == {b"tarash.tarash_gateway"}
        assert pickle.loads(data) == value
