"""Store digests: record each one before it is sent, claim it for sending, mark what happened.

Every function takes an open :class:`~sqlalchemy.orm.Session`; the caller owns the transaction.
The state changes are single ``UPDATE ... WHERE state = ...`` statements, so of two senders
racing for one digest exactly one wins the claim, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, func, insert, or_, select, update
from sqlalchemy.orm import Session

from recommender.errors import NotFound
from recommender.store.models import Digest, DigestPaper, Paper, Subscriber

RETRYABLE = ("pending", "failed")
NOT_SENT = ("pending", "sending", "failed", "undeliverable", "unconfirmed")


class DigestNotFound(NotFound):
    """No digest has that id."""

    def __init__(self, digest_id: int) -> None:
        super().__init__(f"there is no digest {digest_id}")


@dataclass(frozen=True)
class DigestLine:
    """One paper of a digest as recorded."""

    paper_id: str
    score: float
    reason: str
    exploration: bool
    interest: str | None = None  # the named interest it was sent for


def shown_interests(session: Session, subscriber_ids: Sequence[int]) -> dict[int, dict[str, str]]:
    """For each subscriber, the named interest each paper was sent for (papers sent for none
    left out): a rating of the paper teaches that interest."""
    if not subscriber_ids:
        return {}
    rows = session.execute(
        select(DigestPaper.subscriber_id, DigestPaper.paper_id, DigestPaper.interest).where(
            DigestPaper.subscriber_id.in_(subscriber_ids), DigestPaper.interest.is_not(None)
        )
    )
    found: dict[int, dict[str, str]] = {}
    for subscriber_id, paper_id, interest in rows:
        found.setdefault(subscriber_id, {})[paper_id] = interest
    return found


def last_digest_times(session: Session, subscriber_ids: Sequence[int]) -> dict[int, datetime]:
    """When each subscriber's latest digest (with papers) was recorded; none: left out."""
    rows = session.execute(
        select(Digest.subscriber_id, func.max(Digest.created_at))
        .where(Digest.subscriber_id.in_(subscriber_ids), Digest.kind == "digest")
        .group_by(Digest.subscriber_id)
    )
    return {subscriber_id: at for subscriber_id, at in rows}


def sent_papers(
    session: Session, subscriber_ids: Sequence[int], since: datetime
) -> dict[int, set[str]]:
    """The papers that arrived after ``since`` and that a digest already carried to each
    subscriber (recorded, whatever its state)."""
    rows = session.execute(
        select(DigestPaper.subscriber_id, DigestPaper.paper_id)
        .join(Paper, Paper.id == DigestPaper.paper_id)
        .where(DigestPaper.subscriber_id.in_(subscriber_ids), Paper.first_seen_at > since)
    )
    found: dict[int, set[str]] = {}
    for subscriber_id, paper_id in rows:
        found.setdefault(subscriber_id, set()).add(paper_id)
    return found


def taken_slots(
    session: Session, subscriber_ids: Sequence[int], slots: Sequence[str]
) -> set[tuple[int, str]]:
    """The ``(subscriber id, slot)`` pairs among these that a recorded digest has."""
    rows = session.execute(
        select(Digest.subscriber_id, Digest.slot).where(
            Digest.subscriber_id.in_(subscriber_ids), Digest.slot.in_(set(slots))
        )
    )
    return {(subscriber_id, slot) for subscriber_id, slot in rows}


@dataclass(frozen=True)
class NewDigest:
    """A digest to record, with its exact message."""

    subscriber_id: int
    kind: str  # digest or nothing_new
    slot: str | None
    message_id: str
    lines: Sequence[DigestLine]
    subject: str
    message: bytes


