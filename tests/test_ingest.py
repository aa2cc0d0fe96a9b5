"""Ingesting dumps through the facade, on a real database."""

from __future__ import annotations

import dataclasses
import io
import os
import re
import shutil
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from recommender.config import Settings
from recommender.core import DayAhead, PaperQuery, Recommender, StreamDump
from recommender.store.models import Dump, DumpPaper, Paper
from tests.builders import dump_text, entry
from tests.clock import Clock, saved_at_the_test_clock

REFERENCE = date(2026, 3, 21)


def write(folder: Path, name: str, text: str | bytes) -> Path:
    path = folder / name
    folder.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def counts(app: Recommender) -> tuple[int, int, int]:
    with Session(app.engine) as session:
        return (
            session.scalar(select(func.count()).select_from(Paper)) or 0,
            session.scalar(select(func.count()).select_from(Dump)) or 0,
            session.scalar(select(func.count()).select_from(DumpPaper)) or 0,
        )


def test_ingesting_real_dumps_stores_every_paper(
    app: Recommender, shared_dumps: list[Path]
) -> None:
    report = app.ingest(shared_dumps, reference_date=date(2025, 12, 20))
    assert report.ok and report.count("ingested") == 3
    papers, dumps, listed = counts(app)
    assert dumps == 3
    assert listed == 106 + 93 + 43
    assert papers == report.papers_new == listed - report.papers_updated - report.papers_unchanged
    stats = app.stats()
    assert (stats["papers"], stats["dumps"]) == (papers, 3)


def test_reingesting_a_dump_adds_nothing(app: Recommender, tmp_path: Path) -> None:
    path = write(tmp_path, "a.txt", dump_text([entry(1), entry(2)]))
    first = app.ingest([path], reference_date=REFERENCE)
    before = counts(app)
    again = app.ingest([path], reference_date=REFERENCE)
    crlf_copy = write(tmp_path, "copy.txt", path.read_text().replace("\n", "\r\n"))
    copy = app.ingest([crlf_copy], reference_date=REFERENCE)
    assert first.papers_new == 2
    assert [f.status for f in again.files + copy.files] == ["already ingested"] * 2
    assert again.papers_new == copy.papers_new == 0
    assert counts(app) == before == (2, 1, 2)


def test_same_paper_in_two_dumps_is_one_paper_with_the_newer_upvotes(
    app: Recommender, clock: Clock, tmp_path: Path
) -> None:
    older = write(
        tmp_path, "older.txt", dump_text([entry(1, authors=2, date="Mar 1", upvotes=5)], "Mar 2")
    )
    newer = write(
        tmp_path,
        "newer.txt",
        dump_text([entry(1, authors=2, date="Mar 1", upvotes=9), entry(2)], "Mar 3"),
    )
    first_seen = clock.now
    app.ingest([newer], reference_date=REFERENCE)
    clock.now += timedelta(hours=5)
    report = app.ingest([older], reference_date=REFERENCE)
    (paper,) = app.papers(PaperQuery(text="Paper 1:"))[0]
    assert paper.upvotes == 9  # the older listing does not overwrite the newer count
    assert paper.first_seen_at == first_seen
    assert (report.papers_new, report.papers_updated, report.papers_unchanged) == (0, 0, 1)
    clock.now += timedelta(hours=5)
    newest = write(
        tmp_path, "newest.txt", dump_text([entry(1, authors=2, date="Mar 1", upvotes=12)], "Mar 4")
    )
    report = app.ingest([newest], reference_date=REFERENCE)
    assert report.papers_updated == 1
    assert app.paper(paper.id).upvotes == 12
    assert [d["dump"] for d in app.paper(paper.id).listed_in] == [
        "older.txt",
        "newer.txt",
        "newest.txt",
    ]


