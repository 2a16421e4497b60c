"""Field mappers: the published package's declarative request -> wire mapping.

A :class:`FieldMapper` says where one provider parameter comes from: a request field
(``source_field``) and a ``converter(request, value)`` that turns its value into what the
provider wants. :func:`apply_field_mappers` runs a ``{api_name: FieldMapper}`` dict over a
request; the ``*_field_mapper`` helpers build the common ones.

:func:`register_provider_field_mapping` is the published door onto tarash's model
registry. For fal and Replicate a registered model id or prefix (the longest registered
prefix of a model id wins, as a plain string prefix) maps that model's input with the
mappers instead of tarash's own entry or generic mapping, ``extra_params`` merged last;
nothing is adapted to the model (tarash knows nothing of its capabilities). For any other
provider the mapping is stored for its handler to read with
:func:`get_provider_field_mapping`.

Every error is a tarash :class:`~tarash.tarash_gateway.errors.ValidationError` naming the
field (the published helpers raise ``ValueError``), raised before anything is sent.
"""

from __future__ import annotations

import base64
import binascii
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal, cast

from typing_extensions import TypedDict

from tarash.tarash_gateway._validate import check_provider_name, provider_key
from tarash.tarash_gateway.errors import TarashException, ValidationError
from tarash.tarash_gateway.models import ImageGenerationRequest, VideoGenerationRequest
from tarash.tarash_gateway.providers._media import sniff_mime, to_data_uri

__all__ = [
    "FieldMapper",
    "GenerationRequest",
    "ImageInputFormat",
    "ImageListItem",
    "apply_field_mappers",
    "duration_field_mapper",
    "extra_params_field_mapper",
    "get_field_mappers_from_registry",
    "get_provider_field_mapping",
    "image_input_field_mapper",
    "image_list_field_mapper",
    "mask_image_field_mapper",
    "n_images_field_mapper",
    "passthrough_field_mapper",
    "quality_field_mapper",
    "register_provider_field_mapping",
    "registered_field_mappers",
    "single_image_field_mapper",
    "size_field_mapper",
    "style_field_mapper",
    "video_url_field_mapper",
]

GenerationRequest = VideoGenerationRequest | ImageGenerationRequest
"""A request field mappers read."""

ImageRoleName = Literal["reference", "first_frame", "last_frame", "asset", "style"]


class ImageListItem(TypedDict, total=False):
    """One ``image_list`` entry, as converters see it."""

    type: str
    image: object


class ImageInputFormat(StrEnum):
    """The forms a provider may accept an image in (``accepted_formats``)."""

    URL = "url"
    """An ``http(s)://`` URL."""
    BASE64 = "base64"
    """A ``data:`` URI (or bare base64 text)."""
    BYTES = "bytes"
    """Raw bytes or a MediaContent dict; sent as a ``data:`` URI (JSON carries no bytes)."""


@dataclass
class FieldMapper:
    """Maps one request field to one provider parameter.

    Attributes:
        source_field: The request attribute read (``"prompt"``, ``"duration_seconds"``,
            ``"image_list"``, ``"extra_params"``...); a missing attribute reads as ``None``.
        converter: Called as ``converter(request, value)``; returns the value to send
            (``None``, ``[]`` or ``{}`` means "send nothing").
        required: A ``None`` value, before or after conversion, is an error.
    """

    source_field: str
    converter: Callable[[GenerationRequest, object], object]
    required: bool = False


def _invalid(message: str) -> ValidationError:
    return ValidationError(message)


def apply_field_mappers(
    field_mappers: Mapping[str, FieldMapper], request: GenerationRequest
) -> dict[str, object]:
    """Build a provider's parameters from a request.

    Args:
        field_mappers: Provider parameter name -> its mapper.
        request: The request to read.

    Returns:
        Parameter name -> converted value; ``None``, ``[]`` and ``{}`` results are left out.

    Raises:
        ValidationError: A required field is missing (naming it), or a converter refused
            its value (naming the parameter; the converter's error is the ``__cause__``).
    """
    result: dict[str, object] = {}
    for api_name, mapper in field_mappers.items():
        value = getattr(request, mapper.source_field, None)
        if mapper.required and value is None:
            raise _invalid(
                f"required field '{mapper.source_field}' is missing or None "
                f"(it is sent as '{api_name}')"
            )
        try:
            converted = mapper.converter(request, value)
        except TarashException:
            raise
        except Exception as exc:
            raise _invalid(f"{api_name} (from {mapper.source_field}): {exc}") from exc
        if mapper.required and converted is None:
            raise _invalid(f"required field '{api_name}' cannot be None after conversion")
        if converted is not None and converted != [] and converted != {}:
            result[api_name] = converted
    return result


