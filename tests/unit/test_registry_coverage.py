"""Registry coverage: every model family the published package maps, mapped to its schema.

Each case builds a unified request, adapts and maps it as the chain does, and pins the exact
wire payload (field names, duration format, images by role). The lookup is pinned too: the
exact id, else the longest registered family prefix at a path boundary, else generic.
"""

from __future__ import annotations

from typing import Any

import pytest

from tarash.tarash_gateway.errors import ValidationError
from tarash.tarash_gateway.models import ImageGenerationRequest, VideoGenerationRequest
from tarash.tarash_gateway.providers._adapt import adapt_image_request, adapt_video_request
from tarash.tarash_gateway.providers._base import PreparedJob, ProviderSettings
from tarash.tarash_gateway.providers._spec import ModelSpec, find_spec
from tarash.tarash_gateway.providers.fal import FalClient
from tarash.tarash_gateway.providers.fal_models import (
    FAL_MODELS,
    GENERIC_IMAGE_SPEC,
    GENERIC_VIDEO_SPEC,
)
from tarash.tarash_gateway.providers.replicate import ReplicateClient
from tarash.tarash_gateway.providers.replicate_models import GENERIC_SPECS, REPLICATE_MODELS

FIRST = "https://example.test/first.png"
LAST = "https://example.test/last.png"
REF1 = "https://example.test/ref1.png"
REF2 = "https://example.test/ref2.png"
CLIP = "https://example.test/clip.mp4"
AUDIO = "https://example.test/voice.mp3"

Client = FalClient | ReplicateClient


def _client(provider: str, model: str) -> Client:
    settings = ProviderSettings(model=model, api_key=None)
    return FalClient(settings) if provider == "fal" else ReplicateClient(settings)


def _prepare(provider: str, model: str, request: Any) -> PreparedJob:
    """Adapt then map, as the chain does (no local files to load)."""
    client = _client(provider, model)
    if isinstance(request, VideoGenerationRequest):
        adapted, notes = adapt_video_request(
            request, client.capabilities("video"), strict=False, provider=provider, model=model
        )
        job = client.prepare_video(adapted)
    else:
        adapted_image, notes = adapt_image_request(
            request, client.capabilities("image"), strict=False, provider=provider, model=model
        )
        job = client.prepare_image(adapted_image)
    job.adaptations[:0] = notes
    return job


def _wire(provider: str, job: PreparedJob) -> dict[str, Any]:
    if provider == "replicate":
        body: dict[str, Any] = job.payload["input"]
        return body
    return job.payload


def _images(*pairs: tuple[str, str]) -> list[dict[str, str]]:
    return [{"image": url, "type": role} for role, url in pairs]


def video(**fields: Any) -> VideoGenerationRequest:
    return VideoGenerationRequest(prompt="a cat", **fields)


def image(**fields: Any) -> ImageGenerationRequest:
    return ImageGenerationRequest(prompt="a cat", **fields)


