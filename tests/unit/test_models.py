"""Request and config validation: typos are errors, secrets never print, chains flatten."""

from __future__ import annotations

import json
from typing import Any

import pydantic
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tarash.tarash_gateway.errors import ValidationError
from tarash.tarash_gateway.models import (
    ExtraParamsWarning,
    ImageGenerationRequest,
    JobHandle,
    VideoGenerationConfig,
    VideoGenerationRequest,
)

SECRET = "sk-canary-should-never-print-0001"


def test_seed_example_constructs() -> None:
    """The published package's example request and config are accepted verbatim."""
    request = VideoGenerationRequest(
        prompt="A cat playing piano, cinematic lighting", duration_seconds=5, aspect_ratio="16:9"
    )
    config = VideoGenerationConfig(provider="fal", model="fal-ai/veo3")
    assert request.duration_seconds == 5
    assert config.fallback_configs is None


def test_unknown_keyword_names_closest_field() -> None:
    """A typo is a ValidationError naming the intended field and pointing to extra_params."""
    with pytest.raises(ValidationError) as info:
        VideoGenerationRequest(prompt="x", duraton_seconds=5)  # type: ignore[call-arg]
    message = str(info.value)
    assert "'duraton_seconds'" in message
    assert "did you mean 'duration_seconds'" in message
    assert "extra_params" in message


def test_unknown_config_keyword_is_rejected() -> None:
    """Configs reject unknown keywords too."""
    with pytest.raises(ValidationError, match="did you mean 'timeout'") as info:
        VideoGenerationConfig(provider="fal", model="m", timout=5)  # type: ignore[call-arg]
    assert "provider_config" in str(info.value)


def test_empty_prompt_is_rejected() -> None:
    """An empty prompt is tarash's ValidationError, like every other bad input it names."""
    with pytest.raises(ValidationError, match="prompt must not be empty"):
        VideoGenerationRequest(prompt="   ")
    with pytest.raises(ValidationError, match="prompt must not be empty"):
        ImageGenerationRequest(prompt="")
    with pytest.raises(ValidationError, match="model must not be empty"):
        VideoGenerationConfig(provider="fal", model=" ")


def test_api_key_never_appears_in_repr_or_json() -> None:
    """The key reads back as the str given, yet repr, str and JSON dumps mask it."""
    config = VideoGenerationConfig(provider="fal", model="m", api_key=SECRET)
    assert SECRET not in repr(config)
    assert SECRET not in str(config)
    assert SECRET not in config.model_dump_json()
    assert config.api_key == SECRET


def test_config_is_frozen() -> None:
    """Configs are immutable so they can be shared across concurrent jobs."""
    config = VideoGenerationConfig(provider="fal", model="m")
    with pytest.raises(pydantic.ValidationError):
        config.model = "other"  # type: ignore[misc]


def test_chain_flattens_nested_fallbacks_depth_first() -> None:
    """Nested fallback_configs are tried depth first, each config once."""
    c = VideoGenerationConfig(provider="replicate", model="c")
    b = VideoGenerationConfig(provider="fal", model="b", fallback_configs=[c])
    a = VideoGenerationConfig(provider="fal", model="a", fallback_configs=[b, c])
    assert [config.model for config in a.chain()] == ["a", "b", "c"]


def test_provider_name_reads_back_as_written() -> None:
    """config.provider is kept as written ('Azure-OpenAI'); the registry normalises it for
    lookup only (tests/unit/test_custom_providers.py pins that)."""
    assert VideoGenerationConfig(provider="Azure-OpenAI", model="m").provider == "Azure-OpenAI"


def test_image_size_must_be_width_by_height() -> None:
    """An image size that is not WIDTHxHEIGHT is rejected."""
    with pytest.raises(ValidationError, match="1024x1024"):
        ImageGenerationRequest(prompt="x", size="big")


def test_wrong_types_are_pydantic_errors() -> None:
    """A value of the wrong type is pydantic's ValidationError, as with any pydantic model."""
    with pytest.raises(pydantic.ValidationError):
        VideoGenerationRequest(prompt="x", duration_seconds="long")  # type: ignore[arg-type]


def test_job_handle_round_trips_through_json() -> None:
    """A handle serialises to JSON and back unchanged, for resuming in another process."""
    handle = JobHandle(
        kind="video",
        provider="fal",
        model="fal-ai/veo3",
        request_id="abc",
        base_url="https://queue.fal.run",
        status_url="https://queue.fal.run/fal-ai/veo3/requests/abc/status",
        submitted_at="2026-11-25T12:00:00Z",  # type: ignore[arg-type]
    )
    text = handle.model_dump_json()
    assert JobHandle.model_validate_json(text) == handle
    assert json.loads(text)["request_id"] == "abc"
    assert "abc" in repr(handle)


@given(
    prompt=st.text(min_size=1).filter(lambda s: s.strip() != ""),
    duration=st.none() | st.integers(min_value=1, max_value=600),
    ratio=st.sampled_from(["16:9", "9:16", "1:1", "4:3", "3:4", "21:9"]),
)
def test_valid_requests_round_trip(prompt: str, duration: int | None, ratio: str) -> None:
    """Any valid request survives a JSON round trip."""
    request = VideoGenerationRequest(
        prompt=prompt,
        duration_seconds=duration,
        aspect_ratio=ratio,  # type: ignore[arg-type]
    )
    assert VideoGenerationRequest.model_validate_json(request.model_dump_json()) == request


def test_a_blank_prompt_stands_only_where_a_model_may_need_none() -> None:
    """prompt="" (the published idiom) is accepted with a video (Wan animate moves an image
    by it) or a multi-shot multi_prompt (Kling V3/O3), and refused otherwise."""
    assert VideoGenerationRequest(prompt="", video="https://e.test/v.mp4").prompt == ""
    shots = [{"prompt": "a", "duration": "4"}]
    assert VideoGenerationRequest(prompt="", extra_params={"multi_prompt": shots}).prompt == ""
    with pytest.warns(ExtraParamsWarning):  # as a keyword, captured into extra_params
        assert VideoGenerationRequest(prompt="", multi_prompt=shots).prompt == ""
    with pytest.raises(ValidationError, match="prompt must not be empty"):
        VideoGenerationRequest(prompt="", extra_params={"shot_type": "customize"})
    with pytest.raises(ValidationError, match="prompt must not be empty"):
        ImageGenerationRequest(
            prompt="", image_list=[{"image": "https://e.test/a.png", "type": "reference"}]
        )


@given(
    blank=st.text(alphabet=" \t\n", max_size=5),
    video=st.booleans(),
    multi_prompt=st.booleans(),
)
def test_a_blank_prompt_stands_exactly_with_a_video_or_a_multi_prompt(
    blank: str, video: bool, multi_prompt: bool
) -> None:
    """Whatever the blank prompt, a video request takes it iff it has a video or a
    multi_prompt; an image request never does."""
    fields: dict[str, Any] = {}
    if video:
        fields["video"] = "https://e.test/v.mp4"
    if multi_prompt:
        fields["extra_params"] = {"multi_prompt": [{"prompt": "a", "duration": "5"}]}
    if video or multi_prompt:
        assert VideoGenerationRequest(prompt=blank, **fields).prompt == blank
    else:
        with pytest.raises(ValidationError, match="prompt must not be empty"):
            VideoGenerationRequest(prompt=blank)
    with pytest.raises(ValidationError, match="prompt must not be empty"):
        ImageGenerationRequest(prompt=blank)
