"""Keep each paper's hashed word counts, as its embedding is kept.

Ranking a catalogue needs every paper's word vector, and counting a paper's words (its
words, phrases and their parts, hashed) takes about half a millisecond: seconds for each
`recommend` of a catalogue of thousands, in every new process. The counts are kept by text,
under the word block and a digest of how they were counted (``FeatureSpace.counts_key``),
so that a space refitted on a grown catalogue reads them again and a change to how words
are counted counts them afresh. Nothing needs filling in: a paper's counts are kept the
first time a digest or `recommend` ranks it.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "word_counts",
        sa.Column("block", sa.String(64), primary_key=True),
        sa.Column("text_hash", sa.String(64), primary_key=True),
        sa.Column("counts", sa.LargeBinary(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("word_counts")
