"""The records the facade returns: plain data for the CLI, the web pages and the scheduler.

Every record is a dataclass; :func:`to_json` turns any of them (and anything they hold) into
what ``--json`` prints. A record's JSON is its fields in order, unless it says otherwise in
:meth:`Record.json_shape` (a report that prints a summary rather than its fields). Records
never touch the database: the facade fills them from the store's rows.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from recommender import reading
from recommender.sources.base import Skipped
from recommender.votes import VOTE_NAMES

if TYPE_CHECKING:  # for types only: these pull in the store, numpy and scikit-learn
    from recommender import model, ranking
    from recommender.store.models import Digest, Paper, Rating, Subscriber


def to_json(value: Any) -> Any:
    """``value`` as data ``json.dumps`` takes: records as objects (see :class:`Record`), other
    dataclasses as their fields, dates and times in ISO 8601, paths as text, tuples as lists."""
    if isinstance(value, Record):
        return {key: to_json(item) for key, item in value.json_shape().items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {key: to_json(item) for key, item in _fields(value).items()}
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, list | tuple):
        return [to_json(item) for item in value]
    if isinstance(value, dict):
        return {key: to_json(item) for key, item in value.items()}
    if value is None or isinstance(value, str | int | float):
        return value
    raise TypeError(f"{type(value).__name__} has no JSON form")


def _fields(record: Any) -> dict[str, Any]:
    return {f.name: getattr(record, f.name) for f in dataclasses.fields(record)}


class Record:
    """A result record: a dataclass whose JSON is its fields, or :meth:`json_shape`."""

    def json_shape(self) -> dict[str, Any]:
        """What the record's JSON holds, before :func:`to_json` converts the values."""
        return _fields(self)

    def to_dict(self) -> dict[str, Any]:
        """The record as JSON data."""
        data: dict[str, Any] = to_json(self)
        return data


@dataclass(frozen=True)
class FileOutcome(Record):
    """What happened to one file in an ingest."""

    path: Path
    status: str  # "ingested", "already ingested" or "refused"
    error: str | None = None
    dump_id: int | None = None
    listing: str | None = None  # the listing's date as the dump prints it: "Mar 20"
    listing_date: date | None = None
    year_rule: str | None = None  # how the listing date got its year
    papers_new: int = 0
    papers_updated: int = 0
    papers_unchanged: int = 0
    folder: bool = False  # a folder refused for holding no dump: not a file
    # What was stored otherwise than listed, one line each: a title listed twice, kept once.
    warnings: tuple[str, ...] = ()

    def dating(self) -> str | None:
        """How the dump was dated, in words: ``Mar 20 → 2026-03-20, year from --date …``."""
        if self.listing_date is None:
            return None
        shown = f"{self.listing} → " if self.listing else ""
        rule = f", {self.year_rule}" if self.year_rule else ""
        return f"{shown}{self.listing_date.isoformat()}{rule}"


@dataclass
class IngestReport(Record):
    files: list[FileOutcome] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for f in self.files if f.status == status)

    @property
    def file_count(self) -> int:
        """How many files there were: a folder refused for holding no dump is not one."""
        return sum(1 for f in self.files if not f.folder)

    @property
    def refused(self) -> list[FileOutcome]:
        return [f for f in self.files if f.status == "refused"]

    @property
    def warnings(self) -> list[str]:
        return [warning for f in self.files for warning in f.warnings]

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

    def json_shape(self) -> dict[str, Any]:
        return {
            "files": self.file_count,
            "ingested": self.count("ingested"),
            "already_ingested": self.count("already ingested"),
            "refused": [{"path": f.path, "error": f.error} for f in self.refused],
            "warnings": self.warnings,
            "papers_new": self.papers_new,
            "papers_updated": self.papers_updated,
            "papers_unchanged": self.papers_unchanged,
            "per_file": self.files,
        }


@dataclass(frozen=True)
class FetchedDay(Record):
    """What fetching one day of a source did."""

    source: str
    day: date
    status: str  # "fetched" or "unchanged" (the same listing as the last fetch)
    papers_new: int = 0
    papers_updated: int = 0
    papers_unchanged: int = 0
    skipped: tuple[Skipped, ...] = ()  # by the source (unreadable) or the store (conflicts)
    requests: int = 0
    dump_id: int | None = None


