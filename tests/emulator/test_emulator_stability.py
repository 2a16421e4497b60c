"""The Stability emulation against the requests Stability's documentation shows.

Stability has no official SDK for v2beta: its docs show curl (``-F prompt=... -F
output_format=png``, ``-H "accept: image/*"``) and Python ``requests`` samples
(``files={"none": ""}``, ``data={...}``). httpx's ``files=``/``data=`` sends the same
multipart body; each test asserts the answer has the documented shape.
"""

from __future__ import annotations

import base64
import time
from typing import Any

import httpx
import pytest

from tarash.emulator import Emulator, EmulatorStats, Fault, Latency, StabilityOptions
from tarash.tarash_gateway.media import sniff_mime
from tests._emulator import tiny_png

pytestmark = pytest.mark.integration

GENERATE = "/v2beta/stable-image/generate"


def post(
    client: httpx.Client,
    emu: Emulator,
    endpoint: str,
    data: dict[str, Any],
    *,
    accept: str = "image/*",
    files: dict[str, Any] | None = None,
    **headers: str,
) -> httpx.Response:
    """A documented create: bearer key, accept header, a multipart form (curl -F)."""
    return client.post(
        f"{emu.base_url('stability')}{GENERATE}/{endpoint}",
        headers={
            "authorization": f"Bearer {emu.api_key('stability')}",
            "accept": accept,
            **headers,
        },
        # The docs' Python samples send files={"none": ""} to force multipart.
        files=files or {"none": ""},
        data=data,
    )


