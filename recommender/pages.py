"""What a subscriber does from a web page: the links in an email, the manage page, today's papers
and sign-up. The facade hands these out as :attr:`recommender.core.Recommender.pages`; the web
endpoints (:mod:`recommender.web`) call nothing else.

Each method takes the token of a signed link (or a sign-up form), checks it once and hands off
to the module that does the work: :mod:`recommender.clicks` (rating, unsubscribe, browser view),
:mod:`recommender.manage`, :mod:`recommender.today`, :mod:`recommender.signup`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from recommender import links, mailer, manage
from recommender.clicks import Clicks
from recommender.config import Settings
from recommender.manage import ManagePage
from recommender.results import ManageLink, RatingInfo, RatingLink, SubscriberInfo, TodayPage
from recommender.signup import PendingSignup, SignupConfirmed, Signups
from recommender.store.models import Subscriber
from recommender.today import Recommend, Today

if TYPE_CHECKING:
    from recommender import render


class Pages:
    """The facade's web side, built from the facade's parts."""

    def __init__(
        self,
        settings: Settings,
        sessions: Callable[[], Session],
        signer: Callable[[], links.Signer],
        clock: Callable[[], datetime],
        train: Callable[[Session, Subscriber], None],
        templates: Callable[[], render.Templates],
        transport: Callable[[], mailer.Transport],
        secret: Callable[[], str],
        recommend: Recommend,
    ) -> None:
        self._settings = settings
        self._session = sessions
        self._signer = signer
        self._clock = clock
        self._train = train
        self._templates = templates
        self._transport = transport
        self._secret = secret
        self._recommend = recommend

    # -- links from emails (the web endpoints call these; see recommender.clicks) -----------

    def open_rating_link(self, token: str) -> RatingLink:
        """What a rating link asks for, without changing anything."""
        return self._clicks().open_rating_link(token)

    def confirm_rating_link(self, token: str, *, undo: bool = False) -> RatingLink:
        """Record the rating a link asks for (or withdraw it: ``undo``), from the web; return
        the link as it stands afterwards."""
        return self._clicks().confirm_rating_link(token, undo)

    def open_subscriber_link(self, action: str, token: str) -> SubscriberInfo:
        """The subscriber of an unsubscribe or manage link."""
        return self._clicks().open_subscriber_link(action, token)

    def open_manage_link(self, token: str) -> ManageLink:
        """The subscriber of a manage link, with their current ratings (newest first)."""
        return self._clicks().open_manage_link(token)

    def confirm_unsubscribe_link(self, token: str) -> SubscriberInfo:
        """Unsubscribe the subscriber of an unsubscribe link (a POST, or RFC 8058 one-click)."""
        return self._clicks().confirm_unsubscribe_link(token)

    def confirm_resubscribe_link(self, token: str) -> SubscriberInfo:
        """Start again the digests of an unsubscribe link's subscriber (it stays valid for it)."""
        return self._clicks().confirm_resubscribe_link(token)

    def rate_from_manage_link(self, token: str, paper_ref: str, vote: str) -> RatingInfo:
        """Record a vote from the manage page of a manage link's subscriber."""
        return self._clicks().rate_from_manage_link(token, paper_ref, vote)

    def digest_html(self, token: str) -> str:
        """The HTML of the digest a browser-view link names."""
        return self._clicks().digest_html(token)

    # -- the manage page (see recommender.manage) ------------------------------------------
    # A change of interests is checked as ``subscribe`` checks a profile: a bad one raises
    # ``ProfileError`` naming the field (``interest 2.share``), and nothing changes. The
    # subscriber's model retrains after one.

    def change_interest_lists(self, token: str, values: Mapping[str, str]) -> SubscriberInfo:
        """Set the plain ``interests``, ``liked`` papers, followed ``authors`` or ``must_not``
        words (those ``values`` has, one per line) of a manage link's subscriber."""
        return self._manage_page().change_interests(
            token, lambda data: manage.set_lists(data, values)
        )

    def save_named_interest(
        self, token: str, number: str, values: Mapping[str, str], was: str | None = None
    ) -> SubscriberInfo:
        """Set named interest ``number`` (from 1, or ``"new"`` to add one) of a manage link's
        subscriber to ``values``: name, phrases, authors and must (one per line), share (0 to
        1, empty: split what the others leave). Its liked papers are kept. Given ``was``, only
        if the interest is still the one of that name."""
        return self._manage_page().change_interests(
            token, lambda data: manage.edit_interest(data, number, values, was)
        )

    def remove_named_interest(self, token: str, number: str, name: str) -> SubscriberInfo:
        """Remove named interest ``number`` of a manage link's subscriber, if it is still the
        one named ``name``."""
        return self._manage_page().change_interests(
            token, lambda data: manage.remove_interest(data, number, name)
        )

    def change_settings(self, token: str, values: Mapping[str, str]) -> SubscriberInfo:
        """Set the schedule, time zone, digest size or minimum score (those ``values`` has, as
        text) of a manage link's subscriber; a bad one raises ``ProfileError`` naming it, as
        ``subscribe`` would, and nothing changes."""
        return self._manage_page().change_settings(token, values)

    def pause_from_manage_link(self, token: str, *, paused: bool = True) -> SubscriberInfo:
        """Hold (or, ``paused=False``, resume) the digests of a manage link's subscriber."""
        return self._manage_page().set_paused(token, paused)

    def subscribe_from_manage_link(self, token: str, *, subscribed: bool) -> SubscriberInfo:
        """Unsubscribe, or subscribe again, a manage link's subscriber."""
        return self._manage_page().set_subscribed(token, subscribed)

    def undo_rating_from_manage_link(
        self, token: str, paper_ref: str, undone: str
    ) -> RatingInfo | None:
        """Give a paper back the vote it had before ``undone`` (its current one); None if its
        vote is another by now, and then nothing changes."""
        return self._manage_page().undo_rating(token, paper_ref, undone)

    def _manage_page(self) -> ManagePage:
        return ManagePage(self._session, self._signer(), self._clock, self._train)

    def _clicks(self) -> Clicks:
        return Clicks(self._session, self._signer(), self._clock, self._train)

    # -- sign-up from the web (recommender.signup; off unless the ``signup`` setting) ----------

    def sign_up(
        self, email: str, name: str, interests: str, *, client: str, liked: str = ""
    ) -> str:
        """Ask for a digest from the sign-up form (interests and liked papers one per line):
        mail the address a confirm link, or its manage link if it is subscribed already, and
        return the address mailed. Raise :class:`ProfileError`, :class:`SignupLimited` or
        :class:`SignupClosed`."""
        return self._signups().request(email, name, interests, client, liked)

    def open_signup_link(self, token: str) -> PendingSignup:
        """What a sign-up's confirm link asks for, without changing anything."""
        return self._signups().open(token)

    def confirm_signup_link(self, token: str) -> SignupConfirmed:
        """Make the subscriber a confirm link asks for (once; a subscribed address is kept)."""
        return self._signups().confirm(token)

    def _signups(self) -> Signups:
        return Signups(
            self._settings,
            self._session,
            self._signer(),
            self._clock,
            self._templates,
            self._transport,
            self._secret(),
        )

    # -- today's papers: the page a today link opens (see recommender.today) ---------------

    def open_today_link(self, token: str) -> TodayPage:
        """The newest listing day's papers new to a today link's subscriber, ranked by
        :meth:`recommend`, and the day's papers they have rated."""
        return self._today().open(token)

    def rate_from_today_link(self, token: str, paper_id: str, vote: str) -> RatingInfo:
        """Record a vote (up, down or clear) from the page of today's papers."""
        return self._today().rate(token, paper_id, vote)

    def _today(self) -> Today:
        return Today(self._session, self._signer(), self._clock, self._recommend, self._train)
