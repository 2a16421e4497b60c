"""xAI's emulation beyond the shared contract: the contract file, bodies refused as xAI
refuses them (422 text, 400 and 404 ``{"code", "error"}``), the three video endpoints,
expiry of unstarted videos, and the images' JSON edits and formats."""

from __future__ import annotations

import base64
import time
from typing import Any

import httpx
import pytest

from tarash.emulator import Emulator, Latency, XaiOptions
from tarash.emulator.xai import contract
from tarash.tarash_gateway.media import sniff_mime

VIDEO = {"model": "grok-imagine-video", "prompt": "a cat"}
IMAGE = {"model": "grok-imagine-image", "prompt": "a fox"}
CLIP = "https://example.com/clip.mp4"


def post(client: httpx.Client, emu: Emulator, path: str, body: Any) -> httpx.Response:
    return client.post(
        f"{emu.base_url('xai')}{path}",
        json=body,
        headers={"Authorization": f"Bearer {emu.api_key('xai')}"},
    )


def wait_done(client: httpx.Client, emu: Emulator, request_id: str) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {emu.api_key('xai')}"}
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        body: dict[str, Any] = client.get(
            f"{emu.base_url('xai')}/videos/{request_id}", headers=headers
        ).json()
        if body["status"] != "pending":
            return body
        time.sleep(0.02)
    raise AssertionError("the video never finished")


def test_the_contract_carries_its_sources_and_date() -> None:
    """The contract is data with the date it was read and where each fact came from."""
    found = contract()
    assert found.read == "2026-12-07"
    assert found.sources[0] == "https://docs.x.ai/developers/rest-api-reference"
    assert any("xai-sdk-python" in source for source in found.sources)
    resolution = found.bodies["videos.generations"]["properties"]["resolution"]
    assert resolution["enum"] == ["480p", "720p", "1080p"]
    assert set(found.bodies) == {
        "videos.generations",
        "videos.edits",
        "videos.extensions",
        "images.generations",
        "images.edits",
    }


@pytest.mark.parametrize(
    ("path", "body", "words"),
    [
        ("/videos/generations", {**VIDEO, "seconds": 5}, "unknown field `seconds`"),
        ("/videos/generations", {**VIDEO, "duration": "5"}, 'duration: invalid type: string "5"'),
        ("/videos/generations", {**VIDEO, "duration": True}, "duration: invalid type: boolean"),
        ("/videos/generations", {"model": "grok-imagine-video"}, "missing field `prompt`"),
        ("/videos/generations", {**VIDEO, "image": CLIP}, "image: invalid type: string"),
        ("/videos/generations", {**VIDEO, "image": {"uri": "x"}}, "image: unknown field `uri`"),
        ("/videos/edits", VIDEO, "missing field `video`"),
        (
            "/videos/edits",
            {**VIDEO, "video": {"url": CLIP}, "duration": 5},
            "unknown field `duration`",
        ),
        ("/images/generations", {**IMAGE, "size": "1024x1024"}, "unknown field `size`"),
        ("/images/generations", {**IMAGE, "n": "2"}, "n: invalid type"),
        ("/images/generations", [IMAGE], "invalid type: sequence"),
    ],
)
def test_bodies_that_do_not_deserialize_are_xais_422(
    client: httpx.Client, fresh_emu: Emulator, path: str, body: Any, words: str
) -> None:
    """An unknown field, a wrong type, a missing field: xAI's 422 plain text; no job."""
    response = post(client, fresh_emu, path, body)
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("text/plain")
    assert response.text.startswith("Failed to deserialize the JSON body into the target type: ")
    assert words in response.text
    assert fresh_emu.stats().submitted == 0


@pytest.mark.parametrize(
    ("path", "body", "status", "words"),
    [
        ("/videos/generations", {**VIDEO, "duration": 16}, 400, "between 1 and 15"),
        ("/videos/generations", {**VIDEO, "duration": 0}, 400, "between 1 and 15"),
        ("/videos/generations", {**VIDEO, "resolution": "4k"}, 400, "480p, 720p, 1080p"),
        ("/videos/generations", {**VIDEO, "aspect_ratio": "21:9"}, 400, "supported values"),
        ("/videos/generations", {**VIDEO, "prompt": "  "}, 400, "prompt must not be empty"),
        ("/videos/generations", {**VIDEO, "model": "grok-imagine-vid"}, 404, "does not exist"),
        ("/videos/generations", {**VIDEO, "model": "grok-imagine-image"}, 404, "does not exist"),
        ("/images/generations", {**IMAGE, "resolution": "4k"}, 400, "1k, 2k"),
        ("/images/generations", {**IMAGE, "n": 11}, 400, "between 1 and 10"),
        ("/images/generations", {**IMAGE, "model": "grok-imagine-video"}, 404, "does not exist"),
        ("/images/edits", IMAGE, 400, "Exactly one of image or images"),
        (
            "/images/edits",
            {**IMAGE, "image": {"url": CLIP}, "images": [{"url": CLIP}]},
            400,
            "Exactly one of image or images",
        ),
        ("/images/edits", {**IMAGE, "images": [{"url": CLIP}] * 6}, 400, "at most 5"),
    ],
)
def test_values_xai_refuses_are_its_400_or_404(
    client: httpx.Client, fresh_emu: Emulator, path: str, body: Any, status: int, words: str
) -> None:
    """Out-of-range values, enums and unknown models: ``{"code", "error"}``; no job."""
    response = post(client, fresh_emu, path, body)
    assert response.status_code == status, response.text
    assert set(response.json()) == {"code", "error"}
    assert words in response.json()["error"]
    assert fresh_emu.stats().submitted == 0