# (provider, model id, request, exact wire payload)
CASES: list[tuple[str, str, Any, dict[str, Any]]] = [
    # -- fal: Veo 3 / 3.1 ------------------------------------------------------------------
    (
        "fal",
        "fal-ai/veo3/fast/image-to-video",
        video(duration_seconds=8, image_list=_images(("first_frame", FIRST))),
        {"prompt": "a cat", "duration": "8s", "image_url": FIRST},
    ),
    (
        "fal",
        "fal-ai/veo3/some-new-variant",
        video(duration_seconds=6, video=CLIP),
        {"prompt": "a cat", "duration": "6s", "video_url": CLIP},
    ),
    (
        "fal",
        "fal-ai/veo3.1/fast",
        video(duration_seconds=5, aspect_ratio="9:16", resolution="4k", generate_audio=False),
        {
            "prompt": "a cat",
            "duration": "6s",
            "aspect_ratio": "9:16",
            "resolution": "4k",
            "generate_audio": False,
        },
    ),
    (
        "fal",
        "fal-ai/veo3.1",
        video(duration_seconds=4, seed=3, negative_prompt="blur", extra_params={"auto_fix": True}),
        {
            "prompt": "a cat",
            "duration": "4s",
            "seed": 3,
            "negative_prompt": "blur",
            "auto_fix": True,
        },
    ),
    (
        "fal",
        "fal-ai/veo3.1/image-to-video",
        video(aspect_ratio="auto", image_list=_images(("reference", FIRST))),
        {"prompt": "a cat", "aspect_ratio": "auto", "image_url": FIRST},
    ),
    (
        "fal",
        "fal-ai/veo3.1/fast/first-last-frame-to-video",
        video(image_list=_images(("first_frame", FIRST), ("last_frame", LAST))),
        {"prompt": "a cat", "first_frame_url": FIRST, "last_frame_url": LAST},
    ),
    (
        "fal",
        "fal-ai/veo3.1/reference-to-video",
        video(duration_seconds=6, image_list=_images(("first_frame", REF1), ("reference", REF2))),
        {"prompt": "a cat", "duration": "8s", "image_urls": [REF1, REF2]},
    ),
    (
        "fal",
        "fal-ai/veo3.1/fast/extend-video",
        video(duration_seconds=8, resolution="1080p", video=CLIP),
        {"prompt": "a cat", "duration": "7s", "resolution": "720p", "video_url": CLIP},
    ),
    # -- fal: Sora 2 ----------------------------------------------------------------------
    (
        "fal",
        "fal-ai/sora-2/text-to-video",
        video(duration_seconds=10, aspect_ratio="16:9", resolution="1080p"),
        {"prompt": "a cat", "duration": 12, "aspect_ratio": "16:9", "resolution": "720p"},
    ),
    (
        "fal",
        "fal-ai/sora-2/image-to-video/pro",
        video(duration_seconds=4, resolution="1080p", image_list=_images(("first_frame", FIRST))),
        {"prompt": "a cat", "duration": 4, "resolution": "1080p", "image_url": FIRST},
    ),
    (
        "fal",
        "fal-ai/sora-2/video-to-video/remix",
        video(extra_params={"video_id": "video_123"}),
        {"prompt": "a cat", "video_id": "video_123"},
    ),
    # -- fal: Kling v2.6 / v3 / o1 / o3 ---------------------------------------------------
    (
        "fal",
        "fal-ai/kling-video/v2.6/pro/text-to-video",
        video(duration_seconds=7, aspect_ratio="1:1", generate_audio=True),
        {"prompt": "a cat", "duration": "5", "aspect_ratio": "1:1", "generate_audio": True},
    ),
    (
        "fal",
        "fal-ai/kling-video/v2.6/pro/image-to-video",
        video(
            duration_seconds=10, negative_prompt="blur", image_list=_images(("reference", FIRST))
        ),
        {"prompt": "a cat", "duration": "10", "negative_prompt": "blur", "start_image_url": FIRST},
    ),
    (
        "fal",
        "fal-ai/kling-video/v2.6/standard/motion-control",
        video(video=CLIP, image_list=_images(("reference", FIRST))),
        {"prompt": "a cat", "image_url": FIRST, "video_url": CLIP},
    ),
    (
        "fal",
        "fal-ai/kling-video/v3/standard/text-to-video",
        video(duration_seconds=13, aspect_ratio="9:16"),
        {"prompt": "a cat", "duration": "13", "aspect_ratio": "9:16"},
    ),
    (
        "fal",
        "fal-ai/kling-video/v3/pro/image-to-video",
        video(
            duration_seconds=20, image_list=_images(("first_frame", FIRST), ("last_frame", LAST))
        ),
        {"prompt": "a cat", "duration": "15", "start_image_url": FIRST, "end_image_url": LAST},
    ),
    (
        "fal",
        "fal-ai/kling-video/o1/image-to-video",
        video(duration_seconds=5, image_list=_images(("first_frame", FIRST), ("last_frame", LAST))),
        {"prompt": "a cat", "duration": "5", "start_image_url": FIRST, "end_image_url": LAST},
    ),
    (
        "fal",
        "fal-ai/kling-video/o1/reference-to-video",
        video(aspect_ratio="16:9", image_list=_images(("reference", REF1), ("reference", REF2))),
        {"prompt": "a cat", "aspect_ratio": "16:9", "image_urls": [REF1, REF2]},
    ),
    (
        "fal",
        "fal-ai/kling-video/o1/video-to-video/edit",
        video(video=CLIP, extra_params={"keep_audio": True}),
        {"prompt": "a cat", "video_url": CLIP, "keep_audio": True},
    ),
    (
        "fal",
        "fal-ai/kling-video/o3/pro/image-to-video",
        video(duration_seconds=3, image_list=_images(("first_frame", FIRST), ("last_frame", LAST))),
        {"prompt": "a cat", "duration": "3", "image_url": FIRST, "end_image_url": LAST},
    ),
    (
        "fal",
        "fal-ai/kling-video/o3/standard/reference-to-video",
        video(image_list=_images(("first_frame", FIRST), ("reference", REF1))),
        {"prompt": "a cat", "start_image_url": FIRST, "image_urls": [REF1]},
    ),
    (
        "fal",
        "fal-ai/kling-video/o3/pro/text-to-video",
        video(duration_seconds=8, aspect_ratio="4:3"),
        {"prompt": "a cat", "duration": "8", "aspect_ratio": "1:1"},
    ),
    # -- fal: MiniMax / Hailuo -------------------------------------------------------------
    (
        "fal",
        "fal-ai/minimax/video-01-live/image-to-video",
        video(
            duration_seconds=10, enhance_prompt=False, image_list=_images(("first_frame", FIRST))
        ),
        {"prompt": "a cat", "prompt_optimizer": False, "image_url": FIRST},
    ),
    (
        "fal",
        "fal-ai/minimax/hailuo-02/standard/image-to-video",
        video(duration_seconds=10, resolution="720p", image_list=_images(("first_frame", FIRST))),
        {"prompt": "a cat", "duration": "10", "resolution": "768P", "image_url": FIRST},
    ),
    (
        "fal",
        "fal-ai/minimax/hailuo-2.3/standard/text-to-video",
        video(duration_seconds=6),
        {"prompt": "a cat", "duration": "6"},
    ),
    # -- fal: PixVerse ---------------------------------------------------------------------
    (
        "fal",
        "fal-ai/pixverse/v5.5/text-to-video",
        video(duration_seconds=10, aspect_ratio="4:3", resolution="540p", generate_audio=True),
        {
            "prompt": "a cat",
            "duration": "10",
            "aspect_ratio": "4:3",
            "resolution": "540p",
            "generate_audio_switch": True,
        },
    ),
    (
        "fal",
        "fal-ai/pixverse/v5/image-to-video",
        video(duration_seconds=10, image_list=_images(("first_frame", FIRST))),
        {"prompt": "a cat", "duration": "8", "image_url": FIRST},
    ),
    (
        "fal",
        "fal-ai/pixverse/v5.5/transition",
        video(image_list=_images(("first_frame", FIRST), ("last_frame", LAST))),
        {"prompt": "a cat", "first_image_url": FIRST, "end_image_url": LAST},
    ),
    (
        "fal",
        "fal-ai/pixverse/v5/effects",
        video(image_list=_images(("reference", FIRST)), extra_params={"effect": "Kiss Me AI"}),
        {"image_url": FIRST, "effect": "Kiss Me AI"},
    ),
    (
        "fal",
        "fal-ai/pixverse/swap",
        video(
            video=CLIP, image_list=_images(("reference", FIRST)), extra_params={"mode": "person"}
        ),
        {"image_url": FIRST, "video_url": CLIP, "mode": "person"},
    ),
    (
        "fal",
        "fal-ai/pixverse/lipsync",
        video(video=CLIP, extra_params={"audio_url": AUDIO}),
        {"video_url": CLIP, "audio_url": AUDIO},
    ),
    # -- fal: ByteDance --------------------------------------------------------------------
    (
        "fal",
        "fal-ai/bytedance/seedance/v1/pro/text-to-video",
        video(duration_seconds=12, aspect_ratio="21:9", resolution="1080p", seed=1),
        {
            "prompt": "a cat",
            "duration": "12",
            "aspect_ratio": "21:9",
            "resolution": "1080p",
            "seed": 1,
        },
    ),
    (
        "fal",
        "fal-ai/bytedance/seedance/v1/lite/image-to-video",
        video(duration_seconds=1, image_list=_images(("first_frame", FIRST), ("last_frame", LAST))),
        {"prompt": "a cat", "duration": "2", "image_url": FIRST, "end_image_url": LAST},
    ),
    (
        "fal",
        "fal-ai/bytedance/seedance/v1/lite/reference-to-video",
        video(image_list=_images(("reference", REF1), ("reference", REF2))),
        {"prompt": "a cat", "reference_image_urls": [REF1, REF2]},
    ),
    (
        "fal",
        "fal-ai/bytedance/seedance/v1.5/pro/text-to-video",
        video(generate_audio=True),
        {"prompt": "a cat", "generate_audio": True},
    ),
    (
        "fal",
        "fal-ai/bytedance/omnihuman/v1.5",
        video(
            resolution="720p",
            image_list=_images(("reference", FIRST)),
            extra_params={"audio_url": AUDIO},
        ),
        {"prompt": "a cat", "resolution": "720p", "image_url": FIRST, "audio_url": AUDIO},
    ),
    (
        "fal",
        "fal-ai/bytedance/omnihuman",
        video(image_list=_images(("reference", FIRST)), extra_params={"audio_url": AUDIO}),
        {"image_url": FIRST, "audio_url": AUDIO},
    ),
    # -- fal: Wan ---------------------------------------------------------------------------
    (
        "fal",
        "fal-ai/wan-25-preview/text-to-video",
        video(duration_seconds=10, aspect_ratio="1:1", resolution="480p", enhance_prompt=True),
        {
            "prompt": "a cat",
            "duration": "10",
            "aspect_ratio": "1:1",
            "resolution": "480p",
            "enable_prompt_expansion": True,
        },
    ),
    (
        "fal",
        "fal-ai/wan-25-preview/image-to-video",
        video(duration_seconds=5, image_list=_images(("first_frame", FIRST))),
        {"prompt": "a cat", "duration": "5", "image_url": FIRST},
    ),
    (
        "fal",
        "wan/v2.6/text-to-video",
        video(duration_seconds=15, resolution="1080p", aspect_ratio="3:4"),
        {"prompt": "a cat", "duration": "15", "resolution": "1080p", "aspect_ratio": "3:4"},
    ),
    (
        "fal",
        "wan/v2.6/reference-to-video",
        video(duration_seconds=10, extra_params={"video_urls": [CLIP]}),
        {"prompt": "a cat", "duration": "10", "video_urls": [CLIP]},
    ),
    (
        "fal",
        "fal-ai/wan/v2.2-a14b/text-to-video",
        video(duration_seconds=5, resolution="580p", aspect_ratio="16:9"),
        {"prompt": "a cat", "num_frames": 81, "resolution": "580p", "aspect_ratio": "16:9"},
    ),
    (
        "fal",
        "fal-ai/wan/v2.2-a14b/image-to-video",
        video(
            duration_seconds=30, image_list=_images(("first_frame", FIRST), ("last_frame", LAST))
        ),
        {"prompt": "a cat", "num_frames": 161, "image_url": FIRST, "end_image_url": LAST},
    ),
    (
        "fal",
        "fal-ai/wan/v2.2-a14b/video-to-video",
        video(duration_seconds=2, video=CLIP),
        {"prompt": "a cat", "num_frames": 33, "video_url": CLIP},
    ),
    (
        "fal",
        "fal-ai/wan/v2.2-a14b/image-to-video/lora",
        video(image_list=_images(("first_frame", FIRST)), extra_params={"loras": []}),
        {"prompt": "a cat", "image_url": FIRST, "loras": []},
    ),
    (
        "fal",
        "fal-ai/wan/v2.2-14b/animate/move",
        video(resolution="720p", video=CLIP, image_list=_images(("reference", FIRST))),
        {"resolution": "720p", "image_url": FIRST, "video_url": CLIP},
    ),
    # -- fal: lipsync ----------------------------------------------------------------------
    (
        "fal",
        "fal-ai/sync-lipsync/v2",
        video(video=CLIP, extra_params={"audio_url": AUDIO, "sync_mode": "loop"}),
        {"video_url": CLIP, "audio_url": AUDIO, "sync_mode": "loop"},
    ),
    # -- fal: images -----------------------------------------------------------------------
    (
        "fal",
        "fal-ai/flux/krea",
        image(aspect_ratio="16:9", n=2, seed=4),
        {"prompt": "a cat", "image_size": "landscape_16_9", "num_images": 2, "seed": 4},
    ),
    (
        "fal",
        "fal-ai/flux/dev/image-to-image",
        image(image_list=_images(("reference", REF1)), extra_params={"strength": 0.8}),
        {"prompt": "a cat", "image_url": REF1, "strength": 0.8},
    ),
    (
        "fal",
        "fal-ai/flux-2",
        image(size="1024x768", n=3),
        {"prompt": "a cat", "image_size": {"width": 1024, "height": 768}, "num_images": 3},
    ),
    (
        "fal",
        "fal-ai/flux-2/edit",
        image(image_list=_images(("reference", REF1), ("reference", REF2))),
        {"prompt": "a cat", "image_urls": [REF1, REF2]},
    ),
    (
        "fal",
        "fal-ai/flux-2-pro",
        image(aspect_ratio="9:16", n=2),
        {"prompt": "a cat", "image_size": "portrait_16_9"},
    ),
    (
        "fal",
        "fal-ai/ideogram/v3",
        image(aspect_ratio="1:1", style="realistic", negative_prompt="text"),
        {
            "prompt": "a cat",
            "image_size": "square_hd",
            "style": "REALISTIC",
            "negative_prompt": "text",
        },
    ),
    (
        "fal",
        "fal-ai/ideogram/v2",
        image(aspect_ratio="3:2", style="anime"),
        {"prompt": "a cat", "aspect_ratio": "3:2", "style": "anime"},
    ),
    (
        "fal",
        "fal-ai/recraft-v3",
        image(aspect_ratio="4:3", style="digital_illustration", n=3),
        {"prompt": "a cat", "image_size": "landscape_4_3", "style": "digital_illustration"},
    ),
    (
        "fal",
        "fal-ai/recraft/v3/image-to-image",
        image(image_list=_images(("reference", REF1))),
        {"prompt": "a cat", "image_url": REF1},
    ),
    (
        "fal",
        "fal-ai/reve/text-to-image",
        image(aspect_ratio="21:9", n=2),
        {"prompt": "a cat", "aspect_ratio": "16:9", "num_images": 2},
    ),
    (
        "fal",
        "fal-ai/reve/fast/edit",
        image(image_list=_images(("reference", REF1))),
        {"prompt": "a cat", "image_url": REF1},
    ),
    (
        "fal",
        "fal-ai/reve/remix",
        image(image_list=_images(("reference", REF1), ("reference", REF2))),
        {"prompt": "a cat", "image_urls": [REF1, REF2]},
    ),
    (
        "fal",
        "fal-ai/z-image-turbo",
        image(aspect_ratio="3:4", seed=8, n=5, extra_params={"num_inference_steps": 8}),
        {
            "prompt": "a cat",
            "image_size": "portrait_4_3",
            "seed": 8,
            "num_images": 4,
            "num_inference_steps": 8,
        },
    ),
    (
        "fal",
        "xai/grok-imagine-image",
        image(aspect_ratio="9:16", n=2),
        {"prompt": "a cat", "aspect_ratio": "9:16", "num_images": 2},
    ),
    (
        "fal",
        "xai/grok-imagine-image/edit",
        image(image_list=_images(("reference", REF1))),
        {"prompt": "a cat", "image_urls": [REF1]},
    ),
    # -- Replicate -------------------------------------------------------------------------
    (
        "replicate",
        "google/veo-3.1-fast",
        video(
            duration_seconds=5,
            image_list=_images(("first_frame", FIRST), ("last_frame", LAST), ("reference", REF1)),
        ),
        {
            "prompt": "a cat",
            "duration": 6,
            "image": FIRST,
            "last_frame": LAST,
            "reference_images": [REF1],
        },
    ),
    (
        "replicate",
        "kwaivgi/kling-v2.6",
        video(duration_seconds=10, aspect_ratio="9:16", generate_audio=True),
        {"prompt": "a cat", "duration": 10, "aspect_ratio": "9:16", "generate_audio": True},
    ),
    (
        "replicate",
        "kwaivgi/kling-v1.6-pro",
        video(image_list=_images(("first_frame", FIRST), ("last_frame", LAST))),
        {"prompt": "a cat", "start_image": FIRST, "end_image": LAST},
    ),
    (
        "replicate",
        "kwaivgi/kling-v1.6-standard",
        video(image_list=_images(("first_frame", FIRST), ("reference", REF1))),
        {"prompt": "a cat", "start_image": FIRST, "reference_images": [REF1]},
    ),
    (
        "replicate",
        "kwaivgi/kling-v2.5-turbo-pro",
        video(duration_seconds=6, negative_prompt="blur"),
        {"prompt": "a cat", "duration": 5, "negative_prompt": "blur"},
    ),
    (
        "replicate",
        "kwaivgi/kling-v3-future",
        video(duration_seconds=10, image_list=_images(("first_frame", FIRST))),
        {"prompt": "a cat", "duration": 10, "start_image": FIRST},
    ),
    (
        "replicate",
        "kwaivgi/kling-lip-sync",
        video(video=CLIP, extra_params={"audio_file": AUDIO}),
        {"video_url": CLIP, "audio_file": AUDIO},
    ),
    (
        "replicate",
        "minimax/hailuo-02",
        video(duration_seconds=10, resolution="1080p", image_list=_images(("first_frame", FIRST))),
        {"prompt": "a cat", "duration": 10, "resolution": "1080p", "first_frame_image": FIRST},
    ),
    (
        "replicate",
        "minimax/hailuo-2.3",
        video(resolution="480p", enhance_prompt=True),
        {"prompt": "a cat", "resolution": "768p", "prompt_optimizer": True},
    ),
    (
        "replicate",
        "minimax/video-01-live",
        video(image_list=_images(("first_frame", FIRST))),
        {"prompt": "a cat", "first_frame_image": FIRST},
    ),
    (
        "replicate",
        "hailuo/some-model",
        video(duration_seconds=6, image_list=_images(("first_frame", FIRST))),
        {"prompt": "a cat", "duration": 6, "first_frame_image": FIRST},
    ),
    (
        "replicate",
        "luma/ray",
        video(
            aspect_ratio="21:9", image_list=_images(("first_frame", FIRST), ("last_frame", LAST))
        ),
        {
            "prompt": "a cat",
            "aspect_ratio": "21:9",
            "start_image_url": FIRST,
            "end_image_url": LAST,
        },
    ),
    (
        "replicate",
        "luma/dream-machine",
        video(extra_params={"loop": True}),
        {"prompt": "a cat", "loop": True},
    ),
    (
        "replicate",
        "wan-video/wan-2.2-i2v-fast",
        video(duration_seconds=10, resolution="720p", image_list=_images(("first_frame", FIRST))),
        {"prompt": "a cat", "num_frames": 113, "resolution": "720p", "image": FIRST},
    ),
    (
        "replicate",
        "wan-video/wan-2.2-t2v-fast",
        video(duration_seconds=5, aspect_ratio="9:16"),
        {"prompt": "a cat", "num_frames": 81, "aspect_ratio": "9:16"},
    ),
    (
        "replicate",
        "wan-video/wan-2.5-i2v",
        video(duration_seconds=8, resolution="1080p", image_list=_images(("first_frame", FIRST))),
        {"prompt": "a cat", "duration": 10, "resolution": "1080p", "image": FIRST},
    ),
    (
        "replicate",
        "wan-video/wan-2.5-t2v-fast",
        video(duration_seconds=5, negative_prompt="blur", enhance_prompt=False),
        {
            "prompt": "a cat",
            "duration": 5,
            "negative_prompt": "blur",
            "enable_prompt_expansion": False,
        },
    ),
    (
        "replicate",
        "alibaba/wan",
        video(seed=2, image_list=_images(("first_frame", FIRST))),
        {"prompt": "a cat", "seed": 2, "image": FIRST},
    ),
    (
        "replicate",
        "black-forest-labs/flux.2-pro",
        image(aspect_ratio="4:3", image_list=_images(("reference", REF1), ("reference", REF2))),
        {"prompt": "a cat", "aspect_ratio": "4:3", "input_images": [REF1, REF2]},
    ),
    (
        "replicate",
        "black-forest-labs/flux-2-pro",
        image(aspect_ratio="21:9", seed=5),
        {"prompt": "a cat", "aspect_ratio": "16:9", "seed": 5},
    ),
    (
        "replicate",
        "stability-ai/stable-diffusion-3.5-large",
        image(aspect_ratio="9:21", negative_prompt="text", extra_params={"cfg": 4.5}),
        {"prompt": "a cat", "aspect_ratio": "9:21", "negative_prompt": "text", "cfg": 4.5},
    ),
    (
        "replicate",
        "tongyi-mai/z-image-turbo",
        image(aspect_ratio="16:9", seed=1),
        {"prompt": "a cat", "aspect_ratio": "16:9", "seed": 1},
    ),
    (
        "replicate",
        "minimax/image-01",
        image(aspect_ratio="3:2", n=3),
        {"prompt": "a cat", "aspect_ratio": "3:2", "number_of_images": 3},
    ),
    (
        "replicate",
        "luma/photon-flash",
        image(aspect_ratio="9:21", seed=6),
        {"prompt": "a cat", "aspect_ratio": "9:21", "seed": 6},
    ),
]


