"""A Sora first frame of another size than the video's: measured from its header, fitted
(pad or crop, with Pillow) or refused before anything is sent, and the fit noted."""

from __future__ import annotations

import io
import sys
from typing import Any

import anyio
import pytest
import respx
from PIL import Image

from tarash.tarash_gateway import generate_video_async
from tarash.tarash_gateway._sample_media import image_dimensions, make_png
from tarash.tarash_gateway.errors import ValidationError
from tarash.tarash_gateway.models import VideoGenerationConfig, VideoGenerationRequest
from tarash.tarash_gateway.providers._base import PreparedJob, ProviderSettings
from tarash.tarash_gateway.providers._media import decode_data_uri
from tarash.tarash_gateway.providers.azure_openai import AzureOpenAIClient
from tarash.tarash_gateway.providers.openai import OpenAIClient

BASE = "https://gateway.test/v1"
VIDEO_ID = "video_0123456789abcdef"
INSTALL = 'pip install "tarash-gateway[images]"'


def encoded(size: tuple[int, int], fmt: str, color: Any = "white", **options: Any) -> bytes:
    out = io.BytesIO()
    Image.new("RGBA" if fmt == "WEBP" else "RGB", size, color).save(out, fmt, **options)
    return out.getvalue()


def client(**config: Any) -> OpenAIClient:
    return OpenAIClient(
        ProviderSettings(model="sora-2", base_url=BASE, api_key=None, provider_config=config)
    )


def prepared(provider: OpenAIClient, request: VideoGenerationRequest) -> PreparedJob:
    """The create as the attempt prepares it: mapped, then the first frame fitted."""
    job = provider.prepare_video(request)
    anyio.run(provider.finish_prepared, job)
    return job


def first_frame(image: Any, aspect_ratio: str | None = "9:16") -> VideoGenerationRequest:
    return VideoGenerationRequest(
        prompt="a cat",
        aspect_ratio=aspect_ratio,
        image_list=[{"image": image, "type": "first_frame"}],
    )


def sent_image(payload: dict[str, Any]) -> Image.Image:
    data, _ = decode_data_uri(payload["input_reference"])
    return Image.open(io.BytesIO(data))


# --- the size from the header -------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "options"),
    [
        ("PNG", {}),
        ("JPEG", {}),
        ("JPEG", {"progressive": True}),
        ("WEBP", {}),  # lossy: VP8 (RGBA with alpha is written as VP8X)
        ("WEBP", {"lossless": True}),  # VP8L or VP8X
        ("GIF", {}),
    ],
)
def test_image_dimensions_reads_the_header_of_each_format(fmt: str, options: Any) -> None:
    """PNG, JPEG (baseline and progressive), WebP and GIF sizes come from their headers."""
    assert image_dimensions(encoded((321, 123), fmt, **options)) == (321, 123)


def test_image_dimensions_of_lossy_webp_without_alpha() -> None:
    """A plain lossy WebP is the simple VP8 layout."""
    out = io.BytesIO()
    Image.new("RGB", (200, 100)).save(out, "WEBP")
    assert out.getvalue()[12:16] == b"VP8 "
    assert image_dimensions(out.getvalue()) == (200, 100)


@pytest.mark.parametrize("data", [b"", b"not an image", make_png(10, 10)[:20], b"\xff\xd8\xff"])
def test_image_dimensions_is_none_when_the_header_does_not_tell(data: bytes) -> None:
    """Unknown bytes and a header cut short give no size (the image then goes as given)."""
    assert image_dimensions(data) is None


# --- the policy --------------------------------------------------------------------------


def test_pad_is_the_default_and_keeps_the_whole_image_with_bars() -> None:
    """A square PNG for a 720x1280 video is scaled to 720x720 and padded top and bottom
    with black; the fit is an adaptation note."""
    job = prepared(client(), first_frame(encoded((1024, 1024), "PNG")))
    sent = sent_image(job.payload)
    assert (sent.size, sent.format) == ((720, 1280), "PNG")
    image = sent.convert("RGB")
    assert image.getpixel((360, 5)) == (0, 0, 0)  # the bar
    assert image.getpixel((360, 640)) == (255, 255, 255)  # the picture
    assert job.adaptations == [
        "first_frame: 1024x1024 -> 720x1280 (padded, provider_config image_fit='pad'); "
        "the model takes a first frame of exactly the video's size"
    ]


def test_crop_fills_the_frame() -> None:
    """crop: a landscape JPEG for a portrait video fills it (no bars) and stays a JPEG."""
    job = prepared(client(image_fit="crop"), first_frame(encoded((1920, 1080), "JPEG")))
    image = sent_image(job.payload)
    assert (image.size, image.format) == ((720, 1280), "JPEG")
    assert all(channel > 250 for channel in image.getpixel((2, 2)))  # white to the corner
    assert "(cropped, provider_config image_fit='crop')" in job.adaptations[0]


