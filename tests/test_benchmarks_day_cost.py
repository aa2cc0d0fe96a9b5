"""A tiny run of ``benchmarks/day_cost.py``: the whole cost of a day by number of subscribers."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO
from tests.test_benchmarks_quality import untitled_catalogue


def test_the_day_cost_benchmark_prices_both_days_for_each_number_of_subscribers(
    tmp_path: Path,
) -> None:
    data = untitled_catalogue(tmp_path / "untitled")
    command = [sys.executable, str(REPO / "benchmarks" / "day_cost.py"), "--data", str(data)]
    command += ["--papers", "40", "--subscribers", "1,4", "--ratings", "20", "--repeats", "1"]
    command += ["--no-embeddings", "--json"]
    done = subprocess.run(command, capture_output=True, text=True, cwd=REPO, check=True, timeout=60)
    result = json.loads(done.stdout)
    assert (result["papers"], result["papers_a_day"], result["embeddings"]) == (480, 40, False)
    for name, steps in (
        ("recommender", {"vectors", "train", "score", "choose"}),
        (
            "arxiv_sanity_lite",
            {"tfidf", "svm"},
        ),
    ):
        points = result["points"][name]
        assert list(points) == ["1", "4"]
        for point in points.values():
            assert set(point["steps_seconds"]) == steps
            assert point["whole_day_seconds"] >= point["subscribers_seconds"] > 0
            assert point["ms_per_subscriber_day"] > 0
            assert point["peak_mb"] > 0
    cross = result["crossover"]
    assert cross["per_subscriber_ratio"] > 0
    assert cross["target_tenth_met"] == (cross["per_subscriber_ratio"] <= 0.1)
    at = cross["cheaper_from_subscribers"]
    assert at is None or at >= 1
