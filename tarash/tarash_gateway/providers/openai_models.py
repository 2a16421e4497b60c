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
from dataclasses import dataclass
from datetime import date
from types import MappingProxyType
from typing import Any, Literal

from tarash.tarash_gateway.providers._base import ModelCapabilities
from tarash.tarash_gateway.providers._lifecycle import Retirement
from tarash.tarash_gateway.providers._spec import Composed, ModelSpec, ValueBuilder

__all__ = [
    "DEPRECATED",
    "GENERIC_IMAGE",
    "GENERIC_SPECS",
    "GENERIC_VIDEO",
    "OPENAI_MODELS",
    "OPENAI_SPECS",
    "RETIRED",
    "OpenAIModel",
    "bare_model_id",
    "find_model",
    "sized",
]

Api = Literal["videos", "images"]

SORA_SHUTDOWN = date(2026, 9, 24)
"""OpenAI's Videos API and every ``sora-2*`` model shut down on api.openai.com."""
DALL_E_SHUTDOWN = date(2026, 5, 12)


@dataclass(frozen=True, slots=True)
class OpenAIModel:
    """One OpenAI model (or an Azure deployment's family).

    Attributes:
        spec: Capabilities and the unified concepts -> wire fields (``size`` is composed
            from the aspect ratio and resolution, see :func:`sized`).
        api: ``videos`` (``/videos``, a job) or ``images`` (``/images/*``, answered in
            the request).
        edit_image_field: The multipart field of an edit's input image (``image[]`` for
            GPT image models, ``image`` for dall-e-2).
        editable: Whether ``/images/edits`` takes the model.
    """

    spec: ModelSpec
    api: Api
    edit_image_field: str = "image[]"
    editable: bool = True


def sized(
    table: Mapping[tuple[str, str], Any],
    *,
    default_ratio: str = "16:9",
    default_resolution: str = "720p",
) -> ValueBuilder:
    """A :class:`Composed` builder of a video's ``size`` (or ``width``/``height``) from the
    aspect ratio and resolution, the one a request leaves out taking its default; ``None``
    (the concepts are then noted as not sent) for a pair the model has no size for."""

    def build(aspect_ratio: str | None = None, resolution: str | None = None) -> Any:
        return table.get((aspect_ratio or default_ratio, resolution or default_resolution))

    return build


def _image_size(table: Mapping[str, str]) -> Composed:
    """``size``: the request's own, else the one of its aspect ratio."""

    def build(size: str | None = None, aspect_ratio: str | None = None) -> str | None:
        return size if size is not None else table.get(aspect_ratio or "")

    return Composed("size", ("size", "aspect_ratio"), build)


_SORA_INPUTS = {"prompt": "prompt", "duration": "seconds", "first_frame": "input_reference"}

_SORA_2_SIZES = {("16:9", "720p"): "1280x720", ("9:16", "720p"): "720x1280"}
_SORA_2_PRO_SIZES = MappingProxyType(
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
            composed=(
                Composed(
                    "size",
                    ("aspect_ratio", "resolution"),
                    sized(_SORA_2_PRO_SIZES if pro else _SORA_2_SIZES),
                ),
            ),
            lifecycle=Retirement(
                successor=(
                    f"{'sora-2-pro' if pro else 'sora-2'} on Azure OpenAI "
                    "(provider='azure_openai') or an OpenAI-compatible endpoint set by base_url"
                ),
                since=SORA_SHUTDOWN,
                note="OpenAI shut its Videos API",
            ),
        ),
        api="videos",
    )


# Square, landscape and portrait: the sizes every GPT image model takes.
_GPT_IMAGE_SIZES = {"1:1": "1024x1024", "3:2": "1536x1024", "2:3": "1024x1536"}
# Edits: every input image (any role) goes to ``images``, the mask to ``mask``; the client
# sends them as files or as ``{"image_url"}`` items.
_IMAGE_INPUTS = {
    "prompt": "prompt",
    "count": "n",
    "quality": "quality",
    "reference_images": "images",
    "mask_image": "mask",
}


def _gpt_image() -> OpenAIModel:
    return OpenAIModel(
        spec=ModelSpec(
            capabilities=ModelCapabilities(
                kind="image", aspect_ratios=tuple(_GPT_IMAGE_SIZES), max_outputs=10
            ),
            inputs=_IMAGE_INPUTS,
            composed=(_image_size(_GPT_IMAGE_SIZES),),
        ),
        api="images",
    )


_DALL_E_SUCCESSOR = "gpt-image-1"

_DALL_E_3 = OpenAIModel(
    spec=ModelSpec(
        # One image a request; quality standard|hd, style vivid|natural.
        capabilities=ModelCapabilities(
            kind="image", aspect_ratios=("1:1", "16:9", "9:16"), accepts_image=False, max_outputs=1
        ),
        inputs={"prompt": "prompt", "count": "n", "quality": "quality", "style": "style"},
        composed=(_image_size({"1:1": "1024x1024", "16:9": "1792x1024", "9:16": "1024x1792"}),),
        lifecycle=Retirement(successor=_DALL_E_SUCCESSOR, since=DALL_E_SHUTDOWN),
    ),
    api="images",
    editable=False,
)

_DALL_E_2 = OpenAIModel(
    spec=ModelSpec(
        capabilities=ModelCapabilities(kind="image", aspect_ratios=("1:1",), max_outputs=10),
        inputs={
            "prompt": "prompt",
            "count": "n",
            "reference_images": "images",
            "mask_image": "mask",
        },
        composed=(_image_size({"1:1": "1024x1024"}),),
        lifecycle=Retirement(successor=_DALL_E_SUCCESSOR, since=DALL_E_SHUTDOWN),
    ),
    api="images",
    edit_image_field="image",
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

RETIRED: Mapping[str, Retirement] = MappingProxyType(
    {
        model: entry.spec.lifecycle
        for model, entry in OPENAI_MODELS.items()
        if entry.spec.lifecycle is not None
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
        capabilities=ModelCapabilities(kind="video"),
        inputs=_SORA_INPUTS,
        duration_format="str",
        composed=(Composed("size", ("aspect_ratio", "resolution"), sized(_SORA_2_PRO_SIZES)),),
    ),
    api="videos",
)
GENERIC_IMAGE = OpenAIModel(
    spec=ModelSpec(
        capabilities=ModelCapabilities(kind="image"),
        inputs=_IMAGE_INPUTS,
        composed=(_image_size(_GPT_IMAGE_SIZES),),
    ),
    api="images",
)

OPENAI_SPECS: Mapping[str, ModelSpec] = MappingProxyType(
    {model: entry.spec for model, entry in OPENAI_MODELS.items()}
)
"""The specs of :data:`OPENAI_MODELS`, as the provider kit's registry."""
GENERIC_SPECS: Mapping[Literal["video", "image"], ModelSpec] = MappingProxyType(
    {"video": GENERIC_VIDEO.spec, "image": GENERIC_IMAGE.spec}
)

_PREFIX = "openai/"


def bare_model_id(model: str) -> str:
    """``openai/sora-2`` -> ``sora-2``: users write OpenAI ids both ways; the API takes bare."""
    return model[len(_PREFIX) :] if model.lower().startswith(_PREFIX) else model


def find_model(model: str) -> OpenAIModel | None:
    """The entry for a model id, bare or ``openai/``-prefixed; ``None`` when unknown."""
    return OPENAI_MODELS.get(bare_model_id(model))
