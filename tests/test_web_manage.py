"""The manage page over real HTTP: each form changes one thing, checked as a profile is, and
shows it back; a bad value is refused naming the field, and nothing changes."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from html import unescape
from html.parser import HTMLParser
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest
from sqlalchemy import select

from recommender import links, profiles, web
from recommender.core import Recommender
from recommender.store.models import StoredUserModel, Subscriber
from tests.catalogue import EMAIL, TOPICS
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
    settings = {"schedule", "timezone", "digest_size", "min_score"}
    assert set(found.inputs) >= {"interests", "liked", *settings}
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
    ({"schedule": "", "timezone": "UTC"}, "schedule", '""'),
    ({"schedule": "daily 07:30", "timezone": " "}, "timezone", '""'),
    ({"digest_size": "", "min_score": "0.5"}, "digest_size", '""'),
    ({"digest_size": "0", "min_score": ""}, "digest_size", "0"),
    ({"digest_size": "ten", "min_score": ""}, "digest_size", '"ten"'),
    ({"digest_size": "10", "min_score": "nan"}, "min_score", "nan"),
    ({"digest_size": "10", "min_score": "high"}, "min_score", '"high"'),
    # an integer no float holds: math.isfinite overflowed on it (a 500)
    ({"digest_size": "10", "min_score": "9" * 400}, "min_score", "9" * 400),
]


def subscribe_refused(site: Site, tmp_path: Path, toml: str) -> profiles.ProfileError:
    """How ``subscribe`` refuses the profile ``toml``: what the page must say alike."""
    profile = tmp_path / "bad.toml"
    profile.write_text(toml)
    with pytest.raises(profiles.ProfileError) as refused:
        site.app.subscribe(profile)
    return refused.value


@pytest.mark.parametrize(("form", "name", "toml"), BAD_SETTINGS)
def test_a_bad_setting_is_refused_in_subscribes_words_naming_the_field_and_nothing_changes(
    site: Site, tmp_path: Path, form: dict[str, str], name: str, toml: str
) -> None:
    refused = subscribe_refused(site, tmp_path, f'email = "{EMAIL}"\n{name} = {toml}\n')
    assert refused.field == name
    before = snapshot(site.app)
    kind = "schedule" if "schedule" in form else "size"
    answer = post(site, form=kind, **form)
    assert answer.status_code == 422
    label = web.FIELD_LABELS[name]
    shown = text(answer.text)
    assert f"Nothing was changed. {label}: {refused.message}" in shown
    assert f"{label}: {refused.message}" in text(answer.text.split('class="error"')[1])
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


# A settings form without one of its fields (a browser sends each, if only empty), and the
# field it lacks.
PARTIAL_SETTINGS = [
    ({"form": "schedule", "timezone": "Europe/Berlin"}, "schedule"),
    ({"form": "schedule", "schedule": "weekdays 09:00"}, "timezone"),
    ({"form": "schedule"}, "schedule"),
    ({"form": "size", "min_score": "0.5"}, "digest_size"),
    ({"form": "size", "digest_size": "5"}, "min_score"),
    ({"form": "size"}, "digest_size"),
]


@pytest.mark.parametrize(("form", "name"), PARTIAL_SETTINGS)
def test_a_settings_form_missing_a_field_is_refused_naming_it_and_nothing_changes(
    site: Site, form: dict[str, str], name: str
) -> None:
    before = snapshot(site.app)
    answer = post(site, **form)
    assert answer.status_code == 400
    label = web.FIELD_LABELS[name]
    said = f"{label}: was not sent; the page's own form always sends it, if only empty"
    assert f"Nothing was changed. {said}" in text(answer.text)
    assert said in text(answer.text.split('class="error"')[1])
    assert controls(answer.text).inputs[name]["aria-invalid"] == "true"
    assert "Saved" not in text(answer.text)
    assert snapshot(site.app) == before


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
    # a paper the page never showed, longer than SQLite takes as a LIKE pattern (a 500 before)
    for form, button in (("rate", "vote"), ("undo", "undo")):
        long = post(site, form=form, paper="_" * 30_000, **{button: "up"})
        assert long.status_code == 400 and "Nothing was changed" in text(long.text)
    assert snapshot(site.app) == before


def test_a_post_naming_no_form_is_refused_listing_the_forms_and_changes_nothing(
    site: Site,
) -> None:
    before = snapshot(site.app)
    with httpx.Client(timeout=10) as client:
        empty = client.post(site.urls["manage"])
    for answer in (empty, post(site, form=""), post(site, paper="x")):
        assert answer.status_code == 400
        said = text(answer.text)
        assert "Nothing was changed. unknown form ''; this page's forms are interests, " in said
        assert "rate, undo" in said and "not a vote" not in said
    assert snapshot(site.app) == before


def test_rating_or_undoing_a_paper_not_in_the_catalogue_says_so_on_the_manage_page(
    site: Site,
) -> None:
    before = snapshot(site.app)
    for form, button in (("rate", "vote"), ("undo", "undo")):
        unknown = post(site, form=form, paper="no-such-paper\x00", **{button: "up"})
        # the page itself, saying what was wrong: the link works, the paper is not there
        assert unknown.status_code == 400, form
        said = text(unknown.text)
        assert "Your paper digest" in said and "This link does not work" not in said, form
        assert "Nothing was changed. paper: no paper has the id" in said, form
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


# -- interests: the plain list, named interests, followed authors, must-not words ----------


def trained_for(app: Recommender) -> datetime | None:
    """When the profile was last changed, as the stored model of ``EMAIL`` saw it."""
    with app.engine.connect() as connection:
        return connection.scalar(
            select(StoredUserModel.profile_updated_at)
            .join(Subscriber, Subscriber.id == StoredUserModel.subscriber_id)
            .where(Subscriber.email == EMAIL)
        )


def interest(number: str = "new", **fields: str) -> dict[str, str]:
    """A named interest's form: "Speech" with one phrase, unless ``fields`` say otherwise."""
    form = {
        "name": "Speech",
        "phrases": "speech recognition",
        "share": "",
        "authors": "",
        "must": "",
    }
    return {"form": "interest", "number": number, **form, **fields}


