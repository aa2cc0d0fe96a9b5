"""Sign-up from the web, double opt-in: a form asks, a mailed link confirms, and only then is
there a subscriber.

:func:`parse_form` checks the form with the rules and messages of profiles
(:mod:`recommender.profiles`), plus what a form needs besides. :func:`refusal` decides, from
the times of recent sign-ups, whether the rate limits let one more through; it touches no
dependency. :class:`Signups` stores a sign-up, counts it and mails the link (through the
transport digests use), and confirms it; the HTTP side is :mod:`recommender.web`'s, the mail's
words :mod:`recommender.signup_mail`'s.

A sign-up for an address that is subscribed already changes nothing: that address gets its
manage link by mail instead, and the page says the same as for anyone else ("look in your
inbox"), so the form does not tell who is subscribed.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from recommender import links, profiles, signup_mail
from recommender.errors import RecommenderError
from recommender.mailer import Transport
from recommender.profiles import Profile, ProfileError
from recommender.store import signups as signup_store
from recommender.store import subscribers as subscriber_store

if TYPE_CHECKING:
    from recommender.config import Settings
    from recommender.render import Templates

# What a ProfileError from the form names as its source.
FORM = "sign-up form"
# The form takes at most this many interests, each at most this long: enough to start with
# (the manage page takes more), short enough that a mail bomb cannot carry an essay.
MAX_INTERESTS = 30
MAX_INTEREST_CHARS = 200
# Liked papers (titles or arXiv ids) as many as a profile takes, each at most this long: a
# title fits; the mail does not carry them.
MAX_LIKED_CHARS = 300
# The rate limits' windows: sign-ups per address per day, per client per hour.
ADDRESS_WINDOW = timedelta(days=1)
CLIENT_WINDOW = timedelta(hours=1)
# Sign-ups older than this are forgotten: longer than both windows and the link's lifetime.
KEPT_FOR = timedelta(days=7)


class SignupClosed(RecommenderError):
    """Sign-up is off (the ``signup`` setting)."""


class SignupLimited(RecommenderError):
    """Too many sign-ups, for this address or from this client; try again after
    ``retry_after``."""

    def __init__(self, scope: str, retry_after: timedelta) -> None:
        self.scope, self.retry_after = scope, retry_after
        super().__init__(f"too many sign-ups for this {scope}; try again later")


@dataclass(frozen=True)
class PendingSignup:
    """What a confirm link asks for: the address, name, interests and liked papers given in
    the form; whether it was confirmed already, and whether the address is a subscriber now."""

    email: str
    name: str
    interests: list[str]
    confirmed: bool
    subscribed: bool
    liked: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class SignupConfirmed:
    email: str
    created: bool  # False: the address was subscribed already (or this confirmed before)


class FormProblems(ProfileError):
    """A sign-up form with one or more bad fields: ``problems`` maps each to what is wrong with
    it, in the form's order; as a :class:`ProfileError`, it names the first."""

    def __init__(self, problems: dict[str, str]) -> None:
        field_name, message = next(iter(problems.items()))
        super().__init__(FORM, message, field_name)
        self.problems = problems


# What stands in for a field found bad, so that the fields after it are checked too.
_STAND_INS = {"email": "someone@example.org", "name": "", "interests": "topic", "liked": ""}


def parse_form(email: str, name: str, interests: str, liked: str = "") -> Profile:
    """The profile a sign-up form asks for, or a :class:`FormProblems` naming every bad field
    (so a person corrects them all at once, not one per try)."""
    sent = {"email": email, "name": name, "interests": interests, "liked": liked}
    problems: dict[str, str] = {}
    while True:
        checked = {key: _STAND_INS[key] if key in problems else sent[key] for key in sent}
        try:
            profile = _parse_form(**checked)
        except ProfileError as error:
            if error.field not in sent or error.field in problems:
                raise  # nothing a field's stand-in mends (there is no such error today)
            problems[error.field] = error.message
            continue
        if problems:
            raise FormProblems({key: problems[key] for key in sent if key in problems})
        return profile


def _parse_form(email: str, name: str, interests: str, liked: str) -> Profile:
    """The profile a sign-up form asks for, or a :class:`ProfileError` naming the first bad
    field."""
    data = {"email": email, "name": name, "interests": interests.splitlines()}
    profile = profiles.parse_profile({**data, "liked": liked.splitlines()}, source=FORM)
    if not profile.interests:
        raise ProfileError(FORM, "write at least one interest, one per line", "interests")
    if len(profile.interests) > MAX_INTERESTS:
        raise ProfileError(
            FORM,
            f"at most {MAX_INTERESTS} interests here, not {len(profile.interests)}; "
            "add more later from your manage page",
            "interests",
        )
    for index, phrase in enumerate(profile.interests):
        if len(phrase) > MAX_INTEREST_CHARS:
            raise ProfileError(
                FORM,
                f"interest {index + 1} has {len(phrase)} characters; at most "
                f"{MAX_INTEREST_CHARS} each",
                "interests",
            )
    for index, paper in enumerate(profile.liked):
        if len(paper) > MAX_LIKED_CHARS:
            raise ProfileError(
                FORM,
                f"paper {index + 1} has {len(paper)} characters; at most {MAX_LIKED_CHARS} "
                "each (a title or an arXiv id)",
                "liked",
            )
    return profile


