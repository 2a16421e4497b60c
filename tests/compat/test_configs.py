"""Issue 7 item 3: configs read back as written, with the published defaults, keys kept secret."""

from __future__ import annotations

import json
import pickle
from typing import Any

import pytest

SECRET = "sk-compat-secret-4242-abcdef"


def _configs() -> list[Any]:
    from tarash.tarash_gateway.models import ImageGenerationConfig, VideoGenerationConfig

    return [
        VideoGenerationConfig(provider="fal", model="fal-ai/veo3", api_key=SECRET),
        ImageGenerationConfig(provider="fal", model="fal-ai/flux/dev", api_key=SECRET),
    ]


def test_video_config_has_the_published_defaults() -> None:
    """VideoGenerationConfig: timeout 600, max_poll_attempts 120, poll_interval 5."""
    from tarash.tarash_gateway.models import VideoGenerationConfig

    config = VideoGenerationConfig(provider="fal", model="fal-ai/veo3")
    assert (config.timeout, config.max_poll_attempts, config.poll_interval) == (600, 120, 5)
    assert (config.api_key, config.base_url, config.api_version) == (None, None, None)
    assert (config.mock, config.fallback_configs, config.provider_config) == (None, None, {})


def test_image_config_has_the_published_defaults() -> None:
    """ImageGenerationConfig: timeout 120, max_poll_attempts 60, poll_interval 2."""
    from tarash.tarash_gateway.models import ImageGenerationConfig

    config = ImageGenerationConfig(provider="fal", model="fal-ai/flux/dev")
    assert (config.timeout, config.max_poll_attempts, config.poll_interval) == (120, 60, 2)
    assert (config.mock, config.fallback_configs, config.provider_config) == (None, None, {})


def test_configs_are_frozen() -> None:
    """Configs are immutable, as published (frozen pydantic models)."""
    import pydantic

    for config in _configs():
        with pytest.raises(pydantic.ValidationError):
            config.timeout = 5


@pytest.mark.parametrize("written", ["fal", "azure-openai", "my-provider", "Replicate"])
def test_provider_reads_back_as_written(written: str) -> None:
    """config.provider is the string the user wrote (normalised only for lookup)."""
    from tarash.tarash_gateway.models import VideoGenerationConfig

    assert VideoGenerationConfig(provider=written, model="m").provider == written


def test_api_key_reads_back_as_the_plain_string() -> None:
    """config.api_key is the str the user gave, so handlers can build a Bearer header."""
    for config in _configs():
        assert isinstance(config.api_key, str)
        assert config.api_key == SECRET
        assert f"Bearer {config.api_key}" == f"Bearer {SECRET}"


def test_api_key_never_appears_in_repr_str_or_dumps() -> None:
    """The key is absent from repr, str, model_dump, model_dump_json and json.dumps of dumps."""
    for config in _configs():
        assert SECRET not in repr(config)
        assert SECRET not in str(config)
        assert SECRET not in str(config.model_dump())
        assert SECRET not in config.model_dump_json()
        assert SECRET not in json.dumps(config.model_dump(mode="json"))


def test_api_key_never_appears_in_a_pickle() -> None:
    """Pickling a config does not write the key."""
    for config in _configs():
        assert SECRET.encode() not in pickle.dumps(config)
        assert SECRET.encode() not in pickle.dumps(config, protocol=0)


def test_api_key_stays_secret_inside_a_fallback_chain() -> None:
    """A key on a fallback config is hidden in the primary's repr and dumps too."""
    from tarash.tarash_gateway.models import VideoGenerationConfig

    fallback = VideoGenerationConfig(provider="replicate", model="google/veo-3", api_key=SECRET)
    primary = VideoGenerationConfig(
        provider="fal", model="fal-ai/veo3", fallback_configs=[fallback]
    )
    assert primary.fallback_configs is not None
    assert primary.fallback_configs[0].api_key == SECRET
    assert SECRET not in repr(primary)
    assert SECRET not in primary.model_dump_json()


def test_integer_timeouts_are_accepted_as_published() -> None:
    """timeout, max_poll_attempts and poll_interval take the published ints."""
    from tarash.tarash_gateway.models import VideoGenerationConfig

    config = VideoGenerationConfig(
        provider="fal", model="fal-ai/veo3", timeout=300, max_poll_attempts=10, poll_interval=2
    )
    assert (config.timeout, config.max_poll_attempts, config.poll_interval) == (300, 10, 2)


def test_config_mock_field_takes_a_mock_config() -> None:
    """config.mock holds a MockConfig (the published mock switch)."""
    from tarash.tarash_gateway.mock import MockConfig
    from tarash.tarash_gateway.models import ImageGenerationConfig, VideoGenerationConfig

    video = VideoGenerationConfig(
        provider="fal", model="fal-ai/veo3", mock=MockConfig(enabled=True)
    )
    image = ImageGenerationConfig(provider="fal", model="fal-ai/flux/dev", mock={"enabled": True})
    assert video.mock is not None and video.mock.enabled is True
    assert image.mock is not None and image.mock.enabled is True
