"""Fault injection: every kind, on both providers, by plan and by header."""

from __future__ import annotations

import json
import threading

import httpx
import pytest

from tarash.emulator import FAULT_HEADER, Emulator, Fault, Latency

from ._calls import fal_auth, fal_submit, fal_wait, replicate_create, replicate_wait


def test_rate_limit_fal(emu: Emulator, client: httpx.Client) -> None:
    """rate_limit is a 429 with Retry-After and a fal ``detail`` body, once."""
    emu.inject(Fault("rate_limit", provider="fal", operation="submit", retry_after=3))
    limited = fal_submit(client, emu)
    assert limited.status_code == 429
    assert limited.headers["retry-after"] == "3"
    assert "detail" in limited.json()
    assert fal_submit(client, emu).status_code == 200


def test_rate_limit_replicate(emu: Emulator, client: httpx.Client) -> None:
    """rate_limit on Replicate uses its throttling body."""
    emu.inject(Fault("rate_limit", provider="replicate", retry_after=0))
    limited = replicate_create(client, emu)
    assert limited.status_code == 429
    assert limited.headers["retry-after"] == "0"
    assert limited.json()["detail"].startswith("Request was throttled.")


@pytest.mark.parametrize("provider", ["fal", "replicate"])
def test_server_error_with_status(fresh_emu: Emulator, client: httpx.Client, provider: str) -> None:
    """server_error answers the given 5xx and creates no job."""
    fresh_emu.inject(Fault("server_error", status_code=503))
    response = (
        fal_submit(client, fresh_emu) if provider == "fal" else replicate_create(client, fresh_emu)
    )
    assert response.status_code == 503
    assert fresh_emu.stats().submitted == 0


@pytest.mark.parametrize("provider", ["fal", "replicate"])
def test_drop_connection_on_submit(
    fresh_emu: Emulator, client: httpx.Client, provider: str
) -> None:
    """drop_connection is a transport error for the client and no job server-side."""
    fresh_emu.inject(Fault("drop_connection", operation="submit"))
    with pytest.raises(httpx.RemoteProtocolError):
        fal_submit(client, fresh_emu) if provider == "fal" else replicate_create(client, fresh_emu)
    assert fresh_emu.stats().submitted == 0


@pytest.mark.parametrize("provider", ["fal", "replicate"])
def test_drop_after_create_leaves_the_job(
    fresh_emu: Emulator, client: httpx.Client, provider: str
) -> None:
    """drop_after_create drops the reply but the job exists (and runs to completion)."""
    fresh_emu.inject(Fault("drop_after_create", provider=provider))
    with pytest.raises(httpx.RemoteProtocolError):
        fal_submit(client, fresh_emu) if provider == "fal" else replicate_create(client, fresh_emu)
    assert fresh_emu.stats(provider).submitted == 1
    assert fresh_emu.jobs(provider)[0].state in ("queued", "running")


def test_drop_connection_on_status(emu: Emulator, client: httpx.Client) -> None:
    """A status fault hits only status requests."""
    submitted = fal_submit(client, emu).json()
    emu.inject(Fault("drop_connection", operation="status"))
    with pytest.raises(httpx.RemoteProtocolError):
        client.get(submitted["status_url"], headers=fal_auth(emu))
    assert fal_wait(client, emu, submitted["status_url"])["status"] == "COMPLETED"


@pytest.mark.parametrize("provider", ["fal", "replicate"])
def test_malformed_json(emu: Emulator, client: httpx.Client, provider: str) -> None:
    """malformed_json is a 200 whose body does not parse."""
    emu.inject(Fault("malformed_json", provider=provider))
    response = fal_submit(client, emu) if provider == "fal" else replicate_create(client, emu)
    assert response.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        response.json()


def test_job_failure_fal(fresh_emu: Emulator, client: httpx.Client) -> None:
    """job_failure ends COMPLETED + error; the result is a 500 the SDK won't retry."""
    fresh_emu.inject(Fault("job_failure", provider="fal"))
    submitted = fal_submit(client, fresh_emu).json()
    status = fal_wait(client, fresh_emu, submitted["status_url"])
    assert status["error_type"] == "internal_server_error"
    result = client.get(submitted["response_url"], headers=fal_auth(fresh_emu))
    assert result.status_code == 500
    assert result.headers["x-fal-request-id"] == submitted["request_id"]
    assert fresh_emu.stats().failed == 1


def test_job_failure_replicate(emu: Emulator, client: httpx.Client) -> None:
    """job_failure ends the prediction failed with an error string."""
    emu.inject(Fault("job_failure", provider="replicate"))
    done = replicate_wait(client, emu, replicate_create(client, emu).json()["urls"]["get"])
    assert done["status"] == "failed"
    assert isinstance(done["error"], str)
    assert done["output"] is None


