"""Named interests, followed authors, must-not words, and what each digest paper served.

A profile may now list named interests (``[[interest]]`` tables, each with a share of the
digest), authors to follow and must-not words: ``subscribers.topics``, ``.authors`` and
``.must_not`` hold them; the old ``interests`` and ``liked`` columns keep their meaning (the
profile's unnamed interest). Following an author needs papers' author names, which sources
give but only their count was kept: ``papers.author_names`` (null where unknown, as for dump
files, which list a count only). ``digest_papers.interest`` names the interest a paper was
sent for, so that a rating of it teaches that interest.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

EMPTY_LIST = sa.text("'[]'")


def upgrade() -> None:
    for column in ("topics", "authors", "must_not"):
        op.add_column(
            "subscribers",
            sa.Column(column, sa.JSON(), nullable=False, server_default=EMPTY_LIST),
        )
    op.add_column("papers", sa.Column("author_names", sa.JSON(), nullable=True))
    op.add_column("digest_papers", sa.Column("interest", sa.String(100), nullable=True))


def downgrade() -> None:
    op.drop_column("digest_papers", "interest")
    op.drop_column("papers", "author_names")
    for column in ("must_not", "authors", "topics"):
        op.drop_column("subscribers", column)
