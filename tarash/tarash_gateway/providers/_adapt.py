"""Fitting a provider-neutral request to what one model can do.

A value the model cannot honour exactly is replaced by the nearest one it can (and the
change recorded and logged), so one request can travel down a fallback chain whose models
differ. With ``strict_parameters`` the same mismatch is a :class:`ValidationError`. What
cannot be adapted (an image-to-video model with no image) is always an error, raised
before anything is submitted.

Adapting is the first half of preparing a request; :mod:`._spec` does the second, mapping
the adapted request to the model's own field names (``ProviderClient.prepare_from_spec``).
Both read the model's registry entry: adapting its :class:`~._spec.ModelCapabilities`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from tarash.tarash_gateway.errors import ValidationError
from tarash.tarash_gateway.models import ImageGenerationRequest, VideoGenerationRequest
from tarash.tarash_gateway.providers._spec import ModelCapabilities

__all__ = ["adapt_image_request", "adapt_video_request", "nearest_aspect_ratio"]

logger = logging.getLogger("tarash.adapt")

_T = TypeVar("_T", int, str)

_RESOLUTION_HEIGHTS = {
    "360p": 360,
    "480p": 480,
    "540p": 540,
    "580p": 580,
    "720p": 720,
    "1080p": 1080,
    "1440p": 1440,
    "2k": 1440,
    "4k": 2160,
}


def _ratio_value(ratio: str) -> float:
    width, _, height = ratio.partition(":")
    try:
        return float(width) / float(height)
    except (ValueError, ZeroDivisionError):
        return 1.0


def nearest_aspect_ratio(wanted: str, supported: Sequence[str]) -> str:
    """Return the supported ratio whose shape is closest to ``wanted`` (``auto`` excluded)."""
    candidates = [ratio for ratio in supported if ratio != "auto"] or list(supported)
    target = _ratio_value(wanted)
    return min(candidates, key=lambda ratio: abs(_ratio_value(ratio) - target))


def _nearest_duration(wanted: int, supported: Sequence[int]) -> int:
    # On a tie the longer duration wins: a user asking for 5 s of a 4/6/8 s model would
    # rather get 6 s than 4 s.
    return min(supported, key=lambda value: (abs(value - wanted), -value))


def _nearest_resolution(wanted: str, supported: Sequence[str]) -> str:
    target = _RESOLUTION_HEIGHTS.get(wanted, 720)
    return min(
        supported,
        key=lambda value: (abs(_RESOLUTION_HEIGHTS.get(value, 720) - target), value),
    )


class _Adapter:
    def __init__(self, *, strict: bool, provider: str, model: str) -> None:
        self.strict = strict
        self.provider = provider
        self.model = model
        self.notes: list[str] = []
        self.changes: dict[str, Any] = {}

    def change(self, field: str, old: Any, new: Any, why: str) -> None:
        note = f"{field}: {old!r} -> {new!r} ({why})"
        if self.strict:
            raise self.error(f"{field}={old!r} is not supported: {why}")
        logger.warning("adapted request for %s/%s: %s", self.provider, self.model, note)
        self.notes.append(note)
        self.changes[field] = new

    def fit(
        self,
        field: str,
        wanted: _T | None,
        offered: Sequence[_T] | None,
        nearest: Callable[[_T, Sequence[_T]], _T],
        *,
        unit: str = "",
    ) -> None:
        """Change ``wanted`` to the nearest value ``offered`` when the model does not offer
        it (``None`` for either: nothing to fit)."""
        if wanted is None or not offered or wanted in offered:
            return
        listed = ", ".join(f"{value}{unit}" for value in offered)
        self.change(field, wanted, nearest(wanted, offered), f"{self.model} offers {listed}")

    def error(self, message: str) -> ValidationError:
        return ValidationError(message, provider=self.provider, model=self.model)


def adapt_video_request(
    request: VideoGenerationRequest,
    capabilities: ModelCapabilities,
    *,
    strict: bool,
    provider: str,
    model: str,
) -> tuple[VideoGenerationRequest, list[str]]:
    """Fit a video request to a model.

    Args:
        request: The user's request.
        capabilities: What the model supports.
        strict: Raise instead of adapting.
        provider: For messages.
        model: For messages.

    Returns:
        The adapted request (a copy; the original is untouched) and the notes of each change.

    Raises:
        ValidationError: The request cannot be served by this model, or ``strict`` is set
            and a value would have to change.
    """
    adapter = _Adapter(strict=strict, provider=provider, model=model)
    if capabilities.kind != "video":
        raise adapter.error(f"{model} generates {capabilities.kind}s, not videos")
    first_frames = request.images_of("first_frame")
    if capabilities.requires_image and not first_frames and not request.image_list:
        raise adapter.error(
            f"{model} is an image-to-video model: add an image_list item with type='first_frame'"
        )
    if request.image_list and not capabilities.accepts_image:
        raise adapter.error(
            f"{model} is a text-to-video model and takes no image: use its image-to-video "
            "variant or remove image_list"
        )
    if request.images_of("last_frame") and not capabilities.accepts_last_frame:
        raise adapter.error(f"{model} takes no last_frame image")

    adapter.fit(
        "duration_seconds",
        request.duration_seconds,
        capabilities.durations,
        _nearest_duration,
        unit="s",
    )
    adapter.fit(
        "aspect_ratio", request.aspect_ratio, capabilities.aspect_ratios, nearest_aspect_ratio
    )
    adapter.fit("resolution", request.resolution, capabilities.resolutions, _nearest_resolution)
    if request.generate_audio and not capabilities.accepts_audio_flag:
        adapter.change("generate_audio", True, None, f"{model} has no audio switch")
    limit = capabilities.max_outputs
    if limit is not None and request.number_of_videos > limit:
        adapter.change(
            "number_of_videos", request.number_of_videos, limit, f"{model} makes {limit} a job"
        )
    adapted = request.model_copy(update=adapter.changes) if adapter.changes else request
    return adapted, adapter.notes


def adapt_image_request(
    request: ImageGenerationRequest,
    capabilities: ModelCapabilities,
    *,
    strict: bool,
    provider: str,
    model: str,
) -> tuple[ImageGenerationRequest, list[str]]:
    """Fit an image request to a model; see :func:`adapt_video_request`."""
    adapter = _Adapter(strict=strict, provider=provider, model=model)
    if capabilities.kind != "image":
        raise adapter.error(f"{model} generates {capabilities.kind}s, not images")
    if capabilities.requires_image and not request.image_list:
        raise adapter.error(f"{model} edits an image: add an image_list item")
    if request.image_list and not capabilities.accepts_image:
        raise adapter.error(f"{model} takes no input image")
    adapter.fit(
        "aspect_ratio", request.aspect_ratio, capabilities.aspect_ratios, nearest_aspect_ratio
    )
    limit = capabilities.max_outputs
    # n=None asks for one image, which every model makes.
    if limit is not None and request.n is not None and request.n > limit:
        adapter.change("n", request.n, limit, f"{model} makes at most {limit} a job")
    adapted = request.model_copy(update=adapter.changes) if adapter.changes else request
    return adapted, adapter.notes
