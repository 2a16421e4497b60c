"""Hand-made media: valid PNG chunks, well-formed MP4 boxes, the model-kind table."""

from __future__ import annotations

import struct
import zlib

import pytest

from tarash.emulator import fal, replicate
from tarash.emulator._media import (
    DEFAULT_MEDIA_KINDS,
    MediaKind,
    MediaKinds,
    classify_model,
    make_mp4,
    make_png,
)


def test_png_chunks_have_valid_crcs_and_size() -> None:
    """Every PNG chunk's CRC matches and IHDR carries the requested size."""
    data = make_png(33, 17)
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    offset, kinds = 8, []
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kind = data[offset + 4 : offset + 8]
        body = data[offset + 8 : offset + 8 + length]
        (crc,) = struct.unpack(">I", data[offset + 8 + length : offset + 12 + length])
        assert zlib.crc32(kind + body) & 0xFFFFFFFF == crc
        if kind == b"IHDR":
            assert struct.unpack(">II", body[:8]) == (33, 17)
        if kind == b"IDAT":
            assert len(zlib.decompress(body)) == 17 * (1 + 33 * 3)
        kinds.append(kind)
        offset += 12 + length
    assert kinds == [b"IHDR", b"IDAT", b"IEND"]


def test_mp4_top_level_boxes_cover_the_file() -> None:
    """The MP4 is ftyp, moov, mdat, whose sizes add up to the file, and stco points into mdat."""
    data = make_mp4()
    offset, boxes = 0, {}
    while offset < len(data):
        size, kind = struct.unpack(">I4s", data[offset : offset + 8])
        boxes[kind] = (offset, size)
        offset += size
    assert list(boxes) == [b"ftyp", b"moov", b"mdat"]
    assert offset == len(data)
    stco = data.index(b"stco")
    (chunk_offset,) = struct.unpack(">I", data[stco + 12 : stco + 16])
    assert chunk_offset == boxes[b"mdat"][0] + 8
    assert b"avcC" in data


@pytest.mark.parametrize(
    ("model", "kind"),
    [
        ("fal-ai/veo3", MediaKind.VIDEO),
        ("fal-ai/kling-video/v2.1/standard/image-to-video", MediaKind.VIDEO),
        ("fal-ai/flux/dev", MediaKind.IMAGE),
        ("fal-ai/flux/dev/image-to-image", MediaKind.IMAGE),
        ("black-forest-labs/flux-schnell", MediaKind.IMAGE),
        ("stability-ai/sdxl", MediaKind.IMAGE),
        ("fal-ai/reve/fast/remix", MediaKind.IMAGE),
        ("luma/photon-flash", MediaKind.IMAGE),
        ("fal-ai/sync-lipsync/v2", MediaKind.VIDEO),
        ("google/veo-3", MediaKind.VIDEO),
        ("minimax/video-01", MediaKind.VIDEO),
        ("someone/something", MediaKind.VIDEO),
        # Stability's and OpenAI's ids: no "image" in them, and video by substring once.
        ("dall-e-3", MediaKind.IMAGE),
        ("dall-e-2", MediaKind.IMAGE),
        ("sd3.5-large", MediaKind.IMAGE),
        ("sd3-medium", MediaKind.IMAGE),
        ("gpt-image-1", MediaKind.IMAGE),
        ("sora-2", MediaKind.VIDEO),
    ],
)
def test_model_kind_table(model: str, kind: MediaKind) -> None:
    """Model ids map to image or video output by the shared default, video being the fallback."""
    assert classify_model(model) is kind


@pytest.mark.parametrize(
    ("kinds", "model", "kind"),
    [
        (fal.MEDIA_KINDS, "fal-ai/nano-banana", MediaKind.IMAGE),
        (fal.MEDIA_KINDS, "fal-ai/hidream-i1-full", MediaKind.IMAGE),
        (fal.MEDIA_KINDS, "fal-ai/veo3", MediaKind.VIDEO),
        (replicate.MEDIA_KINDS, "stability-ai/stable-diffusion-3.5-large", MediaKind.IMAGE),
        (replicate.MEDIA_KINDS, "stability-ai/stable-video-diffusion", MediaKind.VIDEO),
        (replicate.MEDIA_KINDS, "google/nano-banana", MediaKind.IMAGE),
        (replicate.MEDIA_KINDS, "ideogram-ai/ideogram-v3-turbo", MediaKind.IMAGE),
        (replicate.MEDIA_KINDS, "black-forest-labs/flux-kontext-pro", MediaKind.IMAGE),
        (replicate.MEDIA_KINDS, "google/veo-3", MediaKind.VIDEO),
    ],
)
def test_each_provider_declares_its_families(
    kinds: MediaKinds, model: str, kind: MediaKind
) -> None:
    """A provider's table adds its own families to the shared markers, video still first."""
    assert kinds(model) is kind


def test_provider_tables_differ_where_the_providers_do() -> None:
    """nano-banana is an image family on fal and Replicate, unknown (video) to the default."""
    assert DEFAULT_MEDIA_KINDS("google/nano-banana") is MediaKind.VIDEO
    assert replicate.MEDIA_KINDS("google/nano-banana") is MediaKind.IMAGE


def test_a_table_can_default_to_images() -> None:
    """A provider that is mostly images (Stability, OpenAI) says so with its default."""
    openai_like = MediaKinds(video=("sora",), default=MediaKind.IMAGE)
    assert openai_like("dall-e-3") is MediaKind.IMAGE
    assert openai_like("gpt-image-2") is MediaKind.IMAGE
    assert openai_like("sora-2-pro") is MediaKind.VIDEO
    assert DEFAULT_MEDIA_KINDS.extend(image=("x/",))("x/y") is MediaKind.IMAGE
