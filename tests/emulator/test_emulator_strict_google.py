"""Google's Veo routes check the body against the fields each API takes
(``contracts/google.json``: where the official google-genai SDK writes them for the Gemini
API and for Vertex AI) and refuse the rest with Google's 400 ``INVALID_ARGUMENT``."""

from __future__ import annotations

from typing import Any

import httpx

from tarash.emulator import Emulator
from tarash.emulator._contract import load_contract

PROJECT = "projects/my-project/locations/us-central1"


def gemini(client: httpx.Client, emu: Emulator, body: dict[str, Any]) -> httpx.Response:
    url = f"{emu.base_url('google')}/models/veo-3.1-generate-preview:predictLongRunning"
    return client.post(url, json=body, headers={"x-goog-api-key": emu.api_key("google")})


def vertex(client: httpx.Client, emu: Emulator, body: dict[str, Any]) -> httpx.Response:
    url = (
        f"{emu.url}/google/v1beta1/{PROJECT}/publishers/google/models/"
        "veo-3.1-generate-001:predictLongRunning"
    )
    return client.post(url, json=body, headers={"Authorization": f"Bearer {emu.api_key('google')}"})


def error_of(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 400, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["status"] == "INVALID_ARGUMENT"
    return error


def test_the_contract_names_its_source_and_date() -> None:
    """The Veo bodies come from python-genai at a commit, read 2026-12-07."""
    contract = load_contract("google")
    assert contract["source"].startswith("https://github.com/googleapis/python-genai/tree/")
    assert contract["read"] == "2026-12-07"
    gemini_parameters = contract["bodies"]["gemini.predictLongRunning"]["properties"]
    assert "seed" not in gemini_parameters["parameters"]["properties"]


def test_an_unknown_parameter_is_invalid_argument(emu: Emulator, client: httpx.Client) -> None:
    """A parameter the Gemini API does not take (Vertex's ``seed``) is refused by name."""
    body = {"instances": [{"prompt": "a cat"}], "parameters": {"durationSeconds": 8, "seed": 7}}
    error = error_of(gemini(client, emu, body))
    assert error["message"] == (
        "Invalid JSON payload received. Unknown name \"seed\" at 'parameters': Cannot find field."
    )
    (violation,) = error["details"][0]["fieldViolations"]
    assert violation["field"] == "parameters.seed"
    ok = {"instances": [{"prompt": "a cat"}], "parameters": {"durationSeconds": 8}}
    assert gemini(client, emu, ok).status_code == 200


def test_vertex_takes_its_own_parameters(emu: Emulator, client: httpx.Client) -> None:
    """Vertex AI takes ``seed`` and ``generateAudio``; an unknown instance field is refused."""
    parameters = {"durationSeconds": 8, "seed": 7, "generateAudio": True}
    body = {"instances": [{"prompt": "a cat"}], "parameters": parameters}
    assert vertex(client, emu, body).status_code == 200, vertex(client, emu, body).text
    bad = {"instances": [{"prompt": "a cat", "style": "noir"}], "parameters": parameters}
    (violation,) = error_of(vertex(client, emu, bad))["details"][0]["fieldViolations"]
    assert violation["field"] == "instances[0].style"


def test_a_wrong_type_is_invalid_argument(emu: Emulator, client: httpx.Client) -> None:
    """``enhancePrompt`` must be a boolean."""
    body = {"instances": [{"prompt": "a cat"}], "parameters": {"enhancePrompt": "yes"}}
    error = error_of(gemini(client, emu, body))
    assert error["details"][0]["fieldViolations"][0]["field"] == "parameters.enhancePrompt"


def test_generate_content_keeps_the_gemini_contract(emu: Emulator, client: httpx.Client) -> None:
    """An unknown generationConfig field is refused by path; a proto's snake_case name is
    its field, as Google's JSON parser reads it."""
    url = f"{emu.base_url('google')}/models/gemini-3.1-flash-image:generateContent"
    headers = {"x-goog-api-key": emu.api_key("google")}
    config = {"responseModalities": ["IMAGE"], "imageConfig": {"aspectRatio": "16:9"}}
    body = {"contents": [{"parts": [{"text": "a cat"}]}], "generationConfig": config}
    assert client.post(url, json=body, headers=headers).status_code == 200
    snake = {**body, "generation_config": config}
    del snake["generationConfig"]
    assert client.post(url, json=snake, headers=headers).status_code == 200
    bad = {**body, "generationConfig": {**config, "style": "noir"}}
    error = error_of(client.post(url, json=bad, headers=headers))
    assert error["details"][0]["fieldViolations"][0]["field"] == "generationConfig.style"
