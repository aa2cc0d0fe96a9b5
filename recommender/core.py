"""The facade: the one API that the CLI, the scheduler and the web endpoints call.

It wires settings, the store and the pure modules together and owns transactions. It never
parses text, renders HTML or speaks SMTP itself.
"""

from __future__ import annotations

import contextlib
import email as email_parser
import itertools
import multiprocessing
import os
import queue
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, TypeVar

from sqlalchemy import Engine, select
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm import Session

from recommender import dumps, inbox, links, mailer, profiles, ratings_io, resources
from recommender.config import SOURCE_NAMES, ConfigError, Settings
from recommender.message import POLICY
from recommender.results import (
    DumpInfo,
    EvaluationInfo,
    FetchedDay,
    FetchReport,
    FileOutcome,
    ImportReport,
    IngestReport,
    PaperInfo,
    RatingInfo,
    RatingLink,
    Recommendation,
    SubscriberInfo,
)
from recommender.sources.arxiv import ArxivSource
from recommender.sources.base import Source, SourceDay
from recommender.sources.hf import HuggingFaceSource
from recommender.sources.http import Pace, PoliteClient
from recommender.store import candidates as candidate_store
from recommender.store import database
from recommender.store import digests as digest_store
from recommender.store import papers as paper_store
from recommender.store import subscribers as subscriber_store
from recommender.store.digests import DigestNotFound
from recommender.store.models import Digest, Paper, Rating, Subscriber
from recommender.store.papers import SORTS, PaperNotFound, PaperQuery
from recommender.store.subscribers import SubscribeOutcome, SubscriberNotFound

if TYPE_CHECKING:  # these pull in numpy and scikit-learn: imported on first use only
    from recommender import digests, model, ranking, render

__all__ = [
    "Recommender",
    "PaperQuery",
    "SORTS",
    "PaperNotFound",
    "SubscriberNotFound",
    "DigestNotFound",
    "StreamDump",
    # the result records, from recommender.results
    "DumpInfo",
    "EvaluationInfo",
    "FetchReport",
    "FetchedDay",
    "FileOutcome",
    "ImportReport",
    "IngestReport",
    "PaperInfo",
    "RatingInfo",
    "RatingLink",
    "Recommendation",
    "SubscriberInfo",
]

# The sources ``fetch`` knows. (``SORTS``, from the store, are the orders ``papers`` lists in.)
SOURCES = SOURCE_NAMES


# A digest claimed for sending longer ago than this was interrupted (an SMTP conversation
# times out long before).
SENDING_LEASE = timedelta(minutes=10)


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class StreamDump:
    """One dump to ingest from a stream rather than a file: ``recommender ingest -``."""

    stream: BinaryIO
    name: str = dumps.STDIN  # names it in errors and as the dump's file name


@dataclass(frozen=True)
class ComposeOutcome:
    """What composing one subscriber's digest did."""

    email: str
    status: str  # recorded, nothing new, already recorded or unsubscribed
    digest_id: int | None = None
    papers: int = 0
    subject: str | None = None
    message: bytes | None = field(default=None, repr=False)

    def to_dict(self) -> dict[str, object]:
        return {
            "email": self.email,
            "status": self.status,
            "digest_id": self.digest_id,
            "papers": self.papers,
            "subject": self.subject,
        }


@dataclass(frozen=True)
class DeliveryOutcome:
    """What one delivery attempt did."""

    digest_id: int
    email: str
    subject: str
    state: str  # sent, failed (retried later) or undeliverable
    attempts: int
    error: str | None
    retry_at: datetime | None
    where: str | None

    def to_dict(self) -> dict[str, object]:
        data = asdict(self)
        data["retry_at"] = self.retry_at.isoformat() if self.retry_at else None
        return data


@dataclass(frozen=True)
class SendReport:
    composed: list[ComposeOutcome]
    delivered: list[DeliveryOutcome]

    def to_dict(self) -> dict[str, object]:
        return {
            "composed": [c.to_dict() for c in self.composed],
            "delivered": [d.to_dict() for d in self.delivered],
        }


@dataclass(frozen=True)
class OutboxEntry:
    digest_id: int
    email: str
    subject: str
    state: str
    attempts: int
    created_at: datetime
    next_attempt_at: datetime | None
    last_error: str | None
    sent_at: datetime | None = None

    @classmethod
    def of(cls, digest: Digest, address: str) -> OutboxEntry:
        return cls(
            digest.id,
            address,
            digest.subject,
            digest.state,
            digest.attempts,
            digest.created_at,
            digest.next_attempt_at if digest.state in ("pending", "failed") else None,
            digest.last_error,
            digest.sent_at if digest.state == "sent" else None,
        )

    def to_dict(self) -> dict[str, object]:
        data = asdict(self)
        for name in ("created_at", "next_attempt_at", "sent_at"):
            value = getattr(self, name)
            data[name] = value.isoformat() if value is not None else None
        return data


