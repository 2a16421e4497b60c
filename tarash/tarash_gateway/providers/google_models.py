"""Google models tarash knows, as data: Veo (video), Imagen and the Gemini image models.

One :class:`GoogleModel` per id: its :class:`ModelSpec` and the API method that serves it
(``predictLongRunning`` for Veo, ``predict`` for Imagen, ``generateContent`` for Gemini
image models, ``interactions`` for Gemini Omni Flash on the Interactions API).
Retirements are recorded per model; Imagen's and Veo 3.0's depend on the backend (see
:data:`BACKEND_RETIREMENTS`).

Sources: googleapis/python-genai ``models.py``/``types.py`` (2026-08-21), ai.google.dev and
docs.cloud.google.com model pages (see docs/providers/google.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from types import MappingProxyType
from typing import Literal

from tarash.tarash_gateway.providers._lifecycle import Retirement
from tarash.tarash_gateway.providers._spec import ModelCapabilities, ModelSpec

__all__ = [
    "BACKEND_RETIREMENTS",
    "GENERIC_SPECS",
    "GOOGLE_MODELS",
    "GOOGLE_SPECS",
    "OMNI_FLASH",
    "Backend",
    "GoogleModel",
    "Method",
    "bare_model_id",
    "find_model",
]

Method = Literal["predictLongRunning", "predict", "generateContent", "interactions"]
Backend = Literal["gemini", "vertex"]

IMAGEN_4_GEMINI_SHUTDOWN = date(2026, 8, 17)
VEO_3_0_VERTEX_RETIREMENT = date(2026, 6, 30)
GEMINI_25_IMAGE_SHUTDOWN = date(2026, 10, 2)


@dataclass(frozen=True, slots=True)
class GoogleModel:
    """One Google model.

    Attributes:
        spec: Capabilities and the unified concepts -> wire fields (``instances[0]`` and
            ``parameters`` keys for Veo and Imagen, ``imageConfig`` keys for Gemini).
        method: The REST method that serves it.
    """

    spec: ModelSpec
    method: Method


# Wire names are the REST ones; the client sorts them into instances[0] and parameters.
_VEO_INPUTS = {
    "prompt": "prompt",
    "negative_prompt": "negativePrompt",
    "seed": "seed",
    "aspect_ratio": "aspectRatio",
    "resolution": "resolution",
    "generate_audio": "generateAudio",
    "enhance_prompt": "enhancePrompt",
    "duration": "durationSeconds",
    "first_frame": "image",
    "last_frame": "lastFrame",
    "reference_images": "referenceImages",
    "count": "sampleCount",
}


def _veo(durations: tuple[int, ...], resolutions: tuple[str, ...]) -> ModelSpec:
    return ModelSpec(
        capabilities=ModelCapabilities(
            kind="video",
            durations=durations,
            aspect_ratios=("16:9", "9:16"),
            resolutions=resolutions,
            max_outputs=4,
        ),
        inputs=_VEO_INPUTS,
    )


_VEO_3 = (4, 6, 8)
_VEO_31 = _veo(_VEO_3, ("720p", "1080p", "4k"))
_VEO_30 = _veo(_VEO_3, ("720p", "1080p"))
_VEO_2 = _veo((5, 6, 7, 8), ("720p",))

_IMAGEN = ModelSpec(
    capabilities=ModelCapabilities(
        kind="image",
        aspect_ratios=("1:1", "3:4", "4:3", "9:16", "16:9"),
        accepts_image=False,
        max_outputs=4,
    ),
    inputs={
        "prompt": "prompt",
        "negative_prompt": "negativePrompt",
        "seed": "seed",
        "aspect_ratio": "aspectRatio",
        "count": "sampleCount",
        "enhance_prompt": "enhancePrompt",
    },
)

_GEMINI_IMAGE_INPUTS = {
    "prompt": "prompt",
    "aspect_ratio": "aspectRatio",
    "reference_images": "images",
}


def _gemini_image(lifecycle: Retirement | None = None) -> ModelSpec:
    return ModelSpec(
        capabilities=ModelCapabilities(
            kind="image",
            aspect_ratios=("1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9"),
            max_outputs=1,
        ),
        inputs=_GEMINI_IMAGE_INPUTS,
        lifecycle=lifecycle,
    )


_GEMINI_IMAGE_SUCCESSOR = "gemini-3.1-flash-image"

# Gemini Omni Flash (ai.google.dev/gemini-api/docs/video, read 2026-12-07): 3-10 s clips at
# 720p, 16:9 or 9:16, with audio. The Interactions API documents no duration, aspect ratio
# or resolution field for it, so those are not sent (a request setting one is told so);
# the prompt and the images travel in ``input``.
OMNI_FLASH = "gemini-omni-flash-preview"
_OMNI = ModelSpec(
    capabilities=ModelCapabilities(
        kind="video",
        durations=tuple(range(3, 11)),
        aspect_ratios=("16:9", "9:16"),
        resolutions=("720p",),
        max_outputs=1,
    ),
    inputs={
        "prompt": "prompt",
        "first_frame": "image",
        "reference_images": "referenceImages",
    },
)

GOOGLE_MODELS: Mapping[str, GoogleModel] = MappingProxyType(
    {
        **{
            model: GoogleModel(_VEO_31, "predictLongRunning")
            for model in (
                "veo-3.1-generate-preview",
                "veo-3.1-fast-generate-preview",
                "veo-3.1-lite-generate-preview",
                "veo-3.1-generate-001",
                "veo-3.1-fast-generate-001",
                "veo-3.1-lite-generate-001",
            )
        },
        "veo-3.0-generate-001": GoogleModel(_VEO_30, "predictLongRunning"),
        "veo-3.0-fast-generate-001": GoogleModel(_VEO_30, "predictLongRunning"),
        "veo-3.0-generate-preview": GoogleModel(_VEO_30, "predictLongRunning"),
        "veo-3.0-fast-generate-preview": GoogleModel(_VEO_30, "predictLongRunning"),
        "veo-2.0-generate-001": GoogleModel(_VEO_2, "predictLongRunning"),
        OMNI_FLASH: GoogleModel(_OMNI, "interactions"),
        **{
            model: GoogleModel(_IMAGEN, "predict")
            for model in (
                "imagen-4.0-generate-001",
                "imagen-4.0-ultra-generate-001",
                "imagen-4.0-fast-generate-001",
                "imagen-3.0-generate-001",
                "imagen-3.0-generate-002",
                "imagen-3.0-fast-generate-001",
            )
        },
        "gemini-3.1-flash-image": GoogleModel(_gemini_image(), "generateContent"),
        "gemini-3-pro-image": GoogleModel(_gemini_image(), "generateContent"),
        "gemini-3.1-flash-image-preview": GoogleModel(_gemini_image(), "generateContent"),
        "gemini-3-pro-image-preview": GoogleModel(
            _gemini_image(Retirement(successor="gemini-3-pro-image", since=date(2026, 6, 25))),
            "generateContent",
        ),
        "gemini-2.5-flash-image": GoogleModel(
            _gemini_image(
                Retirement(
                    successor=_GEMINI_IMAGE_SUCCESSOR,
                    since=GEMINI_25_IMAGE_SHUTDOWN,
                    note="shutdown announced (a later report moves it to 2027-03-15)",
                    verified=False,
                )
            ),
            "generateContent",
        ),
        "gemini-2.5-flash-image-preview": GoogleModel(
            _gemini_image(
                Retirement(successor=_GEMINI_IMAGE_SUCCESSOR, since=GEMINI_25_IMAGE_SHUTDOWN)
            ),
            "generateContent",
        ),
    }
)
"""Model id (bare, as Google spells it) -> its entry."""

_IMAGEN_4_GEMINI = Retirement(
    successor=f"{_GEMINI_IMAGE_SUCCESSOR} (or Imagen on Vertex AI: provider_config vertexai)",
    since=IMAGEN_4_GEMINI_SHUTDOWN,
    note="Imagen was shut on the Gemini API",
)
_VEO_30_VERTEX = Retirement(
    successor="veo-3.1-generate-001", since=VEO_3_0_VERTEX_RETIREMENT, note="retired on Vertex AI"
)

BACKEND_RETIREMENTS: Mapping[tuple[Backend, str], Retirement] = MappingProxyType(
    {
        **{
            ("gemini", model): _IMAGEN_4_GEMINI
            for model, entry in GOOGLE_MODELS.items()
            if entry.method == "predict"
        },
        **{
            ("vertex", model): _VEO_30_VERTEX
            for model in GOOGLE_MODELS
            if model.startswith("veo-3.0-")
        },
    }
)
"""Retirements that hold on one backend only: (backend, model) -> retirement."""

GENERIC_VIDEO = GoogleModel(
    ModelSpec(ModelCapabilities(kind="video"), _VEO_INPUTS), "predictLongRunning"
)
GENERIC_IMAGE = GoogleModel(
    ModelSpec(ModelCapabilities(kind="image"), _GEMINI_IMAGE_INPUTS), "generateContent"
)

GOOGLE_SPECS: Mapping[str, ModelSpec] = MappingProxyType(
    {model: entry.spec for model, entry in GOOGLE_MODELS.items()}
)
"""The specs of :data:`GOOGLE_MODELS`, as the provider kit's registry."""
GENERIC_SPECS: Mapping[Literal["video", "image"], ModelSpec] = MappingProxyType(
    {"video": GENERIC_VIDEO.spec, "image": GENERIC_IMAGE.spec}
)

_PREFIXES = ("models/", "google/")


def bare_model_id(model: str) -> str:
    """``models/veo-3.1-generate-preview`` or ``google/...`` -> the bare id the URL takes."""
    for prefix in _PREFIXES:
        if model.lower().startswith(prefix):
            return model[len(prefix) :]
    return model


def find_model(model: str) -> GoogleModel | None:
    """The entry for a model id, bare or prefixed; ``None`` when unknown."""
    return GOOGLE_MODELS.get(bare_model_id(model))
