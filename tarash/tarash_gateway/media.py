"""Media in and out: image inputs (URL, data URI, base64, bytes, path, MediaContent) and
result downloads.

Inputs are normalised before a job is submitted, so a bad path or undecodable base64 is a
:class:`ValidationError` that costs nothing; that half lives beside the provider kit that
maps them (:mod:`tarash.tarash_gateway.providers._media`) and is re-exported here. Results
are streamed to disk through the shared HTTP client without blocking the event loop.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from pathlib import Path

import anyio
import httpx
from pydantic import SecretStr

from tarash.tarash_gateway._response_io import install_response_io
from tarash.tarash_gateway._validate import is_well_formed_url
from tarash.tarash_gateway.engine._http import CallContext, ErrorParser, RequestContext, stream
from tarash.tarash_gateway.engine._redact import scrub_exception
from tarash.tarash_gateway.engine._sync import run_sync
from tarash.tarash_gateway.errors import TarashException, ValidationError, error_for_status
from tarash.tarash_gateway.providers._media import (
    decode_data_uri,
    load_local_media,
    media_reference,
    sniff_mime,
    to_data_uri,
)

__all__ = [
    "decode_data_uri",
    "load_local_media",
    "media_reference",
    "save_media",
    "sniff_mime",
    "to_data_uri",
]


def _download_error_parser(provider: str | None, model: str | None) -> ErrorParser:
    def parse(reply: httpx.Response, call: CallContext) -> TarashException:
        # The body of a failed download (a CDN's HTML page, say) is not kept: it says
        # nothing the status does not, and it could be large.
        return error_for_status(
            reply.status_code,
            f"downloading the result failed with HTTP {reply.status_code} "
            "(result URLs expire; save promptly)",
            headers=reply.headers,
            provider=provider,
            model=model,
            request_id=call.request_id,
        )

    return parse


def _write_failed(path: Path, exc: OSError, provider: str | None) -> TarashException:
    return TarashException(
        f"writing the result to {str(path)!a} failed: {exc.strerror or type(exc).__name__}",
        provider=provider,
        fallback_allowed=False,
    )


async def save_media(
    media: str | bytes,
    path: Path,
    *,
    headers: Mapping[str, SecretStr] | None = None,
    provider: str | None = None,
    model: str | None = None,
    chunk_size: int = 1 << 16,
) -> Path:
    """Write a result (bytes, data URI or URL) to ``path``, streaming downloads.

    A download goes through the shared retry policy (``_http.stream``): a 408/429/5xx
    reply or a connection refused or dropped part-way is retried from the start, honouring
    Retry-After. It is written to ``<path>.part`` and renamed when complete; the partial
    file is removed on any failure, cancellation included.

    Args:
        media: The result as the response holds it.
        path: Destination file; its folder must exist.
        headers: Headers the download needs (a provider key, say).
        provider: For error messages.
        model: For error messages.
        chunk_size: Bytes per write while streaming.

    Returns:
        ``path``.

    Raises:
        ValidationError: ``media`` is not bytes, a data: URI or an http(s) URL, or the
            folder of ``path`` does not exist.
        HTTPError: The URL answered with an error status (expired results often give
            403/404), or a transient one that outlived the retries.
        HTTPConnectionError: The download kept breaking off.
        TarashException: The file could not be written.
    """
    target = anyio.Path(path)
    if not await target.parent.is_dir():
        raise ValidationError(
            f"path: the folder {str(path.parent)!a} does not exist",
            provider=provider,
            model=model,
            fallback_allowed=False,
        )
    try:
        if isinstance(media, bytes):
            await target.write_bytes(media)
            return path
        if media.startswith("data:"):
            data, _ = decode_data_uri(media, field="the result")
            await target.write_bytes(data)
            return path
    except OSError as exc:
        raise _write_failed(path, exc, provider) from exc
    if not is_well_formed_url(media):
        # Not quoted: a result URL may carry a signed token in its query.
        raise ValidationError(
            "the result is neither bytes, a data: URI nor a well-formed http(s) URL",
            provider=provider,
            model=model,
            fallback_allowed=False,
        )
    plain_headers = {name: value.get_secret_value() for name, value in (headers or {}).items()}
    partial = anyio.Path(f"{path}.part")

    async def write_partial(reply: httpx.Response) -> None:
        # Truncated on each attempt: a download that broke off starts again from byte 0.
        async with await anyio.open_file(partial, "wb") as sink:
            async for chunk in reply.aiter_bytes(chunk_size):
                await sink.write(chunk)

    context = RequestContext(
        provider=provider or "download",
        model=model or "",
        parse_error=_download_error_parser(provider, model),
    )
    try:
        await stream(context, "download", media, write_partial, headers=plain_headers)
        await partial.rename(target)
    except BaseException as exc:
        # Shielded: a cancelled save must not leave its partial file behind either.
        with anyio.CancelScope(shield=True), contextlib.suppress(OSError):
            await partial.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise _write_failed(path, exc, provider) from exc
        if isinstance(exc, TarashException):
            scrub_exception(exc, plain_headers.values())
        raise
    return path


# A response's save() writes through these (the data models do no I/O themselves).
install_response_io(save_media=save_media, run_sync=run_sync)
