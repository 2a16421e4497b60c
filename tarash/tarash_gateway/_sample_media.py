"""Tiny, valid media files made in memory: a PNG any decoder accepts, an H.264 MP4 players
play, a WAV tone; and the pixel size of an image read from its header
(:func:`image_dimensions`), which the emulator checks and the client fits to.

Built by hand from the standard library (no ffmpeg, no Pillow) and cached, so that the mock
provider can hand out real files on a bare install and the emulator can serve thousands of
outputs at no cost. Both import these builders from here.
"""

from __future__ import annotations

import functools
import io
import math
import struct
import wave
import zlib

__all__ = [
    "MAX_IMAGE_SIDE",
    "MP4_CONTENT_TYPE",
    "PNG_CONTENT_TYPE",
    "VIDEO_FPS",
    "VIDEO_FRAMES",
    "VIDEO_HEIGHT",
    "VIDEO_WIDTH",
    "WAV_CONTENT_TYPE",
    "image_dimensions",
    "make_mp4",
    "make_pcm16",
    "make_png",
    "make_wav",
]

PNG_CONTENT_TYPE = "image/png"
MP4_CONTENT_TYPE = "video/mp4"
WAV_CONTENT_TYPE = "audio/wav"

MAX_IMAGE_SIDE = 2048
"""Largest side of a generated PNG; bigger requests are clamped so that a hostile size cannot
make the emulator (or a mock) allocate gigabytes."""

# The default video is tiny on purpose: 64x48 pixels (12 macroblocks), 2 seconds at 6 fps.
VIDEO_WIDTH = 64
VIDEO_HEIGHT = 48
VIDEO_FPS = 6
VIDEO_FRAMES = 12


# --- image headers -----------------------------------------------------------------------

# JPEG start-of-frame markers (SOF0-SOF15) carry the size; 0xC4 (DHT), 0xC8 (JPG) and 0xCC
# (DAC) share the range but are not frames (ITU T.81, table B.1).
_JPEG_FRAMES = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
# Markers without a length field: TEM and RST0-7 (the SOI/EOI pair never precedes a frame).
_JPEG_BARE = frozenset({0x01, *range(0xD0, 0xD8)})


def _jpeg_dimensions(data: bytes) -> tuple[int, int] | None:
    index = 2
    while index + 4 <= len(data):
        if data[index] != 0xFF:
            return None
        marker = data[index + 1]
        if marker == 0xFF:  # fill byte before a marker
            index += 1
            continue
        if marker in _JPEG_BARE:
            index += 2
            continue
        if marker in _JPEG_FRAMES:
            if index + 9 > len(data):
                return None
            height, width = struct.unpack(">HH", data[index + 5 : index + 9])
            return width, height
        (length,) = struct.unpack(">H", data[index + 2 : index + 4])
        index += 2 + length
    return None


def _webp_dimensions(data: bytes) -> tuple[int, int] | None:
    chunk = data[12:16]
    if chunk == b"VP8 " and len(data) >= 30 and data[23:26] == b"\x9d\x01\x2a":
        width, height = struct.unpack("<HH", data[26:30])
        return width & 0x3FFF, height & 0x3FFF
    if chunk == b"VP8L" and len(data) >= 25 and data[20] == 0x2F:
        (bits,) = struct.unpack("<I", data[21:25])
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8X" and len(data) >= 30:
        width = int.from_bytes(data[24:27], "little") + 1
        height = int.from_bytes(data[27:30], "little") + 1
        return width, height
    return None


def image_dimensions(data: bytes) -> tuple[int, int] | None:
    """``(width, height)`` of a PNG, JPEG, WebP or GIF, read from its header bytes (no
    decoder); ``None`` for anything else or a header cut short."""
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        if len(data) < 24:
            return None
        width, height = struct.unpack(">II", data[16:24])
        return width, height
    if data[:3] == b"\xff\xd8\xff":
        return _jpeg_dimensions(data)
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return _webp_dimensions(data)
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        width, height = struct.unpack("<HH", data[6:10])
        return width, height
    return None


# --- PNG ---------------------------------------------------------------------------------


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


