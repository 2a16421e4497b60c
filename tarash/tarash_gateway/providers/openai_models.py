"""OpenAI models tarash knows, as data: the Sora video models and the image models.

One :class:`OpenAIModel` per id: its :class:`ModelSpec` (capabilities and the unified
concepts it takes), which API serves it, the ``size`` each aspect ratio and resolution
mean for it. :data:`RETIRED` records the ids OpenAI no longer serves. Adding a model is
one entry in :data:`OPENAI_MODELS`. The Azure provider reads the same entries by
*family* (``provider_config["family"]``): a deployment serves one of these models under a
name of the user's choosing.

Sources: the openai-openapi spec and openai-python (2026-08-21), OpenAI's deprecations page
(see docs/providers/openai.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from types import MappingProxyType
from typing import Literal

from tarash.tarash_gateway.providers._base import ModelCapabilities
from tarash.tarash_gateway.providers._lifecycle import Retirement
from tarash.tarash_gateway.providers._spec import ModelSpec

__all__ = [
    "DEPRECATED",
    "GENERIC_IMAGE",
    "GENERIC_VIDEO",
    "OPENAI_MODELS",
    "RETIRED",
    "OpenAIModel",
    "bare_model_id",
    "find_model",
]

Api = Literal["videos", "images"]

SORA_SHUTDOWN = date(2026, 9, 24)
"""OpenAI's Videos API and every ``sora-2*`` model shut down on api.openai.com."""
DALL_E_SHUTDOWN = date(2026, 5, 12)


@dataclass(frozen=True, slots=True)
class OpenAIModel:
    """One OpenAI model (or an Azure deployment's family).

    Attributes:
        spec: Capabilities and the unified concepts -> wire fields.
        api: ``videos`` (``/videos``, a job) or ``images`` (``/images/*``, answered in
            the request).
        sizes: ``(aspect_ratio, resolution)`` -> the ``size`` value (``"1280x720"``);
            images key on ``(aspect_ratio, "")``.
        edit_image_field: The multipart field of an edit's input image (``image[]`` for
            GPT image models, ``image`` for dall-e-2).
        b64_response_format: Send ``response_format=b64_json`` (dall-e models answer with
            URLs by default; GPT image models refuse the field and always send base64).
        editable: Whether ``/images/edits`` takes the model.
    """

    spec: ModelSpec
    api: Api
    sizes: Mapping[tuple[str, str], str] = field(default_factory=dict)
    edit_image_field: str = "image[]"
    b64_response_format: bool = False
    editable: bool = True


def _sizes(table: dict[tuple[str, str], str]) -> Mapping[tuple[str, str], str]:
    return MappingProxyType(table)


_SORA_INPUTS = {"prompt": "prompt", "duration": "seconds", "first_frame": "input_reference"}

_SORA_2_SIZES = _sizes({("16:9", "720p"): "1280x720", ("9:16", "720p"): "720x1280"})
_SORA_2_PRO_SIZES = _sizes(
    {
        **_SORA_2_SIZES,
        # The pro model's large sizes; tarash calls them 1080p (the nearest common name).
        ("16:9", "1080p"): "1792x1024",
        ("9:16", "1080p"): "1024x1792",
    }
)


def _sora(pro: bool) -> OpenAIModel:
    return OpenAIModel(
        spec=ModelSpec(
            # seconds is a *string* "4", "8" or "12" (an integer is a 400).
            capabilities=ModelCapabilities(
                kind="video",
                durations=(4, 8, 12),
                aspect_ratios=("16:9", "9:16"),
                resolutions=("720p", "1080p") if pro else ("720p",),
                accepts_last_frame=False,
                accepts_audio_flag=False,
                max_outputs=1,
            ),
            inputs=_SORA_INPUTS,
            duration_format="str",
        ),
        api="videos",
        sizes=_SORA_2_PRO_SIZES if pro else _SORA_2_SIZES,
    )


# Square, landscape and portrait: the sizes every GPT image model takes.
_GPT_IMAGE_SIZES = _sizes(
    {("1:1", ""): "1024x1024", ("3:2", ""): "1536x1024", ("2:3", ""): "1024x1536"}
)


def _gpt_image() -> OpenAIModel:
    return OpenAIModel(
        spec=ModelSpec(
            capabilities=ModelCapabilities(
                kind="image", aspect_ratios=("1:1", "3:2", "2:3"), max_outputs=10
            ),
            inputs={"prompt": "prompt", "count": "n", "size": "size", "quality": "quality"},
        ),
        api="images",
        sizes=_GPT_IMAGE_SIZES,
    )


