"""What a click on a link in a digest does: rate a paper, unsubscribe, manage, read online.

Each link names its subscriber by id: one click is one token check and one session. A vote
is committed before the subscriber's model retrains (by ``train``,
in a transaction of its own). Checking tokens is :mod:`recommender.links`'s; the HTTP side is
:mod:`recommender.web`'s.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy.orm import Session

from recommender import links, manage, ratings
from recommender.lookups import linked_subscriber, paper_info, subscriber_info
from recommender.message import html_part
from recommender.results import ManageLink, RatingInfo, RatingLink, SubscriberInfo
from recommender.store import digests as digest_store
from recommender.store import papers as paper_store
from recommender.store import subscribers as subscriber_store
from recommender.store.models import Paper, Subscriber


class LinkHandlers:
    """What handling a signed link takes: ``sessions``, the ``signer`` that checks its token, the
    clock, and ``train``, which retrains a subscriber whose ratings or interests changed."""

    def __init__(
        self,
        sessions: Callable[[], Session],
        signer: links.Signer,
        clock: Callable[[], datetime],
        train: Callable[[Session, Subscriber], None],
    ) -> None:
        self._sessions = sessions
        self._signer = signer
        self._clock = clock
        self._train = train


class Clicks(LinkHandlers):
    """The handlers of the links in a digest: rating, unsubscribe, the browser view."""

    def open_rating_link(self, token: str) -> RatingLink:
        claim = self._signer.check_rating(token)
        with self._sessions() as session:
            subscriber = linked_subscriber(session, claim.subscriber_id)
            paper = paper_store.get_paper(session, claim.paper_id)
            return _rating_link(session, subscriber, paper, claim.vote)

    def confirm_rating_link(self, token: str, undo: bool) -> RatingLink:
        claim = self._signer.check_rating(token)
        with self._sessions() as session:
            with session.begin():
                subscriber = linked_subscriber(session, claim.subscriber_id)
                paper = paper_store.get_paper(session, claim.paper_id)
                vote = "clear" if undo else claim.vote
                _, changed = ratings.vote(session, subscriber, paper, vote, "web", self._clock())
            if changed:
                self._train(session, subscriber)
            return _rating_link(session, subscriber, paper, claim.vote)

    def open_subscriber_link(self, action: str, token: str) -> SubscriberInfo:
        subscriber_id = self._signer.check_subscriber(action, token)
        with self._sessions() as session:
            return subscriber_info(session, linked_subscriber(session, subscriber_id))

    def open_manage_link(self, token: str) -> ManageLink:
        subscriber_id = self._signer.check_subscriber("manage", token)
        with self._sessions() as session:
            subscriber = linked_subscriber(session, subscriber_id)
            rows = subscriber_store.current_ratings(session, subscriber.id)
            rated = [RatingInfo.of(rating, paper) for rating, paper in rows]
            changes = subscriber_store.rating_history(session, subscriber.id)
            history = manage.history([RatingInfo.of(rating, paper) for rating, paper in changes])
            today = self._signer.today(subscriber.id)
            return ManageLink(SubscriberInfo.of(subscriber, len(rated)), rated, history, today)

    def confirm_unsubscribe_link(self, token: str) -> SubscriberInfo:
        subscriber_id = self._signer.check_subscriber("unsubscribe", token)
        with self._sessions() as session, session.begin():
            subscriber = linked_subscriber(session, subscriber_id)
            subscriber_store.unsubscribe(session, subscriber.email, self._clock())
            return subscriber_info(session, subscriber)

    def confirm_resubscribe_link(self, token: str) -> SubscriberInfo:
        subscriber_id = self._signer.check_subscriber("unsubscribe", token)
        with self._sessions() as session, session.begin():
            subscriber = linked_subscriber(session, subscriber_id)
            subscriber_store.resubscribe(session, subscriber, self._clock())
            return subscriber_info(session, subscriber)

    def rate_from_manage_link(self, token: str, paper_ref: str, vote: str) -> RatingInfo:
        subscriber_id = self._signer.check_subscriber("manage", token)
        return ratings.rate(
            self._sessions,
            lambda session: linked_subscriber(session, subscriber_id),
            paper_ref,
            vote,
            "web",
            self._clock,
            self._train,
        )

    def digest_html(self, token: str) -> str:
        ref = self._signer.check_digest(token)
        with self._sessions() as session:
            digest = digest_store.get_digest(session, ref)
            if digest is None or not digest.message:
                raise links.TokenInvalid("this digest is no longer here")
            raw = digest.message
        html = html_part(raw)
        assert html is not None  # every digest has its HTML part
        return html


def _rating_link(session: Session, subscriber: Subscriber, paper: Paper, vote: str) -> RatingLink:
    current = subscriber_store.current_vote(session, subscriber.id, paper.id)
    return RatingLink(subscriber.email, paper_info(session, paper), vote, current)
