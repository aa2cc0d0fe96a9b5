"""Sign-up over real HTTP, double opt-in: the confirmation mail is caught by a real SMTP server,
and the subscriber exists only once the link's page is confirmed with a POST. The last tests
do it in a real browser, on a phone-wide screen, by keyboard."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest
from sqlalchemy import select

from recommender import profiles, web
from recommender.config import Settings
from recommender.core import Recommender, SignupLimited, SubscriberNotFound
from recommender.store.models import Base
from tests.catalogue import EMAIL, profile, topical_dump
from tests.clock import Clock
from tests.loopback import reserved_port, serving_app
from tests.mail import hrefs, parts, smtp_settings
from tests.mailserver import MailServer

if TYPE_CHECKING:  # the browser tests skip (or, in CI, fail) without Playwright: see chromium
    from playwright.sync_api import Browser, Page

NEW = "grace@example.org"
FORM = {"email": NEW, "name": "Grace", "interests": "speech recognition\n\nspeaker diarization\n"}


@dataclass
class Site:
    app: Recommender
    base: str
    mail: MailServer
    clock: Clock

    def mail_text(self, index: int = -1) -> str:
        return parts(self.mail.received[index].message)[0]

    def confirm_url(self, index: int = -1) -> str:
        """The confirm link in the ``index``-th mail the SMTP server received."""
        found = re.findall(rf"{re.escape(self.base)}/signup/confirm/\S+", self.mail_text(index))
        assert len(found) == 1
        return found[0]

    def subscribers(self) -> list[str]:
        return [s.email for s in self.app.subscribers()]


def site_of(
    settings: Settings, mail_server: MailServer, clock: Clock, **more: object
) -> Iterator[Site]:
    port = reserved_port()
    base = f"http://127.0.0.1:{port}"
    configured = replace(smtp_settings(settings, mail_server), base_url=base, **more)  # type: ignore[arg-type]
    with Recommender(configured, clock=clock) as app, serving_app(app, port):
        app.init()
        yield Site(app, base, mail_server, clock)


@pytest.fixture
def site(settings: Settings, mail_server: MailServer, clock: Clock) -> Iterator[Site]:
    """The web endpoints on loopback with sign-up on, mailing the test SMTP server."""
    yield from site_of(settings, mail_server, clock, signup=True)


@pytest.fixture
def closed_site(settings: Settings, mail_server: MailServer, clock: Clock) -> Iterator[Site]:
    """The same, with the settings as they come: sign-up off."""
    yield from site_of(settings, mail_server, clock)


def snapshot(app: Recommender) -> dict[str, list[str]]:
    """Every row of every table, to tell whether a request changed anything at all."""
    with app.engine.connect() as connection:
        return {
            table.name: sorted(repr(tuple(row)) for row in connection.execute(select(table)))
            for table in Base.metadata.sorted_tables
        }


def sign_up(client: httpx.Client, site: Site, **form: str) -> httpx.Response:
    return client.post(f"{site.base}/signup", data={**FORM, **form})


def test_the_form_labels_every_field_and_fits_a_phone(site: Site) -> None:
    page = httpx.get(f"{site.base}/signup").text
    for name in ("email", "name", "interests", "liked"):
        assert re.search(rf'<label for="{name}">[^<]+</label>', page), name
        assert f'id="{name}" name="{name}"' in page
    assert 'name="viewport" content="width=device-width' in page
    assert "width: 100%; box-sizing: border-box" in page  # inputs never wider than the screen
    assert 'method="post" action="/signup"' in page


def test_a_confirmed_sign_up_makes_one_subscriber(site: Site) -> None:
    with httpx.Client(timeout=10) as client:
        asked = sign_up(client, site)
        assert asked.status_code == 200 and "Look in your inbox" in asked.text
        assert NEW not in site.subscribers()
        (mail,) = site.mail.received
        assert mail.rcpt_tos == [NEW]
        assert mail.message["Subject"] == "Confirm your paper digest"
        assert "speaker diarization" in site.mail_text()
        url = site.confirm_url()
        assert url in hrefs(parts(mail.message)[1])

        before = snapshot(site.app)
        for method in ("GET", "HEAD"):
            assert client.request(method, url).status_code == 200
        page = client.get(url).text
        assert (
            "Confirm my subscription" in page and 'method="post" action="/signup/confirm/' in page
        )
        assert snapshot(site.app) == before
        assert NEW not in site.subscribers()

        done = client.post(url)
        assert done.status_code == 200 and "You are subscribed" in done.text
        grace = site.app.subscriber(NEW)
        assert (grace.name, grace.interests, grace.active) == (
            "Grace",
            ["speech recognition", "speaker diarization"],
            True,
        )
        again = client.post(url)
        assert again.status_code == 200 and "subscribed already" in again.text
        assert site.subscribers().count(NEW) == 1
        assert "nothing left to confirm" in client.get(url).text
    assert len(site.mail.received) == 1  # confirming sends nothing


def test_the_page_after_signing_up_names_the_address_mailed_as_it_is_stored(site: Site) -> None:
    typed = "  " + NEW.upper() + " "
    with httpx.Client(timeout=10) as client:
        asked = sign_up(client, site, email=typed)
    assert asked.status_code == 200 and "Look in your inbox" in asked.text
    (mail,) = site.mail.received
    assert mail.rcpt_tos == [NEW]
    assert f"We sent a mail to {NEW}." in asked.text and NEW.upper() not in asked.text


def test_free_text_fields_follow_the_direction_of_what_is_written_in_them(site: Site) -> None:
    page = httpx.get(f"{site.base}/signup").text
    for name in ("name", "interests", "liked"):
        assert re.search(
            rf'<(input|textarea) [^>]*dir="auto"[^>]* id="{name}"|id="{name}"[^>]* dir="auto"', page
        ), name
    assert not re.search(r'id="email"[^>]* dir="auto"', page)


def test_papers_liked_on_the_form_are_the_new_subscribers_liked_papers(site: Site) -> None:
    liked = "Speech Recognition with Streaming Transducers\n\n  2401.01234 \n"
    with httpx.Client(timeout=10) as client:
        assert sign_up(client, site, liked=liked).status_code == 200
        url = site.confirm_url()
        page = client.get(url).text
        assert "starting from the 2 papers you like" in page
        assert client.post(url).status_code == 200
    grace = site.app.subscriber(NEW)
    assert grace.liked == ["Speech Recognition with Streaming Transducers", "2401.01234"]
    assert grace.interests == ["speech recognition", "speaker diarization"]


def test_digests_go_to_a_signed_up_address_only_once_it_confirms(
    site: Site, tmp_path: Path
) -> None:
    site.app.ingest([topical_dump(tmp_path / "d.txt")])
    site.app.subscribe(profile(tmp_path))
    with httpx.Client(timeout=10) as client:
        sign_up(client, site)
    site.app.send()

    def digests() -> list[list[str]]:
        return [m.rcpt_tos for m in site.mail.received if m.message["List-Unsubscribe"]]

    assert digests() == [[EMAIL]]
    with httpx.Client(timeout=10) as client:
        client.post(site.confirm_url(0))
    site.app.send()
    assert digests() == [[EMAIL], [NEW]]


def test_a_pending_sign_up_outlives_the_process_that_took_it(
    site: Site, settings: Settings
) -> None:
    with httpx.Client(timeout=10) as client:
        sign_up(client, site)
    token = site.confirm_url().rsplit("/", 1)[1]
    with Recommender(site.app.settings, clock=site.clock) as restarted:
        assert restarted.pages.confirm_signup_link(token).created
        assert not restarted.pages.confirm_signup_link(token).created
    assert site.subscribers().count(NEW) == 1


INJECTING_NAME = "=?utf-8?b?RXZlDQpUbzogZXZpbEBhdHRhY2tlci5leGFtcGxl?="


def profile_error(**fields: object) -> str:
    """The message ``subscribe`` gives for a profile with these fields."""
    with pytest.raises(profiles.ProfileError) as caught:
        profiles.parse_profile(fields)
    return caught.value.message


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("email", "not-an-address", profile_error(email="not-an-address")),
        ("email", "", profile_error(email="")),
        ("name", "Grace\u202eHopper", profile_error(email=NEW, name="Grace\u202eHopper")),
        # an encoded word of "Eve\r\nTo: evil@attacker.example", which a To line would decode
        ("name", INJECTING_NAME, profile_error(email=NEW, name=INJECTING_NAME)),
        ("interests", "\n  \n", "write at least one interest, one per line"),
        ("interests", "x" * 201, "interest 1 has 201 characters; at most 200 each"),
        ("liked", "\n".join(["x"] * 201), "at most 200 entries, not 201"),
        ("liked", "ok\nx\x00y", "item 2 has the control character '\\x00'"),
        (
            "liked",
            "ok\n" + "x" * 301,
            "paper 2 has 301 characters; at most 300 each (a title or an arXiv id)",
        ),
    ],
    ids=[
        "no-at-sign",
        "empty-email",
        "bidi-name",
        "encoded-word-name",
        "no-interests",
        "long-interest",
        "too-many-liked",
        "nul-in-liked",
        "long-liked",
    ],
)
def test_a_bad_field_is_refused_by_name_with_the_message_of_subscribe(
    site: Site, field: str, value: str, message: str
) -> None:
    before = snapshot(site.app)
    with httpx.Client(timeout=10) as client:
        refused = sign_up(client, site, **{field: value})
    assert refused.status_code == 400
    error = re.search(
        rf'<p id="{field}-error" class="error" role="alert">([^<]*)</p>', refused.text
    )
    assert error is not None, refused.text
    assert html.unescape(error[1]) == f"{web.SIGNUP_LABELS[field]}: {message}"
    assert f'id="{field}" name="{field}"' in refused.text  # the form is shown again, filled
    assert snapshot(site.app) == before
    assert site.mail.received == []


# 10,000 characters of a 4-byte script: a browser sends each as 12 bytes (%F0%9F%98%80).
TEN_THOUSAND_EMOJI = "\U0001f600" * 10_000


@pytest.mark.parametrize("field", ["email", "name", "interests", "liked"])
def test_ten_thousand_emoji_in_a_field_are_refused_naming_the_field(site: Site, field: str) -> None:
    before = snapshot(site.app)
    with httpx.Client(timeout=10) as client:
        refused = sign_up(client, site, **{field: TEN_THOUSAND_EMOJI})
    assert refused.status_code == 400  # the form back, not "Too much at once"
    error = re.search(rf'<p id="{field}-error" class="error"[^>]*>([^<]*)</p>', refused.text)
    assert error is not None
    assert html.unescape(error[1]).startswith(f"{web.SIGNUP_LABELS[field]}: ")
    assert snapshot(site.app) == before
    assert site.mail.received == []


def test_a_ten_thousand_character_address_is_not_said_back_whole(site: Site) -> None:
    # the field holds it whole; said again in full, it buried the form under 270 lines
    with httpx.Client(timeout=10) as client:
        refused = sign_up(client, site, email="a" * 10_000)
    assert refused.status_code == 400
    error = re.search(r'<p id="email-error" class="error"[^>]*>([^<]*)</p>', refused.text)
    assert error is not None
    said = html.unescape(error[1])
    assert said.startswith("Email address: 'aaaa") and "is not a valid email address" in said
    assert len(said) < 400
    assert refused.text.count("a" * 10_000) == 1  # in the field, to correct


def test_every_bad_field_is_shown_under_it_at_once_keeping_what_was_typed(site: Site) -> None:
    typed = {"email": "grace@", "name": "Grace <b>", "interests": "", "liked": "ok\n" + "x" * 301}
    with httpx.Client(timeout=10) as client:
        refused = client.post(f"{site.base}/signup", data=typed)
    assert refused.status_code == 400
    errors = dict(re.findall(r'<p id="(\w+)-error" class="error"[^>]*>([^<]*)</p>', refused.text))
    assert list(errors) == ["email", "interests", "liked"]  # the name is a good one
    for field, error in errors.items():
        assert html.unescape(error).startswith(f"{web.SIGNUP_LABELS[field]}: "), field
        assert f'aria-describedby="{field}-help {field}-error" aria-invalid="true"' in refused.text
    # one announcement, for the first; the first has the focus
    page = refused.text
    assert page.count('role="alert"') == 1 and 'id="email-error" class="error" role' in page
    assert page.count(" autofocus") == 1 and re.search(r'id="email"[^>]* autofocus', page)
    assert 'value="Grace &lt;b&gt;"' in page and "ok\n" + "x" * 301 in page
    assert site.subscribers() == [] and site.mail.received == []


def test_sign_up_is_off_by_default(closed_site: Site) -> None:
    assert Settings(home=Path("x"), database_url="sqlite://").signup is False
    with httpx.Client(timeout=10) as client:
        closed = client.get(f"{closed_site.base}/signup")
        assert closed.status_code == 404 and "<h1>Page not found</h1>" in closed.text
        assert client.post(f"{closed_site.base}/signup", data=FORM).status_code == 404
        assert client.get(f"{closed_site.base}/signup/confirm/anything").status_code == 404
        assert client.post(f"{closed_site.base}/signup/confirm/anything").status_code == 404
    assert closed_site.mail.received == [] and closed_site.subscribers() == []


def test_a_fourth_sign_up_of_one_address_in_a_day_is_refused(site: Site) -> None:
    with httpx.Client(timeout=10) as client:
        for _ in range(3):
            assert sign_up(client, site).status_code == 200
        before = snapshot(site.app)
        refused = sign_up(client, site, email=NEW.upper())  # the same address
        assert refused.status_code == 429
        assert "Too many sign-ups" in refused.text and "Nothing was changed" in refused.text
        assert 0 < int(refused.headers["retry-after"]) <= 24 * 3600
        assert snapshot(site.app) == before
        assert len(site.mail.received) == 3
        assert sign_up(client, site, email="other@example.org").status_code == 200
        site.clock.now += timedelta(days=1)
        assert sign_up(client, site).status_code == 200
    assert len(site.mail.received) == 5


def test_an_eleventh_sign_up_from_one_client_in_an_hour_is_refused(site: Site) -> None:
    with httpx.Client(timeout=10) as client:
        for n in range(10):
            assert sign_up(client, site, email=f"reader{n}@example.org").status_code == 200
        refused = sign_up(client, site, email="reader10@example.org")
        assert refused.status_code == 429 and "your network" in refused.text
        # uvicorn takes the client from X-Forwarded-For when a proxy on loopback sends it
        elsewhere = {"X-Forwarded-For": "203.0.113.9"}
        other = client.post(
            f"{site.base}/signup", data={**FORM, "email": "x@example.org"}, headers=elsewhere
        )
        assert other.status_code == 200
        site.clock.now += timedelta(hours=1)
        assert sign_up(client, site, email="reader10@example.org").status_code == 200
    assert len(site.mail.received) == 12


def test_the_limits_count_the_sign_ups_of_every_process_on_the_database(site: Site) -> None:
    site.app.pages.sign_up(NEW, "", "speech", client="192.0.2.1")
    with Recommender(site.app.settings, clock=site.clock) as other:
        other.pages.sign_up(NEW, "", "speech", client="192.0.2.2")
        site.app.pages.sign_up(NEW, "", "speech", client="192.0.2.3")
        with pytest.raises(SignupLimited) as limited:
            other.pages.sign_up(NEW, "", "speech", client="192.0.2.4")
    assert limited.value.scope == "address"


def test_an_expired_or_forged_confirm_link_gets_a_friendly_page(site: Site) -> None:
    with httpx.Client(timeout=10) as client:
        sign_up(client, site)
        url = site.confirm_url()
        forged = url[:-3] + ("AAA" if not url.endswith("AAA") else "BBB")
        before = snapshot(site.app)
        for method in ("GET", "POST"):
            bad = client.request(method, forged)
            assert bad.status_code == 400 and "does not work" in bad.text
        site.clock.now += timedelta(days=2, seconds=1)
        for method in ("GET", "POST"):
            old = client.request(method, url)
            assert old.status_code == 410 and "has expired" in old.text
            assert 'href="/signup"' in old.text
        assert snapshot(site.app) == before
    with pytest.raises(SubscriberNotFound):
        site.app.subscriber(NEW)


def test_signing_up_a_subscribed_address_mails_its_manage_link_and_changes_nothing(
    site: Site, tmp_path: Path
) -> None:
    site.app.subscribe(profile(tmp_path))
    before = site.app.subscriber(EMAIL)
    with httpx.Client(timeout=10) as client:
        known = sign_up(client, site, email=EMAIL, name="Mallory", interests="knitting")
        fresh = sign_up(client, site)
    # the page says the same for a known address as for a new one
    assert known.status_code == fresh.status_code == 200
    assert known.text.replace(EMAIL, NEW) == fresh.text
    (mail, _) = site.mail.received
    assert mail.rcpt_tos == [EMAIL]
    text = parts(mail.message)[0]
    assert f"{site.base}/manage/" in text and "/signup/confirm/" not in text
    assert "Mallory" not in text and "knitting" not in text
    assert site.app.subscriber(EMAIL) == before


def test_a_cross_site_post_is_refused_and_changes_nothing(site: Site) -> None:
    with httpx.Client(timeout=10) as client:
        sign_up(client, site)
        url = site.confirm_url()
        before = snapshot(site.app)
        evil = {"Origin": "https://evil.example"}
        assert client.post(f"{site.base}/signup", data=FORM, headers=evil).status_code == 403
        assert client.post(url, headers=evil).status_code == 403
        assert snapshot(site.app) == before
    assert len(site.mail.received) == 1


def test_a_sign_up_with_a_field_sent_twice_is_refused_naming_it_and_mails_nothing(
    site: Site,
) -> None:
    before = snapshot(site.app)
    with httpx.Client(timeout=10) as client:
        for field, values in (("email", [NEW, "other@example.org"]), ("liked", ["a", "b"])):
            sent = client.post(f"{site.base}/signup", data={**FORM, field: values})
            assert sent.status_code == 400, field
            said = html.unescape(sent.text)
            assert f"The field '{field}' was sent more than once" in said, field
            assert "Nothing was changed." in said, field
    assert snapshot(site.app) == before
    assert site.mail.received == []


def test_an_unsubscribed_address_that_signs_up_gets_a_link_to_start_again(
    site: Site, tmp_path: Path
) -> None:
    site.app.subscribe(profile(tmp_path))
    site.app.unsubscribe(EMAIL)
    with httpx.Client(timeout=10) as client:
        assert sign_up(client, site, email=EMAIL).status_code == 200
        text = site.mail_text()
        assert f"{site.base}/manage/" in text
        again = re.search(rf"{re.escape(site.base)}/unsubscribe/\S+", text)
        assert again is not None and "Start them again" in text
        assert not site.app.subscriber(
            EMAIL
        ).active  # the mail changed nothing; its page asks first
        assert "Subscribe again" in client.get(again[0]).text


# What the mail to an address subscribed already says, by the state of its subscription: its
# subject's end, and its heading (the first line of its text part).
KNOWN_ADDRESS_MAILS = {
    "active": ("you are subscribed already", "You are subscribed already"),
    "paused": ("your digests are paused; resume them", "Your digests are paused"),
    "unsubscribed": ("your digests are stopped; start them again", "Your digests are stopped"),
}


@pytest.mark.parametrize(
    ("state", "paused", "unsubscribed"),
    [
        ("active", False, False),
        ("paused", True, False),
        ("unsubscribed", False, True),
        ("unsubscribed", True, True),
    ],
)
def test_the_mail_to_a_subscribed_address_says_whether_its_digests_go_out(
    site: Site, tmp_path: Path, state: str, paused: bool, unsubscribed: bool
) -> None:
    site.app.subscribe(profile(tmp_path))
    if paused:
        site.app.pause(EMAIL)
    if unsubscribed:
        site.app.unsubscribe(EMAIL)
    before = site.app.subscriber(EMAIL)
    with httpx.Client(timeout=10) as client:
        assert sign_up(client, site, email=EMAIL).status_code == 200
    (mail,) = site.mail.received
    subject, heading = KNOWN_ADDRESS_MAILS[state]
    assert mail.message["Subject"] == f"Your paper digest: {subject}"
    text, html_part = parts(mail.message)
    assert text.splitlines()[0] == heading
    assert f">{heading}</h1>" in html_part
    for said in (" ".join(part.split()) for part in (text, html.unescape(html_part))):
        assert ("subscribed already" in said) == (state == "active")
        assert ("which has one already" in said) == (state != "unsubscribed")
        assert ("Start them again" in said) == unsubscribed
        assert ('press "Resume digests" on your manage page' in said) == paused
        assert f"{site.base}/manage/" in said
    assert site.app.subscriber(EMAIL) == before


def test_a_paused_address_that_signs_up_is_sent_to_the_button_that_resumes_it(
    site: Site, tmp_path: Path
) -> None:
    site.app.subscribe(profile(tmp_path))
    site.app.pause(EMAIL)
    with httpx.Client(timeout=10) as client:
        assert sign_up(client, site, email=EMAIL).status_code == 200
        (manage,) = re.findall(rf"{re.escape(site.base)}/manage/\S+", site.mail_text())
        page = client.get(manage).text
    assert "Resume digests</button>" in page
    assert site.app.subscriber(EMAIL).paused  # the mail changed nothing; the page asks first


def test_a_mail_server_that_refuses_gets_a_page_to_try_again(site: Site) -> None:
    site.mail.inbox.refuse_next("451 4.3.0 try again later")
    with httpx.Client(timeout=10) as client:
        failed = sign_up(client, site)
    assert failed.status_code == 503
    assert "could not be sent" in failed.text and 'value="grace@example.org"' in failed.text
    assert site.mail.received == [] and NEW not in site.subscribers()


def test_a_non_ascii_address_and_name_sign_up_and_confirm(site: Site) -> None:
    address = "grâce@exämple.org"
    with httpx.Client(timeout=10) as client:
        assert sign_up(client, site, email=address, name="Grâce Höpper").status_code == 200
        (mail,) = site.mail.received
        assert mail.rcpt_tos == [address]
        assert client.post(site.confirm_url()).status_code == 200
    assert site.app.subscriber(address).name == "Grâce Höpper"


# -- in a real browser: Debian's Chromium, driven by Playwright ---------------------------------
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def browser(chromium: Browser) -> Browser:
    """The suite's one Chromium (:mod:`tests.browser.fixtures`)."""
    return chromium


