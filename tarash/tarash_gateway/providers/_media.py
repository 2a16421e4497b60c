"""Media inputs: what a request's image and video fields may hold (URL, data URI, base64,
bytes, path, :class:`MediaContent`), checked, local files read, and turned into the URL or
``data:`` URI a wire takes.

The half of :mod:`tarash.tarash_gateway.media` that the provider kit, the wire modules and
the attempt use below the public face (which re-exports every name). Inputs are checked
before a job is submitted, so a bad path or undecodable base64 is a
:class:`~tarash.tarash_gateway.errors.ValidationError` that costs nothing.

An input a model takes only at an exact pixel size (Sora's first frame) is measured from
its header bytes (:func:`image_dimensions`, no decoder) and fitted to that size by
:func:`fit_image` (padded or cropped, with Pillow from the ``images`` extra).
"""

from __future__ import annotations

import base64
import binascii
import io
import re
from pathlib import Path
from typing import Literal, TypeVar

import anyio
from pydantic import AnyUrl

from tarash.tarash_gateway._sample_media import image_dimensions
from tarash.tarash_gateway.errors import ValidationError
from tarash.tarash_gateway.models import (
    ImageGenerationRequest,
    ImageType,
    MediaContent,
    MediaType,
    VideoGenerationRequest,
)

__all__ = [
    "FIT_POLICIES",
    "IMAGES_EXTRA",
    "FitPolicy",
    "ImagesExtraMissing",
    "base64_data_uri",
    "decode_data_uri",
    "fit_image",
    "image_dimensions",
    "load_local_media",
    "media_reference",
    "sniff_mime",
    "to_data_uri",
]

