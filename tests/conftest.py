"""Fixtures: a real database per test (a SQLite file, and PostgreSQL where configured).

Fixtures only; what tests import (builders, the topical day, mail and command helpers, the
clock) lives in plain modules beside this one.

Set ``RECOMMENDER_TEST_DATABASE_URL`` to a PostgreSQL URL to run every database test on it as
well; each test gets a schema of its own there, dropped afterwards. Tests marked ``slow`` (every
``--help`` example typed into a shell) run where ``RECOMMENDER_SLOW_TESTS=1`` is set, as CI
sets it; elsewhere they skip, saying so, to keep the default run short.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from recommender.config import Settings
from recommender.core import Recommender
from recommender.store.database import normalize_url
from tests.catalogue import topical_day
from tests.clock import Clock
from tests.mail import smtp_settings

if TYPE_CHECKING:  # imported by pytest as the plugin below, before it could be rewritten
    from tests.mailserver import MailServer

# The test SMTP server; the web tests' site; one Chromium for the whole suite (Playwright's
# sync API allows one per thread, so every test that drives a page shares it).
pytest_plugins = ["tests.mailserver", "tests.browser.fixtures", "tests.web_site"]

REPO = Path(__file__).resolve().parent.parent
SHARED_DUMPS = REPO.parent / "shared" / "dumps"
POSTGRES_URL = os.environ.get("RECOMMENDER_TEST_DATABASE_URL")
DATABASES = ["sqlite"] + (["postgresql"] if POSTGRES_URL else [])
SLOW_TESTS = os.environ.get("RECOMMENDER_SLOW_TESTS") == "1"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if SLOW_TESTS:
        return
    skip = pytest.mark.skip(reason="slow: set RECOMMENDER_SLOW_TESTS=1 to run it (CI does)")
    for item in items:
        if item.get_closest_marker("slow") is not None:
            item.add_marker(skip)


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


@pytest.fixture
def mailing(
    settings: Settings, mail_server: MailServer, clock: Clock, tmp_path: Path
) -> Iterator[Recommender]:
    """An app that mails the test SMTP server, with the topical day and its subscriber."""
    with Recommender(smtp_settings(settings, mail_server), clock=clock) as app:
        yield topical_day(app, tmp_path)
