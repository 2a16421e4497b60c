"""Runway's creates check the body against Runway's own contract (``contracts/runway.json``,
from the TypedDicts its SDK generates from its OpenAPI) and refuse with its zod issues."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tarash.emulator import Emulator, Latency, RunwayOptions
from tarash.emulator._contract import load_contract


def headers(emu: Emulator) -> dict[str, str]:
    return {"Authorization": f"Bearer {emu.api_key('runway')}", "X-Runway-Version": "2024-11-06"}


def create(client: httpx.Client, emu: Emulator, endpoint: str, body: dict[str, Any]) -> Any:
    return client.post(f"{emu.base_url('runway')}/v1/{endpoint}", json=body, headers=headers(emu))


def issues_of(response: httpx.Response) -> list[dict[str, Any]]:
    assert response.status_code == 400, response.text
    body: dict[str, Any] = response.json()
    assert body["error"] == "Validation of body failed"
    issues: list[dict[str, Any]] = body["issues"]
    return issues


GEN45 = {"model": "gen4.5", "promptText": "a cat", "duration": 5, "ratio": "1280:720"}


def test_the_contract_names_its_source_and_date() -> None:
    """Runway's contract comes from its SDK at a commit, read 2026-12-07, with its version."""
    contract = load_contract("runway")
    assert contract["source"].startswith("https://github.com/runwayml/sdk-python/tree/")
    assert (contract["read"], contract["api_versions"]) == ("2026-12-07", ["2024-11-06"])
    assert "gen4_turbo" not in contract["endpoints"]["text_to_video"]


def test_a_body_the_model_takes_is_accepted(emu: Emulator, client: httpx.Client) -> None:
    """gen4.5 with a ratio and duration it takes is a task."""
    assert create(client, emu, "text_to_video", GEN45).status_code == 200


@pytest.mark.parametrize(
    ("change", "issue"),
    [
        (
            {"fps": 24},
            {
                "code": "unrecognized_keys",
                "keys": ["fps"],
                "path": [],
                "message": 'Unrecognized key: "fps"',
            },
        ),
        (
            {"duration": 11},
            {
                "code": "too_big",
                "origin": "number",
                "maximum": 10,
                "inclusive": True,
                "path": ["duration"],
                "message": "Too big: expected number to be <=10",
            },
        ),
        (
            {"ratio": "1104:832"},
            {
                "code": "invalid_value",
                "values": ["1280:720", "720:1280"],
                "path": ["ratio"],
                "message": 'Invalid option: expected one of "1280:720"|"720:1280"',
            },
        ),
        (
            {"seed": "7"},
            {
                "code": "invalid_type",
                "expected": "number",
                "path": ["seed"],
                "message": "Invalid input: expected number, received string",
            },
        ),
    ],
)
def test_a_body_that_breaks_the_contract_is_400(
    emu: Emulator, client: httpx.Client, change: dict[str, Any], issue: dict[str, Any]
) -> None:
    """Unknown keys, out-of-range, unlisted and wrongly typed values: Runway's zod issues."""
    assert issues_of(create(client, emu, "text_to_video", {**GEN45, **change})) == [issue]


def test_a_model_is_taken_only_where_runway_takes_it(emu: Emulator, client: httpx.Client) -> None:
    """gen4_turbo is image_to_video's only: on text_to_video it is an invalid ``model``."""
    body = {"model": "gen4_turbo", "promptText": "a cat", "duration": 5, "ratio": "1280:720"}
    (issue,) = issues_of(create(client, emu, "text_to_video", body))
    assert (issue["code"], issue["path"]) == ("invalid_value", ["model"])
    image = {**body, "promptImage": "https://example.com/cat.png"}
    assert create(client, emu, "image_to_video", image).status_code == 200


def test_a_named_client_bug_is_let_through(client: httpx.Client) -> None:
    """The retired gen3a_turbo is refused as Runway refuses it, unless a test names the
    client's known bug (``gen3a-turbo-retired``)."""
    body = {"model": "gen3a_turbo", "promptText": "a cat", "duration": 5, "ratio": "1280:768"}
    with Emulator(latency=Latency(0, 0.02)) as strict:
        (issue,) = issues_of(create(client, strict, "text_to_video", body))
        assert issue["path"] == ["model"]
    options = [RunwayOptions(lenient=frozenset({"gen3a-turbo-retired"}))]
    with Emulator(latency=Latency(0, 0.02), options=options) as emu:
        assert create(client, emu, "text_to_video", body).status_code == 200
