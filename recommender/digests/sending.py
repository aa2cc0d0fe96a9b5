"""A sending run: composed digests told as they come, each batch delivered once it is recorded.

Composing is :mod:`recommender.digests.composer`'s and delivering
:mod:`recommender.digests.outbox`'s; this module interleaves the two, and writes the HTML of
a digest composed for a preview.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path

from recommender import text_files
from recommender.message import html_part
from recommender.results import ComposeOutcome, DeliveryOutcome, SendReport


def collect(
    batches: Iterable[list[ComposeOutcome]],
    on_outcome: Callable[[ComposeOutcome], None] | None,
) -> list[ComposeOutcome]:
    """The outcomes of ``batches`` in order, each told to ``on_outcome`` as it comes."""
    outcomes = []
    for done in batches:
        for outcome in done:
            outcomes.append(outcome)
            if on_outcome is not None:
                on_outcome(outcome)
    return outcomes


def compose_and_deliver(
    batches: Iterable[list[ComposeOutcome]],
    deliver: Callable[[], list[DeliveryOutcome]],
    on_composed: Callable[[ComposeOutcome], None] | None,
) -> SendReport:
    """Collect ``batches`` and ``deliver`` after each batch that recorded a digest (while
    other processes compose the next ones), and once more at the end."""
    composed: list[ComposeOutcome] = []
    delivered: list[DeliveryOutcome] = []
    for done in batches:
        composed += collect([done], on_composed)
        if any(c.status == "recorded" for c in done):
            delivered += deliver()
    delivered += deliver()
    return SendReport(composed, delivered)


def write_preview(folder: Path, outcome: ComposeOutcome, now: datetime) -> Path | None:
    """Write the HTML of a composed digest into ``folder``; None when nothing was composed."""
    if outcome.message is None:
        return None
    html = html_part(outcome.message)
    assert html is not None  # every digest has its HTML part
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{outcome.email}-{now:%Y%m%d-%H%M%S}.html"
    text_files.replace_file(path, html.encode("utf-8"))
    return path