def test_a_later_sighting_fills_in_what_an_earlier_one_lacked(
    app: Recommender, tmp_path: Path
) -> None:
    bare = write(tmp_path, "bare.txt", dump_text([entry(1)], "Mar 2"))
    full = write(
        tmp_path, "full.txt", dump_text([entry(1, authors=4, date="Feb 27", upvotes=3)], "Mar 3")
    )
    app.ingest([bare, full], reference_date=REFERENCE)
    (paper,) = app.papers(PaperQuery())[0]
    assert (paper.authors, paper.published, paper.upvotes) == (4, date(2026, 2, 27), 3)


def test_a_bad_file_in_a_batch_leaves_the_good_ones_ingested_and_itself_nothing(
    app: Recommender, tmp_path: Path
) -> None:
    good = write(tmp_path, "good.txt", dump_text([entry(1), entry(2)]))
    html = write(tmp_path, "page.txt", "<html><body>Daily Papers</body></html>")
    truncated = write(tmp_path, "cut.txt", dump_text([entry(3), entry(4)])[:-60])
    later = write(tmp_path, "later.txt", dump_text([entry(5)], "Mar 21"))
    report = app.ingest(
        [good, html, truncated, tmp_path / "missing.txt", later], reference_date=REFERENCE
    )
    assert [f.status for f in report.files] == [
        "ingested",
        "refused",
        "refused",
        "refused",
        "ingested",
    ]
    assert "page.txt:1: this is HTML" in (report.files[1].error or "")
    assert "cut.txt" in (report.files[2].error or "") and "truncated" in (
        report.files[2].error or ""
    )
    assert "no such file" in (report.files[3].error or "")
    titles = sorted(p.title for p in app.papers(PaperQuery())[0])
    assert titles == [entry(1).title, entry(2).title, entry(5).title]
    assert counts(app)[1] == 2


