"""Stability AI models tarash knows, as data: the endpoint and the form fields of each.

The v2beta generate API has one endpoint per family (``/v2beta/stable-image/generate/``
``ultra``, ``core``, ``sd3``); the SD 3.5 models share ``sd3`` and are told apart by its
``model`` field. Adding a model is one entry in :data:`STABILITY_MODELS`. Field names and
allowed values are from Stability's v2beta OpenAPI (``openapi.yaml``, 2026 snapshot).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from types import MappingProxyType
from typing import Literal

from tarash.tarash_gateway.providers._base import ModelCapabilities
from tarash.tarash_gateway.providers._lifecycle import Retirement
from tarash.tarash_gateway.providers._spec import ModelSpec

__all__ = [
    "ASPECT_RATIOS",
    "MAX_SEED",
    "RETIRED",
    "STABILITY_MODELS",
    "STYLE_PRESETS",
    "Endpoint",
    "sd3_spec",
]

Endpoint = Literal["ultra", "core", "sd3"]
"""The last segment of ``/v2beta/stable-image/generate/{endpoint}``."""
GENERATE_PATH = "/v2beta/stable-image/generate"

ASPECT_RATIOS = ("21:9", "16:9", "3:2", "5:4", "1:1", "4:5", "2:3", "9:16", "9:21")
"""Every generate endpoint's ``aspect_ratio`` enum (default ``1:1``)."""
STYLE_PRESETS = (
    "enhance",
    "anime",
    "photographic",
    "digital-art",
    "comic-book",
    "fantasy-art",
    "line-art",
    "analog-film",
    "neon-punk",
    "isometric",
    "low-poly",
    "origami",
    "modeling-compound",
    "cinematic",
    "3d-model",
    "pixel-art",
    "tile-texture",
)
"""The ``style_preset`` enum (``request.style``)."""
MAX_SEED = 4_294_967_294
"""``seed`` is 0 (random) to 4294967294."""


_COMMON_INPUTS = {
    "prompt": "prompt",
    "negative_prompt": "negative_prompt",
    "seed": "seed",
    "aspect_ratio": "aspect_ratio",
    "style": "style_preset",
}
# Ultra and SD 3.5 take one input image (``image`` + the required ``strength``); Core none.
_WITH_IMAGE = {**_COMMON_INPUTS, "first_frame": "image"}


def _model(endpoint: Endpoint, *, image: bool, sd3_model: str | None = None) -> ModelSpec:
    return ModelSpec(
        capabilities=ModelCapabilities(
            kind="image",
            aspect_ratios=ASPECT_RATIOS,
            accepts_image=image,
            accepts_last_frame=False,
            max_outputs=1,
        ),
        inputs=_WITH_IMAGE if image else _COMMON_INPUTS,
        # The sd3 endpoint serves every SD 3.5 model, named in its ``model`` field.
        defaults={} if sd3_model is None else {"model": sd3_model},
        endpoint=f"{GENERATE_PATH}/{endpoint}",
    )


RETIRED: Mapping[str, Retirement] = MappingProxyType(
    {
        legacy: Retirement(
            successor=successor,
            since=date(2025, 4, 17),
            note=f"Stability re-routes it to {successor}",
        )
        for legacy, successor in (
            ("sd3-large", "sd3.5-large"),
            ("sd3-large-turbo", "sd3.5-large-turbo"),
            ("sd3-medium", "sd3.5-medium"),
        )
    }
)
"""SD 3 ids Stability re-routes to their 3.5 equivalents: still sent as written, warned."""

STABILITY_MODELS: Mapping[str, ModelSpec] = MappingProxyType(
    {
        "stable-image-ultra": _model("ultra", image=True),
        "stable-image-core": _model("core", image=False),
        **{
            name: _model("sd3", image=True, sd3_model=name)
            for name in (
                "sd3.5-large",
                "sd3.5-large-turbo",
                "sd3.5-medium",
                # In the endpoint's description, not yet in its enum.
                "sd3.5-flash",
                *RETIRED,
            )
        },
    }
)
"""Model id -> its endpoint (``ModelSpec.endpoint``) and form mapping. Any other
``sd3``-prefixed id goes to the ``sd3`` endpoint as its ``model`` (:func:`sd3_spec`); other
ids are refused before sending."""


def sd3_spec(model_id: str) -> ModelSpec:
    """The spec of an SD 3 id the registry does not list (a newer one): the ``sd3``
    endpoint with that id as its ``model`` (Stability decides)."""
    return _model("sd3", image=True, sd3_model=model_id)
