"""Link tokens: signed, single-purpose and expiring; none accepted from the future; the secret."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from itsdangerous import URLSafeSerializer

from recommender import links
from tests.clock import Clock

MAKERS: dict[str, Callable[[links.Signer], str]] = {
    "rate": lambda s: s.rating(7, "2603.01234", "up"),
    "unsubscribe": lambda s: s.unsubscribe(7),
    "manage": lambda s: s.manage(7),
    "view-digest": lambda s: s.view_digest("<abc@example.org>"),
    "today": lambda s: s.today(7),
}
CHECKERS: dict[str, Callable[[links.Signer, str], object]] = {
    "rate": lambda s, t: s.check_rating(t),
    "unsubscribe": lambda s, t: s.check_subscriber("unsubscribe", t),
    "manage": lambda s, t: s.check_subscriber("manage", t),
    "view-digest": lambda s, t: s.check_digest(t),
    "today": lambda s, t: s.check_subscriber("today", t),
}
LIFETIME = {kind: links.LIFETIMES[kind] for kind in MAKERS}


@pytest.mark.parametrize("kind", MAKERS)
def test_an_old_link_of_every_kind_is_refused_as_expired(clock: Clock, kind: str) -> None:
    signer = links.Signer("s" * 32, clock=clock)
    token = MAKERS[kind](signer)
    clock.now += LIFETIME[kind] - timedelta(seconds=1)
    CHECKERS[kind](signer, token)  # still works on its last day
    clock.now += timedelta(seconds=2)
    with pytest.raises(links.TokenExpired):
        CHECKERS[kind](signer, token)


@pytest.mark.parametrize("kind", MAKERS)
def test_a_link_dated_in_the_future_is_refused_but_not_as_expired(clock: Clock, kind: str) -> None:
    later = Clock(clock.now + links.CLOCK_SKEW + timedelta(seconds=5))
    token = MAKERS[kind](links.Signer("s" * 32, clock=later))
    with pytest.raises(links.TokenInvalid) as refused:
        CHECKERS[kind](links.Signer("s" * 32, clock=clock), token)
    assert not isinstance(refused.value, links.TokenExpired)


@pytest.mark.parametrize("kind", MAKERS)
def test_a_link_from_a_clock_a_little_ahead_still_works(clock: Clock, kind: str) -> None:
    ahead = Clock(clock.now + links.CLOCK_SKEW - timedelta(seconds=5))
    token = MAKERS[kind](links.Signer("s" * 32, clock=ahead))
    CHECKERS[kind](links.Signer("s" * 32, clock=clock), token)


def _changed_signatures(token: str) -> list[str]:
    """``token`` with its signature changed in ways base64 decoding forgives: characters
    outside the alphabet added, and the last character's unused low bits set."""
    body, _, signature = token.rpartition(".")
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    last = alphabet.index(signature[-1])
    twins = [alphabet[last ^ bit] for bit in (1, 2, 3)]  # a 32-byte HMAC leaves 2 bits unused
    return [
        f"{body}.{signature[:5]}!!!{signature[5:]}",
        f"{body}.{signature}==",
        f"{body}.{signature[:5]}\u00e9{signature[5:]}",
        *(f"{body}.{signature[:-1]}{twin}" for twin in twins),
    ]


@pytest.mark.parametrize("kind", MAKERS)
def test_a_link_whose_signature_was_changed_at_all_is_refused(clock: Clock, kind: str) -> None:
    signer = links.Signer("s" * 32, clock=clock)
    token = MAKERS[kind](signer)
    CHECKERS[kind](signer, token)
    for changed in _changed_signatures(token):
        with pytest.raises(links.TokenInvalid):
            CHECKERS[kind](signer, changed)


def test_a_signed_token_with_an_impossible_issue_time_is_refused(clock: Clock) -> None:
    signer = links.Signer("s" * 32, clock=clock)
    payload = signer._serializers["manage"].dump_payload({"s": 7, "t": 10**20})
    token = signer._signers["manage"].sign(payload).decode()
    with pytest.raises(links.TokenInvalid):
        signer.check_subscriber("manage", token)


def test_links_are_signed_expiring_and_single_purpose(clock: Clock) -> None:
    signer = links.Signer("s" * 32, clock=clock)
    token = signer.rating(7, "abc", "up")
    assert signer.check_rating(token) == links.RatingToken(7, "abc", "up")
    with pytest.raises(links.TokenInvalid):
        signer.check_rating(token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1])
    with pytest.raises(links.TokenInvalid):
        signer.check_subscriber("unsubscribe", token)  # a rating link cannot unsubscribe
    with pytest.raises(links.TokenInvalid):
        links.Signer("t" * 32, clock=clock).check_rating(token)  # another installation's
    clock.now += links.LIFETIMES["rate"] + timedelta(seconds=1)
    with pytest.raises(links.TokenExpired):
        signer.check_rating(token)


def test_the_secret_is_made_once_and_readable_by_the_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "home" / "secret"
    secret = links.load_or_create_secret(path)
    assert len(secret) >= 32
    assert path.stat().st_mode & 0o777 == 0o600
    assert links.load_or_create_secret(path) == secret


def test_a_rating_token_carries_any_paper_id_and_refuses_an_unknown_vote(clock: Clock) -> None:
    signer = links.Signer("s" * 32, clock=clock)
    for paper_id in ("2511.01234", "a~b.c/d", "ünï"):
        token = signer.rating(3, paper_id, "up")
        assert signer.check_rating(token) == links.RatingToken(3, paper_id, "up")
    forged = signer._rate.sign("3~maybe~YWJj").decode()  # signed, but no vote we know
    with pytest.raises(links.TokenInvalid):
        signer.check_rating(forged)


def test_rating_and_digest_links_of_the_unreleased_json_forms_are_refused(clock: Clock) -> None:
    secret = "s" * 32
    signer = links.Signer(secret, clock=clock)
    issued = int(clock.now.timestamp())
    json_rating = URLSafeSerializer(secret, salt="recommender-rate").dumps(
        {"s": 7, "p": "abc", "v": "down", "t": issued}
    )
    with pytest.raises(links.TokenInvalid):
        signer.check_rating(json_rating)
    by_digest_id = URLSafeSerializer(secret, salt="recommender-view-digest").dumps(
        {"d": 12, "t": issued}
    )
    with pytest.raises(links.TokenInvalid):
        signer.check_digest(by_digest_id)
    assert signer.check_digest(signer.view_digest("<abc@example.org>")) == "<abc@example.org>"
