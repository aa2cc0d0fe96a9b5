"""A clock the tests move by hand, and the moment it starts at."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

NOW = datetime(2026, 3, 21, 8, 0, tzinfo=UTC)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def saved_at_the_test_clock(path: Path, when: datetime = NOW) -> Path:
    """``path`` with its modification time set to ``when``: a dump dated by the year of its
    modification time is then dated alike whenever the tests run (a listing day after the
    test clock's today would be refused as from the future)."""
    os.utime(path, (when.timestamp(), when.timestamp()))
    return path
