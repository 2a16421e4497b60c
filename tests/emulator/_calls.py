"""Small raw-HTTP helpers shared by the emulator tests."""

from __future__ import annotations

import time
from typing import Any

import httpx

from tarash.emulator import Emulator


def fal_auth(emu: Emulator) -> dict[str, str]:
    """fal's ``Authorization: Key`` header."""
    return {"Authorization": f"Key {emu.api_key('fal')}"}


def replicate_auth(emu: Emulator) -> dict[str, str]:
    """Replicate's ``Authorization: Bearer`` header."""
    return {"Authorization": f"Bearer {emu.api_key('replicate')}"}


def fal_submit(
    client: httpx.Client,
    emu: Emulator,
    model: str = "fal-ai/veo3",
    body: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """``POST {base}/{model}``."""
    return client.post(
        f"{emu.base_url('fal')}/{model}",
        json=body if body is not None else {"prompt": "a cat"},
        headers={**fal_auth(emu), **(headers or {})},
    )


def fal_wait(
    client: httpx.Client, emu: Emulator, status_url: str, limit: float = 10
) -> dict[str, Any]:
    """Poll a fal status URL until COMPLETED; returns the last status body."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        body: dict[str, Any] = client.get(status_url, headers=fal_auth(emu)).json()
        if body["status"] == "COMPLETED":
            return body
        time.sleep(0.02)
    raise AssertionError("fal job did not complete")


def replicate_create(
    client: httpx.Client,
    emu: Emulator,
    model: str = "google/veo-3",
    body: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """``POST /v1/models/{model}/predictions``."""
    return client.post(
        f"{emu.base_url('replicate')}/v1/models/{model}/predictions",
        json=body if body is not None else {"input": {"prompt": "a cat"}},
        headers={**replicate_auth(emu), **(headers or {})},
    )


def replicate_wait(
    client: httpx.Client, emu: Emulator, url: str, limit: float = 10
) -> dict[str, Any]:
    """Poll a prediction until it is terminal; returns it."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        body: dict[str, Any] = client.get(url, headers=replicate_auth(emu)).json()
        if body["status"] not in ("starting", "processing"):
            return body
        time.sleep(0.02)
    raise AssertionError("prediction did not finish")
