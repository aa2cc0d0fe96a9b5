"""Signed, expiring, single-purpose links for emails (rate a paper, unsubscribe, manage, view,
today's papers).

A token is signed with the installation's secret (``itsdangerous``), names its action in the
signature's salt, and carries its issue time, checked against an injectable clock. A token for
one action is refused for every other; a tampered one is refused; an old one expires. Tokens
only identify what a link is for: the web endpoints confirm with a POST before changing state.
"""

from __future__ import annotations

import base64
import hmac
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from itsdangerous import BadSignature, TimestampSigner, URLSafeSerializer
from itsdangerous import Signer as ItsdangerousSigner

from recommender.errors import RecommenderError
from recommender.votes import LINK_VOTES

ACTIONS = ("rate", "unsubscribe", "manage", "view-digest", "today", "confirm-signup")
# How long a link in an email works.
LIFETIMES = {
    "rate": timedelta(days=60),
    "unsubscribe": timedelta(days=365),
    "manage": timedelta(days=60),
    "view-digest": timedelta(days=365),
    # a sign-up not confirmed within two days is dropped: the address was perhaps not theirs
    "confirm-signup": timedelta(days=2),
    # The page of today's papers only reads and rates (it cannot unsubscribe or change
    # interests): it lives as long as the rating links it stands in for.
    "today": timedelta(days=60),
}
# How far ahead of ours the clock of the process that made a link may be (the sender and the
# web server may run on different machines). A token dated later than this was not made by a
# clock we trust: it is refused, not honoured for its lifetime plus however far ahead it is.
CLOCK_SKEW = timedelta(minutes=2)
# The paths of the links in a digest. The sign-up confirmation link is in no digest: it has
# a path of its own, under the sign-up page's.
PATHS = {
    "rate": "r",
    "unsubscribe": "unsubscribe",
    "manage": "manage",
    "view-digest": "digest",
    "today": "today",
}
SIGNUP_CONFIRM_PATH = "signup/confirm"
# The shortest secret a Signer takes.
MIN_SECRET_LENGTH = 16


class TokenInvalid(RecommenderError, ValueError):
    """A token that was not made by us for this action (tampered, truncated, or misused)."""


class TokenExpired(TokenInvalid):
    """A genuine token, too old to use."""


@dataclass(frozen=True)
class RatingToken:
    subscriber_id: int
    paper_id: str
    vote: str


def utcnow() -> datetime:
    return datetime.now(UTC)


def _exactly_signed(signer: ItsdangerousSigner | None, token: str) -> None:
    """Raise :class:`BadSignature` unless ``token`` ends in its signature exactly as
    ``signer`` writes it. itsdangerous decodes the signature before comparing, and its
    base64 decoding skips characters outside the alphabet and the unused bits of the last
    one, so a link with a character added to its signature or its last one changed still
    passed: no forgery, but a changed link must not work."""
    if signer is None:
        return  # an unknown action: the serializer lookup says so
    sep = signer.sep.decode("ascii") if isinstance(signer.sep, bytes) else signer.sep
    value, _, signature = token.rpartition(sep)
    if not signature.isascii() or not hmac.compare_digest(
        signer.get_signature(value), signature.encode("ascii")
    ):
        raise BadSignature("the signature is not as it was made")


class _TimedSigner(TimestampSigner):
    """itsdangerous' signer with an issue time, read from our (injectable) clock."""

    def __init__(self, secret: str, *, salt: str, clock: Callable[[], datetime]) -> None:
        super().__init__(secret, salt=salt)
        self._clock = clock

    def get_timestamp(self) -> int:
        return int(self._clock().timestamp())