@pytest.mark.parametrize(
    ("provider", "model", "request_", "expected"),
    CASES,
    ids=[f"{provider}:{model}" for provider, model, _, _ in CASES],
)
def test_family_maps_the_request_to_its_schema(
    provider: str, model: str, request_: Any, expected: dict[str, Any]
) -> None:
    """Each family gets its own field names, duration format, allowed values, image roles."""
    job = _prepare(provider, model, request_)
    assert _wire(provider, job) == expected


REGISTRIES: dict[str, dict[str, ModelSpec]] = {
    "fal": dict(FAL_MODELS),
    "replicate": dict(REPLICATE_MODELS),
}


ENTRIES = [(provider, key) for provider, registry in REGISTRIES.items() for key in registry]


def _probe_id(key: str) -> str:
    """An id the entry is found for: itself, or a variant under a family prefix."""
    return f"{key}some-variant" if key.endswith("/") else key


def _minimal_request(spec: ModelSpec) -> Any:
    """The smallest request the entry accepts, with a duration it offers."""
    needs = {name: CLIP if name == "video_url" else "x" for name in spec.required}
    extra = {name: value for name, value in needs.items() if name != "video_url"}
    images = _images(("first_frame", FIRST)) if spec.capabilities.requires_image else []
    if spec.capabilities.kind == "image":
        return image(image_list=images, extra_params=extra)
    durations = spec.capabilities.durations
    return video(
        image_list=images,
        video=CLIP if "video_url" in needs else None,
        duration_seconds=durations[-1] if durations else None,
        extra_params=extra,
    )


