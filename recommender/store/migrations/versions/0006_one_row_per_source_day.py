"""One dump row per source and day, whatever fetches it at once.

A source's day is recorded as one ``dumps`` row named ``<source> <day>`` and updated in place.
Two fetches of the same day at the same moment (``serve``'s schedule and a ``recommender
fetch`` by hand, or two services on one database) could each find no row and add one; the
unique index makes the second one's transaction fail, and the fetch's retry then merges into
the row the first one added. Dump files (``source = 'dump'``) may share a name and are left
out of the index.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

WHERE = sa.text("source <> 'dump'")


def upgrade() -> None:
    op.create_index(
        "ix_dumps_source_day",
        "dumps",
        ["source", "file_name"],
        unique=True,
        sqlite_where=WHERE,
        postgresql_where=WHERE,
    )


def downgrade() -> None:
    op.drop_index("ix_dumps_source_day", table_name="dumps")
