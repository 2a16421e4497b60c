"""Issue 7 item 7: the published custom-providers guide, a four-method handler instance."""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
from typing import Any

import pytest
import respx

from tests.compat._fal import FAL_VIDEO_URL, fal_config_kwargs, route_fal_job

KEY = "sk-custom-provider-7788"


class EchoHandler:
    """A handler as the published guide writes one: four methods, video only."""

    def __init__(self, request_id: str = "custom-1", error: Exception | None = None) -> None:
        self.request_id = request_id
        self.error = error
        self.calls: list[str] = []
        self.auth_headers: list[str] = []
        self.seen: list[Any] = []

    def _respond(self, config: Any, request: Any) -> Any:
        from tarash.tarash_gateway.models import VideoGenerationResponse

        self.auth_headers.append(f"Bearer {config.api_key}")
        self.seen.append(request)
        if self.error is not None:
            raise self.error
        return VideoGenerationResponse(
            request_id=self.request_id,
            video="https://cdn.example/custom.mp4",
            content_type="video/mp4",
            status="completed",
            raw_response={"echo": request.prompt},
        )

    def _update(self) -> Any:
        from tarash.tarash_gateway.models import VideoGenerationUpdate

        return VideoGenerationUpdate(
            request_id=self.request_id, status="processing", progress_percent=50, update={}
        )

    def generate_video(self, config: Any, request: Any, on_progress: Any = None) -> Any:
        self.calls.append("generate_video")
        if on_progress is not None:
            on_progress(self._update())
        return self._respond(config, request)

    async def generate_video_async(self, config: Any, request: Any, on_progress: Any = None) -> Any:
        self.calls.append("generate_video_async")
        if on_progress is not None:
            result = on_progress(self._update())
            if inspect.isawaitable(result):
                await result
        return self._respond(config, request)

    def generate_image(self, config: Any, request: Any, on_progress: Any = None) -> Any:
        raise NotImplementedError("EchoHandler does not generate images")

    async def generate_image_async(self, config: Any, request: Any, on_progress: Any = None) -> Any:
        raise NotImplementedError("EchoHandler does not generate images")


def _register(name: str, handler: Any) -> None:
    from tarash.tarash_gateway import register_provider

    register_provider(name, handler)


def _config(provider: str, **kwargs: Any) -> Any:
    from tarash.tarash_gateway.models import VideoGenerationConfig

    kwargs.setdefault("model", "my-model")
    return VideoGenerationConfig(provider=provider, api_key=KEY, **kwargs)


def _request() -> Any:
    from tarash.tarash_gateway.models import VideoGenerationRequest

    return VideoGenerationRequest(prompt="a cat on a skateboard")


def test_registered_handler_instance_serves_generate_video(provider_name: str) -> None:
    """register_provider("my-provider", Handler()) then generate_video runs that handler."""
    from tarash.tarash_gateway import generate_video

    handler = EchoHandler()
    _register(provider_name, handler)

    response = generate_video(_config(provider_name), _request())

    assert handler.calls
    assert response.request_id == "custom-1"
    assert str(response.video) == "https://cdn.example/custom.mp4"
    assert response.raw_response == {"echo": "a cat on a skateboard"}


@pytest.mark.anyio
async def test_registered_handler_serves_generate_video_async(provider_name: str) -> None:
    """generate_video_async reaches the same handler."""
    from tarash.tarash_gateway import generate_video_async

    handler = EchoHandler()
    _register(provider_name, handler)

    response = await generate_video_async(_config(provider_name), _request())
    assert response.request_id == "custom-1"
    assert handler.calls


def test_handler_reads_the_api_key_as_a_plain_string(provider_name: str) -> None:
    """A handler builds f"Bearer {config.api_key}" and gets the key the user gave."""
    from tarash.tarash_gateway import generate_video

    handler = EchoHandler()
    _register(provider_name, handler)
    generate_video(_config(provider_name), _request())
    assert handler.auth_headers == [f"Bearer {KEY}"]


def test_handler_progress_updates_reach_the_callback(provider_name: str) -> None:
    """Updates a handler emits (no provider/model given) reach the user's on_progress."""
    from tarash.tarash_gateway import generate_video

    _register(provider_name, EchoHandler())
    updates: list[Any] = []
    generate_video(_config(provider_name), _request(), on_progress=updates.append)
    assert [(update.status, update.progress_percent) for update in updates] == [("processing", 50)]


def test_custom_provider_gets_execution_metadata(provider_name: str) -> None:
    """The response carries metadata naming the custom provider as written."""
    from tarash.tarash_gateway import generate_video

    _register(provider_name, EchoHandler())
    meta = generate_video(_config(provider_name), _request()).execution_metadata
    assert meta is not None
    assert (meta.total_attempts, meta.successful_attempt) == (1, 1)
    assert (meta.attempts[0].provider, meta.attempts[0].model) == (provider_name, "my-model")
    assert meta.attempts[0].status == "success"


def test_underscore_spelling_finds_a_hyphenated_provider(provider_name: str) -> None:
    """Lookup is normalised: "my_provider_x" finds the handler registered as "my-provider-x"."""
    from tarash.tarash_gateway import generate_video

    _register(provider_name, EchoHandler(request_id="found"))
    config = _config(provider_name.replace("-", "_"))
    assert generate_video(config, _request()).request_id == "found"


