"""Circuit breakers: open on failures, refuse while cooling down, one probe decides."""

from __future__ import annotations

import logging
import threading

import pytest

from tarash.tarash_gateway.errors import ValidationError
from tarash.tarash_gateway.routing._breaker import Admission, BreakerBoard, BreakerPolicy


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def board(clock: Clock, **policy: float) -> BreakerBoard:
    return BreakerBoard(BreakerPolicy(**policy), clock=clock)  # type: ignore[arg-type]


def fail(breakers: BreakerBoard, times: int, transient: bool = True) -> None:
    for _ in range(times):
        breakers.record_failure("fal", "m", transient=transient)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"failures": 0}, "failures"),
        ({"failures": 2.5}, "failures"),
        ({"cooldown": -1}, "cooldown"),
        ({"cooldown": float("inf")}, "cooldown"),
        ({"failure_rate": 1.5}, "failure_rate"),
        ({"failure_rate": 0}, "failure_rate"),
        ({"window": "60"}, "window"),
        ({"min_calls": True}, "min_calls"),
    ],
)
def test_policy_rejects_bad_values_naming_the_field(kwargs: dict, field: str) -> None:
    """A non-positive, non-finite or wrongly typed value is a ValidationError naming it."""
    with pytest.raises(ValidationError, match=f"BreakerPolicy.{field}"):
        BreakerPolicy(**kwargs)


def test_opens_after_consecutive_transient_failures_and_refuses_with_a_reason() -> None:
    """Five transient failures in a row open the breaker; calls are refused with why."""
    clock = Clock()
    breakers = board(clock)
    fail(breakers, 4)
    assert breakers.admit("fal", "m") == Admission(True)
    fail(breakers, 1)
    admission = breakers.admit("fal", "m")
    assert not admission.allowed and not admission.probe
    assert "5 consecutive transient failures" in (admission.reason or "")
    assert breakers.admit("fal", "other").allowed  # per model
    assert breakers.snapshot()["fal/m"].state == "open"


def test_a_success_ends_the_streak() -> None:
    """A success between failures resets the consecutive count."""
    breakers = board(Clock())
    fail(breakers, 4)
    breakers.record_success("fal", "m")
    fail(breakers, 4)
    assert breakers.admit("fal", "m").allowed


def test_non_transient_failures_do_not_count() -> None:
    """Bad input and moderation refusals say nothing about health: they never open it."""
    breakers = board(Clock())
    fail(breakers, 20, transient=False)
    assert breakers.admit("fal", "m").allowed
    assert breakers.snapshot()["fal/m"].consecutive_failures == 0


def test_after_cooldown_exactly_one_probe_is_admitted_and_its_success_closes() -> None:
    """Half-open admits one probe, refuses the rest, and closes on the probe's success."""
    clock = Clock()
    breakers = board(clock, failures=2, cooldown=30)
    fail(breakers, 2)
    clock.now = 29.9
    assert not breakers.admit("fal", "m").allowed
    clock.now = 30
    assert breakers.admit("fal", "m") == Admission(True, probe=True)
    refused = breakers.admit("fal", "m")
    assert not refused.allowed and "probe" in (refused.reason or "")
    assert breakers.snapshot()["fal/m"].state == "half_open"
    breakers.record_success("fal", "m")
    assert breakers.admit("fal", "m") == Admission(True)
    assert breakers.snapshot()["fal/m"].state == "closed"


def test_a_failed_probe_opens_it_for_another_cooldown() -> None:
    """A probe's transient failure reopens the breaker from that moment."""
    clock = Clock()
    breakers = board(clock, failures=1, cooldown=10)
    fail(breakers, 1)
    clock.now = 10
    assert breakers.admit("fal", "m").probe
    fail(breakers, 1)
    snapshot = breakers.snapshot()["fal/m"]
    assert snapshot.state == "open" and snapshot.reason == "the probe failed"
    assert snapshot.probe_in_seconds == pytest.approx(10)
    clock.now = 19.9
    assert not breakers.admit("fal", "m").allowed
    clock.now = 20
    assert breakers.admit("fal", "m").probe


def test_a_probe_without_a_verdict_hands_the_probe_on() -> None:
    """A cancelled probe, or one that failed on bad input, lets the next call probe."""
    clock = Clock()
    breakers = board(clock, failures=1, cooldown=1)
    fail(breakers, 1)
    clock.now = 1
    assert breakers.admit("fal", "m").probe
    breakers.record_cancelled("fal", "m")
    assert breakers.admit("fal", "m").probe
    breakers.record_failure("fal", "m", transient=False)
    assert breakers.admit("fal", "m").probe


def test_a_probe_that_never_reports_expires() -> None:
    """A probe silent for ``probe_timeout`` seconds no longer blocks the next one."""
    clock = Clock()
    breakers = board(clock, failures=1, cooldown=1, probe_timeout=60)
    fail(breakers, 1)
    clock.now = 1
    assert breakers.admit("fal", "m").probe
    clock.now = 60.9
    assert not breakers.admit("fal", "m").allowed
    clock.now = 61
    assert breakers.admit("fal", "m").probe


def test_failure_rate_over_the_window_opens_it() -> None:
    """With failure_rate=0.5, half the last 10 calls failing opens it, not fewer calls."""
    clock = Clock()
    breakers = board(clock, failures=100, failure_rate=0.5, window=60, min_calls=10)
    for _ in range(4):
        breakers.record_success("fal", "m")
        breakers.record_failure("fal", "m", transient=True)
        clock.now += 1
    assert breakers.admit("fal", "m").allowed  # 8 calls: below min_calls
    breakers.record_success("fal", "m")
    breakers.record_failure("fal", "m", transient=True)
    admission = breakers.admit("fal", "m")
    assert not admission.allowed and "50% of 10 calls" in (admission.reason or "")


def test_old_calls_leave_the_window() -> None:
    """Failures older than the window no longer count toward the rate."""
    clock = Clock()
    breakers = board(clock, failures=100, failure_rate=0.5, window=10, min_calls=4)
    fail(breakers, 3)
    clock.now = 11
    for _ in range(3):
        breakers.record_success("fal", "m")
    breakers.record_failure("fal", "m", transient=True)
    assert breakers.admit("fal", "m").allowed
    assert breakers.snapshot()["fal/m"].recent_calls == 4


def test_opening_logs_a_structured_record(caplog: pytest.LogCaptureFixture) -> None:
    """The opening is one warning on tarash.breaker with provider and model as extras."""
    breakers = board(Clock(), failures=1)
    with caplog.at_level(logging.INFO, logger="tarash.breaker"):
        fail(breakers, 1)
    (record,) = caplog.records
    assert (record.provider, record.model, record.breaker) == ("fal", "m", "open")  # type: ignore[attr-defined]


def test_only_one_probe_across_threads() -> None:
    """Sixteen threads asking a half-open breaker at once get exactly one probe."""
    clock = Clock()
    breakers = board(clock, failures=1, cooldown=1)
    fail(breakers, 1)
    clock.now = 1
    start = threading.Barrier(16)
    admissions: list[Admission] = []

    def ask() -> None:
        start.wait()
        admissions.append(breakers.admit("fal", "m"))

    threads = [threading.Thread(target=ask) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert sum(admission.probe for admission in admissions) == 1
    assert sum(admission.allowed for admission in admissions) == 1