@dataclass
class FetchReport(Record):
    source: str
    days: list[FetchedDay] = field(default_factory=list)

    @property
    def papers_new(self) -> int:
        return sum(d.papers_new for d in self.days)

    @property
    def papers_updated(self) -> int:
        return sum(d.papers_updated for d in self.days)

    @property
    def papers_unchanged(self) -> int:
        return sum(d.papers_unchanged for d in self.days)

    @property
    def skipped(self) -> list[Skipped]:
        return [s for d in self.days for s in d.skipped]

    @property
    def requests(self) -> int:
        return sum(d.requests for d in self.days)

    def json_shape(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "days": self.days,
            "papers_new": self.papers_new,
            "papers_updated": self.papers_updated,
            "papers_unchanged": self.papers_unchanged,
            "skipped": len(self.skipped),
            "requests": self.requests,
        }


@dataclass(frozen=True)
class DumpInfo(Record):
    """An ingested dump as callers see it."""

    id: int
    file_name: str
    listing_date: date
    year_rule: str
    papers: int
    papers_new: int
    papers_updated: int
    ingested_at: datetime


def read_url_of(paper: Any) -> str:
    """Where to read a stored paper: its arXiv page when its id is known (from a source, or an
    arXiv link among its links), else its Hugging Face page, else an arXiv title search."""
    pairs = [(link["kind"], link["url"]) for link in paper.links]
    return reading.read_links(
        paper.title, arxiv_id=paper.arxiv_id, hf_page=paper.hf_page, links=pairs
    ).read_url


@dataclass(frozen=True)
class PaperInfo(Record):
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
    first_listed: date | None = None  # the listing date of the first dump that listed it
    read_url: str = ""  # where to read it (recommender.reading); set by ``of``
    arxiv_id: str | None = None  # known when a source listed it
    hf_page: str | None = None

    @classmethod
    def of(
        cls,
        paper: Paper,
        listed_in: list[dict[str, object]] | None = None,
        first_listed: date | None = None,
    ) -> PaperInfo:
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
            first_listed=first_listed,
            read_url=read_url_of(paper),
            arxiv_id=paper.arxiv_id,
            hf_page=paper.hf_page,
        )


@dataclass(frozen=True)
class SubscriberInfo(Record):
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
    # named interests (each as the profile gives it), followed authors, must-not words
    topics: list[dict[str, Any]] = field(default_factory=list)
    authors: list[str] = field(default_factory=list)
    must_not: list[str] = field(default_factory=list)

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
            topics=[dict(topic) for topic in subscriber.topics or []],
            authors=list(subscriber.authors or []),
            must_not=list(subscriber.must_not or []),
        )


@dataclass(frozen=True)
class RatingInfo(Record):
    paper_id: str
    title: str
    vote: str  # up, down or clear
    source: str
    rated_at: datetime
    # False: a vote that was the current one already (a clear of a paper not rated), which
    # changed nothing: said to the one who voted; no part of the rating (its JSON, equality).
    changed: bool = field(default=True, compare=False)

    @classmethod
    def of(cls, rating: Rating, paper: Paper) -> RatingInfo:
        return cls(paper.id, paper.title, VOTE_NAMES[rating.vote], rating.source, rating.rated_at)

    def json_shape(self) -> dict[str, Any]:
        shape = _fields(self)
        del shape["changed"]
        return shape


# Why a subscriber has nothing to be recommended (Recommender.nothing_to_recommend): the
# catalogue is empty; no paper was first listed since the day asked; they rated (or like in
# their profile) every paper there is; every one left has one of their must-not words.
NOTHING_TO_RECOMMEND = ("no papers", "none listed since", "all rated", "all kept out")