def test_registry_get_handler_returns_the_registered_instance(provider_name: str) -> None:
    """registry.get_handler(config) returns the handler registered for config.provider."""
    from tarash.tarash_gateway.registry import get_handler, register_provider

    handler = EchoHandler()
    register_provider(provider_name, handler)
    assert get_handler(_config(provider_name)) is handler


def test_not_implemented_becomes_a_clear_tarash_error(provider_name: str) -> None:
    """A handler's NotImplementedError (no image support) is a TarashException naming it."""
    from tarash.tarash_gateway import TarashException, generate_image
    from tarash.tarash_gateway.models import ImageGenerationConfig, ImageGenerationRequest

    _register(provider_name, EchoHandler())
    config = ImageGenerationConfig(provider=provider_name, model="my-model", api_key=KEY)
    with pytest.raises(TarashException) as info:
        generate_image(config, ImageGenerationRequest(prompt="a cat"))
    assert not isinstance(info.value, NotImplementedError)
    assert info.value.provider == provider_name


def test_foreign_handler_error_becomes_a_tarash_error(provider_name: str) -> None:
    """A handler raising RuntimeError surfaces as a TarashException chained to it."""
    from tarash.tarash_gateway import TarashException, generate_video

    _register(provider_name, EchoHandler(error=RuntimeError("kaput")))
    with pytest.raises(TarashException) as info:
        generate_video(_config(provider_name), _request())
    assert isinstance(info.value.__cause__, RuntimeError) or "kaput" in info.value.message


def test_custom_providers_fall_back_along_a_chain(provider_name: str) -> None:
    """A custom primary's GenerationFailedError falls back to another custom provider."""
    from tarash.tarash_gateway import GenerationFailedError, generate_video

    second = f"{provider_name}-backup"
    _register(provider_name, EchoHandler(error=GenerationFailedError("busy")))
    _register(second, EchoHandler(request_id="from-backup"))
    config = _config(provider_name, fallback_configs=[_config(second)])

    response = generate_video(config, _request())

    meta = response.execution_metadata
    assert response.request_id == "from-backup"
    assert meta is not None and meta.fallback_triggered is True
    assert [attempt.provider for attempt in meta.attempts] == [provider_name, second]
    assert meta.attempts[0].error_type == "GenerationFailedError"
    assert "busy" in (meta.attempts[0].error_message or "")


def test_custom_provider_falls_back_to_a_built_in(
    provider_name: str, fal_router: respx.MockRouter
) -> None:
    """A custom primary that fails falls back to fal like any built-in chain."""
    from tarash.tarash_gateway import GenerationFailedError, generate_video
    from tarash.tarash_gateway.models import VideoGenerationConfig

    _register(provider_name, EchoHandler(error=GenerationFailedError("busy")))
    model = "fal-ai/compat-after-custom"
    route_fal_job(fal_router, model)
    fallback = VideoGenerationConfig(**fal_config_kwargs(model))

    response = generate_video(_config(provider_name, fallback_configs=[fallback]), _request())

    assert response.video == FAL_VIDEO_URL
    meta = response.execution_metadata
    assert meta is not None
    assert [attempt.provider for attempt in meta.attempts] == [provider_name, "fal"]


def test_custom_validation_error_does_not_fall_back(provider_name: str) -> None:
    """A custom primary's ValidationError raises at once; the fallback is never called."""
    from tarash.tarash_gateway import ValidationError, generate_video

    second = f"{provider_name}-backup"
    backup = EchoHandler(request_id="from-backup")
    _register(provider_name, EchoHandler(error=ValidationError("bad input")))
    _register(second, backup)

    with pytest.raises(ValidationError, match="bad input"):
        generate_video(_config(provider_name, fallback_configs=[_config(second)]), _request())
    assert backup.calls == []


def test_registering_a_built_in_name_overrides_it() -> None:
    """register_provider("fal", Handler()) makes provider="fal" use that handler."""
    script = (
        "from tarash.tarash_gateway import generate_video, register_provider\n"
        "from tarash.tarash_gateway.models import (VideoGenerationConfig,"
        " VideoGenerationRequest, VideoGenerationResponse)\n"
        "class Override:\n"
        "    def generate_video(self, config, request, on_progress=None):\n"
        "        return VideoGenerationResponse(request_id='override', video='https://x.test/v.mp4',"
        " status='completed', raw_response={})\n"
        "    async def generate_video_async(self, config, request, on_progress=None):\n"
        "        return self.generate_video(config, request, on_progress)\n"
        "    def generate_image(self, config, request, on_progress=None):\n"
        "        raise NotImplementedError\n"
        "    async def generate_image_async(self, config, request, on_progress=None):\n"
        "        raise NotImplementedError\n"
        "register_provider('fal', Override())\n"
        "config = VideoGenerationConfig(provider='fal', model='fal-ai/veo3')\n"
        "print(generate_video(config, VideoGenerationRequest(prompt='a cat')).request_id)\n"
    )
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.endswith(("_KEY", "_TOKEN", "_SECRET"))
    }
    # Should the override not take, fal would be called: point it at a closed loopback port.
    env["TARASH_FAL_BASE_URL"] = "http://127.0.0.1:9"
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=60
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "override"
