"""Model registries as data: how a unified request maps to one model's input fields.

A provider keeps a ``dict[str, ModelSpec]`` of the models it knows; adding a model is one
entry. A model id that is not registered still works through the provider's generic spec
(common field names, nothing adapted) plus ``extra_params``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from tarash.tarash_gateway.media import media_reference
from tarash.tarash_gateway.models import ImageGenerationRequest, VideoGenerationRequest
from tarash.tarash_gateway.providers._base import ModelCapabilities

__all__ = ["DurationFormat", "ModelSpec", "map_request_inputs"]

DurationFormat = Literal["int", "str", "str_s"]
"""How a model wants its duration: ``8``, ``"8"`` or ``"8s"``."""

UNIFIED_INPUTS = (
    "prompt",
    "negative_prompt",
    "seed",
    "aspect_ratio",
    "resolution",
    "generate_audio",
    "enhance_prompt",
    "duration",
    "first_frame",
    "last_frame",
    "reference_images",
    "video",
    "count",
    "size",
    "quality",
    "style",
    "mask_image",
)
"""Keys a :class:`ModelSpec` may map; each names a unified request concept."""


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """One registry entry.

    Attributes:
        capabilities: What the model supports (for adaptation and validation).
        inputs: Unified concept (see :data:`UNIFIED_INPUTS`) -> the model's input field.
            A concept with no entry is not sent.
        duration_format: How to write the duration.
        defaults: Input values always sent (the user's ``extra_params`` override them).
        output: Where the model's output keeps its media, e.g. ``"video.url"`` (provider
            modules interpret it).
    """

    capabilities: ModelCapabilities
    inputs: Mapping[str, str]
    duration_format: DurationFormat = "int"
    defaults: Mapping[str, Any] = field(default_factory=dict)
    output: str = ""

    def __post_init__(self) -> None:
        unknown = set(self.inputs) - set(UNIFIED_INPUTS)
        if unknown:
            raise ValueError(f"ModelSpec maps unknown concepts: {sorted(unknown)}")


def _format_duration(seconds: int, style: DurationFormat) -> int | str:
    if style == "str":
        return str(seconds)
    if style == "str_s":
        return f"{seconds}s"
    return seconds


def map_request_inputs(
    spec: ModelSpec, request: VideoGenerationRequest | ImageGenerationRequest
) -> dict[str, Any]:
    """Build a model's input object from a (loaded, adapted) unified request.

    Images become URLs or data URIs. ``extra_params`` are applied last, as given.
    """
    names = spec.inputs
    payload: dict[str, Any] = dict(spec.defaults)

    def put(concept: str, value: Any) -> None:
        if value is not None and concept in names:
            payload[names[concept]] = value

    put("prompt", request.prompt)
    put("negative_prompt", request.negative_prompt)
    put("seed", request.seed)
    put("aspect_ratio", request.aspect_ratio)
    firsts = request.images_of("first_frame")
    lasts = request.images_of("last_frame")
    references = [
        item["image"]
        for item in request.image_list
        if item["type"] not in ("first_frame", "last_frame")
    ]
    if isinstance(request, VideoGenerationRequest):
        put("resolution", request.resolution)
        put("generate_audio", request.generate_audio)
        put("enhance_prompt", request.enhance_prompt)
        if request.duration_seconds is not None:
            put("duration", _format_duration(request.duration_seconds, spec.duration_format))
        if request.number_of_videos > 1:
            put("count", request.number_of_videos)
        if request.video is not None:
            put("video", media_reference(request.video))
        # An image-to-video model with a single image field takes the first image given,
        # whatever its declared role.
        if not firsts and references and "reference_images" not in names:
            firsts, references = references[:1], references[1:]
    else:
        put("count", request.n if request.n > 1 or "count" in spec.defaults else None)
        put("size", request.size)
        put("quality", request.quality)
        put("style", request.style)
        if request.mask_image is not None:
            put("mask_image", media_reference(request.mask_image))
        if not firsts and references and "reference_images" not in names:
            firsts, references = references[:1], references[1:]
    if firsts:
        put("first_frame", media_reference(firsts[0]))
    if lasts:
        put("last_frame", media_reference(lasts[0]))
    if references:
        put("reference_images", [media_reference(image) for image in references])
    payload.update(request.extra_params)
    return payload
