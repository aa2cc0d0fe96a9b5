"""Plan digests: choose each subscriber's papers and render the email, ready to record.

For one subscriber: the papers of the pool that arrived since their last digest (never one
already sent to them or rated by them), ranked by their model, steered by their named
interests, followed authors and must-not words (:mod:`recommender.digests.steering`), chosen
by :mod:`recommender.selection`, each with the reason it was chosen and its one-click rating
links, rendered from ``templates/`` with the exact message bytes. Recording it is
:class:`recommender.digests.composer.Composer`'s business, sending it the outbox's
(:mod:`recommender.digests.outbox`); the pool is :mod:`recommender.digests.pool`'s.
"""

from __future__ import annotations

import email.utils
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import NamedTuple
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy.orm import Session

from recommender import links, message, model, render
from recommender.digests import steering
from recommender.digests.pool import FIRST_DIGEST_LOOKBACK, PaperPool, PoolPaper, PoolVectors
from recommender.ranking import Ranked, Ranker, Scope, Scored
from recommender.store import catalogue as catalogue_store
from recommender.store import digests as digest_store
from recommender.store import subscribers as subscriber_store
from recommender.store.models import Paper, Rating, Subscriber


@dataclass(frozen=True)
class Addressing:
    """How digests are addressed and linked: from the settings."""

    mail_from: str
    base_url: str
    signer: links.Signer


@dataclass(frozen=True)
class _Facts:
    """What choosing a subscriber's papers needs to know of them, read for many at once."""

    subscriber: Subscriber
    since: datetime  # their last digest, or the first digest's look-back
    excluded: set[str]  # sent to them, rated by them, or liked in their profile
    rated: list[tuple[Rating, Paper]]
    shown: dict[str, str]  # the named interest each paper was sent for


class Chosen(NamedTuple):
    """A paper of a digest: its ranking, and why it is in."""

    ranked: Ranked
    exploration: bool = False
    interest: str | None = None  # the named interest it serves
    followed: str | None = None  # the followed author who wrote it, as the profile names them
    among: int = 0  # how many candidates the digest chose it from (its ``beats`` counts them)


def _facts_of(
    session: Session, subscribers: Sequence[Subscriber], pool: PaperPool, now: datetime
) -> list[_Facts]:
    ids = [s.id for s in subscribers]
    last = digest_store.last_digest_times(session, ids)
    sent = digest_store.sent_papers(session, ids, pool.since)
    ratings = subscriber_store.current_ratings_of(session, ids)
    liked = catalogue_store.liked_paper_ids_of(session, {s.id: s.every_liked for s in subscribers})
    shown = digest_store.shown_interests(session, [s.id for s in subscribers if s.topics])
    all_facts = []
    for s in subscribers:
        rated = ratings.get(s.id, [])
        excluded = sent.get(s.id, set())
        excluded.update(p.id for _, p in rated)
        excluded.update(catalogue_store.liked_paper_ids(s.every_liked) | liked[s.id])
        since = last.get(s.id) or (now - FIRST_DIGEST_LOOKBACK)
        all_facts.append(_Facts(s, since, excluded, rated, shown.get(s.id, {})))
    return all_facts


def _candidates(pool: PaperPool, facts: _Facts) -> np.ndarray:
    """The rows of the pool's papers that are new to the subscriber: arrived since their last
    digest, never sent to them, not rated by them, not named as liked in their profile."""
    rows = np.arange(pool.arrived_after(facts.since), len(pool.papers))
    excluded = [pool.rows[i] for i in facts.excluded if i in pool.rows]
    return np.setdiff1d(rows, excluded, assume_unique=True) if excluded else rows


def _choose(
    session: Session,
    ranker: Ranker,
    space: model.FeatureSpace,
    pool: PaperPool,
    vectors: PoolVectors,
    facts: _Facts,
    user_model: model.UserModel,
    scores: np.ndarray,
) -> list[Chosen]:
    """The subscriber's papers: followed authors' first, then the rest best first, the
    exploration pick (if any) last."""
    subscriber = facts.subscriber
    rows = _candidates(pool, facts)
    if not len(rows):
        return []
    steered = steering.steer(
        ranker,
        Scope(session, space),
        subscriber,
        pool.papers,
        rows,
        vectors.matrix,
        facts.rated,
        facts.shown,
    )
    rows = steered.rows
    if not len(rows):
        return []
    papers = pool.papers
    picks = steering.choose(
        steered,
        scores,
        vectors.similarity,
        lambda row: papers[row].upvotes,
        size=subscriber.digest_size,
        min_score=subscriber.min_score,
        explore=subscriber.explore,
        subscriber_id=subscriber.id,
    )
    if not picks:
        return []
    known = ranker.known_papers(Scope(session, space), subscriber, facts.rated)
    scored = Scored(user_model, vectors.vectors, scores)
    chosen = [int(p.key) for p in picks]
    # each share beaten is counted among the candidates the digest chose from
    ranked = ranker.explain(space, pool.papers, scored, chosen, known, among=scores[rows])
    return [
        Chosen(
            r,
            p.exploration,
            p.interest,
            steered.followed.get(int(p.key)) if p.followed else None,
            len(rows),
        )
        for r, p in zip(ranked, picks, strict=True)
    ]


