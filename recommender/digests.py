"""Compose digests: choose a subscriber's papers, render the email, and record it (not send it).

For one subscriber: the papers that arrived since their last digest (never one already sent to
them or rated by them), ranked by their model, chosen by :mod:`recommender.selection`, each
with the reason it was chosen and its one-click rating links, rendered from ``templates/`` and
recorded as a pending digest with the exact message bytes. Delivering it is the facade's
business (with :mod:`recommender.mailer`); the papers of a day are loaded and vectorised once
for all subscribers (:class:`PaperPool`).
"""

from __future__ import annotations

import email.utils
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from recommender import links, message, model, render, selection
from recommender.ranking import Ranked, Ranker
from recommender.store import candidates as candidate_store
from recommender.store import digests as digest_store
from recommender.store import subscribers as subscriber_store
from recommender.store.models import Digest, Paper, Subscriber

# A first digest looks back this far for papers; later ones take what arrived since the last.
FIRST_DIGEST_LOOKBACK = timedelta(days=7)
# Similarities for diversity are computed among this many of the best-ranked candidates (and
# as many drawn from the rest, for the exploration slot).
DIVERSITY_POOL = 100


@dataclass(frozen=True)
class PoolPaper:
    """A paper as a digest shows it: plain data, loaded once for every subscriber."""

    id: str
    title: str
    abstract: str
    upvotes: int | None
    published: date | None
    links: tuple[tuple[str, str], ...]
    first_seen_at: datetime


def pool_state(session: Session, since: datetime) -> tuple[object, ...]:
    """What changes whenever a paper that arrived since ``since`` is added or updated."""
    return tuple(
        session.execute(
            select(func.count(), func.max(Paper.first_seen_at), func.max(Paper.updated_at)).where(
                Paper.first_seen_at > since
            )
        ).one()
    )


class PaperPool:
    """The papers that arrived since ``since``, for one run over many subscribers.

    ``state`` (see :func:`pool_state`) tells whether the pool is still current, so that a
    service sending one subscriber's digest after another can keep it: :meth:`narrowed`.
    """

    def __init__(self, session: Session, since: datetime) -> None:
        self.state = pool_state(session, since)
        rows = session.execute(
            select(
                Paper.id,
                Paper.title,
                Paper.abstract,
                Paper.upvotes,
                Paper.published,
                Paper.links,
                Paper.first_seen_at,
            )
            .where(Paper.first_seen_at > since)
            .order_by(Paper.first_seen_at, Paper.id)
        )
        self.since = since
        self.papers = [
            PoolPaper(
                pid,
                title,
                abstract,
                upvotes,
                published,
                tuple((link["kind"], link["url"]) for link in paper_links or []),
                first_seen,
            )
            for pid, title, abstract, upvotes, published, paper_links, first_seen in rows
        ]

    def narrowed(self, since: datetime) -> PaperPool:
        """The same pool without the papers that arrived on or before ``since``."""
        if since < self.since:
            raise ValueError("a pool cannot be widened")
        pool = object.__new__(PaperPool)
        pool.state, pool.since = self.state, since
        pool.papers = [p for p in self.papers if p.first_seen_at > since]
        return pool


@dataclass(frozen=True)
class Mail:
    """How digests are addressed and linked: from the settings."""

    mail_from: str
    base_url: str
    signer: links.Signer


def candidates_for(
    session: Session, subscriber: Subscriber, pool: PaperPool, now: datetime
) -> list[PoolPaper]:
    """The pool's papers that are new to the subscriber: arrived since their last digest,
    never sent to them, not rated by them, not named as liked in their profile."""
    since = digest_store.last_digest_at(session, subscriber.id) or (now - FIRST_DIGEST_LOOKBACK)
    excluded = digest_store.sent_paper_ids(session, subscriber.id)
    excluded.update(p.id for _, p in subscriber_store.current_ratings(session, subscriber.id))
    excluded.update(candidate_store.liked_paper_ids(subscriber.liked))
    return [p for p in pool.papers if p.first_seen_at > since and p.id not in excluded]


