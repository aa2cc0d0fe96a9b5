"""The facade: the one API that the CLI, the scheduler and the web endpoints call.

It wires settings, the store and the pure modules together and owns transactions. It never
parses text, renders HTML or speaks SMTP itself.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.exc import IntegrityError

from recommender import dumps, profiles, ratings_io
from recommender.config import Settings
from recommender.store import candidates as candidate_store
from recommender.store import database
from recommender.store import papers as paper_store
from recommender.store import subscribers as subscriber_store
from recommender.store.models import Paper, Rating, Subscriber
from recommender.store.papers import PaperNotFound, PaperQuery
from recommender.store.subscribers import SubscribeOutcome, SubscriberNotFound

if TYPE_CHECKING:  # ranking pulls in numpy and scikit-learn: imported on first use only
    from recommender import model, ranking

__all__ = [
    "Recommender",
    "PaperQuery",
    "PaperNotFound",
    "SubscriberNotFound",
    "IngestReport",
    "FileOutcome",
]


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class FileOutcome:
    """What happened to one file in an ingest."""

    path: Path
    status: str  # "ingested", "already ingested" or "refused"
    error: str | None = None
    listing_date: date | None = None
    papers_new: int = 0
    papers_updated: int = 0
    papers_unchanged: int = 0


@dataclass
class IngestReport:
    files: list[FileOutcome] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for f in self.files if f.status == status)

    @property
    def refused(self) -> list[FileOutcome]:
        return [f for f in self.files if f.status == "refused"]

    @property
    def papers_new(self) -> int:
        return sum(f.papers_new for f in self.files)

    @property
    def papers_updated(self) -> int:
        return sum(f.papers_updated for f in self.files)

    @property
    def papers_unchanged(self) -> int:
        return sum(f.papers_unchanged for f in self.files)

    @property
    def ok(self) -> bool:
        return not self.refused

    def to_dict(self) -> dict[str, object]:
        return {
            "files": len(self.files),
            "ingested": self.count("ingested"),
            "already_ingested": self.count("already ingested"),
            "refused": [{"path": str(f.path), "error": f.error} for f in self.refused],
            "papers_new": self.papers_new,
            "papers_updated": self.papers_updated,
            "papers_unchanged": self.papers_unchanged,
        }


@dataclass(frozen=True)
class PaperInfo:
    """A paper as callers see it: plain data."""

    id: str
    title: str
    abstract: str
    authors: int | None
    published: date | None
    upvotes: int | None
    links: list[dict[str, str]]
    first_seen_at: datetime
    listed_in: list[dict[str, object]] = field(default_factory=list)

    @classmethod
    def of(cls, paper: Paper, listed_in: list[dict[str, object]] | None = None) -> PaperInfo:
        return cls(
            id=paper.id,
            title=paper.title,
            abstract=paper.abstract,
            authors=paper.authors,
            published=paper.published,
            upvotes=paper.upvotes,
            links=list(paper.links),
            first_seen_at=paper.first_seen_at,
            listed_in=listed_in or [],
        )

    def to_dict(self) -> dict[str, object]:
        data = asdict(self)
        data["published"] = self.published.isoformat() if self.published else None
        data["first_seen_at"] = self.first_seen_at.isoformat()
        return data


@dataclass(frozen=True)
class SubscriberInfo:
    email: str
    name: str
    active: bool
    paused: bool
    explore: bool
    schedule: str
    timezone: str
    digest_size: int
    min_score: float | None
    interests: list[str]
    about: str
    liked: list[str]
    profile_path: str | None
    ratings: int = 0

    @classmethod
    def of(cls, subscriber: Subscriber, ratings: int = 0) -> SubscriberInfo:
        return cls(
            email=subscriber.email,
            name=subscriber.name,
            active=subscriber.active,
            paused=subscriber.paused,
            explore=subscriber.explore,
            schedule=subscriber.schedule,
            timezone=subscriber.timezone,
            digest_size=subscriber.digest_size,
            min_score=subscriber.min_score,
            interests=list(subscriber.interests),
            about=subscriber.about,
            liked=list(subscriber.liked),
            profile_path=subscriber.profile_path,
            ratings=ratings,
        )

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True)
class RatingInfo:
    paper_id: str
    title: str
    vote: str  # up, down or clear
    source: str
    rated_at: datetime

    @classmethod
    def of(cls, rating: Rating, paper: Paper) -> RatingInfo:
        vote = subscriber_store.VOTE_NAMES[rating.vote]
        return cls(paper.id, paper.title, vote, rating.source, rating.rated_at)

    def to_dict(self) -> dict[str, object]:
        return {**asdict(self), "rated_at": self.rated_at.isoformat()}


@dataclass(frozen=True)
class Recommendation:
    """A paper recommended to a subscriber, with its score and why."""

    id: str
    title: str
    score: float
    reasons: list[str]
    similar_to: str | None
    terms: list[str]
    published: date | None
    upvotes: int | None
    links: list[dict[str, str]]

    @classmethod
    def of(cls, ranked: ranking.Ranked) -> Recommendation:
        paper = ranked.paper
        return cls(
            id=paper.id,
            title=paper.title,
            score=round(ranked.score, 6),
            reasons=ranked.reasons,
            similar_to=ranked.explanation.similar_paper_title,
            terms=list(ranked.explanation.terms),
            published=paper.published,
            upvotes=paper.upvotes,
            links=list(paper.links),
        )

    def to_dict(self) -> dict[str, object]:
        data = asdict(self)
        data["published"] = self.published.isoformat() if self.published else None
        return data


@dataclass(frozen=True)
class EvaluationInfo:
    """How well a subscriber's model predicts their own ratings."""

    email: str
    feature_space: str
    evaluation: model.Evaluation

    def to_dict(self) -> dict[str, object]:
        return {"email": self.email, "feature_space": self.feature_space, **asdict(self.evaluation)}