@pytest.mark.parametrize(("provider", "key"), ENTRIES, ids=[f"{p}:{k}" for p, k in ENTRIES])
def test_every_entry_maps_a_minimal_request_to_its_own_fields(provider: str, key: str) -> None:
    """Every registered id and family sends only its own inputs, durations as it writes them."""
    registry = REGISTRIES[provider]
    model = _probe_id(key)
    spec = find_spec(registry, model)
    assert spec is registry[key]
    request = _minimal_request(spec)
    wire = _wire(provider, _prepare(provider, model, request))
    allowed = set(spec.inputs.values()) | set(spec.defaults) | set(request.extra_params)
    assert set(wire) <= allowed
    assert set(spec.required) <= set(wire)
    if "prompt" in spec.inputs:
        assert wire["prompt"] == "a cat"
    name = spec.inputs.get("duration")
    durations = spec.capabilities.durations
    if name is not None and durations:
        written = {
            "int": durations[-1],
            "str": str(durations[-1]),
            "str_s": f"{durations[-1]}s",
            "frames": durations[-1] * (spec.frame_rate or 0) + 1,
        }[spec.duration_format]
        assert wire[name] == written


# -- capabilities --------------------------------------------------------------------------

CAPABILITIES: list[tuple[str, str, dict[str, Any]]] = [
    ("fal", "fal-ai/veo3.1/fast", {"durations": (4, 6, 8), "aspect_ratios": ("16:9", "9:16")}),
    ("fal", "fal-ai/veo3.1/extend-video", {"durations": (7,), "resolutions": ("720p",)}),
    ("fal", "fal-ai/sora-2/text-to-video", {"durations": (4, 8, 12), "accepts_image": False}),
    ("fal", "fal-ai/kling-video/v2.6/pro/image-to-video", {"requires_image": True}),
    ("fal", "fal-ai/kling-video/v2.6/pro/text-to-video", {"accepts_image": False}),
    ("fal", "fal-ai/kling-video/v3/pro/text-to-video", {"durations": tuple(range(3, 16))}),
    ("fal", "fal-ai/kling-video/o1/image-to-video", {"durations": (5, 10)}),
    ("fal", "fal-ai/minimax/video-01", {"durations": (6,), "accepts_image": False}),
    ("fal", "fal-ai/minimax/hailuo-02-fast/image-to-video", {"durations": (6, 10)}),
    ("fal", "fal-ai/pixverse/v5/text-to-video", {"durations": (5, 8)}),
    ("fal", "fal-ai/pixverse/v5.5/text-to-video", {"durations": (5, 8, 10)}),
    ("fal", "fal-ai/bytedance/seedance/v1/pro/text-to-video", {"durations": tuple(range(2, 13))}),
    ("fal", "fal-ai/bytedance/seedance/v1/pro/image-to-video", {"accepts_audio_flag": False}),
    ("fal", "fal-ai/wan/v2.2-a14b/text-to-video", {"durations": tuple(range(1, 11))}),
    ("fal", "wan/v2.6/image-to-video", {"durations": (5, 10, 15), "requires_image": True}),
    ("fal", "fal-ai/sync-lipsync", {"accepts_image": False, "accepts_audio_flag": False}),
    ("fal", "fal-ai/flux-2", {"max_outputs": 4, "accepts_image": False}),
    ("fal", "fal-ai/flux-2-pro", {"max_outputs": 1}),
    ("fal", "fal-ai/recraft-v3", {"max_outputs": 1}),
    ("fal", "fal-ai/reve/remix", {"requires_image": True, "max_outputs": 4}),
    ("replicate", "google/veo-3.1", {"durations": (4, 6, 8)}),
    ("replicate", "kwaivgi/kling-v2.6", {"durations": (5, 10), "accepts_last_frame": False}),
    ("replicate", "minimax/hailuo-02", {"resolutions": ("480p", "720p", "1080p")}),
    ("replicate", "wan-video/wan-2.2-t2v-fast", {"durations": (5, 6, 7)}),
    ("replicate", "stability-ai/stable-diffusion-3.5-large", {"max_outputs": 1}),
]