# -- helpers ---------------------------------------------------------------------------


def _is_media_content(value: object) -> bool:
    return isinstance(value, dict) and "content" in value and "content_type" in value


def _format_of(media: object) -> ImageInputFormat:
    if isinstance(media, bytes) or _is_media_content(media):
        return ImageInputFormat.BYTES
    if str(media).startswith(("http://", "https://")):
        return ImageInputFormat.URL
    return ImageInputFormat.BASE64


def _base64_data_uri(text: str, field: str) -> str:
    if text.startswith("data:"):
        return text
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise _invalid(f"{field} is neither a URL, a data: URI nor base64 text") from None
    return to_data_uri(data, sniff_mime(data))


def _media_string(
    media: object,
    field: str,
    accepted_formats: list[ImageInputFormat] | None = None,
    provider: str = "unknown",
) -> str:
    """An image or video input as the string a JSON body carries: its URL or a data URI.

    MediaContent dicts and bytes become ``data:`` URIs; other values are sent as their
    ``str()`` (URLs, data URIs), as published. With ``accepted_formats``, a form the
    provider does not take is converted where that needs no download, else refused.
    """
    if accepted_formats is not None:
        current = _format_of(media)
        if current is ImageInputFormat.URL and ImageInputFormat.URL not in accepted_formats:
            # The published package downloads it here, blocking; tarash does not fetch
            # inputs behind the caller's back.
            raise _invalid(
                f"{field}: {provider} does not take image URLs here (accepted: "
                f"{', '.join(item.value for item in accepted_formats)}); pass the image's bytes"
            )
        if current is not ImageInputFormat.URL and not (
            {ImageInputFormat.BASE64, ImageInputFormat.BYTES} & set(accepted_formats)
        ):
            raise _invalid(f"{field}: {provider} takes image URLs only; pass an http(s) URL")
        if current is ImageInputFormat.BASE64:
            return _base64_data_uri(str(media), field)
    if _is_media_content(media):
        content = cast("dict[str, object]", media)
        data, mime = content["content"], content["content_type"]
        if not isinstance(data, bytes) or not isinstance(mime, str):
            raise _invalid(f"{field}: content must be bytes and content_type a str")
        return to_data_uri(data, mime)
    if isinstance(media, bytes):
        return to_data_uri(media)
    # URLs and data URIs as they are; anything else as published, its str().
    return str(media)


def _items(value: object) -> list[ImageListItem]:
    if not value:
        return []
    if not isinstance(value, list):
        raise _invalid(f"image_list must be a list, got {type(value).__name__}")
    return cast("list[ImageListItem]", value)


def _item_media(item: object) -> object | None:
    if isinstance(item, dict):
        return item.get("image")
    return item if isinstance(item, str) else None


def _check_allowed(what: str, value: str, allowed: list[str] | None, where: str = "") -> str:
    if allowed and value not in allowed:
        raise _invalid(f"invalid {what} {value!r}{where}; allowed: {', '.join(allowed)}")
    return value


# -- video and common mappers ----------------------------------------------------------


def passthrough_field_mapper(source_field: str, required: bool = False) -> FieldMapper:
    """Send ``source_field``'s value unchanged.

    Args:
        source_field: The request attribute to read.
        required: Refuse a request where it is ``None``.
    """
    return FieldMapper(source_field=source_field, converter=lambda _r, v: v, required=required)