def test_a_named_interest_is_added_with_its_fields_shown_back_and_the_model_retrains(
    site: Site, clock: Clock
) -> None:
    clock.now += timedelta(minutes=1)
    added = post(
        site,
        **interest(
            name=" Speech ",
            phrases="speech recognition\n\nspeaker  diarization",
            share="0.4",
            authors="J. Smith\nMüller, Anna",
            must="speech\nspoken",
        ),
    )
    assert added.status_code == 200
    assert "Added your interest “Speech”: 40% of each digest." in text(added.text)
    (topic,) = site.app.subscriber(EMAIL).topics
    assert topic["name"] == "Speech" and topic["share"] == 0.4
    assert topic["phrases"] == ["speech recognition", "speaker diarization"]
    assert (topic["authors"], topic["must"]) == (["J. Smith", "Müller, Anna"], ["speech", "spoken"])
    found = controls(added.text)
    assert found.inputs["interest-1-share"]["value"] == "0.4"
    assert found.inputs["interest-1-name"]["value"] == "Speech"
    assert "speaker diarization" in added.text.split('id="interest-1-phrases"')[1]
    assert "Interest 1: Speech (40% of each digest)" in text(added.text)
    assert trained_for(site.app) == clock.now  # retrained on the new profile
    # the digest's planning steers by it: the speech papers are labelled with it
    assert {r.interest for r in site.app.recommend(EMAIL, top=9)} == {"Speech", None}


def test_an_interest_without_a_share_splits_what_the_others_leave_and_shows_it_empty(
    site: Site,
) -> None:
    assert post(site, **interest(share="0.3")).status_code == 200
    second = post(site, **interest(name="Graphs", phrases="graph neural networks"))
    assert second.status_code == 200
    assert "Added your interest “Graphs”: 70% of each digest." in text(second.text)
    assert [t["share"] for t in site.app.subscriber(EMAIL).topics] == [0.3, 0.7]
    found = controls(second.text)
    assert found.inputs["interest-2-share"]["value"] == ""
    assert "split what the other interests leave; it has 70% now" in text(second.text)
    # the first's share changes; the second, given none, follows
    edited = post(site, **interest("1", share="0.5"))
    assert edited.status_code == 200
    assert [t["share"] for t in site.app.subscriber(EMAIL).topics] == [0.5, 0.5]


