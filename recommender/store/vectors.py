"""Store what ranking keeps between runs: feature spaces, embeddings, word counts and
subscribers' models.

Every function takes an open :class:`~sqlalchemy.orm.Session`; the caller owns the transaction.
Numbers cross this boundary as plain bytes (little-endian float32; word counts as
:func:`recommender.features.counts_to_bytes` writes them); turning them into vectors and models
is :mod:`recommender.model`'s business.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import InstrumentedAttribute, Session

from recommender.store.models import (
    Rating,
    StoredEmbedding,
    StoredFeatureSpace,
    StoredUserModel,
    StoredWordCounts,
)


def current_space(session: Session) -> dict[str, Any] | None:
    """The current feature space's definition (``FeatureSpace.to_dict()``), if there is one."""
    stored = session.scalar(select(StoredFeatureSpace).where(StoredFeatureSpace.current))
    return None if stored is None else json.loads(stored.definition)


def current_space_id(session: Session) -> str | None:
    """The current feature space's id (cheap: its definition is not read)."""
    return session.scalar(select(StoredFeatureSpace.id).where(StoredFeatureSpace.current))


def make_current_space(
    session: Session, definition: Mapping[str, Any], now: datetime, papers: int
) -> None:
    """Store a feature space and make it the current one (the previous one is kept)."""
    session.execute(update(StoredFeatureSpace).values(current=False))
    stored = session.get(StoredFeatureSpace, definition["id"])
    if stored is None:
        session.add(
            StoredFeatureSpace(
                id=definition["id"],
                definition=json.dumps(dict(definition)),
                current=True,
                created_at=now,
                papers_at_creation=papers,
            )
        )
    else:
        stored.current = True


def embeddings(session: Session, model: str, text_hashes: Iterable[str]) -> dict[str, bytes]:
    """The stored embeddings of those texts under ``model``, by text hash."""
    return _by_text(session, StoredEmbedding.model, model, StoredEmbedding.vector, text_hashes)


def add_embeddings(session: Session, model: str, vectors: Mapping[str, bytes]) -> None:
    """Store embeddings; one another process stored meanwhile is kept, not an error."""
    _add(session, StoredEmbedding, "model", model, "vector", vectors)


def word_counts(session: Session, block: str, text_hashes: Iterable[str]) -> dict[str, bytes]:
    """The kept word counts of those texts under ``block`` (a space's ``counts_key``), by text
    hash."""
    return _by_text(session, StoredWordCounts.block, block, StoredWordCounts.counts, text_hashes)


def add_word_counts(session: Session, block: str, counts: Mapping[str, bytes]) -> None:
    """Keep word counts; those another process kept meanwhile stay, not an error."""
    _add(session, StoredWordCounts, "block", block, "counts", counts)


def _by_text(
    session: Session,
    key_column: InstrumentedAttribute[str],
    key: str,
    value_column: InstrumentedAttribute[bytes],
    text_hashes: Iterable[str],
) -> dict[str, bytes]:
    """The values kept by text hash under ``key`` in the table of ``key_column``."""
    text_column = key_column.class_.text_hash
    wanted = list(dict.fromkeys(text_hashes))
    found: dict[str, bytes] = {}
    for start in range(0, len(wanted), 500):  # stay under every backend's parameter limit
        chunk = wanted[start : start + 500]
        rows = session.execute(
            select(text_column, value_column).where(key_column == key, text_column.in_(chunk))
        )
        found.update((text_hash, value) for text_hash, value in rows)
    return found


def _add(
    session: Session,
    table: type[StoredEmbedding] | type[StoredWordCounts],
    key_name: str,
    key: str,
    value_name: str,
    values: Mapping[str, bytes],
) -> None:
    if not values:
        return
    rows = [{key_name: key, "text_hash": h, value_name: v} for h, v in values.items()]
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    session.execute(insert(table).on_conflict_do_nothing(), rows)


def rating_count(session: Session, subscriber_id: int) -> int:
    """How many ratings the subscriber ever gave (clears included): a model's staleness mark."""
    return rating_counts(session, [subscriber_id]).get(subscriber_id, 0)


def rating_counts(session: Session, subscriber_ids: Sequence[int]) -> dict[int, int]:
    """:func:`rating_count` of many subscribers at once (those with none are left out)."""
    rows = session.execute(
        select(Rating.subscriber_id, func.count())
        .where(Rating.subscriber_id.in_(subscriber_ids))
        .group_by(Rating.subscriber_id)
    )
    return {subscriber_id: int(count) for subscriber_id, count in rows}


def user_models(session: Session, subscriber_ids: Sequence[int]) -> dict[int, StoredUserModel]:
    """The stored models of many subscribers at once, by subscriber id."""
    rows = session.scalars(
        select(StoredUserModel).where(StoredUserModel.subscriber_id.in_(subscriber_ids))
    )
    return {stored.subscriber_id: stored for stored in rows}


def save_user_model(
    session: Session,
    subscriber_id: int,
    *,
    feature_space_id: str,
    model: bytes,
    ratings_seen: int,
    profile_updated_at: datetime,
    now: datetime,
) -> None:
    """Store a subscriber's freshly trained model in place of the old one: an upsert, so that
    two processes storing the subscriber's first model at once both succeed, the later one's
    kept (each model says by its ``ratings_seen`` how fresh it is)."""
    values = {
        "feature_space_id": feature_space_id,
        "model": model,
        "ratings_seen": ratings_seen,
        "profile_updated_at": profile_updated_at,
        "trained_at": now,
    }
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(StoredUserModel).values(subscriber_id=subscriber_id, **values)
    session.execute(
        statement.on_conflict_do_update(
            index_elements=[StoredUserModel.subscriber_id],
            set_={name: statement.excluded[name] for name in values},
        )
    )
    loaded = session.identity_map.get(session.identity_key(StoredUserModel, subscriber_id))
    if loaded is not None:  # read earlier in this session: read it again when next asked
        session.expire(loaded)
