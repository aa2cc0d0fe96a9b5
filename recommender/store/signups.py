"""Store sign-ups from the web form: the pending ones, and the recent ones the limits count.

Every function takes an open :class:`~sqlalchemy.orm.Session`; the caller owns the transaction.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select, text
from sqlalchemy.orm import Session

from recommender.store.models import Signup

# The PostgreSQL advisory lock sign-up transactions take turns on (any number of our own).
_LOCK_KEY = 0x5167_7570  # "Sigup"


def take_turns(session: Session) -> None:
    """Make this transaction the only one changing sign-ups until it ends, in every process.

    Counting the recent sign-ups and adding one must not interleave with another process
    doing the same, or both pass a limit each of them was one short of. On SQLite every
    writing transaction already takes the database's write lock first (``BEGIN IMMEDIATE``,
    :mod:`recommender.store.database`); PostgreSQL takes a transaction-level advisory lock.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})


def times_since(
    session: Session, *, since: datetime, email: str | None = None, client: str | None = None
) -> list[datetime]:
    """When the sign-ups of ``email`` (or of ``client``) after ``since`` were made, oldest
    first."""
    query = select(Signup.created_at).where(Signup.created_at > since)
    if email is not None:
        query = query.where(Signup.email == email)
    if client is not None:
        query = query.where(Signup.client == client)
    return list(session.scalars(query.order_by(Signup.created_at)))


def add(
    session: Session,
    email: str,
    name: str,
    interests: list[str],
    client: str,
    now: datetime,
    liked: list[str] | None = None,
) -> Signup:
    signup = Signup(
        email=email,
        name=name,
        interests=interests,
        liked=liked or [],
        client=client,
        created_at=now,
    )
    session.add(signup)
    session.flush()  # its id goes into the link
    return signup


def prune(session: Session, before: datetime) -> int:
    """Forget the sign-ups made before ``before``; return how many."""
    result = session.execute(delete(Signup).where(Signup.created_at < before))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def get(session: Session, signup_id: int, email: str, *, lock: bool = False) -> Signup | None:
    """The sign-up ``signup_id`` if it is ``email``'s (row-locked with ``lock``)."""
    query = select(Signup).where(Signup.id == signup_id, Signup.email == email)
    return session.scalar(query.with_for_update() if lock else query)