@pytest.mark.parametrize(
    ("provider", "model", "expected"),
    CAPABILITIES,
    ids=[f"{provider}:{model}" for provider, model, _ in CAPABILITIES],
)
def test_family_capabilities(provider: str, model: str, expected: dict[str, Any]) -> None:
    """Allowed durations, ratios, resolutions and image roles are those of the model."""
    spec = find_spec(REGISTRIES[provider], model.partition(":")[0])
    assert spec is not None
    capabilities = _client(provider, model).capabilities(spec.capabilities.kind)
    for name, value in expected.items():
        assert getattr(capabilities, name) == value, name


# -- refusals before anything is sent -----------------------------------------------------


@pytest.mark.parametrize(
    ("provider", "model", "request_", "match"),
    [
        ("fal", "fal-ai/sync-lipsync", video(video=CLIP), "audio_url"),
        (
            "fal",
            "fal-ai/sync-lipsync/v2/pro",
            video(extra_params={"audio_url": AUDIO}),
            "request.video",
        ),
        ("fal", "fal-ai/veo3.1/extend-video", video(), "video_url"),
        ("fal", "fal-ai/sora-2/video-to-video/remix", video(), "video_id"),
        (
            "fal",
            "fal-ai/bytedance/omnihuman",
            video(image_list=_images(("reference", FIRST))),
            "audio_url",
        ),
        ("fal", "fal-ai/kling-video/v2.6/pro/image-to-video", video(), "first_frame"),
        (
            "fal",
            "fal-ai/kling-video/v3/pro/text-to-video",
            video(image_list=_images(("first_frame", FIRST))),
            "image-to-video",
        ),
        (
            "fal",
            "fal-ai/kling-video/v2.6/pro/image-to-video",
            video(image_list=_images(("first_frame", FIRST), ("last_frame", LAST))),
            "last_frame",
        ),
        ("replicate", "minimax/hailuo-2.3-fast", video(), "first_frame"),
    ],
)
def test_missing_required_input_is_refused(
    provider: str, model: str, request_: Any, match: str
) -> None:
    """A model's required input (video, audio, image) missing is a ValidationError naming it."""
    with pytest.raises(ValidationError, match=match):
        _prepare(provider, model, request_)