@functools.lru_cache(maxsize=32)
def make_png(width: int, height: int) -> bytes:
    """Build an 8-bit RGB PNG with a horizontal gradient.

    Args:
        width: Pixels, clamped to ``1..MAX_IMAGE_SIDE``.
        height: Pixels, clamped to ``1..MAX_IMAGE_SIDE``.

    Returns:
        The PNG file bytes (signature, IHDR, one IDAT, IEND, all CRCs correct).
    """
    width = max(1, min(width, MAX_IMAGE_SIDE))
    height = max(1, min(height, MAX_IMAGE_SIDE))
    row = bytearray([0])  # filter type 0 (None) starts every scanline
    for x in range(width):
        shade = x * 255 // max(1, width - 1)
        row += bytes((shade, 96, 255 - shade))
    raw = bytes(row) * height
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit truecolour
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(raw, 6))
        + _png_chunk(b"IEND", b"")
    )


# --- H.264 elementary stream -------------------------------------------------------------


class _BitWriter:
    """MSB-first bit writer with the Exp-Golomb codes H.264 headers use."""

    def __init__(self) -> None:
        self._bits: list[int] = []

    def bits(self, value: int, count: int) -> None:
        self._bits.extend((value >> (count - 1 - i)) & 1 for i in range(count))

    def ue(self, value: int) -> None:
        code = value + 1
        length = code.bit_length()
        self.bits(0, length - 1)
        self.bits(code, length)

    def se(self, value: int) -> None:
        self.ue(2 * value - 1 if value > 0 else -2 * value)

    def align_zero(self) -> None:
        while len(self._bits) % 8:
            self._bits.append(0)

    def trailing(self) -> None:
        self._bits.append(1)  # rbsp_stop_one_bit
        self.align_zero()

    def to_bytes(self) -> bytes:
        out = bytearray()
        for i in range(0, len(self._bits), 8):
            byte = 0
            for bit in self._bits[i : i + 8]:
                byte = (byte << 1) | bit
            out.append(byte)
        return bytes(out)


def _nal(ref_idc: int, unit_type: int, rbsp: bytes) -> bytes:
    # Emulation prevention (H.264 7.4.1): no 00 00 0x (x <= 3) inside a NAL unit.
    out = bytearray([(ref_idc << 5) | unit_type])
    zeros = 0
    for byte in rbsp:
        if zeros >= 2 and byte <= 3:
            out.append(3)
            zeros = 0
        out.append(byte)
        zeros = zeros + 1 if byte == 0 else 0
    return bytes(out)


def _sps(width_mbs: int, height_mbs: int) -> bytes:
    w = _BitWriter()
    w.bits(66, 8)  # profile_idc: Baseline
    w.bits(0b11000000, 8)  # constraint_set0/1 flags
    w.bits(10, 8)  # level_idc 1.0
    w.ue(0)  # seq_parameter_set_id
    w.ue(0)  # log2_max_frame_num_minus4
    w.ue(2)  # pic_order_cnt_type 2: output order = decoding order
    w.ue(0)  # max_num_ref_frames
    w.bits(0, 1)  # gaps_in_frame_num_value_allowed_flag
    w.ue(width_mbs - 1)
    w.ue(height_mbs - 1)
    w.bits(1, 1)  # frame_mbs_only_flag
    w.bits(1, 1)  # direct_8x8_inference_flag
    w.bits(0, 1)  # frame_cropping_flag
    w.bits(0, 1)  # vui_parameters_present_flag
    w.trailing()
    return _nal(3, 7, w.to_bytes())


def _pps() -> bytes:
    w = _BitWriter()
    w.ue(0)  # pic_parameter_set_id
    w.ue(0)  # seq_parameter_set_id
    w.bits(0, 1)  # entropy_coding_mode_flag: CAVLC
    w.bits(0, 1)  # bottom_field_pic_order_in_frame_present_flag
    w.ue(0)  # num_slice_groups_minus1
    w.ue(0)  # num_ref_idx_l0_default_active_minus1
    w.ue(0)  # num_ref_idx_l1_default_active_minus1
    w.bits(0, 1)  # weighted_pred_flag
    w.bits(0, 2)  # weighted_bipred_idc
    w.se(0)  # pic_init_qp_minus26
    w.se(0)  # pic_init_qs_minus26
    w.se(0)  # chroma_qp_index_offset
    w.bits(1, 1)  # deblocking_filter_control_present_flag
    w.bits(0, 1)  # constrained_intra_pred_flag
    w.bits(0, 1)  # redundant_pic_cnt_present_flag
    w.trailing()
    return _nal(3, 8, w.to_bytes())


