"""The published fallback table is the default: transient errors fall back, the rest raise."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import respx

from tests.compat._fal import FAL_BASE, FAL_VIDEO_URL, fal_config_kwargs, route_fal_job

PRIMARY = "fal-ai/compat-primary"
BACKUP = "fal-ai/compat-backup"


def _chain(**primary_overrides: Any) -> Any:
    from tarash.tarash_gateway.models import VideoGenerationConfig

    backup = VideoGenerationConfig(**fal_config_kwargs(BACKUP, max_retries=0))
    return VideoGenerationConfig(
        **fal_config_kwargs(PRIMARY, max_retries=0, fallback_configs=[backup], **primary_overrides)
    )


def _request() -> Any:
    from tarash.tarash_gateway.models import VideoGenerationRequest

    return VideoGenerationRequest(prompt="a cat")


@pytest.mark.anyio
@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
async def test_transient_http_statuses_fall_back(status: int, fal_router: respx.MockRouter) -> None:
    """HTTP 429 and 500-504 from the primary move down the chain (published table: yes)."""
    from tarash.tarash_gateway import generate_video_async

    primary = fal_router.post(f"{FAL_BASE}/{PRIMARY}").respond(
        status, json={"detail": "compat: try elsewhere"}
    )
    backup = route_fal_job(fal_router, BACKUP)

    response = await generate_video_async(_chain(), _request())

    assert primary.called and backup.called
    assert response.video == FAL_VIDEO_URL
    meta = response.execution_metadata
    assert meta is not None and meta.fallback_triggered is True


@pytest.mark.anyio
@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
async def test_client_http_statuses_raise_at_once(
    status: int, fal_router: respx.MockRouter
) -> None:
    """HTTP 400/401/403/404 (and 422 validation) raise with no fallback (published table: no)."""
    from tarash.tarash_gateway import TarashException, generate_video_async

    fal_router.post(f"{FAL_BASE}/{PRIMARY}").respond(status, json={"detail": "compat: refused"})
    backup = route_fal_job(fal_router, BACKUP)

    with pytest.raises(TarashException) as info:
        await generate_video_async(_chain(), _request())

    assert not backup.called
    assert info.value.status_code == status
    assert info.value.execution_metadata is not None
    assert info.value.execution_metadata.total_attempts == 1


@pytest.mark.anyio
async def test_connection_failure_falls_back(fal_router: respx.MockRouter) -> None:
    """A connection refused by the primary (HTTPConnectionError) moves down the chain."""
    from tarash.tarash_gateway import generate_video_async

    fal_router.post(f"{FAL_BASE}/{PRIMARY}").mock(side_effect=httpx.ConnectError("refused"))
    backup = route_fal_job(fal_router, BACKUP)

    response = await generate_video_async(_chain(), _request())
    assert backup.called
    assert response.video == FAL_VIDEO_URL


class ScriptedHandler:
    """A custom handler that raises the error it was given, or succeeds when given none."""

    def __init__(self, error: Exception | None = None) -> None:
        self.error = error
        self.calls = 0

    def generate_video(self, config: Any, request: Any, on_progress: Any = None) -> Any:
        from tarash.tarash_gateway.models import VideoGenerationResponse

        self.calls += 1
        if self.error is not None:
            raise self.error
        return VideoGenerationResponse(
            request_id="backup",
            video="https://cdn.example/backup.mp4",
            status="completed",
            raw_response={},
        )

    async def generate_video_async(self, config: Any, request: Any, on_progress: Any = None) -> Any:
        return self.generate_video(config, request, on_progress)

    def generate_image(self, config: Any, request: Any, on_progress: Any = None) -> Any:
        raise NotImplementedError

    async def generate_image_async(self, config: Any, request: Any, on_progress: Any = None) -> Any:
        raise NotImplementedError


def _error(name: str, **kwargs: Any) -> Exception:
    import tarash.tarash_gateway as gateway

    error: Exception = getattr(gateway, name)(f"compat {name}", **kwargs)
    return error


@pytest.mark.parametrize(
    ("name", "kwargs", "falls_back"),
    [
        ("GenerationFailedError", {}, True),
        ("TimeoutError", {}, True),
        ("HTTPConnectionError", {}, True),
        ("HTTPError", {"status_code": 429}, True),
        ("HTTPError", {"status_code": 503}, True),
        ("ValidationError", {}, False),
        ("ContentModerationError", {}, False),
        ("HTTPError", {"status_code": 401}, False),
        ("HTTPError", {"status_code": 404}, False),
    ],
)
def test_documented_table_through_a_custom_chain(
    name: str, kwargs: dict[str, Any], falls_back: bool, provider_name: str
) -> None:
    """Each row of the published table, raised by a custom primary, decides the fallback."""
    from tarash.tarash_gateway import TarashException, generate_video, register_provider
    from tarash.tarash_gateway.models import VideoGenerationConfig, VideoGenerationRequest

    backup_name = f"{provider_name}-backup"
    backup = ScriptedHandler()
    register_provider(provider_name, ScriptedHandler(_error(name, **kwargs)))
    register_provider(backup_name, backup)
    config = VideoGenerationConfig(
        provider=provider_name,
        model="m",
        fallback_configs=[VideoGenerationConfig(provider=backup_name, model="m")],
    )
    request = VideoGenerationRequest(prompt="a cat")

    if falls_back:
        response = generate_video(config, request)
        assert response.request_id == "backup"
        assert response.execution_metadata is not None
        assert response.execution_metadata.fallback_triggered is True
    else:
        with pytest.raises(TarashException) as info:
            generate_video(config, request)
        assert type(info.value).__name__ == name
        assert info.value.message == f"compat {name}"
        assert backup.calls == 0


def test_unknown_provider_in_the_chain_fails_before_any_job() -> None:
    """An unknown provider anywhere in the chain raises before the primary is called."""
    from tarash.tarash_gateway import ValidationError, generate_video
    from tarash.tarash_gateway.models import VideoGenerationConfig

    unknown = VideoGenerationConfig(provider="no-such-provider", model="m")
    config = VideoGenerationConfig(**fal_config_kwargs(PRIMARY, fallback_configs=[unknown]))
    with respx.mock(assert_all_called=False) as router:
        primary = router.post(f"{FAL_BASE}/{PRIMARY}").respond(500)
        with pytest.raises(ValidationError, match="no-such-provider"):
            generate_video(config, _request())
    assert not primary.called
