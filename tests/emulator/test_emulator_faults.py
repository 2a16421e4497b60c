"""The fault plan: filters, times, the per-request header, the constructor, thread safety,
validation. What each kind does on the wire is in test_contract.py, for every provider."""

from __future__ import annotations

import threading

import httpx
import pytest

from tarash.emulator import FAULT_HEADER, Emulator, Fault, Latency

from ._calls import fal_submit, replicate_create, replicate_wait


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
