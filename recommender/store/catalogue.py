"""Query the papers that ranking reads: a subscriber's candidates, texts, the whole catalogue.

Every function takes an open :class:`~sqlalchemy.orm.Session`; the caller owns the transaction.
"""

from __future__ import annotations

import random
from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any, NamedTuple, TypeVar

from sqlalchemy import Row, Select, exists, func, select
from sqlalchemy.orm import Session

from recommender import dumps
from recommender.sources.base import arxiv_id
from recommender.store import subscribers as subscriber_store
from recommender.store.models import Dump, Paper, Subscriber

_T = TypeVar("_T", bound=tuple[Any, ...])


def unrated_papers(
    session: Session,
    subscriber_id: int,
    *,
    listed_since: date | None = None,
    exclude: Collection[str] = (),
) -> list[Paper]:
    """Papers the subscriber has no rating of now (never rated, or their rating withdrawn, as
    digests count them), first listed on or after ``listed_since``.

    ``exclude`` leaves out more papers by id (those already sent to them, say).
    """
    statement = _first_listed_since(select(Paper), listed_since)
    excluded = set(exclude) | subscriber_store.rated_paper_ids(session, subscriber_id)
    return [p for p in session.scalars(statement.order_by(Paper.id)) if p.id not in excluded]


def count_papers(session: Session, *, listed_since: date | None = None) -> int:
    """How many papers the catalogue holds (first listed on or after ``listed_since``)."""
    statement = _first_listed_since(select(func.count()).select_from(Paper), listed_since)
    return int(session.scalar(statement) or 0)


def _first_listed_since(statement: Select[_T], listed_since: date | None) -> Select[_T]:
    """``statement`` over papers kept to those first listed on or after ``listed_since``."""
    if listed_since is None:
        return statement
    return statement.join(Dump, Dump.id == Paper.first_dump_id).where(
        Dump.listing_date >= listed_since
    )


def unseen_papers(
    session: Session, subscriber: Subscriber, *, listed_since: date | None = None
) -> list[Paper]:
    """Papers new to the subscriber: never rated by them and not liked in their profile."""
    return unrated_papers(
        session,
        subscriber.id,
        listed_since=listed_since,
        exclude=liked_paper_ids(subscriber.every_liked)
        | {n.id for n in _named(session, subscriber.every_liked).values()},
    )


def latest_listing_day(session: Session) -> date | None:
    """The newest listing date that brought papers new to the catalogue (the day they were
    first listed); None while there is none. A day that listed only known papers is not it."""
    brought = exists().where(Paper.first_dump_id == Dump.id)
    day: date | None = session.scalar(select(func.max(Dump.listing_date)).where(brought))
    return day


def first_listed_since(session: Session, paper_ids: Collection[str], day: date) -> set[str]:
    """Those of ``paper_ids`` whose papers were first listed on or after ``day``."""
    wanted = list(paper_ids)
    found: set[str] = set()
    for start in range(0, len(wanted), 500):
        found.update(
            session.scalars(
                select(Paper.id)
                .join(Dump, Dump.id == Paper.first_dump_id)
                .where(Paper.id.in_(wanted[start : start + 500]), Dump.listing_date >= day)
            )
        )
    return found


def liked_paper_ids(liked_titles: Iterable[str]) -> set[str]:
    """The ids a profile's liked titles have as papers: the subscriber knows those papers, so
    they are never recommended back to them (a title not in the catalogue matches nothing)."""
    return {dumps.paper_id(title) for title in liked_titles if title.strip()}


class _Named(NamedTuple):
    id: str
    updated_at: datetime


def _named(session: Session, entries: Iterable[str]) -> dict[str, _Named]:
    """The catalogue papers profile ``liked`` entries name, by entry (see :func:`liked_papers`);
    one query per 500 keys."""
    keys = {e: (dumps.paper_id(e), arxiv_id(e)) for e in set(entries) if e.strip()}
    by_id: dict[str, _Named] = {}
    by_arxiv: dict[str, _Named] = {}
    ids = list({k for k, _ in keys.values()})
    arxiv_ids = list({a for _, a in keys.values() if a is not None})
    columns = (Paper.id, Paper.arxiv_id, Paper.updated_at)
    for column, wanted in ((Paper.id, ids), (Paper.arxiv_id, arxiv_ids)):
        for start in range(0, len(wanted), 500):
            rows = session.execute(select(*columns).where(column.in_(wanted[start : start + 500])))
            for paper_id, paper_arxiv_id, updated_at in rows:
                by_id[paper_id] = _Named(paper_id, updated_at)
                if paper_arxiv_id is not None:
                    by_arxiv[paper_arxiv_id] = by_id[paper_id]
    out = {}
    for entry, (paper_id, paper_arxiv_id) in keys.items():
        found = by_arxiv.get(paper_arxiv_id) if paper_arxiv_id else None
        if found is None:
            found = by_id.get(paper_id)
        if found is not None:
            out[entry] = found
    return out


