"""The OpenAI and Azure OpenAI emulation's own protocol: what the real APIs check and send
that the shared contract does not cover."""

from __future__ import annotations

import base64
import io
import time

import httpx
import pytest
from PIL import Image

from tarash.emulator import Emulator, Fault, Latency
from tarash.emulator.azure_openai import AzureOpenAIOptions
from tarash.emulator.openai import OpenAIOptions
from tarash.tarash_gateway._sample_media import make_png
from tarash.tarash_gateway.media import sniff_mime


def auth(emu: Emulator) -> dict[str, str]:
    return {"Authorization": f"Bearer {emu.api_key('openai')}"}


def azure(emu: Emulator) -> dict[str, str]:
    return {"api-key": emu.api_key("azure_openai")}


def test_base_urls_are_what_clients_take(emu: Emulator) -> None:
    """OpenAI's base ends in /v1 (like api.openai.com/v1); Azure's is the endpoint."""
    assert emu.base_url("openai").endswith("/openai/v1")
    assert emu.base_url("azure_openai").endswith("/azure_openai")


def test_seconds_must_be_a_string(emu: Emulator, client: httpx.Client) -> None:
    """An integer seconds is the real API's 400 invalid_type; "8" is accepted."""
    url = f"{emu.base_url('openai')}/videos"
    refused = client.post(url, json={"prompt": "x", "seconds": 8}, headers=auth(emu))
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "invalid_type"
    assert "got an integer" in refused.json()["error"]["message"]
    ok = client.post(url, json={"prompt": "x", "seconds": "8"}, headers=auth(emu))
    assert ok.status_code == 200 and ok.json()["seconds"] == "8"


def test_sizes_depend_on_the_model(emu: Emulator, client: httpx.Client) -> None:
    """1792x1024 is sora-2-pro's; sora-2 refuses it with invalid_value."""
    url = f"{emu.base_url('openai')}/videos"
    body = {"prompt": "x", "size": "1792x1024"}
    assert client.post(url, json=body, headers=auth(emu)).status_code == 400
    pro = client.post(url, json={**body, "model": "sora-2-pro"}, headers=auth(emu))
    assert pro.status_code == 200


def test_a_first_frame_must_match_the_size(emu: Emulator, client: httpx.Client) -> None:
    """An input_reference PNG of another size is the real 400; the check can be turned off."""
    url = f"{emu.base_url('openai')}/videos"
    files = {"input_reference": ("f.png", make_png(64, 64), "image/png")}
    data = {"prompt": "x", "size": "1280x720"}
    refused = client.post(url, data=data, files=files, headers=auth(emu))
    assert refused.status_code == 400
    assert "must match the requested width and height" in refused.text
    with Emulator(options=[OpenAIOptions(check_reference_size=False)]) as lenient:
        accepted = client.post(
            f"{lenient.base_url('openai')}/videos", data=data, files=files, headers=auth(lenient)
        )
        assert accepted.status_code == 200


def encoded(size: tuple[int, int], fmt: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size).save(out, fmt)
    return out.getvalue()


def test_a_json_data_uri_first_frame_is_measured_too(emu: Emulator, client: httpx.Client) -> None:
    """A JPEG sent as JSON image_url data URI of another size is OpenAI's own 400 body
    (invalid_request_error, null param and code); of the right size it is taken."""
    url = f"{emu.base_url('openai')}/videos"

    def body(size: tuple[int, int]) -> dict[str, object]:
        data = base64.b64encode(encoded(size, "JPEG")).decode()
        return {
            "prompt": "x",
            "size": "1280x720",
            "input_reference": {"image_url": f"data:image/jpeg;base64,{data}"},
        }

    refused = client.post(url, json=body((1024, 1024)), headers=auth(emu))
    assert refused.status_code == 400
    assert refused.json()["error"] == {
        "message": "Inpaint image must match the requested width and height",
        "type": "invalid_request_error",
        "param": None,
        "code": None,
    }
    assert client.post(url, json=body((1280, 720)), headers=auth(emu)).status_code == 200


def test_a_webp_upload_is_measured_on_azure_v1(emu: Emulator, client: httpx.Client) -> None:
    """Azure's v1 videos share the check: a WebP upload of another size than the default
    720x1280 is refused, one of that size taken."""
    url = f"{emu.base_url('azure_openai')}/openai/v1/videos"
    for size, status in (((1280, 720), 400), ((720, 1280), 200)):
        files = {"input_reference": ("f.webp", encoded(size, "WEBP"), "image/webp")}
        sent = client.post(
            url, data={"prompt": "x", "model": "my-sora"}, files=files, headers=azure(emu)
        )
        assert sent.status_code == status, sent.text


