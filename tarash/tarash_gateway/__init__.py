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
)
from tarash.tarash_gateway.models import (
    AttemptMetadata,
    ExecutionMetadata,
    ImageGenerationConfig,
    ImageGenerationRequest,
    ImageGenerationResponse,
    ImageGenerationUpdate,
    JobHandle,
    VideoGenerationConfig,
    VideoGenerationRequest,
    VideoGenerationResponse,
    VideoGenerationUpdate,
)
from tarash.tarash_gateway.providers import available_providers, register_provider

__all__ = [
    "AttemptMetadata",
    "AuthenticationError",
    "ContentModerationError",
    "ExecutionMetadata",
    "GenerationFailedError",
    "HTTPConnectionError",
    "HTTPError",
    "ImageGenerationConfig",
    "ImageGenerationRequest",
    "ImageGenerationResponse",
    "ImageGenerationUpdate",
    "InsufficientCreditError",
    "JobCancelledError",
    "JobHandle",
    "NotFoundError",
    "ProviderServerError",
    "RateLimitError",
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
    "register_provider",
    "status",
    "status_async",
    "submit_image",
    "submit_image_async",
    "submit_video",
    "submit_video_async",
    "wait",
    "wait_async",
]
