"""The ``site`` fixture of the web tests: a digest sent to one subscriber over real SMTP, and
the web endpoints its links point at served on loopback; and :func:`snapshot`, every row of the
database, to tell whether a request changed anything at all.

Registered for the whole suite (``pytest_plugins`` in ``tests/conftest.py``). The browser tests
have a ``site`` of their own (``tests/browser/conftest.py``), which opens the email itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from sqlalchemy import select

from recommender import links
from recommender.config import Settings
from recommender.core import Recommender
from recommender.store.models import Base
from tests.catalogue import EMAIL, profile, topical_dump
from tests.clock import Clock
from tests.loopback import reserved_port, serving_app
from tests.mail import hrefs, parts
from tests.mailserver import MailServer


@dataclass
class Site:
    app: Recommender
    base: str
    urls: dict[str, str]  # rate (a thumbs-up), unsubscribe, manage, view-digest


@pytest.fixture
def site(
    settings: Settings, mail_server: MailServer, clock: Clock, tmp_path: Path
) -> Iterator[Site]:
    """The web endpoints on loopback, and the links of a digest sent to one subscriber."""
    port = reserved_port()
    base = f"http://127.0.0.1:{port}"
    configured = replace(
        settings,
        smtp_host=mail_server.host,
        smtp_port=mail_server.port,
        smtp_security="none",
        base_url=base,
    )
    with Recommender(configured, clock=clock) as app:
        app.ingest([topical_dump(tmp_path / "d.txt")])
        app.subscribe(profile(tmp_path))
        app.send(EMAIL)
        html = parts(mail_server.received[0].message)[1]
        urls = {
            action: next(u for u in hrefs(html) if u.startswith(f"{base}/{path}/"))
            for action, path in links.PATHS.items()
        }
        with serving_app(app, port):
            yield Site(app, base, urls)


def snapshot(app: Recommender) -> dict[str, list[str]]:
    """Every row of every table, to tell whether a request changed anything at all."""
    with app.engine.connect() as connection:
        return {
            table.name: sorted(repr(tuple(row)) for row in connection.execute(select(table)))
            for table in Base.metadata.sorted_tables
        }