def test_polls_carry_the_poll_after_hint_until_done(
    fresh_emu: Emulator, client: httpx.Client
) -> None:
    """GETs of a running video send openai-poll-after-ms (<= the option); a finished one
    does not; progress grows."""
    fresh_emu.latency = Latency(queue_seconds=0.05, run_seconds=0.3)
    created = client.post(
        f"{fresh_emu.base_url('openai')}/videos", json={"prompt": "x"}, headers=auth(fresh_emu)
    ).json()
    url = f"{fresh_emu.base_url('openai')}/videos/{created['id']}"
    first = client.get(url, headers=auth(fresh_emu))
    assert 10 <= int(first.headers["openai-poll-after-ms"]) <= 1000
    assert first.headers["x-request-id"].startswith("req_")
    progress = []
    while (body := client.get(url, headers=auth(fresh_emu)).json())["status"] != "completed":
        progress.append(body["progress"])
        time.sleep(0.02)
    assert progress == sorted(progress)
    done = client.get(url, headers=auth(fresh_emu))
    assert "openai-poll-after-ms" not in done.headers
    assert done.json()["progress"] == 100 and done.json()["expires_at"]


def test_content_variants_and_delete(fresh_emu: Emulator, client: httpx.Client) -> None:
    """content is an MP4 once completed (400 before), thumbnail a PNG; DELETE of a running
    video is refused, of a finished one removes it (404 after)."""
    fresh_emu.latency = Latency(queue_seconds=0, run_seconds=0.2)
    base = fresh_emu.base_url("openai")
    created = client.post(f"{base}/videos", json={"prompt": "x"}, headers=auth(fresh_emu)).json()
    url = f"{base}/videos/{created['id']}"
    assert client.get(f"{url}/content", headers=auth(fresh_emu)).status_code == 400
    assert client.delete(url, headers=auth(fresh_emu)).status_code == 400
    time.sleep(0.3)
    content = client.get(f"{url}/content", headers=auth(fresh_emu))
    assert sniff_mime(content.content) == content.headers["content-type"] == "video/mp4"
    thumb = client.get(f"{url}/content", params={"variant": "thumbnail"}, headers=auth(fresh_emu))
    assert sniff_mime(thumb.content) == "image/png"
    listed = client.get(f"{base}/videos", headers=auth(fresh_emu)).json()
    assert [item["id"] for item in listed["data"]] == [created["id"]]
    deleted = client.delete(url, headers=auth(fresh_emu)).json()
    assert deleted == {"id": created["id"], "object": "video.deleted", "deleted": True}
    assert client.get(url, headers=auth(fresh_emu)).status_code == 404


def test_the_video_list_pages_with_the_sdk_cursor(
    fresh_emu: Emulator, client: httpx.Client
) -> None:
    """GET /videos: newest first by default (or ``order=asc``), ``limit`` items a page,
    ``after`` = the previous page's ``last_id``, ``has_more`` until the last; each item is
    the video object with its model, prompt, seconds, size and created_at. A cursor
    naming no video and an unknown order are 400s."""
    base = fresh_emu.base_url("openai")
    ids = [
        client.post(
            f"{base}/videos",
            json={"prompt": f"p{i}", "seconds": "8", "size": "1280x720"},
            headers=auth(fresh_emu),
        ).json()["id"]
        for i in range(3)
    ]
    first = client.get(f"{base}/videos", params={"limit": 2}, headers=auth(fresh_emu)).json()
    assert [item["id"] for item in first["data"]] == [ids[2], ids[1]]
    assert first["has_more"] is True and first["last_id"] == ids[1]
    assert first["first_id"] == ids[2]
    item = first["data"][0]
    assert (item["model"], item["prompt"], item["seconds"], item["size"]) == (
        "sora-2",
        "p2",
        "8",
        "1280x720",
    )
    assert isinstance(item["created_at"], int)
    rest = client.get(
        f"{base}/videos", params={"limit": 2, "after": ids[1]}, headers=auth(fresh_emu)
    ).json()
    assert [item["id"] for item in rest["data"]] == [ids[0]] and rest["has_more"] is False
    ascending = client.get(f"{base}/videos", params={"order": "asc"}, headers=auth(fresh_emu))
    assert [item["id"] for item in ascending.json()["data"]] == ids
    for params in ({"after": "video_nope"}, {"order": "sideways"}):
        refused = client.get(f"{base}/videos", params=params, headers=auth(fresh_emu))
        assert refused.status_code == 400
        assert refused.json()["error"]["param"] == next(iter(params))


def test_gpt_image_refuses_response_format_and_dall_e_serves_urls(
    emu: Emulator, client: httpx.Client
) -> None:
    """GPT image models reject response_format (base64 always); dall-e gives URLs by
    default, base64 on request."""
    url = f"{emu.base_url('openai')}/images/generations"
    refused = client.post(
        url,
        json={"model": "gpt-image-1", "prompt": "x", "response_format": "url"},
        headers=auth(emu),
    )
    assert refused.status_code == 400 and refused.json()["error"]["param"] == "response_format"
    dall_e = client.post(url, json={"model": "dall-e-2", "prompt": "x"}, headers=auth(emu)).json()
    assert sniff_mime(client.get(dall_e["data"][0]["url"]).content) == "image/png"
    encoded = client.post(
        url, json={"model": "gpt-image-1", "prompt": "x", "size": "1536x1024"}, headers=auth(emu)
    ).json()
    image = base64.b64decode(encoded["data"][0]["b64_json"])
    assert sniff_mime(image) == "image/png" and encoded["size"] == "1536x1024"


