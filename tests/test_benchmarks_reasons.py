"""A tiny run of ``benchmarks/reasons.py``: how often a reason is in the subscriber's texts."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO

SCRIPT = str(REPO / "benchmarks" / "reasons.py")


def test_the_reasons_benchmark_checks_every_term_named_to_both_kinds_of_profile(
    shared_dumps: list[Path],
) -> None:
    command = [sys.executable, SCRIPT, "--embeddings", "none", "--profiles", "2", "--json"]
    command += ["--dumps", str(shared_dumps[0].parent)]
    done = subprocess.run(
        command, capture_output=True, text=True, cwd=REPO, check=True, timeout=120
    )
    result = json.loads(done.stdout)
    assert set(result) == {"phrases", "papers"}
    for row in result.values():
        assert row["profiles"] == 1 and row["terms_named"] > 0
        assert 0.0 <= row["share_in_own_texts"] <= 1.0


def test_the_reasons_benchmark_refuses_no_profiles() -> None:
    done = subprocess.run(
        [sys.executable, SCRIPT, "--profiles", "0"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2 and "--profiles" in done.stderr
