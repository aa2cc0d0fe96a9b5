"""Connect to the database and keep its schema current with Alembic migrations.

SQLite (the default, a file in the data directory) and PostgreSQL run the same code. SQLite is
put into real transactions (BEGIN at the start, transactional DDL), WAL mode and foreign keys, so
that "one dump, one transaction" holds there as it does on PostgreSQL.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import sqlite3
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError
from sqlalchemy.orm import Session, sessionmaker

from recommender.errors import RecommenderError

MIGRATIONS = Path(__file__).parent / "migrations"


class SchemaError(RecommenderError, RuntimeError):
    """The database's schema is not one this version of the package can use."""


class DatabaseUnusable(RecommenderError, RuntimeError):
    """A database URL this installation cannot open: an unknown scheme, a driver that is not
    installed, or a file that is not a SQLite database."""


USE = "use sqlite:///PATH or postgresql://USER@HOST/DATABASE"
POSTGRES_EXTRA = "pip install 'recommender[postgres]'"


# The execution option that marks a reading session's connections.
READING = "recommender_reading"


def normalize_url(url: str) -> str:
    """Let ``postgresql://`` (and ``postgres://``) mean the psycopg 3 driver we install."""
    if url.startswith("postgres://"):  # Heroku's spelling; SQLAlchemy knows postgresql only
        url = "postgresql://" + url.removeprefix("postgres://")
    if url.startswith("postgresql://") and importlib.util.find_spec("psycopg2") is None:
        return "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return url


def make_engine(url: str) -> Engine:
    """Create an engine for ``url``; raise :class:`DatabaseUnusable` if this installation
    cannot open it. A SQLite file, and its folder, are made readable by their owner only
    (they hold every digest, with working unsubscribe links); existing ones are left as
    they are."""
    try:
        parsed = make_url(normalize_url(url))
    except ArgumentError:
        raise DatabaseUnusable(f"cannot read the database URL; {USE}") from None
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise DatabaseUnusable(f"unknown database scheme {parsed.drivername!r}; {USE}")
    try:
        if parsed.get_backend_name() == "postgresql":
            if parsed.get_driver_name() == "psycopg":
                _quiet_aborted_pipelines()
            return create_engine(parsed, pool_pre_ping=True)
        return _sqlite_engine(parsed)
    except NoSuchModuleError:
        raise DatabaseUnusable(f"unknown database scheme {parsed.drivername!r}; {USE}") from None
    except ImportError as exc:
        if parsed.drivername in ("postgresql", "postgresql+psycopg"):
            message = f"PostgreSQL needs the psycopg driver, not installed here: {POSTGRES_EXTRA}"
        else:
            message = (
                f"the driver of {parsed.drivername!r} ({exc.name}) is not installed; "
                f"use postgresql://USER@HOST/DATABASE after {POSTGRES_EXTRA}"
            )
        raise DatabaseUnusable(message) from None


def _sqlite_engine(url: URL) -> Engine:
    path: Path | None = None
    if url.database and url.database != ":memory:" and not url.query.get("uri"):
        path = Path(url.database).expanduser()
        url = url.set(database=str(path))  # SQLite itself would take "~" as a folder's name
        _create_private(path)
    engine = create_engine(url, connect_args={"timeout": 30})
    name = str(path) if path else "the SQLite database"

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        # Hand transaction control to SQLAlchemy (the driver's own is off) and emit BEGIN
        # ourselves: the pysqlite recipe from the SQLAlchemy documentation.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
        except sqlite3.OperationalError:  # locked, say: not the file's fault
            raise
        except sqlite3.DatabaseError as exc:  # "file is not a database", "... malformed"
            message = f"{name}: not a SQLite database, or a damaged one ({exc})"
            raise DatabaseUnusable(message) from exc
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection) -> None:  # type: ignore[no-untyped-def]
        # IMMEDIATE: take the write lock up front, waiting (up to the timeout) for another
        # writer. A deferred transaction that reads, then writes after another connection
        # wrote, fails at once with "database is locked" instead of waiting its turn; so only
        # sessions of :func:`make_reading_sessionmaker`, meant to read, take no lock.
        if connection.get_execution_options().get(READING):
            connection.exec_driver_sql("BEGIN")
        else:
            connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def _create_private(path: Path) -> None:
    """Create the database file, and its folder, for their owner only, before SQLite opens
    it; SQLite gives the -wal and -shm files beside it the file's mode."""
    if path.exists():
        return
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass
    except OSError as exc:
        raise DatabaseUnusable(f"{path}: cannot create the database: {exc.strerror}") from None


