"""Query the papers that ranking reads: a subscriber's candidates, texts, the whole catalogue.

Every function takes an open :class:`~sqlalchemy.orm.Session`; the caller owns the transaction.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from datetime import date, datetime

from sqlalchemy import Row, exists, func, select
from sqlalchemy.orm import Session

from recommender import dumps
from recommender.store.models import Dump, Paper, Rating, Subscriber


def unrated_papers(
    session: Session,
    subscriber_id: int,
    *,
    listed_since: date | None = None,
    exclude: Collection[str] = (),
) -> list[Paper]:
    """Papers the subscriber never rated, first listed on or after ``listed_since``.

    ``exclude`` leaves out more papers by id (those already sent to them, say).
    """
    statement = select(Paper).where(
        ~exists().where(Rating.subscriber_id == subscriber_id, Rating.paper_id == Paper.id)
    )
    if listed_since is not None:
        statement = statement.join(Dump, Dump.id == Paper.first_dump_id).where(
            Dump.listing_date >= listed_since
        )
    excluded = set(exclude)
    return [p for p in session.scalars(statement.order_by(Paper.id)) if p.id not in excluded]


def unseen_papers(
    session: Session, subscriber: Subscriber, *, listed_since: date | None = None
) -> list[Paper]:
    """Papers new to the subscriber: never rated by them and not liked in their profile."""
    return unrated_papers(
        session,
        subscriber.id,
        listed_since=listed_since,
        exclude=liked_paper_ids(subscriber.liked),
    )


def liked_paper_ids(liked_titles: Iterable[str]) -> set[str]:
    """The ids a profile's liked titles have as papers: the subscriber knows those papers, so
    they are never recommended back to them (a title not in the catalogue matches nothing)."""
    return {dumps.paper_id(title) for title in liked_titles if title.strip()}


def papers_by_id(session: Session, ids: Sequence[str]) -> list[Paper]:
    """The papers with those ids, in the order given (unknown ids left out)."""
    found: dict[str, Paper] = {}
    for start in range(0, len(ids), 500):
        chunk = list(ids[start : start + 500])
        found.update((p.id, p) for p in session.scalars(select(Paper).where(Paper.id.in_(chunk))))
    return [found[i] for i in ids if i in found]


def all_paper_ids(session: Session) -> list[str]:
    """Every paper's id, in id order."""
    return list(session.scalars(select(Paper.id).order_by(Paper.id)))


def paper_count(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(Paper)) or 0)


def catalogue_texts(session: Session) -> list[tuple[str, str]]:
    """Every paper's (title, abstract), for counting document frequencies."""
    return [(t, a) for t, a in session.execute(select(Paper.title, Paper.abstract))]


def pool_state(session: Session, since: datetime) -> tuple[object, ...]:
    """What changes whenever a paper that arrived since ``since`` is added or updated."""
    return tuple(
        session.execute(
            select(func.count(), func.max(Paper.first_seen_at), func.max(Paper.updated_at)).where(
                Paper.first_seen_at > since
            )
        ).one()
    )


def pool_rows(session: Session, since: datetime) -> list[Row]:  # type: ignore[type-arg]
    """What a digest shows of each paper that arrived since ``since``, in order of arrival."""
    return list(
        session.execute(
            select(
                Paper.id,
                Paper.title,
                Paper.abstract,
                Paper.upvotes,
                Paper.published,
                Paper.links,
                Paper.first_seen_at,
                Paper.arxiv_id,
                Paper.hf_page,
            )
            .where(Paper.first_seen_at > since)
            .order_by(Paper.first_seen_at, Paper.id)
        )
    )