def duration_field_mapper(
    field_type: Literal["str", "int"],
    allowed_values: list[str] | list[int] | None = None,
    provider: str = "unknown",
    model: str | None = None,
    add_suffix: bool = True,
) -> FieldMapper:
    """Send ``duration_seconds`` as ``5`` (``"int"``), ``"5s"`` or ``"5"`` (``"str"``).

    Args:
        field_type: ``"int"`` for whole seconds, ``"str"`` for text.
        allowed_values: The durations the model takes (``["5s", "10s"]`` or ``[5, 10]``);
            any other is refused.
        provider: Named in the refusal.
        model: Named in the refusal.
        add_suffix: For ``"str"``: ``"5s"`` when true, ``"5"`` when false.

    Raises:
        ValidationError: (From the converter) a duration outside ``allowed_values``.
    """

    def convert(_request: GenerationRequest, value: object) -> int | str | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise _invalid(f"duration_seconds must be a number, got {type(value).__name__}")
        seconds = int(value)
        if allowed_values:
            allowed = [int(str(item).rstrip("s")) for item in allowed_values]
            if seconds not in allowed:
                where = f" ({model})" if model else ""
                raise ValidationError(
                    f"Invalid duration for {provider}{where}: {seconds} seconds. "
                    f"Allowed values: {', '.join(map(str, allowed))}",
                    provider=provider,
                    model=model,
                )
        if field_type == "str":
            return f"{seconds}s" if add_suffix else str(seconds)
        return seconds

    return FieldMapper(source_field="duration_seconds", converter=convert)


def single_image_field_mapper(
    required: bool = False,
    image_type: ImageRoleName = "reference",
    strict: bool = True,
    accepted_formats: list[ImageInputFormat] | None = None,
    provider: str = "unknown",
) -> FieldMapper:
    """Send the one ``image_list`` image of ``image_type`` as a URL or data URI.

    ``"reference"`` also takes a ``"first_frame"`` image. No image of the type sends
    nothing.

    Args:
        required: Refuse a request with no image of the type.
        image_type: The role to pick.
        strict: More than one image of the type is an error; when false, nothing is sent
            (another mapper, an image list, may take them).
        accepted_formats: The forms the provider takes (see :class:`ImageInputFormat`).
        provider: Named in errors.
    """
    roles = ("reference", "first_frame") if image_type == "reference" else (image_type,)

    def convert(_request: GenerationRequest, value: object) -> str | None:
        chosen = [
            item for item in _items(value) if isinstance(item, dict) and item.get("type") in roles
        ]
        if not chosen:
            return None
        if len(chosen) > 1:
            if strict:
                raise _invalid(
                    f"image_list: only 1 {image_type} image allowed, got {len(chosen)} images"
                )
            return None
        media = chosen[0].get("image")
        if media is None:
            return None
        return _media_string(media, f"image_list ({image_type})", accepted_formats, provider)

    return FieldMapper(source_field="image_list", converter=convert, required=required)


def image_list_field_mapper(
    image_type: ImageRoleName | None = None,
    accepted_formats: list[ImageInputFormat] | None = None,
    provider: str = "unknown",
) -> FieldMapper:
    """Send the ``image_list`` images (all, or those of ``image_type``) as a list of URLs
    or data URIs; plain strings in the list are taken as they are.

    Args:
        image_type: Only images of this role; ``None`` for all.
        accepted_formats: The forms the provider takes (see :class:`ImageInputFormat`).
        provider: Named in errors.
    """

    def convert(_request: GenerationRequest, value: object) -> list[str]:
        urls: list[str] = []
        for index, item in enumerate(_items(value)):
            if image_type is not None and (
                not isinstance(item, dict) or item.get("type") != image_type
            ):
                continue
            media = _item_media(item)
            if media is not None:
                urls.append(
                    _media_string(media, f"image_list[{index}]", accepted_formats, provider)
                )
        return urls

    return FieldMapper(source_field="image_list", converter=convert)


def extra_params_field_mapper(param_name: str, required: bool = False) -> FieldMapper:
    """Send ``extra_params[param_name]`` (nothing when it is absent).

    Args:
        param_name: The ``extra_params`` key.
        required: Refuse a request without it.
    """

    def convert(_request: GenerationRequest, value: object) -> object:
        return value.get(param_name) if isinstance(value, dict) else None

    return FieldMapper(source_field="extra_params", converter=convert, required=required)


