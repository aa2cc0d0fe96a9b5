"""``scripts/common_terms.py``: the shipped list of terms too common to be reasons."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from recommender.model import COMMON_TERMS_FILE
from tests.conftest import REPO

SCRIPT = str(REPO / "scripts" / "common_terms.py")


def test_the_shipped_common_terms_are_what_the_script_makes_of_the_real_dumps(
    shared_dumps: list[Path],
) -> None:
    command = [sys.executable, SCRIPT, "--dumps", str(shared_dumps[0].parent), "--check"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    terms = [t for t in COMMON_TERMS_FILE.read_text().splitlines() if not t.startswith("#")]
    assert {"learning", "models", "data"} <= set(terms) and "protein" not in terms


def test_the_common_terms_script_refuses_a_folder_without_dumps(tmp_path: Path) -> None:
    command = [sys.executable, SCRIPT, "--dumps", str(tmp_path), "--check"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "--dumps" in done.stderr