def _idr_slice(frame: int, macroblocks: int) -> bytes:
    # Every frame is an IDR picture of I_PCM macroblocks: raw samples need no transform
    # or entropy coding, which keeps a hand-made encoder honest and tiny.
    w = _BitWriter()
    w.ue(0)  # first_mb_in_slice
    w.ue(7)  # slice_type: I (all slices of the picture)
    w.ue(0)  # pic_parameter_set_id
    w.bits(0, 4)  # frame_num (log2_max_frame_num = 4)
    w.ue(frame % 2)  # idr_pic_id: consecutive IDR pictures must differ
    w.bits(0, 1)  # no_output_of_prior_pics_flag
    w.bits(0, 1)  # long_term_reference_flag
    w.se(0)  # slice_qp_delta
    w.ue(1)  # disable_deblocking_filter_idc
    luma = 40 + (frame * 17) % 180  # the brightness changes per frame, so it is a video
    for _ in range(macroblocks):
        w.ue(25)  # mb_type I_PCM
        w.align_zero()  # pcm_alignment_zero_bit
        for _ in range(256):
            w.bits(luma, 8)
        for _ in range(128):
            w.bits(128, 8)  # neutral chroma (Cb, Cr)
    w.trailing()
    return _nal(3, 5, w.to_bytes())


# --- MP4 (ISO BMFF) ----------------------------------------------------------------------


def _box(kind: bytes, *parts: bytes) -> bytes:
    payload = b"".join(parts)
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def _full_box(kind: bytes, version: int, flags: int, *parts: bytes) -> bytes:
    return _box(kind, struct.pack(">I", (version << 24) | flags), *parts)


_MATRIX = struct.pack(">9I", 0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)


def _moov(
    size: tuple[int, int],
    fps: int,
    sps: bytes,
    pps: bytes,
    sample_sizes: list[int],
    mdat_offset: int,
) -> bytes:
    width, height = size
    timescale = 600  # the customary video timescale, divisible by the usual frame rates
    delta = timescale // fps
    duration = delta * len(sample_sizes)
    mvhd = _full_box(
        b"mvhd",
        0,
        0,
        struct.pack(">IIII", 0, 0, timescale, duration),
        struct.pack(">IH", 0x00010000, 0x0100),  # rate 1.0, volume 1.0
        bytes(10),
        _MATRIX,
        bytes(24),
        struct.pack(">I", 2),  # next_track_ID
    )
    tkhd = _full_box(
        b"tkhd",
        0,
        3,  # enabled | in movie
        struct.pack(">IIIII", 0, 0, 1, 0, duration),
        bytes(8),
        struct.pack(">hhhH", 0, 0, 0, 0),  # layer, alternate group, volume, reserved
        _MATRIX,
        struct.pack(">II", width << 16, height << 16),
    )
    mdhd = _full_box(
        b"mdhd", 0, 0, struct.pack(">IIIIHH", 0, 0, timescale, duration, 0x55C4, 0)
    )  # language "und"
    hdlr = _full_box(b"hdlr", 0, 0, bytes(4), b"vide", bytes(12), b"VideoHandler\x00")
    avcc = _box(
        b"avcC",
        bytes((1, sps[1], sps[2], sps[3], 0xFF, 0xE1)),  # 4-byte NAL lengths, one SPS
        struct.pack(">H", len(sps)),
        sps,
        bytes((1,)),
        struct.pack(">H", len(pps)),
        pps,
    )
    avc1 = _box(
        b"avc1",
        bytes(6),
        struct.pack(">H", 1),  # data_reference_index
        bytes(16),
        struct.pack(">HH", width, height),
        struct.pack(">II", 0x00480000, 0x00480000),  # 72 dpi
        bytes(4),
        struct.pack(">H", 1),  # frame_count
        bytes(32),  # compressorname
        struct.pack(">Hh", 0x0018, -1),
        avcc,
    )
    stbl = _box(
        b"stbl",
        _full_box(b"stsd", 0, 0, struct.pack(">I", 1), avc1),
        _full_box(b"stts", 0, 0, struct.pack(">III", 1, len(sample_sizes), delta)),
        _full_box(b"stsc", 0, 0, struct.pack(">IIII", 1, 1, len(sample_sizes), 1)),
        _full_box(
            b"stsz",
            0,
            0,
            struct.pack(">II", 0, len(sample_sizes)),
            b"".join(struct.pack(">I", size) for size in sample_sizes),
        ),
        _full_box(b"stco", 0, 0, struct.pack(">II", 1, mdat_offset)),
    )
    dinf = _box(b"dinf", _full_box(b"dref", 0, 0, struct.pack(">I", 1), _full_box(b"url ", 0, 1)))
    vmhd = _full_box(b"vmhd", 0, 1, bytes(8))
    minf = _box(b"minf", vmhd, dinf, stbl)
    trak = _box(b"trak", tkhd, _box(b"mdia", mdhd, hdlr, minf))
    return _box(b"moov", mvhd, trak)


