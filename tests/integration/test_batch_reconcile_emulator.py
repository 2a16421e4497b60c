"""Every way a rerun could miss a job: the lookup of a row left ``intent``/``unknown``
(docs/batch.md, "The moment of danger"): a complete listing that shows no job lets the row be sent
again, so every way a job that exists could be missed by that listing is tried here
against the emulator, and the emulator's job accounting says whether anything was paid
for twice.

Rows caught between intent and answer are made two ways: by a real child process killed
with SIGKILL at a ledger-protocol point, and by writing the row itself through the
ledger's own API (what a dead run leaves on disk), after which the job the dead run's
create made, if any, is created at the emulator by an ordinary call with the same request.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from tarash.emulator import Emulator, Fault, Latency
from tarash.emulator.replicate import _ReplicateRoutes
from tarash.tarash_gateway import (
    SqliteLedger,
    ValidationError,
    generate_images_async,
    generate_video_async,
    generate_videos_async,
)
from tarash.tarash_gateway.batch._batch_codec import input_hash
from tarash.tarash_gateway.batch._batch_run import FIND_SETTLE_VARIABLE
from tarash.tarash_gateway.models import (
    ImageGenerationConfig,
    ImageGenerationRequest,
    VideoGenerationConfig,
    VideoGenerationRequest,
)
from tests._emulator import emulated_video_config, emulator_app, in_process

pytestmark = [pytest.mark.integration, pytest.mark.anyio]

REPLICATE_MODEL = "google/veo-3"
OPENAI_MODEL = "sora-2"

Config = VideoGenerationConfig | ImageGenerationConfig
Request = VideoGenerationRequest | ImageGenerationRequest


def video(prompt: str) -> VideoGenerationRequest:
    return VideoGenerationRequest(prompt=prompt, duration_seconds=4)


def jobs_per_prompt(emu: Emulator, provider: str) -> Counter[str]:
    return Counter(str(job.input.get("prompt")) for job in emu.jobs(provider))


def jobs_of(emu: Emulator, provider: str, requests: Sequence[Request]) -> list[int]:
    """How many jobs the emulator holds for each request's prompt (it is shared by the
    module's tests, so only this test's prompts are counted)."""
    counted = jobs_per_prompt(emu, provider)
    return [counted[request.prompt] for request in requests]


def states(path: Path) -> Counter[str]:
    with sqlite3.connect(path, timeout=5) as connection:
        rows = connection.execute("SELECT state FROM requests").fetchall()
    return Counter(state for (state,) in rows)


async def leave_intent(path: Path, config: Config, requests: Sequence[Request]) -> None:
    """Write what a run killed right after committing each row's intent leaves on disk."""
    ledger = SqliteLedger(path)
    await ledger.open()
    try:
        for index, request in enumerate(requests):
            entry = await ledger.claim(index, None, input_hash(config, request))
            await ledger.save(entry.intend())
    finally:
        await ledger.close()


async def rerun(config: Config, requests: Sequence[Request], path: Path) -> list[Any]:
    run = (
        generate_videos_async(config, requests, ledger=path)  # type: ignore[arg-type]
        if isinstance(config, VideoGenerationConfig)
        else generate_images_async(config, requests, ledger=path)  # type: ignore[arg-type]
    )
    async with run as results:
        return sorted([result async for result in results], key=lambda result: result.index)


# -- a submit answered by a dropped connection after the job was created -------------------


@pytest.mark.parametrize(
    ("provider", "model"), [("replicate", REPLICATE_MODEL), ("openai", OPENAI_MODEL)]
)
async def test_a_create_dropped_after_it_made_the_job_is_adopted_never_resent(
    emu: Emulator, tmp_path: Path, provider: str, model: str
) -> None:
    """drop_after_create: the row is left ``unknown`` (job_may_exist); the rerun's listing
    shows that job, so it is adopted and waited on, and no second job is created (a third
    run reads the result back)."""
    config = emulated_video_config(emu, provider, model)
    emu.inject(Fault("drop_after_create", provider=provider, operation="submit", times=1))
    path = tmp_path / "batch.sqlite"
    requests = [video(f"dropped on {provider}")]
    (first,) = await rerun(config, requests, path)
    assert first.error is not None and first.error.job_may_exist
    assert states(path) == Counter({"unknown": 1})
    (created,) = [
        job for job in emu.jobs(provider) if job.input.get("prompt") == requests[0].prompt
    ]
    (second,) = await rerun(config, requests, path)
    assert second.ok, second.error
    assert second.response.request_id == created.id
    (third,) = await rerun(config, requests, path)
    assert third.ok and third.response.request_id == created.id
    assert jobs_of(emu, provider, requests) == [1]