def test_the_default_size_is_the_apis() -> None:
    """No aspect ratio asked: the API's default size, 720x1280, is the one fitted to."""
    job = prepared(client(), first_frame(make_png(1280, 720), aspect_ratio=None))
    assert "size" not in job.payload
    assert sent_image(job.payload).size == (720, 1280)


def test_an_image_of_the_right_size_goes_as_given() -> None:
    """A 720x1280 PNG needs no fit: the same bytes, no note."""
    png = make_png(720, 1280)
    job = prepared(client(), first_frame(png))
    assert decode_data_uri(job.payload["input_reference"])[0] == png
    assert job.adaptations == []


def test_a_url_goes_as_given() -> None:
    """tarash does not download a URL first frame: the API fetches and checks it."""
    url = "https://cdn.test/frame.png"
    job = prepared(client(image_fit="refuse"), first_frame(url))
    assert job.payload["input_reference"] == url


def test_refuse_names_both_sizes() -> None:
    """refuse: a ValidationError naming the image's size and the one needed."""
    with pytest.raises(ValidationError) as caught:
        prepared(client(image_fit="refuse"), first_frame(make_png(640, 480)))
    assert "640x480" in str(caught.value) and "720x1280" in str(caught.value)
    assert caught.value.provider == "openai"


def test_without_pillow_the_error_names_the_size_and_the_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """No Pillow: refused before sending, naming the size needed and the extra."""
    monkeypatch.setitem(sys.modules, "PIL", None)  # `from PIL import ...` now fails
    with pytest.raises(ValidationError) as caught:
        prepared(client(), first_frame(make_png(640, 480)))
    assert "720x1280" in str(caught.value) and INSTALL in str(caught.value)


def test_without_pillow_a_right_sized_image_still_goes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pillow is needed only to fit: a matching first frame goes on a bare install."""
    monkeypatch.setitem(sys.modules, "PIL", None)
    job = prepared(client(), first_frame(make_png(720, 1280)))
    assert job.adaptations == []


def test_an_unknown_policy_is_refused_when_the_client_is_made() -> None:
    """image_fit is one of pad, crop, refuse."""
    with pytest.raises(ValidationError, match="image_fit"):
        client(image_fit="stretch")


def test_azure_takes_the_option() -> None:
    """Azure's v1 API is OpenAI's: image_fit is accepted and applied there too."""
    azure = AzureOpenAIClient(
        ProviderSettings(
            model="my-sora",
            base_url="https://r.openai.azure.com",
            api_key=None,
            provider_config={"image_fit": "crop"},
        )
    )
    job = prepared(azure, first_frame(make_png(100, 100), aspect_ratio="16:9"))
    assert sent_image(job.payload).size == (1280, 720)


# --- on the wire -------------------------------------------------------------------------


def config(**provider_config: Any) -> VideoGenerationConfig:
    return VideoGenerationConfig(
        provider="openai",
        model="sora-2",
        api_key="sk-test-0123456789",
        base_url=BASE,
        poll_interval=0.01,
        provider_config=provider_config,
    )


@pytest.mark.anyio
async def test_the_fitted_frame_is_uploaded_and_the_attempt_notes_it(
    respx_mock: respx.MockRouter,
) -> None:
    """The multipart upload holds the fitted 1280x720 PNG; the attempt metadata says how."""
    done = {"id": VIDEO_ID, "object": "video", "status": "completed", "seconds": "4"}
    create = respx_mock.post(f"{BASE}/videos").respond(200, json=done)
    respx_mock.get(f"{BASE}/videos/{VIDEO_ID}/content").respond(
        200, content=b"\x00\x00\x00\x18ftypmp42", headers={"content-type": "video/mp4"}
    )
    response = await generate_video_async(
        config(), first_frame(make_png(512, 512), aspect_ratio="16:9")
    )
    body = create.calls.last.request.content
    start = body.index(b"\x89PNG")
    assert image_dimensions(body[start:]) == (1280, 720)
    notes = response.execution_metadata.attempts[0].adaptations
    assert any("512x512 -> 1280x720 (padded" in note for note in notes)


@pytest.mark.anyio
async def test_a_refused_frame_sends_nothing(respx_mock: respx.MockRouter) -> None:
    """refuse: the create is never sent (nothing paid)."""
    create = respx_mock.post(f"{BASE}/videos").respond(200, json={})
    with pytest.raises(ValidationError, match="640x480"):
        await generate_video_async(config(image_fit="refuse"), first_frame(make_png(640, 480)))
    assert create.call_count == 0


@pytest.mark.anyio
async def test_strict_parameters_refuses_the_fit(respx_mock: respx.MockRouter) -> None:
    """strict_parameters=True refuses any adaptation: the fit too, before sending."""
    create = respx_mock.post(f"{BASE}/videos").respond(200, json={})
    strict = config().model_copy(update={"strict_parameters": True})
    with pytest.raises(ValidationError, match="640x480 -> 720x1280"):
        await generate_video_async(strict, first_frame(make_png(640, 480)))
    assert create.call_count == 0
