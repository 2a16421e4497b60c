"""Model registries as data: how a unified request maps to one model's input fields.

A provider keeps a ``dict[str, ModelSpec]`` of the models it knows; adding a model is one
entry. A key names one model id, or a family of them: :func:`find_spec` takes the exact id
first, then the longest key that is a prefix of the id ending at a ``/`` (``fal-ai/veo3.1``
covers ``fal-ai/veo3.1/fast``; a key ending in ``/`` covers only the ids under it). A model
id that matches nothing still works through the provider's generic spec (common field
names, nothing adapted) plus ``extra_params``. A model the user mapped with
``register_provider_field_mapping`` takes what its field mappers build instead
(:func:`user_mapped_spec`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from tarash.tarash_gateway.errors import ValidationError
from tarash.tarash_gateway.media import media_reference
from tarash.tarash_gateway.models import ImageGenerationRequest, VideoGenerationRequest
from tarash.tarash_gateway.providers._base import JobKind, ModelCapabilities
from tarash.tarash_gateway.providers.field_mappers import (
    FieldMapper,
    apply_field_mappers,
    registered_field_mappers,
)

__all__ = ["DurationFormat", "ModelSpec", "find_spec", "map_request_inputs", "user_mapped_spec"]

DurationFormat = Literal["int", "str", "str_s", "frames"]
"""How a model wants its duration: ``8``, ``"8"``, ``"8s"``, or a frame count
(``seconds * frame_rate + 1``: models that take ``num_frames`` count the first frame too)."""

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
        values: Concept -> {unified value: the model's value}, for models that spell a
            value their own way (``"768p"`` -> ``"768P"``, ``"realistic"`` ->
            ``"REALISTIC"``). A value not in the table is sent as it is.
        required: Input fields the model cannot run without and that a request may leave
            out (a video to lip-sync, an ``audio_url`` given through ``extra_params``);
            a payload without one is refused before anything is sent.
        frame_rate: Frames per second, for ``duration_format="frames"``.
        field_mappers: Set on the spec of a model the user mapped with
            ``register_provider_field_mapping`` (see :func:`user_mapped_spec`): the input
            is what these build, ``extra_params`` merged last, and nothing else.
    """

    capabilities: ModelCapabilities
    inputs: Mapping[str, str]
    duration_format: DurationFormat = "int"
    defaults: Mapping[str, Any] = field(default_factory=dict)
    output: str = ""
    values: Mapping[str, Mapping[Any, Any]] = field(default_factory=dict)
    required: tuple[str, ...] = ()
    frame_rate: int | None = None
    field_mappers: Mapping[str, FieldMapper] | None = None

    def __post_init__(self) -> None:
        unknown = (set(self.inputs) | set(self.values)) - set(UNIFIED_INPUTS)
        if unknown:
            raise ValueError(f"ModelSpec maps unknown concepts: {sorted(unknown)}")
        if (self.duration_format == "frames") != (self.frame_rate is not None):
            raise ValueError("duration_format='frames' and frame_rate go together")


def find_spec(registry: Mapping[str, ModelSpec], model_id: str) -> ModelSpec | None:
    """Return the registry entry for a model id: its own, else its family's.

    The exact id wins; otherwise the longest key that is a prefix of the id at a path
    boundary: a key ``"a/b"`` covers ``"a/b/c"`` (not ``"a/bc"``), a key ``"a/"`` covers
    every id under ``a/``.

    Args:
        registry: Model id or family prefix -> spec.
        model_id: The id as configured (surrounding slashes ignored).

    Returns:
        The spec, or ``None`` when neither the id nor any family of it is registered.
    """
    wanted = model_id.strip("/")
    exact = registry.get(wanted)
    if exact is not None:
        return exact
    best: str | None = None
    for key in registry:
        covers = wanted.startswith(key) if key.endswith("/") else wanted.startswith(f"{key}/")
        if covers and (best is None or len(key) > len(best)):
            best = key
    return registry[best] if best is not None else None