async def test_a_server_error_on_the_create_makes_no_job_at_the_emulator(
    emu: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The emulator's ``server_error`` answers a create before any job exists: there is
    no fault kind for "5xx after the job was created" (see the report). A 500 is flagged
    job_may_exist all the same; the rerun's complete listing shows none and sends it once,
    and the two runs together created exactly one job."""
    # The first run ended (its create answered) before the rerun opens the ledger: nothing
    # can still be on the wire, so the rerun need not wait out the 5 s default settle.
    monkeypatch.setenv(FIND_SETTLE_VARIABLE, "0.1")
    config = emulated_video_config(emu, "replicate", REPLICATE_MODEL)
    emu.inject(Fault("server_error", provider="replicate", operation="submit", times=1))
    path = tmp_path / "batch.sqlite"
    requests = [video("five hundred")]
    (first,) = await rerun(config, requests, path)
    assert first.error is not None and first.error.job_may_exist
    assert jobs_per_prompt(emu, "replicate")["five hundred"] == 0
    (second,) = await rerun(config, requests, path)
    assert second.ok, second.error
    assert jobs_of(emu, "replicate", requests) == [1]


# -- rows left intent: what the listing shows decides -------------------------------------


@pytest.mark.parametrize(
    ("provider", "model"), [("replicate", REPLICATE_MODEL), ("openai", OPENAI_MODEL)]
)
async def test_a_dead_runs_create_that_reached_the_provider_is_adopted(
    emu: Emulator, tmp_path: Path, provider: str, model: str
) -> None:
    """Rows left ``intent`` whose creates all reached the provider: each is found by its
    request and adopted; not one is sent again."""
    config = emulated_video_config(emu, provider, model)
    path = tmp_path / "batch.sqlite"
    requests = [video(f"reached {i}") for i in range(3)]
    await leave_intent(path, config, requests)
    ids = [(await generate_video_async(config, request)).request_id for request in requests]
    results = await rerun(config, requests, path)
    assert [result.response.request_id for result in results if result.ok] == ids
    assert jobs_of(emu, provider, requests) == [1, 1, 1]


async def test_a_chain_ending_on_openai_images_is_never_resent(
    emu: Emulator, tmp_path: Path
) -> None:
    """Replicate, then OpenAI images: an image is answered in its request and listed
    nowhere, so whether the dead run made one cannot be told; the row stays flagged and
    nothing is sent to either provider, even after the listing has settled."""
    config = ImageGenerationConfig(
        provider="replicate",
        model="black-forest-labs/flux-schnell",
        base_url=emu.base_url("replicate"),
        api_key=emu.api_key("replicate"),
        poll_interval=0.05,
        fallback_configs=[
            ImageGenerationConfig(
                provider="openai",
                model="gpt-image-1",
                base_url=emu.base_url("openai"),
                api_key=emu.api_key("openai"),
            )
        ],
    )
    path = tmp_path / "batch.sqlite"
    requests = [ImageGenerationRequest(prompt="an image nobody can list")]
    await leave_intent(path, config, requests)
    openai_before = emu.stats("openai").submitted
    (result,) = await rerun(config, requests, path)
    assert result.error is not None and result.error.job_may_exist
    assert emu.stats("openai").submitted == openai_before
    assert states(path) == Counter({"unknown": 1})


async def test_a_ledger_of_the_previous_release_is_never_resent(
    emu: Emulator, tmp_path: Path
) -> None:
    """A ledger written before intents were timed (no ``intended_at`` column) with a row
    left ``intent``: the listing (complete, empty) may adopt a job but never concludes
    that none exists, so the row is flagged and nothing is sent; the column is added."""
    config = emulated_video_config(emu, "replicate", REPLICATE_MODEL)
    path = tmp_path / "batch.sqlite"
    requests = [video("old release")]
    await leave_intent(path, config, requests)
    with sqlite3.connect(path) as connection:
        connection.execute("ALTER TABLE requests DROP COLUMN intended_at")
    (result,) = await rerun(config, requests, path)
    assert result.error is not None and result.error.job_may_exist
    assert jobs_per_prompt(emu, "replicate")["old release"] == 0
    with sqlite3.connect(path) as connection:
        columns = {row[1] for row in connection.execute("PRAGMA table_info(requests)")}
    assert "intended_at" in columns


async def test_a_row_whose_intent_is_older_than_the_listings_reach_stays_flagged(
    tmp_path: Path,
) -> None:
    """More predictions newer than the row's intent than the lookup's page cap reads
    (20 pages of 100): the listing cannot reach the window's start, so it cannot say
    that none exists; the row is flagged and not sent again. (An emulator of its own:
    the account is filled.)"""
    # In-process: the 2,001 fillers and the 20 pages of the listing took ~10 s over a socket.
    with Emulator(latency=Latency(queue_seconds=0.0, run_seconds=0.0)) as emu, in_process(emu):
        config = emulated_video_config(emu, "replicate", REPLICATE_MODEL)
        path = tmp_path / "batch.sqlite"
        requests = [video("buried")]
        await leave_intent(path, config, requests)
        url = f"{emu.base_url('replicate')}/v1/models/other/model/predictions"
        headers = {"Authorization": f"Bearer {emu.api_key('replicate')}"}
        transport = httpx.ASGITransport(emulator_app(emu))
        async with httpx.AsyncClient(headers=headers, transport=transport) as client:
            for number in range(2001):
                reply = await client.post(url, json={"input": {"prompt": f"filler {number}"}})
                assert reply.status_code == 201
        (result,) = await rerun(config, requests, path)
        assert result.error is not None and result.error.job_may_exist
        assert jobs_per_prompt(emu, "replicate")["buried"] == 0


@pytest.mark.parametrize("kind", ["server_error", "malformed_json", "drop_connection"])
async def test_a_listing_that_fails_leaves_the_row_flagged_and_says_no_secret(
    emu: Emulator, tmp_path: Path, kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Every read of the listing fails: a tarash error inside the lookup, nothing else
    escapes; the row is flagged, nothing is sent, and the warning names no key."""
    config = emulated_video_config(emu, "replicate", REPLICATE_MODEL)
    path = tmp_path / "batch.sqlite"
    requests = [video(f"unlisted {kind}")]
    await leave_intent(path, config, requests)
    emu.inject(Fault(kind, provider="replicate", operation="status", times=None))  # type: ignore[arg-type]
    with caplog.at_level(logging.WARNING, logger="tarash"):
        (result,) = await rerun(config, requests, path)
    assert result.error is not None and result.error.job_may_exist
    assert jobs_per_prompt(emu, "replicate")[f"unlisted {kind}"] == 0
    assert "could not look up" in caplog.text
    assert emu.api_key("replicate") not in caplog.text
    assert emu.api_key("replicate") not in str(result.error)


# -- the ledger's lock: no live run's create can be on the wire ---------------------------


async def test_a_second_run_on_a_ledger_in_use_is_refused(tmp_path: Path) -> None:
    """While one run holds the ledger, another (by its path, another spelling of it, or
    a symlink to it) is refused before it reads a row: it could otherwise list while the
    live run's create is on the wire and send the request a second time."""
    path = tmp_path / "batch.sqlite"
    (tmp_path / "link.sqlite").symlink_to(path)
    holder = SqliteLedger(path)
    await holder.open()
    try:
        for spelling in (path, tmp_path / "." / "batch.sqlite", tmp_path / "link.sqlite"):
            other = SqliteLedger(spelling)
            try:
                with pytest.raises(ValidationError, match="in use by another run"):
                    await other.open()
            finally:
                await other.close()
    finally:
        await holder.close()
    again = SqliteLedger(tmp_path / "link.sqlite")
    await again.open()
    await again.close()


# -- a batch stopped while its create is on the wire --------------------------------------


async def test_a_batch_stopped_while_a_create_that_made_its_job_is_in_flight_never_resends(
    emu: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The batch is cancelled while its create is on the wire; the create made the job and
    its reply is then lost (drop_after_create). The submit's error (job_may_exist) meets
    the cancellation: the row must not be released as if nothing had been made, or the
    rerun sends it a second time. The emulator holds the dropped reply until the batch
    has been cancelled, so the order is fixed, not raced."""
    config = emulated_video_config(emu, "replicate", REPLICATE_MODEL)
    path = tmp_path / "batch.sqlite"
    requests = [video("stopped on the wire")]
    created = threading.Event()
    release = threading.Event()
    original = _ReplicateRoutes._create

    async def held_create(self: Any, *args: Any, **kwargs: Any) -> Any:
        reply = await original(self, *args, **kwargs)
        created.set()
        await asyncio.to_thread(release.wait, 10)
        return reply

    monkeypatch.setattr(_ReplicateRoutes, "_create", held_create)
    emu.inject(Fault("drop_after_create", provider="replicate", operation="submit", times=1))
    with anyio.CancelScope() as scope:
        async with generate_videos_async(config, requests, ledger=path) as results:

            async def cancel_once_created() -> None:
                await anyio.to_thread.run_sync(created.wait, 10)
                scope.cancel()
                release.set()

            async with anyio.create_task_group() as group:
                group.start_soon(cancel_once_created)
                async for _ in results:
                    pass
    monkeypatch.undo()
    assert jobs_of(emu, "replicate", requests) == [1]
    assert states(path)["pending"] == 0, states(path)
    (result,) = await rerun(config, requests, path)
    assert jobs_of(emu, "replicate", requests) == [1]
    assert result.ok, result.error