def interest_form(page: str, number: int) -> dict[str, str]:
    """The fields interest ``number``'s save form on ``page`` sends, hidden ones too."""
    form = page.split(f'<div class="interest" id="interest-{number}">')[1].split("</form>")[0]
    hidden = dict(re.findall(r'type="hidden" name="(\w+)" value="([^"]*)"', form))
    values = {
        name: unescape(value)
        for name, value in re.findall(r'<input type="text" [^>]*name="(\w+)" value="([^"]*)"', form)
    }
    values |= {
        name: unescape(value)
        for name, value in re.findall(r'<textarea [^>]*name="(\w+)"[^>]*>([^<]*)</textarea>', form)
    }
    return {**hidden, **values}


def test_an_interest_form_saved_from_a_stale_page_overwrites_no_other_interest(
    site: Site,
) -> None:
    # Back to the page after removing interest 2, then Save on interest 2's form: the
    # interest now second is another, and must not become a copy of the removed one.
    for name in ("Speech", "Graphs", "Robots"):
        assert (
            post(site, **interest(name=name, phrases=f"{name.lower()} papers")).status_code == 200
        )
    with httpx.Client(timeout=10) as client:
        stale = client.get(site.urls["manage"]).text
    removed = post(site, form="remove_interest", number="2", name="Graphs")
    assert removed.status_code == 200
    before = snapshot(site.app)
    resent = post(site, **interest_form(stale, 2))
    assert resent.status_code == 422
    assert "Nothing was changed." in text(resent.text)
    assert [t["name"] for t in site.app.subscriber(EMAIL).topics] == ["Speech", "Robots"]
    assert snapshot(site.app) == before
    # the form of the interest now second shows it, not the stale values to save over it
    assert controls(resent.text).inputs["interest-2-name"]["value"] == "Robots"


def test_an_interest_is_edited_in_place_and_removed_by_its_button(site: Site, clock: Clock) -> None:
    post(site, **interest(share="0.3"))
    post(site, **interest(name="Graphs", phrases="graph neural networks", share="0.2"))
    clock.now += timedelta(minutes=1)
    edited = post(site, **interest("1", name="Spoken language", phrases="speech\nasr"))
    assert edited.status_code == 200
    assert [t["name"] for t in site.app.subscriber(EMAIL).topics] == ["Spoken language", "Graphs"]
    assert site.app.subscriber(EMAIL).topics[0]["phrases"] == ["speech", "asr"]
    assert trained_for(site.app) == clock.now

    clock.now += timedelta(minutes=1)
    removed = post(site, form="remove_interest", number="1", name="Spoken language")
    assert removed.status_code == 200
    assert "Removed your interest “Spoken language”" in text(removed.text)
    assert [t["name"] for t in site.app.subscriber(EMAIL).topics] == ["Graphs"]
    assert "Interest 2:" not in text(removed.text)
    assert controls(removed.text).inputs["interest-1-name"]["value"] == "Graphs"
    assert trained_for(site.app) == clock.now


def test_removing_an_interest_the_page_showed_under_another_name_changes_nothing(
    site: Site,
) -> None:
    post(site, **interest())
    before = snapshot(site.app)
    stale = post(site, form="remove_interest", number="1", name="Vision")
    assert stale.status_code == 422
    assert "interest 1: is 'Speech' now, not 'Vision'; nothing was removed" in text(stale.text)
    missing = post(site, form="remove_interest", number="2", name="Speech")
    assert missing.status_code == 422 and "there is no interest '2'" in text(missing.text)
    edit_missing = post(site, **interest("7"))
    assert edit_missing.status_code == 422
    assert snapshot(site.app) == before


