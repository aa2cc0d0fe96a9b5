"""A tiny run of ``benchmarks/centroid_variants.py``: the quality benchmark with one change."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.test_benchmarks_quality import untitled_catalogue

SCRIPT = str(REPO / "benchmarks" / "centroid_variants.py")


@pytest.mark.parametrize("variant", ["power=1.5", "recent=100"])
def test_a_variant_runs_the_quality_benchmark_paired_with_the_product(
    tmp_path: Path, variant: str
) -> None:
    data = untitled_catalogue(tmp_path / "untitled")
    common = ["--data", str(data), "--users", "6", "--batch", "40", "--no-embeddings", "--json"]
    common += ["--methods", "recommender_tfidf"]
    quality = [sys.executable, str(REPO / "benchmarks" / "quality.py"), *common]
    base = subprocess.run(quality, capture_output=True, text=True, cwd=REPO, check=True)
    (tmp_path / "base.json").write_text(base.stdout)
    command = [sys.executable, SCRIPT, variant, *common]
    command += ["--paired-with", str(tmp_path / "base.json")]
    done = subprocess.run(command, capture_output=True, text=True, cwd=REPO, check=True)
    figures = json.loads(done.stdout)["methods"]["recommender_tfidf"]
    assert 0 <= figures["digest_recall"] <= 1
    assert figures["paired_vs_earlier_run"]["standard_error"] >= 0


def test_an_unknown_variant_is_refused_by_name() -> None:
    done = subprocess.run(
        [sys.executable, SCRIPT, "whiten=2", "--users", "6"], capture_output=True, text=True
    )
    assert done.returncode == 2 and "VARIANT 'whiten=2'" in done.stderr
