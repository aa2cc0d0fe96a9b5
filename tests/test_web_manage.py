"""The manage page over real HTTP: each form changes one thing, checked as a profile is, and
shows it back; a bad value is refused naming the field, and nothing changes."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta
from html import unescape
from html.parser import HTMLParser
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

from recommender import links, profiles, web
from tests.catalogue import EMAIL
from tests.clock import Clock
from tests.web_site import Site, snapshot

if TYPE_CHECKING:
    from playwright.sync_api import Browser


@dataclass
class Controls(HTMLParser):
    """The form controls of a page, the labels that name them, and its scripts."""

    labelled: set[str] = field(default_factory=set)
    inputs: dict[str, dict[str, str]] = field(default_factory=dict)  # visible ones, by id
    unnamed: list[str] = field(default_factory=list)  # visible controls without an id
    buttons: list[str] = field(default_factory=list)
    scripts: list[dict[str, str]] = field(default_factory=list)
    _button: list[str] | None = None

    def __post_init__(self) -> None:
        super().__init__()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "label" and "for" in values:
            self.labelled.add(values["for"])
        elif tag in ("input", "textarea", "select") and values.get("type") != "hidden":
            if "id" in values:
                self.inputs[values["id"]] = values
            else:
                self.unnamed.append(tag)
        elif tag == "button":
            self._button = []
        elif tag == "script":
            self.scripts.append(values)

    def handle_data(self, data: str) -> None:
        if self._button is not None:
            self._button.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "button" and self._button is not None:
            self.buttons.append(" ".join("".join(self._button).split()))
            self._button = None


def controls(html: str) -> Controls:
    parsed = Controls()
    parsed.feed(html)
    return parsed


def text(html: str) -> str:
    """The page's text, tags left out (inline ones without a space) and spaces collapsed."""
    inline = re.sub(r"</?(a|span|strong|em)\b[^>]*>", "", html)
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", inline)).split())


def post(site: Site, **form: str) -> httpx.Response:
    with httpx.Client(timeout=10) as client:
        return client.post(site.urls["manage"], data=form)


def test_every_control_has_a_visible_label_and_every_button_words(site: Site) -> None:
    site.app.rate(EMAIL, site.app.recommend(EMAIL, top=1)[0].id, "up")
    with httpx.Client(timeout=10) as client:
        page = client.get(site.urls["manage"])
    assert page.status_code == 200
    found = controls(page.text)
    assert set(found.inputs) >= {"interests", "schedule", "timezone", "digest_size", "min_score"}
    assert found.unnamed == [] and set(found.inputs) <= found.labelled
    words = {"Save interests", "Save schedule", "Save digest size", "Pause digests"}
    words |= {"Rate down instead", "Clear rating", "Undo: back to no rating", "Unsubscribe"}
    assert words <= set(found.buttons)
    assert all(re.search(r"[A-Za-z]{2}", button) for button in found.buttons)  # no emoji alone
    # the one script is the app's own file; the time zone is a searchable list without it
    assert [s.get("src") for s in found.scripts] == ["../static/timezone.js"]
    assert found.inputs["timezone"]["list"] == "timezones"
    assert '<option value="Europe/Berlin">' in page.text
    assert '<option value="America/Argentina/Buenos_Aires">' in page.text


def test_the_time_zone_script_is_served_from_the_app_as_a_script(site: Site) -> None:
    script = httpx.URL(site.urls["manage"]).join("../static/timezone.js")
    with httpx.Client(timeout=10) as client:
        served = client.get(script)
    assert served.status_code == 200
    assert served.headers["content-type"].startswith("text/javascript")
    assert "Intl.DateTimeFormat().resolvedOptions().timeZone" in served.text


def test_schedule_and_time_zone_are_saved_and_shown_back(site: Site) -> None:
    saved = post(site, form="schedule", schedule=" Weekdays 8:15 ", timezone="Europe/Berlin")
    assert saved.status_code == 200
    assert "Saved: your digest comes weekdays 08:15, Europe/Berlin time." in text(saved.text)
    found = controls(saved.text)
    assert found.inputs["schedule"]["value"] == "weekdays 08:15"
    assert found.inputs["timezone"]["value"] == "Europe/Berlin"
    user = site.app.subscriber(EMAIL)
    assert (user.schedule, user.timezone) == ("weekdays 08:15", "Europe/Berlin")
    assert site.app.schedules()[EMAIL] == ("weekdays 08:15", "Europe/Berlin")

    cron = post(site, form="schedule", schedule="30 7 * * 1-5", timezone="Asia/Tokyo")
    assert cron.status_code == 200
    assert site.app.schedules()[EMAIL] == ("30 7 * * 1-5", "Asia/Tokyo")


def test_digest_size_and_minimum_score_are_saved_and_an_empty_minimum_means_none(
    site: Site,
) -> None:
    saved = post(site, form="size", digest_size="5", min_score="0.25")
    assert saved.status_code == 200
    assert "up to 5 papers a digest, of a score of at least 0.25" in text(saved.text)
    assert controls(saved.text).inputs["min_score"]["value"] == "0.25"
    user = site.app.subscriber(EMAIL)
    assert (user.digest_size, user.min_score) == (5, 0.25)

    cleared = post(site, form="size", digest_size="5", min_score="")
    assert cleared.status_code == 200 and "of any score" in text(cleared.text)
    assert site.app.subscriber(EMAIL).min_score is None


