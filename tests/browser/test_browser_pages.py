"""The digest email and the pages its links open, driven in headless Chromium end to end.

Each test starts from the email the test SMTP server caught and clicks its links the way a
subscriber would; every page it reaches must fit a phone and a desktop, label its controls and
be usable by keyboard (:func:`tests.browser.support.check_page`).
"""

from __future__ import annotations

import os
import re
from typing import Any

import pytest

from tests.browser.support import (
    REQUIRE_VARIABLE,
    Site,
    assert_controls_labelled,
    assert_fits,
    assert_keyboard_reaches_every_control,
    assert_text_contrast,
    check_page,
)

try:
    from playwright.sync_api import expect
except ImportError:  # skipped like the other browser tests, or failed where a browser is required
    if os.environ.get(REQUIRE_VARIABLE) == "1":
        raise
    pytest.skip("Playwright for Python is not installed", allow_module_level=True)

BODY_COLOURS = "[getComputedStyle(document.body)].map(s => [s.backgroundColor, s.color])[0]"


def brightness(css_colour: str) -> float:
    """0 (black) to 255 (white), from a computed ``rgb(...)``."""
    red, green, blue = (int(n) for n in re.findall(r"\d+", css_colour)[:3])
    return 0.299 * red + 0.587 * green + 0.114 * blue


def heading(page: Any, text: str) -> None:
    expect(page.get_by_role("heading", level=1)).to_have_text(text)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_digest_email_reads_on_a_phone_and_a_desktop(
    site: Site, page: Any, scheme: str
) -> None:
    page.emulate_media(color_scheme=scheme)
    site.open_email(page)
    background, text = (brightness(c) for c in page.evaluate(BODY_COLOURS))
    assert (background > text) == (scheme == "light"), (scheme, background, text)
    assert abs(background - text) > 120  # readable contrast either way
    expect(page.get_by_role("link", name="More like this")).to_have_count(
        len(site.digest.links("rate")) // 2
    )
    check_page(page)


def test_the_email_opens_in_a_browser_too(site: Site, page: Any) -> None:
    site.open_email(page)
    page.get_by_role("link", name="view in a browser").click()
    expect(page).to_have_url(site.digest.link("view-digest"))
    expect(page.get_by_role("link", name="More like this").first).to_be_visible()
    check_page(page)


def test_new_interests_from_the_manage_link_are_saved_and_shown(site: Site, page: Any) -> None:
    site.open_email(page)
    page.get_by_role("link", name="Manage your interests and ratings").click()
    heading(page, "Your paper digest")
    assert_fits(page)
    assert_keyboard_reaches_every_control(page)

    page.locator("textarea[name=interests]").fill("speaker diarization\nstreaming transducers")
    page.get_by_role("button", name="Save interests").click()
    expect(page.get_by_text("Your interests are saved")).to_be_visible()
    assert site.app.subscriber(site.email).interests == [
        "speaker diarization",
        "streaming transducers",
    ]
    # The page shows them back, and so does the link opened afresh.
    for _ in range(2):
        expect(page.locator("textarea[name=interests]")).to_have_value(
            "speaker diarization\nstreaming transducers"
        )
        page.goto(site.digest.link("manage"))
    assert_fits(page)


def test_every_control_on_the_manage_page_has_a_label_in_words(site: Site, page: Any) -> None:
    page.goto(site.digest.link("rate"))
    page.get_by_role("button", name="Yes, more like this").click()
    page.goto(site.digest.link("manage"))
    expect(page.get_by_role("button", name="Clear")).to_be_visible()
    assert_controls_labelled(page)


def test_a_rating_link_asks_first_then_records_and_can_be_undone(site: Site, page: Any) -> None:
    site.open_email(page)
    page.get_by_role("link", name="More like this").first.click()
    heading(page, "More like this?")
    assert site.app.ratings(site.email) == []  # opening the link records nothing
    check_page(page)

    page.get_by_role("button", name="Yes, more like this").click()
    heading(page, "Thank you!")
    assert [r.vote for r in site.app.ratings(site.email)] == ["up"]
    check_page(page)

    page.get_by_role("button", name="Undo").click()
    heading(page, "Rating withdrawn")
    assert site.app.ratings(site.email) == []
    check_page(page)


def test_keep_my_digest_keeps_it(site: Site, page: Any) -> None:
    site.open_email(page)
    page.get_by_role("link", name="Unsubscribe", exact=True).click()
    heading(page, "Stop the digests?")
    check_page(page)

    page.get_by_role("link", name="Keep my digest").click()
    heading(page, "Your digest continues")
    assert site.app.subscriber(site.email).active
    check_page(page)


def test_unsubscribing_then_subscribing_again_on_the_same_page(site: Site, page: Any) -> None:
    site.open_email(page)
    page.get_by_role("link", name="Unsubscribe", exact=True).click()
    page.get_by_role("button", name="Unsubscribe").click()
    heading(page, "You are unsubscribed")
    assert not site.app.subscriber(site.email).active
    check_page(page)

    page.get_by_role("button", name="Subscribe again").click()
    heading(page, "Welcome back")
    assert site.app.subscriber(site.email).active
    check_page(page)


