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

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from tarash.tarash_gateway.errors import ValidationError
from tarash.tarash_gateway.models import ImageGenerationRequest, VideoGenerationRequest
from tarash.tarash_gateway.providers._lifecycle import Retirement
from tarash.tarash_gateway.providers._media import media_reference
from tarash.tarash_gateway.providers.field_mappers import (
    FieldMapper,
    apply_field_mappers,
    registered_field_mappers,
)

__all__ = [
    "Composed",
    "DurationFormat",
    "JobKind",
    "MappedRequest",
    "ModelCapabilities",
    "ModelSpec",
    "ValueBuilder",
    "find_spec",
    "map_request",
    "map_request_inputs",
    "pixel_size",
    "user_mapped_spec",
    "value_table",
]

JobKind = Literal["video", "image"]


@dataclass(frozen=True, slots=True)
class ModelCapabilities:
    """What a model can do, used to adapt or reject a request before anything is paid for.

    ``None`` for a tuple means "anything goes" (an unregistered model: the provider decides).
    """

    kind: JobKind
    durations: tuple[int, ...] | None = None
    aspect_ratios: tuple[str, ...] | None = None
    resolutions: tuple[str, ...] | None = None
    requires_image: bool = False
    accepts_image: bool = True
    accepts_last_frame: bool = True
    accepts_audio_flag: bool = True
    max_outputs: int | None = None


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


ValueBuilder = Callable[..., Any]
"""Builds one wire value from unified concept values, given by keyword (``aspect_ratio=``,
``resolution=``; ``None`` when the request leaves one out); returns ``None`` when it has no
value for them (the concepts are then noted as not sent)."""


