"""Papers and the dumps they came from.

The first schema: one row per dump file (identified by the hash of its text, so a file is
never ingested twice), one row per paper (identified by its normalized title, so the same
paper in two dumps is one paper), and which dump listed which paper.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dumps",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("file_name", sa.String(500), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("listing_date", sa.Date(), nullable=False),
        sa.Column("year_rule", sa.String(200), nullable=False),
        sa.Column("ingested_at", sa.DateTime(), nullable=False),
        sa.Column("papers_total", sa.Integer(), nullable=False),
        sa.Column("papers_new", sa.Integer(), nullable=False),
        sa.Column("papers_updated", sa.Integer(), nullable=False),
    )
    op.create_table(
        "papers",
        sa.Column("id", sa.String(16), primary_key=True),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("abstract", sa.Text(), nullable=False),
        sa.Column("authors", sa.Integer(), nullable=True),
        sa.Column("published", sa.Date(), nullable=True),
        sa.Column("upvotes", sa.Integer(), nullable=True),
        sa.Column("upvotes_as_of", sa.Date(), nullable=True),
        sa.Column("links", sa.JSON(), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("first_dump_id", sa.Integer(), sa.ForeignKey("dumps.id"), nullable=False),
    )
    op.create_index("ix_papers_first_seen_at", "papers", ["first_seen_at"])
    op.create_table(
        "dump_papers",
        sa.Column("dump_id", sa.Integer(), sa.ForeignKey("dumps.id"), primary_key=True),
        sa.Column("paper_id", sa.String(16), sa.ForeignKey("papers.id"), primary_key=True),
        sa.Column("position", sa.Integer(), nullable=False),
    )
    op.create_index("ix_dump_papers_paper_id", "dump_papers", ["paper_id"])


def downgrade() -> None:
    op.drop_table("dump_papers")
    op.drop_table("papers")
    op.drop_table("dumps")
