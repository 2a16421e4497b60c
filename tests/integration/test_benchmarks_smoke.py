"""The router benchmarks run end to end with tiny parameters (their numbers are not checked)."""

from __future__ import annotations

import json
from pathlib import Path

from benchmarks import bench_hedge, bench_router


def test_bench_hedge_runs_every_scenario_and_leaves_nothing_running(tmp_path: Path) -> None:
    tiny = ["--requests", "12", "--concurrency", "6", "--fast", "0.02", "--tail", "0.2"]
    bench_hedge.main([*tiny, "--jitter", "0.01", "--out", str(tmp_path)])
    rows = json.loads((tmp_path / "bench_hedge.json").read_text())["rows"]
    assert [row["scenario"] for row in rows] == list(bench_hedge.SCENARIOS)
    assert all(row["failures"] == 0 and row["running_after"] == 0 for row in rows)
    assert "| hedge learned |" in (tmp_path / "bench_hedge.md").read_text()


def test_bench_router_holds_the_cap(tmp_path: Path) -> None:
    tiny = ["--calls", "10", "--requests", "12", "--cap", "3", "--job-seconds", "0.05"]
    bench_router.main([*tiny, "--out", str(tmp_path)])
    cap = json.loads((tmp_path / "bench_router.json").read_text())["cap"]
    assert cap["peak_concurrent_jobs"] == 3 and cap["completed"] == 12
    assert (cap["failures"], cap["http_retries"], cap["http_429s"]) == (0, 0, 0)
    assert "peak concurrent jobs" in (tmp_path / "bench_router.md").read_text()
