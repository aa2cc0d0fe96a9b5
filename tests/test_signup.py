"""Sign-up's pure parts: the form's rules and the rate limits' decision; and the limits held
by sign-ups racing from several connections at once."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from recommender import render, resources, signup, signup_mail
from recommender.config import Settings
from recommender.core import Recommender, SignupClosed, SignupLimited
from recommender.profiles import ProfileError
from tests.clock import NOW, Clock
from tests.concurrency import at_once
from tests.mail import smtp_settings
from tests.mailserver import MailServer


def test_the_form_gives_a_profile_with_one_interest_a_line() -> None:
    profile = signup.parse_form(" Grace@Example.org ", " Grace ", "speech\r\n\n  speaker   id \n")
    assert (profile.email, profile.name, profile.interests) == (
        "grace@example.org",
        "Grace",
        ("speech", "speaker id"),
    )


@pytest.mark.parametrize(
    ("form", "field"),
    [
        (("", "", "speech"), "email"),
        (("grace@", "", "speech"), "email"),
        (("grace@example.org", "a\x00b", "speech"), "name"),
        (("grace@example.org", "x" * 201, "speech"), "name"),
        (("grace@example.org", "", ""), "interests"),
        (("grace@example.org", "", "\n".join(["topic"] * 31)), "interests"),
    ],
)
def test_a_bad_form_is_refused_naming_the_field(form: tuple[str, str, str], field: str) -> None:
    with pytest.raises(ProfileError) as refused:
        signup.parse_form(*form)
    assert refused.value.field == field
    assert str(refused.value).startswith(f"sign-up form: field {field!r}: ")


def test_every_bad_field_of_the_form_is_named_at_once_in_the_forms_order() -> None:
    with pytest.raises(signup.FormProblems) as refused:
        signup.parse_form("grace@", "a\x00b", "", "ok\n" + "x" * 301)
    assert list(refused.value.problems) == ["email", "name", "interests", "liked"]
    assert refused.value.problems["interests"] == "write at least one interest, one per line"
    assert refused.value.field == "email"  # as a ProfileError: the first
    # one bad field among good ones is named alone
    with pytest.raises(signup.FormProblems) as refused:
        signup.parse_form("grace@example.org", "Grace", "speech", "x" * 301)
    assert list(refused.value.problems) == ["liked"]


def test_a_limit_refuses_only_when_reached_and_says_when_it_lifts() -> None:
    hour = timedelta(hours=1)
    assert signup.refusal([NOW - hour, NOW - hour / 2], [], 3, 10, NOW) is None
    limited = signup.refusal([NOW - 3 * hour, NOW - hour, NOW], [], 3, 10, NOW)
    assert limited is not None and limited.scope == "address"
    assert limited.retry_after == timedelta(hours=21)  # when the oldest is a day old
    by_client = signup.refusal([], [NOW - hour / 4] * 10, 3, 10, NOW)
    assert by_client is not None and by_client.scope == "client"
    assert by_client.retry_after == 3 * hour / 4


def test_the_client_is_kept_as_a_keyed_hash() -> None:
    key = signup.client_key("s" * 32, "203.0.113.9")
    assert "203" not in key and len(key) == 64
    assert key != signup.client_key("t" * 32, "203.0.113.9")


def test_sign_up_is_refused_by_the_facade_too_when_off(settings: Settings) -> None:
    with Recommender(settings) as app, pytest.raises(SignupClosed):
        app.pages.sign_up("grace@example.org", "", "speech", client="192.0.2.1")


def test_sign_ups_racing_from_many_connections_pass_the_limit_no_more_often_than_it_allows(
    settings: Settings, mail_server: MailServer, clock: Clock
) -> None:
    configured = replace(smtp_settings(settings, mail_server), signup=True)
    with Recommender(configured, clock=clock) as first:
        first.init()

    def work(ready) -> bool:  # type: ignore[no-untyped-def]
        with Recommender(configured, clock=clock) as app:
            app.init()
            ready()
            try:
                app.pages.sign_up("grace@example.org", "", "speech", client="192.0.2.1")
            except SignupLimited:
                return False
            return True

    assert sorted(at_once(work, count=6)) == [False] * 3 + [True] * 3
    assert len(mail_server.received) == 3


def test_a_confirm_mail_to_a_name_holding_an_encoded_word_goes_to_the_address_alone() -> None:
    # Profiles refuse such a name; the mail does not count on that. Decoded, this name is
    # "Eve\r\nTo: evil@attacker.example": a header of its own if the To line carried it.
    mail = signup_mail.SignupMail(
        "victim@example.org",
        "=?utf-8?b?RXZlDQpUbzogZXZpbEBhdHRhY2tlci5leGFtcGxl?=",
        ["speech recognition"],
        confirm_url="https://papers.example.org/signup/confirm/t",
    )
    templates = render.Templates(resources.templates_dir())
    outgoing = signup_mail.compose(templates, mail, mail_from="papers@example.org", now=NOW)
    assert outgoing.recipients == ("victim@example.org",)
    headers = outgoing.raw.split(b"\r\n\r\n", 1)[0]
    assert b"evil@attacker.example" not in headers
    assert b"\r\nTo: victim@example.org\r\n" in headers
