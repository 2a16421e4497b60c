"""Prices, estimates, what a cancel costs, and spend caps."""

from __future__ import annotations

import pickle
import threading
from datetime import date

import pytest

from tarash.tarash_gateway.errors import SpendCapExceededError, ValidationError, falls_back
from tarash.tarash_gateway.routing._prices import (
    DEFAULT_PRICES,
    Price,
    PriceTable,
    SpendTracker,
    _registry_models,
)


def test_every_registry_model_and_provider_has_a_dated_sourced_row() -> None:
    """Each default row, known or not, carries its check date and its source."""
    for provider, model in _registry_models():
        assert f"{provider}/{model}" in DEFAULT_PRICES
    built_in = (
        "fal",
        "replicate",
        "runway",
        "openai",
        "azure_openai",
        "google",
        "stability",
        "xai",
    )
    for provider in built_in:
        assert provider in DEFAULT_PRICES
    for row in DEFAULT_PRICES.values():
        assert isinstance(row.checked, date) and row.source


def test_unknown_prices_stay_unknown() -> None:
    """A model with no published price found estimates None, not an invented number."""
    table = PriceTable()
    assert table.estimate("replicate", "minimax/video-01", {"duration_seconds": 6}) is None
    assert table.estimate("stability", "stable-image-ultra", {}) is None
    assert table.estimate("nobody", "x", {"duration_seconds": 6}) is None


def test_video_estimate_follows_duration_audio_resolution_and_count() -> None:
    """fal Veo 3.1: $0.40/s with audio, $0.20/s without, $0.60/s at 4k; per video asked."""
    table = PriceTable()
    assert table.estimate("fal", "fal-ai/veo3.1", {"duration_seconds": 8}) == pytest.approx(3.2)
    silent = {"duration_seconds": 8, "generate_audio": False}
    assert table.estimate("fal", "fal-ai/veo3.1", silent) == pytest.approx(1.6)
    four_k = {"duration_seconds": 8, "resolution": "4k", "number_of_videos": 2}
    assert table.estimate("fal", "fal-ai/veo3.1", four_k) == pytest.approx(9.6)
    assert table.estimate(
        "openai", "sora-2-pro", {"duration_seconds": 4, "resolution": "1024p"}
    ) == (pytest.approx(2.0))
    assert table.estimate("fal", "fal-ai/veo3.1", {}) is None  # no duration: unknown


def test_image_and_run_prices() -> None:
    """Per-image rows multiply by n; a per-run fee is added once per job."""
    table = PriceTable({"stability": Price(per_image=0.08), "fal/x": Price(per_run=0.5)})
    assert table.estimate("stability", "stable-image-ultra", {"n": 3}) == pytest.approx(0.24)
    assert table.estimate("fal", "x", {}) == pytest.approx(0.5)


def test_user_rows_override_model_then_provider_then_defaults() -> None:
    """The user's model row wins, then the user's provider row, then the defaults."""
    table = PriceTable(
        {"fal": {"per_second": 1.0, "cancelled": "nothing"}, "fal/fal-ai/veo3": Price(per_second=2)}
    )
    summary = {"duration_seconds": 2}
    assert table.estimate("fal", "fal-ai/veo3", summary) == 4
    assert table.estimate("fal", "fal-ai/veo3.1", summary) == 2
    assert table.estimate("openai", "sora-2", summary) == pytest.approx(0.2)
    assert table.cancel_is_free("fal", "fal-ai/veo3.1")
    assert not PriceTable().cancel_is_free("fal", "fal-ai/veo3.1")


