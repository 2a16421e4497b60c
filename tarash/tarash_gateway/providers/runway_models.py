"""Runway models tarash knows, as data: the video models and the gen4 image models.

Runway spells a frame size as a pixel ratio string (``"1280:720"``); each model takes its
own list of them, built here from the unified aspect ratio and resolution with
:func:`value_table`. Durations are per model (``veo3`` makes 8 s only). ``gen3a_turbo``,
the model the seed's example uses, was dropped in 2026: it warns, naming ``gen4_turbo``,
and is still sent (Runway decides).

Video-to-video (``POST /v1/video_to_video``: a ``videoUri`` to transform) is ``gen4_aleph``
(the published package's; ``aleph`` is its alias, sent as ``gen4_aleph``): ``promptText``,
``videoUri``, ``references`` (``[{"type": "image", "uri"}]``, from the request's images),
``seed``, ``ratio`` (deprecated by Runway, ignored: the output takes the input's size) and
``contentModeration``. It left the SDK's model list on 2026-06-10 for ``aleph2`` (same
endpoint: ``promptText``, ``videoUri``, ``seed``, ``contentModeration``; no references).

Sources: runwayml/sdk-python ``types/*_create_params.py`` (2026-07-27; gen4_aleph's
``Gen4Aleph`` at commit 6fbc91a, 2026-06-05, the last that has it) and docs.dev.runwayml.com
(see docs/providers/runway.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from types import MappingProxyType
from typing import Any, Literal

from tarash.tarash_gateway.providers._base import ModelCapabilities
from tarash.tarash_gateway.providers._lifecycle import Retirement
from tarash.tarash_gateway.providers._spec import Composed, ModelSpec, value_table

__all__ = [
    "GENERIC_SPECS",
    "IMAGE_ENDPOINT",
    "MODERATED",
    "RUNWAY_SPECS",
    "VIDEO_ENDPOINTS",
    "VIDEO_TO_VIDEO_ENDPOINT",
    "WIRE_IDS",
    "runway_ratio",
]

Endpoint = Literal[
    "/v1/text_to_video", "/v1/image_to_video", "/v1/video_to_video", "/v1/text_to_image"
]
VIDEO_ENDPOINTS: tuple[Endpoint, Endpoint] = ("/v1/text_to_video", "/v1/image_to_video")
"""Text-to-video (no ``promptImage``) and image-to-video."""
VIDEO_TO_VIDEO_ENDPOINT: Endpoint = "/v1/video_to_video"
"""Video-to-video: the create has a ``videoUri``."""
MODERATED = frozenset(
    {"gen4.5", "gen4_turbo", "gen4_image", "gen4_image_turbo", "gen4_aleph", "aleph", "aleph2"}
)
"""Registered models whose bodies take ``contentModeration`` (sdk-python: the gen4 family and
Aleph; the Veo bodies have none, so it is not sent to them)."""
WIRE_IDS: Mapping[str, str] = MappingProxyType({"aleph": "gen4_aleph"})
"""Published ids Runway knows by another name (the published package sent ``aleph`` as
is, which Runway's model list does not have)."""
IMAGE_ENDPOINT: Endpoint = "/v1/text_to_image"

GEN3A_DROPPED = date(2026, 6, 1)
"""When ``gen3a_turbo`` left the SDK's model list (the API's own date is unconfirmed)."""
GEN4_ALEPH_DROPPED = date(2026, 6, 10)
"""When ``gen4_aleph`` left the SDK's model list (sdk-python d106617; the API's own date is
unconfirmed)."""

# Aspect ratio -> Runway's ratio string, at 720p, for the gen4 video models.
_GEN4_RATIOS = {
    "16:9": "1280:720",
    "9:16": "720:1280",
    "4:3": "1104:832",
    "3:4": "832:1104",
    "1:1": "960:960",
    "21:9": "1584:672",
}
_VEO_RATIOS = {
    ("16:9", "720p"): "1280:720",
    ("9:16", "720p"): "720:1280",
    ("16:9", "1080p"): "1920:1080",
    ("9:16", "1080p"): "1080:1920",
}
_GEN3A_RATIOS = {"16:9": "1280:768", "9:16": "768:1280"}
_GEN4_IMAGE_RATIOS = {
    "1:1": "1024:1024",
    "16:9": "1920:1080",
    "9:16": "1080:1920",
    "4:3": "1440:1080",
    "3:4": "1080:1440",
    "21:9": "2112:912",
}


def runway_ratio(ratios: Mapping[str, str], resolution: str | None = "720p") -> Composed:
    """``ratio`` from the aspect ratio (and, when ``resolution`` is set, the resolution:
    a request that leaves it out takes that one)."""
    if resolution is None:
        return Composed(
            "ratio", ("aspect_ratio",), value_table({(k,): v for k, v in ratios.items()})
        )
    table: dict[tuple[Any, ...], str] = {}
    for aspect, ratio in ratios.items():
        table[(aspect, resolution)] = ratio
        table[(aspect, None)] = ratio
    return Composed("ratio", ("aspect_ratio", "resolution"), value_table(table))


def _veo_ratio() -> Composed:
    table: dict[tuple[Any, ...], str] = dict(_VEO_RATIOS)
    table.update(
        {(aspect, None): ratio for (aspect, res), ratio in _VEO_RATIOS.items() if res == "720p"}
    )
    return Composed("ratio", ("aspect_ratio", "resolution"), value_table(table))


_VIDEO_INPUTS = {
    "prompt": "promptText",
    "seed": "seed",
    "duration": "duration",
    "first_frame": "promptImage",
    "last_frame": "lastFrame",
}
"""``lastFrame`` is tarash's own key: the client folds it into ``promptImage``'s list."""


def _gen4(
    durations: tuple[int, ...],
    *,
    last_frame: bool = False,
    requires_image: bool = False,
    default_duration: int | None = None,
) -> ModelSpec:
    # A model whose body requires a duration (gen4.5: sdk-python's Gen4_5 marks it Required)
    # gets one when the request names none, rather than Runway's 400.
    defaults: dict[str, object] = {"ratio": _GEN4_RATIOS["16:9"]}
    if default_duration is not None:
        defaults["duration"] = default_duration
    return ModelSpec(
        capabilities=ModelCapabilities(
            kind="video",
            durations=durations,
            requires_image=requires_image,
            aspect_ratios=tuple(_GEN4_RATIOS),
            resolutions=("720p",),
            accepts_last_frame=last_frame,
            accepts_audio_flag=False,
            max_outputs=1,
        ),
        inputs={k: v for k, v in _VIDEO_INPUTS.items() if last_frame or k != "last_frame"},
        # Runway requires a ratio: a request without an aspect ratio gets the landscape one.
        defaults=defaults,
        composed=(runway_ratio(_GEN4_RATIOS),),
    )


def _veo(durations: tuple[int, ...], *, veo31: bool) -> ModelSpec:
    # Runway's Veo bodies have no seed (sdk-python Veo3/Veo3_1/Veo3_1Fast): a seed asked is
    # noted as not sent rather than refused by Runway.
    inputs = {**_VIDEO_INPUTS, "negative_prompt": "negativePrompt"}
    del inputs["seed"]
    if veo31:
        inputs["generate_audio"] = "audio"
    else:
        del inputs["last_frame"]
    return ModelSpec(
        capabilities=ModelCapabilities(
            kind="video",
            durations=durations,
            aspect_ratios=("16:9", "9:16"),
            resolutions=("720p", "1080p"),
            accepts_last_frame=veo31,
            accepts_audio_flag=veo31,
            max_outputs=1,
        ),
        inputs=inputs,
        # veo3's body requires its one duration (sdk-python's Veo3 marks it Required).
        defaults={"ratio": _VEO_RATIOS[("16:9", "720p")]}
        if veo31
        else {"ratio": _VEO_RATIOS[("16:9", "720p")], "duration": 8},
        composed=(_veo_ratio(),),
    )


def _gen4_image(*, turbo: bool) -> ModelSpec:
    return ModelSpec(
        capabilities=ModelCapabilities(
            kind="image",
            aspect_ratios=tuple(_GEN4_IMAGE_RATIOS),
            requires_image=turbo,
            max_outputs=1,
        ),
        inputs={"prompt": "promptText", "seed": "seed", "reference_images": "referenceImages"},
        defaults={"ratio": _GEN4_IMAGE_RATIOS["1:1"]},
        composed=(runway_ratio(_GEN4_IMAGE_RATIOS, resolution=None),),
        # gen4_image_turbo cannot run without 1-3 reference images.
        required=("referenceImages",) if turbo else (),
    )


def _aleph(*, gen4: bool) -> ModelSpec:
    """A video-to-video model: the request's ``video`` is required, its length and size are
    the output's (no duration; gen4_aleph's ``ratio`` is deprecated and ignored)."""
    inputs = {"prompt": "promptText", "seed": "seed", "video": "videoUri"}
    if gen4:
        # Runway takes one reference today; the client wraps each as {"type", "uri"}.
        inputs["reference_images"] = "references"
    return ModelSpec(
        capabilities=ModelCapabilities(
            kind="video",
            aspect_ratios=tuple(_GEN4_RATIOS) if gen4 else None,
            accepts_last_frame=False,
            accepts_audio_flag=False,
            max_outputs=1,
        ),
        inputs=inputs,
        composed=(runway_ratio(_GEN4_RATIOS),) if gen4 else (),
        required=("videoUri",),
        lifecycle=Retirement(
            successor="aleph2",
            since=GEN4_ALEPH_DROPPED,
            note="Runway dropped it from its API's model list",
            verified=False,
        )
        if gen4
        else None,
    )


_GEN3A = ModelSpec(
    capabilities=ModelCapabilities(
        kind="video",
        durations=(5, 10),
        aspect_ratios=tuple(_GEN3A_RATIOS),
        resolutions=("720p",),
        accepts_audio_flag=False,
        max_outputs=1,
    ),
    inputs=_VIDEO_INPUTS,
    defaults={"ratio": _GEN3A_RATIOS["16:9"]},
    composed=(runway_ratio(_GEN3A_RATIOS),),
    lifecycle=Retirement(
        successor="gen4_turbo",
        since=GEN3A_DROPPED,
        note="Runway dropped it from its API's model list",
        verified=False,
    ),
)

RUNWAY_SPECS: Mapping[str, ModelSpec] = MappingProxyType(
    {
        "gen4.5": _gen4(tuple(range(2, 11)), default_duration=5),
        # Runway takes gen4_turbo on image_to_video only (promptImage required; sdk-python's
        # TextToVideoCreateParams has no gen4_turbo): a text-only request is refused before
        # anything is sent, instead of posted to text_to_video and refused by Runway.
        "gen4_turbo": _gen4((5, 10), requires_image=True),
        "veo3": _veo((8,), veo31=False),
        "veo3.1": _veo((4, 6, 8), veo31=True),
        "veo3.1_fast": _veo((4, 6, 8), veo31=True),
        "gen3a_turbo": _GEN3A,
        "gen4_aleph": _aleph(gen4=True),
        "aleph": _aleph(gen4=True),
        "aleph2": _aleph(gen4=False),
        "gen4_image": _gen4_image(turbo=False),
        "gen4_image_turbo": _gen4_image(turbo=True),
    }
)
"""Model id -> spec. An id not here is sent as it is, with the generic mapping."""

GENERIC_SPECS: Mapping[Literal["video", "image"], ModelSpec] = MappingProxyType(
    {
        "video": ModelSpec(
            capabilities=ModelCapabilities(kind="video"),
            inputs={**_VIDEO_INPUTS, "negative_prompt": "negativePrompt"},
            composed=(runway_ratio(_GEN4_RATIOS),),
        ),
        "image": ModelSpec(
            capabilities=ModelCapabilities(kind="image"),
            inputs={"prompt": "promptText", "seed": "seed", "reference_images": "referenceImages"},
            composed=(runway_ratio(_GEN4_IMAGE_RATIOS, resolution=None),),
        ),
    }
)
