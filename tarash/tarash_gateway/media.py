"""Media in and out: image inputs (URL, data URI, base64, bytes, path) and result downloads.

Inputs are normalised before a job is submitted, so a bad path or undecodable base64 is a
:class:`ValidationError` that costs nothing. Results are streamed to disk through the
shared HTTP client without blocking the event loop.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TypeVar

import anyio
from pydantic import SecretStr

from tarash.tarash_gateway._http import pick_connection, translate_transport_errors
from tarash.tarash_gateway.errors import ValidationError, error_for_status
from tarash.tarash_gateway.models import (
    ImageGenerationRequest,
    ImageType,
    MediaType,
    VideoGenerationRequest,
)

__all__ = [
    "decode_data_uri",
    "load_local_media",
    "media_reference",
    "save_media",
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
_DATA_URI = re.compile(r"^data:(?P<mime>[\w.+-]+/[\w.+-]+)?(?P<params>(;[^;,]*)*?);base64,", re.I)
_REQUEST = TypeVar("_REQUEST", VideoGenerationRequest, ImageGenerationRequest)


def sniff_mime(data: bytes, default: str = "application/octet-stream") -> str:
    """Guess a media type from the first bytes of a file."""
    for magic, offset, mime in _MAGIC:
        if data[offset : offset + len(magic)] == magic:
            return mime
    return default


def to_data_uri(data: bytes, mime: str | None = None) -> str:
    """Encode bytes as a ``data:`` URI, sniffing the type when not given."""
    kind = mime or sniff_mime(data)
    return f"data:{kind};base64,{base64.b64encode(data).decode('ascii')}"


def decode_data_uri(uri: str) -> tuple[bytes, str | None]:
    """Return the bytes and media type of a base64 ``data:`` URI.

    Raises:
        ValidationError: The URI is not base64 data.
    """
    match = _DATA_URI.match(uri)
    if match is None:
        raise ValidationError("only base64 data: URIs are supported")
    try:
        return base64.b64decode(uri[match.end() :], validate=True), match.group("mime")
    except (binascii.Error, ValueError) as exc:
        raise ValidationError("the data: URI holds invalid base64") from exc


def _is_remote(value: str) -> bool:
    return value.startswith(("http://", "https://", "data:"))


def media_reference(media: MediaType) -> str:
    """Return a string a provider accepts for an input: the URL or a data URI.

    Call :func:`load_local_media` first so that paths are already bytes.

    Raises:
        ValidationError: ``media`` is neither a URL, a data URI, bytes nor base64 text.
    """
    if isinstance(media, bytes):
        return to_data_uri(media)
    if isinstance(media, Path):
        raise ValidationError(f"local file {media} was not loaded before mapping")
    if _is_remote(media):
        return media
    try:
        raw = base64.b64decode(media, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValidationError(
            "an image must be an http(s) URL, a data: URI, base64 text, bytes or an existing "
            f"file path; got {media[:40]!r}"
        ) from exc
    return to_data_uri(raw)


async def _load_one(media: MediaType) -> MediaType:
    if isinstance(media, bytes):
        return media
    if isinstance(media, str) and _is_remote(media):
        return media
    candidate = anyio.Path(media)
    looks_like_path = isinstance(media, Path) or (
        len(media) < 4096 and ("/" in media or "\\" in media or "." in media[-6:])
    )
    if looks_like_path and await candidate.is_file():
        return await candidate.read_bytes()
    if isinstance(media, Path):
        raise ValidationError(f"input file not found: {media}")
    media_reference(media)  # raises when it is not valid base64 either
    return media


async def load_local_media(request: _REQUEST) -> _REQUEST:
    """Read local-file inputs of a request into bytes, off the event loop.

    Raises:
        ValidationError: A path does not exist or a value is not valid media.
    """
    changes: dict[str, object] = {}
    if request.image_list:
        loaded: list[ImageType] = [
            {"image": await _load_one(item["image"]), "type": item["type"]}
            for item in request.image_list
        ]
        changes["image_list"] = loaded
    if isinstance(request, VideoGenerationRequest) and request.video is not None:
        changes["video"] = await _load_one(request.video)
    if isinstance(request, ImageGenerationRequest) and request.mask_image is not None:
        changes["mask_image"] = await _load_one(request.mask_image)
    return request.model_copy(update=changes) if changes else request


async def save_media(
    media: str | bytes,
    path: Path,
    *,
    headers: Mapping[str, SecretStr] | None = None,
    provider: str | None = None,
    chunk_size: int = 1 << 16,
) -> Path:
    """Write a result (bytes, data URI or URL) to ``path``, streaming downloads.

    Args:
        media: The result as the response holds it.
        path: Destination file.
        headers: Headers the download needs (a provider key, say).
        provider: For error messages.
        chunk_size: Bytes per write while streaming.

    Returns:
        ``path``.

    Raises:
        HTTPError: The URL answered with an error status (expired results often give 403/404).
        HTTPConnectionError: The download broke off.
    """
    target = anyio.Path(path)
    if isinstance(media, bytes):
        await target.write_bytes(media)
        return path
    if media.startswith("data:"):
        data, _ = decode_data_uri(media)
        await target.write_bytes(data)
        return path
    plain_headers = {name: value.get_secret_value() for name, value in (headers or {}).items()}
    partial = anyio.Path(f"{path}.part")
    client, limiter = pick_connection(long_lived=True)
    async with limiter:
        with translate_transport_errors(provider or "download", "-"):
            async with client.stream("GET", media, headers=plain_headers) as reply:
                if not reply.is_success:
                    await reply.aread()
                    raise error_for_status(
                        reply.status_code,
                        f"downloading the result failed with HTTP {reply.status_code} "
                        "(result URLs expire; save promptly)",
                        headers=reply.headers,
                        provider=provider,
                    )
                async with await anyio.open_file(partial, "wb") as sink:
                    async for chunk in reply.aiter_bytes(chunk_size):
                        await sink.write(chunk)
    await partial.rename(target)
    return path
