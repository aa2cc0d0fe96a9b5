"""The facade: the one API that the CLI, the scheduler and the web endpoints call.

It wires settings, the store and the pure modules together and owns transactions. It never
parses text, renders HTML or speaks SMTP itself: each method hands off to the module named
after its work. The records it returns and the errors it raises can be imported from here.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterable, Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from recommender import inbox, links, lookups, mailer, profiles, ratings, ratings_io, resources
from recommender.config import SOURCE_NAMES, Settings, link_secret
from recommender.digests import sending
from recommender.digests.outbox import SENDING_LEASE as SENDING_LEASE
from recommender.digests.outbox import Outbox
from recommender.ingesting import DayAhead as DayAhead
from recommender.ingesting import (
    Ingester,
    StreamDump,
    check_days,
    check_reference_date,
    fetch_days,
)
from recommender.links import utcnow
from recommender.pages import Pages
from recommender.results import NOTHING_TO_RECOMMEND as NOTHING_TO_RECOMMEND
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
    OutboxEntry,
    PaperInfo,
    RatingInfo,
    Recommendation,
    SendReport,
    SubscriberInfo,
)
from recommender.signup import SignupClosed as SignupClosed
from recommender.signup import SignupLimited as SignupLimited
from recommender.sources import open_source
from recommender.sources.base import SourceDay
from recommender.store import catalogue as catalogue_store
from recommender.store import database
from recommender.store import papers as paper_store
from recommender.store import subscribers as subscriber_store
from recommender.store.digests import DigestNotFound as DigestNotFound
from recommender.store.models import Subscriber
from recommender.store.papers import SORTS as SORTS
from recommender.store.papers import DumpNotFound as DumpNotFound
from recommender.store.papers import PaperNotFound as PaperNotFound
from recommender.store.papers import PaperQuery
from recommender.store.subscribers import SubscribeOutcome
from recommender.store.subscribers import SubscriberNotFound as SubscriberNotFound
from recommender.store.subscribers import Unsubscribed as Unsubscribed

if TYPE_CHECKING:  # these pull in numpy and scikit-learn: imported on first use only
    from recommender import model, ranking, ranking_sessions, render
    from recommender.digests import pool

# The sources ``fetch`` knows. (``SORTS``, from the store, are the orders ``papers`` lists in.)
SOURCES = SOURCE_NAMES


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
        self._schema_checked = False
        self._ranker: ranking.Ranker | None = None
        self._signer: links.Signer | None = None
        self._secret_text: str | None = None
        self._templates: render.Templates | None = None
        self._kept_pool: pool.KeptPool | None = None
        # Tests and benchmarks may set where digests go (None: SMTP if set, else files), how
        # many subscribers are composed together and how workers start (digests.composer).
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
        changed = not database.schema_is_current(self.engine)
        if changed:
            database.migrate(self.engine)
        self._schema_checked = True
        return changed

    def _check_schema(self) -> None:
        """Apply pending migrations on first use; a schema that cannot be used raises here,
        before any work starts."""
        if not self._schema_checked:
            self.init()

    def _session(self):  # type: ignore[no-untyped-def]
        self._check_schema()
        return self._sessions()

    # -- papers: dumps, sources and the catalogue ------------------------------------------

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
        file with the reason, and its transaction is rolled back; so does a listing day after
        today. Only a database that no longer answers at all stops the batch, by raising:
        every other file would fail too. A ``reference_date`` after today raises
        :class:`DayAhead`, before any file is read.
        """
        check_reference_date(self.clock().date(), reference_date)
        self._check_schema()  # a schema that cannot be used fails the batch, not each file
        return self._ingester().dumps(files, reference_date, on_file)

    def _ingester(self) -> Ingester:
        return Ingester(self._session, self.engine, self.clock, self.settings)

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
        the days stored before it stay stored. A day after today raises :class:`DayAhead`,
        before any request.
        """
        if day is not None and since is not None:
            raise ValueError("give a day or a first day (since), not both")
        today = self.clock().date()
        check_days(today, day, since)
        self._check_schema()
        with open_source(self.settings, source) as remote:
            return fetch_days(remote, today, day, since, self.store_source_day, on_day)

    def store_source_day(self, listing: SourceDay) -> FetchedDay:
        """Store one day of a source in one transaction: all of it, or (on any exception)
        nothing; a day fetched before with the same listing changes nothing."""
        return self._ingester().source_day(listing)

    def dumps(self) -> list[DumpInfo]:
        """The ingested dumps, oldest listing first."""
        with self._session() as session:
            return lookups.dump_infos(session)

    def papers(self, query: PaperQuery) -> tuple[list[PaperInfo], int]:
        """Return the papers matching ``query`` and how many match in all; raise
        :class:`DumpNotFound` if it names a dump that is not there."""
        with self._session() as session:
            return lookups.paper_infos(session, query)

    def paper(self, ref: str) -> PaperInfo:
        """Return one paper by id or unique title prefix; raise :class:`PaperNotFound`."""
        with self._session() as session:
            return lookups.paper_info(session, paper_store.get_paper(session, ref))

    def stats(self) -> dict[str, object]:
        """Count what the database holds."""
        with self._session() as session:
            stats = paper_store.catalogue_stats(session)
        stats["database"] = self.settings.describe_database()
        return stats

    # -- subscribers -----------------------------------------------------------------------

    def subscribe(
        self, path: Path, *, resubscribe: bool = False, overwrite: bool = False
    ) -> list[SubscribeOutcome]:
        """Create or update subscribers from a profile file or folder: all of them or none.

        A file sets only the fields it changed since it was last applied, so what subscribers
        changed themselves stands (``overwrite``: every field); an unsubscribe stands unless
        ``resubscribe``. A file may not take an address another file still names
        (:func:`recommender.profiles.check_addresses_free`).
        """
        loaded = profiles.load_profiles(Path(path))
        with self._session() as session, session.begin():
            profiles.check_addresses_free(loaded, subscriber_store.profile_paths(session))
            return [
                subscriber_store.upsert_subscriber(
                    session, profile, self.clock(), resubscribe=resubscribe, overwrite=overwrite
                )
                for profile in loaded
            ]

    def unsubscribe(self, email: str) -> bool:
        """Stop digests for ``email``; return False if they had already unsubscribed."""
        with self._session() as session, session.begin():
            return subscriber_store.unsubscribe(session, email, self.clock())

    def pause(self, email: str) -> bool:
        """Hold ``email``'s digests until :meth:`resume`; return False if they already were.
        Raise :class:`Unsubscribed` if they have unsubscribed: they get no digests to hold."""
        return self._set_paused(email, True)

    def resume(self, email: str) -> bool:
        """Send ``email``'s digests again, from what arrived since their last one; return False
        if they were not paused. Raise :class:`Unsubscribed` if they have unsubscribed:
        resuming would send them nothing."""
        return self._set_paused(email, False)

    def _set_paused(self, email: str, paused: bool) -> bool:
        with self._session() as session, session.begin():
            subscriber = subscriber_store.get_subscriber(session, email)
            if not subscriber.active:
                raise Unsubscribed(
                    f"{email} has unsubscribed, so there are no digests to "
                    f"{'pause' if paused else 'resume'}"
                )
            return subscriber_store.set_paused(subscriber, paused, self.clock())

    def subscribers(self) -> list[SubscriberInfo]:
        with self._session() as session:
            return lookups.subscriber_infos(session)

    def schedules(self) -> dict[str, tuple[str, str]]:
        """The (schedule, time zone) of each subscriber whose digests go out, by address."""
        with self._session() as session:
            return subscriber_store.schedules(session)

    def subscriber(self, email: str) -> SubscriberInfo:
        with self._session() as session:
            return lookups.subscriber_info(session, subscriber_store.get_subscriber(session, email))

    # -- ratings ---------------------------------------------------------------------------

    def rate(self, email: str, paper_ref: str, vote: str, *, source: str = "cli") -> RatingInfo:
        """Record a vote (up, down or clear) by ``email`` on a paper (id or title prefix)."""
        subscriber_of = functools.partial(subscriber_store.get_subscriber, email=email)
        return ratings.rate(
            self._session, subscriber_of, paper_ref, vote, source, self.clock, self._train
        )

    def ratings(self, email: str, *, history: bool = False) -> list[RatingInfo]:
        """Return the current ratings (newest first), or the whole history (oldest first)."""
        with self._session() as session:
            return lookups.rating_infos(session, email, history)

    def export_ratings(self, email: str) -> list[ratings_io.RatingRecord]:
        """Return the whole rating history of ``email``, for export."""
        return ratings.export_records(self.ratings(email, history=True))

    def import_ratings(self, email: str, records: list[ratings_io.RatingRecord]) -> ImportReport:
        """Add exported ratings to ``email``'s history, skipping those already there."""
        with self._session() as session, session.begin():
            subscriber = subscriber_store.get_subscriber(session, email)
            return ratings.import_records(session, subscriber, records, self.clock())

    # -- ranking ---------------------------------------------------------------------------

    @property
    def ranker(self) -> ranking.Ranker:
        if self._ranker is None:
            from recommender import ranking

            self._ranker = ranking.Ranker(self.settings.embedding_model)
        return self._ranker

    def _ranking(self) -> ranking_sessions.SessionRanker:
        from recommender import ranking_sessions

        return ranking_sessions.SessionRanker(self._session, self.ranker, self.clock)

    def _space(self, *, refit: bool = False) -> model.FeatureSpace:
        return self._ranking().space(refit=refit)

    def _train(self, session: Session, subscriber: Subscriber) -> None:
        self._ranking().train(session, subscriber)

    def embed_papers(
        self,
        papers: list[tuple[str, str]] | None = None,
        *,
        on_start: Callable[[int], None] | None = None,
        on_progress: Callable[[int], None] | None = None,
    ) -> int:
        """Embed the papers (all unembedded ones by default) ahead of ranking; return how many.

        Each batch is committed as it is done, so an interrupted run keeps its work.
        """
        return self._ranking().embed_papers(papers, on_start, on_progress)

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
        return self._ranking().recommend(email, top, since, on_start, on_progress)

    def nothing_to_recommend(self, email: str, *, since: date | None = None) -> str:
        """Why :meth:`recommend` finds nothing for ``email`` (with ``since``): one of
        :data:`NOTHING_TO_RECOMMEND`."""
        return self._ranking().nothing_to_recommend(email, since)

    def paper_count(self) -> int:
        """How many papers the catalogue holds: 0 before anything is ingested or fetched."""
        with self._session() as session:
            return catalogue_store.count_papers(session)

    def feature_space(
        self,
        *,
        on_start: Callable[[int], None] | None = None,
        on_progress: Callable[[int], None] | None = None,
    ) -> str:
        """Make the feature space now if there is none, and return its id. Making one counts
        the words of every paper (seconds for tens of thousands): ``on_start(n)`` is told how
        many papers, ``on_progress(k)`` of each part counted. Ranking, training and embedding
        make it too, as they first need it, silently."""
        return self._ranking().space(on_start=on_start, on_progress=on_progress).id

    def retrain(
        self,
        email: str | None = None,
        *,
        refit: bool = False,
        on_start: Callable[[int], None] | None = None,
        on_progress: Callable[[int], None] | None = None,
    ) -> int:
        """Retrain one subscriber's model, or everyone's; ``refit`` makes a new feature space
        from the catalogue as it is now (``on_start``/``on_progress``: as
        :meth:`feature_space`). Return how many models were trained."""
        return self._ranking().retrain(email, refit, on_start, on_progress)

    def evaluate(self, email: str) -> EvaluationInfo:
        """Cross-validate ``email``'s model on their own ratings; ``ValueError`` if too few."""
        return self._ranking().evaluate(email)

    # -- digests ---------------------------------------------------------------------------

    def signer(self) -> links.Signer:
        """The link signer, with the secret from the settings or ``home/secret`` (made once)."""
        if self._signer is None:
            self._signer = links.Signer(self._secret(), clock=self.clock)
        return self._signer

    def _secret(self) -> str:
        if self._secret_text is None:
            self._secret_text = link_secret(self.settings)
        return self._secret_text

    def templates(self) -> render.Templates:
        if self._templates is None:
            from recommender import render

            self._templates = render.Templates(resources.templates_dir())
        return self._templates

    def delivery_transport(self) -> mailer.Transport:
        """SMTP when a server is set, else ``.eml`` and ``.html`` files in the outbox folder."""
        if self.transport is not None:
            return self.transport
        return mailer.transport_for(self.settings)

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
        return sending.collect(self._composing(email, slot, dry_run, workers), on_subscriber)

    def _composing(
        self, email: str | None, slot: str | None, dry_run: bool, workers: int | None
    ) -> Iterator[list[ComposeOutcome]]:
        """The outcomes of composing the due digests, a batch at a time."""
        from recommender.digests import composer, pool

        now = self.clock()
        with self._session() as session:
            subscribers = subscriber_store.digest_subscribers(session, email)
        if self._kept_pool is None:
            self._kept_pool = pool.KeptPool()
        return composer.Composer.signing(
            composer.ComposerSettings.of(self.settings, self._secret()),
            self.engine,
            self.ranker,
            self._space(),
            self.templates(),
            self.signer(),
            workers=workers,
            start_method=self.worker_start_method,
            kept=self._kept_pool,
            batch=self.compose_batch if self.compose_batch is not None else composer.BATCH,
        ).composing(subscribers, now, slot, dry_run)

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
        smtp = self.transport is None and self.settings.smtp_host
        connections = self.settings.smtp_connections if smtp else 1
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
        composing = self._composing(email, None, False, workers)
        deliver = functools.partial(self.deliver, email, on_digest=on_delivered)
        return sending.compose_and_deliver(composing, deliver, on_composed)

    def preview(self, email: str) -> tuple[ComposeOutcome, Path | None]:
        """Compose ``email``'s next digest without recording it; write its HTML to a file."""
        (outcome,) = self.compose(email, dry_run=True)
        folder = self.settings.home / "previews"
        return outcome, sending.write_preview(folder, outcome, self.clock())

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

    # -- the web: what a subscriber does from a page ----------------------------------------

    @property
    def pages(self) -> Pages:
        """What a subscriber does from a web page: links from emails, the manage page, today's
        papers, sign-up (:mod:`recommender.pages`). The web endpoints call only these."""
        return Pages(
            self.settings,
            self._session,
            self.signer,
            lambda: self.clock(),  # tests and benchmarks set the clock after construction
            self._train,
            self.templates,
            self.delivery_transport,
            self._secret,
            self.recommend,
        )

    # -- the service's jobs ------------------------------------------------------------------

    def ingest_inbox(self, *, settle: timedelta | None = None) -> IngestReport:
        """Ingest the dumps waiting in the inbox folder and move each out, to ``processed/`` or
        ``quarantine/`` (:mod:`recommender.inbox`); whatever fails with a file (see
        :meth:`ingest`) is that file's failure. ``settle``: the setting
        ``inbox_settle_seconds`` by default."""
        self._check_schema()  # a schema that cannot be used fails the round, quarantining nothing
        dump = functools.partial(self._ingester().dump, reference_date=None)
        if settle is None:
            settle = timedelta(seconds=self.settings.inbox_settle_seconds)
        return inbox.ingest_folder(self.settings.inbox, dump, settle=settle)

    def send_scheduled(self, email: str, slot: str) -> SendReport:
        """The scheduled digest of ``email`` for ``slot`` (recorded once, whoever runs it)."""
        composed = self.compose(email, slot=slot)
        return SendReport(composed, self.deliver(email))