def liked_papers(session: Session, liked: Iterable[str]) -> dict[str, Paper]:
    """The catalogue papers a profile's ``liked`` entries name, by entry (an entry naming no
    paper in the catalogue yet is left out).

    An entry names a paper by its title, exactly or once normalised (the paper's id hashes
    its normalised title), or by an arXiv id in it (``2401.01234``, ``arXiv:2401.01234v2``,
    an ``arxiv.org/abs/`` link) where a source brought the paper's arXiv id; the arXiv id
    wins where both name a paper.
    """
    named = _named(session, liked)
    if not named:
        return {}
    papers = {p.id: p for p in papers_by_id(session, list({n.id for n in named.values()}))}
    return {entry: papers[n.id] for entry, n in named.items() if n.id in papers}


def liked_paper_ids_of(session: Session, liked: Mapping[int, Iterable[str]]) -> dict[int, set[str]]:
    """For each subscriber (``liked``: their profile's entries, by subscriber id), the ids of
    the catalogue papers their entries name (:func:`liked_papers`), read for all at once."""
    lists = {sid: list(entries) for sid, entries in liked.items()}
    named = _named(session, (e for entries in lists.values() for e in entries))
    return {sid: {named[e].id for e in entries if e in named} for sid, entries in lists.items()}


def liked_papers_changed(
    session: Session, liked: Mapping[int, Iterable[str]]
) -> dict[int, datetime]:
    """For each subscriber (``liked`` as for :func:`liked_paper_ids_of`), when the newest
    change came to the papers their entries name (the paper's arrival, a fuller abstract, an
    arXiv id): a model trained before then is stale. Subscribers whose entries name no paper
    in the catalogue are left out."""
    lists = {sid: list(entries) for sid, entries in liked.items()}
    named = _named(session, (e for entries in lists.values() for e in entries))
    out = {}
    for sid, entries in lists.items():
        times = [named[e].updated_at for e in entries if e in named]
        if times:
            out[sid] = max(times)
    return out


def papers_by_id(session: Session, ids: Sequence[str]) -> list[Paper]:
    """The papers with those ids, in the order given (unknown ids left out)."""
    found: dict[str, Paper] = {}
    for start in range(0, len(ids), 500):
        chunk = list(ids[start : start + 500])
        found.update((p.id, p) for p in session.scalars(select(Paper).where(Paper.id.in_(chunk))))
    return [found[i] for i in ids if i in found]


def sample_papers(session: Session, n: int, exclude: Collection[str], seed: int) -> list[Paper]:
    """Up to ``n`` papers whose ids are not in ``exclude``, drawn reproducibly with ``seed``:
    those that follow a random point in id order (wrapping round to the first ids).

    An id hashes its paper's title, so id order is a random order, unrelated to what a paper
    is about, and a run of it is a random sample. Read through the primary key's index, so the
    cost is that of the papers read, however many the catalogue holds (reading every id to
    draw from them took 50 ms a training at 100,000 papers).
    """
    if n <= 0:
        return []
    start = f"{random.Random(seed).getrandbits(64):016x}"
    wanted = n + len(exclude)
    run = select(Paper).order_by(Paper.id)
    papers = list(session.scalars(run.where(Paper.id >= start).limit(wanted)))
    if len(papers) < wanted:
        papers += session.scalars(run.where(Paper.id < start).limit(wanted - len(papers)))
    excluded = set(exclude)
    return [p for p in papers if p.id not in excluded][:n]


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
                Paper.author_names,
            )
            .where(Paper.first_seen_at > since)
            .order_by(Paper.first_seen_at, Paper.id)
        )
    )
