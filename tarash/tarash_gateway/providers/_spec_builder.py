"""One way to write a registry entry, shared by the registries that list many models.

fal and Replicate each list a hundred-odd models whose entries differ only in their fields
and limits: one clip (or a few images) a job, and what a model accepts follows from the
inputs it maps (an image field means it takes an image, a ``generate_audio`` field that it
has an audio switch). A :class:`SpecBuilder` holds what one provider's entries share (where
its output keeps the media, how it writes a duration); its :meth:`~SpecBuilder.video` and
:meth:`~SpecBuilder.image` build each entry from the inputs and the model's limits.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tarash.tarash_gateway.providers._spec import DurationFormat, ModelCapabilities, ModelSpec

__all__ = ["SpecBuilder"]

_IMAGE_CONCEPTS = frozenset({"first_frame", "last_frame", "reference_images"})


@dataclass(frozen=True, slots=True)
class SpecBuilder:
    """How one provider's registry writes its video and image entries.

    Attributes:
        video_output: :attr:`ModelSpec.output` of a video entry (fal's ``"video.url"``).
        image_output: :attr:`ModelSpec.output` of an image entry (fal's ``"images"``).
        duration_format: How an entry writes its duration unless it names its own.
        field_ratios: Wire field -> the aspect ratios it can express, for a field that takes
            presets rather than a ratio (fal's ``image_size``): an image entry that sends
            the aspect ratio in such a field offers exactly those ratios.
    """

    video_output: str
    image_output: str
    duration_format: DurationFormat = "int"
    field_ratios: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def video(
        self,
        inputs: Mapping[str, str],
        *,
        durations: tuple[int, ...] | None = None,
        duration_format: DurationFormat | None = None,
        aspect_ratios: tuple[str, ...] | None = None,
        resolutions: tuple[str, ...] | None = None,
        requires_image: bool = False,
        values: Mapping[str, Mapping[Any, Any]] | None = None,
        required: tuple[str, ...] = (),
        frame_rate: int | None = None,
        prompt_alternatives: tuple[str, ...] = (),
    ) -> ModelSpec:
        """A one-clip video entry; what it accepts follows from the inputs it maps.

        Args:
            inputs: Unified concept -> the model's field (see :attr:`ModelSpec.inputs`).
            durations: Seconds the model offers (``None``: any).
            duration_format: How the model writes its duration; the builder's by default.
            aspect_ratios: Ratios the model offers (``None``: any).
            resolutions: Resolutions the model offers (``None``: any).
            requires_image: The model cannot run without a first frame.
            values: The model's own spelling of values (see :attr:`ModelSpec.values`).
            required: Fields a payload cannot go without (see :attr:`ModelSpec.required`).
            frame_rate: Frames per second, for ``duration_format="frames"``.
            prompt_alternatives: Fields that stand in for the prompt (see
                :attr:`ModelSpec.prompt_alternatives`).

        Returns:
            The entry.
        """
        return ModelSpec(
            capabilities=ModelCapabilities(
                kind="video",
                durations=durations,
                aspect_ratios=aspect_ratios,
                resolutions=resolutions,
                requires_image=requires_image,
                accepts_image=bool(_IMAGE_CONCEPTS & set(inputs)),
                accepts_last_frame="last_frame" in inputs,
                accepts_audio_flag="generate_audio" in inputs,
                max_outputs=1,
            ),
            inputs=inputs,
            duration_format=duration_format or self.duration_format,
            output=self.video_output,
            values=values or {},
            required=required,
            frame_rate=frame_rate,
            prompt_alternatives=prompt_alternatives,
        )

    def image(
        self,
        inputs: Mapping[str, str],
        *,
        aspect_ratios: tuple[str, ...] | None = None,
        max_outputs: int = 1,
        requires_image: bool = False,
        values: Mapping[str, Mapping[Any, Any]] | None = None,
    ) -> ModelSpec:
        """An image entry; ``count`` in the inputs means the model makes up to ``max_outputs``.

        Args:
            inputs: Unified concept -> the model's field (see :attr:`ModelSpec.inputs`).
            aspect_ratios: Ratios the model offers (``None``: any); a ratio sent in one of
                :attr:`field_ratios` offers that field's ratios instead.
            max_outputs: Images one job makes at most, when the model takes a count.
            requires_image: The model edits an image and cannot run without one.
            values: The model's own spelling of values (see :attr:`ModelSpec.values`).

        Returns:
            The entry.
        """
        ratio_field = inputs.get("aspect_ratio")
        if ratio_field is not None and ratio_field in self.field_ratios:
            aspect_ratios = self.field_ratios[ratio_field]
        return ModelSpec(
            capabilities=ModelCapabilities(
                kind="image",
                aspect_ratios=aspect_ratios,
                requires_image=requires_image,
                accepts_image=bool({"first_frame", "reference_images"} & set(inputs)),
                accepts_last_frame=False,
                max_outputs=max_outputs if "count" in inputs else 1,
            ),
            inputs=inputs,
            output=self.image_output,
            values=values or {},
        )