# A form's fields, the profile field that is wrong, and the same value as a profile file has it.
BAD_SETTINGS = [
    ({"schedule": "sometimes", "timezone": "UTC"}, "schedule", '"sometimes"'),
    ({"schedule": "daily 25:00", "timezone": "UTC"}, "schedule", '"daily 25:00"'),
    ({"schedule": "0 0 30 2 *", "timezone": "UTC"}, "schedule", '"0 0 30 2 *"'),
    ({"schedule": "daily 07:30", "timezone": "Mars/Olympus"}, "timezone", '"Mars/Olympus"'),
    ({"digest_size": "0", "min_score": ""}, "digest_size", "0"),
    ({"digest_size": "ten", "min_score": ""}, "digest_size", '"ten"'),
    ({"digest_size": "10", "min_score": "nan"}, "min_score", "nan"),
    ({"digest_size": "10", "min_score": "high"}, "min_score", '"high"'),
]


@pytest.mark.parametrize(("form", "name", "toml"), BAD_SETTINGS)
def test_a_bad_setting_is_refused_in_subscribes_words_naming_the_field_and_nothing_changes(
    site: Site, tmp_path: Path, form: dict[str, str], name: str, toml: str
) -> None:
    profile = tmp_path / "bad.toml"
    profile.write_text(f'email = "{EMAIL}"\n{name} = {toml}\n')
    with pytest.raises(profiles.ProfileError) as refused:
        site.app.subscribe(profile)
    assert refused.value.field == name
    before = snapshot(site.app)
    kind = "schedule" if "schedule" in form else "size"
    answer = post(site, form=kind, **form)
    assert answer.status_code == 422
    label = web.FIELD_LABELS[name]
    shown = text(answer.text)
    assert f"Nothing was changed. {label}: {refused.value.message}" in shown
    assert f"{label}: {refused.value.message}" in text(answer.text.split('class="error"')[1])
    shown_back = controls(answer.text).inputs[name]
    assert shown_back["value"] == form[name]  # to be corrected
    assert shown_back["aria-invalid"] == "true"
    assert snapshot(site.app) == before


def test_a_schedule_and_time_zone_are_saved_together_or_not_at_all(site: Site) -> None:
    before = snapshot(site.app)
    refused = post(site, form="schedule", schedule="weekly fri 17:00", timezone="Nowhere/At_All")
    assert refused.status_code == 422
    assert snapshot(site.app) == before
    assert site.app.subscriber(EMAIL).schedule == "daily 07:30"


def test_pausing_and_resuming_from_the_page(site: Site) -> None:
    paused = post(site, form="pause")
    assert paused.status_code == 200 and "Resume digests" in controls(paused.text).buttons
    assert "Paused: no digests are sent until you resume." in text(paused.text)
    assert site.app.subscriber(EMAIL).paused and EMAIL not in site.app.schedules()
    assert [c.status for c in site.app.send(EMAIL).composed] == ["paused"]

    resumed = post(site, form="resume")
    assert resumed.status_code == 200 and "Pause digests" in controls(resumed.text).buttons
    assert "Your digests are back on" in text(resumed.text)
    assert not site.app.subscriber(EMAIL).paused and EMAIL in site.app.schedules()


def test_unsubscribing_and_subscribing_again_from_the_page(site: Site) -> None:
    gone = post(site, form="unsubscribe")
    assert gone.status_code == 200 and "Subscribe again" in controls(gone.text).buttons
    assert "Unsubscribed: no digests are sent." in text(gone.text)
    assert not site.app.subscriber(EMAIL).active and EMAIL not in site.app.schedules()

    back = post(site, form="resubscribe")
    assert back.status_code == 200 and "Unsubscribe" in controls(back.text).buttons
    assert "Welcome back" in text(back.text)
    assert site.app.subscriber(EMAIL).active and EMAIL in site.app.schedules()


def test_undo_gives_a_paper_back_the_rating_it_had_before(site: Site, clock: Clock) -> None:
    with httpx.Client(timeout=10) as client:
        assert client.post(site.urls["rate"]).status_code == 200  # a thumbs-up from the email
    (rated,) = site.app.ratings(EMAIL)
    clock.now += timedelta(minutes=1)
    flipped = post(site, form="rate", paper=rated.paper_id, vote="down")
    assert flipped.status_code == 200 and f"You rated “{rated.title}” down." in text(flipped.text)
    assert "Undo: back to rated up" in controls(flipped.text).buttons
    assert "Rated down (was rated up;" in text(flipped.text)

    clock.now += timedelta(minutes=1)
    undone = post(site, form="undo", paper=rated.paper_id, undo="down")
    assert undone.status_code == 200
    assert f"Undone: “{rated.title}” is rated up again." in text(undone.text)
    assert [r.vote for r in site.app.ratings(EMAIL, history=True)] == ["up", "down", "up"]

    # The same undo again (a second click, a retried POST) finds the rating changed.
    before = snapshot(site.app)
    again = post(site, form="undo", paper=rated.paper_id, undo="down")
    assert again.status_code == 409 and "nothing was undone" in text(again.text)
    assert snapshot(site.app) == before

    # Undoing the first rating a paper ever had leaves it unrated.
    other = next(r for r in site.app.recommend(EMAIL, top=5) if r.id != rated.paper_id)
    site.app.rate(EMAIL, other.id, "down")
    first = post(site, form="undo", paper=other.id, undo="down")
    assert "is not rated any more" in text(first.text)
    assert [r.paper_id for r in site.app.ratings(EMAIL)] == [rated.paper_id]


