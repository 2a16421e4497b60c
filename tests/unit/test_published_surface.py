"""The published package's unit-test surface: fal's field-mapper re-exports, the
``Unsupported provider: X`` message and the ``image_format`` module."""

from __future__ import annotations

import base64

import httpx
import pytest
import respx
from pydantic import HttpUrl

from tarash.tarash_gateway import generate_image, generate_image_async, generate_video
from tarash.tarash_gateway.errors import NotFoundError, ValidationError
from tarash.tarash_gateway.image_format import (
    ImageInputFormat,
    detect_image_format,
    download_media_from_url_async,
    ensure_image_format,
)
from tarash.tarash_gateway.models import (
    ImageGenerationConfig,
    ImageGenerationRequest,
    MediaContent,
    VideoGenerationConfig,
    VideoGenerationRequest,
)
from tarash.tarash_gateway.providers import fal, field_mappers
from tarash.tarash_gateway.registry import get_handler

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 8
URL = "https://cdn.example.test/in.png"

_FAL_HELPERS = (
    "FieldMapper",
    "apply_field_mappers",
    "duration_field_mapper",
    "extra_params_field_mapper",
    "get_field_mappers_from_registry",
    "image_list_field_mapper",
    "passthrough_field_mapper",
    "single_image_field_mapper",
    "video_url_field_mapper",
)


@pytest.mark.parametrize("name", _FAL_HELPERS)
def test_fal_re_exports_the_published_field_mapper_helpers(name: str) -> None:
    """providers.fal exports each helper the published fal module imports, as the same object."""
    assert name in fal.__all__
    assert getattr(fal, name) is getattr(field_mappers, name)


def test_a_fal_duration_mapper_formats_as_published() -> None:
    """duration_field_mapper imported from providers.fal maps like the field_mappers one."""
    request = VideoGenerationRequest(prompt="p", duration_seconds=5)
    suffixed = fal.duration_field_mapper(field_type="str", allowed_values=["5s", "10s"])
    assert fal.apply_field_mappers({"duration": suffixed}, request) == {"duration": "5s"}
    bare = fal.duration_field_mapper("str", ["4", "5"], "fal", "bytedance", add_suffix=False)
    assert fal.apply_field_mappers({"duration": bare}, request) == {"duration": "5"}


def test_an_unknown_provider_says_unsupported_provider_as_published() -> None:
    """A sync generate on an unknown provider says "Unsupported provider: X", then ours."""
    config = VideoGenerationConfig(provider="nonexistent-provider", model="m", api_key="k")
    with pytest.raises(ValidationError) as caught:
        generate_video(config, VideoGenerationRequest(prompt="p"))
    text = str(caught.value)
    assert "Unsupported provider: nonexistent-provider" in text
    assert "unknown provider 'nonexistent-provider'" in text and "fal" in text


@pytest.mark.anyio
async def test_an_unknown_image_provider_says_unsupported_provider_async() -> None:
    """generate_image_async and get_handler fail with the published words too."""
    config = ImageGenerationConfig(provider="nonexistent-sync-provider", model="m", api_key="k")
    with pytest.raises(ValidationError, match="Unsupported provider: nonexistent-sync-provider"):
        await generate_image_async(config, ImageGenerationRequest(prompt="p"))
    with pytest.raises(ValidationError, match="Unsupported provider: nonexistent-sync-provider"):
        get_handler(config)


def test_a_sync_image_on_an_unknown_provider_raises_before_any_call() -> None:
    """generate_image on an unknown provider is the same ValidationError, no fallback."""
    config = ImageGenerationConfig(provider="nope", model="m", api_key="k")
    with pytest.raises(ValidationError, match="Unsupported provider: nope") as caught:
        generate_image(config, ImageGenerationRequest(prompt="p"))
    assert caught.value.provider == "nope" and caught.value.fallback_allowed is False