_MAGIC: tuple[tuple[bytes, int, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", 0, "image/png"),
    (b"\xff\xd8\xff", 0, "image/jpeg"),
    (b"GIF8", 0, "image/gif"),
    (b"WEBP", 8, "image/webp"),
    (b"ftyp", 4, "video/mp4"),
    (b"\x1aE\xdf\xa3", 0, "video/webm"),
)
_BASE64 = re.compile(r"[A-Za-z0-9+/]*={0,2}")
_SNIFF_CHARS = 64
"""Base64 characters decoded to sniff a type: 48 bytes, past every magic number above."""
_MIME_TYPE = re.compile(r"[\w.+-]+/[\w.+-]+")
_DATA_URI = re.compile(r"^data:(?P<mime>[\w.+-]+/[\w.+-]+)?(?P<params>(;[^;,]*)*?);base64,", re.I)
_REQUEST = TypeVar("_REQUEST", VideoGenerationRequest, ImageGenerationRequest)

FitPolicy = Literal["pad", "crop", "refuse"]
"""How an image is brought to the exact size a model takes: ``pad`` scales it to fit inside
and fills the rest with black bars (nothing of the image is lost), ``crop`` scales it to
cover and cuts the overflow evenly from both sides (no bars, the edges are lost), ``refuse``
sends nothing and raises."""
FIT_POLICIES: tuple[FitPolicy, ...] = ("pad", "crop", "refuse")
IMAGES_EXTRA = 'pip install "tarash-gateway[images]"'
"""The install command of the extra that brings Pillow, named in errors that need it."""


class ImagesExtraMissing(Exception):
    """Raised by :func:`fit_image` when Pillow (the ``images`` extra) is not installed; the
    caller turns it into a :class:`ValidationError` that names the size it needed."""


def sniff_mime(data: bytes, default: str = "application/octet-stream") -> str:
    """Guess a media type from the first bytes of a file."""
    for magic, offset, mime in _MAGIC:
        if data[offset : offset + len(magic)] == magic:
            return mime
    return default


def _invalid(message: str) -> ValidationError:
    # Bad input: no other provider would take it either.
    return ValidationError(message, fallback_allowed=False)


def to_data_uri(data: bytes, mime: str | None = None) -> str:
    """Encode bytes as a ``data:`` URI, sniffing the type when not given.

    Raises:
        ValidationError: ``data`` is empty (no provider accepts an empty image).
    """
    if not data:
        raise _invalid("an image or video input is empty (0 bytes)")
    kind = mime or sniff_mime(data)
    return f"data:{kind};base64,{base64.b64encode(data).decode('ascii')}"


def base64_data_uri(encoded: str, default_mime: str) -> tuple[str, str] | None:
    """A provider's base64 media as a ``data:`` URI, and its type (sniffed from the first
    bytes, else ``default_mime``): the published result shape where a provider answers
    with the bytes.

    The provider's text is reused as it is, checked without decoding it whole: a large
    image is never held twice in memory. ``None`` when ``encoded`` is empty or not
    standard, padded base64.
    """
    if not encoded or len(encoded) % 4 or not _BASE64.fullmatch(encoded):
        return None
    # A multiple of 4 characters (all of a shorter text): whole, padded base64 itself.
    kind = sniff_mime(base64.b64decode(encoded[:_SNIFF_CHARS]), "") or default_mime
    return f"data:{kind};base64,{encoded}", kind


def decode_data_uri(uri: str, *, field: str = "the data: URI") -> tuple[bytes, str | None]:
    """Return the bytes and media type of a base64 ``data:`` URI.

    Args:
        uri: The URI.
        field: What to call it in an error, e.g. ``image_list[0]``.

    Raises:
        ValidationError: The URI is not base64 data.
    """
    match = _DATA_URI.match(uri)
    if match is None:
        raise _invalid(f"{field}: only base64 data: URIs are supported")
    try:
        return base64.b64decode(uri[match.end() :], validate=True), match.group("mime")
    except (binascii.Error, ValueError):
        raise _invalid(f"{field}: the data: URI holds invalid base64") from None


def _is_url(value: str) -> bool:
    return value.startswith(("http://", "https://"))


def _media_content_uri(media: MediaContent, field: str) -> str:
    """The ``data:`` URI of a :class:`MediaContent` dict, checked first: the type goes into
    the URI as written, so a ``;`` or ``,`` in it would change what the provider reads."""
    content = media.get("content")
    kind = media.get("content_type")
    if not isinstance(content, bytes):
        raise _invalid(f"{field}: MediaContent 'content' must be bytes")
    if not content:
        raise _invalid(f"{field} is empty (0 bytes)")
    if not isinstance(kind, str) or _MIME_TYPE.fullmatch(kind) is None:
        shown = kind[:40] if isinstance(kind, str) else type(kind).__name__
        raise _invalid(
            f"{field}: MediaContent 'content_type' must be a MIME type such as 'image/png', "
            f"got {shown!a}"
        )
    return to_data_uri(content, kind)


def _check_decoded(media: str, field: str) -> None:
    """Refuse a data URI or base64 text that does not decode to at least one byte."""
    if media.startswith("data:"):
        data, _ = decode_data_uri(media, field=field)
        if not data:
            raise _invalid(f"{field}: the data: URI holds no data")
        return
    if not media:
        raise _invalid(f"{field} is an empty string")
    try:
        raw = base64.b64decode(media, validate=True)
    except (binascii.Error, ValueError):
        raise _invalid(
            f"{field} must be an http(s) URL, a data: URI, base64 text, bytes or an existing "
            f"file path; got {media[:40]!a}"
        ) from None
    if not raw:
        raise _invalid(f"{field}: the base64 text holds no data")


def media_reference(media: MediaType, *, field: str = "an image or video input") -> str:
    """Return a string a provider accepts for an input: the URL or a data URI.

    Call :func:`load_local_media` first so that paths are already bytes.

    Args:
        media: The input.
        field: What to call it in an error, e.g. ``image_list[0]``.

    Raises:
        ValidationError: ``media`` is neither a URL, a data URI, bytes, base64 text nor a
            well-formed :class:`MediaContent` dict, or it is empty.
    """
    if isinstance(media, AnyUrl):
        media = str(media)
    if isinstance(media, dict):
        return _media_content_uri(media, field)
    if isinstance(media, bytes):
        if not media:
            raise _invalid(f"{field} is empty (0 bytes)")
        return to_data_uri(media)
    if isinstance(media, Path):
        raise _invalid(f"{field}: local file {media} was not loaded before mapping")
    if _is_url(media):
        return media
    _check_decoded(media, field)
    if media.startswith("data:"):
        return media
    return to_data_uri(base64.b64decode(media, validate=True))


async def _load_one(media: MediaType, field: str) -> MediaType:
    if isinstance(media, AnyUrl):
        media = str(media)
    if isinstance(media, dict):
        # As a data URI from here on: one form for every provider and field mapper.
        return _media_content_uri(media, field)
    if isinstance(media, bytes):
        if not media:
            raise _invalid(f"{field} is empty (0 bytes)")
        return media
    if isinstance(media, str) and (_is_url(media) or media.startswith("data:")):
        # Decoded now, though sent as given: bad base64 costs nothing here and a paid
        # job's worth of confusion at the provider.
        if not _is_url(media):
            _check_decoded(media, field)
        return media
    candidate = anyio.Path(media)
    looks_like_path = isinstance(media, Path) or (
        len(media) < 4096 and ("/" in media or "\\" in media or "." in media[-6:])
    )
    if looks_like_path and await candidate.is_file():
        data = await candidate.read_bytes()
        if not data:
            raise _invalid(f"{field}: input file {media} is empty")
        return data
    if isinstance(media, Path):
        raise _invalid(f"{field}: input file not found: {media}")
    _check_decoded(media, field)  # raises when it is not valid base64 either
    return media


async def load_local_media(request: _REQUEST) -> _REQUEST:
    """Read local-file inputs of a request into bytes, off the event loop, and check the rest.

    Raises:
        ValidationError: A path does not exist, or a value is not valid media (bad base64,
            empty); the error names the field, e.g. ``image_list[0] (first_frame)``.
    """
    changes: dict[str, object] = {}
    if request.image_list:
        loaded: list[ImageType] = [
            {
                "image": await _load_one(item["image"], f"image_list[{index}] ({item['type']})"),
                "type": item["type"],
            }
            for index, item in enumerate(request.image_list)
        ]
        changes["image_list"] = loaded
    if isinstance(request, VideoGenerationRequest) and request.video is not None:
        changes["video"] = await _load_one(request.video, "video")
    if isinstance(request, ImageGenerationRequest) and request.mask_image is not None:
        changes["mask_image"] = await _load_one(request.mask_image, "mask_image")
    return request.model_copy(update=changes) if changes else request


def fit_image(
    data: bytes, size: tuple[int, int], policy: Literal["pad", "crop"]
) -> tuple[bytes, str]:
    """``data`` brought to exactly ``size`` (width, height) by ``policy``, and its type.

    A JPEG stays a JPEG (quality 95: a photo as PNG would grow several times); anything
    else becomes a PNG (lossless, keeps transparency). Pillow runs in the caller's thread:
    one image of a video's size takes milliseconds.

    Raises:
        ImagesExtraMissing: Pillow is not installed.
        ValidationError: Pillow cannot decode ``data``.
    """
    try:
        # Imported here: Pillow is an extra, and only a mismatched image needs it.
        from PIL import Image, ImageOps
    except ImportError:
        raise ImagesExtraMissing from None
    try:
        image = Image.open(io.BytesIO(data))
        image.load()
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise _invalid(f"the image could not be decoded to fit it: {exc}") from None
    jpeg = image.format == "JPEG"
    source = image.convert("RGB" if jpeg else "RGBA")
    resample = Image.Resampling.LANCZOS
    if policy == "crop":
        fitted = ImageOps.fit(source, size, method=resample)
    else:
        fitted = ImageOps.pad(
            source, size, method=resample, color=(0, 0, 0) if jpeg else (0, 0, 0, 255)
        )
    out = io.BytesIO()
    if jpeg:
        fitted.save(out, "JPEG", quality=95)
        return out.getvalue(), "image/jpeg"
    fitted.save(out, "PNG")
    return out.getvalue(), "image/png"
