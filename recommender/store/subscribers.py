"""Store subscribers and their ratings.

Every function takes an open :class:`~sqlalchemy.orm.Session`; the caller owns the transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, func, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import Label

from recommender import profile_sync
from recommender.errors import NotFound, RecommenderError
from recommender.profiles import Interest, Profile
from recommender.store import vectors as vector_store
from recommender.store.models import Paper, Rating, Subscriber
from recommender.votes import SOURCES, VOTE_NAMES, VOTES


class SubscriberNotFound(NotFound):
    """No subscriber has that email address."""


class Unsubscribed(RecommenderError):
    """The subscriber has unsubscribed: what they are asked to do needs a subscription."""


@dataclass(frozen=True)
class SubscribeOutcome:
    email: str
    # "created", "updated", "unchanged", "kept unsubscribed", or "kept own changes" (nothing
    # set: the file is as last applied, and the subscriber changed some fields since)
    action: str
    changed: bool = False  # whether the subscriber changed (created, a field set, resubscribed)
    fields: tuple[str, ...] = ()  # the fields set from the file
    kept: tuple[str, ...] = ()  # the fields where the subscriber's own value stands


def upsert_subscriber(
    session: Session,
    profile: Profile,
    now: datetime,
    *,
    resubscribe: bool = False,
    overwrite: bool = False,
) -> SubscribeOutcome:
    """Create the subscriber of ``profile``, or apply to them what their file changed since it
    was last applied (:func:`recommender.profile_sync.fields_to_set`; every field with
    ``overwrite``, or when ``profile`` has no file).

    Someone who unsubscribed stays unsubscribed (their fields are still updated) unless
    ``resubscribe`` is given: no profile, reloaded or edited, ever undoes an unsubscribe.

    A file whose address was edited (another subscriber was last applied from this very file,
    and nobody has the new address) moves that subscriber to the new address, ratings and
    all: a new subscriber beside the old one would send the person two digests.
    """
    file = profile_sync.stored_values(profile)
    subscriber = session.scalar(
        select(Subscriber).where(Subscriber.email == profile.email).with_for_update()
    )
    moved = ()
    if subscriber is None and profile.source is not None:
        subscriber = session.scalar(
            select(Subscriber).where(Subscriber.profile_path == profile.source).with_for_update()
        )
        if subscriber is not None:
            subscriber.email, moved = profile.email, ("email",)
    if subscriber is None:
        session.add(
            Subscriber(
                email=profile.email,
                **file,
                profile_path=profile.source,
                applied_profile=file if profile.source is not None else None,
                active=True,
                created_at=now,
                updated_at=now,
                unsubscribed_at=None,
            )
        )
        return SubscribeOutcome(profile.email, "created", changed=True, fields=tuple(file))
    applied = subscriber.applied_profile
    if applied is None and subscriber.profile_path is not None and profile.source is not None:
        # Applied from a file before files were recorded (migration 0010): which settings the
        # subscriber changed since is unknown, so theirs stand and the file counts as applied.
        applied = file
    current = {name: getattr(subscriber, name) for name in profile_sync.FIELDS}
    to_set = profile_sync.fields_to_set(
        file, applied, current, overwrite=overwrite or profile.source is None
    )
    for name, value in to_set.items():
        setattr(subscriber, name, value)
        current[name] = value
    if profile.source is not None:
        if subscriber.applied_profile != file:
            subscriber.applied_profile = file
        if subscriber.profile_path != profile.source:
            subscriber.profile_path = profile.source
            # The file is this subscriber's now (another's file was gone or named someone
            # else): one left pointing at it would be the one its next address edit moves.
            session.execute(
                update(Subscriber)
                .where(Subscriber.profile_path == profile.source, Subscriber.id != subscriber.id)
                .values(profile_path=None)
            )
    resubscribed = resubscribe and not subscriber.active
    if resubscribed:
        subscriber.active, subscriber.unsubscribed_at = True, None
    changed = bool(to_set) or resubscribed or bool(moved)
    if changed:
        subscriber.updated_at = now
    kept = tuple(profile_sync.fields_kept(file, current))
    if not subscriber.active:
        action = "kept unsubscribed"
    elif changed:
        action = "updated"
    else:
        action = "kept own changes" if kept else "unchanged"
    return SubscribeOutcome(profile.email, action, changed, (*moved, *to_set), kept)


def topics_of(subscriber: Subscriber) -> list[Interest]:
    """The subscriber's named interests, as their profile gave them."""
    return [
        Interest(
            name=row["name"],
            phrases=tuple(row.get("phrases", ())),
            liked=tuple(row.get("liked", ())),
            authors=tuple(row.get("authors", ())),
            share=float(row.get("share", 0.0)),
            must=tuple(row.get("must", ())),
        )
        for row in subscriber.topics or []
    ]


