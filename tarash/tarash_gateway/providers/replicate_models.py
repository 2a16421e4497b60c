"""Replicate models tarash knows, as data: one :class:`ModelSpec` per ``owner/name``.

Adding a model is one entry in :data:`REPLICATE_MODELS`; a key ending in ``/`` (an owner)
covers that owner's other models (see :func:`~tarash.tarash_gateway.providers._spec.find_spec`).
An id that matches nothing still works through :data:`GENERIC_SPECS` (common input names,
nothing adapted) plus ``extra_params``. Input names come from each model's API page on
replicate.com.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from tarash.tarash_gateway.providers._base import JobKind, ModelCapabilities
from tarash.tarash_gateway.providers._spec import ModelSpec
from tarash.tarash_gateway.providers._spec_builder import SpecBuilder

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

# A Replicate model's output is a URL (a video) or a list of them (images); durations are
# whole seconds unless a model counts frames.
_SPECS = SpecBuilder(video_output="url", image_output="urls")
_video = _SPECS.video
_image = _SPECS.image

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

# Veo 3 on Replicate makes 8 s clips only, landscape or portrait, 720p or 1080p.
_VEO3 = _video(
    _VEO3_INPUTS, durations=(8,), aspect_ratios=("16:9", "9:16"), resolutions=("720p", "1080p")
)

# Veo 3 Fast offers 4, 6 and 8 s clips (its schema's duration enum), where Veo 3 makes 8 s.
_VEO3_FAST = _video(
    _VEO3_INPUTS,
    durations=(4, 6, 8),
    aspect_ratios=("16:9", "9:16"),
    resolutions=("720p", "1080p"),
)

# Veo 3.1 adds an end frame (``last_frame``, which needs ``image`` too), 1-3
# ``reference_images`` (16:9, 8 s only) and 4 or 6 s clips.
_VEO31 = _video(
    {**_VEO3_INPUTS, "last_frame": "last_frame", "reference_images": "reference_images"},
    durations=(4, 6, 8),
    aspect_ratios=("16:9", "9:16"),
    resolutions=("720p", "1080p"),
)

# Image-to-video only: ``start_image`` is required. The default ``standard`` mode renders
# 720p; ``extra_params={"mode": "pro"}`` gives 1080p and allows ``end_image``, kept out of
# the unified mapping to keep it simple. The clip follows the image's shape, so no aspect
# ratio is sent.
_KLING_V21 = _video(
    {
        "prompt": "prompt",
        "first_frame": "start_image",
        "duration": "duration",
        "negative_prompt": "negative_prompt",
    },
    durations=(5, 10),
    resolutions=("720p",),
    requires_image=True,
)

# Hailuo video-01 renders 6 s at 720p; ``prompt_optimizer`` is its prompt rewriter.
_MINIMAX_VIDEO_01 = _video(
    {
        "prompt": "prompt",
        "first_frame": "first_frame_image",
        "enhance_prompt": "prompt_optimizer",
    },
    durations=(6,),
    resolutions=("720p",),
)

_FLUX_INPUTS = {
    "prompt": "prompt",
    "aspect_ratio": "aspect_ratio",
    "count": "num_outputs",
    "seed": "seed",
}

_FLUX_SCHNELL = _image(_FLUX_INPUTS, aspect_ratios=FLUX_ASPECT_RATIOS, max_outputs=4)

# flux-dev also does image-to-image through ``image`` (+ ``prompt_strength``).
_FLUX_DEV = _image(
    {**_FLUX_INPUTS, "first_frame": "image"}, aspect_ratios=FLUX_ASPECT_RATIOS, max_outputs=4
)


# Kling (kwaivgi): ``start_image`` / ``end_image``, duration 5 or 10 (an int). v1.6
# standard takes ``reference_images`` too; v2.6 an audio switch. The published table maps
# every ``kwaivgi/kling*`` id to kling-v2.1's inputs; here each is its own.
_KLING_RATIOS = ("16:9", "9:16", "1:1")
_KLING_BASE = {
    "prompt": "prompt",
    "negative_prompt": "negative_prompt",
    "duration": "duration",
    "aspect_ratio": "aspect_ratio",
    "first_frame": "start_image",
}
_KLING_V16_STANDARD = _video(
    {**_KLING_BASE, "reference_images": "reference_images"},
    durations=(5, 10),
    aspect_ratios=_KLING_RATIOS,
)
_KLING_V16_PRO = _video(
    {**_KLING_BASE, "last_frame": "end_image"}, durations=(5, 10), aspect_ratios=_KLING_RATIOS
)
_KLING_TEXT_OR_IMAGE = _video(_KLING_BASE, durations=(5, 10), aspect_ratios=_KLING_RATIOS)
_KLING_V25_TURBO = _video(
    {**_KLING_BASE, "last_frame": "end_image"}, durations=(5, 10), aspect_ratios=_KLING_RATIOS
)
_KLING_V26 = _video(
    {**_KLING_BASE, "generate_audio": "generate_audio"},
    durations=(5, 10),
    aspect_ratios=_KLING_RATIOS,
)
_KLING_FAMILY = _video({**_KLING_BASE, "last_frame": "end_image"}, durations=(5, 10))
# Kling lip sync: a video (or a Kling ``video_id``) and ``audio_file`` or ``text``
# (extra_params); no prompt.
_KLING_LIP_SYNC = _video({"video": "video_url"})

# MiniMax / Hailuo: ``first_frame_image``, ``prompt_optimizer``. hailuo-02 and 2.3 take a
# duration of 6 or 10 s and a resolution written "512p" / "768p" / "1080p" (480p and 720p
# are asked for as the nearest of those). The published table sends fal's ``image_url``
# and "6s", which Replicate's schema refuses.
_MINIMAX_BASE = {
    "prompt": "prompt",
    "first_frame": "first_frame_image",
    "enhance_prompt": "prompt_optimizer",
}
_MINIMAX_LIVE = _video(_MINIMAX_BASE, durations=(6,), resolutions=("720p",), requires_image=True)
_MINIMAX_DIRECTOR = _video(_MINIMAX_BASE, durations=(6,), resolutions=("720p",))
_HAILUO_RESOLUTION = {"480p": "512p", "720p": "768p"}
_HAILUO02 = _video(
    {
        **_MINIMAX_BASE,
        "duration": "duration",
        "resolution": "resolution",
        "last_frame": "last_frame_image",
    },
    durations=(6, 10),
    resolutions=("480p", "720p", "1080p"),
    values={"resolution": _HAILUO_RESOLUTION},
)
_HAILUO23 = _video(
    {**_MINIMAX_BASE, "duration": "duration", "resolution": "resolution"},
    durations=(6, 10),
    resolutions=("720p", "1080p"),
    values={"resolution": _HAILUO_RESOLUTION},
)
_HAILUO23_FAST = _video(
    {**_MINIMAX_BASE, "duration": "duration", "resolution": "resolution"},
    durations=(6, 10),
    resolutions=("720p", "1080p"),
    values={"resolution": _HAILUO_RESOLUTION},
    requires_image=True,
)
_MINIMAX_FAMILY = _video({**_MINIMAX_BASE, "duration": "duration"})
_MINIMAX_IMAGE_01 = _image(
    {"prompt": "prompt", "aspect_ratio": "aspect_ratio", "count": "number_of_images"},
    aspect_ratios=("1:1", "16:9", "4:3", "3:2", "2:3", "3:4", "9:16", "21:9"),
    max_outputs=9,
)

# Luma (Ray / Dream Machine): ``start_image_url`` / ``end_image_url`` (URLs), ``loop``
# through extra_params; photon models make images.
_LUMA_RATIOS = ("1:1", "3:4", "4:3", "9:16", "16:9", "9:21", "21:9")
_LUMA = _video(
    {
        "prompt": "prompt",
        "aspect_ratio": "aspect_ratio",
        "first_frame": "start_image_url",
        "last_frame": "end_image_url",
    },
    aspect_ratios=_LUMA_RATIOS,
)
# Ray 2 (and Ray Flash 2) at 540p/720p take a duration of 5 or 9 s (replicate.com's
# input schema of luma/ray-2-720p and luma/ray-flash-2-720p), which Dream Machine's mapping
# left out: a duration asked was dropped as unsupported.
_LUMA_RAY = _video(
    {
        "prompt": "prompt",
        "aspect_ratio": "aspect_ratio",
        "duration": "duration",
        "first_frame": "start_image_url",
        "last_frame": "end_image_url",
    },
    durations=(5, 9),
    aspect_ratios=_LUMA_RATIOS,
)
_LUMA_PHOTON = _image(
    {"prompt": "prompt", "aspect_ratio": "aspect_ratio", "seed": "seed"},
    aspect_ratios=_LUMA_RATIOS,
)

# Wan: 2.2 fast counts frames (``num_frames`` 81-121 at 16 fps: 5-7 s; the published
# table multiplies by 24); 2.5 takes a duration of 5 or 10 s and ``audio`` (extra_params).
_WAN_BASE = {"prompt": "prompt", "seed": "seed"}
_WAN22_FRAMES: dict[str, Any] = {
    "durations": (5, 6, 7),
    "duration_format": "frames",
    "frame_rate": 16,
    "resolutions": ("480p", "720p"),
}
_WAN22_T2V = _video(
    {
        **_WAN_BASE,
        "aspect_ratio": "aspect_ratio",
        "resolution": "resolution",
        "duration": "num_frames",
    },
    aspect_ratios=("16:9", "9:16"),
    **_WAN22_FRAMES,
)
_WAN22_I2V = _video(
    {**_WAN_BASE, "resolution": "resolution", "duration": "num_frames", "first_frame": "image"},
    requires_image=True,
    **_WAN22_FRAMES,
)
_WAN25_BASE = {
    **_WAN_BASE,
    "negative_prompt": "negative_prompt",
    "duration": "duration",
    "enhance_prompt": "enable_prompt_expansion",
}
_WAN25_T2V = _video(_WAN25_BASE, durations=(5, 10))
_WAN25_I2V = _video(
    {**_WAN25_BASE, "resolution": "resolution", "first_frame": "image"},
    durations=(5, 10),
    resolutions=("480p", "720p", "1080p"),
    requires_image=True,
)
_WAN_FAMILY = _video({**_WAN_BASE, "negative_prompt": "negative_prompt", "first_frame": "image"})

# Images. FLUX.2 [pro]/[flex] take ``input_images`` (their API pages; the published table
# sends ``reference_images``); SD 3.5 and Z-Image Turbo one image a job.
_FLUX2_RATIOS = ("1:1", "16:9", "3:2", "2:3", "4:5", "5:4", "9:16", "3:4", "4:3")
_FLUX2_PRO = _image(
    {
        "prompt": "prompt",
        "aspect_ratio": "aspect_ratio",
        "seed": "seed",
        "reference_images": "input_images",
    },
    aspect_ratios=_FLUX2_RATIOS,
)
_SD35 = _image(
    {
        "prompt": "prompt",
        "negative_prompt": "negative_prompt",
        "aspect_ratio": "aspect_ratio",
        "seed": "seed",
        "first_frame": "image",
    },
    aspect_ratios=("1:1", "16:9", "21:9", "3:2", "2:3", "4:5", "5:4", "3:4", "4:3", "9:16", "9:21"),
)
_Z_IMAGE_TURBO = _image(
    {
        "prompt": "prompt",
        "negative_prompt": "negative_prompt",
        "aspect_ratio": "aspect_ratio",
        "seed": "seed",
    }
)

REPLICATE_MODELS: Mapping[str, ModelSpec] = MappingProxyType(
    {
        "google/veo-3": _VEO3,
        "google/veo-3-fast": _VEO3_FAST,
        "google/veo-3.1": _VEO31,
        "google/veo-3.1-fast": _VEO31,
        "kwaivgi/kling-v1.6-standard": _KLING_V16_STANDARD,
        "kwaivgi/kling-v1.6-pro": _KLING_V16_PRO,
        "kwaivgi/kling-v2.0": _KLING_TEXT_OR_IMAGE,
        "kwaivgi/kling-v2.1": _KLING_V21,
        "kwaivgi/kling-v2.1-master": _KLING_TEXT_OR_IMAGE,
        "kwaivgi/kling-v2.5-turbo-pro": _KLING_V25_TURBO,
        "kwaivgi/kling-v2.6": _KLING_V26,
        "kwaivgi/kling-lip-sync": _KLING_LIP_SYNC,
        "kwaivgi/": _KLING_FAMILY,
        "minimax/video-01": _MINIMAX_VIDEO_01,
        "minimax/video-01-live": _MINIMAX_LIVE,
        "minimax/video-01-director": _MINIMAX_DIRECTOR,
        "minimax/hailuo-02": _HAILUO02,
        "minimax/hailuo-02-fast": _HAILUO02,
        "minimax/hailuo-2.3": _HAILUO23,
        "minimax/hailuo-2.3-fast": _HAILUO23_FAST,
        "minimax/image-01": _MINIMAX_IMAGE_01,
        "minimax/": _MINIMAX_FAMILY,
        "hailuo/": _MINIMAX_FAMILY,
        "luma/photon": _LUMA_PHOTON,
        "luma/photon-flash": _LUMA_PHOTON,
        "luma/dream-machine": _LUMA,
        "luma/ray-2-540p": _LUMA_RAY,
        "luma/ray-2-720p": _LUMA_RAY,
        "luma/ray-flash-2-540p": _LUMA_RAY,
        "luma/ray-flash-2-720p": _LUMA_RAY,
        "luma/": _LUMA,
        "wan-video/wan-2.2-t2v-fast": _WAN22_T2V,
        "wan-video/wan-2.2-i2v-fast": _WAN22_I2V,
        "wan-video/wan-2.5-t2v": _WAN25_T2V,
        "wan-video/wan-2.5-t2v-fast": _WAN25_T2V,
        "wan-video/wan-2.5-i2v": _WAN25_I2V,
        "wan-video/wan-2.5-i2v-fast": _WAN25_I2V,
        "wan-video/": _WAN_FAMILY,
        "alibaba/wan": _WAN_FAMILY,
        "black-forest-labs/flux-schnell": _FLUX_SCHNELL,
        "black-forest-labs/flux-dev": _FLUX_DEV,
        # Replicate's id is flux-2-pro; the published package registers flux.2-pro.
        "black-forest-labs/flux-2-pro": _FLUX2_PRO,
        "black-forest-labs/flux.2-pro": _FLUX2_PRO,
        "black-forest-labs/flux-2-flex": _FLUX2_PRO,
        "stability-ai/stable-diffusion-3.5-large": _SD35,
        "stability-ai/stable-diffusion-3.5-large-turbo": _SD35,
        "stability-ai/stable-diffusion-3.5-medium": _SD35,
        "tongyi-mai/z-image-turbo": _Z_IMAGE_TURBO,
    }
)
"""``owner/name`` or a family prefix (see :func:`~._spec.find_spec`) -> how the unified
request maps to that model's ``input``."""


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
