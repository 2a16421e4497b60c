"""Replicate predictions protocol: create, poll, Prefer: wait, Cancel-After, cancel, list, auth."""

from __future__ import annotations

import base64
import threading
import time

import httpx
import pytest

from tarash.emulator import Emulator, Latency, ReplicateOptions

from ._calls import replicate_auth, replicate_create, replicate_wait

HEX = "a" * 64


def test_create_for_model_returns_201_prediction(emu: Emulator, client: httpx.Client) -> None:
    """Model-endpoint creates answer 201 with version "hidden" and URLs back to the emulator."""
    response = replicate_create(client, emu)
    assert response.status_code == 201
    body = response.json()
    assert (body["model"], body["version"], body["status"]) == (
        "google/veo-3",
        "hidden",
        "starting",
    )
    assert body["input"] == {"prompt": "a cat"}
    assert body["output"] is None
    assert body["error"] is None
    assert body["logs"] == ""
    base = emu.base_url("replicate")
    assert body["urls"]["get"] == f"{base}/v1/predictions/{body['id']}"
    assert body["urls"]["cancel"] == f"{base}/v1/predictions/{body['id']}/cancel"
    assert set(body["urls"]) == {"get", "cancel", "stream", "web"}


@pytest.mark.parametrize(
    ("version", "model", "reported"),
    [
        (f"acme/model:{HEX}", "acme/model", HEX),
        ("google/veo-3", "google/veo-3", "hidden"),
        (HEX, "emulator/unknown", HEX),
    ],
)
def test_create_by_version_forms(
    emu: Emulator, client: httpx.Client, version: str, model: str, reported: str
) -> None:
    """``version`` may be 64-hex, ``owner/name:hex`` or ``owner/name``."""
    response = client.post(
        f"{emu.base_url('replicate')}/v1/predictions",
        json={"version": version, "input": {"prompt": "x"}},
        headers=replicate_auth(emu),
    )
    assert response.status_code == 201
    assert (response.json()["model"], response.json()["version"]) == (model, reported)


def test_invalid_version_is_422(emu: Emulator, client: httpx.Client) -> None:
    """An unparseable version is the 422 "Invalid version or not permitted"."""
    response = client.post(
        f"{emu.base_url('replicate')}/v1/predictions",
        json={"version": "not a version", "input": {}},
        headers=replicate_auth(emu),
    )
    assert response.status_code == 422
    assert response.json()["title"] == "Invalid version or not permitted"


def test_missing_input_is_422_validation(emu: Emulator, client: httpx.Client) -> None:
    """A create without ``input`` is 422 with ``invalid_fields``."""
    response = replicate_create(client, emu, body={})
    assert response.status_code == 422
    body = response.json()
    assert (body["status"], body["title"]) == (422, "Input validation failed")
    assert body["invalid_fields"][0]["type"] == "required"


def test_poll_to_succeeded_with_video_url(emu: Emulator, client: httpx.Client) -> None:
    """A video model ends succeeded with one URL string, metrics and timestamps."""
    created = replicate_create(client, emu).json()
    done = replicate_wait(client, emu, created["urls"]["get"])
    assert done["status"] == "succeeded"
    assert isinstance(done["output"], str)
    assert client.get(done["output"]).content[4:8] == b"ftyp"
    assert done["started_at"] and done["completed_at"]
    assert set(done["metrics"]) == {"predict_time", "total_time"}
    assert "100%|##########| 100/100" in done["logs"]


def test_processing_logs_carry_a_progress_bar(emu: Emulator, client: httpx.Client) -> None:
    """While processing, the last log line is a tqdm-style ``NN%|bar| cur/total``."""
    emu.latency = Latency(queue_seconds=0, run_seconds=2)
    created = replicate_create(client, emu).json()
    time.sleep(0.1)  # into the run (the state comes from the emulator's clock, not a task)
    body = client.get(created["urls"]["get"], headers=replicate_auth(emu)).json()
    assert body["status"] == "processing"
    assert "%|" in body["logs"].splitlines()[-1]
    client.post(created["urls"]["cancel"], headers=replicate_auth(emu))


def test_image_model_outputs_a_list(emu: Emulator, client: httpx.Client) -> None:
    """Image models (flux, sdxl, ...) output a list of URLs, one per ``num_outputs``."""
    created = replicate_create(
        client, emu, "black-forest-labs/flux-schnell", {"input": {"prompt": "x", "num_outputs": 2}}
    ).json()
    done = replicate_wait(client, emu, created["urls"]["get"])
    assert len(done["output"]) == 2
    assert client.get(done["output"][0]).headers["content-type"] == "image/png"


def test_prefer_wait_holds_until_terminal(emu: Emulator, client: httpx.Client) -> None:
    """``Prefer: wait`` answers once the prediction succeeded."""
    response = replicate_create(client, emu, headers={"Prefer": "wait"})
    assert response.status_code == 201
    assert response.json()["status"] == "succeeded"
    assert response.json()["output"]


def test_prefer_wait_timeout_answers_starting(emu: Emulator, client: httpx.Client) -> None:
    """When ``Prefer: wait=N`` runs out the reply says "starting" even if it is processing."""
    emu.latency = Latency(queue_seconds=0, run_seconds=5)
    started = time.monotonic()
    body = replicate_create(client, emu, headers={"Prefer": "wait=1"}).json()
    assert 0.9 <= time.monotonic() - started < 3
    assert body["status"] == "starting"
    client.post(body["urls"]["cancel"], headers=replicate_auth(emu))


