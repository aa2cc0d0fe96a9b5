"""Keep the papers a sign-up says it likes until its address confirms.

The sign-up form takes "papers you like" (titles or arXiv ids, one per line) beside the
interests: the more of them the model knows, the better the first digests
(benchmarks/RESULTS.md, "What the centroid could do with hindsight"). ``signups.liked`` holds
them until the confirm link makes the subscriber; sign-ups made before hold none.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "signups",
        sa.Column("liked", sa.JSON(), nullable=False, server_default=sa.text("'[]'")),
    )


def downgrade() -> None:
    op.drop_column("signups", "liked")
