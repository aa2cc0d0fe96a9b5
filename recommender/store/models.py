"""Typed SQLAlchemy 2.0 models: the tables the rest of the package reads and writes.

Schema changes go through numbered migrations in ``migrations/versions``; these classes and the
newest migration must describe the same schema (``tests/test_store.py`` checks that).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
    true,
)
from sqlalchemy import DateTime as _DateTime
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from recommender.profiles import MAX_INTEREST_NAME, MAX_LENGTHS


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored as naive UTC and read back as an aware UTC datetime."""

    impl = _DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("timestamps must be timezone-aware")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime(), date: Date(), dict[str, Any]: JSON()}


class Dump(Base):
    """One ingested dump file, or one day fetched from a source (``source`` says which).

    A source's day is one row, ``file_name`` like ``hf 2026-03-20``, updated in place when
    the day is fetched again with changes (its ``content_hash`` is that of the newest fetch).
    """

    __tablename__ = "dumps"
    # One row per source and day (migration 0006); dump files may share a name.
    __table_args__ = (
        Index(
            "ix_dumps_source_day",
            "source",
            "file_name",
            unique=True,
            sqlite_where=text("source <> 'dump'"),
            postgresql_where=text("source <> 'dump'"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(20), server_default="dump")  # dump, hf, arxiv
    file_name: Mapped[str] = mapped_column(String(500))
    content_hash: Mapped[str] = mapped_column(String(64), unique=True)
    listing_date: Mapped[date]
    year_rule: Mapped[str] = mapped_column(String(200))
    ingested_at: Mapped[datetime]
    papers_total: Mapped[int]
    papers_new: Mapped[int]
    papers_updated: Mapped[int]


class Paper(Base):
    """A paper, one row however many dumps and sources list it; ``id`` hashes its normalized
    title (as first seen), ``arxiv_id`` (where known) names it across sources."""

    __tablename__ = "papers"

    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    title: Mapped[str] = mapped_column(Text)
    abstract: Mapped[str] = mapped_column(Text)
    authors: Mapped[int | None]
    published: Mapped[date | None]
    upvotes: Mapped[int | None]
    # The listing date of the dump the upvote count came from: an older dump never
    # overwrites a newer count.
    upvotes_as_of: Mapped[date | None]
    links: Mapped[list[dict[str, str]]] = mapped_column(JSON)
    first_seen_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    first_dump_id: Mapped[int] = mapped_column(ForeignKey("dumps.id"))
    arxiv_id: Mapped[str | None] = mapped_column(String(32))  # without version
    hf_page: Mapped[str | None] = mapped_column(Text)  # its Hugging Face paper page
    github_stars: Mapped[int | None]  # of its code's repository, as the source last said
    keywords: Mapped[list[str] | None] = mapped_column(JSON)  # as the source gives them
    # The authors' names as a source gives them (dump files give only their number: None).
    author_names: Mapped[list[str] | None] = mapped_column(JSON)

    __table_args__ = (
        Index("ix_papers_first_seen_at", "first_seen_at"),
        Index("ix_papers_arxiv_id", "arxiv_id", unique=True),
    )


class DumpPaper(Base):
    """Which papers a dump listed, in the order it listed them."""

    __tablename__ = "dump_papers"

    dump_id: Mapped[int] = mapped_column(ForeignKey("dumps.id"), primary_key=True)
    paper_id: Mapped[str] = mapped_column(ForeignKey("papers.id"), primary_key=True)
    position: Mapped[int]

    __table_args__ = (Index("ix_dump_papers_paper_id", "paper_id"),)


class Subscriber(Base):
    """Someone who gets digests; their profile's fields, and whether they still want them."""

    __tablename__ = "subscribers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(MAX_LENGTHS["email"]), unique=True)
    name: Mapped[str] = mapped_column(String(MAX_LENGTHS["name"]))
    interests: Mapped[list[str]] = mapped_column(JSON)
    about: Mapped[str] = mapped_column(Text)
    liked: Mapped[list[str]] = mapped_column(JSON)
    # ``interests`` and ``liked`` are the profile's unnamed interest; ``topics`` its named
    # ones, each a dict of :class:`recommender.profiles.Interest`'s fields (migration 0007).
    topics: Mapped[list[dict[str, Any]]] = mapped_column(JSON, server_default=text("'[]'"))
    authors: Mapped[list[str]] = mapped_column(JSON, server_default=text("'[]'"))  # followed
    must_not: Mapped[list[str]] = mapped_column(JSON, server_default=text("'[]'"))
    schedule: Mapped[str] = mapped_column(String(MAX_LENGTHS["schedule"]))
    timezone: Mapped[str] = mapped_column(String(MAX_LENGTHS["timezone"]))
    digest_size: Mapped[int]
    min_score: Mapped[float | None] = mapped_column(Float)
    paused: Mapped[bool]
    # Whether a digest may carry one exploration paper (unlike the rest of it), labelled as such.
    explore: Mapped[bool] = mapped_column(Boolean, server_default=true())
    # False once they unsubscribe; a later profile reload does not undo that by itself.
    active: Mapped[bool]
    profile_path: Mapped[str | None] = mapped_column(String(MAX_LENGTHS["profile_path"]))
    # The profile file's fields as last applied (recommender.profile_sync.stored_values), so
    # that applying it again sets only what the file changed since (migration 0010). None for
    # a subscriber with no file (a web sign-up), or one applied before that migration.
    applied_profile: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    unsubscribed_at: Mapped[datetime | None]

    @property
    def every_phrase(self) -> list[str]:
        """The phrases of every interest, unnamed and named: what the overall model learns."""
        named = [p for topic in self.topics or [] for p in topic.get("phrases", [])]
        return list(dict.fromkeys([*self.interests, *named]))

    @property
    def every_liked(self) -> list[str]:
        """The liked papers of every interest, unnamed and named."""
        named = [p for topic in self.topics or [] for p in topic.get("liked", [])]
        return list(dict.fromkeys([*self.liked, *named]))


class Rating(Base):
    """One thumbs-up, thumbs-down or clear; the full history is kept, the latest one counts."""

    __tablename__ = "ratings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subscriber_id: Mapped[int] = mapped_column(ForeignKey("subscribers.id", ondelete="CASCADE"))
    paper_id: Mapped[str] = mapped_column(ForeignKey("papers.id"))
    vote: Mapped[int]  # +1 up, -1 down, 0 cleared
    source: Mapped[str] = mapped_column(String(16))  # cli, email, web or import
    rated_at: Mapped[datetime]

    __table_args__ = (
        Index("ix_ratings_subscriber_paper", "subscriber_id", "paper_id", "rated_at"),
    )


class StoredFeatureSpace(Base):
    """A frozen feature space (see :mod:`recommender.features`); one of them is current."""

    __tablename__ = "feature_spaces"

    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    definition: Mapped[str] = mapped_column(Text)  # JSON of FeatureSpace.to_dict()
    current: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime]
    papers_at_creation: Mapped[int]


class StoredEmbedding(Base):
    """A text's sentence embedding under one model, computed once and kept."""

    __tablename__ = "embeddings"

    model: Mapped[str] = mapped_column(String(200), primary_key=True)
    text_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    vector: Mapped[bytes] = mapped_column(LargeBinary)  # little-endian float32


class StoredWordCounts(Base):
    """A text's hashed word counts in one word block, counted once and kept: a catalogue of
    thousands of papers is then read, not counted again, by every process that ranks it."""

    __tablename__ = "word_counts"

    # FeatureSpace.counts_key: the block (tokenizer, width) and how its words are counted
    block: Mapped[str] = mapped_column(String(64), primary_key=True)
    text_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    counts: Mapped[bytes] = mapped_column(LargeBinary)  # features.counts_to_bytes


class StoredUserModel(Base):
    """A subscriber's trained model and what it was trained on."""

    __tablename__ = "user_models"

    subscriber_id: Mapped[int] = mapped_column(
        ForeignKey("subscribers.id", ondelete="CASCADE"), primary_key=True
    )
    feature_space_id: Mapped[str] = mapped_column(String(200))
    model: Mapped[bytes] = mapped_column(LargeBinary)  # UserModel.to_bytes()
    # Staleness: retrain when the subscriber rated since (rating_count) or edited their profile.
    ratings_seen: Mapped[int]
    profile_updated_at: Mapped[datetime]
    trained_at: Mapped[datetime]


class Digest(Base):
    """One email to one subscriber, recorded before it is handed to the mail server.

    ``state``: ``pending`` (recorded, not yet tried), ``sending`` (claimed by a sender),
    ``sent``, ``failed`` (a transient error; retried from ``next_attempt_at``),
    ``undeliverable`` (a permanent error) or ``unconfirmed`` (a sender stopped mid-delivery:
    shown in the outbox, resent only on request, so it is never sent twice by accident).
    ``message`` holds the exact bytes, so a retry resends the same message and Message-ID.
    """

    __tablename__ = "digests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subscriber_id: Mapped[int] = mapped_column(ForeignKey("subscribers.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))  # digest or nothing_new
    # What the digest is for: a scheduled run's time, or the day of a "nothing new" note.
    # Unique per subscriber, so two schedulers never record the same run twice.
    slot: Mapped[str | None] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int]
    created_at: Mapped[datetime]
    claimed_at: Mapped[datetime | None]
    next_attempt_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    message_id: Mapped[str] = mapped_column(String(255), unique=True)
    subject: Mapped[str] = mapped_column(Text)
    message: Mapped[bytes] = mapped_column(LargeBinary)

    __table_args__ = (
        UniqueConstraint("subscriber_id", "slot", name="uq_digests_subscriber_slot"),
        Index("ix_digests_state", "state"),
    )


