"""The site the browser tests open: the web app served on loopback with the digest its
subscriber was just mailed. The browser itself (``chromium``, ``page``) is
:mod:`tests.browser.fixtures`'.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from recommender.config import Settings
from recommender.core import Recommender
from tests.browser import support
from tests.catalogue import EMAIL, topical_day
from tests.clock import Clock
from tests.loopback import serving_app
from tests.mail import smtp_settings
from tests.mailserver import MailServer, free_port


@pytest.fixture
def site(
    settings: Settings, mail_server: MailServer, clock: Clock, tmp_path: Path
) -> Iterator[support.Site]:
    """The topical day's subscriber, mailed a digest whose links point at the served web app."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    configured = replace(smtp_settings(settings, mail_server), base_url=base)
    with Recommender(configured, clock=clock) as app:
        topical_day(app, tmp_path)
        digest = support.catch_digest(app, mail_server, EMAIL)
        with serving_app(app, port):
            yield support.Site(app, base, digest, EMAIL)