@dataclass(frozen=True, slots=True)
class Composed:
    """A wire field built from several unified concepts together.

    OpenAI's ``size`` (``"1280x720"``) and Runway's ``ratio`` (``"1280:720"``) each stand for
    an aspect ratio and a resolution at once: ``Composed("size", ("aspect_ratio",
    "resolution"), pixel_size("x"))``. The concepts it reads count as sent; they need no
    entry in :attr:`ModelSpec.inputs`.

    Attributes:
        field: The model's input field.
        concepts: The unified concepts it is built from (see :data:`UNIFIED_INPUTS`),
            after :attr:`ModelSpec.values` spelt them.
        build: Called with each concept's value by keyword; see :data:`ValueBuilder`.
    """

    field: str
    concepts: tuple[str, ...]
    build: ValueBuilder


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """One registry entry.

    Attributes:
        capabilities: What the model supports (for adaptation and validation).
        inputs: Unified concept (see :data:`UNIFIED_INPUTS`) -> the model's input field.
            A concept with no entry is not sent (and, when the request sets it, noted as
            not sent: refused under ``strict_parameters``).
        duration_format: How to write the duration.
        defaults: Input values always sent (the user's ``extra_params`` override them).
        output: Where the model's output keeps its media, e.g. ``"video.url"`` (provider
            modules interpret it).
        values: Concept -> {unified value: the model's value}, for models that spell a
            value their own way (``"768p"`` -> ``"768P"``, ``"realistic"`` ->
            ``"REALISTIC"``). A value not in the table is sent as it is.
        composed: Wire fields built from several concepts at once (a ``size`` from the
            aspect ratio and the resolution); see :class:`Composed`.
        endpoint: Where the model is served, for providers that route by model rather than
            by an id in the body (Stability's ``/v2beta/stable-image/generate/ultra``): a
            path under the API base, which the provider module reads. Empty: the
            provider's own default.
        required: Input fields the model cannot run without and that a request may leave
            out (a video to lip-sync, an ``audio_url`` given through ``extra_params``);
            a payload without one is refused before anything is sent.
        frame_rate: Frames per second, for ``duration_format="frames"``.
        lifecycle: Set when the provider retired the model (or announced it will): its
            successor and date. A request for it warns once per process, naming the
            successor, and is still sent; the provider's refusal of it repeats the
            successor (see ``ProviderClient.lifecycle``). ``None``: active.
        prompt_alternatives: Input fields that stand in for the prompt (Kling V3/O3's
            ``multi_prompt``: "either prompt or multi_prompt, not both", in fal's
            schemas). When ``extra_params`` gives one, the prompt is not sent (a prompt
            given too is noted as not sent); without one, a blank prompt is refused.
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
    composed: tuple[Composed, ...] = ()
    endpoint: str = ""
    required: tuple[str, ...] = ()
    frame_rate: int | None = None
    lifecycle: Retirement | None = None
    field_mappers: Mapping[str, FieldMapper] | None = None
    prompt_alternatives: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        used = set(self.inputs) | set(self.values)
        used.update(concept for composed in self.composed for concept in composed.concepts)
        unknown = used - set(UNIFIED_INPUTS)
        if unknown:
            raise ValueError(f"ModelSpec maps unknown concepts: {sorted(unknown)}")
        twice = {c for composed in self.composed for c in composed.concepts} & set(self.inputs)
        if twice:
            raise ValueError(f"ModelSpec maps {sorted(twice)} both alone and composed")
        if (self.duration_format == "frames") != (self.frame_rate is not None):
            raise ValueError("duration_format='frames' and frame_rate go together")
        if self.endpoint and not self.endpoint.startswith("/"):
            raise ValueError("ModelSpec.endpoint is a path under the API base: start it with /")


def pixel_size(separator: str = "x", *, default_resolution: str = "720p") -> ValueBuilder:
    """A :class:`Composed` builder of ``"WIDTHxHEIGHT"`` from an aspect ratio and a resolution.

    The resolution names the short side (``"720p"`` with ``"16:9"`` is ``1280x720``, with
    ``"9:16"`` ``720x1280``); the long side is rounded to an even number of pixels, as video
    encoders want. Models that take only some sizes list them in their capabilities (the
    request is adapted to those first) or use :func:`value_table`.

    Args:
        separator: Between width and height: ``"x"`` (OpenAI), ``":"`` (Runway).
        default_resolution: Used when the request gives an aspect ratio only.

    Returns:
        ``build(aspect_ratio=..., resolution=...)``: the size, or ``None`` when neither is
        given or either cannot be read (``"auto"``, ``"4k"`` is read as 2160 lines).
    """

    def build(aspect_ratio: str | None = None, resolution: str | None = None) -> str | None:
        if aspect_ratio is None and resolution is None:
            return None
        short = _short_side(resolution or default_resolution)
        ratio = _ratio(aspect_ratio or "16:9")
        if short is None or ratio is None:
            return None
        wide, tall = ratio
        if wide >= tall:
            width, height = _even(short * wide / tall), short
        else:
            width, height = short, _even(short * tall / wide)
        return f"{width}{separator}{height}"

    return build


def value_table(table: Mapping[tuple[Any, ...], Any]) -> ValueBuilder:
    """A :class:`Composed` builder that looks its concepts' values up in ``table``.

    Keys list the values in the order of :attr:`Composed.concepts`; ``None`` in a key
    matches a concept the request leaves out. Runway's ``{("16:9", "720p"): "1280:720"}``.

    Returns:
        ``build(**values)``: the table's value, or ``None`` when the key is not in it.
    """

    def build(**values: Any) -> Any:
        return table.get(tuple(values.values()))

    return build


_LINES = {"2k": 1440, "4k": 2160}


def _short_side(resolution: str) -> int | None:
    text = resolution.lower()
    if text in _LINES:
        return _LINES[text]
    digits = text.removesuffix("p")
    return int(digits) if digits.isdigit() and int(digits) > 0 else None


def _ratio(aspect_ratio: str) -> tuple[int, int] | None:
    wide, _, tall = aspect_ratio.partition(":")
    if not (wide.isdigit() and tall.isdigit()) or 0 in (int(wide), int(tall)):
        return None
    return int(wide), int(tall)


def _even(pixels: float) -> int:
    return 2 * round(pixels / 2)


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


@dataclass(slots=True)
class MappedRequest:
    """A request mapped to one model's input.

    Attributes:
        payload: The model's input object.
        notes: One line for each value the request set that the model has no input for
            (``"seed: 3 not sent (fal-ai/kling has no input for it)"``): refused under
            ``strict_parameters``, recorded in the metadata otherwise.
        summary: ``None`` for each of the duration, resolution and aspect ratio that was not
            sent, so a response does not claim it.
    """

    payload: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)


# Concept -> how a note names the request field the user set.
_REQUEST_FIELDS = {
    "duration": "duration_seconds",
    "first_frame": "image_list (first_frame)",
    "last_frame": "image_list (last_frame)",
    "reference_images": "image_list (references)",
}
_MEDIA_CONCEPTS = frozenset(
    {"first_frame", "last_frame", "reference_images", "video", "mask_image"}
)
_SUMMARY_KEYS = {"duration": "duration_seconds", "resolution": "resolution"}


def _unsent_note(concept: str, value: Any, model: str, request: object) -> str:
    if concept == "count":
        name = "number_of_videos" if isinstance(request, VideoGenerationRequest) else "n"
    else:
        name = _REQUEST_FIELDS.get(concept, concept)
    # Media are not quoted: a data URI is long, and a signed URL carries a token.
    shown = "" if concept in _MEDIA_CONCEPTS else f" {value!r}"
    return f"{name}:{shown} not sent ({model} has no input for it)"


def map_request(
    spec: ModelSpec, request: VideoGenerationRequest | ImageGenerationRequest, *, model: str
) -> MappedRequest:
    """Build a model's input object from a (loaded, adapted) unified request.

    Images become URLs or data URIs; :attr:`ModelSpec.values` spell values the model's way
    and :attr:`ModelSpec.composed` build fields from several concepts. ``extra_params`` are
    applied last, as given. A value the request sets for a concept the model has no input
    for is left out and noted (see :class:`MappedRequest`), the same for every provider.

    Args:
        spec: The model's registry entry.
        request: The request, adapted to the model.
        model: The model id, as notes name it.

    Raises:
        ValidationError: An input listed in ``spec.required`` is missing, or (for a
            user-mapped model) a field mapper refused the request.
    """
    if spec.field_mappers is not None:
        mapped = apply_field_mappers(spec.field_mappers, request)
        mapped.update(request.extra_params)
        return MappedRequest(mapped)
    concepts = _concept_values(spec, request)
    payload: dict[str, Any] = dict(spec.defaults)
    unsent: dict[str, Any] = {}
    composed_concepts = {concept for composed in spec.composed for concept in composed.concepts}
    for concept, (value, shown) in concepts.items():
        if concept in spec.inputs:
            table = spec.values.get(concept)
            if table is not None and isinstance(value, str | int):
                value = table.get(value, value)
            payload[spec.inputs[concept]] = value
        elif concept not in composed_concepts and concept != "prompt":
            # The prompt is not the user's choice to make (every request has one): a model
            # that takes none (an upscaler) is no reason to note or refuse anything.
            unsent[concept] = shown
    for composed in spec.composed:
        given = {concept: _spelt(spec, concept, concepts) for concept in composed.concepts}
        if all(value is None for value in given.values()):
            continue
        built = composed.build(**given)
        if built is None:
            unsent.update(
                {
                    concept: concepts[concept][1]
                    for concept in composed.concepts
                    if concept in concepts
                }
            )
        else:
            payload[composed.field] = built
    payload.update(request.extra_params)
    _check_required(spec, payload)
    result = MappedRequest(payload)
    _settle_prompt(spec, request, result, model)
    for concept, shown in unsent.items():
        result.notes.append(_unsent_note(concept, shown, model, request))
        if concept in ("duration", "resolution", "aspect_ratio"):
            result.summary[_SUMMARY_KEYS.get(concept, concept)] = None
    return result


def _settle_prompt(
    spec: ModelSpec,
    request: VideoGenerationRequest | ImageGenerationRequest,
    result: MappedRequest,
    model: str,
) -> None:
    """Leave the prompt out where an alternative stands in for it; refuse a blank prompt
    a model needs (a request may be built with ``prompt=""`` for a model that takes none).

    Raises:
        ValidationError: The prompt is blank and the model needs one.
    """
    field_name = spec.inputs.get("prompt")
    if field_name is None:
        return  # the model takes no prompt (Wan 2.2 animate, an upscaler)
    payload = result.payload
    given = next((name for name in spec.prompt_alternatives if payload.get(name) is not None), None)
    if given is not None:
        sent = payload.pop(field_name, None)
        if isinstance(sent, str) and sent.strip():
            result.notes.append(
                f"prompt: not sent ({model} takes {given} instead: the two are exclusive)"
            )
        return
    sent = payload.get(field_name)
    if not request.prompt.strip() and not (isinstance(sent, str) and sent.strip()):
        instead = f" (or extra_params {' or '.join(spec.prompt_alternatives)})"
        # This model's need, not the request's fault (as a missing required input): another
        # model of a chain may take the request as it is.
        raise ValidationError(
            f"prompt must not be empty: {model} needs one"
            f"{instead if spec.prompt_alternatives else ''}"
        )


def map_request_inputs(
    spec: ModelSpec, request: VideoGenerationRequest | ImageGenerationRequest
) -> dict[str, Any]:
    """The input object of :func:`map_request`, without its notes.

    Raises:
        ValidationError: See :func:`map_request`.
    """
    return map_request(spec, request, model="the model").payload


def _spelt(spec: ModelSpec, concept: str, concepts: Mapping[str, tuple[Any, Any]]) -> Any:
    if concept not in concepts:
        return None
    value = concepts[concept][0]
    table = spec.values.get(concept)
    if table is not None and isinstance(value, str | int):
        return table.get(value, value)
    return value


def _concept_values(
    spec: ModelSpec, request: VideoGenerationRequest | ImageGenerationRequest
) -> dict[str, tuple[Any, Any]]:
    """Concept -> (its wire value before spelling, the value as the user set it), for every
    concept the request sets."""
    names = spec.inputs
    found: dict[str, tuple[Any, Any]] = {}

    def put(concept: str, value: Any, shown: Any = None) -> None:
        if value is not None:
            found[concept] = (value, value if shown is None else shown)

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
            put(
                "duration",
                _format_duration(request.duration_seconds, spec),
                request.duration_seconds,
            )
        if request.number_of_videos > 1:
            put("count", request.number_of_videos)
        if request.video is not None:
            put("video", media_reference(request.video))
    else:
        count = 1 if request.n is None else request.n  # None: one image, as published
        put("count", count if count > 1 or "count" in spec.defaults else None)
        put("size", request.size)
        put("quality", request.quality)
        put("style", request.style)
        if request.mask_image is not None:
            put("mask_image", media_reference(request.mask_image))
    # A model with a single image field takes the first image given, whatever its
    # declared role.
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
    return found