def test_content_refusal_fal(emu: Emulator, client: httpx.Client) -> None:
    """content_refusal: status error_type content_policy_violation; result 422 ``detail`` list."""
    emu.inject(Fault("content_refusal", provider="fal"))
    submitted = fal_submit(client, emu, body={"prompt": "bad"}).json()
    assert (
        fal_wait(client, emu, submitted["status_url"])["error_type"] == "content_policy_violation"
    )
    result = client.get(submitted["response_url"], headers=fal_auth(emu))
    assert result.status_code == 422
    [detail] = result.json()["detail"]
    assert (detail["type"], detail["loc"], detail["input"]) == (
        "content_policy_violation",
        ["body", "prompt"],
        "bad",
    )


def test_content_refusal_replicate(emu: Emulator, client: httpx.Client) -> None:
    """content_refusal: failed with an E005 "flagged as sensitive" error."""
    emu.inject(Fault("content_refusal", provider="replicate"))
    done = replicate_wait(client, emu, replicate_create(client, emu).json()["urls"]["get"])
    assert done["status"] == "failed"
    assert done["error"].startswith("E005")
    assert "flagged as sensitive" in done["error"]


def test_stuck_runs_until_cancelled(fresh_emu: Emulator, client: httpx.Client) -> None:
    """stuck never finishes; cancelling it leaves nothing running."""
    fresh_emu.inject(Fault("stuck"))
    submitted = fal_submit(client, fresh_emu).json()
    import time

    time.sleep(0.4)
    assert (
        client.get(submitted["status_url"], headers=fal_auth(fresh_emu)).json()["status"]
        == "IN_PROGRESS"
    )
    assert fresh_emu.stats().running == 1
    client.put(submitted["cancel_url"], headers=fal_auth(fresh_emu))
    assert fresh_emu.stats() == fresh_emu.stats().__class__(submitted=1, cancelled=1)


def test_times_and_model_filters(emu: Emulator, client: httpx.Client) -> None:
    """A fault hits ``times`` matching requests and only its model."""
    emu.inject(Fault("server_error", provider="fal", model="fal-ai/flux/dev", times=2))
    assert fal_submit(client, emu, "fal-ai/veo3").status_code == 200
    assert fal_submit(client, emu, "fal-ai/flux/dev").status_code == 500
    assert fal_submit(client, emu, "fal-ai/flux/dev").status_code == 500
    assert fal_submit(client, emu, "fal-ai/flux/dev").status_code == 200
    assert emu.pending_faults() == []


def test_times_none_is_forever(emu: Emulator, client: httpx.Client) -> None:
    """times=None keeps hitting until clear_faults()."""
    emu.inject(Fault("server_error", provider="replicate", times=None))
    assert [replicate_create(client, emu).status_code for _ in range(3)] == [500] * 3
    emu.clear_faults()
    assert replicate_create(client, emu).status_code == 201


def test_header_selects_a_fault_per_request(emu: Emulator, client: httpx.Client) -> None:
    """``X-Emulator-Fault`` applies a kind (and optional status) to that one request."""
    assert fal_submit(client, emu, headers={FAULT_HEADER: "server_error=502"}).status_code == 502
    assert fal_submit(client, emu, headers={FAULT_HEADER: "rate_limit"}).status_code == 429
    created = replicate_create(client, emu, headers={FAULT_HEADER: "content_refusal"}).json()
    assert replicate_wait(client, emu, created["urls"]["get"])["error"].startswith("E005")


def test_faults_from_constructor(client: httpx.Client) -> None:
    """Faults passed to Emulator(faults=...) are armed from the start."""
    with Emulator(faults=[Fault("rate_limit", retry_after=0)]) as emu:
        assert fal_submit(client, emu).status_code == 429
        assert fal_submit(client, emu).status_code == 200


def test_fault_consumption_is_thread_safe(fresh_emu: Emulator) -> None:
    """Concurrent requests consume a times=N fault exactly N times."""
    fresh_emu.latency = Latency(0, 0)
    fresh_emu.inject(Fault("server_error", provider="fal", times=25))
    codes: list[int] = []
    lock = threading.Lock()

    def worker() -> None:
        with httpx.Client() as http:
            for _ in range(10):
                code = fal_submit(http, fresh_emu).status_code
                with lock:
                    codes.append(code)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert codes.count(500) == 25
    assert codes.count(200) == 55


@pytest.mark.parametrize(
    "kwargs",
    [
        {"kind": "nope"},
        {"kind": "stuck", "operation": "status"},
        {"kind": "drop_after_create", "operation": "result"},
        {"kind": "server_error", "times": 0},
        {"kind": "server_error", "operation": "delete"},
    ],
)
def test_invalid_faults_are_rejected(kwargs: dict[str, object]) -> None:
    """Fault validates its kind, operation and times."""
    with pytest.raises(ValueError):  # noqa: PT011  # the message varies by field
        Fault(**kwargs)  # type: ignore[arg-type]
