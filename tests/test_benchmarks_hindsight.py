"""A tiny run of ``benchmarks/hindsight.py``: the centroid trained on more of the library."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO
from tests.test_benchmarks_quality import untitled_catalogue

SCRIPT = str(REPO / "benchmarks" / "hindsight.py")


def test_each_arm_ranks_the_days_from_its_own_known_positives(tmp_path: Path) -> None:
    data = untitled_catalogue(tmp_path / "untitled")
    command = [sys.executable, SCRIPT, "--data", str(data), "--users", "6", "--batch", "40"]
    done = subprocess.run(
        [*command, "--no-embeddings", "--json"], capture_output=True, text=True, check=True
    )
    out = json.loads(done.stdout)
    known = out["positives_per_user"]
    assert known["profile"] == 3 < known["back_library"] < known["whole_library"]
    recall = out["recall"]
    # readers here save one topic's papers: three of them already find every one
    assert 0.5 < recall["profile"] <= recall["whole_library"] <= 1
    assert set(out["paired_vs_profile"]) == {"back_library", "whole_library"}
