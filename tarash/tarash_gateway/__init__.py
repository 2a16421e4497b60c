"""tarash gateway: one interface for AI video and image generation across providers.

Example:
    >>> from tarash.tarash_gateway import generate_video
    >>> from tarash.tarash_gateway.models import VideoGenerationConfig, VideoGenerationRequest
    >>> config = VideoGenerationConfig(provider="fal", model="fal-ai/veo3")
    >>> request = VideoGenerationRequest(prompt="A cat playing piano", duration_seconds=5)
    >>> response = generate_video(config, request)  # doctest: +SKIP
"""

from __future__ import annotations

from tarash.tarash_gateway.api import (
    cancel,
    cancel_async,
    generate_image,
    generate_image_async,
    generate_video,
    generate_video_async,
    status,
    status_async,
    submit_image,
    submit_image_async,
    submit_video,
    submit_video_async,
    wait,
    wait_async,
)
from tarash.tarash_gateway.errors import (
    AuthenticationError,
    ContentModerationError,
    FallbackPolicy,
    GenerationFailedError,
    HTTPConnectionError,
    HTTPError,
    InsufficientCreditError,
    JobCancelledError,
    NotFoundError,
    ProviderServerError,
    RateLimitError,
    TarashException,
    TimeoutError,
    ValidationError,
    is_retryable_error,
)
from tarash.tarash_gateway.mock import MockConfig, MockPollingConfig, MockResponse
from tarash.tarash_gateway.models import (
    AspectRatio,
    AttemptMetadata,
    ExecutionMetadata,
    ImageGenerationConfig,
    ImageGenerationRequest,
    ImageGenerationResponse,
    ImageGenerationUpdate,
    ImageType,
    JobHandle,
    Resolution,
    VideoGenerationConfig,
    VideoGenerationRequest,
    VideoGenerationResponse,
    VideoGenerationUpdate,
)
from tarash.tarash_gateway.providers import available_providers, register_provider
from tarash.tarash_gateway.providers.field_mappers import (
    get_provider_field_mapping,
    register_provider_field_mapping,
)

__all__ = [
    "AspectRatio",
    "AttemptMetadata",
    "AuthenticationError",
    "ContentModerationError",
    "ExecutionMetadata",
    "FallbackPolicy",
    "GenerationFailedError",
    "HTTPConnectionError",
    "HTTPError",
    "ImageGenerationConfig",
    "ImageGenerationRequest",
    "ImageGenerationResponse",
    "ImageGenerationUpdate",
    "ImageType",
    "InsufficientCreditError",
    "JobCancelledError",
    "JobHandle",
    "MockConfig",
    "MockPollingConfig",
    "MockResponse",
    "NotFoundError",
    "ProviderServerError",
    "RateLimitError",
    "Resolution",
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
    "generate_image",
    "generate_image_async",
    "generate_video",
    "generate_video_async",
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
]
