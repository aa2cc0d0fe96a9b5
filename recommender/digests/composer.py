"""The composing engine: record the due digests of many subscribers, each exactly once.

Subscribers are composed :data:`BATCH` at a time (their models score the pool in one
product), each batch recorded in one transaction; with several batches, worker processes
share them. Two senders composing the same subscribers record each digest once: row locks on
PostgreSQL, the unique slot and papers of a digest everywhere, and the latest digest read
again under the lock.

Choosing and rendering are :mod:`recommender.digests.plan`'s; the rows are
:mod:`recommender.store`'s; sending is :mod:`recommender.digests.outbox`'s. A
:class:`Composer` is built from its dependencies, not from the facade, so that a worker
process builds its own from plain settings (:class:`ComposerSettings`).
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, TypeVar

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from recommender import links, model, render, resources
from recommender.digests import plan as planning
from recommender.digests.plan import Addressing
from recommender.digests.pool import FIRST_DIGEST_LOOKBACK, KeptPool, PaperPool
from recommender.ranking import Ranker
from recommender.results import ComposeOutcome
from recommender.store import database
from recommender.store import digests as digest_store
from recommender.store import subscribers as subscriber_store
from recommender.store.models import Subscriber

if TYPE_CHECKING:
    from recommender.config import Settings

# How many subscribers' digests are composed together: their models score the pool in one
# product, and their facts are read in one query each.
BATCH = 200
# Composing uses worker processes from this many batches of subscribers on.
WORKERS_FROM = 4


def worker_start_method(chosen: str | None = None) -> str:
    """How composing worker processes start: ``chosen`` if given, else "fork" (they inherit
    the parent's pool of papers, vectors and explanation layouts, and skip the imports) where
    the platform has it, this process runs no other thread (a thread may hold a lock at the
    moment of the fork) and has not loaded PyTorch (whose OpenMP thread pool a forked child
    must not use); "spawn" (each starts afresh) otherwise."""
    if chosen is not None:
        return chosen
    if (
        "fork" in multiprocessing.get_all_start_methods()
        and threading.active_count() == 1
        and "torch" not in sys.modules
    ):
        return "fork"
    return "spawn"


@dataclass(frozen=True)
class ComposerSettings:
    """What a spawned worker process builds its :class:`Composer` from: plain data."""

    database_url: str
    embedding_model: str
    mail_from: str
    base_url: str
    secret: str
    nothing_new_note: bool = False

    @classmethod
    def of(cls, settings: Settings, secret: str) -> ComposerSettings:
        """The composing part of ``settings``, with the link-signing secret."""
        s = settings
        return cls(
            s.database_url, s.embedding_model, s.mail_from, s.base_url, secret, s.nothing_new_note
        )


class Composer:
    """Records the due digests of subscribers, over one database.

    ``workers``: how many processes share the batches (default: one per CPU, for
    :data:`WORKERS_FROM` batches or more); ``start_method``: how they start (see
    :func:`worker_start_method`); ``plain``: the settings a spawned worker builds its own
    composer from. ``kept`` keeps the pool of papers from one run to the next.
    """

    def __init__(
        self,
        engine: Engine,
        ranker: Ranker,
        space: model.FeatureSpace,
        templates: render.Templates,
        mail: Addressing,
        *,
        nothing_new_note: bool = False,
        batch: int = BATCH,
        workers: int | None = None,
        start_method: str | None = None,
        kept: KeptPool | None = None,
        plain: ComposerSettings | None = None,
    ) -> None:
        self.engine = engine
        self.ranker = ranker
        self.space = space
        self.templates = templates
        self.mail = mail
        self.nothing_new_note = nothing_new_note
        self.batch = batch
        self.workers = workers
        self.start_method = start_method
        self.kept = kept if kept is not None else KeptPool()
        self.plain = plain
        self._sessions = database.make_sessionmaker(engine)
        self._reading_sessions = database.make_reading_sessionmaker(engine)

    @classmethod
    def from_settings(cls, plain: ComposerSettings, now: datetime) -> Composer:
        """A composer of its own over the same database, composing at ``now``: a spawned
        worker's."""
        ranker = Ranker(plain.embedding_model)
        engine = database.make_engine(plain.database_url)
        with database.make_sessionmaker(engine)() as session, session.begin():
            space = ranker.space(session, now)
        signer = links.Signer(plain.secret, clock=lambda: now)
        templates = render.Templates(resources.templates_dir())
        return cls.signing(plain, engine, ranker, space, templates, signer)

    @classmethod
    def signing(
        cls,
        plain: ComposerSettings,
        engine: Engine,
        ranker: Ranker,
        space: model.FeatureSpace,
        templates: render.Templates,
        signer: links.Signer,
        *,
        batch: int = BATCH,
        workers: int | None = None,
        start_method: str | None = None,
        kept: KeptPool | None = None,
    ) -> Composer:
        """A composer addressing its mail as ``plain`` says, its links signed by ``signer``."""
        return cls(
            engine,
            ranker,
            space,
            templates,
            Addressing(plain.mail_from, plain.base_url, signer),
            nothing_new_note=plain.nothing_new_note,
            batch=batch,
            workers=workers,
            start_method=start_method,
            kept=kept,
            plain=plain,
        )

    def composing(
        self,
        subscribers: list[tuple[int, str]],
        now: datetime,
        slot: str | None = None,
        dry_run: bool = False,
    ) -> Iterator[list[ComposeOutcome]]:
        """Compose the due digests of ``subscribers`` (id, address), yielding each batch's
        outcomes in order; ``dry_run`` rolls back.

        Each batch is recorded in one transaction; when another sender recorded one of its
        digests first, it is composed again one subscriber at a time. A digest another
        process recorded first is reported, not duplicated.
        """
        batches = _chunked(subscribers, self.batch)
        workers = self.workers
        if workers is None:
            workers = (os.cpu_count() or 1) if len(batches) >= WORKERS_FROM else 1
        workers = max(1, min(workers, len(batches)))
        pool = self.pool(now)  # embeds what workers would each
        if workers == 1:
            for batch in batches:
                yield self.compose(batch, pool, now, slot, dry_run)
            return
        method = worker_start_method(self.start_method)
        if method == "fork":
            # what every worker needs is computed once, here, and inherited
            with self._reading_sessions() as session:
                pool.precompute(self.ranker, session, self.space)
            initializer, initargs = _adopt_worker, (self,)
        else:
            assert self.plain is not None, "spawned workers need plain settings"
            initializer, initargs = _start_worker, (self.plain, now)
        executor = ProcessPoolExecutor(
            workers,
            mp_context=multiprocessing.get_context(method),
            initializer=initializer,
            initargs=initargs,
        )
        try:
            yield from executor.map(
                _compose_in_worker,
                batches,
                itertools.repeat(now),
                itertools.repeat(slot),
                itertools.repeat(dry_run),
            )
        finally:
            executor.shutdown(cancel_futures=True)

    def pool(self, now: datetime) -> PaperPool:
        """The papers a digest may show at ``now``, embedded and their words counted; the kept
        pool while none of its papers changes."""
        since = now - FIRST_DIGEST_LOOKBACK
        with self._sessions() as session:
            pool = self.kept.current(session, since)
            if pool is not None:
                return pool
            pool = PaperPool(session, since)
        texts = [(p.title, p.abstract) for p in pool.papers]
        self.ranker.embed_missing(self._sessions, self.space, texts)
        self.ranker.count_missing(self._sessions, self.space, texts)
        self.kept.pool = pool
        return pool

    def compose(
        self,
        subscribers: list[tuple[int, str]],
        pool: PaperPool,
        now: datetime,
        slot: str | None,
        dry_run: bool,
    ) -> list[ComposeOutcome]:
        """Compose and record the digests of one batch of ``subscribers`` (id, address)."""
        done = self._compose_batch(subscribers, pool, now, slot, dry_run)
        if done is not None:
            return done
        # another sender recorded one of them first: one at a time
        return [
            outcome
            for one in subscribers
            for outcome in self._compose_batch([one], pool, now, slot, dry_run) or []
        ]

    def _compose_batch(
        self,
        subscribers: list[tuple[int, str]],
        pool: PaperPool,
        now: datetime,
        slot: str | None,
        dry_run: bool,
    ) -> list[ComposeOutcome] | None:
        """Compose the digests of ``subscribers`` (id, address) and record them in one
        transaction.

        ``None`` when another sender recorded one of several digests first (the recording
        rolled back), or when SQLite refused a write made while reading; for one subscriber,
        another sender's digest is its outcome.
        """
        record = self._record_one if len(subscribers) == 1 else self._record_many
        try:
            planned, recorded, outcomes = record(subscribers, pool, now, slot, dry_run)
        except IntegrityError:
            if len(subscribers) > 1:
                return None
            return [ComposeOutcome(subscribers[0][1], "already recorded")]
        except OperationalError:
            # SQLite: a write while reading (an embedding not stored yet) met another writer.
            if len(subscribers) > 1:
                return None
            raise
        addresses = dict(subscribers)
        for p, digest_id in zip(planned, recorded, strict=True):
            outcomes[p.subscriber_id] = ComposeOutcome(
                addresses[p.subscriber_id],
                "recorded",
                digest_id,
                len(p.lines),
                p.subject,
                p.message,
            )
        return [
            outcomes.get(subscriber_id) or ComposeOutcome(address, "nothing new")
            for subscriber_id, address in subscribers
        ]

    def _record_one(
        self,
        subscribers: list[tuple[int, str]],
        pool: PaperPool,
        now: datetime,
        slot: str | None,
        dry_run: bool,
    ) -> tuple[list[digest_store.NewDigest], list[int], dict[int, ComposeOutcome]]:
        """One subscriber's digest, chosen and recorded under the lock, so that of two
        senders the second sees what the first recorded: what was recorded, and the outcome
        of a subscriber who had none to record."""
        with self._sessions() as session, session.begin():
            due, outcomes = self._due(session, subscribers, slot)
            models = self._models(session, due, pool, now)
            planned = self._plan(session, due, models, pool, now, slot)
            recorded = digest_store.record_digests(session, planned, now)
            if dry_run:
                session.rollback()
        return planned, recorded, outcomes

    def _record_many(
        self,
        subscribers: list[tuple[int, str]],
        pool: PaperPool,
        now: datetime,
        slot: str | None,
        dry_run: bool,
    ) -> tuple[list[digest_store.NewDigest], list[int], dict[int, ComposeOutcome]]:
        """Many subscribers' digests: stale models retrained and stored; the digests chosen
        and rendered without holding a lock; then recorded in a short transaction.

        Two senders of one digest collide on its slot or its papers (IntegrityError); and a
        digest another sender recorded meanwhile (seen under the lock: its latest digest
        changed) wins, even where the two chose different papers.
        """
        ids = [subscriber_id for subscriber_id, _ in subscribers]
        with self._sessions() as session, session.begin():
            due, outcomes = self._due(session, subscribers, slot)
            models = self._models(session, due, pool, now)
            seen = digest_store.last_digest_times(session, ids)
        with self._reading_sessions() as session:
            planned = self._plan(session, due, models, pool, now, slot)
            session.rollback()
        with self._sessions() as session, session.begin():
            still_due, now_others = self._due(session, subscribers, slot)
            outcomes.update(now_others)
            still = {s.id for s in still_due}
            latest = digest_store.last_digest_times(session, ids)
            addresses = dict(subscribers)
            for subscriber_id in still:
                if latest.get(subscriber_id) != seen.get(subscriber_id):
                    outcomes[subscriber_id] = ComposeOutcome(
                        addresses[subscriber_id], "already recorded"
                    )
            planned = [
                p for p in planned if p.subscriber_id in still and p.subscriber_id not in outcomes
            ]
            recorded = digest_store.record_digests(session, planned, now)
            if dry_run:
                session.rollback()
        return planned, recorded, outcomes

    def _due(
        self, session: Session, subscribers: list[tuple[int, str]], slot: str | None
    ) -> tuple[list[Subscriber], dict[int, ComposeOutcome]]:
        """Of ``subscribers``, locked, those still subscribed and not paused whose digest (of
        ``slot``) is not recorded; and the outcomes of the others."""
        ids = [subscriber_id for subscriber_id, _ in subscribers]
        # On PostgreSQL, row locks (taken in id order): two senders record in turn.
        active = {s.id: s for s in subscriber_store.lock_subscribers(session, ids) if s.active}
        taken = digest_store.taken_slots(session, ids, [slot]) if slot else set()
        due: list[Subscriber] = []
        others: dict[int, ComposeOutcome] = {}
        for subscriber_id, address in subscribers:
            if subscriber_id not in active:
                others[subscriber_id] = ComposeOutcome(address, "unsubscribed")
            elif active[subscriber_id].paused:  # a job run before the scheduler heard of it
                others[subscriber_id] = ComposeOutcome(address, "paused")
            elif (subscriber_id, slot) in taken:
                others[subscriber_id] = ComposeOutcome(address, "already recorded")
            else:
                due.append(active[subscriber_id])
        return due, others

    def _models(
        self, session: Session, due: list[Subscriber], pool: PaperPool, now: datetime
    ) -> list[model.UserModel]:
        """The models of ``due`` (stale ones retrained and stored); none for an empty pool."""
        if not pool.papers:
            return []
        return self.ranker.models_for(self.ranker.scope(session, self.space), due, now)

    def _plan(
        self,
        session: Session,
        due: list[Subscriber],
        models: list[model.UserModel],
        pool: PaperPool,
        now: datetime,
        slot: str | None,
    ) -> list[digest_store.NewDigest]:
        return planning.plan(
            session,
            self.ranker,
            self.space,
            due,
            models,
            pool,
            now,
            self.mail,
            self.templates,
            slot=slot,
            nothing_new_note=self.nothing_new_note,
        )


# The composer of this worker process.
_worker: Composer | None = None


def _start_worker(plain: ComposerSettings, now: datetime) -> None:
    """A spawned worker: a composer of its own over the same database, at ``now``."""
    global _worker
    _worker = Composer.from_settings(plain, now)


def _adopt_worker(parent: Composer) -> None:
    """A forked worker: the parent's composer, with connections of its own."""
    global _worker
    parent.engine.dispose(close=False)  # the parent's pooled connections stay the parent's
    _worker = parent


def _compose_in_worker(
    subscribers: list[tuple[int, str]], now: datetime, slot: str | None, dry_run: bool
) -> list[ComposeOutcome]:
    composer = _worker
    assert composer is not None, "not a composing worker"
    return composer.compose(subscribers, composer.pool(now), now, slot, dry_run)


_T = TypeVar("_T")


def _chunked(items: list[_T], size: int) -> list[list[_T]]:
    """``items`` cut into consecutive lists of ``size`` (the last one may be shorter)."""
    return [items[start : start + size] for start in range(0, len(items), size)]