def test_no_key_is_401_and_a_wrong_key_400(client: httpx.Client) -> None:
    """As xAI answers them: no Authorization is a 401, an incorrect key a 400 naming the
    API key (never echoing it); no job."""
    with Emulator(required_keys={"xai": "xai-the-only-key"}) as emu:
        url = f"{emu.base_url('xai')}/videos/generations"
        assert client.post(url, json=VIDEO).status_code == 401
        wrong = client.post(url, json=VIDEO, headers={"Authorization": "Bearer xai-wrong-123"})
        assert wrong.status_code == 400
        assert "API key" in wrong.json()["error"] and "xai-wrong-123" not in wrong.text
        assert emu.stats().submitted == 0


def test_edits_and_extensions_are_deferred_like_generations(
    client: httpx.Client, fresh_emu: Emulator
) -> None:
    """An edit and an extension answer a request_id and end done with a video; an
    extension's duration is the input's plus the seconds added."""
    edit = post(client, fresh_emu, "/videos/edits", {**VIDEO, "video": {"url": CLIP}})
    extend = post(
        client, fresh_emu, "/videos/extensions", {**VIDEO, "video": {"url": CLIP}, "duration": 4}
    )
    edited = wait_done(client, fresh_emu, edit.json()["request_id"])
    extended = wait_done(client, fresh_emu, extend.json()["request_id"])
    assert edited["status"] == extended["status"] == "done"
    assert extended["video"]["duration"] == edited["video"]["duration"] + 4
    media = client.get(extended["video"]["url"])
    assert sniff_mime(media.content) == "video/mp4"
    assert extended["usage"]["cost_in_usd_ticks"] > 0


def test_a_video_that_never_starts_expires(client: httpx.Client) -> None:
    """With expire_unstarted_after, a video still queued then reads expired (failed, in the
    totals)."""
    with Emulator(
        latency=Latency(queue_seconds=5, run_seconds=0.1),
        options=[XaiOptions(expire_unstarted_after=0.05)],
    ) as emu:
        accepted = post(client, emu, "/videos/generations", VIDEO)
        assert wait_done(client, emu, accepted.json()["request_id"]) == {"status": "expired"}
        assert emu.stats().failed == 1


def test_images_come_as_urls_or_base64_at_the_asked_size(
    client: httpx.Client, fresh_emu: Emulator
) -> None:
    """URLs by default, n of them; b64_json on request; the aspect ratio and resolution
    set the pixels (the long side 1024 at 1k, 2048 at 2k)."""
    urls = post(client, fresh_emu, "/images/generations", {**IMAGE, "n": 2}).json()
    assert len(urls["data"]) == 2
    png = client.get(urls["data"][0]["url"]).content
    assert sniff_mime(png) == "image/png"
    encoded = post(
        client,
        fresh_emu,
        "/images/generations",
        {**IMAGE, "response_format": "b64_json", "aspect_ratio": "16:9", "resolution": "2k"},
    ).json()
    data = base64.b64decode(encoded["data"][0]["b64_json"])
    assert data[16:24] == (2048).to_bytes(4, "big") + (1152).to_bytes(4, "big")


def test_a_json_image_edit_is_served(client: httpx.Client, fresh_emu: Emulator) -> None:
    """/images/edits takes JSON with one image or several."""
    one = post(client, fresh_emu, "/images/edits", {**IMAGE, "image": {"url": CLIP}})
    several = post(
        client, fresh_emu, "/images/edits", {**IMAGE, "images": [{"url": CLIP}, {"url": CLIP}]}
    )
    assert one.status_code == several.status_code == 200
    assert [job.input["endpoint"] for job in fresh_emu.jobs("xai")] == ["/v1/images/edits"] * 2
