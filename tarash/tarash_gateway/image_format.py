"""Image input formats: which form an image is in, and turning it into a form a provider takes.

The published package's ``tarash.tarash_gateway.image_format`` module, at the same path and
with the same names, over tarash's own media helpers
(:mod:`tarash.tarash_gateway.providers._media`): an image is a URL, base64 (a ``data:`` URI
or bare base64 text), or bytes (a :class:`~tarash.tarash_gateway.models.MediaContent`
dict). :func:`ensure_image_format` converts between them where that is possible (bytes and
base64 either way; a URL by downloading it) and refuses with a
:class:`~tarash.tarash_gateway.errors.ValidationError` where it is not (nothing turns bytes
into a URL).

Example:
    >>> from tarash.tarash_gateway.image_format import ImageInputFormat, ensure_image_format
    >>> png = {"content": b"\\x89PNG\\r\\n\\x1a\\n", "content_type": "image/png"}
    >>> ensure_image_format(png, [ImageInputFormat.BASE64])
    'data:image/png;base64,iVBORw0KGgo='
"""

from __future__ import annotations

import base64
import binascii

import httpx
from pydantic import AnyUrl

from tarash.tarash_gateway.engine._http import RequestContext, stream
from tarash.tarash_gateway.engine._sync import run_sync
from tarash.tarash_gateway.errors import ValidationError
from tarash.tarash_gateway.media import _download_error_parser
from tarash.tarash_gateway.models import MediaContent, MediaType
from tarash.tarash_gateway.providers._media import decode_data_uri, sniff_mime, to_data_uri
from tarash.tarash_gateway.providers.field_mappers import ImageInputFormat

__all__ = [
    "MAX_DOWNLOAD_BYTES",
    "ImageInputFormat",
    "detect_image_format",
    "download_media_from_url",
    "download_media_from_url_async",
    "ensure_image_format",
]

MAX_DOWNLOAD_BYTES = 64 * 1024 * 1024
"""The largest image :func:`download_media_from_url` holds in memory (64 MiB)."""

# A bare base64 string says nothing of its type; the published package calls it PNG.
_BARE_BASE64_TYPE = "image/png"


def detect_image_format(media: MediaType) -> ImageInputFormat:
    """Return the form an image input is in.

    A ``MediaContent`` dict (or raw ``bytes``) is ``BYTES``; an ``http(s)://`` URL (a
    string or a pydantic URL) is ``URL``; any other string, a ``data:`` URI or bare base64
    text, is ``BASE64``. Nothing is decoded here: :func:`ensure_image_format` checks what
    it converts.

    Args:
        media: The image input.

    Returns:
        Its :class:`ImageInputFormat`.
    """
    if isinstance(media, dict | bytes):
        return ImageInputFormat.BYTES
    text = str(media) if isinstance(media, AnyUrl) else media
    if isinstance(text, str) and text.startswith(("http://", "https://")):
        return ImageInputFormat.URL
    return ImageInputFormat.BASE64


def _base64_to_bytes(media: str, provider: str = "unknown") -> MediaContent:
    """Decode a ``data:`` URI or bare base64 text into a ``MediaContent`` dict."""
    if media.startswith("data:"):
        data, mime = decode_data_uri(media, field="the image")
        return MediaContent(content=data, content_type=mime or sniff_mime(data, _BARE_BASE64_TYPE))
    try:
        data = base64.b64decode(media, validate=True)
    except (binascii.Error, ValueError):
        raise ValidationError(
            f"the image is neither a URL, a data: URI nor base64 text: {media[:40]!a}",
            provider=provider,
            fallback_allowed=False,
        ) from None
    return MediaContent(content=data, content_type=_BARE_BASE64_TYPE)


def _bytes_of(media: MediaType) -> MediaContent:
    if isinstance(media, bytes):
        return MediaContent(content=media, content_type=sniff_mime(media, _BARE_BASE64_TYPE))
    assert isinstance(media, dict)  # detect_image_format said BYTES
    return media