class DigestPaper(Base):
    """A paper in a digest; a paper goes to a subscriber at most once, ever."""

    __tablename__ = "digest_papers"

    digest_id: Mapped[int] = mapped_column(
        ForeignKey("digests.id", ondelete="CASCADE"), primary_key=True
    )
    paper_id: Mapped[str] = mapped_column(ForeignKey("papers.id"), primary_key=True)
    subscriber_id: Mapped[int] = mapped_column(ForeignKey("subscribers.id", ondelete="CASCADE"))
    position: Mapped[int]
    score: Mapped[float] = mapped_column(Float)
    reason: Mapped[str] = mapped_column(Text)
    exploration: Mapped[bool] = mapped_column(Boolean)
    # The named interest it was sent for (None: the best overall, or a followed author's).
    interest: Mapped[str | None] = mapped_column(String(MAX_INTEREST_NAME))

    __table_args__ = (
        UniqueConstraint("subscriber_id", "paper_id", name="uq_digest_papers_subscriber_paper"),
    )


class Signup(Base):
    """A sign-up from the web form: pending until its address confirms it (``confirmed_at``).

    The subscriber is made only then. Recent rows are also what the sign-up rate limits count,
    per address and per client; old ones are pruned as new ones come.
    """

    __tablename__ = "signups"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(MAX_LENGTHS["email"]))
    name: Mapped[str] = mapped_column(String(MAX_LENGTHS["name"]))
    interests: Mapped[list[str]] = mapped_column(JSON)
    # The papers it likes (titles or arXiv ids; migration 0011).
    liked: Mapped[list[str]] = mapped_column(JSON, server_default=text("'[]'"))
    # A keyed hash of the client's IP address: enough to count, nothing to read back.
    client: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    confirmed_at: Mapped[datetime | None]

    __table_args__ = (
        Index("ix_signups_email_created_at", "email", "created_at"),
        Index("ix_signups_client_created_at", "client", "created_at"),
    )
