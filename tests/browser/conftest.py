"""The site the browser tests open: the web app served on loopback with the digest its
subscriber was just mailed. The browser itself (``chromium``, ``page``) is
:mod:`tests.browser.fixtures`'.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from recommender.config import Settings
from tests.browser import support
from tests.catalogue import topical_day
from tests.clock import Clock
from tests.mailserver import MailServer


@pytest.fixture
def site(
    settings: Settings, mail_server: MailServer, clock: Clock, tmp_path: Path
) -> Iterator[support.Site]:
    """The topical day's subscriber, mailed a digest whose links point at the served web app."""
    with support.serve_site(
        settings, mail_server, clock, lambda app: topical_day(app, tmp_path)
    ) as site:
        yield site