# A named interest's form, the profile field it is refused for, and the same interest as a
# profile file writes it (after an interest named "Graphs" with a share of 0.5).
# A form refused for one field, and that field's input: each kind of field the page has.
REFUSED_FIELDS = [
    ({"form": "schedule", "schedule": "hourly", "timezone": "UTC"}, "schedule"),
    ({"form": "schedule", "schedule": "daily 07:30", "timezone": "Mars/Olympus"}, "timezone"),
    ({"form": "size", "digest_size": "0", "min_score": ""}, "digest_size"),
    ({"form": "size", "digest_size": "10", "min_score": "high"}, "min_score"),
    ({"form": "interests", "interests": "a\x00b", "liked": ""}, "interests"),
    ({"form": "follows", "authors": "Lovelace", "must_not": ""}, "authors"),
    (interest(name="\x00"), "interest-1-name"),
    (interest(share="2"), "interest-1-share"),
]


@pytest.mark.parametrize(("form", "field_id"), REFUSED_FIELDS)
def test_a_refused_fields_error_is_read_out_with_the_field(
    site: Site, form: dict[str, str], field_id: str
) -> None:
    # aria-describedby, not aria-errormessage alone: screen readers read the former on focus
    answer = post(site, **form)
    assert answer.status_code == 422
    shown = controls(answer.text).inputs[field_id]
    assert shown["aria-invalid"] == "true"
    described = shown["aria-describedby"].split()
    assert f"{field_id}-error" in described
    error = re.search(rf'<p class="error" id="{field_id}-error">(.*?)</p>', answer.text)
    assert error is not None and "Nothing was changed" not in error[1]
    for hint in described:  # every id it names is on the page
        assert f'id="{hint}"' in answer.text


@pytest.mark.parametrize(
    ("form", "field_id"),
    [
        ({"form": "schedule", "schedule": "\U0001f600" * 10_000, "timezone": "UTC"}, "schedule"),
        (interest(name="\U0001f600" * 10_000), "interest-1-name"),
    ],
)
def test_ten_thousand_emoji_in_a_field_are_refused_naming_the_field(
    site: Site, form: dict[str, str], field_id: str
) -> None:
    # a browser sends each emoji as 12 bytes (%F0%9F%98%80): 120 KB for these 10,000
    before = snapshot(site.app)
    answer = post(site, **form)
    assert answer.status_code == 422  # the page back, not "Too much at once"
    assert controls(answer.text).inputs[field_id]["aria-invalid"] == "true"
    assert snapshot(site.app) == before


def test_a_ten_thousand_character_value_is_not_said_back_whole(site: Site) -> None:
    answer = post(site, form="schedule", schedule="x" * 10_000, timezone="UTC")
    assert answer.status_code == 422
    banner = re.search(r'<p class="problem" role="alert">(.*?)</p>', answer.text)
    error = re.search(r'<p class="error" id="schedule-error">(.*?)</p>', answer.text)
    assert banner is not None and error is not None
    for said in (text(banner[1]), text(error[1])):
        assert "Schedule: cannot read schedule 'xxxx" in said and len(said) < 400
    assert answer.text.count("x" * 10_000) == 1  # in the field, to correct


BAD_INTERESTS = [
    ({"share": "1.5"}, "interest 2.share", 'name = "Speech"\nphrases = ["speech"]\nshare = 1.5'),
    ({"share": "lots"}, "interest 2.share", 'name = "Speech"\nphrases = ["s"]\nshare = "lots"'),
    ({"share": "0"}, "interest 2.share", 'name = "Speech"\nphrases = ["speech"]\nshare = 0'),
    (
        {"share": "9" * 400},
        "interest 2.share",
        f'name = "Speech"\nphrases = ["speech"]\nshare = {"9" * 400}',
    ),
    ({"share": "0.6"}, "interest", 'name = "Speech"\nphrases = ["speech"]\nshare = 0.6'),
    ({"name": "  "}, "interest 2.name", 'name = "  "\nphrases = ["speech"]'),
    ({"name": "graphs"}, "interest 2.name", 'name = "graphs"\nphrases = ["speech"]'),
    ({"phrases": "\n"}, "interest 2.phrases", 'name = "Speech"\nphrases = []'),
    (
        {"authors": "Smith"},
        "interest 2.authors",
        'name = "S"\nphrases = ["s"]\nauthors = ["Smith"]',
    ),
    ({"must": "--"}, "interest 2.must", 'name = "Speech"\nphrases = ["speech"]\nmust = ["--"]'),
]