def local_date(subscriber: Subscriber, now: datetime) -> date:
    return now.astimezone(ZoneInfo(subscriber.timezone)).date()


def plan(
    session: Session,
    ranker: Ranker,
    space: model.FeatureSpace,
    subscribers: Sequence[Subscriber],
    models: Sequence[model.UserModel],
    pool: PaperPool,
    now: datetime,
    mail: Addressing,
    templates: render.Templates,
    *,
    slot: str | None = None,
    nothing_new_note: bool = False,
) -> list[digest_store.NewDigest]:
    """Compose the digests of ``subscribers``, ready to record
    (:func:`recommender.store.digests.record_digests`); a subscriber with nothing to send has
    none. ``models``: theirs (:meth:`Ranker.models_for`).

    Their models score the pool in one product, and what is known of them is read in one
    query each. Reads only, but for embeddings of texts not embedded yet.
    """
    if not subscribers:
        return []
    choices: list[list[Chosen]] = [[] for _ in subscribers]
    if pool.papers:
        all_facts = _facts_of(session, subscribers, pool, now)
        vectors = pool.vectors(ranker, session, space)
        scores = model.score(models, vectors.vectors)
        choices = [
            _choose(session, ranker, space, pool, vectors, facts, user_model, row)
            for facts, user_model, row in zip(all_facts, models, scores, strict=True)
        ]
    notes: dict[int, str] = {}
    if nothing_new_note:
        notes = {
            s.id: f"nothing-new {local_date(s, now).isoformat()}"
            for s, chosen in zip(subscribers, choices, strict=True)
            if not chosen
        }
        for taken in digest_store.taken_slots(session, list(notes), list(notes.values())):
            notes.pop(taken[0], None)
    domain = urlsplit(mail.base_url).hostname or "localhost"
    planned = []
    for s, chosen in zip(subscribers, choices, strict=True):
        if not chosen and s.id not in notes:
            continue
        message_id = email.utils.make_msgid("digest", domain=domain)
        context = _context(s, chosen, local_date(s, now), message_id, mail)
        rendered = (
            render.render_digest(templates, context)
            if chosen
            else render.render_nothing_new(templates, context)
        )
        built = message.build_message(
            rendered,
            mail_from=mail.mail_from,
            to=_address(s),
            message_id=message_id,
            date=now,
            list_unsubscribe_url=context.unsubscribe_url,
            list_unsubscribe_mailto=_unsubscribe_mailto(mail.mail_from, s),
        )
        lines = [
            digest_store.DigestLine(
                c.ranked.paper.id, c.ranked.score, _reason(c), c.exploration, c.interest
            )
            for c in chosen
        ]
        kind, digest_slot = ("digest", slot) if chosen else ("nothing_new", notes[s.id])
        planned.append(
            digest_store.NewDigest(
                s.id, kind, digest_slot, message_id, lines, rendered.subject, bytes(built)
            )
        )
    return planned


def _reason(chosen: Chosen) -> str:
    """The reason recorded with a digest's paper."""
    reasons = chosen.ranked.reasons
    if chosen.followed is not None:
        reasons = [f"by an author you follow ({chosen.followed})", *reasons]
    return "; ".join(reasons)


def _address(subscriber: Subscriber) -> str:
    return email.utils.formataddr((subscriber.name, subscriber.email))


def _unsubscribe_mailto(mail_from: str, subscriber: Subscriber) -> str:
    sender = email.utils.parseaddr(mail_from)[1] or "recommender@localhost"
    return f"mailto:{sender}?subject=unsubscribe%20{subscriber.email}"


def _context(
    subscriber: Subscriber,
    chosen: Sequence[Chosen],
    today: date,
    message_id: str,
    mail: Addressing,
) -> render.DigestContext:
    sign, base = mail.signer, mail.base_url
    items = []
    for ranked, exploring, interest, followed, among in chosen:
        paper = ranked.paper
        assert isinstance(paper, PoolPaper)
        items.append(
            render.DigestItem(
                paper_id=paper.id,
                title=paper.title,
                abstract=paper.abstract,
                reason="; ".join(ranked.reasons),
                interest=interest,
                followed=followed,
                links=list(paper.links),
                published=paper.published,
                upvotes=paper.upvotes,
                score=ranked.score,
                exploration=exploring,
                beats=ranked.beats,
                among=among,
                up_url=links.rating_url(base, sign.rating(subscriber.id, paper.id, "up")),
                down_url=links.rating_url(base, sign.rating(subscriber.id, paper.id, "down")),
                arxiv_id=paper.arxiv_id,
                hf_page=paper.hf_page,
            )
        )
    return render.DigestContext(
        subscriber_name=subscriber.name,
        subscriber_email=subscriber.email,
        digest_date=today,
        items=items,
        manage_url=links.manage_url(base, sign.manage(subscriber.id)),
        unsubscribe_url=links.unsubscribe_url(base, sign.unsubscribe(subscriber.id)),
        browser_url=links.digest_url(base, sign.view_digest(message_id)),
        today_url=links.today_url(base, sign.today(subscriber.id)),
    )
