"""OpenRouter's emulation on the wire: the strict body check with OpenRouter's own error
body, the models endpoint (public), the job's statuses, ``/content`` behind the key, and
no cancel route."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tarash.emulator import Emulator, Fault, Latency
from tarash.emulator.openrouter import models
from tarash.tarash_gateway.media import sniff_mime

BODY = {"model": "google/veo-3.1", "prompt": "a cat", "duration": 4}


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator(latency=Latency(queue_seconds=0.02, run_seconds=0.05)) as emulator:
        yield emulator


def headers(emu: Emulator) -> dict[str, str]:
    return {"Authorization": f"Bearer {emu.api_key('openrouter')}"}


def create(emu: Emulator, body: Any) -> httpx.Response:
    return httpx.post(f"{emu.base_url('openrouter')}/videos", json=body, headers=headers(emu))


def wait_terminal(emu: Emulator, job_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        body: dict[str, Any] = httpx.get(
            f"{emu.base_url('openrouter')}/videos/{job_id}", headers=headers(emu)
        ).json()
        if body["status"] not in ("pending", "in_progress"):
            return body
        time.sleep(0.02)
    raise AssertionError("the job did not end")


def test_a_job_completes_and_its_content_needs_the_key(emu: Emulator) -> None:
    reply = create(emu, BODY)
    assert reply.status_code == 202 and reply.json()["status"] == "pending"
    job_id = reply.json()["id"]
    done = wait_terminal(emu, job_id)
    assert done["status"] == "completed" and done["usage"]["cost"] == pytest.approx(1.6)
    url = done["unsigned_urls"][0]
    assert httpx.get(url).status_code == 401
    video = httpx.get(url, headers=headers(emu))
    assert video.headers["content-type"] == "video/mp4"
    assert sniff_mime(video.content) == "video/mp4"


def test_the_models_endpoint_is_public_and_lists_the_contracts_catalog(emu: Emulator) -> None:
    reply = httpx.get(f"{emu.base_url('openrouter')}/videos/models")
    ids = [model["id"] for model in reply.json()["data"]]
    assert reply.status_code == 200 and ids == list(models())
    assert all("per-video-second" in model["pricing_skus"] for model in reply.json()["data"])


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({**BODY, "frames": []}, "frames is unknown"),
        ({**BODY, "duration": "4"}, "duration is type"),
        ({"model": "google/veo-3.1"}, "prompt is missing"),
        ({**BODY, "duration": 5}, "duration 5 is not supported by google/veo-3.1"),
        ({**BODY, "model": "acme/nope"}, "acme/nope is not a valid video model ID"),
        ({**BODY, "model": "openai/sora-2-pro", "seed": 1}, "seed is not supported"),
    ],
)
def test_a_body_breaking_the_contract_is_openrouters_400(
    emu: Emulator, body: dict[str, Any], words: str
) -> None:
    before = len(emu.jobs("openrouter"))
    reply = create(emu, body)
    assert reply.status_code == 400
    error = reply.json()["error"]
    assert error["code"] == 400 and words in error["message"]
    assert len(emu.jobs("openrouter")) == before


def test_a_wrong_key_is_a_401_and_there_is_no_cancel_route(emu: Emulator) -> None:
    reply = httpx.post(
        f"{emu.base_url('openrouter')}/videos", json=BODY, headers={"Authorization": "Bearer x"}
    )
    assert reply.status_code == 401 and reply.json()["error"]["code"] == 401
    job_id = create(emu, BODY).json()["id"]
    cancel = httpx.delete(f"{emu.base_url('openrouter')}/videos/{job_id}", headers=headers(emu))
    assert cancel.status_code == 405


def test_a_failed_job_names_its_error(emu: Emulator) -> None:
    emu.inject(Fault("job_failure", provider="openrouter"))
    try:
        done = wait_terminal(emu, create(emu, BODY).json()["id"])
    finally:
        emu.clear_faults()
    assert done["status"] == "failed" and isinstance(done["error"], str) and done["error"]
