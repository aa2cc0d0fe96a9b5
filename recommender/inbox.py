"""The inbox folder's policy: which dumps in it are ready, and where each goes once read.

A dump dropped into the inbox is ingested once, then moved out: to ``processed/`` when it was
ingested (or was known already), to ``quarantine/`` with the reason in a ``.error.txt`` beside
it when it was refused. So a bad file never blocks the others and is never retried. A file
modified within the settle time may still be being written and waits for the next round.
Ingesting a file is the caller's (the facade's); this module only reads and moves files.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from recommender.dumps import is_dump_name
from recommender.results import FileOutcome, IngestReport

PROCESSED = "processed"
QUARANTINE = "quarantine"
REASON_SUFFIX = ".error.txt"


def ingest_folder(
    inbox: Path, ingest: Callable[[Path], FileOutcome], *, settle: timedelta
) -> IngestReport:
    """Ingest (by ``ingest``) each dump ready in ``inbox``, and move it out once it is done."""
    inbox.mkdir(parents=True, exist_ok=True)
    report = IngestReport()
    for path in ready_files(inbox, settle):
        outcome = ingest(path)
        report.files.append(outcome)
        file_away(inbox, path, outcome)
    return report


def ready_files(inbox: Path, settle: timedelta, *, now: float | None = None) -> list[Path]:
    """The dumps (:func:`recommender.dumps.is_dump_name`) in ``inbox`` left unmodified for
    ``settle``, by name.

    ``now`` is a wall-clock timestamp (the files' modification times are wall-clock ones).
    """
    now = time.time() if now is None else now
    return [
        path
        for path in sorted(inbox.iterdir())
        if is_dump_name(path.name)
        and path.is_file()
        and now - path.stat().st_mtime >= settle.total_seconds()
    ]


def file_away(inbox: Path, path: Path, outcome: FileOutcome) -> Path:
    """Move an ingested ``path`` to ``processed/``, or a refused one to ``quarantine/`` with
    its reason beside it, under a name no file there has yet; return where it went."""
    folder = inbox / (QUARANTINE if outcome.status == "refused" else PROCESSED)
    folder.mkdir(exist_ok=True)
    destination = free_name(folder / path.name)
    path.replace(destination)
    if outcome.error:
        # a name that is not UTF-8 (bytes the file system kept as they were) is written with
        # its odd bytes escaped: the reason must be there
        destination.with_name(destination.name + REASON_SUFFIX).write_text(
            outcome.error + "\n", encoding="utf-8", errors="backslashreplace"
        )
    return destination


# The longest file name most file systems take, in bytes.
NAME_MAX = 255


def free_name(path: Path) -> Path:
    """``path``, or ``path`` with a number added if that name is taken; its stem shortened
    where the name, numbered and with :data:`REASON_SUFFIX` after it, would be longer than a
    file system takes (a name already at the limit could be numbered never, and jammed the
    inbox: every round failed on it, before the files after it)."""
    stem, suffix = path.stem, path.suffix
    candidate, n = path, 0
    while True:
        number = f".{n}" if n else ""
        room = NAME_MAX - len(os.fsencode(f"{number}{suffix}{REASON_SUFFIX}"))
        short = _cut(stem, room)
        candidate = path.with_name(f"{short}{number}{suffix}")
        if not candidate.exists() and not os.path.lexists(candidate):
            return candidate
        n += 1


def _cut(stem: str, room: int) -> str:
    """``stem`` cut to at most ``room`` bytes as the file system stores it."""
    while len(os.fsencode(stem)) > room:
        stem = stem[:-1]
    return stem
