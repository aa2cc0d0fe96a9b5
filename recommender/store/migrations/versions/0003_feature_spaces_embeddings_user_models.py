"""Feature spaces, stored embeddings and per-subscriber models.

A feature space is frozen once created (its id names everything that shapes it); embeddings are
kept per (model, text hash) so each paper or profile text is embedded once; a subscriber's
model records the space it was trained in and what it saw, so it is retrained when stale.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "feature_spaces",
        sa.Column("id", sa.String(200), primary_key=True),
        sa.Column("definition", sa.Text(), nullable=False),
        sa.Column("current", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("papers_at_creation", sa.Integer(), nullable=False),
    )
    op.create_table(
        "embeddings",
        sa.Column("model", sa.String(200), primary_key=True),
        sa.Column("text_hash", sa.String(64), primary_key=True),
        sa.Column("vector", sa.LargeBinary(), nullable=False),
    )
    op.create_table(
        "user_models",
        sa.Column(
            "subscriber_id",
            sa.Integer(),
            sa.ForeignKey("subscribers.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("feature_space_id", sa.String(200), nullable=False),
        sa.Column("model", sa.LargeBinary(), nullable=False),
        sa.Column("ratings_seen", sa.Integer(), nullable=False),
        sa.Column("profile_updated_at", sa.DateTime(), nullable=False),
        sa.Column("trained_at", sa.DateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("user_models")
    op.drop_table("embeddings")
    op.drop_table("feature_spaces")
