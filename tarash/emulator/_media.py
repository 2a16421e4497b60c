"""The media the emulator serves: which kind a model makes, and the registry of its files.

Clients download generated outputs, so the emulator hands out real files: a PNG that any
decoder accepts and an H.264 MP4 that ffprobe/ffmpeg play. Both are built by hand (no
ffmpeg, no Pillow) in :mod:`tarash.tarash_gateway._sample_media`, shared with the mock
provider, and cached, so serving thousands of outputs costs nothing.
"""

from __future__ import annotations

import base64
import enum
import threading
from dataclasses import dataclass

from tarash.tarash_gateway._sample_media import (
    MAX_IMAGE_SIDE,
    MP4_CONTENT_TYPE,
    PNG_CONTENT_TYPE,
    VIDEO_HEIGHT,
    VIDEO_WIDTH,
    image_dimensions,
    make_mp4,
    make_png,
)

__all__ = [
    "DEFAULT_MEDIA_KINDS",
    "MAX_IMAGE_SIDE",
    "MP4_CONTENT_TYPE",
    "PNG_CONTENT_TYPE",
    "MediaFile",
    "MediaKind",
    "MediaKinds",
    "MediaStore",
    "classify_model",
    "image_dimensions",
    "make_mp4",
    "make_png",
]


class MediaKind(enum.Enum):
    """What a model produces."""

    IMAGE = "image"
    VIDEO = "video"


@dataclass(frozen=True)
class MediaKinds:
    """How a provider tells from a model id whether the model makes images or videos.

    Each provider's emulation declares one (``ProviderRoutes.media_kinds``), usually the
    shared :data:`DEFAULT_MEDIA_KINDS` extended with its own families, because a substring
    that marks an image model on one provider means nothing on another. Checked on the
    lower-cased id, first match wins: a ``video`` marker, then an ``image`` marker, then
    ``default``.

    Attributes:
        image: Substrings that mark an image model.
        video: Substrings that mark a video model (checked first, so
            ``kling-video/.../image-to-video`` stays video).
        default: The kind of an id no marker matches.
    """

    image: tuple[str, ...] = ()
    video: tuple[str, ...] = ()
    default: MediaKind = MediaKind.VIDEO

    def __call__(self, model_id: str) -> MediaKind:
        """The kind ``model_id`` makes."""
        lowered = model_id.lower()
        if any(marker in lowered for marker in self.video):
            return MediaKind.VIDEO
        if any(marker in lowered for marker in self.image):
            return MediaKind.IMAGE
        return self.default

    def extend(
        self,
        *,
        image: tuple[str, ...] = (),
        video: tuple[str, ...] = (),
        default: MediaKind | None = None,
    ) -> MediaKinds:
        """A copy with more markers (and, optionally, another default)."""
        return MediaKinds(
            image=self.image + image,
            video=self.video + video,
            default=self.default if default is None else default,
        )


#: The markers every provider shares: ids that say what they make (``video``, ``image``)
#: and image families hosted under the same names everywhere. Unknown ids are video.
DEFAULT_MEDIA_KINDS = MediaKinds(
    video=("video",),
    image=(
        "image",  # text-to-image, gpt-image-1, z-image-turbo, grok-imagine-image
        "imagen",
        "dall-e",
        "flux",
        "ideogram",
        "photon",
        "recraft",
        "reve/",
        "sdxl",
        "sd3",  # sd3, sd3.5-large, sd3.5-medium (Stability's own ids)
        "stable-diffusion",
        "seedream",
    ),
)


def classify_model(model_id: str) -> MediaKind:
    """Decide from a model id whether it makes images or videos, by the shared default.

    The table, first match wins:

    | the lower-cased id contains                        | kind  |
    |----------------------------------------------------|-------|
    | ``video`` (``kling-video``, ``image-to-video``)     | video |
    | image, imagen, dall-e, flux, ideogram, photon,     | image |
    | recraft, reve/, sdxl, sd3, stable-diffusion,       |       |
    | seedream                                           |       |
    | anything else (``fal-ai/veo3``, ``google/veo-3``)  | video |

    Providers extend it with their own families (see :class:`MediaKinds`).

    Args:
        model_id: A model id as a client submits it.

    Returns:
        The media kind the emulator generates for that model.
    """
    return DEFAULT_MEDIA_KINDS(model_id)


# --- serving -----------------------------------------------------------------------------


@dataclass(frozen=True)
class MediaFile:
    """One generated file the emulator can serve.

    Attributes:
        media_id: The id in ``/media/{media_id}.{extension}``.
        kind: Image or video.
        width: Pixels (images only; videos are fixed size).
        height: Pixels (images only).
    """

    media_id: str
    kind: MediaKind
    width: int = VIDEO_WIDTH
    height: int = VIDEO_HEIGHT

    @property
    def extension(self) -> str:
        """The file extension, without the dot."""
        return "png" if self.kind is MediaKind.IMAGE else "mp4"

    @property
    def file_name(self) -> str:
        """``{media_id}.{extension}``."""
        return f"{self.media_id}.{self.extension}"

    @property
    def content_type(self) -> str:
        """The MIME type served with the file."""
        return PNG_CONTENT_TYPE if self.kind is MediaKind.IMAGE else MP4_CONTENT_TYPE

    def content(self) -> bytes:
        """The file bytes (cached per size)."""
        if self.kind is MediaKind.IMAGE:
            return make_png(self.width, self.height)
        return make_mp4()

    def data_uri(self) -> str:
        """The file as a ``data:`` URI."""
        encoded = base64.b64encode(self.content()).decode("ascii")
        return f"data:{self.content_type};base64,{encoded}"


class MediaStore:
    """Thread-safe registry of the files handed out, keyed by file name."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._files: dict[str, MediaFile] = {}

    def add(self, media: MediaFile) -> MediaFile:
        """Register a file so ``/media/{file_name}`` serves it."""
        with self._lock:
            self._files[media.file_name] = media
        return media

    def get(self, file_name: str) -> MediaFile | None:
        """Look a file up by its name (``abc.png``)."""
        with self._lock:
            return self._files.get(file_name)
