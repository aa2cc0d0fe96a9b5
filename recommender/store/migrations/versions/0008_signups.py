"""Sign-ups from the web form, pending until their address confirms them.

Sign-up is double opt-in: the form stores what was asked for here and mails a link; the
subscriber is made only when the link's page is confirmed. The row, not the link, carries the
name and interests, so the link stays short, a restart loses no pending sign-up, and
confirming twice finds the row already confirmed. The same rows are what the per-address and
per-client rate limits count, in one place for every process on the database.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "signups",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("interests", sa.JSON(), nullable=False),
        sa.Column("client", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(), nullable=True),
    )
    op.create_index("ix_signups_email_created_at", "signups", ["email", "created_at"])
    op.create_index("ix_signups_client_created_at", "signups", ["client", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_signups_client_created_at", table_name="signups")
    op.drop_index("ix_signups_email_created_at", table_name="signups")
    op.drop_table("signups")