def test_a_stuck_image_request_is_ended_after_the_hold(client: httpx.Client) -> None:
    """stuck on an image request: held max_hold_seconds, then a 500, counted cancelled."""
    with Emulator(options=[OpenAIOptions(max_hold_seconds=0.2)]) as emu:
        emu.inject(Fault("stuck", provider="openai"))
        reply = client.post(
            f"{emu.base_url('openai')}/images/generations",
            json={"model": "gpt-image-1", "prompt": "x"},
            headers=auth(emu),
        )
        assert reply.status_code == 500
        assert emu.stats().cancelled == 1 and emu.stats().running == 0


def test_azure_accepts_both_auth_headers(emu: Emulator, client: httpx.Client) -> None:
    """api-key (AzureOpenAI) and Authorization: Bearer (OpenAI client on /openai/v1) work."""
    url = f"{emu.base_url('azure_openai')}/openai/v1/videos"
    key = emu.api_key("azure_openai")
    for headers in ({"api-key": key}, {"Authorization": f"Bearer {key}"}):
        assert client.post(url, json={"prompt": "x", "model": "d"}, headers=headers).is_success
    assert client.post(url, json={"prompt": "x"}, headers={"api-key": ""}).status_code == 401


def test_azure_deployment_images_need_an_api_version(emu: Emulator, client: httpx.Client) -> None:
    """The dated path without ?api-version= is a 404; with it, the deployment is the model."""
    url = f"{emu.base_url('azure_openai')}/openai/deployments/my-dep/images/generations"
    assert client.post(url, json={"prompt": "x"}, headers=azure(emu)).status_code == 404
    ok = client.post(
        url, params={"api-version": "2025-04-01-preview"}, json={"prompt": "x"}, headers=azure(emu)
    )
    assert ok.status_code == 200 and ok.json()["data"][0]["b64_json"]


@pytest.mark.parametrize(("width", "height"), [(480, 854), (720, 1280), (1080, 1920)])
def test_azure_legacy_takes_portrait_sizes(
    emu: Emulator, client: httpx.Client, width: int, height: int
) -> None:
    """Sora-1 jobs take the portrait sizes too ("in both landscape and portrait
    orientations", Azure's REST spec); they were refused as unsupported before."""
    url = f"{emu.base_url('azure_openai')}/openai/v1/video/generations/jobs"
    body = {"model": "sora", "prompt": "x", "width": width, "height": height, "n_seconds": 5}
    response = client.post(url, params={"api-version": "preview"}, json=body, headers=azure(emu))
    assert response.status_code == 201, response.text
    assert (response.json()["width"], response.json()["height"]) == (width, height)


def test_azure_legacy_statuses_and_checks(fresh_emu: Emulator, client: httpx.Client) -> None:
    """Sora-1 jobs: preprocessing -> queued -> running -> processing -> succeeded;
    unsupported sizes and a missing api-version are 400s; the path without /v1 is served."""
    fresh_emu.latency = Latency(queue_seconds=0.2, run_seconds=0.3)
    root = f"{fresh_emu.base_url('azure_openai')}/openai"
    query = {"api-version": "preview"}
    body = {"model": "sora", "prompt": "x", "width": "854", "height": 480, "n_seconds": 5}
    assert (
        client.post(
            f"{root}/video/generations/jobs", json=body, headers=azure(fresh_emu)
        ).status_code
        == 400
    )
    bad = {**body, "width": 1000}
    assert (
        client.post(
            f"{root}/video/generations/jobs", params=query, json=bad, headers=azure(fresh_emu)
        ).status_code
        == 400
    )
    created = client.post(
        f"{root}/video/generations/jobs", params=query, json=body, headers=azure(fresh_emu)
    ).json()
    seen: list[str] = []
    while True:
        status = client.get(
            f"{root}/v1/video/generations/jobs/{created['id']}",
            params=query,
            headers=azure(fresh_emu),
        ).json()
        if not seen or seen[-1] != status["status"]:
            seen.append(status["status"])
        if status["status"] == "succeeded":
            break
        time.sleep(0.01)
    assert seen == ["preprocessing", "queued", "running", "processing", "succeeded"]
    assert status["width"] == 854 and len(status["generations"]) == 1
    assert fresh_emu.stats() == fresh_emu.stats("azure_openai")


def test_options_are_per_provider() -> None:
    """AzureOpenAIOptions configures Azure's emulation apart from OpenAI's."""
    with Emulator(options=[AzureOpenAIOptions(max_hold_seconds=1), OpenAIOptions()]) as emu:
        assert emu.base_url("azure_openai")
    with pytest.raises(ValueError, match="max_hold_seconds"):
        OpenAIOptions(max_hold_seconds=0)
