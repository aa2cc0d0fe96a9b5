"""The inbox folder's policy, on real files: what is ready, and where a file goes."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

from recommender import inbox
from recommender.results import FileOutcome


def drop(folder: Path, name: str, *, age: float = 60.0) -> Path:
    """A file in ``folder`` last modified ``age`` seconds before 1,000,000."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text("a dump\n", encoding="utf-8")
    os.utime(path, (1_000_000 - age, 1_000_000 - age))
    return path


def test_a_file_modified_within_the_settle_time_waits_for_the_next_round(tmp_path: Path) -> None:
    drop(tmp_path, "old.txt", age=60)
    drop(tmp_path, "fresh.txt", age=1)
    ready = inbox.ready_files(tmp_path, timedelta(seconds=5), now=1_000_000)
    assert [p.name for p in ready] == ["old.txt"]


def test_hidden_files_and_files_otherwise_named_are_not_dumps(tmp_path: Path) -> None:
    drop(tmp_path, "b.txt")
    drop(tmp_path, "a.txt")
    drop(tmp_path, "C.TXT")  # as Windows may save it
    drop(tmp_path, ".partial.txt")
    drop(tmp_path, "notes.md")
    drop(tmp_path, "txt")
    ready = inbox.ready_files(tmp_path, timedelta(0), now=1_000_000)
    assert [p.name for p in ready] == ["C.TXT", "a.txt", "b.txt"]


def test_a_file_dated_ahead_was_finished_by_a_clock_ahead_and_is_read_at_once(
    tmp_path: Path,
) -> None:
    drop(tmp_path, "ahead.txt", age=-3600)  # copied with its date from a clock an hour ahead
    drop(tmp_path, "now.txt", age=-1)  # within the settle time either way: may be written yet
    ready = inbox.ready_files(tmp_path, timedelta(seconds=5), now=1_000_000)
    assert [p.name for p in ready] == ["ahead.txt"]


def test_links_folders_and_pipes_named_as_dumps_are_quarantined_unread_with_a_reason(
    tmp_path: Path,
) -> None:
    outside = drop(tmp_path / "elsewhere", "secret.txt")
    folder = tmp_path / "inbox"
    folder.mkdir()
    (folder / "link.txt").symlink_to(outside)
    (folder / "dangling.txt").symlink_to(tmp_path / "nowhere.txt")
    (folder / "dir.txt").mkdir()
    os.mkfifo(folder / "pipe.txt")
    read: list[Path] = []

    def ingest(path: Path) -> FileOutcome:
        read.append(path)
        return FileOutcome(path, "ingested")

    report = inbox.ingest_folder(folder, ingest, settle=timedelta(0))
    assert read == []  # nothing read through a link, from a folder or from a pipe
    assert [(f.path.name, f.status) for f in report.files] == [
        ("dangling.txt", "refused"),
        ("dir.txt", "refused"),
        ("link.txt", "refused"),
        ("pipe.txt", "refused"),
    ]
    reasons = {p.name: p.read_text() for p in (folder / "quarantine").glob("*.error.txt")}
    assert "a link; the inbox reads only files put in it" in reasons["link.txt.error.txt"]
    assert "a folder" in reasons["dir.txt.error.txt"]
    assert "not a plain file" in reasons["pipe.txt.error.txt"]
    assert outside.read_text() == "a dump\n" and not list(folder.glob("*.txt"))


def test_a_file_of_a_name_already_processed_is_kept_beside_it_under_a_number(
    tmp_path: Path,
) -> None:
    for _ in range(3):
        path = drop(tmp_path, "day.txt")
        inbox.file_away(tmp_path, path, FileOutcome(path, "ingested"))
    processed = sorted(p.name for p in (tmp_path / inbox.PROCESSED).iterdir())
    assert processed == ["day.1.txt", "day.2.txt", "day.txt"]
    assert not (tmp_path / inbox.QUARANTINE).exists()


def test_a_refused_file_is_quarantined_with_its_reason_beside_it(tmp_path: Path) -> None:
    path = drop(tmp_path, "bad.txt")
    where = inbox.file_away(tmp_path, path, FileOutcome(path, "refused", "bad.txt: not a dump"))
    assert where == tmp_path / "quarantine" / "bad.txt"
    reason = where.with_name("bad.txt.error.txt").read_text(encoding="utf-8")
    assert reason == "bad.txt: not a dump\n"
    assert not path.exists()
