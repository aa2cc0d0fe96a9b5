"""A tiny run of ``benchmarks/rating_cost.py``: a rating's cost as ratings accumulate."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import REPO


def test_the_rating_cost_benchmark_times_every_fifth_of_the_ratings() -> None:
    command = [sys.executable, str(REPO / "benchmarks" / "rating_cost.py")]
    command += ["--papers", "500", "--ratings", "10", "--json"]
    done = subprocess.run(
        command, capture_output=True, text=True, cwd=REPO, check=True, timeout=120
    )
    result = json.loads(done.stdout)
    assert result["papers"] > 400 and result["ratings"] == 10
    assert [f["ratings"] for f in result["by_fifth"]] == [2, 4, 6, 8, 10]
    assert all(f["median_ms"] > 0 and f["peak_rss_mb"] > 0 for f in result["by_fifth"])
    assert all(f["mean_ms"] > 0 for f in result["by_fifth"])


def test_the_rating_cost_benchmark_refuses_a_run_too_small_to_split() -> None:
    command = [sys.executable, str(REPO / "benchmarks" / "rating_cost.py"), "--ratings", "3"]
    done = subprocess.run(command, capture_output=True, text=True, cwd=REPO, timeout=60)
    assert done.returncode == 2 and "--ratings" in done.stderr