def choose(
    session: Session,
    ranker: Ranker,
    space: model.FeatureSpace,
    subscriber: Subscriber,
    papers: Sequence[PoolPaper],
    now: datetime,
) -> list[tuple[Ranked, bool]]:
    """The digest's papers, best first, each with whether it is the exploration pick."""
    if not papers:
        return []
    scored = ranker.score(session, space, subscriber, papers, now)
    order = np.argsort(-scored.scores, kind="stable")
    shortlist = list(order[:DIVERSITY_POOL])
    rest = order[DIVERSITY_POOL:]
    if subscriber.explore and len(rest):
        rng = np.random.default_rng(subscriber.id)
        shortlist += list(rng.choice(rest, size=min(DIVERSITY_POOL, len(rest)), replace=False))
    vectors = scored.vectors[shortlist].to_matrix()
    similarity = np.asarray((vectors @ vectors.T).todense())
    picks = selection.choose(
        [
            selection.Candidate(str(i), float(scored.scores[i]), papers[i].upvotes)
            for i in shortlist
        ],
        similarity,
        size=subscriber.digest_size,
        min_score=subscriber.min_score,
        explore=subscriber.explore,
        seed=subscriber.id * 100_003 + len(papers),
    )
    chosen = [int(p.key) for p in picks]
    ranked = ranker.explain(session, space, subscriber, papers, scored, chosen)
    return [(r, p.exploration) for r, p in zip(ranked, picks, strict=True)]


def local_date(subscriber: Subscriber, now: datetime) -> date:
    return now.astimezone(ZoneInfo(subscriber.timezone)).date()


def compose(
    session: Session,
    ranker: Ranker,
    space: model.FeatureSpace,
    subscriber: Subscriber,
    pool: PaperPool,
    now: datetime,
    mail: Mail,
    templates: render.Templates,
    *,
    slot: str | None = None,
    nothing_new_note: bool = False,
) -> Digest | None:
    """Record the subscriber's digest, ready to send; ``None`` when there is nothing to send."""
    chosen = choose(
        session, ranker, space, subscriber, candidates_for(session, subscriber, pool, now), now
    )
    today = local_date(subscriber, now)
    kind = "digest" if chosen else "nothing_new"
    if not chosen:
        slot = f"nothing-new {today.isoformat()}"
        if not nothing_new_note or digest_store.has_slot(session, subscriber.id, slot):
            return None
    domain = urlsplit(mail.base_url).hostname or "localhost"
    message_id = email.utils.make_msgid("digest", domain=domain)
    lines = [
        digest_store.DigestLine(r.paper.id, r.score, "; ".join(r.reasons), exploring)
        for r, exploring in chosen
    ]
    digest = digest_store.record_digest(
        session,
        subscriber,
        kind=kind,
        slot=slot,
        message_id=message_id,
        subject="",
        message=b"",
        lines=lines,
        now=now,
    )
    context = _context(subscriber, chosen, today, digest.id, mail)
    rendered = (
        render.render_digest(templates, context)
        if chosen
        else render.render_nothing_new(templates, context)
    )
    built = message.build_message(
        rendered,
        mail_from=mail.mail_from,
        to=_address(subscriber),
        message_id=message_id,
        date=now,
        list_unsubscribe_url=context.unsubscribe_url,
        list_unsubscribe_mailto=_unsubscribe_mailto(mail.mail_from, subscriber),
    )
    digest.subject = rendered.subject
    digest.message = bytes(built)
    session.flush()
    return digest


def _address(subscriber: Subscriber) -> str:
    return email.utils.formataddr((subscriber.name, subscriber.email))


def _unsubscribe_mailto(mail_from: str, subscriber: Subscriber) -> str:
    sender = email.utils.parseaddr(mail_from)[1] or "recommender@localhost"
    return f"mailto:{sender}?subject=unsubscribe%20{subscriber.email}"


def _context(
    subscriber: Subscriber,
    chosen: Sequence[tuple[Ranked, bool]],
    today: date,
    digest_id: int,
    mail: Mail,
) -> render.DigestContext:
    sign, base = mail.signer, mail.base_url
    items = []
    for ranked, exploring in chosen:
        paper = ranked.paper
        assert isinstance(paper, PoolPaper)
        items.append(
            render.DigestItem(
                paper_id=paper.id,
                title=paper.title,
                abstract=paper.abstract,
                reason="; ".join(ranked.reasons),
                links=list(paper.links),
                published=paper.published,
                upvotes=paper.upvotes,
                score=ranked.score,
                exploration=exploring,
                up_url=links.rating_url(base, sign.rating(subscriber.id, paper.id, "up")),
                down_url=links.rating_url(base, sign.rating(subscriber.id, paper.id, "down")),
            )
        )
    return render.DigestContext(
        subscriber_name=subscriber.name,
        subscriber_email=subscriber.email,
        digest_date=today,
        items=items,
        manage_url=links.manage_url(base, sign.manage(subscriber.id)),
        unsubscribe_url=links.unsubscribe_url(base, sign.unsubscribe(subscriber.id)),
        browser_url=links.digest_url(base, sign.view_digest(digest_id)),
    )
