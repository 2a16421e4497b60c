"""OpenAI's routes check a body against OpenAI's own contract (``contracts/openai.json``) and
refuse what the real API refuses, in its words."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tarash.emulator import Emulator
from tarash.emulator._contract import load_contract
from tarash.tarash_gateway._sample_media import make_png


def auth(emu: Emulator) -> dict[str, str]:
    return {"Authorization": f"Bearer {emu.api_key('openai')}"}


def error_of(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 400, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    return error


def test_the_contract_names_its_source_and_date() -> None:
    """The contract file says where it was read from (OpenAI's OpenAPI repo) and when."""
    contract = load_contract("openai")
    assert contract["source"].startswith("https://github.com/openai/openai-openapi/")
    assert contract["read"] == "2026-12-07"
    assert "video_id" not in contract["bodies"]["videos.json"]["properties"]


def test_an_unknown_video_field_is_unknown_parameter(emu: Emulator, client: httpx.Client) -> None:
    """A remix's ``video_id`` in a fresh create is OpenAI's 400 ``unknown_parameter``."""
    url = f"{emu.base_url('openai')}/videos"
    body = {"prompt": "x", "video_id": "video_123"}
    error = error_of(client.post(url, json=body, headers=auth(emu)))
    assert error["code"] == "unknown_parameter"
    assert error["param"] == "video_id"
    assert error["message"] == "Unknown parameter: 'video_id'."
    assert client.post(url, json={"prompt": "x"}, headers=auth(emu)).status_code == 200


def test_an_unknown_multipart_field_is_refused(emu: Emulator, client: httpx.Client) -> None:
    """The multipart create is checked the same way, its form values read as their types."""
    url = f"{emu.base_url('openai')}/videos"
    files = {"input_reference": ("f.png", make_png(720, 1280), "image/png")}
    ok = client.post(url, data={"prompt": "x", "seconds": "8"}, files=files, headers=auth(emu))
    assert ok.status_code == 200, ok.text
    bad = client.post(url, data={"prompt": "x", "fps": "24"}, files=files, headers=auth(emu))
    assert error_of(bad)["param"] == "fps"


def test_a_nested_unknown_field_names_its_path(emu: Emulator, client: httpx.Client) -> None:
    """An unknown key inside ``input_reference`` is refused with its dotted path."""
    url = f"{emu.base_url('openai')}/videos"
    body = {"prompt": "x", "input_reference": {"file_id": "file-1", "detail": "high"}}
    error = error_of(client.post(url, json=body, headers=auth(emu)))
    assert (error["code"], error["param"]) == ("unknown_parameter", "input_reference.detail")


def test_a_prompt_over_its_length_is_refused(emu: Emulator, client: httpx.Client) -> None:
    """``prompt`` is at most 32000 characters: longer is ``string_above_max_length``."""
    url = f"{emu.base_url('openai')}/videos"
    error = error_of(client.post(url, json={"prompt": "x" * 32001}, headers=auth(emu)))
    assert (error["code"], error["param"]) == ("string_above_max_length", "prompt")


@pytest.mark.parametrize(
    ("body", "code", "param"),
    [
        ({"n": 0}, "integer_below_min_value", "n"),
        ({"n": 11}, "integer_above_max_value", "n"),
        ({"n": "two"}, "invalid_type", "n"),
        ({"quality": "ultra"}, "invalid_value", "quality"),
        ({"aspect_ratio": "16:9"}, "unknown_parameter", "aspect_ratio"),
        ({"model": "gpt-image-9"}, "invalid_value", "model"),
    ],
)
def test_image_generations_keep_the_contract(
    emu: Emulator, client: httpx.Client, body: dict[str, Any], code: str, param: str
) -> None:
    """Out-of-range, wrongly typed, unlisted and unknown image fields get OpenAI's 400."""
    url = f"{emu.base_url('openai')}/images/generations"
    sent = {"prompt": "x", "model": "gpt-image-1", **body}
    error = error_of(client.post(url, json=sent, headers=auth(emu)))
    assert (error["code"], error["param"]) == (code, param)


def test_image_edits_are_checked_in_both_encodings(emu: Emulator, client: httpx.Client) -> None:
    """A JSON edit takes ``images``; a multipart edit takes ``image[]`` files; extras refused."""
    url = f"{emu.base_url('openai')}/images/edits"
    body = {"prompt": "x", "model": "gpt-image-1", "images": [{"image_url": "https://e/x.png"}]}
    assert client.post(url, json=body, headers=auth(emu)).status_code == 200
    error = error_of(client.post(url, json={**body, "style": "vivid"}, headers=auth(emu)))
    assert error["param"] == "style"
    files = {"image[]": ("a.png", make_png(8, 8), "image/png")}
    data = {"prompt": "x", "model": "gpt-image-1", "n": "2"}
    assert client.post(url, data=data, files=files, headers=auth(emu)).status_code == 200
    bad = client.post(url, data={**data, "seed": "3"}, files=files, headers=auth(emu))
    assert error_of(bad)["code"] == "unknown_parameter"
