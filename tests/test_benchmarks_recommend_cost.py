"""A tiny run of ``benchmarks/recommend_cost.py``: `recommend` as a command, first and later."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import REPO


def test_the_recommend_cost_benchmark_times_the_first_run_and_the_later_ones() -> None:
    command = [sys.executable, str(REPO / "benchmarks" / "recommend_cost.py")]
    command += ["--papers", "500", "--runs", "1", "--json"]
    done = subprocess.run(
        command, capture_output=True, text=True, cwd=REPO, check=True, timeout=180
    )
    result = json.loads(done.stdout)
    assert result["papers"] > 400 and len(result["runs"]) == 2
    assert result["first_seconds"] > 0 and result["later_median_seconds"] > 0
    assert all(run["peak_rss_mb"] > 0 for run in result["runs"])


def test_the_recommend_cost_benchmark_refuses_no_runs() -> None:
    command = [sys.executable, str(REPO / "benchmarks" / "recommend_cost.py"), "--runs", "0"]
    done = subprocess.run(command, capture_output=True, text=True, cwd=REPO, timeout=60)
    assert done.returncode == 2 and "--runs" in done.stderr