def followed_of(subscriber: Subscriber) -> list[str]:
    """Every author the subscriber follows: their profile's own and each interest's."""
    names = [*(subscriber.authors or []), *(a for t in topics_of(subscriber) for a in t.authors)]
    return list(dict.fromkeys(names))


def find_subscriber(session: Session, email: str) -> Subscriber | None:
    """The subscriber with that address (any case, spaces around it ignored), if there is one."""
    return session.scalar(select(Subscriber).where(Subscriber.email == email.strip().lower()))


def profile_paths(session: Session) -> dict[str, str]:
    """The file each subscriber was last applied from, by address (those with none left out)."""
    rows = session.execute(
        select(Subscriber.email, Subscriber.profile_path).where(
            Subscriber.profile_path.is_not(None)
        )
    )
    return {address: path for address, path in rows}


def get_subscriber(session: Session, email: str) -> Subscriber:
    subscriber = find_subscriber(session, email)
    if subscriber is None:
        raise SubscriberNotFound(f"no subscriber with the email address {email!r}")
    return subscriber


def resubscribe(session: Session, subscriber: Subscriber, now: datetime) -> bool:
    """Start a subscriber's digests again; return False if they were subscribed already."""
    if subscriber.active:
        return False
    subscriber.active, subscriber.unsubscribed_at, subscriber.updated_at = True, None, now
    return True


def set_paused(subscriber: Subscriber, paused: bool, now: datetime) -> bool:
    """Hold (``paused``) or resume a subscriber's digests; return False if they already were.

    Nothing is recorded for a paused subscriber, so nothing piles up: their next digest after
    resuming takes what arrived since their last one, as it would have.
    """
    if subscriber.paused == paused:
        return False
    subscriber.paused, subscriber.updated_at = paused, now
    return True


def unsubscribe(session: Session, email: str, now: datetime) -> bool:
    """Mark a subscriber as unsubscribed; return False if they already were."""
    subscriber = get_subscriber(session, email)
    if not subscriber.active:
        return False
    subscriber.active, subscriber.unsubscribed_at, subscriber.updated_at = False, now, now
    return True


def list_subscribers(session: Session) -> list[Subscriber]:
    return list(session.scalars(select(Subscriber).order_by(Subscriber.email)))


def schedules(session: Session) -> dict[str, tuple[str, str]]:
    """The schedule and time zone of every subscriber whose digests go out, by address."""
    rows = session.execute(
        select(Subscriber.email, Subscriber.schedule, Subscriber.timezone).where(
            Subscriber.active.is_(True), Subscriber.paused.is_(False)
        )
    )
    return {address: (schedule, timezone) for address, schedule, timezone in rows}


def digest_subscribers(session: Session, email: str | None = None) -> list[tuple[int, str]]:
    """The id and address of ``email``, or of every subscriber whose digests go out
    (subscribed, not paused), by address."""
    if email is not None:
        subscriber = get_subscriber(session, email)
        return [(subscriber.id, subscriber.email)]
    rows = session.execute(
        select(Subscriber.id, Subscriber.email)
        .where(Subscriber.active.is_(True), Subscriber.paused.is_(False))
        .order_by(Subscriber.email)
    )
    return [(subscriber_id, address) for subscriber_id, address in rows]