def record_digests(session: Session, digests: Sequence[NewDigest], now: datetime) -> list[int]:
    """Record digests, ready to send, with their papers; return their ids.

    Raises :class:`sqlalchemy.exc.IntegrityError` if another sender recorded the same slot or
    one of these papers for one of these subscribers first.
    """
    if not digests:
        return []
    rows = [
        {
            "subscriber_id": d.subscriber_id,
            "kind": d.kind,
            "slot": d.slot,
            "state": "pending",
            "attempts": 0,
            "created_at": now,
            "claimed_at": None,
            "next_attempt_at": now,
            "sent_at": None,
            "last_error": None,
            "message_id": d.message_id,
            "subject": d.subject,
            "message": d.message,
        }
        for d in digests
    ]
    ids = list(
        session.scalars(insert(Digest).returning(Digest.id, sort_by_parameter_order=True), rows)
    )
    lines = [
        {
            "digest_id": digest_id,
            "paper_id": line.paper_id,
            "subscriber_id": d.subscriber_id,
            "position": position,
            "score": line.score,
            "reason": line.reason,
            "exploration": line.exploration,
            "interest": line.interest,
        }
        for digest_id, d in zip(ids, digests, strict=True)
        for position, line in enumerate(d.lines)
    ]
    if lines:
        session.execute(insert(DigestPaper), lines)
    return ids


def due_ids(session: Session, now: datetime, subscriber_id: int | None = None) -> list[int]:
    """Digests to try now: never tried, or failed and past their retry time; oldest first."""
    statement = select(Digest.id).where(
        Digest.state.in_(RETRYABLE),
        or_(Digest.next_attempt_at.is_(None), Digest.next_attempt_at <= now),
    )
    if subscriber_id is not None:
        statement = statement.where(Digest.subscriber_id == subscriber_id)
    return list(session.scalars(statement.order_by(Digest.created_at, Digest.id)))


@dataclass(frozen=True)
class Claimed:
    """A digest taken for sending, with what its delivery needs."""

    id: int
    address: str
    subject: str
    message: bytes
    attempts: int  # counting this one


_TABLE = Digest.__table__
_CLAIM = (
    update(_TABLE)
    .where(
        _TABLE.c.id == bindparam("digest_id"),
        _TABLE.c.state.in_(RETRYABLE),
        or_(_TABLE.c.next_attempt_at.is_(None), _TABLE.c.next_attempt_at <= bindparam("now")),
    )
    .values(state="sending", claimed_at=bindparam("now"), attempts=_TABLE.c.attempts + 1)
    .returning(
        _TABLE.c.id,
        select(Subscriber.email).where(Subscriber.id == _TABLE.c.subscriber_id).scalar_subquery(),
        _TABLE.c.subject,
        _TABLE.c.message,
        _TABLE.c.attempts,
    )
)


def claim(session: Session, digest_id: int, now: datetime) -> Claimed | None:
    """Take this digest for sending if it is still due; ``None`` if it is not (another sender
    took it, say).

    One ``UPDATE ... WHERE id = ... AND state IN (retryable) ... RETURNING``: of two senders
    racing, the digest goes to exactly one (PostgreSQL checks the condition again on a row
    another transaction changed; SQLite writers take turns), and ``RETURNING`` says whether
    this sender won. The statement is built once: a sender claims each digest on its own.
    """
    row = session.execute(_CLAIM, {"digest_id": digest_id, "now": now}).one_or_none()
    return None if row is None else Claimed(*row)


@dataclass(frozen=True)
class Outcome:
    """How the delivery of a claimed digest ended."""

    digest_id: int
    attempt: int  # the claim's (:attr:`Claimed.attempts`)
    state: str  # sent, failed or undeliverable
    error: str | None = None
    retry_at: datetime | None = None


# A claim is known by its digest and attempt: a sender that overran its lease (its digest
# flagged ``unconfirmed``, then resent on request) cannot overwrite the newer claim's outcome.
_THIS_CLAIM = (
    _TABLE.c.id == bindparam("digest_id"),
    _TABLE.c.attempts == bindparam("attempt"),
    _TABLE.c.state == "sending",
)
_MARK = (
    update(_TABLE)
    .where(*_THIS_CLAIM)
    .values(
        state=bindparam("outcome"),
        last_error=bindparam("error"),
        next_attempt_at=bindparam("retry_at"),
        sent_at=func.coalesce(bindparam("sent_now", type_=_TABLE.c.sent_at.type), _TABLE.c.sent_at),
    )
)