def scrolls_sideways(page: Page) -> bool:
    return bool(
        page.evaluate("document.documentElement.scrollWidth > document.documentElement.clientWidth")
    )


def test_signing_up_on_a_phone_by_keyboard_alone(browser: Browser, site: Site) -> None:
    page = browser.new_page(viewport=PHONE)
    try:
        page.goto(f"{site.base}/signup")
        assert not scrolls_sideways(page)
        order = []
        for _ in range(5):
            page.keyboard.press("Tab")
            order.append(
                page.evaluate("document.activeElement.id || document.activeElement.textContent")
            )
        assert order == ["email", "name", "interests", "liked", "Sign up"]
        # every field is found by its visible label
        page.get_by_label("Email address").fill("not an address")
        page.get_by_label("Name (optional)").fill("Grace")
        page.get_by_label("Interests").fill("speech recognition\nspeaker diarization")
        page.get_by_label("Papers you like (optional)").fill("2401.01234")
        page.get_by_label("Papers you like (optional)").press("Tab")
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert page.get_by_role("alert").inner_text().startswith("Email address: ")
        assert page.get_by_label("Email address").get_attribute("aria-invalid") == "true"
        assert not scrolls_sideways(page)
        assert site.mail.received == []

        page.get_by_label("Email address").fill(NEW)
        page.get_by_role("button", name="Sign up").focus()
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert page.get_by_role("heading", name="Look in your inbox").is_visible()
        assert NEW not in site.subscribers()

        page.goto(site.confirm_url())
        assert not scrolls_sideways(page)
        assert NEW not in site.subscribers()
        page.get_by_role("button", name="Confirm my subscription").focus()
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert page.get_by_role("heading", name="You are subscribed").is_visible()
        assert not scrolls_sideways(page)
        assert site.app.subscriber(NEW).liked == ["2401.01234"]
    finally:
        page.close()
    assert site.app.subscriber(NEW).interests == ["speech recognition", "speaker diarization"]


def test_the_pages_fit_a_phone_with_long_words(browser: Browser, site: Site) -> None:
    page = browser.new_page(viewport=PHONE)
    try:
        page.goto(f"{site.base}/signup")
        # an address too long to be one, repeated whole in the error message
        page.get_by_label("Email address").fill("a" * 90)
        page.get_by_label("Interests").fill("x" * 300)
        with page.expect_navigation():
            page.get_by_role("button", name="Sign up").click()
        assert "a" * 90 in page.get_by_role("alert").inner_text()
        assert not scrolls_sideways(page)

        long_address = "a" * 60 + "@" + "b" * 60 + ".example.org"
        page.get_by_label("Email address").fill(long_address)
        page.get_by_label("Interests").fill("y" * 200)
        with page.expect_navigation():
            page.get_by_role("button", name="Sign up").click()
        assert long_address in page.inner_text("main")
        assert not scrolls_sideways(page)
        page.goto(site.confirm_url())
        assert "y" * 200 in page.inner_text("main")
        assert not scrolls_sideways(page)
        # and the confirmation mail, which lists the interests too
        page.set_content(parts(site.mail.received[-1].message)[1])
        assert "y" * 200 in page.inner_text("body")
        assert not scrolls_sideways(page)
    finally:
        page.close()
