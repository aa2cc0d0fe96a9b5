"""The inbox folder's policy: which dumps in it are ready, and where each goes once read.

A dump dropped into the inbox is ingested once, then moved out: to ``processed/`` when it was
ingested (or was known already), to ``quarantine/`` with the reason in a ``.error.txt`` beside
it when it was refused. So a bad file never blocks the others and is never retried. A file
modified within the settle time may still be being written and waits for the next round (one
dated in the future was finished elsewhere, by a clock ahead, and is read at once). What is
not a file put there (a link, a folder, a pipe) is quarantined unread, with its reason: the
inbox never reads through a link to a file outside it, and nothing sits there without a word.
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
        refusal = _not_a_file(path)
        outcome = FileOutcome(path, "refused", refusal) if refusal else ingest(path)
        report.files.append(outcome)
        file_away(inbox, path, outcome)
    return report


def _not_a_file(path: Path) -> str | None:
    """Why ``path`` is no dump to read, though named like one; None for a plain file."""
    if path.is_symlink():
        return f"{path.name}: a link; the inbox reads only files put in it, not what links lead to"
    if path.is_dir():
        return f"{path.name}: a folder, not a dump"
    if not path.is_file():
        return f"{path.name}: not a plain file (a pipe or a device), not a dump"
    return None


def ready_files(inbox: Path, settle: timedelta, *, now: float | None = None) -> list[Path]:
    """The entries named as dumps (:func:`recommender.dumps.is_dump_name`) in ``inbox`` left
    unmodified for ``settle`` (or dated over ``settle`` ahead: finished by a clock ahead), by
    name; with them what is not a plain file (a link, a folder, a pipe), to be quarantined.

    ``now`` is a wall-clock timestamp (the files' modification times are wall-clock ones).
    """
    now = time.time() if now is None else now
    wait = settle.total_seconds()
    ready = []
    for path in sorted(inbox.iterdir()):
        if not is_dump_name(path.name):
            continue
        try:
            age = now - path.lstat().st_mtime
        except OSError:  # gone since it was listed
            continue
        if abs(age) >= wait or path.is_symlink() or not path.is_file():
            ready.append(path)
    return ready


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
