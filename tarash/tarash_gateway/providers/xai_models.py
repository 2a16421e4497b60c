"""xAI models tarash knows, as data: ``grok-imagine-video`` and the image models.

One video model serves three operations, each its own endpoint with its own fields: a
generation (text, or a first frame as ``image.url``) takes a duration of 1-15 s, an aspect
ratio and a resolution (480p, 720p, and 1080p since the SDK's v6 protos); an edit takes
only the video and the prompt (the output keeps the input's length and frame); an
extension continues the video for ``duration`` more seconds. The image models take a
count (1-10), an aspect ratio, and ``extra_params={"resolution": "1k" | "2k"}`` as in the
published package; input images make the request an edit (one as ``image``, several as
``images``). ``grok-imagine-image-pro`` was deprecated on 2026-05-15 for
``grok-imagine-image-quality``.

Sources (read 2026-12-07): docs.x.ai (video generation, extension and image generation
guides, the REST API reference) and xai-org/xai-sdk-python's v6 protos (commit 4dab6a4);
the published tarash-gateway 0.1.0's ``providers/xai.py`` for the model names and limits.
See docs/providers/xai.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from types import MappingProxyType
from typing import Literal

from tarash.tarash_gateway.providers._base import ModelCapabilities
from tarash.tarash_gateway.providers._lifecycle import Retirement
from tarash.tarash_gateway.providers._spec import ModelSpec

__all__ = [
    "DURATIONS",
    "GENERIC_SPECS",
    "IMAGE_ASPECT_RATIOS",
    "IMAGE_RESOLUTIONS",
    "VIDEO_ASPECT_RATIOS",
    "VIDEO_OPERATION_SPECS",
    "VIDEO_RESOLUTIONS",
    "XAI_SPECS",
    "VideoOperation",
]

VideoOperation = Literal["generations", "edits", "extensions"]
"""The video endpoint a request goes to: ``/videos/{operation}``."""

DURATIONS = tuple(range(1, 16))
"""Seconds a generation (and an extension) takes: 1 to 15."""
VIDEO_ASPECT_RATIOS = ("16:9", "9:16", "1:1", "4:3", "3:4", "3:2", "2:3")
VIDEO_RESOLUTIONS = ("480p", "720p", "1080p")
IMAGE_ASPECT_RATIOS = (
    "1:1", "16:9", "9:16", "4:3", "3:4", "3:2", "2:3", "2:1", "1:2", "19.5:9", "9:19.5",
    "20:9", "9:20", "auto",
)  # fmt: skip
IMAGE_RESOLUTIONS = ("1k", "2k")
"""``extra_params["resolution"]`` of an image request."""
MAX_IMAGES = 10

_GENERATION = ModelSpec(
    capabilities=ModelCapabilities(
        kind="video",
        durations=DURATIONS,
        aspect_ratios=VIDEO_ASPECT_RATIOS,
        resolutions=VIDEO_RESOLUTIONS,
        accepts_last_frame=False,
        accepts_audio_flag=False,
        max_outputs=1,
    ),
    inputs={
        "prompt": "prompt",
        "duration": "duration",
        "aspect_ratio": "aspect_ratio",
        "resolution": "resolution",
        "first_frame": "image",
    },
)

VIDEO_OPERATION_SPECS: Mapping[VideoOperation, ModelSpec] = MappingProxyType(
    {
        "generations": _GENERATION,
        # An edit keeps the input's length, frame and resolution: nothing else is sent.
        "edits": ModelSpec(
            capabilities=_GENERATION.capabilities,
            inputs={"prompt": "prompt", "video": "video"},
        ),
        # ``duration`` is the length added, not the total (docs.x.ai, Video Extension).
        "extensions": ModelSpec(
            capabilities=_GENERATION.capabilities,
            inputs={"prompt": "prompt", "duration": "duration", "video": "video"},
        ),
    }
)
"""Per operation, how a ``grok-imagine-video`` request maps (the registry holds the
generation's; a request with a ``video`` is an edit, or an extension on request)."""


def _image(lifecycle: Retirement | None = None) -> ModelSpec:
    return ModelSpec(
        capabilities=ModelCapabilities(
            kind="image", aspect_ratios=IMAGE_ASPECT_RATIOS, max_outputs=MAX_IMAGES
        ),
        inputs={
            "prompt": "prompt",
            "count": "n",
            "aspect_ratio": "aspect_ratio",
            "reference_images": "images",
        },
        lifecycle=lifecycle,
    )


XAI_SPECS: Mapping[str, ModelSpec] = MappingProxyType(
    {
        "grok-imagine-video": _GENERATION,
        "grok-imagine-image": _image(),
        "grok-imagine-image-quality": _image(),
        "grok-imagine-image-pro": _image(
            Retirement(
                successor="grok-imagine-image-quality",
                since=date(2026, 5, 15),
                note="xAI still serves it during a transition",
            )
        ),
        "grok-2-image": _image(),
        "grok-2-image-1212": _image(),
    }
)
"""Model id -> spec. An id not here is sent as it is, with the generic mapping."""

GENERIC_SPECS: Mapping[Literal["video", "image"], ModelSpec] = MappingProxyType(
    {
        "video": ModelSpec(
            capabilities=ModelCapabilities(kind="video"),
            inputs=_GENERATION.inputs,
        ),
        "image": ModelSpec(
            capabilities=ModelCapabilities(kind="image"),
            inputs=_image().inputs,
        ),
    }
)