def mark(session: Session, outcomes: Sequence[Outcome], now: datetime) -> None:
    """Record the outcomes of claimed digests' deliveries, in one ``executemany``."""
    if not outcomes:
        return
    session.execute(
        _MARK,
        [
            {
                "digest_id": o.digest_id,
                "attempt": o.attempt,
                "outcome": o.state,
                "error": o.error,
                "retry_at": o.retry_at,
                "sent_now": now if o.state == "sent" else None,
            }
            for o in outcomes
        ],
    )


_RELEASE = (
    update(_TABLE).where(*_THIS_CLAIM).values(state="pending", attempts=_TABLE.c.attempts - 1)
)


def release(session: Session, untried: Sequence[Claimed]) -> None:
    """Give back claimed digests that were never handed to the mail server: due again at
    once, and this attempt not counted."""
    if untried:
        session.execute(_RELEASE, [{"digest_id": c.id, "attempt": c.attempts} for c in untried])


def flag_interrupted(session: Session, now: datetime, lease: timedelta) -> int:
    """Mark digests whose sender stopped mid-delivery as ``unconfirmed``; return how many.

    Such a digest may or may not have reached the mail server, so it is not resent on its own:
    the outbox shows it and ``resend`` sends it again on request.
    """
    result = session.execute(
        update(Digest)
        .where(Digest.state == "sending", Digest.claimed_at < now - lease)
        .values(
            state="unconfirmed",
            last_error="the sender stopped during delivery; it may not have arrived",
        )
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def waiting(
    session: Session, now: datetime, subscriber_id: int | None = None
) -> tuple[int, datetime | None]:
    """How many digests wait to be tried again later (failed, not due yet), and when the
    first of them is due."""
    statement = select(func.count(), func.min(Digest.next_attempt_at)).where(
        Digest.state.in_(RETRYABLE), Digest.next_attempt_at > now
    )
    if subscriber_id is not None:
        statement = statement.where(Digest.subscriber_id == subscriber_id)
    count, first = session.execute(statement).one()
    return int(count), first


def resend(session: Session, digest_id: int, now: datetime) -> bool:
    """Queue a digest that was not sent (or may not have been) for sending again; False if it
    is in another state. Raises :class:`DigestNotFound`."""
    result = session.execute(
        update(Digest)
        .where(
            Digest.id == digest_id,
            Digest.state.in_(("failed", "undeliverable", "unconfirmed")),
        )
        .values(state="pending", next_attempt_at=now)
        .execution_options(synchronize_session=False)
    )
    if int(result.rowcount) == 1:  # type: ignore[attr-defined]
        return True
    if session.get(Digest, digest_id) is None:
        raise DigestNotFound(digest_id)
    return False


def outbox(
    session: Session, *, include_sent: bool = False, digest_id: int | None = None
) -> list[tuple[Digest, str]]:
    """Digests not (known to be) sent, or every one (``include_sent``), or the one with
    ``digest_id``; with the subscriber's email, oldest first."""
    statement = select(Digest, Subscriber.email).join(
        Subscriber, Subscriber.id == Digest.subscriber_id
    )
    if digest_id is not None:
        statement = statement.where(Digest.id == digest_id)
    elif not include_sent:
        statement = statement.where(Digest.state != "sent")
    rows = session.execute(statement.order_by(Digest.created_at, Digest.id))
    return [(digest, email) for digest, email in rows]


def get_digest(session: Session, message_id: str) -> Digest | None:
    """The digest with this Message-ID."""
    return session.scalar(select(Digest).where(Digest.message_id == message_id))


def count_by_state(session: Session) -> dict[str, int]:
    rows = session.execute(select(Digest.state, func.count()).group_by(Digest.state))
    return {state: int(n) for state, n in rows}
