"""Result downloads go through the shared retry policy and never leave a partial file."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import httpx
import pytest
import respx

from tarash.tarash_gateway.engine._http import DEFAULT_MAX_ATTEMPTS
from tarash.tarash_gateway.errors import (
    HTTPConnectionError,
    NotFoundError,
    ProviderServerError,
    RateLimitError,
    ValidationError,
)
from tarash.tarash_gateway.models import ImageGenerationResponse, VideoGenerationResponse

pytestmark = pytest.mark.anyio

URL = "https://cdn.example.test/out.mp4"


class _BrokenBody(httpx.AsyncByteStream):
    """A body that sends its first chunk, then the connection drops."""

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield b"partial-"
        raise httpx.RemoteProtocolError("peer closed connection without sending complete body")


class _CancellingBody(httpx.AsyncByteStream):
    """A body that cancels the saving task after its first chunk."""

    def __init__(self, scope: anyio.CancelScope) -> None:
        self.scope = scope

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield b"partial-"
        self.scope.cancel()
        await anyio.sleep_forever()


def video(url: str = URL) -> VideoGenerationResponse:
    return VideoGenerationResponse(request_id="r1", video=url, provider="fake", model="t2v")


def leftovers(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir())


async def test_a_503_then_200_download_is_retried(
    respx_mock: respx.MockRouter, tmp_path: Path
) -> None:
    """One 503 from the CDN does not lose the result: the download is retried."""
    route = respx_mock.get(URL).mock(
        side_effect=[httpx.Response(503), httpx.Response(200, content=b"video")]
    )
    written = await video().save_async(tmp_path / "out.mp4")
    assert written.read_bytes() == b"video"
    assert route.call_count == 2
    assert leftovers(tmp_path) == ["out.mp4"]


async def test_a_429_with_retry_after_then_200_is_retried(
    respx_mock: respx.MockRouter, tmp_path: Path
) -> None:
    """A 429 carrying Retry-After is waited out and retried."""
    route = respx_mock.get(URL).mock(
        side_effect=[
            httpx.Response(429, headers={"retry-after": "0"}),
            httpx.Response(502),
            httpx.Response(200, content=b"video"),
        ]
    )
    await video().save_async(tmp_path / "out.mp4")
    assert (tmp_path / "out.mp4").read_bytes() == b"video"
    assert route.call_count == 3


async def test_a_retry_after_beyond_the_cap_is_not_waited_for(
    respx_mock: respx.MockRouter, tmp_path: Path
) -> None:
    """A 429 asking for an hour's wait fails at once, as for any other call."""
    route = respx_mock.get(URL).respond(429, headers={"retry-after": "3600"})
    with pytest.raises(RateLimitError):
        await video().save_async(tmp_path / "out.mp4")
    assert route.call_count == 1
    assert leftovers(tmp_path) == []


async def test_a_connection_dropped_mid_body_restarts_the_download(
    respx_mock: respx.MockRouter, tmp_path: Path
) -> None:
    """A body cut short is downloaded again from the start, not appended to."""
    route = respx_mock.get(URL).mock(
        side_effect=[
            httpx.Response(200, stream=_BrokenBody()),
            httpx.Response(200, content=b"whole-video"),
        ]
    )
    await video().save_async(tmp_path / "out.mp4")
    assert (tmp_path / "out.mp4").read_bytes() == b"whole-video"
    assert route.call_count == 2
    assert leftovers(tmp_path) == ["out.mp4"]


async def test_a_download_failing_every_time_raises_and_leaves_no_partial_file(
    respx_mock: respx.MockRouter, tmp_path: Path
) -> None:
    """After the last retry the HTTP error is raised and neither the file nor its .part
    exists."""
    route = respx_mock.get(URL).mock(
        side_effect=[httpx.Response(200, stream=_BrokenBody())]
        + [httpx.Response(503)] * (DEFAULT_MAX_ATTEMPTS - 1)
    )
    with pytest.raises(ProviderServerError) as info:
        await video().save_async(tmp_path / "out.mp4")
    assert info.value.status_code == 503
    assert route.call_count == DEFAULT_MAX_ATTEMPTS
    assert leftovers(tmp_path) == []


async def test_a_body_dropped_every_time_raises_a_connection_error(
    respx_mock: respx.MockRouter, tmp_path: Path
) -> None:
    """A connection that keeps dropping ends in HTTPConnectionError and no partial file."""
    respx_mock.get(URL).mock(side_effect=lambda request: httpx.Response(200, stream=_BrokenBody()))
    with pytest.raises(HTTPConnectionError):
        await video().save_async(tmp_path / "out.mp4")
    assert leftovers(tmp_path) == []


async def test_an_expired_result_is_not_retried(
    respx_mock: respx.MockRouter, tmp_path: Path
) -> None:
    """A 404 (an expired result URL) is final: one request, NotFoundError."""
    route = respx_mock.get(URL).respond(404)
    with pytest.raises(NotFoundError, match="expire"):
        await video().save_async(tmp_path / "out.mp4")
    assert route.call_count == 1


async def test_a_cancelled_download_leaves_no_partial_file(
    respx_mock: respx.MockRouter, tmp_path: Path
) -> None:
    """Cancelling a save part-way removes its .part file."""
    with anyio.CancelScope() as scope:
        respx_mock.get(URL).mock(return_value=httpx.Response(200, stream=_CancellingBody(scope)))
        await video().save_async(tmp_path / "out.mp4")
    assert scope.cancelled_caught
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("index", [1, 3, -2, True, "0"])
async def test_an_index_outside_the_images_is_a_validation_error(
    respx_mock: respx.MockRouter, tmp_path: Path, index: object
) -> None:
    """save(index=...) past either end, or not an int, is a ValidationError naming index."""
    route = respx_mock.get(URL)
    response = ImageGenerationResponse(request_id="r1", images=[URL], provider="fake")
    with pytest.raises(ValidationError, match="index"):
        await response.save_async(tmp_path / "out.png", index)  # type: ignore[arg-type]
    assert route.call_count == 0


async def test_a_negative_index_inside_the_images_is_accepted(
    respx_mock: respx.MockRouter, tmp_path: Path
) -> None:
    """index=-1 is the last image, as for a list."""
    respx_mock.get("https://cdn.example.test/b.png").respond(200, content=b"b")
    response = ImageGenerationResponse(
        request_id="r1", images=[URL, "https://cdn.example.test/b.png"], provider="fake"
    )
    await response.save_async(tmp_path / "out.png", -1)
    assert (tmp_path / "out.png").read_bytes() == b"b"


def test_sync_save_with_a_bad_index_is_a_validation_error(tmp_path: Path) -> None:
    """The sync twin raises the same ValidationError."""
    response = ImageGenerationResponse(request_id="r1", images=[b"png"], provider="fake")
    with pytest.raises(ValidationError, match="index"):
        response.save(tmp_path / "out.png", index=3)


async def test_a_missing_folder_or_non_url_result_is_a_validation_error(tmp_path: Path) -> None:
    """A path in a folder that does not exist, or a result that is no URL, fails clearly
    before any download."""
    with pytest.raises(ValidationError, match="path"):
        await video().save_async(tmp_path / "missing" / "out.mp4")
    with pytest.raises(ValidationError, match="path"):
        await video().save_async(123)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="URL"):
        await video("ftp://cdn.example.test/out.mp4").save_async(tmp_path / "out.mp4")
    with pytest.raises(ValidationError, match="URL"):
        await video("https://cdn.example.test/a\nb").save_async(tmp_path / "out.mp4")
