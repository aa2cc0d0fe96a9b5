"""A run of ``benchmarks/interest_floor.py`` on word features: the measurement behind the
affinity floors (it had stopped running when a store function it used was renamed)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO

SCRIPT = str(REPO / "benchmarks" / "interest_floor.py")


def test_the_floor_benchmark_measures_each_interest_on_the_real_dumps(
    shared_dumps: list[Path],
) -> None:
    command = [sys.executable, SCRIPT, "--embeddings", "none"]
    command += ["--dumps", str(shared_dumps[0].parent)]
    done = subprocess.run(
        command, capture_output=True, text=True, cwd=REPO, check=True, timeout=300
    )
    rows = {line.split(":")[0].strip(): line for line in done.stdout.splitlines()}
    assert set(rows) == {"mixture of experts", "reinforcement learning", "medical imaging", "all"}
    assert "papers 3 " in rows["mixture of experts"]
    assert "floor_off_topic_0.5% " in rows["all"]