async def download_media_from_url_async(url: str, provider: str = "unknown") -> tuple[bytes, str]:
    """Download a URL into memory through tarash's shared HTTP client and retry policy.

    Args:
        url: The ``http(s)`` URL.
        provider: For error messages.

    Returns:
        The bytes and their media type (the reply's ``Content-Type``, else sniffed).

    Raises:
        ValidationError: The body is larger than :data:`MAX_DOWNLOAD_BYTES`.
        HTTPError: The URL answered with an error status.
        HTTPConnectionError: The download kept breaking off.
    """

    async def collect(reply: httpx.Response) -> tuple[bytes, str]:
        # Started afresh on each attempt, as stream() asks of its consumer.
        body = bytearray()
        async for chunk in reply.aiter_bytes():
            body.extend(chunk)
            if len(body) > MAX_DOWNLOAD_BYTES:
                raise ValidationError(
                    f"the image at the URL is larger than {MAX_DOWNLOAD_BYTES} bytes",
                    provider=provider,
                    fallback_allowed=False,
                )
        header = reply.headers.get("content-type", "").split(";")[0].strip()
        data = bytes(body)
        return data, header or sniff_mime(data, _BARE_BASE64_TYPE)

    context = RequestContext(
        provider=provider,
        model="",
        parse_error=_download_error_parser(provider, None),
    )
    return await stream(context, "download", url, collect)


def download_media_from_url(url: str, provider: str = "unknown") -> tuple[bytes, str]:
    """Sync twin of :func:`download_media_from_url_async`."""
    return run_sync(download_media_from_url_async, url, provider)


def ensure_image_format(
    media: MediaType,
    accepted_formats: list[ImageInputFormat],
    provider: str = "unknown",
) -> MediaType:
    """Return ``media`` in one of ``accepted_formats``, converting it where possible.

    Already accepted: returned unchanged. Otherwise, in this order: bytes become a
    ``data:`` URI (``BASE64``); base64 becomes a ``MediaContent`` dict (``BYTES``); a URL
    is downloaded (:func:`download_media_from_url`) into a ``data:`` URI or a
    ``MediaContent`` dict. This blocks while downloading: call it outside an event loop,
    or in a worker thread.

    Args:
        media: The image input.
        accepted_formats: The forms the provider takes.
        provider: Named in errors.

    Returns:
        The image in an accepted form.

    Raises:
        ValidationError: No conversion reaches an accepted form (base64 or bytes where
            only a URL is taken), or the base64 does not decode; it names the provider.
        HTTPError: Downloading the URL failed.
    """
    current = detect_image_format(media)
    if current in accepted_formats:
        return media
    if current is ImageInputFormat.BYTES and ImageInputFormat.BASE64 in accepted_formats:
        content = _bytes_of(media)
        return to_data_uri(content["content"], content["content_type"])
    if current is ImageInputFormat.BASE64 and ImageInputFormat.BYTES in accepted_formats:
        return _base64_to_bytes(str(media), provider)
    if current is ImageInputFormat.URL and (
        ImageInputFormat.BASE64 in accepted_formats or ImageInputFormat.BYTES in accepted_formats
    ):
        data, mime = download_media_from_url(str(media), provider=provider)
        if ImageInputFormat.BASE64 in accepted_formats:
            return to_data_uri(data, mime)
        return MediaContent(content=data, content_type=mime)
    if ImageInputFormat.URL in accepted_formats:
        raise ValidationError(
            f"Cannot convert {current.value} image to URL: provider '{provider}' only accepts "
            "image URLs; upload the image somewhere reachable and pass its URL",
            provider=provider,
            fallback_allowed=False,
        )
    accepted = ", ".join(form.value for form in accepted_formats) or "none"
    raise ValidationError(
        f"Cannot convert {current.value} image to any format provider '{provider}' accepts "
        f"({accepted})",
        provider=provider,
        fallback_allowed=False,
    )
