"""A tiny run of ``benchmarks/fetch.py``: its loopback server and its children still work."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import REPO


def test_the_fetch_benchmark_stores_every_paper_it_serves() -> None:
    command = [sys.executable, str(REPO / "benchmarks" / "fetch.py"), "--no-postgres", "--json"]
    command += ["--hf-days", "1", "--hf-per-day", "3", "--arxiv-weeks", "1", "--arxiv-per-day", "4"]
    # A generous timeout: the run takes a few seconds, but CI shares two cores with much else.
    done = subprocess.run(command, capture_output=True, text=True, cwd=REPO, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    runs = json.loads(done.stdout)["runs"]
    stored = [(r["backend"], r["source"], r.get("listed"), r.get("papers_new")) for r in runs]
    assert stored == [
        ("sqlite", "hf", 3, 3),
        ("sqlite", "arxiv", 20, 20),
        ("postgresql", "hf", None, None),
        ("postgresql", "arxiv", None, None),
    ]
    for run in runs[:2]:
        assert run["peak_rss_mb"] >= run["rss_ready_mb"] > 0
        # the time in HTTP is rounded, and a tiny run on loopback may round to 0
        assert run["fetch_s"] > 0 and run["fetch_s"] >= run["http_s"] >= 0