def test_the_documented_sd3_curl_returns_jpeg_labelled_bytes(
    fresh_emu: Emulator, client: httpx.Client
) -> None:
    """The docs' sd3 curl (model, 16:9, jpeg, accept image/*) answers 200 image bytes with
    content-type image/jpeg, finish-reason SUCCESS, a numeric seed and x-request-id."""
    response = post(
        client,
        fresh_emu,
        "sd3",
        {
            "prompt": "Lighthouse on a cliff overlooking the ocean",
            "model": "sd3.5-large",
            "aspect_ratio": "16:9",
            "output_format": "jpeg",
        },
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/jpeg"
    assert response.headers["finish-reason"] == "SUCCESS"
    assert response.headers["seed"].isdigit()
    assert len(response.headers["x-request-id"]) == 32
    # PNG bytes under the requested label (documented emulator shortcut), 16:9 sized.
    assert sniff_mime(response.content) == "image/png"
    assert response.content[16:24] == (1344).to_bytes(4, "big") + (768).to_bytes(4, "big")
    [job] = fresh_emu.jobs("stability")
    assert (job.model, job.state, job.input["output_format"]) == (
        "sd3.5-large",
        "succeeded",
        "jpeg",
    )
    assert fresh_emu.stats() == EmulatorStats(submitted=1, completed=1)


@pytest.mark.parametrize(
    ("endpoint", "model"), [("ultra", "stable-image-ultra"), ("core", "stable-image-core")]
)
def test_json_accept_returns_base64_finish_reason_and_seed(
    fresh_emu: Emulator, client: httpx.Client, endpoint: str, model: str
) -> None:
    """accept application/json: {"image": base64 PNG, "finish_reason", "seed"} typed
    application/json; type=image/png, without the two headers; the seed sent comes back."""
    response = post(
        client, fresh_emu, endpoint, {"prompt": "a fox", "seed": "42"}, accept="application/json"
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json; type=image/png"
    assert "finish-reason" not in response.headers
    body = response.json()
    assert set(body) == {"image", "finish_reason", "seed"}
    assert (body["finish_reason"], body["seed"]) == ("SUCCESS", 42)
    assert sniff_mime(base64.b64decode(body["image"])) == "image/png"
    assert fresh_emu.jobs("stability")[0].model == model


def test_the_reply_is_held_until_the_job_ends(fresh_emu: Emulator, client: httpx.Client) -> None:
    """The create answers after the emulated queue and run time, not before."""
    fresh_emu.latency = Latency(queue_seconds=0.1, run_seconds=0.2)
    started = time.monotonic()
    assert post(client, fresh_emu, "core", {"prompt": "a fox"}).status_code == 200
    assert time.monotonic() - started >= 0.3


def test_image_to_image_takes_the_uploaded_file(fresh_emu: Emulator, client: httpx.Client) -> None:
    """curl -F image=@in.png -F strength=0.5 -F mode=image-to-image works on sd3 and ultra."""
    image = {"image": ("in.png", tiny_png(), "image/png")}
    sd3 = post(
        client,
        fresh_emu,
        "sd3",
        {"prompt": "a fox", "mode": "image-to-image", "strength": "0.5"},
        files=image,
    )
    ultra = post(client, fresh_emu, "ultra", {"prompt": "a fox", "strength": "0.5"}, files=image)
    assert (sd3.status_code, ultra.status_code) == (200, 200)
    assert fresh_emu.jobs("stability")[0].input["image"] == {
        "file_name": "in.png",
        "bytes": len(tiny_png()),
    }


@pytest.mark.parametrize(
    ("endpoint", "data", "with_image", "problem"),
    [
        ("core", {}, False, "prompt: is required"),
        ("core", {"prompt": "x", "aspect_ratio": "4:3"}, False, "aspect_ratio"),
        ("core", {"prompt": "x", "output_format": "gif"}, False, "output_format"),
        ("core", {"prompt": "x", "style_preset": "vaporwave"}, False, "style_preset"),
        ("core", {"prompt": "x", "seed": "4294967295"}, False, "seed"),
        ("sd3", {"prompt": "x", "model": "sd2"}, False, "model"),
        ("sd3", {"prompt": "x", "mode": "image-to-image"}, False, "image: is required"),
        ("sd3", {"prompt": "x", "cfg_scale": "11"}, False, "cfg_scale"),
        ("ultra", {"prompt": "x"}, True, "strength: is required"),
        ("core", {"prompt": "x", "strength": "0.5"}, True, "not accepted"),
    ],
)
def test_invalid_forms_are_400_bad_request_with_errors(
    fresh_emu: Emulator,
    client: httpx.Client,
    endpoint: str,
    data: dict[str, str],
    with_image: bool,
    problem: str,
) -> None:
    """Stability's validation: 400 {"id", "name": "bad_request", "errors": [...]}, no job."""
    files = {"image": ("in.png", tiny_png(), "image/png")} if with_image else None
    response = post(client, fresh_emu, endpoint, data, files=files)
    assert response.status_code == 400
    body = response.json()
    assert body["name"] == "bad_request"
    assert len(body["id"]) == 32
    assert any(problem in error for error in body["errors"]), body
    assert fresh_emu.stats().submitted == 0


def test_not_multipart_unknown_endpoint_and_too_large(emu: Emulator, client: httpx.Client) -> None:
    """A JSON body is 400, an unknown endpoint 404, a body over 10 MiB 413."""
    url = f"{emu.base_url('stability')}{GENERATE}"
    auth = {"authorization": f"Bearer {emu.api_key('stability')}"}
    assert client.post(f"{url}/core", json={"prompt": "x"}, headers=auth).status_code == 400
    assert client.post(f"{url}/sd4", files={"none": ""}, headers=auth).status_code == 404
    big = {"image": ("big.png", b"\0" * (10 * 1024 * 1024 + 1), "image/png")}
    too_large = client.post(f"{url}/ultra", files=big, data={"prompt": "x"}, headers=auth)
    assert too_large.status_code == 413
    assert too_large.json()["name"] == "payload_too_large"


@pytest.mark.parametrize(
    ("refusal", "status", "finish_reason"),
    [("content_moderation", 403, None), ("content_filtered", 200, "CONTENT_FILTERED")],
)
def test_content_refusal_is_moderation_or_content_filtered(
    client: httpx.Client, refusal: str, status: int, finish_reason: str | None
) -> None:
    """content_refusal answers 403 content_moderation (default), or, as configured, 200 with
    finish_reason CONTENT_FILTERED and an image; either way the job counts as failed."""
    options = StabilityOptions(refusal=refusal)  # type: ignore[arg-type]
    with Emulator(latency=Latency(0, 0.05), options=[options]) as emu:
        emu.inject(Fault("content_refusal", provider="stability"))
        response = post(client, emu, "core", {"prompt": "x"})
        assert response.status_code == status
        if finish_reason is None:
            body = response.json()
            assert body["name"] == "content_moderation"
            assert "flagged by our content moderation" in body["errors"][0]
        else:
            assert response.headers["finish-reason"] == finish_reason
            assert sniff_mime(response.content) == "image/png"
        assert emu.stats() == EmulatorStats(submitted=1, failed=1)


def test_a_stuck_job_is_held_past_max_hold_then_500(client: httpx.Client) -> None:
    """A stuck job's reply is held max_hold_seconds, then it is cancelled and answered 500."""
    with Emulator(
        latency=Latency(0, 0.05), options=[StabilityOptions(max_hold_seconds=0.3)]
    ) as emu:
        emu.inject(Fault("stuck", provider="stability"))
        response = post(client, emu, "core", {"prompt": "x"})
        assert response.status_code == 500
        assert response.json()["name"] == "internal_error"
        assert emu.stats() == EmulatorStats(submitted=1, cancelled=1)


def test_options_are_checked() -> None:
    """Bad option values fail at construction."""
    with pytest.raises(ValueError, match="refusal"):
        StabilityOptions(refusal="blur")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="max_hold_seconds"):
        StabilityOptions(max_hold_seconds=0)
