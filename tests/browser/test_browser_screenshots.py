"""scripts/screenshots.py: it writes each page it is asked for at both widths, light and dark."""

from __future__ import annotations

import struct
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO


def png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n", path
    width, height = struct.unpack(">II", header[16:24])
    return width, height


def test_the_screenshot_script_writes_the_email_and_pages_at_both_widths(
    chromium_path: str, tmp_path: Path
) -> None:
    out = tmp_path / "shots"
    script = REPO / "scripts" / "screenshots.py"
    pages = ("digest", "rate-done", "signup", "manage-ratings")
    only = [arg for name in pages for arg in ("--only", name)]
    command = [sys.executable, str(script), str(out), "--small", "--chromium", chromium_path]
    run = subprocess.run([*command, *only], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    written = {path.name: png_size(path) for path in out.iterdir()}
    assert sorted(written) == sorted(
        f"{name}-{width}{dark}.png"
        for name in pages
        for width in (1200, 390)
        for dark in ("", "-dark")
    )
    for name, (width, height) in written.items():
        assert str(width) in name and height == 800, (name, width, height)
