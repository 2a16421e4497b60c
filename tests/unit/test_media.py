"""Media inputs are normalised before submit; results are saved by streaming."""

from __future__ import annotations

import base64
from pathlib import Path

import httpx
import pytest
import respx
from pydantic import SecretStr

from tarash.tarash_gateway.errors import NotFoundError, ValidationError
from tarash.tarash_gateway.media import (
    decode_data_uri,
    load_local_media,
    media_reference,
    save_media,
    sniff_mime,
    to_data_uri,
)
from tarash.tarash_gateway.models import ImageGenerationRequest, VideoGenerationRequest

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16
pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(
    ("data", "mime"),
    [
        (PNG, "image/png"),
        (b"\xff\xd8\xff\xe0rest", "image/jpeg"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "image/webp"),
        (b"\x00\x00\x00\x18ftypisom", "video/mp4"),
        (b"plain", "application/octet-stream"),
    ],
)
def test_sniff_mime(data: bytes, mime: str) -> None:
    """File types are recognised from their first bytes."""
    assert sniff_mime(data) == mime


def test_data_uri_round_trip() -> None:
    """Bytes survive encoding to a data URI and back, with their type."""
    uri = to_data_uri(PNG)
    assert uri.startswith("data:image/png;base64,")
    assert decode_data_uri(uri) == (PNG, "image/png")


def test_bad_data_uri_is_a_validation_error() -> None:
    """A data URI that is not base64 is refused."""
    with pytest.raises(ValidationError):
        decode_data_uri("data:image/png;base64,***")
    with pytest.raises(ValidationError):
        decode_data_uri("data:text/plain,hello")


def test_media_reference_passes_urls_and_encodes_the_rest() -> None:
    """URLs and data URIs pass as is; bytes and base64 text become data URIs."""
    assert media_reference("https://x/a.png") == "https://x/a.png"
    assert media_reference(PNG).startswith("data:image/png;base64,")
    assert media_reference(base64.b64encode(PNG).decode()).startswith("data:image/png")
    with pytest.raises(ValidationError, match="http"):
        media_reference("not an image at all!")
    with pytest.raises(ValidationError, match="not loaded"):
        media_reference(Path("x.png"))


async def test_local_files_are_read_before_submit(tmp_path: Path) -> None:
    """Paths (str or Path) in image_list and mask_image become their bytes."""
    image = tmp_path / "in.png"
    image.write_bytes(PNG)
    request = ImageGenerationRequest(
        prompt="x",
        image_list=[{"image": str(image), "type": "reference"}],
        mask_image=image,
    )
    loaded = await load_local_media(request)
    assert loaded.image_list[0]["image"] == PNG
    assert loaded.mask_image == PNG
    assert request.mask_image == image  # the original is untouched


async def test_missing_file_is_a_validation_error(tmp_path: Path) -> None:
    """A path that does not exist fails before anything is submitted."""
    request = VideoGenerationRequest(prompt="x", video=tmp_path / "nope.mp4")
    with pytest.raises(ValidationError, match="not found"):
        await load_local_media(request)


async def test_garbage_string_is_a_validation_error() -> None:
    """A string that is no URL, path or base64 fails before submit."""
    request = VideoGenerationRequest(
        prompt="x", image_list=[{"image": "definitely not base64 !!", "type": "first_frame"}]
    )
    with pytest.raises(ValidationError):
        await load_local_media(request)


async def test_save_bytes_and_data_uris(tmp_path: Path) -> None:
    """Inline results are written without any request."""
    assert (await save_media(PNG, tmp_path / "a.png")).read_bytes() == PNG
    assert (await save_media(to_data_uri(PNG), tmp_path / "b.png")).read_bytes() == PNG


async def test_save_url_streams_with_download_headers(
    tmp_path: Path, respx_mock: respx.MockRouter
) -> None:
    """A URL result is streamed to disk, sending the headers the provider needs."""
    route = respx_mock.get("https://cdn.test/v.mp4").respond(200, content=b"video-bytes")
    target = tmp_path / "v.mp4"
    await save_media(
        "https://cdn.test/v.mp4", target, headers={"Authorization": SecretStr("Bearer t")}
    )
    assert target.read_bytes() == b"video-bytes"
    assert route.calls.last.request.headers["authorization"] == "Bearer t"
    assert not (tmp_path / "v.mp4.part").exists()


async def test_expired_url_is_a_typed_error(tmp_path: Path, respx_mock: respx.MockRouter) -> None:
    """A result URL that is gone raises an HTTPError saying results expire."""
    respx_mock.get("https://cdn.test/old.mp4").mock(return_value=httpx.Response(404))
    with pytest.raises(NotFoundError, match="expire"):
        await save_media("https://cdn.test/old.mp4", tmp_path / "old.mp4", provider="fal")
    assert not (tmp_path / "old.mp4").exists()
