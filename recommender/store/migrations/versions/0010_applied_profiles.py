"""Keep each subscriber's profile file as last applied, so a reload undoes no web change.

Subscribers change their own settings on the manage page, and ``serve`` reloaded every profile
in ``profiles_dir`` whenever any one changed, and at each start: a reload set every subscriber
back to their file, losing what they had changed. ``subscribers.applied_profile`` holds the
file's fields as last applied; applying a file now sets only the fields it changed since
(``recommender/profile_sync.py``).

Subscribers applied from a file before this migration have a ``profile_path`` and no
``applied_profile``: nothing tells which of their settings they changed themselves, so the next
reload records their file as applied without setting anything (their settings stand), and
later edits of the file apply as for everyone. ``recommender subscribe --overwrite FILE`` sets
a subscriber to their file when that is what the operator wants.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("subscribers", sa.Column("applied_profile", sa.JSON(), nullable=True))


def downgrade() -> None:
    op.drop_column("subscribers", "applied_profile")
