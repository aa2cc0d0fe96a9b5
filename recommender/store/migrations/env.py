"""Alembic environment: runs on the connection the package hands over (see database.migrate).

For the ``alembic`` command line (writing a new migration), it connects to
``RECOMMENDER_DATABASE_URL`` instead.
"""

import os

from alembic import context
from sqlalchemy import Connection, create_engine

from recommender.store.models import Base


def run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is not None:
    run(connection)
else:
    from recommender.store.database import normalize_url

    engine = create_engine(normalize_url(os.environ["RECOMMENDER_DATABASE_URL"]))
    with engine.begin() as own_connection:
        run(own_connection)
