"""Papers from sources other than dumps: Hugging Face Daily Papers and arXiv.

A paper fetched from a source often carries its arXiv id, which names it better than a hash of
its title: one paper listed by a dump and by Hugging Face is matched on the id (unique where
known) and kept as one row. Papers gain their Hugging Face page, their code's GitHub stars and
the source's keywords. A day fetched from a source is recorded as a dump row; ``dumps.source``
says which source (``dump`` for every row that came from a dump file, the rows before this).

Plain ADD COLUMNs and a unique index: no table copy, on SQLite too; an existing database
upgrades with ``recommender init`` (or by itself on first use).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("papers", sa.Column("arxiv_id", sa.String(32), nullable=True))
    op.add_column("papers", sa.Column("hf_page", sa.Text(), nullable=True))
    op.add_column("papers", sa.Column("github_stars", sa.Integer(), nullable=True))
    op.add_column("papers", sa.Column("keywords", sa.JSON(), nullable=True))
    # A unique index, not a constraint: SQLite cannot add a constraint to a table in place.
    # Papers without an id (NULL) do not collide, in SQLite and PostgreSQL alike.
    op.create_index("ix_papers_arxiv_id", "papers", ["arxiv_id"], unique=True)
    op.add_column(
        "dumps",
        sa.Column("source", sa.String(20), nullable=False, server_default="dump"),
    )


def downgrade() -> None:
    op.drop_column("dumps", "source")
    op.drop_index("ix_papers_arxiv_id", table_name="papers")
    op.drop_column("papers", "keywords")
    op.drop_column("papers", "github_stars")
    op.drop_column("papers", "hf_page")
    op.drop_column("papers", "arxiv_id")
