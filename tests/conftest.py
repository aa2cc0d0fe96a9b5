"""Fixtures: a real database per test (a SQLite file, and PostgreSQL where configured).

Set ``RECOMMENDER_TEST_DATABASE_URL`` to a PostgreSQL URL to run every database test on it as
well; each test gets a schema of its own there, dropped afterwards.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from recommender.config import Settings
from recommender.core import Recommender
from recommender.store.database import normalize_url

T = TypeVar("T")

pytest_plugins = ["tests.mailserver"]

REPO = Path(__file__).resolve().parent.parent
SHARED_DUMPS = REPO.parent / "shared" / "dumps"
POSTGRES_URL = os.environ.get("RECOMMENDER_TEST_DATABASE_URL")
DATABASES = ["sqlite"] + (["postgresql"] if POSTGRES_URL else [])
NOW = datetime(2026, 3, 21, 8, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def isolated_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep the user's own config, data and RECOMMENDER_* settings out of every test."""
    for name in list(os.environ):
        if name.startswith("RECOMMENDER_") and name != "RECOMMENDER_TEST_DATABASE_URL":
            monkeypatch.delenv(name)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    # Word features by default, so a test does not load a sentence-embedding model; the tests
    # about embeddings ask for them (``embedding_settings``).
    monkeypatch.setenv("RECOMMENDER_EMBEDDING_MODEL", "none")


@pytest.fixture(params=DATABASES)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.db'}"
        return
    assert POSTGRES_URL is not None
    admin_url = normalize_url(POSTGRES_URL)
    schema = f"test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(admin_url).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(home=tmp_path / "home", database_url=database_url, embedding_model="none")


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def app(settings: Settings, clock: Clock) -> Iterator[Recommender]:
    with Recommender(settings, clock=clock) as recommender:
        yield recommender


@pytest.fixture
def shared_dumps() -> list[Path]:
    """The three real dumps beside the repository; skipped where they are absent."""
    files = sorted(SHARED_DUMPS.glob("*.txt")) if SHARED_DUMPS.is_dir() else []
    if not files:
        pytest.skip("the real dumps (../shared/dumps) are not here")
    return files


def at_once(work: Callable[[Callable[[], None]], T], count: int = 2) -> list[T]:
    """Run ``work`` in ``count`` threads, each calling the ``ready`` it is given once it has
    opened what it needs; they go on together from there. Their results, or the first error."""
    barrier = threading.Barrier(count, timeout=120)
    results: list[T] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            results.append(work(barrier.wait))
        except BaseException as exc:  # noqa: BLE001 - raised below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    if errors:
        raise errors[0]
    assert len(results) == count, "a thread did not finish in time"
    return results
