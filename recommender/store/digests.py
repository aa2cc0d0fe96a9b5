"""Store digests: record each one before it is sent, claim it for sending, mark what happened.

Every function takes an open :class:`~sqlalchemy.orm.Session`; the caller owns the transaction.
The state changes are single ``UPDATE ... WHERE state = ...`` statements, so of two senders
racing for one digest exactly one wins the claim, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from recommender.store.models import Digest, DigestPaper, Paper, Subscriber

RETRYABLE = ("pending", "failed")
NOT_SENT = ("pending", "sending", "failed", "undeliverable", "unconfirmed")


@dataclass(frozen=True)
class DigestLine:
    """One paper of a digest as recorded."""

    paper_id: str
    score: float
    reason: str
    exploration: bool


def last_digest_at(session: Session, subscriber_id: int) -> datetime | None:
    """When the subscriber's latest digest (with papers) was recorded."""
    return session.scalar(
        select(func.max(Digest.created_at)).where(
            Digest.subscriber_id == subscriber_id, Digest.kind == "digest"
        )
    )


def sent_paper_ids(session: Session, subscriber_id: int) -> set[str]:
    """Every paper a digest ever carried to the subscriber (recorded, whatever its state)."""
    rows = session.scalars(
        select(DigestPaper.paper_id).where(DigestPaper.subscriber_id == subscriber_id)
    )
    return set(rows)


def has_slot(session: Session, subscriber_id: int, slot: str) -> bool:
    found = session.scalar(
        select(Digest.id).where(Digest.subscriber_id == subscriber_id, Digest.slot == slot)
    )
    return found is not None


def record_digest(
    session: Session,
    subscriber: Subscriber,
    *,
    kind: str,
    slot: str | None,
    message_id: str,
    subject: str,
    message: bytes,
    lines: Sequence[DigestLine],
    now: datetime,
) -> Digest:
    """Record a digest, ready to send, with its papers.

    Raises :class:`sqlalchemy.exc.IntegrityError` (at flush) if another sender recorded the
    same slot or one of these papers for this subscriber first.
    """
    digest = Digest(
        subscriber_id=subscriber.id,
        kind=kind,
        slot=slot,
        state="pending",
        attempts=0,
        created_at=now,
        claimed_at=None,
        next_attempt_at=now,
        sent_at=None,
        last_error=None,
        message_id=message_id,
        subject=subject,
        message=message,
    )
    session.add(digest)
    session.flush()
    session.add_all(
        DigestPaper(
            digest_id=digest.id,
            paper_id=line.paper_id,
            subscriber_id=subscriber.id,
            position=position,
            score=line.score,
            reason=line.reason,
            exploration=line.exploration,
        )
        for position, line in enumerate(lines)
    )
    session.flush()
    return digest


def due_ids(session: Session, now: datetime, subscriber_id: int | None = None) -> list[int]:
    """Digests to try now: never tried, or failed and past their retry time; oldest first."""
    statement = select(Digest.id).where(
        Digest.state.in_(RETRYABLE),
        or_(Digest.next_attempt_at.is_(None), Digest.next_attempt_at <= now),
    )
    if subscriber_id is not None:
        statement = statement.where(Digest.subscriber_id == subscriber_id)
    return list(session.scalars(statement.order_by(Digest.created_at, Digest.id)))


def claim(session: Session, digest_id: int, now: datetime) -> Digest | None:
    """Take a due digest for sending; ``None`` if another sender has it or it is not due."""
    result = session.execute(
        update(Digest)
        .where(
            Digest.id == digest_id,
            Digest.state.in_(RETRYABLE),
            or_(Digest.next_attempt_at.is_(None), Digest.next_attempt_at <= now),
        )
        .values(state="sending", claimed_at=now, attempts=Digest.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return None
    return session.get(Digest, digest_id, populate_existing=True)


def mark(
    session: Session,
    digest_id: int,
    state: str,
    now: datetime,
    *,
    error: str | None = None,
    retry_at: datetime | None = None,
) -> None:
    """Record the outcome of a claimed digest's delivery."""
    values: dict[str, object] = {"state": state, "last_error": error, "next_attempt_at": retry_at}
    if state == "sent":
        values["sent_at"] = now
    session.execute(
        update(Digest)
        .where(Digest.id == digest_id, Digest.state == "sending")
        .values(**values)
        .execution_options(synchronize_session=False)
    )


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


def resend(session: Session, digest_id: int, now: datetime) -> bool:
    """Queue a digest that was not sent (or may not have been) for sending again."""
    result = session.execute(
        update(Digest)
        .where(
            Digest.id == digest_id,
            Digest.state.in_(("failed", "undeliverable", "unconfirmed")),
        )
        .values(state="pending", next_attempt_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount) == 1  # type: ignore[attr-defined]


def outbox(session: Session) -> list[tuple[Digest, str]]:
    """Digests not (known to be) sent, with the subscriber's email, oldest first."""
    rows = session.execute(
        select(Digest, Subscriber.email)
        .join(Subscriber, Subscriber.id == Digest.subscriber_id)
        .where(Digest.state != "sent")
        .order_by(Digest.created_at, Digest.id)
    )
    return [(digest, email) for digest, email in rows]


def get_digest(session: Session, digest_id: int) -> Digest | None:
    return session.get(Digest, digest_id)


def digest_papers(session: Session, digest_id: int) -> list[tuple[DigestPaper, Paper]]:
    rows = session.execute(
        select(DigestPaper, Paper)
        .join(Paper, Paper.id == DigestPaper.paper_id)
        .where(DigestPaper.digest_id == digest_id)
        .order_by(DigestPaper.position)
    )
    return [(line, paper) for line, paper in rows]


def count_by_state(session: Session) -> dict[str, int]:
    rows = session.execute(select(Digest.state, func.count()).group_by(Digest.state))
    return {state: int(n) for state, n in rows}