def lock_subscribers(session: Session, ids: Sequence[int]) -> list[Subscriber]:
    """The subscribers with those ids, row-locked until the transaction ends (on PostgreSQL;
    SQLite locks the whole database on the first write instead). Locked in id order, so that
    two senders locking overlapping sets take their turns instead of deadlocking."""
    return list(
        session.scalars(
            select(Subscriber)
            .where(Subscriber.id.in_(ids))
            .order_by(Subscriber.id)
            .with_for_update()
        )
    )


def add_rating(
    session: Session, subscriber: Subscriber, paper: Paper, vote: int, source: str, now: datetime
) -> Rating | None:
    """Record ``vote`` unless it is already the paper's current one; return the rating that
    stands (None: the paper was never rated and ``vote`` clears).

    The history holds changes: a replayed link, a second click or a retried POST adds no row.
    """
    if vote not in VOTE_NAMES:
        raise ValueError(f"unknown vote {vote!r}")
    if source not in SOURCES:
        raise ValueError(f"unknown rating source {source!r}")
    # Two requests rating the same paper at once must not both see the old vote and both add
    # the new one: the subscriber's row is locked for the read (a no-op on SQLite, whose
    # writing transactions begin IMMEDIATE and so already run one at a time).
    session.execute(select(Subscriber.id).where(Subscriber.id == subscriber.id).with_for_update())
    latest = session.scalars(
        select(Rating)
        .where(Rating.subscriber_id == subscriber.id, Rating.paper_id == paper.id)
        .order_by(Rating.rated_at.desc(), Rating.id.desc())
        .limit(1)
    ).first()
    if (latest.vote if latest is not None else VOTES["clear"]) == vote:
        return latest
    rating = Rating(
        subscriber_id=subscriber.id, paper_id=paper.id, vote=vote, source=source, rated_at=now
    )
    session.add(rating)
    return rating


def current_vote(session: Session, subscriber_id: int, paper_id: str) -> str | None:
    """The subscriber's current vote on the paper (up or down), None if none or cleared."""
    vote = session.scalar(
        select(Rating.vote)
        .where(Rating.subscriber_id == subscriber_id, Rating.paper_id == paper_id)
        .order_by(Rating.rated_at.desc(), Rating.id.desc())
        .limit(1)
    )
    return VOTE_NAMES.get(vote) if vote else None


def vote_history(session: Session, subscriber_id: int, paper_id: str) -> list[str]:
    """Every vote the subscriber gave the paper (up, down or clear), newest first."""
    votes = session.scalars(
        select(Rating.vote)
        .where(Rating.subscriber_id == subscriber_id, Rating.paper_id == paper_id)
        .order_by(Rating.rated_at.desc(), Rating.id.desc())
    )
    return [VOTE_NAMES[vote] for vote in votes]


def newest_vote_change(session: Session, subscriber_id: int) -> tuple[Paper, int, int] | None:
    """What the subscriber's newest rating (the last one added) changed: its paper, the vote
    the paper had before it and the one it has now (+1, -1, 0: none). None if they have no
    rating, or if the newest added is not its paper's current one (an imported rating dated
    before a later one of the same paper changes nothing)."""
    newest = session.scalars(
        select(Rating).where(Rating.subscriber_id == subscriber_id).order_by(Rating.id.desc())
    ).first()
    if newest is None:
        return None
    latest = session.scalars(
        select(Rating)
        .where(Rating.subscriber_id == subscriber_id, Rating.paper_id == newest.paper_id)
        .order_by(Rating.rated_at.desc(), Rating.id.desc())
        .limit(2)
    ).all()
    if latest[0].id != newest.id:
        return None
    before = latest[1].vote if len(latest) > 1 else VOTES["clear"]
    paper = session.get(Paper, newest.paper_id)
    return None if paper is None else (paper, before, newest.vote)


def current_ratings(session: Session, subscriber_id: int) -> list[tuple[Rating, Paper]]:
    """Return each paper's latest rating (cleared ones left out), newest first."""
    return current_ratings_of(session, [subscriber_id]).get(subscriber_id, [])


