"""Fixtures for the browser tests: one headless Chromium per session, a page per test, and a
site -- the web app served on loopback with the digest its subscriber was just mailed.

Chromium is Debian's (Playwright's own browser download is not used): found by
:func:`tests.browser.support.find_chromium`. Without one the tests skip, saying so, unless
``RECOMMENDER_REQUIRE_BROWSER=1`` (set by ``.ci/run``), where they fail.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from recommender.config import Settings
from recommender.core import Recommender
from tests.browser import support
from tests.catalogue import EMAIL, topical_day
from tests.clock import Clock
from tests.mail import smtp_settings
from tests.mailserver import MailServer, free_port

# Read now: the suite's autouse fixture clears RECOMMENDER_* variables before each test.
REQUIRED = os.environ.get(support.REQUIRE_VARIABLE) == "1"
CHROMIUM = support.find_chromium()


def _unavailable(reason: str) -> None:
    if REQUIRED:
        pytest.fail(f"{reason}; ${support.REQUIRE_VARIABLE} is set, so this is a failure")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """The Chromium binary, with Playwright there to drive it."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        _unavailable("Playwright for Python is not installed (pip install -e '.[test]')")
    if CHROMIUM is None:
        _unavailable(support.missing_chromium_reason())
    assert CHROMIUM is not None
    return CHROMIUM


@pytest.fixture(scope="session")
def chromium(chromium_path: str) -> Iterator[Any]:
    """Headless Chromium, shared by every browser test of the session."""
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(
            executable_path=chromium_path, headless=True, args=support.LAUNCH_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()
    finally:
        playwright.stop()


@pytest.fixture
def page(chromium: Any) -> Iterator[Any]:
    """A fresh page (its own cookies and storage) at desktop width, light colour scheme."""
    context = chromium.new_context(
        viewport={"width": support.DESKTOP, "height": support.HEIGHT}, color_scheme="light"
    )
    context.set_default_timeout(5000)
    try:
        yield context.new_page()
    finally:
        context.close()


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
        with support.serving(app, port):
            yield support.Site(app, base, digest, EMAIL)
