"""Named interests on the manage page, driven in headless Chromium: added with a share from
the digest's manage link, saved, shown back, and refused in subscribe's words."""

from __future__ import annotations

import os
from typing import Any

import pytest

from tests.browser.support import REQUIRE_VARIABLE, Site, check_page

try:
    from playwright.sync_api import expect
except ImportError:  # skipped like the other browser tests, or failed where a browser is required
    if os.environ.get(REQUIRE_VARIABLE) == "1":
        raise
    pytest.skip("Playwright for Python is not installed", allow_module_level=True)


def test_a_named_interest_with_a_share_is_added_from_the_manage_page_and_saved(
    site: Site, page: Any
) -> None:
    page.goto(site.digest.link("manage"))
    added = page.get_by_role("group", name="Add an interest")
    added.get_by_label("Name", exact=True).fill("Speech")
    added.get_by_label("Phrases, one per line").fill("speech recognition\nspeaker diarization")
    added.get_by_label("Share of each digest, from 0 to 1").fill("1.5")
    added.get_by_role("button", name="Add interest").click()
    # refused, naming the field; what was typed stays to be corrected
    expect(page.get_by_role("alert")).to_contain_text("interest 1.share: 1.5 is not a share")
    assert site.app.subscriber(site.email).topics == []
    share = page.get_by_role("group", name="Add an interest").get_by_label(
        "Share of each digest, from 0 to 1"
    )
    expect(share).to_have_value("1.5")
    share.fill("0.4")
    page.get_by_role("button", name="Add interest").click()

    expect(page.get_by_role("status")).to_have_text(
        "Added your interest “Speech”: 40% of each digest."
    )
    (topic,) = site.app.subscriber(site.email).topics
    assert (topic["name"], topic["share"]) == ("Speech", 0.4)
    assert topic["phrases"] == ["speech recognition", "speaker diarization"]
    # shown back in its own form, on this page and on the link opened afresh
    for _ in range(2):
        saved = page.get_by_role("group", name="Interest 1: Speech (40% of each digest)")
        expect(saved.get_by_label("Share of each digest, from 0 to 1")).to_have_value("0.4")
        expect(saved.get_by_label("Phrases, one per line")).to_have_value(
            "speech recognition\nspeaker diarization"
        )
        page.goto(site.digest.link("manage"))
    check_page(page)