@dataclass(frozen=True)
class Recommendation(Record):
    """A paper recommended to a subscriber, with its score and why."""

    id: str
    title: str
    score: float  # the model's raw margin: compares papers for one subscriber, no fixed scale
    beats: float  # the share of the papers ranked with it that it scores above (0 to 1)
    reasons: list[str]
    similar_to: str | None
    terms: list[str]
    published: date | None
    upvotes: int | None
    links: list[dict[str, str]]
    read_url: str  # where to read it (recommender.reading)
    interest: str | None = None  # the named interest it serves, as a digest labels it
    followed: str | None = None  # the followed author who wrote it, as the profile names them
    among: int = 1  # how many papers it was ranked among (``beats`` is a share of them)

    @classmethod
    def of(
        cls,
        ranked: ranking.Ranked,
        interest: str | None = None,
        followed: str | None = None,
        among: int = 1,
    ) -> Recommendation:
        paper = ranked.paper
        return cls(
            id=paper.id,
            title=paper.title,
            score=round(ranked.score, 6),
            beats=round(ranked.beats, 4),
            reasons=ranked.reasons,
            similar_to=ranked.explanation.similar_paper_title,
            terms=list(ranked.explanation.terms),
            published=paper.published,
            upvotes=paper.upvotes,
            links=list(paper.links),
            read_url=read_url_of(paper),
            interest=interest,
            followed=followed,
            among=among,
        )


@dataclass(frozen=True)
class EvaluationInfo(Record):
    """How well a subscriber's model predicts their own ratings."""

    email: str
    feature_space: str
    evaluation: model.Evaluation

    def json_shape(self) -> dict[str, Any]:
        return {
            "email": self.email,
            "feature_space": self.feature_space,
            **_fields(self.evaluation),
        }


@dataclass(frozen=True)
class RatingLink(Record):
    """What a rating link in an email asks for."""

    email: str
    paper: PaperInfo
    vote: str  # up or down
    current_vote: str | None  # the subscriber's rating of the paper now, if any


@dataclass(frozen=True)
class RatingChange(Record):
    """One change in a subscriber's rating history, and what it replaced (``before``: up, down
    or clear); ``latest`` when it is the paper's current vote, the one an undo restores from."""

    rating: RatingInfo
    before: str
    latest: bool


@dataclass(frozen=True)
class ManageLink(Record):
    """What a manage link opens: the subscriber, their current ratings (newest first) and the
    latest changes of their rating history (newest first)."""

    subscriber: SubscriberInfo
    ratings: list[RatingInfo]
    history: list[RatingChange] = field(default_factory=list)
    today_token: str = ""  # the subscriber's link to today's papers (a weaker token)


@dataclass(frozen=True)
class TodayPaper(Record):
    """One paper on the page of today's papers: its place in the ranking, and what to show."""

    recommendation: Recommendation
    abstract: str  # shortened at a word boundary
    abstract_cut: bool  # whether the shortened abstract leaves part out
    authors: int | None  # how many (dumps and sources give a count, not the names)


@dataclass(frozen=True)
class TodayPage(Record):
    """What a today link opens: the newest listing day's papers new to the subscriber, ranked
    by ``recommend`` (the best ``limit`` of them), and the day's papers they have rated."""

    subscriber: SubscriberInfo
    day: date | None  # the newest listing day that brought new papers; None: none yet
    papers: list[TodayPaper]
    rated: list[RatingInfo]  # the day's papers the subscriber has rated, newest first
    limit: int


@dataclass
class ImportReport(Record):
    imported: int = 0
    already_there: int = 0
    unknown_papers: list[str] = field(default_factory=list)


# -- composing and delivering


@dataclass(frozen=True)
class ComposeOutcome(Record):
    """What composing one subscriber's digest did."""

    email: str
    status: str  # recorded, nothing new, already recorded, unsubscribed or paused
    digest_id: int | None = None
    papers: int = 0
    subject: str | None = None
    message: bytes | None = field(default=None, repr=False)

    def json_shape(self) -> dict[str, Any]:
        shape = _fields(self)
        del shape["message"]  # the whole email: printed by the preview, not in JSON
        return shape


@dataclass(frozen=True)
class DeliveryOutcome(Record):
    """What one delivery attempt did."""

    digest_id: int
    email: str
    subject: str
    state: (
        str  # sent, failed (retried later), unconfirmed (taken whole, unanswered) or undeliverable
    )
    attempts: int
    error: str | None
    retry_at: datetime | None
    where: str | None


@dataclass(frozen=True)
class SendReport(Record):
    composed: list[ComposeOutcome]
    delivered: list[DeliveryOutcome]


@dataclass(frozen=True)
class OutboxEntry(Record):
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
