"""The unions the internal modules type a generation with, whatever its kind.

One home for them (the data layer) so that the router, the chain, the attempt, the batch,
the cli and the handler attempts mean the same thing by ``Config``. The public names are
per kind (``VideoGenerationConfig``, ``ProgressCallback`` of :mod:`~tarash.tarash_gateway.models`
for a video's updates); these are private shorthands, not published.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tarash.tarash_gateway.models import (
    AudioGenerationConfig,
    ImageGenerationConfig,
    ImageGenerationRequest,
    ImageGenerationResponse,
    ImageGenerationUpdate,
    STSRequest,
    STSResponse,
    TTSRequest,
    TTSResponse,
    VideoGenerationConfig,
    VideoGenerationRequest,
    VideoGenerationResponse,
    VideoGenerationUpdate,
)

__all__ = [
    "AnyConfig",
    "AnyRequest",
    "AnyResponse",
    "Config",
    "ProgressCallback",
    "Request",
    "Response",
    "Update",
]

Config = VideoGenerationConfig | ImageGenerationConfig
"""A video or image generation's config."""
Request = VideoGenerationRequest | ImageGenerationRequest
"""A video or image request."""
Response = VideoGenerationResponse | ImageGenerationResponse
"""A video or image response."""
Update = VideoGenerationUpdate | ImageGenerationUpdate
"""A progress update of a video or image job."""
ProgressCallback = Callable[[Any], Any]
"""Any kind's ``on_progress``, sync or async (the public functions type it per kind:
``models.ProgressCallback`` is a video's)."""

AnyConfig = Config | AudioGenerationConfig
"""A config of any kind, audio included (what a provider handler may be given)."""
AnyRequest = Request | TTSRequest | STSRequest
"""A request of any kind, audio included."""
AnyResponse = Response | TTSResponse | STSResponse
"""A response of any kind, audio included."""
