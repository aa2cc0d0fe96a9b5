"""The browser every browser test shares: one headless Chromium per session, a page per test.

Registered for the whole suite (``pytest_plugins`` in ``tests/conftest.py``), so a test module
outside ``tests/browser/`` that drives a page asks for ``chromium`` or ``page`` too: Playwright's
synchronous API runs one instance per thread, so there must be only one.

Chromium is Debian's (Playwright's own browser download is not used): found by
:func:`tests.browser.support.find_chromium`. Without one the tests skip, saying so, unless
``RECOMMENDER_REQUIRE_BROWSER=1`` (set by ``.ci/run``), where they fail.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser import support

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