@pytest.mark.parametrize(("form", "name", "toml"), BAD_INTERESTS)
def test_a_bad_named_interest_is_refused_in_subscribes_words_naming_the_field(
    site: Site, tmp_path: Path, form: dict[str, str], name: str, toml: str
) -> None:
    graphs = '[[interest]]\nname = "Graphs"\nphrases = ["graph neural networks"]\nshare = 0.5\n'
    refused = subscribe_refused(
        site, tmp_path, f'email = "{EMAIL}"\n{graphs}\n[[interest]]\n{toml}\n'
    )
    assert refused.field == name
    post(site, **interest(name="Graphs", phrases="graph neural networks", share="0.5"))
    before = snapshot(site.app)
    answer = post(site, **interest(**form))
    assert answer.status_code == 422
    shown, label = text(answer.text), web.FIELD_LABELS.get(name, name)
    assert f"Nothing was changed. {label}: {refused.message}" in shown
    assert f"{label}: {refused.message}" in text(answer.text.split('class="error"')[1])
    assert f'href="#{name.replace(" ", "-").replace(".", "-")}"' in answer.text
    found = controls(answer.text)
    for field_name, value in form.items():  # shown back in the form it came from, to correct
        assert found.inputs[f"interest-2-{field_name}"].get("value", value) == value
    if "." in name:
        assert found.inputs[name.replace(" ", "-").replace(".", "-")]["aria-invalid"] == "true"
    assert snapshot(site.app) == before


def test_a_bad_interest_sent_without_some_fields_is_shown_back_with_them_empty(site: Site) -> None:
    # a form made by hand, without share, authors and must (the page answered a 500)
    before = snapshot(site.app)
    for number in ("new", "1"):
        if number == "1":
            post(site, **interest(name="Graphs", phrases="graph neural networks"))
            before = snapshot(site.app)
        answer = post(site, form="interest", number=number, name="Speech\x00", phrases="speech")
        assert answer.status_code == 422, number
        shown = text(answer.text)
        assert "Nothing was changed. interest 1.name: control character '\\x00'" in shown, number
        found = controls(answer.text)  # the one interest, or the new one after none
        assert found.inputs["interest-1-share"].get("value", "") == "", number
        assert found.inputs["interest-1-name"]["aria-invalid"] == "true", number
        assert snapshot(site.app) == before


def test_followed_authors_and_must_not_words_are_saved_shown_back_and_keep_papers_out(
    site: Site, clock: Clock
) -> None:
    clock.now += timedelta(minutes=1)
    saved = post(site, form="follows", authors="Ada Lovelace\nJ. Smith", must_not="night\n")
    assert saved.status_code == 200
    assert "Saved: you follow 2 authors, and 1 word keep papers out." in text(saved.text)
    user = site.app.subscriber(EMAIL)
    assert (user.authors, user.must_not) == (["Ada Lovelace", "J. Smith"], ["night"])
    assert "J. Smith" in saved.text.split('id="authors"')[1].split("</textarea>")[0]
    assert trained_for(site.app) == clock.now
    titles = [r.title for r in site.app.recommend(EMAIL, top=20)]
    assert titles and not any("Night" in title for title in titles)