def test_the_history_lists_changes_newest_first_with_undo_on_each_papers_latest(
    site: Site, clock: Clock
) -> None:
    first, second = site.app.recommend(EMAIL, top=2)
    for paper, vote in ((first, "up"), (second, "up"), (first, "down")):
        site.app.rate(EMAIL, paper.id, vote)
        clock.now += timedelta(minutes=1)
    with httpx.Client(timeout=10) as client:
        page = client.get(site.urls["manage"]).text
    history = page.split('id="history-title"')[1]
    assert re.findall(r"(Rated \w+) \(was ([\w ]+);", text(history)) == [
        ("Rated down", "rated up"),
        ("Rated up", "no rating"),
        ("Rated up", "no rating"),
    ]
    # undo on the latest change of each paper only
    assert controls(history).buttons[:2] == ["Undo: back to rated up", "Undo: back to no rating"]
    assert len(controls(history).buttons) == 2 + 1  # and the subscription's button


def test_a_form_the_page_does_not_have_or_a_bad_vote_changes_nothing(site: Site) -> None:
    before = snapshot(site.app)
    unknown = post(site, form="delete-everything")
    assert unknown.status_code == 400 and "Nothing was changed" in text(unknown.text)
    vote = post(site, form="rate", paper="x", vote="sideways")
    assert vote.status_code == 400 and "'sideways' is not a vote" in text(vote.text)
    assert snapshot(site.app) == before


def test_a_tampered_or_expired_manage_link_changes_no_setting(site: Site, clock: Clock) -> None:
    before = snapshot(site.app)
    forms = [{"form": "pause"}, {"form": "unsubscribe"}, {"form": "size", "digest_size": "3"}]
    with httpx.Client(timeout=10) as client:
        for form in forms:
            tampered = client.post(site.urls["manage"][:-3] + "xyz", data=form)
            assert tampered.status_code == 400
        clock.now += links.LIFETIMES["manage"] + timedelta(days=1)
        for form in forms:
            assert client.post(site.urls["manage"], data=form).status_code == 410
    assert snapshot(site.app) == before


# -- in a real browser: Debian's Chromium, driven by Playwright -------------------------------


def test_in_a_browser_the_page_fits_a_phone_and_rating_buttons_sit_in_a_row(
    site: Site, chromium: Browser
) -> None:
    for paper in site.app.recommend(EMAIL, top=3):
        site.app.rate(EMAIL, paper.id, "up")
    for width in (390, 1200):
        context = chromium.new_context(viewport={"width": width, "height": 800})
        page = context.new_page()
        page.goto(site.urls["manage"])
        assert page.evaluate("document.documentElement.scrollWidth") <= width, width
        first = page.locator("ul.rated li").first
        flip, clear = (first.get_by_role("button", name=n).bounding_box() for n in _BUTTONS)
        assert flip is not None and clear is not None
        assert abs(flip["y"] - clear["y"]) < 1, width  # side by side, not stacked
        context.close()


_BUTTONS = ("Rate down instead", "Clear rating")


def test_in_a_browser_the_time_zone_defaults_to_the_devices_and_works_without_script(
    site: Site, chromium: Browser
) -> None:
    context = chromium.new_context(timezone_id="Europe/Berlin")
    page = context.new_page()
    page.goto(site.urls["manage"])
    assert page.input_value("#timezone") == "Europe/Berlin"  # saved: UTC
    assert page.locator("#device-zone-note").is_visible()
    assert not page.locator("#use-device-zone").is_visible()  # nothing more to offer
    page.get_by_role("button", name="Save schedule").click()
    assert "Europe/Berlin time" in page.locator(".saved").inner_text()
    assert site.app.subscriber(EMAIL).timezone == "Europe/Berlin"
    context.close()

    scriptless = chromium.new_context(java_script_enabled=False, timezone_id="Asia/Tokyo")
    page = scriptless.new_page()
    page.goto(site.urls["manage"])
    assert page.input_value("#timezone") == "Europe/Berlin"
    assert not page.locator("#use-device-zone").is_visible()
    page.fill("#timezone", "Europe/Lisbon")
    page.get_by_role("button", name="Save schedule").click()
    assert site.app.subscriber(EMAIL).timezone == "Europe/Lisbon"
    scriptless.close()