def test_a_forged_link_shows_the_friendly_page_and_changes_nothing(site: Site, page: Any) -> None:
    before = site.app.subscriber(site.email)
    genuine = site.digest.link("unsubscribe")
    forged = genuine[:-4] + ("AAAA" if not genuine.endswith("AAAA") else "BBBB")
    response = page.goto(forged)
    assert response is not None and response.status == 400
    heading(page, "This link does not work")
    check_page(page)
    assert site.app.subscriber(site.email) == before


def test_rating_from_todays_page_reranks_and_can_be_undone(site: Site, page: Any) -> None:
    site.open_email(page)
    page.get_by_role("link", name="See all of today's papers, ranked for you").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Today's papers for")
    check_page(page)
    first = page.locator("h2 a").first.inner_text()
    page.get_by_role("button", name="Less like this").first.click()
    expect(page.get_by_role("button", name="Undo this rating")).to_be_visible()
    (rated,) = site.app.ratings(site.email)
    assert (rated.title, rated.vote) == (first, "down")
    check_page(page)
    page.get_by_role("button", name="Undo this rating").click()
    expect(page.get_by_role("button", name="Undo this rating")).to_have_count(0)
    assert site.app.ratings(site.email) == []


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_every_text_of_the_email_and_the_pages_it_opens_reaches_4_5_to_1(
    site: Site, page: Any, scheme: str
) -> None:
    page.emulate_media(color_scheme=scheme)
    site.open_email(page)
    expect(page.locator(".standing").first).to_be_visible()  # the score line
    assert_text_contrast(page)
    for action in ("rate", "unsubscribe"):
        page.goto(site.digest.link(action))
        assert_text_contrast(page)
    page.goto(site.digest.link("rate") + "?keep=1")
    assert_text_contrast(page)


def test_view_in_a_browser_has_the_digests_link_colour_in_both_modes(site: Site, page: Any) -> None:
    colour = "el => getComputedStyle(el).color"
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        site.open_email(page)
        view = page.get_by_role("link", name="view in a browser").evaluate(colour)
        title = page.locator("h2 a").first.evaluate(colour)
        assert view == title, (scheme, view, title)


def test_no_on_a_rating_link_leaves_the_rating_as_it_was(site: Site, page: Any) -> None:
    site.open_email(page)
    page.get_by_role("link", name="Less like this").first.click()
    heading(page, "Less like this?")
    check_page(page)
    page.get_by_role("link", name="No, change nothing").click()
    heading(page, "Nothing changed")
    assert site.app.ratings(site.email, history=True) == []
    check_page(page)
    page.get_by_role("link", name="Rate it after all").click()
    heading(page, "Less like this?")


def test_the_unsubscribe_and_keep_choices_are_the_same_height(site: Site, page: Any) -> None:
    page.goto(site.digest.link("unsubscribe"))
    for width in (390, 1200):
        page.set_viewport_size({"width": width, "height": 844})
        leave = page.get_by_role("button", name="Unsubscribe").bounding_box()
        keep = page.get_by_role("link", name="Keep my digest").bounding_box()
        assert abs(leave["height"] - keep["height"]) < 0.5, (width, leave, keep)
        assert abs(leave["y"] - keep["y"]) < 0.5, (width, leave, keep)  # side by side
    check_page(page)


def test_pausing_resizing_and_resuming_from_the_manage_page(site: Site, page: Any) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(site.digest.link("manage"))
    page.get_by_role("button", name="Pause digests").click()
    expect(page.get_by_role("button", name="Resume digests")).to_be_visible()
    assert site.app.subscriber(site.email).paused
    page.get_by_label("Papers per digest").fill("4")
    page.get_by_role("button", name="Save digest size").click()
    expect(page.get_by_role("status")).to_contain_text("up to 4 papers")
    assert site.app.subscriber(site.email).digest_size == 4
    page.get_by_label("Papers per digest").fill("0")  # the browser itself refuses it first
    page.get_by_role("button", name="Save digest size").click()
    assert page.get_by_label("Papers per digest").evaluate("field => field.validity.valid") is False
    assert site.app.subscriber(site.email).digest_size == 4
    page.get_by_role("button", name="Resume digests").click()
    expect(page.get_by_role("button", name="Pause digests")).to_be_visible()
    assert not site.app.subscriber(site.email).paused
    check_page(page)


def test_the_manage_pages_saved_and_refused_banners_are_dark_in_dark_mode(
    site: Site, page: Any
) -> None:
    page.emulate_media(color_scheme="dark")
    page.goto(site.digest.link("manage"))
    page.fill("#schedule", "hourly")
    page.press("#schedule", "Enter")  # Enter in the field sends its form
    refused = page.get_by_role("alert").filter(has_text="Nothing was changed")
    expect(refused).to_be_visible()
    banners = [refused.evaluate(BACKGROUND)]
    assert_text_contrast(page)
    page.get_by_role("button", name="Pause digests").click()
    saved = page.get_by_role("status").filter(has_text="Your digests are paused")
    expect(saved).to_be_visible()
    banners.append(saved.evaluate(BACKGROUND))
    assert_text_contrast(page)
    # not a light strip on a dark page
    assert [colour for colour in banners if brightness(colour) > 80] == []


BACKGROUND = "e => getComputedStyle(e).backgroundColor"
