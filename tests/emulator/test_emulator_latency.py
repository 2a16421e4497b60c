"""The emulator's latency model: a heavy tail of slow jobs, deterministic per seed and provider."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tarash.emulator import Latency
from tarash.emulator._jobs import JobState, JobStore


def _runs(store: JobStore, provider: str, count: int) -> list[float]:
    """Submit ``count`` jobs to ``provider`` and return how long each one runs."""
    runs = []
    for _ in range(count):
        job = store.create(
            job_id=f"{provider}-{len(store.all())}",
            provider=provider,
            model="m",
            input={},
            headers={},
        )
        runs.append(round(job.ends_at - job.starts_at, 9))
    return runs


TAIL = Latency(queue_seconds=0.0, run_seconds=5.0, tail_fraction=0.05, tail_run_seconds=60.0)


def test_a_tail_fraction_of_the_jobs_run_the_tail_time() -> None:
    store = JobStore(replace(TAIL, seed=7))
    runs = _runs(store, "fal", 4000)
    assert set(runs) == {5.0, 60.0}
    # 5% of 4,000 is 200; a binomial draw stays within a few standard deviations (~14).
    assert 150 <= runs.count(60.0) <= 250


def test_the_same_seed_gives_the_same_jobs_and_another_seed_other_ones() -> None:
    seeded = replace(TAIL, seed=1, jitter_seconds=0.5)
    first = _runs(JobStore(seeded), "fal", 500)
    again = _runs(JobStore(seeded), "fal", 500)
    other = _runs(JobStore(replace(seeded, seed=2)), "fal", 500)
    assert first == again
    assert first != other


def test_each_provider_draws_from_its_own_stream() -> None:
    seeded = replace(TAIL, seed=3)
    alone = _runs(JobStore(seeded), "fal", 300)
    store = JobStore(seeded)
    interleaved: list[float] = []
    replicate: list[float] = []
    for _ in range(300):
        interleaved += _runs(store, "fal", 1)
        replicate += _runs(store, "replicate", 2)
    # fal's n-th job is slow or not whatever replicate received in between ...
    assert interleaved == alone
    # ... and the two providers' slow jobs are not the same ones.
    assert replicate[:300] != alone


def test_a_slow_job_is_still_running_when_the_fast_ones_have_finished() -> None:
    store = JobStore(replace(TAIL, tail_fraction=1.0))
    job = store.create(job_id="slow", provider="fal", model="m", input={}, headers={})
    assert job.state_at(job.created + 5.5) is JobState.RUNNING
    assert job.state_at(job.created + 60.0) is JobState.SUCCEEDED


def test_without_a_tail_every_job_runs_run_seconds() -> None:
    runs = _runs(JobStore(Latency(queue_seconds=0.0, run_seconds=2.0, seed=5)), "fal", 200)
    assert set(runs) == {2.0}


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"tail_fraction": 0.1}, "tail_run_seconds"),
        ({"tail_fraction": 1.5, "tail_run_seconds": 60.0}, "tail_fraction"),
        ({"tail_fraction": -0.1, "tail_run_seconds": 60.0}, "tail_fraction"),
        ({"tail_fraction": float("nan"), "tail_run_seconds": 60.0}, "tail_fraction"),
        ({"tail_fraction": 0.1, "tail_run_seconds": -1.0}, "tail_run_seconds"),
        ({"tail_fraction": 0.1, "tail_run_seconds": float("inf")}, "tail_run_seconds"),
    ],
)
def test_a_malformed_tail_is_refused_naming_the_field(fields: dict[str, float], named: str) -> None:
    with pytest.raises(ValueError, match=named):
        Latency(**fields)
