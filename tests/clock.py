"""A clock the tests move by hand, and the moment it starts at."""

from __future__ import annotations

from datetime import UTC, datetime

NOW = datetime(2026, 3, 21, 8, 0, tzinfo=UTC)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now
