"""The emulator's command line: the heavy-tail options, shared by ``tarash-emulator`` and
``tarash emulator`` (``tarash.emulator.__main__.with_tail``), checked and served."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tarash.emulator import Latency
from tarash.emulator.__main__ import main, with_tail

ROOT = Path(__file__).resolve().parents[2]


def test_no_tail_option_keeps_the_latency_as_given() -> None:
    """None of the three given: the latency (or the emulator's default, None) is kept."""
    given = Latency(queue_seconds=0, run_seconds=1)
    assert with_tail(given) is given
    assert with_tail(None) is None


def test_the_tail_options_set_the_latencys_tail_and_seed() -> None:
    """Fraction and seconds together set the tail; the seed is kept beside them; on no
    latency given, the tail goes onto the default one."""
    latency = with_tail(
        Latency(queue_seconds=0, run_seconds=1), tail_fraction=0.1, tail_seconds=30, seed=4
    )
    assert latency == Latency(
        queue_seconds=0, run_seconds=1, tail_fraction=0.1, tail_run_seconds=30, seed=4
    )
    assert with_tail(None, seed=9) == Latency(seed=9)
    assert with_tail(None, tail_fraction=0, tail_seconds=0) == Latency(tail_run_seconds=0)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"tail_fraction": 1.5, "tail_seconds": 3.0}, "--tail-fraction must be between 0 and 1"),
        ({"tail_fraction": float("nan"), "tail_seconds": 3.0}, "--tail-fraction"),
        ({"tail_fraction": 0.1, "tail_seconds": -1.0}, "--tail-seconds must be a finite"),
        ({"tail_fraction": 0.1, "tail_seconds": float("inf")}, "--tail-seconds"),
        ({"tail_fraction": 0.1}, "go together"),
        ({"tail_seconds": 3.0, "seed": 1}, "go together"),
    ],
)
def test_malformed_tail_options_are_refused_by_name(
    options: dict[str, float], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        with_tail(None, **options)  # type: ignore[arg-type]


def test_tarash_emulator_refuses_a_bad_tail_option_with_a_usage_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Exit 2 and argparse's one-line usage error naming the option; nothing is served."""
    with pytest.raises(SystemExit) as stopped:
        main(["--port", "0", "--tail-fraction", "2", "--tail-seconds", "5"])
    assert stopped.value.code == 2
    assert "--tail-fraction must be between 0 and 1, got 2.0" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--port", "0", "--seed", "x"])
    assert "--seed: invalid int value" in capsys.readouterr().err


@pytest.mark.integration
def test_tarash_emulator_serves_with_the_tail_it_was_given() -> None:
    """A real ``python -m tarash.emulator`` process prints the latency it serves with,
    tail and seed included, and stops cleanly on Ctrl+C."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "tarash.emulator", "--port", "0", "--run-seconds", "0.5",
         "--tail-fraction", "0.25", "--tail-seconds", "9", "--seed", "7"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        for line in proc.stdout:  # Ctrl+C is taken as a clean stop once this is printed
            if line.startswith("Ctrl+C to stop."):
                break
    finally:
        proc.send_signal(signal.SIGINT)
        _, errors = proc.communicate(timeout=20)
    assert proc.returncode == 0, errors
    assert "serving on http://127.0.0.1:" in first, first + errors
    assert "run_seconds=0.5," in first
    assert "tail_fraction=0.25, tail_run_seconds=9.0, seed=7)" in first
