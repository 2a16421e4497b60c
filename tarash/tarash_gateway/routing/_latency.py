"""Recent completion times per provider/model, for learned hedge delays and the snapshot.

Usage (the router)::

    latency = LatencyTracker(window=200)
    latency.record(limit_key("fal", "fal-ai/veo3"), finished - submitted)
    delay = latency.percentile(limit_key("fal", "fal-ai/veo3"), 0.9)
    if delay is None:
        ...  # too few samples yet: fall back to a fixed delay

Only the last ``window`` successful completions of each key are kept (in memory, for this
process), so the percentiles follow a provider whose speed changes. Below ``min_samples``
a percentile is None rather than a guess from two jobs. Thread-safe.
"""

from __future__ import annotations

import math
import threading
from collections import deque

from tarash.tarash_gateway.errors import ValidationError
from tarash.tarash_gateway.routing._snapshot import LatencySnapshot

__all__ = ["LatencyTracker"]


class LatencyTracker:
    """The last ``window`` completion times of each key, in seconds.

    Args:
        window: How many recent samples each key keeps.
        min_samples: How many samples a key needs before it reports a percentile.

    Raises:
        ValidationError: ``window`` or ``min_samples`` is not a positive whole number, or
            ``min_samples`` exceeds ``window``.
    """

    def __init__(self, window: int = 200, *, min_samples: int = 10) -> None:
        for name, value in (("window", window), ("min_samples", min_samples)):
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValidationError(
                    f"LatencyTracker.{name} must be a positive whole number, got {value!r}"
                )
        if min_samples > window:
            raise ValidationError(
                f"LatencyTracker.min_samples ({min_samples}) cannot exceed window ({window})"
            )
        self.window = window
        self.min_samples = min_samples
        self._lock = threading.Lock()
        self._samples: dict[str, deque[float]] = {}

    def record(self, key: str, seconds: float) -> None:
        """Add one completion time; negative or non-finite values are ignored."""
        if not math.isfinite(seconds) or seconds < 0:
            return
        with self._lock:
            samples = self._samples.get(key)
            if samples is None:
                samples = self._samples[key] = deque(maxlen=self.window)
            samples.append(seconds)

    def samples(self, key: str) -> int:
        """How many samples ``key`` holds now."""
        with self._lock:
            return len(self._samples.get(key, ()))

    def percentile(self, key: str, q: float) -> float | None:
        """The ``q`` quantile of ``key``'s recent completion times.

        Args:
            key: ``"provider/model"``.
            q: The quantile, 0 to 1 (0.9 for p90).

        Returns:
            Seconds, interpolated between the two nearest samples; None while the key has
            fewer than ``min_samples`` samples.

        Raises:
            ValidationError: ``q`` is outside 0..1.
        """
        if not 0.0 <= q <= 1.0:
            raise ValidationError(f"quantile must be between 0 and 1, got {q!r}")
        with self._lock:
            samples = sorted(self._samples.get(key, ()))
        return _quantile(samples, q) if len(samples) >= self.min_samples else None

    def snapshot(self) -> dict[str, LatencySnapshot]:
        """p50, p90 and p99 of every key (None where samples are too few)."""
        with self._lock:
            items = [(key, sorted(samples)) for key, samples in sorted(self._samples.items())]
        result: dict[str, LatencySnapshot] = {}
        for key, samples in items:
            enough = len(samples) >= self.min_samples
            p50, p90, p99 = (_quantile(samples, q) if enough else None for q in (0.5, 0.9, 0.99))
            result[key] = LatencySnapshot(key=key, samples=len(samples), p50=p50, p90=p90, p99=p99)
        return result


def _quantile(ordered: list[float], q: float) -> float:
    position = q * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)