def video_url_field_mapper(required: bool = False) -> FieldMapper:
    """Send the request's ``video``: a URL as it is, bytes or MediaContent as a data URI.

    Args:
        required: Refuse a request without a video.
    """

    def convert(_request: GenerationRequest, value: object) -> str | None:
        return None if value is None else _media_string(value, "video")

    return FieldMapper(source_field="video", converter=convert, required=required)


def get_field_mappers_from_registry(
    model_name: str,
    registry: Mapping[str, dict[str, FieldMapper]],
    fallback_mappers: dict[str, FieldMapper],
) -> dict[str, FieldMapper]:
    """The mappers for a model: its own entry, else the longest key that prefixes its id,
    else ``fallback_mappers``.

    The prefix is a plain string prefix, as published: ``"fal-ai/veo3"`` covers
    ``"fal-ai/veo3.1/fast"`` unless ``"fal-ai/veo3.1"`` is registered too.

    Args:
        model_name: The model id.
        registry: Model id or prefix -> mappers.
        fallback_mappers: Returned when nothing matches.
    """
    if model_name in registry:
        return registry[model_name]
    best: str | None = None
    for key in registry:
        if model_name.startswith(key) and (best is None or len(key) > len(best)):
            best = key
    return registry[best] if best is not None else fallback_mappers


# -- image mappers ---------------------------------------------------------------------


def size_field_mapper(
    allowed_values: list[str] | None = None,
    provider: str = "unknown",
    model: str | None = None,
) -> FieldMapper:
    """Send ``size`` (``"1024x1024"``), refusing one outside ``allowed_values``.

    Args:
        allowed_values: The sizes the model takes.
        provider: Named in the refusal.
        model: Named in the refusal.
    """
    where = f" for {model} ({provider})" if model else f" ({provider})"

    def convert(_request: GenerationRequest, value: object) -> str | None:
        return None if value is None else _check_allowed("size", str(value), allowed_values, where)

    return FieldMapper(source_field="size", converter=convert)


def quality_field_mapper(allowed_values: list[str] | None = None) -> FieldMapper:
    """Send ``quality``, refusing one outside ``allowed_values``."""

    def convert(_request: GenerationRequest, value: object) -> str | None:
        return None if value is None else _check_allowed("quality", str(value), allowed_values)

    return FieldMapper(source_field="quality", converter=convert)


def style_field_mapper(allowed_values: list[str] | None = None) -> FieldMapper:
    """Send ``style``, refusing one outside ``allowed_values``."""

    def convert(_request: GenerationRequest, value: object) -> str | None:
        return None if value is None else _check_allowed("style", str(value), allowed_values)

    return FieldMapper(source_field="style", converter=convert)


def n_images_field_mapper(min_value: int = 1, max_value: int = 10) -> FieldMapper:
    """Send ``n`` (the number of images), refusing one outside ``min_value..max_value``."""

    def convert(_request: GenerationRequest, value: object) -> int | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise _invalid(f"n must be a whole number, got {type(value).__name__}")
        count = int(value)
        if not min_value <= count <= max_value:
            raise _invalid(f"n must be between {min_value} and {max_value}, got {count}")
        return count

    return FieldMapper(source_field="n", converter=convert)


def image_input_field_mapper(
    required: bool = False,
    accepted_formats: list[ImageInputFormat] | None = None,
    provider: str = "unknown",
) -> FieldMapper:
    """Send the first ``image_list`` image, whatever its role (image-to-image, inpainting).

    Args:
        required: Refuse a request with no image.
        accepted_formats: The forms the provider takes (see :class:`ImageInputFormat`).
        provider: Named in errors.
    """

    def convert(_request: GenerationRequest, value: object) -> str | None:
        items = _items(value)
        media = _item_media(items[0]) if items else None
        return (
            None
            if media is None
            else _media_string(media, "image_list[0]", accepted_formats, provider)
        )

    return FieldMapper(source_field="image_list", converter=convert, required=required)