@dataclass
class ImportReport:
    imported: int = 0
    already_there: int = 0
    unknown_papers: list[str] = field(default_factory=list)


class Recommender:
    """Everything the package does, over one database."""

    def __init__(self, settings: Settings, *, clock: Callable[[], datetime] = utcnow) -> None:
        self.settings = settings
        self.clock = clock
        self.engine = database.make_engine(settings.database_url)
        self._sessions = database.make_sessionmaker(self.engine)
        self._schema_checked = False
        self._ranker: ranking.Ranker | None = None

    def __enter__(self) -> Recommender:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.engine.dispose()

    # -- schema --------------------------------------------------------------------------

    def init(self) -> bool:
        """Create or upgrade the database schema; return whether anything changed."""
        if database.schema_is_current(self.engine):
            self._schema_checked = True
            return False
        database.migrate(self.engine)
        self._schema_checked = True
        return True

    def _session(self):  # type: ignore[no-untyped-def]
        if not self._schema_checked:
            self.init()  # migrations apply automatically on first use
        return self._sessions()

    # -- papers --------------------------------------------------------------------------

    def ingest(
        self,
        files: Iterable[Path],
        *,
        reference_date: date | None = None,
        on_file: Callable[[FileOutcome], None] | None = None,
    ) -> IngestReport:
        """Ingest dump files, each in its own transaction; refuse bad ones, keep going."""
        report = IngestReport()
        for path in files:
            outcome = self._ingest_one(Path(path), reference_date)
            report.files.append(outcome)
            if on_file is not None:
                on_file(outcome)
        return report

    def _ingest_one(self, path: Path, reference_date: date | None) -> FileOutcome:
        if not path.exists():
            return FileOutcome(path, "refused", f"{path}: no such file or directory")
        try:
            dump = dumps.read_dump(path, reference_date=reference_date)
        except dumps.DumpError as exc:
            return FileOutcome(path, "refused", str(exc))
        for attempt in range(3):
            try:
                with self._session() as session, session.begin():
                    done = paper_store.add_dump(session, path.name, dump, self.clock())
                break
            except IntegrityError:
                # Another process ingested an overlapping dump at the same moment; the retry
                # sees its papers and merges into them.
                if attempt == 2:
                    raise
        status = "already ingested" if done.already_ingested else "ingested"
        return FileOutcome(
            path,
            status,
            listing_date=done.listing_date,
            papers_new=done.papers_new,
            papers_updated=done.papers_updated,
            papers_unchanged=done.papers_unchanged,
        )

    def papers(self, query: PaperQuery) -> tuple[list[PaperInfo], int]:
        """Return the papers matching ``query`` and how many match in all."""
        with self._session() as session:
            found, total = paper_store.find_papers(session, query)
            return [PaperInfo.of(paper) for paper in found], total

    def paper(self, ref: str) -> PaperInfo:
        """Return one paper by id or unique title prefix; raise :class:`PaperNotFound`."""
        with self._session() as session:
            paper = paper_store.get_paper(session, ref)
            listed = [
                {"dump": d.file_name, "listing_date": d.listing_date.isoformat()}
                for d in paper_store.dumps_of(session, paper.id)
            ]
            return PaperInfo.of(paper, listed)

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
            return [
                SubscriberInfo.of(s, len(subscriber_store.current_ratings(session, s.id)))
                for s in subscriber_store.list_subscribers(session)
            ]

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
            rating = subscriber_store.add_rating(
                session, subscriber, paper, subscriber_store.VOTES[vote], source, self.clock()
            )
            info = RatingInfo.of(rating, paper)
        # The rating is committed first: should retraining fail, the model is merely stale
        # and is retrained before it is next used.
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
        with self._session() as session, session.begin():
            return self.ranker.space(session, self.clock(), refit=refit)

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
            missing = self.ranker.missing_embeddings(session, space, papers)
        if on_start is not None:
            on_start(len(missing))
        step = self.ranker.batch * 4
        for start in range(0, len(missing), step):
            with self._session() as session, session.begin():
                self.ranker.embed(session, space, missing[start : start + step], on_progress)
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
        """The best ``top`` papers for ``email`` among those they have not rated, best first.

        ``since`` keeps papers first listed on or after that date.
        """
        with self._session() as session:
            subscriber = subscriber_store.get_subscriber(session, email)
            papers = candidate_store.unrated_papers(session, subscriber.id, listed_since=since)
            texts = [(p.title, p.abstract) for p in papers]
        self.prepare(texts, on_start=on_start, on_progress=on_progress)
        space = self._space()
        with self._session() as session, session.begin():
            subscriber = subscriber_store.get_subscriber(session, email)
            papers = candidate_store.unrated_papers(session, subscriber.id, listed_since=since)
            ranked = self.ranker.rank(session, space, subscriber, papers, self.clock(), top=top)
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
                self.ranker.train(session, space, subscriber, self.clock())
        return len(emails)

    def evaluate(self, email: str) -> EvaluationInfo:
        """Cross-validate ``email``'s model on their own ratings; ``ValueError`` if too few."""
        space = self._space()
        with self._session() as session, session.begin():
            subscriber = subscriber_store.get_subscriber(session, email)
            evaluation = self.ranker.evaluate(session, space, subscriber)
            return EvaluationInfo(email, space.id, evaluation)
