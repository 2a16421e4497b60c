"""The fal.ai models tarash knows, as data: adding a model is one entry in :data:`FAL_MODELS`.

Field names, enums and durations are those of each model's fal schema page
(``https://fal.ai/models/<model_id>/api``). A model id that is not listed still works
through :data:`GENERIC_VIDEO_SPEC` / :data:`GENERIC_IMAGE_SPEC` (common fal field names,
nothing adapted) plus ``extra_params``.
"""

from __future__ import annotations

from tarash.tarash_gateway.providers._base import ModelCapabilities
from tarash.tarash_gateway.providers._spec import ModelSpec

__all__ = [
    "FAL_MODELS",
    "GENERIC_IMAGE_SPEC",
    "GENERIC_VIDEO_SPEC",
    "IMAGE_SIZE_PRESETS",
]

IMAGE_SIZE_PRESETS: dict[str, str] = {
    "1:1": "square_hd",
    "4:3": "landscape_4_3",
    "3:4": "portrait_4_3",
    "16:9": "landscape_16_9",
    "9:16": "portrait_16_9",
}
"""Aspect ratio -> the ``image_size`` enum of flux-family models (fal-ai/flux/dev schema)."""

# -- Veo 3 (Google, on fal) ---------------------------------------------------------------

_VEO3_INPUTS = {
    "prompt": "prompt",
    "negative_prompt": "negative_prompt",
    "seed": "seed",
    "aspect_ratio": "aspect_ratio",
    "resolution": "resolution",
    "generate_audio": "generate_audio",
    "enhance_prompt": "enhance_prompt",
    "duration": "duration",
}

_VEO3_TEXT = ModelSpec(
    capabilities=ModelCapabilities(
        kind="video",
        durations=(4, 6, 8),
        aspect_ratios=("16:9", "9:16"),
        resolutions=("720p", "1080p"),
        accepts_image=False,
        accepts_last_frame=False,
        max_outputs=1,
    ),
    inputs=_VEO3_INPUTS,
    duration_format="str_s",  # "4s" | "6s" | "8s"
    output="video.url",
)

_VEO3_IMAGE = ModelSpec(
    capabilities=ModelCapabilities(
        kind="video",
        durations=(4, 6, 8),
        aspect_ratios=("auto", "16:9", "9:16"),
        resolutions=("720p", "1080p"),
        requires_image=True,
        accepts_last_frame=False,
        max_outputs=1,
    ),
    inputs={**_VEO3_INPUTS, "first_frame": "image_url"},
    duration_format="str_s",
    output="video.url",
)

# -- Kling 2.1 image-to-video -------------------------------------------------------------
# No aspect ratio or resolution input: the output follows the input image. No audio.


def _kling(*, tail_image: bool) -> ModelSpec:
    inputs = {
        "prompt": "prompt",
        "negative_prompt": "negative_prompt",
        "duration": "duration",
        "first_frame": "image_url",
    }
    if tail_image:
        inputs["last_frame"] = "tail_image_url"
    return ModelSpec(
        capabilities=ModelCapabilities(
            kind="video",
            durations=(5, 10),
            requires_image=True,
            accepts_last_frame=tail_image,
            accepts_audio_flag=False,
            max_outputs=1,
        ),
        inputs=inputs,
        duration_format="str",  # "5" | "10"
        output="video.url",
    )


# -- FLUX.1 text-to-image -----------------------------------------------------------------
# ``image_size`` is a preset from the aspect ratio, or {"width", "height"} from
# request.size (see IMAGE_SIZE_PRESETS; the provider module builds the value).

_FLUX = ModelSpec(
    capabilities=ModelCapabilities(
        kind="image",
        aspect_ratios=tuple(IMAGE_SIZE_PRESETS),
        accepts_image=False,
        max_outputs=4,
    ),
    inputs={
        "prompt": "prompt",
        "seed": "seed",
        "aspect_ratio": "image_size",
        "size": "image_size",
        "count": "num_images",
    },
    output="images",
)

FAL_MODELS: dict[str, ModelSpec] = {
    "fal-ai/veo3": _VEO3_TEXT,
    "fal-ai/veo3/fast": _VEO3_TEXT,
    "fal-ai/veo3/image-to-video": _VEO3_IMAGE,
    "fal-ai/kling-video/v2.1/standard/image-to-video": _kling(tail_image=False),
    "fal-ai/kling-video/v2.1/pro/image-to-video": _kling(tail_image=True),
    "fal-ai/flux/dev": _FLUX,
    "fal-ai/flux/schnell": _FLUX,
}
"""Registered fal model id -> how a unified request maps to its input."""

GENERIC_VIDEO_SPEC = ModelSpec(
    # Last frames have no common field name across fal models: pass the model's own field
    # through extra_params rather than have it dropped silently.
    capabilities=ModelCapabilities(kind="video", accepts_last_frame=False),
    inputs={
        "prompt": "prompt",
        "negative_prompt": "negative_prompt",
        "seed": "seed",
        "aspect_ratio": "aspect_ratio",
        "resolution": "resolution",
        "generate_audio": "generate_audio",
        "duration": "duration",
        "first_frame": "image_url",
    },
    duration_format="int",
)
"""Spec of an unregistered video model: fal's common field names, nothing adapted."""

GENERIC_IMAGE_SPEC = ModelSpec(
    capabilities=ModelCapabilities(kind="image"),
    inputs={
        "prompt": "prompt",
        "negative_prompt": "negative_prompt",
        "seed": "seed",
        "aspect_ratio": "aspect_ratio",
        "size": "image_size",
        "count": "num_images",
        "first_frame": "image_url",
    },
)
"""Spec of an unregistered image model: fal's common field names, nothing adapted."""
