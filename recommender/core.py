"""The facade: the one API that the CLI, the scheduler and the web endpoints call.

It wires settings, the store and the pure modules together and owns transactions. It never
parses text, renders HTML or speaks SMTP itself.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from sqlalchemy import Engine, select
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from recommender import dumps, inbox, links, mailer, profiles, ratings_io, resources
from recommender.config import SOURCE_NAMES, ConfigError, Settings
from recommender.digests.outbox import SENDING_LEASE as SENDING_LEASE
from recommender.digests.outbox import Outbox
from recommender.message import html_part
from recommender.results import (
    ComposeOutcome,
    DeliveryOutcome,
    DumpInfo,
    EvaluationInfo,
    FetchedDay,
    FetchReport,
    FileOutcome,
    ImportReport,
    IngestReport,
    ManageLink,
    OutboxEntry,
    PaperInfo,
    RatingInfo,
    RatingLink,
    Recommendation,
    SendReport,
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
from recommender.store.models import Paper, Rating, Subscriber
from recommender.store.papers import SORTS, PaperNotFound, PaperQuery
from recommender.store.subscribers import SubscribeOutcome, SubscriberNotFound

if TYPE_CHECKING:  # these pull in numpy and scikit-learn: imported on first use only
    from recommender import model, ranking, render
    from recommender.digests import composer, pool

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
    "ComposeOutcome",
    "DeliveryOutcome",
    "SendReport",
    "OutboxEntry",
]

# The sources ``fetch`` knows. (``SORTS``, from the store, are the orders ``papers`` lists in.)
SOURCES = SOURCE_NAMES


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class StreamDump:
    """One dump to ingest from a stream rather than a file: ``recommender ingest -``."""

    stream: BinaryIO
    name: str = dumps.STDIN  # names it in errors and as the dump's file name


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
        self._secret_text: str | None = None
        self._templates: render.Templates | None = None
        self._kept_pool: pool.KeptPool | None = None
        # Where digests go; None means "from the settings" (SMTP, else files). Tests and
        # benchmarks may set their own, and how many subscribers are composed together and
        # how worker processes start (see recommender.digests.composer).
        self.transport: mailer.Transport | None = None
        self.compose_batch: int | None = None
        self.worker_start_method: str | None = None

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
            return self._paper_info(session, paper_store.get_paper(session, ref))

    def _paper_info(self, session: Session, paper: Paper) -> PaperInfo:
        found = paper_store.dumps_of(session, paper.id)
        listed = [{"dump": d.file_name, "listing_date": d.listing_date.isoformat()} for d in found]
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
            return _subscriber_info(session, subscriber_store.get_subscriber(session, email))

    # -- ratings ---------------------------------------------------------------------------

    def rate(self, email: str, paper_ref: str, vote: str, *, source: str = "cli") -> RatingInfo:
        """Record a vote (up, down or clear) by ``email`` on a paper (id or title prefix)."""
        with self._session() as session:
            with session.begin():
                subscriber = subscriber_store.get_subscriber(session, email)
                paper = paper_store.get_paper(session, paper_ref)
                info, changed = self._vote(session, subscriber, paper, vote, source)
            if changed:
                self._train(session, subscriber)
        return info

    def _vote(
        self, session: Session, subscriber: Subscriber, paper: Paper, vote: str, source: str
    ) -> tuple[RatingInfo, bool]:
        """Record ``vote`` in ``session``'s transaction; return it and whether it changed
        anything (a vote that is already the current one adds no row and needs no training).

        The caller commits before training (:meth:`_train`): should training fail, the rating
        is kept and the model is merely stale, retrained before it is next used.
        """
        if vote not in subscriber_store.VOTES:
            raise ValueError(f"unknown vote {vote!r}; use up, down or clear")
        now = self.clock()
        rating = subscriber_store.add_rating(
            session, subscriber, paper, subscriber_store.VOTES[vote], source, now
        )
        info = (
            RatingInfo.of(rating, paper)
            if rating is not None
            else RatingInfo(paper.id, paper.title, "clear", source, now)
        )
        return info, rating is not None and rating in session.new  # added, not kept

    def _train(self, session: Session, subscriber: Subscriber) -> None:
        """Retrain ``subscriber``'s model in a transaction of its own on ``session``."""
        space = self._space()
        with session.begin():
            self.ranker.train(self.ranker.scope(session, space), subscriber, self.clock())

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
        if papers is None:
            with self._session() as session:
                papers = candidate_store.catalogue_texts(session)
        return self.ranker.embed_missing(
            self._session, self._space(), papers, on_start=on_start, on_progress=on_progress
        )

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
            self._signer = links.Signer(self._secret(), clock=self.clock)
        return self._signer

    def _secret(self) -> str:
        if self._secret_text is not None:
            return self._secret_text
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
        self._secret_text = secret
        return secret

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

        See :class:`recommender.digests.composer.Composer` for batches, transactions and
        ``workers``; ``dry_run`` rolls back. A digest another process recorded first is
        reported, not duplicated.
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
        """The outcomes of composing the due digests, a batch at a time."""
        now = self.clock()
        with self._session() as session:
            subscribers = self._recipients(session, email)
        return self._composer(workers).composing(subscribers, now, slot, dry_run)

    def _composer(self, workers: int | None) -> composer.Composer:
        from recommender.digests import composer, plan, pool

        if self._kept_pool is None:
            self._kept_pool = pool.KeptPool()
        s = self.settings
        return composer.Composer(
            self.engine,
            self.ranker,
            self._space(),
            self.templates(),
            plan.Mail(s.mail_from, s.base_url, self.signer()),
            nothing_new_note=s.nothing_new_note,
            workers=workers,
            start_method=self.worker_start_method,
            kept=self._kept_pool,
            plain=composer.ComposerSettings(
                s.database_url,
                s.embedding_model,
                s.mail_from,
                s.base_url,
                self._secret(),
                s.nothing_new_note,
            ),
            batch=self.compose_batch if self.compose_batch is not None else composer.BATCH,
        )

    def deliver(
        self,
        email: str | None = None,
        *,
        on_digest: Callable[[DeliveryOutcome], None] | None = None,
    ) -> list[DeliveryOutcome]:
        """Send every recorded digest that is due (of ``email`` only, if given), each once
        (see :mod:`recommender.digests.outbox`). Over SMTP the digests are shared by
        ``smtp_connections`` connections."""
        subscriber_id = self._subscriber_id(email)
        return self._outbox().deliver(subscriber_id, on_digest=on_digest)

    def _outbox(self) -> Outbox:
        connections = 1
        if self.transport is None and self.settings.smtp_host:
            connections = self.settings.smtp_connections
        return Outbox(self._session, self.clock, self.delivery_transport, connections=connections)

    def _subscriber_id(self, email: str | None) -> int | None:
        if email is None:
            return None
        with self._session() as session:
            return subscriber_store.get_subscriber(session, email).id

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
        compose the next ones (``workers``: see :class:`recommender.digests.composer.Composer`).
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
        html = html_part(outcome.message)
        assert html is not None  # every digest has its HTML part
        folder = self.settings.home / "previews"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{outcome.email}-{self.clock():%Y%m%d-%H%M%S}.html"
        path.write_text(html, encoding="utf-8")
        return outcome, path

    def outbox(self, *, include_sent: bool = False) -> list[OutboxEntry]:
        """Digests not (known to be) sent: pending, failed, undeliverable or unconfirmed; or
        every digest (``include_sent``)."""
        return self._outbox().entries(include_sent=include_sent)

    def outbox_entry(self, digest_id: int) -> OutboxEntry:
        """One digest, whatever its state; raise :class:`DigestNotFound`."""
        return self._outbox().entry(digest_id)

    def resend(self, digest_id: int) -> bool:
        """Queue a failed, undeliverable or unconfirmed digest to be sent again; False if it
        is in another state (:meth:`outbox_entry` says which). Raise :class:`DigestNotFound`."""
        return self._outbox().resend(digest_id)

    def waiting(self, email: str | None = None) -> tuple[int, datetime | None]:
        """How many digests (of ``email``, or everyone's) wait to be tried again later, and
        when the first of them is due."""
        return self._outbox().waiting(self._subscriber_id(email))

    # -- links from emails (the web endpoints call these) ----------------------------------
    #
    # Each link names its subscriber by id: one click is one token check and one session.

    def open_rating_link(self, token: str) -> RatingLink:
        """What a rating link asks for, without changing anything."""
        claim = self.signer().check_rating(token)
        with self._session() as session:
            subscriber = _linked_subscriber(session, claim.subscriber_id)
            paper = paper_store.get_paper(session, claim.paper_id)
            return self._rating_link(session, subscriber, paper, claim.vote)

    def confirm_rating_link(self, token: str, *, undo: bool = False) -> RatingLink:
        """Record the rating a link asks for (or withdraw it: ``undo``), from the web; return
        the link as it stands afterwards."""
        claim = self.signer().check_rating(token)
        with self._session() as session:
            with session.begin():
                subscriber = _linked_subscriber(session, claim.subscriber_id)
                paper = paper_store.get_paper(session, claim.paper_id)
                vote = "clear" if undo else claim.vote
                _, changed = self._vote(session, subscriber, paper, vote, "web")
            if changed:
                self._train(session, subscriber)
            return self._rating_link(session, subscriber, paper, claim.vote)

    def _rating_link(
        self, session: Session, subscriber: Subscriber, paper: Paper, vote: str
    ) -> RatingLink:
        current = subscriber_store.current_vote(session, subscriber.id, paper.id)
        return RatingLink(subscriber.email, self._paper_info(session, paper), vote, current)

    def open_subscriber_link(self, action: str, token: str) -> SubscriberInfo:
        """The subscriber of an unsubscribe or manage link."""
        subscriber_id = self.signer().check_subscriber(action, token)
        with self._session() as session:
            return _subscriber_info(session, _linked_subscriber(session, subscriber_id))

    def open_manage_link(self, token: str) -> ManageLink:
        """The subscriber of a manage link, with their current ratings (newest first)."""
        subscriber_id = self.signer().check_subscriber("manage", token)
        with self._session() as session:
            subscriber = _linked_subscriber(session, subscriber_id)
            rows = subscriber_store.current_ratings(session, subscriber.id)
            ratings = [RatingInfo.of(rating, paper) for rating, paper in rows]
            return ManageLink(SubscriberInfo.of(subscriber, len(ratings)), ratings)

    def confirm_unsubscribe_link(self, token: str) -> SubscriberInfo:
        """Unsubscribe the subscriber of an unsubscribe link (a POST, or RFC 8058 one-click)."""
        subscriber_id = self.signer().check_subscriber("unsubscribe", token)
        with self._session() as session, session.begin():
            subscriber = _linked_subscriber(session, subscriber_id)
            subscriber_store.unsubscribe(session, subscriber.email, self.clock())
            return _subscriber_info(session, subscriber)

    def confirm_resubscribe_link(self, token: str) -> SubscriberInfo:
        """Start the digests again for the subscriber of an unsubscribe link (the button on the
        page after unsubscribing: the link stays valid for it)."""
        subscriber_id = self.signer().check_subscriber("unsubscribe", token)
        with self._session() as session, session.begin():
            subscriber = _linked_subscriber(session, subscriber_id)
            subscriber_store.resubscribe(session, subscriber, self.clock())
            return _subscriber_info(session, subscriber)

    def rate_from_manage_link(self, token: str, paper_ref: str, vote: str) -> RatingInfo:
        """Record a vote from the manage page of a manage link's subscriber."""
        subscriber_id = self.signer().check_subscriber("manage", token)
        with self._session() as session:
            with session.begin():
                subscriber = _linked_subscriber(session, subscriber_id)
                paper = paper_store.get_paper(session, paper_ref)
                info, changed = self._vote(session, subscriber, paper, vote, "web")
            if changed:
                self._train(session, subscriber)
        return info

    def digest_html(self, token: str) -> str:
        """The HTML of the digest a browser-view link names."""
        ref = self.signer().check_digest(token)
        with self._session() as session:
            digest = digest_store.get_digest(session, ref)
            if digest is None or not digest.message:
                raise links.TokenInvalid("this digest is no longer here")
            raw = digest.message
        html = html_part(raw)
        assert html is not None  # every digest has its HTML part
        return html

    def set_interests(self, token: str, interests: list[str]) -> SubscriberInfo:
        """Replace the interests of a manage link's subscriber (their model retrains)."""
        subscriber_id = self.signer().check_subscriber("manage", token)
        cleaned = [" ".join(i.split()) for i in interests if i.strip()]
        with self._session() as session:
            with session.begin():
                subscriber = _linked_subscriber(session, subscriber_id)
                changed = subscriber.interests != cleaned
                if changed:
                    subscriber.interests, subscriber.updated_at = cleaned, self.clock()
            if changed:
                self._train(session, subscriber)
            return _subscriber_info(session, subscriber)

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


def _reason(exc: Exception) -> str:
    """One line on why ``exc`` happened: a database error by the driver's own words (the
    statement and its parameters would fill a screen)."""
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        text = f"database error: {type(exc.orig).__name__}: {exc.orig}"
    else:
        text = f"{type(exc).__name__}: {exc}"
    first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
    return first if len(first) <= 300 else first[:299] + "…"


def _linked_subscriber(session: Session, subscriber_id: int) -> Subscriber:
    """The subscriber a link names; a link of someone no longer here is not valid."""
    subscriber = session.get(Subscriber, subscriber_id)
    if subscriber is None:
        raise links.TokenInvalid("this link belongs to a subscriber who is gone")
    return subscriber


def _subscriber_info(session: Session, subscriber: Subscriber) -> SubscriberInfo:
    count = len(subscriber_store.current_ratings(session, subscriber.id))
    return SubscriberInfo.of(subscriber, count)
