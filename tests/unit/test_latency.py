"""Learned latency: percentiles over a sliding window of recent completions."""

from __future__ import annotations

import threading

import pytest

from tarash.tarash_gateway.errors import ValidationError
from tarash.tarash_gateway.routing._latency import LatencyTracker


def test_percentiles_interpolate_and_wait_for_enough_samples() -> None:
    """No percentile below min_samples; then interpolated between the nearest samples."""
    tracker = LatencyTracker(window=100, min_samples=5)
    for seconds in (1, 2, 3, 4):
        tracker.record("fal/m", seconds)
    assert tracker.percentile("fal/m", 0.9) is None
    tracker.record("fal/m", 5)
    assert tracker.percentile("fal/m", 0.5) == 3
    assert tracker.percentile("fal/m", 0.9) == pytest.approx(4.6)
    assert tracker.percentile("fal/m", 1.0) == 5
    assert tracker.percentile("other", 0.5) is None


def test_the_window_keeps_only_recent_samples() -> None:
    """A provider that speeds up is learnt: old samples leave the window."""
    tracker = LatencyTracker(window=10, min_samples=10)
    for _ in range(10):
        tracker.record("fal/m", 60.0)
    for _ in range(10):
        tracker.record("fal/m", 5.0)
    assert tracker.percentile("fal/m", 0.99) == 5.0
    assert tracker.samples("fal/m") == 10


def test_heavy_tail_p90_sits_below_the_tail() -> None:
    """95% at 5 s and 5% at 60 s: p50 and p90 are 5 s, p99 is in the tail."""
    tracker = LatencyTracker(window=200)
    for index in range(200):
        tracker.record("fal/m", 60.0 if index % 20 == 0 else 5.0)
    snapshot = tracker.snapshot()["fal/m"]
    assert (snapshot.samples, snapshot.p50, snapshot.p90) == (200, 5.0, 5.0)
    assert snapshot.p99 is not None and snapshot.p99 > 5.0


def test_bad_samples_are_ignored_and_bad_arguments_refused() -> None:
    """Negative or non-finite samples are dropped; a bad quantile or window is an error."""
    tracker = LatencyTracker(window=5, min_samples=1)
    tracker.record("k", -1)
    tracker.record("k", float("nan"))
    assert tracker.samples("k") == 0
    with pytest.raises(ValidationError, match="quantile"):
        tracker.percentile("k", 90)
    with pytest.raises(ValidationError, match=r"LatencyTracker\.window"):
        LatencyTracker(window=0)
    with pytest.raises(ValidationError, match="min_samples"):
        LatencyTracker(window=5, min_samples=6)


def test_snapshot_reports_none_below_min_samples() -> None:
    """A key with too few samples shows its count and no percentiles."""
    tracker = LatencyTracker()
    tracker.record("fal/m", 3.0)
    snapshot = tracker.snapshot()["fal/m"]
    assert (snapshot.samples, snapshot.p50, snapshot.p99) == (1, None, None)


def test_records_from_many_threads_are_all_kept() -> None:
    """Eight threads recording at once lose no sample."""
    tracker = LatencyTracker(window=10_000, min_samples=1)

    def record() -> None:
        for _ in range(500):
            tracker.record("fal/m", 1.0)

    threads = [threading.Thread(target=record) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert tracker.samples("fal/m") == 4000
