"""The fal.ai models tarash knows, as data: adding a model is one entry in :data:`FAL_MODELS`.

Field names, enums and durations are those of each model's fal schema page
(``https://fal.ai/models/<model_id>/api``). A key is a model id or a family prefix: the
lookup (:func:`~tarash.tarash_gateway.providers._spec.find_spec`) takes the exact id, else
the longest family prefix at a ``/``. A model id that matches nothing still works
through :data:`GENERIC_VIDEO_SPEC` / :data:`GENERIC_IMAGE_SPEC` (common fal field names,
nothing adapted) plus ``extra_params``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tarash.tarash_gateway.providers._base import ModelCapabilities
from tarash.tarash_gateway.providers._spec import ModelSpec
from tarash.tarash_gateway.providers._spec_builder import SpecBuilder

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

# fal outputs keep a video at ``video.url`` and images in ``images``; most fal models write
# a duration as a string without "s". An image model that takes the aspect ratio as an
# ``image_size`` offers the presets (the provider module turns the ratio into one).
_SPECS = SpecBuilder(
    video_output="video.url",
    image_output="images",
    duration_format="str",
    field_ratios={"image_size": tuple(IMAGE_SIZE_PRESETS)},
)
_video = _SPECS.video
_image = _SPECS.image

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

_VEO3_TEXT = _video(
    _VEO3_INPUTS,
    durations=(4, 6, 8),
    duration_format="str_s",  # "4s" | "6s" | "8s"
    aspect_ratios=("16:9", "9:16"),
    resolutions=("720p", "1080p"),
)

_VEO3_IMAGE = _video(
    {**_VEO3_INPUTS, "first_frame": "image_url"},
    durations=(4, 6, 8),
    duration_format="str_s",
    aspect_ratios=("auto", "16:9", "9:16"),
    resolutions=("720p", "1080p"),
    requires_image=True,
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
    return _video(inputs, durations=(5, 10), requires_image=True)  # "5" | "10"


# -- FLUX.1 text-to-image -----------------------------------------------------------------
# ``image_size`` is a preset from the aspect ratio, or {"width", "height"} from
# request.size (see IMAGE_SIZE_PRESETS; the provider module builds the value).

_FLUX = _image(
    {
        "prompt": "prompt",
        "seed": "seed",
        "aspect_ratio": "image_size",
        "size": "image_size",
        "count": "num_images",
    },
    max_outputs=4,
)

# -- Families by prefix -------------------------------------------------------------------
# Field names, enums and duration formats per fal's model pages (``/llms.txt``); where the
# published tarash-gateway 0.1.0 tables disagree with a page, the page wins (noted inline).
# A family key ending in "/" is the lenient default of every variant under it: it maps each
# input the family is known to take and refuses nothing it might accept; the variants whose
# schema is known are registered exactly (text-to-video refusing images, image-to-video
# requiring one).


_IMAGE_SIZE = {"aspect_ratio": "image_size", "size": "image_size"}
_PROMPT_SEED = {"prompt": "prompt", "seed": "seed"}

# Veo 3.1: text (``fal-ai/veo3.1``, ``/fast``), image, first+last frame, references, and
# extend-video (a 7 s continuation at 720p of a given video).
_VEO31_RESOLUTIONS = ("720p", "1080p", "4k")
_VEO31_TEXT = _video(
    _VEO3_INPUTS,
    durations=(4, 6, 8),
    duration_format="str_s",
    aspect_ratios=("16:9", "9:16"),
    resolutions=_VEO31_RESOLUTIONS,
)
_VEO31_IMAGE = _video(
    {**_VEO3_INPUTS, "first_frame": "image_url"},
    durations=(4, 6, 8),
    duration_format="str_s",
    aspect_ratios=("auto", "16:9", "9:16"),
    resolutions=_VEO31_RESOLUTIONS,
    requires_image=True,
)
_VEO31_FIRST_LAST = _video(
    {**_VEO3_INPUTS, "first_frame": "first_frame_url", "last_frame": "last_frame_url"},
    durations=(4, 6, 8),
    duration_format="str_s",
    aspect_ratios=("auto", "16:9", "9:16"),
    resolutions=_VEO31_RESOLUTIONS,
    requires_image=True,
)
_VEO31_REFERENCE = _video(
    {**_VEO3_INPUTS, "reference_images": "image_urls"},
    durations=(8,),
    duration_format="str_s",
    aspect_ratios=("16:9", "9:16"),
    resolutions=("720p", "1080p"),
    requires_image=True,
)
_VEO31_EXTEND = _video(
    {**_VEO3_INPUTS, "video": "video_url"},
    durations=(7,),
    duration_format="str_s",
    aspect_ratios=("auto", "16:9", "9:16"),
    resolutions=("720p",),
    required=("video_url",),
)


def _veo_family(resolutions: tuple[str, ...]) -> ModelSpec:
    return _video(
        {**_VEO3_INPUTS, "first_frame": "image_url", "video": "video_url"},
        durations=(4, 6, 8),
        duration_format="str_s",
        resolutions=resolutions,
    )


# Sora 2: duration is an int (4, 8 or 12); ``/pro`` variants add 1080p. Remix rewrites a
# Sora-made video named by ``video_id`` (extra_params) and keeps its length and shape.
_SORA2_INPUTS = {
    "prompt": "prompt",
    "aspect_ratio": "aspect_ratio",
    "resolution": "resolution",
    "duration": "duration",
}


def _sora2(*, image: bool, pro: bool) -> ModelSpec:
    return _video(
        {**_SORA2_INPUTS, "first_frame": "image_url"} if image else _SORA2_INPUTS,
        durations=(4, 8, 12),
        duration_format="int",
        aspect_ratios=("auto", "16:9", "9:16") if image else ("16:9", "9:16"),
        resolutions=("720p", "1080p") if pro else ("720p",),
        requires_image=image,
    )


_SORA2_REMIX = _video({"prompt": "prompt"}, required=("video_id",))

# Kling on fal: durations are strings without "s". v2.6 image-to-video takes
# ``start_image_url`` (its fal page; the published table sends ``image_url``), motion
# control ``image_url`` + ``video_url``. v3 and o3 offer 3-15 s; o1 5 or 10 s.
_KLING_RATIOS = ("16:9", "9:16", "1:1")
_KLING_3_TO_15 = tuple(range(3, 16))
_KLING_TEXT = {
    "prompt": "prompt",
    "negative_prompt": "negative_prompt",
    "duration": "duration",
    "aspect_ratio": "aspect_ratio",
    "generate_audio": "generate_audio",
}
_KLING_V26_TEXT = _video(_KLING_TEXT, durations=(5, 10), aspect_ratios=_KLING_RATIOS)
_KLING_V26_IMAGE = _video(
    {
        "prompt": "prompt",
        "negative_prompt": "negative_prompt",
        "duration": "duration",
        "generate_audio": "generate_audio",
        "first_frame": "start_image_url",
    },
    durations=(5, 10),
    requires_image=True,
)
_KLING_V26_MOTION = _video(
    {"prompt": "prompt", "first_frame": "image_url", "video": "video_url"},
    requires_image=True,
    required=("video_url",),
)
_KLING_V26_FAMILY = _video(
    {**_KLING_TEXT, "first_frame": "start_image_url", "video": "video_url"},
    durations=(5, 10),
)
# Kling V3 and O3 (text, image and reference to video) take a multi-shot ``multi_prompt``
# instead of the prompt: "Either prompt or multi_prompt must be provided, but not both"
# (fal-ai/fal-js ``libs/client/src/types/endpoints.ts`` at 381105e, 2026-08-02:
# KlingVideoV34kTextToVideoInput, ...ImageToVideoInput, O3ProTextToVideoInput,
# O3ProImageToVideoInput, O3ProReferenceVideoI2VInput).
_MULTI_PROMPT = ("multi_prompt",)
_KLING_V3_TEXT = _video(
    _KLING_TEXT,
    durations=_KLING_3_TO_15,
    aspect_ratios=_KLING_RATIOS,
    prompt_alternatives=_MULTI_PROMPT,
)
_KLING_V3_IMAGE = _video(
    {
        "prompt": "prompt",
        "negative_prompt": "negative_prompt",
        "duration": "duration",
        "generate_audio": "generate_audio",
        "first_frame": "start_image_url",
        "last_frame": "end_image_url",
    },
    durations=_KLING_3_TO_15,
    requires_image=True,
    prompt_alternatives=_MULTI_PROMPT,
)
_KLING_V3_FAMILY = _video(
    {**_KLING_TEXT, "first_frame": "start_image_url", "last_frame": "end_image_url"},
    durations=_KLING_3_TO_15,
    prompt_alternatives=_MULTI_PROMPT,
)
_KLING_O1_IMAGE = _video(
    {
        "prompt": "prompt",
        "duration": "duration",
        "first_frame": "start_image_url",
        "last_frame": "end_image_url",
    },
    durations=(5, 10),
    requires_image=True,
)
_KLING_O1_REFERENCE = _video(
    {
        "prompt": "prompt",
        "duration": "duration",
        "aspect_ratio": "aspect_ratio",
        "reference_images": "image_urls",
    },
    durations=(5, 10),
    aspect_ratios=_KLING_RATIOS,
)
_KLING_O1_EDIT = _video(
    {"prompt": "prompt", "video": "video_url", "reference_images": "image_urls"},
    required=("video_url",),
)
_KLING_O1_VIDEO_REFERENCE = _video(
    {
        "prompt": "prompt",
        "duration": "duration",
        "aspect_ratio": "aspect_ratio",
        "video": "video_url",
        "reference_images": "image_urls",
    },
    durations=(5, 10),
    aspect_ratios=_KLING_RATIOS,
    required=("video_url",),
)
_KLING_O1_FAMILY = _video(
    {
        "prompt": "prompt",
        "duration": "duration",
        "aspect_ratio": "aspect_ratio",
        "first_frame": "start_image_url",
        "last_frame": "end_image_url",
        "reference_images": "image_urls",
        "video": "video_url",
    },
    durations=(5, 10),
)
_KLING_O3_TEXT = _video(
    {
        "prompt": "prompt",
        "duration": "duration",
        "aspect_ratio": "aspect_ratio",
        "generate_audio": "generate_audio",
    },
    durations=_KLING_3_TO_15,
    aspect_ratios=_KLING_RATIOS,
    prompt_alternatives=_MULTI_PROMPT,
)
_KLING_O3_IMAGE = _video(
    # o3 image-to-video names its start frame ``image_url`` (fal page), unlike v3.
    {
        "prompt": "prompt",
        "duration": "duration",
        "generate_audio": "generate_audio",
        "first_frame": "image_url",
        "last_frame": "end_image_url",
    },
    durations=_KLING_3_TO_15,
    requires_image=True,
    prompt_alternatives=_MULTI_PROMPT,
)
_KLING_O3_REFERENCE = _video(
    {
        "prompt": "prompt",
        "duration": "duration",
        "aspect_ratio": "aspect_ratio",
        "generate_audio": "generate_audio",
        "first_frame": "start_image_url",
        "last_frame": "end_image_url",
        "reference_images": "image_urls",
    },
    durations=_KLING_3_TO_15,
    aspect_ratios=_KLING_RATIOS,
    prompt_alternatives=_MULTI_PROMPT,
)

# MiniMax / Hailuo: video-01* make 6 s clips and take no duration; hailuo-02 takes "6" or
# "10" (no "s", per its fal page; the published table sends "6s"). Resolutions are written
# "512P"/"768P": 480p and 720p are asked for as the nearest of those.
_MINIMAX_TEXT = {"prompt": "prompt", "enhance_prompt": "prompt_optimizer"}
_MINIMAX_V01_TEXT = _video(_MINIMAX_TEXT, durations=(6,))
_MINIMAX_V01_IMAGE = _video(
    {**_MINIMAX_TEXT, "first_frame": "image_url"}, durations=(6,), requires_image=True
)
_HAILUO02_TEXT = _video({**_MINIMAX_TEXT, "duration": "duration"}, durations=(6, 10))
_HAILUO02_IMAGE = _video(
    {**_MINIMAX_TEXT, "duration": "duration", "first_frame": "image_url"},
    durations=(6, 10),
    requires_image=True,
)
_HAILUO02_STANDARD_IMAGE = _video(
    {
        **_MINIMAX_TEXT,
        "duration": "duration",
        "resolution": "resolution",
        "first_frame": "image_url",
    },
    durations=(6, 10),
    resolutions=("480p", "720p"),
    values={"resolution": {"480p": "512P", "720p": "768P"}},
    requires_image=True,
)
_HAILUO02_PRO_TEXT = _video(_MINIMAX_TEXT, durations=(6,), resolutions=("1080p",))
_HAILUO02_PRO_IMAGE = _video(
    {**_MINIMAX_TEXT, "first_frame": "image_url"},
    durations=(6,),
    resolutions=("1080p",),
    requires_image=True,
)
_MINIMAX_FAMILY = _video(
    {**_MINIMAX_TEXT, "duration": "duration", "first_frame": "image_url"}, durations=(6, 10)
)

# PixVerse v5 / v5.5: durations "5" | "8" (v5.5 adds "10"); v5.5's audio switch is
# ``generate_audio_switch``. Transition takes first and end frames; effects an image and
# an ``effect`` (extra_params); swap a video and an image; lipsync a video and an
# ``audio_url`` or ``text`` (extra_params). Swap and lipsync take no prompt.
_PIXVERSE_RATIOS = ("16:9", "4:3", "1:1", "3:4", "9:16")
_PIXVERSE_RESOLUTIONS = ("360p", "540p", "720p", "1080p")


def _pixverse(version: str) -> dict[str, ModelSpec]:
    durations = (5, 8, 10) if version == "v5.5" else (5, 8)
    base = {
        "prompt": "prompt",
        "negative_prompt": "negative_prompt",
        "seed": "seed",
        "resolution": "resolution",
        "duration": "duration",
    }
    if version == "v5.5":
        base["generate_audio"] = "generate_audio_switch"
    common: dict[str, Any] = {"durations": durations, "resolutions": _PIXVERSE_RESOLUTIONS}
    prefix = f"fal-ai/pixverse/{version}"
    return {
        f"{prefix}/text-to-video": _video(
            {**base, "aspect_ratio": "aspect_ratio"}, aspect_ratios=_PIXVERSE_RATIOS, **common
        ),
        f"{prefix}/image-to-video": _video(
            {**base, "first_frame": "image_url"}, requires_image=True, **common
        ),
        f"{prefix}/transition": _video(
            {
                **base,
                "aspect_ratio": "aspect_ratio",
                "first_frame": "first_image_url",
                "last_frame": "end_image_url",
            },
            aspect_ratios=_PIXVERSE_RATIOS,
            requires_image=True,
            **common,
        ),
        f"{prefix}/effects": _video(
            {"resolution": "resolution", "duration": "duration", "first_frame": "image_url"},
            requires_image=True,
            required=("effect",),
            **common,
        ),
        f"{prefix}/": _video(
            {
                **base,
                "aspect_ratio": "aspect_ratio",
                "first_frame": "image_url",
                "last_frame": "end_image_url",
            },
            **common,
        ),
    }


_PIXVERSE_SWAP = _video(
    {"first_frame": "image_url", "video": "video_url"},
    requires_image=True,
    required=("video_url",),
)
_PIXVERSE_LIPSYNC = _video({"video": "video_url"}, required=("video_url",))

# ByteDance Seedance (v1 lite/pro, v1.5): durations "2".."12"; only v1.5 has an audio
# switch. Image-to-video takes start and end frames, lite reference-to-video 1-4 images.
_SEEDANCE_RATIOS = ("21:9", "16:9", "4:3", "1:1", "3:4", "9:16")
_SEEDANCE_RESOLUTIONS = ("480p", "720p", "1080p")
_SEEDANCE_DURATIONS = tuple(range(2, 13))
_SEEDANCE_BASE = {
    "prompt": "prompt",
    "aspect_ratio": "aspect_ratio",
    "resolution": "resolution",
    "duration": "duration",
    "seed": "seed",
}


def _seedance(*, image: bool, audio: bool) -> ModelSpec:
    inputs = dict(_SEEDANCE_BASE)
    if image:
        inputs |= {"first_frame": "image_url", "last_frame": "end_image_url"}
    if audio:
        inputs["generate_audio"] = "generate_audio"
    return _video(
        inputs,
        durations=_SEEDANCE_DURATIONS,
        aspect_ratios=("auto", *_SEEDANCE_RATIOS) if image else _SEEDANCE_RATIOS,
        resolutions=_SEEDANCE_RESOLUTIONS,
        requires_image=image,
    )


_SEEDANCE_REFERENCE = _video(
    {**_SEEDANCE_BASE, "reference_images": "reference_image_urls"},
    durations=_SEEDANCE_DURATIONS,
    aspect_ratios=_SEEDANCE_RATIOS,
    resolutions=("480p", "720p"),
    requires_image=True,
)
_SEEDANCE_FAMILY = _video(
    {
        **_SEEDANCE_BASE,
        "generate_audio": "generate_audio",
        "first_frame": "image_url",
        "last_frame": "end_image_url",
        "reference_images": "reference_image_urls",
    },
    durations=_SEEDANCE_DURATIONS,
    resolutions=_SEEDANCE_RESOLUTIONS,
)

# OmniHuman: a portrait and an ``audio_url`` (extra_params) drive the clip; its length
# follows the audio. v1.5 adds a prompt and 720p/1080p.
_OMNIHUMAN = _video({"first_frame": "image_url"}, requires_image=True, required=("audio_url",))
_OMNIHUMAN_V15 = _video(
    {"prompt": "prompt", "resolution": "resolution", "first_frame": "image_url"},
    resolutions=("720p", "1080p"),
    requires_image=True,
    required=("audio_url",),
)

# Wan 2.5 preview and 2.6: durations "5" | "10" (2.6 text/image: also "15"); the prompt
# rewriter is ``enable_prompt_expansion``; a soundtrack comes as ``audio_url``
# (extra_params); 2.6 reference-to-video takes ``video_urls`` (extra_params).
_WAN_BASE = {
    "prompt": "prompt",
    "negative_prompt": "negative_prompt",
    "seed": "seed",
    "resolution": "resolution",
    "duration": "duration",
    "enhance_prompt": "enable_prompt_expansion",
}


def _wan(
    durations: tuple[int, ...],
    resolutions: tuple[str, ...],
    ratios: tuple[str, ...],
    *,
    image: bool | None,
    required: tuple[str, ...] = (),
) -> ModelSpec:
    """``image``: True image-to-video, False text-to-video, None the lenient family."""
    inputs = dict(_WAN_BASE)
    if image is not True:
        inputs["aspect_ratio"] = "aspect_ratio"
    if image is not False:
        inputs["first_frame"] = "image_url"
    return _video(
        inputs,
        durations=durations,
        resolutions=resolutions,
        aspect_ratios=ratios if image is False else None,
        requires_image=image is True,
        required=required,
    )


_WAN25_RESOLUTIONS = ("480p", "720p", "1080p")
_WAN25_RATIOS = ("16:9", "9:16", "1:1")
_WAN26_RATIOS = ("16:9", "9:16", "1:1", "4:3", "3:4")

# Wan 2.2 A14B counts frames, not seconds: ``num_frames`` 17-161 at 16 fps (its default
# 81 frames is 5 s), so 1-10 s. The LoRA and turbo variants are left to the family.
_WAN22_RESOLUTIONS = ("480p", "580p", "720p")
_WAN22_BASE = {
    "prompt": "prompt",
    "negative_prompt": "negative_prompt",
    "seed": "seed",
    "resolution": "resolution",
    "enhance_prompt": "enable_prompt_expansion",
}
_WAN22_FRAMES: dict[str, Any] = {
    "durations": tuple(range(1, 11)),
    "duration_format": "frames",
    "frame_rate": 16,
    "resolutions": _WAN22_RESOLUTIONS,
}
_WAN22_TEXT = _video(
    {**_WAN22_BASE, "aspect_ratio": "aspect_ratio", "duration": "num_frames"},
    aspect_ratios=("16:9", "9:16", "1:1"),
    **_WAN22_FRAMES,
)
_WAN22_IMAGE = _video(
    {
        **_WAN22_BASE,
        "aspect_ratio": "aspect_ratio",
        "duration": "num_frames",
        "first_frame": "image_url",
        "last_frame": "end_image_url",
    },
    aspect_ratios=("auto", "16:9", "9:16", "1:1"),
    requires_image=True,
    **_WAN22_FRAMES,
)
_WAN22_VIDEO = _video(
    {**_WAN22_BASE, "duration": "num_frames", "video": "video_url"},
    required=("video_url",),
    **_WAN22_FRAMES,
)
_WAN22_FAMILY = _video(
    {
        **_WAN22_BASE,
        "aspect_ratio": "aspect_ratio",
        "first_frame": "image_url",
        "last_frame": "end_image_url",
        "video": "video_url",
    },
    resolutions=_WAN22_RESOLUTIONS,
)
# Wan 2.2 14B animate (move, replace): a character image moved by a video; no prompt.
_WAN22_ANIMATE = _video(
    {"seed": "seed", "resolution": "resolution", "first_frame": "image_url", "video": "video_url"},
    resolutions=_WAN22_RESOLUTIONS,
    requires_image=True,
    required=("video_url",),
)

# sync.so lipsync (v1.x, v2, v2/pro): a video and an ``audio_url`` (extra_params); no prompt.
_SYNC_LIPSYNC = _video({"video": "video_url"}, required=("video_url", "audio_url"))

# -- image families -------------------------------------------------------------------------
# fal image models take ``image_size`` (a preset or {"width", "height"}) unless noted; the
# published table sends request.size as is (``"1024x1024"``), which fal refuses.

_FLUX_FAMILY = _image(
    {**_PROMPT_SEED, **_IMAGE_SIZE, "count": "num_images", "first_frame": "image_url"},
    max_outputs=4,
)
_FLUX_IMAGE_TO_IMAGE = _image(
    {**_PROMPT_SEED, **_IMAGE_SIZE, "count": "num_images", "first_frame": "image_url"},
    max_outputs=4,
    requires_image=True,
)
# FLUX.2: dev takes up to 4 images a job, pro and flex one; the edit variants take
# ``image_urls`` (the published table sends ``size``, ``n`` and ``reference_images``).
_FLUX2 = _image({**_PROMPT_SEED, **_IMAGE_SIZE, "count": "num_images"}, max_outputs=4)
_FLUX2_EDIT = _image(
    {**_PROMPT_SEED, **_IMAGE_SIZE, "count": "num_images", "reference_images": "image_urls"},
    max_outputs=4,
    requires_image=True,
)
_FLUX2_FAMILY = _image(
    {**_PROMPT_SEED, **_IMAGE_SIZE, "count": "num_images", "reference_images": "image_urls"},
    max_outputs=4,
)
_FLUX2_PRO = _image({**_PROMPT_SEED, **_IMAGE_SIZE})
_FLUX2_PRO_EDIT = _image(
    {**_PROMPT_SEED, **_IMAGE_SIZE, "reference_images": "image_urls"}, requires_image=True
)
# Ideogram v3 spells its styles in capitals; v2 takes an aspect ratio, not image_size.
_IDEOGRAM_V3_STYLES = {
    "auto": "AUTO",
    "general": "GENERAL",
    "realistic": "REALISTIC",
    "design": "DESIGN",
}
_IDEOGRAM_V3 = _image(
    {
        **_PROMPT_SEED,
        **_IMAGE_SIZE,
        "negative_prompt": "negative_prompt",
        "count": "num_images",
        "style": "style",
    },
    max_outputs=4,
    values={"style": _IDEOGRAM_V3_STYLES},
)
_IDEOGRAM_V3_FAMILY = _image(
    {
        **_PROMPT_SEED,
        "count": "num_images",
        "style": "style",
        "first_frame": "image_url",
        "mask_image": "mask_url",
    },
    max_outputs=4,
    values={"style": _IDEOGRAM_V3_STYLES},
)
_IDEOGRAM_V2 = _image(
    {
        **_PROMPT_SEED,
        "negative_prompt": "negative_prompt",
        "aspect_ratio": "aspect_ratio",
        "style": "style",
    },
    aspect_ratios=("16:9", "9:16", "1:1", "4:3", "3:4", "3:2", "2:3"),
)
# Recraft v2/v3: one image a job, ``style`` such as "realistic_image" or
# "digital_illustration"; no seed input.
_RECRAFT = _image({"prompt": "prompt", **_IMAGE_SIZE, "style": "style"})
_RECRAFT_IMAGE_TO_IMAGE = _image(
    {"prompt": "prompt", "style": "style", "first_frame": "image_url"}, requires_image=True
)
_RECRAFT_FAMILY = _image(
    {"prompt": "prompt", **_IMAGE_SIZE, "style": "style", "first_frame": "image_url"}
)
# Reve: text-to-image by aspect ratio, edit one image, remix 1-6; 1-4 images a job.
_REVE_RATIOS = ("16:9", "9:16", "3:2", "2:3", "4:3", "3:4", "1:1")
_REVE_TEXT = _image(
    {"prompt": "prompt", "aspect_ratio": "aspect_ratio", "count": "num_images"},
    aspect_ratios=_REVE_RATIOS,
    max_outputs=4,
)
_REVE_EDIT = _image(
    {"prompt": "prompt", "count": "num_images", "first_frame": "image_url"},
    max_outputs=4,
    requires_image=True,
)
_REVE_REMIX = _image(
    {
        "prompt": "prompt",
        "aspect_ratio": "aspect_ratio",
        "count": "num_images",
        "reference_images": "image_urls",
    },
    aspect_ratios=_REVE_RATIOS,
    max_outputs=4,
    requires_image=True,
)
_REVE_FAMILY = _image(
    {
        "prompt": "prompt",
        "aspect_ratio": "aspect_ratio",
        "count": "num_images",
        "reference_images": "image_urls",
    },
    aspect_ratios=_REVE_RATIOS,
    max_outputs=4,
)
# Z-Image Turbo: distilled, so no negative prompt (no guidance to apply it to).
_Z_IMAGE_TURBO = _image({**_PROMPT_SEED, **_IMAGE_SIZE, "count": "num_images"}, max_outputs=4)
_Z_IMAGE_TURBO_FAMILY = _image(
    {**_PROMPT_SEED, **_IMAGE_SIZE, "count": "num_images", "first_frame": "image_url"},
    max_outputs=4,
)
# Grok Imagine (xAI on fal): text-to-image by aspect ratio, edit up to 3 images.
_GROK_IMAGINE = _image(
    {"prompt": "prompt", "aspect_ratio": "aspect_ratio", "count": "num_images"}, max_outputs=4
)
_GROK_IMAGINE_EDIT = _image(
    {"prompt": "prompt", "count": "num_images", "reference_images": "image_urls"},
    max_outputs=4,
    requires_image=True,
)
_GROK_IMAGINE_FAMILY = _image(
    {
        "prompt": "prompt",
        "aspect_ratio": "aspect_ratio",
        "count": "num_images",
        "reference_images": "image_urls",
    },
    max_outputs=4,
)


def _variants(
    prefix: str, tiers: tuple[str, ...], specs: Mapping[str, ModelSpec]
) -> dict[str, ModelSpec]:
    """``{prefix}/{tier}/{name}`` -> spec for every tier and named spec."""
    return {f"{prefix}/{tier}/{name}": spec for tier in tiers for name, spec in specs.items()}


FAL_MODELS: dict[str, ModelSpec] = {
    "fal-ai/veo3": _VEO3_TEXT,
    "fal-ai/veo3/fast": _VEO3_TEXT,
    "fal-ai/veo3/image-to-video": _VEO3_IMAGE,
    "fal-ai/veo3/fast/image-to-video": _VEO3_IMAGE,
    "fal-ai/veo3/": _veo_family(("720p", "1080p")),
    "fal-ai/veo3.1": _VEO31_TEXT,
    "fal-ai/veo3.1/fast": _VEO31_TEXT,
    "fal-ai/veo3.1/image-to-video": _VEO31_IMAGE,
    "fal-ai/veo3.1/fast/image-to-video": _VEO31_IMAGE,
    "fal-ai/veo3.1/first-last-frame-to-video": _VEO31_FIRST_LAST,
    "fal-ai/veo3.1/fast/first-last-frame-to-video": _VEO31_FIRST_LAST,
    "fal-ai/veo3.1/reference-to-video": _VEO31_REFERENCE,
    "fal-ai/veo3.1/extend-video": _VEO31_EXTEND,
    "fal-ai/veo3.1/fast/extend-video": _VEO31_EXTEND,
    "fal-ai/veo3.1/": _veo_family(_VEO31_RESOLUTIONS),
    "fal-ai/sora-2/text-to-video": _sora2(image=False, pro=False),
    "fal-ai/sora-2/text-to-video/pro": _sora2(image=False, pro=True),
    "fal-ai/sora-2/image-to-video": _sora2(image=True, pro=False),
    "fal-ai/sora-2/image-to-video/pro": _sora2(image=True, pro=True),
    "fal-ai/sora-2/video-to-video/remix": _SORA2_REMIX,
    "fal-ai/sora-2/": _video(
        {**_SORA2_INPUTS, "first_frame": "image_url"},
        durations=(4, 8, 12),
        duration_format="int",
        resolutions=("720p", "1080p"),
    ),
    "fal-ai/kling-video/v2.1/standard/image-to-video": _kling(tail_image=False),
    "fal-ai/kling-video/v2.1/pro/image-to-video": _kling(tail_image=True),
    "fal-ai/kling-video/v2.6/pro/text-to-video": _KLING_V26_TEXT,
    "fal-ai/kling-video/v2.6/pro/image-to-video": _KLING_V26_IMAGE,
    "fal-ai/kling-video/v2.6/standard/motion-control": _KLING_V26_MOTION,
    "fal-ai/kling-video/v2.6/pro/motion-control": _KLING_V26_MOTION,
    "fal-ai/kling-video/v2.6/": _KLING_V26_FAMILY,
    **_variants(
        "fal-ai/kling-video/v3",
        ("pro", "standard"),
        {"text-to-video": _KLING_V3_TEXT, "image-to-video": _KLING_V3_IMAGE},
    ),
    "fal-ai/kling-video/v3/": _KLING_V3_FAMILY,
    "fal-ai/kling-video/o1/image-to-video": _KLING_O1_IMAGE,
    "fal-ai/kling-video/o1/reference-to-video": _KLING_O1_REFERENCE,
    "fal-ai/kling-video/o1/video-to-video/edit": _KLING_O1_EDIT,
    "fal-ai/kling-video/o1/video-to-video/reference": _KLING_O1_VIDEO_REFERENCE,
    "fal-ai/kling-video/o1/": _KLING_O1_FAMILY,
    **_variants(
        "fal-ai/kling-video/o3",
        ("pro", "standard"),
        {
            "text-to-video": _KLING_O3_TEXT,
            "image-to-video": _KLING_O3_IMAGE,
            "reference-to-video": _KLING_O3_REFERENCE,
        },
    ),
    "fal-ai/kling-video/o3/": _KLING_O3_REFERENCE,
    "fal-ai/minimax/video-01": _MINIMAX_V01_TEXT,
    "fal-ai/minimax/video-01-live": _MINIMAX_V01_TEXT,
    "fal-ai/minimax/video-01-director": _MINIMAX_V01_TEXT,
    "fal-ai/minimax/video-01/image-to-video": _MINIMAX_V01_IMAGE,
    "fal-ai/minimax/video-01-live/image-to-video": _MINIMAX_V01_IMAGE,
    "fal-ai/minimax/video-01-director/image-to-video": _MINIMAX_V01_IMAGE,
    "fal-ai/minimax/hailuo-02/standard/text-to-video": _HAILUO02_TEXT,
    "fal-ai/minimax/hailuo-02/standard/image-to-video": _HAILUO02_STANDARD_IMAGE,
    "fal-ai/minimax/hailuo-02/pro/text-to-video": _HAILUO02_PRO_TEXT,
    "fal-ai/minimax/hailuo-02/pro/image-to-video": _HAILUO02_PRO_IMAGE,
    "fal-ai/minimax/hailuo-02-fast/image-to-video": _HAILUO02_IMAGE,
    "fal-ai/minimax/": _MINIMAX_FAMILY,
    **_pixverse("v5"),
    **_pixverse("v5.5"),
    "fal-ai/pixverse/swap": _PIXVERSE_SWAP,
    "fal-ai/pixverse/lipsync": _PIXVERSE_LIPSYNC,
    "fal-ai/bytedance/seedance/v1/pro/text-to-video": _seedance(image=False, audio=False),
    "fal-ai/bytedance/seedance/v1/pro/image-to-video": _seedance(image=True, audio=False),
    "fal-ai/bytedance/seedance/v1/pro/fast/text-to-video": _seedance(image=False, audio=False),
    "fal-ai/bytedance/seedance/v1/pro/fast/image-to-video": _seedance(image=True, audio=False),
    "fal-ai/bytedance/seedance/v1/lite/text-to-video": _seedance(image=False, audio=False),
    "fal-ai/bytedance/seedance/v1/lite/image-to-video": _seedance(image=True, audio=False),
    "fal-ai/bytedance/seedance/v1/lite/reference-to-video": _SEEDANCE_REFERENCE,
    "fal-ai/bytedance/seedance/v1.5/pro/text-to-video": _seedance(image=False, audio=True),
    "fal-ai/bytedance/seedance/v1.5/pro/image-to-video": _seedance(image=True, audio=True),
    "fal-ai/bytedance/seedance/": _SEEDANCE_FAMILY,
    "fal-ai/bytedance/omnihuman": _OMNIHUMAN,
    "fal-ai/bytedance/omnihuman/v1.5": _OMNIHUMAN_V15,
    "fal-ai/wan-25-preview/text-to-video": _wan(
        (5, 10), _WAN25_RESOLUTIONS, _WAN25_RATIOS, image=False
    ),
    "fal-ai/wan-25-preview/image-to-video": _wan(
        (5, 10), _WAN25_RESOLUTIONS, _WAN25_RATIOS, image=True
    ),
    "fal-ai/wan-25-preview/": _wan((5, 10), _WAN25_RESOLUTIONS, _WAN25_RATIOS, image=None),
    "wan/v2.6/text-to-video": _wan((5, 10, 15), ("720p", "1080p"), _WAN26_RATIOS, image=False),
    "wan/v2.6/image-to-video": _wan((5, 10, 15), ("720p", "1080p"), _WAN26_RATIOS, image=True),
    "wan/v2.6/reference-to-video": _wan(
        (5, 10), ("720p", "1080p"), _WAN26_RATIOS, image=False, required=("video_urls",)
    ),
    "wan/v2.6/": _wan((5, 10, 15), ("720p", "1080p"), _WAN26_RATIOS, image=None),
    "fal-ai/wan/v2.2-a14b/text-to-video": _WAN22_TEXT,
    "fal-ai/wan/v2.2-a14b/image-to-video": _WAN22_IMAGE,
    "fal-ai/wan/v2.2-a14b/video-to-video": _WAN22_VIDEO,
    "fal-ai/wan/v2.2-a14b/": _WAN22_FAMILY,
    "fal-ai/wan/v2.2-14b/animate/": _WAN22_ANIMATE,
    "fal-ai/sync-lipsync": _SYNC_LIPSYNC,
    "fal-ai/flux/dev": _FLUX,
    "fal-ai/flux/schnell": _FLUX,
    "fal-ai/flux/dev/image-to-image": _FLUX_IMAGE_TO_IMAGE,
    "fal-ai/flux/": _FLUX_FAMILY,
    "fal-ai/flux-2": _FLUX2,
    "fal-ai/flux-2/edit": _FLUX2_EDIT,
    "fal-ai/flux-2/": _FLUX2_FAMILY,
    "fal-ai/flux-pro/v1.1": _FLUX2,  # its schema takes image_size, has no aspect_ratio
    "fal-ai/flux-2-pro": _FLUX2_PRO,
    "fal-ai/flux-2-pro/edit": _FLUX2_PRO_EDIT,
    "fal-ai/flux-2-flex": _FLUX2_PRO,
    "fal-ai/flux-2-flex/edit": _FLUX2_PRO_EDIT,
    "fal-ai/ideogram/v3": _IDEOGRAM_V3,
    "fal-ai/ideogram/v3/": _IDEOGRAM_V3_FAMILY,
    "fal-ai/ideogram/v2": _IDEOGRAM_V2,
    "fal-ai/ideogram/v2/turbo": _IDEOGRAM_V2,
    "fal-ai/ideogram/": _IDEOGRAM_V3,
    "fal-ai/recraft-v3": _RECRAFT,
    "fal-ai/recraft/v3/text-to-image": _RECRAFT,
    "fal-ai/recraft/v2/text-to-image": _RECRAFT,
    "fal-ai/recraft/v3/image-to-image": _RECRAFT_IMAGE_TO_IMAGE,
    "fal-ai/recraft/": _RECRAFT_FAMILY,
    "fal-ai/reve/text-to-image": _REVE_TEXT,
    "fal-ai/reve/edit": _REVE_EDIT,
    "fal-ai/reve/fast/edit": _REVE_EDIT,
    "fal-ai/reve/remix": _REVE_REMIX,
    "fal-ai/reve/fast/remix": _REVE_REMIX,
    "fal-ai/reve/": _REVE_FAMILY,
    # fal serves Z-Image Turbo as fal-ai/z-image/turbo[/...]; the published registry's
    # fal-ai/z-image-turbo spelling is kept beside it.
    "fal-ai/z-image/turbo": _Z_IMAGE_TURBO,
    "fal-ai/z-image/turbo/": _Z_IMAGE_TURBO_FAMILY,
    "fal-ai/z-image-turbo": _Z_IMAGE_TURBO,
    "fal-ai/z-image-turbo/": _Z_IMAGE_TURBO_FAMILY,
    "xai/grok-imagine-image": _GROK_IMAGINE,
    "xai/grok-imagine-image/edit": _GROK_IMAGINE_EDIT,
    "xai/grok-imagine-image/": _GROK_IMAGINE_FAMILY,
}
"""Registered fal model id or family prefix (see :func:`~._spec.find_spec`) -> how a
unified request maps to its input."""

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
