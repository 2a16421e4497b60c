"""fal's submit checks the body against the model's own schema (``contracts/fal.json``, from
the types fal generates for its JavaScript client) and answers as fal's FastAPI does."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tarash.emulator import Emulator, Latency
from tarash.emulator._contract import load_contract
from tarash.emulator.fal import FalOptions

from ._calls import fal_submit


def detail_of(response: httpx.Response) -> list[dict[str, Any]]:
    assert response.status_code == 422, response.text
    detail: list[dict[str, Any]] = response.json()["detail"]
    return detail


def test_each_model_names_the_commit_it_was_read_at() -> None:
    """The contract says its source and date, and each model the fal-js commit it came from."""
    contract = load_contract("fal")
    assert contract["source"].startswith("https://github.com/fal-ai/fal-js/")
    assert contract["read"] == "2026-12-07"
    assert all(len(model["source"]) == 40 for model in contract["models"].values())
    assert "aspect_ratio" not in contract["models"]["fal-ai/flux-pro/v1.1"]["properties"]


def test_a_body_the_schema_takes_is_queued(emu: Emulator, client: httpx.Client) -> None:
    """A Veo 3 body with the schema's own values is accepted."""
    body = {"prompt": "a cat", "duration": "8s", "aspect_ratio": "16:9", "generate_audio": True}
    assert fal_submit(client, emu, "fal-ai/veo3", body).status_code == 200


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({}, {"loc": ["body", "prompt"], "msg": "field required", "type": "value_error.missing"}),
        (
            {"prompt": "x", "fps": 24},
            {
                "loc": ["body", "fps"],
                "msg": "extra fields not permitted",
                "type": "value_error.extra",
            },
        ),
        (
            {"prompt": "x", "generate_audio": "yes"},
            {
                "loc": ["body", "generate_audio"],
                "msg": "value could not be parsed to a boolean",
                "type": "type_error.bool",
            },
        ),
        (
            {"prompt": "x", "duration": "6"},
            {
                "loc": ["body", "duration"],
                "msg": "unexpected value; permitted: '4s', '6s', '8s'",
                "type": "value_error.const",
                "ctx": {"given": "6", "permitted": ["4s", "6s", "8s"]},
            },
        ),
    ],
)
def test_a_body_that_breaks_the_schema_is_422(
    emu: Emulator, client: httpx.Client, body: dict[str, Any], expected: dict[str, Any]
) -> None:
    """Missing, unknown, wrongly typed and unlisted values get pydantic's 422 ``detail``."""
    assert detail_of(fal_submit(client, emu, "fal-ai/veo3", body)) == [expected]


def test_every_issue_is_listed(emu: Emulator, client: httpx.Client) -> None:
    """As pydantic does, the 422 lists every broken field, not only the first."""
    body = {"seed": "one", "colour": "red"}
    locs = [entry["loc"] for entry in detail_of(fal_submit(client, emu, "fal-ai/flux/dev", body))]
    assert locs == [["body", "prompt"], ["body", "seed"], ["body", "colour"]]


def test_optional_fields_take_null(emu: Emulator, client: httpx.Client) -> None:
    """An optional field sent as ``null`` is its default, as fal's pydantic models read it."""
    body = {"prompt": "x", "seed": None, "negative_prompt": None}
    assert fal_submit(client, emu, "fal-ai/veo3", body).status_code == 200


def test_an_unknown_model_is_not_found(emu: Emulator, client: httpx.Client) -> None:
    """A model id fal does not publish is a 404 with fal's ``detail`` string."""
    response = fal_submit(client, emu, "fal-ai/veo9")
    assert response.status_code == 404
    assert response.json() == {"detail": "Application 'fal-ai/veo9' not found"}


def test_declared_and_workflow_models_are_served(client: httpx.Client) -> None:
    """A model in ``media_kinds`` and a user's workflow app are served without a schema."""
    options = [FalOptions(media_kinds={"acme/painter": "image"})]
    with Emulator(latency=Latency(0, 0.02), options=options) as emu:
        assert fal_submit(client, emu, "acme/painter", {"any": 1}).status_code == 200
        assert fal_submit(client, emu, "workflows/me/flow", {"any": 1}).status_code == 200
        assert fal_submit(client, emu, "acme/other").status_code == 404


def test_lenient_names_only_known_client_bugs() -> None:
    """A leniency that names no known client bug is refused when the options are made."""
    with pytest.raises(ValueError, match="no known fal client bug"):
        FalOptions(lenient=frozenset({"anything-goes"}))
