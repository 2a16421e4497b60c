"""Hand-made media: valid PNG chunks, well-formed MP4 boxes, the model-kind table."""

from __future__ import annotations

import struct
import zlib

import pytest

from tarash.emulator._media import MediaKind, classify_model, make_mp4, make_png


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
    ],
)
def test_model_kind_table(model: str, kind: MediaKind) -> None:
    """Model ids map to image or video output, video being the fallback."""
    assert classify_model(model) is kind