@pytest.mark.parametrize(
    ("media", "expected"),
    [
        ("http://example.test/a.png", ImageInputFormat.URL),
        ("https://example.test/a.png", ImageInputFormat.URL),
        (HttpUrl("https://example.test/a.jpg"), ImageInputFormat.URL),
        ("data:image/png;base64,iVBORw0KGgo=", ImageInputFormat.BASE64),
        ("iVBORw0KGgo=", ImageInputFormat.BASE64),
        (MediaContent(content=PNG, content_type="image/png"), ImageInputFormat.BYTES),
    ],
)
def test_detect_image_format_names_each_form(media: object, expected: ImageInputFormat) -> None:
    """URLs (strings or pydantic), data URIs, bare base64 and MediaContent are told apart."""
    assert detect_image_format(media) is expected  # type: ignore[arg-type]


def test_image_input_format_is_the_field_mappers_enum() -> None:
    """image_format.ImageInputFormat is the one single_image_field_mapper takes."""
    assert ImageInputFormat is field_mappers.ImageInputFormat
    assert ImageInputFormat("url") is ImageInputFormat.URL


def test_an_accepted_form_is_returned_unchanged() -> None:
    """ensure_image_format returns the very value when its form is accepted."""
    assert ensure_image_format(URL, [ImageInputFormat.URL]) == URL


def test_bytes_become_a_data_uri_and_base64_becomes_bytes() -> None:
    """BYTES -> BASE64 keeps the content type; BASE64 -> BYTES decodes, bare base64 as PNG."""
    media = MediaContent(content=PNG, content_type="image/png")
    uri = ensure_image_format(media, [ImageInputFormat.BASE64])
    assert uri == "data:image/png;base64," + base64.b64encode(PNG).decode()
    jpeg = "data:image/jpeg;base64," + base64.b64encode(b"jpeg bytes").decode()
    assert ensure_image_format(jpeg, [ImageInputFormat.BYTES]) == {
        "content": b"jpeg bytes",
        "content_type": "image/jpeg",
    }
    bare = base64.b64encode(b"raw").decode()
    assert ensure_image_format(bare, [ImageInputFormat.BYTES]) == {
        "content": b"raw",
        "content_type": "image/png",
    }


@pytest.mark.parametrize(
    "media",
    ["data:image/png;base64,iVBORw0KGgo=", MediaContent(content=PNG, content_type="image/png")],
)
def test_nothing_turns_into_a_url(media: object) -> None:
    """Base64 or bytes where only a URL is taken: a ValidationError naming the provider."""
    with pytest.raises(ValidationError, match=r"Cannot convert .* image to URL") as caught:
        ensure_image_format(media, [ImageInputFormat.URL], provider="luma")  # type: ignore[arg-type]
    assert caught.value.provider == "luma" and "luma" in caught.value.message


def test_undecodable_base64_is_a_validation_error() -> None:
    """Text that is neither a URL, a data URI nor base64 is refused, not sent."""
    with pytest.raises(ValidationError, match="base64"):
        ensure_image_format("not base64 at all!", [ImageInputFormat.BYTES], provider="p")


def test_a_url_is_downloaded_into_a_data_uri_or_bytes(respx_mock: respx.MockRouter) -> None:
    """URL -> BASE64 and URL -> BYTES download once each, typed by the reply's header."""
    route = respx_mock.get(URL).respond(200, content=PNG, headers={"content-type": "image/png"})
    uri = ensure_image_format(URL, [ImageInputFormat.BASE64], provider="test")
    assert uri == "data:image/png;base64," + base64.b64encode(PNG).decode()
    raw = ensure_image_format(URL, [ImageInputFormat.BYTES], provider="test")
    assert raw == {"content": PNG, "content_type": "image/png"}
    assert route.call_count == 2


@pytest.mark.anyio
async def test_a_failed_download_is_a_tarash_error(respx_mock: respx.MockRouter) -> None:
    """A 404 from the image's URL is a NotFoundError naming the provider, not an httpx error."""
    respx_mock.get(URL).mock(return_value=httpx.Response(404))
    with pytest.raises(NotFoundError) as caught:
        await download_media_from_url_async(URL, provider="test")
    assert caught.value.provider == "test"


@pytest.mark.anyio
async def test_a_download_without_a_content_type_is_sniffed(respx_mock: respx.MockRouter) -> None:
    """No Content-Type header: the media type comes from the bytes."""
    respx_mock.get(URL).respond(200, content=PNG, headers={"content-type": ""})
    assert await download_media_from_url_async(URL) == (PNG, "image/png")
