"""Digests: every email recorded before it is sent, and the papers it carried.

A digest row is written (with the exact message bytes) before the mail server sees it, so a
crash never loses one; its state says what happened since. A paper goes to a subscriber at
most once (a unique key, not a check in code), and a scheduled run is recorded once per
subscriber (unique slot), so two senders on one database never send the same digest twice.
Subscribers gain ``explore``: whether a digest may carry one paper outside their topics.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ADD COLUMN: no table copy, on SQLite too.
    op.add_column(
        "subscribers",
        sa.Column("explore", sa.Boolean(), nullable=False, server_default=sa.true()),
    )
    op.create_table(
        "digests",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "subscriber_id",
            sa.Integer(),
            sa.ForeignKey("subscribers.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("slot", sa.String(64), nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("claimed_at", sa.DateTime(), nullable=True),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=True),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("message_id", sa.String(255), nullable=False, unique=True),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("message", sa.LargeBinary(), nullable=False),
        sa.UniqueConstraint("subscriber_id", "slot", name="uq_digests_subscriber_slot"),
    )
    op.create_index("ix_digests_state", "digests", ["state"])
    op.create_table(
        "digest_papers",
        sa.Column(
            "digest_id",
            sa.Integer(),
            sa.ForeignKey("digests.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("paper_id", sa.String(16), sa.ForeignKey("papers.id"), primary_key=True),
        sa.Column(
            "subscriber_id",
            sa.Integer(),
            sa.ForeignKey("subscribers.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("exploration", sa.Boolean(), nullable=False),
        sa.UniqueConstraint("subscriber_id", "paper_id", name="uq_digest_papers_subscriber_paper"),
    )


def downgrade() -> None:
    op.drop_table("digest_papers")
    op.drop_table("digests")
    op.drop_column("subscribers", "explore")
