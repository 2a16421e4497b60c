"""Replicate models tarash knows, as data: one :class:`ModelSpec` per ``owner/name``.

Adding a model is one entry in :data:`REPLICATE_MODELS`. An id that is not registered
still works through :data:`GENERIC_SPECS` (common input names, nothing adapted) plus
``extra_params``. Input names come from each model's API page on replicate.com.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from tarash.tarash_gateway.providers._base import JobKind, ModelCapabilities
from tarash.tarash_gateway.providers._spec import ModelSpec

__all__ = ["FLUX_ASPECT_RATIOS", "GENERIC_SPECS", "REPLICATE_MODELS"]

FLUX_ASPECT_RATIOS = (
    "1:1",
    "16:9",
    "21:9",
    "3:2",
    "2:3",
    "4:5",
    "5:4",
    "3:4",
    "4:3",
    "9:16",
    "9:21",
)
"""The ``aspect_ratio`` enum of the FLUX models on Replicate (``custom`` left out)."""

_VEO3_INPUTS = {
    "prompt": "prompt",
    "aspect_ratio": "aspect_ratio",
    "duration": "duration",
    "first_frame": "image",
    "negative_prompt": "negative_prompt",
    "resolution": "resolution",
    "generate_audio": "generate_audio",
    "seed": "seed",
}

_VEO3 = ModelSpec(
    # Veo 3 on Replicate makes 8 s clips only, landscape or portrait, 720p or 1080p.
    capabilities=ModelCapabilities(
        kind="video",
        durations=(8,),
        aspect_ratios=("16:9", "9:16"),
        resolutions=("720p", "1080p"),
        accepts_last_frame=False,
        max_outputs=1,
    ),
    inputs=_VEO3_INPUTS,
    output="url",
)

_VEO31 = ModelSpec(
    # Veo 3.1 adds an end frame (``last_frame``, which needs ``image`` too).
    capabilities=ModelCapabilities(
        kind="video",
        durations=(8,),
        aspect_ratios=("16:9", "9:16"),
        resolutions=("720p", "1080p"),
        max_outputs=1,
    ),
    inputs={**_VEO3_INPUTS, "last_frame": "last_frame"},
    output="url",
)

_KLING_V21 = ModelSpec(
    # Image-to-video only: ``start_image`` is required. The default ``standard`` mode
    # renders 720p; ``extra_params={"mode": "pro"}`` gives 1080p and allows ``end_image``,
    # kept out of the unified mapping to keep it simple. The clip follows the image's
    # shape, so no aspect ratio is sent.
    capabilities=ModelCapabilities(
        kind="video",
        durations=(5, 10),
        resolutions=("720p",),
        requires_image=True,
        accepts_last_frame=False,
        accepts_audio_flag=False,
        max_outputs=1,
    ),
    inputs={
        "prompt": "prompt",
        "first_frame": "start_image",
        "duration": "duration",
        "negative_prompt": "negative_prompt",
    },
    output="url",
)

_MINIMAX_VIDEO_01 = ModelSpec(
    # Hailuo video-01 renders 6 s at 720p; ``prompt_optimizer`` is its prompt rewriter.
    capabilities=ModelCapabilities(
        kind="video",
        durations=(6,),
        resolutions=("720p",),
        accepts_last_frame=False,
        accepts_audio_flag=False,
        max_outputs=1,
    ),
    inputs={
        "prompt": "prompt",
        "first_frame": "first_frame_image",
        "enhance_prompt": "prompt_optimizer",
    },
    output="url",
)

_FLUX_INPUTS = {
    "prompt": "prompt",
    "aspect_ratio": "aspect_ratio",
    "count": "num_outputs",
    "seed": "seed",
}

_FLUX_SCHNELL = ModelSpec(
    capabilities=ModelCapabilities(
        kind="image", aspect_ratios=FLUX_ASPECT_RATIOS, accepts_image=False, max_outputs=4
    ),
    inputs=_FLUX_INPUTS,
    output="urls",
)

_FLUX_DEV = ModelSpec(
    # flux-dev also does image-to-image through ``image`` (+ ``prompt_strength``).
    capabilities=ModelCapabilities(kind="image", aspect_ratios=FLUX_ASPECT_RATIOS, max_outputs=4),
    inputs={**_FLUX_INPUTS, "first_frame": "image"},
    output="urls",
)

REPLICATE_MODELS: Mapping[str, ModelSpec] = MappingProxyType(
    {
        "google/veo-3": _VEO3,
        "google/veo-3-fast": _VEO3,
        "google/veo-3.1": _VEO31,
        "kwaivgi/kling-v2.1": _KLING_V21,
        "minimax/video-01": _MINIMAX_VIDEO_01,
        "black-forest-labs/flux-schnell": _FLUX_SCHNELL,
        "black-forest-labs/flux-dev": _FLUX_DEV,
    }
)
"""``owner/name`` -> how the unified request maps to that model's ``input``."""

_GENERIC_INPUTS = {
    "prompt": "prompt",
    "negative_prompt": "negative_prompt",
    "seed": "seed",
    "aspect_ratio": "aspect_ratio",
    "first_frame": "image",
}

# Concepts with no common input name (a last frame, an audio switch) are refused or noted
# by the adaptation step rather than dropped silently; they go in ``extra_params`` under
# the model's own names.
GENERIC_SPECS: Mapping[JobKind, ModelSpec] = MappingProxyType(
    {
        "video": ModelSpec(
            capabilities=ModelCapabilities(
                kind="video", accepts_last_frame=False, accepts_audio_flag=False
            ),
            inputs={**_GENERIC_INPUTS, "duration": "duration"},
        ),
        "image": ModelSpec(
            capabilities=ModelCapabilities(kind="image", accepts_last_frame=False),
            inputs={**_GENERIC_INPUTS, "count": "num_outputs"},
        ),
    }
)
"""The spec of a model id that is not registered, by job kind: common names, nothing adapted."""