def rated_paper_ids(session: Session, subscriber_id: int) -> set[str]:
    """The ids of the papers :func:`current_ratings` holds (their latest rating is a vote)."""
    latest = (
        select(Rating.paper_id, Rating.vote, _newest_first())
        .where(Rating.subscriber_id == subscriber_id)
        .subquery()
    )
    rows = session.scalars(select(latest.c.paper_id).where(latest.c.rank == 1, latest.c.vote != 0))
    return set(rows)


def _newest_first() -> Label[int]:
    """``rank``: 1 for a subscriber's latest rating of a paper, 2 for the one before, ..."""
    return (
        func.row_number()
        .over(
            partition_by=(Rating.subscriber_id, Rating.paper_id),
            order_by=(Rating.rated_at.desc(), Rating.id.desc()),
        )
        .label("rank")
    )


def current_rating_counts(session: Session) -> dict[int, int]:
    """How many current ratings (:func:`current_ratings`) each subscriber has, in one query
    (those with none are left out)."""
    latest = select(Rating.subscriber_id, Rating.vote, _newest_first()).subquery()
    rows = session.execute(
        select(latest.c.subscriber_id, func.count())
        .where(latest.c.rank == 1, latest.c.vote != 0)
        .group_by(latest.c.subscriber_id)
    )
    return {subscriber_id: int(count) for subscriber_id, count in rows}


def current_ratings_of(
    session: Session, subscriber_ids: Sequence[int]
) -> dict[int, list[tuple[Rating, Paper]]]:
    """:func:`current_ratings` of many subscribers at once (those with none are left out)."""
    found: dict[int, list[tuple[Rating, Paper]]] = {}
    for rating, paper, _ in session.execute(_current_ratings(subscriber_ids)):
        found.setdefault(rating.subscriber_id, []).append((rating, paper))
    return found


def counted_ratings(session: Session, subscriber_id: int) -> tuple[list[tuple[Rating, Paper]], int]:
    """:func:`current_ratings`, and how many ratings the subscriber ever gave (clears
    included), read in one statement so that the two agree: a model trained on those ratings
    and marked with that count has learnt exactly the ratings counted, even on PostgreSQL with
    a vote committed meanwhile (:meth:`recommender.ranking.Ranker.take_vote` relies on it).
    With no current rating the count is read after them: it may then count a vote they lack,
    which makes a model look fresher than it is until its next training, never count twice."""
    rows = session.execute(_current_ratings([subscriber_id])).all()
    if rows:
        return [(rating, paper) for rating, paper, _ in rows], int(rows[0][2])
    return [], vector_store.rating_count(session, subscriber_id)


def _current_ratings(subscriber_ids: Sequence[int]) -> Select[tuple[Rating, Paper, int]]:
    """Each paper's latest rating by the subscribers (cleared ones left out), newest first,
    with its paper and how many ratings its subscriber ever gave (clears included)."""
    latest = (
        select(
            Rating.id,
            _newest_first(),
            func.count().over(partition_by=Rating.subscriber_id).label("total"),
        )
        .where(Rating.subscriber_id.in_(subscriber_ids))
        .subquery()
    )
    return (
        select(Rating, Paper, latest.c.total)
        .join(latest, (latest.c.id == Rating.id) & (latest.c.rank == 1))
        .join(Paper, Paper.id == Rating.paper_id)
        .where(Rating.vote != 0)
        .order_by(Rating.rated_at.desc(), Rating.id.desc())
    )


def rating_history(session: Session, subscriber_id: int) -> list[tuple[Rating, Paper]]:
    """Return every rating ever given, oldest first."""
    rows = session.execute(
        select(Rating, Paper)
        .join(Paper, Paper.id == Rating.paper_id)
        .where(Rating.subscriber_id == subscriber_id)
        .order_by(Rating.rated_at, Rating.id)
    )
    return [(rating, paper) for rating, paper in rows]
