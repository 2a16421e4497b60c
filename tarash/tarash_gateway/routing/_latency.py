"""Recent completion times per provider/model, for learned hedge delays and the snapshot.

Usage (the router)::

    latency = LatencyTracker(window=200)
    latency.record(limit_key("fal", "fal-ai/veo3"), finished - submitted)
    delay = latency.percentile(limit_key("fal", "fal-ai/veo3"), 0.9)
    if delay is None:
        ...  # too few samples yet: fall back to a fixed delay

Only the last ``window`` successful completions of each key are kept, so the percentiles
follow a provider whose speed changes. Below ``min_samples`` a percentile is None rather
than a guess from two jobs. The samples live in a router state (``routing/_state``: the
router's own, in memory: its samples primitive); the tracker's methods are sync (the hedge
asks for a delay while it plans, the attempt records as it closes) and read that state at
once. Thread-safe.
"""

from __future__ import annotations

import math
import threading

from tarash.tarash_gateway.engine._read_pauses import answer_at_once
from tarash.tarash_gateway.errors import ValidationError
from tarash.tarash_gateway.routing._snapshot import LatencySnapshot
from tarash.tarash_gateway.routing._state import MemoryState, RouterState

__all__ = ["LatencyTracker"]


class LatencyTracker:
    """The last ``window`` completion times of each key, in seconds.

    Args:
        window: How many recent samples each key keeps.
        min_samples: How many samples a key needs before it reports a percentile.
        state: Where the samples are kept (the router's state); by default an in-memory
            state of its own.

    Raises:
        ValidationError: ``window`` or ``min_samples`` is not a positive whole number, or
            ``min_samples`` exceeds ``window``.
    """

    def __init__(
        self, window: int = 200, *, min_samples: int = 10, state: RouterState | None = None
    ) -> None:
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
        self._state: RouterState = state if state is not None else MemoryState()
        # The keys recorded here, for the snapshot (names of provider/models, no secret).
        self._lock = threading.Lock()
        self._keys: set[str] = set()

    def __repr__(self) -> str:
        return f"LatencyTracker(window={self.window}, min_samples={self.min_samples})"

    def _samples(self, key: str) -> list[float]:
        return answer_at_once(self._state.samples(key))

    def record(self, key: str, seconds: float) -> None:
        """Add one completion time; negative or non-finite values are ignored."""
        if not math.isfinite(seconds) or seconds < 0:
            return
        answer_at_once(self._state.add_sample(key, seconds, keep=self.window))
        with self._lock:
            self._keys.add(key)

    def samples(self, key: str) -> int:
        """How many samples ``key`` holds now."""
        return len(self._samples(key))

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
        samples = sorted(self._samples(key))
        return _quantile(samples, q) if len(samples) >= self.min_samples else None

    def snapshot(self) -> dict[str, LatencySnapshot]:
        """p50, p90 and p99 of every key (None where samples are too few)."""
        with self._lock:
            keys = sorted(self._keys)
        items = [(key, sorted(self._samples(key))) for key in keys]
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