def test_prefer_wait_returns_early_on_cancel(fresh_emu: Emulator) -> None:
    """A held create is released as soon as another request cancels the prediction (on an
    emulator of its own: a shared one's last running job may be an earlier test's)."""
    emu = fresh_emu
    emu.latency = Latency(queue_seconds=0, run_seconds=30)
    with httpx.Client(timeout=10) as held, httpx.Client(timeout=10) as other:
        result: dict[str, httpx.Response] = {}
        thread = threading.Thread(
            target=lambda: result.update(
                r=replicate_create(held, emu, headers={"Prefer": "wait=30"})
            )
        )
        started = time.monotonic()
        thread.start()
        while not emu.jobs("replicate") or emu.jobs("replicate")[-1].state != "running":
            time.sleep(0.01)
        job_id = emu.jobs("replicate")[-1].id
        other.post(
            f"{emu.base_url('replicate')}/v1/predictions/{job_id}/cancel",
            headers=replicate_auth(emu),
        )
        thread.join(10)
    assert result["r"].json()["status"] == "canceled"
    assert time.monotonic() - started < 5


def test_cancel_returns_canceled_prediction(fresh_emu: Emulator, client: httpx.Client) -> None:
    """Cancel returns the prediction with status canceled; stats count it cancelled."""
    fresh_emu.latency = Latency(queue_seconds=5, run_seconds=5)
    created = replicate_create(client, fresh_emu).json()
    response = client.post(created["urls"]["cancel"], headers=replicate_auth(fresh_emu))
    assert (response.status_code, response.json()["status"]) == (200, "canceled")
    again = client.post(created["urls"]["cancel"], headers=replicate_auth(fresh_emu))
    assert again.json()["status"] == "canceled"
    stats = fresh_emu.stats("replicate")
    assert (stats.running, stats.cancelled) == (0, 1)


def test_cancel_after_before_start_aborts(fresh_emu: Emulator, client: httpx.Client) -> None:
    """``Cancel-After`` passing while queued ends the prediction ``aborted`` with a deadline."""
    fresh_emu.latency = Latency(queue_seconds=5, run_seconds=1)
    created = replicate_create(client, fresh_emu, headers={"Cancel-After": "200ms"}).json()
    assert created["deadline"]
    done = replicate_wait(client, fresh_emu, created["urls"]["get"])
    assert done["status"] == "aborted"
    assert fresh_emu.jobs()[0].headers["cancel-after"] == "200ms"
    assert fresh_emu.stats().running == 0


def test_cancel_after_while_running_cancels(emu: Emulator, client: httpx.Client) -> None:
    """``Cancel-After`` passing while processing ends the prediction ``canceled``."""
    emu.latency = Latency(queue_seconds=0, run_seconds=5)
    created = replicate_create(client, emu, headers={"Cancel-After": "0.3s"}).json()
    assert replicate_wait(client, emu, created["urls"]["get"])["status"] == "canceled"


def test_bad_cancel_after_is_400(emu: Emulator, client: httpx.Client) -> None:
    """A ``Cancel-After`` that is not a duration is rejected."""
    assert replicate_create(client, emu, headers={"Cancel-After": "soon"}).status_code == 400


def test_list_pages_newest_first(fresh_emu: Emulator, client: httpx.Client) -> None:
    """``GET /v1/predictions`` is a cursor page, newest first."""
    ids = [replicate_create(client, fresh_emu).json()["id"] for _ in range(3)]
    page = client.get(
        f"{fresh_emu.base_url('replicate')}/v1/predictions", headers=replicate_auth(fresh_emu)
    ).json()
    assert [p["id"] for p in page["results"]] == ids[::-1]
    assert page["next"] is None
    assert page["previous"] is None


def test_data_uri_output(client: httpx.Client) -> None:
    """ReplicateOptions(output="data_uri") puts a base64 ``data:video/mp4`` URI in ``output``."""
    with Emulator(latency=Latency(0, 0.05), options=[ReplicateOptions(output="data_uri")]) as emu:
        body = replicate_create(client, emu, headers={"Prefer": "wait"}).json()
    prefix, _, payload = body["output"].partition(",")
    assert prefix == "data:video/mp4;base64"
    assert base64.b64decode(payload)[4:8] == b"ftyp"


def test_stream_sends_output_then_done(emu: Emulator, client: httpx.Client) -> None:
    """The ``urls.stream`` SSE sends the output and a ``done`` event."""
    created = replicate_create(client, emu).json()
    with client.stream("GET", created["urls"]["stream"]) as stream:
        text = stream.read().decode()
    assert "event: output" in text
    assert text.rstrip().endswith("event: done\ndata: {}")


def test_refused_auth_has_the_problem_body(emu: Emulator, client: httpx.Client) -> None:
    """A refused create answers Replicate's problem JSON (which refusals: test_contract.py)."""
    response = client.post(
        f"{emu.base_url('replicate')}/v1/models/a/b/predictions", json={"input": {}}
    )
    assert response.status_code == 401
    assert response.json() == {
        "title": "Unauthenticated",
        "detail": "You did not pass a valid authentication token",
        "status": 401,
    }


def test_legacy_token_scheme_is_accepted(emu: Emulator, client: httpx.Client) -> None:
    """``Authorization: Token <k>`` still works."""
    response = replicate_create(
        client, emu, headers={"Authorization": f"Token {emu.api_key('replicate')}"}
    )
    assert response.status_code == 201