_DALL_E_SUCCESSOR = "gpt-image-1"

_DALL_E_3 = OpenAIModel(
    spec=ModelSpec(
        # One image a request; quality standard|hd, style vivid|natural.
        capabilities=ModelCapabilities(
            kind="image", aspect_ratios=("1:1", "16:9", "9:16"), accepts_image=False, max_outputs=1
        ),
        inputs={
            "prompt": "prompt",
            "count": "n",
            "size": "size",
            "quality": "quality",
            "style": "style",
        },
    ),
    api="images",
    sizes=_sizes({("1:1", ""): "1024x1024", ("16:9", ""): "1792x1024", ("9:16", ""): "1024x1792"}),
    b64_response_format=True,
    editable=False,
)

_DALL_E_2 = OpenAIModel(
    spec=ModelSpec(
        capabilities=ModelCapabilities(kind="image", aspect_ratios=("1:1",), max_outputs=10),
        inputs={"prompt": "prompt", "count": "n", "size": "size"},
    ),
    api="images",
    sizes=_sizes({("1:1", ""): "1024x1024"}),
    edit_image_field="image",
    b64_response_format=True,
)


OPENAI_MODELS: Mapping[str, OpenAIModel] = MappingProxyType(
    {
        "sora-2": _sora(pro=False),
        "sora-2-2025-10-06": _sora(pro=False),
        "sora-2-2025-12-08": _sora(pro=False),
        "sora-2-pro": _sora(pro=True),
        "sora-2-pro-2025-10-06": _sora(pro=True),
        "gpt-image-1": _gpt_image(),
        "gpt-image-1-mini": _gpt_image(),
        "gpt-image-1.5": _gpt_image(),
        "chatgpt-image-latest": _gpt_image(),
        "gpt-image-2": _gpt_image(),
        "gpt-image-2-2026-04-21": _gpt_image(),
        "dall-e-3": _DALL_E_3,
        "dall-e-2": _DALL_E_2,
    }
)
"""Model id (bare, as OpenAI spells it) -> its entry."""

_SORA_ELSEWHERE = (
    "on Azure OpenAI (provider='azure_openai') or an OpenAI-compatible endpoint set by base_url"
)

RETIRED: Mapping[str, Retirement] = MappingProxyType(
    {
        **{
            model: Retirement(
                successor=f"{'sora-2-pro' if 'pro' in model else 'sora-2'} {_SORA_ELSEWHERE}",
                since=SORA_SHUTDOWN,
                note="OpenAI shut its Videos API",
            )
            for model in OPENAI_MODELS
            if model.startswith("sora-2")
        },
        "dall-e-3": Retirement(successor=_DALL_E_SUCCESSOR, since=DALL_E_SHUTDOWN),
        "dall-e-2": Retirement(successor=_DALL_E_SUCCESSOR, since=DALL_E_SHUTDOWN),
    }
)
"""Ids OpenAI no longer serves on api.openai.com: warned once, still sent."""

DEPRECATED: Mapping[str, Retirement] = MappingProxyType(
    {
        # A later deprecations page (unconfirmed) announces these for 2026-12-01; recorded,
        # not warned, until confirmed.
        model: Retirement(successor="gpt-image-2", since=date(2026, 12, 1), verified=False)
        for model in ("gpt-image-1-mini", "gpt-image-1.5", "chatgpt-image-latest")
    }
)
"""Ids announced for retirement: the date their shutdown is planned for."""

GENERIC_VIDEO = OpenAIModel(
    # An id OpenAI's registry does not know (a gateway's own model): the Sora fields,
    # nothing adapted, the provider decides.
    spec=ModelSpec(
        capabilities=ModelCapabilities(kind="video"), inputs=_SORA_INPUTS, duration_format="str"
    ),
    api="videos",
    sizes=_SORA_2_PRO_SIZES,
)
GENERIC_IMAGE = OpenAIModel(
    spec=ModelSpec(
        capabilities=ModelCapabilities(kind="image"),
        inputs={"prompt": "prompt", "count": "n", "size": "size", "quality": "quality"},
    ),
    api="images",
    sizes=_GPT_IMAGE_SIZES,
)

_PREFIX = "openai/"


def bare_model_id(model: str) -> str:
    """``openai/sora-2`` -> ``sora-2``: users write OpenAI ids both ways; the API takes bare."""
    return model[len(_PREFIX) :] if model.lower().startswith(_PREFIX) else model


def find_model(model: str) -> OpenAIModel | None:
    """The entry for a model id, bare or ``openai/``-prefixed; ``None`` when unknown."""
    return OPENAI_MODELS.get(bare_model_id(model))