@pytest.mark.parametrize(
    ("form", "name", "toml"),
    [
        ({"authors": "Lovelace", "must_not": ""}, "authors", 'authors = ["Lovelace"]'),
        ({"authors": "", "must_not": "?!"}, "must_not", 'must_not = ["?!"]'),
    ],
)
def test_a_bad_author_or_must_not_word_is_refused_naming_the_field_and_nothing_changes(
    site: Site, tmp_path: Path, form: dict[str, str], name: str, toml: str
) -> None:
    refused = subscribe_refused(site, tmp_path, f'email = "{EMAIL}"\n{toml}\n')
    assert refused.field == name
    before = snapshot(site.app)
    answer = post(site, form="follows", **form)
    assert answer.status_code == 422
    label = web.FIELD_LABELS[name]
    assert f"Nothing was changed. {label}: {refused.message}" in text(answer.text)
    assert controls(answer.text).inputs[name]["aria-invalid"] == "true"
    assert form[name] in answer.text.split(f'id="{name}"')[1].split("</textarea>")[0]
    assert snapshot(site.app) == before


def test_the_plain_interests_are_checked_as_a_profile_is(site: Site, clock: Clock) -> None:
    clock.now += timedelta(minutes=1)
    saved = post(site, form="interests", interests="speech  recognition\n\nasr\n")
    assert saved.status_code == 200
    assert site.app.subscriber(EMAIL).interests == ["speech recognition", "asr"]
    assert trained_for(site.app) == clock.now
    before = snapshot(site.app)
    too_many = post(site, form="interests", interests="\n".join(["x"] * 201))
    assert too_many.status_code == 422
    assert "Interests: at most 200 entries, not 201" in text(too_many.text)
    assert snapshot(site.app) == before


def test_liked_papers_are_saved_from_the_page_and_count_as_the_papers_they_name(
    site: Site, clock: Clock
) -> None:
    liked = TOPICS["speech"][0]
    before = [r.title for r in site.app.recommend(EMAIL, top=9)]
    assert liked in before  # the premise: a paper the catalogue has, not yet liked
    clock.now += timedelta(minutes=1)
    form = {"form": "interests", "interests": "graph neural networks"}
    saved = post(site, **form, liked=f"  {liked.lower()} \n\n2401.01234\n")
    assert saved.status_code == 200, text(saved.text)
    assert "Your interests are saved" in text(saved.text)
    assert site.app.subscriber(EMAIL).liked == [liked.lower(), "2401.01234"]
    assert trained_for(site.app) == clock.now  # the model learned them at once
    after = [r.title for r in site.app.recommend(EMAIL, top=9)]
    assert liked not in after  # it names that paper: never sent back
    # the other speech papers rise: it counts as the paper, with all it has
    speech = TOPICS["speech"][1:]
    assert max(after.index(t) for t in speech) < max(before.index(t) for t in speech)
    assert f"{liked.lower()}\n2401.01234</textarea>" in saved.text
    state = snapshot(site.app)
    too_many = post(site, **form, liked="\n".join(f"paper {n}" for n in range(201)))
    assert too_many.status_code == 422
    assert "Papers you like: at most 200 entries, not 201" in text(too_many.text)
    assert snapshot(site.app) == state


def test_every_interest_control_has_a_visible_label_and_worded_buttons(site: Site) -> None:
    post(site, **interest(share="0.3"))
    with httpx.Client(timeout=10) as client:
        page = client.get(site.urls["manage"])
    found = controls(page.text)
    fields = ("name", "phrases", "share", "authors", "must")
    assert {f"interest-{n}-{f}" for n in (1, 2) for f in fields} | {"authors", "must_not"} <= set(
        found.inputs
    )
    assert found.unnamed == [] and set(found.inputs) <= found.labelled
    words = {"Save this interest", "Remove this interest", "Add interest"}
    assert words | {"Save authors and words"} <= set(found.buttons)
    assert "Share of each digest, from 0 to 1" in text(page.text)


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


def test_an_interest_the_others_shares_leave_nothing_is_told_so(site: Site) -> None:
    post(site, **interest(share="1"))
    second = post(site, **interest(name="Graphs", phrases="graph neural networks"))
    assert second.status_code == 200
    assert "the others' shares leave it no slots of its own" in text(second.text)
    assert [t["share"] for t in site.app.subscriber(EMAIL).topics] == [1.0, 0.0]
