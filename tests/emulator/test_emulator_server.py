"""The Emulator object: lifecycle, addresses, keys, latency, accounting, public surface."""

from __future__ import annotations

import threading
import time

import anyio
import httpx
import pytest

import tarash.emulator
from tarash.emulator import Emulator, EmulatorStats, Latency
from tarash.emulator._jobs import JobStore

from ._calls import fal_submit, replicate_create


def test_public_names_are_sorted_and_exported() -> None:
    """``__all__`` is sorted (constants first, as ruff's RUF022 does) and every name exists."""
    names = tarash.emulator.__all__
    assert names == sorted(names, key=lambda name: (not name.isupper(), name))
    for name in tarash.emulator.__all__:
        assert hasattr(tarash.emulator, name)


def test_starts_fast_and_stops_without_leaking_threads() -> None:
    """Start takes under 0.5 s, base URLs point at the bound port, stop joins the thread."""
    before = set(threading.enumerate())
    started = time.monotonic()
    emu = Emulator().start()
    assert time.monotonic() - started < 0.5
    try:
        assert emu.port > 0
        assert emu.base_url("fal") == f"http://127.0.0.1:{emu.port}/fal"
        assert emu.base_url("replicate") == f"http://127.0.0.1:{emu.port}/replicate"
        assert httpx.get(emu.url + "/").json()["providers"]["fal"] == emu.base_url("fal")
    finally:
        emu.stop()
    emu.stop()  # idempotent
    assert set(threading.enumerate()) == before


@pytest.mark.anyio
async def test_async_context_manager() -> None:
    """``async with Emulator()`` serves requests and shuts down cleanly."""
    async with Emulator(latency=Latency(0, 0)) as emu, httpx.AsyncClient() as client:
        response = await client.post(
            f"{emu.base_url('fal')}/fal-ai/veo3",
            json={"prompt": "x"},
            headers={"Authorization": f"Key {emu.api_key('fal')}"},
        )
        assert response.status_code == 200
    with pytest.raises(httpx.ConnectError):
        await httpx.AsyncClient().get(emu.url + "/")


@pytest.mark.anyio
async def test_many_concurrent_jobs_over_http() -> None:
    """200 jobs submitted concurrently are all in flight at once, then all complete."""
    async with Emulator(latency=Latency(1.0, 0.1)) as emu:
        headers = {"Authorization": f"Key {emu.api_key('fal')}"}
        async with httpx.AsyncClient(timeout=30) as client:

            async def submit_many(count: int) -> None:
                for _ in range(count):
                    url = f"{emu.base_url('fal')}/fal-ai/veo3"
                    body = {"prompt": "a cat"}
                    (await client.post(url, json=body, headers=headers)).raise_for_status()

            async with anyio.create_task_group() as tg:
                for _ in range(10):
                    tg.start_soon(submit_many, 20)
        assert emu.stats().running == 200
        await anyio.sleep(1.2)
        assert emu.stats() == EmulatorStats(submitted=200, completed=200)


def test_store_handles_thousands_of_jobs_cheaply() -> None:
    """5,000 live jobs cost no tasks: creating them and computing totals takes milliseconds."""
    store = JobStore(Latency(queue_seconds=60, run_seconds=60))
    started = time.monotonic()
    for index in range(5000):
        store.create(job_id=str(index), provider="fal", model="m", input={}, headers={})
    assert store.stats() == EmulatorStats(submitted=5000, running=5000)
    assert time.monotonic() - started < 2
    assert threading.active_count() < 50


def test_stats_per_provider(fresh_emu: Emulator) -> None:
    """stats(provider) counts only that provider's jobs."""
    with httpx.Client() as client:
        fal_submit(client, fresh_emu)
        replicate_create(client, fresh_emu)
        replicate_create(client, fresh_emu)
    assert fresh_emu.stats("fal").submitted == 1
    assert fresh_emu.stats("replicate").submitted == 2
    assert fresh_emu.stats().submitted == 3
    assert len(fresh_emu.jobs("replicate")) == 2


def test_latency_is_changeable_at_run_time(fresh_emu: Emulator) -> None:
    """New latency applies to jobs submitted afterwards."""
    fresh_emu.latency = Latency(queue_seconds=30, run_seconds=30)
    with httpx.Client() as client:
        fal_submit(client, fresh_emu)
    assert fresh_emu.jobs()[0].state == "queued"


def test_unknown_provider_is_a_key_error(emu: Emulator) -> None:
    """Asking for a provider the emulator does not serve raises KeyError."""
    with pytest.raises(KeyError):
        emu.base_url("midjourney")


def test_invalid_settings_are_rejected() -> None:
    """Negative latency and unknown providers in required_keys fail early."""
    with pytest.raises(ValueError, match="queue_seconds"):
        Latency(queue_seconds=-1)
    with pytest.raises(ValueError, match="unknown providers"):
        Emulator(required_keys={"nope": "k"})


def test_port_in_use_raises() -> None:
    """Binding a port that is taken fails at start, not later."""
    with Emulator() as emu, pytest.raises(OSError, match="in use"):
        Emulator(port=emu.port).start()


def test_repr_shows_state() -> None:
    """repr says whether it is serving and shows the totals."""
    emu = Emulator()
    assert "stopped" in repr(emu)
    with emu:
        assert f"serving {emu.url}" in repr(emu)
