"""Take listings into the catalogue: a dump file (or stream), or a day fetched from a source.

Each listing is written in one transaction, all of it or nothing, and written again if another
process stored an overlapping listing at the same moment. A dump that fails (the parser, the
database, anything else) is refused with a one-line reason; only a database that no longer
answers raises. Parsing is :mod:`recommender.dumps`'s, writing is :mod:`recommender.store`'s;
this module runs the steps and turns their results into :class:`FileOutcome` and
:class:`FetchedDay` records.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from sqlalchemy import Engine, select
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from recommender import dumps
from recommender.errors import RecommenderError
from recommender.results import FetchedDay, FetchReport, FileOutcome, IngestReport
from recommender.sources.base import Source, SourceDay
from recommender.store import papers as paper_store

if TYPE_CHECKING:
    from recommender.config import Settings

# How many times a listing is written before a conflict with another process is an error.
WRITE_ATTEMPTS = 3
# How far after today (UTC) a dump may be saved or dated: tomorrow in UTC is today somewhere
# (time zones run to UTC+14), so a dump saved there today is not refused as from the future.
DATE_SLACK = timedelta(days=1)


@dataclass(frozen=True)
class StreamDump:
    """One dump to ingest from a stream rather than a file: ``recommender ingest -``."""

    stream: BinaryIO
    name: str = dumps.STDIN  # names it in errors and as the dump's file name


class Ingester:
    """Writes listings through ``sessions``, as large as ``settings`` let a dump be."""

    def __init__(
        self,
        sessions: Callable[[], Session],
        engine: Engine,
        clock: Callable[[], datetime],
        settings: Settings,
    ) -> None:
        self._sessions = sessions
        self._engine = engine
        self._clock = clock
        self._limits = {
            "max_bytes": settings.max_dump_bytes,
            "max_papers": settings.max_dump_papers,
        }

    def dumps(
        self,
        items: Iterable[Path | StreamDump],
        reference_date: date | None,
        on_file: Callable[[FileOutcome], None] | None,
    ) -> IngestReport:
        """Ingest each dump (see :meth:`dump`), telling ``on_file`` of each as it is done."""
        report = IngestReport()
        for item in items:
            source = item if isinstance(item, StreamDump) else Path(item)
            outcome = self.dump(source, reference_date)
            report.files.append(outcome)
            if on_file is not None:
                on_file(outcome)
        return report

    def dump(self, source: Path | StreamDump, reference_date: date | None) -> FileOutcome:
        """Ingest one dump file or stream in its own transaction; refuse it with the reason if
        anything fails, unless the database no longer answers (that raises)."""
        # A stream is shown and recorded under its name ("<stdin>"): no file holds it.
        path = Path(source.name) if isinstance(source, StreamDump) else source
        if isinstance(source, Path) and not source.exists():
            return FileOutcome(path, "refused", f"{path}: no such file or directory")
        if isinstance(source, Path) and source.is_dir():  # what find_dump_files left: no dumps
            return FileOutcome(
                path,
                "refused",
                f"{path}: a folder with no dump (*.txt) in it or below it",
                folder=True,
            )
        try:
            dump = self._read(source, reference_date)
        except dumps.DumpError as exc:
            return FileOutcome(path, "refused", str(exc))
        except Exception as exc:  # a fault of the parser's own: this file's failure only
            return FileOutcome(path, "refused", f"{path}: could not be read: {reason(exc)}")
        dated = {"listing": dump.listing, "year_rule": dump.year_rule}
        if ahead := listing_ahead(dump, self._clock().date()):
            # Stored, it would stay the newest listing day, and no command re-dates a dump.
            return FileOutcome(
                path, "refused", f"{path}: {ahead}", listing_date=dump.listing_date, **dated
            )
        try:
            done = self._merge(
                lambda session: paper_store.add_dump(
                    session, _storable(path.name), dump, self._clock()
                )
            )
        except Exception as exc:
            if not self._database_answers():
                raise
            return FileOutcome(
                path,
                "refused",
                f"{path}: could not be stored: {reason(exc)}",
                listing_date=dump.listing_date,
                **dated,
            )
        if done.already_ingested:  # dated when it was first ingested
            dated = {"listing": dump.listing, "year_rule": done.year_rule}
        return FileOutcome(
            path,
            "already ingested" if done.already_ingested else "ingested",
            listing_date=done.listing_date,
            papers_new=done.papers_new,
            papers_updated=done.papers_updated,
            papers_unchanged=done.papers_unchanged,
            dump_id=done.dump_id,
            warnings=() if done.already_ingested else _repeats(path, dump),
            **dated,
        )

    def source_day(self, listing: SourceDay) -> FetchedDay:
        """Store one day of a source in one transaction: all of it, or (on any exception)
        nothing; a day fetched before with the same listing changes nothing."""
        done = self._merge(
            lambda session: paper_store.add_source_day(session, listing, self._clock())
        )
        return FetchedDay(
            listing.source,
            listing.day,
            "unchanged" if done.already_ingested else "fetched",
            done.papers_new,
            done.papers_updated,
            done.papers_unchanged,
            listing.skipped + done.skipped,
            listing.requests,
            done.dump_id,
        )

    def _read(self, source: Path | StreamDump, reference_date: date | None) -> dumps.Dump:
        limits = self._limits
        if isinstance(source, StreamDump):
            return dumps.read_stream(
                source.stream,
                today=self._clock().date(),
                reference_date=reference_date,
                source=source.name,
                **limits,
            )
        return dumps.read_dump(source, reference_date=reference_date, **limits)

    def _merge(
        self, write: Callable[[Session], paper_store.DumpOutcome]
    ) -> paper_store.DumpOutcome:
        """Run ``write`` (a listing merged into the catalogue) in one transaction, again if
        another process stored an overlapping listing at the same moment: the retry sees its
        papers and merges into them."""
        for attempt in range(WRITE_ATTEMPTS):
            try:
                with self._sessions() as session, session.begin():
                    return write(session)
            except IntegrityError:
                if attempt == WRITE_ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")

    def _database_answers(self) -> bool:
        """Whether the database still answers a query (after a failure, to blame the file)."""
        try:
            with self._engine.connect() as connection:
                connection.execute(select(1))
        except Exception:
            return False
        return True


class DayAhead(RecommenderError, ValueError):
    """A day after today: to fetch (no source lists it yet), or to date dumps by."""


def check_reference_date(today: date, reference_date: date | None) -> None:
    """Refuse a day to date dumps by (``--date``) after ``today`` (UTC), allowing
    :data:`DATE_SLACK`: no dump was saved on a day still to come."""
    if reference_date is not None and reference_date > today + DATE_SLACK:
        raise DayAhead(
            f"{reference_date.isoformat()} is after today ({today.isoformat()}, UTC): "
            "give the day the dumps were saved"
        )


def listing_ahead(dump: dumps.Dump, today: date) -> str | None:
    """Why ``dump`` is refused for a listing day after ``today`` (UTC, allowing
    :data:`DATE_SLACK`), or None if its day has come."""
    if dump.listing_date <= today + DATE_SLACK:
        return None
    shown = f"{dump.listing!r} → " if dump.listing else ""
    fix = "" if dump.year_rule == dumps.YEAR_IN_LISTING else "; give --date, the day it was saved"
    return (
        f"the listing day {shown}{dump.listing_date.isoformat()}, {dump.year_rule}, is after "
        f"today ({today.isoformat()}, UTC){fix}"
    )


def check_days(today: date, day: date | None, since: date | None) -> None:
    """Refuse a ``day`` or first day (``since``) after ``today`` (UTC), before any request."""
    for asked in (day, since):
        if asked is not None and asked > today:
            raise DayAhead(
                f"{asked.isoformat()} is after today ({today.isoformat()}, UTC): "
                "no source lists that day yet"
            )


def fetch_days(
    remote: Source,
    today: date,
    day: date | None,
    since: date | None,
    store: Callable[[SourceDay], FetchedDay],
    on_day: Callable[[FetchedDay], None] | None,
) -> FetchReport:
    """Fetch ``remote``'s listing of ``day`` (default: ``today``), or of every day from
    ``since`` to ``today``, and ``store`` each day as it comes, telling ``on_day`` of each; a
    day that fails to come raises, the days before it stay stored."""
    report = FetchReport(remote.name)
    listings = (
        remote.fetch_since(since, today)
        if since is not None
        else iter([remote.fetch_day(day or today)])
    )
    for listing in listings:
        fetched = store(listing)
        report.days.append(fetched)
        if on_day is not None:
            on_day(fetched)
    return report


def _repeats(path: Path, dump: dumps.Dump) -> tuple[str, ...]:
    """A line for each title ``dump`` lists again, saying which entry was kept."""
    lines = []
    for repeat in dumps.repeated_titles(dump.papers):
        where = f"{path}:{repeat.line}: {repeat.title[:60]!r} is listed again (first at line "
        if repeat.differs:
            *others, last = repeat.differs
            differs = f"{', '.join(others)} and {last}" if others else last
            lines.append(
                f"{where}{repeat.first}) with a different {differs}; kept the entry at line "
                f"{repeat.first}, dropped this one"
            )
        else:
            lines.append(f"{where}{repeat.first}) with the same abstract and metadata; kept once")
    return tuple(lines)


def reason(exc: Exception) -> str:
    """One line on why ``exc`` happened: a database error by the driver's own words (the
    statement and its parameters would fill a screen)."""
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        text = f"database error: {type(exc.orig).__name__}: {exc.orig}"
    else:
        text = f"{type(exc).__name__}: {exc}"
    first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
    return first if len(first) <= 300 else first[:299] + "…"


def _storable(name: str) -> str:
    """A file's name as the database can store it: bytes of a name that are not UTF-8 (kept
    by the file system as they were) become U+FFFD, and the dump is stored all the same."""
    return os.fsencode(name).decode("utf-8", errors="replace")
