"""OpenAIClient.find_jobs on the wire (respx): a video whose create's reply was never
recorded is found in ``GET /videos`` by its model, seconds, size and prompt within the
time window, across cursor pages, and the lookup is bounded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import respx
from pydantic import SecretStr

from tarash.tarash_gateway.errors import TarashException
from tarash.tarash_gateway.models import ImageGenerationRequest, VideoGenerationRequest
from tarash.tarash_gateway.providers._base import PreparedJob, ProviderSettings
from tarash.tarash_gateway.providers.azure_openai import AzureOpenAIClient
from tarash.tarash_gateway.providers.openai import FIND_PAGES, OpenAIClient

pytestmark = pytest.mark.anyio

BASE = "https://gateway.test/v1"
KEY = "sk-canary-0123456789abcdef"
PROMPT = "a lighthouse at dusk"
# The row's intent was recorded at SINCE; the batch looks from 5 min before to 15 after.
SINCE = datetime(2026, 3, 1, 12, 0, 0, 500_000, tzinfo=UTC)
AFTER = SINCE - timedelta(minutes=5)
BEFORE = SINCE + timedelta(minutes=15)
T0 = int(SINCE.timestamp())


def client(model: str = "sora-2") -> OpenAIClient:
    return OpenAIClient(
        ProviderSettings(model=model, base_url=BASE, api_key=SecretStr(KEY), max_attempts=1)
    )


def prepared(openai: OpenAIClient, prompt: str = PROMPT) -> PreparedJob:
    return openai.prepare_video(
        VideoGenerationRequest(prompt=prompt, duration_seconds=8, aspect_ratio="16:9")
    )


def video(index: int, *, created_at: int = T0 + 2, **fields: Any) -> dict[str, Any]:
    return {
        "id": f"video_{index:04d}",
        "object": "video",
        "model": "sora-2",
        "status": "in_progress",
        "progress": 10,
        "created_at": created_at,
        "completed_at": None,
        "expires_at": None,
        "prompt": PROMPT,
        "size": "1280x720",
        "seconds": "8",
        "remixed_from_video_id": None,
        "error": None,
        **fields,
    }


def page(videos: list[dict[str, Any]], *, has_more: bool = False) -> dict[str, Any]:
    return {
        "object": "list",
        "data": videos,
        "first_id": videos[0]["id"] if videos else None,
        "last_id": videos[-1]["id"] if videos else None,
        "has_more": has_more,
    }


async def find(openai: OpenAIClient, job: PreparedJob) -> list[str]:
    handles = await openai.find_jobs(job, created_after=AFTER, created_before=BEFORE)
    return [handle.request_id for handle in handles]


def test_openai_lists_its_videos_and_azure_does_not() -> None:
    assert OpenAIClient.finds_jobs is True
    assert AzureOpenAIClient.finds_jobs is False


async def test_exactly_one_match_among_other_videos(respx_mock: respx.MockRouter) -> None:
    """Only the video with the same model, seconds, size and prompt is found; the request
    asks for the newest first, 100 a page, with the key."""
    openai = client()
    job = prepared(openai)
    assert job.payload["seconds"] == "8" and job.payload["size"] == "1280x720"
    route = respx_mock.get(f"{BASE}/videos").respond(
        200,
        json=page(
            [
                video(1, prompt="another prompt"),
                video(2, model="sora-2-pro"),
                video(3, seconds="4"),
                video(4, size="720x1280"),
                video(5),
            ]
        ),
    )
    assert await find(openai, job) == ["video_0005"]
    sent = route.calls.last.request
    assert sent.url.params["order"] == "desc" and sent.url.params["limit"] == "100"
    assert "after" not in sent.url.params
    assert sent.headers["Authorization"] == f"Bearer {KEY}"


async def test_a_listed_video_without_its_prompt_matches_on_the_rest(
    respx_mock: respx.MockRouter,
) -> None:
    respx_mock.get(f"{BASE}/videos").respond(200, json=page([video(1, prompt=None)]))
    openai = client()
    assert await find(openai, prepared(openai)) == ["video_0001"]


async def test_no_match_finds_none(respx_mock: respx.MockRouter) -> None:
    respx_mock.get(f"{BASE}/videos").respond(
        200, json=page([video(1, prompt="something else"), video(2, seconds="12")])
    )
    openai = client()
    assert await find(openai, prepared(openai)) == []


async def test_two_matches_are_both_returned(respx_mock: respx.MockRouter) -> None:
    """The same request sent twice: both are found (the batch then adopts neither)."""
    respx_mock.get(f"{BASE}/videos").respond(
        200, json=page([video(2, created_at=T0 + 9), video(1)])
    )
    openai = client()
    assert await find(openai, prepared(openai)) == ["video_0002", "video_0001"]


async def test_pages_follow_the_cursor_until_has_more_is_false(
    respx_mock: respx.MockRouter,
) -> None:
    """Page 2 is asked for ``after`` page 1's last_id; the match on it is found."""
    first = page([video(i, prompt=f"other {i}") for i in range(3)], has_more=True)
    second = page([video(7)])
    route = respx_mock.get(f"{BASE}/videos").mock(
        side_effect=[httpx.Response(200, json=first), httpx.Response(200, json=second)]
    )
    openai = client()
    assert await find(openai, prepared(openai)) == ["video_0007"]
    assert route.call_count == 2
    assert route.calls[1].request.url.params["after"] == "video_0002"