def user_mapped_spec(provider: str, model_id: str, kind: JobKind) -> ModelSpec | None:
    """The spec of a model the user mapped with ``register_provider_field_mapping``.

    Such a mapping wins over the provider's own registry entry (a user who maps a model
    we know means to change what it is sent). Its capabilities say "anything goes":
    tarash knows nothing of the model, so nothing is adapted or refused before mapping.

    Args:
        provider: The provider client's registry name (``"fal"``, ``"replicate"``).
        model_id: The id as configured; matched as the published package does (exact
            key, else the longest key that is a string prefix of it).
        kind: The job asked for.

    Returns:
        The spec, or ``None`` when no registered key matches.
    """
    mappers = registered_field_mappers(provider, model_id)
    if mappers is None:
        return None
    return ModelSpec(capabilities=ModelCapabilities(kind=kind), inputs={}, field_mappers=mappers)


def _format_duration(seconds: int, spec: ModelSpec) -> int | str:
    style = spec.duration_format
    if style == "str":
        return str(seconds)
    if style == "str_s":
        return f"{seconds}s"
    if style == "frames" and spec.frame_rate is not None:
        return seconds * spec.frame_rate + 1
    return seconds


# How a user supplies each input a spec may require, for the refusal's message.
_SUPPLIED_BY = {
    "video": "set request.video",
    "first_frame": "add an image_list item with type='first_frame'",
    "last_frame": "add an image_list item with type='last_frame'",
    "reference_images": "add image_list items with type='reference'",
    "mask_image": "set request.mask_image",
}


def _check_required(spec: ModelSpec, payload: Mapping[str, Any]) -> None:
    concepts = {name: concept for concept, name in spec.inputs.items()}
    for name in spec.required:
        if payload.get(name) is not None:
            continue
        concept = concepts.get(name)
        how = _SUPPLIED_BY.get(concept or "", f"pass extra_params={{{name!r}: ...}}")
        raise ValidationError(f"this model needs {name!r}: {how}")


def map_request_inputs(
    spec: ModelSpec, request: VideoGenerationRequest | ImageGenerationRequest
) -> dict[str, Any]:
    """Build a model's input object from a (loaded, adapted) unified request.

    Images become URLs or data URIs. ``extra_params`` are applied last, as given.

    Raises:
        ValidationError: An input listed in ``spec.required`` is missing, or (for a
            user-mapped model) a field mapper refused the request.
    """
    if spec.field_mappers is not None:
        mapped = apply_field_mappers(spec.field_mappers, request)
        mapped.update(request.extra_params)
        return mapped
    names = spec.inputs
    payload: dict[str, Any] = dict(spec.defaults)

    def put(concept: str, value: Any) -> None:
        if value is not None and concept in names:
            table = spec.values.get(concept)
            if table is not None and isinstance(value, str | int):
                value = table.get(value, value)
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
            put("duration", _format_duration(request.duration_seconds, spec))
        if request.number_of_videos > 1:
            put("count", request.number_of_videos)
        if request.video is not None:
            put("video", media_reference(request.video))
        # An image-to-video model with a single image field takes the first image given,
        # whatever its declared role.
        if not firsts and references and "reference_images" not in names:
            firsts, references = references[:1], references[1:]
    else:
        count = 1 if request.n is None else request.n  # None: one image, as published
        put("count", count if count > 1 or "count" in spec.defaults else None)
        put("size", request.size)
        put("quality", request.quality)
        put("style", request.style)
        if request.mask_image is not None:
            put("mask_image", media_reference(request.mask_image))
        if not firsts and references and "reference_images" not in names:
            firsts, references = references[:1], references[1:]
    if firsts and "first_frame" not in names and "reference_images" in names:
        # A reference-only model (veo3.1 reference-to-video, flux-2 edit) takes every
        # image as a reference rather than dropping the one tagged as a first frame.
        references, firsts = [*firsts, *references], []
    if firsts:
        put("first_frame", media_reference(firsts[0]))
    if lasts:
        put("last_frame", media_reference(lasts[0]))
    if references:
        put("reference_images", [media_reference(image) for image in references])
    payload.update(request.extra_params)
    _check_required(spec, payload)
    return payload
