"""What the tests run in child processes, kept apart so that a child imports little."""

from __future__ import annotations

from datetime import datetime
from threading import Barrier

from recommender.config import Settings
from recommender.core import Recommender
from tests.clock import Clock


def send_scheduled(
    settings: Settings, now: datetime, email: str, slot: str, barrier: Barrier
) -> None:
    """Open the database afresh, wait for the other senders, then send ``email``'s digest."""
    with Recommender(settings, clock=Clock(now)) as app:
        app.embed_papers()
        barrier.wait()
        app.send_scheduled(email, slot)