class Signer:
    """Makes and checks tokens with one secret."""

    def __init__(self, secret: str, *, clock: Callable[[], datetime] = utcnow) -> None:
        if len(secret) < MIN_SECRET_LENGTH:
            raise ValueError(
                f"the link-signing secret must be at least {MIN_SECRET_LENGTH} characters"
            )
        # rating tokens are compact, not JSON: they have a signer of their own (``_rate``)
        self._serializers = {
            action: URLSafeSerializer(secret, salt=f"recommender-{action}")
            for action in ACTIONS
            if action != "rate"
        }
        self._signers = {action: s.make_signer() for action, s in self._serializers.items()}
        self._rate = _TimedSigner(secret, salt="recommender-rate-v2", clock=lambda: self.clock())
        self.clock = clock

    def __repr__(self) -> str:
        return "Signer(secret=***)"

    def _serializer(self, action: str) -> URLSafeSerializer:
        try:
            return self._serializers[action]
        except KeyError:
            raise ValueError(f"unknown link action {action!r}") from None

    def make(self, action: str, payload: dict[str, Any]) -> str:
        issued = int(self.clock().timestamp())
        serializer = self._serializer(action)
        # serializer.dumps(...), with the signer made once: a digest needs two dozen tokens
        signed = self._signers[action].sign(serializer.dump_payload({**payload, "t": issued}))
        return signed.decode("ascii")

    def check(self, action: str, token: str) -> dict[str, Any]:
        """The payload of a token made for ``action``; raise if tampered, misused or expired."""
        try:
            _exactly_signed(self._signers.get(action), token)
            payload = self._serializer(action).loads(token)
        except BadSignature as exc:
            raise TokenInvalid(f"this {action} link is not valid") from exc
        if not isinstance(payload, dict) or not isinstance(payload.get("t"), int):
            raise TokenInvalid(f"this {action} link is not valid")
        try:
            issued = datetime.fromtimestamp(payload.pop("t"), UTC)
        except (OverflowError, OSError, ValueError) as exc:
            raise TokenInvalid(f"this {action} link is not valid") from exc
        self._check_age(action, issued)
        return payload

    def _check_age(self, action: str, issued: datetime) -> None:
        """Raise unless a token issued at ``issued`` is within its lifetime now."""
        age = self.clock() - issued
        if age > LIFETIMES[action]:
            raise TokenExpired(f"this {action} link has expired")
        if -age > CLOCK_SKEW:
            raise TokenInvalid(f"this {action} link is dated in the future")

    # -- one method per action -------------------------------------------------------------

    def rating(self, subscriber_id: int, paper_id: str, vote: str) -> str:
        """A rating token: ``subscriber~vote~paper`` (the paper id base64url-encoded), its
        issue time and signature. A digest holds twenty of them, so they skip the JSON (and
        the attempt to compress it) of the other tokens."""
        if vote not in LINK_VOTES:
            raise ValueError(f"unknown vote {vote!r}")
        paper = base64.urlsafe_b64encode(paper_id.encode("utf-8")).rstrip(b"=").decode("ascii")
        return self._rate.sign(f"{int(subscriber_id)}~{vote}~{paper}").decode("ascii")

    def check_rating(self, token: str) -> RatingToken:
        try:
            # The age is checked here, not by itsdangerous' ``max_age``, so that every kind of
            # token follows one rule (:meth:`_check_age`), clock skew included.
            _exactly_signed(self._rate, token)
            value, issued = self._rate.unsign(token, return_timestamp=True)
        except BadSignature as exc:
            raise TokenInvalid("this rate link is not valid") from exc
        self._check_age("rate", issued)
        try:
            subscriber, vote, paper = value.decode("ascii").split("~")
            paper_id = base64.urlsafe_b64decode(paper + "=" * (-len(paper) % 4)).decode("utf-8")
            if vote not in LINK_VOTES:
                raise ValueError(vote)
            return RatingToken(int(subscriber), paper_id, vote)
        except ValueError as exc:  # binascii.Error and UnicodeError are ValueErrors too
            raise TokenInvalid("this rate link is not valid") from exc

    def unsubscribe(self, subscriber_id: int) -> str:
        return self.make("unsubscribe", {"s": subscriber_id})

    def manage(self, subscriber_id: int) -> str:
        return self.make("manage", {"s": subscriber_id})

    def today(self, subscriber_id: int) -> str:
        """A link to the subscriber's page of today's papers (it opens whatever day is newest
        when it is followed)."""
        return self.make("today", {"s": subscriber_id})

    def view_digest(self, message_id: str) -> str:
        """A link to the digest with that Message-ID (known before the digest is recorded)."""
        return self.make("view-digest", {"m": message_id})

    def confirm_signup(self, signup_id: int, email: str) -> str:
        """A link confirming the pending sign-up ``signup_id`` of ``email``."""
        return self.make("confirm-signup", {"p": signup_id, "e": email})

    def check_signup(self, token: str) -> tuple[int, str]:
        """The pending sign-up id and the address a confirm-signup token names."""
        data = self.check("confirm-signup", token)
        if not isinstance(data.get("p"), int) or not isinstance(data.get("e"), str):
            raise TokenInvalid("this confirm-signup link is not valid")
        return int(data["p"]), str(data["e"])

    def check_subscriber(self, action: str, token: str) -> int:
        """The subscriber id of an ``unsubscribe``, ``manage`` or ``today`` token."""
        payload = self.check(action, token)  # outside the try: TokenExpired is a ValueError
        try:
            return int(payload["s"])
        except (KeyError, TypeError, ValueError) as exc:
            raise TokenInvalid(f"this {action} link is not valid") from exc

    def check_digest(self, token: str) -> str:
        """The Message-ID a view-digest token names."""
        data = self.check("view-digest", token)
        if not isinstance(data.get("m"), str):
            raise TokenInvalid("this digest link is not valid")
        return str(data["m"])


def url(base_url: str, action: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/{PATHS[action]}/{token}"


def rating_url(base_url: str, token: str) -> str:
    return url(base_url, "rate", token)


def unsubscribe_url(base_url: str, token: str) -> str:
    return url(base_url, "unsubscribe", token)


def manage_url(base_url: str, token: str) -> str:
    return url(base_url, "manage", token)


def digest_url(base_url: str, token: str) -> str:
    return url(base_url, "view-digest", token)


def signup_confirm_url(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/{SIGNUP_CONFIRM_PATH}/{token}"


def today_url(base_url: str, token: str) -> str:
    return url(base_url, "today", token)


def load_or_create_secret(path: Path) -> str:
    """The secret stored at ``path``, made (readable by the owner only) if there is none."""
    try:
        return path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    # Written whole to a private temporary file, then linked into place: the secret appears
    # complete or not at all, and of two processes racing, both end up with the same one.
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as file:
            file.write(secrets.token_urlsafe(48) + "\n")
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass
    finally:
        temporary.unlink()
    return path.read_text(encoding="ascii").strip()