def test_an_unexpected_failure_while_writing_a_dump_refuses_it_and_leaves_nothing_of_it(
    app: Recommender, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app.init()
    path = write(tmp_path, "a.txt", dump_text([entry(1), entry(2)]))
    later = write(tmp_path, "b.txt", dump_text([entry(3)], "Mar 21"))
    real_flush = Session.flush
    calls = {"n": 0}

    def flush_then_fail(self: Session, *args: object, **kwargs: object) -> None:
        real_flush(self, *args, **kwargs)  # type: ignore[arg-type]
        calls["n"] += 1
        if calls["n"] == 2:  # after the dump row and its papers have reached the database
            raise OSError("disk unplugged")

    monkeypatch.setattr(Session, "flush", flush_then_fail)
    report = app.ingest([path, later], reference_date=REFERENCE)
    monkeypatch.undo()
    assert [f.status for f in report.files] == ["refused", "ingested"]
    assert report.files[0].error == f"{path}: could not be stored: OSError: disk unplugged"
    assert counts(app) == (1, 1, 1)
    assert app.ingest([path], reference_date=REFERENCE).papers_new == 2


def poison_papers(app: Recommender) -> None:
    """Make the database itself refuse any paper whose title holds "poison"."""
    with app.engine.begin() as connection:
        if connection.dialect.name == "sqlite":
            connection.exec_driver_sql(
                "CREATE TRIGGER poison BEFORE INSERT ON papers "
                "WHEN instr(lower(NEW.title), 'poison') "
                "BEGIN SELECT RAISE(ABORT, 'poisoned paper'); END"
            )
        else:
            connection.exec_driver_sql(
                "CREATE FUNCTION poison() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                "IF strpos(lower(NEW.title), 'poison') > 0 "
                "THEN RAISE EXCEPTION 'poisoned paper'; END IF; "
                "RETURN NEW; END $$"
            )
            connection.exec_driver_sql(
                "CREATE TRIGGER poison BEFORE INSERT ON papers "
                "FOR EACH ROW EXECUTE FUNCTION poison()"
            )


def test_a_file_the_database_refuses_is_refused_and_the_batch_goes_on(
    app: Recommender, tmp_path: Path
) -> None:
    app.init()
    poison_papers(app)
    good = write(tmp_path, "good.txt", dump_text([entry(1)], "Mar 19"))
    bad = write(tmp_path, "bad.txt", dump_text([entry(2), entry(3, title="A poison pill")]))
    later = write(tmp_path, "later.txt", dump_text([entry(4)], "Mar 21"))
    report = app.ingest([good, bad, later], reference_date=REFERENCE)
    assert [f.status for f in report.files] == ["ingested", "refused", "ingested"]
    error = report.files[1].error or ""
    assert error.startswith(f"{bad}: could not be stored: database error: ")
    assert "poisoned paper" in error and "INSERT" not in error  # the reason, not the SQL
    assert counts(app) == (2, 2, 2)  # nothing of bad.txt, not even its first paper


def test_a_number_too_large_for_the_store_is_refused_by_the_parser_with_its_line(
    app: Recommender, tmp_path: Path
) -> None:
    huge = write(
        tmp_path,
        "huge.txt",
        dump_text([entry(1, authors=2, date="Mar 2", upvotes=3_000_000_000)]),
    )
    good = write(tmp_path, "good.txt", dump_text([entry(2)], "Mar 19"))
    report = app.ingest([huge, good], reference_date=REFERENCE)
    assert [f.status for f in report.files] == ["refused", "ingested"]
    assert f"{huge}:17: an upvote count of 3000000000 is out of range" in (
        report.files[0].error or ""
    )


def test_the_inbox_quarantines_a_file_the_database_refuses_and_reads_the_rest(
    app: Recommender, settings: Settings, tmp_path: Path
) -> None:
    app.init()
    poison_papers(app)
    inbox = settings.inbox
    saved_at_the_test_clock(
        write(inbox, "1-bad.txt", dump_text([entry(1, title="Poison in the well")]))
    )
    saved_at_the_test_clock(write(inbox, "2-good.txt", dump_text([entry(2)])))
    report = app.ingest_inbox(settle=timedelta(0))
    assert [f.status for f in report.files] == ["refused", "ingested"]
    assert sorted(p.name for p in (inbox / "quarantine").iterdir()) == [
        "1-bad.txt",
        "1-bad.txt.error.txt",
    ]
    reason = (inbox / "quarantine" / "1-bad.txt.error.txt").read_text()
    assert "could not be stored" in reason and "poisoned paper" in reason
    assert [p.name for p in (inbox / "processed").iterdir()] == ["2-good.txt"]
    assert not list(inbox.glob("*.txt"))
    assert app.ingest_inbox(settle=timedelta(0)).files == []  # nothing left to block a poll


def test_a_file_named_at_the_file_systems_limit_dropped_twice_does_not_jam_the_inbox(
    app: Recommender, settings: Settings
) -> None:
    inbox = settings.inbox
    longest = "L" * 251 + ".txt"  # 255 bytes: no room for ".1" or for a reason beside it
    saved_at_the_test_clock(write(inbox, longest, dump_text([entry(1)])))
    assert [f.status for f in app.ingest_inbox(settle=timedelta(0)).files] == ["ingested"]
    saved_at_the_test_clock(write(inbox, longest, dump_text([entry(1)])))  # the same again
    write(inbox, "M" * 251 + ".txt", "not a dump at all\n" * 3)  # refused: a reason beside it
    saved_at_the_test_clock(write(inbox, "z-after.txt", dump_text([entry(2)], "Mar 19")))
    report = app.ingest_inbox(settle=timedelta(0))
    assert [f.status for f in report.files] == ["already ingested", "refused", "ingested"]
    assert not list(inbox.glob("*.txt"))
    processed = sorted(p.name for p in (inbox / "processed").iterdir())
    # each cut to leave room for a reason beside it (".error.txt"), then numbered
    assert processed == ["L" * 239 + ".1.txt", "L" * 241 + ".txt", "z-after.txt"]
    (reason,) = (inbox / "quarantine").glob("*.error.txt")
    assert "no listing date" in reason.read_text() and len(reason.name) <= 255


def test_a_dump_whose_name_is_not_utf8_is_stored_and_its_papers_kept(
    app: Recommender, settings: Settings
) -> None:
    inbox = settings.inbox
    inbox.mkdir(parents=True, exist_ok=True)
    name = os.fsdecode(b"day-\xff.txt")  # bytes a file system keeps, which are no UTF-8
    (inbox / name).write_text(dump_text([entry(1)]), encoding="utf-8")
    saved_at_the_test_clock(inbox / name)
    report = app.ingest_inbox(settle=timedelta(0))
    assert [f.status for f in report.files] == ["ingested"]
    assert counts(app)[0] == 1
    assert [d.file_name for d in app.dumps()] == ["day-\ufffd.txt"]


def test_the_inbox_leaves_a_file_modified_within_the_settle_setting_for_the_next_look(
    settings: Settings, clock: Clock
) -> None:
    write(settings.inbox, "day.txt", dump_text([entry(1)]))
    with Recommender(dataclasses.replace(settings, inbox_settle_seconds=3600)) as patient:
        assert patient.ingest_inbox().files == []
    with Recommender(dataclasses.replace(settings, inbox_settle_seconds=0)) as eager:
        assert [f.status for f in eager.ingest_inbox().files] == ["ingested"]


def test_a_database_that_stops_answering_stops_the_batch_instead_of_refusing_every_file(
    tmp_path: Path, clock: Clock
) -> None:
    folder = tmp_path / "db"
    settings = Settings(
        home=tmp_path, database_url=f"sqlite:///{folder / 'x.db'}", embedding_model="none"
    )
    folder.mkdir()
    files = [write(tmp_path, f"{n}.txt", dump_text([entry(n)])) for n in (1, 2)]

    def pull_the_plug(_outcome: object) -> None:
        app.engine.dispose()
        shutil.rmtree(folder)

    with Recommender(settings, clock=clock) as app, pytest.raises(OperationalError):
        app.ingest(files, reference_date=REFERENCE, on_file=pull_the_plug)


def test_a_paper_listed_twice_in_one_dump_is_stored_once(app: Recommender, tmp_path: Path) -> None:
    path = write(tmp_path, "a.txt", dump_text([entry(1), entry(2), entry(1)]))
    report = app.ingest([path], reference_date=REFERENCE)
    assert report.papers_new == 2
    assert counts(app) == (2, 1, 2)


@pytest.mark.parametrize(
    ("repeat", "note"),
    [
        (
            entry(1, title="SAME   title", abstract="Abstract B.", date="Mar 2", upvotes=4),
            "with a different abstract, date and upvote count; kept the entry at line 11, "
            "dropped this one",
        ),
        (entry(1, title="Same Title", abstract="Abstract A."), "with the same abstract and "),
    ],
    ids=["different", "same"],
)
def test_a_title_listed_twice_in_one_dump_is_one_paper_and_the_repeat_is_reported(
    app: Recommender, tmp_path: Path, repeat: Any, note: str
) -> None:
    first = entry(1, title="Same Title", abstract="Abstract A.")
    path = write(tmp_path, "twice.txt", dump_text([first, entry(2), repeat]))
    report = app.ingest([path], reference_date=REFERENCE)
    (outcome,) = report.files
    assert (outcome.status, outcome.papers_new) == ("ingested", 2)
    (warning,) = outcome.warnings
    assert warning.startswith(f"{path}:19: {repeat.title!r} is listed again (first at line 11) ")
    assert note in warning
    assert report.warnings == [warning]
    assert counts(app) == (2, 1, 2)
    (kept,) = app.papers(PaperQuery(text="Same Title"))[0]
    assert (kept.title, kept.abstract, kept.upvotes) == ("Same Title", "Abstract A.", None)
    # Re-ingesting the file keeps nothing new and drops nothing new: no warning.
    assert app.ingest([path], reference_date=REFERENCE).warnings == []


def test_the_dump_records_where_it_came_from(
    app: Recommender, clock: Clock, tmp_path: Path
) -> None:
    path = write(tmp_path, "listing.txt", dump_text([entry(1), entry(2)], "Mar 20"))
    app.ingest([path], reference_date=REFERENCE)
    with Session(app.engine) as session:
        dump = session.scalars(select(Dump)).one()
    assert (dump.file_name, dump.listing_date, dump.ingested_at) == (
        "listing.txt",
        date(2026, 3, 20),
        clock.now,
    )
    assert (dump.papers_total, dump.papers_new, dump.papers_updated) == (2, 2, 0)
    assert dump.year_rule == "year from --date 2026-03-21"
    assert len(dump.content_hash) == 64


def test_papers_are_found_by_words_filters_and_title_prefix(
    app: Recommender, tmp_path: Path
) -> None:
    text = dump_text(
        [
            entry(
                1, title="Graph Neural Networks for Molecules", authors=3, date="Mar 19", upvotes=40
            ),
            entry(2, title="Diffusion Models for Video", abstract="Video diffusion, no code here."),
            entry(3, title="Graph Transformers at Scale", authors=2, date="Mar 18", upvotes=4),
        ]
    )
    app.ingest([write(tmp_path, "a.txt", text)], reference_date=REFERENCE)
    titles = lambda query: [p.title for p in app.papers(query)[0]]  # noqa: E731
    assert titles(PaperQuery(text="graph")) == [
        "Graph Neural Networks for Molecules",
        "Graph Transformers at Scale",
    ]
    assert titles(PaperQuery(text="graph molecules")) == ["Graph Neural Networks for Molecules"]
    assert titles(PaperQuery(min_upvotes=10)) == ["Graph Neural Networks for Molecules"]
    assert titles(PaperQuery(sort="upvotes"))[:2] == [
        "Graph Neural Networks for Molecules",
        "Graph Transformers at Scale",
    ]
    assert "Diffusion Models for Video" not in titles(PaperQuery(with_code=True))
    assert titles(PaperQuery(text="100%_")) == []
    found, total = app.papers(PaperQuery(limit=1))
    assert (len(found), total) == (1, 3)
    assert app.paper("graph trans").title == "Graph Transformers at Scale"
    assert app.paper(found[0].id[:10]).id == found[0].id


def test_papers_of_one_dump_or_listed_since_a_day_come_in_the_newest_order(
    app: Recommender, tmp_path: Path
) -> None:
    day1 = write(tmp_path, "day1.txt", dump_text([entry(1), entry(2)], "Mar 19"))
    day2 = write(tmp_path, "day2.txt", dump_text([entry(2), entry(3)], "Mar 20"))
    report = app.ingest([day1, day2], reference_date=REFERENCE)
    second = report.files[1].dump_id
    titles = lambda query: [p.title for p in app.papers(query)[0]]  # noqa: E731
    assert titles(PaperQuery(dump_id=second)) == [entry(3).title, entry(2).title]
    assert titles(PaperQuery(listed_since=date(2026, 3, 20))) == [entry(3).title, entry(2).title]
    (third,) = app.papers(PaperQuery(dump_id=second, text="Number 3"))[0]
    assert (third.published, third.first_listed) == (None, date(2026, 3, 20))


def test_an_ambiguous_or_unknown_paper_reference_is_explained(
    app: Recommender, tmp_path: Path
) -> None:
    app.ingest(
        [write(tmp_path, "a.txt", dump_text([entry(1), entry(2)]))], reference_date=REFERENCE
    )
    from recommender.core import PaperNotFound

    with pytest.raises(PaperNotFound, match="matches several papers"):
        app.paper("Paper")
    with pytest.raises(PaperNotFound, match="no paper"):
        app.paper("Nothing like this")


class EndlessStream(io.RawIOBase):
    """Standard input that never ends, counting what is read of it."""

    def __init__(self, chunk: bytes) -> None:
        self.chunk = chunk
        self.read_bytes = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        size = len(buffer)
        data = (self.chunk * (size // len(self.chunk) + 1))[:size]
        buffer[:size] = data
        self.read_bytes += size
        return size


def test_a_dump_from_standard_input_is_dated_by_today_and_repiping_it_adds_nothing(
    app: Recommender, clock: Clock
) -> None:
    text = dump_text([entry(1), entry(2, authors=2, date="Mar 19", upvotes=3)], "Mar 20")
    first = app.ingest([StreamDump(io.BytesIO(text.encode()))])
    again = app.ingest([StreamDump(io.BytesIO(text.encode()))])
    assert [f.status for f in first.files + again.files] == ["ingested", "already ingested"]
    assert first.papers_new == 2 and again.papers_new == 0
    assert counts(app) == (2, 1, 2)
    with Session(app.engine) as session:
        dump = session.scalars(select(Dump)).one()
    today = clock.now.date().isoformat()
    assert (dump.file_name, dump.listing_date) == ("<stdin>", date(2026, 3, 20))
    assert dump.year_rule == f"year from today's date, {today} (standard input)"
    assert first.files[0].path.name == "<stdin>"
    assert first.files[0].dating() == f"Mar 20 → 2026-03-20, {dump.year_rule}"


def test_date_dates_a_dump_from_standard_input(app: Recommender, clock: Clock) -> None:
    # Dec 30 before the reference date of 2027-01-02: last year's, not this year's.
    clock.now = datetime(2027, 1, 2, 9, 0, tzinfo=UTC)  # a dump is not dated ahead of today
    text = dump_text([entry(1)], "Dec 30")
    report = app.ingest([StreamDump(io.BytesIO(text.encode()))], reference_date=date(2027, 1, 2))
    outcome = report.files[0]
    assert (outcome.status, outcome.listing_date) == ("ingested", date(2026, 12, 30))
    assert outcome.year_rule == "year from --date 2027-01-02"


def test_a_date_after_today_is_refused_before_any_file_is_read(
    app: Recommender, clock: Clock, tmp_path: Path
) -> None:
    app.init()
    path = write(tmp_path, "a.txt", dump_text([entry(1)]))
    with pytest.raises(DayAhead, match=r"^2030-01-01 is after today \(2026-03-21, UTC\)"):
        app.ingest([path], reference_date=date(2030, 1, 1))
    with pytest.raises(DayAhead):
        app.ingest([path], reference_date=clock.now.date() + timedelta(days=2))
    assert counts(app) == (0, 0, 0)


def test_a_listing_day_after_today_is_refused_naming_the_file_and_the_day_and_nothing_of_it_kept(
    app: Recommender, tmp_path: Path
) -> None:
    # A clock ahead (or a copy that kept one's time) made this file in 2030: Mar 20 is
    # taken as 2029-03-20, which would stay the newest listing day for years.
    ahead = write(tmp_path, "ahead.txt", dump_text([entry(1)], "Mar 20"))
    in_2030 = datetime(2030, 1, 1, tzinfo=UTC).timestamp()
    os.utime(ahead, (in_2030, in_2030))
    says_so = write(tmp_path, "says-so.txt", dump_text([entry(2)], "Mar 23, 2026"))
    good = write(tmp_path, "good.txt", dump_text([entry(3)], "Mar 20"))
    report = app.ingest([ahead, says_so, good])
    assert [f.status for f in report.files] == ["refused", "refused", "ingested"]
    assert report.files[0].error == (
        f"{ahead}: the listing day 'Mar 20' → 2029-03-20, year from the file's modification "
        "time (2030-01-01), is after today (2026-03-21, UTC); give --date, the day it was saved"
    )
    assert report.files[1].error == (
        f"{says_so}: the listing day 'Mar 23, 2026' → 2026-03-23, year given in the listing, "
        "is after today (2026-03-21, UTC)"
    )
    assert [p.title for p in app.papers(PaperQuery())[0]] == [entry(3).title]
    assert counts(app) == (1, 1, 1)
    # Nothing of it was kept, so the right date now dates it.
    again = app.ingest([ahead], reference_date=REFERENCE)
    assert (again.files[0].status, again.files[0].listing_date) == ("ingested", date(2026, 3, 20))


def test_a_dump_saved_or_dated_tomorrow_in_utc_is_taken_for_today_somewhere(
    app: Recommender, clock: Clock
) -> None:
    tomorrow = clock.now.date() + timedelta(days=1)
    text = dump_text([entry(1)], "Mar 22, 2026")
    report = app.ingest([StreamDump(io.BytesIO(text.encode()))], reference_date=tomorrow)
    assert report.ok and report.files[0].listing_date == tomorrow == date(2026, 3, 22)


def test_a_bad_dump_on_standard_input_is_refused_naming_stdin_and_the_line(
    app: Recommender,
) -> None:
    cut = dump_text([entry(1), entry(2)])[:-60]
    report = app.ingest(
        [
            StreamDump(io.BytesIO(b"\n\n<html><body>Daily Papers</body></html>")),
            StreamDump(io.BytesIO(cut.encode())),
        ],
        reference_date=REFERENCE,
    )
    assert not report.ok and [f.status for f in report.files] == ["refused", "refused"]
    assert (report.files[0].error or "").startswith("<stdin>:3: this is HTML")
    assert re.match(r"<stdin>:\d+: .*truncated", report.files[1].error or "")
    assert counts(app) == (0, 0, 0)


def test_standard_input_over_the_size_limit_is_refused_without_reading_it_all(
    settings: Settings, clock: Clock
) -> None:
    settings = dataclasses.replace(settings, max_dump_bytes=5_000)
    endless = EndlessStream(dump_text([entry(n) for n in range(1, 4)]).encode())
    with Recommender(settings, clock=clock) as app:
        report = app.ingest([StreamDump(io.BufferedReader(endless))], reference_date=REFERENCE)
        assert report.files[0].status == "refused"
        assert (report.files[0].error or "").startswith("<stdin>: ")
        assert "a dump is at most" in (report.files[0].error or "")
        assert "max_dump_bytes" in (report.files[0].error or "")
        assert counts(app) == (0, 0, 0)
    # What the buffer reads ahead, at most: not the endless rest.
    assert endless.read_bytes <= 5_001 + io.DEFAULT_BUFFER_SIZE


def test_the_example_in_the_format_doc_reads_as_the_doc_says(app: Recommender) -> None:
    doc = (Path(__file__).parent.parent / "docs" / "dump-format.md").read_text()
    example = re.search(r"## Example\n.*?```text\n(.*?)```", doc, re.DOTALL)
    assert example is not None
    report = app.ingest([StreamDump(io.BytesIO(example[1].encode()))], reference_date=REFERENCE)
    assert report.ok and report.files[0].listing_date == date(2026, 3, 20)
    papers = {p.title: p for p in app.papers(PaperQuery())[0]}
    first, second = (
        papers["Sparse Mixtures for Small Devices"],
        papers["Ranking Papers by What You Read"],
    )
    assert (first.authors, first.published, first.upvotes) == (None, None, None)
    assert (second.authors, second.published, second.upvotes) == (3, date(2026, 3, 19), 12)
    assert second.links == [{"kind": "code", "url": "https://github.com/example/ranker"}]
    assert first.abstract.startswith("We shrink") and "phone, and show" in first.abstract