# -- lookup --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "key"),
    [
        ("fal-ai/veo3.1/fast", "fal-ai/veo3.1/fast"),
        ("fal-ai/veo3.1/lite/new-mode", "fal-ai/veo3.1/"),
        ("fal-ai/veo3/other", "fal-ai/veo3/"),
        ("fal-ai/kling-video/v2.6/standard/image-to-video", "fal-ai/kling-video/v2.6/"),
        ("fal-ai/kling-video/o3/turbo/image-to-video", "fal-ai/kling-video/o3/"),
        ("fal-ai/pixverse/v5.5/effects", "fal-ai/pixverse/v5.5/effects"),
        ("fal-ai/pixverse/v5.5/extend", "fal-ai/pixverse/v5.5/"),
        ("fal-ai/pixverse/v5/extend", "fal-ai/pixverse/v5/"),
        ("fal-ai/bytedance/omnihuman/v1.5", "fal-ai/bytedance/omnihuman/v1.5"),
        ("fal-ai/bytedance/omnihuman/v2", "fal-ai/bytedance/omnihuman"),
        ("fal-ai/sync-lipsync/v2/pro", "fal-ai/sync-lipsync"),
        ("fal-ai/flux/dev/", "fal-ai/flux/dev"),
        ("fal-ai/flux/dev/redux", "fal-ai/flux/dev"),
        ("fal-ai/z-image-turbo/lora", "fal-ai/z-image-turbo/"),
        ("/fal-ai/recraft/v3/text-to-image", "fal-ai/recraft/v3/text-to-image"),
    ],
)
def test_fal_lookup_exact_then_longest_prefix(model: str, key: str) -> None:
    """Exact id first, then the longest registered prefix ending at a path boundary."""
    assert find_spec(FAL_MODELS, model) is FAL_MODELS[key]
    client = FalClient(ProviderSettings(model=model, api_key=None))
    assert client.registered_spec() is FAL_MODELS[key]