async def test_the_pages_are_capped_and_an_unfinished_lookup_is_an_error(
    respx_mock: respx.MockRouter,
) -> None:
    """A history longer than the cap, all inside the window: the lookup stops after
    FIND_PAGES pages and says it could not be complete (a match beyond would be missed)."""
    calls = 0

    def endless(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return httpx.Response(200, json=page([video(calls)], has_more=True))

    respx_mock.get(f"{BASE}/videos").mock(side_effect=endless)
    openai = client()
    with pytest.raises(TarashException, match="stopped before the window's start") as caught:
        await find(openai, prepared(openai))
    assert calls == FIND_PAGES
    assert KEY not in str(caught.value) and KEY not in repr(caught.value)


async def test_the_listing_stops_at_the_window_start(respx_mock: respx.MockRouter) -> None:
    """Newest first: a video older than the window ends the lookup, next page unread."""
    route = respx_mock.get(f"{BASE}/videos").respond(
        200,
        json=page([video(2), video(1, created_at=int(AFTER.timestamp()) - 1)], has_more=True),
    )
    openai = client()
    assert await find(openai, prepared(openai)) == ["video_0002"]
    assert route.call_count == 1


async def test_window_edges_whole_seconds(respx_mock: respx.MockRouter) -> None:
    """``created_at`` is whole seconds: a video in the window's first (partial) second is
    in; one a second past the end, or a second before the start, is out."""
    start = int(AFTER.timestamp())  # AFTER is .5 s into this second
    end = int(BEFORE.timestamp())
    respx_mock.get(f"{BASE}/videos").respond(
        200,
        json=page(
            [
                video(4, created_at=end + 1),
                video(3, created_at=end),
                video(2, created_at=start),
                video(1, created_at=start - 1),
            ]
        ),
    )
    openai = client()
    assert await find(openai, prepared(openai)) == ["video_0003", "video_0002"]


async def test_a_failed_listing_is_a_tarash_error(respx_mock: respx.MockRouter) -> None:
    respx_mock.get(f"{BASE}/videos").respond(
        401, json={"error": {"message": "bad key", "type": "invalid_request_error"}}
    )
    openai = client()
    with pytest.raises(TarashException):
        await find(openai, prepared(openai))


async def test_an_image_job_cannot_be_looked_up(respx_mock: respx.MockRouter) -> None:
    """Images are answered in their request and listed nowhere: the lookup says it cannot
    tell (an empty list would read as "none was made" and let a batch resend, paying
    twice), and sends nothing."""
    openai = client("gpt-image-1")
    job = openai.prepare_image(ImageGenerationRequest(prompt=PROMPT))
    with pytest.raises(TarashException, match="cannot be told"):
        await openai.find_jobs(job, created_after=AFTER, created_before=BEFORE)
    assert not respx_mock.calls


async def test_a_remix_is_found_by_its_source(respx_mock: respx.MockRouter) -> None:
    """A remix's lookup matches remixed_from_video_id and the prompt, whatever the
    source's seconds and size."""
    openai = client()
    job = openai.prepare_video(
        VideoGenerationRequest(prompt=PROMPT, extra_params={"video_id": "video_src"})
    )
    respx_mock.get(f"{BASE}/videos").respond(
        200,
        json=page(
            [
                video(1, remixed_from_video_id="video_other"),
                video(2, remixed_from_video_id="video_src", seconds="12"),
                video(3),
            ]
        ),
    )
    assert await find(openai, job) == ["video_0002"]