class Recommender:
    """Everything the package does, over one database."""

    def __init__(self, settings: Settings, *, clock: Callable[[], datetime] = utcnow) -> None:
        self.settings = settings
        self.clock = clock
        self.engine = database.make_engine(settings.database_url)
        # The home holds the secret and (by default) the database: private before anything
        # goes in. An existing one keeps its mode; one that cannot be made is reported by
        # whatever first needs it.
        with contextlib.suppress(OSError):
            settings.home.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._sessions = database.make_sessionmaker(self.engine)
        self._reading_sessions = database.make_reading_sessionmaker(self.engine)
        self._schema_checked = False
        self._ranker: ranking.Ranker | None = None
        self._signer: links.Signer | None = None
        self._templates: render.Templates | None = None
        self._pool: digests.PaperPool | None = None
        # Where digests go; None means "from the settings" (SMTP, else files). Tests and
        # benchmarks may set their own.
        self.transport: mailer.Transport | None = None

    def __enter__(self) -> Recommender:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.engine.dispose()

    def new_engine(self) -> Engine:
        """Another engine on this database, with the package's connection settings (for a
        library that keeps tables of its own there, such as the scheduler's job store)."""
        return database.make_engine(self.settings.database_url)

    # -- schema --------------------------------------------------------------------------

    def init(self) -> bool:
        """Create or upgrade the database schema, and make the link-signing secret if there is
        none; return whether the schema changed."""
        self.signer()
        if database.schema_is_current(self.engine):
            self._schema_checked = True
            return False
        database.migrate(self.engine)
        self._schema_checked = True
        return True

    def _check_schema(self) -> None:
        """Apply pending migrations on first use; a schema that cannot be used raises here,
        before any work starts."""
        if not self._schema_checked:
            self.init()

    def _session(self):  # type: ignore[no-untyped-def]
        self._check_schema()
        return self._sessions()

    # -- papers --------------------------------------------------------------------------

    def ingest(
        self,
        files: Iterable[Path | StreamDump],
        *,
        reference_date: date | None = None,
        on_file: Callable[[FileOutcome], None] | None = None,
    ) -> IngestReport:
        """Ingest dump files (or a dump on standard input), each in its own transaction;
        refuse bad ones, keep going.

        Whatever fails with one file (the parser, the database, anything else) refuses that
        file with the reason, and its transaction is rolled back. Only a database that no
        longer answers at all stops the batch, by raising: every other file would fail too.
        """
        self._check_schema()  # a schema that cannot be used fails the batch, not each file
        report = IngestReport()
        for item in files:
            source = item if isinstance(item, StreamDump) else Path(item)
            outcome = self._ingest_one(source, reference_date)
            report.files.append(outcome)
            if on_file is not None:
                on_file(outcome)
        return report

    def _ingest_one(self, source: Path | StreamDump, reference_date: date | None) -> FileOutcome:
        # A stream is shown and recorded under its name ("<stdin>"): no file holds it.
        path = Path(source.name) if isinstance(source, StreamDump) else source
        if isinstance(source, Path) and not source.exists():
            return FileOutcome(path, "refused", f"{path}: no such file or directory")
        try:
            dump = self._read_dump(source, reference_date)
        except dumps.DumpError as exc:
            return FileOutcome(path, "refused", str(exc))
        except Exception as exc:  # a fault of the parser's own: this file's failure only
            return FileOutcome(path, "refused", f"{path}: could not be read: {_reason(exc)}")
        dated = {"listing": dump.listing, "year_rule": dump.year_rule}
        try:
            done = self._store_dump(path.name, dump)
        except Exception as exc:
            if not self._database_answers():
                raise
            return FileOutcome(
                path,
                "refused",
                f"{path}: could not be stored: {_reason(exc)}",
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
            **dated,
        )

    def _read_dump(self, source: Path | StreamDump, reference_date: date | None) -> dumps.Dump:
        limits = {
            "max_bytes": self.settings.max_dump_bytes,
            "max_papers": self.settings.max_dump_papers,
        }
        if isinstance(source, StreamDump):
            return dumps.read_stream(
                source.stream,
                today=self.clock().date(),
                reference_date=reference_date,
                source=source.name,
                **limits,
            )
        return dumps.read_dump(source, reference_date=reference_date, **limits)

    def _store_dump(self, file_name: str, dump: dumps.Dump) -> paper_store.DumpOutcome:
        """Write ``dump`` in one transaction: all of it, or (on any exception) nothing."""
        return self._merge_listing(
            lambda session: paper_store.add_dump(session, file_name, dump, self.clock())
        )

    def _merge_listing(
        self, write: Callable[[Session], paper_store.DumpOutcome]
    ) -> paper_store.DumpOutcome:
        """Run ``write`` (a listing merged into the catalogue) in one transaction, again if
        another process stored an overlapping listing at the same moment: the retry sees its
        papers and merges into them."""
        for attempt in range(3):
            try:
                with self._session() as session, session.begin():
                    return write(session)
            except IntegrityError:
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    # -- sources ---------------------------------------------------------------------------

    def fetch(
        self,
        source: str = "hf",
        *,
        day: date | None = None,
        since: date | None = None,
        on_day: Callable[[FetchedDay], None] | None = None,
    ) -> FetchReport:
        """Fetch a source's listing of ``day`` (default: today, in UTC), or of every day from
        ``since`` to today, and store each day in its own transaction.

        A day that fails to be fetched raises :class:`SourceError` (one line naming the URL);
        the days stored before it stay stored.
        """
        if day is not None and since is not None:
            raise ValueError("give a day or a first day (since), not both")
        self._check_schema()
        today = self.clock().date()
        report = FetchReport(source)
        with self._source(source) as remote:
            listings = (
                remote.fetch_since(since, today)
                if since is not None
                else iter([remote.fetch_day(day or today)])
            )
            for listing in listings:
                fetched = self.store_source_day(listing)
                report.days.append(fetched)
                if on_day is not None:
                    on_day(fetched)
        return report

    @contextlib.contextmanager
    def _source(self, name: str) -> Iterator[Source]:
        """The source named ``name`` over polite clients, built from the settings."""
        settings = self.settings
        contact = settings.contact_address
        if name == "hf":
            with PoliteClient(settings.hf_api_url, contact=contact) as client:
                yield HuggingFaceSource(client)
        elif name == "arxiv":
            pace = Pace(settings.arxiv_request_interval)
            with (
                PoliteClient(settings.arxiv_rss_url, contact=contact, pace=pace) as feeds,
                PoliteClient(settings.arxiv_api_url, contact=contact, pace=pace) as api,
            ):
                yield ArxivSource(
                    feeds, api, categories=settings.categories, types=settings.announce_types
                )
        else:
            raise ValueError(f"unknown source {name!r}; choose one of: {', '.join(SOURCES)}")

    def store_source_day(self, listing: SourceDay) -> FetchedDay:
        """Store one day of a source in one transaction: all of it, or (on any exception)
        nothing; a day fetched before with the same listing changes nothing."""
        done = self._merge_listing(
            lambda session: paper_store.add_source_day(session, listing, self.clock())
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

    def _database_answers(self) -> bool:
        """Whether the database still answers a query (after a failure, to blame the file)."""
        try:
            with self.engine.connect() as connection:
                connection.execute(select(1))
        except Exception:
            return False
        return True

    def dumps(self) -> list[DumpInfo]:
        """The ingested dumps, oldest listing first."""
        with self._session() as session:
            return [
                DumpInfo(
                    d.id,
                    d.file_name,
                    d.listing_date,
                    d.year_rule,
                    d.papers_total,
                    d.papers_new,
                    d.papers_updated,
                    d.ingested_at,
                )
                for d in paper_store.list_dumps(session)
            ]

    def papers(self, query: PaperQuery) -> tuple[list[PaperInfo], int]:
        """Return the papers matching ``query`` and how many match in all."""
        with self._session() as session:
            found, total = paper_store.find_papers(session, query)
            listed = paper_store.listing_dates(session, {paper.first_dump_id for paper in found})
            infos = [PaperInfo.of(p, first_listed=listed.get(p.first_dump_id)) for p in found]
            return infos, total

    def paper(self, ref: str) -> PaperInfo:
        """Return one paper by id or unique title prefix; raise :class:`PaperNotFound`."""
        with self._session() as session:
            paper = paper_store.get_paper(session, ref)
            found = paper_store.dumps_of(session, paper.id)
            listed = [
                {"dump": d.file_name, "listing_date": d.listing_date.isoformat()} for d in found
            ]
            first = next((d.listing_date for d in found if d.id == paper.first_dump_id), None)
            return PaperInfo.of(paper, listed, first)

    def stats(self) -> dict[str, object]:
        """Count what the database holds."""
        with self._session() as session:
            stats = paper_store.catalogue_stats(session)
        stats["database"] = self.settings.describe_database()
        return stats

    # -- subscribers -----------------------------------------------------------------------

    def subscribe(self, path: Path, *, resubscribe: bool = False) -> list[SubscribeOutcome]:
        """Create or update subscribers from a profile file or folder: all of them or none."""
        loaded = profiles.load_profiles(Path(path))
        with self._session() as session, session.begin():
            return [
                subscriber_store.upsert_subscriber(
                    session, profile, self.clock(), resubscribe=resubscribe
                )
                for profile in loaded
            ]

    def unsubscribe(self, email: str) -> bool:
        """Stop digests for ``email``; return False if they had already unsubscribed."""
        with self._session() as session, session.begin():
            return subscriber_store.unsubscribe(session, email, self.clock())

    def users(self) -> list[SubscriberInfo]:
        with self._session() as session:
            counts = subscriber_store.current_rating_counts(session)
            return [
                SubscriberInfo.of(s, counts.get(s.id, 0))
                for s in subscriber_store.list_subscribers(session)
            ]

    def schedules(self) -> dict[str, tuple[str, str]]:
        """The (schedule, time zone) of each subscriber whose digests go out, by address."""
        with self._session() as session:
            return subscriber_store.schedules(session)

    def user(self, email: str) -> SubscriberInfo:
        with self._session() as session:
            subscriber = subscriber_store.get_subscriber(session, email)
            count = len(subscriber_store.current_ratings(session, subscriber.id))
            return SubscriberInfo.of(subscriber, count)

    # -- ratings ---------------------------------------------------------------------------

    def rate(self, email: str, paper_ref: str, vote: str, *, source: str = "cli") -> RatingInfo:
        """Record a vote (up, down or clear) by ``email`` on a paper (id or title prefix)."""
        if vote not in subscriber_store.VOTES:
            raise ValueError(f"unknown vote {vote!r}; use up, down or clear")
        with self._session() as session, session.begin():
            subscriber = subscriber_store.get_subscriber(session, email)
            paper = paper_store.get_paper(session, paper_ref)
            now = self.clock()
            rating = subscriber_store.add_rating(
                session, subscriber, paper, subscriber_store.VOTES[vote], source, now
            )
            info = (
                RatingInfo.of(rating, paper)
                if rating is not None
                else RatingInfo(paper.id, paper.title, "clear", source, now)
            )
            changed = rating is not None and rating in session.new  # added, not kept
        # The rating is committed first: should retraining fail, the model is merely stale
        # and is retrained before it is next used. A vote that changed nothing needs none.
        if changed:
            self.retrain(email)
        return info

    def ratings(self, email: str, *, history: bool = False) -> list[RatingInfo]:
        """Return the current ratings (newest first), or the whole history (oldest first)."""
        with self._session() as session:
            subscriber = subscriber_store.get_subscriber(session, email)
            rows = (
                subscriber_store.rating_history(session, subscriber.id)
                if history
                else subscriber_store.current_ratings(session, subscriber.id)
            )
            return [RatingInfo.of(rating, paper) for rating, paper in rows]

    def export_ratings(self, email: str) -> list[ratings_io.RatingRecord]:
        """Return the whole rating history of ``email``, for export."""
        return [
            ratings_io.RatingRecord(r.paper_id, r.title, r.vote, r.source, r.rated_at)
            for r in self.ratings(email, history=True)
        ]

    def import_ratings(self, email: str, records: list[ratings_io.RatingRecord]) -> ImportReport:
        """Add exported ratings to ``email``'s history, skipping those already there."""
        report = ImportReport()
        with self._session() as session, session.begin():
            subscriber = subscriber_store.get_subscriber(session, email)
            have = {
                (r.paper_id, r.vote, r.rated_at)
                for r, _ in subscriber_store.rating_history(session, subscriber.id)
            }
            for record in records:
                paper = session.get(Paper, record.paper_id) if record.paper_id else None
                if paper is None and record.title:
                    paper = session.get(Paper, dumps.paper_id(record.title))
                if paper is None:
                    report.unknown_papers.append(record.title or record.paper_id)
                    continue
                vote = subscriber_store.VOTES[record.vote]
                if (paper.id, vote, record.rated_at) in have:
                    report.already_there += 1
                    continue
                have.add((paper.id, vote, record.rated_at))
                session.add(
                    Rating(
                        subscriber_id=subscriber.id,
                        paper_id=paper.id,
                        vote=vote,
                        source=record.source,
                        rated_at=record.rated_at,
                    )
                )
                report.imported += 1
        return report

    # -- ranking ---------------------------------------------------------------------------

    @property
    def ranker(self) -> ranking.Ranker:
        if self._ranker is None:
            from recommender import ranking

            self._ranker = ranking.Ranker(self.settings.embedding_model)
        return self._ranker

    def _space(self, *, refit: bool = False) -> model.FeatureSpace:
        for attempt in range(3):
            try:
                with self._session() as session, session.begin():
                    return self.ranker.space(session, self.clock(), refit=refit)
            except IntegrityError:
                # Another process made the same space at the same moment: use theirs.
                if attempt == 2:
                    raise
                refit = False
        raise AssertionError("unreachable")

    def prepare(
        self,
        papers: list[tuple[str, str]] | None = None,
        *,
        on_start: Callable[[int], None] | None = None,
        on_progress: Callable[[int], None] | None = None,
    ) -> int:
        """Embed the papers (all unembedded ones by default) ahead of ranking; return how many.

        Each batch is committed as it is done, so an interrupted run keeps its work.
        """
        space = self._space()
        with self._session() as session:
            if papers is None:
                papers = candidate_store.catalogue_texts(session)
            missing = self.ranker.missing_embeddings(self.ranker.scope(session, space), papers)
        if on_start is not None:
            on_start(len(missing))
        for chunk in self.ranker.embedding_chunks(missing):
            with self._session() as session, session.begin():
                self.ranker.embed(self.ranker.scope(session, space), chunk, on_progress)
        return len(missing)

    def recommend(
        self,
        email: str,
        *,
        top: int = 10,
        since: date | None = None,
        on_start: Callable[[int], None] | None = None,
        on_progress: Callable[[int], None] | None = None,
    ) -> list[Recommendation]:
        """The best ``top`` papers for ``email`` among those new to them, best first.

        ``since`` keeps papers first listed on or after that date.
        """
        with self._session() as session:
            subscriber = subscriber_store.get_subscriber(session, email)
            papers = candidate_store.unseen_papers(session, subscriber, listed_since=since)
            texts = [(p.title, p.abstract) for p in papers]
        self.prepare(texts, on_start=on_start, on_progress=on_progress)
        space = self._space()
        with self._session() as session, session.begin():
            subscriber = subscriber_store.get_subscriber(session, email)
            papers = candidate_store.unseen_papers(session, subscriber, listed_since=since)
            scope = self.ranker.scope(session, space)
            ranked = self.ranker.rank(scope, subscriber, papers, self.clock(), top=top)
            return [Recommendation.of(r) for r in ranked]

    def retrain(self, email: str | None = None, *, refit: bool = False) -> int:
        """Retrain one subscriber's model, or everyone's; ``refit`` makes a new feature space
        from the catalogue as it is now. Return how many models were trained."""
        space = self._space(refit=refit)
        with self._session() as session:
            emails = (
                [email]
                if email is not None
                else [s.email for s in subscriber_store.list_subscribers(session)]
            )
        for address in emails:
            with self._session() as session, session.begin():
                subscriber = subscriber_store.get_subscriber(session, address)
                self.ranker.train(self.ranker.scope(session, space), subscriber, self.clock())
        return len(emails)

    def evaluate(self, email: str) -> EvaluationInfo:
        """Cross-validate ``email``'s model on their own ratings; ``ValueError`` if too few."""
        space = self._space()
        with self._session() as session, session.begin():
            subscriber = subscriber_store.get_subscriber(session, email)
            evaluation = self.ranker.evaluate(self.ranker.scope(session, space), subscriber)
            return EvaluationInfo(email, space.id, evaluation)

    # -- digests ---------------------------------------------------------------------------

    def signer(self) -> links.Signer:
        """The link signer, with the secret from the settings or ``home/secret`` (made once)."""
        if self._signer is None:
            secret = self.settings.secret
            if not secret:
                path = self.settings.home / "secret"
                secret = links.load_or_create_secret(path)
                if len(secret) < links.MIN_SECRET_LENGTH:
                    raise ConfigError(
                        f"{path}: the link-signing secret must be at least "
                        f"{links.MIN_SECRET_LENGTH} characters, not {len(secret)}; delete the "
                        "file to have a new one made"
                    )
            self._signer = links.Signer(secret, clock=self.clock)
        return self._signer

    def _mail(self) -> digests.Mail:
        from recommender import digests

        return digests.Mail(self.settings.mail_from, self.settings.base_url, self.signer())

    def templates(self) -> render.Templates:
        if self._templates is None:
            from recommender import render

            self._templates = render.Templates(resources.templates_dir())
        return self._templates

    def delivery_transport(self) -> mailer.Transport:
        """SMTP when a server is set, else ``.eml`` and ``.html`` files in the outbox folder."""
        if self.transport is not None:
            return self.transport
        s = self.settings
        if s.smtp_host:
            return mailer.SmtpTransport(
                mailer.SmtpSettings(
                    s.smtp_host, s.smtp_port, s.smtp_security, s.smtp_user, s.smtp_password
                )
            )
        return mailer.FileTransport(s.outbox)

    def _recipients(self, session: Session, email: str | None) -> list[tuple[int, str]]:
        """The (id, address) of ``email``, or of everyone whose digests go out."""
        if email is not None:
            subscriber = subscriber_store.get_subscriber(session, email)
            return [(subscriber.id, subscriber.email)]
        return subscriber_store.recipients(session)

    def compose(
        self,
        email: str | None = None,
        *,
        slot: str | None = None,
        dry_run: bool = False,
        on_subscriber: Callable[[ComposeOutcome], None] | None = None,
        workers: int | None = None,
    ) -> list[ComposeOutcome]:
        """Record the due digest of ``email`` (or of every active subscriber), ready to send.

        See :meth:`_composing` for batches, transactions and ``workers``; ``dry_run`` rolls
        back. A digest another process recorded first is reported, not duplicated.
        """
        outcomes = []
        for done in self._composing(email, slot, dry_run, workers):
            for outcome in done:
                outcomes.append(outcome)
                if on_subscriber is not None:
                    on_subscriber(outcome)
        return outcomes

    def _composing(
        self, email: str | None, slot: str | None, dry_run: bool, workers: int | None
    ) -> Iterator[list[ComposeOutcome]]:
        """Compose the due digests :data:`recommender.digests.BATCH` subscribers at a time,
        yielding each batch's outcomes in order.

        Each batch is recorded in one transaction; when another sender recorded one of its
        digests first, it is composed again one subscriber at a time. With several batches the
        work is shared by ``workers`` processes (default: one per CPU, for
        :data:`WORKERS_FROM` batches or more).
        """
        from recommender import digests

        now = self.clock()
        with self._session() as session:
            targets = self._recipients(session, email)
        batches = _chunked(targets, digests.BATCH)
        if workers is None:
            workers = (os.cpu_count() or 1) if len(batches) >= WORKERS_FROM else 1
        workers = max(1, min(workers, len(batches)))
        pool, space = self._paper_pool(now), self._space()  # embeds what workers would each
        if workers == 1:
            for batch in batches:
                yield self._compose_targets(batch, pool, space, now, slot, dry_run)
            return
        method = worker_start_method()
        if method == "fork":
            # what every worker needs is computed once, here, and inherited
            with self._reading_sessions() as session:
                pool.prepare(self.ranker, session, space)
            initializer, initargs = _adopt_worker, (self,)
        else:
            initializer, initargs = _start_worker, (self.settings, now)
        executor = ProcessPoolExecutor(
            workers,
            mp_context=multiprocessing.get_context(method),
            initializer=initializer,
            initargs=initargs,
        )
        try:
            yield from executor.map(
                _compose_in_worker,
                batches,
                itertools.repeat(now),
                itertools.repeat(slot),
                itertools.repeat(dry_run),
            )
        finally:
            executor.shutdown(cancel_futures=True)

    def _compose_targets(
        self,
        targets: list[tuple[int, str]],
        pool: digests.PaperPool,
        space: model.FeatureSpace,
        now: datetime,
        slot: str | None,
        dry_run: bool,
    ) -> list[ComposeOutcome]:
        done = self._compose_batch(targets, pool, space, now, slot, dry_run)
        if done is not None:
            return done
        # another sender recorded one of them first: one at a time
        return [
            outcome
            for one in targets
            for outcome in self._compose_batch([one], pool, space, now, slot, dry_run) or []
        ]

    def _paper_pool(self, now: datetime) -> digests.PaperPool:
        """The papers a digest may show, embedded; kept while none of them changes, so that
        the service's digest jobs, one subscriber each, do not load the day anew each time."""
        from recommender import digests

        since = now - digests.FIRST_DIGEST_LOOKBACK
        kept = self._pool
        with self._session() as session:
            if (
                kept is not None
                and kept.since <= since
                and digests.pool_state(session, kept.since) == kept.state
            ):
                return kept.narrowed(since)
            pool = digests.PaperPool(session, since)
        self.prepare([(p.title, p.abstract) for p in pool.papers])
        self._pool = pool
        return pool

    def _compose_batch(
        self,
        targets: list[tuple[int, str]],
        pool: digests.PaperPool,
        space: model.FeatureSpace,
        now: datetime,
        slot: str | None,
        dry_run: bool,
    ) -> list[ComposeOutcome] | None:
        """Compose the digests of ``targets`` (id, address) and record them in one transaction.

        ``None`` when another sender recorded one of several digests first (the recording
        rolled back), or when SQLite refused a write made while reading; for one subscriber,
        another sender's digest is its outcome.
        """
        from recommender import digests

        ids = [subscriber_id for subscriber_id, _ in targets]
        mail, templates = self._mail(), self.templates()  # the signer may read its secret file
        outcomes: dict[int, ComposeOutcome] = {}

        def due(session: Session) -> list[Subscriber]:
            """The targets still subscribed whose digest (of this slot) is not recorded."""
            # On PostgreSQL, row locks (taken in id order): two senders record in turn.
            found = session.scalars(
                select(Subscriber)
                .where(Subscriber.id.in_(ids))
                .order_by(Subscriber.id)
                .with_for_update()
            )
            active = {s.id: s for s in found if s.active}
            taken = digest_store.taken_slots(session, ids, [slot]) if slot else set()
            out = []
            for subscriber_id, address in targets:
                if subscriber_id not in active:
                    outcomes[subscriber_id] = ComposeOutcome(address, "unsubscribed")
                elif (subscriber_id, slot) in taken:
                    outcomes[subscriber_id] = ComposeOutcome(address, "already recorded")
                else:
                    out.append(active[subscriber_id])
            return out

        def due_with_models(session: Session) -> tuple[list[Subscriber], list[model.UserModel]]:
            """:func:`due`, and their models (stale ones retrained and stored)."""
            subscribers = due(session)
            if not pool.papers:
                return subscribers, []
            return subscribers, self.ranker.models_for(
                self.ranker.scope(session, space), subscribers, now
            )

        def plan(
            session: Session, subscribers: list[Subscriber], models: list[model.UserModel]
        ) -> list[digest_store.NewDigest]:
            return digests.plan(
                session,
                self.ranker,
                space,
                subscribers,
                models,
                pool,
                now,
                mail,
                templates,
                slot=slot,
                nothing_new_note=self.settings.nothing_new_note,
            )

        try:
            if len(targets) == 1:
                # One subscriber: chosen and recorded under the lock, so that of two senders
                # the second sees what the first recorded.
                with self._session() as session, session.begin():
                    subscribers, models = due_with_models(session)
                    planned = plan(session, subscribers, models)
                    recorded = digest_store.record_digests(session, planned, now)
                    if dry_run:
                        session.rollback()
            else:
                # Many: stale models retrained and stored; the digests chosen and rendered
                # without holding a lock; then recorded in a short transaction. Two senders of
                # one digest collide on its slot or its papers (IntegrityError); and a digest
                # another sender recorded meanwhile (seen under the lock: its latest digest
                # changed) wins, even where the two chose different papers.
                with self._session() as session, session.begin():
                    subscribers, models = due_with_models(session)
                    seen = digest_store.last_digest_times(session, ids)
                with self._reading_sessions() as session:
                    planned = plan(session, subscribers, models)
                    session.rollback()
                with self._session() as session, session.begin():
                    still = {s.id for s in due(session)}
                    latest = digest_store.last_digest_times(session, ids)
                    addresses = dict(targets)
                    for subscriber_id in still:
                        if latest.get(subscriber_id) != seen.get(subscriber_id):
                            outcomes[subscriber_id] = ComposeOutcome(
                                addresses[subscriber_id], "already recorded"
                            )
                    planned = [
                        p
                        for p in planned
                        if p.subscriber_id in still and p.subscriber_id not in outcomes
                    ]
                    recorded = digest_store.record_digests(session, planned, now)
                    if dry_run:
                        session.rollback()
        except IntegrityError:
            if len(targets) > 1:
                return None
            return [ComposeOutcome(targets[0][1], "already recorded")]
        except OperationalError:
            # SQLite: a write while reading (an embedding not stored yet) met another writer.
            if len(targets) > 1:
                return None
            raise
        addresses = dict(targets)
        for p, digest_id in zip(planned, recorded, strict=True):
            outcomes[p.subscriber_id] = ComposeOutcome(
                addresses[p.subscriber_id],
                "recorded",
                digest_id,
                len(p.lines),
                p.subject,
                p.message,
            )
        return [
            outcomes.get(subscriber_id) or ComposeOutcome(address, "nothing new")
            for subscriber_id, address in targets
        ]

    def deliver(
        self,
        email: str | None = None,
        *,
        on_digest: Callable[[DeliveryOutcome], None] | None = None,
    ) -> list[DeliveryOutcome]:
        """Send every recorded digest that is due (of ``email`` only, if given).

        Each digest is claimed (state ``sending``, committed) just before it is handed to the
        mail server, and its outcome is recorded the moment the server answers, in the same
        short transaction that claims the next one. So a sender that dies leaves ``sending``
        only the digest each connection was handing over: after :data:`SENDING_LEASE` it is
        flagged ``unconfirmed`` instead of being sent again, and every other digest is either
        recorded as what it is or still due. A sender stopped by an exception gives back the
        digest it had claimed and not yet handed over.

        Over SMTP the digests are shared by ``smtp_connections`` connections, each in a thread
        of its own: one connection spends most of its time waiting for the server's replies.
        """
        now = self.clock()
        with self._session() as session, session.begin():
            digest_store.flag_interrupted(session, now, SENDING_LEASE)
            subscriber_id = (
                subscriber_store.get_subscriber(session, email).id if email is not None else None
            )
            due = digest_store.due_ids(session, now, subscriber_id)
        todo: queue.SimpleQueue[int] = queue.SimpleQueue()  # shared by the connections
        for digest_id in due:
            todo.put(digest_id)
        transport = self.delivery_transport()
        lanes = 1
        if self.transport is None and isinstance(transport, mailer.SmtpTransport):
            lanes = max(1, min(self.settings.smtp_connections, len(due)))
        if lanes == 1:
            done = self._deliver_lane(transport, todo, threading.Event())
        else:
            done = self._deliver_lanes(todo, lanes)
        outcomes = []
        with contextlib.closing(done):  # on an error here, the lanes stop before going on
            for outcome in done:
                outcomes.append(outcome)
                if on_digest is not None:
                    on_digest(outcome)
        return outcomes

    def _deliver_lanes(self, todo: queue.SimpleQueue[int], lanes: int) -> Iterator[DeliveryOutcome]:
        """Deliver the digests of ``todo`` over ``lanes`` connections, each in a thread of its
        own; yield the outcomes here, as they come. After an error in one lane (or here) the
        others finish the digest they are handing over, and the first error is raised."""
        results: queue.SimpleQueue[DeliveryOutcome | BaseException | None]
        results = queue.SimpleQueue()
        stop = threading.Event()

        def run() -> None:
            try:
                for outcome in self._deliver_lane(self.delivery_transport(), todo, stop):
                    results.put(outcome)
            except BaseException as exc:  # handed to the caller's thread
                stop.set()
                results.put(exc)
            finally:
                results.put(None)

        threads = [threading.Thread(target=run, daemon=True) for _ in range(lanes)]
        for thread in threads:
            thread.start()
        error: BaseException | None = None
        try:
            running = len(threads)
            while running:
                item = results.get()
                if item is None:
                    running -= 1
                elif isinstance(item, BaseException):
                    error = error or item
                else:
                    yield item
        finally:
            stop.set()
            for thread in threads:
                thread.join()
        if error is not None:
            raise error

    def _deliver_lane(
        self, transport: mailer.Transport, todo: queue.SimpleQueue[int], stop: threading.Event
    ) -> Iterator[DeliveryOutcome]:
        """Deliver digests from ``todo`` one after another over ``transport`` (one
        connection) until it is empty or ``stop`` is set."""
        batch = getattr(transport, "batch", None)
        with batch() if batch is not None else contextlib.nullcontext():
            claimed = self._settle(None, todo, stop)
            try:
                while claimed is not None:
                    # If handing over fails other than as a delivery error, the digest may
                    # have reached the mail server: it stays ``sending``.
                    handing, claimed = claimed, None
                    outcome = self._deliver_one(transport, handing)
                    claimed = self._settle(outcome, todo, stop)
                    yield outcome
            finally:
                if claimed is not None:  # claimed, never handed over
                    with self._session() as session, session.begin():
                        digest_store.release(session, [claimed])

    def _settle(
        self,
        outcome: DeliveryOutcome | None,
        todo: queue.SimpleQueue[int],
        stop: threading.Event,
    ) -> digest_store.Claimed | None:
        """In one transaction, record ``outcome`` and claim the next digest of ``todo`` that is
        still due (none once ``stop`` is set); return the one claimed."""
        with self._session() as session, session.begin():
            now = self.clock()
            if outcome is not None:
                digest_store.mark(
                    session,
                    [
                        digest_store.Outcome(
                            outcome.digest_id,
                            outcome.attempts,
                            outcome.state,
                            outcome.error,
                            outcome.retry_at,
                        )
                    ],
                    now,
                )
            while not stop.is_set():
                try:
                    digest_id = todo.get_nowait()
                except queue.Empty:
                    break
                # another sender may have taken it since it was found due
                claimed = digest_store.claim(session, digest_id, now)
                if claimed is not None:
                    return claimed
        return None

    def _deliver_one(
        self, transport: mailer.Transport, digest: digest_store.Claimed
    ) -> DeliveryOutcome:
        try:
            where = transport.send(mailer.Outgoing.from_bytes(digest.message))
        except mailer.TransientDeliveryError as exc:
            retry = mailer.retry_at(digest.attempts, self.clock())
            state = "failed" if retry is not None else "undeliverable"
            error: str | None = str(exc)
            where = None
        except mailer.PermanentDeliveryError as exc:
            state, error, retry, where = "undeliverable", str(exc), None, None
        else:
            state, error, retry = "sent", None, None
        return DeliveryOutcome(
            digest.id, digest.address, digest.subject, state, digest.attempts, error, retry, where
        )

    def send(
        self,
        email: str | None = None,
        *,
        on_composed: Callable[[ComposeOutcome], None] | None = None,
        on_delivered: Callable[[DeliveryOutcome], None] | None = None,
        workers: int | None = None,
    ) -> SendReport:
        """Record the due digests (of ``email``, or everyone's) and send what is due.

        Each batch of digests is delivered as soon as it is recorded, while other processes
        compose the next ones (``workers``: see :meth:`_composing`).
        """
        composed: list[ComposeOutcome] = []
        delivered: list[DeliveryOutcome] = []
        for done in self._composing(email, None, False, workers):
            for outcome in done:
                composed.append(outcome)
                if on_composed is not None:
                    on_composed(outcome)
            if any(c.status == "recorded" for c in done):
                delivered += self.deliver(email, on_digest=on_delivered)
        delivered += self.deliver(email, on_digest=on_delivered)
        return SendReport(composed, delivered)

    def preview(self, email: str) -> tuple[ComposeOutcome, Path | None]:
        """Compose ``email``'s next digest without recording it; write its HTML to a file."""
        (outcome,) = self.compose(email, dry_run=True)
        if outcome.message is None:
            return outcome, None
        message = email_parser.message_from_bytes(
            outcome.message, _class=EmailMessage, policy=POLICY
        )
        html = message.get_body(preferencelist=("html",))
        assert html is not None
        folder = self.settings.home / "previews"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{outcome.email}-{self.clock():%Y%m%d-%H%M%S}.html"
        path.write_text(html.get_content(), encoding="utf-8")
        return outcome, path

    def outbox(self, *, include_sent: bool = False) -> list[OutboxEntry]:
        """Digests not (known to be) sent: pending, failed, undeliverable or unconfirmed; or
        every digest (``include_sent``)."""
        with self._session() as session, session.begin():
            digest_store.flag_interrupted(session, self.clock(), SENDING_LEASE)
            found = digest_store.outbox(session, include_sent=include_sent)
            return [OutboxEntry.of(d, address) for d, address in found]

    def outbox_entry(self, digest_id: int) -> OutboxEntry:
        """One digest, whatever its state; raise :class:`DigestNotFound`."""
        with self._session() as session:
            found = digest_store.outbox(session, digest_id=digest_id)
            if not found:
                raise DigestNotFound(digest_id)
            return OutboxEntry.of(*found[0])

    def resend(self, digest_id: int) -> bool:
        """Queue a failed, undeliverable or unconfirmed digest to be sent again; False if it
        is in another state (:meth:`outbox_entry` says which). Raise :class:`DigestNotFound`."""
        with self._session() as session, session.begin():
            return digest_store.resend(session, digest_id, self.clock())

    def waiting(self, email: str | None = None) -> tuple[int, datetime | None]:
        """How many digests (of ``email``, or everyone's) wait to be tried again later, and
        when the first of them is due."""
        with self._session() as session:
            subscriber_id = (
                subscriber_store.get_subscriber(session, email).id if email is not None else None
            )
            return digest_store.waiting(session, self.clock(), subscriber_id)

    # -- links from emails (the web endpoints call these) ----------------------------------

    def _subscriber_email(self, subscriber_id: int) -> str:
        with self._session() as session:
            subscriber = session.get(Subscriber, subscriber_id)
            if subscriber is None:
                raise links.TokenInvalid("this link belongs to a subscriber who is gone")
            return subscriber.email

    def open_rating_link(self, token: str) -> RatingLink:
        """What a rating link asks for, without changing anything."""
        claim = self.signer().check_rating(token)
        address = self._subscriber_email(claim.subscriber_id)
        paper = self.paper(claim.paper_id)
        current = {r.paper_id: r.vote for r in self.ratings(address)}.get(paper.id)
        return RatingLink(address, paper, claim.vote, current)

    def confirm_rating_link(self, token: str, *, undo: bool = False) -> RatingInfo:
        """Record the rating a link asks for (or withdraw it: ``undo``), from the web."""
        link = self.open_rating_link(token)
        return self.rate(link.email, link.paper.id, "clear" if undo else link.vote, source="web")

    def open_subscriber_link(self, action: str, token: str) -> SubscriberInfo:
        """The subscriber of an unsubscribe or manage link."""
        return self.user(self._subscriber_email(self.signer().check_subscriber(action, token)))

    def confirm_unsubscribe_link(self, token: str) -> SubscriberInfo:
        """Unsubscribe the subscriber of an unsubscribe link (a POST, or RFC 8058 one-click)."""
        info = self.open_subscriber_link("unsubscribe", token)
        self.unsubscribe(info.email)
        return self.user(info.email)

    def digest_html(self, token: str) -> str:
        """The HTML of the digest a browser-view link names."""
        ref = self.signer().check_digest(token)
        with self._session() as session:
            digest = digest_store.get_digest(session, ref)
            if digest is None or not digest.message:
                raise links.TokenInvalid("this digest is no longer here")
            raw = digest.message
        message = email_parser.message_from_bytes(raw, _class=EmailMessage, policy=POLICY)
        body = message.get_body(preferencelist=("html",))
        assert body is not None
        return str(body.get_content())

    def set_interests(self, token: str, interests: list[str]) -> SubscriberInfo:
        """Replace the interests of a manage link's subscriber (their model retrains)."""
        info = self.open_subscriber_link("manage", token)
        cleaned = [" ".join(i.split()) for i in interests if i.strip()]
        with self._session() as session, session.begin():
            subscriber = subscriber_store.get_subscriber(session, info.email)
            if subscriber.interests != cleaned:
                subscriber.interests, subscriber.updated_at = cleaned, self.clock()
        self.retrain(info.email)
        return self.user(info.email)

    # -- the service's jobs ------------------------------------------------------------------

    def ingest_inbox(self, *, settle: timedelta = timedelta(seconds=5)) -> IngestReport:
        """Ingest the dumps waiting in the inbox folder and move each out, to ``processed/`` or
        ``quarantine/`` (:mod:`recommender.inbox`); whatever fails with a file (see
        :meth:`ingest`) is that file's failure."""
        self._check_schema()  # a schema that cannot be used fails the round, quarantining nothing
        return inbox.ingest_folder(
            self.settings.inbox, lambda path: self._ingest_one(path, None), settle=settle
        )

    def send_scheduled(self, email: str, slot: str) -> SendReport:
        """The scheduled digest of ``email`` for ``slot`` (recorded once, whoever runs it)."""
        composed = self.compose(email, slot=slot)
        return SendReport(composed, self.deliver(email))


# Composing uses worker processes from this many batches of subscribers on.
WORKERS_FROM = 4
# How worker processes start: "fork" (they inherit the parent's pool of papers, vectors and
# explanation layouts, and skip the imports) or "spawn" (each starts afresh). ``None``: fork
# where the platform has it, this process runs no other thread (a thread may hold a lock at
# the moment of the fork) and has not loaded PyTorch (whose OpenMP thread pool a forked child
# must not use); spawn otherwise.
WORKER_START_METHOD: str | None = None

_worker: Recommender | None = None


def worker_start_method() -> str:
    """How composing worker processes start now (see :data:`WORKER_START_METHOD`)."""
    if WORKER_START_METHOD is not None:
        return WORKER_START_METHOD
    if (
        "fork" in multiprocessing.get_all_start_methods()
        and threading.active_count() == 1
        and "torch" not in sys.modules
    ):
        return "fork"
    return "spawn"


def _start_worker(settings: Settings, now: datetime) -> None:
    """A spawned composing worker: its own facade over the same database, at ``now``."""
    global _worker
    _worker = Recommender(settings, clock=lambda: now)


def _adopt_worker(parent: Recommender) -> None:
    """A forked composing worker: the parent's facade, with connections of its own."""
    global _worker
    parent.engine.dispose(close=False)  # the parent's pooled connections stay the parent's
    _worker = parent


def _compose_in_worker(
    targets: list[tuple[int, str]], now: datetime, slot: str | None, dry_run: bool
) -> list[ComposeOutcome]:
    app = _worker
    assert app is not None, "not a composing worker"
    return app._compose_targets(targets, app._paper_pool(now), app._space(), now, slot, dry_run)


_T = TypeVar("_T")


def _chunked(items: list[_T], size: int) -> list[list[_T]]:
    """``items`` cut into consecutive lists of ``size`` (the last one may be shorter)."""
    return [items[start : start + size] for start in range(0, len(items), size)]


def _reason(exc: Exception) -> str:
    """One line on why ``exc`` happened: a database error by the driver's own words (the
    statement and its parameters would fill a screen)."""
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        text = f"database error: {type(exc.orig).__name__}: {exc.orig}"
    else:
        text = f"{type(exc).__name__}: {exc}"
    first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
    return first if len(first) <= 300 else first[:299] + "…"
