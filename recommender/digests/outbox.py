"""The outbox: recorded digests handed to the mail server, each sent once or never lost.

Each digest is claimed (state ``sending``, committed) just before it is handed to the mail
server, and its outcome is recorded the moment the server answers, in the same short
transaction that claims the next one. So a sender that dies leaves ``sending`` only the digest
each connection was handing over: after :data:`SENDING_LEASE` it is flagged ``unconfirmed``
instead of being sent again, and every other digest is either recorded as what it is or still
due. A sender stopped by an exception gives back the digest it had claimed and not yet handed
over.

The rows are :mod:`recommender.store.digests`' business; what state an attempt leaves a digest
in is :func:`recommender.mailer.after_attempt`'s; composing digests is
:mod:`recommender.digests.composer`'s.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from recommender import mailer
from recommender.results import DeliveryOutcome, OutboxEntry
from recommender.store import digests as digest_store
from recommender.store.digests import DigestNotFound

# A digest claimed for sending longer ago than this was interrupted (an SMTP conversation
# times out long before).
SENDING_LEASE = timedelta(minutes=10)


class Outbox:
    """The recorded digests of one database, and their delivery.

    ``transport`` makes a transport: one per connection. ``connections``: how many
    connections digests may share (each in a thread of its own: one connection spends most of
    its time waiting for the server's replies).
    """

    def __init__(
        self,
        sessions: Callable[[], Session],
        clock: Callable[[], datetime],
        transport: Callable[[], mailer.Transport],
        *,
        connections: int = 1,
        lease: timedelta = SENDING_LEASE,
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._transport = transport
        self._connections = connections
        self._lease = lease

    def entries(self, *, include_sent: bool = False) -> list[OutboxEntry]:
        """Digests not (known to be) sent: pending, failed, undeliverable or unconfirmed; or
        every digest (``include_sent``)."""
        with self._sessions() as session, session.begin():
            digest_store.flag_interrupted(session, self._clock(), self._lease)
            found = digest_store.outbox(session, include_sent=include_sent)
            return [OutboxEntry.of(d, address) for d, address in found]

    def entry(self, digest_id: int) -> OutboxEntry:
        """One digest, whatever its state; raise :class:`DigestNotFound`."""
        with self._sessions() as session:
            found = digest_store.outbox(session, digest_id=digest_id)
            if not found:
                raise DigestNotFound(digest_id)
            return OutboxEntry.of(*found[0])

    def resend(self, digest_id: int) -> bool:
        """Queue a failed, undeliverable or unconfirmed digest to be sent again; False if it
        is in another state. Raise :class:`DigestNotFound`."""
        with self._sessions() as session, session.begin():
            return digest_store.resend(session, digest_id, self._clock())

    def waiting(self, subscriber_id: int | None = None) -> tuple[int, datetime | None]:
        """How many digests (of one subscriber, or everyone's) wait to be tried again later,
        and when the first of them is due."""
        with self._sessions() as session:
            return digest_store.waiting(session, self._clock(), subscriber_id)

    def deliver(
        self,
        subscriber_id: int | None = None,
        *,
        on_digest: Callable[[DeliveryOutcome], None] | None = None,
    ) -> list[DeliveryOutcome]:
        """Send every recorded digest that is due (of one subscriber only, if given)."""
        now = self._clock()
        with self._sessions() as session, session.begin():
            digest_store.flag_interrupted(session, now, self._lease)
            due = digest_store.due_ids(session, now, subscriber_id)
        todo: queue.SimpleQueue[int] = queue.SimpleQueue()  # shared by the connections
        for digest_id in due:
            todo.put(digest_id)
        lanes = max(1, min(self._connections, len(due)))
        if lanes == 1:
            done = self._deliver_lane(self._transport(), todo, threading.Event())
        else:
            done = self._deliver_lanes(todo, lanes)
        outcomes = []
        with contextlib.closing(done):  # on an error here, the lanes stop before going on
            for outcome in done:
                outcomes.append(outcome)
                if on_digest is not None:
                    on_digest(outcome)
        return outcomes

    def _deliver_lanes(self, todo: queue.SimpleQueue[int], lanes: int) -> Iterator[DeliveryOutcome]:
        """Deliver the digests of ``todo`` over ``lanes`` connections, each in a thread of its
        own; yield the outcomes here, as they come. After an error in one lane (or here) the
        others finish the digest they are handing over, and the first error is raised."""
        results: queue.SimpleQueue[DeliveryOutcome | BaseException | None]
        results = queue.SimpleQueue()
        stop = threading.Event()

        def run() -> None:
            try:
                for outcome in self._deliver_lane(self._transport(), todo, stop):
                    results.put(outcome)
            except BaseException as exc:  # handed to the caller's thread
                stop.set()
                results.put(exc)
            finally:
                results.put(None)

        threads = [threading.Thread(target=run, daemon=True) for _ in range(lanes)]
        for thread in threads:
            thread.start()
        error: BaseException | None = None
        try:
            running = len(threads)
            while running:
                item = results.get()
                if item is None:
                    running -= 1
                elif isinstance(item, BaseException):
                    error = error or item
                else:
                    yield item
        finally:
            stop.set()
            for thread in threads:
                thread.join()
        if error is not None:
            raise error

    def _deliver_lane(
        self, transport: mailer.Transport, todo: queue.SimpleQueue[int], stop: threading.Event
    ) -> Iterator[DeliveryOutcome]:
        """Deliver digests from ``todo`` one after another over ``transport`` (one
        connection) until it is empty or ``stop`` is set."""
        batch = getattr(transport, "batch", None)
        with batch() if batch is not None else contextlib.nullcontext():
            claimed = self._settle(None, todo, stop)
            try:
                while claimed is not None:
                    # If handing over fails other than as a delivery error, the digest may
                    # have reached the mail server: it stays ``sending``.
                    handing, claimed = claimed, None
                    outcome = self._deliver_one(transport, handing)
                    claimed = self._settle(outcome, todo, stop)
                    yield outcome
            finally:
                if claimed is not None:  # claimed, never handed over
                    with self._sessions() as session, session.begin():
                        digest_store.release(session, [claimed])

    def _settle(
        self,
        outcome: DeliveryOutcome | None,
        todo: queue.SimpleQueue[int],
        stop: threading.Event,
    ) -> digest_store.Claimed | None:
        """In one transaction, record ``outcome`` and claim the next digest of ``todo`` that is
        still due (none once ``stop`` is set); return the one claimed."""
        with self._sessions() as session, session.begin():
            now = self._clock()
            if outcome is not None:
                digest_store.mark(
                    session,
                    [
                        digest_store.Outcome(
                            outcome.digest_id,
                            outcome.attempts,
                            outcome.state,
                            outcome.error,
                            outcome.retry_at,
                        )
                    ],
                    now,
                )
            while not stop.is_set():
                try:
                    digest_id = todo.get_nowait()
                except queue.Empty:
                    break
                # another sender may have taken it since it was found due
                claimed = digest_store.claim(session, digest_id, now)
                if claimed is not None:
                    return claimed
        return None

    def _deliver_one(
        self, transport: mailer.Transport, digest: digest_store.Claimed
    ) -> DeliveryOutcome:
        error: mailer.DeliveryError | None = None
        where = None
        try:
            where = transport.send(mailer.Outgoing.from_bytes(digest.message))
        except mailer.DeliveryError as exc:  # transient, permanent or unconfirmed
            error = exc
        state, retry = mailer.after_attempt(digest.attempts, self._clock(), error)
        return DeliveryOutcome(
            digest.id,
            digest.address,
            digest.subject,
            state,
            digest.attempts,
            str(error) if error is not None else None,
            retry,
            where,
        )