def test_cancelled_cost_by_billing_policy() -> None:
    """Nothing costs 0; full and elapsed cost the estimate (elapsed's upper bound)."""
    table = PriceTable(
        {
            "a": Price(cancelled="nothing"),
            "b": Price(cancelled="full"),
            "c": Price(cancelled="elapsed"),
        }
    )
    assert table.cancelled_cost("a", "m", 2.0) == 0.0
    assert table.cancelled_cost("b", "m", 2.0) == 2.0
    assert table.cancelled_cost("c", "m", 2.0) == 2.0
    assert table.cancelled_cost("b", "m", None) is None
    assert PriceTable().cancelled_cost("openai", "sora-2", 1.0) == 1.0  # no cancel at OpenAI


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"per_second": -1}, r"Price\.per_second"),
        ({"per_image": float("inf")}, r"Price\.per_image"),
        ({"per_run": "1"}, r"Price\.per_run"),
        ({"cancelled": "sometimes"}, r"Price\.cancelled"),
        ({"per_second_by_resolution": {"4k": -2}}, r"Price\.per_second_by_resolution"),
    ],
)
def test_price_rejects_bad_values_naming_the_field(kwargs: dict, field: str) -> None:
    """A negative, non-finite or wrongly typed amount is a ValidationError naming it."""
    with pytest.raises(ValidationError, match=field):
        Price(**kwargs)


def test_table_rejects_bad_rows() -> None:
    """An unknown field or a non-Price row is refused with the key in the message."""
    with pytest.raises(ValidationError, match="unknown field"):
        PriceTable({"fal": {"per_secnd": 1}})
    with pytest.raises(ValidationError, match=r"prices\['fal'\]"):
        PriceTable({"fal": 3})  # type: ignore[dict-item]


def test_spend_cap_refuses_the_attempt_that_would_pass_it() -> None:
    """Held plus spent plus the estimate over the cap: refused, saying cap, spent, estimate."""
    spend = SpendTracker(cap=5.0)
    first = spend.reserve(3.0)
    first.settle(3.0)
    held = spend.reserve(1.5)
    with pytest.raises(SpendCapExceededError) as caught:
        spend.reserve(1.0, provider="fal", model="m")
    error = caught.value
    assert (error.cap, error.spent, error.estimate, error.provider) == (5.0, 3.0, 1.0, "fal")
    assert "$5.00" in str(error) and "$3.00 spent" in str(error) and "$1.00" in str(error)
    assert not error.retryable and not falls_back(error, "provider_specific")
    held.release()
    spend.reserve(2.0)  # what the released hold gave back fits
    snapshot = spend.snapshot()
    assert (snapshot.spent, snapshot.reserved, snapshot.remaining) == (3.0, 2.0, 0.0)


def test_reservations_finish_once_and_unknown_costs_pass() -> None:
    """Settling twice counts once; an unknown estimate reserves nothing and is let through."""
    spend = SpendTracker(cap=1.0)
    reservation = spend.reserve(0.5)
    reservation.settle(0.25)
    reservation.settle(0.75)
    reservation.release()
    assert spend.spent == 0.25
    unknown = spend.reserve(None)
    assert unknown.amount == 0.0
    unknown.settle(None)
    assert spend.spent == 0.25
    with pytest.raises(ValidationError, match="spend_cap"):
        SpendTracker(cap=-1)


def test_the_cap_holds_across_threads() -> None:
    """Sixteen threads reserving $1 under a $10 cap: exactly ten are let through."""
    spend = SpendTracker(cap=10.0)
    start = threading.Barrier(16)
    granted: list[bool] = []

    def attempt() -> None:
        start.wait()
        try:
            spend.reserve(1.0)
        except SpendCapExceededError:
            granted.append(False)
        else:
            granted.append(True)

    threads = [threading.Thread(target=attempt) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert granted.count(True) == 10


def test_spend_cap_error_pickles_with_its_figures() -> None:
    """The error survives pickling (worker processes) with cap, spent and estimate."""
    error = SpendCapExceededError("over", "fal", "m", cap=5.0, spent=4.0, estimate=2.0)
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.cap, copy.spent, copy.estimate, copy.provider) == (5.0, 4.0, 2.0, "fal")