def refusal(
    by_address: list[datetime],
    by_client: list[datetime],
    address_limit: int,
    client_limit: int,
    now: datetime,
) -> SignupLimited | None:
    """Whether one more sign-up is refused, given the times (oldest first) of the sign-ups
    of its address within :data:`ADDRESS_WINDOW` and of its client within
    :data:`CLIENT_WINDOW`; the refusal says when the oldest of them leaves its window."""
    for scope, times, limit, window in (
        ("address", by_address, address_limit, ADDRESS_WINDOW),
        ("client", by_client, client_limit, CLIENT_WINDOW),
    ):
        if len(times) >= limit:
            oldest = times[len(times) - limit]
            return SignupLimited(scope, max(oldest + window - now, timedelta(seconds=1)))
    return None


def client_key(secret: str, client: str) -> str:
    """A client's IP address as the database keeps it: a keyed hash, to count, not to read."""
    digest = hmac.new(secret.encode("utf-8"), client.encode("utf-8"), hashlib.sha256)
    return digest.hexdigest()


class Signups:
    """Sign-ups over ``sessions``: ask (:meth:`request`), look (:meth:`open`), confirm."""

    def __init__(
        self,
        settings: Settings,
        sessions: Callable[[], Session],
        signer: links.Signer,
        clock: Callable[[], datetime],
        templates: Callable[[], Templates],
        transport: Callable[[], Transport],
        secret: str,
    ) -> None:
        if not settings.signup:
            raise SignupClosed("sign-up is off; the operator turns it on with 'signup = true'")
        self._settings = settings
        self._sessions = sessions
        self._signer = signer
        self._clock = clock
        self._templates = templates
        self._transport = transport
        self._secret = secret

    def request(self, email: str, name: str, interests: str, client: str, liked: str = "") -> str:
        """Validate a form, count it against the limits, store it and mail its link; return
        the address mailed (as it is stored: ``Ada@Example.org`` becomes ``ada@example.org``).

        Raise :class:`ProfileError` (nothing stored) or :class:`SignupLimited`; a failed
        delivery raises :class:`~recommender.mailer.DeliveryError`, and the sign-up stays
        counted (else a failing mail server would lift the limits).
        """
        profile = parse_form(email, name, interests, liked)
        now = self._clock()
        key = client_key(self._secret, client)
        with self._sessions() as session, session.begin():
            signup_store.take_turns(session)
            signup_store.prune(session, now - KEPT_FOR)
            limited = refusal(
                signup_store.times_since(session, since=now - ADDRESS_WINDOW, email=profile.email),
                signup_store.times_since(session, since=now - CLIENT_WINDOW, client=key),
                self._settings.signup_address_limit,
                self._settings.signup_client_limit,
                now,
            )
            if limited is not None:
                raise limited
            row = signup_store.add(
                session,
                profile.email,
                profile.name,
                list(profile.interests),
                key,
                now,
                liked=list(profile.liked),
            )
            context = self._mail_context(session, row.id, profile)
        outgoing = signup_mail.compose(
            self._templates(), context, mail_from=self._settings.mail_from, now=now
        )
        self._transport().send(outgoing)
        return context.email

    def _mail_context(
        self, session: Session, signup_id: int, profile: Profile
    ) -> signup_mail.SignupMail:
        base = self._settings.base_url
        known = subscriber_store.find_subscriber(session, profile.email)
        if known is None:
            token = self._signer.confirm_signup(signup_id, profile.email)
            return signup_mail.SignupMail(
                profile.email,
                profile.name,
                list(profile.interests),
                confirm_url=links.signup_confirm_url(base, token),
            )
        manage = links.manage_url(base, self._signer.manage(known.id))
        again = (
            None
            if known.active
            else links.unsubscribe_url(base, self._signer.unsubscribe(known.id))
        )
        return signup_mail.SignupMail(
            known.email,
            known.name,
            list(known.interests),
            manage_url=manage,
            resubscribe_url=again,
            paused=known.paused,
        )

    def open(self, token: str) -> PendingSignup:
        """What a confirm link asks for, changing nothing."""
        signup_id, email = self._signer.check_signup(token)
        with self._sessions() as session:
            row = signup_store.get(session, signup_id, email)
            if row is None:
                raise links.TokenInvalid("this sign-up is no longer here")
            subscribed = subscriber_store.find_subscriber(session, email) is not None
            return PendingSignup(
                row.email,
                row.name,
                list(row.interests),
                row.confirmed_at is not None,
                subscribed,
                list(row.liked),
            )

    def confirm(self, token: str) -> SignupConfirmed:
        """Make the subscriber a confirm link asks for, once; an address subscribed already
        keeps everything it has."""
        signup_id, email = self._signer.check_signup(token)
        try:
            return self._confirm(signup_id, email)
        except IntegrityError:
            # a profile subscribed the same address in the same moment: it stands
            return SignupConfirmed(email, created=False)

    def _confirm(self, signup_id: int, email: str) -> SignupConfirmed:
        now = self._clock()
        with self._sessions() as session, session.begin():
            signup_store.take_turns(session)
            row = signup_store.get(session, signup_id, email, lock=True)
            if row is None:
                raise links.TokenInvalid("this sign-up is no longer here")
            if row.confirmed_at is not None:
                return SignupConfirmed(email, created=False)
            row.confirmed_at = now
            if subscriber_store.find_subscriber(session, email) is not None:
                return SignupConfirmed(email, created=False)
            profile = Profile(
                email=row.email,
                name=row.name,
                interests=tuple(row.interests),
                liked=tuple(row.liked),
            )
            subscriber_store.upsert_subscriber(session, profile, now)
            return SignupConfirmed(email, created=True)
