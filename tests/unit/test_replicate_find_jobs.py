"""ReplicateClient.find_jobs on the wire (respx): a prediction whose create's reply was
never recorded is found in ``GET /v1/predictions`` (newest first, ``next`` cursor pages)
by its model (or pinned version) and exact input within the time window; a listing that
could not reach the window's start says so instead of answering "none"."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import respx
from pydantic import SecretStr

from tarash.tarash_gateway.errors import TarashException
from tarash.tarash_gateway.models import VideoGenerationRequest
from tarash.tarash_gateway.providers._base import PreparedJob, ProviderSettings
from tarash.tarash_gateway.providers.replicate import FIND_PAGES, ReplicateClient

pytestmark = pytest.mark.anyio

BASE = "https://api.replicate.test"
LIST = f"{BASE}/v1/predictions"
KEY = "r8_canary-token-0123456789abcdef"
PROMPT = "a lighthouse at dusk"
VERSION = "5c7d5dc6dd8bf75c1acaa8565735e7986bc5b66206b55cca93cb72c9bf15ccaa"
OTHER_VERSION = "0" * 64
# The row's intent was recorded at SINCE; the batch looks from 5 min before to 15 after.
SINCE = datetime(2026, 3, 1, 12, 0, 0, 500_000, tzinfo=UTC)
AFTER = SINCE - timedelta(minutes=5)
BEFORE = SINCE + timedelta(minutes=15)


def client(model: str = "google/veo-3") -> ReplicateClient:
    return ReplicateClient(
        ProviderSettings(model=model, base_url=BASE, api_key=SecretStr(KEY), max_attempts=1)
    )


def prepared(replicate: ReplicateClient, prompt: str = PROMPT) -> PreparedJob:
    return replicate.prepare_video(
        VideoGenerationRequest(prompt=prompt, duration_seconds=8, aspect_ratio="16:9")
    )


def prediction(
    pid: str,
    job: PreparedJob,
    *,
    created_at: datetime = SINCE + timedelta(seconds=2),
    **fields: Any,
) -> dict[str, Any]:
    """A listed prediction as Replicate renders it (the emulator's shape)."""
    return {
        "id": pid,
        "model": "google/veo-3",
        "version": "hidden",
        "input": job.payload["input"],
        "logs": "",
        "output": None,
        "data_removed": False,
        "error": None,
        "status": "processing",
        "source": "api",
        "created_at": created_at.isoformat().replace("+00:00", "Z"),
        "urls": {
            "get": f"{LIST}/{pid}",
            "cancel": f"{LIST}/{pid}/cancel",
            "web": f"https://replicate.com/p/{pid}",
        },
        **fields,
    }


def page(results: list[dict[str, Any]], *, next_url: str | None = None) -> dict[str, Any]:
    return {"next": next_url, "previous": None, "results": results}


async def find(replicate: ReplicateClient, job: PreparedJob) -> list[str]:
    handles = await replicate.find_jobs(job, created_after=AFTER, created_before=BEFORE)
    return [handle.request_id for handle in handles]


def test_replicate_lists_its_predictions() -> None:
    assert ReplicateClient.finds_jobs is True


async def test_found_on_the_second_page_through_the_next_cursor(
    respx_mock: respx.MockRouter,
) -> None:
    """Page 1 holds other inputs; the ``next`` URL is followed (with the key) and the
    match on page 2 is found, with the status and cancel URLs of its listing."""
    replicate = client()
    job = prepared(replicate)
    other = prepared(replicate, "another prompt")
    first = page(
        [prediction(f"p{i}", other, created_at=SINCE + timedelta(seconds=9 - i)) for i in range(3)],
        next_url=f"{LIST}?cursor=c2",
    )
    second = page([prediction("p7", job)])
    route = respx_mock.get(LIST).mock(
        side_effect=[httpx.Response(200, json=first), httpx.Response(200, json=second)]
    )
    (handle,) = await replicate.find_jobs(job, created_after=AFTER, created_before=BEFORE)
    assert handle.request_id == "p7"
    assert handle.status_url == f"{LIST}/p7"
    assert handle.cancel_url == f"{LIST}/p7/cancel"
    assert route.call_count == 2
    assert "cursor" not in route.calls[0].request.url.params
    assert route.calls[1].request.url.params["cursor"] == "c2"
    assert route.calls[1].request.headers["Authorization"] == f"Bearer {KEY}"


async def test_another_model_or_input_is_not_matched(respx_mock: respx.MockRouter) -> None:
    """An official model matches by ``model``: another model's prediction, or one with
    another input (even one field more), is not this request's."""
    replicate = client()
    job = prepared(replicate)
    wider = {**job.payload["input"], "seed": 7}
    respx_mock.get(LIST).respond(
        200,
        json=page(
            [
                prediction("p4", job, model="google/veo-3-fast"),
                prediction("p3", prepared(replicate, "something else")),
                prediction("p2", job, input=wider),
                prediction("p1", job),
            ]
        ),
    )
    assert await find(replicate, job) == ["p1"]


async def test_a_pinned_version_matches_by_version(respx_mock: respx.MockRouter) -> None:
    """``owner/name:<64hex>`` is created by version: a prediction of the same model name
    but another version is not matched, one of that version is."""
    replicate = client(f"acme/model:{VERSION}")
    job = prepared(replicate)
    respx_mock.get(LIST).respond(
        200,
        json=page(
            [
                prediction("p3", job, model="acme/model", version=OTHER_VERSION),
                prediction("p2", job, model="acme/model", version=VERSION),
                prediction("p1", job, model="other/model", version=OTHER_VERSION),
            ]
        ),
    )
    assert await find(replicate, job) == ["p2"]


async def test_no_match_finds_none(respx_mock: respx.MockRouter) -> None:
    """A complete listing (``next`` null) without the request: none, and one page read."""
    replicate = client()
    job = prepared(replicate)
    route = respx_mock.get(LIST).respond(
        200, json=page([prediction("p1", prepared(replicate, "other"))])
    )
    assert await find(replicate, job) == []
    assert route.call_count == 1


async def test_an_empty_account_finds_none(respx_mock: respx.MockRouter) -> None:
    respx_mock.get(LIST).respond(200, json=page([]))
    replicate = client()
    assert await find(replicate, prepared(replicate)) == []


async def test_predictions_newer_than_the_window_are_skipped(
    respx_mock: respx.MockRouter,
) -> None:
    """Newest first: a match created after ``created_before`` is not the row's, and the
    lookup goes on to the older ones."""
    replicate = client()
    job = prepared(replicate)
    respx_mock.get(LIST).respond(
        200,
        json=page(
            [
                prediction("p3", job, created_at=BEFORE + timedelta(seconds=1)),
                prediction("p2", prepared(replicate, "other")),
                prediction("p1", job, created_at=SINCE),
            ]
        ),
    )
    assert await find(replicate, job) == ["p1"]


async def test_the_listing_stops_at_the_first_prediction_older_than_the_window(
    respx_mock: respx.MockRouter,
) -> None:
    """A prediction older than ``created_after`` ends the lookup: the page's older
    entries are not matched and its ``next`` page is never asked for."""
    replicate = client()
    job = prepared(replicate)
    route = respx_mock.get(LIST).respond(
        200,
        json=page(
            [
                prediction("p3", job),
                prediction("p2", job, created_at=AFTER - timedelta(seconds=1)),
                prediction("p1", job, created_at=AFTER - timedelta(minutes=1)),
            ],
            next_url=f"{LIST}?cursor=c2",
        ),
    )
    assert await find(replicate, job) == ["p3"]
    assert route.call_count == 1
    assert "cursor" not in route.calls.last.request.url.params


async def test_two_matches_are_both_returned(respx_mock: respx.MockRouter) -> None:
    """The same request sent twice: both are found (the batch then adopts neither)."""
    replicate = client()
    job = prepared(replicate)
    respx_mock.get(LIST).respond(
        200,
        json=page(
            [
                prediction("p2", job, created_at=SINCE + timedelta(seconds=9)),
                prediction("p1", job),
            ]
        ),
    )
    assert await find(replicate, job) == ["p2", "p1"]


async def test_a_last_page_at_the_cap_is_complete(respx_mock: respx.MockRouter) -> None:
    """Exactly FIND_PAGES pages, the last with ``next`` null: the whole account was read,
    so the lookup is complete and answers (here: none)."""
    replicate = client()
    other = prepared(replicate, "other")
    calls = 0

    def pages(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        following = f"{LIST}?cursor=c{calls + 1}" if calls < FIND_PAGES else None
        return httpx.Response(200, json=page([prediction(f"p{calls}", other)], next_url=following))

    respx_mock.get(LIST).mock(side_effect=pages)
    assert await find(replicate, prepared(replicate)) == []
    assert calls == FIND_PAGES


async def test_the_pages_are_capped_and_an_unfinished_lookup_is_an_error(
    respx_mock: respx.MockRouter,
) -> None:
    """A history longer than the cap, all inside the window: the lookup stops after
    FIND_PAGES pages and says it could not be complete (a match beyond would be missed,
    and "none" would let a batch pay twice); the key is in no part of the error."""
    replicate = client()
    other = prepared(replicate, "other")
    calls = 0

    def endless(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return httpx.Response(
            200, json=page([prediction(f"p{calls}", other)], next_url=f"{LIST}?cursor=c{calls}")
        )

    respx_mock.get(LIST).mock(side_effect=endless)
    with pytest.raises(TarashException, match="could not be complete") as caught:
        await find(replicate, prepared(replicate))
    assert calls == FIND_PAGES
    assert caught.value.provider == "replicate"
    assert not caught.value.fallback_allowed
    assert KEY not in str(caught.value) and KEY not in repr(caught.value)


@pytest.mark.respx(assert_all_called=False)
async def test_a_cursor_off_the_api_origin_is_not_followed(
    respx_mock: respx.MockRouter,
) -> None:
    """A ``next`` on another host would receive the key: it is never called, and the
    lookup, stopped short of the window's start, is an error rather than "none"."""
    replicate = client()
    job = prepared(replicate)
    respx_mock.get(LIST).respond(
        200,
        json=page(
            [prediction("p1", prepared(replicate, "other"))],
            next_url="https://evil.test/v1/predictions?cursor=c2",
        ),
    )
    elsewhere = respx_mock.get(url__startswith="https://evil.test/").respond(
        200, json=page([prediction("p0", job)])
    )
    with pytest.raises(TarashException, match="could not be complete") as caught:
        await find(replicate, job)
    assert not elsewhere.called
    assert KEY not in str(caught.value) and KEY not in repr(caught.value)


@pytest.mark.respx(assert_all_called=False)
async def test_a_cursor_on_another_scheme_or_port_is_not_followed(
    respx_mock: respx.MockRouter,
) -> None:
    replicate = client()
    job = prepared(replicate)
    route = respx_mock.get(LIST).respond(
        200,
        json=page([], next_url="http://api.replicate.test/v1/predictions?cursor=c2"),
    )
    plain = respx_mock.get(url__startswith="http://api.replicate.test/").respond(200, json=page([]))
    with pytest.raises(TarashException, match="could not be complete"):
        await find(replicate, job)
    assert route.call_count == 1
    assert not plain.called


async def test_a_failed_listing_is_a_tarash_error(respx_mock: respx.MockRouter) -> None:
    respx_mock.get(LIST).respond(401, json={"detail": "Invalid token."})
    replicate = client()
    with pytest.raises(TarashException) as caught:
        await find(replicate, prepared(replicate))
    assert KEY not in str(caught.value) and KEY not in repr(caught.value)


async def test_a_prediction_whose_input_was_removed_makes_the_lookup_undecided(
    respx_mock: respx.MockRouter,
) -> None:
    """An hour after a prediction Replicate removes its input (``data_removed``): a
    prediction of the model in the window that no longer shows it may be this request's,
    so the lookup says it cannot tell rather than "none" (which would resend the
    request: two jobs). Another model's removed prediction, or one outside the window,
    does not matter."""
    replicate = client()
    job = prepared(replicate)
    removed = prediction("p1", job, data_removed=True, input={})
    removed_other_model = prediction("p2", job, data_removed=True, input={}, model="x/y")
    older = prediction("p3", job, created_at=AFTER - timedelta(minutes=1), data_removed=True)
    respx_mock.get(LIST).respond(200, json=page([removed_other_model, older]))
    assert await find(replicate, job) == []
    respx_mock.get(LIST).respond(200, json=page([removed_other_model, removed, older]))
    with pytest.raises(TarashException, match="cannot be told") as caught:
        await find(replicate, job)
    assert KEY not in str(caught.value) and KEY not in repr(caught.value)
    without_input = prediction("p4", job)
    del without_input["input"]
    respx_mock.get(LIST).respond(200, json=page([without_input]))
    with pytest.raises(TarashException, match="cannot be told"):
        await find(replicate, job)