@functools.cache
def make_mp4(
    width: int = VIDEO_WIDTH,
    height: int = VIDEO_HEIGHT,
    fps: int = VIDEO_FPS,
    frames: int = VIDEO_FRAMES,
) -> bytes:
    """Build an H.264 (Baseline) MP4 of ``frames`` frames; by default 2 s of 64x48 at 6 fps.

    Args:
        width: Pixels, a multiple of 16 (whole macroblocks: no cropping is written).
        height: Pixels, a multiple of 16.
        fps: Frames per second, a divisor of 600 (the track's timescale).
        frames: How many frames; the clip lasts ``frames / fps`` seconds.

    Returns:
        The file bytes: ``ftyp``, ``moov`` (one video track) and ``mdat``.

    Raises:
        ValueError: A size that is not whole macroblocks, or an unusable frame rate or
            count (a programming error: callers pass constants).
    """
    if width <= 0 or height <= 0 or width % 16 or height % 16:
        raise ValueError(f"width and height must be positive multiples of 16, got {width}x{height}")
    if fps <= 0 or 600 % fps or frames <= 0:
        raise ValueError(f"fps must divide 600 and frames be positive, got {fps} and {frames}")
    width_mbs, height_mbs = width // 16, height // 16
    sps, pps = _sps(width_mbs, height_mbs), _pps()
    samples = [
        struct.pack(">I", len(nal)) + nal
        for nal in (_idr_slice(i, width_mbs * height_mbs) for i in range(frames))
    ]
    ftyp = _box(b"ftyp", b"isom", struct.pack(">I", 512), b"isomiso2avc1mp41")
    sizes = [len(sample) for sample in samples]
    moov_size = len(_moov((width, height), fps, sps, pps, sizes, 0))
    moov = _moov((width, height), fps, sps, pps, sizes, len(ftyp) + moov_size + 8)
    return ftyp + moov + _box(b"mdat", *samples)


# --- WAV ---------------------------------------------------------------------------------

_TONE_HZ = 440.0
_TONE_AMPLITUDE = 0.25 * 32767


@functools.lru_cache(maxsize=32)
def make_pcm16(seconds: float, sample_rate: int) -> bytes:
    """Build a mono 16-bit little-endian PCM tone near 440 Hz lasting ``seconds``.

    Args:
        seconds: Length; at least one sample is made.
        sample_rate: Samples per second (positive).

    Returns:
        The raw samples (no header), ``round(seconds * sample_rate)`` of them.
    """
    count = max(1, round(seconds * sample_rate))
    # One whole period, repeated: the tone is a hair off 440 Hz so that a period is a whole
    # number of samples, and the file is built at copying speed rather than sample by sample.
    period = max(2, round(sample_rate / _TONE_HZ))
    cycle = struct.pack(
        f"<{period}h",
        *(round(_TONE_AMPLITUDE * math.sin(2 * math.pi * i / period)) for i in range(period)),
    )
    whole, rest = divmod(count, period)
    return cycle * whole + cycle[: 2 * rest]


@functools.lru_cache(maxsize=32)
def make_wav(seconds: float, sample_rate: int) -> bytes:
    """Build a mono 16-bit WAV file of :func:`make_pcm16`'s tone.

    Returns:
        The file bytes, which :mod:`wave` and any player read.
    """
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(sample_rate)
        wav.writeframes(make_pcm16(seconds, sample_rate))
    return buffer.getvalue()