def mask_image_field_mapper(
    accepted_formats: list[ImageInputFormat] | None = None,
    provider: str = "unknown",
) -> FieldMapper:
    """Send ``mask_image`` (inpainting) as a URL or data URI.

    Args:
        accepted_formats: The forms the provider takes (see :class:`ImageInputFormat`).
        provider: Named in errors.
    """

    def convert(_request: GenerationRequest, value: object) -> str | None:
        return (
            None
            if value is None
            else _media_string(value, "mask_image", accepted_formats, provider)
        )

    return FieldMapper(source_field="mask_image", converter=convert)


# -- the registration door -------------------------------------------------------------

_registered: dict[str, dict[str, dict[str, FieldMapper]]] = {}
_lock = threading.Lock()


def _registry_key(provider: object) -> str:
    if not isinstance(provider, str):
        raise _invalid(f"provider must be a str, got {type(provider).__name__}")
    return check_provider_name(provider_key(provider))


def register_provider_field_mapping(
    provider: str, model_mappings: dict[str, dict[str, FieldMapper]]
) -> None:
    """Register how a provider's models take their inputs.

    For ``"fal"`` and ``"replicate"``, a model whose id equals a key, or starts with one
    (the longest key wins), is sent exactly what its mappers build, with the request's
    ``extra_params`` merged last, in place of tarash's own mapping for it (registered
    model or generic); nothing is adapted to it. For other providers the mapping is kept
    for their handler (:func:`get_provider_field_mapping`). Registrations are global; a
    second call for the same provider adds its keys to the first's (a key given again
    replaces its mappers).

    Args:
        provider: The provider's name (looked up normalised, like ``config.provider``).
        model_mappings: Model id or prefix -> ``{api_param: FieldMapper}``.

    Raises:
        ValidationError: A name, key or mapper is malformed (nothing is registered).

    Example:
        >>> from tarash.tarash_gateway.providers.field_mappers import (
        ...     duration_field_mapper, passthrough_field_mapper)
        >>> register_provider_field_mapping("fal", {
        ...     "fal-ai/new-model": {
        ...         "prompt": passthrough_field_mapper("prompt", required=True),
        ...         "duration": duration_field_mapper("str", ["5s", "10s"]),
        ...     },
        ... })
    """
    key = _registry_key(provider)
    if not isinstance(model_mappings, Mapping):
        raise _invalid(
            "model_mappings must be a dict of model id -> {api_param: FieldMapper}, got "
            f"{type(model_mappings).__name__}"
        )
    checked: dict[str, dict[str, FieldMapper]] = {}
    for model, mappers in model_mappings.items():
        if not isinstance(model, str) or not model.strip():
            raise _invalid(f"model_mappings: a key must be a non-empty model id, got {model!r}")
        if not isinstance(mappers, dict):
            raise _invalid(f"model_mappings[{model!r}] must be a dict of api_param -> FieldMapper")
        for api_name, mapper in mappers.items():
            if not isinstance(api_name, str) or not isinstance(mapper, FieldMapper):
                raise _invalid(
                    f"model_mappings[{model!r}][{api_name!r}] must be a FieldMapper under a "
                    f"str name, got {type(mapper).__name__}"
                )
        checked[model] = mappers
    with _lock:
        _registered.setdefault(key, {}).update(checked)


def get_provider_field_mapping(provider: str) -> dict[str, dict[str, FieldMapper]] | None:
    """What :func:`register_provider_field_mapping` registered for ``provider``, or ``None``.

    tarash's own models are registry data (``fal_models.FAL_MODELS``,
    ``replicate_models.REPLICATE_MODELS``), not field mappers: they are not listed here.

    Raises:
        ValidationError: ``provider`` is not a provider name.
    """
    key = _registry_key(provider)
    with _lock:
        found = _registered.get(key)
        return dict(found) if found is not None else None


def registered_field_mappers(provider: str, model: str) -> dict[str, FieldMapper] | None:
    """The mappers registered for ``model`` of ``provider`` (exact id, else the longest
    registered prefix), or ``None`` when none matches."""
    with _lock:
        table = dict(_registered.get(provider_key(provider), {}))
    if not any(model.startswith(prefix) for prefix in table):
        return None
    return get_field_mappers_from_registry(model, table, {})