class _AbortedPipelineNotice(logging.Filter):
    """Drop psycopg's warning that a pipeline it is leaving was aborted by an error.

    psycopg runs ``executemany`` (SQLAlchemy's bulk inserts and updates) in pipeline mode.
    When a statement fails while later ones are still being sent (two senders recording one
    digest: the loser's insert hits a unique constraint), psycopg raises that error, and
    leaving the pipeline then meets "pipeline aborted", which it logs as a warning: with no
    logging set up, ``error ignored terminating <psycopg.Pipeline ...>: pipeline aborted``
    on stderr. It says nothing the raised error does not (and that one is handled); any
    other failure to leave a pipeline is still logged.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        import psycopg

        return not (
            record.msg == "error ignored terminating %r: %s"
            and isinstance(record.args, tuple)
            and len(record.args) == 2
            and isinstance(record.args[1], psycopg.errors.PipelineAborted)
        )


_ABORTED_PIPELINE_NOTICE = _AbortedPipelineNotice()


def _quiet_aborted_pipelines() -> None:
    logger = logging.getLogger("psycopg")
    if _ABORTED_PIPELINE_NOTICE not in logger.filters:
        logger.addFilter(_ABORTED_PIPELINE_NOTICE)


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def make_reading_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    """Sessions for long reads: on SQLite they hold no write lock, so writers go on meanwhile
    (a write in one may fail with "database is locked" instead of waiting its turn)."""
    return sessionmaker(engine.execution_options(**{READING: True}), expire_on_commit=False)


def _alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def schema_is_current(engine: Engine) -> bool:
    """Tell whether the database is at the newest migration; refuse a newer schema."""
    heads = set(ScriptDirectory.from_config(_alembic_config()).get_heads())
    with engine.connect() as connection:
        current = set(MigrationContext.configure(connection).get_current_heads())
    known = {
        rev.revision for rev in ScriptDirectory.from_config(_alembic_config()).walk_revisions()
    }
    if current - known:
        raise SchemaError(
            f"the database's schema ({', '.join(sorted(current))}) is newer than this version "
            "of recommender knows; upgrade recommender"
        )
    return current == heads


def migrate(engine: Engine, revision: str = "head") -> None:
    """Apply every pending migration (up to ``revision``), in one transaction."""
    config = _alembic_config()
    if engine.dialect.name == "sqlite":
        # SQLite alters a table by copying it and dropping the old one; with foreign keys
        # enforced, that drop would cascade to the rows that refer to it (every rating of
        # every subscriber, say). The pragma only takes effect outside a transaction.
        with engine.connect() as connection:
            raw = connection.connection.driver_connection  # outside SQLAlchemy's BEGIN
            assert raw is not None
            raw.execute("PRAGMA foreign_keys=OFF")
            try:
                _upgrade(config, connection, revision)
            finally:
                raw.execute("PRAGMA foreign_keys=ON")
        return
    with engine.connect() as connection:
        _upgrade(config, connection, revision)


def _upgrade(config: Config, connection: Connection, revision: str) -> None:
    with connection.begin():
        if connection.dialect.name == "postgresql":
            # Two processes starting on a fresh database must not both create the tables.
            connection.execute(text("SELECT pg_advisory_xact_lock(727274)"))
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
