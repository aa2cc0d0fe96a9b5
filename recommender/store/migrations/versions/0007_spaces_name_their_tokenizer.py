"""Every stored feature space names its tokenizer.

Spaces stored before the tokenizer was recorded all used the first recipe, ``w1`` (words and
phrases, no character grams). Writing that into their definitions lets
:meth:`recommender.features.FeatureSpace.from_dict` require the field instead of guessing it,
so a definition missing it is an error rather than a silent choice. Ids are unchanged: a ``w1``
space's id already says ``words-w1``.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30
"""

import json

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

SPACES = sa.table("feature_spaces", sa.column("id", sa.String), sa.column("definition", sa.Text))


def upgrade() -> None:
    bind = op.get_bind()
    for space_id, definition in bind.execute(sa.select(SPACES.c.id, SPACES.c.definition)).all():
        stored = json.loads(definition)
        if "tokenizer" in stored:
            continue
        stored["tokenizer"] = "w1"
        bind.execute(
            SPACES.update().where(SPACES.c.id == space_id).values(definition=json.dumps(stored))
        )


def downgrade() -> None:
    # "tokenizer": "w1" is what an older reader assumed when the field was missing.
    pass