@pytest.mark.parametrize(
    "model",
    [
        "fal-ai/imagen4/preview",
        "fal-ai/veo3x",  # a prefix of the characters, not of the path
        "fal-ai/flux-pro/v1.1-ultra",
        "fal-ai/minimax-music",
        "fal-ai/kling-video/v2.5-turbo/pro/image-to-video",
        "fal-ai/pixverse/v4.5/text-to-video",
    ],
)
def test_fal_unrelated_ids_fall_to_the_generic_spec(model: str) -> None:
    """An id no family covers gets the generic mapping, nothing adapted."""
    client = FalClient(ProviderSettings(model=model, api_key=None))
    assert client.registered_spec() is None
    assert client.capabilities("video") is GENERIC_VIDEO_SPEC.capabilities
    assert client.capabilities("image") is GENERIC_IMAGE_SPEC.capabilities


@pytest.mark.parametrize(
    ("model", "key"),
    [
        ("kwaivgi/kling-lip-sync", "kwaivgi/kling-lip-sync"),
        ("kwaivgi/kling-v2.1-master", "kwaivgi/kling-v2.1-master"),
        ("kwaivgi/kling-v9", "kwaivgi/"),
        ("minimax/video-02", "minimax/"),
        ("luma/ray-flash-2-540p", "luma/ray-flash-2-540p"),
        ("luma/ray-3-hdr", "luma/"),
        ("wan-video/wan-2.1-t2v-720p", "wan-video/"),
        ("google/veo-3.1-fast:" + "a" * 64, "google/veo-3.1-fast"),
    ],
)
def test_replicate_lookup_exact_then_owner_family(model: str, key: str) -> None:
    """Replicate names are exact or an owner's family; a pinned version is looked up by name."""
    client = ReplicateClient(ProviderSettings(model=model, api_key=None))
    assert client.capabilities("video") is REPLICATE_MODELS[key].capabilities


@pytest.mark.parametrize(
    "model", ["google/veo-4", "stability-ai/sdxl", "black-forest-labs/flux-2-max"]
)
def test_replicate_unrelated_ids_fall_to_the_generic_spec(model: str) -> None:
    """A Replicate name no entry covers gets the generic spec of the job's kind."""
    client = ReplicateClient(ProviderSettings(model=model, api_key=None))
    assert client.capabilities("video") is GENERIC_SPECS["video"].capabilities
    assert client.capabilities("image") is GENERIC_SPECS["image"].capabilities


def test_find_spec_prefers_the_longest_boundary_prefix() -> None:
    """Of several covering keys the longest wins; "a/b" never covers "a/bc"."""
    short, long = (ModelSpec(capabilities=GENERIC_VIDEO_SPEC.capabilities, inputs={}) for _ in "ab")
    registry = {"a/b": short, "a/b/c": long, "x/": short}
    assert find_spec(registry, "a/b/c/d") is long
    assert find_spec(registry, "a/b/cd") is short
    assert find_spec(registry, "a/bc") is None
    assert find_spec(registry, "x/anything/at/all") is short
    assert find_spec(registry, "x") is None
